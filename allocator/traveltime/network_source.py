"""Travel times on the road network: snap demand and sites to it, then shortest paths (:mod:`.graph`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from allocator.errors import AllocatorError
from allocator.inputs.place_names import StreetIndex, street_index
from allocator.scenario import catalog
from allocator.scenario.loader import LoadedScenario
from allocator.scenario.schema import Service
from allocator.traveltime.graph import NetworkArrays, network_arrays, snap_points, travel_time_matrix
from allocator.traveltime.network import NetworkReport, load_network
from allocator.traveltime.reach import check_reach
from allocator.traveltime.source import ServiceTimes, reachability_notes


@dataclass
class NetworkSource:
    """The scenario's road network, prepared for snapping and shortest paths (a TravelTimeSource)."""

    scenario: LoadedScenario
    arrays: NetworkArrays
    report: NetworkReport
    timing_key: str = "network_s"
    streets: StreetIndex | None = None   # the named streets, to label sites and districts

    @classmethod
    def open(cls, scenario: LoadedScenario, log: Callable[[str], None]) -> NetworkSource:
        spec = scenario.spec.network
        source = spec.source
        if isinstance(source, str):
            source = scenario.resolve_path(source, "network.source")
        try:
            graph, report = load_network(source, spec.mode, cache_dir=catalog.cache_dir() / "networks", log=log)
        except AllocatorError as exc:
            exc.field = exc.field or "network.source"
            raise exc.with_file(scenario.path) from None
        log(f"network ({spec.mode}): {report.nodes_kept:,} nodes, {report.edges_kept:,} edges kept; "
            f"{report.dropped_node_share:.1%} of nodes outside the largest strongly connected part dropped"
            + (" (from cache)" if report.from_cache else ""))
        return cls(scenario, network_arrays(graph), report, streets=street_index(graph))

    def service_times(self, service: Service, field: str, demand: pd.DataFrame,
                      sites: pd.DataFrame) -> ServiceTimes:
        """Door-to-door minutes on the road network, with notes on points too far from any road."""
        max_snap = self.scenario.spec.network.max_snap_m
        demand_snap = snap_points(self.arrays, demand["lon"].to_numpy(), demand["lat"].to_numpy(), max_snap)
        site_snap = snap_points(self.arrays, sites["lon"].to_numpy(), sites["lat"].to_numpy(), max_snap)
        notes = reachability_notes(demand, ~demand_snap.reachable, sites, ~site_snap.reachable,
                                   f"more than {max_snap:g} m from the road network")
        new = sites["status"].eq("new").to_numpy()
        arrays, path = self.arrays, str(self.scenario.path)
        check_reach("people in the demand layers", demand["lon"].to_numpy(), demand["lat"].to_numpy(),
                    demand_snap.reachable, demand["population"].to_numpy(), arrays.lon, arrays.lat, max_snap,
                    file=path, field="demand")
        check_reach(f"candidate sites of service '{service.name}'", sites["lon"].to_numpy()[new],
                    sites["lat"].to_numpy()[new], site_snap.reachable[new], None, arrays.lon, arrays.lat, max_snap,
                    file=path, field=f"{field}.candidates")
        return ServiceTimes(travel_time_matrix(self.arrays, demand_snap, site_snap), notes)

"""summary.json: what a run found, per service, in one JSON document (schema ``allocator.summary/2``).

The fields are documented in ``docs/outputs.md``; every duration sits under
``timings``, so two runs of the same scenario differ only there.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from allocator import __version__
from allocator.evaluate.result import RunResult, ServiceResult
from allocator.inputs.sites import SiteStatus
from allocator.outputs.how_sure import how_sure, run_date, spending_block
from allocator.outputs.phases import summary_block as phases_block
from allocator.outputs.staffing import summary_block

SUMMARY_SCHEMA = "allocator.summary/2"
_DURATIONS = ("seconds", "from_cache")   # travel-time report fields that go under summary.json's "timings"


def summary(result: RunResult) -> dict:
    """The summary.json document (schema ``allocator.summary/2``, see README)."""
    info = result.info
    return json_safe({
        "schema": SUMMARY_SCHEMA,
        "allocator_version": __version__,
        "scenario": {"name": info.name, "title": info.title, "description": info.description,
                     "file": str(info.path)},
        **_travel_times(result),
        **_shared_budget(result),
        "services": [{**_service_summary(s), "spending": spending_block(result, s)} for s in result.services],
        "how_sure": how_sure(result),
        **({"robustness": result.robustness.as_dict()} if result.robustness is not None else {}),
        "attribution": info.attributions,
        "timings": timings(result),
    })


def timings(result: RunResult) -> dict:
    """Every duration of the run (the only values that differ between identical runs)."""
    return json_safe({
        "run_date": run_date(),
        "steps": result.timings,
        result.info.travel_times: {k: v for k, v in result.network.as_dict().items() if k in _DURATIONS},
        "services": {s.service.name: {"build_seconds": s.solution.build_seconds,
                                      "solve_seconds": s.solution.solve_seconds,
                                      "matrix_seconds": s.matrix_seconds} for s in result.services},
    })


def _travel_times(result: RunResult) -> dict:
    """summary.json's account of the road network, or of the matrix file, durations aside."""
    report = {k: v for k, v in result.network.as_dict().items() if k not in _DURATIONS}
    if result.info.max_snap_m is not None:
        report["max_snap_m"] = result.info.max_snap_m
    return {result.info.travel_times: report}


def headline(service: ServiceResult) -> dict:
    """The few figures shown on the map and printed at the end of a run."""
    return {
        "population": service.before["population"],
        "within_before": service.before["within_share"],
        "within_after": service.after["within_share"],
        "underserved_before": service.before["underserved"],
        "underserved_after": service.after["underserved"],
        "new_sites": len(service.solution.new_sites),
    }


def _shared_budget(result: RunResult) -> dict:
    """summary.json's ``shared_budget`` (only when the services share one): the limit and the net spending."""
    limit = result.info.shared_budget
    if limit is None:
        return {}
    return {"shared_budget": {"budget": limit, "used": result.shared_budget_used,
                              "services": [s.service.name for s in result.services]}}


def plan_changes(s: ServiceResult) -> dict:
    """What a plan changed besides opening sites, for summary.json and the console.

    Only what applies: ``closed_sites`` when existing sites may close,
    ``upgraded_sites`` when upgrades are offered, ``budget`` and
    ``budget_used`` (opening costs + upgrades - savings) when the plan model ran.
    """
    service, sol, fac = s.service, s.solution, s.facilities
    out: dict = {}
    if sol.budget_used is None:   # the classic models: nothing but new sites
        return out
    ex = service.existing
    if ex is not None and ex.closable:
        out["closed_sites"] = _site_list(fac[fac["status"] == SiteStatus.CLOSED])
    if ex is not None and ex.upgrade_capacity is not None:
        out["upgraded_sites"] = _site_list(fac[fac["upgraded"].astype(bool)])
    out["budget"] = service.budget
    out["budget_used"] = sol.budget_used
    return out


def _site_list(rows) -> list[dict]:
    return [{"id": r.id, "name": r.name, "place": getattr(r, "place", r.name), "district": getattr(r, "district", ""),
             "lon": round(r.lon, 6), "lat": round(r.lat, 6)} for r in rows.itertuples()]


def _service_summary(s: ServiceResult) -> dict:
    new = s.facilities[s.facilities["status"] == SiteStatus.NEW]
    sol = s.solution
    return {
        "name": s.service.name,
        "kind": s.service.kind,
        "objective": s.service.objective,
        "threshold_min": s.service.threshold_min,
        "p": s.service.p,
        "status": sol.status,
        "objective_value": sol.objective,
        "gap": sol.gap,
        "model_size": {"variables": sol.n_variables, "constraints": sol.n_constraints},
        "matrix": {"demand": s.matrix_shape[0], "sites": s.matrix_shape[1]},
        "existing_sites": int((s.facilities["status"] == SiteStatus.EXISTING).sum()),
        "new_sites": _site_list(new),
        **plan_changes(s),
        **phases_block(s),    # a phased plan: build order, spending, price of phasing (allocator.outputs.phases)
        **summary_block(s),   # counters: allocator.outputs.staffing
        **({"rounding": s.rounding.as_dict()} if s.rounding else {}),
        "before": s.before,   # with ede_min: the Kolm-Pollak EDE with ede_kappa (docs/metrics.md)
        "after": s.after,
        "ede_epsilon": s.ede_epsilon,
        "ede_kappa": s.ede_kappa,
        "notes": s.notes,
        "equity": s.equity,   # allocator.evaluate.equity.service_equity: overall, districts, targets, lorenz
    }


def json_safe(value):
    """JSON-safe copy: NaN/inf become null, numpy scalars become Python numbers."""
    if isinstance(value, Mapping):   # dicts, and metric blocks such as AccessMetrics
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value

"""allocator: exact facility-location planning on real road networks.

The package is split by concern:

- :mod:`allocator.errors`    -- the one error type users see (file, field, fix; exit 2)
- :mod:`allocator.catalog`   -- the data catalog: public sources, sha256, local mirror
- :mod:`allocator.scenario`  -- the scenario YAML schema (pydantic) and loader
- :mod:`allocator.demand`    -- demand and facility layers (H3/point CSV, vector files)
- :mod:`allocator.network`   -- road networks (PBF, OSM XML, GraphML, osmnx online)
- :mod:`allocator.traveltime`-- snapping and many-to-many travel times (csgraph)
- :mod:`allocator.matrix`    -- precomputed travel-time matrices (long CSV) read and written
- :mod:`allocator.rounding`  -- the option to solve on rounded travel times, and its effect on the exact ones
- :mod:`allocator.models`    -- exact facility-location models (PuLP + HiGHS)
- :mod:`allocator.metrics`   -- before/after access metrics
- :mod:`allocator.outputs`   -- summary.json, tables, GeoJSON (written atomically)
- :mod:`allocator.maps`      -- the folium equity map
- :mod:`allocator.pipeline`  -- one scenario end to end
- :mod:`allocator.cli`       -- the ``run_scenario.py`` command line
"""

__version__ = "0.1.0"
ATTRIBUTION = "© OpenStreetMap contributors"

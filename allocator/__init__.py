"""allocator: exact facility-location planning on real road networks.

The folders are the stages of a run (``docs/architecture.md``):

- :mod:`allocator.scenario`   -- the scenario YAML: schema, loading with line numbers, the data catalog
- :mod:`allocator.inputs`     -- demand layers, existing facilities and candidate sites, districts
- :mod:`allocator.traveltime` -- where travel times come from: road networks, a matrix file; rounding
- :mod:`allocator.solve`      -- the exact facility-location models (PuLP + HiGHS) and plan rules
- :mod:`allocator.evaluate`   -- access metrics, equity, the objective on the exact times
- :mod:`allocator.outputs`    -- summary.json, tables, GeoJSON, map, report (written atomically)
- :mod:`allocator.pipeline`   -- the stages ``prepare -> solve -> evaluate -> write`` of one scenario
- :mod:`allocator.cli`        -- the ``run_scenario.py`` command line
- :mod:`allocator.errors`     -- the one error type users see (file, field, fix; exit 2)
"""

__version__ = "0.1.0"

"""allocator: exact facility-location planning on real road networks.

The Python face (:mod:`allocator.api`)::

    import allocator as al
    problem = al.Problem.from_cost_matrix(times, people)          # or from_geodataframes, from_scenario
    plan = al.solve(problem, objective="max_coverage", p=10, threshold_min=15)
    result = al.evaluate(problem, plan)                           # result.after.within_share, result.sites
    al.write(result, "maps/x")                                    # or al.run_scenario("scenarios/x.yaml")

The folders are the stages of a run, lowest first (``docs/architecture.md``):

- :mod:`allocator.scenario`   -- the scenario YAML: schema, loading with line numbers, the data catalog
- :mod:`allocator.inputs`     -- demand layers, existing facilities and candidate sites, districts
- :mod:`allocator.traveltime` -- where travel times come from: road networks, a matrix file; rounding
- :mod:`allocator.solve`      -- the problem, the exact facility-location models (PuLP + HiGHS), plan rules, counters
- :mod:`allocator.evaluate`   -- the results: access metrics, equity, waits, the objective on the exact times
- :mod:`allocator.outputs`    -- summary.json, tables, GeoJSON, map, report (written atomically)
- :mod:`allocator.pipeline`   -- the stages ``prepare -> solve -> evaluate -> write`` of one scenario
- :mod:`allocator.api`        -- the functions above
- :mod:`allocator.cli`        -- the ``run_scenario.py`` command line
- :mod:`allocator.errors`     -- the one error type users see (file, field, fix; exit 2)
"""

__version__ = "0.1.0"

from allocator.api import Plan, Problem, evaluate, run_scenario, solve, write  # noqa: E402  (after __version__)
from allocator.evaluate.access import AccessMetrics  # noqa: E402
from allocator.evaluate.result import RunResult, ServiceResult  # noqa: E402
from allocator.inputs.sites import SiteStatus  # noqa: E402

__all__ = ["AccessMetrics", "Plan", "Problem", "RunResult", "ServiceResult", "SiteStatus", "__version__", "evaluate",
           "run_scenario", "solve", "write"]

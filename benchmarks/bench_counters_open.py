"""counters ``decision: open`` at the demo's size: the compact catchment-order model vs the former per-pair model.

Instance: ``scenarios/poa_counters.yaml``'s second service ("units_more_desks") prepared by allocator
(walk, 1,227 H3 cells as demand × its 1,227 sites: the 117 existing units, then every other
cell as a candidate), counters today from the scenario (141 desks), its queue (service 4 min, CV 0.8,
95 % within 15 min at every unit) and visits, ``p`` new units, and three budgets (opening 1 each +
added counters): none, what the plan without a budget spends plus ``--slack`` (not binding), and
minus ``--slack`` (binding: a different plan; this one runs once, within ``--limit`` seconds).

allocator: ``open_and_staff`` (the compact model, built as arrays and solved by HiGHS through
highspy), ``--repeat`` runs, median.  Peer (its previous self): the per-pair PuLP model it
replaced, kept as the reference of ``tests/unit/solve/test_open_compact.py`` (one variable per
reachable (demand, site) pair; 3.0 M variables and > 10 min at the full size), run on a random
``--small`` demand points × every existing unit and ``--small`` candidates, with the compact
model on the very same instance, alternated; the travel of both must match.

Run (from the repository root)::

    ALLOCATOR_DATA_MIRROR=/path/to/data python benchmarks/bench_counters_open.py [--repeat 3] [--small 150] \
        [--slack 3] [--limit 300]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests" / "unit" / "solve"))
import _poa  # noqa: E402
from test_open_compact import per_pair_travel  # noqa: E402  (the former model, the tests' reference)

import allocator as al  # noqa: E402
from allocator.solve.checks import options  # noqa: E402
from allocator.solve.staffing import JointLimits, open_and_staff, queue_model, today_counters  # noqa: E402

TARGET_S = 60.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--p", type=int, default=4)
    ap.add_argument("--slack", type=float, default=3.0, help="the budgets: the free plan's spending +- this")
    ap.add_argument("--limit", type=float, default=300.0, help="time limit of the binding-budget run, s")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--small", type=int, default=150, help="demand points and candidates of the peer's instance")
    a = ap.parse_args(argv)
    _poa.header(f"counters decision open, Porto Alegre units (poa_counters), p = {a.p}", 1)
    t0 = time.perf_counter()
    problem = al.Problem.from_scenario(str(HERE.parent / "scenarios" / "poa_counters.yaml"), quiet=True)
    prep = problem.prepared.services[1]
    spec = prep.service.counters
    assert spec is not None
    cost, pop, existing = prep.cost, prep.population, prep.existing
    today = today_counters(prep.sites, spec)
    model, rate_pp = queue_model(spec), spec.visits_per_person_hour
    print(f"instance: {cost.shape[0]:,} demand points x {cost.shape[1]:,} sites ({existing.sum()} existing, "
          f"{today.sum()} counters today, {np.isfinite(cost).sum():,} reachable pairs), prepared in "
          f"{time.perf_counter() - t0:.1f} s")

    def solve(limits: JointLimits, limit: float | None = None):
        return open_and_staff(cost, pop, rate_pp, existing, today, model, limits, options(limit))

    free = solve(JointLimits(p=a.p))
    for label, limits in (("no budget", JointLimits(p=a.p)),
                          (f"budget {free.spent + a.slack:g}", JointLimits(p=a.p, budget=free.spent + a.slack))):
        plan, walls = _poa.repeat(lambda limits=limits: solve(limits), a.repeat)
        report(label, plan, walls, existing)
    tight = JointLimits(p=a.p, budget=free.spent - a.slack)
    plan, walls = _poa.repeat(lambda: solve(tight, a.limit), 1)
    report(f"budget {free.spent - a.slack:g} (binding, limit {a.limit:g} s)", plan, walls, existing)

    rng = np.random.default_rng(0)
    rows = np.sort(rng.choice(np.flatnonzero(pop > 0), a.small, replace=False))
    cols = np.concatenate([np.flatnonzero(existing), np.sort(rng.choice(np.flatnonzero(~existing), a.small,
                                                                        replace=False))])
    sc, sp, se, st = cost[np.ix_(rows, cols)], pop[rows], existing[cols], today[cols]
    small = JointLimits(p=a.p)
    kmax = model.fewest(float(sp.sum() * rate_pp)) or 1
    (new, new_walls), (old, old_walls) = _poa.alternate(
        lambda: open_and_staff(sc, sp, rate_pp, se, st, model, small),
        lambda: per_pair_travel(sc, sp, rate_pp, se, st, model, small, kmax), a.repeat)
    ratio = _poa.med(old_walls) / _poa.med(new_walls)
    print(f"small instance {len(rows)} x {len(cols)}, p = {a.p}: compact {_poa.med(new_walls):.2f} s, per-pair "
          f"{_poa.med(old_walls):.2f} s (medians of {a.repeat}), ratio per-pair / compact {ratio:.1f}; travel "
          f"{new.travel:,.1f} vs {old if old is None else f'{old:,.1f}'}: "
          f"{'match' if old is not None and _poa.same(new.travel, old) else 'DIFFER'}")
    print(f"load avg at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


def report(label: str, plan, walls: list[float], existing: np.ndarray) -> None:
    """One line per budget: status, travel and bound, spending, size, build and HiGHS times, median wall."""
    print(f"allocator, {label}: status {plan.status}, travel {plan.travel:,.1f}, bound {plan.lower:,.1f}, "
          f"spent {plan.spent:g}, {int(plan.open[~existing].sum())} new; {plan.variables:,} columns, "
          f"{plan.constraints:,} rows; build {plan.build_seconds:.2f} s, HiGHS {plan.seconds:.2f} s; wall median "
          f"{_poa.med(walls):.2f} s (runs {', '.join(f'{w:.2f}' for w in walls)}); target <= {TARGET_S:g} s: "
          f"{'met' if plan.status == 'optimal' and _poa.med(walls) <= TARGET_S else 'MISSED'}; "
          f"peak RSS {_poa.peak_rss_gb():.2f} GB", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())

"""Porto Alegre p-median plans (closures, relocation, budgets): level generation vs the full radius model.

Instance: the city matrix of ``bench_pmedian_city.py`` (populated reachable
cells x reachable candidate cells, drive minutes), with the hexgrid's
healthcare facilities as existing sites.  Three plans, each solved by
``allocator.solve.plan.model.solve_plan`` (one exact integer program):

- ``kept``: the existing facilities stay open, at most 10 new ones;
- ``closable``: every existing facility may close and ``relocate`` lets a
  closure free one of the 10 new sites (new - closed <= 10);
- ``budget``: no existing facility, new sites cost 1-3 units (by cell id) and
  the budget is 40 units; no count.

Peer: the same plan model with every location's full radius rows (what
``plans.py`` built before it used level generation), solved by the same
HiGHS within ``--peer-limit`` seconds.  Both answers are re-evaluated with
numpy.  There is no outside peer: spopt and ArcGIS have no closures,
relocation or budgets in one exact model.

Run::

    python benchmarks/bench_plan_city.py [--round-s 0] [--repeat 3] [--peer-limit 300] [--skip-peer]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _poa  # noqa: E402

from allocator.solve.plan import levels as plan_levels  # noqa: E402
from allocator.solve.plan.block import Block  # noqa: E402
from allocator.solve.plan.model import PlanService, Sites, solve_plan  # noqa: E402


def services(d: _poa.CityData) -> dict[str, PlanService]:
    """The three plans on the city matrix."""
    existing = d.drive.hexes.healthcare.fillna(0).to_numpy(float)[d.cand_cells] > 0
    none = np.zeros(existing.size, dtype=bool)
    cost = 1.0 + np.arange(existing.size) % 3
    return {
        "kept": PlanService("kept", "p_median", d.C, d.w, Sites(kept=existing, closable=none), p=10),
        "closable": PlanService("closable", "p_median", d.C, d.w, Sites(kept=none, closable=existing),
                                p=10, relocate=True),
        "budget": PlanService("budget", "p_median", d.C, d.w, Sites(kept=none, closable=none, open_cost=cost),
                              budget=40.0),
    }


def full_rows(svc: PlanService, limit: float):
    """The peer: every location's full radius rows (no level generation)."""
    first, estimate = plan_levels.PLAN_FIRST_LEVELS, Block.open_estimate
    plan_levels.PLAN_FIRST_LEVELS = 10**9
    Block.open_estimate = lambda self: 0
    try:
        return solve_plan([svc], time_limit=limit)[0]
    finally:
        plan_levels.PLAN_FIRST_LEVELS, Block.open_estimate = first, estimate


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--round-s", type=float, default=0.0, help="round travel times (s); default 0 = exact")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--alloc-limit", type=float, default=900.0)
    ap.add_argument("--peer-limit", type=float, default=300.0, help="HiGHS time limit of each full-rows solve, s")
    ap.add_argument("--skip-peer", action="store_true")
    ap.add_argument("--plans", default="kept,closable,budget")
    a = ap.parse_args(argv)
    _poa.header(f"p-median plans, Porto Alegre cells, drive, rounding {a.round_s:g} s", 1)
    d = _poa.city(a.round_s)
    for n in d.notes:
        print(f"data    : {n}")
    summary = []
    for name, svc in services(d).items():
        if name not in a.plans.split(","):
            continue
        print(f"\n-- plan '{name}'")
        sol, walls = _poa.repeat(lambda svc=svc: solve_plan([svc], time_limit=a.alloc_limit)[0], a.repeat)
        _poa.print_allocator(sol, walls)
        check = _poa.pmedian_value(d.C, d.w, sol.open_sites)
        print(f"check   : objective re-evaluated with numpy: {check:.6f} "
              f"({'matches' if _poa.same(check, sol.objective) else 'MISMATCH'}); "
              f"{len(sol.new_sites)} new, {len(sol.closed_sites)} closed, spent {sol.budget_used:g}")
        line = f"  {name:9s} allocator {_poa.fmt_s(_poa.med(walls))} ({sol.status})"
        if not a.skip_peer:
            peer, pw = _poa.repeat(lambda svc=svc: full_rows(svc, a.peer_limit), 1)
            _poa.print_allocator(peer, pw, label="full rows")
            same = _poa.same(peer.objective, sol.objective)
            print(f"compare : allocator {sol.objective:,.1f} vs full rows {peer.objective:,.1f} "
                  f"(status {peer.status}, gap {peer.gap}): same objective {same}")
            line += (f", full rows {_poa.fmt_s(pw[0])} ({peer.status}); ratio full/allocator "
                     f"{'>= ' if peer.status != 'optimal' else ''}{pw[0] / _poa.med(walls):.1f}x")
        summary.append(line)
    print("\nsummary :")
    print("\n".join(summary))
    print(f"memory  : peak RSS {_poa.peak_rss_gb():.2f} GB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

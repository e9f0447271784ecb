"""Porto Alegre phased plans: the 3-phase nested model against the one-shot plan of the same 10 sites.

Instance: the city matrix of ``bench_pmedian_city.py`` (populated reachable
cells x reachable candidate cells, drive minutes), with the hexgrid's
healthcare facilities as kept existing sites.  Phases 2027, 2028, 2029 with
budgets 4, 3, 3 (every new site costs 1; no carry-over; weights 1, 1, 3), for
``p_median`` and ``max_coverage`` (threshold ``--threshold`` drive minutes).
The phased plan (``allocator.solve.plan.phases.solve_phased``: one model of
three copies of the service's rows, nested, plus the three one-shot plans of
the price of phasing) and the one-shot plan of 10 sites (``solve_plan``,
budget 10) run alternately ``--repeat`` times in one process; medians are
printed, with the machine's load.  The phases' values are re-evaluated with
numpy and each must not beat the one-shot plan of its size.

Run::

    python benchmarks/bench_phases.py [--round-s 0] [--repeat 3] [--threshold 5]
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _poa  # noqa: E402

from allocator.scenario.phases import PhaseSpec  # noqa: E402
from allocator.solve.plan.model import PlanService, Sites, solve_plan  # noqa: E402
from allocator.solve.plan.phases import solve_phased  # noqa: E402

PHASES = [PhaseSpec(year=2027, budget=4), PhaseSpec(year=2028, budget=3), PhaseSpec(year=2029, budget=3, years=3)]


def value(objective: str, d: _poa.CityData, open_mask: np.ndarray, threshold: float) -> float:
    cols = np.flatnonzero(open_mask)
    if objective == "p_median":
        return _poa.pmedian_value(d.C, d.w, cols)
    return _poa.coverage_value(d.C, d.w, cols, threshold)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--round-s", type=float, default=0.0, help="round travel times (s); default 0 = exact")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threshold", type=float, default=5.0, help="max_coverage threshold, drive minutes")
    ap.add_argument("--objectives", default="p_median,max_coverage")
    a = ap.parse_args(argv)
    _poa.header(f"phased plans (3 phases) vs one-shot, Porto Alegre cells, drive, rounding {a.round_s:g} s", 1)
    d = _poa.city(a.round_s)
    for n in d.notes:
        print(f"data    : {n}")
    existing = d.drive.hexes.healthcare.fillna(0).to_numpy(float)[d.cand_cells] > 0
    sites = Sites(kept=existing, closable=np.zeros(existing.size, bool), open_cost=np.ones(existing.size))
    summary = []
    for objective in a.objectives.split(","):
        svc = PlanService(objective, objective, d.C, d.w, sites,
                          threshold=a.threshold if objective == "max_coverage" else None)
        print(f"\n-- {objective}: load avg {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        (phased, pw), (one, ow) = _poa.alternate(lambda svc=svc: solve_phased(svc, PHASES),
                                                 lambda svc=svc: solve_plan([replace(svc, budget=10.0)])[0],
                                                 a.repeat)
        _poa.print_allocator(phased, pw, label="phased ")
        _poa.print_allocator(one, ow, label="one-shot")
        plan = phased.phases
        assert plan is not None
        for k, ph in enumerate(plan.phases):
            check = value(objective, d, ph.open_mask, a.threshold)
            print(f"phase {ph.year}: {len(ph.new)} new, spent {ph.spent:g}, value {ph.value:,.1f} "
                  f"(numpy {'matches' if _poa.same(check, ph.value) else 'MISMATCH'}), one-shot {ph.one_shot:,.1f}, "
                  f"price {plan.price(k):,.1f} ({plan.price(k) / abs(ph.one_shot):.3%})")
        print(f"last phase vs one-shot of 10: {plan.phases[-1].value:,.1f} vs {one.objective:,.1f}")
        summary.append(f"  {objective:12s} phased {_poa.fmt_s(_poa.med(pw))} (model alone: build "
                       f"{_poa.fmt_s(phased.build_seconds)}, solve {_poa.fmt_s(phased.solve_seconds)}; "
                       f"{phased.n_variables} vars, {phased.n_constraints} rows), one-shot {_poa.fmt_s(_poa.med(ow))}; "
                       f"ratio phased/one-shot {_poa.med(pw) / _poa.med(ow):.1f}x")
    print("\nsummary :")
    print("\n".join(summary))
    print(f"load avg: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"memory  : peak RSS {_poa.peak_rss_gb():.2f} GB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

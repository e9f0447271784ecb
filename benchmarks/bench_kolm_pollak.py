"""Kolm-Pollak beside the p-median on Porto Alegre, same matrix, same engine, one process.

Instances: the city instance of ``bench_pmedian_city.py`` (populated H3 cells x
all 1,227 cells, ``inf`` where unreachable) and the node-scale instance of
``bench_pmedian_nodes.py`` (demand at the drive graph's nodes x the 1,227
cells), drive-mode minutes rounded to 30 s.  Both benchmarks are greenfield;
here the 117 cells with a clinic (hexgrid ``healthcare`` > 0) are the
existing sites, kept open, so that ``kappa`` has its meaning: it is fixed
from the distribution before the plan (``service_kappa``, epsilon -1).  p = 20
new sites among the other cells.  The greenfield case is tried too: there
``kappa`` comes from the times to the nearest of all sites (each cell's own),
and when the transformed costs span more than 1e9 the objective is refused
(the error is printed).

Per instance: the p-median (``solve_p_median``) and ``kolm_pollak``
(``KOLM_POLLAK.solve``) alternately ``--repeat`` times, medians and their
ratio; the p-center once; then the EDE (one kappa), mean and longest trip of
the three plans.

Run::

    ALLOCATOR_DATA_MIRROR=/path/to/data python benchmarks/bench_kolm_pollak.py [--instance city nodes] \
        [--repeat 3] [--epsilon -1] [--round-s 30]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _poa  # noqa: E402

from allocator.errors import AllocatorError  # noqa: E402
from allocator.solve.kernels import nearest_time  # noqa: E402
from allocator.solve.kolm_pollak import ede, service_kappa  # noqa: E402
from allocator.solve.objectives import ModelInput, SolveOptions  # noqa: E402
from allocator.solve.objectives.kolm_pollak import KOLM_POLLAK  # noqa: E402
from allocator.solve.p_center import solve_p_center  # noqa: E402
from allocator.solve.p_median import solve_p_median  # noqa: E402


def bench(label: str, C: np.ndarray, w: np.ndarray, existing: np.ndarray, a) -> None:
    """p-median and kolm_pollak alternately, the p-center once, and the three plans' EDE with one kappa."""
    print(f"== {label}: matrix {C.shape}, {existing.sum()} existing sites, p = {a.p}, epsilon {a.epsilon:g}")
    k = service_kappa(C, w, existing, a.epsilon)
    served = (w > 0) & np.isfinite(C).any(axis=1)
    before = nearest_time(C[served], existing)
    print(f"kappa   : {k:.5f} (from the {np.isfinite(before).sum():,} served points' times to the nearest "
          f"existing site); before: EDE {ede(before, w[served], k):.3f} min, mean "
          f"{np.average(before[np.isfinite(before)], weights=w[served][np.isfinite(before)]):.3f} min")
    problem = ModelInput(C, w, existing, a.p, 15.0, a.epsilon)
    opts = SolveOptions(time_limit=a.limit, threads=a.threads)
    (pm, pm_s), (kp, kp_s) = _poa.alternate(
        lambda: solve_p_median(C, w, a.p, existing, time_limit=a.limit, threads=a.threads),
        lambda: KOLM_POLLAK.solve(problem, opts), a.repeat)
    pc, pc_s = _poa.repeat(lambda: solve_p_center(C, w, a.p, existing, time_limit=a.limit, threads=a.threads), 1)
    for name, sol, walls in (("p_median", pm, pm_s), ("kolm_pollak", kp, kp_s), ("p_center", pc, pc_s)):
        print(f"{name:11s}: status {sol.status}, gap {sol.gap}, objective {sol.objective:.6f} "
              f"({'EDE, min' if name == 'kolm_pollak' else 'model units'}); wall median {_poa.med(walls):.2f} s "
              f"[{', '.join(f'{x:.2f}' for x in walls)}]; {sol.n_variables} vars, {sol.n_constraints} rows")
        for n in sol.notes:
            print(f"{name:11s}:   note: {n}")
    print(f"ratio   : kolm_pollak / p_median median wall = {_poa.med(kp_s) / _poa.med(pm_s):.2f} "
          f"({_poa.med(kp_s):.2f} s / {_poa.med(pm_s):.2f} s)")
    print(f"plans   : EDE with kappa {k:.5f} (min), mean (min), longest trip (min), over the served points")
    for name, sol in (("p_median", pm), ("p_center", pc), ("kolm_pollak", kp)):
        t = nearest_time(C[served], sol.open_sites)
        print(f"plan    : {name:11s} EDE {ede(t, w[served], k):8.4f}  mean {np.average(t, weights=w[served]):8.4f}"
              f"  max {t.max():6.2f}  same sites as kolm_pollak: {set(sol.new_sites) == set(kp.new_sites)}")
    none = np.zeros_like(existing)
    green = ModelInput(C, w, none, a.p, 15.0, a.epsilon)
    try:
        (gp, gp_s), (g, gk_s) = _poa.alternate(
            lambda: solve_p_median(C, w, a.p, none, time_limit=a.limit, threads=a.threads),
            lambda: KOLM_POLLAK.solve(green, opts), a.repeat)
        t = nearest_time(C[served], gp.open_sites)
        print(f"greenfield: kolm_pollak {g.status}, gap {g.gap}, EDE {g.objective:.4f} min (kappa {g.kappa:.4f}), "
              f"wall median {_poa.med(gk_s):.2f} s [{', '.join(f'{x:.2f}' for x in gk_s)}]; p_median {gp.status}, "
              f"EDE {ede(t, w[served], g.kappa):.4f} min, wall median {_poa.med(gp_s):.2f} s "
              f"[{', '.join(f'{x:.2f}' for x in gp_s)}]; ratio {_poa.med(gk_s) / _poa.med(gp_s):.2f}")
        for n in g.notes:
            print(f"greenfield:   note: {n}")
    except AllocatorError as exc:
        print(f"greenfield: kappa {service_kappa(C, w, np.zeros_like(existing), a.epsilon):.4f}; refused: {exc}")
    sys.stdout.flush()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--instance", nargs="+", choices=["city", "nodes"], default=["city", "nodes"])
    ap.add_argument("--p", type=int, default=20)
    ap.add_argument("--epsilon", type=float, default=-1.0)
    ap.add_argument("--round-s", type=float, default=30.0)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each objective; the medians are reported")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--limit", type=float, default=1800.0, help="time_limit per solve, s")
    a = ap.parse_args(argv)
    _poa.header(f"kolm_pollak beside p_median, Porto Alegre, 117 clinics kept, p = {a.p}, drive, rounding "
                f"{a.round_s:g} s", a.threads)
    if "city" in a.instance:
        d = _poa.city(a.round_s)
        clinics = d.drive.hexes.healthcare.fillna(0).to_numpy() > 0
        bench("city (populated cells x 1,227 cells)", d.C_raw, d.w_raw, clinics, a)
    if "nodes" in a.instance:
        n = _poa.nodes(a.round_s, "drive")
        clinics = n.drive.hexes.healthcare.fillna(0).to_numpy() > 0
        bench("nodes (drive-graph nodes x 1,227 cells)", n.C, n.w, clinics, a)
    print(f"memory  : peak RSS {_poa.peak_rss_gb():.2f} GB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Porto Alegre maximal coverage and set cover: allocator vs spopt's MCLP / LSCP, same matrix, one process.

Instances (drive minutes, not rounded by default):

- default: the city matrix of ``bench_pmedian_city.py`` (1,115 populated
  reachable cells x 1,212 reachable candidate cells);
- ``--nodes``: demand at every drive-network node, the instance of
  ``bench_pmedian_nodes.py`` (``_poa.nodes``: 10,654 points x 1,227 cells),
  of which both solvers get the finite part (``_poa.finite_part``): the
  10,308 positive-weight points that reach a site x the 1,212 reachable
  cells.

- maximal coverage (Church & ReVelle 1974), p = 20 new sites, threshold T:
  allocator ``solve_max_coverage(C, w, 20, T)`` vs
  ``spopt.locate.MCLP.from_cost_matrix(C, w, service_radius=T, p_facilities=20)``.
- set cover (Toregas et al. 1971), same T: allocator ``solve_set_cover(C, w, T)``
  vs ``spopt.locate.LSCP.from_cost_matrix(C, service_radius=T)``.  spopt's LSCP
  must cover every row (it is infeasible otherwise), so the rows no site covers
  within T are dropped from the matrix BOTH solvers get.

Both peers are solved with ``pulp.HiGHS(msg=False, timeLimit=LIMIT, gapRel=0)``.

Threshold: default 5 min.  At 10 min a set cover needs only 8 sites (7 on the
node instance), so with p = 20 the maximal-coverage optimum is "cover
everything coverable" (allocator proves it with the set cover, see
``solve_max_coverage``); at 5 min a set cover needs 49 sites (43), so 20 sites
cannot cover everyone and both problems are real choices.  The script solves
the set cover first and prints whether the threshold is non-trivial
(set-cover size > p).

Target (issue): <= 5 s each.

Run::

    python benchmarks/bench_coverage_city.py [--nodes] [--threshold 5] [--repeat 3] [--peer-limit 900] [--skip-peer]
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _poa  # noqa: E402

from allocator.solve.coverage import solve_max_coverage  # noqa: E402
from allocator.solve.set_cover import solve_set_cover  # noqa: E402

TARGET_S = 5.0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--p", type=int, default=20)
    ap.add_argument("--threshold", type=float, default=5.0, help="coverage threshold, minutes (default 5)")
    ap.add_argument("--round-s", type=float, default=0.0, help="round travel times (s); default 0 = exact")
    ap.add_argument("--repeat", type=int, default=3, help="allocator runs; the median is reported")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--alloc-limit", type=float, default=900.0)
    ap.add_argument("--peer-limit", type=float, default=900.0, help="HiGHS time limit for each spopt solve, s")
    ap.add_argument("--skip-peer", action="store_true")
    ap.add_argument("--nodes", action="store_true",
                    help="demand at every drive-network node (bench_pmedian_nodes.py's instance) instead of cells")
    a = ap.parse_args(argv)
    T = a.threshold

    where = "drive-network nodes x cells" if a.nodes else "cells"
    _poa.header(f"set cover and maximal coverage, Porto Alegre {where}, T = {T:g} min drive, p = {a.p}, "
                f"rounding {a.round_s:g} s", a.threads)
    if a.nodes:
        d = _poa.nodes(a.round_s)
        C, w = _poa.finite_part(d.C, d.w)
        notes = d.notes + [f"instance given to both solvers: the finite part, {C.shape[0]:,} positive-weight "
                           f"points that reach a site x {C.shape[1]:,} reachable cells "
                           f"(of the {d.C.shape[0]:,} x {d.C.shape[1]:,} matrix)"]
    else:
        d = _poa.city(a.round_s)
        C, w, notes = d.C, d.w, d.notes
    for n in notes:
        print("data    :", n)
    cover = C <= T
    coverable = cover.any(axis=1)
    print(f"data    : matrix {C.shape} (travel-time matrix {d.matrix_s:.2f} s); {cover.mean():.2%} of pairs "
          f"within {T:g} min; {(~coverable).sum()} demand rows (population {w[~coverable].sum():,.0f}) "
          f"have no site within {T:g} min (the walk from the point to the road alone is too long)")
    sys.stdout.flush()

    results = []

    # ---- set cover -----------------------------------------------------------
    Cs, ws = np.ascontiguousarray(C[coverable]), w[coverable]
    print(f"\n-- set cover on the {Cs.shape} coverable rows")
    sc, walls = _poa.repeat(lambda: solve_set_cover(Cs, ws, T, time_limit=a.alloc_limit,
                                                    threads=a.threads), a.repeat)
    t_sc = _poa.med(walls)
    _poa.print_allocator(sc, walls)
    ok = bool((Cs[:, sc.open_sites] <= T).any(axis=1).all())
    print(f"check   : every row covered by allocator's {len(sc.open_sites)} sites (numpy): {ok}")
    nontrivial = sc.objective > a.p
    print(f"check   : threshold non-trivial for maximal coverage with p = {a.p}: {nontrivial} "
          f"(a full cover needs {sc.objective:g} sites)")
    print(f"target  : <= {TARGET_S:g} s: "
          f"{'MET' if sc.status == 'optimal' and t_sc <= TARGET_S else 'NOT met'} ({t_sc:.3f} s)")
    sys.stdout.flush()
    if not a.skip_peer:
        from spopt.locate import LSCP
        peer = _poa.run_spopt("spopt LSCP", lambda: LSCP.from_cost_matrix(Cs, service_radius=T),
                              a.peer_limit, a.threads)
        peer.show()
        pobj = math.nan
        if peer.open_cols is not None:
            pobj = float(len(peer.open_cols))
            pok = bool((Cs[:, peer.open_cols] <= T).any(axis=1).all())
            print(f"spopt LSCP: {len(peer.open_cols)} sites, every row covered (numpy): {pok}")
        print(f"compare : allocator {sc.objective:g} sites vs spopt {pobj:g}: match {_poa.same(sc.objective, pobj)}")
        line = _poa.ratio_line(t_sc, peer, sc.objective, pobj, maximise=False)
        print(line)
        results.append(("set cover", t_sc, peer.total_s, line))
    sys.stdout.flush()

    # ---- maximal coverage ------------------------------------------------------
    print(f"\n-- maximal coverage on the full {C.shape} matrix, p = {a.p}")
    mc, walls = _poa.repeat(lambda: solve_max_coverage(C, w, a.p, T, time_limit=a.alloc_limit,
                                                       threads=a.threads), a.repeat)
    t_mc = _poa.med(walls)
    _poa.print_allocator(mc, walls)
    check = _poa.coverage_value(C, w, mc.open_sites, T)
    print(f"check   : covered population re-evaluated with numpy: {check:,.1f} "
          f"({'matches' if _poa.same(check, mc.objective) else 'MISMATCH'}), "
          f"{check / w.sum():.4%} of {w.sum():,.0f}; new sites == p: {len(mc.new_sites) == a.p}")
    print(f"target  : <= {TARGET_S:g} s: "
          f"{'MET' if mc.status == 'optimal' and t_mc <= TARGET_S else 'NOT met'} ({t_mc:.3f} s)")
    print(f"memory  : peak RSS after allocator's solves {_poa.peak_rss_gb():.2f} GB")
    sys.stdout.flush()
    if not a.skip_peer:
        from spopt.locate import MCLP
        peer = _poa.run_spopt("spopt MCLP",
                              lambda: MCLP.from_cost_matrix(C, w, service_radius=T, p_facilities=a.p),
                              a.peer_limit, a.threads)
        peer.show()
        pobj = math.nan
        if peer.open_cols is not None:
            pobj = _poa.coverage_value(C, w, peer.open_cols, T)
            print(f"spopt MCLP: covered population re-evaluated with numpy from its "
                  f"{len(peer.open_cols)} sites: {pobj:,.1f}")
        print(f"compare : allocator {mc.objective:,.1f} vs spopt {pobj:,.1f}: match {_poa.same(mc.objective, pobj)}")
        line = _poa.ratio_line(t_mc, peer, mc.objective, pobj, maximise=True)
        print(line)
        results.append(("max coverage", t_mc, peer.total_s, line))
        print(f"memory  : peak RSS of the process (spopt included) {_poa.peak_rss_gb():.2f} GB")

    if results:
        print("\nsummary :")
        for name, ta, tp, line in results:
            print(f"  {name:13s} allocator {ta:.3f} s, spopt {tp:.2f} s; {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

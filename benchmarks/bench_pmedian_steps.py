"""Which part of the node-scale p-median's gain each change gives: the same instance solved by successive revisions.

Instance: ``bench_pmedian_nodes.py``'s (Porto Alegre, demand at the nodes of the chosen graph, 1,227
candidate cells, p = 20, drive minutes rounded to 30 s).  Each revision given is checked out in a
temporary git worktree (detached) and solves the very same matrix in a child process in its own folder;
the revisions are alternated ``--repeat`` times, so drift in the machine's load hits all of them.  Prints
every run with the load, then per revision its median wall time, its ratio to the first revision and to
the one before, and whether every objective matches the first (rel 1e-9).

Run (from a git checkout; the default revisions are issue 25's second round, each step one commit)::

    python benchmarks/bench_pmedian_steps.py [--nodes all] [--repeat 3] [REV ...]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import _poa  # noqa: E402

#: issue 25, second round: before, one column per ball, the interchange on sorted prefixes, the Lagrangian on
#: its sorted window (table, then single precision and one window), the greedy's buffer and block-wise copies
STEPS = {"before": "28c5041", "balls": "e129189", "interchange prefixes": "0d73b6a",
         "Lagrangian table": "00a3f64", "Lagrangian f32 + one window": "c8eb0e6", "no full-size copies": "822039c"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("revisions", nargs="*", help="git revisions, in order (default: issue 25's steps)")
    ap.add_argument("--nodes", choices=["drive", "walk", "all"], default="all")
    ap.add_argument("--p", type=int, default=20)
    ap.add_argument("--round-s", type=float, default=30.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--limit", type=float, default=600.0, help="time_limit of every solve, s")
    a = ap.parse_args(argv)
    steps = {rev: rev for rev in a.revisions} if a.revisions else STEPS
    _poa.header(f"p-median steps, Porto Alegre, demand at {a.nodes}-graph nodes, p = {a.p}, "
                f"rounding {a.round_s:g} s", 1)
    d = _poa.nodes(a.round_s, a.nodes)
    print(f"data    : matrix {d.C.shape}", flush=True)
    repo = HERE.parent
    with tempfile.TemporaryDirectory() as folder:
        roots = {}
        for name, rev in steps.items():
            root = Path(folder) / rev
            subprocess.run(["git", "-C", str(repo), "worktree", "add", "--detach", "-q", str(root), rev], check=True)
            roots[name] = str(root)
        try:
            runs = _poa.race(d.C, d.w, a.p, roots, a.repeat, a.limit, tag="steps")
        finally:
            for root in roots.values():
                subprocess.run(["git", "-C", str(repo), "worktree", "remove", "--force", root], check=False)
    first = next(iter(runs))
    medians = {name: _poa.med([r["wall"] for r in rs]) for name, rs in runs.items()}
    previous = None
    for name, m in medians.items():
        same = all(_poa.same(r["objective"], runs[first][0]["objective"]) for r in runs[name])
        step = f", {medians[previous] / m:.2f}x the step before" if previous else ""
        print(f"median  : {name:28s} ({steps[name]}) {m:7.2f} s, {medians[first] / m:5.2f}x the first{step}; "
              f"objectives match the first: {same}")
        previous = name
    return 0


if __name__ == "__main__":
    sys.exit(main())

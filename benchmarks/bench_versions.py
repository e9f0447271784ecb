"""Two versions of allocator on the same scenario: wall time of whole runs, alternated.

For a change that should not change speed (a refactor), run the same scenario
with the code of two work trees, one run after the other in turns so both see
the same machine load, and print each run, the medians and the ratio
OLD / NEW (above 1: the new code is faster).  Each run is a fresh process
(``run_scenario.py --quiet --no-tiles`` with ``PYTHONPATH`` set to the tree),
so imports and the network cache read are counted as a user sees them; the
network cache is warmed once per tree before timing::

    python benchmarks/bench_versions.py OLD_TREE NEW_TREE scenarios/poa_clinics.yaml --repeat 5

Both trees must be checkouts of allocator (e.g. ``git worktree add /tmp/old <rev>``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed_run(tree: Path, scenario: Path, out: Path) -> float:
    """Seconds for one run of ``scenario`` with the code of ``tree`` (fails loudly on a non-zero exit)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    start = time.perf_counter()
    subprocess.run([sys.executable, str(tree / "run_scenario.py"), "--quiet", "--no-tiles", "--out", str(out),
                    str(scenario)], env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def git_hash(tree: Path) -> str:
    found = subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return found.stdout.strip() or "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path, help="work tree of the old version")
    parser.add_argument("new", type=Path, help="work tree of the new version")
    parser.add_argument("scenario", type=Path, nargs="+", help="scenario YAML file(s), absolute or from the cwd")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per version and scenario")
    args = parser.parse_args()
    trees = {"old": args.old.resolve(), "new": args.new.resolve()}
    print(f"cores {os.cpu_count()}; old {trees['old']} @ {git_hash(trees['old'])}; "
          f"new {trees['new']} @ {git_hash(trees['new'])}")
    with tempfile.TemporaryDirectory() as tmp:
        for scenario in args.scenario:
            scenario = scenario.resolve()
            for name, tree in trees.items():   # warm the network cache and the imports
                timed_run(tree, scenario, Path(tmp) / name)
            runs: dict[str, list[float]] = {"old": [], "new": []}
            for _ in range(args.repeat):
                for name, tree in trees.items():
                    runs[name].append(timed_run(tree, scenario, Path(tmp) / name))
            med = {name: statistics.median(times) for name, times in runs.items()}
            for name, times in runs.items():
                print(f"{scenario.name} {name}: " + " ".join(f"{t:.2f}" for t in times) + f"  median {med[name]:.2f} s")
            print(f"{scenario.name}: old / new = {med['old'] / med['new']:.3f}")


if __name__ == "__main__":
    main()

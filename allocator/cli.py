"""The command line: ``python run_scenario.py scenarios/x.yaml [options]``.

Input problems end with a one-paragraph message naming the file, field and
fix, and exit status 2 (``--debug`` shows the traceback instead).
"""

from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path

from . import ATTRIBUTION, __version__
from .errors import AllocatorError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="run_scenario.py",
        description="Solve a facility-location scenario on a real road network and write "
                    "its map, summary and tables to <output.dir>/<scenario name>/.",
        epilog="Example: python run_scenario.py scenarios/poa_clinics.yaml",
    )
    parser.add_argument("scenario", type=Path, nargs="+", help="scenario YAML file(s)")
    parser.add_argument("--out", type=Path, help="output folder (default: the scenario's output.dir, usually maps/)")
    parser.add_argument("--time-limit", type=float, metavar="S", help="solver time limit per model, seconds")
    parser.add_argument("--gap", type=float, metavar="G", help="relative optimality gap to stop at (default 0: proven optimal)")
    parser.add_argument("--threads", type=int, metavar="N", help="solver threads")
    parser.add_argument("--no-tiles", action="store_true", help="map without a background tile layer (fully offline)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.add_argument("--version", action="version", version=f"allocator {__version__}")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run each scenario given; return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        for path in args.scenario:
            run_one(path, args)
    except AllocatorError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted: earlier results were left as they were", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not bad input: still no raw traceback unless asked for
        if args.debug:
            raise
        print(f"internal error: {type(exc).__name__}: {exc}\n  this is a bug in allocator; "
              "rerun with --debug for the traceback and report it. Earlier results were left as they were.",
              file=sys.stderr)
        return 1
    return 0


def run_one(path: Path, args: argparse.Namespace) -> None:
    """Load, solve and write one scenario, then print where the results are."""
    from .outputs import headline, write_outputs  # heavy imports after argument parsing
    from .pipeline import Progress, run
    from .scenario import SolverSpec, load_scenario

    scenario = load_scenario(path)
    spec = scenario.spec
    solver = SolverSpec(
        time_limit_s=args.time_limit if args.time_limit is not None else spec.solver.time_limit_s,
        gap_rel=args.gap if args.gap is not None else spec.solver.gap_rel,
        threads=args.threads if args.threads is not None else spec.solver.threads,
    )
    log = Progress(quiet=args.quiet)
    result = run(scenario, solver=solver, log=log)
    out_dir = (args.out.resolve() / spec.name) if args.out else scenario.output_dir
    write_outputs(result, out_dir, tiles=spec.output.tiles and not args.no_tiles)
    log(f"outputs written to {out_dir}")

    print(f"\n{spec.title or spec.name}")
    for s in result.services:
        h = headline(s)
        t = s.service.threshold_min
        print(f"  {s.service.name} ({s.service.objective}, {s.solution.status}): {h['new_sites']} new site(s)")
        print(f"    population within {t:g} min ({spec.network.mode}): "
              f"{h['within_before']:.1%} -> {h['within_after']:.1%} of {h['population']:,.0f}")
        print(f"    underserved: {h['underserved_before']:,.0f} -> {h['underserved_after']:,.0f}")
        print(f"    mean trip: {s.before['mean_min']:.1f} -> {s.after['mean_min']:.1f} min; "
              f"90th percentile: {s.before['p90_min']:.1f} -> {s.after['p90_min']:.1f} min")
        for note in s.notes:
            print(f"    note: {note}")
    print(f"  map:     {out_dir / 'map.html'}")
    print(f"  summary: {out_dir / 'summary.json'}")
    print(f"  data {ATTRIBUTION}")

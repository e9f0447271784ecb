"""The command line: ``python run_scenario.py scenarios/x.yaml [options]``.

Input problems end with a one-paragraph message naming the file, field and
fix, and exit status 2 (``--debug`` shows the traceback instead). With
``--strict``, a run whose targets are not all met after the change ends with
a list of the missed targets and exit status 3 (outputs are still written).
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
import warnings
from pathlib import Path
from typing import NoReturn

from pydantic import ValidationError

from allocator import __version__
from allocator.errors import AllocatorError
from allocator.evaluate.result import FAILED
from allocator.files import expand_home
from allocator.outputs.comparison import WRITTEN_BEFORE_MARKER, write_comparison
from allocator.outputs.files import (
    check_inputs_outside,
    check_replaceable,
    recover_interrupted_swap,
    write_outputs,
    written_pages,
)
from allocator.outputs.how_sure import console_lines
from allocator.outputs.labels import amount, cjk_font
from allocator.outputs.notes import told
from allocator.outputs.report import missed_targets, people_of
from allocator.outputs.summary import headline, plan_changes
from allocator.pipeline import Progress, plain
from allocator.scale.batch import run_parallel as run_batch
from allocator.scale.cluster import LazyClient
from allocator.scale.sweep import run_loaded
from allocator.scenario.loader import load_scenario
from allocator.scenario.schema import SolverSpec
from allocator.solve.run_info import ATTRIBUTION

EXIT_TARGET_MISSED = 3   # --strict: a target of the scenario is missed after the change
#: the command-line option of each solver field it overrides
SOLVER_OPTIONS = {"time_limit_s": "--time-limit", "gap_rel": "--gap", "threads": "--threads"}


class Parser(argparse.ArgumentParser):
    """argparse, with its errors in the form of every other input error: the message, a fix line, exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message}\n  fix: '{self.prog} --help' lists every option and the values it takes\n"
                     f"{self.format_usage()}")


def say(text: str = "", *, err: bool = False) -> None:
    """One console line (or paragraph) on stdout, or stderr with ``err``, through :func:`plain`."""
    print(plain(text), file=sys.stderr if err else sys.stdout)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
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
    parser.add_argument("--debug", action="store_true", help="show tracebacks (and what --verbose shows)")
    parser.add_argument("--verbose", action="store_true",
                        help="also show the solver's detail (model, bounds, reductions) and the Dask cluster's log, "
                             "with the traceback of each failed sweep point or scenario")
    parser.add_argument("--lang", choices=("en", "zh"), help="language of report.html (default: the scenario's 'language', en)")
    parser.add_argument("--strict", action="store_true",
                        help=f"exit with status {EXIT_TARGET_MISSED} when any target is missed after the change")
    parser.add_argument("--compare", action="store_true",
                        help="also write compare/ (comparison.csv, comparison.html) setting the scenarios side by side")
    parser.add_argument("--parallel", action="store_true",
                        help="run the scenarios at the same time on the Dask cluster (see --scheduler, --workers)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="Dask scheduler of an existing cluster for sweeps and --parallel, e.g. tcp://host:8786 "
                             "(default: $ALLOCATOR_SCHEDULER, else a local cluster)")
    parser.add_argument("--workers", type=_at_least_one, metavar="N",
                        help="worker processes of the local cluster (default: one per core)")
    parser.add_argument("--version", action="version", version=f"allocator {__version__}")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run each scenario given; return the exit status.

    A library's warning is one ``warning:`` line on the console (its source line and code only with
    ``--debug``), through :func:`allocator.pipeline.plain` as every other line.
    """
    args = build_parser().parse_args(argv)
    with warnings.catch_warnings():   # showwarning is put back on leaving
        if not args.debug:
            warnings.showwarning = _warning_line
        return _run(args)


def _warning_line(message, category, filename, lineno, file=None, line=None) -> None:
    say(f"warning: {message}", err=True)


def _run(args: argparse.Namespace) -> int:
    """:func:`main` once the command line is parsed."""
    cluster = None
    try:
        solver_options(args)
        folders = output_folders(args)
        cluster = LazyClient(args.scheduler, args.workers, verbose=args.verbose or args.debug)
        results = run_parallel(args, cluster) if args.parallel else run_each(args, cluster)
        if args.compare:
            write_compare(results, compare_folder(folders), args)
        closing_block(folders + ([compare_folder(folders)] if args.compare else []),
                      {args.lang or r.info.language for r in results})
        if args.strict and (missed := _missed(results)):
            say("targets missed after the change (--strict):\n  " + "\n  ".join(missed), err=True)
            return EXIT_TARGET_MISSED
    except AllocatorError as exc:
        if args.debug:
            traceback.print_exc()
        say(f"error: {exc}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        say("interrupted: earlier results were left as they were", err=True)
        return 130
    except Exception as exc:  # a bug, not bad input: still no raw traceback unless asked for
        if args.debug:
            raise
        say(f"internal error: {type(exc).__name__}: {exc}\n  this is a bug in allocator; "
              "rerun with --debug for the traceback and report it. Earlier results were left as they were.",
              err=True)
        return 1
    finally:
        if cluster is not None:
            cluster.close()
    return 0


def _at_least_one(text: str) -> int:
    """--workers: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return value


def solver_for(spec, args: argparse.Namespace):
    """The scenario's solver options with the command line's --time-limit, --gap and --threads on top."""
    return SolverSpec(**{**spec.solver.model_dump(), **solver_options(args)})


def run_each(args: argparse.Namespace, cluster) -> list:
    """Without --parallel: the scenarios one after the other. As with :func:`run_parallel`, one failing while
    running does not stop the next: the others are written, then one error names each that failed."""
    if len(args.scenario) == 1:
        return [run_one(args.scenario[0], args, cluster)]
    results, failed = [], {}
    for path in args.scenario:
        try:
            results.append(run_one(path, args, cluster))
        except AllocatorError as exc:
            failed[path] = exc
    if failed:
        raise batch_error(failed, len(args.scenario))
    return results


def run_parallel(args: argparse.Namespace, cluster) -> list:
    """--parallel: every scenario solved on the cluster at once, then written and printed in order.

    The files were checked by :func:`output_folders`; a scenario that fails
    while running (an input error in its data, on a worker, or in writing)
    does not stop the others: theirs are written, then one error names every
    scenario that failed and why (a bug among them is raised as it is).
    """
    scenarios = [load_scenario(path) for path in args.scenario]
    jobs = [(scenario, solver_for(scenario.spec, args)) for scenario in scenarios]
    computed = run_batch(jobs, cluster.get(), log=Progress(quiet=args.quiet), quiet=args.quiet)
    results, bugs, failed = [], [], {}
    for scenario, outcome in zip(scenarios, computed, strict=True):
        try:
            if not isinstance(outcome, Exception):
                results.append(run_one(scenario.path, args, cluster, outcome))
            elif isinstance(outcome, AllocatorError):
                failed[scenario.path] = outcome
            else:
                bugs.append(outcome)
        except AllocatorError as exc:   # writing this scenario's outputs
            failed[scenario.path] = exc
    if bugs:
        raise bugs[0]   # after the others are written
    if failed:
        raise batch_error(failed, len(scenarios))
    return results


def batch_error(failed: dict[Path, AllocatorError], total: int) -> AllocatorError:
    """One input error naming each scenario of a batch that failed, with its own message."""
    others = " (the outputs of the others were written)" if len(failed) < total else ""
    lines = [f"{len(failed)} of {total} scenario(s) failed{others}:"]
    for path, exc in failed.items():
        text = str(AllocatorError(exc.message, file=exc.file, field=exc.field, line=exc.line))
        if exc.file is None or os.path.abspath(exc.file) != os.path.abspath(path):
            text = f"{path}: {text}"   # the scenario, then the data file at fault
        lines += [f"  {text}"] + ([f"    fix: {exc.fix}"] if exc.fix else [])
    return AllocatorError("\n".join(lines), fix="correct the scenario(s) named above and run them again")


def run_one(path: Path, args: argparse.Namespace, cluster=None, result=None):
    """Load, solve and write one scenario, then print where the results are.

    A scenario with a sweep solves its points on ``cluster`` (a :class:`~allocator.scale.cluster.LazyClient`);
    ``result`` is the scenario's run when it is already solved (--parallel).
    """
    scenario = load_scenario(path) if result is None else None
    log = Progress(quiet=args.quiet)
    name, output_dir = (scenario.spec.name, scenario.output_dir) if scenario is not None else \
        (result.info.name, result.info.output_dir)
    out_dir = output_folder(args, name, output_dir)
    if recover_interrupted_swap(out_dir):
        log(f"restored the previous outputs of {out_dir} (a run was killed while replacing them)")
    if scenario is not None:
        result = run_loaded(scenario, solver=solver_for(scenario.spec, args), client=cluster, log=log,
                            quiet=args.quiet)
    info = result.info
    write_outputs(result, out_dir, tiles=info.tiles and not args.no_tiles, lang=args.lang)
    log(f"outputs written to {out_dir}")

    account(result, verbose=args.verbose or args.debug)
    return result


def account(result, *, verbose: bool = False) -> None:
    """The console's account of one run in plain words: per service the decision, who is within reach before and
    after, the trips, and the notes, each fact once (:func:`allocator.outputs.notes.told`); the solver's detail
    (model, status, bounds, reductions) only when ``verbose``."""
    info = result.info
    say(f"\n{info.title}")
    if info.shared_budget is not None:
        say(f"  shared budget: {amount(result.shared_budget_used, info.currency)} of {amount(info.shared_budget, info.currency)} spent, "
            "solved jointly")
    for s in result.services:
        h = headline(s)
        t = s.service.threshold_min
        people = people_of(result, s, "en")
        solver = f" ({s.service.objective}, {s.solution.status}, objective {s.solution.objective:,.1f})" if verbose else (
            " (stopped at the time limit: not proven best)" if s.solution.status != "optimal" else "")
        say(f"  {s.service.name}: {plural(h['new_sites'], 'new site')}{solver}")
        if changes := plan_changes(s):
            parts = [f"{plural(len(changes['closed_sites']), 'existing site')} closed"] \
                if "closed_sites" in changes else []
            parts += [f"{len(changes['upgraded_sites'])} upgraded"] if "upgraded_sites" in changes else []
            budget = changes["budget"]
            parts.append(f"spent {amount(changes['budget_used'], info.currency)}"
                         + (f" of a budget of {amount(budget, info.currency)}" if budget is not None else "")
                         + " (opening costs + upgrades - savings)")
            say("    plan: " + ", ".join(parts))
        say(f"    {people} within {t:g} min ({result.network.mode}): "
            f"{_fmt(h['within_before'], '.1%')} -> {_fmt(h['within_after'], '.1%')} of {_fmt(h['population'], ',.0f')}")
        say(f"    {people} beyond {t:g} min: {_fmt(h['underserved_before'], ',.0f')} -> "
            f"{_fmt(h['underserved_after'], ',.0f')}")
        say(f"    mean trip: {_fmt(s.before['mean_min'], '.1f')} -> {_fmt(s.after['mean_min'], '.1f')} min; "
            f"90th percentile: {_fmt(s.before['p90_min'], '.1f')} -> {_fmt(s.after['p90_min'], '.1f')} min; "
            f"equally-distributed equivalent (Kolm-Pollak, epsilon {s.ede_epsilon:g}): "
            f"{_fmt(s.before['ede_min'], '.1f')} -> {_fmt(s.after['ede_min'], '.1f')} min")
        if s.staffing is not None:
            st, limit = s.staffing.metrics, s.staffing.limit_min
            say(f"    counters: {int(s.staffing.offices['counters_before'].sum())} -> {s.staffing.staff}; "
                f"mean wait {_wait(st['before'])} -> {_wait(st['after'])}; waiting <= {limit:g} min: "
                f"{_fmt(st['before']['wait_within_share'], '.1%')} -> {_fmt(st['after']['wait_within_share'], '.1%')}")
        for note in told(s.notes, "en", people):
            if verbose or not note.solver:
                say(f"    {'solver' if note.solver else 'note'}: {note.text}")
    if result.sweep is not None:
        say("  " + sweep_line(result.sweep))
    for line in console_lines(result):   # spending, robustness (allocator.outputs.how_sure)
        say("  " + line)


def plural(n: int, word: str) -> str:
    """"1 new site", "3 new sites"."""
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def closing_block(folders: list[Path], langs: set[str]) -> None:
    """The run's last lines: every page written (report, maps, comparison), to open in a browser, and the data
    credit; an error line when a Chinese page's figures could not be labelled in Chinese."""
    if "zh" in langs and cjk_font() is None:
        say("error: no Chinese (CJK) font is installed: the figures of the Chinese pages are labelled in English "
            "(the pages say so)\n  fix: install fonts-noto-cjk (Debian/Ubuntu: sudo apt-get install fonts-noto-cjk) "
            "and run again", err=True)
    pages = [page for folder in folders for page in written_pages(folder)]
    say("\nopen these pages:\n" + "\n".join(f"  {page}" for page in pages))
    say(f"data {ATTRIBUTION}")


def solver_options(args: argparse.Namespace) -> dict:
    """The solver options given on the command line, checked by the schema's :class:`SolverSpec` bounds."""
    given = {"time_limit_s": args.time_limit, "gap_rel": args.gap, "threads": args.threads}
    given = {k: v for k, v in given.items() if v is not None}
    try:
        SolverSpec(**given)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0])
        raise AllocatorError(f"{error['msg']} (got {error['input']!r})", field=SOLVER_OPTIONS[field],
                             fix=f"see --help; the scenario's solver.{field} has the same bounds") from None
    return given


def out_root(args: argparse.Namespace) -> Path:
    """``--out`` as an absolute path, ``~`` expanded as in input paths (a symlink loop or an unusable path is an
    input error)."""
    try:
        return expand_home(args.out, "--out").resolve()
    except (OSError, RuntimeError) as exc:   # RuntimeError: a symlink loop (Python < 3.13)
        raise AllocatorError(f"cannot use this output folder ({exc})", file=args.out, field="--out",
                             fix="give a folder path without symlink loops") from None


def output_folder(args: argparse.Namespace, name: str, output_dir: Path) -> Path:
    """Where scenario ``name`` writes: ``<--out>/<name>``, else its own ``<output.dir>/<name>`` (``output_dir``)."""
    return out_root(args) / name if args.out else output_dir


def output_folders(args: argparse.Namespace) -> list[Path]:
    """Every scenario's output folder, checked before anything runs: each replaceable (only a folder allocator
    wrote is replaced) and none written twice (by two scenarios, or by one and ``--compare``)."""
    writers: dict[Path, Path] = {}
    for path in args.scenario:
        scenario = load_scenario(path)
        folder = output_folder(args, scenario.spec.name, scenario.output_dir)
        if folder in writers:
            raise AllocatorError(f"{writers[folder]} and {scenario.path} both write their outputs to {folder}",
                                 file=scenario.path, field="name",
                                 fix="give each scenario its own name: (or output.dir) so neither overwrites the "
                                     "other")
        writers[folder] = scenario.path
    folders = list(writers)
    for folder, path in writers.items():
        check_replaceable(folder)
        check_inputs_outside(folder, [("scenario", path)])   # its data files: once resolved (write_outputs)
    if args.compare:
        compare = compare_folder(folders)
        if compare in writers:
            raise AllocatorError(f"{writers[compare]} writes its outputs to {compare}, where --compare writes the "
                                 "comparison", file=writers[compare], field="name",
                                 fix="rename that scenario (name:), or run --compare with another --out")
        check_replaceable(compare, WRITTEN_BEFORE_MARKER)
    return folders


def compare_folder(folders: list[Path]) -> Path:
    """``--compare``'s folder: ``compare/`` beside the first scenario's outputs (in --out, else its output.dir)."""
    return folders[0].parent / "compare"


def sweep_line(sweep) -> str:
    """The console's account of a sweep: how many points, the knee, the point shown, and one line per failed
    point with its value and error (the traceback is in the cluster's log with --verbose)."""
    failed = len(sweep.table) - len(sweep.solved)
    knee = f"knee at {sweep.parameter} = {sweep.knee:g}" if sweep.knee is not None else "no knee"
    points = sweep.table[sweep.table["status"] == FAILED]
    return (f"sweep of {sweep.service}.{sweep.parameter}: {plural(len(sweep.table), 'point')}"
            + (f" ({failed} failed, see sweep.csv)" if failed else "")
            + f", {knee} (gain per extra site below {100 * sweep.min_gain:g} % after it); "
            f"outputs for {sweep.parameter} = {sweep.chosen:g}"
            + "".join(f"\n    {sweep.parameter} = {value:g} failed: {error}"
                      for value, error in zip(points[sweep.parameter], points["error"], strict=True)))


def _fmt(value, spec: str) -> str:
    """A figure for the console; "n/a" when there is none (e.g. no facility before, nobody reachable)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "n/a"
    return format(number, spec) if number == number and abs(number) != float("inf") else "n/a"


def _wait(metrics: dict) -> str:
    """The mean wait for the console, or how many offices' queues grow without end."""
    if metrics["unstable_offices"]:
        return f"unbounded ({metrics['unstable_offices']} office(s) with utilisation >= 1)"
    return f"{_fmt(metrics['wait_mean_min'], '.1f')} min"


def _missed(results) -> list[str]:
    """Every target missed after the change, as "scenario / service: target (after: value)"."""
    return [f"{r.info.name} / {line}" for r in results for line in missed_targets(r)]


def write_compare(results, folder: Path, args: argparse.Namespace) -> None:
    """``--compare``: comparison.csv and comparison.html in ``folder`` (:func:`compare_folder`)."""
    write_comparison(results, folder, lang=args.lang or results[0].info.language)

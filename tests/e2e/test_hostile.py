"""Hostile input, class by class: each ends in exit status 2 with a message, never exit 1, a hang or gigabytes.

Complements ``test_robustness.py`` (the table of ordinary bad inputs).  Cases
that could hang or blow up memory run the command line in a child process
with a timeout and an address-space limit (:func:`run_child`); the rest run
in-process on the small São Paulo data or on tiny synthetic files.
"""

from __future__ import annotations

import copy
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import mirrored_env, no_hang
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allocator.cli import main
from allocator.errors import AllocatorError
from allocator.files import MAX_SCENARIO_BYTES, checked_file, read_text
from allocator.scenario.loader import MAX_DEPTH, MAX_NODES, ScenarioLoader, load_scenario

REPO = Path(__file__).resolve().parents[2]
HEX = "catalog:sao_paulo/spo_hexgrid.csv"
CELLS = {"source": HEX, "h3": "id", "id": "id"}
SMALL = {
    "name": "hs",
    "network": {"source": "catalog:sao_paulo/spo_osm.pbf", "mode": "walk"},
    "demand": [{"name": "residents", **CELLS, "population": "population"}],
    "services": [{"name": "clinics", "objective": "max_coverage", "threshold_min": 8, "p": 2,
                  "candidates": dict(CELLS)}],
    "output": {"tiles": False},
}
MEMORY_LIMIT = 3 << 30   # bytes of address space a child run may use
TIMEOUT_S = 120


@pytest.fixture(scope="module", autouse=True)
def shared_env(tmp_path_factory, mirror: Path):
    with mirrored_env(mirror, tmp_path_factory.mktemp("hs-cache")):
        yield


def scenario_text(**top) -> str:
    """SMALL as YAML text, with top-level keys replaced."""
    return yaml.safe_dump({**copy.deepcopy(SMALL), **top}, sort_keys=False)


def cli(folder: Path, scenario: dict | str, capsys, *extra: str) -> tuple[int, str]:
    """Run the CLI in-process on ``scenario`` written to folder/s.yaml; (status, stderr)."""
    path = folder / "s.yaml"
    path.write_text(scenario if isinstance(scenario, str) else yaml.safe_dump(scenario, sort_keys=False))
    capsys.readouterr()
    code = main([str(path), "--out", str(folder / "out"), "--quiet", *extra])
    return code, capsys.readouterr().err


def assert_clean_error(code: int, err: str, *expected: str) -> None:
    """Exit 2, one message with a fix line, naming each of ``expected``."""
    assert code == 2, err
    assert err.startswith("error: ") and "\n  fix: " in err, err
    assert "Traceback" not in err and "internal error" not in err, err
    for text in expected:
        assert text in err, (text, err)


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_child(scenario: Path, *extra: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """The command line in a child process with a timeout and at most MEMORY_LIMIT of address space."""
    return subprocess.run([sys.executable, str(REPO / "run_scenario.py"), str(scenario), "--quiet",
                           "--out", str(scenario.parent / "out"), *extra],
                          capture_output=True, text=True, timeout=TIMEOUT_S, preexec_fn=_limit_memory,
                          env={**os.environ, **(env or {})}, cwd=scenario.parent)


def alias_bomb(levels: int = 10, width: int = 10) -> str:
    """A billion-laughs YAML: each level lists the previous one ``width`` times (a few hundred bytes)."""
    lines = ["name: hs", "l0: &l0 [" + ", ".join("x" * width) + "]"]
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- #
# class: hangs and memory blow-ups (YAML structure, file kinds)                #
# --------------------------------------------------------------------------- #

@pytest.mark.slow
def test_alias_bomb_is_refused_quickly_in_bounded_memory(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(alias_bomb())
    done = run_child(tmp_path / "s.yaml")
    assert done.returncode == 2, done.stderr
    assert "aliases" in done.stderr and "s.yaml" in done.stderr and "fix:" in done.stderr


def test_aliases_of_small_sections_still_work(tmp_path: Path) -> None:
    doc = copy.deepcopy(SMALL)
    doc["services"].append({**doc["services"][0], "name": "schools"})
    text = yaml.safe_dump(doc, sort_keys=False)   # PyYAML writes the shared mapping as an anchor and an alias
    assert "&id001" in text and "*id001" in text
    (tmp_path / "s.yaml").write_text(text)
    assert [s.name for s in load_scenario(tmp_path / "s.yaml").spec.services] == ["clinics", "schools"]


@pytest.mark.parametrize("opening, closing", [("[", "]"), ("{a: ", "}")])
def test_deep_nesting_is_an_error_not_a_recursion_error(tmp_path: Path, opening: str, closing: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("name: hs\nx: " + opening * 20_000 + "1" + closing * 20_000 + "\n")
    with pytest.raises(AllocatorError, match=f"nested more than {MAX_DEPTH} levels") as info:
        load_scenario(path)
    assert info.value.line == 2 and info.value.fix


def test_nesting_just_under_the_limit_reaches_the_schema(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(scenario_text(title="[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)).replace(
        "title: '" + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "'",
        "title: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)))
    with pytest.raises(AllocatorError) as info:
        load_scenario(path)
    assert info.value.field == "title" and "nested" not in info.value.message


def test_expanded_size_limit_counts_alias_uses(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(alias_bomb(levels=3, width=10))   # 1 + 10 + 100 + 1000 values: well under the limit
    with pytest.raises(AllocatorError) as info:
        load_scenario(path)
    assert "expands" not in info.value.message      # reaches the schema (l0 is an unknown key)
    path.write_text(alias_bomb(levels=6, width=10))   # a million values
    with pytest.raises(AllocatorError, match=f"above the limit of {MAX_NODES:,}"):
        load_scenario(path)


def test_duplicate_keys_name_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    text = scenario_text().replace("  p: 2\n", "  p: 2\n  p: 250\n")
    path.write_text(text)
    lines = text.splitlines()
    first, second = (i + 1 for i, line in enumerate(lines) if line.strip().startswith("p: "))
    with pytest.raises(AllocatorError) as info:
        load_scenario(path)
    assert f"lines {first} and {second}" in info.value.message and info.value.line == second
    assert info.value.field == "services[0].p" and "s.yaml" in str(info.value)


def test_duplicate_top_level_keys_and_merge_keys(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(scenario_text() + "name: other\n")
    with pytest.raises(AllocatorError, match="key 'name' is given twice.* on lines 1 and"):
        load_scenario(path)
    # a merge key (<<) overriding a key of the merged mapping is no duplicate
    doc = copy.deepcopy(SMALL)
    text = yaml.safe_dump(doc, sort_keys=False).replace("output:\n  tiles: false\n",
                                                        "base: &base {tiles: true}\noutput:\n  <<: *base\n  tiles: false\n")
    path.write_text(text)
    with pytest.raises(AllocatorError, match="unknown key 'base'"):
        load_scenario(path)


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _dev_zero(path: Path) -> None:
    path.symlink_to("/dev/zero")


def _folder(path: Path) -> None:
    path.mkdir()


def _loop(path: Path) -> None:
    other = path.with_name(path.name + ".other")
    other.symlink_to(path.name)
    path.symlink_to(other.name)


FILE_KINDS = {"fifo": (_fifo, "named pipe"), "dev-zero": (_dev_zero, "character device"),
              "folder": (_folder, "folder"), "symlink-loop": (_loop, "symbolic links")}


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(FILE_KINDS))
def test_scenario_file_of_each_kind_is_refused(tmp_path: Path, kind: str) -> None:
    make, words = FILE_KINDS[kind]
    make(tmp_path / "s.yaml")
    done = run_child(tmp_path / "s.yaml")
    assert done.returncode == 2 and words in done.stderr and "s.yaml" in done.stderr, done.stderr
    assert "fix:" in done.stderr


@pytest.mark.slow
@pytest.mark.parametrize("role", ["demand", "candidates", "network", "matrix"])
@pytest.mark.parametrize("kind", sorted(FILE_KINDS))
def test_data_file_of_each_kind_is_refused(tmp_path: Path, capsys, kind: str, role: str) -> None:
    """In a memory-limited child for /dev/zero, in-process under a SIGALRM guard for the rest."""
    make, words = FILE_KINDS[kind]
    doc = copy.deepcopy(SMALL)
    name = {"demand": "d.csv", "candidates": "c.gpkg", "network": "roads.osm.pbf", "matrix": "m.csv"}[role]
    field = {"demand": "demand[0].source", "candidates": "services[0].candidates.source",
             "network": "network.source", "matrix": "matrix.source"}[role]
    if role == "demand":
        doc["demand"][0]["source"] = name
    elif role == "candidates":
        doc["services"][0]["candidates"] = {"source": name}
    elif role == "network":
        doc["network"]["source"] = name
    else:
        del doc["network"]
        doc["matrix"] = {"source": name}
    make(tmp_path / name)
    if kind == "dev-zero":
        (tmp_path / "s.yaml").write_text(yaml.safe_dump(doc))
        done = run_child(tmp_path / "s.yaml")
        code, err = done.returncode, done.stderr
    else:
        with no_hang():
            code, err = cli(tmp_path, doc, capsys)
    assert_clean_error(code, err, words, name, field)


def test_size_caps_name_the_file(tmp_path: Path, monkeypatch) -> None:
    big = tmp_path / "s.yaml"
    with big.open("wb") as handle:
        handle.truncate(MAX_SCENARIO_BYTES + 1)   # sparse: no disk used
    with pytest.raises(AllocatorError, match="above the 1 MB limit") as info:
        load_scenario(big)
    assert info.value.file == str(big) and info.value.fix
    data = tmp_path / "d.csv"
    data.write_text("id,pop\n" + "a,1\n" * 300_000)
    monkeypatch.setenv("ALLOCATOR_MAX_FILE_MB", "1")
    with pytest.raises(AllocatorError, match="above the 1 MB limit") as info:
        checked_file(data, field="demand[0].source")
    assert "ALLOCATOR_MAX_FILE_MB" in info.value.fix and info.value.field == "demand[0].source"
    monkeypatch.setenv("ALLOCATOR_MAX_FILE_MB", "10")
    assert checked_file(data) == data


def test_non_utf8_scenario_names_line_and_fix(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_bytes(b"name: hs\ntitle: caf\xe9\n")
    with pytest.raises(AllocatorError, match="not UTF-8") as info:
        read_text(path)
    assert info.value.line == 2 and "UTF-8" in info.value.fix


# --------------------------------------------------------------------------- #
# class: exit 1 where a clear exit 2 is due                                    #
# --------------------------------------------------------------------------- #

@pytest.mark.parametrize("option, value, words", [
    ("--threads", "0", "greater than or equal to 1"), ("--threads", "100000", "less than or equal to 256"),
    ("--time-limit", "-5", "greater than 0"), ("--time-limit", "nan", "finite"),
    ("--time-limit", "inf", "finite"), ("--gap", "2", "less than 1"), ("--gap", "-0.1", "greater than or equal")])
def test_bad_command_line_options_exit_2_naming_the_option(tmp_path: Path, capsys, option: str, value: str,
                                                           words: str) -> None:
    code, err = cli(tmp_path, SMALL, capsys, option, value)
    assert_clean_error(code, err, option, words, f"(got {value}" if value[0].isdigit() else "(got")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args, words", [
    (["--workers", "0"], "--workers"), (["--workers", "-1"], "--workers"), (["--lang", "xx"], "--lang"),
    (["--bogus"], "--bogus"), ([], "scenario")])
def test_option_errors_of_the_parser_exit_2_with_a_fix(tmp_path: Path, capsys, args: list[str], words: str) -> None:
    """argparse's own errors (a value its type or choices refuse, an unknown option, no scenario) read like
    every other input error."""
    (tmp_path / "s.yaml").write_text(scenario_text())
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        main([*([str(tmp_path / "s.yaml")] if words != "scenario" else []), *args])
    assert_clean_error(int(info.value.code or 0), capsys.readouterr().err, words, "--help")
    assert not (tmp_path / "out").exists()


def test_solver_threads_in_yaml_are_bounded(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(scenario_text(solver={"threads": 100000}))
    with pytest.raises(AllocatorError, match="less than or equal to 256") as info:
        load_scenario(tmp_path / "s.yaml")
    assert info.value.field == "solver.threads" and info.value.line


def test_out_symlink_loop_exits_2(tmp_path: Path, capsys) -> None:
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    (tmp_path / "s.yaml").write_text(scenario_text())
    capsys.readouterr()
    code = main([str(tmp_path / "s.yaml"), "--quiet", "--out", str(tmp_path / "a" / "x")])
    assert_clean_error(code, capsys.readouterr().err, "--out", "symlink loop")


def test_cache_that_is_a_file_is_refused_before_the_network_is_read(tmp_path: Path, capsys, monkeypatch) -> None:
    import allocator.traveltime.network as network

    (tmp_path / "cache").write_text("not a folder")
    monkeypatch.setenv("ALLOCATOR_CACHE", str(tmp_path / "cache"))
    parsed = []
    monkeypatch.setattr(network, "_read_osm_file", lambda *a, **k: parsed.append(a))
    code, err = cli(tmp_path, SMALL, capsys)
    assert_clean_error(code, err, "ALLOCATOR_CACHE", str(tmp_path / "cache"))
    assert not parsed, "the network is not parsed before the cache folder is checked"


@pytest.mark.slow
def test_disk_full_keeps_old_outputs_and_says_where(tmp_path: Path, capsys, monkeypatch) -> None:
    import errno

    import allocator.outputs.files as files

    code, err = cli(tmp_path, SMALL, capsys)
    assert code == 0, err
    target = tmp_path / "out" / "hs"
    before = {p.name: p.read_bytes() for p in target.iterdir()}

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files, "render_map", full)
    code, err = cli(tmp_path, SMALL, capsys)
    assert_clean_error(code, err, f"no space left on {tmp_path / 'out'}", "previous outputs were kept")
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["hs"], "no staging folder left behind"


def _matrix(tmp_path: Path, text: str, name: str = "m.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_absurd_travel_times_are_rejected_at_the_matrix(tmp_path: Path) -> None:
    from allocator.scenario.schema import MatrixSpec
    from allocator.traveltime.table import MAX_MINUTES, read_matrix_csv

    path = _matrix(tmp_path, "origin,destination,minutes\na,s,3\na,t,1e308\nb,s,inf\n")
    with pytest.raises(AllocatorError, match="above 100,000") as info:
        read_matrix_csv(path, MatrixSpec(source=path.name))
    assert info.value.line == 3 and info.value.field == "matrix.minutes" and "unit" in info.value.fix
    path = _matrix(tmp_path, f"origin,destination,minutes\na,s,{MAX_MINUTES}\nb,s,inf\nb,t,\n")
    table, report = read_matrix_csv(path, MatrixSpec(source=path.name))
    assert report.unreachable == 2 and table.minutes[0] == MAX_MINUTES


def test_corrupt_gzip_matrix_exits_2(tmp_path: Path) -> None:
    import gzip

    from allocator.scenario.schema import MatrixSpec
    from allocator.traveltime.table import read_matrix_csv

    good = gzip.compress(("origin,destination,minutes\n" + "a,s,3\n" * 5000).encode())
    for name, data in (("truncated.csv.gz", good[: len(good) // 2]),
                       ("flipped.csv.gz", good[:40] + bytes([good[40] ^ 0xFF]) + good[41:]),
                       ("not-gzip.csv.gz", b"\x1f\x8bnot really gzip")):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(AllocatorError) as info:
            read_matrix_csv(tmp_path / name, MatrixSpec(source=name))
        assert info.value.file == str(tmp_path / name) and info.value.fix, name


def test_matrix_columns_must_differ(tmp_path: Path) -> None:
    from allocator.scenario.schema import MatrixSpec
    from allocator.traveltime.table import read_matrix_csv

    path = _matrix(tmp_path, "id,minutes\na,3\n")
    with pytest.raises(AllocatorError, match="name the same column 'id'") as info:
        read_matrix_csv(path, MatrixSpec(source=path.name, origin="id", destination="id"))
    assert info.value.field == "matrix.destination" and "different" in info.value.fix


@pytest.fixture(scope="module")
def spo_graph(spo_pbf: Path):
    from allocator.traveltime.network import load_network

    return load_network(spo_pbf, "walk")[0]


def _graphml(tmp_path: Path, graph, change) -> Path:
    import osmnx as ox

    graph = graph.copy()
    change(graph)
    path = tmp_path / "roads.graphml"
    ox.save_graphml(graph, path)
    return path


def _first_node(graph):
    return graph.nodes[next(iter(graph.nodes))]


@pytest.mark.slow
@pytest.mark.parametrize("case, change, words", [
    ("no-x", lambda g: _first_node(g).pop("x"), "no valid position"),
    ("x-nan", lambda g: _first_node(g).update(x=float("nan")), "no valid position"),
    ("y-out-of-range", lambda g: _first_node(g).update(y=123.0), "no valid position"),
    ("negative-length", lambda g: next(iter(g.edges(data=True)))[2].update(length=-5.0), "no valid length"),
    ("huge-length", lambda g: next(iter(g.edges(data=True)))[2].update(length=1e308), "no valid length"),
])
def test_graphml_errors_name_the_graphml(tmp_path: Path, capsys, spo_graph, case: str, change, words: str) -> None:
    _graphml(tmp_path, spo_graph, change)
    scenario = copy.deepcopy(SMALL)
    scenario["network"]["source"] = "roads.graphml"
    code, err = cli(tmp_path, scenario, capsys)
    assert_clean_error(code, err, "roads.graphml", words)
    assert err.startswith(f"error: {tmp_path / 'roads.graphml'}"), "the .graphml is the file named, not the YAML"


# --------------------------------------------------------------------------- #
# class: cache integrity                                                      #
# --------------------------------------------------------------------------- #

def _entry(cache: Path, mode: str) -> Path:
    (path,) = cache.glob(f"network-v*-{mode}-*.json")
    return path


@pytest.fixture(scope="module")
def built_cache(tmp_path_factory, spo_pbf: Path) -> Path:
    """A cache folder holding the São Paulo walk and drive entries, built once; tests work on copies."""
    from allocator.traveltime.network import load_network

    folder = tmp_path_factory.mktemp("built-cache")
    for mode in ("walk", "drive"):
        load_network(spo_pbf, mode, cache_dir=folder)
    return folder


@pytest.fixture
def cache_copy(tmp_path: Path, built_cache: Path) -> Path:
    import shutil

    return Path(shutil.copytree(built_cache, tmp_path / "cache"))


@pytest.mark.slow
def test_cache_entry_with_a_flipped_bit_is_rebuilt_with_a_note(cache_copy: Path, spo_pbf: Path, spo_graph) -> None:
    from allocator.traveltime.network import load_network

    entry = _entry(cache_copy, "walk")
    data = bytearray(entry.read_bytes())
    data[len(data) // 2] ^= 0x01
    entry.write_bytes(bytes(data))
    notes: list[str] = []
    rebuilt, report = load_network(spo_pbf, "walk", cache_dir=cache_copy, log=notes.append)
    assert not report.from_cache and "sha256" in notes[0] and entry.name in notes[0]
    assert sorted(rebuilt.edges(data="travel_time")) == sorted(spo_graph.edges(data="travel_time"))
    assert load_network(spo_pbf, "walk", cache_dir=cache_copy)[1].from_cache, "the rebuilt entry is good again"


@pytest.mark.slow
def test_cache_entry_of_another_mode_is_never_used(cache_copy: Path, spo_pbf: Path, spo_graph) -> None:
    from allocator.traveltime.network import load_network

    drive, _ = load_network(spo_pbf, "drive", cache_dir=cache_copy)
    _entry(cache_copy, "walk").write_bytes(_entry(cache_copy, "drive").read_bytes())   # drive under the walk name
    notes: list[str] = []
    again, report = load_network(spo_pbf, "walk", cache_dir=cache_copy, log=notes.append)
    assert not report.from_cache and "another mode ('drive')" in notes[0]
    assert again.number_of_edges() == spo_graph.number_of_edges() != drive.number_of_edges()


@pytest.mark.slow
def test_cache_entry_that_verifies_but_fails_downstream_is_discarded(cache_copy: Path, spo_pbf: Path) -> None:
    from allocator.traveltime import cache as cache_module
    from allocator.traveltime.network import load_network
    from allocator.traveltime.network_source import network_arrays

    graph, report = load_network(spo_pbf, "walk", cache_dir=cache_copy)
    entry = _entry(cache_copy, "walk")
    broken = graph.copy()
    for node in list(broken.nodes)[:3]:
        del broken.nodes[node]["x"]
    with pytest.raises(KeyError):
        network_arrays(broken)   # what such an entry did downstream before
    key = cache_module.CacheKey(json_header(entry)["source_key"], "walk")
    cache_module.write_cache(entry, key, broken, report)   # a well-formed, correctly hashed entry
    notes: list[str] = []
    again, second = load_network(spo_pbf, "walk", cache_dir=cache_copy, log=notes.append)
    assert not second.from_cache and "no valid position" in notes[0]
    network_arrays(again)
    assert load_network(spo_pbf, "walk", cache_dir=cache_copy)[1].from_cache


def json_header(entry: Path) -> dict:
    import json

    with entry.open("rb") as handle:
        return json.loads(handle.readline())


@pytest.mark.slow
def test_cache_round_trip_is_exact_and_plain_json(cache_copy: Path, spo_pbf: Path, spo_graph) -> None:
    import json

    from allocator.traveltime.network import load_network

    cached, report = load_network(spo_pbf, "walk", cache_dir=cache_copy)
    assert report.from_cache and cached.graph == spo_graph.graph
    assert list(cached.nodes(data=True)) == list(spo_graph.nodes(data=True))
    assert list(cached.edges(keys=True, data=True)) == list(spo_graph.edges(keys=True, data=True))  # geometries too
    assert any("geometry" in d for *_, d in cached.edges(data=True))
    with _entry(cache_copy, "walk").open("rb") as handle:
        handle.readline()
        assert set(json.loads(handle.read())) == {"graph", "nodes", "edges", "report"}


@pytest.mark.slow
def test_cache_files_of_other_formats_are_never_read(cache_copy: Path, spo_pbf: Path) -> None:
    import pickle

    from allocator.traveltime.network import load_network

    for entry in cache_copy.glob("network-*"):
        entry.unlink()
    bomb = cache_copy / "network-walk-0123456789abcdef01234567.pickle"   # the old format's name
    bomb.write_bytes(pickle.dumps("never unpickled"))
    _, report = load_network(spo_pbf, "walk", cache_dir=cache_copy)
    header = json_header(_entry(cache_copy, "walk"))
    assert header["format"] == 3 and header["mode"] == "walk" and len(header["sha256"]) == 64
    assert bomb.read_bytes() == pickle.dumps("never unpickled") and not report.from_cache


# --------------------------------------------------------------------------- #
# class: silent wrong success (strict numbers, CSV magnitudes, wrong place)    #
# --------------------------------------------------------------------------- #

def _with(doc: dict, dotted: str, value) -> dict:
    doc = copy.deepcopy(doc)
    *parents, last = dotted.split(".")
    target = doc
    for part in parents:
        target = target[int(part)] if part.isdigit() else target.setdefault(part, {})
    target[int(last) if last.isdigit() else last] = value
    return doc


YAML_NUMBERS = [  # (dotted path, YAML value, field named)
    ("services.0.p", "true", "services[0].p"),
    ("services.0.p", "'3'", "services[0].p"),
    ("services.0.p", "2.5", "services[0].p"),
    ("services.0.threshold_min", ".nan", "services[0].threshold_min"),
    ("services.0.threshold_min", "true", "services[0].threshold_min"),
    ("demand.0.weight", ".inf", "demand[0].weight"),
    ("demand.0.weight", ".nan", "demand[0].weight"),
    ("services.0.budget", ".nan", "services[0].budget"),
    ("services.0.budget", "1e308", "services[0].budget"),
    ("shared_budget", ".inf", "shared_budget"),
    ("solver.time_limit_s", ".inf", "solver.time_limit_s"),
    ("solver.gap_rel", "false", "solver.gap_rel"),
    ("network.max_snap_m", ".inf", "network.max_snap_m"),
    ("services.0.priority", "-.inf", "services[0].priority"),
]


@pytest.mark.parametrize("dotted, value, field", YAML_NUMBERS)
def test_yaml_numbers_are_strict_and_finite(tmp_path: Path, dotted: str, value: str, field: str) -> None:
    text = yaml.safe_dump(_with(SMALL, dotted, "PLACEHOLDER"), sort_keys=False).replace("PLACEHOLDER", value)
    (tmp_path / "s.yaml").write_text(text)
    with pytest.raises(AllocatorError) as info:
        load_scenario(tmp_path / "s.yaml")
    assert info.value.field == field and info.value.line and info.value.fix, str(info.value)


def test_nan_target_bound_is_an_error_not_always_missed(tmp_path: Path) -> None:
    text = scenario_text(targets=[{"metric": "within_share", "min": 0.5}]).replace("min: 0.5", "min: .nan")
    (tmp_path / "s.yaml").write_text(text)
    with pytest.raises(AllocatorError, match="finite number") as info:
        load_scenario(tmp_path / "s.yaml")
    assert info.value.field == "targets[0].min"


@pytest.mark.slow
def test_huge_title_is_capped_and_the_message_stays_short(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(scenario_text(title="x" * 900_000))
    with pytest.raises(AllocatorError, match="at most 200 characters") as info:
        load_scenario(tmp_path / "s.yaml")
    assert info.value.field == "title" and len(str(info.value)) < 400


INSIDE = [(-46.6079746773408, -23.5710980272876), (-46.6110766030175, -23.5724900009772)]


def _demand_csv(tmp_path: Path, text: str, capsys, name: str = "d.csv", data: bytes | None = None) -> tuple[int, str]:
    (tmp_path / name).write_bytes(data if data is not None else text.encode())
    doc = copy.deepcopy(SMALL)
    doc["demand"][0] = {"name": "residents", "source": name, "id": "id", "lon": "lon", "lat": "lat",
                        "population": "pop"}
    return cli(tmp_path, doc, capsys)


@pytest.mark.parametrize("population, words", [("inf", "infinite or above"), ("1e308", "infinite or above"),
                                               ("-inf", "negative"), ("", "empty values"),
                                               ("NaN", "empty values"), ("lots", "non-numeric")])
def test_csv_population_problems_name_file_line_and_field(tmp_path: Path, capsys, population: str,
                                                          words: str) -> None:
    (x0, y0), (x1, y1) = INSIDE
    code, err = _demand_csv(tmp_path, f"id,lon,lat,pop\na,{x0},{y0},10\nb,{x1},{y1},{population}\n", capsys)
    assert_clean_error(code, err, "d.csv:3: demand[0].population", words)
    assert "weight" not in err


def test_ragged_csv_line_is_named(tmp_path: Path, capsys) -> None:
    (x0, y0), (x1, y1) = INSIDE
    for text, line in ((f"id,lon,lat,pop\na,{x0},{y0},10,extra\nb,{x1},{y1},5\n", 2),    # pandas would shift columns
                       (f"id,lon,lat,pop\na,{x0},{y0},10\nb,{x1},{y1},5,extra\n", 3)):
        code, err = _demand_csv(tmp_path, text, capsys)
        assert_clean_error(code, err, f"d.csv:{line}: demand[0].source", "5 fields but the header has 4")


def test_non_utf8_csv_has_a_fix(tmp_path: Path, capsys) -> None:
    (x0, y0), _ = INSIDE
    code, err = _demand_csv(tmp_path, "", capsys, data=f"id,lon,lat,pop\ncaf\xe9,{x0},{y0},10\n".encode("latin-1"))
    assert_clean_error(code, err, "d.csv", "not UTF-8", "UTF-8")


@pytest.mark.slow
def test_empty_cost_cells_name_the_cost_field(tmp_path: Path, capsys) -> None:
    (x0, y0), (x1, y1) = INSIDE
    (tmp_path / "c.csv").write_text(f"id,lon,lat,price\nc1,{x0},{y0},5\nc2,{x1},{y1},\n")
    doc = _with(SMALL, "services.0.candidates", {"source": "c.csv", "id": "id", "lon": "lon", "lat": "lat",
                                                 "cost": "price"})
    doc["services"][0]["p"] = 1
    code, err = cli(tmp_path, doc, capsys)
    assert_clean_error(code, err, "c.csv:3: services[0].candidates.cost", "column 'price' has empty values")
    assert "nobody lives" not in err


@pytest.mark.slow
def test_swapped_lon_lat_stops_with_the_likely_cause(tmp_path: Path, capsys) -> None:
    rows = "".join(f"p{i},{y},{x},100\n" for i, (x, y) in enumerate(INSIDE))   # lat in the lon column
    code, err = _demand_csv(tmp_path, "id,lon,lat,pop\n" + rows, capsys)
    assert_clean_error(code, err, "s.yaml", "demand", "100% of the people", "look swapped", "exchange the lon")


@pytest.mark.slow
def test_demand_in_another_city_stops_with_the_likely_cause(tmp_path: Path, capsys) -> None:
    code, err = _demand_csv(tmp_path, "id,lon,lat,pop\na,13.40,52.52,100\nb,13.41,52.52,50\n", capsys)
    assert_clean_error(code, err, "demand", "outside the network's area", "CRS", "lon 13.4")


@pytest.mark.slow
def test_most_but_not_all_demand_far_away_is_a_note(tmp_path: Path, capsys) -> None:
    (x0, y0), (x1, y1) = INSIDE
    code, err = _demand_csv(tmp_path, f"id,lon,lat,pop\na,{x0},{y0},10\nb,{x1},{y1},10\nfar,13.4,52.5,30\n",
                            capsys)
    assert code == 0, err
    import json
    notes = json.loads((tmp_path / "out" / "hs" / "summary.json").read_text())["services"][0]["notes"]
    assert any("more than 500 m from the road network" in n for n in notes)


# --------------------------------------------------------------------------- #
# class: atomicity (a swap killed halfway; two writers)                        #
# --------------------------------------------------------------------------- #

CHILD = """
import os, signal, sys, time
from pathlib import Path
import allocator.outputs.files as files
MODE = sys.argv[1]
if MODE == "kill-between-renames":
    rename = Path.rename
    def killing_rename(self, target):
        done = rename(self, target)
        if ".old-" in str(target):
            os.kill(os.getpid(), signal.SIGKILL)
        return done
    Path.rename = killing_rename
elif MODE == "slow-swap":
    swap = files._swap_into_place
    def slow_swap(staging, target):
        print("swapping", (staging / "summary.json").read_text().replace(chr(10), " "), file=sys.stderr, flush=True)
        deadline = time.time() + 20   # hold the swap until the other run's outputs are complete, and a second more
        while time.time() < deadline and not any((other / "report.html").exists() for other in
                                                 target.parent.glob(f".{target.name}.tmp-*") if other != staging):
            time.sleep(0.05)
        time.sleep(1)
        swap(staging, target)
    files._swap_into_place = slow_swap
elif MODE == "hold-lock":
    from allocator.outputs.lock import folder_lock
    with folder_lock(Path(sys.argv[2])):
        print("locked", flush=True)
        time.sleep(60)
from allocator.cli import main
sys.exit(main(sys.argv[2:]))
"""


def child(tmp_path: Path, mode: str, *args: str) -> subprocess.Popen:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    return subprocess.Popen([sys.executable, str(script), mode, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=tmp_path)


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.slow
def test_swap_killed_between_renames_is_undone_on_the_next_start(tmp_path: Path, capsys) -> None:
    code, err = cli(tmp_path, SMALL, capsys)
    assert code == 0, err
    target = tmp_path / "out" / "hs"
    before = _files(target)
    proc = child(tmp_path, "kill-between-renames", str(tmp_path / "s.yaml"), "--quiet", "--out", str(tmp_path / "out"))
    assert proc.wait(timeout=TIMEOUT_S) == -9, proc.stderr.read()
    proc.stdout.close()
    proc.stderr.close()
    assert not target.exists() and [p.name for p in (tmp_path / "out").glob(".hs.old-*")] == [f".hs.old-{proc.pid}"]
    # the next run fails (a missing candidates file), yet the previous outputs are back
    broken = _with(SMALL, "services.0.candidates.source", "missing.csv")
    code, err = cli(tmp_path, broken, capsys)
    assert_clean_error(code, err, "missing.csv")
    assert _files(target) == before
    left = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert left[-1] == "hs" and all(name.startswith(f".hs.tmp-{proc.pid}-") for name in left[:-1])
    code, err = cli(tmp_path, SMALL, capsys)   # the next successful write removes the dead run's staging
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["hs"]


@pytest.mark.slow
def test_busy_output_folder_names_the_pid_holding_it(tmp_path: Path) -> None:
    from allocator.outputs.lock import folder_lock, lock_path

    target = tmp_path / "out" / "hs"
    target.parent.mkdir()
    proc = child(tmp_path, "hold-lock", str(target))
    try:
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(AllocatorError, match=f"another run \\(pid {proc.pid}\\)") as info, \
                folder_lock(target, wait_s=0.3):
            pass
        assert str(proc.pid) in info.value.fix
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    with folder_lock(target, wait_s=0.3):   # a killed holder's lock is free again
        assert lock_path(target).read_text() == str(os.getpid())
    assert not lock_path(target).exists()


@pytest.mark.slow
def test_two_runs_finishing_on_one_folder_take_turns(tmp_path: Path, capsys) -> None:
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(SMALL, sort_keys=False))
    proc = child(tmp_path, "slow-swap", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "out"))
    try:
        for line in proc.stderr:
            if line.startswith("swapping"):
                first = line.removeprefix("swapping ").strip()
                break
        capsys.readouterr()
        code = main([str(tmp_path / "s.yaml"), "--quiet", "--out", str(tmp_path / "out")])   # waits for the lock
        assert code == 0, capsys.readouterr().err
        assert proc.wait(timeout=TIMEOUT_S) == 0, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        proc.stderr.close()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["hs"]
    final = _files(tmp_path / "out" / "hs")
    assert {"map.html", "summary.json", "manifest.json", "report.html"} <= set(final)
    # the in-process run waited for the child's swap, so its outputs (other timings) replaced the child's
    assert final["summary.json"].decode().replace("\n", " ").strip() != first


# --------------------------------------------------------------------------- #
# class: byte-identical outputs for identical runs                            #
# --------------------------------------------------------------------------- #

def test_stable_ids_number_folium_ids_in_order() -> None:
    import folium

    from allocator.outputs.stable_ids import stable_ids

    def page() -> str:
        fmap = folium.Map(location=[0, 0], tiles=None)
        folium.Marker([0, 0]).add_to(fmap)
        folium.Marker([1, 1]).add_to(fmap)
        return fmap.get_root().render()

    first, second = page(), page()
    assert first != second, "folium's ids are random"
    assert stable_ids(first) == stable_ids(second)
    stable = stable_ids(first)
    assert f"map_{0:032x}" in stable and f"marker_{1:032x}" in stable and f"marker_{2:032x}" in stable
    assert len(stable) == len(first)


@pytest.mark.slow
def test_identical_runs_write_identical_files(tmp_path: Path, capsys) -> None:
    import json

    doc = copy.deepcopy(SMALL)
    doc["services"][0]["existing"] = {"source": HEX, "h3": "id", "id": "id", "count": "population"}
    for out in ("a", "b"):
        (tmp_path / "s.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
        capsys.readouterr()
        assert main([str(tmp_path / "s.yaml"), "--quiet", "--out", str(tmp_path / out)]) == 0, capsys.readouterr().err
    a, b = _files(tmp_path / "a" / "hs"), _files(tmp_path / "b" / "hs")
    assert set(a) == set(b) and {"map.html", "report.html", "sites.geojson"} <= set(a)
    for name in sorted(a):
        if name in ("summary.json", "manifest.json"):   # their durations sit under "timings" (docs/errors.md)
            left, right = json.loads(a[name]), json.loads(b[name])
            left.pop("timings"), right.pop("timings")
            assert left == right, name
        else:
            assert a[name] == b[name], f"{name} differs between identical runs"


# --------------------------------------------------------------------------- #
# fuzzing: every class above, with generated inputs                           #
# --------------------------------------------------------------------------- #

FUZZ = settings(max_examples=30, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def _load_outcome(path: Path) -> AllocatorError | None:
    """load_scenario's error (None when it loads); anything but an AllocatorError fails the test."""
    with no_hang():
        try:
            load_scenario(path)
        except AllocatorError as exc:
            assert exc.fix and exc.file, str(exc)
            return exc
    return None


@st.composite
def yaml_structures(draw) -> str:
    """A scenario with a generated tail: alias chains, deep nesting and repeated keys."""
    kind = draw(st.sampled_from(["aliases", "nesting", "duplicates"]))
    base = scenario_text()
    if kind == "aliases":
        levels, width = draw(st.integers(1, 12)), draw(st.integers(1, 12))
        return base + alias_bomb(levels, width).replace("name: hs\n", "")
    if kind == "nesting":
        depth = draw(st.integers(1, 5000))
        opening, closing = draw(st.sampled_from([("[", "]"), ("{k: ", "}"), ("- ", "")]))
        if opening == "- ":
            return base + "x:\n" + "".join("  " * i + "-\n" for i in range(min(depth, 400)))
        return base + "x: " + opening * depth + "1" + closing * depth + "\n"
    key = draw(st.sampled_from(["name", "network", "output", "demand"]))   # keys SMALL already has
    return base + f"{key}: {draw(st.sampled_from(['1', 'x', '{}', '[]', 'null']))}\n"


@FUZZ
@given(text=yaml_structures())
def test_fuzz_yaml_structure(text: str, tmp_path_factory) -> None:
    path = tmp_path_factory.mktemp("yaml") / "s.yaml"
    path.write_text(text)
    error = _load_outcome(path)
    assert error is not None, "every generated tail is an unknown key, a duplicate or too big"
    assert error.file == str(path)


NUMBER_FIELDS = ["services.0.p", "services.0.threshold_min", "services.0.budget", "services.0.priority",
                 "demand.0.weight", "shared_budget", "solver.time_limit_s", "solver.gap_rel", "solver.threads",
                 "solver.round_s", "network.max_snap_m", "services.0.district_floor", "services.0.max_time_min"]
NUMBER_TEXT = st.one_of(st.sampled_from([".nan", ".NaN", ".inf", "-.inf", ".Inf", "true", "false", "1e308", "-1e308",
                                         "1e16", "'5'", "9" * 30, "0x10", "1_000"]),
                        st.floats(allow_nan=False).map(repr), st.integers(-10**20, 10**20).map(str))


@FUZZ
@given(dotted=st.sampled_from(NUMBER_FIELDS), value=NUMBER_TEXT)
def test_fuzz_yaml_numbers(dotted: str, value: str, tmp_path_factory) -> None:
    path = tmp_path_factory.mktemp("num") / "s.yaml"
    path.write_text(yaml.safe_dump(_with(SMALL, dotted, "PLACEHOLDER"), sort_keys=False).replace("PLACEHOLDER", value))
    parsed = yaml.load(value, Loader=ScenarioLoader)
    error = _load_outcome(path)
    bad = (isinstance(parsed, bool) or not isinstance(parsed, (int, float)) or parsed != parsed
           or abs(parsed) > 1e15)
    if bad:
        assert error is not None, f"{dotted}: {value} was accepted"
        assert (error.field or "").replace("[", ".").replace("]", "") == dotted, str(error)


@FUZZ
@given(population=st.one_of(st.sampled_from(["inf", "-inf", "nan", "NaN", "", "1e308", "1e13", "-0", "Infinity",
                                             "1,5", "0x1"]),
                            st.floats(allow_nan=True, allow_infinity=True).map(repr)))
def test_fuzz_csv_numbers(population: str, tmp_path_factory) -> None:
    from allocator.inputs.layers import MAX_VALUE, read_layer
    from allocator.scenario.schema import DemandLayer

    folder = tmp_path_factory.mktemp("csv")
    (x0, y0), (x1, y1) = INSIDE
    (folder / "d.csv").write_text(f"id,lon,lat,pop\na,{x0},{y0},1\nb,{x1},{y1},\"{population}\"\n")
    spec = DemandLayer(source="d.csv", id="id", lon="lon", lat="lat", population="pop")
    try:
        frame = read_layer(folder / "d.csv", spec, value_column="pop", field="demand[0]")
    except AllocatorError as exc:
        assert exc.file == str(folder / "d.csv") and exc.field == "demand[0].population" and exc.fix
        assert exc.line == 3, str(exc)
        return
    values = frame["value"].to_numpy()
    assert ((values >= 0) & (values <= MAX_VALUE)).all()


@FUZZ
@given(kind=st.sampled_from(sorted(FILE_KINDS)), hops=st.integers(0, 3),
       reader=st.sampled_from(["scenario", "layer", "matrix", "network"]))
def test_fuzz_file_kinds(kind: str, hops: int, reader: str, tmp_path_factory) -> None:
    from allocator.inputs.layers import read_layer
    from allocator.scenario.schema import DemandLayer, MatrixSpec
    from allocator.traveltime.network import load_network
    from allocator.traveltime.table import read_matrix_csv

    folder = tmp_path_factory.mktemp("kind")
    name = {"scenario": "s.yaml", "layer": "d.csv", "matrix": "m.csv", "network": "r.osm.pbf"}[reader]
    make, words = FILE_KINDS[kind]
    target = folder / f"real-{name}"
    make(target)
    path = target
    for hop in range(hops):   # reach it through a chain of symlinks
        link = folder / f"hop{hop}-{name}"
        link.symlink_to(path.name)
        path = link
    read = {"scenario": lambda: load_scenario(path),
            "layer": lambda: read_layer(path, DemandLayer(source=name, lon="x", lat="y", population="p"),
                                        value_column="p", field="demand[0]"),
            "matrix": lambda: read_matrix_csv(path, MatrixSpec(source=name)),
            "network": lambda: load_network(path, "walk")}[reader]
    with no_hang(), pytest.raises(AllocatorError) as info:
        read()
    assert words in info.value.message and info.value.fix and info.value.file == str(path)


def _tiny_graph():
    import networkx as nx

    graph = nx.MultiDiGraph(crs="EPSG:4326")
    for node, (x, y) in enumerate(INSIDE + [(-46.61, -23.572)]):
        graph.add_node(node, x=x, y=y)
    for u, v in ((0, 1), (1, 2), (2, 0)):
        graph.add_edge(u, v, travel_time=10.0 + u, length=12.0, highway="footway")
    return graph


@FUZZ
@given(damage=st.one_of(
    st.tuples(st.just("flip"), st.floats(0, 1), st.integers(1, 255)),
    st.tuples(st.just("truncate"), st.floats(0, 1), st.just(0)),
    st.tuples(st.just("append"), st.just(1.0), st.integers(0, 255))))
def test_fuzz_cache_corruption(damage, tmp_path_factory) -> None:
    from allocator.traveltime import cache
    from allocator.traveltime.network_report import NetworkReport

    graph = _tiny_graph()
    report = NetworkReport(source="tiny", mode="walk", ways_read=0, ways_without_highway=0, nodes_loaded=3,
                           edges_loaded=3, nodes_kept=3, edges_kept=3, dropped_node_share=0.0,
                           edges_default_speed=0, from_cache=False, seconds=0.0)
    key = cache.CacheKey("0" * 64, "walk")
    path = cache.cache_file(tmp_path_factory.mktemp("cache"), key)
    cache.write_cache(path, key, graph, report)
    data = bytearray(path.read_bytes())
    how, where, value = damage
    at = min(int(where * len(data)), len(data) - 1)
    if how == "flip":
        data[at] ^= value
    elif how == "truncate":
        del data[at:]
    else:
        data.append(value)
    path.write_bytes(bytes(data))
    with no_hang():
        read = cache.read_cache(path, key)
    if read.graph is None:
        assert read.note and not path.exists(), "a bad entry is reported and deleted"
    else:   # only a change that keeps the header's meaning (e.g. a space) may pass
        assert sorted(read.graph.edges(data="travel_time")) == sorted(graph.edges(data="travel_time"))


@pytest.mark.slow
def test_weighted_population_is_bounded_too(tmp_path: Path, capsys) -> None:
    code, err = cli(tmp_path, _with(SMALL, "demand.0.weight", 1e12), capsys)   # each weight fine, the product not
    assert_clean_error(code, err, "demand[].weight", "exceeds 1e+12")


def test_gzip_bomb_and_damaged_gzip_are_refused_before_parsing(tmp_path: Path, monkeypatch) -> None:
    import gzip

    monkeypatch.setenv("ALLOCATOR_MAX_FILE_MB", "1")
    bomb = tmp_path / "m.csv.gz"
    bomb.write_bytes(gzip.compress(b"origin,destination,minutes\n" + b"0" * (2 << 20)))
    assert bomb.stat().st_size < 10_000
    with pytest.raises(AllocatorError, match="decompresses to more than 1 MB") as info:
        checked_file(bomb, field="matrix.source")
    assert info.value.field == "matrix.source" and "ALLOCATOR_MAX_FILE_MB" in info.value.fix
    bomb.write_bytes(gzip.compress(b"origin,destination,minutes\na,s,1\n")[:-6])
    with pytest.raises(AllocatorError, match="not a complete gzip file"):
        checked_file(bomb)


@pytest.mark.parametrize("text, number", [("1e6", 1e6), ("2.5E-3", 2.5e-3), ("-1e2", -100.0), ("1_000e1", 10000.0)])
def test_exponent_numbers_are_numbers(tmp_path: Path, text: str, number: float) -> None:
    """PyYAML (YAML 1.1) reads 1e6 as text, which strict types would then refuse; scenarios read it as YAML 1.2."""
    assert yaml.load(f"x: {text}", Loader=ScenarioLoader) == {"x": number}
    assert "." in text or isinstance(yaml.safe_load(f"x: {text}")["x"], str)
    path = tmp_path / "s.yaml"
    path.write_text(scenario_text().replace("  p: 2\n", "  p: 2\n  budget: 1e6\n"))
    assert load_scenario(path).spec.services[0].budget == 1e6

"""Bad input gets a clear error, faults lose nothing, results are reproducible.

Runs the command line in-process (``allocator.cli.main``) on the small São
Paulo data; the network cache (ALLOCATOR_CACHE) is shared so it is parsed once.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import yaml
from conftest import mirrored_env
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point

from allocator.cli import main
from allocator.errors import AllocatorError
from allocator.scenario.loader import load_scenario
from allocator.traveltime.network import load_network

REPO = Path(__file__).resolve().parents[2]
HEX = "catalog:sao_paulo/spo_hexgrid.csv"
CELLS = {"source": HEX, "h3": "id", "id": "id"}
SMALL = {  # one service, no existing facilities: the quickest full run
    "name": "rb",
    "network": {"source": "catalog:sao_paulo/spo_osm.pbf", "mode": "walk"},
    "demand": [{"name": "residents", **CELLS, "population": "population"}],
    "services": [{"name": "clinics", "objective": "max_coverage", "threshold_min": 8, "p": 2,
                  "candidates": dict(CELLS)}],
    "output": {"tiles": False},
}
# a few real points inside the São Paulo extract (hexgrid cell centres)
INSIDE = [(-46.6079746773408, -23.5710980272876), (-46.6110766030175, -23.5724900009772)]


@pytest.fixture(scope="module", autouse=True)
def shared_env(tmp_path_factory, mirror: Path):
    """Data from the mirror; one network cache for the whole module."""
    with mirrored_env(mirror, tmp_path_factory.mktemp("rb-cache")):
        yield


def doc(**changes) -> dict:
    """SMALL with dotted-path changes (``services.0.p=5``); value ``...`` deletes the key."""
    out = copy.deepcopy(SMALL)
    for dotted, value in changes.items():
        target = out
        *parents, last = dotted.split("__")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        last = int(last) if last.isdigit() else last
        if value is ...:
            del target[last]
        else:
            target[last] = value
    return out


def cli(folder: Path, scenario, capsys, *extra: str) -> tuple[int, str, str]:
    """Write ``scenario`` (dict or YAML text) to folder/s.yaml and run the CLI; (status, stdout, stderr)."""
    path = folder / "s.yaml"
    path.write_text(scenario if isinstance(scenario, str) else yaml.safe_dump(scenario, sort_keys=False))
    capsys.readouterr()
    code = main([str(path), "--out", str(folder / "out"), "--quiet", *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def points_csv(path: Path, rows: list[dict]) -> str:
    pd.DataFrame(rows).to_csv(path, index=False)
    return path.name


# --------------------------------------------------------------------------- #
# 1. bad input: exit 2, file/field named, no traceback                        #
# --------------------------------------------------------------------------- #

def _no_crs(tmp: Path) -> dict:
    gpd.GeoDataFrame({"pid": ["a"], "pop": [1.0]}, geometry=[Point(*INSIDE[0])], crs=None).to_file(
        tmp / "nocrs.gpkg", driver="GPKG")
    return doc(demand__0={"name": "residents", "source": "nocrs.gpkg", "id": "pid", "population": "pop"})


def _csv_demand(rows: list[dict] | None, header: str | None = None):
    def build(tmp: Path) -> dict:
        if header is not None:
            (tmp / "d.csv").write_text(header + "\n")
        else:
            points_csv(tmp / "d.csv", rows)
        return doc(demand__0={"name": "residents", "source": "d.csv", "id": "id", "lon": "lon", "lat": "lat",
                              "population": "pop"})
    return build


def _candidates(rows: list[dict], **service) -> callable:
    def build(tmp: Path) -> dict:
        points_csv(tmp / "c.csv", rows)
        out = doc(services__0__candidates={"source": "c.csv", "id": "id", "lon": "lon", "lat": "lat"})
        out["services"][0].update(service)
        return out
    return build


def _osm_without_roads_for(mode: str):
    def build(tmp: Path) -> dict:
        (tmp / "paths.osm").write_text(
            "<?xml version='1.0' encoding='UTF-8'?>\n<osm version='0.6'>\n"
            f"<node id='1' lat='{INSIDE[0][1]}' lon='{INSIDE[0][0]}'/>\n"
            f"<node id='2' lat='{INSIDE[1][1]}' lon='{INSIDE[1][0]}'/>\n"
            "<way id='10'><nd ref='1'/><nd ref='2'/><tag k='highway' v='footway'/></way>\n</osm>\n")
        return doc(network={"source": "paths.osm", "mode": mode})
    return build


def _write_text(name: str, text: str, **changes):
    def build(tmp: Path) -> dict:
        (tmp / name).write_bytes(text.encode())
        return doc(**changes)
    return build


def _xss(tmp: Path) -> dict:
    points_csv(tmp / "c.csv", [{"id": "x1", "label": "<script>alert(1)</script>",
                                "lon": INSIDE[0][0], "lat": INSIDE[0][1]}])
    return doc(services__0__candidates={"source": "c.csv", "id": "id", "lon": "lon", "lat": "lat",
                                        "name_column": "label"}, services__0__p=1)


FAR = [{"id": f"far{i}", "lon": 10.0 + i * 0.01, "lat": 50.0} for i in range(3)]
NEAR3 = [{"id": f"n{i}", "lon": x, "lat": y} for i, (x, y) in enumerate(INSIDE + [(-46.61, -23.572)])]

BAD_INPUTS = {
    # id: (scenario builder or YAML text, substrings expected in stderr)
    "yaml-syntax": ("name: rb\nnetwork: [unclosed\n  mode: walk\n", ["s.yaml:", "YAML syntax"]),
    "unknown-key": (lambda t: doc(services__0__treshold_min=8), ["s.yaml:", "services[0]", "did you mean"]),
    "wrong-type": (lambda t: doc(services__0__p="three"), ["s.yaml:", "services[0].p"]),
    "wrong-type-list": (lambda t: doc(demand={"a": 1}), ["s.yaml:", "demand"]),
    "missing-field": (lambda t: doc(demand__0__population=...), ["s.yaml:", "demand[0].population", "add"]),
    "negative-p": (lambda t: doc(services__0__p=-1), ["services[0].p", "greater than or equal to 0"]),
    "threshold-0": (lambda t: doc(services__0__threshold_min=0), ["services[0].threshold_min"]),
    "negative-round-s": (lambda t: doc(solver={"round_s": -30}),
                         ["s.yaml:", "solver.round_s", "greater than or equal to 0", "(got -30)"]),
    "p-above-candidates": (_candidates(NEAR3, p=5), ["s.yaml", "services[0].p", "only 3 candidate"]),
    "missing-file": (lambda t: doc(services__0__candidates__source="nope.csv"),
                     ["nope.csv", "services[0].candidates.source", "file not found"]),
    "xlsx": (_write_text("c.xlsx", "PK\x03\x04 not really", services__0__candidates__source="c.xlsx"),
             ["c.xlsx", "unsupported file format", "services[0].candidates.source"]),
    "vector-without-crs": (_no_crs, ["nocrs.gpkg", "no CRS", "demand[0].source"]),
    "empty-layer": (_csv_demand(None, header="id,lon,lat,pop"), ["d.csv", "no rows", "demand[0]"]),
    "population-column-missing": (lambda t: doc(demand__0__population="popx"),
                                  ["spo_hexgrid.csv", "popx", "demand[0].population", "columns are"]),
    "population-negative": (_csv_demand([{"id": "a", "lon": INSIDE[0][0], "lat": INSIDE[0][1], "pop": -5}]),
                            ["d.csv", "negative", "demand[0].population"]),
    "population-non-numeric": (_csv_demand([{"id": "a", "lon": INSIDE[0][0], "lat": INSIDE[0][1], "pop": "many"}]),
                               ["d.csv", "non-numeric", "demand[0].population"]),
    "duplicate-ids": (_csv_demand([{"id": "a", "lon": x, "lat": y, "pop": 1} for x, y in INSIDE]),
                      ["d.csv", "duplicate ids", "demand[0].id"]),
    "sites-outside-network": (_candidates(FAR, p=1), ["s.yaml", "services[0].candidates", "road network"]),
    "network-without-edges-for-mode": (_osm_without_roads_for("drive"), ["paths.osm", "network"]),
    "set-cover-nothing-coverable": (lambda t: doc(services__0__objective="set_cover", services__0__p=...,
                                                  services__0__threshold_min=0.001),
                                    ["s.yaml", "services[0].threshold_min", "nothing to cover"]),
    "name-path-traversal": (lambda t: doc(name="../escape"), ["s.yaml", "name", "pattern"]),
    "name-absolute": (lambda t: doc(name="/etc/x"), ["s.yaml", "name", "pattern"]),
    "out-is-a-file": (_write_text("out", "x"), ["out", "output.dir (or --out)", "cannot create"]),
}


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:'crs' was not provided")
@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_exits_2_naming_file_and_field(case: str, tmp_path: Path, capsys) -> None:
    build, expected = BAD_INPUTS[case]
    scenario = build if isinstance(build, str) else build(tmp_path)
    code, out, err = cli(tmp_path, scenario, capsys)
    assert code == 2, err
    assert "Traceback" not in err and "internal error" not in err
    assert err.startswith("error: ") and "fix:" in err
    for text in expected:
        assert text in err, (text, err)
    assert not (tmp_path / "out").is_dir(), "nothing written for a failed run"


def test_debug_shows_the_traceback(tmp_path: Path, capsys) -> None:
    code, _, err = cli(tmp_path, doc(services__0__p=-1), capsys, "--debug")
    assert code == 2 and "Traceback" in err and "services[0].p" in err


@pytest.mark.slow
def test_partly_uncoverable_set_cover_names_count_and_ids(tmp_path: Path, capsys) -> None:
    scenario = _candidates(NEAR3)(tmp_path)
    scenario["services"][0].update(objective="set_cover", threshold_min=5)
    del scenario["services"][0]["p"]
    code, out, err = cli(tmp_path, scenario, capsys)
    assert code == 0, err
    summary = json.loads((tmp_path / "out" / "rb" / "summary.json").read_text())
    notes = [n for n in summary["services"][0]["notes"] if "were excluded: ids" in n]
    assert len(notes) == 1 and notes[0].split()[0].isdigit() and "89a8" in notes[0]


@pytest.mark.slow
def test_outputs_stay_inside_out_and_names_are_escaped(tmp_path: Path, capsys) -> None:
    (tmp_path / "elsewhere").mkdir()
    code, out, err = cli(tmp_path, _xss(tmp_path), capsys)
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["rb"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.csv", "elsewhere", "out", "s.yaml"]
    html = (tmp_path / "out" / "rb" / "map.html").read_text()
    assert "<script>alert(1)</script>" not in html
    # escaped as HTML text (then JSON-encoded inside folium's script: & becomes \u0026)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html.replace("\\u0026", "&")


# --------------------------------------------------------------------------- #
# 2. fuzz: any mutation of a valid scenario ends in exit 0 or a clear exit 2   #
# --------------------------------------------------------------------------- #

def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, prefix + (i,))


FUZZ_PATHS = [p for p in _paths(SMALL) if p]
VALUES = st.one_of(st.sampled_from([None, -1, 0, "x", [], {}, 1e9, True, "catalog:nope", "../x"]),
                   st.text(max_size=12), st.integers(-10, 10_000), st.floats(allow_nan=True))
FUZZ_STATS = {"examples": 0, "exit0": 0, "exit2": 0}


@pytest.mark.slow
@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(FUZZ_PATHS), delete=st.booleans(), value=VALUES)
def test_fuzz_mutated_scenarios_never_crash(path, delete, value, tmp_path_factory, capsys) -> None:
    scenario = copy.deepcopy(SMALL)
    parent = scenario
    for part in path[:-1]:
        parent = parent[part]
    if delete and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    folder = tmp_path_factory.mktemp("fuzz")
    (folder / "s.yaml").write_text(yaml.safe_dump(scenario))
    loaded = True
    try:
        load_scenario(folder / "s.yaml")
    except AllocatorError as exc:
        loaded = False
        assert str(exc) and "s.yaml" in str(exc)
    FUZZ_STATS["examples"] += 1
    code, out, err = cli(folder, scenario, capsys, "--time-limit", "5")
    FUZZ_STATS[f"exit{code}"] = FUZZ_STATS.get(f"exit{code}", 0) + 1
    assert code in (0, 2), err
    assert "Traceback" not in err
    if code == 2:
        assert err.startswith("error: "), err
    else:
        assert loaded and (folder / "out" / scenario["name"] / "summary.json").is_file()


# --------------------------------------------------------------------------- #
# 3. faults: a killed run loses nothing; stale staging folders are cleaned     #
# --------------------------------------------------------------------------- #

def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.slow
def test_killed_run_keeps_previous_outputs_and_stale_staging_is_cleaned(tmp_path: Path, capsys) -> None:
    code, _, err = cli(tmp_path, SMALL, capsys)
    assert code == 0, err
    target = tmp_path / "out" / "rb"
    before = _digest(target)
    env = {**os.environ}
    for delay in (None, 1.5):  # right after the network line; then mid-write or later
        proc = subprocess.Popen([sys.executable, str(REPO / "run_scenario.py"), str(tmp_path / "s.yaml"),
                                 "--out", str(tmp_path / "out")], stderr=subprocess.PIPE, text=True, env=env,
                                cwd=tmp_path)
        try:
            if delay is None:
                for line in proc.stderr:
                    if "network (" in line:
                        break
            else:
                time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            assert proc.wait(timeout=60) == -signal.SIGKILL, "killed mid-run, not after it finished"
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.stderr.close()
        assert _digest(target) == before, "previous outputs are byte-identical after a kill"
    # simulate the leftovers of killed runs (dead pids, older than the next run): a staging folder as mkdtemp
    # names it, a swapped-out folder holding its manifest; a look-alike name is not allocator's to remove
    for name in (".rb.tmp-999999999-abcd_123", ".rb.old-999999999", ".rb.tmp-xyz"):
        (tmp_path / "out" / name).mkdir(exist_ok=True)
        (tmp_path / "out" / name / "summary.json").write_text("{}")
        os.utime(tmp_path / "out" / name, (time.time() - 60, time.time() - 60))
    shutil.copy(target / "manifest.json", tmp_path / "out" / ".rb.old-999999999")
    (tmp_path / "out" / ".other.tmp-1-x").mkdir()  # another scenario's folder is not ours to remove
    code, _, err = cli(tmp_path, SMALL, capsys)
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [".other.tmp-1-x", ".rb.tmp-xyz", "rb"]
    assert json.loads((target / "summary.json").read_text())["schema"] == "allocator.summary/2"


# --------------------------------------------------------------------------- #
# 4. caches: keyed by content, corrupt files rebuilt                          #
# --------------------------------------------------------------------------- #

@pytest.mark.slow
def test_network_cache_follows_file_content_and_survives_corruption(tmp_path: Path, mirror: Path) -> None:
    pbf, cache = tmp_path / "city.osm.pbf", tmp_path / "cache"
    shutil.copyfile(mirror / "sao_paulo" / "spo_osm.pbf", pbf)
    spo, report = load_network(pbf, "walk", cache_dir=cache)
    assert not report.from_cache and load_network(pbf, "walk", cache_dir=cache)[1].from_cache
    shutil.copyfile(mirror / "liechtenstein" / "liechtenstein-2013-08-03.osm.pbf", pbf)  # same name, new content
    li, report = load_network(pbf, "walk", cache_dir=cache)
    assert not report.from_cache, "a changed file is never served from the cache"
    assert li.number_of_nodes() != spo.number_of_nodes()
    for file in cache.glob("network-*"):  # network-v3-*.json (a header, then the payload)
        file.write_bytes(b"\x80\x05garbage")
    again, report = load_network(pbf, "walk", cache_dir=cache)
    assert not report.from_cache and again.number_of_nodes() == li.number_of_nodes()
    assert load_network(pbf, "walk", cache_dir=cache)[1].from_cache


# --------------------------------------------------------------------------- #
# 5. reproducibility: manifest.json; summary.json identical apart from timings #
# --------------------------------------------------------------------------- #

@pytest.mark.slow
def test_same_scenario_twice_gives_identical_summary_and_a_manifest(tmp_path: Path, capsys, mirror: Path) -> None:
    texts = []
    for run in ("a", "b"):
        code, _, err = main_out(tmp_path, run, capsys)
        assert code == 0, err
        summary = json.loads((tmp_path / run / "rb" / "summary.json").read_text())
        assert set(summary["timings"]) == {"steps", "network", "services", "run_date"}
        del summary["timings"]
        texts.append(json.dumps(summary, indent=2))
        flat = json.dumps(summary)
        assert "seconds" not in flat and "from_cache" not in flat, "every duration is under 'timings'"
    assert texts[0] == texts[1]
    manifest = json.loads((tmp_path / "b" / "rb" / "manifest.json").read_text())
    assert manifest["schema"] == "allocator.outputs.manifest/1"
    assert manifest["scenario"]["resolved"]["network"]["max_snap_m"] == 500  # defaults filled in
    sha = {tuple(i["roles"])[0]: i["sha256"] for i in manifest["inputs"]}
    pbf = mirror / "sao_paulo" / "spo_osm.pbf"
    assert sha["network"] == hashlib.sha256(pbf.read_bytes()).hexdigest()
    assert sha["scenario"] == hashlib.sha256((tmp_path / "s.yaml").read_bytes()).hexdigest()
    assert "demand[0]" in sha
    assert {"allocator", "pulp", "highspy", "numpy", "scipy", "osmnx", "geopandas", "pydantic", "folium"} \
        <= set(manifest["environment"]["packages"])
    assert manifest["environment"]["python"] == sys.version.split()[0]
    assert manifest["solver"]["threads"] == 1 and manifest["solver"]["random_seed"] == 0
    assert "HiGHS" in manifest["solver"]["name"] and manifest["timings"]["steps"]


def main_out(folder: Path, sub: str, capsys) -> tuple[int, str, str]:
    path = folder / "s.yaml"
    path.write_text(yaml.safe_dump(SMALL, sort_keys=False))
    capsys.readouterr()
    code = main([str(path), "--out", str(folder / sub), "--quiet"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# --------------------------------------------------------------------------- #
# 6. solver time-out: best solution with its gap, said so in summary.json      #
# --------------------------------------------------------------------------- #

@pytest.mark.slow
def test_tiny_time_limit_reports_time_limit_with_gap(tmp_path: Path, capsys) -> None:
    scenario = doc(services__0__objective="p_center", services__0__p=25)
    code, out, err = cli(tmp_path, scenario, capsys, "--time-limit", "0.01")
    assert code == 0, err
    service = json.loads((tmp_path / "out" / "rb" / "summary.json").read_text())["services"][0]
    assert service["status"] == "time_limit", (service["status"], service["notes"], service["gap"])
    assert service["gap"] is not None and service["gap"] > 0
    assert len(service["new_sites"]) == 25 and service["gap"] < 1
    assert any("time limit reached" in n for n in service["notes"])
    assert "stopped at the time limit" in out


def test_zz_fuzz_tried_loading_and_running(capsys) -> None:
    """The fuzz above must exercise both outcomes (runs in file order, after it)."""
    with capsys.disabled():
        print(f"\nfuzz outcomes: {FUZZ_STATS}")

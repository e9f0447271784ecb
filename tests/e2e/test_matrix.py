"""Precomputed travel-time matrices: reading, writing and whole runs with ``matrix:``.

The hand-made scenarios need no network (their answers are worked out in the
comments); the round trip runs the small São Paulo data once on the road
network, exports that matrix and runs again from it.
"""

from __future__ import annotations

import copy
import hashlib
import json
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import mirrored_env
from shapely.geometry import box

from allocator.cli import main
from allocator.errors import AllocatorError
from allocator.outputs.summary import summary
from allocator.pipeline import Progress, run
from allocator.scenario.loader import load_scenario
from allocator.scenario.schema import MatrixSpec
from allocator.traveltime.table import cost_matrix, read_matrix_csv, write_matrix_csv


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def read(path: Path, **columns: str):
    return read_matrix_csv(path, MatrixSpec(source=path.name, **columns))


# --------------------------------------------------------------------------- #
# reading and writing the file                                                #
# --------------------------------------------------------------------------- #

def test_empty_or_inf_minutes_and_missing_pairs_are_unreachable(tmp_path: Path) -> None:
    path = write(tmp_path / "m.csv", "o,d,t,note\na,x,1.5,\n\nb,x,,r5py leaves it empty\n"
                                     "a,y,inf,\nb,y, 2 ,\nb,y,2,same value twice\nz,x,1,unknown origin\n")
    table, report = read(path, origin="o", destination="d", minutes="t")
    assert (report.rows, report.pairs, report.unreachable, report.origins, report.destinations) == (6, 5, 2, 3, 2)
    lookup = cost_matrix(table, ["a", "b", "c"], ["x", "y", "w", "x"])
    inf = np.inf
    np.testing.assert_array_equal(lookup.cost, [[1.5, inf, inf, 1.5], [inf, 2, inf, inf], [inf, inf, inf, inf]])
    assert lookup.origin_absent.tolist() == [False, False, True]
    assert lookup.site_absent.tolist() == [False, False, True, False]
    assert lookup.pairs_used == 4   # z -> x names an origin not asked for


def test_ids_are_text_compared_exactly(tmp_path: Path) -> None:
    table, _ = read(write(tmp_path / "m.csv", "origin,destination,minutes\n007,1,3\n7,1.0,4\n"))
    lookup = cost_matrix(table, ["007", "7"], ["1", "1.0"])
    np.testing.assert_array_equal(lookup.cost, [[3, np.inf], [np.inf, 4]])


@pytest.mark.parametrize("body, line, field, words", [
    ("a,x,1\nb,x,NaN\n", 3, "minutes", ["'NaN' is not a number", "empty, write inf"]),
    ("a,x,1\n\nb,x,abc\nc,x,n/a\n", 4, "minutes", ["'abc' is not a number", "(2 rows like this)"]),
    ("a,x,-0.5\n", 2, "minutes", ["negative minutes", ">= 0"]),
    ("a,x,1\nb,x,2\na,x,1.25\n", 4, "minutes", ["('a', 'x')", "lines 2 and 4", "1 and 1.25"]),
    (",x,1\n", 2, "origin", ["empty origin id"]),
    ("a,,1\n", 2, "destination", ["empty destination id"]),
])
def test_bad_rows_name_file_line_and_field(tmp_path: Path, body: str, line: int, field: str, words) -> None:
    with pytest.raises(AllocatorError) as info:
        read(write(tmp_path / "m.csv", "origin,destination,minutes\n" + body))
    error = info.value
    assert (Path(error.file).name, error.line, error.field) == ("m.csv", line, f"matrix.{field}")
    for word in words:
        assert word in str(error), str(error)


def test_missing_columns_name_the_columns_present(tmp_path: Path) -> None:
    with pytest.raises(AllocatorError) as info:
        read(write(tmp_path / "m.csv", "from_id,to_id,travel_time\na,x,1\n"), origin="from_id")
    text = str(info.value)
    assert "m.csv" in text and "matrix.destination" in text and "'destination', 'minutes' not found" in text
    assert "columns are: from_id, to_id, travel_time" in text


def test_write_then_read_gives_the_same_matrix(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    cost = rng.uniform(0, 60, (7, 5)) * np.pi
    cost[2, :] = np.inf
    cost[4, 1] = np.inf
    origins, sites = [f"o{i}" for i in range(7)], [f"s{j}" for j in range(5)]
    assert write_matrix_csv(tmp_path / "m.csv", origins, sites, cost, minutes="t") == 7 * 5 - 5 - 1
    table, report = read(tmp_path / "m.csv", minutes="t")
    assert report.unreachable == 0, "only finite pairs are written"
    np.testing.assert_array_equal(cost_matrix(table, origins, sites).cost, cost)   # bit for bit
    with pytest.raises(AllocatorError, match="shape"):
        write_matrix_csv(tmp_path / "x.csv", origins, sites[:4], cost)


@pytest.mark.slow
def test_a_1227_by_1227_matrix_loads_in_seconds(tmp_path: Path) -> None:
    ids = np.array([f"89a8100c{i:04d}fff" for i in range(1227)])
    minutes = np.round(np.random.default_rng(0).uniform(0, 90, ids.size ** 2), 2)
    pd.DataFrame({"origin": np.repeat(ids, ids.size), "destination": np.tile(ids, ids.size),
                  "minutes": minutes}).to_csv(tmp_path / "m.csv", index=False)
    started = time.perf_counter()
    table, report = read(tmp_path / "m.csv")
    seconds = time.perf_counter() - started
    assert report.pairs == 1227 ** 2 == 1_505_529
    assert seconds < 10, f"{seconds:.1f}s"
    assert cost_matrix(table, ids[:3], ids[-2:]).cost[1, 0] == minutes[1 * 1227 + 1225]


# --------------------------------------------------------------------------- #
# hand-made scenarios, no network                                             #
# --------------------------------------------------------------------------- #

DEMAND_POINTS = [(-46.6080, -23.5711), (-46.6111, -23.5725), (-46.6100, -23.5720), (-46.6090, -23.5700)]
SITE_POINTS = {"s1": (-46.6070, -23.5730), "s2": (-46.6060, -23.5740), "s3": (-46.6050, -23.5750),
               "e1": (-46.6040, -23.5760)}
# a, b, c: 100, 200, 300 people.  c has no time to s1 (a pair left out).  zz and "other" are not in the scenario.
MATRIX = """origin,destination,minutes
a,s1,2
a,s2,12
a,s3,6
b,s1,4
b,s2,5
b,s3,1
c,s2,3
c,s3,1
zz,s1,1
a,other,1
"""
HAND = {
    "name": "hand",
    "matrix": {"source": "m.csv"},
    "demand": [{"name": "residents", "source": "d.csv", "id": "id", "lon": "lon", "lat": "lat", "population": "pop"}],
    "services": [
        # s1 covers a and b within 5 min (300 people; c cannot reach s1), s2 covers b and c (500): open s2
        {"name": "coverage", "objective": "max_coverage", "threshold_min": 5, "p": 1,
         "candidates": {"source": "c12.csv", "id": "id", "lon": "lon", "lat": "lat"}},
        # total minutes: s2 100*12 + 200*5 + 300*3 = 3100, s3 100*6 + 200*1 + 300*1 = 1100: open s3
        {"name": "median", "objective": "p_median", "threshold_min": 5, "p": 1,
         "candidates": {"source": "c23.csv", "id": "id", "lon": "lon", "lat": "lat"}},
    ],
    "output": {"tiles": False},
}


def hand_files(folder: Path, demand: tuple[tuple[str, int], ...] = (("a", 100), ("b", 200), ("c", 300)),
               times: str = MATRIX, **changes) -> Path:
    """Write the hand-made scenario, its layers and its matrix ``times``; return the YAML path.

    ``changes`` replace top-level keys of the scenario (``...`` removes one).
    """
    pd.DataFrame([{"id": i, "lon": x, "lat": y, "pop": p} for (i, p), (x, y) in zip(demand, DEMAND_POINTS)]) \
        .to_csv(folder / "d.csv", index=False)
    for name, ids in (("c12.csv", ["s1", "s2"]), ("c23.csv", ["s2", "s3"]), ("e.csv", ["e1"])):
        pd.DataFrame([{"id": i, "lon": SITE_POINTS[i][0], "lat": SITE_POINTS[i][1]} for i in ids]) \
            .to_csv(folder / name, index=False)
    (folder / "m.csv").write_text(times)
    doc = {k: v for k, v in (copy.deepcopy(HAND) | changes).items() if v is not ...}
    (folder / "s.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return folder / "s.yaml"


def test_hand_made_3x2_scenario_has_the_answer_worked_out_by_hand(tmp_path: Path) -> None:
    result = run(load_scenario(hand_files(tmp_path)), log=Progress(quiet=True))
    coverage, median = result.services
    assert coverage.solution.objective == pytest.approx(500)
    assert coverage.facilities["id"].tolist() == ["s2"]
    np.testing.assert_array_equal(coverage.cost, [[2, 12], [4, 5], [np.inf, 3]])   # c -> s1 left out: unreachable
    assert coverage.demand["time_after"].tolist() == [12, 5, 3]
    assert coverage.before["within"] == 0 and coverage.after["within"] == 500
    assert median.solution.objective == pytest.approx(1100)
    assert median.facilities["id"].tolist() == ["s3"]
    assert median.demand["time_after"].tolist() == [6, 1, 1]
    # one file serves both services; rows naming other ids are counted, not used
    assert "5 of 10 pairs in the matrix m.csv name a demand or site id outside this service" in " ".join(coverage.notes)
    assert "4 of 10 pairs in the matrix m.csv" in " ".join(median.notes)
    assert result.network.mode == "matrix" and result.network.pairs == 10


def test_a_repeated_note_is_reported_once_in_order(tmp_path: Path, monkeypatch) -> None:
    """Notes come from the travel times, the pipeline and the model: a text that comes twice is listed once."""
    path = hand_files(tmp_path, demand=[("a", 100), ("b", 200), ("c", 300), ("d", 50)])
    once = run(load_scenario(path), log=Progress(quiet=True)).services[0].notes
    from allocator.solve import models

    real = models.solve_max_coverage

    def noting_twice(*args, **kwargs):
        solution = real(*args, **kwargs)
        solution.notes = [once[0], *solution.notes, *solution.notes]   # the unreachable note again, then each twice
        return solution

    monkeypatch.setattr(models, "solve_max_coverage", noting_twice)
    notes = run(load_scenario(path), log=Progress(quiet=True)).services[0].notes
    assert "1 demand locations (50 people) are absent from the matrix m.csv" in once[0]
    assert notes == once and len(once) >= 3


def test_ids_absent_from_the_matrix_are_unreachable_with_a_note(tmp_path: Path) -> None:
    path = hand_files(tmp_path, demand=[("a", 100), ("b", 200), ("c", 300), ("d", 50)],
                      times="".join(row for row in MATRIX.splitlines(keepends=True) if "s3" not in row))
    result = run(load_scenario(path), log=Progress(quiet=True))
    coverage, median = result.services
    notes = " ".join(coverage.notes)
    assert "1 demand locations (50 people) are absent from the matrix m.csv: counted as underserved (e.g. d)" in notes
    assert np.isnan(coverage.demand["time_after"].iloc[3])
    assert coverage.facilities["id"].tolist() == ["s2"] and coverage.solution.objective == pytest.approx(500)
    assert "1 candidate sites were left out: absent from the matrix m.csv (e.g. s3)" in " ".join(median.notes)
    assert median.facilities["id"].tolist() == ["s2"]


# --------------------------------------------------------------------------- #
# solver.round_s: solved on rounded times, measured on the exact ones          #
# --------------------------------------------------------------------------- #

# At 30 s, 5.2 -> 5.0, 3.76 -> 4.0, 8.76 -> 9.0, 4.24 -> 4.0, 8.74 -> 8.5 (a, b, c: 100, 200, 300 people).
# coverage (T 5, s1 or s2): exact, s1 covers nobody and s2 a and b (300); rounded, s1 covers all 600.
# median (s2 or s3): exact s2 376 + 752 + 2628 = 3756 < s3 424 + 848 + 2622 = 3894;
#                    rounded s2 400 + 800 + 2700 = 3900 > s3 400 + 800 + 2550 = 3750.
ROUNDING = """origin,destination,minutes
a,s1,5.2
b,s1,5.2
c,s1,5.2
a,s2,3.76
b,s2,3.76
c,s2,8.76
a,s3,4.24
b,s3,4.24
c,s3,8.74
"""


def test_round_s_solves_on_rounded_times_and_reports_the_exact_ones(tmp_path: Path, capsys) -> None:
    (tmp_path / "exact").mkdir()
    exact = run(load_scenario(hand_files(tmp_path / "exact", times=ROUNDING)), log=Progress(quiet=True))
    assert [s.facilities["id"].tolist() for s in exact.services] == [["s2"], ["s2"]]
    assert [s.solution.objective for s in exact.services] == pytest.approx([300, 3756])

    path = hand_files(tmp_path, times=ROUNDING, solver={"round_s": 30})
    capsys.readouterr()
    assert main([str(path), "--out", str(tmp_path / "out"), "--quiet", "--time-limit", "60"]) == 0
    out = capsys.readouterr().out
    folder = tmp_path / "out" / "hand"
    coverage, median = json.loads((folder / "summary.json").read_text())["services"]
    assert [coverage["new_sites"][0]["id"], median["new_sites"][0]["id"]] == ["s1", "s3"], "rounding changed the plan"
    assert coverage["objective_value"] == 600 and median["objective_value"] == pytest.approx(3750)
    assert coverage["rounding"] == {"round_s": 30, "objective_rounded": 600, "objective_exact": 0}
    assert median["rounding"] == {"round_s": 30, "objective_rounded": pytest.approx(3750),
                                  "objective_exact": pytest.approx(3894)}
    # every indicator is measured on the exact times
    assert coverage["after"]["within"] == 0 and coverage["after"]["mean_min"] == pytest.approx(5.2)
    assert median["after"]["mean_min"] == pytest.approx(3894 / 600)
    assert median["after"]["max_min"] == pytest.approx(8.74)
    for service in (coverage, median):
        assert any("optimality hold for the rounded times" in note for note in service["notes"])
    assert "objective 3,750.00; on the exact times the same plan gives 3,894.00" in out
    report = (folder / "report.html").read_text(encoding="utf-8")
    assert "objective 600; on the exact times the same plan gives 0." in report
    assert "objective 3,750; on the exact times the same plan gives 3,894." in report
    assert json.loads((folder / "manifest.json").read_text())["solver"]["round_s"] == 30


@pytest.mark.slow
def test_round_s_0_gives_the_same_results_as_no_option(tmp_path: Path) -> None:
    outputs = {}
    for name, changes in (("plain", {}), ("zero", {"solver": {"round_s": 0}})):
        path = hand_files(tmp_path, times=ROUNDING, **changes)   # the same files, the scenario rewritten
        assert main([str(path), "--out", str(tmp_path / name), "--quiet"]) == 0
        folder = tmp_path / name / "hand"
        doc = json.loads((folder / "summary.json").read_text())
        del doc["timings"]
        outputs[name] = (doc, *((folder / f).read_bytes() for f in ("sites.csv", "demand.geojson")))
    assert outputs["zero"] == outputs["plain"]
    assert "rounding" not in json.dumps(outputs["plain"][0])


# --------------------------------------------------------------------------- #
# bad input through the command line: exit 2, file and field named            #
# --------------------------------------------------------------------------- #

def _both(tmp: Path) -> Path:
    return hand_files(tmp, network={"source": "catalog:sao_paulo/spo_osm.pbf"})


def _edit_services(path: Path, edit) -> Path:
    doc = yaml.safe_load(path.read_text())
    for service in doc["services"]:
        edit(service)
    path.write_text(yaml.safe_dump(doc))
    return path


def _clashing_site_ids(tmp: Path) -> Path:
    def edit(service: dict) -> None:
        service["existing"] = {"source": "d.csv", "lon": "lon", "lat": "lat"}   # ids 0, 1, 2 (row numbers)
        service["candidates"].pop("id")                                           # ids 0, 1 too, elsewhere
    return _edit_services(hand_files(tmp), edit)


def _only_existing_have_times(tmp: Path) -> Path:
    times = MATRIX.replace("s1", "s8").replace("s2", "s9").replace("s3", "s7") + "a,e1,3\n"
    return _edit_services(hand_files(tmp, times=times), lambda service: service.update(
        existing={"source": "e.csv", "id": "id", "lon": "lon", "lat": "lat"}))


BAD = {
    # id: (scenario builder, substrings expected in stderr)
    "network-and-matrix": (_both, ["s.yaml", "exactly one of 'network'", "'matrix'"]),
    "neither": (lambda t: hand_files(t, matrix=...), ["s.yaml", "exactly one of 'network'"]),
    "unknown-key": (lambda t: hand_files(t, matrix={"source": "m.csv", "orign": "o"}),
                    ["s.yaml", "matrix", "did you mean 'origin'"]),
    "missing-file": (lambda t: hand_files(t, matrix={"source": "nope.csv"}),
                     ["s.yaml", "matrix.source", "file not found", "nope.csv"]),
    "missing-column": (lambda t: hand_files(t, matrix={"source": "m.csv", "minutes": "travel_time"}),
                       ["m.csv", "matrix.minutes", "'travel_time' not found", "columns are: origin, destination, minutes"]),
    "non-numeric": (lambda t: hand_files(t, times=MATRIX.replace("b,s1,4", "b,s1,four")),
                    ["m.csv:5", "matrix.minutes", "'four' is not a number"]),
    "nan": (lambda t: hand_files(t, times=MATRIX.replace("b,s1,4", "b,s1,NaN")), ["m.csv:5", "'NaN' is not a number"]),
    "negative": (lambda t: hand_files(t, times=MATRIX.replace("a,s2,12", "a,s2,-12")),
                 ["m.csv:3", "matrix.minutes", "negative minutes"]),
    "conflicting-duplicate": (lambda t: hand_files(t, times=MATRIX + "a,s2,11\n"),
                              ["m.csv:12", "matrix.minutes", "('a', 's2')", "lines 3 and 12"]),
    "no-id-matches": (lambda t: hand_files(t, times="origin,destination,minutes\n1,2,3\n4,5,6\n"),
                      ["m.csv", "no row of the matrix pairs a demand id with a site id", "'a', 'b', 'c'", "'1', '4'"]),
    "no-candidate-has-a-time": (_only_existing_have_times,
                                ["m.csv", "matrix.destination", "no candidate site of service 'coverage'", "'s1'"]),
    "site-ids-clash": (_clashing_site_ids, ["s.yaml", "services[0].candidates.id", "names two different places"]),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_matrix_input_exits_2_naming_file_and_field(case: str, tmp_path: Path, capsys) -> None:
    build, expected = BAD[case]
    path = build(tmp_path)
    capsys.readouterr()
    code = main([str(path), "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("error: ") and "fix:" in err
    assert "Traceback" not in err and "internal error" not in err
    for text in expected:
        assert text in err, (text, err)
    assert not (tmp_path / "out").exists(), "nothing written for a failed run"


# --------------------------------------------------------------------------- #
# round trip on real data: network -> exported matrix -> same answer          #
# --------------------------------------------------------------------------- #

CELLS = {"source": "catalog:sao_paulo/spo_hexgrid.csv", "h3": "id", "id": "id"}
SPO = {
    "name": "spo_net",
    "network": {"source": "catalog:sao_paulo/spo_osm.pbf", "mode": "walk"},
    "demand": [{"name": "residents", **CELLS, "population": "population"}],
    "services": [
        {"name": "clinics", "objective": "p_median", "threshold_min": 8, "p": 3,
         "existing": {**CELLS, "count": "healthcare"}, "candidates": CELLS},
        {"name": "schools", "objective": "max_coverage", "threshold_min": 6, "p": 2,
         "existing": {**CELLS, "count": "schools"}, "candidates": CELLS},
    ],
    "output": {"tiles": False},
}


@pytest.fixture()
def data_env(tmp_path: Path, mirror: Path):
    with mirrored_env(mirror, tmp_path / "cache"):
        yield


@pytest.mark.slow
def test_round_trip_network_matrix_gives_the_same_sites_and_objective(tmp_path: Path, data_env, capsys) -> None:
    (tmp_path / "net.yaml").write_text(yaml.safe_dump(SPO))
    network_run = run(load_scenario(tmp_path / "net.yaml"), log=Progress(quiet=True))
    clinics = network_run.services[0]
    written = write_matrix_csv(tmp_path / "times.csv", clinics.demand["id"], clinics.site_columns["id"], clinics.cost,
                               origin="origin_id", destination="destination_id")
    assert written == np.isfinite(clinics.cost).sum() > 100_000

    doc = {**{k: v for k, v in SPO.items() if k != "network"}, "name": "spo_matrix",
           "matrix": {"source": "times.csv", "origin": "origin_id", "destination": "destination_id"}}
    (tmp_path / "matrix.yaml").write_text(yaml.safe_dump(doc))
    capsys.readouterr()
    assert main([str(tmp_path / "matrix.yaml"), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    out = capsys.readouterr().out
    folder = tmp_path / "out" / "spo_matrix"
    from_matrix = json.loads((folder / "summary.json").read_text())
    from_network = summary(network_run)
    # the schools service uses the same ids in another site order: matched by id, not by position
    # (the same cost matrix bit for bit, so the same deterministic solve and the same figures)
    for net, mat in zip(from_network["services"], from_matrix["services"], strict=True):
        assert mat["status"] == net["status"] == "optimal"
        # the same sites; only their place labels differ (a matrix has no streets to name them by)
        def where(sites: list[dict]) -> list[dict]:
            return [{k: v for k, v in x.items() if k != "place"} for x in sites]
        assert where(mat["new_sites"]) == where(net["new_sites"]) and len(mat["new_sites"]) == net["p"], net["name"]
        assert mat["objective_value"] == net["objective_value"]
        assert (mat["before"], mat["after"], mat["equity"]) == (net["before"], net["after"], net["equity"])

    assert "network" not in from_matrix and from_matrix["matrix"]["pairs"] == written
    assert from_matrix["matrix"]["source"] == str(tmp_path / "times.csv")
    assert set(from_matrix["timings"]) == {"steps", "matrix", "services", "run_date"}
    assert "within 8 min (matrix)" in out
    manifest = json.loads((folder / "manifest.json").read_text())
    sha = {tuple(i["roles"])[0]: i["sha256"] for i in manifest["inputs"]}
    assert sha["matrix"] == hashlib.sha256((tmp_path / "times.csv").read_bytes()).hexdigest()
    assert "network" not in sha and manifest["scenario"]["resolved"]["network"] is None
    for name in ("map.html", "report.html", "sites.csv", "demand.geojson"):
        assert (folder / name).stat().st_size > 0


def test_people_outside_every_district_are_no_district(tmp_path: Path) -> None:
    """A district floor binds the districts only: here the one polygon holds a alone (within 5 min of s1 only).

    Worked out by hand: had "outside every district" (b, c) been a district too, a floor of 1 would need both
    s1 (for a) and s2 (for c) with p = 1: infeasible.  With the district alone, s1 opens and covers a and b.
    """
    x, y = DEMAND_POINTS[0]
    gpd.GeoDataFrame({"code": ["A"], "label": ["Centro"]}, geometry=[box(x - 5e-4, y - 5e-4, x + 5e-4, y + 5e-4)], crs="EPSG:4326") \
        .to_file(tmp_path / "z.geojson")
    services = [{**HAND["services"][0], "district_floor": 1.0}]
    targets = [{"metric": "within_share", "min": 1.0, "per_district": True, "label": "every district"}]
    path = hand_files(tmp_path, services=services, targets=targets,
                      districts={"source": "z.geojson", "id": "code", "name_column": "label"})
    coverage, = run(load_scenario(path), log=Progress(quiet=True)).services
    assert coverage.facilities["id"].tolist() == ["s1"]
    assert coverage.solution.objective == pytest.approx(300)
    target, = coverage.equity["targets"]
    assert target["after"] == 1.0 and target["worst_district_after"] == "Centro" and target["met_after"]
    assert any("outside every district" in note for note in coverage.notes)


# a: 100, b: 200, c: 300 people; s1 is next to b and c but 30 min from a, s2 is 6-8 min from everyone
EQUITY = """origin,destination,minutes
a,s1,30
a,s2,8
b,s1,1
b,s2,6
c,s1,1
c,s2,6
"""


def test_kolm_pollak_opens_the_site_that_shortens_the_longest_trip(tmp_path: Path) -> None:
    """p_median: s1 3500 person-minutes < s2 3800.  kolm_pollak (no existing site: kappa from the nearest of
    all sites, times 8, 1, 1): kappa = -1300/6900, EDE s1 20.6 min > s2 6.4 min: open s2."""
    candidates = {"source": "c12.csv", "id": "id", "lon": "lon", "lat": "lat"}
    services = [{"name": "median", "objective": "p_median", "threshold_min": 10, "p": 1, "candidates": candidates},
                {"name": "equal", "objective": "kolm_pollak", "epsilon": -1.0, "threshold_min": 10, "p": 1,
                 "candidates": candidates}]
    path = hand_files(tmp_path, times=EQUITY, services=services)
    result = run(load_scenario(path), log=Progress(quiet=True))
    median, equal = result.services
    assert median.facilities["id"].tolist() == ["s1"] and median.solution.objective == pytest.approx(3500)
    assert equal.facilities["id"].tolist() == ["s2"]
    k = -1300 / 6900
    ede = -np.log((100 * np.exp(-k * 8) + 500 * np.exp(-k * 6)) / 600) / k
    assert equal.solution.objective == pytest.approx(ede) and ede == pytest.approx(6.39, abs=0.01)
    assert equal.solution.kappa == pytest.approx(k)
    assert summary(result)["services"][1]["objective"] == "kolm_pollak"


def test_console_gives_the_ede_as_the_summary_has_it(tmp_path: Path, capsys) -> None:
    path = hand_files(tmp_path)
    capsys.readouterr()
    assert main([str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    out = capsys.readouterr().out
    doc = json.loads((tmp_path / "out" / "hand" / "summary.json").read_text())
    for service in doc["services"]:
        before, after = service["before"]["ede_min"], service["after"]["ede_min"]
        words = "n/a" if before is None else f"{before:.1f}"
        assert f"equally-distributed equivalent (Kolm-Pollak, epsilon -1): {words} -> {after:.1f} min" in out

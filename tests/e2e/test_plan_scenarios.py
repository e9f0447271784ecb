"""Every plan rule of the scenario file, end to end on the small São Paulo data.

Each test writes a scenario YAML, runs it through the command line in-process
(``allocator.cli.main``) and checks the written outputs (summary.json,
sites.csv, demand.geojson, districts.csv, map.html) against the rule, often
with an independent re-computation: the same cost matrix (from
``allocator.pipeline.run``) handed to ``allocator.solve.plan.model.solve_plan`` directly,
or to the classic models of ``allocator.solve.models`` for every split of a budget.
The network cache (ALLOCATOR_CACHE) is shared, so the network is parsed once.
"""

from __future__ import annotations

import copy
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import mirrored_env

from allocator.cli import main
from allocator.evaluate.result import RunResult
from allocator.pipeline import run
from allocator.scenario.loader import load_scenario
from allocator.solve.models import solve_max_coverage
from allocator.solve.plan.model import Floor, PlanService, Sites, solve_plan

HEX = "catalog:sao_paulo/spo_hexgrid.csv"
CELLS = {"source": HEX, "h3": "id", "id": "id"}
EXISTING = {**CELLS, "count": "healthcare"}        # 44 cells with healthcare facilities
TOL = 1e-6


@pytest.fixture(scope="module", autouse=True)
def shared_env(tmp_path_factory, mirror: Path):
    """Data from the mirror; one network cache for the whole module."""
    with mirrored_env(mirror, tmp_path_factory.mktemp("plan-cache")):
        yield


@pytest.fixture(scope="module")
def cells(mirror: Path) -> pd.DataFrame:
    return pd.read_csv(mirror / "sao_paulo" / "spo_hexgrid.csv")


def scenario(*services: dict, **top) -> dict:
    return {"name": "plan", "network": {"source": "catalog:sao_paulo/spo_osm.pbf", "mode": "walk"},
            "demand": [{"name": "residents", **CELLS, "population": "population"}],
            "services": list(services), "output": {"tiles": False}, **top}


def clinics(**rules) -> dict:
    """A max-coverage clinic service (8-minute walk) with the existing clinics kept."""
    return {"name": "clinics", "kind": "clinic", "objective": "max_coverage", "threshold_min": 8,
            "existing": dict(EXISTING), "candidates": dict(CELLS), **rules}


@dataclass
class Run:
    code: int
    out: str
    err: str
    folder: Path
    path: Path

    @property
    def dir(self) -> Path:
        return self.folder / "out" / "plan"

    def summary(self) -> dict:
        return json.loads((self.dir / "summary.json").read_text())

    def service(self, name: str = "clinics") -> dict:
        return next(s for s in self.summary()["services"] if s["name"] == name)

    def sites(self, name: str = "clinics") -> pd.DataFrame:
        sites = pd.read_csv(self.dir / "sites.csv", dtype={"id": str})
        return sites[sites["service"] == name]

    def demand(self) -> gpd.GeoDataFrame:
        return gpd.read_file(self.dir / "demand.geojson")

    def result(self) -> RunResult:
        """The same scenario through allocator.pipeline.run (cost matrices, site tables)."""
        return run(load_scenario(self.path), log=lambda message: None)


def cli(folder: Path, doc: dict, capsys) -> Run:
    path = folder / "s.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    capsys.readouterr()
    code = main([str(path), "--out", str(folder / "out"), "--quiet"])
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err, folder, path)


def ids(rows) -> set[str]:
    return {str(r["id"]) for r in rows} if isinstance(rows, list) else set(rows["id"].astype(str))


# --------------------------------------------------------------------------- #
# (a) budgets with a per-candidate cost                                        #
# --------------------------------------------------------------------------- #

@pytest.mark.slow
@pytest.mark.parametrize("cost", ["column", 1.5])
def test_budget_spends_at_most_the_budget_and_matches_solve_plan(cost, tmp_path, capsys, cells) -> None:
    if cost == "column":   # dearer where jobs are dense (land costs more downtown): 1, 1.5 or 2.5 units
        priced = cells.assign(cost=np.select([cells.jobs > 3000, cells.jobs > 1000], [2.5, 1.5], 1.0))
        priced[["id", "cost"]].to_csv(tmp_path / "cand.csv", index=False)
        candidates = {"source": "cand.csv", "h3": "id", "id": "id", "cost": "cost"}
        price = dict(zip(priced["id"], priced["cost"]))
    else:
        candidates = {**CELLS, "cost": cost}
        price = dict.fromkeys(cells["id"], cost)
    r = cli(tmp_path, scenario(clinics(budget=4.5, candidates=candidates)), capsys)
    assert r.code == 0, r.err
    s = r.service()
    new = ids(s["new_sites"])
    assert new and new == ids(r.sites().query("status == 'new'"))
    assert s["budget"] == 4.5 and s["budget_used"] <= 4.5 + TOL
    assert s["budget_used"] == pytest.approx(sum(price[i] for i in new))
    assert "closed_sites" not in s and "upgraded_sites" not in s       # no closures or upgrades were offered
    assert "plan: spent" in r.out and "of a budget of 4.5" in r.out
    assert s["objective_value"] == pytest.approx(s["after"]["within"])

    # the same matrix straight into solve_plan gives the same sites
    res = r.result().services[0]
    existing = res.site_columns["status"].eq("existing").to_numpy()
    pop = res.demand["population"].to_numpy(float)
    direct = solve_plan([PlanService(
        "clinics", "max_coverage", res.cost, pop,
        Sites(kept=existing, closable=np.zeros_like(existing), open_cost=res.site_columns["open_cost"].fillna(1.0).to_numpy()),
        threshold=8, budget=4.5)])[0]
    assert ids(res.site_columns.iloc[direct.new_sites]) == new
    assert direct.objective == pytest.approx(s["objective_value"]) and direct.budget_used == pytest.approx(s["budget_used"])
    if cost == 1.5:   # a uniform cost is a count: 4.5 / 1.5 = 3 sites, as the classic model opens them
        assert s["objective_value"] == pytest.approx(solve_max_coverage(res.cost, pop, 3, 8, existing).objective)


# --------------------------------------------------------------------------- #
# (b) closable existing sites with savings                                     #
# --------------------------------------------------------------------------- #

def _closable_existing(folder: Path, cells: pd.DataFrame) -> tuple[dict, dict]:
    existing = cells[cells.healthcare > 0].copy()
    existing["saving"] = 1 + np.arange(len(existing)) % 3          # 1, 2 or 3 units saved by closing
    existing[["id", "healthcare", "saving"]].to_csv(folder / "existing.csv", index=False)
    spec = {"source": "existing.csv", "h3": "id", "id": "id", "count": "healthcare", "closable": True,
            "saving": "saving"}
    return spec, dict(zip(existing["id"], existing["saving"]))


@pytest.mark.slow
def test_a_negative_budget_forces_closures_that_show_everywhere(tmp_path, capsys, cells) -> None:
    existing, saving = _closable_existing(tmp_path, cells)
    r = cli(tmp_path, scenario(clinics(budget=-5, existing=existing, candidates={**CELLS, "cost": 2})), capsys)
    assert r.code == 0, r.err
    s = r.service()
    closed, new = ids(s["closed_sites"]), ids(s["new_sites"])
    assert closed, "a budget of -5 can only be met by closing sites"
    sites = r.sites()
    assert ids(sites.query("status == 'closed'")) == closed
    assert s["existing_sites"] + len(closed) == len(saving) == int((sites["status"] != "new").sum())
    assert s["budget_used"] <= -5 + TOL
    assert s["budget_used"] == pytest.approx(2 * len(new) - sum(saving[i] for i in closed))
    assert (sites.query("status == 'closed'")["assigned_population"] == 0).all(), "a closed site serves nobody"
    assert re.search(r"\b\d+ existing sites? closed", r.out) and "spent -5" in r.out
    html = (r.dir / "map.html").read_text().replace("\\u2014", "—")   # layer names are JSON-encoded
    assert "clinics — closed" in html and "allocator-closed" in html, "the map draws the closures"
    assert "closes" in (r.dir / "report.html").read_text()


@pytest.mark.slow
def test_a_budget_beyond_every_saving_is_explained(tmp_path, capsys, cells) -> None:
    existing, saving = _closable_existing(tmp_path, cells)
    r = cli(tmp_path, scenario(clinics(budget=-1000, existing=existing)), capsys)
    assert r.code == 2 and "Traceback" not in r.err
    assert "services[0].budget" in r.err and f"closing every closable site saves {sum(saving.values())}" in r.err


# --------------------------------------------------------------------------- #
# (c) relocation                                                               #
# --------------------------------------------------------------------------- #

@pytest.mark.slow
def test_relocation_moves_sites_and_never_does_worse(tmp_path, capsys) -> None:
    moving = clinics(p=1, relocate=True, existing={**EXISTING, "closable": True})
    fixed = clinics(name="fixed", p=1)
    r = cli(tmp_path, scenario(moving, fixed), capsys)
    assert r.code == 0, r.err
    s, f = r.service("clinics"), r.service("fixed")
    closed, new = ids(s["closed_sites"]), ids(s["new_sites"])
    assert closed, "redundant downtown clinics move to where they cover more people"
    assert len(new) - len(closed) <= 1, "each closure frees one new site, p = 1 more"
    assert s["objective_value"] >= f["objective_value"] - TOL
    assert ids(r.sites("clinics").query("status == 'closed'")) == closed
    assert "budget_used" not in f and "closed_sites" not in f, "the classic model reports no plan fields"


# --------------------------------------------------------------------------- #
# (d) capacities and upgrades                                                  #
# --------------------------------------------------------------------------- #

@pytest.mark.slow
def test_capacities_and_upgrades_are_never_exceeded(tmp_path, capsys, cells) -> None:
    existing = cells[cells.healthcare > 0].assign(capacity=lambda d: 12_000 * d.healthcare)
    existing[["id", "healthcare", "capacity"]].to_csv(tmp_path / "existing.csv", index=False)
    service = {"name": "clinics", "objective": "p_median", "threshold_min": 8, "p": 4, "budget": 5,
               "max_time_min": 25,
               "existing": {"source": "existing.csv", "h3": "id", "id": "id", "count": "healthcare",
                            "capacity": "capacity", "upgrade_capacity": 5000, "upgrade_cost": 0.5},
               "candidates": {**CELLS, "capacity": 15_000}}
    r = cli(tmp_path, scenario(service), capsys)
    assert r.code == 0, r.err
    s, sites = r.service(), r.sites()
    upgraded = ids(s["upgraded_sites"])
    assert upgraded, "capacity is tight: upgrades are worth their cost"
    assert upgraded == ids(sites[sites["upgraded"].astype(bool)])
    base = dict(zip(existing["id"], existing["capacity"]))
    for row in sites.itertuples():
        want = 15_000 if row.status == "new" else base[row.id] + (5000 if row.id in upgraded else 0)
        assert row.capacity == want, row
    assert (sites["assigned_population"] <= sites["capacity"] + 0.05).all(), "no site serves beyond its capacity"
    assert sites["assigned_population"].sum() == pytest.approx(s["before"]["population"], abs=1), "p-median serves all"
    assert s["budget_used"] == pytest.approx(len(s["new_sites"]) + 0.5 * len(upgraded)) and s["budget_used"] <= 5 + TOL
    assert f"{len(upgraded)} upgraded" in r.out


# --------------------------------------------------------------------------- #
# (e) max_time_min                                                             #
# --------------------------------------------------------------------------- #

@pytest.mark.slow
def test_max_time_holds_for_everyone_who_can_be_reached(tmp_path, capsys) -> None:
    r = cli(tmp_path, scenario(clinics(objective="p_median", p=10, max_time_min=15)), capsys)
    assert r.code == 0, r.err
    res = r.result().services[0]
    bound = (res.cost <= 15).any(axis=1) & (res.demand["population"].to_numpy() > 0)
    before = r.demand()["before_min_clinics"].to_numpy(float)
    after = r.demand()["after_min_clinics"].to_numpy(float)
    assert (before[bound] > 15).any(), "the rule matters on this data"
    assert (after[bound] <= 15 + 0.005).all()


@pytest.mark.slow
def test_max_time_out_of_reach_of_p_says_how_many_sites_it_needs(tmp_path, capsys) -> None:
    r = cli(tmp_path, scenario(clinics(objective="p_median", p=6, max_time_min=15)), capsys)
    assert r.code == 2 and "Traceback" not in r.err
    assert "services[0].max_time_min" in r.err and "have no existing site within 15 min" in r.err
    assert "new site(s), but p = 6" in r.err and "fix:" in r.err
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- #
# (f) district floors                                                          #
# --------------------------------------------------------------------------- #

@pytest.mark.slow
def test_every_district_meets_its_floor(tmp_path, capsys) -> None:
    r = cli(tmp_path, scenario(clinics(p=8, district_floor=0.5), districts={"h3_parent": 7}), capsys)
    assert r.code == 0, r.err
    districts = pd.read_csv(r.dir / "districts.csv").query("service == 'clinics' and population > 0")
    assert len(districts) >= 5
    assert (districts["within_share_before"] < 0.5).any(), "the floor matters on this data"
    assert (districts["within_share_after"] >= 0.5 - TOL).all(), districts[["district", "within_share_after"]]


@pytest.mark.slow
@pytest.mark.parametrize("rules, expected", [
    ({"p": 5, "district_floor": 0.8}, "district(s) start below the floor of 80%"),
    ({"p": 5, "district_floor": 1.0, "threshold_min": 3}, "even with every site open, below the floor of 100%"),
])
def test_an_impossible_floor_names_the_district(rules, expected, tmp_path, capsys) -> None:
    r = cli(tmp_path, scenario(clinics(**rules), districts={"h3_parent": 7}), capsys)
    assert r.code == 2 and "Traceback" not in r.err
    assert "services[0].district_floor" in r.err and expected in r.err
    assert "district 87a8100" in r.err, "the district is named"


# --------------------------------------------------------------------------- #
# (g) two services sharing one budget                                          #
# --------------------------------------------------------------------------- #

@pytest.mark.slow
def test_shared_budget_is_at_least_as_good_as_every_split(tmp_path, capsys) -> None:
    clinic = clinics(candidates={**CELLS, "cost": 1.5})
    school = {"name": "schools", "kind": "school", "objective": "max_coverage", "threshold_min": 10,
              "demand_weights": {"residents": 0.2}, "existing": {**CELLS, "count": "schools"},
              "candidates": dict(CELLS)}                    # cost 1 each (the default)
    r = cli(tmp_path, scenario(clinic, school, shared_budget=6), capsys)
    assert r.code == 0, r.err
    summary = r.summary()
    assert summary["shared_budget"]["budget"] == 6 and summary["shared_budget"]["used"] <= 6 + TOL
    spent = {s["name"]: s["budget_used"] for s in summary["services"]}
    assert spent["clinics"] == pytest.approx(1.5 * len(r.service("clinics")["new_sites"]))
    assert sum(spent.values()) == pytest.approx(summary["shared_budget"]["used"])
    assert "shared budget: " in r.out
    page = (r.dir / "report.html").read_text(encoding="utf-8")
    text = re.sub(r"<[^>]+>", "", page)   # the service names are marked as names (translate="no")
    assert (f"clinics and schools are solved together in one model and spend {summary['shared_budget']['used']:g} "
            "of their shared budget of 6") in text, "the report states the limit and the total spent"
    assert page.index("<h2>Shared budget</h2>") < page.index('<h2><span class="name" translate="no">clinics')
    joint = sum(s["objective_value"] for s in summary["services"])

    # independently: the classic max-coverage model for each service and every split of the 6 units
    res = {s.service.name: s for s in r.result().services}

    def covered(name: str, p: int) -> float:
        s = res[name]
        return solve_max_coverage(s.cost, s.demand["population"].to_numpy(float), p, s.service.threshold_min,
                                  s.site_columns["status"].eq("existing").to_numpy()).objective

    splits = {n: covered("clinics", n) + covered("schools", math.floor(6 - 1.5 * n + TOL)) for n in range(5)}
    best = max(splits.values())
    assert joint >= best - TOL
    assert joint == pytest.approx(best), "every joint plan is one of the splits"
    assert max(splits.values()) > min(splits.values()), "the split matters"


# --------------------------------------------------------------------------- #
# (h) min_underserved and weighted_p_center                                    #
# --------------------------------------------------------------------------- #

@pytest.mark.slow
def test_min_underserved_is_max_coverage_and_weighted_p_center_is_max_pop_time(tmp_path, capsys) -> None:
    r = cli(tmp_path, scenario(clinics(p=3), clinics(name="under", objective="min_underserved", p=3),
                               clinics(name="center", objective="weighted_p_center", p=3)), capsys)
    assert r.code == 0, r.err
    cov, under, center = r.service("clinics"), r.service("under"), r.service("center")
    assert ids(cov["new_sites"]) == ids(under["new_sites"]) and cov["after"] == under["after"]
    assert cov["objective_value"] == pytest.approx(cov["after"]["within"])
    assert under["objective_value"] == pytest.approx(under["after"]["underserved"]), "it reports what it minimises"
    assert under["objective_value"] == pytest.approx(under["before"]["population"] - cov["objective_value"])

    demand = r.demand()
    pop, after = demand["population_center"].to_numpy(float), demand["after_min_center"].to_numpy(float)
    # demand.geojson rounds minutes to 0.01
    assert center["objective_value"] == pytest.approx(np.nanmax(pop * after), abs=0.005 * pop.max())
    assert len(center["new_sites"]) == 3


# --------------------------------------------------------------------------- #
# (i) bad input: exit 2 with a message naming the field                        #
# --------------------------------------------------------------------------- #

BAD = {
    "saving-without-closable": (scenario(clinics(p=2, existing={**EXISTING, "saving": 1})),
                                ["services[0].existing", "'saving' needs 'closable: true'"]),
    "relocate-without-p": (scenario(clinics(budget=3, relocate=True, existing={**EXISTING, "closable": True})),
                           ["services[0]", "relocate needs 'p'"]),
    "floor-without-districts": (scenario(clinics(p=2, district_floor=0.5)),
                                ["services[0].district_floor", "needs a top-level 'districts'"]),
    "shared-budget-mixed-objectives": (scenario(clinics(), clinics(name="schools", objective="p_median"),
                                                shared_budget=4),
                                       ["shared_budget", "one objective", "clinics: max_coverage",
                                        "schools: p_median"]),
    "budget-with-p-center": (scenario(clinics(objective="p_center", p=2, budget=3)),
                             ["services[0]", "p_center takes only 'p'", "budgets"]),
    "capacity-column-missing": (scenario(clinics(p=2, candidates={**CELLS, "capacity": "beds"})),
                                ["spo_hexgrid.csv", "services[0].candidates.capacity", "'beds' not found",
                                 "columns are"]),
    "no-p-nor-budget": (scenario(clinics()), ["services[0]", "needs 'p'", "shared_budget"]),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_plan_input_exits_2_naming_the_field(case, tmp_path, capsys) -> None:
    doc, expected = BAD[case]
    r = cli(tmp_path, copy.deepcopy(doc), capsys)
    assert r.code == 2, r.err
    assert r.err.startswith("error: ") and "fix:" in r.err and "Traceback" not in r.err
    assert "{'" not in r.err, "no dump of a whole YAML section"
    for text in expected:
        assert text in r.err, (text, r.err)
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- #
# the plan model prefers the smallest change among equally good plans          #
# --------------------------------------------------------------------------- #

def test_plans_drop_new_sites_that_improve_nothing() -> None:
    """Budget for three sites, but one covers everybody: the others are not bought."""
    cost = np.array([[1.0, 1.0, 9.0, 9.0], [1.0, 9.0, 1.0, 9.0], [1.0, 9.0, 9.0, 1.0]])
    sites = Sites(kept=np.zeros(4, bool), closable=np.zeros(4, bool), open_cost=np.array([1.0, 0.0, 0.0, 0.5]))
    sol = solve_plan([PlanService("c", "max_coverage", cost, np.ones(3), sites, threshold=2, budget=3)])[0]
    assert sol.objective == 3 and sol.new_sites.tolist() == [0] and sol.budget_used == 1.0
    assert sol.n_variables > 0 and sol.n_constraints > 0


def test_plans_keep_open_closable_sites_whose_closure_saves_nothing() -> None:
    cost = np.array([[1.0, 1.0, 5.0], [5.0, 1.0, 1.0]])
    sites = Sites(kept=np.array([False, True, False]), closable=np.array([True, False, True]))
    sol = solve_plan([PlanService("c", "max_coverage", cost, np.ones(2), sites, threshold=2, p=0)])[0]
    assert sol.closed_sites.size == 0 and sol.objective == 2


def test_floor_diagnosis_names_the_district_that_cannot_reach_it_alone() -> None:
    cost = np.array([[1.0, 9.0, 9.0], [9.0, 1.0, 9.0], [9.0, 9.0, 1.0]])
    sites = Sites(kept=np.zeros(3, bool), closable=np.zeros(3, bool), open_cost=np.array([1.0, 1.0, 3.0]))
    floors = [Floor(np.array([True, True, False]), 1.0, "district North"), Floor(np.array([False, False, True]), 1.0,
                                                                                  "district South")]
    with pytest.raises(Exception, match=r"1 district\(s\) cannot reach .* budget 2.*district South \(0% today\)"):
        solve_plan([PlanService("c", "max_coverage", cost, np.ones(3), sites, threshold=2, budget=2, floors=floors)])

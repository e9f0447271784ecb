"""counters decision open end to end: ties cannot break the budget, and solver.time_limit_s ends the run
(tests/unit/solve/test_open_compact.py and test_deadline.py hold the models themselves)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from test_hostile import cli, run_child


def matrix_scenario(folder: Path, cost: np.ndarray, pop: np.ndarray, today: np.ndarray, *, p: int, budget: float,
                    solver: dict | None = None, **counters) -> dict:
    """A matrix scenario of one service with counters decision open: the first ``len(today)`` columns of ``cost``
    are the existing offices (``today`` desks), the others candidates; files written to ``folder``."""
    n, m = cost.shape
    e = len(today)
    lon = np.linspace(-51.25, -51.15, max(n, m))
    pd.DataFrame({"id": [f"d{i}" for i in range(n)], "lon": lon[:n], "lat": -30.03, "pop": pop}) \
        .to_csv(folder / "d.csv", index=False)
    pd.DataFrame({"id": [f"s{j}" for j in range(e)], "lon": lon[:e], "lat": -30.04, "desks": today}) \
        .to_csv(folder / "e.csv", index=False)
    pd.DataFrame({"id": [f"s{j}" for j in range(e, m)], "lon": lon[e:m], "lat": -30.05}) \
        .to_csv(folder / "c.csv", index=False)
    i, j = np.nonzero(np.isfinite(cost))
    pd.DataFrame({"origin": [f"d{a}" for a in i], "destination": [f"s{b}" for b in j], "minutes": cost[i, j]}) \
        .to_csv(folder / "m.csv", index=False)
    return {
        "name": "open", "matrix": {"source": "m.csv"},
        "demand": [{"name": "residents", "source": "d.csv", "id": "id", "lon": "lon", "lat": "lat",
                    "population": "pop"}],
        "services": [{
            "name": "offices", "kind": "service_counter", "objective": "p_median", "threshold_min": 10, "p": p,
            "existing": {"source": "e.csv", "id": "id", "lon": "lon", "lat": "lat"},
            "candidates": {"source": "c.csv", "id": "id", "lon": "lon", "lat": "lat"},
            "counters": {"opening_hours": 8, "decision": "open", "today": "desks", "budget": budget, **counters},
        }],
        "solver": solver or {}, "output": {"tiles": False},
    }


def test_a_tie_cannot_split_visitors_to_spend_over_the_budget(tmp_path: Path, capsys) -> None:
    # demand 0 is 1 minute from the existing office and from the candidate: opening the candidate needs 3.0
    # (its opening, a counter there and a second one at the existing office), the budget is 2.0
    doc = matrix_scenario(tmp_path, np.array([[1.0, 1.0], [5.0, 1.0]]), np.array([2400.0, 400.0]), np.array([1]),
                          p=1, budget=2.0, visits_per_person_day=0.01, service_min=10, mean_wait_max_min=5)
    code, err = cli(tmp_path, doc, capsys)
    assert code == 0, err
    service = json.loads((tmp_path / "out" / "open" / "summary.json").read_text())["services"][0]
    assert service["counters"]["spent"] <= 2.0 and service["new_sites"] == [], service
    assert service["counters"]["counters_after"] == 2                       # the existing office, staffed to 2


@pytest.mark.slow
def test_a_time_limit_ends_a_hard_open_run(tmp_path: Path) -> None:
    # 600 x 300 (30 existing) with a binding budget: minutes without a limit; 5 s: a plan with its gap, or
    # the "no plan within the limit" error, within run_child's timeout
    rng = np.random.default_rng(5)
    pts, sites = rng.uniform(0, 20, (600, 2)), rng.uniform(0, 20, (300, 2))
    cost = np.round(np.linalg.norm(pts[:, None] - sites[None], axis=2) * 3)
    doc = matrix_scenario(tmp_path, cost, rng.integers(100, 3000, 600).astype(float), np.full(30, 2), p=8,
                          budget=64.0, solver={"time_limit_s": 5}, visits_per_person_day=0.0096, service_min=4,
                          service_cv=0.8, wait_limit_min=15, target_share=0.95)
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    done = run_child(tmp_path / "s.yaml")
    if done.returncode == 2:
        assert "solver.time_limit_s" in done.stderr and "no plan was found within the time limit" in done.stderr
        assert "fix:" in done.stderr and "Traceback" not in done.stderr
    else:
        assert done.returncode == 0, done.stderr
        service = json.loads((tmp_path / "out" / "open" / "summary.json").read_text())["services"][0]
        assert service["status"] == "time_limit" and 0 < service["gap"] < 1, service
        assert any("stopped at the time limit: gap" in n for n in service["notes"]), service["notes"]
        assert service["counters"]["spent"] <= 64.0

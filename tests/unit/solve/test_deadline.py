"""solver.time_limit_s bounds the whole solve stage (allocator.solve.deadline): one Deadline from the solve's start,
model building included; past it a model stops with its incumbent and bound, or says no plan was found.

The runs past a tiny limit go in a child process with a timeout (like ``conftest.no_hang``, but a child
cannot be held up by native code): they must end, with the right status and words, not run on.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from allocator.solve.checks import options
from allocator.solve.deadline import Deadline, OutOfTimeError
from allocator.solve.staffing import JointLimits, QueueModel, open_and_staff

REPO = Path(__file__).resolve().parents[3]
#: a child past a tiny limit must end within this (imports and the instance included; the runs it
#: guards take minutes without a limit, the p-median one most of a minute when only HiGHS was limited)
CHILD_TIMEOUT_S = 40


def test_a_deadline_counts_from_its_start_and_names_the_setting() -> None:
    assert Deadline(None).remaining() is None and not Deadline(None).expired()
    Deadline(None).check()
    running = Deadline(3600.0)
    assert 3590 < (running.remaining() or 0) <= 3600 and not running.expired()
    past = Deadline(1.0, start=time.perf_counter() - 2.0)
    assert past.expired()
    with pytest.raises(OutOfTimeError) as err:
        past.check()
    assert err.value.field == "solver.time_limit_s" and "solver.time_limit_s" in (err.value.fix or "")
    assert "no plan was found within the time limit (1 s)" in str(err.value)
    # a model's options keep the deadline's start: the limit is the stage's, not restarted per model
    opts = options(past, 0.0, 1)
    assert opts.expired() and opts.time_limit == 1.0 and opts.deadline == past


def test_counters_open_past_the_limit_builds_nothing_and_says_so() -> None:
    cost = np.array([[1.0, 3.0], [4.0, 1.0]])
    past = options(Deadline(0.5, start=time.perf_counter() - 1.0))
    with pytest.raises(OutOfTimeError, match="no plan was found within the time limit"):
        open_and_staff(cost, np.array([100.0, 100.0]), 0.01, np.array([True, False]), np.array([1, 0]),
                       QueueModel(service_min=10.0, mean_wait_max_min=5.0), JointLimits(p=1), past)


def run_child(code: str) -> dict:
    """Run ``code`` (which prints one JSON line last) in a child process under CHILD_TIMEOUT_S."""
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=CHILD_TIMEOUT_S, cwd=REPO, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_p_median_past_a_tiny_limit_stops_with_its_incumbent_and_gap() -> None:
    # 12,000 x 1,000, p = 40: minutes without a limit; with 2 s the greedy's interchange, the Lagrangian
    # and the radius level generation stop, and the API returns the incumbent with its gap
    got = run_child("""
        import json, numpy as np
        import allocator as al
        from allocator.scenario.schema import SolverSpec
        rng = np.random.default_rng(1)
        pts, sites = rng.uniform(0, 30, (12000, 2)), rng.uniform(0, 30, (1000, 2))
        cost = np.round(np.linalg.norm(pts[:, None] - sites[None], axis=2) * 2, 1)
        problem = al.Problem.from_cost_matrix(cost, rng.integers(1, 100, 12000).astype(float))
        sol = al.solve(problem, objective="p_median", p=40, threshold_min=10,
                       solver=SolverSpec(time_limit_s=2)).solution
        print(json.dumps({"status": sol.status, "gap": sol.gap, "new": len(sol.new_sites), "notes": sol.notes}))
    """)
    assert got["status"] == "time_limit" and got["new"] == 40, got
    assert got["gap"] > 0 and any("time limit" in n for n in got["notes"]), got


@pytest.mark.slow
def test_counters_open_past_a_tiny_limit_stops_with_a_plan_or_says_none() -> None:
    # 600 x 300 with a binding budget: minutes without a limit
    got = run_child("""
        import json, numpy as np
        from allocator.solve.checks import options
        from allocator.solve.deadline import Deadline, OutOfTimeError
        from allocator.solve.staffing import JointLimits, QueueModel, open_and_staff
        rng = np.random.default_rng(5)
        pts, sites = rng.uniform(0, 20, (600, 2)), rng.uniform(0, 20, (300, 2))
        cost = np.round(np.linalg.norm(pts[:, None] - sites[None], axis=2) * 3)
        existing = np.arange(300) < 30
        model = QueueModel(service_min=4, cv=0.8, limit_min=15, share_within=0.95)
        try:
            plan = open_and_staff(cost, rng.integers(100, 3000, 600).astype(float), 0.0012, existing,
                                  np.where(existing, 2, 0), model, JointLimits(p=8, budget=64.0),
                                  options(Deadline(3.0)))
            print(json.dumps({"status": plan.status, "gap": (plan.travel - plan.lower) / plan.travel,
                              "spent": plan.spent}))
        except OutOfTimeError as exc:
            print(json.dumps({"status": "out", "message": str(exc)}))
    """)
    if got["status"] == "out":
        assert "no plan was found within the time limit (3 s)" in got["message"] and "fix:" in got["message"]
    else:
        assert got["status"] == "time_limit" and 0 < got["gap"] < 1 and got["spent"] <= 64.0, got


def test_highs_gets_what_remains_after_pulp_has_built_the_model() -> None:
    """A PuLP model's HiGHS time limit is what remains once PuLP has built and passed the model, not what
    remained before the build: the clock here reads 100 s before the model is in HiGHS, 5 s after."""
    import pulp

    from allocator.solve import highs

    prob = pulp.LpProblem("tiny", pulp.LpMinimize)
    x = [pulp.LpVariable(f"x{j}", 0, 1, cat=pulp.LpBinary) for j in range(3)]
    prob += pulp.lpSum((j + 1) * v for j, v in enumerate(x))
    prob += pulp.lpSum(x) >= 2

    def remaining() -> float:
        built = getattr(prob, "solverModel", None) is not None and prob.solverModel.getNumCol() == 3
        return 5.0 if built else 100.0

    opts = options(None, None, None)
    object.__setattr__(opts, "remaining", remaining)
    run = highs.solve(prob, opts)
    assert run.status == "optimal"
    assert prob.solverModel.getOptionValue("time_limit")[1] == 5.0

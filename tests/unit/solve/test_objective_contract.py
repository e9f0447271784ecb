"""The contract every objective of the catalogue keeps, checked over all of them (like scikit-learn's check_estimator).

On small seeded random instances: brute force over the site sets gives the
optimum its classic model (and its plan model, where it has one) reaches; the
value a solver reports is the objective's value of the chosen sites; its
words exist in every language; docs/models.md has a section for it.  A new
objective registered in ``allocator.solve.objectives`` is checked here without
writing a test.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from allocator.errors import AllocatorError
from allocator.outputs.labels import LABELS, translate
from allocator.solve.objectives import OBJECTIVES, ModelInput, Objective, SolveOptions
from allocator.solve.plan.model import PlanService, Sites, solve_plan
from allocator.solve.solution import EMPTY, Outcome, Sizes, Solution, finish

DOCS = Path(__file__).resolve().parents[3] / "docs" / "models.md"
SEEDS = range(40)
EVERY = pytest.mark.parametrize("o", list(OBJECTIVES.values()), ids=list(OBJECTIVES))
PLANNED = pytest.mark.parametrize("o", [o for o in OBJECTIVES.values() if o.plan_model],
                                  ids=[n for n, o in OBJECTIVES.items() if o.plan_model])


def instance(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, float]:
    """Travel minutes (ties and unreachable pairs on purpose), people (some 0), sites open today, p, threshold."""
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(1, 9)), int(rng.integers(2, 7))
    cost = rng.integers(1, 6, size=(n, m)).astype(float)
    cost[rng.random((n, m)) < 0.25] = np.inf
    weight = rng.integers(0, 4, size=n).astype(float)
    fixed = rng.random(m) < 0.25
    fixed[0] = False
    p = int(rng.integers(1, min(3, int((~fixed).sum())) + 1))
    return cost, weight, fixed, p, float(rng.integers(1, 6))


def site_sets(fixed: np.ndarray, sizes: range | list[int]) -> Iterator[np.ndarray]:
    """Every open-site mask: the fixed sites plus ``k`` candidates, for each ``k`` in ``sizes``."""
    cand = np.flatnonzero(~fixed)
    for k in sizes:
        for combo in itertools.combinations(cand, k):
            mask = fixed.copy()
            mask[list(combo)] = True
            yield mask


def as_solution(mask: np.ndarray, fixed: np.ndarray) -> Solution:
    return finish("brute_force", Outcome("optimal", np.nan, 0.0), open_mask=mask, fixed=fixed,
                  sizes=Sizes(), notes=[], uncoverable=EMPTY)


def allowed(o: Objective, cost: np.ndarray, weight: np.ndarray, mask: np.ndarray, threshold: float) -> bool:
    """A set the objective may choose: with ``covers_all``, everyone coverable within the threshold is covered."""
    if not o.covers_all:
        return True
    coverable = (weight > 0) & (cost <= threshold).any(axis=1)
    return bool((cost[np.ix_(coverable, mask)] <= threshold).any(axis=1).all())


def brute_force(o: Objective, cost: np.ndarray, weight: np.ndarray, fixed: np.ndarray, p: int,
                threshold: float) -> float:
    """The best value over every site set the objective may choose (``p`` new sites, or any number)."""
    sizes = [p] if o.takes_p else range(int((~fixed).sum()) + 1)
    values = [o.value_of(cost, as_solution(mask, fixed), weight, threshold)
              for mask in site_sets(fixed, sizes) if allowed(o, cost, weight, mask, threshold)]
    return min(values) if o.sense == "min" else max(values)


@EVERY
def test_the_classic_model_reaches_the_brute_force_optimum_and_reports_its_value(o: Objective) -> None:
    solved = 0
    for seed in SEEDS:
        cost, weight, fixed, p, T = instance(seed)
        best = brute_force(o, cost, weight, fixed, p, T)
        problem = ModelInput(cost, weight, fixed, p if o.takes_p else None, T)
        if not np.isfinite(best):   # someone can reach no site of any allowed set
            with pytest.raises(AllocatorError):
                o.solve(problem, SolveOptions())
            continue
        sol = o.solve(problem, SolveOptions())
        assert sol.status == "optimal", seed
        reported = o.reported(sol.objective, weight)
        assert reported == pytest.approx(best), seed
        assert reported == pytest.approx(o.value_of(cost, sol, weight, T)), seed
        if o.takes_p:
            assert len(sol.new_sites) == p, seed
        solved += 1
    assert solved >= len(SEEDS) // 2


@PLANNED
def test_the_plan_model_reaches_the_brute_force_optimum_and_reports_its_value(o: Objective) -> None:
    """Without other rules a plan of at most ``p`` new sites is as good as the best set of ``p``."""
    solved = 0
    for seed in SEEDS:
        cost, weight, fixed, p, T = instance(seed)
        best = brute_force(o, cost, weight, fixed, p, T)
        if not np.isfinite(best):
            continue
        assert o.plan_model is not None
        service = PlanService("s", o.plan_model, cost, weight, Sites(kept=fixed, closable=np.zeros_like(fixed)),
                              threshold=T, p=p if o.takes_p else None)
        sol = solve_plan([service])[0]
        assert sol.status == "optimal", seed
        reported = o.reported(sol.objective, weight)
        assert reported == pytest.approx(best), seed
        assert reported == pytest.approx(o.value_of(cost, sol, weight, T)), seed
        solved += 1
    assert solved >= len(SEEDS) // 2


@EVERY
def test_the_objective_has_its_words_in_every_language(o: Objective) -> None:
    assert o.label_keys
    for lang in LABELS:
        for key in o.label_keys:
            assert key in LABELS[lang], f"{key} missing in {lang}"
            assert translate(lang, key, people="people", t=15.0)


@EVERY
def test_the_objective_has_a_section_in_the_models_page(o: Objective) -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert f"{{#{o.name}}}" in text, f"docs/models.md needs a section headed ... {{#{o.name}}}"


@EVERY
def test_the_traits_agree(o: Objective) -> None:
    assert o.sense in ("min", "max") and o.unit
    assert OBJECTIVES[o.name] is o
    assert not o.covers_all or o.uses_threshold, "covering everyone within the threshold needs one"
    assert o.plan_model is None or OBJECTIVES[o.plan_model].plan_model == o.plan_model

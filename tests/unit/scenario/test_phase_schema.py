"""The ``phases:`` of a service: bad phases exit 2 naming the field; weights and limits as documented."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from allocator.cli import main
from allocator.scenario.phases import PhaseSpec, phase_weights

CELLS = {"source": "catalog:sao_paulo/spo_hexgrid.csv", "h3": "id", "id": "id"}
PHASED = {
    "name": "t",
    "network": {"source": "catalog:sao_paulo/spo_osm.pbf", "mode": "walk"},
    "demand": [{"name": "residents", **CELLS, "population": "population"}],
    "services": [{"name": "clinics", "objective": "max_coverage", "threshold_min": 10,
                  "phases": [{"year": 2027, "budget": 2}, {"year": 2028, "budget": 1}],
                  "candidates": {**CELLS, "cost": 1.0}}],
}


def run(tmp_path: Path, capsys, **service) -> tuple[int, str]:
    doc = copy.deepcopy(PHASED)
    for key, value in service.items():
        if value is None:
            doc["services"][0].pop(key, None)
        else:
            doc["services"][0][key] = value
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    capsys.readouterr()
    code = main([str(path), "--out", str(tmp_path / "out"), "--quiet"])
    return code, capsys.readouterr().err


BAD = [  # (case, service changes, the field named, words in the message)
    ("years not increasing", {"phases": [{"year": 2028, "budget": 1}, {"year": 2027, "budget": 1}]},
     "services[0].phases", "must increase"),
    ("negative budget", {"phases": [{"year": 2027, "budget": -1}]}, "services[0].phases[0].budget", "greater than or equal to 0"),
    ("no limit", {"phases": [{"year": 2027}]}, "services[0].phases[0]", "'budget' or 'new_sites'"),
    ("a limit on some phases", {"phases": [{"year": 2027, "budget": 1}, {"year": 2028, "new_sites": 1}]},
     "services[0].phases", "on every phase or on none"),
    ("p beside phases", {"p": 3}, "services[0]", "remove p"),
    ("budget beside phases", {"budget": 3}, "services[0]", "remove budget"),
    ("carry_over without phases", {"phases": None, "p": 2, "carry_over": True}, "services[0]", "carry_over"),
    ("another objective", {"objective": "p_center"}, "services[0]", "phases work with"),
    ("no phases", {"phases": []}, "services[0].phases", "at least one phase"),
    ("zero weight", {"phases": [{"year": 2027, "budget": 1, "years": 0}]}, "services[0].phases[0].years", "greater than 0"),
]


@pytest.mark.parametrize(("case", "change", "field", "words"), BAD, ids=[b[0] for b in BAD])
def test_bad_phases_exit_2_naming_the_field(tmp_path: Path, capsys, case: str, change: dict, field: str,
                                            words: str) -> None:
    code, err = run(tmp_path, capsys, **change)
    assert code == 2, err
    assert "Traceback" not in err and field in err and words in err, err
    assert not (tmp_path / "out").exists()


def test_weights_are_the_years_to_the_next_phase_the_last_one_or_its_own() -> None:
    phases = [PhaseSpec(year=2027, budget=1), PhaseSpec(year=2030, budget=1, years=2),
              PhaseSpec(year=2031, budget=1), PhaseSpec(year=2035, budget=1)]
    assert phase_weights(phases) == [3.0, 2.0, 4.0, 1.0]
    assert phase_weights([PhaseSpec(year=2027, new_sites=1, years=5)]) == [5.0]

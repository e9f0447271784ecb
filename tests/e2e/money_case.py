"""A small hand-made matrix scenario with costs (no network): the money and robustness tests share it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml


def write_case(folder: Path, *, n_demand: int = 40, n_candidates: int = 12, seed: int = 3, **scenario) -> Path:
    """demand.csv, sites.csv (candidates with cost and running_cost), matrix.csv and case.yaml in ``folder``."""
    rng = np.random.default_rng(seed)
    demand = pd.DataFrame({"id": [f"d{i}" for i in range(n_demand)], "lon": -51.2 + rng.random(n_demand) / 50,
                           "lat": -30.0 + rng.random(n_demand) / 50, "people": rng.integers(10, 500, n_demand),
                           "zone": [f"z{i % 3}" for i in range(n_demand)]})
    sites = pd.DataFrame({"id": [f"s{j}" for j in range(n_candidates)], "lon": -51.2 + rng.random(n_candidates) / 50,
                          "lat": -30.0 + rng.random(n_candidates) / 50,
                          "build": rng.integers(100, 1000, n_candidates) * 1000.0,
                          "running": rng.integers(10, 100, n_candidates) * 1000.0})
    existing = pd.DataFrame({"id": ["e0"], "lon": [-51.19], "lat": [-29.99]})
    rows = [(d, s, float(rng.integers(1, 30))) for d in demand["id"] for s in [*sites["id"], "e0"]]
    demand.to_csv(folder / "demand.csv", index=False)
    sites.to_csv(folder / "sites.csv", index=False)
    existing.to_csv(folder / "existing.csv", index=False)
    pd.DataFrame(rows, columns=["origin", "destination", "minutes"]).to_csv(folder / "matrix.csv", index=False)
    spec = {"name": "case", "matrix": {"source": "matrix.csv"},
            "demand": [{"source": "demand.csv", "id": "id", "lon": "lon", "lat": "lat", "population": "people"}],
            "districts": {"column": "zone"},
            "services": [{"name": "clinics", "objective": "max_coverage", "threshold_min": 10, "p": 3,
                          "existing": {"source": "existing.csv", "id": "id", "lon": "lon", "lat": "lat"},
                          "candidates": {"source": "sites.csv", "id": "id", "lon": "lon", "lat": "lat",
                                         "cost": "build", "running_cost": "running"}}],
            "currency": "BRL", **scenario}
    path = folder / "case.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path

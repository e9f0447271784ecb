"""The comparison page's pieces: plan labels and the chart whose point labels never overlap."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import matplotlib

from allocator.outputs.comparison import plan_labels, plans_figure
from allocator.solve.run_info import plan_label

matplotlib.use("Agg")

#: the Porto Alegre demo's four clinic plans: (longest trip, share within 15 min) after; three lie close together
DEMO = {"Most within 15 min": (45.4, 0.976), "Shortest longest walk": (24.3, 0.921),
        "Shortest mean walk": (45.4, 0.965), "Best EDE (Kolm-Pollak)": (42.0, 0.968)}


def _plan(x: float, y: float) -> SimpleNamespace:
    return SimpleNamespace(result=SimpleNamespace(service=SimpleNamespace(threshold_min=15),
                                                  before={"max_min": 70.2, "within_share": 0.894},
                                                  after={"max_min": x, "within_share": y}))


def test_chart_labels_do_not_overlap() -> None:
    fig = plans_figure([_plan(*xy) for xy in DEMO.values()], "en", list(DEMO))
    texts = [t for t in fig.axes[0].texts]
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in texts]
    assert sorted(t.get_text() for t in texts) == sorted([*DEMO, "Before"])
    assert not [(a.get_text(), b.get_text()) for (a, p), (b, q) in itertools.combinations(zip(texts, boxes), 2)
                if p.overlaps(q)]
    inside = fig.axes[0].get_window_extent(renderer)
    assert all(inside.x0 <= b.x0 and b.x1 <= inside.x1 and inside.y0 <= b.y0 and b.y1 <= inside.y1 for b in boxes)


def test_plan_labels_are_short_and_distinct() -> None:
    assert plan_label("poa_clinics_kolm_pollak") == "poa clinics kolm pollak"
    long = plan_label("porto_alegre_clinics_shortest_average_walk")
    assert len(long) <= 24 and long == "porto alegre clinics…"
    runs = [SimpleNamespace(info=SimpleNamespace(label=x, name="n")) for x in ("A", "B", "A")]
    assert plan_labels(runs) == ["A (1)", "B", "A (2)"]

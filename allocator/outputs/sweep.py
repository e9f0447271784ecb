"""A sweep's outputs: ``sweep.csv``, ``sweep.png`` and the report's sweep section.

``sweep.csv`` has one row per point, in increasing value: the value (a
column named for the parameter: ``p``, ``budget`` or ``threshold_min``),
``status`` (the solver's, or ``failed`` with the reason in ``error``),
``gap``, ``objective``, ``within_share_before`` and ``within_share`` (share
of the population within ``threshold_min`` before and after),
``underserved`` (people), ``mean_min``, ``p90_min``, ``max_min``, ``gini``
(of travel time after), ``new_sites`` (how many), ``budget_used``, ``sites``
(the new sites' ids, space-separated), ``seconds`` (solve and measure),
``gain`` (marginal gain, see :mod:`allocator.scale.sweep`), ``population``,
``gain_people`` (the gain in people: ``gain`` x the population),
``targets_met`` (the indices of the targets met after, space-separated) and,
in a nested sweep, ``one_shot_objective`` (the best plan of that size on
its own: what the build order gives up).
``sweep.png``: the share within the threshold against the number of new
sites (or the threshold), the marginal gain of each point, and the knee.
"""

from __future__ import annotations

import base64
import functools
import io
from pathlib import Path

import numpy as np
from markupsafe import Markup

from allocator.evaluate.result import RunResult, SweepResult
from allocator.outputs.csv_cells import write_csv
from allocator.outputs.labels import status_words, target_text, translate, what_name
from allocator.outputs.templates import render

#: sweep.csv's columns after the parameter's
COLUMNS = ["status", "gap", "objective", "within_share_before", "within_share", "underserved", "mean_min",
           "p90_min", "max_min", "gini", "new_sites", "budget_used", "sites", "seconds", "gain", "error",
           "population", "gain_people", "targets_met", "one_shot_objective"]
_AXIS = {"p": "new sites (p)", "budget": "new sites (bought by the budget)", "threshold_min": "threshold (min)"}


def sweep_frame(sweep: SweepResult):
    """sweep.csv as a table: the parameter, then :data:`COLUMNS`."""
    table = sweep.table.reindex(columns=[sweep.parameter, *COLUMNS])
    return table


def write_sweep(result: RunResult, folder: Path) -> None:
    """sweep.csv and sweep.png into ``folder`` (nothing without a sweep)."""
    if result.sweep is None:
        return
    write_csv(sweep_frame(result.sweep), Path(folder) / "sweep.csv")
    (Path(folder) / "sweep.png").write_bytes(sweep_png(result.sweep))


def _x(sweep: SweepResult):
    """The figure's x values: new sites for p and budget sweeps, the threshold for threshold sweeps."""
    ok = sweep.solved
    column = "threshold_min" if sweep.parameter == "threshold_min" else "new_sites"
    return ok, ok[column].to_numpy(float), ok[sweep.parameter].to_numpy(float)


def sweep_png(sweep: SweepResult) -> bytes:
    """The figure: share within the threshold, marginal gain per point, the knee (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok, x, values = _x(sweep)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.4, 6.2), sharex=True, height_ratios=(3, 2))
    top.plot(x, 100 * ok["within_share"], marker="o", color="#1565c0", lw=2, label="after")
    if sweep.parameter != "threshold_min":
        top.axhline(100 * ok["within_share_before"].iloc[0], color="#9e9e9e", ls=":", label="before (no new site)")
    bottom.bar(x, 100 * ok["gain"].fillna(0), width=0.6 * (min(abs(x[1:] - x[:-1]).min(), 1) if len(x) > 1 else 1),
               color="#1565c0")
    bottom.axhline(100 * sweep.min_gain, color="#c62828", ls="--", lw=1.2,
                   label=f"your minimum: each extra site adds {100 * sweep.min_gain:g} % of the people")
    if sweep.knee is not None:
        k = list(values).index(sweep.knee)
        for ax in (top, bottom):
            ax.axvline(x[k], color="#2e7d32", ls="--", lw=1.2)
        left = x[k] <= (x.min() + x.max()) / 2   # the label on the side with room
        top.annotate(f"knee: {sweep.parameter} = {sweep.knee:g}", (x[k], 100 * float(ok["within_share"].iloc[k])),
                     textcoords="offset points", xytext=(8 if left else -8, -16), ha="left" if left else "right",
                     color="#2e7d32")
    if sweep.parameter != "threshold_min":
        bottom.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    top.set(ylabel="% of people within the threshold", title=f"{sweep.service}: what each extra site buys")
    bottom.set(xlabel=_AXIS[sweep.parameter], ylabel="gain per extra site (pp)")
    top.legend(frameon=False, loc="lower right")
    bottom.legend(frameon=False)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def sweep_section(result: RunResult, lang: str = "en") -> Markup:
    """The report's sweep section (``templates/sweep.html``): each point, the knee, the figure (empty without)."""
    sweep = result.sweep
    if sweep is None:
        return Markup()
    table = sweep.table
    failed = len(table) - len(sweep.solved)
    L = functools.partial(translate, lang)
    param = L(f"sw_{sweep.parameter}")
    service = next(s for s in result.services if s.service.name == sweep.service).service
    values = table[sweep.parameter]
    lines = [L("sw_points", n=len(table), param=param) + (L("sw_failed", n=failed) if failed else "") + ".",
             L("sw_chosen", param=param, v=sweep.chosen)]
    if sweep.knee is not None:
        lines.append(L("sw_knee", param=param, v=sweep.knee, g=100 * sweep.min_gain))
    lines.append(mode_line(sweep, lang, param))
    lines += _targets_first_met(result, sweep, lang, param)
    lines += sweep.notes
    rows = [[f"{r[sweep.parameter]:g}", status_words(lang, r["status"]), _pct(r.get("within_share")), _gain(r),
             _num(r.get("mean_min")), _num(r.get("p90_min")), _num(r.get("gini"), ".3f"), _num(r.get("new_sites"), ".0f")]
            for r in table.to_dict(orient="records")]
    png = base64.b64encode(sweep_png(sweep)).decode("ascii")
    title = L("sw_title", what=what_name(lang, service.kind, service.name), param=param, lo=values.min(),
              hi=values.max())
    return render("sweep.html", title=title, lines=lines, png=png, rows=rows,
                  headers=[param, L("sw_status"), L("sw_within"), L("sw_gain"), L("sw_mean"), L("sw_p90"), L("gini_short"),
                           L("sw_new")])


def dropping_steps(sweep: SweepResult) -> tuple[int, int]:
    """How many steps between solved points drop a site of the previous point's plan, and how many steps."""
    sites = [set(str(v).split()) if v == v else set() for v in sweep.solved["sites"]]
    return sum(not a <= b for a, b in zip(sites, sites[1:])), max(len(sites) - 1, 0)


def first_met(sweep: SweepResult, n_targets: int) -> list[float | None]:
    """Per target (by index), the first point whose plan meets it (None: no point does)."""
    ok = sweep.solved
    met = [set(str(v).split()) if v == v else set() for v in ok.get("targets_met", [""] * len(ok))]
    values = ok[sweep.parameter].tolist()
    return [next((v for v, m in zip(values, met) if str(k) in m), None) for k in range(n_targets)]


def mode_line(sweep: SweepResult, lang: str, param: str) -> str:
    """Which plans the sweep shows: a nested build order (with its price, and at how many points it is unknown:
    their one-shot plan was not found within the time limit), or independent plans and how often the next one
    drops an earlier site."""
    L = functools.partial(translate, lang)   # noqa: N806 - the pages' short name for their words
    if not sweep.nested:
        drops, steps = dropping_steps(sweep)
        return L("sw_independent", k=drops, n=steps)
    ok = sweep.solved
    one_shot = ok["one_shot_objective"].to_numpy(float)   # NaN: not found within the time limit (price unknown)
    price = np.abs(ok["objective"].to_numpy(float) - one_shot) / np.abs(one_shot)
    known = ~np.isnan(price)
    if not known.any():
        return L("sw_nested_only") + " " + L("sw_price_unknown", n=len(price))
    worst = int(np.nanargmax(price))
    line = L("sw_nested", param=param, share=100 * float(price[worst]), v=ok[sweep.parameter].iloc[worst])
    return line if known.all() else line + " " + L("sw_price_unknown", n=int((~known).sum()))


def _targets_first_met(result: RunResult, sweep: SweepResult, lang: str, param: str) -> list[str]:
    """For each target, the first point that meets it, or that none does."""
    s = next(s for s in result.services if s.service.name == sweep.service)
    targets = s.equity.get("targets") or []
    t = s.service.threshold_min
    return [translate(lang, "sw_target_met", target=target_text(x, lang, t), param=param, v=v) if v is not None
            else translate(lang, "sw_target_never", target=target_text(x, lang, t))
            for x, v in zip(targets, first_met(sweep, len(targets)), strict=True)]


def _gain(row: dict) -> str:
    """The gain per extra site in percent and in people."""
    people = row.get("gain_people")
    return _pct(row.get("gain")) + ("" if people is None or people != people else f" ({people:+,.0f})")


def _pct(value) -> str:
    return "–" if value is None or value != value else f"{100 * value:.1f} %"


def _num(value, spec: str = ".1f") -> str:
    return "–" if value is None or value != value else format(value, spec)

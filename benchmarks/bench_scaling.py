"""How the p-median's time and memory grow with the number of demand points: a log-log plot.

Instances: the raster pixels of ``bench_raster_pmedian.py`` (Porto Alegre's
812,935 people as a GeoTIFF, one demand point per populated pixel, drive-mode
door-to-door minutes, exact times, p = 20, all 1,227 cells as candidates) at
several pixel sizes, from ~2,500 points (200 m) to ~199,500 (22.5 m; the
raster reader takes at most 200,000).  Each size
runs ``bench_raster_pmedian.py --skip-peer --json`` in its own child process,
so its peak RSS (``ru_maxrss``, matrix included) is its own; the machine's
load is printed before each child and every child checks allocator's
objective with numpy.  Pixels snapped to one network node differ by their own
walk only and merge into one client (``p_median.merge_profiles``), which is
what keeps the fine rasters near the node instance's cost.

Writes ``--png`` (default ``benchmarks/logs/pmedian_scaling.png``): wall time
and peak RSS against demand points, log-log, with the fitted exponent.

Run::

    python benchmarks/bench_scaling.py [--resolutions 200 100 50 35 25 22.5] [--limit 600]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def plot(rows: list[dict], png: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = np.array([r["n"] for r in rows], dtype=float)
    t = np.array([r["wall"] for r in rows])
    g = np.array([r["rss_gb"] for r in rows])
    slope = np.polyfit(np.log(n), np.log(t), 1)[0] if n.size > 1 else float("nan")
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.loglog(n, t, "o-", label=f"wall time, s (slope {slope:.2f})")
    ax.loglog(n, g, "s--", label="peak RSS, GB")
    for r in rows:
        if r["status"] != "optimal":
            ax.annotate(f"gap {r['gap']:.2%}", (r["n"], r["wall"]), textcoords="offset points", xytext=(-40, 8))
    ax.set_xlabel("demand points (populated pixels)")
    ax.set_title(f"p-median, Porto Alegre raster pixels x {rows[0]['m']:,} cells, p = 20")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=110)
    print(f"plot    : {png} (time ~ n^{slope:.2f})")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--resolutions", type=float, nargs="+", default=[200, 100, 50, 35, 25, 22.5],
                    help="pixel sizes in metres")
    ap.add_argument("--limit", type=float, default=600.0, help="allocator time_limit per size, s")
    ap.add_argument("--png", type=Path, default=HERE / "logs" / "pmedian_scaling.png")
    a = ap.parse_args(argv)
    print(f"== p-median scaling on raster pixels: resolutions {a.resolutions} m, time_limit {a.limit:g} s")
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for res in a.resolutions:
            load = " ".join(f"{x:.2f}" for x in os.getloadavg())
            out = Path(folder) / f"{res:g}.json"
            run = subprocess.run([sys.executable, str(HERE / "bench_raster_pmedian.py"), "--resolution", str(res),
                                  "--skip-peer", "--alloc-limit", str(a.limit), "--json", str(out)],
                                 capture_output=True, text=True)
            if run.returncode or not out.exists():
                print(f"{res:>4g} m: FAILED (exit {run.returncode}): {run.stderr.strip()[-400:]}", flush=True)
                continue
            r = json.loads(out.read_text())
            rows.append(r)
            checked = "matches" if "(matches)" in run.stdout else "MISMATCH"
            merged = [ln.split("note: ")[1] for ln in run.stdout.splitlines() if "merged into" in ln]
            print(f"{res:>4g} m: {r['n']:>7,} points; load before {load}; {r['status']}, gap {r['gap']:.2e}, "
                  f"wall {r['wall']:.1f} s (build {r['build']:.1f} + solve {r['solve']:.1f}), peak RSS "
                  f"{r['rss_gb']:.2f} GB; numpy check {checked}; {'; '.join(merged)}", flush=True)
    if rows:
        plot(rows, a.png)
    return 0 if len(rows) == len(a.resolutions) else 1


if __name__ == "__main__":
    sys.exit(main())

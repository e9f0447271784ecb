"""How heavy a map is to load: file size and the main thread's long tasks, in headless Chromium.

    .venv/bin/python benchmarks/map_load.py maps/poa_shared_budget/map.html [more.html ...]

For each page: its size in MB and the longest main-thread task while it loads
and settles (PerformanceObserver ``longtask`` entries, registered before any
script of the page runs), the median of ``--runs`` loads; then the ratio of
each page to the first one named (the peer). Debian's chromium
(/usr/bin/chromium) through Playwright, 1366 x 900. ``tests/e2e/test_browser.py``
uses :func:`longest_task_ms` to hold the two-service demo map under 200 ms.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

#: registered before the page's own scripts: every long task (> 50 ms) of the main thread
OBSERVE = """
window.__longtasks = [];
new PerformanceObserver(function (list) {
  list.getEntries().forEach(function (e) { window.__longtasks.push(e.duration); });
}).observe({type: 'longtask', buffered: true});
"""


def longest_task_ms(browser, path: Path, settle_ms: int = 1500) -> float:
    """The longest main-thread task (ms) while ``path`` loads and settles; 0 when none exceeded 50 ms."""
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    page.add_init_script(OBSERVE)
    page.goto(Path(path).resolve().as_uri(), wait_until="load")
    page.wait_for_timeout(settle_ms)
    tasks = page.evaluate("window.__longtasks")
    page.close()
    return max(tasks, default=0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="+", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        rows = []
        for page in args.pages:
            times = [longest_task_ms(browser, page) for _ in range(args.runs)]
            rows.append((page, page.stat().st_size / 1e6, statistics.median(times), times))
        browser.close()
    peer = rows[0]
    for page, mb, median, times in rows:
        ratio = f"{median / peer[2]:.2f}x the peer's" if peer[2] else "peer had no long task"
        print(f"{page}: {mb:.2f} MB ({mb / peer[1]:.2f}x), longest task median {median:.0f} ms "
              f"({ratio}; runs {', '.join(f'{t:.0f}' for t in times)})")


if __name__ == "__main__":
    main()

"""Erlang C / Allen–Cunneen formulas vs a long ciw discrete-event simulation (same queues, one process).

For each queue (counters, visitors per hour, service minutes, service CV) the
script simulates ``--horizon`` minutes (first 10 % dropped as warm-up) with
``--seeds`` seeds and prints, per metric, the formula's value, the median over
seeds of the simulated value, and their ratio formula / simulation.  The
metrics: probability of waiting, mean wait, share waiting longer than
``--limit`` minutes.  CV 1 is exact M/M/c (ratios should be 1 within noise);
other CVs are the Allen–Cunneen approximation (docs/counters.md).

    python benchmarks/bench_queue_sim.py [--horizon 1000000] [--seeds 5] [--limit 10]
"""

from __future__ import annotations

import argparse
import statistics

import ciw
import numpy as np

from allocator.solve.queueing import queue

QUEUES = [(1, 4.0, 10.0, 1.0), (3, 15.0, 10.0, 1.0), (10, 50.0, 10.0, 1.0), (25, 140.0, 10.0, 1.0),
          (3, 15.0, 10.0, 0.0), (3, 15.0, 10.0, 0.5), (10, 50.0, 10.0, 0.5), (3, 15.0, 10.0, 1.5)]


def service_dist(mean: float, cv: float) -> ciw.dists.Distribution:
    if cv == 0:
        return ciw.dists.Deterministic(value=mean)
    if cv == 1:
        return ciw.dists.Exponential(rate=1 / mean)
    return ciw.dists.Gamma(shape=1 / cv ** 2, scale=mean * cv ** 2)


def simulate(c: int, lam_h: float, s: float, cv: float, horizon: float, seed: int) -> np.ndarray:
    ciw.seed(seed)
    net = ciw.create_network(arrival_distributions=[ciw.dists.Exponential(rate=lam_h / 60)],
                             service_distributions=[service_dist(s, cv)], number_of_servers=[c])
    sim = ciw.Simulation(net)
    sim.simulate_until_max_time(horizon)
    return np.array([r.waiting_time for r in sim.get_all_records() if r.arrival_date > 0.1 * horizon])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--horizon", type=float, default=1_000_000.0, help="simulated minutes per seed")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--limit", type=float, default=10.0, help="minutes, for the share waiting longer")
    args = ap.parse_args()
    print(f"horizon {args.horizon:,.0f} min x {args.seeds} seeds; limit {args.limit:g} min; ratio = formula / sim")
    print(f"{'c':>3} {'lam/h':>6} {'s':>5} {'cv':>4} {'rho':>5} | {'P(wait)':>17} {'ratio':>6} | "
          f"{'mean wait':>17} {'ratio':>6} | {'P(W>limit)':>17} {'ratio':>6}")
    for c, lam, s, cv in QUEUES:
        q = queue(c, lam, s, cv)
        runs = [simulate(c, lam, s, cv, args.horizon, seed) for seed in range(args.seeds)]
        sims = [statistics.median(float(f(w)) for w in runs)
                for f in (lambda w: (w > 0).mean(), np.mean, lambda w: (w > args.limit).mean())]
        form = [q.p_wait, q.mean_wait_min, q.share_longer(args.limit)]
        cells = " | ".join(f"{a:8.4f} {b:8.4f} {a / b if b else float('nan'):6.3f}" for a, b in zip(form, sims))
        print(f"{c:>3} {lam:>6g} {s:>5g} {cv:>4g} {q.utilisation:>5.2f} | {cells}")


if __name__ == "__main__":
    main()

"""Waiting at an office with ``c`` counters: the M/M/c (Erlang C) queue, and M/G/c by Allen–Cunneen.

Visitors arrive at ``arrivals_per_h`` (Poisson) and each is served in a mean
``service_min`` minutes by one of ``c`` counters; ``a = λ·s`` is the offered
load in Erlang and ``ρ = a / c`` the utilisation.  With ``ρ < 1``:

- probability of waiting (Erlang C) ``C = B / (1 - ρ (1 - B))``, with the
  Erlang B value from the recursion ``B_0 = 1``, ``B_k = a B_{k-1} / (k + a B_{k-1})``
  (no factorials, stable for thousands of counters); its work is bounded
  whatever the counters (:func:`erlang_b_from`);
- mean wait in the queue ``Wq = C / (c μ - λ)`` (``μ = 1 / s``);
- share waiting longer than ``t``: ``P(W > t) = C exp(-(c μ - λ) t)``.

With ``ρ ≥ 1`` the queue grows without bound: :class:`QueueStats` reports it
as unstable, with infinite waits and everyone waiting.

A service-time coefficient of variation ``cv`` other than 1 uses the
Allen–Cunneen approximation for M/G/c, ``Wq ≈ Wq(M/M/c) (1 + cv²) / 2``
(arrivals stay Poisson), and keeps the conditional wait exponential with that
mean: ``P(W > t) ≈ C exp(-C t / Wq)``.  Both are approximations (exact at
``cv = 1``, and for ``c = 1`` the mean is the exact Pollaczek–Khinchine
value); ``docs/counters.md`` states the accuracy measured against simulation.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass

#: the recursion starts this many standard deviations (√load) below min(counters, load): the terms it skips
#: weigh at most e^-72 of the result (Poisson tail bound), far below double precision
SKIP_SD = 12.0


@dataclass(frozen=True)
class QueueStats:
    """The steady state of one office: load, utilisation and waits (minutes)."""

    counters: int
    arrivals_per_h: float
    service_min: float
    cv: float
    utilisation: float        # ρ = λ s / c (inf with no counter and some visitors)
    p_wait: float             # probability an arrival waits at all (1 when unstable)
    mean_wait_min: float      # mean wait in the queue (inf when unstable)

    @property
    def stable(self) -> bool:
        return self.utilisation < 1.0

    def share_longer(self, limit_min: float) -> float:
        """Share of visitors who wait longer than ``limit_min`` minutes (1 when unstable)."""
        if not self.stable:
            return 1.0
        if self.mean_wait_min <= 0.0:
            return 0.0
        return self.p_wait * math.exp(-self.p_wait * limit_min / self.mean_wait_min)


def erlang_b_from(load: float, first: int) -> Iterator[float]:
    """Erlang B for offered ``load`` on ``first``, ``first + 1``, ... counters: an endless iterator, O(1) a step.

    The recursion's work is bounded whatever the counters: it starts ``SKIP_SD`` standard deviations
    (``SKIP_SD·√load``) below ``min(first, load)`` from B = 1, as at 0 counters (what it skips weighs
    nothing in double precision; for a load below SKIP_SD² it starts at 0, the plain recursion), and
    stops once B underflows to 0.0, where the recursion stays.
    """
    k = max(0, math.floor(min(first, load) - SKIP_SD * math.sqrt(load)))
    b = 1.0
    while k < first and b > 0.0:
        k += 1
        b = load * b / (k + load * b)
    while True:
        yield b
        if b > 0.0:
            first += 1
            b = load * b / (first + load * b)


def erlang_b(load: float, counters: int) -> float:
    """Erlang B blocking probability for offered ``load`` (Erlang) on ``counters`` servers (recursion)."""
    return next(erlang_b_from(load, counters))


def erlang_c(load: float, counters: int, blocking: float | None = None) -> float:
    """Erlang C probability of waiting (1 when ``load >= counters``); ``blocking``: Erlang B if known."""
    if counters <= 0 or load >= counters:
        return 1.0
    if load <= 0.0:
        return 0.0
    b = erlang_b(load, counters) if blocking is None else blocking
    rho = load / counters
    return b / (1.0 - rho * (1.0 - b))


def queue(counters: int, arrivals_per_h: float, service_min: float, cv: float = 1.0,
          blocking: float | None = None) -> QueueStats:
    """The waits at one office (see the module docstring); ``cv`` ≠ 1 is the Allen–Cunneen approximation.

    ``blocking``: the Erlang B value for these counters when already known (:func:`queues_from`).
    """
    if service_min <= 0 or arrivals_per_h < 0 or cv < 0 or counters < 0:
        raise ValueError("queue() needs service_min > 0, arrivals_per_h >= 0, cv >= 0 and counters >= 0")
    lam = arrivals_per_h / 60.0                       # per minute
    load = lam * service_min
    if load == 0.0:
        return QueueStats(counters, arrivals_per_h, service_min, cv, 0.0, 0.0, 0.0)
    if counters == 0 or load >= counters:
        rho = math.inf if counters == 0 else load / counters
        return QueueStats(counters, arrivals_per_h, service_min, cv, rho, 1.0, math.inf)
    c_prob = erlang_c(load, counters, blocking)
    wq = c_prob / (counters / service_min - lam)
    wq *= (1.0 + cv * cv) / 2.0
    return QueueStats(counters, arrivals_per_h, service_min, cv, load / counters, c_prob, wq)


def queues_from(first: int, arrivals_per_h: float, service_min: float, cv: float = 1.0) -> Iterator[QueueStats]:
    """:func:`queue` for ``first``, ``first + 1``, ... counters (endless), each step O(1): Erlang B walked upward."""
    load = arrivals_per_h / 60.0 * service_min
    for c, b in zip(itertools.count(first), erlang_b_from(load, first)):
        yield queue(c, arrivals_per_h, service_min, cv, blocking=b)


def min_stable_counters(arrivals_per_h: float, service_min: float) -> int:
    """The fewest counters with utilisation below 1 (0 with no visitors)."""
    load = arrivals_per_h / 60.0 * service_min
    return 0 if load <= 0 else math.floor(load) + 1

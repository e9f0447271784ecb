"""How firm a plan is: its variants' figures, the sites chosen in every variant, and the best plan without each site.

:mod:`allocator.scale.robustness` solves the variants; this module holds what
they gave and reads it: how often each chosen site of the plan stays chosen,
the range of the headline figure (the share of people within the threshold,
each variant under its own conditions), and for each chosen site the best plan
with it forbidden and what that costs in people within the threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class VariantFigures:
    """One solved variant: its new sites (ids) and what its plan gives (None when its solve failed)."""

    label: str                       # the change ("-10%", "+2 min", a population change's label; a site id)
    kind: str                        # baseline | speed | threshold | population | without
    sites: tuple[str, ...] = ()      # the new sites its plan opens
    within_share: float | None = None
    within: float | None = None      # people within its threshold after its plan
    objective: float | None = None
    status: str = ""
    forbidden: str | None = None     # kind "without": the site forbidden
    places: dict[str, str] = field(default_factory=dict)   # its new sites' place names, by id
    error: str | None = None


@dataclass(frozen=True)
class Swap:
    """The best plan without one chosen site: the sites it opens instead and what it loses against the plan."""

    removed: str
    added: tuple[str, ...]
    share_change: float    # within-share of the plan without the site - the plan's (<= 0 for an exact solve)
    people_change: float


@dataclass(frozen=True)
class RobustnessResult:
    """The variants of one service's plan (:mod:`allocator.scale.robustness`)."""

    service: str
    baseline: VariantFigures
    variants: list[VariantFigures]      # the changed conditions (speed, threshold, population)
    alternatives: list[VariantFigures]  # the plan without each chosen site
    places: dict[str, str] = field(default_factory=dict)   # every site named here, id -> place

    @property
    def solved(self) -> list[VariantFigures]:
        """The baseline and every changed condition that solved."""
        return [self.baseline, *(v for v in self.variants if v.error is None)]

    @property
    def times_chosen(self) -> dict[str, int]:
        """Each new site of the plan: in how many solved variants (baseline included) it is chosen."""
        return {site: sum(site in v.sites for v in self.solved) for site in self.baseline.sites}

    @property
    def stable(self) -> list[str]:
        """The plan's new sites chosen in every solved variant."""
        n = len(self.solved)
        return [site for site, k in self.times_chosen.items() if k == n]

    @property
    def share_range(self) -> tuple[float, float] | None:
        """The lowest and highest share within the threshold over the solved variants."""
        shares = [v.within_share for v in self.solved if v.within_share is not None]
        return (min(shares), max(shares)) if shares else None

    @property
    def swaps(self) -> list[Swap]:
        """For each chosen site whose alternative solved: the sites entering instead and the loss."""
        base = self.baseline
        out = []
        for alt in self.alternatives:
            if alt.error is not None or alt.forbidden is None or alt.within_share is None or base.within_share is None:
                continue
            out.append(Swap(alt.forbidden, tuple(s for s in alt.sites if s not in base.sites),
                            alt.within_share - base.within_share, (alt.within or 0.0) - (base.within or 0.0)))
        return out

    def as_dict(self) -> dict:
        """summary.json's ``robustness`` block."""
        low_high = self.share_range
        return {
            "service": self.service,
            "variants_tried": len(self.variants) + 1,
            "variants_solved": len(self.solved),
            "stable_sites": self.stable,
            "chosen_sites": len(self.baseline.sites),
            "times_chosen": self.times_chosen,
            "within_share_range": list(low_high) if low_high else None,
            "variants": [_variant_dict(v) for v in (self.baseline, *self.variants)],
            "alternatives": [{"without": s.removed, "adds": list(s.added), "within_share_change": s.share_change,
                              "people_change": s.people_change} for s in self.swaps],
            "alternatives_failed": [{"without": a.forbidden, "error": a.error} for a in self.alternatives
                                    if a.error is not None],
        }


def _variant_dict(v: VariantFigures) -> dict:
    return {"label": v.label, "kind": v.kind, "status": v.status, "within_share": v.within_share,
            "objective": v.objective, "sites": list(v.sites), "error": v.error}

"""A run's notes in a reader's words, in the page's language, each fact once.

The stages write their notes as English sentences (``ServiceResult.notes``,
``summary.json``). Here each known kind of note is read back into its
figures (:data:`RULES`) and told again from the label tables
(``n_*`` in :mod:`allocator.outputs.labels`) with the population layer's
name and one number format (:func:`allocator.outputs.labels.count`). Notes on
how the solver worked (bounds, dominated candidates, merged profiles) are
*solver detail*: the report's method section and the console's ``--verbose``
show them, the caveats and the console's notes do not. The same people told
twice (beyond the road network, then "unreachable" in the model's words) are
told once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from allocator.outputs.labels import LABELS, count, translate

_N = r"[\d,]+(?:\.\d+)?(?:e[+-]?\d+)?"
#: (pattern, label key, kind) of each known note; kind "people" notes are about the people named by ``p``
RULES: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(rf"^(?P<n>{_N}) demand locations \((?P<p>{_N}) people\) are more than (?P<m>{_N}) m from the road "
                r"network"), "n_far_demand", "people"),
    (re.compile(rf"^(?P<n>{_N}) existing facilities serve nobody: more than (?P<m>{_N}) m from the road network"),
     "n_far_existing", "data"),
    (re.compile(rf"^(?P<n>{_N}) candidate sites were left out: more than (?P<m>{_N}) m from the road network"),
     "n_far_candidates", "data"),
    (re.compile(rf"^(?P<n>{_N}) (?:demand )?location\(s\) \((?P<p>{_N}) people\) have no site within (?P<t>{_N}) "
                r"min"), "n_no_site_within", "people"),
    (re.compile(rf"^(?P<n>{_N}) client\(s\) \(weight (?P<p>{_N})\) have no site within (?P<t>{_N}) min"),
     "n_no_site_within", "people"),
    (re.compile(rf"^(?P<n>{_N}) client\(s\) with positive weight \(total (?P<p>{_N})\) are unreachable"),
     "n_unreachable", "people"),
    (re.compile(rf"^(?P<n>{_N}) location\(s\) \((?P<p>{_N}) people\) reach no site"), "n_unreachable", "people"),
    (re.compile(rf"^raster (?P<file>.+?): (?P<p>{_N}) people in (?P<k>{_N}) populated pixels"), "n_raster", "data"),
    (re.compile(rf"^travel times were rounded to multiples of (?P<r>{_N}) s for the solve .*objective (?P<rounded>"
                rf"-?{_N}); on the exact times the same plan gives (?P<exact>-?{_N})"), "n_rounded", "data"),
    (re.compile(rf"^(?P<n>{_N}) client\(s\) with zero weight were ignored"), "n_zero_weight", "solver"),
    (re.compile(rf"^max coverage: (?P<n>{_N}) of (?P<k>{_N}) candidates are dominated"), "n_dominated", "solver"),
    (re.compile(rf"^p-median: Lagrangian bound within (?P<g>{_N})% of the best solution found; (?P<n>{_N}) of "
                rf"(?P<k>{_N}) candidates ruled out, (?P<f>{_N}) fixed open"), "n_bound", "solver"),
    (re.compile(rf"^p-median: (?P<n>{_N}) clients merged into (?P<k>{_N}) distinct cost profiles"), "n_merged",
     "solver"),
    (re.compile(rf"^p-center: (?P<n>{_N}) set-cover probe\(s\) over (?P<k>{_N}) candidate values"), "n_probes",
     "solver"),
    (re.compile(rf"^time limit reached: best (?:solution|plan) found, proven gap (?P<g>{_N})%"), "n_time_limit",
     "solver"),
    (re.compile(rf"^solved jointly with (?P<n>{_N}) other service\(s\) sharing one budget"), "n_jointly", "solver"),
    (re.compile(r"^price of phasing unknown for (?P<years>[\d, ]+):"), "n_price_unknown", "data"),
)
#: notes on how the solver worked, not on the data or the people
SOLVER = re.compile(r"^(max coverage|p-median|p-center|kolm_pollak|exact level generation|time limit|stopped at|"
                    r"solved jointly|cache file|\d+ closable site|\d+ chosen new site|no client with positive)")


@dataclass(frozen=True)
class Note:
    """One note told for a reader: its words and whether it is solver detail."""

    text: str
    solver: bool


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def _told(match: re.Match[str], key: str, lang: str, people: str) -> str:
    """The sentence of a known note, its figures formatted by :func:`count` (a singular form where one is)."""
    fields = match.groupdict()
    n = _number(fields["n"]) if "n" in fields else None
    words = {k: count(_number(v)) if k in ("n", "p", "k", "f") else v for k, v in fields.items()}
    if "g" in fields:
        words["g"] = f"{_number(fields['g']):.2f} %"
    if "m" in fields:
        words["m"] = f"{_number(fields['m']):g}"
    if "t" in fields:
        words["t"] = f"{_number(fields['t']):g}"
    one = f"{key}_one"
    return translate(lang, one if n == 1 and one in LABELS["en"] else key, people=people, **words)


def told(notes: list[str], lang: str, people: str) -> list[Note]:
    """``notes`` in plain words in ``lang``, ``people`` naming the population; each fact once.

    A note of no known kind is kept as it is (English), with a capital first letter, a full stop and no example
    ids.
    """
    out: list[Note] = []
    seen_people: set[str] = set()
    for note in notes:
        rule = next(((m, key, kind) for pattern, key, kind in RULES if (m := pattern.match(note))), None)
        if rule is not None:
            match, key, kind = rule
            if kind == "people":
                who = count(_number(match["p"]))
                if who in seen_people:   # the same people, told again in the model's words
                    continue
                seen_people.add(who)
            out.append(Note(_told(match, key, lang, people), kind == "solver"))
            continue
        text = re.sub(r"\s*(\(e\.g\. [^)]*\)|: ids .*$)", "", note).strip()
        text = text[:1].upper() + text[1:]
        out.append(Note(text if text.endswith((".", "。")) else text + ".", bool(SOLVER.match(note))))
    return list({n.text: n for n in out}.values())

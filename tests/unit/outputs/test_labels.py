"""allocator.outputs.labels: every language has every word, and a missing word is an error, not a raw key."""

from __future__ import annotations

import pytest

from allocator.outputs.labels import LABELS, map_text, metric_name, translate


def test_a_missing_key_raises_instead_of_showing_the_key() -> None:
    with pytest.raises(KeyError, match="no label 'no_such_words'"):
        translate("en", "no_such_words")
    with pytest.raises(KeyError):
        translate("zh", "no_such_words")
    with pytest.raises(KeyError, match="no map label 'no_such_words'"):
        map_text("zh", "no_such_words")
    assert map_text("zh", "counters_layer") != "counters_layer"


def test_every_language_has_every_english_key() -> None:
    for lang, words in LABELS.items():
        assert set(LABELS["en"]) - set(words) == set(), lang


@pytest.mark.parametrize("metric", ["wait_mean_min", "wait_within_share", "wait_worst_office_min",
                                    "travel_wait_mean_min"])
def test_a_wait_target_without_a_label_is_named_in_words(metric: str) -> None:
    for lang in LABELS:
        assert metric not in metric_name(lang, metric, 15.0)

"""A run's notes told for a reader (allocator.outputs.notes): plain words, one number format, each fact once."""

from __future__ import annotations

from allocator.outputs.notes import told

#: the notes of the Porto Alegre clinics demo, as the stages write them
DEMO = [
    "8 demand locations (1,224 people) are more than 500 m from the road network: counted as underserved "
    "(e.g. 89a901289d7ffff, 89a90128d6fffff)",
    "1 existing facilities serve nobody: more than 500 m from the road network (e.g. 89a901289d7ffff)",
    "13 candidate sites were left out: more than 500 m from the road network (e.g. 89a90128d6fffff)",
    "8 demand location(s) (1,224 people) have no site within 15 min and were excluded: ids 89a901289d7ffff, ...",
    "8 client(s) (weight 1224) have no site within 15 min and cannot be covered",
    "max coverage: 1004 of 1110 candidates are dominated (their coverage set lies inside another's) and were dropped",
]


def test_demo_notes_in_plain_words_each_fact_once() -> None:
    notes = told(DEMO, "en", "residents")
    shown = [n.text for n in notes if not n.solver]
    assert shown == [
        "1,224 residents live more than 500 m from the road network: they cannot reach any site and are counted as "
        "underserved.",
        "1 existing site serves nobody: it is more than 500 m from the road network.",
        "13 candidate sites were left out: they are more than 500 m from the road network."]
    assert [n.text for n in notes if n.solver] == [
        "1,004 of 1,110 candidate sites could never do better than another candidate (every person they reach in time "
        "another reaches too) and were set aside."]


def test_one_number_format_and_other_people_kept() -> None:
    notes = told(["8 demand locations (245 people) are more than 500 m from the road network: counted as "
                  "underserved", "8 location(s) (244.8 people) reach no site and were excluded",
                  "1 location(s) (11.4 people) have no site within 10 min: they stay underserved"], "en", "children")
    assert [n.text.split(" children")[0] for n in notes] == ["245", "11"]   # 244.8 is the 245 already told


def test_chinese_notes_and_unknown_notes() -> None:
    zh = told(DEMO[:2], "zh", "居民")
    assert zh[0].text.startswith("1,224 名居民居住在距道路网超过 500 米处") and "1 处现有设施" in zh[1].text
    other = told(["districts[0]: 3 locations fall outside every district polygon (e.g. a, b)"], "zh", "居民")
    assert other[0].text == "Districts[0]: 3 locations fall outside every district polygon." and not other[0].solver


def test_the_rounding_note_in_chinese() -> None:
    note = ("travel times were rounded to multiples of 30 s for the solve (solver.round_s): status, gap and optimality "
            "hold for the rounded times, objective 3,750.00; on the exact times the same plan gives 3,894.00, and every "
            "indicator reported uses the exact times")
    [zh] = told([note], "zh", "居民")
    assert zh.text.startswith("求解时出行时间按 30 秒的倍数取整") and "3,750.00" in zh.text and "3,894.00" in zh.text

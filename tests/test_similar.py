"""aggregator/similar.py: shingles, signatures (LSH band keys) and the copy / look-alike decision.

The fixtures in tests/fixtures/similar: four originals written for these tests (English,
Chinese, Japanese), a wire copy, an edited copy and a teaser of each, and two documents of each
look-alike family (bench/dedupe/fixtures.py made them with the corpus builder).
"""

from __future__ import annotations

import dataclasses
import os
import random
import re
import subprocess
import sys
from itertools import combinations
from pathlib import Path

import pytest
from conftest import shared_or_skip
from hypothesis import given
from hypothesis import strategies as st

from aggregator.steps.similar import (
    ABRIDGED,
    DEFAULT_THRESHOLDS,
    LEAD_BANDS,
    WHOLE_BANDS,
    Copy,
    Similarity,
    Thresholds,
    compare,
    copy_kind,
    judge,
    leads,
    same_story,
    shingles,
    signature,
    substituted,
)

FIXTURES = Path(__file__).parent / "fixtures" / "similar"
ORIGINALS = {
    p.stem: p.read_text(encoding="utf-8").partition("\n\n")[2]
    for p in sorted((FIXTURES / "originals").glob("*.txt"))
}
COPIES = {p.stem: p.read_text(encoding="utf-8") for p in sorted((FIXTURES / "copies").glob("*"))}
LOOKALIKES = {
    p.stem: p.read_text(encoding="utf-8") for p in sorted((FIXTURES / "lookalikes").glob("*"))
}
SIGNED_64 = range(-(2**63), 2**63)
PINNED_LATIN = "the quick brown fox jumps over the lazy dog " * 10
PINNED_CJK = "江城市住房和城乡建设局昨天宣布今年将启动老旧小区综合改造工程" * 2


def _original_of(copy: str) -> str:
    return ORIGINALS[copy.split(".")[0]]


def test_the_fixtures_hold_every_kind_in_three_languages() -> None:
    assert set(ORIGINALS) == {"story-en", "story-en-2", "story-zh", "story-ja"}
    assert {name.split(".")[1] for name in COPIES} == {"wire", "edited", "teaser"}
    assert len(COPIES) == 3 * len(ORIGINALS)
    assert len(LOOKALIKES) == 18


@pytest.mark.parametrize("name", sorted(c for c in COPIES if c.endswith(".wire")))
def test_wire_copies_are_equivalent_both_ways(name: str) -> None:
    """A dateline and a footer do not make a copy the fuller text."""
    copy, original = COPIES[name], _original_of(name)
    assert copy_kind(copy, original) is Copy.EQUIVALENT
    assert copy_kind(original, copy) is Copy.EQUIVALENT


@pytest.mark.parametrize("name", sorted(c for c in COPIES if c.endswith(".edited")))
def test_an_edited_copy_is_equivalent_and_its_original_fuller(name: str) -> None:
    """Stored first, an edited copy (a paragraph dropped) takes its original's whole text:
    the teasers that arrive later are found in it (on corpus seed 25 three were not)."""
    copy, original = COPIES[name], _original_of(name)
    assert copy_kind(copy, original) is Copy.EQUIVALENT
    assert copy_kind(original, copy) is Copy.FULLER
    teaser = COPIES[name.replace(".edited", ".teaser")]
    assert copy_kind(teaser, original) is Copy.TEASER


@pytest.mark.parametrize("name", sorted(c for c in COPIES if c.endswith(".teaser")))
def test_a_teaser_is_contained_and_its_full_story_is_fuller(name: str) -> None:
    teaser, original = COPIES[name], _original_of(name)
    assert compare(teaser, original).jaccard < DEFAULT_THRESHOLDS.jaccard  # containment decides
    assert copy_kind(teaser, original) is Copy.TEASER
    assert copy_kind(original, teaser) is Copy.FULLER  # the stored teaser takes the full text
    assert same_story(teaser, original)


@pytest.mark.parametrize("name", sorted(COPIES))
def test_every_copy_shares_a_band_key_with_its_original(name: str) -> None:
    """The lookup finds it: the teaser through the lead's keys, the others through either."""
    copy, original = signature(COPIES[name]), signature(_original_of(name))
    assert copy is not None and original is not None
    assert set(copy.all_keys) & set(original.all_keys)
    if name.endswith(".teaser"):
        assert set(copy.lead_keys) & set(original.lead_keys)


@pytest.mark.parametrize(
    ("a", "b"),
    sorted(combinations(sorted({**LOOKALIKES, **ORIGINALS}), 2)),
)
def test_look_alikes_and_distinct_stories_stay_apart(a: str, b: str) -> None:
    texts = {**LOOKALIKES, **ORIGINALS}
    assert copy_kind(texts[a], texts[b]) is None
    assert copy_kind(texts[b], texts[a]) is None


# Look-alikes of one template above the jaccard threshold (0.64): found by the corpus builder
# with seeds 21 and 22, each merged into the other before the substitution check.
WEATHER_ZH = (
    "北京天气预报：9月{day}日，白天多云，夜间{rain}雨，气温{low}～{high}℃，西风2级，相对湿度{hum}%，"
    "空气质量良。明天阴转雷阵雨，最高气温9℃。气象部门提醒：注意防寒保暖，请关注最新天气预报信息。"
    "本预报由市气象台发布。"
)
PODCAST = (
    "Episode 341: {guest} on {topic}. This week we talk about {topic} and the history of jazz. "
    "Since joining The Post, he has covered economics, China, foreign policy and energy. "
    "Subscribe to The Curious Hour on Apple Podcasts, Spotify or wherever you get your "
    "podcasts. Support the show at patreon.com/curioushour. Music by Blue Dot Sessions."
)


def test_one_template_with_other_facts_is_two_stories_though_above_the_threshold() -> None:
    weather = (
        WEATHER_ZH.format(day=23, rain="中", low=-3, high=6, hum=29),
        WEATHER_ZH.format(day=16, rain="小", low=23, high=30, hum=32),
    )
    podcast = (
        PODCAST.format(guest="Dr. Sara Lind", topic="baking sourdough"),
        PODCAST.format(guest="John Park", topic="startup funding"),
    )
    for a, b in (weather, podcast):
        assert judge(compare(a, b)) is Copy.EQUIVALENT  # the shingles alone would merge them
        assert copy_kind(a, b) is None and copy_kind(b, a) is None
        assert substituted(a, b)


def test_a_story_quoted_further_down_a_roundup_is_not_its_teaser() -> None:
    """Contained in full, but not the roundup's beginning: merged either way, the story would
    lose its post (or its text to the roundup's). (A story that is most of a roundup is
    judged as an abridged copy: see ABRIDGED.)"""
    story = ORIGINALS["story-en"]
    roundup = (
        "Good morning. This is the Morning Post briefing for Thursday, with the stories you "
        "need to know about today, hand-picked by our editors and delivered before breakfast. "
        f"1. {ORIGINALS['story-en-2']} 2. {story} 3. {LOOKALIKES['letters-0']}"
    )
    assert compare(story, roundup).a_in_b >= DEFAULT_THRESHOLDS.containment
    assert copy_kind(story, roundup) is None and copy_kind(roundup, story) is None
    assert not leads(story, roundup, DEFAULT_THRESHOLDS.containment)
    teaser = COPIES["story-en.teaser"]
    assert leads(teaser, story, DEFAULT_THRESHOLDS.containment)


def test_briefings_of_one_template_are_not_abridged_copies_of_each_other() -> None:
    """Boilerplate over half the text: the shorter briefing is contained in the longer, but
    its items are replaced, not cut."""
    head = (
        "Good morning. This is the Morning Post briefing for {day}, with the stories you need "
        "to know about today, hand-picked by our editors and delivered to your inbox before "
        "breakfast. Reply to this email to tell us what you think, and forward it to a friend "
        "who would enjoy it. Every edition is also on our website, with the links. "
    )
    a = head.format(day="Wednesday, November 1") + "1. Rates held. 2. A bridge reopened."
    b = head.format(day="Tuesday, January 28") + (
        "1. The library extends its hours until nine. 2. Snow is expected in the hills "
        "tonight. 3. The mayor opens the new school."
    )
    assert judge(compare(a, b)) is Copy.TEASER  # contained, covering most of the longer one
    assert compare(a, b).b_in_a >= ABRIDGED
    assert copy_kind(a, b) is None and copy_kind(b, a) is None


def test_copies_that_differ_in_their_dateline_and_footer_stay_copies() -> None:
    """Numbers replaced in the first or last tenth (a dateline, a copyright year) or amid a
    few shared words are not facts of the story."""
    body = ORIGINALS["story-zh"]
    a = f"中新网杭州1月17日电 {body} ©2022 中国新闻网"
    b = f"中新网西安12月1日电 {body} ©2015 中国新闻网"
    assert copy_kind(a, b) is Copy.EQUIVALENT
    assert not substituted(a, b)
    english = ORIGINALS["story-en"]
    edited = english.replace(". ", ". Officials said on Tuesday that ", 1)
    assert copy_kind(edited, english) is Copy.EQUIVALENT


def test_same_title_template_with_other_facts_is_far_from_the_thresholds() -> None:
    for family in ("weather", "weather-zh", "market", "market-zh"):
        s = compare(LOOKALIKES[f"{family}-0"], LOOKALIKES[f"{family}-1"])
        assert s.jaccard < 0.5, family
        assert max(s.a_in_b, s.b_in_a) < 0.7, family


def test_a_short_text_is_never_signed_nor_merged() -> None:
    short = "Breaking: the harbor bridge is closed for repairs until Friday morning."
    assert signature(short) is None
    assert compare(short, short).jaccard == 1.0
    assert copy_kind(short, short) is None
    assert signature(short, min_tokens=5) is not None


def test_the_minimum_counts_cjk_characters_as_tokens() -> None:
    thirty = "江城市住房和城乡建设局昨天宣布今年将启动老旧小区综合改造工程"
    assert len(thirty) == 30
    assert shingles(thirty).tokens == 30
    assert signature(thirty) is None
    assert signature(thirty * 2) is not None


def test_words_are_casefolded_and_punctuation_dropped() -> None:
    a = "“Hello,” said the Mayor — it’s the BEST day; truly... the best (really)!"
    b = "hello said the mayor it s the best day truly the best really"
    assert compare(a, b).jaccard == 1.0
    assert shingles(a).tokens == 13


def test_cjk_text_is_shingled_by_characters_and_latin_words_inside_count() -> None:
    zh = ORIGINALS["story-zh"]
    spaced = " ".join(zh)  # spaces between every character: the same character stream
    assert compare(zh, spaced).jaccard == 1.0
    mixed = "苹果公司发布新款iPhone 16，售价799美元起，将于下周五在中国上市。"
    assert shingles(mixed).tokens == len("苹果公司发布新款售价美元起将于下周五在中国上市") + 3


def test_english_words_in_a_cjk_text_are_units_not_letters() -> None:
    """Unrelated Chinese texts that mix in words of one small English vocabulary (as the
    2,000-feed bench's do): their letters' 4-grams were shared (Jaccard 0.25), their words'
    are not; a word is one token, its characters none."""

    def mixed(seed: int) -> str:
        rng = random.Random(seed)
        words = ["data", "city", "river", "market", "policy", "open", "report", "growth"]
        zh = "大数据贵州实验田创新驱动发展政策制度产业模式应用场景经济社会城市服务平台企业人才科技"
        return " ".join(
            " ".join(rng.choices(words, k=30)) + "。" + "".join(rng.choices(zh, k=40))
            for _ in range(6)
        )

    a, b = mixed(1), mixed(2)
    assert shingles(a).tokens == 6 * (30 + 1 + 40)  # words, "。", characters
    assert compare(a, b).jaccard < 0.05
    assert compare(a, a.replace("data", "DATA")).jaccard == 1.0


def test_a_latin_text_with_a_few_cjk_characters_keeps_its_words() -> None:
    english = ORIGINALS["story-en"]
    with_name = english.replace("Rosa Delgado", "Rosa Delgado (罗莎)")
    assert compare(english, with_name).jaccard > 0.95


def test_a_number_that_differs_changes_the_cjk_grams_around_it() -> None:
    a = "今日收盘，沪指上涨1.25%，报3201.55点；深证成指上涨0.87%。两市成交额8000亿元。" * 3
    b = a.replace("3201", "3187").replace("8000", "7600").replace("1.25", "0.42")
    assert compare(a, b).jaccard < 0.75


def test_signature_has_16_whole_and_8_lead_keys_signed_64_bit() -> None:
    sig = signature(ORIGINALS["story-en"])
    assert sig is not None
    assert len(sig.keys) == WHOLE_BANDS and len(sig.lead_keys) == LEAD_BANDS
    assert len(set(sig.all_keys)) == WHOLE_BANDS + LEAD_BANDS
    assert all(k in SIGNED_64 for k in sig.all_keys)
    assert sig.tokens == len(re.findall(r"[A-Za-z0-9]+", ORIGINALS["story-en"]))


def test_signature_is_the_same_in_every_process() -> None:
    """Stored keys must meet the keys of tomorrow's articles, computed by another process.
    The values are pinned: if this fails after an upgrade (rensa, the tokenizer), bump
    similar.SIGNATURE_VERSION and say in the changelog that the band table is rebuilt."""
    code = (
        "from aggregator.steps.similar import signature\n"
        f"print(signature({PINNED_LATIN!r}).keys[:2], signature({PINNED_CJK!r}).keys[:2])"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    other = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    here = (_keys(PINNED_LATIN)[:2], _keys(PINNED_CJK)[:2])
    assert other == f"{here[0]} {here[1]}"
    assert here == (
        (6483432071910062542, -4269409332226788711),
        (-7278311464715143287, 221108246831397534),
    )


def _keys(text: str) -> tuple[int, ...]:
    sig = signature(text)
    assert sig is not None
    return sig.keys


def test_the_lead_is_the_beginning_of_the_text() -> None:
    original = ORIGINALS["story-en"]
    tail_changed = original[: len(original) // 2] + " Something else entirely happened later."
    a, b = signature(original), signature(tail_changed)
    assert a is not None and b is not None
    assert a.lead_keys == b.lead_keys
    assert a.keys != b.keys


def test_judge_applies_min_tokens_before_anything() -> None:
    same = Similarity(jaccard=1.0, a_in_b=1.0, b_in_a=1.0, a_tokens=39, b_tokens=500)
    assert judge(same) is None
    assert judge(dataclasses.replace(same, a_tokens=40)) is Copy.EQUIVALENT


def test_judge_containment_is_of_the_shorter_text() -> None:
    teaser = Similarity(jaccard=0.2, a_in_b=0.9, b_in_a=0.2, a_tokens=80, b_tokens=400)
    assert judge(teaser) is Copy.TEASER
    assert judge(dataclasses.replace(teaser, a_in_b=0.79)) is None
    fuller = Similarity(jaccard=0.2, a_in_b=0.2, b_in_a=0.9, a_tokens=400, b_tokens=80)
    assert judge(fuller) is Copy.FULLER
    # the longer text mostly in the shorter one is not a teaser relation: it cannot happen
    # with sets unless both are nearly equal, which Jaccard decides
    odd = Similarity(jaccard=0.2, a_in_b=0.9, b_in_a=0.2, a_tokens=400, b_tokens=80)
    assert judge(odd) is None


def test_thresholds_are_frozen_and_configurable() -> None:
    t = Thresholds()
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.jaccard = 0.1  # type: ignore[misc]
    strict = Thresholds(jaccard=0.99, containment=0.99, min_tokens=40)
    name = "story-en-2.edited"
    assert copy_kind(COPIES[name], _original_of(name)) is Copy.EQUIVALENT
    assert copy_kind(COPIES[name], _original_of(name), strict) is None


@given(st.text(max_size=400))
def test_any_text_signs_or_not_without_error(text: str) -> None:
    sig = signature(text)
    if sig is not None:
        assert len(sig.all_keys) == WHOLE_BANDS + LEAD_BANDS
        assert all(k in SIGNED_64 for k in sig.all_keys)
        assert signature(text) == sig
    s = compare(text, text)
    assert s.jaccard in (0.0, 1.0)


@given(st.text(max_size=300), st.text(max_size=300))
def test_compare_is_symmetric(a: str, b: str) -> None:
    ab, ba = compare(a, b), compare(b, a)
    assert ab.jaccard == ba.jaccard
    assert (ab.a_in_b, ab.b_in_a) == (ba.b_in_a, ba.a_in_b)


@pytest.mark.parametrize("seed", [18, 21, 22])
def test_dev_corpus_merges_copies_and_keeps_every_story(seed: int) -> None:
    """The full syndication corpus (bench/dedupe) in three arrival orders: no story merged
    into another, and the issue's recall targets per kind of copy, CJK included. Seeds 21
    and 22 made look-alikes that reach the jaccard threshold (the substitution check)."""
    shared = shared_or_skip("fixtures/article-pages").parents[1]
    from bench.dedupe.corpus import build
    from bench.dedupe.evaluate import run
    from bench.dedupe.sources import load_originals

    docs = build(load_originals(shared), seed)
    assert docs == build(load_originals(shared), seed)  # deterministic
    targets = {"wire": 0.95, "edited": 0.90, "teaser": 0.80}
    for order in ("originals", "copies", "shuffled"):
        result = run(docs, order, DEFAULT_THRESHOLDS, seed)
        assert result.false_merges() == [], order
        kept, stories = result.stories_kept()
        assert kept == stories
        recall = result.recall()
        for kind, (merged, total) in recall.items():
            assert merged / total >= targets[kind.split()[0]], (order, kind, merged, total)
        assert {"wire (CJK)", "edited (CJK)", "teaser (CJK)"} <= set(recall)

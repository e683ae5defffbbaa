"""bench/extract/score.py: tokens, bag-of-tokens P/R/F1 and the image count."""

from __future__ import annotations

import pytest

from bench.extract.score import images_found, is_cjk, score, tokens


def test_latin_tokens_are_casefolded_words_without_punctuation() -> None:
    assert tokens("Hello, World! It's 2024 — naïve café_au_lait.") == [
        "hello",
        "world",
        "it",
        "s",
        "2024",
        "naïve",
        "café",
        "au",
        "lait",
    ]


def test_german_sharp_s_casefolds() -> None:
    assert tokens("STRASSE straße") == ["strasse", "strasse"]


def test_each_cjk_character_is_a_token() -> None:
    assert tokens("東京は晴れ。") == ["東", "京", "は", "晴", "れ"]
    assert tokens("カタカナ") == ["カ", "タ", "カ", "ナ"]
    assert tokens("한국어") == ["한", "국", "어"]
    assert tokens("中文，标点！") == ["中", "文", "标", "点"]


def test_cjk_next_to_latin_splits_at_the_script_boundary() -> None:
    assert tokens("iPhone手机2024年") == ["iphone", "手", "机", "2024", "年"]


def test_is_cjk_by_share_of_tokens() -> None:
    assert is_cjk("本市图书馆自下月起 with a few English words")
    assert not is_cjk("An English text that quotes 東京 once.")
    assert not is_cjk("")


def test_identical_texts_score_one() -> None:
    s = score("The cat sat.", "the CAT, sat")
    assert (s.precision, s.recall, s.f1) == (1.0, 1.0, 1.0)


def test_known_precision_recall_f1() -> None:
    # extracted a b c d, expected a b e: 2 common, P = 2/4, R = 2/3, F1 = 4/7
    s = score("a b c d", "a b e")
    assert s.precision == pytest.approx(0.5)
    assert s.recall == pytest.approx(2 / 3)
    assert s.f1 == pytest.approx(4 / 7)


def test_tokens_are_a_multiset() -> None:
    # a repeated word counts as often as it appears on both sides, no more
    s = score("the the the cat", "the cat")
    assert s.precision == pytest.approx(0.5)
    assert s.recall == pytest.approx(1.0)


def test_order_does_not_matter() -> None:
    assert score("sat cat the", "the cat sat").f1 == 1.0


def test_cjk_scoring_by_character() -> None:
    s = score("图书馆开放", "图书馆延长开放时间")
    assert s.precision == pytest.approx(1.0)
    assert s.recall == pytest.approx(5 / 9)


@pytest.mark.parametrize(
    ("extracted", "expected", "f1"),
    [("", "", 1.0), ("", "some text", 0.0), ("some text", "", 0.0), ("...", "!!", 1.0)],
)
def test_empty_sides(extracted: str, expected: str, f1: float) -> None:
    s = score(extracted, expected)
    assert s.f1 == f1
    assert s.precision == s.recall == f1


def test_no_common_token_scores_zero() -> None:
    assert score("alpha beta", "gamma delta") == score("", "gamma")


def test_images_are_matched_by_file_name_whatever_the_base() -> None:
    expected = '<img src="http://fakehost/test/a.jpg"><img src="https://cdn.example/x/b.png?w=2">'
    extracted = '<p><img src="http://127.0.0.1:8000/pages/a.jpg"><img src="data:image/gif;b">'
    assert images_found(extracted, expected) == (1, 2)
    assert images_found("", "") == (0, 0)

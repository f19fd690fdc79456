"""arkor's chrF against sacreBLEU 2.6.0's `sentence_chrf` / `corpus_chrf` (default chrF: orders 1..6,
beta 2, no word n-grams); the expected values were computed with sacreBLEU itself."""

from __future__ import annotations

import pytest

from arkor.templates.chrf import corpus_chrf, sentence_chrf
from arkor.templates.scoring import TRANSLATION_CHRF, score_prediction, summarize

PAIRS = [
    ("The cat sat on the mat.", "The cat is sitting on the mat.", 49.6485),
    ("My order has not arrived yet", "My order has not arrived yet.", 96.2199),
    ("I was charged twice.", "I was billed two times.", 21.6914),
    ("Where is my package?", "Where's my parcel?", 36.9716),
    ("abc", "xyz", 0.0),
    ("a", "ab", 55.5556),
    ("", "something", 0.0),
    ("Ich möchte kündigen", "I want to cancel", 8.4541),
]


@pytest.mark.parametrize("hypothesis,reference,expected", PAIRS)
def test_sentence_chrf_matches_sacrebleu(hypothesis, reference, expected):
    assert sentence_chrf(hypothesis, reference) == pytest.approx(expected, abs=1e-4)


def test_corpus_chrf_matches_sacrebleu_and_is_not_a_mean_of_sentences():
    hypotheses, references = [p[0] for p in PAIRS], [p[1] for p in PAIRS]
    assert corpus_chrf(hypotheses, references) == pytest.approx(45.0133, abs=1e-4)
    assert sentence_chrf("same words", "same words") == pytest.approx(100.0)


def test_translate_scores_report_chrf_beside_the_exact_fields():
    expected = '{"translation":"My order has not arrived yet.","detected_language":"es"}'
    close = score_prediction(
        "translate", '{"translation":"My order has not arrived","detected_language":"es"}', expected
    )
    assert close["translation"] is False and 0.5 < close[TRANSLATION_CHRF] < 1.0
    broken = score_prediction("translate", "not json", expected)
    assert broken[TRANSLATION_CHRF] == 0.0
    summary = summarize([close, broken])
    # exact_fields averages the exact fields only (detected_language 50%, translation 0%).
    assert summary["exact_fields"] == pytest.approx(0.25)
    assert summary[TRANSLATION_CHRF] == pytest.approx(close[TRANSLATION_CHRF] / 2)

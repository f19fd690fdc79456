"""chrF (Popović 2015), as sacreBLEU computes it by default: character n-grams of orders 1..6 with
whitespace removed, precision and recall averaged over the orders, combined as F-beta with beta=2.
Scores are 0..100. Pure Python, so scoring a translation needs no extra package."""

from __future__ import annotations

from collections import Counter

CHAR_ORDER = 6
BETA = 2.0


def _ngrams(text: str, n: int) -> Counter[str]:
    return Counter(text[i : i + n] for i in range(len(text) - n + 1))


def chrf_statistics(hypothesis: str, reference: str) -> list[int]:
    """Per order n: (hypothesis n-grams, reference n-grams, matching n-grams), flattened."""
    hyp, ref = "".join(hypothesis.split()), "".join(reference.split())
    stats: list[int] = []
    for n in range(1, CHAR_ORDER + 1):
        hyp_grams, ref_grams = _ngrams(hyp, n), _ngrams(ref, n)
        stats += [sum(hyp_grams.values()), sum(ref_grams.values()), sum((hyp_grams & ref_grams).values())]
    return stats


def chrf_from_statistics(stats: list[int]) -> float:
    """The chrF score of summed statistics (sentence or corpus)."""
    eps = 1e-16
    factor = BETA**2
    precision = recall = 0.0
    effective = 0
    for n in range(CHAR_ORDER):
        hyp_count, ref_count, match = stats[3 * n : 3 * n + 3]
        if hyp_count > 0 and ref_count > 0:
            precision += match / hyp_count
            recall += match / ref_count
            effective += 1
    if effective == 0:
        return 0.0
    precision, recall = precision / effective, recall / effective
    if precision + recall < eps:
        return 0.0
    return 100.0 * (1 + factor) * precision * recall / (factor * precision + recall)


def sentence_chrf(hypothesis: str, reference: str) -> float:
    return chrf_from_statistics(chrf_statistics(hypothesis, reference))


def corpus_chrf(hypotheses: list[str], references: list[str]) -> float:
    totals = [0] * (3 * CHAR_ORDER)
    for hypothesis, reference in zip(hypotheses, references, strict=True):
        totals = [a + b for a, b in zip(totals, chrf_statistics(hypothesis, reference))]
    return chrf_from_statistics(totals)

"""Word error rate as Whisper's papers and faster-whisper's benchmarks compute it: both sides
through openai-whisper's ``EnglishTextNormalizer`` (case, punctuation, spelled numbers, British
spellings), then word-level edit distance summed over the corpus and divided by the reference
words. Used by the ASR tests and benchmarks on real weights."""

from __future__ import annotations

from functools import cache
from typing import Sequence


@cache
def _normalizer():
    from whisper.normalizers import EnglishTextNormalizer

    return EnglishTextNormalizer()


def edits(reference: Sequence[str], hypothesis: Sequence[str]) -> int:
    """Levenshtein distance between two word sequences."""
    row = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, 1):
        diagonal, row[0] = row[0], i
        for j, hyp in enumerate(hypothesis, 1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (ref != hyp))
    return row[-1]


def wer(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Corpus WER: total edits over total reference words, after normalization."""
    normalize = _normalizer()
    errors = words = 0
    for reference, hypothesis in zip(references, hypotheses, strict=True):
        ref, hyp = normalize(reference).split(), normalize(hypothesis or "").split()
        errors += edits(ref, hyp)
        words += len(ref)
    return errors / max(words, 1)

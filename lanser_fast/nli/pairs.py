"""Premise/hypothesis pairs assembled from token ids, without re-tokenizing, and batches cut by a
token budget.

A taxonomy of L labels turns N transcripts into N x L pairs. The Hugging Face pipeline tokenizes
every pair; here each distinct transcript and each hypothesis is tokenized once and the pair ids
are concatenated with the model's special tokens, learned once from the tokenizer itself (its
post-processor: ``<s> A </s></s> B </s>`` for RoBERTa/BART, ``[CLS] A [SEP] B [SEP]`` for
BERT/DeBERTa, with their token type ids). The result equals
``tokenizer(premise, hypothesis, truncation="only_first")`` token for token (tested), including
the truncation of transcripts longer than the model's maximum length: the premise loses tokens
from its end until the pair fits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

PROBE = ("premise", "hypothesis")


@dataclass(frozen=True)
class PairTemplate:
    """Where the special tokens of a pair go, and the token type of every part."""

    prefix: tuple[int, ...]  # special ids before the premise
    middle: tuple[int, ...]  # between premise and hypothesis
    suffix: tuple[int, ...]  # after the hypothesis
    types: tuple[tuple[int, ...], int, tuple[int, ...], int, tuple[int, ...]] | None
    # token type ids of (prefix, each premise token, middle, each hypothesis token, suffix);
    # None when the model takes no token_type_ids
    max_length: int  # the tokenizer's model_max_length (what truncation="only_first" uses)

    @property
    def n_special(self) -> int:
        return len(self.prefix) + len(self.middle) + len(self.suffix)


def pair_template(tokenizer) -> PairTemplate:
    """Learn the pair layout from ``tokenizer(premise, hypothesis)`` on a probe pair."""
    encoded = tokenizer(*PROBE)
    ids = list(encoded["input_ids"])
    sequence = encoded.sequence_ids()
    a = [i for i, s in enumerate(sequence) if s == 0]
    b = [i for i, s in enumerate(sequence) if s == 1]
    if not a or not b or a != list(range(a[0], a[-1] + 1)) or b != list(range(b[0], b[-1] + 1)):
        raise ValueError(f"{type(tokenizer).__name__}: cannot find the premise and hypothesis "
                         "in a tokenized pair")
    types = None
    if "token_type_ids" in encoded:
        tt = list(encoded["token_type_ids"])
        types = (tuple(tt[: a[0]]), tt[a[0]], tuple(tt[a[-1] + 1: b[0]]), tt[b[0]],
                 tuple(tt[b[-1] + 1:]))
    return PairTemplate(prefix=tuple(ids[: a[0]]), middle=tuple(ids[a[-1] + 1: b[0]]),
                        suffix=tuple(ids[b[-1] + 1:]), types=types,
                        max_length=int(tokenizer.model_max_length))


def encode_texts(tokenizer, texts: Sequence[str]) -> list[list[int]]:
    """Token ids of each text without special tokens (one batched tokenizer call)."""
    if not texts:
        return []
    encoded = tokenizer(list(texts), add_special_tokens=False, verbose=False)  # no length warning
    return [list(ids) for ids in encoded["input_ids"]]


def assemble(template: PairTemplate, premise: Sequence[int],
             hypothesis: Sequence[int]) -> tuple[list[int], list[int] | None]:
    """(input_ids, token_type_ids or None) of one pair, premise truncated to fit."""
    room = template.max_length - template.n_special - len(hypothesis)
    if len(premise) > room:
        premise = premise[: max(room, 0)]
    ids = [*template.prefix, *premise, *template.middle, *hypothesis, *template.suffix]
    if template.types is None:
        return ids, None
    t_prefix, t_a, t_middle, t_b, t_suffix = template.types
    types = [*t_prefix, *([t_a] * len(premise)), *t_middle, *([t_b] * len(hypothesis)),
             *t_suffix]
    return ids, types


def budget_batches(order: Sequence[int], lengths: Sequence[int], token_budget: int,
                   max_batch: int) -> list[list[int]]:
    """``order`` (indices, longest first) cut into batches whose padded size (rows x the
    longest row) stays within ``token_budget`` tokens, at most ``max_batch`` rows each;
    ``lengths[k]`` is the length of row ``order[k]``."""
    batches, current, width = [], [], 0
    for index, length in zip(order, lengths):
        width = max(width, length)
        if current and ((len(current) + 1) * width > token_budget or len(current) >= max_batch):
            batches.append(current)
            current, width = [], length
        current.append(index)
    if current:
        batches.append(current)
    return batches


def fixed_batches(order: Sequence[int], lengths: Sequence[int], rows: int,
                  step: int) -> list[tuple[list[int], int]]:
    """``(batch, width)`` for an engine whose rows depend on the shape of their call (the torch
    engines): ``order`` (longest first) cut into batches of at most ``rows`` rows of one width
    class, each padded to its class's width (``lengths`` rounded up to a multiple of ``step``),
    so every row always runs at the same width whatever its partners."""
    batches: list[tuple[list[int], int]] = []
    for index, length in zip(order, lengths):
        width = -(-max(length, 1) // step) * step
        if not batches or batches[-1][1] != width or len(batches[-1][0]) >= rows:
            batches.append(([], width))
        batches[-1][0].append(index)
    return batches


def engine_batches(engine, order: Sequence[int], lengths: Sequence[int], token_budget: int,
                   max_batch: int) -> list[tuple[list[int], int]]:
    """``(batch, padded width)`` for ``engine``: by token budget (the longest row's width), or
    fixed shapes for an engine with ``fixed_rows`` (``fixed_batches``)."""
    rows = getattr(engine, "fixed_rows", None)
    if rows:
        return fixed_batches(order, lengths, rows, engine.width_step)
    length_of = dict(zip(order, lengths))
    return [(batch, max(length_of[i] for i in batch))
            for batch in budget_batches(order, lengths, token_budget, max_batch)]

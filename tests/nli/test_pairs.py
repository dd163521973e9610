"""Pair assembly from pre-tokenized premises and hypotheses equals the tokenizer's own pairs."""

from __future__ import annotations

import pytest

from lanser_fast.nli.pairs import assemble, encode_texts, pair_template
from lanser_fast.taxonomy import DEFAULT_TEMPLATE, load_taxonomy

TRANSCRIPTS = [
    "a",
    "I can't believe you did that!",
    "  well,   maybe tomorrow  ",
    "Ünïcödé — naïve café, 東京, emoji 🙂 and tabs\tinside",
    "word " * 1100,  # longer than the model's 512 / 1024 tokens: truncated
    "ok " * 520,
]


@pytest.mark.parametrize("repo_id", ["FacebookAI/roberta-large-mnli", "facebook/bart-large-mnli",
                                     "MoritzLaurer/DeBERTa-v3-large-mnli-fever-anli-ling-wanli"])
def test_assembled_pairs_equal_the_tokenizer(hub_models, repo_id):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(repo_id)
    template = pair_template(tokenizer)
    hypotheses = load_taxonomy("iemocap4").hypotheses(DEFAULT_TEMPLATE)
    premises = encode_texts(tokenizer, TRANSCRIPTS)
    encoded_hypotheses = encode_texts(tokenizer, hypotheses)
    truncated = 0
    for text, premise in zip(TRANSCRIPTS, premises):
        for hypothesis, encoded in zip(hypotheses, encoded_hypotheses):
            ids, types = assemble(template, premise, encoded)
            reference = tokenizer(text, hypothesis, truncation="only_first")
            assert ids == list(reference["input_ids"]), (repo_id, text[:30], hypothesis)
            if "token_type_ids" in reference:
                assert types == list(reference["token_type_ids"])
            truncated += len(ids) == template.max_length
    assert truncated >= len(hypotheses)  # the long transcripts really were truncated


def test_fixed_batches_keep_each_row_at_its_own_width():
    from lanser_fast.nli.pairs import fixed_batches

    order, lengths = [5, 2, 0, 1, 4, 3], [40, 33, 32, 17, 3, 1]
    batches = fixed_batches(order, lengths, rows=2, step=16)
    assert batches == [([5, 2], 48), ([0, 1], 32), ([4, 3], 16)]
    assert fixed_batches(order, lengths, rows=1, step=16)[:2] == [([5], 48), ([2], 48)]
    # a row's width is its length class's, whoever shares its batch
    alone = fixed_batches([1], [17], rows=2, step=16)
    assert alone == [([1], 32)]

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

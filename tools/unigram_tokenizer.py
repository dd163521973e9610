"""A DeBERTa-v3-style SentencePiece (Unigram) tokenizer trained offline.

DeBERTa-v3's ``spm.model`` cannot be downloaded here. This trains a Unigram vocabulary with the
``tokenizers`` library on text rebuilt from GPT-2's BPE vocabulary (openai-whisper's
``gpt2.tiktoken``: real English word pieces in frequency order) and wraps it in transformers'
``DebertaV2Tokenizer``: the same class, normalizer, Metaspace pre-tokenizer and
``[CLS] A [SEP] B [SEP]`` template (token types 0/1) as the hub's DeBERTa-v3 tokenizers, with
[PAD]=0, [CLS]=1, [SEP]=2, [UNK]=3 as in DeBERTa-v3 and [MASK] last. Token counts are realistic;
ids differ from the hub's.
"""

from __future__ import annotations

import json

from tools.bpe_tokenizers import load_ranks

UNIGRAM_PIECES = 16_000  # trained pieces (DeBERTa-v3 has 128,000)
SPECIALS = ("[PAD]", "[CLS]", "[SEP]", "[UNK]")
WORDS_PER_LINE = 64


def _training_lines() -> list[str]:
    words = []
    for token, _ in sorted(load_ranks("gpt2").items(), key=lambda kv: kv[1]):
        try:
            text = token.decode("utf-8").strip()
        except UnicodeDecodeError:  # a partial UTF-8 sequence
            continue
        if text:
            words.append(text)
    return [" ".join(words[i: i + WORDS_PER_LINE]) for i in range(0, len(words), WORDS_PER_LINE)]


def deberta_v3_tokenizer():
    """``DebertaV2Tokenizer`` over a freshly trained Unigram vocabulary (deterministic)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import DebertaV2Tokenizer

    model = Tokenizer(models.Unigram())
    model.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁")
    trainer = trainers.UnigramTrainer(vocab_size=UNIGRAM_PIECES, unk_token="[UNK]",
                                      special_tokens=list(SPECIALS), show_progress=False)
    model.train_from_iterator(_training_lines(), trainer)
    pieces = json.loads(model.to_str())["model"]["vocab"]  # [[piece, log-probability], ...]
    vocab = [(s, 0.0) for s in SPECIALS]
    vocab += [(piece, float(score)) for piece, score in pieces if piece not in SPECIALS]
    vocab.append(("[MASK]", 0.0))
    return DebertaV2Tokenizer(vocab=vocab, unk_id=SPECIALS.index("[UNK]"), model_max_length=512)

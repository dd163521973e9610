"""Real byte-level BPE tokenizers rebuilt offline from openai-whisper's tiktoken assets.

openai-whisper's package ships ``gpt2.tiktoken`` (GPT-2's BPE: the merges RoBERTa and BART use)
and ``multilingual.tiktoken`` (Whisper's multilingual vocabulary). A tiktoken file stores only
``token bytes -> rank``; the merge list a Hugging Face tokenizer needs is recovered by running
BPE on each token's bytes with the merges of lower rank: what is left is exactly two parts, and
their merge has that token's rank.

- :func:`gpt2_tokenizer`: GPT-2 ids, equal to tiktoken's encoding of the same file.
- :func:`roberta_tokenizer`: the same merges with RoBERTa/BART specials (``<s>`` 0, ``<pad>`` 1,
  ``</s>`` 2, ``<unk>`` 3, ``<mask>`` 50264, vocabulary 50265). Token *counts* and segmentation are
  RoBERTa's; ids of ordinary tokens differ from the hub file (its order comes from fairseq's
  dictionary, which is not shipped anywhere offline).
- :func:`whisper_tokenizer`: Whisper's multilingual tokenizer with every special token at the id
  openai-whisper gives it (99 languages, or 100 for large-v3).
"""

from __future__ import annotations

import base64
import functools
import json
import os
from pathlib import Path
from typing import Sequence

ROBERTA_SPECIALS = ("<s>", "<pad>", "</s>", "<unk>")
ROBERTA_VOCAB_SIZE = 50265  # roberta-large-mnli and bart-large-mnli
ROBERTA_MASK_ID = 50264


def assets_dir() -> Path:
    """openai-whisper's asset folder (installed with the ``dev`` extra)."""
    import whisper

    return Path(os.path.dirname(whisper.__file__)) / "assets"


def load_ranks(name: str) -> dict[bytes, int]:
    """``gpt2`` or ``multilingual``: token bytes -> rank, read from the tiktoken file."""
    ranks = {}
    with open(assets_dir() / f"{name}.tiktoken", "rb") as fh:
        for line in fh:
            if line.strip():
                token, rank = line.split()
                ranks[base64.b64decode(token)] = int(rank)
    return ranks


@functools.lru_cache(maxsize=1)
def byte_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character map used by byte-level BPE vocabularies:
    printable Latin-1 bytes stand for themselves, the others get code points from 256 upward."""
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1),
            *range(ord("®"), ord("ÿ") + 1)]
    mapping, extra = {}, 0
    for byte in range(256):
        if byte in keep:
            mapping[byte] = chr(byte)
        else:
            mapping[byte] = chr(256 + extra)
            extra += 1
    return mapping


def recover_merges(ranks: dict[bytes, int]) -> list[tuple[bytes, bytes]]:
    """The BPE merge list (in rank order) that reproduces ``ranks``."""
    merges = []
    for token, rank in sorted(ranks.items(), key=lambda kv: kv[1]):
        if len(token) < 2:
            continue
        parts = _bpe(ranks, token, max_rank=rank)
        if len(parts) != 2:
            raise ValueError(f"token {token!r} (rank {rank}) is not a merge of two lower tokens")
        merges.append((parts[0], parts[1]))
    return merges


def _bpe(ranks: dict[bytes, int], token: bytes, max_rank: int) -> list[bytes]:
    parts = [token[i:i + 1] for i in range(len(token))]
    while len(parts) > 1:
        best, best_rank = -1, max_rank
        for i in range(len(parts) - 1):
            rank = ranks.get(parts[i] + parts[i + 1])
            if rank is not None and rank < best_rank:
                best, best_rank = i, rank
        if best < 0:
            break
        parts[best:best + 2] = [parts[best] + parts[best + 1]]
    return parts


def _to_text(token: bytes) -> str:
    table = byte_to_unicode()
    return "".join(table[b] for b in token)


@functools.lru_cache(maxsize=2)
def _vocab_and_merges(name: str) -> tuple[dict[str, int], list[tuple[str, str]]]:
    ranks = load_ranks(name)
    vocab = {_to_text(tok): rank for tok, rank in ranks.items()}
    merges = [(_to_text(a), _to_text(b)) for a, b in recover_merges(ranks)]
    return vocab, merges


def gpt2_tokenizer():
    """GPT-2's tokenizer (ids as tiktoken's ``gpt2`` encoding, ``<|endoftext|>`` = 50256)."""
    from tokenizers import AddedToken
    from transformers import GPT2Tokenizer

    vocab, merges = _vocab_and_merges("gpt2")
    tok = GPT2Tokenizer(vocab=dict(vocab), merges=list(merges), unk_token="<|endoftext|>",
                        bos_token="<|endoftext|>", eos_token="<|endoftext|>")
    tok.add_tokens([AddedToken("<|endoftext|>", special=True)], special_tokens=True)
    return tok


def roberta_tokenizer(cls_name: str = "RobertaTokenizer", texts: Sequence[str] | None = None):
    """RoBERTa/BART tokenizer: GPT-2 merges, RoBERTa's specials and vocabulary size.

    ``cls_name`` picks the transformers class (``RobertaTokenizer`` or ``BartTokenizer``); both
    build ``<s> premise </s></s> hypothesis </s>`` pairs. ``texts``: a byte-level BPE trained on
    them instead of GPT-2's merges, for machines without openai-whisper's assets (its token
    counts are not RoBERTa's).
    """
    import transformers

    if texts is None:
        gpt2_vocab, merges = _vocab_and_merges("gpt2")
        vocab = {name: i for i, name in enumerate(ROBERTA_SPECIALS)}
        for text, rank in sorted(gpt2_vocab.items(), key=lambda kv: kv[1]):
            vocab[text] = rank + len(ROBERTA_SPECIALS)
    else:
        vocab, merges = _trained_vocab_and_merges(tuple(texts))
    first = len(vocab)
    for i in range(first, ROBERTA_MASK_ID):
        vocab[f"madeupword{i - first:04d}"] = i
    vocab["<mask>"] = ROBERTA_MASK_ID
    cls = getattr(transformers, cls_name)
    # the hub tokenizers' limits: roberta-large-mnli 512, bart-large-mnli 1024 positions
    limit = 1024 if cls_name == "BartTokenizer" else 512
    return cls(vocab=vocab, merges=list(merges), model_max_length=limit)


def _trained_vocab_and_merges(texts: tuple[str, ...]) -> tuple[dict[str, int],
                                                                 list[tuple[str, str]]]:
    """A byte-level BPE trained on ``texts``: RoBERTa's specials first, then the 256 byte
    symbols (GPT-2's byte map), then the merges."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.train_from_iterator(texts, trainers.BpeTrainer(
        vocab_size=ROBERTA_MASK_ID, min_frequency=2, special_tokens=list(ROBERTA_SPECIALS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    model = json.loads(bpe.to_str())["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    return dict(model["vocab"]), merges


def whisper_tokenizer(num_languages: int = 99):
    """Whisper's multilingual tokenizer; special-token ids equal openai-whisper's."""
    from tokenizers import AddedToken
    from transformers import WhisperTokenizer
    from whisper.tokenizer import get_encoding

    vocab, merges = _vocab_and_merges("multilingual")
    encoding = get_encoding("multilingual", num_languages=num_languages)
    specials = sorted(encoding._special_tokens.items(), key=lambda kv: kv[1])
    tok = WhisperTokenizer(vocab=dict(vocab), merges=list(merges), model_max_length=1024)
    # Added in id order, in runs: one add_tokens call per run (each call rebuilds the trie).
    # Timestamps are ordinary added tokens in the hub tokenizers; the rest are special.
    runs: list[tuple[bool, list]] = []
    present = tok.get_vocab()
    for text, _ in specials:
        if text in present:
            continue
        is_special = not text[2:3].isdigit()
        if not runs or runs[-1][0] != is_special:
            runs.append((is_special, []))
        runs[-1][1].append(AddedToken(text, special=is_special, normalized=False))
    for is_special, tokens in runs:
        tok.add_tokens(tokens, special_tokens=is_special)
    for text, token_id in specials:
        got = tok.convert_tokens_to_ids(text)
        if got != token_id:
            raise AssertionError(f"{text}: id {got}, openai-whisper has {token_id}")
    return tok

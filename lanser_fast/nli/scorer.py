"""``EntailmentScorer``: transcripts -> weak labels, doing the pipeline's work once.

The Hugging Face pipeline tokenizes and runs every (transcript, label) pair in arrival order.
Here, for a batch of transcripts:

1. transcripts are whitespace-normalized and deduplicated (and remembered across calls, so a
   corpus with repeated transcripts scores each distinct one once);
2. each distinct transcript and each hypothesis is tokenized once; pairs are assembled from ids
   (``pairs.assemble``, equal to the tokenizer's own pairs);
3. pairs are sorted by length and cut into batches by a token budget (batch size x padded
   length), so padding is small and the engine sees large, even batches (the torch engine:
   batches of its fixed row count, as its rows depend on the row count of their call);
4. the engine returns logits; the scores follow the pipeline's definition (``semantics``).

An empty transcript still yields its result: no label with the reason, or the label chosen by
``empty`` (e.g. "neutral").
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np

from lanser_fast.nli.engines import make_engine, resolve_engine
from lanser_fast.nli.models import DEFAULT_MODEL, load_tokenizer, resolve_model
from lanser_fast.nli.pairs import (
    assemble,
    encode_texts,
    engine_batches,
    pair_template,
)
from lanser_fast.nli.semantics import label_scores
from lanser_fast.taxonomy import DEFAULT_TAXONOMY, DEFAULT_TEMPLATE, Taxonomy, load_taxonomy

EMPTY_REASON = "empty transcript"
LABELERS = ("entailment", "similarity")
# Softmax temperature of the similarity labeler. Cosines of a sentence embedding model to the
# label hypotheses lie close together (all-MiniLM-L6-v2: about 0.0-0.6, neighbours 0.02-0.2
# apart); 0.05, the temperature sentence-embedding models are commonly trained with (SimCSE),
# turns such gaps into clear preferences without making every score 0 or 1. The label is the
# argmax whatever the temperature; only weak_score and --min-score filtering depend on it.
SIMILARITY_TEMPERATURE = 0.05


@dataclass(frozen=True)
class ScoreConfig:
    model: str = DEFAULT_MODEL  # hub id or local folder of an NLI sequence classifier
    taxonomy: str = DEFAULT_TAXONOMY  # built-in name or taxonomy file
    template: str = DEFAULT_TEMPLATE  # hypothesis template, "{}" is the label's prompt word
    multi_label: bool = False  # independent per-label entailment-vs-contradiction scores
    engine: str = "auto"  # auto: torch on CUDA, onnxruntime on CPU (see nli.engines)
    precision: str = "auto"  # auto: the engine's default (fp32, exact; TensorRT: fp16)
    top_k: int = 3  # labels kept in the top-k column
    empty: str | None = None  # label given to empty transcripts (None: no label)
    token_budget: int | None = None  # padded tokens per engine batch (None: the engine's own)
    max_batch: int = 512  # pairs per engine batch at most (and at most the engine's limit)
    cache_size: int = 1_000_000  # distinct transcripts remembered across calls (0: none)
    threads: int = 0  # CPU threads of the engine (0: every core)
    labeler: str = "entailment"  # LABELERS: entailment (LanSER's) or similarity (bi-encoder)
    temperature: float = SIMILARITY_TEMPERATURE  # similarity: softmax(cosine / temperature)

    def __post_init__(self) -> None:
        if self.labeler not in LABELERS:
            raise ValueError(f"unknown labeler {self.labeler!r}; choose "
                             f"{' or '.join(LABELERS)}")
        if self.labeler == "similarity" and self.multi_label:
            raise ValueError("--multi-label scores each label against its contradiction: an "
                             "entailment notion; the similarity labeler has one distribution "
                             "over the taxonomy")
        if not self.temperature > 0:
            raise ValueError(f"temperature must be positive, got {self.temperature}")


@dataclass(frozen=True)
class TranscriptScore:
    label: str | None  # weak label (None: see reason)
    score: float | None  # its score
    scores: tuple[float, ...] | None  # every label's score, taxonomy order
    top_k: tuple[tuple[str, float], ...]  # best labels first
    reason: str | None = None  # why there is no scored label


@dataclass
class ScoreStats:
    transcripts: int = 0
    distinct: int = 0  # distinct non-empty transcripts scored by the engine
    cached: int = 0  # transcripts answered from the cache or by a duplicate in the batch
    pairs: int = 0  # pairs run through the engine
    tokens: int = 0  # padded tokens run through the engine
    batches: int = 0
    engine_s: float = 0.0


def normalize(text: str | None) -> str:
    return " ".join((text or "").split())


class CachedScorer:
    """What both labelers share: texts whitespace-normalized and deduplicated, each distinct
    text scored once (and remembered across calls, least recently used out first), empty texts
    answered without the model, results with the top-k. Subclasses set ``config``, ``taxonomy``,
    ``engine`` and ``stats`` and implement ``_score_distinct(texts) -> (N, L) scores``."""

    config: ScoreConfig
    taxonomy: Taxonomy

    def _start(self, config: ScoreConfig, taxonomy: Taxonomy | None) -> None:
        self.config = config
        self.taxonomy = taxonomy or load_taxonomy(config.taxonomy)
        if config.empty is not None and config.empty not in self.taxonomy.labels:
            raise ValueError(f"empty={config.empty!r} is not a label of {self.taxonomy.name}")
        self.stats = ScoreStats()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()

    def score(self, texts: Sequence[str | None]) -> list[TranscriptScore]:
        """One result per text, in order."""
        keys = [normalize(t) for t in texts]
        todo = list(dict.fromkeys(k for k in keys if k and k not in self._cache))
        self.stats.transcripts += len(keys)
        self.stats.distinct += len(todo)
        self.stats.cached += sum(1 for k in keys if k) - len(todo)
        known = {}
        for key in keys:
            if key and key in self._cache:
                known[key] = self._cache[key]
                self._cache.move_to_end(key)  # least recently used goes first
        if todo:
            started = time.perf_counter()
            for key, row in zip(todo, self._score_distinct(todo)):
                known[key] = row
                self._remember(key, row)
            self.stats.engine_s += time.perf_counter() - started
        return [self._result(known[k] if k else None) for k in keys]

    def forget(self) -> None:
        """Drop the cache of scored transcripts (the next call scores everything again)."""
        self._cache.clear()

    def _remember(self, key: str, row: np.ndarray) -> None:
        self._cache[key] = row
        self._cache.move_to_end(key)
        while len(self._cache) > self.config.cache_size:
            self._cache.popitem(last=False)

    def _score_distinct(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def _result(self, scores: np.ndarray | None) -> TranscriptScore:
        labels = self.taxonomy.labels
        if scores is None:
            if self.config.empty is not None:
                return TranscriptScore(self.config.empty, None, None, (),
                                       f"{EMPTY_REASON}: labeled {self.config.empty}")
            return TranscriptScore(None, None, None, (), EMPTY_REASON)
        best = np.argsort(-scores, kind="stable")[: max(1, self.config.top_k)]
        top = tuple((labels[i], float(scores[i])) for i in best)
        return TranscriptScore(top[0][0], top[0][1], tuple(float(s) for s in scores), top)


class EntailmentScorer(CachedScorer):
    """LanSER's labeler: every (transcript, hypothesis) pair through an NLI cross-encoder."""

    def __init__(self, config: ScoreConfig = ScoreConfig(), *, taxonomy: Taxonomy | None = None,
                 engine=None):
        if engine is None:  # an unusable engine or precision fails before any loading
            resolve_engine(config.engine, config.precision)
        self._start(config, taxonomy)
        self.info = resolve_model(config.model)  # fails before any work on a missing model
        self.tokenizer = load_tokenizer(config.model)
        self.template = pair_template(self.tokenizer)
        self.hypotheses = encode_texts(self.tokenizer, self.taxonomy.hypotheses(config.template))
        self.engine = engine if engine is not None else make_engine(
            config.model, config.engine, config.precision, threads=config.threads)
        self.token_budget = config.token_budget or getattr(self.engine, "token_budget", 1_024)
        self.max_batch = min(config.max_batch, getattr(self.engine, "max_batch", config.max_batch))
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0

    def with_template(self, template: str) -> EntailmentScorer:
        """The same model, engine and taxonomy with another hypothesis template."""
        return EntailmentScorer(replace(self.config, template=template), taxonomy=self.taxonomy,
                                engine=self.engine)

    def _score_distinct(self, texts: list[str]) -> np.ndarray:
        premises = encode_texts(self.tokenizer, texts)
        n_labels = len(self.hypotheses)
        pairs = [(p, h) for p in range(len(texts)) for h in range(n_labels)]
        assembled = [assemble(self.template, premises[p], self.hypotheses[h]) for p, h in pairs]
        order = sorted(range(len(pairs)), key=lambda i: -len(assembled[i][0]))
        logits = np.empty((len(pairs), 2), dtype=np.float32)  # (entailment, contradiction)
        lengths = [len(assembled[i][0]) for i in order]
        for batch, width in engine_batches(self.engine, order, lengths, self.token_budget,
                                           self.max_batch):
            out = self.engine.logits(*self._pad([assembled[i] for i in batch], width))
            logits[batch, 0] = out[:, self.info.entailment]
            logits[batch, 1] = out[:, self.info.contradiction]
        entail = logits[:, 0].reshape(len(texts), n_labels)
        contra = logits[:, 1].reshape(len(texts), n_labels)
        return label_scores(entail, contra, multi_label=self.config.multi_label)

    def _pad(self, rows, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        ids = np.full((len(rows), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        types = None if rows[0][1] is None else np.zeros((len(rows), width), dtype=np.int64)
        for r, (row_ids, row_types) in enumerate(rows):
            ids[r, : len(row_ids)] = row_ids
            mask[r, : len(row_ids)] = 1
            if types is not None:
                types[r, : len(row_types)] = row_types
        self.stats.pairs += len(rows)
        self.stats.tokens += ids.size
        self.stats.batches += 1
        return ids, mask, types

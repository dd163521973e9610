"""The similarity labeler: weak labels from sentence embeddings instead of entailment.

Each distinct transcript is embedded once (``embedding.SentenceEncoder``); each label's
hypothesis (the same template and prompt words the entailment labeler uses) is embedded once per
taxonomy. A transcript's scores are the softmax over the taxonomy of its cosine similarity to
every hypothesis divided by ``temperature``: a distribution, like the entailment labeler's
single-label scores, so ``weak_label``, ``weak_score``, ``scores`` and the top-k mean the same
things. It needs one encoder pass per transcript where entailment needs one cross-encoder pass
per (transcript, label) pair, so it is ~L times cheaper for L labels; it is a different method
(the paper's is entailment), and its labels differ.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from lanser_fast.nli.embedding import SentenceEncoder
from lanser_fast.nli.scorer import CachedScorer, ScoreConfig
from lanser_fast.taxonomy import Taxonomy


class SimilarityScorer(CachedScorer):
    def __init__(self, config: ScoreConfig, *, taxonomy: Taxonomy | None = None,
                 encoder: SentenceEncoder | None = None):
        self._start(config, taxonomy)
        self.encoder = encoder or SentenceEncoder(
            config.model, engine=config.engine, precision=config.precision,
            threads=config.threads, token_budget=config.token_budget,
            max_batch=config.max_batch)
        self.engine = self.encoder.engine
        self.labels = _unit(self.encoder.encode(self.taxonomy.hypotheses(config.template)))

    def with_template(self, template: str) -> "SimilarityScorer":
        """The same model and taxonomy with another hypothesis template."""
        return SimilarityScorer(replace(self.config, template=template), taxonomy=self.taxonomy,
                                encoder=self.encoder)

    def similarities(self, texts: list[str]) -> np.ndarray:
        """(N, L) cosine similarity of each text to each label's hypothesis: the dot products
        summed element by element, not a matrix product, whose kernels (and so a row's last
        bits) depend on how many texts share the call."""
        return (_unit(self.encoder.encode(texts))[:, None, :] * self.labels[None]).sum(axis=-1)

    def _score_distinct(self, texts: list[str]) -> np.ndarray:
        before = self.encoder.tokens, self.encoder.batches
        cosine = self.similarities(texts).astype(np.float64)
        self.stats.pairs += len(texts)  # one encoder pass per text
        self.stats.tokens += self.encoder.tokens - before[0]
        self.stats.batches += self.encoder.batches - before[1]
        logits = cosine / self.config.temperature
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = vectors.astype(np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

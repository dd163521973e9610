"""The two weak labelers behind one choice: ``entailment`` (LanSER's: an NLI cross-encoder per
(transcript, label) pair) and ``similarity`` (a sentence-embedding bi-encoder, one pass per
transcript). Both score texts with ``score(texts) -> [TranscriptScore]`` and fill the same
output columns."""

from __future__ import annotations

from lanser_fast.nli.models import DEFAULT_MODEL
from lanser_fast.nli.scorer import LABELERS, ScoreConfig
from lanser_fast.taxonomy import Taxonomy

DEFAULT_EMBEDDING_MODEL = "sentence-transformers/all-MiniLM-L6-v2"  # the shelf carries it
DEFAULT_MODELS = {"entailment": DEFAULT_MODEL, "similarity": DEFAULT_EMBEDDING_MODEL}


def default_model(labeler: str) -> str:
    """The model a labeler uses when none is named."""
    if labeler not in LABELERS:
        raise ValueError(f"unknown labeler {labeler!r}; choose {' or '.join(LABELERS)}")
    return DEFAULT_MODELS[labeler]


def make_scorer(config: ScoreConfig, *, taxonomy: Taxonomy | None = None):
    """The scorer of ``config.labeler``; a missing model or bad setting fails here."""
    if config.labeler == "similarity":
        from lanser_fast.nli.similarity import SimilarityScorer

        return SimilarityScorer(config, taxonomy=taxonomy)
    from lanser_fast.nli.scorer import EntailmentScorer

    return EntailmentScorer(config, taxonomy=taxonomy)


def check_model(config: ScoreConfig) -> str:
    """Resolve the labeler's model before any work (``ModelNotFound`` / ``EncoderNotFound``
    say why); the folder it resolved to."""
    if config.labeler == "similarity":
        from lanser_fast.nli.embedding import resolve_encoder

        return str(resolve_encoder(config.model).folder)
    from transformers.utils import cached_file

    from lanser_fast.nli.models import resolve_model

    resolve_model(config.model)
    from pathlib import Path

    return str(Path(cached_file(config.model, "config.json")).parent)

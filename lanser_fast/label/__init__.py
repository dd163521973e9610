"""The ``label`` job: transcripts and weak emotion labels of a corpus, resumable, on one worker,
one worker process per device, or a Ray cluster."""

from lanser_fast.label.config import LabelConfig
from lanser_fast.label.output import OutputError
from lanser_fast.label.pipeline import Labeler, score_rows
from lanser_fast.label.prepare import prepare_models
from lanser_fast.label.run import label_corpus
from lanser_fast.label.summary import LabelSummary

__all__ = [
    "LabelConfig",
    "LabelSummary",
    "Labeler",
    "OutputError",
    "label_corpus",
    "prepare_models",
    "score_rows",
]

"""Weak-label scores exactly as the Hugging Face zero-shot-classification pipeline defines them.

- single-label (the default, two or more labels): softmax over the labels of each pair's
  entailment logit;
- multi-label, and a taxonomy of one label (as the pipeline does): for each label, softmax over
  (contradiction, entailment) logits, the entailment probability.

The entailment index is found as the pipeline finds it: the first ``label2id`` entry whose name
starts with "entail" (any case). The pipeline (transformers 5.23) then *assumes* the
contradiction index (0, or the last class when entailment is 0); we look it up the same way
("contradict..."). For the standard MNLI label orders (roberta-large-mnli, bart-large-mnli,
DeBERTa's entailment/neutral/contradiction) both agree; for other orders ours is the real
contradiction logit.
"""

from __future__ import annotations

import numpy as np


class LabelMapError(ValueError):
    """The model's label map has no entailment (or contradiction) class."""


def class_index(label2id: dict[str, int], prefix: str) -> int:
    """The id of the first label whose lower-cased name starts with ``prefix``, or -1."""
    for label, index in label2id.items():
        if label.lower().startswith(prefix):
            return int(index)
    return -1


def nli_indices(label2id: dict[str, int], model: str = "the model") -> tuple[int, int]:
    """(entailment, contradiction) class ids from a model config's ``label2id``."""
    entailment = class_index(label2id, "entail")
    contradiction = class_index(label2id, "contradict")
    if entailment < 0 or contradiction < 0:
        missing = "entailment" if entailment < 0 else "contradiction"
        raise LabelMapError(f"{model}: no {missing} class in its label2id {label2id}; an NLI "
                            "model's labels must include entailment and contradiction")
    return entailment, contradiction


def label_scores(entail: np.ndarray, contra: np.ndarray, *, multi_label: bool) -> np.ndarray:
    """Scores (N, L) from the entailment and contradiction logits (N, L) of N transcripts."""
    entail = entail.astype(np.float64)
    if multi_label or entail.shape[1] == 1:
        contra = contra.astype(np.float64)
        top = np.maximum(entail, contra)
        e, c = np.exp(entail - top), np.exp(contra - top)
        return e / (e + c)
    shifted = np.exp(entail - entail.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)

"""Weak-label scores exactly as the Hugging Face zero-shot-classification pipeline defines them.

- single-label (the default, two or more labels): softmax over the labels of each pair's
  entailment logit;
- multi-label, and a taxonomy of one label (as the pipeline does): for each label, softmax over
  (contradiction, entailment) logits, the entailment probability.

The entailment index is found as the pipeline finds it: the first ``label2id`` entry whose name
starts with "entail" (any case). The pipeline (transformers 5.23) then *assumes* the
contrast index of multi-label scores (0, or the last class when entailment is 0); we take the
model's real contradiction class when it has one ("contradict..."), and the pipeline's index
when it has none: two-class zero-shot models (``entailment`` / ``not_entailment``, the current
generation's training) are contrasted with their other class, exactly as the pipeline does.
For the standard MNLI label orders (roberta-large-mnli, bart-large-mnli, DeBERTa's
entailment/neutral/contradiction) all of these agree; for other three-class orders ours is the
real contradiction logit.
"""

from __future__ import annotations

import numpy as np


class LabelMapError(ValueError):
    """The model's label map has no entailment class."""


def class_index(label2id: dict[str, int], prefix: str) -> int:
    """The id of the first label whose lower-cased name starts with ``prefix``, or -1."""
    for label, index in label2id.items():
        if label.lower().startswith(prefix):
            return int(index)
    return -1


def nli_indices(label2id: dict[str, int], model: str = "the model") -> tuple[int, int]:
    """(entailment, contrast) class ids from a model config's ``label2id``: the contrast is the
    contradiction class, or without one the pipeline's (the last class when entailment is 0,
    else 0)."""
    entailment = class_index(label2id, "entail")
    if entailment < 0 or len(label2id) < 2:
        raise LabelMapError(f"{model}: no entailment class in its label2id {label2id}; a "
                            "zero-shot NLI model's labels must include entailment (and "
                            "contradiction, or one other class)")
    contradiction = class_index(label2id, "contradict")
    if contradiction < 0:
        contradiction = max(int(i) for i in label2id.values()) if entailment == 0 else 0
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

"""Zero-shot: a model's (or the text labeler's) classes mapped onto a downstream dataset's.

Two cases, as in LanSER: the model was pre-trained on the downstream taxonomy itself (classes
matched by name), or on a finer taxonomy whose file maps each label to a downstream class (the
YAML ``maps_to`` of :mod:`lanser_fast.taxonomy`). Probabilities of the fine labels that map to one
downstream class are summed; the prediction is the downstream class with the most mass.
"""

from __future__ import annotations

import numpy as np
import torch

from lanser_fast.taxonomy import Taxonomy


def class_map(source: tuple[str, ...], target: tuple[str, ...],
              taxonomy: Taxonomy | None = None) -> np.ndarray:
    """(len(source), len(target)) 0/1 matrix sending each source class to its target class."""
    matrix = np.zeros((len(source), len(target)), dtype=np.float32)
    if set(source) == set(target):
        for i, name in enumerate(source):
            matrix[i, target.index(name)] = 1.0
        return matrix
    if taxonomy is None or taxonomy.mapping is None or tuple(taxonomy.labels) != tuple(source):
        raise ValueError(
            f"the model's classes ({', '.join(source[:8])}{', ...' if len(source) > 8 else ''}) "
            f"are not the dataset's ({', '.join(target)}) and no taxonomy mapping between them "
            "was given: pre-train on the downstream taxonomy, or pass --taxonomy with a file "
            "whose labels map onto it (maps_to)")
    unknown = sorted(set(taxonomy.mapping) - set(target))
    if unknown:
        raise ValueError(f"taxonomy {taxonomy.name} maps onto {', '.join(unknown)}, which the "
                         f"dataset's classes ({', '.join(target)}) lack")
    for i, coarse in enumerate(taxonomy.mapping):
        matrix[i, target.index(coarse)] = 1.0
    return matrix


def mapped_probabilities(logits: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Softmax over the source classes, summed into the target classes: (n, len(target))."""
    probs = torch.softmax(torch.from_numpy(np.asarray(logits, np.float32)), dim=1).numpy()
    return probs @ matrix

"""SER metrics as the literature reports them, and their CSV/PNG artefacts.

- WA (weighted accuracy): overall accuracy, classes weighted by their frequency;
- UA (unweighted accuracy): the mean of per-class recalls (classes absent from the reference are
  left out of the mean, as scikit-learn's balanced accuracy does);
- the confusion matrix: rows are the reference class, columns the prediction.

A prediction of -1 means "no prediction" (the text labeler abstains on an empty transcript): it
counts in its class's support, so it lowers WA and UA, but appears in no column.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Scores:
    classes: tuple[str, ...]
    confusion: np.ndarray  # (n_classes, n_classes) int64, rows = reference, cols = predicted
    wa: float  # weighted accuracy (overall accuracy)
    ua: float  # unweighted accuracy (mean recall over classes present)
    recall: tuple[float | None, ...]  # per class; None where the class never occurs
    abstained: int = 0  # references without a prediction (counted as errors)

    @property
    def n(self) -> int:
        return int(self.confusion.sum()) + self.abstained

    def as_dict(self) -> dict:
        return {"n": self.n, "wa": self.wa, "ua": self.ua,
                "recall": dict(zip(self.classes, self.recall)),
                "abstained": self.abstained, "confusion": self.confusion.tolist(),
                "classes": list(self.classes)}


def confusion_matrix(reference, predicted, n_classes: int) -> np.ndarray:
    reference, predicted = np.asarray(reference, np.int64), np.asarray(predicted, np.int64)
    if reference.shape != predicted.shape:
        raise ValueError(f"{len(reference)} references but {len(predicted)} predictions")
    keep = predicted >= 0
    flat = np.bincount(reference[keep] * n_classes + predicted[keep],
                       minlength=n_classes * n_classes)
    return flat.reshape(n_classes, n_classes)


def scores_from_confusion(confusion: np.ndarray, classes, abstained=None) -> Scores:
    """Scores of a confusion matrix; ``abstained`` adds per-class references never predicted."""
    confusion = np.asarray(confusion, dtype=np.int64)
    missed = np.zeros(len(confusion), np.int64) if abstained is None else np.asarray(abstained)
    support = confusion.sum(axis=1) + missed
    total = int(support.sum())
    recall = tuple(float(confusion[i, i] / support[i]) if support[i] else None
                   for i in range(len(support)))
    present = [r for r in recall if r is not None]
    return Scores(tuple(classes), confusion,
                  wa=float(np.trace(confusion) / total) if total else float("nan"),
                  ua=float(np.mean(present)) if present else float("nan"), recall=recall,
                  abstained=int(missed.sum()))


def score(reference, predicted, classes) -> Scores:
    """Scores of class indices ``predicted`` (-1: no prediction) against ``reference``."""
    reference, predicted = np.asarray(reference, np.int64), np.asarray(predicted, np.int64)
    missed = np.bincount(reference[predicted < 0], minlength=len(classes))
    return scores_from_confusion(confusion_matrix(reference, predicted, len(classes)), classes,
                                 missed)


def write_confusion_csv(scores: Scores, path: str | os.PathLike) -> Path:
    """The confusion matrix as CSV: a header of predicted classes, one row per reference class."""
    path = Path(path)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["reference \\ predicted", *scores.classes])
        for name, row in zip(scores.classes, scores.confusion.tolist()):
            writer.writerow([name, *row])
    return path


def plot_confusion(scores: Scores, path: str | os.PathLike, title: str = "") -> Path:
    """The confusion matrix as a PNG: counts, shaded by each row's share."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on training machines
    import matplotlib.pyplot as plt

    k = len(scores.classes)
    rows = scores.confusion / np.maximum(scores.confusion.sum(axis=1, keepdims=True), 1)
    size = max(4.0, 0.6 * k + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(rows, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(k), scores.classes, rotation=45, ha="right")
    ax.set_yticks(range(k), scores.classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("reference")
    for i in range(k):
        for j in range(k):
            ax.text(j, i, str(scores.confusion[i, j]), ha="center", va="center",
                    color="white" if rows[i, j] > 0.5 else "black", fontsize=8)
    ax.set_title(title or f"WA {scores.wa:.3f}  UA {scores.ua:.3f}  (n={scores.n})")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)

"""Model outputs over whole utterances, and the scores of a labeled set.

Each utterance is cut into the training crop length (``data.loader.window_starts``); its logits
are the mean over its windows. Evaluation runs in the training precision without autocast
surprises: the logits are returned in float32.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import torch

from lanser_fast.data.examples import LabeledSet
from lanser_fast.data.input_config import InputConfig
from lanser_fast.data.loader import EvalItems, eval_loader
from lanser_fast.metrics import Scores, score, scores_from_confusion
from lanser_fast.models.resnet import SpectrogramResNet
from lanser_fast.train import checkpoint as ckpt
from lanser_fast.train.config import TrainConfig
from lanser_fast.train.runtime import Runtime, resolve_runtime


def inference_model(state: dict, device: torch.device,
                    config: TrainConfig = TrainConfig()) -> tuple[SpectrogramResNet, Runtime]:
    """A checkpoint's model on ``device`` in eval mode, with the settings ``config`` resolves to
    there (precision, memory format)."""
    runtime = resolve_runtime(config, device)
    memory = torch.channels_last if runtime.channels_last else torch.contiguous_format
    return ckpt.model_from(state).to(runtime.device, memory_format=memory).eval(), runtime


@torch.inference_mode()
def utterance_logits(model: torch.nn.Module, items: EvalItems, runtime: Runtime,
                     batch_size: int = 16, workers: int = 0) -> np.ndarray:
    """(n_utterances, n_classes) float32 logits, each the mean over the utterance's windows."""
    was_training = model.training
    model.eval()
    out = np.zeros((len(items), 0), dtype=np.float32)
    rows: list[np.ndarray] = []
    order: list[int] = []
    memory = torch.channels_last if runtime.channels_last else torch.contiguous_format
    for windows, counts, _, indices in eval_loader(items, batch_size, workers):
        windows = windows.to(runtime.device, memory_format=memory, non_blocking=True)
        with torch.autocast(runtime.device.type, dtype=runtime.dtype,
                            enabled=runtime.dtype != torch.float32):
            logits = model(windows).float()
        for chunk in torch.split(logits, counts.tolist()):
            rows.append(chunk.mean(dim=0).cpu().numpy())
        order.extend(indices)
    model.train(was_training)
    if rows:
        out = np.zeros((len(items), rows[0].shape[0]), dtype=np.float32)
        out[np.asarray(order)] = np.stack(rows)
    return out


def evaluate_set(model: torch.nn.Module, data: LabeledSet, input_config: InputConfig,
                 runtime: Runtime, batch_size: int = 16,
                 workers: int = 0) -> tuple[Scores, np.ndarray]:
    """Scores of ``model`` on ``data`` and its logits (rows in ``data.examples`` order)."""
    logits = utterance_logits(model, EvalItems(list(data.examples), input_config), runtime,
                              batch_size, workers)
    reference = [ex.label for ex in data.examples]
    return score(reference, logits.argmax(axis=1), data.classes), logits


def evaluate_shared(model: torch.nn.Module, data: LabeledSet, input_config: InputConfig,
                    runtime: Runtime, group, batch_size: int = 16, workers: int = 0) -> Scores:
    """Scores of ``model`` on ``data`` with the work split among the ranks of ``group`` (a
    ``distributed.Dist``): rank r scores examples r, r + world, ...; the confusion matrices are
    summed on every rank, so all ranks hold the same scores and none waits in a collective
    while another validates alone (NCCL's watchdog ends a job whose collective waits too long).
    """
    if group.world == 1:
        return evaluate_set(model, data, input_config, runtime, batch_size, workers)[0]
    share = data.examples[group.rank::group.world]
    confusion = np.zeros((len(data.classes), len(data.classes)), np.int64)
    if share:
        mine, _ = evaluate_set(model, data.subset(share), input_config, runtime, batch_size,
                               workers)
        confusion = mine.confusion
    total = torch.from_numpy(confusion).to(group.device)
    torch.distributed.all_reduce(total)
    return scores_from_confusion(total.cpu().numpy(), data.classes)


def write_predictions(data: LabeledSet, logits: np.ndarray, path: str | os.PathLike,
                      classes=None) -> Path:
    """One CSV row per utterance: id, path, reference, prediction and every class's probability.

    ``classes`` are the model's classes (default: the set's)."""
    classes = list(classes or data.classes)
    probs = torch.softmax(torch.from_numpy(logits), dim=1).numpy()
    path = Path(path)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "path", "offset_s", "reference", "prediction",
                         *[f"p_{c}" for c in classes]])
        for ex, row in zip(data.examples, probs):
            writer.writerow([ex.id, ex.path, ex.offset_s, data.classes[ex.label],
                             classes[int(row.argmax())], *[f"{p:.6f}" for p in row]])
    return path

"""Fine-tuning runs as the paper reports them: split, label fraction, train, score the test fold.

``finetune_and_test`` is what ``lanser-fast finetune`` and each cell of the label-efficiency
experiment run; the test scores are written next to the checkpoints (``test.json``, confusion
matrix CSV and PNG, per-utterance predictions), so a finished run is never trained twice.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from pathlib import Path

from lanser_fast.data.examples import LabeledSet
from lanser_fast.data.input_config import InputConfig
from lanser_fast.data.splits import Split, label_fraction
from lanser_fast.metrics import Scores, plot_confusion, score, write_confusion_csv
from lanser_fast.models import ModelConfig
from lanser_fast.train import checkpoint as ckpt
from lanser_fast.train.config import TrainConfig
from lanser_fast.train.distributed import pick_device
from lanser_fast.train.evaluate import (
    evaluate_set,
    inference_model,
    utterance_logits,
    write_predictions,
)
from lanser_fast.train.trainer import TrainResult, fit

TEST_JSON = "test.json"


@dataclass(frozen=True)
class RunSetup:
    model: ModelConfig
    input: InputConfig
    train: TrainConfig


def setup_from_init(init: str | os.PathLike | None, n_classes: int, model: ModelConfig,
                    input_config: InputConfig, train: TrainConfig,
                    crop_s: float | None = None) -> RunSetup:
    """With ``init``, the backbone and front end are the checkpoint's (a fine-tuned model must
    see the features it was pre-trained on); ``crop_s`` may still change the crop."""
    if init is None:
        return RunSetup(replace(model, n_classes=n_classes), input_config, train)
    state = ckpt.load(init)
    model = ModelConfig(**{**state["model_config"], "n_classes": n_classes})
    front = ckpt.input_config_from(state)
    if crop_s is not None:
        front = replace(front, crop_s=crop_s)
    return RunSetup(model, front, train)


def write_scores(scores: Scores, out_dir: Path, stem: str, extra: dict | None = None) -> dict:
    """``<stem>.json``, ``<stem>_confusion.csv`` and ``<stem>_confusion.png`` in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    record = {**scores.as_dict(), **(extra or {})}
    (out_dir / f"{stem}.json").write_text(json.dumps(record, indent=2))
    write_confusion_csv(scores, out_dir / f"{stem}_confusion.csv")
    plot_confusion(scores, out_dir / f"{stem}_confusion.png")
    return record


def test_checkpoint(run_dir: Path, test: LabeledSet, setup: RunSetup, stem: str = "test",
                    extra: dict | None = None) -> dict:
    """Score the run's best checkpoint (last without validation) on ``test``."""
    state = ckpt.load(run_dir)
    model, runtime = inference_model(state, pick_device(), setup.train)
    scores, logits = evaluate_set(model, test, ckpt.input_config_from(state), runtime,
                                  setup.train.eval_batch, setup.train.workers)
    write_predictions(test, logits, run_dir / f"{stem}_predictions.csv", state["classes"])
    return write_scores(scores, run_dir, stem, {"checkpoint": state["path"], **(extra or {})})


def finetune_and_test(split: Split, out_dir: str | os.PathLike, setup: RunSetup, *,
                      fraction: float = 1.0, init: str | os.PathLike | None = None,
                      taxonomy: str | None = None, force: bool = False,
                      progress: bool = True) -> tuple[TrainResult | None, dict | None]:
    """Train on ``fraction`` of the split's training labels, then score its test set."""
    out = Path(out_dir)
    done = out / TEST_JSON
    if done.is_file() and not force:
        return None, json.loads(done.read_text())
    train = label_fraction(split.train, fraction, setup.train.seed)
    valid = split.valid if len(split.valid) else None
    result = fit(train, valid, out, model_config=setup.model, input_config=setup.input,
                 config=setup.train, init=init, taxonomy=taxonomy, force=force,
                 progress=progress)
    if not len(split.test) or int(os.environ.get("RANK", "0")) != 0:  # test on rank 0 only
        return result, None
    record = test_checkpoint(out, split.test, setup, extra={
        "fraction": fraction, "train_examples": len(train), "seed": setup.train.seed,
        "init": None if init is None else str(init), "split": split.description})
    return result, record


def checkpoint_logits(state: dict, data: LabeledSet, device, workers: int = 0):
    """(n, n_classes) logits of the checkpoint ``state`` over ``data`` on ``device``."""
    from lanser_fast.data.loader import EvalItems

    model, runtime = inference_model(state, device)
    return utterance_logits(model, EvalItems(list(data.examples), ckpt.input_config_from(state)),
                            runtime, workers=workers)


def evaluate_checkpoint(state: dict, data: LabeledSet, out_dir: Path, *, split: str, device,
                        workers: int = 0) -> Scores:
    """``evaluate``: WA, UA, recall and confusion of a checkpoint whose classes are ``data``'s,
    with ``scores.json``, ``scores_confusion.csv/.png`` and ``scores_predictions.csv``."""
    if list(state["classes"]) != list(data.classes):
        raise ValueError(f"the model's classes ({', '.join(state['classes'][:8])}...) differ "
                         f"from the data's ({', '.join(data.classes)}): use `lanser-fast "
                         "zeroshot` to map them")
    logits = checkpoint_logits(state, data, device, workers)
    scores = score([ex.label for ex in data.examples], logits.argmax(axis=1), data.classes)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_predictions(data, logits, out_dir / "scores_predictions.csv")
    write_scores(scores, out_dir, "scores", {"checkpoint": state["path"], "split": split})
    return scores


def zeroshot_checkpoint(state: dict, data: LabeledSet, out_dir: Path, *, taxonomy,
                        split: str, device, workers: int = 0) -> Scores:
    """``zeroshot``: a pre-trained model's classes mapped onto ``data``'s (by name, or by the
    taxonomy's ``maps_to``), scored without fine-tuning; ``zeroshot.json`` + confusion."""
    from lanser_fast.train.zeroshot import class_map, mapped_probabilities

    matrix = class_map(tuple(state["classes"]), data.classes, taxonomy)
    probs = mapped_probabilities(checkpoint_logits(state, data, device, workers), matrix)
    scores = score([ex.label for ex in data.examples], probs.argmax(axis=1), data.classes)
    write_scores(scores, out_dir, "zeroshot", {"checkpoint": state["path"], "split": split,
                                               "taxonomy": None if taxonomy is None else
                                               taxonomy.name})
    return scores

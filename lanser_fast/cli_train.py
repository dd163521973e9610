"""The training commands of ``lanser-fast``: pretrain, finetune, evaluate, zeroshot, baseline,
experiment, predict. Registered on the main Typer app by :mod:`lanser_fast.cli`.

Each command parses, builds configs, checks its inputs (data, checkpoint, taxonomy) before any
work, calls the library (:mod:`lanser_fast.train`) and prints where the results went.
Multi-GPU / multi-node: launch the same command with ``torchrun``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from lanser_fast.cli import app

baseline_app = typer.Typer(help="The paper's baselines: majority class, text-only weak labeler.",
                           no_args_is_help=True)
experiment_app = typer.Typer(help="The paper's experiments, one command each.",
                             no_args_is_help=True)
app.add_typer(baseline_app, name="baseline")
app.add_typer(experiment_app, name="experiment")

DATA_HELP = ("Dataset: iemocap:PATH (released layout), crema-d:PATH (AudioWAV/), a .csv/.tsv/"
             ".jsonl table of path,label[,split,speaker], or a `lanser-fast label` output (weak "
             "labels).")
# Options shared by the training commands (Typer option objects can be reused).
ARCH = typer.Option("resnet50", "--arch", help="resnet50 (the paper's), resnet34 or resnet18.")
WIDTH = typer.Option(64, "--width", min=4, help="Channels of the first stage (64: standard).")
EPOCHS = typer.Option(30, "--epochs", min=1, help="Passes over the training set.")
BATCH = typer.Option(32, "--batch-size", min=1, help="Items per micro-batch and process.")
ACCUM = typer.Option(1, "--accumulate", min=1, help="Micro-batches per optimizer step.")
LR = typer.Option(1e-3, "--lr", help="AdamW peak learning rate (warm-up, then cosine decay).")
WD = typer.Option(0.01, "--weight-decay", help="AdamW weight decay.")
WARMUP = typer.Option(0.05, "--warmup", help="Warm-up as a fraction of all steps.")
PRECISION = typer.Option("auto", "--precision", help="auto (bf16 on GPUs and bf16-capable "
                                                     "CPUs, else fp32), fp32, bf16, fp16 (GPU).")
COMPILE = typer.Option("auto", "--compile", help="torch.compile: auto (on for CUDA), on, off.")
CHANNELS_LAST = typer.Option("auto", "--channels-last", help="Channels-last (NHWC) memory "
                                                             "format: auto (on), on or off.")
BALANCE = typer.Option("none", "--balance", help="Class imbalance: none, sampler (draw classes "
                                                 "evenly) or loss (inverse-frequency weights).")
LOADER = typer.Option("auto", "--loader", help="auto (DALI + Triton log-mel on CUDA, else "
                                              "the torch DataLoader), torch or dali.")
SEED = typer.Option(0, "--seed", help="Seed of initialisation, order, crops and masks.")
WORKERS = typer.Option(2, "--workers", min=0, help="Data-loader processes per training process.")
CKPT_EVERY = typer.Option(0, "--checkpoint-every", min=0, help="Optimizer steps between "
                                                               "checkpoints (0: each epoch).")
MAX_STEPS = typer.Option(0, "--max-steps", min=0, help="Stop after this many optimizer steps "
                                                       "(0: all epochs).")
CROP = typer.Option(3.0, "--crop-s", help="Training crop length in seconds (short clips are "
                                          "zero-padded).")
SPEC_AUG = typer.Option(False, "--spec-augment", help="SpecAugment time/frequency masking.")
DEVICE = typer.Option("auto", "--device", help="auto (CUDA when available), cuda or cpu.")
FORCE = typer.Option(False, "--force", help="Start over in an --out folder holding another run.")
FOLD = typer.Option(None, "--fold", min=1, help="Test fold (1-based): IEMOCAP session k "
                                                "(leave-one-session-out), else a speaker fold.")
N_FOLDS = typer.Option(5, "--n-folds", min=2, help="Folds of speakers (IEMOCAP: 5 sessions).")
TAXONOMY = typer.Option(None, "--taxonomy", help="Weak labels: their taxonomy (default: the one "
                                                 "the labeling run used).")
MIN_SCORE = typer.Option(0.0, "--min-score", help="Weak labels: drop labels scored below this.")
IEMOCAP_KIND = typer.Option("all", "--iemocap-kind", help="IEMOCAP dialogs: all, improvised or "
                                                          "scripted.")


def _fail(message: str, hint: str | None = None):
    raise typer.BadParameter(message, param_hint=hint)


def _dataset(spec: str, taxonomy=None, min_score=0.0, iemocap_kind="all"):
    from lanser_fast.data import DataOptions, open_dataset

    try:
        data = open_dataset(spec, DataOptions(taxonomy=taxonomy, min_score=min_score,
                                              iemocap_kind=iemocap_kind))
    except (ValueError, FileNotFoundError) as exc:
        _fail(str(exc), "DATA")
    if data.problems:
        typer.echo(f"{data.name}: {len(data.problems)} line(s)/file(s) skipped, e.g.:")
        for problem in data.problems[:5]:
            typer.echo(f"  {problem.where}: {problem.reason}")
    if not len(data):
        _fail(f"{spec}: no labeled utterances found", "DATA")
    return data


def _train_config(**options):
    from lanser_fast.train.config import TrainConfig

    try:
        return TrainConfig(**options)
    except ValueError as exc:
        _fail(str(exc))


def _configs(arch, width, n_classes, crop_s, spec_augment):
    from lanser_fast.data import InputConfig
    from lanser_fast.models import ModelConfig

    try:
        return (ModelConfig(arch, n_classes, 64, width),
                InputConfig(crop_s=crop_s, spec_augment=spec_augment))
    except ValueError as exc:
        _fail(str(exc))


def _check_checkpoint(path):
    from lanser_fast.train import checkpoint as ckpt

    try:
        return ckpt.load(path)
    except (FileNotFoundError, ValueError) as exc:
        _fail(str(exc), "CHECKPOINT / --init")


def _report(result, out: Path) -> None:
    best = (f"; best valid UA {result.best['ua']:.3f} (WA {result.best['wa']:.3f}) at step "
            f"{result.best['step']}" if result.best else "")
    typer.echo(f"{result.steps} steps in {out} ({result.runtime}): "
               f"{result.samples_per_s:.1f} samples/s, {result.audio_h_per_device_h:.1f} "
               f"audio-h/device-h{best}")


@app.command()
def pretrain(
    data: str = typer.Argument(..., help=DATA_HELP),
    out: Path = typer.Option(..., "--out", "-o", help="Run folder: last.pt, best.pt, "
                                                      "metrics.csv, tb/ (TensorBoard), run.json."),
    taxonomy: Optional[str] = TAXONOMY, min_score: float = MIN_SCORE,
    valid_fraction: float = typer.Option(0.05, "--valid-fraction", help="Share of files held "
                                                                        "out for validation."),
    arch: str = ARCH, width: int = WIDTH, crop_s: float = CROP, spec_augment: bool = SPEC_AUG,
    epochs: int = EPOCHS, batch_size: int = BATCH, accumulate: int = ACCUM, lr: float = LR,
    weight_decay: float = WD, warmup: float = WARMUP, precision: str = PRECISION,
    compile: str = COMPILE, channels_last: str = CHANNELS_LAST, balance: str = BALANCE,
    loader: str = LOADER, seed: int = SEED, workers: int = WORKERS,
    checkpoint_every: int = CKPT_EVERY,
    max_steps: int = MAX_STEPS, device: str = DEVICE, force: bool = FORCE,
) -> None:
    """Pre-train the SER model on weak labels (or any labeled set); resumes an --out folder."""
    from lanser_fast.data import make_split
    from lanser_fast.train.trainer import ResumeMismatch, fit

    config = _train_config(epochs=epochs, batch_size=batch_size, accumulate=accumulate, lr=lr,
                           weight_decay=weight_decay, warmup=warmup, precision=precision,
                           compile=compile, channels_last=channels_last, balance=balance,
                           loader=loader, seed=seed, workers=workers,
                           checkpoint_every=checkpoint_every,
                           max_steps=max_steps)
    dataset = _dataset(data, taxonomy, min_score)
    model, front = _configs(arch, width, len(dataset.classes), crop_s, spec_augment)
    try:
        split = make_split(dataset, seed=seed, valid_fraction=valid_fraction)
    except ValueError as exc:
        _fail(str(exc))
    typer.echo(f"{dataset.name}: {len(split.train)} train / {len(split.valid)} valid "
               f"utterances, {len(dataset.classes)} classes")
    tax = dataset.name.split(":", 1)[1] if dataset.name.startswith("weak:") else None
    if taxonomy is not None:
        tax = taxonomy
    try:
        result = fit(split.train, split.valid, out, model_config=model, input_config=front,
                     config=config, taxonomy=tax, device=device, force=force)
    except (ResumeMismatch, ValueError, RuntimeError) as exc:
        _fail(str(exc))
    _report(result, out)


@app.command()
def finetune(
    data: str = typer.Argument(..., help=DATA_HELP),
    out: Path = typer.Option(..., "--out", "-o", help="Run folder (checkpoints, logs, "
                                                      "test.json, confusion matrix)."),
    init: Optional[Path] = typer.Option(None, "--init", help="Pre-trained checkpoint (.pt or "
                                                             "run folder); omit to train from "
                                                             "scratch."),
    fraction: float = typer.Option(1.0, "--fraction", help="Share of the training labels "
                                                           "(stratified, seeded, >= 1 per "
                                                           "class)."),
    fold: Optional[int] = FOLD, n_folds: int = N_FOLDS, iemocap_kind: str = IEMOCAP_KIND,
    arch: str = ARCH, width: int = WIDTH,
    crop_s: Optional[float] = typer.Option(None, "--crop-s", help="Crop length (default: the "
                                                                  "checkpoint's, else 3 s)."),
    spec_augment: bool = SPEC_AUG, epochs: int = EPOCHS, batch_size: int = BATCH,
    accumulate: int = ACCUM, lr: float = LR, weight_decay: float = WD, warmup: float = WARMUP,
    precision: str = PRECISION, compile: str = COMPILE, channels_last: str = CHANNELS_LAST,
    balance: str = BALANCE, loader: str = LOADER, seed: int = SEED, workers: int = WORKERS,
    checkpoint_every: int = CKPT_EVERY, max_steps: int = MAX_STEPS, device: str = DEVICE,
    force: bool = FORCE,
) -> None:
    """Fine-tune (or train from scratch) on labeled data; score the test fold."""
    from lanser_fast.data import make_split
    from lanser_fast.train.runs import finetune_and_test, setup_from_init
    from lanser_fast.train.trainer import ResumeMismatch

    config = _train_config(epochs=epochs, batch_size=batch_size, accumulate=accumulate, lr=lr,
                           weight_decay=weight_decay, warmup=warmup, precision=precision,
                           compile=compile, channels_last=channels_last, balance=balance,
                           loader=loader, seed=seed, workers=workers,
                           checkpoint_every=checkpoint_every,
                           max_steps=max_steps)
    if init is not None:
        _check_checkpoint(init)
    if not 0 < fraction <= 1:
        _fail(f"--fraction must be in (0, 1], got {fraction}", "--fraction")
    dataset = _dataset(data, iemocap_kind=iemocap_kind)
    model, front = _configs(arch, width, len(dataset.classes), crop_s or 3.0, spec_augment)
    try:
        split = make_split(dataset, fold=fold, n_folds=n_folds, seed=0)
        setup = setup_from_init(init, len(dataset.classes), model, front, config, crop_s)
    except ValueError as exc:
        _fail(str(exc))
    typer.echo(f"{dataset.name}: {split.description}; {len(split.train)} train utterances "
               f"(using {fraction:g}), {len(split.valid)} valid, {len(split.test)} test")
    try:
        result, record = finetune_and_test(split, out, setup, fraction=fraction, init=init,
                                           force=force)
    except (ResumeMismatch, ValueError, RuntimeError) as exc:
        _fail(str(exc))
    if result is not None:
        _report(result, out)
    if record is not None:
        typer.echo(f"test: WA {record['wa']:.4f}  UA {record['ua']:.4f}  (n={record['n']}) "
                   f"-> {out / 'test.json'}")


def _split_part(dataset, fold, n_folds, part):
    from lanser_fast.data import make_split

    if part == "all":
        return dataset
    if part not in ("train", "valid", "test"):
        _fail(f"--split must be train, valid, test or all, got {part!r}", "--split")
    try:
        split = make_split(dataset, fold=fold, n_folds=n_folds, seed=0)
    except ValueError as exc:
        _fail(str(exc))
    chosen = getattr(split, part)
    if not len(chosen):
        _fail(f"the {part} split is empty ({split.description}); pass --fold or --split all")
    return chosen


def _inference_model(state, device: str):
    """The checkpoint's model and runtime on ``--device`` (fails clearly without CUDA)."""
    from lanser_fast.train.distributed import pick_device
    from lanser_fast.train.evaluate import inference_model

    try:
        return inference_model(state, pick_device(device))
    except (RuntimeError, ValueError) as exc:
        _fail(str(exc), "--device")


def _model_logits(state, data, device, workers):
    from lanser_fast.data.loader import EvalItems
    from lanser_fast.train import checkpoint as ckpt
    from lanser_fast.train.evaluate import utterance_logits

    model, runtime = _inference_model(state, device)
    items = EvalItems(list(data.examples), ckpt.input_config_from(state))
    return utterance_logits(model, items, runtime, workers=workers)


@app.command()
def evaluate(
    checkpoint: Path = typer.Argument(..., help="Checkpoint (.pt) or run folder (best.pt)."),
    data: str = typer.Argument(..., help=DATA_HELP),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for scores.json, "
                                                      "scores_confusion.csv/.png and "
                                                      "scores_predictions.csv."),
    split: str = typer.Option("test", "--split", help="test, valid, train or all."),
    fold: Optional[int] = FOLD, n_folds: int = N_FOLDS, iemocap_kind: str = IEMOCAP_KIND,
    workers: int = WORKERS, device: str = DEVICE,
) -> None:
    """WA, UA, per-class recall and the confusion matrix of a model on labeled data."""
    from lanser_fast.metrics import score
    from lanser_fast.train.evaluate import write_predictions
    from lanser_fast.train.runs import write_scores

    state = _check_checkpoint(checkpoint)
    dataset = _split_part(_dataset(data, iemocap_kind=iemocap_kind), fold, n_folds, split)
    if list(state["classes"]) != list(dataset.classes):
        _fail(f"the model's classes ({', '.join(state['classes'][:8])}...) differ from the "
              f"data's ({', '.join(dataset.classes)}): use `lanser-fast zeroshot` to map them")
    logits = _model_logits(state, dataset, device, workers)
    scores = score([ex.label for ex in dataset.examples], logits.argmax(axis=1), dataset.classes)
    out.mkdir(parents=True, exist_ok=True)
    write_predictions(dataset, logits, out / "scores_predictions.csv")
    write_scores(scores, out, "scores", {"checkpoint": state["path"], "split": split})
    _echo_scores(scores, out / "scores.json")


def _echo_scores(scores, where: Path) -> None:
    recall = ", ".join(f"{c} {r:.3f}" for c, r in zip(scores.classes, scores.recall)
                       if r is not None)
    typer.echo(f"WA {scores.wa:.4f}  UA {scores.ua:.4f}  (n={scores.n}); recall: {recall}")
    typer.echo(f"-> {where}")


@app.command()
def zeroshot(
    checkpoint: Path = typer.Argument(..., help="A model pre-trained on weak labels."),
    data: str = typer.Argument(..., help=DATA_HELP),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for zeroshot.json and its "
                                                      "confusion matrix."),
    taxonomy: Optional[str] = typer.Option(None, "--taxonomy", help="Taxonomy file mapping the "
                                                                    "model's labels onto the "
                                                                    "data's (maps_to); default: "
                                                                    "the model's own."),
    split: str = typer.Option("test", "--split", help="test, valid, train or all."),
    fold: Optional[int] = FOLD, n_folds: int = N_FOLDS, iemocap_kind: str = IEMOCAP_KIND,
    workers: int = WORKERS, device: str = DEVICE,
) -> None:
    """Score a pre-trained model on a downstream set with no fine-tuning (classes mapped)."""
    from lanser_fast.metrics import score
    from lanser_fast.taxonomy import TaxonomyError, load_taxonomy
    from lanser_fast.train.runs import write_scores
    from lanser_fast.train.zeroshot import class_map, mapped_probabilities

    state = _check_checkpoint(checkpoint)
    dataset = _split_part(_dataset(data, iemocap_kind=iemocap_kind), fold, n_folds, split)
    spec = taxonomy or state.get("taxonomy")
    tax = None
    if spec:
        try:
            tax = load_taxonomy(spec)
        except (TaxonomyError, OSError) as exc:
            _fail(str(exc), "--taxonomy")
    try:
        matrix = class_map(tuple(state["classes"]), dataset.classes, tax)
    except ValueError as exc:
        _fail(str(exc), "--taxonomy")
    probs = mapped_probabilities(_model_logits(state, dataset, device, workers), matrix)
    scores = score([ex.label for ex in dataset.examples], probs.argmax(axis=1), dataset.classes)
    write_scores(scores, out, "zeroshot", {"checkpoint": state["path"], "split": split,
                                           "taxonomy": None if tax is None else tax.name})
    _echo_scores(scores, out / "zeroshot.json")


@baseline_app.command("majority")
def baseline_majority(
    data: str = typer.Argument(..., help=DATA_HELP),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for majority.json."),
    fold: Optional[int] = FOLD, n_folds: int = N_FOLDS, iemocap_kind: str = IEMOCAP_KIND,
) -> None:
    """Predict the training split's most frequent class for every test utterance."""
    from lanser_fast.data import make_split
    from lanser_fast.train.baselines import majority
    from lanser_fast.train.runs import write_scores

    dataset = _dataset(data, iemocap_kind=iemocap_kind)
    try:
        split = make_split(dataset, fold=fold, n_folds=n_folds, seed=0)
        scores, top = majority(split.train, split.test if len(split.test) else dataset)
    except ValueError as exc:
        _fail(str(exc))
    write_scores(scores, out, "majority", {"majority_class": top, "split": split.description})
    typer.echo(f"majority class: {top}")
    _echo_scores(scores, out / "majority.json")


@baseline_app.command("text")
def baseline_text(
    data: str = typer.Argument(..., help=DATA_HELP),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for text.json."),
    nli_model: str = typer.Option("FacebookAI/roberta-large-mnli", "--nli-model",
                                  help="NLI model: hub id or folder."),
    taxonomy: Optional[str] = typer.Option(None, "--taxonomy", help="The labeler's taxonomy: "
                                                                    "the data's own (default) "
                                                                    "or a file mapping onto it."),
    template: str = typer.Option("The emotion of the conversation is {}.", "--template",
                                 help="Hypothesis template."),
    asr_model: Optional[str] = typer.Option(None, "--asr-model", help="Whisper model for "
                                                                      "utterances without a "
                                                                      "transcript."),
    max_new_tokens: int = typer.Option(224, "--max-new-tokens", min=1, max=448,
                                       help="Whisper's token limit per utterance."),
    split: str = typer.Option("test", "--split", help="test, valid, train or all."),
    fold: Optional[int] = FOLD, n_folds: int = N_FOLDS, iemocap_kind: str = IEMOCAP_KIND,
) -> None:
    """The text-only weak labeler on the downstream transcripts, mapped to its classes."""
    from dataclasses import replace

    from lanser_fast.asr import TranscribeConfig, WhisperModelError
    from lanser_fast.nli.models import ModelNotFound
    from lanser_fast.nli.scorer import ScoreConfig
    from lanser_fast.taxonomy import BUILTIN, TaxonomyError
    from lanser_fast.train.baselines import text_baseline
    from lanser_fast.train.runs import write_scores

    dataset = _split_part(_dataset(data, iemocap_kind=iemocap_kind), fold, n_folds, split)
    default_tax = {"iemocap": "iemocap4", "crema-d": "cremad6"}.get(dataset.name)
    tax = taxonomy or default_tax
    if tax is None:
        matching = [name for name, (labels, _) in BUILTIN.items()
                    if tuple(labels) == tuple(dataset.classes)]
        if not matching:
            _fail(f"{dataset.name}'s classes are no built-in taxonomy: pass --taxonomy",
                  "--taxonomy")
        tax = matching[0]
    asr = None
    if asr_model is not None:
        asr = TranscribeConfig(model=asr_model)
        asr = replace(asr, decode=replace(asr.decode, max_new_tokens=max_new_tokens))
    try:
        result = text_baseline(dataset, ScoreConfig(model=nli_model, taxonomy=tax,
                                                    template=template), asr)
    except (ModelNotFound, WhisperModelError, TaxonomyError, ValueError) as exc:
        _fail(str(exc))
    scores = result.pop("scores")
    write_scores(scores, out, "text", {**result, "split": split})
    typer.echo(f"{result['transcribed']} transcripts from Whisper, the rest from the dataset")
    _echo_scores(scores, out / "text.json")


@experiment_app.command("label-efficiency")
def label_efficiency(
    data: str = typer.Argument(..., help=DATA_HELP),
    init: Path = typer.Option(..., "--init", help="Pre-trained checkpoint (the weak-label "
                                                  "model)."),
    out: Path = typer.Option(..., "--out", "-o", help="Experiment folder: one run folder per "
                                                      "cell, results.csv, summary.csv/.md, "
                                                      "label_efficiency.png."),
    fractions: str = typer.Option("0.01,0.05,0.1,0.25,1", "--fractions", help="Label fractions."),
    seeds: str = typer.Option("0,1,2", "--seeds", help="Seeds (runs per fraction and start)."),
    fold: int = typer.Option(1, "--fold", min=1, help="Test fold."), n_folds: int = N_FOLDS,
    iemocap_kind: str = IEMOCAP_KIND,
    crop_s: Optional[float] = typer.Option(None, "--crop-s", help="Crop length (default: the "
                                                                  "checkpoint's)."),
    epochs: int = EPOCHS, batch_size: int = BATCH, lr: float = LR, weight_decay: float = WD,
    warmup: float = WARMUP, precision: str = PRECISION, compile: str = COMPILE,
    channels_last: str = CHANNELS_LAST, balance: str = BALANCE, loader: str = LOADER,
    workers: int = WORKERS,
) -> None:
    """Scratch vs pre-trained over label fractions and seeds: one table, one plot."""
    from lanser_fast.data import InputConfig
    from lanser_fast.train.experiment import PLOT_PNG, SUMMARY_MD
    from lanser_fast.train.experiment import label_efficiency as run
    from lanser_fast.train.runs import setup_from_init

    try:
        fraction_list = [float(f) for f in fractions.split(",") if f.strip()]
        seed_list = [int(s) for s in seeds.split(",") if s.strip()]
    except ValueError:
        _fail("--fractions and --seeds are comma-separated numbers")
    if not fraction_list or not seed_list or not all(0 < f <= 1 for f in fraction_list):
        _fail("give fractions in (0, 1] and at least one seed", "--fractions/--seeds")
    _check_checkpoint(init)
    config = _train_config(epochs=epochs, batch_size=batch_size, lr=lr,
                           weight_decay=weight_decay, warmup=warmup, precision=precision,
                           compile=compile, channels_last=channels_last, balance=balance,
                           loader=loader,                            workers=workers)
    dataset = _dataset(data, iemocap_kind=iemocap_kind)
    # Scratch runs use the pre-trained model's architecture and front end: only the start
    # differs.
    setup = setup_from_init(init, len(dataset.classes), None, InputConfig(), config, crop_s)

    def show(cell):
        typer.echo(f"  {cell.start:10s} fraction {cell.fraction:g} seed {cell.seed}: "
                   f"{cell.train_examples} labels, test WA {cell.wa:.3f} UA {cell.ua:.3f}")

    try:
        run(dataset, out, init=init, setup=setup,
            fractions=fraction_list, seeds=seed_list, fold=fold, n_folds=n_folds, on_cell=show)
    except ValueError as exc:
        _fail(str(exc))
    typer.echo((out / SUMMARY_MD).read_text())
    typer.echo(f"-> {out / SUMMARY_MD}, {out / PLOT_PNG}")


@app.command()
def predict(
    checkpoint: Path = typer.Argument(..., help="Checkpoint (.pt) or run folder (best.pt)."),
    inputs: List[str] = typer.Argument(..., help="Audio files, folders or manifests (as for "
                                                 "'decode')."),
    out: Path = typer.Option(..., "--out", "-o", help="Predictions: .csv, .jsonl or .parquet "
                                                      "(id, path, offset_s, duration_s, label, "
                                                      "score, probs, error)."),
    window_s: Optional[float] = typer.Option(None, "--window-s", help="Label each stretch of "
                                                                      "this many seconds (long "
                                                                      "files); default: one "
                                                                      "label per file."),
    device: str = DEVICE,
) -> None:
    """Label new audio with a trained model; unreadable files become error rows."""
    from lanser_fast.cli import _open_inputs
    from lanser_fast.train import checkpoint as ckpt
    from lanser_fast.train.predict import Predictor
    from lanser_fast.train.tables_out import write_rows

    state = _check_checkpoint(checkpoint)
    if window_s is not None and window_s <= 0:
        _fail("--window-s must be positive", "--window-s")
    items = _open_inputs(inputs)
    model, runtime = _inference_model(state, device)
    predictor = Predictor(model, ckpt.input_config_from(state), tuple(state["classes"]), runtime)
    try:
        written, errors = write_rows(predictor.rows(items, window_s), out)
    except ValueError as exc:
        _fail(str(exc), "--out")
    typer.echo(f"{written} rows ({errors} errors) -> {out}")


def export_model_command(source: Path, out: Path) -> None:
    """``export`` of a checkpoint (called by the ``export`` command)."""
    from lanser_fast.train.export import export_model

    try:
        path = export_model(source, out)
    except (ValueError, FileNotFoundError) as exc:
        _fail(str(exc))
    typer.echo(f"model -> {path} (metadata: {path.name}.json)")
    typer.echo(json.dumps(json.loads(Path(str(path) + ".json").read_text())["classes"]))

"""The training commands: ``pretrain``, ``finetune``, ``evaluate``, ``zeroshot``, ``predict``,
``baseline majority|text`` and ``experiment label-efficiency``.

Each checks its inputs (data, checkpoint, taxonomy) before any work, calls the library
(:mod:`lanser_fast.train`) and prints where the results went. Multi-GPU / multi-node: launch the
same command with ``torchrun``.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import List, Optional

import typer

from lanser_fast.cli import options as opt
from lanser_fast.cli.base import (
    app,
    comma_list,
    fail,
    open_inputs,
    run_failures,
    usage_errors,
)
from lanser_fast.data.input_config import InputConfig
from lanser_fast.data.sources import DataOptions
from lanser_fast.data.splits import N_FOLDS as N_FOLDS_DEFAULT
from lanser_fast.models.config import ModelConfig
from lanser_fast.train.config import (
    LABEL_FRACTIONS,
    PRETRAIN_VALID_FRACTION,
    SEEDS,
    TrainConfig,
)

PANEL = "Training"
TRAIN, MODEL, INPUT, DATA = TrainConfig(), ModelConfig(), InputConfig(), DataOptions()

baseline_app = typer.Typer(help="The paper's baselines: majority class, text-only weak labeler.",
                           no_args_is_help=True)
experiment_app = typer.Typer(help="The paper's experiments, one command each.",
                             no_args_is_help=True)
app.add_typer(baseline_app, name="baseline", rich_help_panel=PANEL)
app.add_typer(experiment_app, name="experiment", rich_help_panel=PANEL)

DATA_HELP = ("Dataset: iemocap:PATH (released layout), crema-d:PATH (AudioWAV/), a .csv/.tsv/"
             ".jsonl table of path,label[,split,speaker], or a `lanser-fast label` output (weak "
             "labels).")
ARCH = typer.Option(MODEL.arch, "--arch", help="resnet50 (the paper's), resnet34 or resnet18.")
WIDTH = typer.Option(MODEL.width, "--width", min=4, help="Channels of the first stage (64: "
                                                         "standard).")
EPOCHS = typer.Option(TRAIN.epochs, "--epochs", min=1, help="Passes over the training set.")
BATCH = typer.Option(TRAIN.batch_size, "--batch-size", min=1, help="Items per micro-batch and "
                                                                   "process.")
ACCUM = typer.Option(TRAIN.accumulate, "--accumulate", min=1, help="Micro-batches per optimizer "
                                                                   "step.")
LR = typer.Option(TRAIN.lr, "--lr", help="AdamW peak learning rate (warm-up, then cosine "
                                         "decay).")
WD = typer.Option(TRAIN.weight_decay, "--weight-decay", help="AdamW weight decay.")
WARMUP = typer.Option(TRAIN.warmup, "--warmup", help="Warm-up as a fraction of all steps.")
PRECISION = typer.Option(TRAIN.precision, "--precision", help="auto (bf16 on GPUs and "
                         "bf16-capable CPUs, else fp32), fp32, bf16, fp16 (GPU).")
COMPILE = typer.Option(TRAIN.compile, "--compile", help="torch.compile: auto (on for CUDA), on, "
                                                        "off.")
CHANNELS_LAST = typer.Option(TRAIN.channels_last, "--channels-last", help="Channels-last (NHWC) "
                             "memory format: auto (on), on or off.")
BALANCE = typer.Option(TRAIN.balance, "--balance", help="Class imbalance: none, sampler (draw "
                       "classes evenly) or loss (inverse-frequency weights).")
LOADER = typer.Option(TRAIN.loader, "--loader", help="auto (DALI + Triton log-mel on CUDA, else "
                                                     "the torch DataLoader), torch or dali.")
SEED = typer.Option(TRAIN.seed, "--seed", help="Seed of initialisation, order, crops and masks.")
WORKERS = typer.Option(TRAIN.workers, "--workers", min=0, help="Data-loader processes per "
                                                               "training process.")
CKPT_EVERY = typer.Option(TRAIN.checkpoint_every, "--checkpoint-every", min=0, help="Optimizer "
                          "steps between checkpoints (0: each epoch).")
MAX_STEPS = typer.Option(TRAIN.max_steps, "--max-steps", min=0, help="Stop after this many "
                                                                     "optimizer steps (0: all "
                                                                     "epochs).")
CROP = typer.Option(INPUT.crop_s, "--crop-s", help="Training crop length in seconds (short "
                                                   "clips are zero-padded).")
CROP_FROM_INIT = typer.Option(None, "--crop-s", help="Crop length (default: the checkpoint's, "
                                                     f"else {INPUT.crop_s:g} s).")
SPEC_AUG = typer.Option(INPUT.spec_augment, "--spec-augment", help="SpecAugment time/frequency "
                                                                   "masking.")
DEVICE = typer.Option("auto", "--device", help="auto (CUDA when available), cuda or cpu.")
FORCE = typer.Option(False, "--force", help="Start over in an --out folder holding another run.")
FOLD = typer.Option(None, "--fold", min=1, help="Test fold (1-based): IEMOCAP session k "
                                                "(leave-one-session-out), else a speaker fold.")
N_FOLDS = typer.Option(N_FOLDS_DEFAULT, "--n-folds", min=2, help="Folds of speakers (IEMOCAP: 5 "
                                                                 "sessions).")
IEMOCAP_KIND = typer.Option(DATA.iemocap_kind, "--iemocap-kind", help="IEMOCAP dialogs: all, "
                                                                      "improvised or scripted.")
SPLIT = typer.Option("test", "--split", help="test, valid, train or all.")


def train_config(options: dict) -> TrainConfig:
    """The ``TrainConfig`` of a command's options (its ``locals()``): every option named like a
    field sets it, the others keep the library's defaults."""
    names = {f.name for f in fields(TrainConfig)}
    with usage_errors(ValueError):
        return TrainConfig(**{k: v for k, v in options.items() if k in names})


@app.command(rich_help_panel=PANEL)
def pretrain(
    data: str = typer.Argument(..., help=DATA_HELP),
    out: Path = typer.Option(..., "--out", "-o", help="Run folder: last.pt, best.pt, "
                                                      "metrics.csv, tb/ (TensorBoard), run.json."),
    taxonomy: Optional[str] = typer.Option(None, "--taxonomy", help="Weak labels: their "
                                           "taxonomy (default: the one the labeling run used)."),
    min_score: float = typer.Option(DATA.min_score, "--min-score", help="Weak labels: drop "
                                    "labels scored below this."),
    valid_fraction: float = typer.Option(PRETRAIN_VALID_FRACTION, "--valid-fraction",
                                         help="Share of files held out for validation."),
    arch: str = ARCH, width: int = WIDTH, crop_s: float = CROP, spec_augment: bool = SPEC_AUG,
    epochs: int = EPOCHS, batch_size: int = BATCH, accumulate: int = ACCUM, lr: float = LR,
    weight_decay: float = WD, warmup: float = WARMUP, precision: str = PRECISION,
    compile: str = COMPILE, channels_last: str = CHANNELS_LAST, balance: str = BALANCE,
    loader: str = LOADER, seed: int = SEED, workers: int = WORKERS,
    checkpoint_every: int = CKPT_EVERY, max_steps: int = MAX_STEPS, device: str = DEVICE,
    force: bool = FORCE,
) -> None:
    """Pre-train the SER model on weak labels (or any labeled set); resumes an --out folder."""
    from lanser_fast.data import make_split, weak_taxonomy
    from lanser_fast.train.trainer import ResumeMismatch, fit

    config = train_config(locals())
    dataset = _dataset(data, taxonomy, min_score)
    model, front = _configs(arch, width, len(dataset.classes), crop_s, spec_augment)
    with usage_errors(ValueError):
        split = make_split(dataset, seed=seed, valid_fraction=valid_fraction)
    typer.echo(f"{dataset.name}: {len(split.train)} train / {len(split.valid)} valid "
               f"utterances, {len(dataset.classes)} classes")
    with usage_errors(ResumeMismatch, ValueError, RuntimeError):
        result = fit(split.train, split.valid, out, model_config=model, input_config=front,
                     config=config, taxonomy=taxonomy or weak_taxonomy(dataset), device=device,
                     force=force)
    _report(result, out)


@app.command(rich_help_panel=PANEL)
def finetune(
    data: str = typer.Argument(..., help=DATA_HELP),
    out: Path = typer.Option(..., "--out", "-o", help="Run folder (checkpoints, logs, "
                                                      "test.json, confusion matrix)."),
    init: Optional[Path] = typer.Option(None, "--init", help="Pre-trained checkpoint (.pt or "
                                        "run folder); omit to train from scratch."),
    fraction: float = typer.Option(1.0, "--fraction", help="Share of the training labels "
                                   "(stratified, seeded, >= 1 per class)."),
    fold: Optional[int] = FOLD, n_folds: int = N_FOLDS, iemocap_kind: str = IEMOCAP_KIND,
    arch: str = ARCH, width: int = WIDTH, crop_s: Optional[float] = CROP_FROM_INIT,
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

    config = train_config(locals())
    if init is not None:
        _checkpoint(init)
    if not 0 < fraction <= 1:
        fail(f"--fraction must be in (0, 1], got {fraction}", "--fraction")
    dataset = _dataset(data, iemocap_kind=iemocap_kind)
    model, front = _configs(arch, width, len(dataset.classes), crop_s or INPUT.crop_s,
                            spec_augment)
    with usage_errors(ValueError):
        split = make_split(dataset, fold=fold, n_folds=n_folds, seed=0)
        setup = setup_from_init(init, len(dataset.classes), model, front, config, crop_s)
    typer.echo(f"{dataset.name}: {split.description}; {len(split.train)} train utterances "
               f"(using {fraction:g}), {len(split.valid)} valid, {len(split.test)} test")
    with usage_errors(ResumeMismatch, ValueError, RuntimeError):
        result, record = finetune_and_test(split, out, setup, fraction=fraction, init=init,
                                           force=force)
    if result is not None:
        _report(result, out)
    if record is not None:
        typer.echo(f"test: WA {record['wa']:.4f}  UA {record['ua']:.4f}  (n={record['n']}) "
                   f"-> {out / 'test.json'}")


@app.command(rich_help_panel=PANEL)
def evaluate(
    checkpoint: Path = typer.Argument(..., help="Checkpoint (.pt) or run folder (best.pt)."),
    data: str = typer.Argument(..., help=DATA_HELP),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for scores.json, "
                             "scores_confusion.csv/.png and scores_predictions.csv."),
    split: str = SPLIT, fold: Optional[int] = FOLD, n_folds: int = N_FOLDS,
    iemocap_kind: str = IEMOCAP_KIND, workers: int = WORKERS, device: str = DEVICE,
) -> None:
    """WA, UA, per-class recall and the confusion matrix of a model on labeled data."""
    from lanser_fast.train.runs import evaluate_checkpoint

    state, dataset, where = _to_score(checkpoint, data, split, fold, n_folds, iemocap_kind,
                                      device)
    with usage_errors(ValueError):
        scores = evaluate_checkpoint(state, dataset, out, split=split, device=where,
                                     workers=workers)
    _echo_scores(scores, out / "scores.json")


@app.command(rich_help_panel=PANEL)
def zeroshot(
    checkpoint: Path = typer.Argument(..., help="A model pre-trained on weak labels."),
    data: str = typer.Argument(..., help=DATA_HELP),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for zeroshot.json and its "
                                                      "confusion matrix."),
    taxonomy: Optional[str] = typer.Option(None, "--taxonomy", help="Taxonomy file mapping the "
                                           "model's labels onto the data's (maps_to); default: "
                                           "the model's own."),
    split: str = SPLIT, fold: Optional[int] = FOLD, n_folds: int = N_FOLDS,
    iemocap_kind: str = IEMOCAP_KIND, workers: int = WORKERS, device: str = DEVICE,
) -> None:
    """Score a pre-trained model on a downstream set with no fine-tuning (classes mapped)."""
    from lanser_fast.taxonomy import TaxonomyError, load_taxonomy
    from lanser_fast.train.runs import zeroshot_checkpoint

    state, dataset, where = _to_score(checkpoint, data, split, fold, n_folds, iemocap_kind,
                                      device)
    spec = taxonomy or state.get("taxonomy")
    with usage_errors(TaxonomyError, OSError, hint="--taxonomy"):
        tax = load_taxonomy(spec) if spec else None
    with usage_errors(ValueError, hint="--taxonomy"):
        scores = zeroshot_checkpoint(state, dataset, out, taxonomy=tax, split=split,
                                     device=where, workers=workers)
    _echo_scores(scores, out / "zeroshot.json")


@app.command(rich_help_panel=PANEL)
def predict(
    checkpoint: Path = typer.Argument(..., help="Checkpoint (.pt) or run folder (best.pt)."),
    inputs: List[str] = typer.Argument(..., help="Audio files, folders or manifests (as for "
                                                 "'decode')."),
    out: Path = typer.Option(..., "--out", "-o", help="Predictions: .csv, .jsonl or .parquet "
                             "(id, path, offset_s, duration_s, label, score, probs, error)."),
    window_s: Optional[float] = typer.Option(None, "--window-s", help="Label each stretch of "
                                             "this many seconds (long files); default: one "
                                             "label per file."),
    device: str = DEVICE,
) -> None:
    """Label new audio with a trained model; unreadable files become error rows."""
    from lanser_fast.train import checkpoint as ckpt
    from lanser_fast.train.evaluate import inference_model
    from lanser_fast.train.predict import Predictor
    from lanser_fast.train.tables_out import write_rows

    state = _checkpoint(checkpoint)
    if window_s is not None and window_s <= 0:
        fail("--window-s must be positive", "--window-s")
    items = open_inputs(inputs)
    with usage_errors(RuntimeError, ValueError, hint="--device"):
        model, runtime = inference_model(state, _device(device))
    predictor = Predictor(model, ckpt.input_config_from(state), tuple(state["classes"]), runtime)
    with usage_errors(ValueError, hint="--out"):
        written, errors = write_rows(predictor.rows(items, window_s), out)
    typer.echo(f"{written} rows ({errors} errors) -> {out}")


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
    with usage_errors(ValueError):
        split = make_split(dataset, fold=fold, n_folds=n_folds, seed=0)
        scores, top = majority(split.train, split.test if len(split.test) else dataset)
    write_scores(scores, out, "majority", {"majority_class": top, "split": split.description})
    typer.echo(f"majority class: {top}")
    _echo_scores(scores, out / "majority.json")


@baseline_app.command("text")
def baseline_text(
    data: str = typer.Argument(..., help=DATA_HELP),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for text.json."),
    nli_model: Optional[str] = opt.NLI_MODEL, labeler: str = opt.LABELER,
    temperature: float = opt.TEMPERATURE,
    taxonomy: Optional[str] = typer.Option(None, "--taxonomy", help="The labeler's taxonomy: "
                                           "the data's own (default) or a file mapping onto it."),
    template: str = opt.TEMPLATE,
    asr_model: Optional[str] = typer.Option(None, "--asr-model", help="Whisper model for "
                                            "utterances without a transcript."),
    max_new_tokens: int = opt.MAX_NEW_TOKENS, split: str = SPLIT, fold: Optional[int] = FOLD,
    n_folds: int = N_FOLDS, iemocap_kind: str = IEMOCAP_KIND,
) -> None:
    """The text-only weak labeler on the downstream transcripts, mapped to its classes."""
    from dataclasses import replace

    from lanser_fast.asr import TranscribeConfig, WhisperModelError
    from lanser_fast.data import data_taxonomy
    from lanser_fast.nli.models import ModelNotFound
    from lanser_fast.taxonomy import TaxonomyError
    from lanser_fast.train.baselines import text_baseline
    from lanser_fast.train.runs import write_scores

    dataset = _part(_dataset(data, iemocap_kind=iemocap_kind), split, fold, n_folds)
    with usage_errors(ValueError, hint="--taxonomy"):
        tax = taxonomy or data_taxonomy(dataset)
    asr = None
    if asr_model is not None:
        asr = TranscribeConfig(model=asr_model)
        asr = replace(asr, decode=replace(asr.decode, max_new_tokens=max_new_tokens))
    with usage_errors(ValueError):
        nli = replace(opt.NLI, model=opt.text_model(nli_model, labeler), labeler=labeler,
                      temperature=temperature, taxonomy=tax, template=template)
    with usage_errors(ModelNotFound, WhisperModelError, TaxonomyError, ValueError):
        result = text_baseline(dataset, nli, asr)
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
                             "cell, results.csv, summary.csv/.md, label_efficiency.png."),
    fractions: str = typer.Option(",".join(f"{f:g}" for f in LABEL_FRACTIONS), "--fractions",
                                  help="Label fractions."),
    seeds: str = typer.Option(",".join(map(str, SEEDS)), "--seeds", help="Seeds (runs per "
                                                                         "fraction and start)."),
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
    from lanser_fast.train.experiment import PLOT_PNG, SUMMARY_MD
    from lanser_fast.train.experiment import label_efficiency as run
    from lanser_fast.train.runs import setup_from_init

    config = train_config(locals())
    with usage_errors(ValueError, hint="--fractions/--seeds"):
        fraction_list, seed_list = comma_list(fractions, float), comma_list(seeds, int)
    if not fraction_list or not seed_list or not all(0 < f <= 1 for f in fraction_list):
        fail("give fractions in (0, 1] and at least one seed", "--fractions/--seeds")
    _checkpoint(init)
    dataset = _dataset(data, iemocap_kind=iemocap_kind)
    # Scratch runs use the pre-trained model's architecture and front end: only the start
    # differs.
    setup = setup_from_init(init, len(dataset.classes), None, InputConfig(), config, crop_s)

    def show(cell):
        typer.echo(f"  {cell.start:10s} fraction {cell.fraction:g} seed {cell.seed}: "
                   f"{cell.train_examples} labels, test WA {cell.wa:.3f} UA {cell.ua:.3f}")

    with usage_errors(ValueError):
        run(dataset, out, init=init, setup=setup, fractions=fraction_list, seeds=seed_list,
            fold=fold, n_folds=n_folds, on_cell=show)
    typer.echo((out / SUMMARY_MD).read_text())
    typer.echo(f"-> {out / SUMMARY_MD}, {out / PLOT_PNG}")


@experiment_app.command("lanser-mini")
def lanser_mini(
    out: Path = typer.Option(..., "--out", "-o", help="Experiment folder: corpora/, labels/, "
                             "pretrain/, efficiency/, report.md, results.csv, "
                             "label_efficiency.png. Re-running resumes."),
    scale: str = typer.Option("small", "--scale", help="small (3.4 min measured on 2 CPU "
                                                       "cores: CI) or full (33 min)."),
    match: float = typer.Option(0.7, "--match", help="Probability that a pre-training clip's "
                                                     "voice emotion is its words' emotion."),
    seeds: Optional[str] = typer.Option(None, "--seeds", help="Seeds (default: the scale's); "
                                        "seed s tests speaker fold s mod 4 + 1."),
    asr_model: str = typer.Option("base", "--asr-model", help="Whisper model of the labeling "
                                                              "step."),
    text_model: str = typer.Option(None, "--text-model", help="Sentence-embedding model of the "
                                   "similarity labeler (default: all-MiniLM-L6-v2)."),
) -> None:
    """LanSER in miniature on synthesized speech: label, pre-train, label efficiency, zero-shot,
    baselines, one report (needs espeak-ng; real Whisper base and MiniLM from the shelf)."""
    import shutil
    from subprocess import CalledProcessError

    from lanser_fast.cli.label import prepare_checked
    from lanser_fast.train.lanser_mini import TEXT_MODEL, MiniConfig, claim, label_config, run_mini
    from lanser_fast.train.mini_report import PLOT_PNG, REPORT_MD

    with usage_errors(ValueError, hint="--scale/--match/--seeds"):
        config = MiniConfig(scale=scale, match=match, asr_model=asr_model,
                            text_model=text_model or TEXT_MODEL,
                            seeds=comma_list(seeds, int) if seeds else None)
    if shutil.which("espeak-ng") is None:
        fail("espeak-ng is not installed (apt-get install espeak-ng): it speaks the corpora",
             "espeak-ng")
    with usage_errors(ValueError, hint="--out"):
        claim(out, config)
    prepare_checked(label_config(config))
    with run_failures(RuntimeError, OSError, ValueError, CalledProcessError,
                      prefix="lanser-mini"):
        run_mini(out, config, say=typer.echo)
    typer.echo((out / REPORT_MD).read_text())
    typer.echo(f"-> {out / REPORT_MD}, {out / PLOT_PNG}")


def _dataset(spec: str, taxonomy=DATA.taxonomy, min_score=DATA.min_score,
             iemocap_kind=DATA.iemocap_kind):
    """The labeled set of DATA; its skipped lines are shown, an empty set is an error."""
    from lanser_fast.data import DataOptions, open_dataset

    with usage_errors(ValueError, FileNotFoundError, hint="DATA"):
        data = open_dataset(spec, DataOptions(taxonomy=taxonomy, min_score=min_score,
                                              iemocap_kind=iemocap_kind))
    if data.problems:
        typer.echo(f"{data.name}: {len(data.problems)} line(s)/file(s) skipped, e.g.:")
        for problem in data.problems[:5]:
            typer.echo(f"  {problem.where}: {problem.reason}")
    if not len(data):
        fail(f"{spec}: no labeled utterances found", "DATA")
    return data


def _to_score(checkpoint, data, split, fold, n_folds, iemocap_kind, device):
    """What ``evaluate`` and ``zeroshot`` score: the checkpoint, the chosen part of DATA and the
    device, each checked before any work."""
    state = _checkpoint(checkpoint)
    dataset = _part(_dataset(data, iemocap_kind=iemocap_kind), split, fold, n_folds)
    return state, dataset, _device(device)


def _part(dataset, split: str, fold, n_folds):
    from lanser_fast.data import split_part

    with usage_errors(ValueError, hint="--split"):
        return split_part(dataset, split, fold=fold, n_folds=n_folds)


def _configs(arch, width, n_classes, crop_s, spec_augment):
    with usage_errors(ValueError):
        return (ModelConfig(arch=arch, n_classes=n_classes, width=width),
                InputConfig(crop_s=crop_s, spec_augment=spec_augment))


def _checkpoint(path):
    from lanser_fast.train import checkpoint as ckpt

    with usage_errors(FileNotFoundError, ValueError, hint="CHECKPOINT / --init"):
        return ckpt.load(path)


def _device(device: str):
    """``--device`` as a torch device; CUDA without a GPU fails here, before any work."""
    from lanser_fast.train.distributed import pick_device

    with usage_errors(RuntimeError, ValueError, hint="--device"):
        return pick_device(device)


def _report(result, out: Path) -> None:
    best = (f"; best valid UA {result.best['ua']:.3f} (WA {result.best['wa']:.3f}) at step "
            f"{result.best['step']}" if result.best else "")
    typer.echo(f"{result.steps} steps in {out} ({result.runtime}): "
               f"{result.samples_per_s:.1f} samples/s, {result.audio_h_per_device_h:.1f} "
               f"audio-h/device-h{best}")


def _echo_scores(scores, where: Path) -> None:
    recall = ", ".join(f"{c} {r:.3f}" for c, r in zip(scores.classes, scores.recall)
                       if r is not None)
    typer.echo(f"WA {scores.wa:.4f}  UA {scores.ua:.4f}  (n={scores.n}); recall: {recall}")
    typer.echo(f"-> {where}")

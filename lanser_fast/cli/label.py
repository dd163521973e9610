"""The weak-labeling job: ``label`` (one process, worker processes per device, or Ray) and
``prepare`` (every model it needs, fetched and exported once)."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import List, Optional

import typer

from lanser_fast.cli import options as opt
from lanser_fast.cli.base import (
    AUDIO_INPUTS,
    app,
    comma_list,
    open_inputs,
    progress,
    run_failures,
    systemic_failures,
    usage_errors,
)
from lanser_fast.label.config import LOST_WAIT_S

PANEL = "Weak labeling"
TRANSCRIPTS = typer.Option("asr", "--transcripts", help="asr (Whisper) or manifest (the inputs' "
                                                        "transcript/text column; no ASR).")
LANGUAGES = typer.Option(None, "--languages", help="Comma-separated language codes to label "
                                                   "(en,de); other utterances get rows with "
                                                   "the reason.")
CAP_TOKENS = typer.Option(None, "--cap-tokens-per-s", min=0.1, help="Also stop decoding at this "
                          "many tokens per second of audio.")
ASR_BATCH = typer.Option(0, "--asr-batch-size", min=0, help=opt.ASR_BATCH_HELP)
WORKERS = typer.Option(1, "--workers", min=1, help="CPU: worker processes sharing the cores.")
GPUS = typer.Option(0, "--gpus", min=0, help="One worker process per GPU (0: no GPU workers).")
RAY = typer.Option(None, "--ray", help="Run as a Ray Data job on the Ray cluster at this "
                                       "address (auto, ray://host:10001, local).")
RAY_WAIT = typer.Option(LOST_WAIT_S, "--ray-wait-s", min=1.0, help="--ray: how long a job whose "
                        "cluster lost nodes waits for them while no input finishes, then stops "
                        "(exit 1; finished rows kept, the same command resumes).")
FORCE = typer.Option(False, "--force", help="Resume into a folder written with other settings "
                                            "(its rows keep theirs).")
DRY_RUN = typer.Option(False, "--dry-run", help="Check inputs, models and the output folder, "
                                                "say what would run, and stop.")


@app.command(rich_help_panel=PANEL)
def label(
    inputs: List[str] = typer.Argument(..., help=AUDIO_INPUTS[:-1] + ", or a Lhotse cuts "
                                                                     "manifest (.jsonl.gz)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder of Parquet shards, one row "
                             "per utterance or failed input (see README: Output of label), plus "
                             "_run.json. Re-running resumes."),
    asr_model: str = opt.ASR_MODEL, nli_model: Optional[str] = opt.NLI_MODEL,
    labeler: str = opt.LABELER, temperature: float = opt.TEMPERATURE,
    taxonomy: str = opt.TAXONOMY, template: str = opt.TEMPLATE,
    multi_label: bool = opt.MULTI_LABEL, transcripts: str = TRANSCRIPTS,
    languages: Optional[str] = LANGUAGES, language: Optional[str] = opt.LANGUAGE,
    max_new_tokens: int = opt.MAX_NEW_TOKENS, cap_tokens_per_s: Optional[float] = CAP_TOKENS,
    asr_batch_size: int = ASR_BATCH, compute_type: str = opt.COMPUTE_TYPE, engine: str = opt.ENGINE,
    precision: str = opt.PRECISION, empty: str = opt.EMPTY, workers: int = WORKERS,
    gpus: int = GPUS, ray: Optional[str] = RAY, force: bool = FORCE, dry_run: bool = DRY_RUN,
    stop_first: int = opt.STOP_FIRST, stop_fraction: float = opt.STOP_FRACTION,
    retry_errors: Optional[str] = opt.RETRY_ERRORS, ray_wait_s: float = RAY_WAIT,
) -> None:
    """Transcripts and weak emotion labels of a corpus: the LanSER labeling job.

    Whisper (batched across files, VAD for long audio), then the weak labeler over the taxonomy
    (NLI entailment, LanSER's; or embedding similarity).
    Every input yields its utterance rows or one error row; re-running resumes after any crash.
    """
    from lanser_fast.asr.whisper_decode import DecodeOptions
    from lanser_fast.label.output import OutputError, open_output
    from lanser_fast.label.workers import WorkerError, check_placement
    from lanser_fast.manifest.schema import ERROR_STAGES
    from lanser_fast.retry import retry_stages
    from lanser_fast.stop_guard import StopRule

    base = _base_config(engine, precision)
    with usage_errors(ValueError):
        config = replace(
            base, transcripts=transcripts, languages=comma_list(languages),
            stop=StopRule(first=stop_first, fraction=stop_fraction),
            asr=replace(base.asr, model=asr_model, compute_type=compute_type,
                        batch_size=asr_batch_size,
                        decode=DecodeOptions(language=language, max_new_tokens=max_new_tokens,
                                             token_rate_cap=cap_tokens_per_s)),
            nli=replace(base.nli, model=opt.text_model(nli_model, labeler), labeler=labeler,
                        temperature=temperature, taxonomy=taxonomy, template=template,
                        multi_label=multi_label, empty=opt.empty_label(empty)))
    with usage_errors(ValueError, hint="--workers/--gpus/--ray"):
        check_placement(workers, gpus, ray)
    with usage_errors(ValueError, hint="--retry-errors"):
        retry = retry_stages(retry_errors, ERROR_STAGES)
        if retry and (workers > 1 or gpus or ray is not None):
            raise ValueError("--retry-errors runs in one process: retry without --workers/"
                             "--gpus/--ray, then resume with them")
    items = open_inputs(inputs)
    prepared = prepare_checked(config, export=not dry_run)  # before the folder is touched
    with usage_errors(OutputError, hint="--out"):
        open_output(out, config, force=force, dry_run=True).release()
    if ray is not None:
        from lanser_fast.label.ray_job import RayUnavailable, connect

        with usage_errors(RayUnavailable, hint="--ray"):
            connect(ray)
    if dry_run:
        return _echo_dry_run(items, out, config, prepared, workers, gpus, ray)
    from lanser_fast.label.ray_job import ClusterLost

    with run_failures(WorkerError, OutputError, ClusterLost, prefix="label"), \
            systemic_failures("label"), \
            progress("label", counted=False, line="loading models") as update:
        summary = _run(items, out, config, workers, gpus, ray, force, retry, ray_wait_s,
                       lambda s: update(line=s.progress_line()))
    from rich.console import Console

    from lanser_fast.label.report import summary_tables

    console = Console(width=120)
    for table in summary_tables(summary, str(out)):
        console.print(table)


@app.command(rich_help_panel=PANEL)
def prepare(
    asr_model: str = opt.ASR_MODEL, nli_model: Optional[str] = opt.NLI_MODEL,
    labeler: str = opt.LABELER,
    engine: str = typer.Option("auto", "--engine", help="NLI engine the runs will use (its "
                                                        "export is built now)."),
    precision: str = typer.Option("auto", "--precision", help="NLI precision (int8 builds the "
                                                              "quantized export too)."),
    transcripts: str = TRANSCRIPTS,
) -> None:
    """Download, convert and export every model a label run needs, once, under file locks.

    Run it before starting N workers or a cluster job. For an offline cluster: run it where the
    hub is reachable with HF_HOME and LANSER_FAST_CACHE set to one folder, copy that folder, and
    set the same variables plus HF_HUB_OFFLINE=1 on the cluster.
    """
    from lanser_fast.cache import cache_root

    base = _base_config(engine, precision)
    with usage_errors(ValueError):
        config = replace(base, transcripts=transcripts,
                         asr=replace(base.asr, model=asr_model),
                         nli=replace(base.nli, model=opt.text_model(nli_model, labeler),
                                     labeler=labeler))
    for entry in prepare_checked(config):
        typer.echo(f"{entry.what}: {entry.model} -> {entry.where}")
    typer.echo(f"caches: HF_HOME={os.environ.get('HF_HOME', '~/.cache/huggingface')} "
               f"LANSER_FAST_CACHE={cache_root()}")


def _base_config(engine: str, precision: str):
    """The default ``LabelConfig`` with the NLI engine and precision checked and set."""
    from lanser_fast.label.config import LabelConfig
    from lanser_fast.nli.engines import EngineUnavailable, resolve_engine

    with usage_errors(EngineUnavailable, hint="--engine/--precision"):
        resolve_engine(engine, precision)
    defaults = LabelConfig()
    return replace(defaults, nli=replace(defaults.nli, engine=engine, precision=precision))


def prepare_checked(config, export: bool = True) -> list:
    """Every model resolved (downloaded, converted, exported) before any input is read."""
    from lanser_fast.asr.models import WhisperModelError
    from lanser_fast.label.prepare import prepare_models
    from lanser_fast.nli.embedding import EncoderNotFound
    from lanser_fast.nli.models import ModelNotFound
    from lanser_fast.nli.semantics import LabelMapError
    from lanser_fast.shelf import ShelfError
    from lanser_fast.taxonomy import TaxonomyError

    with usage_errors((WhisperModelError, "--asr-model"),
                      ((ModelNotFound, EncoderNotFound, LabelMapError), "--nli-model"),
                      (TaxonomyError, "--taxonomy"), ShelfError):
        return prepare_models(config, export=export)


def _run(items, out, config, workers, gpus, ray, force, retry, ray_wait_s, on_progress):
    """The run itself: a Ray job, or here (one process: its models loaded first, so a bad
    setting fails as a usage error before the output folder is touched)."""
    if ray is not None:
        from lanser_fast.label.ray_job import label_with_ray

        return label_with_ray(items, out, config, address=ray, force=force,
                              on_progress=on_progress, lost_wait_s=ray_wait_s)
    from lanser_fast.label.corpus import label_corpus
    from lanser_fast.label.pipeline import Labeler

    labeler = None
    if workers == 1 and not gpus:
        with usage_errors(ValueError):
            labeler = Labeler(config)
    try:
        return label_corpus(items, out, config, workers=workers, gpus=gpus, force=force,
                            labeler=labeler, on_progress=on_progress, retry_errors=retry)
    finally:
        if labeler is not None:
            labeler.close()


def _echo_dry_run(items, out, config, prepared, workers, gpus, ray) -> None:
    from lanser_fast.label.prepare import dry_run

    plan = dry_run(items, out)
    typer.echo(f"dry run: {plan.inputs} inputs ({plan.problems} manifest rows that will be error "
               f"rows), {plan.done} already in {out}, {plan.inputs - plan.done} to label")
    for entry in prepared:
        typer.echo(f"  {entry.what}: {entry.model} -> {entry.where}")
    where = f"Ray cluster {ray}" if ray else (f"{gpus} GPU worker(s)" if gpus else
                                               f"{workers} CPU worker process(es)")
    typer.echo(f"  would run on {where}; taxonomy {config.nli.taxonomy}, prompt "
               f"{config.nli.template!r}, transcripts from {config.transcripts}")


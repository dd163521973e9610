"""The ``lanser-fast`` command: parse, build a config, call the library, show progress.

Heavy imports live inside each command so ``lanser-fast --help`` stays instant.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, List, Optional

import typer

app = typer.Typer(
    name="lanser-fast",
    help="LanSER at scale: decode speech corpora, and (stage by stage) transcribe, weak-label "
         "and train speech-emotion models. Every command reports throughput in audio-hours per "
         "device-hour.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


AUDIO_INPUTS_AS_FOR_DECODE = ("Audio files, folders, manifests, Parquet with embedded audio, "
                              ".tar shards, globs or fsspec URLs (as for 'decode').")


@app.command()
def doctor(
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON instead of a "
                                                       "table."),
) -> None:
    """Show what this machine can run, with versions and what each missing piece disables.

    Covers torch and CUDA, DALI, Triton, TensorRT, CTranslate2 devices and compute types, ONNX
    Runtime providers, PyAV/FFmpeg, libsndfile, espeak-ng and ffmpeg.
    """
    from lanser_fast.doctor import run_checks

    checks = run_checks()
    if as_json:
        typer.echo(json.dumps([c.as_dict() for c in checks], indent=2))
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="lanser-fast doctor")
    for column in ("component", "version", "status", "found", "without it"):
        table.add_column(column, overflow="fold")
    for c in checks:
        table.add_row(escape(c.name), escape(c.version or "-"),
                      "[green]ok[/]" if c.ok else "[yellow]missing[/]", escape(c.detail),
                      escape(c.disables))
    Console().print(table)


@app.command()
def decode(
    inputs: List[str] = typer.Argument(..., help="Audio files, folders (searched recursively), "
                                                  "JSONL/CSV/TSV/Parquet manifests (column "
                                                  "'path'; optional id, offset_s, duration_s), "
                                                  "Parquet with embedded audio, .tar shards "
                                                  "(WebDataset), globs or fsspec URLs."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder of Parquet shards (one "
                                                      "row per input: id, path, offset_s, "
                                                      "duration_s, audio_flags, error_stage, "
                                                      "error) plus _run.json. Re-running skips "
                                                      "ids already there."),
    wav_dir: Optional[Path] = typer.Option(None, "--wav-dir", help="Also write each decoded "
                                                                   "utterance as 32-bit float "
                                                                   "mono WAV '<id>.wav' here."),
    sample_rate: int = typer.Option(16000, "--sample-rate", min=1000, max=384000,
                                    help="Output sample rate in Hz."),
    threads: int = typer.Option(0, "--threads", min=0, help="Decode threads (0: one per CPU)."),
) -> None:
    """Decode audio to 16 kHz mono float32: one row per input, throughput printed.

    Any format, sample rate and channel count. Each input yields one row: a result, or an error
    row naming the reason (the run goes on). Re-running the same command resumes.
    """
    from lanser_fast.audio.corpus import decode_corpus

    items = _open_inputs(inputs)
    with _row_progress("decode") as on_row:
        summary = decode_corpus(items, out, threads=threads, wav_dir=wav_dir,
                                sample_rate=sample_rate, on_row=on_row)
    _echo_rows(summary, out)
    typer.echo(f"decoded {summary.audio_s / 3600:.4f} audio-hours in {summary.wall_s:.2f} s "
               f"with {summary.threads} threads: "
               f"{summary.audio_hours_per_device_hour:,.0f} audio-hours per device-hour")


@app.command()
def features(
    inputs: List[str] = typer.Argument(..., help=AUDIO_INPUTS_AS_FOR_DECODE),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder of Parquet shards: one row "
                                                      "per input with id, path, offset_s, "
                                                      "duration_s, audio_flags, preset, n_mels, "
                                                      "n_frames and 'features' (the n_mels x "
                                                      "n_frames float32 matrix, row-major), or "
                                                      "error_stage/error; plus _run.json. "
                                                      "Re-running skips ids already there."),
    preset: str = typer.Option("whisper-80", "--preset", help="whisper-80 or whisper-128 "
                                                              "(Whisper's exact features, 3000 "
                                                              "frames up to 30 s) or ser-64."),
    batch_size: int = typer.Option(16, "--batch-size", min=1, help="Utterances per log-mel "
                                                                   "call."),
    threads: int = typer.Option(0, "--threads", min=0, help="Decode and log-mel threads (0: "
                                                            "one per CPU)."),
    backend: str = typer.Option("auto", "--backend", help="auto (compiled CPU op; Triton on "
                                                          "CUDA), csrc or ref (torch "
                                                          "reference)."),
) -> None:
    """Log-mel features of a corpus (Whisper-exact or SER), with throughput.

    Each input yields one row: its features, or an error row naming the reason (the run goes
    on). Re-running the same command resumes.
    """
    from lanser_fast.features import BACKENDS, PRESETS
    from lanser_fast.features.corpus import features_corpus

    if preset not in PRESETS:
        raise typer.BadParameter(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}",
                                 param_hint="--preset")
    if backend not in BACKENDS or backend == "triton":
        raise typer.BadParameter(f"unknown backend {backend!r}; choose auto, csrc or ref "
                                 "(auto picks Triton for CUDA)", param_hint="--backend")
    if backend == "csrc":
        from lanser_fast import compiled

        if not compiled.available():
            raise typer.BadParameter(f"the compiled op is not available "
                                     f"({compiled.load_error()}); reinstall lanser-fast with a "
                                     "C++ compiler, or use --backend ref", param_hint="--backend")
    items = _open_inputs(inputs)
    with _row_progress(f"features {preset}") as on_row:
        try:
            summary = features_corpus(items, out, preset, batch_size=batch_size,
                                      threads=threads, backend=backend, on_row=on_row)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--out") from None
    _echo_rows(summary, out)
    typer.echo(f"{summary.audio_s / 3600:.4f} audio-hours in {summary.wall_s:.2f} s with "
               f"{summary.threads} threads: {summary.audio_hours_per_device_hour:,.0f} "
               f"audio-hours per device-hour end to end (decode + features + write); log-mel "
               f"alone {summary.features_audio_hours_per_device_hour:,.0f}")


@app.command()
def transcribe(
    inputs: List[str] = typer.Argument(..., help=AUDIO_INPUTS_AS_FOR_DECODE),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder of Parquet shards: one row "
                                                      "per utterance (id, path, offset_s, "
                                                      "duration_s, audio_flags, transcript, "
                                                      "language, asr_avg_logprob, "
                                                      "no_speech_prob, asr_flags, asr_model) or "
                                                      "per failed input (error_stage, error); "
                                                      "plus _run.json. Re-running resumes."),
    model: str = typer.Option("large-v3-turbo", "--model", help="faster-whisper name (tiny … "
                                                                "large-v3, large-v3-turbo, "
                                                                "distil-large-v3), hub id, "
                                                                "CTranslate2 folder or Hugging "
                                                                "Face Whisper folder."),
    language: Optional[str] = typer.Option(None, "--language", help="Language code (en, de, "
                                                                    "…); default: detected per "
                                                                    "utterance."),
    task: str = typer.Option("transcribe", "--task", help="transcribe or translate."),
    beam_size: int = typer.Option(1, "--beam-size", min=1, help="Beam width (1: greedy)."),
    max_new_tokens: int = typer.Option(224, "--max-new-tokens", min=1, max=448,
                                       help="Tokens decoded per utterance at most."),
    batch_size: int = typer.Option(0, "--batch-size", min=0, help="Utterances (from any "
                                                                  "files) per model call (0: 4 "
                                                                  "per CPU core, 16 on "
                                                                  "CUDA)."),
    device: str = typer.Option("auto", "--device", help="auto (CUDA when CTranslate2 sees a "
                                                        "GPU), cpu, cuda or cuda:N."),
    compute_type: str = typer.Option("auto", "--compute-type", help="auto (int8 on CPU, "
                                                                    "float16 on CUDA), "
                                                                    "int8_float32, float32, "
                                                                    "int8_float16, …"),
    threads: int = typer.Option(0, "--threads", min=0, help="CPU: batches decoded at once, one "
                                                            "core each (0: one per core)."),
    vad_threshold: float = typer.Option(0.5, "--vad-threshold", help="Silero VAD speech "
                                                                     "probability (files over "
                                                                     "30 s)."),
    vad_min_silence_ms: int = typer.Option(500, "--vad-min-silence-ms", min=0,
                                           help="Silence that ends a speech chunk."),
    vad_pad_ms: int = typer.Option(200, "--vad-pad-ms", min=0, help="Padding on both sides of "
                                                                    "each speech chunk."),
    no_speech_threshold: float = typer.Option(0.6, "--no-speech-threshold",
                                              help="Flag no_speech above this no-speech "
                                                   "probability (with a low log-prob)."),
    logprob_threshold: float = typer.Option(-1.0, "--logprob-threshold",
                                            help="no_speech needs the average token log-prob "
                                                 "below this too."),
    compression_ratio_threshold: float = typer.Option(2.4, "--compression-ratio-threshold",
                                                      help="Flag repetition above this "
                                                           "compression ratio."),
    max_tokens_per_s: float = typer.Option(12.0, "--max-tokens-per-s",
                                           help="Flag too_many_tokens above this rate."),
) -> None:
    """Whisper transcripts of a corpus, batched across files, VAD for files over 30 s.

    Utterances of many files share each CTranslate2 batch. Guards flag Whisper's failure modes
    in asr_flags (no_speech, repetition, too_many_tokens, max_tokens, vad_no_speech) without
    dropping rows. Each failed input is an error row; the run goes on.
    """
    from lanser_fast.asr.corpus import transcribe_corpus
    from lanser_fast.asr.guards import GuardConfig
    from lanser_fast.asr.models import WhisperModelError
    from lanser_fast.asr.transcriber import TranscribeConfig, Transcriber
    from lanser_fast.asr.vad import VadConfig
    from lanser_fast.asr.whisper_decode import DecodeOptions

    if task not in ("transcribe", "translate"):
        raise typer.BadParameter(f"unknown task {task!r}; choose transcribe or translate",
                                 param_hint="--task")
    try:
        config = TranscribeConfig(
            model=model, device=device, compute_type=compute_type, batch_size=batch_size,
            threads=threads,
            decode=DecodeOptions(language=language, task=task, beam_size=beam_size,
                                 max_new_tokens=max_new_tokens),
            vad=VadConfig(threshold=vad_threshold, min_silence_ms=vad_min_silence_ms,
                          speech_pad_ms=vad_pad_ms),
            guards=GuardConfig(no_speech_threshold=no_speech_threshold,
                               logprob_threshold=logprob_threshold,
                               compression_ratio_threshold=compression_ratio_threshold,
                               max_tokens_per_s=max_tokens_per_s))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    items = _open_inputs(inputs)
    try:
        transcriber = Transcriber(config)
    except WhisperModelError as exc:
        raise typer.BadParameter(str(exc), param_hint="--model") from None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--device/--compute-type/--language") \
            from None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("transcribe"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[audio]}"), TimeElapsedColumn()) as progress:
        bar = progress.add_task("transcribe", total=None, audio="")

        def on_file(summary) -> None:
            progress.update(bar, completed=summary.files,
                            audio=f"{summary.audio_s / 3600:.3f} audio-h, "
                                  f"{summary.audio_hours_per_device_hour:,.1f} audio-h per "
                                  "device-h")

        try:
            summary = transcribe_corpus(items, out, transcriber=transcriber, on_file=on_file)
        finally:
            transcriber.close()
    errors = ", ".join(f"{k} {v}" for k, v in summary.errors.most_common()) or "none"
    flags = ", ".join(f"{k} {v}" for k, v in summary.flags.most_common()) or "none"
    typer.echo(f"{summary.rows} rows for {summary.files} inputs written to {out} "
               f"({summary.skipped} already done); errors: {errors}; asr_flags: {flags}")
    typer.echo(f"{summary.audio_s / 3600:.4f} audio-hours ({summary.speech_s / 3600:.4f} given "
               f"to Whisper) in {summary.wall_s:.2f} s on {summary.device} "
               f"({transcriber.decoder.compute_type}): "
               f"{summary.audio_hours_per_device_hour:,.1f} audio-hours per device-hour")


DEFAULT_NLI_MODEL = "FacebookAI/roberta-large-mnli"
TAXONOMY_HELP = ("Built-in taxonomy (iemocap4, cremad6, ekman7, goemotions28) or a taxonomy file "
                 "(.txt, .yaml).")


@app.command()
def label(
    inputs: List[str] = typer.Argument(..., help=AUDIO_INPUTS_AS_FOR_DECODE[:-1] + ", or a "
                                                  "Lhotse cuts manifest (.jsonl.gz)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder of Parquet shards, one row "
                                                      "per utterance or failed input (see "
                                                      "README: Output of label), plus "
                                                      "_run.json. Re-running resumes."),
    asr_model: str = typer.Option("large-v3-turbo", "--asr-model", help="Whisper: "
                                                                        "faster-whisper name, "
                                                                        "hub id, CTranslate2 or "
                                                                        "Hugging Face folder."),
    nli_model: str = typer.Option(DEFAULT_NLI_MODEL, "--nli-model", help="NLI model: hub id or "
                                                                         "folder."),
    taxonomy: str = typer.Option("goemotions28", "--taxonomy", help=TAXONOMY_HELP),
    template: str = typer.Option("The emotion of the conversation is {}.", "--template",
                                 help="Hypothesis template; {} is the label's prompt word."),
    multi_label: bool = typer.Option(False, "--multi-label", help="Independent per-label "
                                                                  "scores."),
    transcripts: str = typer.Option("asr", "--transcripts", help="asr (Whisper) or manifest "
                                                                 "(the inputs' transcript/text "
                                                                 "column; no ASR)."),
    languages: Optional[str] = typer.Option(None, "--languages", help="Comma-separated "
                                                                      "language codes to label "
                                                                      "(en,de); other "
                                                                      "utterances get rows "
                                                                      "with the reason."),
    language: Optional[str] = typer.Option(None, "--language", help="Whisper language (default: "
                                                                    "detected)."),
    max_new_tokens: int = typer.Option(224, "--max-new-tokens", min=1, max=448,
                                       help="Whisper tokens per utterance at most."),
    cap_tokens_per_s: Optional[float] = typer.Option(None, "--cap-tokens-per-s", min=0.1,
                                                     help="Also stop decoding at this many "
                                                          "tokens per second of audio."),
    asr_batch_size: int = typer.Option(0, "--asr-batch-size", min=0, help="Utterances per "
                                                                          "Whisper call (0: 4 "
                                                                          "per CPU core, 16 on "
                                                                          "CUDA)."),
    compute_type: str = typer.Option("auto", "--compute-type", help="Whisper compute type "
                                                                    "(auto: int8 on CPU, "
                                                                    "float16 on CUDA)."),
    engine: str = typer.Option("auto", "--engine", help="NLI engine: auto (torch on CUDA, "
                                                        "onnxruntime on CPU), torch, "
                                                        "onnxruntime, tensorrt."),
    precision: str = typer.Option("auto", "--precision", help="NLI precision: auto (exact "
                                                              "fp32; tensorrt fp16), fp32, int8 "
                                                              "(onnxruntime: the fast CPU path), "
                                                              "bf16/fp16."),
    empty: str = typer.Option("null", "--empty", help="Label of empty transcripts: null or a "
                                                      "taxonomy label."),
    workers: int = typer.Option(1, "--workers", min=1, help="CPU: worker processes sharing the "
                                                            "cores."),
    gpus: int = typer.Option(0, "--gpus", min=0, help="One worker process per GPU (0: no GPU "
                                                      "workers)."),
    ray: Optional[str] = typer.Option(None, "--ray", help="Run as a Ray Data job on the Ray "
                                                          "cluster at this address (auto, "
                                                          "ray://host:10001, local)."),
    force: bool = typer.Option(False, "--force", help="Resume into a folder written with other "
                                                      "settings (its rows keep theirs)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check inputs, models and the output "
                                                          "folder, say what would run, and "
                                                          "stop."),
) -> None:
    """Transcripts and weak emotion labels of a corpus: the LanSER labeling job.

    Whisper (batched across files, VAD for long audio) then NLI entailment over the taxonomy.
    Every input yields its utterance rows or one error row; re-running resumes after any crash.
    """
    config = _label_config(asr_model, nli_model, taxonomy, template, multi_label, transcripts,
                           languages, language, max_new_tokens, cap_tokens_per_s,
                           asr_batch_size, compute_type, engine, precision, empty)
    if gpus:
        _check_gpus(gpus)
    if ray is not None and (gpus or workers > 1):
        raise typer.BadParameter("--ray schedules workers on the cluster itself; drop "
                                 "--workers/--gpus", param_hint="--ray")
    items = _open_inputs(inputs)
    from lanser_fast.label.output import OutputError, open_output

    try:
        open_output(out, config, force=force, dry_run=True).release()
    except OutputError as exc:
        raise typer.BadParameter(str(exc), param_hint="--out") from None
    prepared = _prepare(config, export=not dry_run)
    if ray is not None:
        from lanser_fast.label.ray_job import RayUnavailable, connect, label_with_ray

        try:
            connect(ray)
        except RayUnavailable as exc:
            raise typer.BadParameter(str(exc), param_hint="--ray") from None
    if dry_run:
        _dry_run(items, out, config, prepared, workers, gpus, ray)
        return
    from lanser_fast.label.workers import WorkerError

    try:
        if ray is not None:
            summary = _with_progress(lambda on_progress: label_with_ray(
                items, out, config, address=ray, force=force, on_progress=on_progress))
        else:
            summary = _label_here(items, out, config, workers, gpus, force)
    except (WorkerError, OutputError) as exc:
        typer.echo(f"label: {exc}", err=True)
        raise typer.Exit(1) from None
    from rich.console import Console

    from lanser_fast.label.report import summary_tables

    console = Console(width=120)
    for table in summary_tables(summary, str(out)):
        console.print(table)


def _label_config(asr_model, nli_model, taxonomy, template, multi_label, transcripts,
                  languages, language, max_new_tokens, cap_tokens_per_s, asr_batch_size,
                  compute_type, engine, precision, empty):
    from lanser_fast.asr.transcriber import TranscribeConfig
    from lanser_fast.asr.whisper_decode import DecodeOptions
    from lanser_fast.label.config import LabelConfig
    from lanser_fast.nli.engines import EngineUnavailable, resolve_engine
    from lanser_fast.nli.scorer import ScoreConfig

    try:
        resolve_engine(engine, precision)
    except EngineUnavailable as exc:
        raise typer.BadParameter(str(exc), param_hint="--engine/--precision") from None
    codes = tuple(c.strip() for c in (languages or "").split(",") if c.strip())
    try:
        return LabelConfig(
            asr=TranscribeConfig(model=asr_model, compute_type=compute_type,
                                 batch_size=asr_batch_size,
                                 decode=DecodeOptions(language=language,
                                                      max_new_tokens=max_new_tokens,
                                                      token_rate_cap=cap_tokens_per_s)),
            nli=ScoreConfig(model=nli_model, taxonomy=taxonomy, template=template,
                            multi_label=multi_label, engine=engine, precision=precision,
                            empty=None if empty == "null" else empty),
            transcripts=transcripts, languages=codes)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def _check_gpus(gpus: int) -> None:
    import ctranslate2
    import torch

    seen = min(ctranslate2.get_cuda_device_count(), torch.cuda.device_count())
    if gpus > seen:
        raise typer.BadParameter(f"--gpus {gpus}, but this machine has {seen} CUDA device(s) "
                                 "usable by CTranslate2 and torch; use --gpus "
                                 f"{seen}" + (" or --workers N on CPU" if not seen else ""),
                                 param_hint="--gpus")


def _prepare(config, export: bool = True) -> list:
    """Every model resolved (downloaded, converted, exported) before any input is read."""
    from lanser_fast.asr.models import WhisperModelError
    from lanser_fast.label.prepare import prepare_models
    from lanser_fast.nli.models import ModelNotFound
    from lanser_fast.taxonomy import TaxonomyError, load_taxonomy

    try:
        load_taxonomy(config.nli.taxonomy)
        return prepare_models(config, export=export)
    except WhisperModelError as exc:
        raise typer.BadParameter(str(exc), param_hint="--asr-model") from None
    except ModelNotFound as exc:
        raise typer.BadParameter(str(exc), param_hint="--nli-model") from None
    except TaxonomyError as exc:
        raise typer.BadParameter(str(exc), param_hint="--taxonomy") from None


def _dry_run(items, out, config, prepared, workers, gpus, ray) -> None:
    from lanser_fast.asr.corpus import done_inputs

    done = done_inputs(out)
    total = problems = already = 0
    for item in items:
        total += 1
        problems += item.problem is not None
        already += item.id in done
    typer.echo(f"dry run: {total} inputs ({problems} manifest rows that will be error rows), "
               f"{already} already in {out}, {total - already} to label")
    for entry in prepared:
        typer.echo(f"  {entry.what}: {entry.model} -> {entry.where}")
    where = f"Ray cluster {ray}" if ray else (f"{gpus} GPU worker(s)" if gpus else
                                               f"{workers} CPU worker process(es)")
    typer.echo(f"  would run on {where}; taxonomy {config.nli.taxonomy}, prompt "
               f"{config.nli.template!r}, transcripts from {config.transcripts}")


def _label_here(items, out, config, workers, gpus, force):
    from lanser_fast.label.pipeline import Labeler
    from lanser_fast.label.run import label_corpus

    labeler = None
    if workers == 1 and not gpus:
        try:
            labeler = Labeler(config)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
    try:
        return _with_progress(lambda on_progress: label_corpus(
            items, out, config, workers=workers, gpus=gpus, force=force, labeler=labeler,
            on_progress=on_progress))
    finally:
        if labeler is not None:
            labeler.close()


def _with_progress(run):
    """``run(on_progress)`` under a progress bar: inputs, rows, audio-hours, throughput,
    errors."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("label"), TextColumn("{task.fields[line]}"),
                  TimeElapsedColumn()) as progress:
        bar = progress.add_task("label", total=None, line="loading models")

        def on_progress(summary) -> None:
            progress.update(bar, line=(
                f"{summary.files:,} inputs, {summary.rows:,} rows, "
                f"{summary.audio_s / 3600:.3f} audio-h, "
                f"{summary.audio_hours_per_device_hour:,.1f} audio-h/device-h, "
                f"{sum(summary.errors.values()):,} errors"))

        return run(on_progress)


@app.command()
def prepare(
    asr_model: str = typer.Option("large-v3-turbo", "--asr-model", help="Whisper model (as for "
                                                                        "label)."),
    nli_model: str = typer.Option(DEFAULT_NLI_MODEL, "--nli-model", help="NLI model."),
    engine: str = typer.Option("auto", "--engine", help="NLI engine the runs will use (its "
                                                        "export is built now)."),
    precision: str = typer.Option("auto", "--precision", help="NLI precision (int8 builds the "
                                                              "quantized export too)."),
    transcripts: str = typer.Option("asr", "--transcripts", help="manifest: no Whisper "
                                                                 "needed."),
) -> None:
    """Download, convert and export every model a label run needs, once, under file locks.

    Run it before starting N workers or a cluster job. For an offline cluster: run it where the
    hub is reachable with HF_HOME and LANSER_FAST_CACHE set to one folder, copy that folder, and
    set the same variables plus HF_HUB_OFFLINE=1 on the cluster.
    """
    import os

    config = _label_config(asr_model, nli_model, "goemotions28", "{}", False, transcripts,
                           None, None, 224, None, 0, "auto", engine, precision, "null")
    for entry in _prepare(config):
        typer.echo(f"{entry.what}: {entry.model} -> {entry.where}")
    from lanser_fast.cache import cache_root

    typer.echo(f"caches: HF_HOME={os.environ.get('HF_HOME', '~/.cache/huggingface')} "
               f"LANSER_FAST_CACHE={cache_root()}")


@app.command()
def export(
    results: Path = typer.Argument(..., help="A results folder (label, transcribe or decode "
                                             "output), or a trained model: a checkpoint (.pt) "
                                             "or training run folder."),
    out: Path = typer.Option(..., "--out", "-o", help="Results: .jsonl, .csv, or .jsonl.gz (a "
                                                      "Lhotse CutSet). A model: .onnx, or "
                                                      ".pt/.ts (TorchScript), with a .json "
                                                      "sidecar of classes and front end."),
    fmt: Optional[str] = typer.Option(None, "--format", help="Results: jsonl, csv or cutset "
                                                             "(default: from the suffix)."),
) -> None:
    """Convert results to JSONL, CSV or a Lhotse CutSet (error rows skipped there), or export a
    trained model as ONNX or TorchScript."""
    from lanser_fast.manifest.export import export_results

    if results.suffix == ".pt" or (results / "last.pt").is_file() or \
            (results / "best.pt").is_file():
        from lanser_fast.cli_train import export_model_command

        export_model_command(results, out)
        return

    try:
        summary = export_results(results, out, fmt)
    except (ValueError, FileNotFoundError, ImportError) as exc:
        raise typer.BadParameter(str(exc)) from None
    typer.echo(f"{summary.rows} rows written to {out} ({summary.fmt}); "
               f"{summary.skipped_errors} skipped")
    for problem in summary.problems:
        typer.echo(f"  skipped: {problem}")


@app.command()
def score(
    inputs: List[str] = typer.Argument(..., help="JSONL, CSV, TSV or Parquet files with a text "
                                                  "column, or '-' for one text per line on "
                                                  "stdin."),
    out: Path = typer.Option(..., "--out", "-o", help="Output file: .parquet, else JSONL. "
                                                      "Columns: id, text, weak_label, "
                                                      "weak_score, scores (taxonomy order), "
                                                      "top_k, reason, taxonomy, prompt, "
                                                      "nli_model."),
    column: str = typer.Option("transcript", "--column", help="Text column of the inputs."),
    id_column: str = typer.Option("id", "--id-column", help="Id column (row number when "
                                                            "absent)."),
    model: str = typer.Option("FacebookAI/roberta-large-mnli", "--model", help="NLI model: hub "
                                                                               "id or folder."),
    taxonomy: str = typer.Option("goemotions28", "--taxonomy", help="Built-in taxonomy "
                                                                   "(iemocap4, cremad6, "
                                                                   "ekman7, goemotions28) or a "
                                                                   "taxonomy file (.txt, "
                                                                   ".yaml)."),
    template: str = typer.Option("The emotion of the conversation is {}.", "--template",
                                 help="Hypothesis template; {} is the label's prompt word."),
    multi_label: bool = typer.Option(False, "--multi-label", help="Independent per-label "
                                                                  "scores (entailment vs "
                                                                  "contradiction)."),
    engine: str = typer.Option("auto", "--engine", help="auto (torch on CUDA, onnxruntime on "
                                                        "CPU), torch, onnxruntime, or tensorrt "
                                                        "(experimental, CUDA)."),
    precision: str = typer.Option("auto", "--precision", help="auto (the engine's default: "
                                                              "fp32, exact; tensorrt fp16), "
                                                              "fp32, int8 (onnxruntime), "
                                                              "bf16/fp16 (torch), fp16 "
                                                              "(tensorrt)."),
    top_k: int = typer.Option(3, "--top-k", min=1, help="Labels kept in the top_k column."),
    empty: str = typer.Option("null", "--empty", help="Label of empty transcripts: null (no "
                                                      "label, with the reason) or a taxonomy "
                                                      "label such as neutral."),
) -> None:
    """Weak emotion labels for texts by textual entailment (the HF pipeline's scores, faster).

    Each input text yields one row; empty texts get a row with the reason.
    """
    import time

    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from lanser_fast.nli.engines import EngineUnavailable, resolve_engine
    from lanser_fast.nli.models import ModelNotFound
    from lanser_fast.nli.scorer import EntailmentScorer, ScoreConfig
    from lanser_fast.nli.texts import ScoreWriter, TextInputError, TextSource
    from lanser_fast.taxonomy import TaxonomyError

    try:
        resolve_engine(engine, precision)
    except EngineUnavailable as exc:
        raise typer.BadParameter(str(exc), param_hint="--engine/--precision") from None
    try:
        sources = [TextSource(spec, column, id_column) for spec in inputs]
    except TextInputError as exc:
        raise typer.BadParameter(str(exc), param_hint="INPUTS") from None
    config = ScoreConfig(model=model, taxonomy=taxonomy, template=template,
                         multi_label=multi_label, engine=engine, precision=precision,
                         top_k=top_k, empty=None if empty == "null" else empty)
    try:
        scorer = EntailmentScorer(config)
    except (ModelNotFound, TaxonomyError) as exc:
        raise typer.BadParameter(str(exc), param_hint="--model/--taxonomy") from None
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    writer = ScoreWriter(out)
    started, done = time.perf_counter(), 0
    with Progress(TextColumn("score"), BarColumn(), TextColumn("{task.completed} texts"),
                  TextColumn("{task.fields[rate]}"), TimeElapsedColumn()) as progress:
        task = progress.add_task("score", total=None, rate="")
        for source in sources:
            for chunk in source.chunks():
                results = scorer.score([row["text"] for row in chunk])
                writer.write([_score_row(row, result, scorer) for row, result in
                              zip(chunk, results)])
                done += len(chunk)
                seconds = time.perf_counter() - started
                progress.update(task, advance=len(chunk),
                                rate=f"{done / seconds:.1f} texts/s, "
                                     f"{scorer.stats.pairs / seconds:.0f} pairs/s")
    writer.close()
    seconds = time.perf_counter() - started
    stats = scorer.stats
    typer.echo(f"{done} rows written to {out}: {stats.distinct} distinct transcripts scored, "
               f"{stats.cached} repeats answered from the cache; {stats.pairs} pairs in "
               f"{seconds:.2f} s ({stats.pairs / max(seconds, 1e-9):.0f} pairs/s, "
               f"{done / max(seconds, 1e-9):.1f} texts/s) with {scorer.engine.name}")


def _score_row(row: dict, result, scorer) -> dict:
    return {
        "id": row["id"], "text": row["text"], "weak_label": result.label,
        "weak_score": result.score, "scores": list(result.scores) if result.scores else None,
        "top_k": [{"label": label, "score": value} for label, value in result.top_k],
        "reason": result.reason, "taxonomy": scorer.taxonomy.name,
        "prompt": scorer.config.template, "nli_model": scorer.config.model,
    }


@app.command()
def prompts(
    labeled: Path = typer.Argument(..., help="Labeled texts: JSONL/CSV/TSV/Parquet with a text "
                                             "and a label column."),
    template: Optional[List[str]] = typer.Option(None, "--template", help="A template to "
                                                                          "evaluate "
                                                                          "(repeatable; "
                                                                          "default: five "
                                                                          "common ones)."),
    column: str = typer.Option("text", "--column", help="Text column."),
    label_column: str = typer.Option("label", "--label-column", help="Gold label column: "
                                                                     "labels of the taxonomy, "
                                                                     "or of the coarser one it "
                                                                     "maps onto."),
    model: str = typer.Option("FacebookAI/roberta-large-mnli", "--model", help="NLI model."),
    taxonomy: str = typer.Option("goemotions28", "--taxonomy", help="Taxonomy name or file."),
    engine: str = typer.Option("auto", "--engine", help="auto, torch, onnxruntime or tensorrt "
                                                        "(experimental)."),
) -> None:
    """Accuracy and unweighted recall of prompt templates on labeled text (zero-shot)."""
    from rich.console import Console
    from rich.table import Table

    from lanser_fast.nli.models import ModelNotFound
    from lanser_fast.nli.prompts import TEMPLATES, evaluate_templates
    from lanser_fast.nli.scorer import ScoreConfig
    from lanser_fast.nli.texts import TextInputError, TextSource
    from lanser_fast.taxonomy import TaxonomyError

    try:
        rows = list(TextSource(str(labeled), column, None, label_column).rows())
    except TextInputError as exc:
        raise typer.BadParameter(str(exc), param_hint="LABELED") from None
    templates = template or list(TEMPLATES)
    bad = [t for t in templates if "{}" not in t]
    if bad:
        raise typer.BadParameter(f"templates need a '{{}}' for the label: {bad}",
                                 param_hint="--template")
    config = ScoreConfig(model=model, taxonomy=taxonomy, engine=engine)
    try:
        results = evaluate_templates(config, [r["text"] for r in rows],
                                     [str(r["label"]) for r in rows], templates)
    except (ModelNotFound, TaxonomyError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from None
    table = Table(title=f"{len(rows)} labeled texts, taxonomy {taxonomy}, model {model}")
    for name in ("template", "accuracy", "unweighted recall"):
        table.add_column(name)
    for r in results:
        table.add_row(r.template, f"{r.accuracy:.3f}", f"{r.unweighted_recall:.3f}")
    Console(width=200).print(table)


@app.command("bench-report")
def bench_report(
    record: Path = typer.Argument(..., exists=True, dir_okay=False,
                                  help="A benchmark record (JSON written by the benchmarks/ "
                                       "suites)."),
    readme: Optional[Path] = typer.Option(None, "--readme", help="Replace the table between the "
                                                                 "bench-table markers of this "
                                                                 "file instead of printing."),
    block: Optional[str] = typer.Option(None, "--block", help="With --readme: the named block "
                                                              "(<!-- bench-table:NAME:start "
                                                              "-->) instead of the main one, "
                                                              "for a stage benchmarked in a "
                                                              "record of its own."),
) -> None:
    """Render a benchmark record as the Markdown table of the README.

    Ours vs the references measured in the same run, with the machine named.
    """
    from lanser_fast.bench import Record, markdown_table, update_readme

    try:
        loaded = Record.load(record)
    except (ValueError, KeyError, json.JSONDecodeError) as exc:
        raise typer.BadParameter(f"{record}: {exc}", param_hint="RECORD") from None
    if readme is None:
        typer.echo(markdown_table(loaded), nl=False)
        return
    try:
        update_readme(readme, loaded, block)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--readme") from None
    typer.echo(f"updated the benchmark table in {readme}")


def _open_inputs(inputs: List[str]):
    """The audio items of INPUTS; a manifest that cannot be read fails before any work."""
    from lanser_fast.manifest import ManifestError, open_inputs

    try:
        return open_inputs(inputs)
    except ManifestError as exc:
        raise typer.BadParameter(str(exc), param_hint="INPUTS") from None


@contextmanager
def _row_progress(label: str) -> Iterator[Callable[[dict], None]]:
    """A progress bar of rows written and the audio they hold; yields the per-row callback."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[audio]}"), TimeElapsedColumn()) as progress:
        task = progress.add_task(label, total=None, audio="")
        audio_s = 0.0

        def on_row(row: dict) -> None:
            nonlocal audio_s
            if not row["error"]:
                audio_s += row["duration_s"]
            progress.update(task, advance=1, audio=f"{audio_s / 60:.1f} min of audio")

        yield on_row


def _echo_rows(summary, out: Path) -> None:
    errors = ", ".join(f"{k} {v}" for k, v in summary.errors.most_common()) or "none"
    typer.echo(f"{summary.rows} rows written to {out} ({summary.skipped} already done); "
               f"errors: {errors}")


# The training and benchmark commands register themselves on `app` (modules of their own: this
# one is long).
from lanser_fast import cli_bench, cli_train  # noqa: E402,F401


def main() -> None:
    app()


if __name__ == "__main__":
    main()

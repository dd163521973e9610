"""Commands that run one stage on its own: ``doctor``, ``decode``, ``features``, ``transcribe``,
``score``, ``prompts``, ``export``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from lanser_fast.audio.decode import SAMPLE_RATE
from lanser_fast.cli import options as opt
from lanser_fast.cli.base import (
    AUDIO_INPUTS,
    app,
    echo_rows,
    fail,
    open_inputs,
    progress,
    row_progress,
    run_failures,
    systemic_failures,
    usage_errors,
)
from lanser_fast.features import DEFAULT_PRESET
from lanser_fast.features.corpus import BATCH_SIZE
from lanser_fast.run_output import OutputError

PANEL = "Stages"
DECODE = opt.ASR.decode
TRANSCRIBE_MODEL = typer.Option(opt.ASR.model, "--model", help=opt.ASR_MODEL_HELP)
TASK = typer.Option(DECODE.task, "--task", help="transcribe or translate.")
BEAM = typer.Option(DECODE.beam_size, "--beam-size", min=1, help="Beam width (1: greedy).")
BATCH = typer.Option(0, "--batch-size", min=0, help=opt.ASR_BATCH_HELP)
ASR_DEVICE = typer.Option("auto", "--device", help="auto (CUDA when CTranslate2 sees a GPU), "
                                                   "cpu, cuda or cuda:N.")
ASR_THREADS = typer.Option(0, "--threads", min=0, help="CPU: batches decoded at once, one core "
                                                       "each (0: one per core).")


@app.command(rich_help_panel=PANEL)
def doctor(
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON instead of a "
                                                       "table."),
) -> None:
    """Show what this machine can run, with versions and what each missing piece disables.

    Covers torch and CUDA, DALI, Triton, TensorRT, CTranslate2 devices and compute types, ONNX
    Runtime providers, PyAV/FFmpeg, libsndfile, espeak-ng and ffmpeg.
    """
    from lanser_fast.doctor import checks_table, run_checks

    checks = run_checks()
    if as_json:
        typer.echo(json.dumps([c.as_dict() for c in checks], indent=2))
        return
    from rich.console import Console

    Console().print(checks_table(checks))


@app.command(rich_help_panel=PANEL)
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
    sample_rate: int = typer.Option(SAMPLE_RATE, "--sample-rate", min=1000, max=384000,
                                    help="Output sample rate in Hz."),
    threads: int = typer.Option(0, "--threads", min=0, help="Decode threads (0: one per CPU)."),
    force: bool = opt.FORCE, retry_errors: Optional[str] = opt.RETRY_DECODE,
) -> None:
    """Decode audio to 16 kHz mono float32: one row per input, throughput printed.

    Any format, sample rate and channel count. Each input yields one row: a result, or an error
    row naming the reason (the run goes on). Re-running the same command resumes.
    """
    from lanser_fast.audio.corpus import decode_corpus

    retry = _decode_retry(retry_errors)
    items = open_inputs(inputs)
    _check_output(out, "decode", {"sample_rate": sample_rate}, force)
    with row_progress("decode") as on_row, run_failures(OutputError, prefix="decode"):
        summary = decode_corpus(items, out, threads=threads, wav_dir=wav_dir,
                                sample_rate=sample_rate, force=force, retry_errors=retry,
                                on_row=on_row)
    echo_rows(summary, out)


def _decode_retry(text: str | None) -> tuple[str, ...]:
    from lanser_fast.retry import retry_stages

    with usage_errors(ValueError, hint="--retry-errors"):
        return retry_stages(text, ("manifest", "decode"))


def _check_output(out: Path, stage: str, identity: dict, force: bool) -> None:
    """Locked, or written with other settings: fail before any work."""
    from lanser_fast.run_output import open_output

    with usage_errors(OutputError, hint="--out"):
        open_output(out, stage, identity, force=force, dry_run=True).release()


@app.command(rich_help_panel=PANEL)
def features(
    inputs: List[str] = typer.Argument(..., help=AUDIO_INPUTS),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder of Parquet shards: one row "
                                                      "per input with id, path, offset_s, "
                                                      "duration_s, audio_flags, preset, n_mels, "
                                                      "n_frames and 'features' (the n_mels x "
                                                      "n_frames float32 matrix, row-major), or "
                                                      "error_stage/error; plus _run.json. "
                                                      "Re-running skips ids already there."),
    preset: str = typer.Option(DEFAULT_PRESET, "--preset", help="whisper-80 or whisper-128 "
                                                              "(Whisper's exact features, 3000 "
                                                              "frames up to 30 s) or ser-64."),
    batch_size: int = typer.Option(BATCH_SIZE, "--batch-size", min=1, help="Utterances per "
                                                                           "log-mel call."),
    threads: int = typer.Option(0, "--threads", min=0, help="Decode and log-mel threads (0: "
                                                            "one per CPU)."),
    backend: str = typer.Option("auto", "--backend", help="auto (compiled CPU op; Triton on "
                                                          "CUDA), csrc or ref (torch "
                                                          "reference)."),
    force: bool = opt.FORCE, retry_errors: Optional[str] = opt.RETRY_DECODE,
) -> None:
    """Log-mel features of a corpus (Whisper-exact or SER), with throughput.

    Each input yields one row: its features, or an error row naming the reason (the run goes
    on). Re-running the same command resumes.
    """
    from lanser_fast.features import PRESETS
    from lanser_fast.features.corpus import features_corpus
    from lanser_fast.features.logmel import check_backend

    if preset not in PRESETS:
        fail(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}", "--preset")
    with usage_errors(ValueError, hint="--backend"):
        check_backend(backend)
    retry = _decode_retry(retry_errors)
    items = open_inputs(inputs)
    _check_output(out, "features", {"preset": preset, "backend": backend}, force)
    with row_progress(f"features {preset}") as on_row, \
            run_failures(OutputError, prefix="features"):
        summary = features_corpus(items, out, preset, batch_size=batch_size, threads=threads,
                                  backend=backend, force=force, retry_errors=retry,
                                  on_row=on_row)
    echo_rows(summary, out)


@app.command(rich_help_panel=PANEL)
def transcribe(
    inputs: List[str] = typer.Argument(..., help=AUDIO_INPUTS),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder of Parquet shards: one row "
                             "per utterance (id, path, offset_s, duration_s, audio_flags, "
                             "transcript, language, asr_avg_logprob, no_speech_prob, asr_flags, "
                             "asr_model) or per failed input (error_stage, error); plus "
                             "_run.json. Re-running resumes."),
    model: str = TRANSCRIBE_MODEL, language: Optional[str] = opt.LANGUAGE, task: str = TASK,
    beam_size: int = BEAM, max_new_tokens: int = opt.MAX_NEW_TOKENS, batch_size: int = BATCH,
    device: str = ASR_DEVICE, compute_type: str = opt.COMPUTE_TYPE, threads: int = ASR_THREADS,
    vad_threshold: float = opt.VAD_THRESHOLD, vad_min_silence_ms: int = opt.VAD_MIN_SILENCE,
    vad_pad_ms: int = opt.VAD_PAD, no_speech_threshold: float = opt.NO_SPEECH,
    logprob_threshold: float = opt.LOGPROB, compression_ratio_threshold: float = opt.COMPRESSION,
    max_tokens_per_s: float = opt.TOKENS_PER_S,
    force: bool = typer.Option(False, "--force", help="Resume into a folder written with other "
                               "settings (rows already there keep theirs)."),
    stop_first: int = opt.STOP_FIRST, stop_fraction: float = opt.STOP_FRACTION,
    retry_errors: Optional[str] = opt.RETRY_ERRORS,
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
    from lanser_fast.manifest.schema import ERROR_STAGES
    from lanser_fast.retry import retry_stages
    from lanser_fast.stop_guard import StopRule

    with usage_errors(ValueError, hint="--stop-first/--stop-fraction"):
        stop = StopRule(first=stop_first, fraction=stop_fraction)
    with usage_errors(ValueError, hint="--retry-errors"):
        retry = retry_stages(retry_errors, ERROR_STAGES)
    with usage_errors(ValueError):
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
    items = open_inputs(inputs)
    with usage_errors((WhisperModelError, "--model"),
                      (ValueError, "--device/--compute-type/--language")):
        transcriber = Transcriber(config)
    try:
        _check_output(out, "transcribe", config.identity(), force)
    except BaseException:
        transcriber.close()
        raise
    with progress("transcribe") as update:
        def on_file(s) -> None:
            update(completed=s.files, line=f"{s.audio_s / 3600:.3f} audio-h, "
                   f"{s.audio_hours_per_device_hour:,.1f} audio-h per device-h")

        try:
            with run_failures(OutputError, prefix="transcribe"), \
                    systemic_failures("transcribe"):
                summary = transcribe_corpus(items, out, transcriber=transcriber, force=force,
                                            stop=stop, retry_errors=retry, on_file=on_file)
        finally:
            transcriber.close()
    for line in summary.report(out):
        typer.echo(line)


@app.command(rich_help_panel=PANEL)
def score(
    inputs: List[str] = typer.Argument(..., help="JSONL, CSV, TSV or Parquet files with a text "
                                                  "column, or '-' for one text per line on "
                                                  "stdin."),
    out: Path = typer.Option(..., "--out", "-o", help="Output file: .parquet, else JSONL. "
                             "Columns: id, text, weak_label, weak_score, scores (taxonomy "
                             "order), top_k, reason, taxonomy, prompt, nli_model."),
    column: str = typer.Option("transcript", "--column", help="Text column of the inputs."),
    id_column: str = typer.Option("id", "--id-column", help="Id column (row number when "
                                                            "absent)."),
    model: Optional[str] = opt.TEXT_MODEL, labeler: str = opt.LABELER,
    temperature: float = opt.TEMPERATURE,
    taxonomy: str = opt.TAXONOMY, template: str = opt.TEMPLATE, multi_label: bool = opt.MULTI_LABEL,
    engine: str = opt.ENGINE, precision: str = opt.PRECISION,
    top_k: int = typer.Option(opt.NLI.top_k, "--top-k", min=1, help="Labels kept in the top_k "
                                                                  "column."),
    empty: str = opt.EMPTY,
) -> None:
    """Weak emotion labels for texts: by textual entailment (the HF pipeline's scores, faster)
    or by embedding similarity.

    Each input text yields one row; empty texts get a row with the reason.
    """
    from lanser_fast.nli.corpus import score_texts
    from lanser_fast.nli.embedding import EncoderNotFound
    from lanser_fast.nli.engines import EngineUnavailable, resolve_engine
    from lanser_fast.nli.labelers import make_scorer
    from lanser_fast.nli.models import ModelNotFound
    from lanser_fast.nli.scorer import ScoreConfig
    from lanser_fast.nli.texts import TextInputError, TextSource
    from lanser_fast.taxonomy import TaxonomyError

    with usage_errors(EngineUnavailable, hint="--engine/--precision"):
        resolve_engine(engine, precision)
    with usage_errors(TextInputError, hint="INPUTS"):
        sources = [TextSource(spec, column, id_column) for spec in inputs]
    with usage_errors(ValueError):
        config = ScoreConfig(model=opt.text_model(model, labeler), taxonomy=taxonomy,
                             template=template, multi_label=multi_label, engine=engine,
                             precision=precision, top_k=top_k, empty=opt.empty_label(empty),
                             labeler=labeler, temperature=temperature)
    with usage_errors(((ModelNotFound, EncoderNotFound, TaxonomyError), "--model/--taxonomy"),
                      ValueError):
        scorer = make_scorer(config)
    with progress("score") as update:
        def on_chunk(s) -> None:
            update(completed=s.rows, line=f"{s.texts_per_s:.1f} texts/s, {s.pairs_per_s:.0f} "
                                          "pairs/s")

        summary = score_texts(sources, out, scorer, on_chunk=on_chunk)
    stats = summary.stats
    typer.echo(f"{summary.rows} rows written to {out}: {stats.distinct} distinct transcripts "
               f"scored, {stats.cached} repeats answered from the cache; {stats.pairs} pairs in "
               f"{summary.wall_s:.2f} s ({summary.pairs_per_s:.0f} pairs/s, "
               f"{summary.texts_per_s:.1f} texts/s) with {summary.engine}")


@app.command(rich_help_panel=PANEL)
def prompts(
    labeled: Path = typer.Argument(..., help="Labeled texts: JSONL/CSV/TSV/Parquet with a text "
                                             "and a label column."),
    template: Optional[List[str]] = typer.Option(None, "--template", help="A template to "
                                                 "evaluate (repeatable; default: five common "
                                                 "ones)."),
    column: str = typer.Option("text", "--column", help="Text column."),
    label_column: str = typer.Option("label", "--label-column", help="Gold label column: "
                                     "labels of the taxonomy, or of the coarser one it maps "
                                     "onto."),
    model: Optional[str] = opt.TEXT_MODEL, labeler: str = opt.LABELER,
    taxonomy: str = typer.Option(opt.NLI.taxonomy, "--taxonomy", help="Taxonomy name or file."),
    engine: str = typer.Option(opt.NLI.engine, "--engine", help="auto, torch, onnxruntime or "
                                                              "tensorrt (experimental)."),
) -> None:
    """Accuracy and unweighted recall of prompt templates on labeled text (zero-shot)."""
    from rich.console import Console

    from lanser_fast.nli.prompts import TEMPLATES, evaluate_templates, results_table
    from lanser_fast.nli.scorer import ScoreConfig
    from lanser_fast.nli.texts import TextInputError, TextSource

    with usage_errors(TextInputError, hint="LABELED"):
        rows = list(TextSource(str(labeled), column, None, label_column).rows())
    config = ScoreConfig(model=opt.text_model(model, labeler), taxonomy=taxonomy, engine=engine,
                         labeler=labeler)
    with usage_errors(ValueError):
        results = evaluate_templates(config, [r["text"] for r in rows],
                                     [str(r["label"]) for r in rows], template or TEMPLATES)
    Console(width=200).print(results_table(results, len(rows), config))


@app.command(rich_help_panel=PANEL)
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
    """Results as JSONL, CSV or a Lhotse CutSet, or a trained model as ONNX or TorchScript.

    A Lhotse CutSet skips error rows; JSONL and CSV keep every row.
    """
    from lanser_fast.manifest.export import export_results
    from lanser_fast.train.checkpoint import is_checkpoint

    if is_checkpoint(results):
        from lanser_fast.train.export import export_model

        with usage_errors(ValueError, FileNotFoundError):
            path = export_model(results, out)
        typer.echo(f"model -> {path} (metadata: {path.name}.json)")
        typer.echo(json.dumps(json.loads(Path(str(path) + ".json").read_text())["classes"]))
        return
    with usage_errors(ValueError, FileNotFoundError, ImportError):
        summary = export_results(results, out, fmt)
    typer.echo(f"{summary.rows} rows written to {out} ({summary.fmt}); "
               f"{summary.skipped_errors} skipped")
    for problem in summary.problems:
        typer.echo(f"  skipped: {problem}")

"""``lanser-fast transcribe``: transcripts of a whole corpus into Parquet shards, resumable.

A thread pool decodes files ahead (and runs the VAD of files longer than 30 s); a silent input of
up to 30 s (RMS below ``SILENCE_DBFS``) gets one row without decoding, flagged ``no_speech``; the
utterances of the others join one queue that the :class:`Transcriber` cuts into fixed-size batches
across files. Output rows (one per utterance, or one error row per failed input) carry the
``transcribe`` columns of the result schema: ``id`` (the input's id, ``<id>#k`` for the k-th VAD
segment of a long file), ``path``, ``offset_s``, ``duration_s``, ``audio_flags``, ``transcript``,
``language``, ``asr_avg_logprob``, ``no_speech_prob``, ``asr_flags``, ``asr_model``,
``error_stage``, ``error``. The rows of one input land in one shard, so a resumed run skips whole
inputs.
"""

from __future__ import annotations

import os
import time
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Callable, Iterable, Iterator

from lanser_fast.asr.guards import FLAG_NO_SPEECH, FLAG_VAD_NO_SPEECH, is_silent
from lanser_fast.asr.transcriber import (
    WINDOW_SAMPLES,
    TranscribeConfig,
    Transcriber,
    Transcript,
    Utterance,
    split_utterances,
)
from lanser_fast.asr.vad import VadConfig
from lanser_fast.audio import SAMPLE_RATE
from lanser_fast.manifest import (
    Item,
    ShardWriter,
    error_row,
    stage_schema,
    whole_file_row,
)
from lanser_fast.retry import Retry
from lanser_fast.run_output import open_output
from lanser_fast.runs import (
    FileRows,
    counts_text,
    decode_threads_for,
    load_item,
    ordered_map,
    skip_done,
)
from lanser_fast.stop_guard import StopRule, SystemicFailure, guarded

IN_FLIGHT_PER_THREAD = 8  # files decoded ahead per decode thread


@dataclass
class TranscribeSummary:
    files: int = 0  # inputs handled this run (results and errors)
    skipped: int = 0  # inputs already in the output (resume)
    retried: int = 0  # inputs whose error rows were redone (--retry-errors)
    rows: int = 0
    audio_s: float = 0.0  # decoded input audio, long files whole
    speech_s: float = 0.0  # audio given to Whisper (VAD segments of long files)
    wall_s: float = 0.0
    device: str = "cpu"
    compute_type: str = ""
    errors: Counter = field(default_factory=Counter)  # error kind -> rows
    flags: Counter = field(default_factory=Counter)  # asr flag -> rows

    @property
    def audio_hours_per_device_hour(self) -> float:
        return self.audio_s / self.wall_s if self.wall_s > 0 else 0.0

    def report(self, out) -> list[str]:
        """What a run prints at its end: rows, errors and flags, then the throughput."""
        return [f"{self.rows} rows for {self.files} inputs written to {out} ({self.skipped} "
                f"already done, {self.retried} error inputs redone); errors: "
                f"{counts_text(self.errors)}; asr_flags: "
                f"{counts_text(self.flags)}",
                f"{self.audio_s / 3600:.4f} audio-hours ({self.speech_s / 3600:.4f} given to "
                f"Whisper) in {self.wall_s:.2f} s on {self.device} ({self.compute_type}): "
                f"{self.audio_hours_per_device_hour:,.1f} audio-hours per device-hour"]



def prepare_file(item: Item, config: TranscribeConfig) -> FileRows | tuple:
    """Decode ``item`` (with ``config.resampler``) and cut it into utterances:
    ``(file, utterances)``, or the finished ``FileRows`` of an input that failed, is silent or
    has no speech (one row, no decoding)."""
    started = time.perf_counter()
    prepared = _prepare(item, config.vad, config.model, config.resampler)
    file = prepared if isinstance(prepared, FileRows) else prepared[0]
    file.decode_s = time.perf_counter() - started
    return prepared


def _prepare(item: Item, vad: VadConfig, model: str, resampler: str) -> FileRows | tuple:
    audio = load_item(item, SAMPLE_RATE, resampler)
    if isinstance(audio, dict):  # decode error: the input's only row
        return FileRows(item, 0.0, [audio])
    file = FileRows(item, audio.duration_s)
    if len(audio.samples) <= WINDOW_SAMPLES and is_silent(audio.samples):  # long: the VAD
        file.rows.append(whole_file_row(item, audio, model, "", [FLAG_NO_SPEECH]))
        return file
    try:
        utterances = split_utterances(item.id, audio.samples, item.offset_s or 0.0, vad,
                                      source=item, audio_flags=tuple(audio.flags))
    except Exception as exc:  # noqa: BLE001 - a VAD failure is this file's error row
        return FileRows(item, 0.0, [error_row(item, "vad", exc)])
    if not utterances:  # a long file without speech keeps one row
        file.rows.append(whole_file_row(item, audio, model, "", [FLAG_VAD_NO_SPEECH]))
        return file
    file.left = len(utterances)
    return file, utterances


def transcribed_files(items: Iterable[Item], transcriber: Transcriber, *,
                      decode_threads: int = 0) -> Iterator[FileRows]:
    """Every item's rows (``transcribe`` columns), one ``FileRows`` per input as soon as all its
    utterances are transcribed. A thread pool decodes (and VADs) files ahead; utterances of many
    files share the transcriber's batches."""
    config = transcriber.config
    decode_threads = decode_threads_for(decode_threads)
    ready: deque[FileRows] = deque()  # finished without the model, yielded in turn
    open_files: dict[str, FileRows] = {}

    def utterance_stream(pool) -> Iterator[Utterance]:
        for prepared in ordered_map(pool, lambda it: prepare_file(it, config),
                                    items, window=decode_threads * IN_FLIGHT_PER_THREAD):
            if isinstance(prepared, FileRows):
                ready.append(prepared)
                continue
            file, utterances = prepared
            open_files[file.item.id] = file
            yield from utterances

    with ThreadPoolExecutor(max_workers=decode_threads,
                            thread_name_prefix="lanser-asr-decode") as pool:
        for result in transcriber.run(utterance_stream(pool)):
            while ready:
                yield ready.popleft()
            utterance = result.utterance if isinstance(result, Transcript) else result[0]
            file = open_files[utterance.source.id]
            file.rows.append(_row(result, config.model))
            file.left -= 1
            if file.left == 0:
                yield open_files.pop(utterance.source.id)
        while ready:
            yield ready.popleft()



def transcribe_corpus(items: Iterable[Item], out_dir: str | os.PathLike,
                      config: TranscribeConfig = TranscribeConfig(), *,
                      transcriber: Transcriber | None = None, decode_threads: int = 0,
                      force: bool = False, stop: StopRule = StopRule(),
                      retry_errors: tuple[str, ...] = (),
                      on_row: Callable[[dict], None] | None = None,
                      on_file: Callable[[TranscribeSummary], None] | None = None
                      ) -> TranscribeSummary:
    """Transcribe every item into ``out_dir``; inputs already there are skipped (resume).

    Raises ``OutputError`` before any work when the folder is locked by another run or was
    written with other row-deciding settings (``TranscribeConfig.identity``), unless ``force``;
    raises ``SystemicFailure`` when the model fails as a whole (``stop``: see ``stop_guard``).
    ``retry_errors`` (stages): redo the inputs whose rows are errors of those stages, their rows
    replaced in place (``lanser_fast.retry``).
    """
    transcriber = transcriber or Transcriber(config)  # a missing model fails before any work
    config = transcriber.config
    output = open_output(out_dir, "transcribe", config.identity(), force=force)
    try:
        summary = TranscribeSummary(device=transcriber.device,
                                    compute_type=transcriber.decoder.compute_type)
        output.record(asdict(config), "running")
        retry = Retry(output.path, retry_errors, stage_schema("transcribe"))
        try:
            _transcribe_into(output, items, transcriber, decode_threads, summary, stop, retry,
                             on_row, on_file)
        except SystemicFailure as exc:
            output.record(asdict(config), "stopped", {"stopped": str(exc),
                                                      "files_this_run": summary.files})
            raise
        output.record(asdict(config), "done", {
            "device": summary.device,
            "compute_type": transcriber.decoder.compute_type,
            "files_this_run": summary.files,
            "rows_this_run": summary.rows,
            "skipped_done": summary.skipped,
            "retried_errors": summary.retried,
            "audio_hours": summary.audio_s / 3600,
            "speech_hours": summary.speech_s / 3600,
            "wall_s": summary.wall_s,
            "audio_hours_per_device_hour": summary.audio_hours_per_device_hour,
            "errors": dict(summary.errors),
            "asr_flags": dict(summary.flags),
        })
    finally:
        output.release()
    return summary


def _transcribe_into(output, items, transcriber, decode_threads, summary, stop, retry,
                     on_row, on_file):
    start = time.perf_counter()
    todo = skip_done(items, output.done - retry.ids, summary)
    files = transcribed_files(todo, transcriber, decode_threads=decode_threads)
    with ShardWriter(output.path, stage_schema("transcribe")) as writer:
        try:
            _write_files(guarded(files, stop), writer, retry, summary, start, on_row, on_file)
        finally:
            retry.close()
            summary.retried = retry.retried
    summary.wall_s = time.perf_counter() - start


def _write_files(files, writer, retry, summary, start, on_row, on_file):
    for file in files:  # a failing model stops before its rows land
        retry.write(writer, file.item.id, file.rows)
        summary.files += 1
        summary.audio_s += file.audio_s
        for row in file.rows:
            summary.rows += 1
            if row["error"]:
                summary.errors[row["error"].split(":", 1)[0]] += 1
            else:
                summary.speech_s += row["duration_s"]
                summary.flags.update(row["asr_flags"])
            if on_row is not None:
                on_row(row)
        summary.wall_s = time.perf_counter() - start
        if on_file is not None:
            on_file(summary)


def _row(result, model: str) -> dict:
    if isinstance(result, tuple):
        utterance, exc = result
        row = error_row(utterance.source, "asr", exc)
        row.update(id=utterance.id, offset_s=utterance.offset_s, duration_s=utterance.duration_s)
        return row
    utterance, decoded = result.utterance, result.decoded
    return {
        "id": utterance.id,
        "path": utterance.source.path,
        "offset_s": utterance.offset_s,
        "duration_s": utterance.duration_s,
        "audio_flags": list(utterance.audio_flags),
        "transcript": decoded.text,
        "language": decoded.language,
        "asr_avg_logprob": decoded.avg_logprob,
        "no_speech_prob": decoded.no_speech_prob,
        "asr_flags": result.flags,
        "asr_model": model,
        "error_stage": None,
        "error": None,
    }


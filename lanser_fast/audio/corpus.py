"""Decode a whole corpus: every input item to a result row, resumable, with throughput.

This is the ``decode`` stage on its own: it checks that a corpus decodes (each failure is an
error row naming the reason), measures decode throughput, and optionally writes the 16 kHz mono
audio as float WAV files. Items are decoded by a thread pool (libsndfile, FFmpeg and soxr release
the GIL) with a bounded window of items in flight, so memory does not grow with the corpus.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from lanser_fast.audio.decode import SAMPLE_RATE
from lanser_fast.manifest import Item, ShardWriter, stage_schema
from lanser_fast.retry import Retry
from lanser_fast.run_output import open_output
from lanser_fast.runs import load_item, ordered_map, skip_done

IN_FLIGHT_PER_THREAD = 4  # items queued per decode thread: bounds decoded audio held in memory


@dataclass
class DecodeSummary:
    """What a decode run did."""

    rows: int = 0  # rows written this run (results + errors)
    skipped: int = 0  # ids already in the output (resume)
    retried: int = 0  # inputs whose error rows were redone (--retry-errors)
    audio_s: float = 0.0  # decoded audio (seconds at 16 kHz)
    wall_s: float = 0.0
    threads: int = 1
    errors: Counter = field(default_factory=Counter)  # error kind -> count

    @property
    def audio_hours_per_device_hour(self) -> float:
        return self.audio_s / self.wall_s if self.wall_s > 0 else 0.0

    def throughput_line(self) -> str:
        return (f"decoded {self.audio_s / 3600:.4f} audio-hours in {self.wall_s:.2f} s with "
                f"{self.threads} threads: {self.audio_hours_per_device_hour:,.0f} audio-hours "
                "per device-hour")

    def record(self) -> dict:
        """The summary's part of ``_run.json``."""
        return {"rows_this_run": self.rows, "skipped_done": self.skipped,
                "retried_errors": self.retried, "audio_hours": self.audio_s / 3600,
                "wall_s": self.wall_s,
                "audio_hours_per_device_hour": self.audio_hours_per_device_hour,
                "errors": dict(self.errors)}

    def count(self, row: dict) -> None:
        """Account for one written row (result or error)."""
        self.rows += 1
        if row["error"]:
            self.errors[row["error"].split(":", 1)[0]] += 1
        else:
            self.audio_s += row["duration_s"]


def decode_corpus(
    items: Iterable[Item],
    out_dir: str | os.PathLike,
    *,
    threads: int = 0,
    wav_dir: str | os.PathLike | None = None,
    sample_rate: int = SAMPLE_RATE,
    force: bool = False,
    retry_errors: tuple[str, ...] = (),
    on_row: Callable[[dict], None] | None = None,
) -> DecodeSummary:
    """Decode every item; write one row per item into ``out_dir`` (Parquet shards).

    Inputs already present in ``out_dir`` are skipped, so re-running after a crash resumes; a
    folder written with another sample rate, locked by another run or holding another stage's
    output is refused (``OutputError``) unless ``force``. ``retry_errors`` (stages, e.g.
    ``("decode",)``): redo the inputs whose rows are errors of those stages, their rows replaced
    in place. ``threads=0`` uses every CPU. ``on_row`` is called with each row (progress).
    """
    threads = threads or os.cpu_count() or 1
    output = open_output(out_dir, "decode", {"sample_rate": sample_rate}, force=force)
    config = {"sample_rate": sample_rate, "threads": threads,
              "wav_dir": None if wav_dir is None else str(wav_dir)}
    try:
        output.record(config, "running")
        summary = DecodeSummary(threads=threads)
        start = time.perf_counter()
        retry = Retry(output.path, retry_errors, stage_schema("decode"))
        todo = skip_done(items, output.done - retry.ids, summary)
        with ShardWriter(output.path, stage_schema("decode")) as writer, \
                ThreadPoolExecutor(max_workers=threads) as pool:
            try:
                for row in ordered_map(pool, lambda it: _decode_row(it, sample_rate, wav_dir),
                                       todo, window=threads * IN_FLIGHT_PER_THREAD):
                    retry.write(writer, row["id"], [row])  # one row per input, with its id
                    summary.count(row)
                    if on_row is not None:
                        on_row(row)
            finally:
                retry.close()
                summary.retried = retry.retried
        summary.wall_s = time.perf_counter() - start
        output.record(config, "done", summary.record())
    finally:
        output.release()
    return summary


def _decode_row(item: Item, sample_rate: int, wav_dir) -> dict:
    audio = load_item(item, sample_rate)
    if isinstance(audio, dict):
        return audio
    if wav_dir is not None:
        _write_wav(Path(wav_dir), item.id, audio.samples, sample_rate)
    return {
        "id": item.id,
        "path": item.path,
        "offset_s": item.offset_s,
        "duration_s": audio.duration_s,
        "audio_flags": list(audio.flags),
        "error_stage": None,
        "error": None,
    }


def _write_wav(wav_dir: Path, item_id: str, samples, sample_rate: int) -> None:
    import soundfile as sf

    # ids are unique, so "<id>.wav" is too; ".." and absolute ids stay inside wav_dir.
    safe = item_id.replace("\\", "/").lstrip("/").replace("../", "__/")
    target = wav_dir / (safe + ".wav")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name("." + target.name + ".tmp")
    sf.write(tmp, samples, sample_rate, subtype="FLOAT", format="WAV")
    os.replace(tmp, target)


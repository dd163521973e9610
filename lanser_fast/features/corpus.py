"""``lanser-fast features``: log-mel features of a whole corpus into Parquet shards.

Output folder format (one row per input, atomic ``part-*.parquet`` shards plus ``_run.json``):
``id``, ``path``, ``offset_s``, ``duration_s``, ``audio_flags``, ``preset``, ``n_mels``,
``n_frames``, and ``features``: the (n_mels, n_frames) float32 matrix flattened row-major (mel
band by band), so ``np.asarray(row["features"]).reshape(n_mels, n_frames)`` restores it
(``read_features`` does this). A failed input is one row with ``error_stage``/``error`` set.

Decoding runs in a thread pool ahead of the feature computation (both release the GIL); features
are computed for padded batches of utterances, so the compiled op's threads stay busy.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import numpy as np
import pyarrow as pa

from lanser_fast.audio.corpus import DecodeSummary
from lanser_fast.features.presets import DEFAULT_PRESET, Preset, get_preset
from lanser_fast.manifest import Item, ShardWriter, read_results
from lanser_fast.retry import Retry
from lanser_fast.run_output import open_output
from lanser_fast.runs import load_item, ordered_map, skip_done

FEATURES_SCHEMA = pa.schema([
    ("id", pa.string()),
    ("path", pa.string()),
    ("offset_s", pa.float64()),
    ("duration_s", pa.float64()),
    ("audio_flags", pa.list_(pa.string())),
    ("preset", pa.string()),
    ("n_mels", pa.int32()),
    ("n_frames", pa.int32()),
    ("features", pa.list_(pa.float32())),  # (n_mels, n_frames) row-major
    ("error_stage", pa.string()),
    ("error", pa.string()),
])
BATCH_SIZE = 16  # utterances per log-mel call
SHARD_BYTES = 64 << 20  # feature bytes per shard: bounds memory and the work a crash can lose
IN_FLIGHT_PER_THREAD = 4  # decoded utterances queued per decode thread


@dataclass
class FeaturesSummary(DecodeSummary):
    """What a features run did (decode's counters plus the time inside log_mel)."""

    features_s: float = 0.0  # time inside log_mel alone (wall_s covers decode + write too)

    @property
    def features_audio_hours_per_device_hour(self) -> float:
        return self.audio_s / self.features_s if self.features_s > 0 else 0.0

    def throughput_line(self) -> str:
        return (f"{self.audio_s / 3600:.4f} audio-hours in {self.wall_s:.2f} s with "
                f"{self.threads} threads: {self.audio_hours_per_device_hour:,.0f} audio-hours "
                "per device-hour end to end (decode + features + write); log-mel alone "
                f"{self.features_audio_hours_per_device_hour:,.0f}")


def features_corpus(
    items: Iterable[Item],
    out_dir: str | os.PathLike,
    preset: str | Preset = DEFAULT_PRESET,
    *,
    batch_size: int = BATCH_SIZE,
    threads: int = 0,
    backend: str = "auto",
    force: bool = False,
    retry_errors: tuple[str, ...] = (),
    on_row: Callable[[dict], None] | None = None,
) -> FeaturesSummary:
    """Features for every item into ``out_dir``; inputs already there are skipped (resume).

    A folder written with another preset or backend, locked by another run or holding another
    stage's output is refused (``OutputError``) unless ``force``; ``retry_errors`` redoes the
    inputs whose rows are errors of those stages (``manifest``, ``decode``) in place.
    """
    preset = get_preset(preset)
    threads = threads or os.cpu_count() or 1
    output = open_output(out_dir, "features", {"preset": preset.name, "backend": backend},
                         force=force)
    config = {"preset": preset.name, "backend": backend, "threads": threads,
              "batch_size": batch_size}
    try:
        output.record(config, "running")
        summary = FeaturesSummary(threads=threads)
        retry = Retry(output.path, retry_errors, FEATURES_SCHEMA)
        try:
            _features_into(output, items, preset, batch_size, threads, backend, summary, retry,
                           on_row)
        finally:
            retry.close()
            summary.retried = retry.retried
        output.record(config, "done", {**summary.record(), "features_s": summary.features_s,
                                       "features_audio_hours_per_device_hour":
                                       summary.features_audio_hours_per_device_hour})
    finally:
        output.release()
    return summary


def _features_into(output, items, preset, batch_size, threads, backend, summary, retry,
                   on_row) -> None:
    start = time.perf_counter()
    frames_30s = preset.n_frames(30 * preset.sample_rate)
    shard_rows = max(1, SHARD_BYTES // (4 * preset.n_mels * max(frames_30s, 1)))

    def decode(item: Item):
        return item, load_item(item, preset.sample_rate)

    def emit(rows: Iterable[dict]) -> None:
        for row in rows:
            retry.write(writer, row["id"], [row])  # one row per input, with its id
            summary.count(row)
            if on_row is not None:
                on_row(row)

    todo = skip_done(items, output.done - retry.ids, summary)
    with ShardWriter(output.path, FEATURES_SCHEMA, shard_rows=shard_rows) as writer, \
            ThreadPoolExecutor(max_workers=threads) as pool:
        batch: list = []
        for item, result in ordered_map(pool, decode, todo, window=threads * IN_FLIGHT_PER_THREAD):
            if isinstance(result, dict):
                emit([result])
                continue
            batch.append((item, result))
            if len(batch) >= batch_size:
                emit(_feature_rows(batch, preset, backend, threads, summary))
                batch = []
        if batch:
            emit(_feature_rows(batch, preset, backend, threads, summary))
    summary.wall_s = time.perf_counter() - start


def _feature_rows(batch: list, preset: Preset, backend: str, threads: int,
                  summary: FeaturesSummary) -> Iterator[dict]:
    """Rows for a batch of decoded (item, audio) pairs: one padded log_mel call."""
    from lanser_fast.features.logmel import log_mel  # torch, loaded when a batch is ready
    clips = [audio.samples for _, audio in batch]
    started = time.perf_counter()
    feats, n_frames = log_mel(clips, None, preset, backend=backend, threads=threads)
    summary.features_s += time.perf_counter() - started
    feats = feats.cpu().numpy()
    for (item, audio), matrix, frames in zip(batch, feats, n_frames.tolist()):
        yield {
            "id": item.id,
            "path": item.path,
            "offset_s": item.offset_s,
            "duration_s": audio.duration_s,
            "audio_flags": list(audio.flags),
            "preset": preset.name,
            "n_mels": preset.n_mels,
            "n_frames": frames,
            "features": np.ascontiguousarray(matrix[:, :frames]).reshape(-1),
            "error_stage": None,
            "error": None,
        }


def read_features(out_dir: str | os.PathLike) -> Iterator[tuple[str, np.ndarray]]:
    """``(id, (n_mels, n_frames) float32 array)`` for every successful row of ``out_dir``."""
    for batch in read_results(out_dir).to_batches():
        ids, errors = batch.column("id").to_pylist(), batch.column("error").to_pylist()
        n_mels, n_frames = batch.column("n_mels").to_pylist(), batch.column("n_frames").to_pylist()
        features = batch.column("features")
        for i, error in enumerate(errors):
            if error is None:
                values = features[i].values.to_numpy(zero_copy_only=False)
                yield ids[i], values.reshape(n_mels[i], n_frames[i])

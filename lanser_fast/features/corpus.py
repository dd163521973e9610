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
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
import pyarrow as pa

from lanser_fast.audio.corpus import DecodeSummary
from lanser_fast.features.presets import DEFAULT_PRESET, Preset, get_preset
from lanser_fast.manifest import (
    Item,
    ShardWriter,
    done_ids,
    read_results,
    write_json_atomic,
)
from lanser_fast.runs import RUN_SIDECAR, load_item, ordered_map, skip_done

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
    on_row: Callable[[dict], None] | None = None,
) -> FeaturesSummary:
    """Features for every item into ``out_dir``; ids already there are skipped (resume)."""
    preset = get_preset(preset)
    _check_resume(Path(out_dir), preset)
    threads = threads or os.cpu_count() or 1
    summary = FeaturesSummary(threads=threads)
    done = done_ids(out_dir)
    start = time.perf_counter()
    frames_30s = preset.n_frames(30 * preset.sample_rate)
    shard_rows = max(1, SHARD_BYTES // (4 * preset.n_mels * max(frames_30s, 1)))

    def decode(item: Item):
        return item, load_item(item, preset.sample_rate)

    def emit(rows: Iterable[dict]) -> None:
        for row in rows:
            writer.write(row)
            summary.count(row)
            if on_row is not None:
                on_row(row)

    todo = skip_done(items, done, summary)
    with ShardWriter(out_dir, FEATURES_SCHEMA, shard_rows=shard_rows) as writer, \
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
    write_json_atomic(Path(out_dir) / RUN_SIDECAR, {
        "stage": "features",
        "preset": preset.name,
        "threads": threads,
        "batch_size": batch_size,
        "rows_this_run": summary.rows,
        "skipped_done": summary.skipped,
        "audio_hours": summary.audio_s / 3600,
        "wall_s": summary.wall_s,
        "features_s": summary.features_s,
        "audio_hours_per_device_hour": summary.audio_hours_per_device_hour,
        "features_audio_hours_per_device_hour": summary.features_audio_hours_per_device_hour,
        "errors": dict(summary.errors),
    })
    return summary


def _check_resume(out_dir: Path, preset: Preset) -> None:
    """Refuse to add rows of another preset to an existing output folder."""
    import json

    sidecar = out_dir / RUN_SIDECAR
    if not sidecar.exists():
        return
    previous = json.loads(sidecar.read_text()).get("preset")
    if previous is not None and previous != preset.name:
        raise ValueError(f"{out_dir} holds {previous} features; writing {preset.name} there "
                         "would mix presets: choose another output folder")


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

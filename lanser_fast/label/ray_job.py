"""``label --ray ADDRESS``: the same stages as a Ray Data job on an existing Ray cluster.

The driver (this process) keeps what makes a run safe: the output lock, the configuration check,
the ids already done, and the atomic shards. Inputs go to the cluster in windows of
``WINDOW_ITEMS`` (a million-row manifest is never held whole); each window is a Ray Data
dataset streamed, on a cluster with GPUs, through one ``_LabelStage`` actor per GPU (holding it
whole: decode threads + batched Whisper, then the labeler), and on CPUs through two actor pools,
``_AsrStage`` and ``_NliStage``, one actor per ``MAX_CPUS_PER_ACTOR`` cores each (fewer on small
clusters) (``stage_plan``). The rows stream back to the driver, which writes each input's rows
as one group as soon as all of them have arrived, through the stop guard
(``lanser_fast.stop_guard``: a model failing as a whole ends the job with ``SystemicFailure``
before its rows land). Killing the driver ends the job; the same command resumes.

A node that dies takes its actors with it; Ray restarts them where resources allow, so a job
whose node comes back (or is replaced) goes on. While the cluster has fewer GPUs or CPUs than
when the job started and no input finishes, the driver waits ``lost_wait_s`` (``--ray-wait-s``),
then stops the job with ``ClusterLost``: the finished inputs' rows are written, the same command
resumes the rest once the nodes are back.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from dataclasses import asdict, dataclass, replace
from typing import Iterable, Iterator

import pyarrow as pa

from lanser_fast.label.config import LOST_WAIT_S, LabelConfig
from lanser_fast.label.corpus import FLUSH_S, SHARD_ROWS
from lanser_fast.label.output import open_output
from lanser_fast.label.summary import LabelSummary
from lanser_fast.manifest import RESULT_SCHEMA, Item, ShardWriter, stage_schema
from lanser_fast.manifest.names import name_bytes, storable, storable_row
from lanser_fast.runs import batched, skip_done
from lanser_fast.stop_guard import SystemicFailure, guarded

WINDOW_ITEMS = 4096  # inputs per Ray dataset
ASR_BATCH_ITEMS = 16  # inputs per ASR actor call
NLI_BATCH_ROWS = 256  # rows per NLI actor call
MAX_CPUS_PER_ACTOR = 4  # CPU actors: threads each (every actor holds a copy of its model)
POLL_S = 2.0  # how often the driver looks at the cluster while no rows arrive
_INPUT, _GROUP = "_input", "_group_rows"  # which input a row belongs to, and its row count
_STREAM_SCHEMA = RESULT_SCHEMA.append(pa.field(_INPUT, pa.string())).append(
    pa.field(_GROUP, pa.int32()))


def label_with_ray(items: Iterable[Item], out_dir, config: LabelConfig = LabelConfig(), *,
                   address: str | None = "auto", force: bool = False, on_progress=None,
                   shard_rows: int = SHARD_ROWS, flush_s: float = FLUSH_S,
                   lost_wait_s: float = LOST_WAIT_S) -> LabelSummary:
    """Label ``items`` on the Ray cluster at ``address`` ("auto", "ray://host:10001", "local"
    to start one here, or None to use the one this process already joined). Raises
    ``ClusterLost`` when the cluster shrank and no input finished for ``lost_wait_s`` s."""
    import ray

    connect(address)
    gpus = int(ray.cluster_resources().get("GPU", 0))
    cpus = int(ray.cluster_resources().get("CPU", 1))
    output = open_output(out_dir, config, force=force)
    summary = LabelSummary(devices=max(1, gpus))
    try:
        output.record(config.as_dict(), "running", {"ray": address, "cluster_gpus": gpus,
                                          "cluster_cpus": cpus})
        started = time.perf_counter()
        with ShardWriter(output.path, stage_schema("label"), writer="ray", shard_rows=shard_rows,
                         flush_s=flush_s, clean=False) as writer:
            todo = skip_done(items, output.done, summary)
            try:  # a model failing as a whole stops the job before its rows land
                finished_inputs = _finished_inputs(todo, config, gpus, cpus, lost_wait_s)
                for finished in guarded(finished_inputs, config.stop):
                    writer.write_group(finished.rows)
                    summary.count(finished.rows, _audio_s(finished.rows))
                    summary.wall_s = time.perf_counter() - started
                    if on_progress is not None:
                        on_progress(summary)
            except (SystemicFailure, ClusterLost) as exc:
                output.record(config.as_dict(), "stopped", {"ray": address, "stopped": str(exc),
                                                            "summary": summary.as_dict()})
                raise
        summary.wall_s = time.perf_counter() - started
        output.record(config.as_dict(), "done", {"ray": address, "cluster_gpus": gpus,
                                       "cluster_cpus": cpus, "summary": summary.as_dict()})
    finally:
        output.release()
    return summary


@dataclass
class _Finished:
    rows: list[dict]  # one input's rows, all of them


def _finished_inputs(todo: Iterable[Item], config: LabelConfig, gpus: int, cpus: int,
                     lost_wait_s: float) -> Iterator[_Finished]:
    """The inputs' rows as the job streams them back, one input at a time once all its rows
    are in."""
    pending: dict[str, list[dict]] = {}
    for window in batched(todo, WINDOW_ITEMS):
        batches = _dataset(window, config, gpus, cpus).iter_batches(batch_format="pyarrow",
                                                                    batch_size=None)
        for batch in _watched(batches, {"GPU": gpus, "CPU": cpus}, lost_wait_s):
            for row in batch.to_pylist():
                key, size = row.pop(_INPUT), row.pop(_GROUP)
                pending.setdefault(key, []).append(row)
                if len(pending[key]) == size:
                    yield _Finished(pending.pop(key))


class ClusterLost(RuntimeError):
    """The cluster lost nodes the job needs and did not get them back in time."""


def _watched(batches: Iterator, started_with: dict[str, int], wait_s: float) -> Iterator:
    """``batches``, read on a thread; raises ``ClusterLost`` once the cluster has had fewer of a
    resource than ``started_with`` for ``wait_s`` seconds with no batch arriving (Ray Data
    would otherwise wait for the lost actors forever)."""
    import ray

    arrived: queue.Queue = queue.Queue(maxsize=2)
    end = object()

    def pump():
        try:
            for batch in batches:
                arrived.put(batch)
            arrived.put(end)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the driver's thread
            arrived.put(exc)

    threading.Thread(target=pump, name="lanser-ray-rows", daemon=True).start()
    short_since = None
    while True:
        try:
            item = arrived.get(timeout=POLL_S)
        except queue.Empty:
            have = ray.cluster_resources()
            lost = {k: (n, int(have.get(k, 0))) for k, n in started_with.items()
                    if have.get(k, 0) < n}
            if not lost:
                short_since = None
            elif short_since is None:
                short_since = time.monotonic()
            elif time.monotonic() - short_since >= wait_s:
                what = ", ".join(f"{k} {was} -> {now}" for k, (was, now) in lost.items())
                raise ClusterLost(
                    f"the Ray cluster lost nodes ({what}) and no input finished for "
                    f"{wait_s:.0f} s; the finished inputs' rows are written: bring the nodes "
                    "back and run the same command to resume (--ray-wait-s sets the wait)")
            continue
        short_since = None
        if item is end:
            return
        if isinstance(item, BaseException):
            raise item
        yield item


class RayUnavailable(ValueError):
    """No Ray, or no cluster at the address; says what to do."""


def connect(address: str | None) -> None:
    """Join the cluster at ``address`` (``local``: start one here; None: already joined)."""
    try:
        import ray
    except ImportError:
        raise RayUnavailable("ray is not installed: pip install 'lanser-fast[ray]'") from None
    if ray.is_initialized():
        return
    if address is None:
        raise RayUnavailable("not connected to a Ray cluster: pass an address")
    try:
        ray.init(address=None if address == "local" else address, log_to_driver=False,
                 include_dashboard=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise RayUnavailable(f"cannot join the Ray cluster at {address!r} ({exc}); start one "
                             "(ray start --head) or pass --ray local") from None


def _audio_s(rows: list[dict]) -> float:
    return sum(r["duration_s"] or 0.0 for r in rows if not r["error"])


def _dataset(window: list[Item], config: LabelConfig, gpus: int, cpus: int):
    import ray

    per_actor = _cpus_per_actor(cpus)
    threads = 0 if gpus else per_actor
    share = replace(config, asr=replace(config.asr, threads=config.asr.threads or threads),
                    nli=replace(config.nli, threads=config.nli.threads or threads),
                    decode_threads=config.decode_threads or min(4, per_actor))
    ds = ray.data.from_items([_item_dict(item) for item in window])
    for stage, batch_size, actors, num_gpus, num_cpus in stage_plan(gpus, cpus):
        ds = ds.map_batches(stage, fn_constructor_args=(share,), batch_size=batch_size,
                            batch_format="pyarrow", concurrency=actors, num_gpus=num_gpus,
                            num_cpus=num_cpus)
    return ds


def stage_plan(gpus: int, cpus: int) -> list[tuple[type, int, int, float, int]]:
    """``(actor class, batch size, actors, GPUs per actor, CPUs per actor)`` of each stage.

    With GPUs, one ``_LabelStage`` per GPU holding it whole runs both models: half-GPU ASR and
    NLI actors would let Ray put two ASR actors on one GPU and both NLI actors on another. On
    CPUs, the two stages are separate pools with half the CPUs each."""
    if gpus:
        return [(_LabelStage, ASR_BATCH_ITEMS, gpus, 1, 0)]
    per_actor = _cpus_per_actor(cpus)
    actors = max(1, cpus // (2 * per_actor))
    return [(_AsrStage, ASR_BATCH_ITEMS, actors, 0, per_actor),
            (_NliStage, NLI_BATCH_ROWS, actors, 0, per_actor)]


def _item_dict(item: Item) -> dict:
    """An item as Arrow can carry it: a name that is not UTF-8 travels as bytes too."""
    row = asdict(item)
    row["path_bytes"] = name_bytes(item.path) if storable(item.path) is not item.path else None
    return storable_row(row, keep_bytes=False)


def _item(row: dict) -> Item:
    raw = row.pop("path_bytes")
    if raw is not None:
        row["path"] = os.fsdecode(raw)
    return Item(**row)


class _AsrStage:
    """Decode + Whisper (or the manifest's transcripts) for a batch of inputs: every input's
    rows, tagged with the input and its row count."""

    def __init__(self, config: LabelConfig):
        self.config = config
        self.transcriber = None
        if config.transcripts == "asr":
            from lanser_fast.asr.transcriber import Transcriber

            self.transcriber = Transcriber(config.asr)

    def __call__(self, batch: pa.Table) -> pa.Table:
        from lanser_fast.label.pipeline import transcript_rows

        items = [_item(row) for row in batch.to_pylist()]
        rows = []
        for file in transcript_rows(items, self.transcriber, self.config.decode_threads):
            for row in file.rows:
                row[_INPUT], row[_GROUP] = storable(file.item.id), len(file.rows)
                rows.append(storable_row(row, keep_bytes=True))
        return pa.Table.from_pylist(rows, schema=_STREAM_SCHEMA)


class _NliStage:
    """Weak labels for a batch of rows (one scorer call)."""

    def __init__(self, config: LabelConfig):
        from lanser_fast.nli.labelers import make_scorer

        self.languages = config.languages
        self.scorer = make_scorer(config.nli)

    def __call__(self, batch: pa.Table) -> pa.Table:
        from lanser_fast.label.pipeline import score_rows

        rows = batch.to_pylist()
        score_rows(rows, self.scorer, self.languages)
        return pa.Table.from_pylist(rows, schema=_STREAM_SCHEMA)


def _cpus_per_actor(cpus: int) -> int:
    """CPUs of one CPU actor: half the cluster's to each stage, at most ``MAX_CPUS_PER_ACTOR``."""
    return max(1, min(MAX_CPUS_PER_ACTOR, cpus // 2))


class _LabelStage:
    """Both stages in one actor (one per GPU): transcripts, then their weak labels."""

    def __init__(self, config: LabelConfig):
        self.asr, self.nli = _AsrStage(config), _NliStage(config)

    def __call__(self, batch: pa.Table) -> pa.Table:
        return self.nli(self.asr(batch))

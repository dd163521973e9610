"""``label_corpus``: the whole job on one machine, in this process or one worker process per
device, resumable.

One worker (the default on CPU) runs in this process. ``workers=N`` (CPU: the cores split
between N processes) or ``gpus=N`` (one process per GPU, each seeing only its own through
``CUDA_VISIBLE_DEVICES``) start worker processes that pull small chunks of inputs from one
shared queue as they go, so a slow worker takes fewer and never holds the others back. Each
worker writes its own shards (``part-w<rank>-*.parquet``) into the one output folder; the rows of
an input are written together, so after a crash (even SIGKILL of everything) the same command
resumes with the inputs that have no rows and ends with the rows of an uninterrupted run.
"""

from __future__ import annotations

import time
from typing import Callable, Iterable

from lanser_fast.label.config import LabelConfig
from lanser_fast.label.output import open_output
from lanser_fast.label.pipeline import Labeler
from lanser_fast.label.summary import LabelSummary
from lanser_fast.label.workers import run_workers
from lanser_fast.manifest import Item, ShardWriter, stage_schema
from lanser_fast.retry import Retry
from lanser_fast.runs import skip_done
from lanser_fast.stop_guard import SystemicFailure, guarded

FLUSH_S = 60.0  # a shard is written at least this often: a crash loses at most a minute
SHARD_ROWS = 4096


def label_corpus(items: Iterable[Item], out_dir, config: LabelConfig = LabelConfig(), *,
                 workers: int = 1, gpus: int = 0, force: bool = False,
                 labeler: Labeler | None = None,
                 on_progress: Callable[[LabelSummary], None] | None = None,
                 shard_rows: int = SHARD_ROWS, flush_s: float = FLUSH_S,
                 retry_errors: tuple[str, ...] = ()) -> LabelSummary:
    """Label every item into ``out_dir`` (Parquet shards of the result schema + ``_run.json``).

    ``labeler`` (one process only) reuses loaded models. Raises ``OutputError`` before any work
    if the folder is locked by another run or holds another configuration (unless ``force``).
    ``retry_errors`` (stages, one process): redo the inputs whose rows are errors of those
    stages, their rows replaced in place (``lanser_fast.retry``).
    """
    processes = gpus or workers
    if processes < 1:
        raise ValueError("workers and gpus must be at least 1")
    if labeler is not None and processes > 1:
        raise ValueError("a prepared labeler serves one process; drop it or workers/gpus")
    if retry_errors and processes > 1:
        raise ValueError("--retry-errors runs in one process: drop --workers/--gpus for the "
                         "retry, then resume with them")
    output = open_output(out_dir, config, force=force)
    try:
        output.record(config.as_dict(), "running", {"workers": processes, "gpus": gpus})
        summary = LabelSummary(devices=max(1, gpus))
        started = time.perf_counter()
        retry = Retry(output.path, retry_errors, stage_schema("label"))
        todo = skip_done(items, output.done - retry.ids, summary)
        try:
            if processes == 1 and not gpus:
                _run_here(todo, output.path, config, labeler, summary, started, on_progress,
                          shard_rows, flush_s, retry)
            else:
                run_workers(todo, output.path, config, processes, bool(gpus), summary, started,
                            on_progress, shard_rows, flush_s)
        except SystemicFailure as exc:
            summary.wall_s = time.perf_counter() - started
            output.record(config.as_dict(), "stopped", {"stopped": str(exc), "workers": processes,
                                                        "gpus": gpus,
                                                        "summary": summary.as_dict()})
            raise
        summary.wall_s = time.perf_counter() - started
        output.record(config.as_dict(), "done", {"workers": processes, "gpus": gpus,
                                       "summary": summary.as_dict()})
    finally:
        output.release()
    return summary


def _run_here(todo, out_dir, config, labeler, summary, started, on_progress, shard_rows,
              flush_s, retry: Retry) -> None:
    own = labeler is None
    labeler = labeler or Labeler(config)
    labeler.summary = summary
    try:
        with ShardWriter(out_dir, stage_schema("label"), shard_rows=shard_rows, flush_s=flush_s,
                         clean=False) as writer:
            # a model failing as a whole stops the run before its rows land
            for file in guarded(labeler.files(todo), config.stop):
                write_started = time.perf_counter()
                retry.write(writer, file.item.id, file.rows)
                summary.stage_s["write"] += time.perf_counter() - write_started
                summary.count(file.rows, file.audio_s)
                summary.wall_s = time.perf_counter() - started
                if on_progress is not None:
                    on_progress(summary)
    finally:
        retry.close()
        summary.retried = retry.retried
        if own:
            labeler.close()

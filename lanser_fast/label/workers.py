"""Worker processes of ``label_corpus``: one per GPU, or several sharing the CPU cores.

The coordinator (the calling process) feeds chunks of inputs into one bounded queue from a
thread and reads the workers' reports: a worker says ``ready`` once its models are loaded (or
``failed`` with the reason, which stops the run before any input is read), ``file`` for every
input it finished (what the progress bar and the summary count) and ``done`` with its stage
times. A worker dies with its coordinator (``PR_SET_PDEATHSIG`` on Linux, and a parent check
before every write), so a killed run leaves no orphan writing into the folder its resume reads.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import sys
import threading
import time
from dataclasses import replace

from lanser_fast.label.config import LabelConfig
from lanser_fast.label.summary import LabelSummary
from lanser_fast.manifest import error_text
from lanser_fast.runs import MAX_DECODE_THREADS, batched
from lanser_fast.stop_guard import SystemicFailure, guarded

CHUNK_ITEMS = 8  # inputs handed to a worker at a time
POLL_S = 0.5
_COUNTED = ("error", "error_stage", "duration_s", "asr_flags", "weak_label")


class WorkerError(RuntimeError):
    """A worker could not start or died; rows written so far stay, re-running resumes."""


def run_workers(todo, out_dir, config, processes: int, gpu: bool, summary: LabelSummary,
                started: float, on_progress, shard_rows: int, flush_s: float) -> None:
    context = multiprocessing.get_context("spawn")  # no forked CTranslate2/torch/ORT state
    tasks = context.Queue(maxsize=2 * processes)
    reports = context.Queue()
    share = worker_config(config, processes, gpu)
    devices = worker_devices(processes, os.environ.get("CUDA_VISIBLE_DEVICES")) if gpu else []
    procs = []
    for rank in range(processes):
        env = {"CUDA_VISIBLE_DEVICES": devices[rank]} if gpu else {}
        proc = context.Process(target=_worker_main, name=f"lanser-label-w{rank}", daemon=True,
                               args=(rank, share, str(out_dir), tasks, reports, env, shard_rows,
                                     flush_s, os.getpid()))
        proc.start()
        procs.append(proc)
    stop = threading.Event()
    try:
        _wait_ready(procs, reports)
        feeder = threading.Thread(target=_feed, args=(todo, tasks, processes, stop),
                                  name="lanser-label-feed", daemon=True)
        feeder.start()
        _collect(procs, reports, summary, started, on_progress)
        feeder.join()
    finally:
        stop.set()
        for proc in procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()


def check_placement(workers: int, gpus: int, ray: str | None) -> None:
    """Raise ValueError unless the worker layout can run here: ``--gpus N`` needs N CUDA devices
    that both CTranslate2 and torch see; ``--ray`` schedules workers itself."""
    if ray is not None and (gpus or workers > 1):
        raise ValueError("--ray schedules workers on the cluster itself; drop --workers/--gpus")
    if not gpus:
        return
    import ctranslate2
    import torch

    seen = min(ctranslate2.get_cuda_device_count(), torch.cuda.device_count())
    if gpus > seen:
        raise ValueError(f"--gpus {gpus}, but this machine has {seen} CUDA device(s) usable by "
                         f"CTranslate2 and torch; use --gpus {seen}"
                         + (" or --workers N on CPU" if not seen else ""))


def worker_devices(workers: int, inherited: str | None) -> list[str]:
    """The ``CUDA_VISIBLE_DEVICES`` of each GPU worker: worker k gets the k-th device this
    process sees, so a mask from the scheduler (``4,5``, or GPU UUIDs) is honoured; unset means
    every device (``0, 1, ...``). CUDA ignores a mask from its first invalid (negative) index
    on; so do we."""
    if inherited is None:
        return [str(k) for k in range(workers)]
    visible = []
    for entry in (e.strip() for e in inherited.split(",")):
        if not entry or (entry.lstrip("-").isdigit() and int(entry) < 0):
            break
        visible.append(entry)
    if len(visible) < workers:
        raise ValueError(f"--gpus {workers}, but CUDA_VISIBLE_DEVICES={inherited!r} leaves "
                         f"{len(visible)} device(s) visible")
    return visible[:workers]


def worker_config(config: LabelConfig, processes: int, gpu: bool) -> LabelConfig:
    """One worker's share of the machine: its GPU whole, or ``cores / processes`` threads."""
    if gpu:
        return config
    cores = max(1, (os.cpu_count() or 1) // processes)
    return replace(config, asr=replace(config.asr, threads=config.asr.threads or cores),
                   nli=replace(config.nli, threads=config.nli.threads or cores),
                   decode_threads=config.decode_threads or min(MAX_DECODE_THREADS, cores))


def put_until(q, value, stop: threading.Event) -> bool:
    """``q.put(value)`` that gives up when ``stop`` is set; whether it was put."""
    while not stop.is_set():
        try:
            q.put(value, timeout=POLL_S)
            return True
        except queue.Full:
            continue
    return False


def _feed(todo, tasks, processes: int, stop: threading.Event) -> None:
    for chunk in batched(todo, CHUNK_ITEMS):
        if not put_until(tasks, chunk, stop):
            return
    for _ in range(processes):
        if not put_until(tasks, None, stop):
            return


def _wait_ready(procs, reports) -> None:
    waiting = set(range(len(procs)))
    while waiting:
        kind, rank, payload = _next_report(procs, reports, waiting)
        if kind == "failed":
            raise WorkerError(f"worker {rank} could not start: {payload}")
        waiting.discard(rank)


def _collect(procs, reports, summary: LabelSummary, started: float, on_progress) -> None:
    running = set(range(len(procs)))
    while running:
        kind, rank, payload = _next_report(procs, reports, running)
        if kind == "file":
            rows, audio_s = payload
            summary.count(rows, audio_s)
            summary.wall_s = time.perf_counter() - started
            if on_progress is not None:
                on_progress(summary)
        elif kind == "done":
            summary.stage_s.update(payload)
            running.discard(rank)
        elif kind == "systemic":
            raise SystemicFailure(f"worker {rank}: {payload}")
        elif kind == "failed":
            raise WorkerError(f"worker {rank} failed: {payload}. Rows written so far are kept: "
                              "run the same command again to finish")


def _next_report(procs, reports, expected: set[int]):
    """The next report; a worker that died without reporting stops the run."""
    while True:
        try:
            return reports.get(timeout=POLL_S)
        except queue.Empty:
            for rank in expected:
                if not procs[rank].is_alive():
                    raise WorkerError(
                        f"worker {rank} died (exit code {procs[rank].exitcode}). Rows written "
                        "so far are kept: run the same command again to finish") from None


# ----------------------------------------------------------------------------- worker side


def _worker_main(rank, config, out_dir, tasks, reports, env, shard_rows, flush_s,
                 parent: int) -> None:
    os.environ.update(env)
    _die_with_parent()
    from lanser_fast.label.pipeline import Labeler
    from lanser_fast.manifest import ShardWriter, stage_schema

    try:
        labeler = Labeler(config)
    except Exception as exc:  # noqa: BLE001 - reported to the coordinator, which stops
        reports.put(("failed", rank, error_text(exc)))
        return
    reports.put(("ready", rank, None))

    def items():
        while True:
            try:
                chunk = tasks.get(timeout=POLL_S)
            except queue.Empty:
                if os.getppid() != parent:
                    return
                continue
            if chunk is None:
                return
            yield from chunk

    try:
        with ShardWriter(out_dir, stage_schema("label"), writer=f"w{rank}",
                         shard_rows=shard_rows, flush_s=flush_s, clean=False) as writer:
            for file in guarded(labeler.files(items()), config.stop):
                if os.getppid() != parent:  # orphaned: the resumed run owns the folder now
                    os._exit(1)
                started = time.perf_counter()
                writer.write_group(file.rows)
                labeler.summary.stage_s["write"] += time.perf_counter() - started
                counted = [{k: row.get(k) for k in _COUNTED} for row in file.rows]
                reports.put(("file", rank, (counted, file.audio_s)))
    except SystemicFailure as exc:
        reports.put(("systemic", rank, str(exc)))
        return
    except Exception as exc:  # noqa: BLE001 - reported; the written shards stay
        reports.put(("failed", rank, error_text(exc)))
        return
    finally:
        labeler.close()
    reports.put(("done", rank, dict(labeler.summary.stage_s)))


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass

"""``lanser-fast bench``: the stage benchmarks of ``benchmarks/`` run as one suite.

The suite does not re-implement any workload: it runs the very pytest-benchmark files that
``pytest benchmarks/ --benchmark-only`` runs, in one pytest process (a file holding two stages is
filtered with ``-k``), so the command and the files cannot measure different things.
Options reach the files through environment variables they read:

- ``LANSER_FAST_BENCH_QUICK=1``: small sizes (a smoke run of the whole suite in minutes);
- ``LANSER_FAST_BENCH_DEVICE``: ``cpu`` keeps GPU contenders out, ``cuda`` requires them;
- ``LANSER_FAST_BENCH_ASR_MODEL`` / ``LANSER_FAST_BENCH_NLI_MODEL``: real models (hub ids or
  folders) in place of the random tiny-sized ones.

The record gets per-stage time, the part of it fixtures spent building models, corpora and caches
(the cold-start cost, reported apart from the timings), and every contender that was not
measured, with the reason (a reference that is not installed is listed, not dropped).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from lanser_fast.asr.models import DEFAULT_WHISPER
from lanser_fast.bench.record import Record
from lanser_fast.nli.models import DEFAULT_MODEL

# stage -> (benchmark file, test-name prefix after "test_" where a file holds two stages)
STAGES: dict[str, tuple[str, str | None]] = {
    "frontend": ("bench_frontend.py", None),
    "decode": ("bench_decode.py", None),
    "asr": ("bench_asr.py", None),
    "asr-real": ("bench_asr_real.py", None),
    "nli": ("bench_nli.py", None),
    "similarity": ("bench_similarity.py", None),
    "label": ("bench_label.py", None),
    "train": ("bench_train.py", "step"),
    "data": ("bench_train.py", "data"),
}
DEVICES = ("auto", "cpu", "cuda")
HUB_MODELS = (DEFAULT_WHISPER, DEFAULT_MODEL)  # --models hub: what label uses by default


class SuiteError(RuntimeError):
    """The suite cannot start (no benchmarks folder, bad stage, missing model)."""


@dataclass(frozen=True)
class SuiteConfig:
    stages: tuple[str, ...] = tuple(STAGES)
    quick: bool = False  # small sizes
    device: str = "auto"  # DEVICES
    asr_model: str | None = None  # None: the random tiny-sized Whisper
    nli_model: str | None = None  # None: the random roberta-sized MNLI models

    def __post_init__(self):
        unknown = [s for s in self.stages if s not in STAGES]
        if unknown or not self.stages:
            raise SuiteError(f"unknown stage(s) {', '.join(unknown) or '(none given)'}; choose "
                             f"from {', '.join(STAGES)}")
        if self.device not in DEVICES:
            raise SuiteError(f"device must be one of {', '.join(DEVICES)}, got {self.device!r}")

    def env(self) -> dict[str, str]:
        env = {"LANSER_FAST_BENCH_QUICK": "1" if self.quick else "0",
               "LANSER_FAST_BENCH_DEVICE": self.device}
        if self.asr_model:
            env["LANSER_FAST_BENCH_ASR_MODEL"] = self.asr_model
        if self.nli_model:
            env["LANSER_FAST_BENCH_NLI_MODEL"] = self.nli_model
        return env


def models_option(models: str) -> tuple[str | None, str | None]:
    """``(asr_model, nli_model)`` of ``--models``: ``tiny`` (the random tiny-sized models, built
    locally), ``hub`` (:data:`HUB_MODELS`) or ``ASR,NLI`` hub ids or folders. Real models must be
    at hand before any work: they are resolved as ``transcribe`` and ``score`` resolve them
    (offline machines: pre-download them)."""
    if models == "tiny":
        return None, None
    if models == "hub":
        asr_model, nli_model = HUB_MODELS
    else:
        parts = [p.strip() for p in models.split(",")]
        if len(parts) != 2 or not all(parts):
            raise SuiteError("--models: give tiny, hub, or ASR_MODEL,NLI_MODEL")
        asr_model, nli_model = parts
    from lanser_fast.asr import WhisperModelError, resolve_whisper
    from lanser_fast.nli.models import ModelNotFound, resolve_model

    try:
        resolve_whisper(asr_model)
        resolve_model(nli_model)
    except (WhisperModelError, ModelNotFound) as exc:
        raise SuiteError(f"--models: {exc}") from None
    return asr_model, nli_model


def benchmarks_dir() -> Path:
    """``benchmarks/`` of the source checkout this package runs from."""
    root = Path(__file__).resolve().parents[2]
    folder = root / "benchmarks"
    if not (folder / "conftest.py").is_file() or not (root / "tools").is_dir():
        raise SuiteError(f"no benchmarks/ next to the package ({root}): `lanser-fast bench` runs "
                         "the benchmark files of a source checkout; clone the repository and "
                         "install it with tools/setup.sh")
    return folder


def check_device(device: str) -> None:
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise SuiteError("--device cuda: torch sees no CUDA device (use --device cpu)")


def run_suite(config: SuiteConfig, on_stage=None) -> Record:
    """Run every stage of ``config`` in one pytest process; the record, with per-stage notes."""
    folder = benchmarks_dir()
    check_device(config.device)
    files = sorted({STAGES[stage][0] for stage in config.stages})
    cmd = [sys.executable, "-m", "pytest", *(str(folder / f) for f in files), "--benchmark-only",
           "-q", "-p", "no:cacheprovider", "-W", "ignore::DeprecationWarning"]
    select = _selection(config.stages)
    if select:
        cmd += ["-k", select]
    with tempfile.TemporaryDirectory(prefix="lanser-bench-") as tmp:
        record_path = Path(tmp) / "record.json"
        started = time.perf_counter()
        done = subprocess.run([*cmd, "--bench-record", str(record_path)], cwd=folder.parent,
                              env={**os.environ, **config.env()}, capture_output=True, text=True)
        wall = time.perf_counter() - started
        record = Record.load(record_path) if record_path.is_file() else Record.new(folder.parent)
    times, gaps = record.notes.pop("times", {}), record.notes.pop("not_measured", [])
    stages = {}
    for stage in config.stages:
        mine = [t for test, t in times.items() if stage_of(test) == stage]
        info = {"s": round(sum(sum(t.values()) for t in mine), 1),
                "setup_s": round(sum(t.get("setup", 0.0) for t in mine), 1),
                "not_measured": [g for g in gaps if stage_of(g["id"]) == stage]}
        failed = [g for g in info["not_measured"] if g.get("failed")]
        if failed or (done.returncode not in (0, 5) and not times):
            info["error"] = _tail(done.stdout + done.stderr)
        stages[stage] = info
        if on_stage is not None:
            on_stage(stage, info)
    record.notes.update(quick=config.quick, device=config.device, wall_s=round(wall, 1),
                        models={"asr": config.asr_model or "random tiny-sized Whisper",
                                "nli": config.nli_model or "random roberta-sized MNLI"},
                        stages=stages)
    return record


def stage_of(test_id: str) -> str | None:
    """The stage a benchmark test belongs to (``benchmarks/bench_train.py::test_data_x``)."""
    file, _, name = test_id.partition("::")
    file = Path(file).name
    for stage, (stage_file, select) in STAGES.items():
        if stage_file == file and (select is None or name.startswith(f"test_{select}")):
            return stage
    return None


def _selection(stages) -> str | None:
    """A ``-k`` expression for a file shared by two stages when only one of them is chosen."""
    shared = [s for s, (f, select) in STAGES.items() if select]
    chosen = [s for s in shared if s in stages]
    if not chosen or len(chosen) == len(shared):
        return None
    left_out = [STAGES[s][1] for s in shared if s not in stages]
    return " and ".join(f"not test_{select}" for select in left_out)


def append_history(record: Record, history: str | os.PathLike) -> Path:
    """Append ``record`` as one JSON line to ``history`` (created with its folders)."""
    path = Path(history)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record.to_json()) + "\n")
    return path


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])

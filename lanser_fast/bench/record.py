"""The benchmark record: what was measured, on what, with which versions.

One JSON document per benchmark run. Each :class:`Measurement` is one contender on one workload
(ours or a reference measured in the same run) with min/median/max throughput over the timed
repeats (warm-up excluded), its unit, and the threads it used. Throughput is work per second of
wall time: for audio stages ``audio-h/device-h`` = audio seconds processed per wall second on the
whole device (a CPU "device" is all of the machine's cores, whatever a contender used).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import statistics
import subprocess
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Sequence

RECORD_FORMAT = "lanser-fast-bench/1"
AUDIO_UNIT = "audio-h/device-h"
TRACKED_LIBRARIES = (
    "lanser-fast", "torch", "numpy", "soundfile", "soxr", "av", "pyarrow", "ctranslate2",
    "faster-whisper", "openai-whisper", "transformers", "tokenizers", "onnxruntime", "triton",
    "nvidia-dali-cuda130", "nvidia-dali-cuda120", "tensorrt", "ray", "lhotse",
)


@dataclass(frozen=True)
class Measurement:
    """One contender on one workload."""

    stage: str  # pipeline stage, e.g. "decode", "features", "nli"
    workload: str  # what was processed, in words (sizes, formats, model)
    impl: str  # the implementation measured
    role: str  # "ours" or "reference"
    unit: str  # throughput unit, e.g. AUDIO_UNIT, "pairs/s"
    median: float
    min: float
    max: float
    repeats: int  # timed repeats (warm-up runs excluded)
    threads: int  # threads the contender used
    device: str = "cpu"
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. compile time, agreement

    @classmethod
    def from_times(cls, times_s: Sequence[float], work: float, **fields: Any) -> "Measurement":
        """Throughputs ``work / t`` for each repeat's wall time ``t``."""
        if not times_s:
            raise ValueError("no timed repeats")
        rates = [work / t for t in times_s]
        return cls(median=statistics.median(rates), min=min(rates), max=max(rates),
                   repeats=len(rates), **fields)


@dataclass
class Record:
    """A benchmark run: provenance plus measurements."""

    commit: str
    date: str
    machine: dict[str, Any]
    libraries: dict[str, str]
    results: list[Measurement] = field(default_factory=list)
    format: str = RECORD_FORMAT
    notes: dict[str, Any] = field(default_factory=dict)  # suite run: stages, setup time, gaps

    @classmethod
    def new(cls, repo: str | os.PathLike | None = None) -> "Record":
        return cls(commit=git_commit(repo), date=_dt.datetime.now(_dt.timezone.utc).isoformat(
            timespec="seconds"), machine=machine_info(), libraries=library_versions())

    def add(self, measurement: Measurement) -> None:
        self.results.append(measurement)

    def ratios(self) -> list[dict[str, Any]]:
        """Ours vs each reference on the same stage and workload (median / median)."""
        out = []
        for ours in (m for m in self.results if m.role == "ours"):
            for ref in self.results:
                if (ref.role == "reference" and ref.stage == ours.stage
                        and ref.workload == ours.workload and ref.unit == ours.unit):
                    out.append({"stage": ours.stage, "workload": ours.workload,
                                "ours": ours.impl, "reference": ref.impl,
                                "ratio": ours.median / ref.median})
        return out

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ratios"] = self.ratios()
        return data

    def save(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Record":
        """A record file, or the newest record of a history file (``.jsonl``, one per line)."""
        text = Path(path).read_text(encoding="utf-8")
        if str(path).endswith(".jsonl"):
            lines = [line for line in text.splitlines() if line.strip()]
            if not lines:
                raise ValueError(f"{path}: the history holds no record yet")
            text = lines[-1]
        return cls.from_json(json.loads(text), str(path))

    @classmethod
    def from_json(cls, data: dict[str, Any], where: str = "<record>") -> "Record":
        if data.get("format") != RECORD_FORMAT:
            raise ValueError(f"{where}: not a {RECORD_FORMAT} record "
                             f"(format={data.get('format')!r})")
        results = [Measurement(**m) for m in data.get("results", [])]
        return cls(commit=data["commit"], date=data["date"], machine=data["machine"],
                   libraries=data["libraries"], results=results, notes=data.get("notes", {}))


def git_commit(repo: str | os.PathLike | None = None) -> str:
    """HEAD's short hash, with ``+dirty`` when the tree has changes; ``unknown`` outside git."""
    cwd = os.fspath(repo) if repo else os.path.dirname(os.path.abspath(__file__))
    try:
        head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=cwd, check=True,
                              capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=cwd, capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def machine_info() -> dict[str, Any]:
    """CPU model, core counts, memory, GPU and driver (if any), OS and Python."""
    info: dict[str, Any] = {
        "cpu": _cpu_model(),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "memory_gib": _memory_gib(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "gpus": _gpus(),
    }
    return info


def library_versions() -> dict[str, str]:
    versions = {}
    for name in TRACKED_LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def describe_machine(machine: dict[str, Any]) -> str:
    """One line: ``<cpu>, <n> CPUs, <mem> GiB[, GPU ...]``."""
    text = f"{machine.get('cpu', '?')}, {machine.get('usable_cpus', '?')} CPUs"
    if machine.get("memory_gib"):
        text += f", {machine['memory_gib']:.0f} GiB"
    gpus = machine.get("gpus") or []
    if gpus:
        text += ", " + "; ".join(f"{g['name']} (driver {g['driver']})" for g in gpus)
    else:
        text += ", no GPU"
    return text


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        with open("/proc/meminfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("MemTotal"):
                    return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def _gpus() -> list[dict[str, str]]:
    """NVIDIA GPUs through nvidia-smi (no CUDA context is created)."""
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
            check=True, capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    gpus = []
    for line in out.strip().splitlines():
        name, driver, memory = (part.strip() for part in line.split(","))
        gpus.append({"name": name, "driver": driver, "memory": memory})
    return gpus

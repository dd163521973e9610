"""pytest-benchmark glue: every benchmark adds a Measurement to one record per session.

    pytest benchmarks/ --benchmark-only [--bench-record benchmarks/results/latest.json]

Each test measures one contender (ours or a reference) on a named workload with
``pedantic`` (warm-up excluded, fixed rounds); ratios are computed from the record, so ours and
the references always come from the same run. ``lanser-fast bench-report RECORD --readme
README.md`` turns the record into the README table.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from lanser_fast.bench import Measurement, Record  # noqa: E402
from lanser_fast.cache import cache_root  # noqa: E402

_RECORD: Record | None = None


def pytest_addoption(parser):
    parser.addoption("--bench-record", default=str(ROOT / "benchmarks" / "results" /
                                                   "latest.json"),
                     help="where to write the lanser-fast benchmark record (JSON)")


@pytest.fixture(scope="session")
def bench_record() -> Record:
    global _RECORD
    if _RECORD is None:
        _RECORD = Record.new(ROOT)
    return _RECORD


@pytest.fixture()
def measure(benchmark, bench_record):
    """``measure(fn, work=..., stage=, workload=, impl=, role=, unit=, threads=, rounds=)``"""

    def run(fn, *, work: float, rounds: int = 5, warmup_rounds: int = 1, **fields):
        benchmark.group = f"{fields['stage']}: {fields['workload']}"
        benchmark.extra_info.update(fields)
        benchmark.pedantic(fn, rounds=rounds, warmup_rounds=warmup_rounds, iterations=1)
        times = list(benchmark.stats.stats.data)
        measurement = Measurement.from_times(times, work, **fields)
        bench_record.add(measurement)
        return measurement

    return run


def pytest_sessionfinish(session, exitstatus):
    if _RECORD is not None and _RECORD.results:
        path = _RECORD.save(session.config.getoption("--bench-record"))
        print(f"\nlanser-fast benchmark record: {path}")
        for ratio in _RECORD.ratios():
            print(f"  {ratio['stage']} [{ratio['workload']}]: {ratio['ours']} is "
                  f"{ratio['ratio']:.2f}x {ratio['reference']}")


# ------------------------------------------------------------------ Whisper of the ASR benchmarks


@pytest.fixture(scope="module")
def whisper_model() -> Path:
    """The random tiny-sized Whisper (Hugging Face folder), built once into the cache."""
    from filelock import FileLock

    from tools.tiny_models import build_whisper

    folder = cache_root() / "bench-models" / "whisper-tiny"
    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder) + ".lock"):
        if not (folder / "config.json").exists():
            build_whisper(folder, "tiny")
    return folder


@pytest.fixture(scope="module")
def ct2_model(whisper_model) -> Path:
    """Its CTranslate2 conversion (our converter, cached)."""
    from lanser_fast.asr.models import resolve_whisper

    return resolve_whisper(str(whisper_model)).path


@pytest.fixture(scope="module")
def eot(ct2_model) -> int:
    """Its end-of-text token: suppressed so every contender decodes a fixed number of tokens."""
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(ct2_model / "tokenizer.json")).token_to_id("<|endoftext|>")

"""pytest-benchmark glue: every benchmark adds a Measurement to one record per session.

    pytest benchmarks/ --benchmark-only [--bench-record benchmarks/results/latest.json]

Each test measures one contender (ours or a reference) on a named workload with
``pedantic`` (warm-up excluded, fixed rounds); ratios are computed from the record, so ours and
the references always come from the same run. ``lanser-fast bench-report RECORD --readme
benchmarks/README.md [--block NAME]`` turns the record into that file's table.
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
_TIMES: dict[str, dict[str, float]] = {}  # test id -> seconds in setup / call / teardown
_NOT_MEASURED: list[dict[str, str]] = []  # contenders skipped or failed, with the reason
# Real models in place of the random tiny-sized ones (`lanser-fast bench --models`).
ASR_MODEL = os.environ.get("LANSER_FAST_BENCH_ASR_MODEL") or None
NLI_MODEL = os.environ.get("LANSER_FAST_BENCH_NLI_MODEL") or None
DEVICE = os.environ.get("LANSER_FAST_BENCH_DEVICE", "auto")  # auto, cpu or cuda
QUICK = os.environ.get("LANSER_FAST_BENCH_QUICK") == "1"
FULL_ONLY = "full run only: --quick measures the core contenders"
full_only = pytest.mark.full_only  # a contender --quick leaves out (listed, not hidden)


def pytest_configure(config):
    config.addinivalue_line("markers", f"full_only: {FULL_ONLY}")


def pytest_collection_modifyitems(config, items):
    if QUICK:
        for item in items:
            if "full_only" in item.keywords:
                item.add_marker(pytest.mark.skip(reason=FULL_ONLY))


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
        if ASR_MODEL or NLI_MODEL:  # the workload names the models it ran
            used = ", ".join(m for m in (ASR_MODEL, NLI_MODEL) if m)
            fields["workload"] = f"{fields['workload']} [models: {used}]"
        benchmark.group = f"{fields['stage']}: {fields['workload']}"
        benchmark.extra_info.update(fields)
        benchmark.pedantic(fn, rounds=rounds, warmup_rounds=warmup_rounds, iterations=1)
        times = list(benchmark.stats.stats.data)
        measurement = Measurement.from_times(times, work, **fields)
        bench_record.add(measurement)
        return measurement

    return run


def gpu_allowed() -> bool:
    """Whether GPU contenders run: a CUDA device exists and ``--device cpu`` was not asked."""
    import torch

    return DEVICE != "cpu" and torch.cuda.is_available()


def pytest_runtest_logreport(report):
    """Per-test phase times (set-up = building models, corpora and caches: the cold-start cost)
    and every contender that was not measured, with the reason."""
    _TIMES.setdefault(report.nodeid, {})[report.when] = round(report.duration, 2)
    non_benchmark = report.skipped and "non-benchmark" in str(report.longrepr)
    if (report.skipped or report.failed) and not non_benchmark:  # correctness checks aside
        reason = report.longrepr[2] if report.skipped and isinstance(report.longrepr, tuple) \
            else str(report.longrepr).strip().splitlines()[-1]
        _NOT_MEASURED.append({"id": report.nodeid, "test": report.nodeid.split("::")[-1],
                              "failed": bool(report.failed),
                              "reason": reason.removeprefix("Skipped: ")})


def pytest_sessionfinish(session, exitstatus):
    global _RECORD
    if _RECORD is None and _NOT_MEASURED:  # nothing measured: the record still says why
        _RECORD = Record.new(ROOT)
    if _RECORD is not None:
        _RECORD.notes.update(times=_TIMES, not_measured=_NOT_MEASURED)
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
def ct2_model(request) -> Path:
    """The CTranslate2 folder of the ``--models`` Whisper (a faster-whisper name, hub id or
    folder, resolved as ``transcribe`` resolves it), else of the random tiny-sized one (our
    converter, cached)."""
    from lanser_fast.asr.models import resolve_whisper

    return resolve_whisper(ASR_MODEL or str(request.getfixturevalue("whisper_model"))).path


@pytest.fixture(scope="module")
def eot(ct2_model) -> int:
    """Its end-of-text token: suppressed so every contender decodes a fixed number of tokens."""
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(ct2_model / "tokenizer.json")).token_to_id("<|endoftext|>")


def hub_folder(model: str) -> Path:
    """A local folder of the ``--models`` NLI model: the folder itself, or its hub snapshot (the
    CTranslate2 candidate reads its weights file)."""
    if Path(model).is_dir():
        return Path(model)
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(model))

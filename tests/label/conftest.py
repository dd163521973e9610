"""Fixtures of the label tests: one labeler (tiny Whisper + tiny MNLI), the 8-clip corpus and
its uninterrupted baseline run, shared by every module of the package."""

from __future__ import annotations

from pathlib import Path

import pytest

from lanser_fast.label.corpus import label_corpus
from lanser_fast.label.pipeline import Labeler
from lanser_fast.manifest import open_inputs
from tests.label.common import label_config, rows_of


@pytest.fixture(scope="package", autouse=True)
def label_cache(tmp_path_factory):
    """One ``LANSER_FAST_CACHE`` (ONNX exports, conversions) for the package."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LANSER_FAST_CACHE", str(tmp_path_factory.mktemp("lanser-cache")))
        yield


@pytest.fixture(scope="package")
def labeler(hub_models, label_cache):
    out = Labeler(label_config())
    yield out
    out.close()


@pytest.fixture(scope="package")
def corpus(speech_corpus) -> Path:
    return speech_corpus  # 8 clips of 0.5-3 s + manifest.jsonl


@pytest.fixture(scope="package")
def baseline(labeler, corpus, tmp_path_factory) -> dict[str, dict]:
    out = tmp_path_factory.mktemp("baseline") / "out"
    label_corpus(open_inputs([str(corpus)]), out, label_config(), labeler=labeler)
    return rows_of(out)

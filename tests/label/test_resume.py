"""Crash safety: SIGKILL of the whole process group at several points, then the same run again,
ends with the rows of the uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lanser_fast.label.corpus import label_corpus
from lanser_fast.manifest import open_inputs
from tests.label.common import NEW_TOKENS, NLI, WHISPER, label_config, rows_of, same_rows

_KILLABLE = """
from lanser_fast.asr.transcriber import TranscribeConfig
from lanser_fast.asr.whisper_decode import DecodeOptions
from lanser_fast.label.config import LabelConfig
from lanser_fast.label.corpus import label_corpus
from lanser_fast.manifest import open_inputs
from lanser_fast.nli.scorer import ScoreConfig
config = LabelConfig(asr=TranscribeConfig(model={whisper!r}, compute_type="float32",
                                          decode=DecodeOptions(max_new_tokens={tokens})),
                     nli=ScoreConfig(model={nli!r}))
label_corpus(open_inputs([{corpus!r}]), {out!r}, config, workers={workers}, shard_rows=1,
             flush_s=0.0)
"""


def _killed_run(corpus: Path, out: Path, workers: int, when) -> None:
    """Start a run in its own process group and SIGKILL the whole group once ``when(out)``."""
    script = _KILLABLE.format(whisper=WHISPER, tokens=NEW_TOKENS, nli=NLI, corpus=str(corpus),
                              out=str(out), workers=workers)
    proc = subprocess.Popen([sys.executable, "-c", script], start_new_session=True,
                            env=os.environ.copy(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while proc.poll() is None and not when(out) and time.monotonic() < deadline:
        time.sleep(0.02)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _shards(out: Path) -> int:
    return len(list(out.glob("part-*.parquet"))) if out.exists() else 0


@pytest.mark.parametrize("workers,when", [
    (1, lambda out: (out / "_run.json").exists()),  # models loading, nothing written yet
    (1, lambda out: _shards(out) >= 1),
    (1, lambda out: _shards(out) >= 5),
    (2, lambda out: _shards(out) >= 2),
], ids=["before-rows", "after-1-shard", "after-5-shards", "2-workers-after-2-shards"])
def test_sigkill_then_resume_ends_with_the_uninterrupted_rows(baseline, labeler, corpus,
                                                              tmp_path, workers, when):
    out = tmp_path / "out"
    _killed_run(corpus, out, workers, when)
    partial = rows_of(out) if _shards(out) else {}
    assert set(partial) <= set(baseline)
    summary = label_corpus(open_inputs([str(corpus)]), out, label_config(), labeler=labeler)
    assert summary.skipped == len(partial) and summary.files == 8 - len(partial)
    same_rows(rows_of(out), baseline)
    assert not list(out.glob(".tmp-*"))

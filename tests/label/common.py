"""What the label tests share: the tiny models' configuration and row comparisons."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from lanser_fast.asr.transcriber import TranscribeConfig
from lanser_fast.asr.whisper_decode import DecodeOptions
from lanser_fast.label.config import LabelConfig
from lanser_fast.manifest import RESULT_SCHEMA, read_results
from lanser_fast.nli.scorer import ScoreConfig

WHISPER = "openai/whisper-tiny"
NLI = "FacebookAI/roberta-large-mnli"
NEW_TOKENS = 6
RATE = 16_000


def label_config(**changes) -> LabelConfig:
    # float32: with int8, which utterances share a batch (it differs between a resumed and an
    # uninterrupted run) moves asr_avg_logprob in the third decimal
    base = LabelConfig(asr=TranscribeConfig(model=WHISPER, compute_type="float32",
                                            decode=DecodeOptions(max_new_tokens=NEW_TOKENS)),
                       nli=ScoreConfig(model=NLI))
    return replace(base, **changes)


def rows_of(out) -> dict[str, dict]:
    rows = read_results(out).to_pylist()
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)), "duplicate rows"
    return {r["id"]: r for r in rows}


def same_rows(got: dict[str, dict], want: dict[str, dict]) -> None:
    assert set(got) == set(want)
    for key, row in want.items():
        other = got[key]
        for name in RESULT_SCHEMA.names:
            if name in ("scores", "weak_score", "asr_avg_logprob", "no_speech_prob"):
                a, b = other[name], row[name]
                assert (a is None) == (b is None), (key, name)
                if a is not None:  # thread counts and batch neighbours differ between runs
                    np.testing.assert_allclose(a, b, atol=1e-4, err_msg=f"{key} {name}")
            else:
                assert other[name] == row[name], (key, name)


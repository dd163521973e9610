"""What the label tests share: the tiny models' configuration and row comparisons."""

from __future__ import annotations

from dataclasses import replace

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
    # float32 (the tiny model's weights are random): int8 rows of the real base model were
    # measured bit-identical across batch partners on a 2-core Xeon (notes of issue 19)
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
    """The same inputs give the same rows, bit for bit: every column, floats included, whatever
    the batch partners, worker and thread counts or resume point (the features are computed clip
    by clip, CTranslate2 and onnxruntime rows do not depend on their batch, the torch engine runs
    fixed-size batches)."""
    assert set(got) == set(want)
    for key, row in want.items():
        for name in RESULT_SCHEMA.names:
            assert got[key][name] == row[name], (key, name, got[key][name], row[name])

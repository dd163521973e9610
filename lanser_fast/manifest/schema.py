"""The one result schema every stage writes, and the error row every stage shares.

A stage writes the columns of :data:`RESULT_SCHEMA` that it fills (``STAGE_COLUMNS``); the
columns keep their names and types across stages so ``decode``, ``transcribe``, ``score`` and
``label`` outputs concatenate. An input that fails becomes exactly one row with ``error_stage``
and ``error`` set and the result columns null.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

RESULT_SCHEMA = pa.schema(
    [
        ("id", pa.string()),  # stable utterance id (unique within a run)
        ("path", pa.string()),  # the input as given: file path, URL or "<shard>/<member>"
        ("offset_s", pa.float64()),  # start of the utterance inside the file
        ("duration_s", pa.float64()),  # length of the utterance
        ("audio_flags", pa.list_(pa.string())),  # decode flags, e.g. "truncated"
        ("transcript", pa.string()),
        ("language", pa.string()),
        ("asr_avg_logprob", pa.float32()),
        ("no_speech_prob", pa.float32()),
        ("asr_flags", pa.list_(pa.string())),  # Whisper failure-mode guards that fired
        ("weak_label", pa.string()),
        ("weak_score", pa.float32()),
        ("scores", pa.list_(pa.float32())),  # taxonomy order
        ("taxonomy", pa.string()),
        ("prompt", pa.string()),
        ("asr_model", pa.string()),
        ("nli_model", pa.string()),
        ("error_stage", pa.string()),  # null on success
        ("error", pa.string()),  # "<kind>: <reason>", null on success
    ]
)

_BASE = ("id", "path", "offset_s", "duration_s", "audio_flags")
_ERROR = ("error_stage", "error")
STAGE_COLUMNS: dict[str, tuple[str, ...]] = {
    "decode": _BASE + _ERROR,
    "transcribe": _BASE + ("transcript", "language", "asr_avg_logprob", "no_speech_prob",
                           "asr_flags", "asr_model") + _ERROR,
    "label": tuple(RESULT_SCHEMA.names),
}


def stage_schema(stage: str) -> pa.Schema:
    """The subset of :data:`RESULT_SCHEMA` that ``stage`` writes, in schema order."""
    names = set(STAGE_COLUMNS[stage])
    return pa.schema([f for f in RESULT_SCHEMA if f.name in names])


def error_text(exc: BaseException) -> str:
    """The ``error`` column text: an AudioError's ``kind: reason``, else ``Type: message``."""
    row_text = getattr(exc, "row_text", None)
    if row_text:
        return row_text
    message = str(exc) or repr(exc)
    return f"{type(exc).__name__}: {message}"


def error_row(item: Any, stage: str, exc: BaseException) -> dict[str, Any]:
    """One row for an input that failed in ``stage``; result columns stay null."""
    return {
        "id": item.id,
        "path": item.path,
        "offset_s": item.offset_s,
        "duration_s": item.duration_s,
        "error_stage": stage,
        "error": error_text(exc),
    }

"""The one result schema every stage writes, and the rows every stage shares.

The audio stages write the columns of :data:`RESULT_SCHEMA` that they fill (``STAGE_COLUMNS``);
the columns keep their names and types across stages so ``decode``, ``transcribe`` and ``label``
outputs concatenate. An input that fails becomes exactly one row with ``error_stage`` and
``error`` set and the result columns null.

``score`` labels texts, not audio: its rows carry the label columns of the result schema
(``weak_label``, ``weak_score``, ``scores``, ``taxonomy``, ``prompt``, ``nli_model``) under the
same names and types, plus three of its own (:data:`SCORE_FIELDS`): ``text`` (the input text,
where audio rows have ``transcript``), ``top_k`` (the best labels with their scores) and
``reason`` (why a text has no label: it is empty). A text that yields no label is not an
error, so score rows have no ``error`` columns.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

RESULT_SCHEMA = pa.schema(
    [
        ("id", pa.string()),  # stable utterance id (unique within a run)
        ("path", pa.string()),  # the input as given: file path, URL or "<shard>/<member>"
        ("path_bytes", pa.binary()),  # the path's exact bytes when it is not UTF-8 (names.py)
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

SCORE_FIELDS = pa.schema(
    [
        ("text", pa.string()),  # the scored text as read
        ("top_k", pa.list_(pa.struct([("label", pa.string()), ("score", pa.float32())]))),
        ("reason", pa.string()),  # why there is no scored label (an empty text)
    ]
)

# error_stage values: where an input failed (``write``: a row that could not be stored)
ERROR_STAGES = ("manifest", "decode", "vad", "asr", "language", "write")
_BASE = ("id", "path", "path_bytes", "offset_s", "duration_s", "audio_flags")
_LABEL = ("weak_label", "weak_score", "scores")
_LABELER = ("taxonomy", "prompt", "nli_model")
_ERROR = ("error_stage", "error")
STAGE_COLUMNS: dict[str, tuple[str, ...]] = {
    "decode": _BASE + _ERROR,
    "transcribe": _BASE + ("transcript", "language", "asr_avg_logprob", "no_speech_prob",
                           "asr_flags", "asr_model") + _ERROR,
    "label": tuple(RESULT_SCHEMA.names),
    "score": ("id", "text") + _LABEL + ("top_k", "reason") + _LABELER,
}
_FIELDS = {f.name: f for schema in (RESULT_SCHEMA, SCORE_FIELDS) for f in schema}


def stage_schema(stage: str) -> pa.Schema:
    """The columns ``stage`` writes, in the order of ``STAGE_COLUMNS`` (for the audio stages,
    the order of :data:`RESULT_SCHEMA`)."""
    return pa.schema([_FIELDS[name] for name in STAGE_COLUMNS[stage]])


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


def whole_file_row(item: Any, audio: Any, model: str, transcript: str,
                   flags: list[str]) -> dict[str, Any]:
    """The one ``transcribe`` row of an input whose transcript is not Whisper's: a silent input
    (empty, with its flag), or one whose transcript came with the manifest."""
    return {
        "id": item.id, "path": item.path, "offset_s": item.offset_s or 0.0,
        "duration_s": audio.duration_s, "audio_flags": list(audio.flags),
        "transcript": transcript, "language": None, "asr_avg_logprob": None,
        "no_speech_prob": None, "asr_flags": flags, "asr_model": model, "error_stage": None,
        "error": None,
    }

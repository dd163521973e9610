"""Inputs (folders, manifests, embedded audio, tar shards, fsspec URLs) and atomic results.

Example::

    from lanser_fast.manifest import open_inputs, ShardWriter, stage_schema, error_row, done_ids
    for item in open_inputs(["corpus/", "extra.jsonl", "s3://bucket/shard-000.tar"]):
        item.id, item.path, item.offset_s, item.duration_s, item.transcript
        item.load_audio()

Inputs
------
``open_inputs`` (``inputs.py``; ``Item`` and ``ManifestError`` in ``items.py``) reads what every
command takes as ``IN...``:

- audio files, and folders (recursive, by extension: ``lanser_fast.audio.AUDIO_EXTENSIONS``);
- JSONL / CSV / TSV / Parquet manifests: ``path`` required; optional ``id``, ``offset_s``,
  ``duration_s``, ``transcript``, ``label``; relative paths are relative to the manifest;
- Parquet with embedded audio in the Hugging Face datasets layout (``audio`` struct with
  ``bytes``/``path``, ``text`` as transcript: People's Speech);
- WebDataset tar shards (``key.flac`` + ``key.txt``/``key.json``);
- globs, and any of these behind an fsspec URL (``s3://``, ``gs://``, ``memory://``, ...);
- Lhotse cuts manifests (``lhotse_io.py``: ``cuts.jsonl.gz``, or a ``.jsonl`` whose lines are
  cuts), read lazily with lhotse: the cut's region of its recording's file, the supervisions'
  text as transcript.

A manifest without ``path``, or an input that cannot be read, fails before any work, naming the
file; a broken row becomes an error row (``error_stage`` ``manifest``).

Results
-------
Every stage writes a folder of Parquet shards (``out.parquet/part-<writer>-<seq>.parquet``) with
the columns of one schema (``schema.py``, :data:`RESULT_SCHEMA`): ``id, path, offset_s,
duration_s, audio_flags, transcript, language, asr_avg_logprob, no_speech_prob, asr_flags,
weak_label, weak_score, scores, taxonomy, prompt, asr_model, nli_model, error_stage, error``;
each stage fills its subset (:data:`STAGE_COLUMNS`). ``score`` labels texts, not audio: it
writes the label columns plus ``text``, ``top_k`` and ``reason`` (:data:`SCORE_FIELDS`).

``writer.py``: shards are written to a temporary name, fsynced and renamed, so a killed run never
leaves a partial shard; re-running skips the ids already written (``done_ids``; the resume rules
of the corpus stages are in :mod:`lanser_fast.runs`). The run's sidecar is ``_run.json`` (the
underscore keeps Parquet readers such as ``pandas.read_parquet(dir)`` from taking it for data).

Differences from the project's design notes (``DESIGN.md``, kept outside this repository): the
added ``audio_flags`` column (decode flags have no home among the ASR columns) and the sidecar's
underscore.

Export
------
``export.py`` (``lanser-fast export RESULTS --out OUT``): ``.jsonl``, ``.csv`` (list columns as
JSON text; both keep every row) or ``.jsonl.gz``: a Lhotse CutSet with one cut per successful
row, the recording of its file, one supervision with the transcript, the language and the weak
label, and its score, the scores and the flags under ``custom``.
"""

from lanser_fast.manifest.inputs import Inputs, open_inputs
from lanser_fast.manifest.items import Item, ManifestError
from lanser_fast.manifest.schema import (
    RESULT_SCHEMA,
    SCORE_FIELDS,
    STAGE_COLUMNS,
    error_row,
    error_text,
    stage_schema,
    whole_file_row,
)
from lanser_fast.manifest.writer import (
    ShardWriter,
    done_ids,
    read_results,
    write_json_atomic,
)

__all__ = [
    "RESULT_SCHEMA",
    "SCORE_FIELDS",
    "STAGE_COLUMNS",
    "Inputs",
    "Item",
    "ManifestError",
    "ShardWriter",
    "done_ids",
    "error_row",
    "error_text",
    "open_inputs",
    "read_results",
    "stage_schema",
    "whole_file_row",
    "write_json_atomic",
]

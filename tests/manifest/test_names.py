"""File names that are not valid UTF-8 become rows (lossless), and a row that cannot be stored
never takes the shard's other rows with it."""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa
import soundfile as sf
from typer.testing import CliRunner

from lanser_fast.cli import app
from lanser_fast.manifest import Item, ShardWriter, read_results, stage_schema
from lanser_fast.manifest.names import name_bytes, storable, storable_row

BAD = b"\xff\xfe take 2.wav"


def _corpus(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    tone = (0.1 * np.sin(np.arange(8000) / 5)).astype(np.float32)
    sf.write(folder / "ok.wav", tone, 16000)
    with open(os.fsencode(str(folder)) + b"/" + BAD, "wb") as fh:
        sf.write(fh, tone, 16000, format="WAV")
    return folder


def test_storable_names_round_trip():
    name = os.fsdecode(b"/data/\xff\xfe caf\xc3\xa9.wav")
    assert storable("plain é.wav") == "plain é.wav"
    assert storable(name) == "/data/\\xff\\xfe café.wav"
    assert os.fsdecode(name_bytes(name)) == name
    row = storable_row({"id": name, "path": name, "transcript": "x"}, keep_bytes=True)
    assert row["id"] == storable(name) and row["path_bytes"] == b"/data/\xff\xfe caf\xc3\xa9.wav"
    assert storable_row({"id": "a", "path": "a"}, keep_bytes=True) == {"id": "a", "path": "a"}
    assert storable("lone \ud800 surrogate") == "lone \\xed\\xa0\\x80 surrogate"


def test_a_name_that_is_not_utf8_becomes_a_row_and_resumes(tmp_path):
    folder, out = _corpus(tmp_path), tmp_path / "out"
    first = CliRunner().invoke(app, ["decode", str(folder), "--out", str(out)])
    assert first.exit_code == 0, first.output
    rows = {r["id"]: r for r in read_results(out).to_pylist()}
    assert len(rows) == 2 and all(r["error"] is None for r in rows.values()), rows
    bad = next(r for r in rows.values() if r["path_bytes"] is not None)
    assert bad["path_bytes"] == os.fsencode(str(folder)) + b"/" + BAD
    assert bad["path"].endswith("\\xff\\xfe take 2.wav") and bad["duration_s"] == 0.5
    assert next(r for r in rows.values() if r is not bad)["path_bytes"] is None
    again = CliRunner().invoke(app, ["decode", str(folder), "--out", str(out)])
    assert again.exit_code == 0, again.output
    assert read_results(out).num_rows == 2  # the escaped id is recognised on resume


def test_a_row_that_cannot_be_stored_becomes_an_error_row_alone(tmp_path):
    schema = stage_schema("label")
    with ShardWriter(tmp_path, schema) as writer:
        writer.write_group([{"id": "good", "path": "good.wav", "transcript": "fine"}])
        writer.write_group([{"id": "bad", "path": "bad.wav", "weak_score": "not a number"}])
    rows = {r["id"]: r for r in read_results(tmp_path).to_pylist()}
    assert rows["good"]["transcript"] == "fine" and rows["good"]["error"] is None
    assert rows["bad"]["error_stage"] == "write" and "unstorable" in rows["bad"]["error"]
    assert isinstance(pa.Table.from_pylist([rows["bad"]], schema=schema), pa.Table)


def test_ray_items_carry_names_that_are_not_utf8():
    from lanser_fast.label.ray_job import _item, _item_dict

    name = os.fsdecode(b"/x/\xff.wav")
    row = _item_dict(Item(id=name, path=name))
    pa.Table.from_pylist([row])  # Arrow carries it
    assert _item(dict(row)).path == name and _item(dict(row)).id == storable(name)

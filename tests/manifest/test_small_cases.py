"""Manifest values that used to give untyped errors or misleading locations."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from lanser_fast.audio import BadRegionError, load_audio
from lanser_fast.manifest import open_inputs
from lanser_fast.runs import load_item


@pytest.fixture
def wav(tmp_path):
    path = tmp_path / "a.wav"
    sf.write(path, np.zeros(16000, np.float32), 16000)
    return path


@pytest.mark.parametrize("value", ["inf", "-inf", "Infinity"])
def test_an_infinite_duration_is_a_manifest_problem(tmp_path, wav, value):
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"path,duration_s\n{wav},{value}\n")
    (item,) = open_inputs([str(manifest)])
    row = load_item(item, 16000)
    assert row["error_stage"] == "manifest" and "not a finite number" in row["error"], row


def test_an_infinite_region_is_a_bad_region_not_an_overflow(wav):
    with pytest.raises(BadRegionError, match="finite"):
        load_audio(wav, duration_s=float("inf"))


def test_csv_locations_are_file_lines(tmp_path, wav):
    manifest = tmp_path / "m.csv"
    lines = ["path,offset_s"] + [f"{wav},0"] * 22 + ["", ""] + [f"{wav},oops"]
    manifest.write_text("\n".join(lines) + "\n")
    bad = [i for i in open_inputs([str(manifest)]) if i.problem]
    assert len(bad) == 1 and bad[0].problem.startswith(f"{manifest}:26:"), bad[0].problem


def test_a_huge_offset_is_printed_short(tmp_path, wav):
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps({"path": str(wav), "offset_s": 1e300}) + "\n")
    (item,) = open_inputs([str(manifest)])
    row = load_item(item, 16000)
    assert len(item.id) < len(str(wav)) + 40 and "1e+300" in item.id, item.id
    assert row["error_stage"] == "decode" and len(row["error"]) < 300, row["error"]

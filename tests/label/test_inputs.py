"""The input table: every kind of valid, flawed and broken input ends in its rows or one error
row with its documented kind."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from lanser_fast.label.corpus import label_corpus
from lanser_fast.manifest import open_inputs
from tests.label.common import RATE, label_config, rows_of


def _wav_bytes(x: np.ndarray, rate: int = RATE, subtype: str = "PCM_16", fmt="WAV") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, x, rate, subtype=subtype, format=fmt)
    return buf.getvalue()


@pytest.fixture(scope="module")
def table_inputs(tmp_path_factory) -> tuple[Path, Path, dict]:
    """A folder with every kind of valid, flawed and broken input, and a manifest."""
    from tools.synth_speech import SENTENCES, speak

    root = tmp_path_factory.mktemp("table")
    folder = root / "in"
    folder.mkdir()
    speech = speak(SENTENCES[0], rate_wpm=200)
    resampled = {rate: speak(SENTENCES[1], sample_rate=rate) for rate in (8000, 48000)}
    sf.write(folder / "pcm8.wav", speech, RATE, subtype="PCM_U8")
    sf.write(folder / "pcm24.wav", speech, RATE, subtype="PCM_24")
    sf.write(folder / "float.wav", speech, RATE, subtype="FLOAT")
    sf.write(folder / "six-channels.wav", np.repeat(speech[:, None], 6, 1), RATE)
    sf.write(folder / "rate8k.wav", resampled[8000], 8000)
    sf.write(folder / "rate48k.wav", resampled[48000], 48000)
    (folder / "mp3-content.wav").write_bytes(
        _wav_bytes(speech, fmt="MP3", subtype="MPEG_LAYER_III"))
    sf.write(folder / "ünïcode name ☺.wav", speech, RATE)
    sf.write(folder / "silence.wav", np.zeros(2 * RATE, np.float32), RATE)
    whole = _wav_bytes(speech)
    (folder / "truncated.wav").write_bytes(whole[: len(whole) // 2])
    (folder / "empty.wav").write_bytes(b"")
    (folder / "zero-length.wav").write_bytes(_wav_bytes(np.zeros(0, np.float32)))
    (folder / "header-only.wav").write_bytes(whole[:44])
    (folder / "random.wav").write_bytes(np.random.default_rng(0).bytes(4096))
    (folder / "text.flac").write_bytes(b"this is a text file, not FLAC\n" * 20)
    nan = speech.copy()
    nan[100] = np.nan
    sf.write(folder / "nan.wav", nan, RATE, subtype="FLOAT")
    (folder / "x.wav").mkdir()
    os.symlink(folder / "gone.wav", folder / "broken-link.wav")
    sf.write(folder / "locked.wav", speech, RATE)
    # two hours, silent but for three sentences: rows only for the speech
    spots = (600.0, 3_660.0, 7_150.0)
    with sf.SoundFile(folder / "two-hours.flac", "w", RATE, 1, subtype="PCM_16") as fh:
        position, block = 0.0, np.zeros(60 * RATE, np.float32)
        for spot in spots:
            while position + 60 <= spot:
                fh.write(block)
                position += 60
            gap = np.zeros(int((spot - position) * RATE), np.float32)
            fh.write(np.concatenate([gap, speech]))
            position = spot + len(speech) / RATE
        fh.write(np.zeros(int((7_200 - position) * RATE), np.float32))
    manifest = root / "manifest.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in (
        {"path": str(folder / "float.wav")},
        {"path": str(folder / "float.wav")},  # duplicate: its own row, id float.wav#2
        {"path": str(root / "missing.wav")},
    )))
    return folder, manifest, {"spots": spots, "speech_s": len(speech) / RATE}


def test_every_input_kind_ends_in_rows_or_one_error_row(labeler, table_inputs, tmp_path,
                                                        monkeypatch):
    from lanser_fast.audio import decode as decode_mod

    folder, manifest, facts = table_inputs
    real_open = open

    def deny_locked(path, *args, **kwargs):  # CI runs as root: inject the permission error
        if str(path).endswith("locked.wav"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(decode_mod, "open", deny_locked, raising=False)
    items = list(open_inputs([str(folder), str(manifest)]))
    summary = label_corpus(items, tmp_path / "out", label_config(), labeler=labeler)
    rows = rows_of(tmp_path / "out")
    by_input: dict[str, list[dict]] = {}
    for row in rows.values():
        by_input.setdefault(row["id"].split("#0")[0], []).append(row)
    assert set(by_input) == {item.id for item in items}  # every input accounted for
    assert summary.files == len(items)

    for name in ("pcm8.wav", "pcm24.wav", "float.wav", "six-channels.wav", "rate8k.wav",
                 "rate48k.wav", "mp3-content.wav", "ünïcode name ☺.wav"):
        (row,) = by_input[name]
        assert row["error"] is None and row["weak_label"] is not None, name
        assert row["transcript"] and row["scores"] is not None
    (silent,) = by_input["silence.wav"]
    assert silent["error"] is None and silent["transcript"] == ""
    assert silent["asr_flags"] == ["no_speech"] and silent["weak_label"] is None
    (truncated,) = by_input["truncated.wav"]
    assert truncated["error"] is None and "truncated" in truncated["audio_flags"]
    assert truncated["weak_label"] is not None

    long_rows = sorted(by_input["two-hours.flac"], key=lambda r: r["offset_s"])
    assert 1 <= len(long_rows) <= 6 and all(r["error"] is None for r in long_rows)
    assert sum(r["duration_s"] for r in long_rows) < 120  # speech only, not two hours
    for spot in facts["spots"]:  # each sentence lies inside one row
        assert any(r["offset_s"] <= spot + 0.3 and
                   spot + facts["speech_s"] - 0.3 <= r["offset_s"] + r["duration_s"]
                   for r in long_rows), spot

    errors = {
        "empty.wav": "empty_file", "zero-length.wav": "no_audio_data",
        "header-only.wav": "no_audio_data", "random.wav": "not_audio",
        "text.flac": "not_audio", "nan.wav": "non_finite", "x.wav": "not_a_file",
        "broken-link.wav": "missing", "locked.wav": "unreadable",
        str(Path(folder.parent / "missing.wav")): "missing",
    }
    for name, kind in errors.items():
        (row,) = by_input[name]
        assert row["error_stage"] == "decode" and row["error"].startswith(kind + ":"), name
        assert row["path"] and row["weak_label"] is None and row["transcript"] is None
    manifest_float = str(folder / "float.wav")
    assert by_input[manifest_float][0]["id"] == manifest_float
    assert by_input[manifest_float + "#2"][0]["transcript"] == \
        by_input[manifest_float][0]["transcript"]

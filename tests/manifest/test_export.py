"""Results export (JSONL, CSV, Lhotse CutSet) and Lhotse CutSets as inputs. No models needed."""

import gzip
import json
import math

import numpy as np
import pytest
import soundfile as sf

from lanser_fast.manifest import (
    RESULT_SCHEMA,
    ManifestError,
    ShardWriter,
    lhotse_io,
    open_inputs,
    read_results,
    stage_schema,
)
from lanser_fast.manifest import export as export_mod
from lanser_fast.manifest.export import ExportSummary, export_results
from tests.helpers import sine

RATE = 16000
FLOAT32_COLUMNS = ("asr_avg_logprob", "no_speech_prob", "weak_score")


def _ok_row(row_id, path, **extra):
    row = dict(id=row_id, path=path, offset_s=None, duration_s=1.0, audio_flags=[],
               transcript="hello there", language="en", asr_avg_logprob=-0.25,
               no_speech_prob=0.01, asr_flags=[], weak_label="happy", weak_score=0.7,
               scores=[0.7, 0.1, 0.2], taxonomy="basic3", prompt="This person feels {}.",
               asr_model="tiny", nli_model="roberta-large-mnli", error_stage=None, error=None)
    row.update(extra)
    return row


@pytest.fixture()
def results(tmp_path):
    """A results folder of three shards: a normal row, a unicode path with spaces, two segments
    of a long file, an error row, and a row whose audio lhotse cannot read (a tar member)."""
    audio = tmp_path / "audio"
    (audio / "ünï cödé").mkdir(parents=True)
    normal = audio / "normal.wav"
    odd = audio / "ünï cödé" / "fröhlich ☺ 1.wav"
    long = audio / "long.wav"
    sf.write(normal, sine(1.0, RATE), RATE)
    sf.write(odd, sine(1.0, RATE, freq=220.0), RATE)
    sf.write(long, sine(45.0, 8000), 8000)  # 8 kHz keeps the fixture small
    rows = [
        _ok_row("normal.wav", str(normal), scores=[0.1, 0.7, 0.2], weak_label="sad"),
        _ok_row("ünï cödé/fröhlich ☺ 1.wav", str(odd), transcript="Grüße, 你好",
                audio_flags=["resampled"], asr_flags=["repetition"], weak_score=1 / 3),
        _ok_row("long.wav#00000", str(long), offset_s=0.0, duration_s=30.5),
        _ok_row("long.wav#00001", str(long), offset_s=30.5, duration_s=12.0,
                transcript="the second segment"),
        dict(id="broken.wav", path=str(audio / "broken.wav"), error_stage="decode",
             error="missing_file: no such file"),
        _ok_row("shard.tar/x", str(tmp_path / "shard.tar/x.wav")),
    ]
    out = tmp_path / "label.parquet"
    with ShardWriter(out, RESULT_SCHEMA, shard_rows=2) as writer:
        writer.write_many(rows)
    return out


# ----------------------------------------------------------------------------- JSONL / CSV


def _assert_same(got, want):
    assert set(got) == set(want)
    for name, value in want.items():
        if name in FLOAT32_COLUMNS and value is not None:
            assert got[name] == pytest.approx(value, abs=1e-7), name
        elif name == "scores" and value is not None:
            assert got[name] == pytest.approx(value, abs=1e-7)
        else:
            assert got[name] == value, name


def test_jsonl_round_trip_equals_read_results(results, tmp_path, monkeypatch):
    monkeypatch.setattr(export_mod, "EXPORT_BATCH_ROWS", 1)  # many batches per shard
    dst = tmp_path / "out" / "results.jsonl"
    summary = export_results(results, dst)
    assert summary == ExportSummary(6, 0, "jsonl", str(dst))
    text = dst.read_text(encoding="utf-8")
    assert "你好" in text and "\\u" not in text  # non-ASCII kept as is
    lines = [json.loads(line) for line in text.splitlines()]
    want = read_results(results).to_pylist()
    assert len(lines) == len(want)
    for got, row in zip(lines, want):
        _assert_same(got, row)
    assert lines[1]["weak_score"] == 0.33333334  # float32's shortest decimal, not 17 digits
    assert lines[4]["error"] == "missing_file: no such file" and lines[4]["scores"] is None
    assert lines[0]["error"] is None and lines[0]["error_stage"] is None
    assert not [p for p in dst.parent.iterdir() if p.name.startswith(".tmp-")]


def test_jsonl_export_unions_the_columns_of_different_stages(tmp_path, results):
    with ShardWriter(results, stage_schema("decode"), writer="decode") as writer:
        writer.write(dict(id="decoded-only", path="x.wav", duration_s=2.0, audio_flags=[]))
    dst = tmp_path / "r.jsonl.gz"
    assert export_results(results, dst, fmt="jsonl").rows == 7
    with gzip.open(dst, "rt", encoding="utf-8") as fh:
        lines = [json.loads(line) for line in fh]
    for got, row in zip(lines, read_results(results).to_pylist()):
        _assert_same(got, row)
    assert lines[-1]["id"] == "decoded-only" and lines[-1]["transcript"] is None


def test_csv_is_readable_by_pandas_with_json_list_cells(results, tmp_path):
    pd = pytest.importorskip("pandas")
    dst = tmp_path / "results.csv"
    assert export_results(results, dst).rows == 6
    frame = pd.read_csv(dst, keep_default_na=False)
    assert list(frame.columns) == RESULT_SCHEMA.names
    want = read_results(results).to_pylist()
    assert list(frame["id"]) == [r["id"] for r in want]
    for (_, got), row in zip(frame.iterrows(), want):
        for name in ("scores", "audio_flags", "asr_flags"):
            cell = got[name]
            assert (json.loads(cell) if cell else None) == pytest.approx(row[name], abs=1e-7)
        assert got["path"] == row["path"]
        assert (got["error"] or None) == row["error"]
    assert frame["transcript"][1] == "Grüße, 你好"
    assert float(frame["offset_s"][3]) == 30.5 and float(frame["duration_s"][3]) == 12.0


def test_unknown_format_raises_and_a_failed_export_keeps_the_old_file(results, tmp_path,
                                                                     monkeypatch):
    with pytest.raises(ValueError, match=r"\.jsonl\.gz, \.jsonl, \.csv"):
        export_results(results, tmp_path / "results.parquet")
    with pytest.raises(ValueError, match="jsonl, csv, cutset"):
        export_results(results, tmp_path / "results.jsonl", fmt="xml")
    with pytest.raises(FileNotFoundError, match="no result shards"):
        export_results(tmp_path / "nothing", tmp_path / "results.jsonl")

    dst = tmp_path / "results.jsonl"
    dst.write_text("previous export\n")

    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr(export_mod, "_write_jsonl", fail)
    with pytest.raises(OSError, match="disk full"):
        export_results(results, dst)
    assert dst.read_text() == "previous export\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp-")] == []


# ----------------------------------------------------------------------------- CutSet export


def test_cutset_export_is_readable_by_lhotse(results, tmp_path):
    lhotse = pytest.importorskip("lhotse")
    dst = tmp_path / "cuts.jsonl.gz"
    summary = export_results(results, dst)
    assert (summary.fmt, summary.rows, summary.skipped_errors) == ("cutset", 4, 2)
    assert any("broken.wav: error row" in p for p in summary.problems)
    assert any("shard.tar/x: lhotse cannot read" in p for p in summary.problems)

    cuts = {c.id: c for c in lhotse.load_manifest(dst)}
    assert set(cuts) == {"normal.wav", "ünï cödé/fröhlich ☺ 1.wav", "long.wav#00000",
                         "long.wav#00001"}
    assert {c.id for c in lhotse.CutSet.from_file(dst)} == set(cuts)
    assert all(isinstance(c, lhotse.MonoCut) for c in cuts.values())

    seg = cuts["long.wav#00001"]
    assert (seg.start, seg.duration) == (30.5, 12.0)
    assert seg.recording.id == cuts["long.wav#00000"].recording.id  # one shared recording
    assert seg.recording.id != cuts["normal.wav"].recording.id
    assert seg.supervisions[0].text == "the second segment"
    assert seg.load_audio().shape[-1] == 12 * 8000

    odd = cuts["ünï cödé/fröhlich ☺ 1.wav"]
    sup = odd.supervisions[0]
    assert (odd.start, odd.duration) == (0.0, 1.0)
    assert (sup.text, sup.language, sup.start, sup.duration) == ("Grüße, 你好", "en", 0.0, 1.0)
    assert sup.custom["weak_label"] == "happy"
    assert sup.custom["weak_score"] == pytest.approx(1 / 3, abs=1e-7)
    assert sup.custom["scores"] == pytest.approx([0.7, 0.1, 0.2], abs=1e-7)
    assert sup.custom["asr_flags"] == ["repetition"]
    assert cuts["normal.wav"].supervisions[0].custom["weak_label"] == "sad"
    assert odd.load_audio().shape[-1] == RATE


def test_cutset_export_keeps_stereo_as_multicut_and_clamps_overruns(tmp_path):
    lhotse = pytest.importorskip("lhotse")
    stereo = tmp_path / "stereo.wav"
    sf.write(stereo, np.stack([sine(2.0, RATE), sine(2.0, RATE, freq=330.0)], axis=1), RATE)
    with ShardWriter(tmp_path / "r", RESULT_SCHEMA) as writer:
        writer.write(_ok_row("whole", str(stereo), duration_s=None))
        writer.write(_ok_row("overrun", str(stereo), offset_s=1.5, duration_s=1.0))
        writer.write(_ok_row("past-end", str(stereo), offset_s=2.5, duration_s=1.0))
    summary = export_results(tmp_path / "r", tmp_path / "c.jsonl", fmt="cutset")
    assert (summary.rows, summary.skipped_errors) == (2, 1)
    assert "past the end" in summary.problems[0]
    whole, overrun = lhotse.load_manifest(tmp_path / "c.jsonl")
    assert isinstance(whole, lhotse.MultiCut) and whole.channel == [0, 1]  # labels: the mixdown
    assert (whole.duration, overrun.start, overrun.duration) == (2.0, 1.5, 0.5)
    assert overrun.load_audio().shape == (2, RATE // 2)


# ----------------------------------------------------------------------------- CutSet input


@pytest.fixture()
def cuts_files(tmp_path):
    """A 3 s and a 1 s (22.05 kHz) recording; a 0.5 s + 1.0 s cut of the first, and the whole
    second with two supervisions; saved as cuts.jsonl.gz and cuts.jsonl."""
    lhotse = pytest.importorskip("lhotse")
    sf.write(tmp_path / "three.wav", sine(3.0, RATE), RATE)
    sf.write(tmp_path / "one sec.wav", sine(1.0, 22050), 22050)
    three = lhotse.Recording.from_file(tmp_path / "three.wav")
    one = lhotse.Recording.from_file(tmp_path / "one sec.wav", recording_id="one")
    region = lhotse.MonoCut(
        id="three#region", start=0.5, duration=1.0, channel=0, recording=three,
        supervisions=[lhotse.SupervisionSegment(
            id="s0", recording_id=three.id, start=0.0, duration=1.0, text="hello there",
            custom={"emotion": "happy"})])
    whole = one.to_cut().with_id("one/whole")
    whole.supervisions = [
        lhotse.SupervisionSegment(id="s2", recording_id="one", start=0.5, duration=0.5,
                                  text="two"),
        lhotse.SupervisionSegment(id="s1", recording_id="one", start=0.0, duration=0.5,
                                  text="one"),
    ]
    cuts = lhotse.CutSet.from_cuts([region, whole])
    cuts.to_file(tmp_path / "cuts.jsonl.gz")
    cuts.to_file(tmp_path / "cuts.jsonl")
    return tmp_path


@pytest.mark.parametrize("name", ["cuts.jsonl.gz", "cuts.jsonl"])
def test_cutset_input_yields_items_that_decode(cuts_files, name):
    items = list(open_inputs([cuts_files / name]))
    assert [i.id for i in items] == ["three#region", "one/whole"]
    region, whole = items
    assert region.path == str(cuts_files / "three.wav")
    assert (region.offset_s, region.duration_s) == (0.5, 1.0)
    assert (region.transcript, region.label) == ("hello there", "happy")
    assert whole.path == str(cuts_files / "one sec.wav")
    assert (whole.offset_s, whole.duration_s) == (0.0, 1.0)
    assert (whole.transcript, whole.label) == ("one two", None)  # in time order
    assert all(i.problem is None for i in items)
    assert len(region.load_audio().samples) == RATE
    assert len(whole.load_audio().samples) == RATE  # 22.05 kHz resampled


def test_memory_command_and_odd_cuts_become_audio_or_problems(cuts_files):
    lhotse = pytest.importorskip("lhotse")
    from lhotse.audio import AudioSource
    from lhotse.utils import fastcopy

    region = next(iter(lhotse.CutSet.from_file(cuts_files / "cuts.jsonl")))
    in_memory = fastcopy(region, recording=region.recording.move_to_memory())
    item = lhotse_io.cut_to_item(in_memory, container="mem")
    assert item.problem is None and item.data is not None and item.path == "mem/three#region"
    assert len(item.load_audio().samples) == RATE

    piped = lhotse.Recording(
        id="piped", sources=[AudioSource(type="command", channels=[0],
                                         source=f"cat '{cuts_files / 'three.wav'}'")],
        sampling_rate=RATE, num_samples=3 * RATE, duration=3.0)
    speedy = region.perturb_speed(1.1)
    mixed = region.mix(region, offset_other_by=0.25)
    lhotse.CutSet.from_cuts([piped.to_cut(), speedy, mixed]).to_file(cuts_files / "odd.jsonl")
    with open(cuts_files / "odd.jsonl", "a") as fh:
        fh.write('{"type": "MonoCut", "broken": true}\n')
        memory = region.to_dict()
        memory["id"] = "memory-as-text"
        memory["recording"]["sources"][0].update(type="memory", source="not bytes")
        fh.write(json.dumps(memory) + "\n")
    items = list(open_inputs([cuts_files / "odd.jsonl"]))
    assert len(items) == 5 and all(i.problem for i in items)
    piped_item, speedy_item, mixed_item, broken, memory_item = items
    assert "shell command" in piped_item.problem
    assert "Speed" in speedy_item.problem
    assert "MixedCut" in mixed_item.problem
    assert broken.id.endswith("odd.jsonl:4") and "not a Lhotse cut" in broken.problem
    assert memory_item.id == "memory-as-text" and "holds no bytes" in memory_item.problem
    with pytest.raises(ValueError):
        piped_item.load_audio()


def test_lhotse_manifest_errors_are_actionable(cuts_files, monkeypatch):
    lhotse = pytest.importorskip("lhotse")
    recordings = lhotse.RecordingSet.from_recordings(
        [lhotse.Recording.from_file(cuts_files / "three.wav")])
    recordings.to_file(cuts_files / "recordings.jsonl.gz")
    with pytest.raises(ManifestError, match="recordings manifest"):
        open_inputs([cuts_files / "recordings.jsonl.gz"])

    plain = cuts_files / "plain.jsonl"
    plain.write_text(json.dumps({"path": "three.wav", "offset_s": 1.0}) + "\n")
    (item,) = open_inputs([plain])  # no cut shape: the plain JSONL reader, as before
    assert item.path == str(cuts_files / "three.wav") and math.isclose(item.offset_s, 1.0)

    monkeypatch.setattr(lhotse_io, "lhotse_available", lambda: False)
    with pytest.raises(ManifestError, match=r"pip install 'lanser-fast\[lhotse\]'"):
        open_inputs([cuts_files / "cuts.jsonl"])

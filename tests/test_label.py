"""The ``label`` job: end to end on espeak-ng speech with the tiny local models (by hub id),
one and two workers, SIGKILL at several points then resume, Ray, and every kind of input."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from lanser_fast.asr.transcriber import TranscribeConfig
from lanser_fast.asr.whisper_decode import DecodeOptions
from lanser_fast.cli import app
from lanser_fast.label.config import LabelConfig
from lanser_fast.label.corpus import label_corpus
from lanser_fast.label.output import OutputError
from lanser_fast.label.pipeline import Labeler
from lanser_fast.manifest import RESULT_SCHEMA, open_inputs, read_results
from lanser_fast.nli.scorer import ScoreConfig

WHISPER = "openai/whisper-tiny"
NLI = "FacebookAI/roberta-large-mnli"
NEW_TOKENS = 6
RATE = 16_000

pytestmark = pytest.mark.usefixtures("lanser_cache")


def _config(**changes) -> LabelConfig:
    # float32: with int8, which utterances share a batch (it differs between a resumed and an
    # uninterrupted run) moves asr_avg_logprob in the third decimal
    base = LabelConfig(asr=TranscribeConfig(model=WHISPER, compute_type="float32",
                                            decode=DecodeOptions(max_new_tokens=NEW_TOKENS)),
                       nli=ScoreConfig(model=NLI))
    from dataclasses import replace

    return replace(base, **changes)


@pytest.fixture(scope="module")
def labeler(hub_models):
    out = Labeler(_config())
    yield out
    out.close()


@pytest.fixture(scope="module")
def corpus(speech_corpus) -> Path:
    return speech_corpus  # 8 clips of 0.5-3 s + manifest.jsonl


@pytest.fixture(scope="module")
def baseline(labeler, corpus, tmp_path_factory) -> dict[str, dict]:
    out = tmp_path_factory.mktemp("baseline") / "out"
    label_corpus(open_inputs([str(corpus)]), out, _config(), labeler=labeler)
    return _rows(out)


def _rows(out) -> dict[str, dict]:
    rows = read_results(out).to_pylist()
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)), "duplicate rows"
    return {r["id"]: r for r in rows}


def _same_rows(got: dict[str, dict], want: dict[str, dict]) -> None:
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


def test_rows_are_the_stages_results_and_the_run_is_recorded(baseline, labeler, corpus,
                                                             tmp_path):
    from lanser_fast.asr.corpus import transcribe_corpus

    transcribed = tmp_path / "asr"
    transcribe_corpus(open_inputs([str(corpus)]), transcribed, transcriber=labeler.transcriber)
    asr_rows = _rows(transcribed)
    assert set(baseline) == set(asr_rows) and len(baseline) == 8
    texts = [baseline[k]["transcript"] for k in sorted(baseline)]
    expected = labeler.scorer.score(texts)
    for key, result in zip(sorted(baseline), expected):
        row = baseline[key]
        assert row["error"] is None and row["transcript"] == asr_rows[key]["transcript"]
        assert row["weak_label"] == result.label and row["taxonomy"] == "goemotions28"
        assert row["scores"] == pytest.approx(list(result.scores), abs=1e-6)
        assert row["weak_label"] == labeler.scorer.taxonomy.labels[int(np.argmax(row["scores"]))]
        assert row["prompt"] == "The emotion of the conversation is {}."
        assert row["asr_model"] == WHISPER and row["nli_model"] == NLI
    summary = labeler.summary
    assert summary.rows == 8 and summary.labeled == 8 and summary.stage_s["asr"] > 0


def test_two_workers_give_the_same_rows(baseline, corpus, tmp_path):
    out = tmp_path / "out"
    summary = label_corpus(open_inputs([str(corpus)]), out, _config(), workers=2)
    _same_rows(_rows(out), baseline)
    assert summary.files == 8 and summary.rows == 8
    assert {p.name.split("-")[1] for p in out.glob("part-*.parquet")} <= {"w0", "w1"}
    record = json.loads((out / "_run.json").read_text())
    assert record["status"] == "done" and record["workers"] == 2
    assert record["identity"]["nli"]["taxonomy"] == "goemotions28"


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
    partial = _rows(out) if _shards(out) else {}
    assert set(partial) <= set(baseline)
    summary = label_corpus(open_inputs([str(corpus)]), out, _config(), labeler=labeler)
    assert summary.skipped == len(partial) and summary.files == 8 - len(partial)
    _same_rows(_rows(out), baseline)
    assert not list(out.glob(".tmp-*"))


def test_ray_job_on_a_local_ray_gives_the_same_rows(baseline, corpus, tmp_path):
    import ray

    from lanser_fast.label.ray_job import label_with_ray

    ray.init(num_cpus=2, object_store_memory=100 * 1024 * 1024, include_dashboard=False,
             log_to_driver=False, runtime_env={"env_vars": {
                 k: os.environ[k] for k in ("HF_HOME", "HF_HUB_OFFLINE", "LANSER_FAST_CACHE")}})
    try:
        out = tmp_path / "out"
        summary = label_with_ray(open_inputs([str(corpus)]), out, _config(), address=None)
        assert summary.rows == 8
        _same_rows(_rows(out), baseline)
        again = label_with_ray(open_inputs([str(corpus)]), out, _config(), address=None)
        assert again.skipped == 8 and again.rows == 0
    finally:
        ray.shutdown()


def test_changed_settings_are_refused_unless_forced(baseline, labeler, corpus, tmp_path):
    out = tmp_path / "out"
    items = list(open_inputs([str(corpus)]))[:2]
    label_corpus(items, out, _config(), labeler=labeler)
    other = _config(nli=ScoreConfig(model=NLI, taxonomy="ekman7"))
    with pytest.raises(OutputError, match="nli.taxonomy: 'goemotions28' -> 'ekman7'"):
        label_corpus(open_inputs([str(corpus)]), out, other)
    summary = label_corpus(open_inputs([str(corpus)]), out, _config(), labeler=labeler)
    assert summary.skipped == 2 and summary.files == 6
    _same_rows(_rows(out), baseline)


def test_manifest_transcripts_skip_asr_and_languages_filter(labeler, corpus, tmp_path):
    manifest = tmp_path / "m.jsonl"
    lines = [json.loads(line) for line in (corpus / "manifest.jsonl").read_text().splitlines()]
    rows = [{"path": str(corpus / r["path"]), "id": r["id"], "transcript": r["transcript"]}
            for r in lines[:3]] + [{"path": str(corpus / lines[3]["path"]), "id": "no-text"}]
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = _config(transcripts="manifest")
    manifest_labeler = Labeler(config, scorer=labeler.scorer)
    assert manifest_labeler.transcriber is None  # no Whisper loaded
    label_corpus(open_inputs([str(manifest)]), tmp_path / "m", config, labeler=manifest_labeler)
    got = _rows(tmp_path / "m")
    expected = labeler.scorer.score([r["transcript"] for r in rows[:3]])
    for row, result in zip(rows[:3], expected):
        assert got[row["id"]]["transcript"] == row["transcript"]
        assert got[row["id"]]["weak_label"] == result.label
        assert got[row["id"]]["asr_model"] == "manifest"
    assert got["no-text"]["error_stage"] == "manifest"
    assert "no transcript" in got["no-text"]["error"]

    detected = {r["language"] for r in _rows_of_baseline(labeler, corpus, tmp_path)}
    keep = sorted(detected)[0]
    filtered = _config(languages=(keep,))
    label_corpus(open_inputs([str(corpus)]), tmp_path / "lang", filtered,
                 labeler=Labeler(filtered, transcriber=labeler.transcriber,
                                 scorer=labeler.scorer))
    for row in _rows(tmp_path / "lang").values():
        if row["language"] == keep:
            assert row["error"] is None and row["weak_label"] is not None
        else:
            assert row["error_stage"] == "language" and row["weak_label"] is None
            assert row["transcript"] and keep in row["error"]


def _rows_of_baseline(labeler, corpus, tmp_path):
    out = tmp_path / "again"
    label_corpus(open_inputs([str(corpus)]), out, _config(), labeler=labeler)
    return _rows(out).values()


# ----------------------------------------------------------------------------- the input table


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
    summary = label_corpus(items, tmp_path / "out", _config(), labeler=labeler)
    rows = _rows(tmp_path / "out")
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


def test_cli_fails_before_any_work_and_labels_a_folder(hub_models, corpus, tmp_path):
    runner = CliRunner(env={"COLUMNS": "400"})
    base = ["label", str(corpus), "--asr-model", WHISPER, "--nli-model", NLI,
            "--max-new-tokens", str(NEW_TOKENS)]
    no_path = tmp_path / "bad.csv"
    no_path.write_text("file,text\na.wav,hello\n")
    result = runner.invoke(app, ["label", str(no_path), "--out", str(tmp_path / "o1")])
    assert result.exit_code == 2 and "no 'path' column" in result.output
    result = runner.invoke(app, [*base[:2], "--asr-model", "no-such/whisper", "--nli-model",
                                 NLI, "--out", str(tmp_path / "o2")])
    assert result.exit_code == 2 and "--asr-model" in result.output
    result = runner.invoke(app, [*base[:4], "--nli-model", "no-such/nli",
                                 "--out", str(tmp_path / "o3")])
    assert result.exit_code == 2 and "--nli-model" in result.output
    result = runner.invoke(app, [*base, "--out", str(tmp_path / "o4"), "--ray", "auto"],
                           env={"COLUMNS": "400", "RAY_ADDRESS": ""})
    assert result.exit_code == 2 and "--ray" in result.output and "ray start" in result.output
    assert not list(tmp_path.glob("o*/part-*"))

    result = runner.invoke(app, ["prepare", "--asr-model", WHISPER, "--nli-model", NLI])
    assert result.exit_code == 0, result.output
    prepared = dict(line.split(": ", 1) for line in result.output.splitlines()[:3])
    assert set(prepared) == {"whisper", "nli", "onnx"}
    assert prepared["onnx"].endswith("model.onnx") and \
        Path(prepared["onnx"].split(" -> ")[1]).is_file()

    out = tmp_path / "out"
    result = runner.invoke(app, [*base, "--out", str(out), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "8 inputs" in result.output and not list(out.glob("part-*"))
    result = runner.invoke(app, [*base, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "rows written" in result.output and "weak labels" in result.output
    assert len(read_results(out)) == 8
    result = runner.invoke(app, [*base, "--out", str(out), "--taxonomy", "ekman7"])
    assert result.exit_code == 2 and "other settings" in result.output
    result = runner.invoke(app, [*base, "--out", str(out)])
    assert result.exit_code == 0 and "8" in result.output  # resumed: all done

    exported = tmp_path / "labels.jsonl"
    result = runner.invoke(app, ["export", str(out), "--out", str(exported)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in exported.read_text().splitlines()]
    assert {r["id"] for r in lines} == {r["id"] for r in read_results(out).to_pylist()}
    result = runner.invoke(app, ["export", str(out), "--out", str(tmp_path / "cuts.jsonl.gz")])
    assert result.exit_code == 0, result.output
    from lhotse import load_manifest

    assert len(load_manifest(tmp_path / "cuts.jsonl.gz")) == 8


@pytest.mark.requires_cuda
def test_one_worker_per_gpu_labels_every_input(hub_models, corpus, tmp_path):
    import torch

    gpus = torch.cuda.device_count()
    out = tmp_path / "out"
    summary = label_corpus(open_inputs([str(corpus)]), out, _config(), gpus=gpus)
    rows = _rows(out)
    assert len(rows) == 8 and summary.devices == gpus
    assert all(r["error"] is None and r["weak_label"] is not None for r in rows.values())
    assert {p.name.split("-")[1] for p in out.glob("part-*.parquet")} <= \
        {f"w{rank}" for rank in range(gpus)}

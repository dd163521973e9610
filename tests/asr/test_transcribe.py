"""The corpus transcriber: batches across files, VAD for long audio, guards, error rows, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import soundfile as sf
import torch
from typer.testing import CliRunner

from lanser_fast.asr.guards import (
    FLAG_MAX_TOKENS,
    FLAG_NO_SPEECH,
    FLAG_REPETITION,
    FLAG_TOO_MANY_TOKENS,
    GuardConfig,
    asr_flags,
    compression_ratio,
)
from lanser_fast.asr.transcriber import TranscribeConfig, Transcriber, Utterance
from lanser_fast.asr.vad import SAMPLE_RATE, WINDOW_SAMPLES, VadConfig, speech_chunks
from lanser_fast.asr.whisper_decode import Decoded, DecodeOptions
from lanser_fast.audio import load_audio
from lanser_fast.cli import app
from lanser_fast.manifest import read_results

HUB_ID = "openai/whisper-tiny"
NEW_TOKENS = 8
WINDOW_MS = 1000 * WINDOW_SAMPLES / SAMPLE_RATE  # 32 ms

pytestmark = pytest.mark.usefixtures("lanser_cache")  # a cache of its own


@pytest.fixture(scope="module")
def transcriber(hub_models) -> Transcriber:
    config = TranscribeConfig(model=HUB_ID, compute_type="float32", batch_size=3,
                              decode=DecodeOptions(max_new_tokens=NEW_TOKENS))
    out = Transcriber(config)
    yield out
    out.close()


@pytest.fixture(scope="module")
def clips() -> list[np.ndarray]:
    from tools.synth_speech import SENTENCES, speak

    return [speak(text, rate_wpm=rate) for text, rate in
            zip(SENTENCES[:5], (110, 150, 190, 230, 270))]


@pytest.fixture(scope="module")
def long_recording() -> tuple[np.ndarray, list[tuple[int, int]]]:
    """About 50 s: 14 espeak-ng sentences between 0.8-1.6 s of digital silence; the true speech
    spans are the sentences' non-zero samples."""
    from tools.synth_speech import SENTENCES, speak

    parts, truth, position = [], [], 0
    for i in range(14):
        gap = np.zeros(int(SAMPLE_RATE * (0.8 + 0.4 * (i % 3))), np.float32)
        speech = speak(SENTENCES[i % len(SENTENCES)], rate_wpm=160)
        voiced = np.flatnonzero(speech)
        position += len(gap)
        truth.append((position + int(voiced[0]), position + int(voiced[-1]) + 1))
        parts += [gap, speech]
        position += len(speech)
    parts.append(np.zeros(SAMPLE_RATE, np.float32))
    return np.concatenate(parts), truth


def _hf_tokens(features: np.ndarray) -> list[tuple[int, ...]]:
    from transformers import WhisperForConditionalGeneration

    model = WhisperForConditionalGeneration.from_pretrained(HUB_ID).eval()
    eot = model.generation_config.eos_token_id
    with torch.no_grad():
        out = model.generate(torch.from_numpy(features), max_new_tokens=NEW_TOKENS,
                             task="transcribe", num_beams=1, do_sample=False,
                             return_timestamps=False)
    return [tuple(t for t in row if t < eot) for row in out.tolist()]


def test_batches_across_clips_equal_hugging_face_each_clip_alone(hub_models, clips):
    """Five clips of different lengths in batches of three (the second batch is partial):
    exactly the tokens of HF generate on each clip alone (language detected per clip), with
    the front end HF computes (openai-whisper's: the clip padded to 30 s first)."""
    from lanser_fast.features import log_mel

    transcriber = Transcriber(TranscribeConfig(
        model=HUB_ID, compute_type="float32", batch_size=3, frontend="whisper",
        decode=DecodeOptions(max_new_tokens=NEW_TOKENS)))
    ours = transcriber.transcribe(clips)
    transcriber.close()
    alone = [_hf_tokens(log_mel([c], None, "whisper-80")[0].numpy())[0] for c in clips]
    assert [r.tokens for r in ours] == alone
    assert all(r.language and 0 < r.language_prob <= 1 for r in ours)


def test_clip_over_thirty_seconds_is_refused(transcriber):
    with pytest.raises(ValueError, match="30 s window"):
        transcriber.transcribe([np.zeros(WINDOW_SAMPLES * 938 + 1, np.float32)])


def test_vad_segments_cover_speech_within_a_window_plus_padding(long_recording):
    audio, truth = long_recording
    config = VadConfig(speech_pad_ms=200, min_silence_ms=500)
    pad = config.speech_pad_ms * SAMPLE_RATE // 1000
    window = WINDOW_SAMPLES
    chunks = speech_chunks(audio, config)
    assert len(chunks) == len(truth)
    for (start, end), (true_start, true_end) in zip(chunks, truth):
        assert start <= true_start and end >= true_end  # the speech is covered
        assert abs(start - true_start) <= pad + window
        # Silero's end decision lags the last voiced sample by up to 1.5 windows on espeak-ng
        # speech (measured 49 ms at 230 wpm), so ends get a second window.
        assert abs(end - true_end) <= pad + 2 * window


def test_long_file_rows_are_exactly_the_samples_given_to_the_model(
        transcriber, long_recording, tmp_path):
    from lanser_fast.asr.corpus import transcribe_corpus
    from lanser_fast.asr.vad import speech_segments
    from lanser_fast.manifest import open_inputs

    audio, truth = long_recording
    sf.write(tmp_path / "long.wav", audio, SAMPLE_RATE, subtype="FLOAT")
    summary = transcribe_corpus(open_inputs([str(tmp_path / "long.wav")]), tmp_path / "out",
                                transcriber=transcriber)
    rows = read_results(tmp_path / "out").to_pylist()
    segments = speech_segments(audio, transcriber.config.vad)
    assert len(rows) == len(segments) >= 2 and summary.files == 1
    source = str(tmp_path / "long.wav")  # the input's id: its path as given
    assert [r["id"] for r in rows] == [f"{source}#{k:05d}" for k in range(len(segments))]
    for row, (start, end) in zip(rows, segments):
        first, count = round(row["offset_s"] * SAMPLE_RATE), round(row["duration_s"] * SAMPLE_RATE)
        assert (first, first + count) == (start, end) and row["duration_s"] <= 30.0
        assert row["transcript"] == transcriber.transcribe([audio[first:first + count]])[0].text
    for true_start, true_end in truth:  # every sentence lies inside one segment
        assert any(s <= true_start and true_end <= e for s, e in segments)


def test_bad_audio_and_a_failing_utterance_become_error_rows(transcriber, clips, tmp_path,
                                                             monkeypatch):
    from lanser_fast.asr.corpus import transcribe_corpus
    from lanser_fast.manifest import open_inputs

    folder = tmp_path / "in"
    folder.mkdir()
    for i, clip in enumerate(clips):
        sf.write(folder / f"clip{i}.wav", clip, SAMPLE_RATE, subtype="FLOAT")
    (folder / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    sf.write(folder / "silent.wav", np.zeros(SAMPLE_RATE, np.float32), SAMPLE_RATE)
    noise = np.random.default_rng(0).normal(0, 0.1, int(1.25 * SAMPLE_RATE)).astype(np.float32)
    sf.write(folder / "noise.wav", noise, SAMPLE_RATE, subtype="FLOAT")
    decode = transcriber.decoder.decode

    def fails_on_noise(features, durations):  # the model fails on any batch holding the noise
        if 1.25 in durations:
            raise RuntimeError("model failure on a noise window")
        return decode(features, durations)

    monkeypatch.setattr(transcriber.decoder, "decode", fails_on_noise)
    summary = transcribe_corpus(open_inputs([str(folder)]), tmp_path / "out",
                                transcriber=transcriber)
    rows = {r["id"]: r for r in read_results(tmp_path / "out").to_pylist()}
    assert set(rows) == {f"clip{i}.wav" for i in range(5)} | {"corrupt.wav", "silent.wav",
                                                              "noise.wav"}
    assert rows["corrupt.wav"]["error_stage"] == "decode"
    assert rows["noise.wav"]["error_stage"] == "asr"
    assert "model failure on a noise window" in rows["noise.wav"]["error"]
    silent = rows["silent.wav"]  # digital silence is not decoded
    assert silent["error"] is None and silent["transcript"] == ""
    assert silent["asr_flags"] == ["no_speech"]
    monkeypatch.undo()
    # the corpus path reads files as Whisper's references do (16-bit, libswresample)
    read = [load_audio(folder / f"clip{i}.wav", resampler="ffmpeg").samples
            for i in range(len(clips))]
    expected = transcriber.transcribe(read)
    for i, result in enumerate(expected):
        row = rows[f"clip{i}.wav"]
        assert row["error"] is None and row["transcript"] == result.text
        assert row["language"] == result.language and row["asr_model"] == HUB_ID
        assert row["asr_avg_logprob"] == pytest.approx(result.avg_logprob, rel=1e-6)
    assert summary.errors["not_audio"] == 1 and summary.files == 8


def _decoded(text="a b c", tokens=3, no_speech=0.1, logprob=-0.3, ended=True) -> Decoded:
    return Decoded(tuple(range(tokens)), text, "en", None, logprob, no_speech, ended)


def test_guards_flag_whisper_failure_modes():
    assert asr_flags(_decoded(), duration_s=2.0) == []
    assert asr_flags(_decoded(no_speech=0.9, logprob=-1.5), 2.0) == [FLAG_NO_SPEECH]
    assert asr_flags(_decoded(no_speech=0.9, logprob=-0.5), 2.0) == []  # confident text
    looping = "thank you " * 30
    assert compression_ratio(looping) > 2.4 > compression_ratio("I can't believe it.")
    assert asr_flags(_decoded(looping, tokens=60), 10.0) == [FLAG_REPETITION]
    assert asr_flags(_decoded(tokens=40), 1.0) == [FLAG_TOO_MANY_TOKENS]
    assert asr_flags(_decoded(tokens=8, ended=False), 5.0) == [FLAG_MAX_TOKENS]
    strict = GuardConfig(max_tokens_per_s=1.0)
    assert asr_flags(_decoded(tokens=3), 2.0, strict) == [FLAG_TOO_MANY_TOKENS]
    with pytest.raises(ValueError, match="no_speech_threshold"):
        GuardConfig(no_speech_threshold=1.5)


def test_utterance_duration_is_its_samples():
    assert Utterance("a", 1.5, np.zeros(24_000, np.float32)).duration_s == 1.5


def test_cli_transcribes_a_folder_by_hub_id_and_resumes(hub_models, clips, long_recording,
                                                       tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for i, clip in enumerate(clips[:3]):
        sf.write(folder / f"clip{i}.wav", clip, SAMPLE_RATE)
    sf.write(folder / "long.flac", long_recording[0], SAMPLE_RATE)
    (folder / "broken.wav").write_bytes(b"not audio at all")
    out = tmp_path / "transcripts.parquet"
    args = ["transcribe", str(folder), "--model", HUB_ID, "--out", str(out),
            "--max-new-tokens", str(NEW_TOKENS), "--language", "en"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "audio-hours per device-hour" in result.output
    table = pq.read_table(out)  # the folder reads as one Parquet dataset
    rows = {r["id"]: r for r in table.to_pylist()}
    assert {"clip0.wav", "clip1.wav", "clip2.wav", "broken.wav"} <= set(rows)
    assert any(i.startswith("long.flac#") for i in rows)
    assert rows["broken.wav"]["error"] and rows["clip0.wav"]["language"] == "en"
    assert set(table.column_names) >= {"offset_s", "duration_s", "transcript", "language",
                                       "asr_avg_logprob", "no_speech_prob", "asr_flags"}
    run = json.loads((out / "_run.json").read_text())
    assert run["stage"] == "transcribe" and run["audio_hours_per_device_hour"] > 0
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0 and "(5 already done, 0 error inputs redone)" in again.output
    assert len(read_results(out)) == len(rows)


@pytest.mark.parametrize("flag, message", [
    (["--model", "/no/such/model"], "no such folder"),
    (["--model", "not-a-model-name"], "faster-whisper name"),
    (["--model", HUB_ID, "--device", "tpu"], "use auto, cpu, cuda"),
    (["--model", HUB_ID, "--compute-type", "float16"], "not available on cpu"),
    (["--model", HUB_ID, "--language", "xx"], "no <|xx|> token"),
    (["--model", HUB_ID, "--task", "summarize"], "unknown task"),
    (["--model", HUB_ID, "--vad-threshold", "1.5"], "VAD threshold"),
])
def test_bad_flags_and_models_fail_before_any_work(hub_models, tmp_path, flag, message):
    (tmp_path / "a.wav").write_bytes(b"")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["transcribe", str(tmp_path / "a.wav"), "--out", str(out),
                                      *flag])
    text = " ".join(result.output.replace("│", " ").split())  # rich wraps the error box
    assert result.exit_code == 2 and message in text, result.output
    assert not Path(out).exists()


def test_cli_refuses_to_resume_with_other_settings_unless_forced(hub_models, clips, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    sf.write(folder / "clip0.wav", clips[0], SAMPLE_RATE)
    out = tmp_path / "out"
    args = ["transcribe", str(folder), "--model", HUB_ID, "--out", str(out), "--max-new-tokens"]
    assert CliRunner().invoke(app, args + [str(NEW_TOKENS)]).exit_code == 0
    sf.write(folder / "clip1.wav", clips[1], SAMPLE_RATE)
    other = CliRunner().invoke(app, args + [str(NEW_TOKENS - 1)])
    text = " ".join(other.output.replace("│", " ").split())
    assert other.exit_code == 2 and "max_new_tokens" in text, other.output
    assert len(read_results(out)) == 1  # nothing added
    forced = CliRunner().invoke(app, args + [str(NEW_TOKENS - 1), "--force"])
    assert forced.exit_code == 0, forced.output
    assert len(read_results(out)) == 2


def test_a_model_that_fails_every_utterance_stops_the_run_with_exit_3(hub_models, clips,
                                                                      tmp_path):
    """A preprocessor_config that says 128 mels beside an 80-mel model: every batch fails."""
    import shutil

    from lanser_fast.asr.models import resolve_whisper

    broken = tmp_path / "broken-model"
    shutil.copytree(resolve_whisper(HUB_ID).path, broken)
    config = json.loads((broken / "preprocessor_config.json").read_text())
    (broken / "preprocessor_config.json").write_text(json.dumps({**config, "feature_size": 128}))
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(10):
        sf.write(folder / f"clip{i}.wav", clips[i % len(clips)], SAMPLE_RATE)
    (folder / "broken.wav").write_bytes(b"not audio")  # per-file problems never count
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["transcribe", str(folder), "--model", str(broken),
                                      "--out", str(out), "--max-new-tokens", "4"])
    assert result.exit_code == 3, result.output
    assert "fails as a whole" in result.output and "first 8 utterances" in result.output
    rows = read_results(out).to_pylist() if list(out.glob("part-*.parquet")) else []
    assert all(r["error_stage"] != "asr" for r in rows), rows  # no asr error row was written
    run = json.loads((out / "_run.json").read_text())
    assert run["status"] == "stopped" and "first 8 utterances" in run["stopped"]


def test_the_stop_guard_counts_model_failures_only():
    from lanser_fast.stop_guard import StopGuard, StopRule, SystemicFailure

    ok = {"error_stage": None, "error": None}
    asr = {"error_stage": "asr", "error": "RuntimeError: shape"}
    decode = {"error_stage": "decode", "error": "bad audio"}
    guard = StopGuard(StopRule(first=3, fraction=0.5, window=4))
    guard.check([decode] * 10 + [asr, asr])
    with pytest.raises(SystemicFailure, match="first 3"):
        guard.check([asr])
    mixed = StopGuard(StopRule(first=3, fraction=0.5, window=4))
    mixed.check([asr, ok, asr, {**asr, "error": "other"}][:2])  # one success among the first
    mixed.check([ok, asr])
    with pytest.raises(SystemicFailure, match="of the last 4"):
        mixed.check([asr, asr])
    off = StopGuard(StopRule(first=0, fraction=1.0, window=4))
    off.check([asr] * 50)


def test_retry_errors_redoes_failed_inputs_in_place(hub_models, clips, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    sf.write(folder / "clip0.wav", clips[0], SAMPLE_RATE)
    (folder / "flaky.wav").write_bytes(b"not yet")
    out = tmp_path / "out"
    args = ["transcribe", str(folder), "--model", HUB_ID, "--out", str(out),
            "--max-new-tokens", str(NEW_TOKENS), "--language", "en"]
    assert CliRunner().invoke(app, args).exit_code == 0
    sf.write(folder / "flaky.wav", clips[0], SAMPLE_RATE)
    result = CliRunner().invoke(app, [*args, "--retry-errors", "all"])
    assert result.exit_code == 0 and "1 error inputs redone" in result.output, result.output
    rows = {r["id"]: r for r in read_results(out).to_pylist()}
    assert len(rows) == len(read_results(out)) == 2
    assert rows["flaky.wav"]["error"] is None
    assert rows["flaky.wav"]["transcript"] == rows["clip0.wav"]["transcript"]

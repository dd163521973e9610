"""ASR stage: Whisper transcripts of many short files, and of one long recording.

Model: a random-weight Whisper with the real ``tiny`` dimensions and multilingual tokenizer
(Hugging Face format, converted once by our code), int8 on CPU, two threads for every contender.
Every contender decodes exactly ``NEW_TOKENS`` tokens per window (the end-of-text token is
suppressed, so a random model cannot stop early or late), language detected per file (the
default of every contender), greedy, no timestamps, temperature 0 only.

Short files (``CLIPS`` espeak-ng clips of 1-15 s, 16 kHz WAV), end to end from the files:
- ours: ``transcribe_corpus`` (decode threads; utterances of different files in batches of 4, one
  single-threaded CTranslate2 worker per core, each computing its batch's features; one encoder
  pass for language detection and decoding; Parquet output), with our default front end and with
  the faster-whisper front end (token-identical to ``WhisperModel``);
- faster-whisper ``WhisperModel.transcribe`` file by file (VAD off: clips are under 30 s);
- faster-whisper ``BatchedInferencePipeline.transcribe`` file by file (its VAD, batch 8).
Long audio: one ``LONG_MIN``-minute recording (sentences between pauses), ours (Silero VAD,
≤ 30 s segments, the same batches) vs ``BatchedInferencePipeline`` (batch 16).
Throughput in audio-hours per device-hour; median of ``ROUNDS`` runs each.

    LANSER_FAST_BENCH_QUICK=1 pytest benchmarks/bench_asr.py --benchmark-only  # smoke run
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

QUICK = os.environ.get("LANSER_FAST_BENCH_QUICK") == "1"
CLIPS = 8 if QUICK else 200
LONG_MIN = 1 if QUICK else 30
ROUNDS = 1 if QUICK else 3
NEW_TOKENS = 24
THREADS = 2
BATCH = 16  # BatchedInferencePipeline's batch on the long recording
UNIT = "audio-h/device-h"
SHORT = f"{CLIPS} espeak-ng clips 1-15 s, tiny-sized int8, {NEW_TOKENS} tokens each"
LONG = f"one {LONG_MIN}-min recording, tiny-sized int8, {NEW_TOKENS} tokens per window"


@pytest.fixture(scope="module")
def short_clips(tmp_path_factory) -> tuple[list[str], float]:
    from tools.synth_speech import synthesize_corpus, uniform_durations

    root = tmp_path_factory.mktemp("asr-bench")
    rows = synthesize_corpus(root, CLIPS, seed=11, durations=uniform_durations(1.0, 15.0))
    return [str(root / r.path) for r in rows], sum(r.duration_s for r in rows)


@pytest.fixture(scope="module")
def long_recording(tmp_path_factory) -> tuple[str, float]:
    from tools.synth_speech import SENTENCES, speak

    rng = np.random.default_rng(5)
    parts, total, target = [], 0, LONG_MIN * 60 * 16_000
    cache = {}
    while total < target:
        text = SENTENCES[int(rng.integers(len(SENTENCES)))]
        speech = cache.setdefault(text, speak(text, rate_wpm=160))
        pause = np.zeros(int(16_000 * rng.uniform(0.2, 1.5)), np.float32)
        parts += [speech, pause]
        total += len(speech) + len(pause)
    audio = np.concatenate(parts)[:target]
    path = tmp_path_factory.mktemp("asr-long") / "long.wav"
    sf.write(path, audio, 16_000, subtype="PCM_16")
    return str(path), len(audio) / 16_000


def _config(ct2_model: Path, eot: int, frontend: str = "whisper"):
    from lanser_fast.asr.transcriber import TranscribeConfig
    from lanser_fast.asr.whisper_decode import DecodeOptions

    return TranscribeConfig(model=str(ct2_model), device="cpu", compute_type="int8",
                            threads=THREADS, frontend=frontend,
                            decode=DecodeOptions(max_new_tokens=NEW_TOKENS,
                                                 suppress_tokens=(-1, eot)))


def _faster_whisper_options(eot: int) -> dict:
    """The same decoding: faster-whisper asks CTranslate2 for max_length = prompt (4) +
    max_new_tokens, and CTranslate2 4.8 then generates max_length // 2 tokens."""
    return dict(language=None, beam_size=1, temperature=0.0, without_timestamps=True,
                condition_on_previous_text=False, suppress_tokens=[-1, eot],
                max_new_tokens=2 * NEW_TOKENS - 4)


def _ours(measure, tmp_path, files, audio_s, config, impl, workload):
    from lanser_fast.asr.corpus import transcribe_corpus
    from lanser_fast.asr.transcriber import Transcriber
    from lanser_fast.manifest import Item, read_results

    transcriber = Transcriber(config)
    transcriber.transcribe([np.zeros(16_000, np.float32)])  # warm-up (one utterance)
    runs = itertools.count()
    out = {}

    def run():
        out["dir"] = tmp_path / f"run{next(runs)}"
        transcribe_corpus([Item(id=f, path=f) for f in files], out["dir"],
                          transcriber=transcriber, decode_threads=THREADS)

    measurement = measure(run, work=audio_s, rounds=ROUNDS, warmup_rounds=0, stage="asr",
                          workload=workload, impl=impl, role="ours", unit=UNIT, threads=THREADS)
    transcriber.close()
    rows = read_results(out["dir"]).to_pylist()
    return measurement, rows


def _reference(measure, files, audio_s, transcribe_file, impl, workload):
    texts = {}

    def run():
        for path in files:
            texts[path] = "".join(s.text for s in transcribe_file(path))

    transcribe_file(files[0])  # warm-up
    return measure(run, work=audio_s, rounds=ROUNDS, warmup_rounds=0, stage="asr",
                   workload=workload, impl=impl, role="reference", unit=UNIT,
                   threads=THREADS), texts


@pytest.fixture(scope="module")
def reference_texts() -> dict:
    return {}


@pytest.mark.full_only
def test_asr_faster_whisper_model(measure, short_clips, ct2_model, eot, reference_texts):
    from faster_whisper import WhisperModel

    files, audio_s = short_clips
    model = WhisperModel(str(ct2_model), device="cpu", compute_type="int8", cpu_threads=THREADS)
    options = _faster_whisper_options(eot)

    def transcribe_file(path):
        segments, _ = model.transcribe(path, vad_filter=False, **options)
        return list(segments)

    _, texts = _reference(measure, files, audio_s, transcribe_file,
                          "faster-whisper WhisperModel.transcribe, file by file", SHORT)
    reference_texts.update(texts)


def _batched_pipeline(ct2_model: Path, eot: int):
    """faster-whisper's BatchedInferencePipeline and its options for our decoding."""
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    model = WhisperModel(str(ct2_model), device="cpu", compute_type="int8", cpu_threads=THREADS)
    options = _faster_whisper_options(eot)
    options.pop("condition_on_previous_text")  # the pipeline never conditions on it
    return BatchedInferencePipeline(model), options


def test_asr_faster_whisper_batched_pipeline(measure, short_clips, ct2_model, eot):
    files, audio_s = short_clips
    pipeline, options = _batched_pipeline(ct2_model, eot)

    def transcribe_file(path):
        segments, _ = pipeline.transcribe(path, batch_size=8, **options)
        return list(segments)

    _reference(measure, files, audio_s, transcribe_file,
               "faster-whisper BatchedInferencePipeline, file by file", SHORT)


@pytest.mark.full_only
def test_asr_ours_faster_whisper_frontend(measure, short_clips, ct2_model, eot, tmp_path,
                                          reference_texts):
    files, audio_s = short_clips
    measurement, rows = _ours(measure, tmp_path, files, audio_s,
                              _config(ct2_model, eot, "faster-whisper"),
                              "lanser-fast transcribe, faster-whisper front end", SHORT)
    # Token identity is tested in float32 (tests/test_asr_decode.py). In int8 on random weights
    # the logits of a few clips are near ties that a 2e-5 feature difference flips, and
    # faster-whisper detects the language on one more frame than it decodes.
    same = sum(r["transcript"] == reference_texts.get(r["path"]) for r in rows)
    measurement.extra["transcripts identical to WhisperModel"] = f"{same}/{len(rows)}"


def test_asr_ours(measure, short_clips, ct2_model, eot, tmp_path):
    files, audio_s = short_clips
    _ours(measure, tmp_path, files, audio_s, _config(ct2_model, eot),
          "lanser-fast transcribe (default front end)", SHORT)


def test_asr_long_ours(measure, long_recording, ct2_model, eot, tmp_path):
    path, audio_s = long_recording
    measurement, rows = _ours(measure, tmp_path, [path], audio_s, _config(ct2_model, eot),
                              "lanser-fast transcribe (Silero VAD segments)", LONG)
    measurement.extra["segments"] = len(rows)


def test_asr_long_batched_pipeline(measure, long_recording, ct2_model, eot):
    path, audio_s = long_recording
    pipeline, options = _batched_pipeline(ct2_model, eot)
    segments = {}

    def run():
        found, _ = pipeline.transcribe(path, batch_size=BATCH, **options)
        segments["n"] = len(list(found))

    measurement = measure(run, work=audio_s, rounds=ROUNDS, warmup_rounds=0, stage="asr",
                          workload=LONG, impl="faster-whisper BatchedInferencePipeline "
                          f"(batch {BATCH})", role="reference", unit=UNIT, threads=THREADS)
    measurement.extra["segments"] = segments["n"]

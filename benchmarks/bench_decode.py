"""Decode stage: a mixed-format corpus to 16 kHz mono float32.

Workload: 24 espeak-ng clips of 2-8 s, written as 44.1 kHz stereo FLAC, 48 kHz MP3 and 16 kHz
WAV (8 of each). Contenders, one file after another, one thread each:
- ours: ``lanser_fast.audio.load_audio`` (libsndfile, PyAV fallback, soxr);
- openai-whisper ``whisper.audio.load_audio`` (an ffmpeg process per file: what Whisper users run);
- faster-whisper ``decode_audio`` (PyAV with FFmpeg's resampler).
Throughput in audio-hours per device-hour (audio seconds per wall second on this machine).
"""

from __future__ import annotations

import os
import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf

from lanser_fast.audio import load_audio

QUICK = os.environ.get("LANSER_FAST_BENCH_QUICK") == "1"
COUNT = 9 if QUICK else 24  # a third of each format
ROUNDS = 2 if QUICK else 5
WORKLOAD = f"{COUNT} clips 2-8 s: FLAC 44.1k stereo, MP3 48k, WAV 16k"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from tools.synth_speech import synthesize_corpus, uniform_durations

    if shutil.which("ffmpeg") is None:
        pytest.fail("ffmpeg is required for the decode benchmark (apt-get install ffmpeg)")
    root = tmp_path_factory.mktemp("decode-bench")
    rows = synthesize_corpus(root / "src", COUNT, seed=7, durations=uniform_durations(2.0, 8.0))
    files, audio_s = [], 0.0
    for index, row in enumerate(rows):
        x, _ = sf.read(root / "src" / row.path, dtype="float32")
        audio_s += len(x) / 16000
        kind = index % 3
        if kind == 0:
            out = root / f"{index:03d}.flac"
            stereo = np.stack([x, 0.8 * x], axis=1)
            sf.write(out, _resample(stereo, 44100), 44100, subtype="PCM_16")
        elif kind == 1:
            out = root / f"{index:03d}.mp3"
            subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-i",
                            str(root / "src" / row.path), "-ar", "48000", "-y", str(out)],
                           check=True)
        else:
            out = root / f"{index:03d}.wav"
            sf.write(out, x, 16000, subtype="PCM_16")
        files.append(str(out))
    return files, audio_s


def _resample(x, rate):
    import soxr

    return soxr.resample(x, 16000, rate)


def _run_all(decode, files):
    return sum(len(decode(path)) for path in files)


def test_decode_ours(measure, corpus):
    files, audio_s = corpus
    measure(lambda: _run_all(lambda p: load_audio(p).samples, files), work=audio_s,
            rounds=ROUNDS, stage="decode", workload=WORKLOAD, impl="lanser_fast.load_audio",
            role="ours",
            unit="audio-h/device-h", threads=1)


def test_decode_openai_whisper(measure, corpus):
    from whisper.audio import load_audio as whisper_load

    files, audio_s = corpus
    measure(lambda: _run_all(whisper_load, files), work=audio_s, rounds=ROUNDS, stage="decode",
            workload=WORKLOAD, impl="openai-whisper load_audio (ffmpeg CLI)", role="reference",
            unit="audio-h/device-h", threads=1)


def test_decode_faster_whisper(measure, corpus):
    from faster_whisper.audio import decode_audio

    files, audio_s = corpus
    measure(lambda: _run_all(lambda p: decode_audio(p, sampling_rate=16000), files),
            work=audio_s, rounds=ROUNDS, stage="decode", workload=WORKLOAD,
            impl="faster-whisper decode_audio (PyAV)", role="reference",
            unit="audio-h/device-h", threads=1)


def test_decode_outputs_agree(corpus):
    """Not a timing: the contenders decode the same audio (lengths within a codec frame)."""
    from faster_whisper.audio import decode_audio

    files, _ = corpus
    for path in files[:3]:
        ours = load_audio(path).samples
        theirs = decode_audio(path, sampling_rate=16000)
        assert abs(len(ours) - len(theirs)) <= 1200

"""ASR on real weights: Whisper base (CTranslate2, int8) against faster-whisper on the same model.

Workload: ``CLIPS`` espeak-ng clips of ``tools.asr_sentences`` (statements, questions, numbers,
dates, names; six voices, five rates; 22.05 kHz WAV files, so the resampler is part of the
path), each reading 1, 1, 2, 3 or 4 sentences in turn (at most 15 s; no clip repeats another),
so the clips last 1.3-14.4 s (21.8 minutes in all), read from the files end to end. Every
contender decodes greedily without timestamps and stops where the model ends the text
(temperature 0 only, no fallback), two CPU threads:

- ours: ``transcribe_corpus`` (the ``lanser-fast transcribe`` path), language detected and
  given (``en``);
- faster-whisper ``WhisperModel.transcribe`` file by file, language detected and given.

Each measurement records the corpus WER against the sentences (Whisper's English normalizer),
and the start-up (model load and a first utterance) apart from the timed rounds, with the
throughput the first run of a fresh process would see (start-up included) in ``extra``.
One round each: a measurement lasts 4-11 minutes over 200 files, which is its own average.
Model: the offline shelf's ``base`` (``python -m tools.real_models``), or ``--models``.

    LANSER_FAST_BENCH_QUICK=1 pytest benchmarks/bench_asr_real.py --benchmark-only  # smoke
"""

from __future__ import annotations

import itertools
import os
import time

import numpy as np
import pytest
from conftest import ASR_MODEL

QUICK = os.environ.get("LANSER_FAST_BENCH_QUICK") == "1"
CLIPS = 8 if QUICK else 200
PER_CLIP = (1, 1, 2, 3, 4)  # sentences per clip, in turn
ROUNDS = 1
THREADS = 2
UNIT = "audio-h/device-h"


def _workload(rows: list[dict], language: str | None) -> str:
    shortest = min(r["seconds"] for r in rows)
    longest = max(r["seconds"] for r in rows)
    return (f"{CLIPS} espeak-ng clips of 1-4 sentences ({shortest:.1f}-{longest:.1f} s, "
            f"22.05 kHz), Whisper base int8, language "
            f"{'given (en)' if language else 'detected'}")


@pytest.fixture(scope="module")
def model() -> str:
    if ASR_MODEL:
        return ASR_MODEL
    from lanser_fast import shelf

    shelf.install("base")  # a no-op when tools/setup.sh installed it
    return "base"


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> tuple[list[dict], float]:
    import soundfile as sf

    from tools.asr_sentences import asr_corpus

    root = tmp_path_factory.mktemp("asr-real")
    rows = asr_corpus(root, CLIPS, seed=0, per_clip=PER_CLIP)
    for row in rows:
        row["file"] = str(root / row["path"])
        row["seconds"] = sf.info(row["file"]).duration
    return rows, sum(r["seconds"] for r in rows)


def _record(measurement, rows: list[dict], texts: dict[str, str], startup_s: float,
            audio_s: float) -> None:
    from tools.wer import wer

    measurement.extra["wer"] = round(wer([r["transcript"] for r in rows],
                                         [texts[r["file"]] for r in rows]), 4)
    measurement.extra["startup_s"] = round(startup_s, 2)
    first_run_s = startup_s + audio_s / measurement.median
    measurement.extra["audio_h_per_device_h_incl_startup"] = round(audio_s / first_run_s, 2)


@pytest.mark.parametrize("language", [None, "en"], ids=["detected", "given"])
def test_asr_real_ours(measure, model, clips, tmp_path, language):
    from lanser_fast.asr.corpus import transcribe_corpus
    from lanser_fast.asr.transcriber import TranscribeConfig, Transcriber
    from lanser_fast.asr.whisper_decode import DecodeOptions
    from lanser_fast.manifest import Item, read_results

    rows, audio_s = clips
    started = time.perf_counter()
    transcriber = Transcriber(TranscribeConfig(model=model, device="cpu", compute_type="int8",
                                               threads=THREADS,
                                               decode=DecodeOptions(language=language)))
    transcriber.transcribe([np.zeros(16_000, np.float32)])  # first utterance: pools, kernels
    startup_s = time.perf_counter() - started
    runs, out = itertools.count(), {}

    def run():
        out["dir"] = tmp_path / f"run{next(runs)}"
        transcribe_corpus([Item(id=r["file"], path=r["file"]) for r in rows], out["dir"],
                          transcriber=transcriber, decode_threads=THREADS)

    measurement = measure(run, work=audio_s, rounds=ROUNDS, warmup_rounds=0, stage="asr-real",
                          workload=_workload(rows, language), impl="lanser-fast transcribe",
                          role="ours", unit=UNIT, threads=THREADS)
    transcriber.close()
    texts = {r["path"]: r["transcript"] for r in read_results(out["dir"]).to_pylist()}
    _record(measurement, rows, texts, startup_s, audio_s)


@pytest.mark.parametrize("language", [None, "en"], ids=["detected", "given"])
def test_asr_real_faster_whisper(measure, model, clips, language):
    from faster_whisper import WhisperModel

    from lanser_fast.asr.models import resolve_whisper

    rows, audio_s = clips
    started = time.perf_counter()
    whisper = WhisperModel(str(resolve_whisper(model).path), device="cpu",
                           compute_type="int8", cpu_threads=THREADS)
    options = dict(language=language, beam_size=1, temperature=0.0, without_timestamps=True,
                   condition_on_previous_text=False, vad_filter=False)
    list(whisper.transcribe(np.zeros(16_000, np.float32), **options)[0])
    startup_s = time.perf_counter() - started
    texts = {}

    def run():
        for row in rows:
            segments, _ = whisper.transcribe(row["file"], **options)
            texts[row["file"]] = "".join(s.text for s in segments)

    measurement = measure(run, work=audio_s, rounds=ROUNDS, warmup_rounds=0, stage="asr-real",
                          workload=_workload(rows, language),
                          impl="faster-whisper WhisperModel.transcribe, file by file",
                          role="reference", unit=UNIT, threads=THREADS)
    _record(measurement, rows, texts, startup_s, audio_s)

"""Real Whisper base weights (the offline shelf) against faster-whisper on the same model:
the same tokens in float32, a WER bound in int8 (the CPU default)."""

from __future__ import annotations

import pytest

from tools.asr_sentences import asr_corpus
from tools.wer import wer

CLIPS = 6


@pytest.fixture(scope="module")
def sentences(tmp_path_factory) -> list[dict]:
    root = tmp_path_factory.mktemp("asr-sentences")
    rows = asr_corpus(root, CLIPS, seed=3)
    for row in rows:
        row["file"] = str(root / row["path"])
    return rows


def _ours(model: str, rows: list[dict], compute_type: str, language) -> list[str]:
    from lanser_fast.asr.transcriber import TranscribeConfig, Transcriber
    from lanser_fast.asr.whisper_decode import DecodeOptions
    from lanser_fast.audio import load_audio

    config = TranscribeConfig(model=model, device="cpu", compute_type=compute_type, threads=2,
                              decode=DecodeOptions(language=language))
    transcriber = Transcriber(config)
    try:
        audio = [load_audio(r["file"], resampler=config.resampler).samples for r in rows]
        return [d.text.strip() for d in transcriber.transcribe(audio)]
    finally:
        transcriber.close()


def _faster_whisper(model: str, rows: list[dict], compute_type: str, language) -> list[str]:
    from faster_whisper import WhisperModel

    from lanser_fast.asr.models import resolve_whisper

    whisper = WhisperModel(str(resolve_whisper(model).path), device="cpu",
                           compute_type=compute_type, cpu_threads=2)
    options = dict(language=language, beam_size=1, temperature=0.0, without_timestamps=True,
                   condition_on_previous_text=False, vad_filter=False)
    return ["".join(s.text for s in whisper.transcribe(r["file"], **options)[0]).strip()
            for r in rows]


@pytest.mark.parametrize("language", ["en", None], ids=["given", "detected"])
def test_float32_transcripts_equal_faster_whisper(real_models, sentences, language):
    ours = _ours("base", sentences, "float32", language)
    assert ours == _faster_whisper("base", sentences, "float32", language)


def test_int8_wer_is_bounded_and_near_faster_whisper(real_models, sentences):
    truth = [r["transcript"] for r in sentences]
    words = sum(len(t.split()) for t in truth)
    ours = wer(truth, _ours("base", sentences, "int8", None))
    reference = wer(truth, _faster_whisper("base", sentences, "int8", None))
    assert ours <= 0.25, ours  # espeak-ng voices: 0.197 measured on 240 clips, as theirs
    # int8 decoding flips words on feature differences of 1e-6 (ours are within 3e-6 of
    # faster-whisper's): a few words either way on six clips (measured 13 vs 10 of 57 here);
    # on the benchmark's 240 clips both make the same errors in total
    assert ours <= reference + 4 / words, (ours, reference)

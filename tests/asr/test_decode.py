"""Batched CTranslate2 Whisper decoding: exactly Hugging Face's tokens, batch = alone."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from lanser_fast.asr.whisper_decode import DecodeOptions, WhisperDecoder

HUB_ID = "openai/whisper-tiny"
NEW_TOKENS = 12  # every decode is capped: random weights never stop by themselves

pytestmark = pytest.mark.usefixtures("lanser_cache")  # a cache of its own


@pytest.fixture(scope="module")
def features() -> np.ndarray:
    """whisper-80 features of four clips of different lengths (openai-whisper padding)."""
    from lanser_fast.features import log_mel
    from tools.synth_speech import SENTENCES, speak

    clips = [speak(text, rate_wpm=rate) for text, rate in
             zip(SENTENCES[:4], (120, 160, 200, 240))]
    lengths = torch.tensor([len(c) for c in clips])
    waves = torch.zeros(len(clips), int(lengths.max()))
    for i, clip in enumerate(clips):
        waves[i, : len(clip)] = torch.from_numpy(clip)
    out, _ = log_mel(waves, lengths, "whisper-80")
    return out.numpy()


@pytest.fixture(scope="module")
def hf_whisper(hub_models):
    from transformers import WhisperForConditionalGeneration

    return WhisperForConditionalGeneration.from_pretrained(HUB_ID).eval()


def _hf_tokens(model, features, language) -> list[tuple[int, ...]]:
    eot = model.generation_config.eos_token_id
    with torch.no_grad():
        out = model.generate(torch.from_numpy(features), language=language, task="transcribe",
                             max_new_tokens=NEW_TOKENS, num_beams=1, do_sample=False,
                             return_timestamps=False)
    return [tuple(t for t in row if t < eot) for row in out.tolist()]


def test_tokens_equal_hugging_face_generate(hub_models, features, hf_whisper):
    decoder = WhisperDecoder(HUB_ID, compute="float32",
                             options=DecodeOptions(language="en", max_new_tokens=NEW_TOKENS))
    ours = decoder.decode(features)
    assert [r.tokens for r in ours] == _hf_tokens(hf_whisper, features, "en")
    assert all(len(r.tokens) <= NEW_TOKENS and r.language == "en" for r in ours)
    assert all(np.isfinite(r.avg_logprob) and 0.0 <= r.no_speech_prob <= 1.0 for r in ours)


def test_detected_language_equals_hugging_face(hub_models, features, hf_whisper):
    decoder = WhisperDecoder(HUB_ID, compute="float32",
                             options=DecodeOptions(max_new_tokens=NEW_TOKENS))
    ours = decoder.decode(features)
    with torch.no_grad():
        theirs = hf_whisper.detect_language(torch.from_numpy(features)).tolist()
    assert [decoder._token(f"<|{r.language}|>") for r in ours] == theirs
    assert all(0.0 < r.language_prob <= 1.0 for r in ours)


def test_a_mixed_batch_equals_each_clip_alone(hub_models, features):
    decoder = WhisperDecoder(HUB_ID, options=DecodeOptions(max_new_tokens=NEW_TOKENS))
    together = decoder.decode(features)
    alone = [decoder.decode(features[i : i + 1])[0] for i in range(len(features))]
    assert [r.tokens for r in together] == [r.tokens for r in alone]
    assert [r.language for r in together] == [r.language for r in alone]


def test_unknown_language_fails_before_work(hub_models):
    with pytest.raises(ValueError, match=re.escape("the tokenizer has no <|xx|> token")):
        WhisperDecoder(HUB_ID, options=DecodeOptions(language="xx"))


@pytest.fixture(scope="module")
def clips() -> list[np.ndarray]:
    from tools.synth_speech import SENTENCES, speak

    return [speak(text, rate_wpm=rate) for text, rate in zip(SENTENCES[4:8], (120, 160, 200, 240))]


def test_compat_features_equal_faster_whisper(clips):
    from faster_whisper.audio import pad_or_trim
    from faster_whisper.feature_extractor import FeatureExtractor

    from lanser_fast.features.faster_whisper_compat import (
        batched_features,
        faster_whisper_features,
        log_mel_faster_whisper,
    )
    from lanser_fast.features.presets import get_preset

    rng = np.random.default_rng(0)
    awkward = [rng.normal(0, 0.1, n).astype(np.float32) for n in (241, 400, 401, 30 * 16_000)]
    batch = [*clips, *awkward]
    for n_mels in (80, 128):
        extractor = FeatureExtractor(feature_size=n_mels)
        preset = get_preset(f"whisper-{n_mels}")
        cpu = faster_whisper_features(batch, preset).numpy()  # NumPy, clip by clip
        one_call = batched_features(batch, preset, device="cpu").numpy()  # CUDA's path
        for clip, ours, batched in zip(batch, cpu, one_call):
            full = extractor(clip)
            theirs = pad_or_trim(full[:, : full.shape[-1] - 1])  # transcribe's first window
            assert np.array_equal(ours, theirs)  # int8 Whisper turns 1e-7 into other words
            assert np.abs(batched - theirs).max() <= 1e-4
            assert np.abs(log_mel_faster_whisper(clip, preset) - theirs).max() <= 1e-4


def test_tokens_equal_faster_whisper_transcribe(hub_models, clips):
    """faster-whisper passes max_length = prompt + max_new_tokens to CTranslate2, which then
    generates (prompt + max_new_tokens) // 2 tokens: its max_new_tokens=20 with the 4-token
    prompt gives 12."""
    from faster_whisper import WhisperModel

    from lanser_fast.features.faster_whisper_compat import log_mel_faster_whisper

    decoder = WhisperDecoder(HUB_ID, compute="float32",
                             options=DecodeOptions(language="en", max_new_tokens=NEW_TOKENS))
    ours = decoder.decode(np.stack([log_mel_faster_whisper(c) for c in clips]))
    reference = WhisperModel(str(decoder.info.path), device="cpu", compute_type="float32")
    for clip, result in zip(clips, ours):
        segments, _ = reference.transcribe(
            clip, language="en", beam_size=1, temperature=0.0, without_timestamps=True,
            max_new_tokens=2 * NEW_TOKENS - 4, condition_on_previous_text=False,
            vad_filter=False)
        assert [tuple(s.tokens) for s in segments] == [result.tokens]


def test_a_broken_cuda_stack_fails_at_the_probe_naming_the_library_and_the_fix(hub_models,
                                                                               monkeypatch):
    """CTranslate2 4.x dlopens libcublas.so.12 at its first encode; a CUDA 13 torch brings only
    libcublas.so.13. The probe's tiny encode turns that into an error before any input."""
    from lanser_fast.asr import transcriber as transcriber_module
    from lanser_fast.asr.transcriber import TranscribeConfig, Transcriber
    from lanser_fast.asr.whisper_decode import DeviceError

    decoder = WhisperDecoder(HUB_ID, compute="float32",
                             options=DecodeOptions(max_new_tokens=NEW_TOKENS))
    decoder.probe()  # a working stack: passes
    missing = RuntimeError("Library libcublas.so.12 is not found or cannot be loaded")

    def fails(*_):
        raise missing

    monkeypatch.setattr(decoder, "_decode", fails)
    with pytest.raises(DeviceError, match=r"libcublas\.so\.12.*pip install nvidia-cublas-cu12"):
        decoder.probe()

    class Broken(WhisperDecoder):  # what a Transcriber on CUDA builds, failing its encode
        def _decode(self, *_):
            raise missing

    monkeypatch.setattr(transcriber_module, "resolve_device", lambda device: "cuda")
    monkeypatch.setattr(transcriber_module, "WhisperDecoder",
                        lambda model, **kw: Broken(model, **{**kw, "device": "cpu"}))
    with pytest.raises(DeviceError, match="cannot run on"):
        Transcriber(TranscribeConfig(model=HUB_ID, compute_type="float32"))

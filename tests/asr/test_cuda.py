"""The CUDA transcription path: features stay on the GPU and tokens equal the CPU path's."""

from __future__ import annotations

import pytest

from lanser_fast.asr.transcriber import TranscribeConfig, Transcriber
from lanser_fast.asr.whisper_decode import DecodeOptions

pytestmark = [pytest.mark.usefixtures("lanser_cache"), pytest.mark.requires_cuda]
HUB_ID = "openai/whisper-tiny"


def _transcriber(device: str) -> Transcriber:
    return Transcriber(TranscribeConfig(model=HUB_ID, device=device, compute_type="float32",
                                        batch_size=3,
                                        decode=DecodeOptions(language="en", max_new_tokens=8)))


def test_cuda_features_stay_on_the_gpu_and_tokens_equal_cpu(hub_models, monkeypatch):
    from tools.synth_speech import SENTENCES, speak

    clips = [speak(text, rate_wpm=rate) for text, rate in zip(SENTENCES[:4], (120, 170, 220, 260))]
    cuda = _transcriber("cuda")
    assert cuda.device == "cuda"
    seen = []
    decode = cuda.decoder.decode

    def spy(features):
        seen.append(features.device.type)
        return decode(features)

    monkeypatch.setattr(cuda.decoder, "decode", spy)
    on_gpu = cuda.transcribe(clips)
    on_cpu = _transcriber("cpu").transcribe(clips)
    assert seen and set(seen) == {"cuda"}
    assert [r.tokens for r in on_gpu] == [r.tokens for r in on_cpu]

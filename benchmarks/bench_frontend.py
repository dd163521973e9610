"""Front end: Whisper log-mel (whisper-80) of 16 clips x 30 s.

Workload: 16 different 30 s clips of espeak-ng speech at 16 kHz (8 audio-minutes). Contenders,
each as its users call it, in the same run:
- ours: ``lanser_fast.features.log_mel`` with the CPU default (the compiled op, all cores), on
  the padded (16, 480000) batch;
- our reference ``log_mel_ref`` (torch.stft, one clip at a time);
- openai-whisper ``log_mel_spectrogram`` (torch.stft), clip by clip;
- faster-whisper ``FeatureExtractor`` (numpy), clip by clip, with Whisper's 30 s padding;
- Hugging Face ``WhisperFeatureExtractor`` on the list of 16 clips (its batched call).
torch-based contenders use torch's intra-op threads (all cores); numpy-based ones what numpy
uses. On a CUDA machine the Triton kernel and the reference are also timed on the GPU, with the
achieved memory bandwidth (audio in + features out) reported.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from lanser_fast.features import log_mel, log_mel_ref

SR = 16_000
CLIPS = 4 if os.environ.get("LANSER_FAST_BENCH_QUICK") == "1" else 16
WORKLOAD = f"{CLIPS} clips x 30 s, whisper-80"


@pytest.fixture(scope="module")
def clips() -> list[np.ndarray]:
    from tools.synth_speech import speak

    words = ("the quick brown fox jumps over a lazy dog while seven bright stars shine above "
             "quiet hills and rivers that run toward the sea").split()
    rng = np.random.default_rng(0)
    out = []
    for _ in range(CLIPS):
        parts, total = [], 0
        while total < 30 * SR:
            part = speak(" ".join(rng.choice(words, size=12)), rate_wpm=int(rng.integers(140, 200)))
            parts.append(part)
            total += len(part)
        out.append(np.concatenate(parts)[: 30 * SR].astype(np.float32))
    return out


@pytest.fixture(scope="module")
def batch(clips) -> torch.Tensor:
    return torch.from_numpy(np.stack(clips))


AUDIO_S = CLIPS * 30.0


def test_frontend_ours(measure, batch):
    threads = torch.get_num_threads()
    measure(lambda: log_mel(batch, None, "whisper-80"), work=AUDIO_S, rounds=10,
            stage="features", workload=WORKLOAD, impl="lanser_fast log_mel (compiled CPU op)",
            role="ours", unit="audio-h/device-h", threads=threads)


def test_frontend_ref(measure, batch):
    measure(lambda: log_mel_ref(batch, None, "whisper-80"), work=AUDIO_S, stage="features",
            workload=WORKLOAD, impl="lanser_fast log_mel_ref (torch.stft)", role="reference",
            unit="audio-h/device-h", threads=torch.get_num_threads())


def test_frontend_openai_whisper(measure, clips):
    import whisper

    tensors = [torch.from_numpy(c) for c in clips]
    measure(lambda: [whisper.log_mel_spectrogram(t, 80) for t in tensors], work=AUDIO_S,
            stage="features", workload=WORKLOAD, impl="openai-whisper log_mel_spectrogram",
            role="reference", unit="audio-h/device-h", threads=torch.get_num_threads())


def test_frontend_faster_whisper(measure, clips):
    from faster_whisper.feature_extractor import FeatureExtractor

    extractor = FeatureExtractor(feature_size=80)
    measure(lambda: [extractor(c, padding=160) for c in clips], work=AUDIO_S,
            stage="features", workload=WORKLOAD, impl="faster-whisper FeatureExtractor",
            role="reference", unit="audio-h/device-h", threads=1)


def test_frontend_hf(measure, clips):
    from transformers import WhisperFeatureExtractor

    extractor = WhisperFeatureExtractor(feature_size=80)
    measure(lambda: extractor(clips, sampling_rate=SR, return_tensors="np"), work=AUDIO_S,
            stage="features", workload=WORKLOAD, impl="HF WhisperFeatureExtractor (batched)",
            role="reference", unit="audio-h/device-h", threads=torch.get_num_threads())


def test_frontend_outputs_agree(batch, clips):
    """Not a timing: ours equals openai-whisper on this workload (1e-4)."""
    import whisper

    ours, _ = log_mel(batch, None, "whisper-80")
    for row in (0, CLIPS - 1):
        theirs = whisper.log_mel_spectrogram(clips[row], 80, padding=0).numpy()
        assert float((ours[row] - torch.from_numpy(theirs)).abs().max()) <= 1e-4


def _gpu_measure(measure, batch, fn, impl, role):
    from conftest import gpu_allowed

    if not gpu_allowed():
        pytest.skip("GPU contender: no CUDA device (or --device cpu)")
    waves = batch.cuda()

    def run():
        out = fn(waves)
        torch.cuda.synchronize()
        return out

    feats, _ = run()
    moved = waves.numel() * 4 + feats.numel() * 4  # bytes a perfect kernel reads and writes
    m = measure(run, work=AUDIO_S, rounds=20, stage="features", workload=WORKLOAD, impl=impl,
                role=role, unit="audio-h/device-h", threads=1, device=torch.cuda.get_device_name())
    seconds = AUDIO_S / m.median
    m.extra["achieved_GBps"] = moved / seconds / 1e9
    if role == "ours":  # compute-bound: the dense DFT's fp32 work against the fp32 peak too
        from lanser_fast.features.presets import get_preset
        from lanser_fast.features.triton_logmel import kernel_flops

        flops = kernel_flops(get_preset("whisper-80"), feats.shape[0] * feats.shape[-1])
        m.extra.update(gflop_per_s=flops / seconds / 1e9, precision="fp32")


def test_frontend_triton_gpu(measure, batch):
    _gpu_measure(measure, batch, lambda w: log_mel(w, None, "whisper-80"),
                 "lanser_fast log_mel (Triton, CUDA)", "ours")


def test_frontend_ref_gpu(measure, batch):
    _gpu_measure(measure, batch, lambda w: log_mel_ref(w, None, "whisper-80"),
                 "lanser_fast log_mel_ref (torch.stft, CUDA)", "reference")

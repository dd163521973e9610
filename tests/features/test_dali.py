"""DALI audio batches against our own decoder (``load_audio``: libsndfile + soxr HQ).

16 kHz input must be bit-identical (same libsndfile scaling, stereo downmix exact, resampler
skipped). Other rates go through DALI's resampler, which does not low-pass before decimating:
the bounds below are measured differences with about 2x margin, and a band-limited copy of each
file (no content above 8 kHz, so nothing can alias) isolates the interpolation error.
"""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import soxr
import torch

from lanser_fast.audio import load_audio
from lanser_fast.features import get_preset, log_mel, mel_filters
from lanser_fast.features.dali_audio import (
    AudioBatch,
    DaliAudioError,
    dali_audio_batches,
    dali_available,
)
from tools.synth_speech import SENTENCES, speak

RATES = (22050, 44100, 48000)
# Measured on these clips (DALI 2.4 vs soxr HQ), bounds about 2x that. Sample SNR: raw speech
# 25.6-35.6 dB, band-limited 50.1-60.2 dB. Log-mel (whisper-80 units, frames holding audio):
# mel bands below 4 kHz max |diff| <= 0.022, mean <= 0.0003 for every file; bands above, where
# 8-11 kHz content folds in, raw max 0.45 / mean 0.024 (the top band), band-limited max 0.10 /
# mean 0.0022 (near 8 kHz, where soxr's anti-aliasing filter already rolls off).
MIN_SNR_DB = {"raw": 20.0, "bandlimited": 45.0}
LOW_BANDS_HZ = 4000.0
LOW_MAX, LOW_MEAN = 0.05, 0.001
HIGH_MAX = {"raw": 1.0, "bandlimited": 0.2}
HIGH_MEAN = {"raw": 0.05, "bandlimited": 0.005}


def _write(path, samples, rate) -> str:
    sf.write(path, samples, rate, subtype="PCM_16")
    return str(path)


@pytest.fixture(scope="module")
def clips16(speech_corpus, tmp_path_factory) -> list[str]:
    """The 16 kHz corpus (mono, 0.5-3 s) plus a 16 kHz stereo file."""
    paths = sorted(str(p) for p in speech_corpus.glob("*.wav"))
    left = load_audio(paths[0]).samples
    stereo = np.stack([left, 0.6 * np.roll(left, 37)], axis=1)
    return paths + [_write(tmp_path_factory.mktemp("dali16") / "stereo.wav", stereo, 16000)]


@pytest.fixture(scope="module")
def resampled_cases(tmp_path_factory) -> list[tuple[str, str]]:
    """(kind, path): espeak speech at 22.05/44.1/48 kHz, a 48 kHz stereo file, and a band-limited
    (< 8 kHz) copy at each rate."""
    out = tmp_path_factory.mktemp("dali_rates")
    cases = []
    for i, rate in enumerate(RATES):
        speech = speak(SENTENCES[i], sample_rate=rate)
        bandlimited = soxr.resample(soxr.resample(speech, rate, 16000), 16000, rate)
        cases.append(("raw", _write(out / f"raw{rate}.wav", speech, rate)))
        cases.append(("bandlimited", _write(out / f"bl{rate}.wav", bandlimited, rate)))
        if rate == 48000:
            stereo = np.stack([speech, 0.6 * np.roll(speech, 37)], axis=1)
            cases.append(("raw", _write(out / "stereo48000.wav", stereo, rate)))
    return cases


def _batches(paths, batch_size) -> list[AudioBatch]:
    return list(dali_audio_batches(paths, batch_size, device="cpu"))


def _frames(n_samples: int) -> int:
    return n_samples // 160  # whisper-80 frames that hold audio (hop 160)


def test_dali_is_importable():
    assert dali_available()  # a CI dependency: the tests below must run, not skip


def test_16k_samples_identical_to_load_audio(clips16):
    batches = _batches(clips16, 4)
    assert [len(b.paths) for b in batches] == [4, 4, 1]
    for batch in batches:
        assert batch.waves.dtype == torch.float32 and batch.waves.device.type == "cpu"
        assert batch.lengths.dtype == torch.int64
        assert batch.waves.shape == (len(batch.paths), int(batch.lengths.max()))
        for row, length, path in zip(batch.waves.numpy(), batch.lengths.tolist(), batch.paths):
            ref = load_audio(path).samples
            assert length == len(ref), path
            np.testing.assert_array_equal(row[:length], ref)  # x / 32768, exact stereo mean
            assert not row[length:].any()  # zero padding


def test_16k_log_mel_matches_load_audio(clips16):
    (batch,) = _batches(clips16, len(clips16))
    ours, ours_frames = log_mel([load_audio(p).samples for p in batch.paths], None, "whisper-80",
                                backend="ref")
    dali, dali_frames = log_mel(batch.waves, batch.lengths, "whisper-80", backend="ref")
    assert torch.equal(dali_frames, ours_frames)
    torch.testing.assert_close(dali, ours, rtol=0, atol=1e-4)


def test_resampled_rates_close_to_soxr(resampled_cases):
    kinds, paths = zip(*resampled_cases)
    (batch,) = _batches(paths, len(paths))
    refs = [load_audio(p).samples for p in paths]
    dali_mel, _ = log_mel(batch.waves, batch.lengths, "whisper-80", backend="ref")
    ref_mel, _ = log_mel(refs, None, "whisper-80", backend="ref")
    filters = mel_filters(get_preset("whisper-80"))  # (n_mels, n_freqs) over 0-8 kHz
    low = torch.from_numpy(filters.argmax(axis=1) * 8000.0 / (filters.shape[1] - 1) < LOW_BANDS_HZ)
    for i, (kind, path, ref) in enumerate(zip(kinds, paths, refs)):
        length = int(batch.lengths[i])
        # DALI keeps ceil(n * 16000 / rate) samples, soxr may round down.
        assert 0 <= length - len(ref) <= 1, path
        dali = batch.waves[i, : len(ref)].numpy()
        snr = 10 * np.log10(np.sum(ref**2) / np.sum((dali - ref) ** 2))
        diff = (dali_mel[i] - ref_mel[i])[:, : _frames(len(ref))].abs()
        report = (f"{path}: SNR {snr:.1f} dB, log-mel |diff| below {LOW_BANDS_HZ:.0f} Hz max "
                  f"{diff[low].max():.4f} mean {diff[low].mean():.5f}, above max "
                  f"{diff[~low].max():.3f} mean {diff[~low].mean():.4f}")
        assert snr >= MIN_SNR_DB[kind], report
        assert diff[low].max() <= LOW_MAX and diff[low].mean() <= LOW_MEAN, report
        assert diff[~low].max() <= HIGH_MAX[kind], report
        assert diff[~low].mean() <= HIGH_MEAN[kind], report

def test_downsampling_by_three_is_plain_decimation(resampled_cases):
    """The cause of the aliasing: 48 -> 16 kHz keeps every third sample (measured max 1.2e-7)."""
    path = next(p for kind, p in resampled_cases if kind == "raw" and p.endswith("raw48000.wav"))
    source, rate = sf.read(path, dtype="float32")
    assert rate == 48000
    (batch,) = _batches([path], 1)
    np.testing.assert_allclose(batch.waves[0].numpy(), source[::3], rtol=0, atol=1e-6)


def test_order_and_count_across_partial_last_batch(clips16):
    order = [clips16[i] for i in (4, 1, 7, 0, 2)]  # not sorted: the reader must keep it
    batches = _batches(order, 2)
    assert [len(b.paths) for b in batches] == [2, 2, 1]
    assert [p for b in batches for p in b.paths] == order
    for batch in batches:
        for row, length, path in zip(batch.waves.numpy(), batch.lengths.tolist(), batch.paths):
            ref = load_audio(path).samples
            assert length == len(ref)
            np.testing.assert_array_equal(row[:length], ref)
    (whole,) = _batches(order, 64)  # a batch size beyond the list: one batch, no duplicates
    assert whole.paths == order and whole.waves.shape[0] == len(order)
    assert _batches([], 4) == []


@pytest.mark.parametrize("bad,reason", [("junk.wav", "decoders.audio"),
                                        ("missing.wav", "readers.file")])
def test_bad_file_fails_its_batch_with_the_files_named(clips16, tmp_path, bad, reason):
    (tmp_path / "junk.wav").write_bytes(np.random.default_rng(0).bytes(4000))
    bad_path = str(tmp_path / bad)
    paths = clips16[:3] + [bad_path] + clips16[3:5]
    batches = dali_audio_batches(paths, 2)
    assert next(batches).paths == clips16[:2]  # the batch before the bad file is delivered
    with pytest.raises(DaliAudioError) as info:
        next(batches)
    assert info.value.paths == [clips16[2], bad_path]
    assert reason in info.value.reason and bad_path in str(info.value)


def test_rejects_unknown_device(clips16):
    with pytest.raises(ValueError, match="device"):
        next(dali_audio_batches(clips16, 2, device="tpu"))


@pytest.mark.requires_cuda
def test_gpu_pipeline_feeds_log_mel_on_cuda(clips16, resampled_cases):
    raw48 = next(p for kind, p in resampled_cases if p.endswith("raw48000.wav"))
    paths = clips16[:5] + [raw48]
    (gpu,) = list(dali_audio_batches(paths, len(paths), device="gpu"))
    (cpu,) = _batches(paths, len(paths))
    assert gpu.waves.is_cuda and gpu.paths == paths
    assert torch.equal(gpu.lengths, cpu.lengths)
    # 16 kHz rows skip the resampler: exact. The 48 kHz row is DALI's GPU resampler.
    torch.testing.assert_close(gpu.waves[:5].cpu(), cpu.waves[:5], rtol=0, atol=0)
    torch.testing.assert_close(gpu.waves.cpu(), cpu.waves, rtol=0, atol=1e-5)
    features, frames = log_mel(gpu.waves, gpu.lengths, "whisper-80")  # Triton on CUDA
    assert features.is_cuda
    ours, ours_frames = log_mel([load_audio(p).samples for p in paths[:5]], None, "whisper-80",
                                backend="ref")
    assert torch.equal(frames[:5].cpu(), ours_frames)
    torch.testing.assert_close(features[:5].cpu(), ours, rtol=0, atol=1e-4)

"""The DALI training path against the torch DataLoader: same items, crops and features.

On this CPU-only machine DALI runs its CPU pipeline (``device="cpu"``) and features come from our
compiled CPU op; on a GPU the same graph runs on the device and Triton computes the log-mel
(``requires_cuda`` test).
"""

from __future__ import annotations

import csv

import numpy as np
import pytest
import soundfile as sf
import soxr
import torch

pytest.importorskip("nvidia.dali")

from lanser_fast.audio import load_audio  # noqa: E402
from lanser_fast.data.crops import InputConfig  # noqa: E402
from lanser_fast.data.dali_loader import DaliCrops, utterance_samples  # noqa: E402
from lanser_fast.data.examples import Example, LabeledSet  # noqa: E402
from lanser_fast.data.loader import EpochPlan, TrainItems, train_loader  # noqa: E402
from lanser_fast.models import ModelConfig  # noqa: E402
from lanser_fast.train.config import TrainConfig  # noqa: E402
from lanser_fast.train.trainer import fit  # noqa: E402

# Measured on resampled espeak clips (22.05 / 44.1 kHz files, DALI's resampler vs soxr HQ, crop
# anchors from header lengths): ser-64 log-mel over the 50 bands below 4 kHz, per batch of 3,
# mean |diff| 0.00016-0.0060, max 0.13. Bounds about 2x.
RESAMPLED_LOW_MEAN, RESAMPLED_LOW_MAX = 0.015, 0.3
LOW_BANDS_HZ = 4000.0


@pytest.fixture(scope="module")
def examples(prosody_corpus):
    rows = list(csv.DictReader(open(prosody_corpus / "labels.csv")))[:21]
    out = [Example(r["path"], str(prosody_corpus / r["path"]), i % 3)
           for i, r in enumerate(rows)]
    first = out[0].path
    # a region shorter than the crop, and one that starts inside the file
    out.append(Example("region-short", first, 1, offset_s=0.25, duration_s=0.6))
    out.append(Example("region-long", first, 2, offset_s=0.1))
    return out


def _compare(examples, config, plan, epoch, first_step):
    dali = DaliCrops(examples, config, plan, device="cpu")
    items = TrainItems(examples, config, augment=True)
    pairs = list(zip(dali.batches(epoch, first_step, 0),
                     train_loader(items, plan, epoch, first_step, 0, workers=0)))
    assert len(pairs) == (plan.steps_per_epoch - first_step) * plan.accumulate
    return pairs


@pytest.mark.parametrize("spec_augment", [False, True])
def test_dali_cpu_pipeline_gives_the_torch_loaders_features(examples, spec_augment):
    config = InputConfig(crop_s=1.5, spec_augment=spec_augment)
    plan = EpochPlan(len(examples), 5, 1, 1, seed=4)
    for (a, la), (b, lb) in _compare(examples, config, plan, epoch=2, first_step=1):
        assert torch.equal(la, lb)
        assert a.shape == b.shape == (5, 1, 64, 148)
        assert torch.equal(a, b)  # 16 kHz: identical samples, identical features


def test_header_lengths_match_the_decoder(examples):
    for ex in examples:
        assert utterance_samples(ex) == len(load_audio(ex.path, offset_s=ex.offset_s,
                                                       duration_s=ex.duration_s).samples)


def test_resampled_files_stay_within_the_stated_tolerance(examples, tmp_path):
    resampled = []
    for i, rate in enumerate((22_050, 44_100) * 3):
        wave = load_audio(examples[i].path).samples
        path = tmp_path / f"r{i}.wav"
        sf.write(path, soxr.resample(wave, 16_000, rate, "HQ"), rate, subtype="FLOAT")
        resampled.append(Example(f"r{i}", str(path), i % 3))
    config = InputConfig(crop_s=1.0)
    plan = EpochPlan(len(resampled), 3, 1, 1, seed=0)
    low = _bands_below(LOW_BANDS_HZ)
    for (a, _), (b, _) in _compare(resampled, config, plan, epoch=0, first_step=0):
        diff = (a - b).abs()[:, 0, :low]  # (batch, bands below 4 kHz, frames)
        assert diff.mean() < RESAMPLED_LOW_MEAN and diff.max() < RESAMPLED_LOW_MAX, diff.max()


def _bands_below(hz: float) -> int:
    """How many ser-64 mel bands peak below ``hz``."""
    from lanser_fast.features import get_preset, mel_filters

    preset = get_preset("ser-64")
    peaks = mel_filters(preset).argmax(axis=-1) * preset.sample_rate / preset.n_fft
    return int((peaks < hz).sum())


def test_training_on_the_dali_path_gives_the_same_weights(examples, tmp_path):
    data = LabeledSet("t", ("a", "b", "c"), tuple(examples))
    runs = {}
    for loader in ("torch", "dali"):
        result = fit(data, None, tmp_path / loader, model_config=ModelConfig("resnet18", 3, 64, 8),
                     input_config=InputConfig(crop_s=1.0, spec_augment=True),
                     config=TrainConfig(epochs=1, batch_size=4, workers=0, loader=loader,
                                        max_steps=3), device="cpu", progress=False)
        assert f"{loader} loader" in result.runtime
        runs[loader] = torch.load(tmp_path / loader / "last.pt", weights_only=False)["model"]
    for key, value in runs["torch"].items():
        assert torch.equal(value, runs["dali"][key]), key


@pytest.mark.requires_cuda
def test_gpu_pipeline_and_triton_log_mel_match_the_cpu_path(examples):
    config = InputConfig(crop_s=1.5, spec_augment=True)
    plan = EpochPlan(len(examples), 5, 1, 1, seed=4)
    gpu = DaliCrops(examples, config, plan, device="gpu")
    cpu = DaliCrops(examples, config, plan, device="cpu")
    for (a, la), (b, lb) in zip(gpu.batches(0, 0, 0), cpu.batches(0, 0, 0)):
        assert a.is_cuda and torch.equal(la, lb)
        np.testing.assert_allclose(a.cpu().numpy(), b.numpy(), rtol=1e-4, atol=1e-4)

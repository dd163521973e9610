"""The GPU data path: DALI decodes and crops, our Triton log-mel computes features on the GPU.

Per training item the host only reads the file's bytes and computes the crop anchor from the
item seed (the same ``crop_start`` the CPU loader uses, on the utterance length from the file
header). DALI then decodes (its CPU decoder; there is no GPU audio decoder), moves the samples to
the GPU, resamples there where the rate is not 16 kHz, slices the crop with zero padding, and
the batch goes to ``log_mel`` (Triton on CUDA) without visiting the host again. With
``device="cpu"`` the same graph runs CPU-only and features come from our compiled CPU op: that
is how this path is tested on machines without a GPU.

Equivalence with the CPU loader (``data.loader``): identical crops and features for 16 kHz input
(same libsndfile scaling, resampler skipped); other rates differ by DALI's resampler (see
``features.dali_audio`` for the measured bounds), and the crop anchor then comes from the
header length ``ceil(n * 16000 / rate)``, at most one sample off soxr's.

Cost: each item decodes its whole file. That fits per-utterance files (IEMOCAP, CREMA-D, weak
labels of short clips); for utterances cut from long recordings the CPU loader, which seeks to
the region, is the better choice.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import torch

from lanser_fast.audio import SAMPLE_RATE
from lanser_fast.data.crops import apply_masks, crop_start, spec_masks
from lanser_fast.data.examples import Example
from lanser_fast.data.input_config import InputConfig
from lanser_fast.data.loader import EpochPlan
from lanser_fast.features import log_mel
from lanser_fast.features.dali_audio import dali_to_torch


def utterance_samples(ex: Example) -> int:
    """The utterance's length in 16 kHz samples, from the file header (no decoding)."""
    import soundfile as sf

    info = sf.info(ex.path)
    start = round(ex.offset_s * info.samplerate)
    frames = info.frames - start
    if ex.duration_s is not None:
        frames = min(frames, round(ex.duration_s * info.samplerate))
    if info.samplerate == SAMPLE_RATE:
        return max(frames, 0)
    return max(math.ceil(frames * SAMPLE_RATE / info.samplerate), 0)


def build_crop_pipeline(source, batch_size: int, crop: int, *, device: str = "cpu",
                        num_threads: int = 2, device_id: int = 0):
    """An unbuilt DALI pipeline reading (file bytes, anchor, length) batches from the iterable
    ``source``; it returns (batch, crop) float32 crops on ``device``. DALI prefetches from
    ``source`` ahead of the training step."""
    from nvidia.dali import fn, pipeline_def, types

    target = float(SAMPLE_RATE)

    @pipeline_def(enable_conditionals=True, exec_dynamic=True)
    def crops():
        encoded, anchor, length = fn.external_source(
            source=source, num_outputs=3, batch=True,
            dtype=[types.UINT8, types.INT64, types.INT64])
        audio, rate = fn.decoders.audio(encoded, dtype=types.FLOAT, downmix=True)
        if device == "gpu":
            audio = audio.gpu()
        if rate != target:  # DALI's resampler is not exact at ratio 1: skip it at 16 kHz
            audio = fn.audio_resample(audio, in_rate=rate, out_rate=target)
        # The utterance's part of the crop, then zeros to the crop length: a crop never reads
        # past the utterance's end into the rest of the file.
        piece = fn.slice(audio, anchor, length, axes=[0], out_of_bounds_policy="pad",
                         fill_values=0.0)
        return fn.pad(piece, axes=[0], shape=[crop], fill_value=0.0)

    return crops(batch_size=batch_size, num_threads=num_threads,
                 device_id=device_id if device == "gpu" else None)


class DaliCrops:
    """Training micro-batches from DALI, in the same planned order as the CPU loader."""

    def __init__(self, examples: list[Example], config: InputConfig, plan: EpochPlan, *,
                 device: str = "cpu", device_id: int = 0, num_threads: int = 2,
                 augment: bool = True):
        self.examples, self.config, self.plan = examples, config, plan
        self.augment = augment and config.spec_augment
        self.device, self.device_id, self.num_threads = device, device_id, num_threads
        self.starts = np.array([round(ex.offset_s * SAMPLE_RATE) for ex in examples])
        self.lengths = np.array([utterance_samples(ex) for ex in examples])
        self.labels = [ex.label for ex in examples]

    def _inputs(self, keys: list[tuple[int, int]]):
        """DALI's inputs for one micro-batch: file bytes, crop anchor and in-utterance length."""
        crop = self.config.crop_samples
        encoded, anchors, lengths = [], [], []
        for index, seed in keys:
            n = int(self.lengths[index])
            start = crop_start(n, crop, seed)
            encoded.append(np.fromfile(self.examples[index].path, dtype=np.uint8))
            # Offsets count in 16 kHz samples of the decoded (and resampled) file.
            anchors.append(np.array([self.starts[index] + start], dtype=np.int64))
            lengths.append(np.array([min(crop, n - start)], dtype=np.int64))
        return encoded, anchors, lengths

    def batches(self, epoch: int, first_step: int, rank: int) -> Iterator[tuple]:
        """(features (B, 1, n_mels, frames), labels (B,)) of ``rank``'s micro-batches for the
        rest of ``epoch`` from optimizer step ``first_step``."""
        order = self.plan.order(epoch)
        planned = [keys for step in range(first_step, self.plan.steps_per_epoch)
                   for keys in self.plan.step_batches(order, epoch, step, rank)]
        pipe = build_crop_pipeline((self._inputs(keys) for keys in planned),
                                   self.plan.micro_batch, self.config.crop_samples,
                                   device=self.device, num_threads=self.num_threads,
                                   device_id=self.device_id)
        pipe.build()
        for keys in planned:
            (out,) = pipe.run()
            waves = dali_to_torch(out, self.device_id)  # (B, crop) on the pipeline's device
            features, _ = log_mel(waves, None, self.config.preset)
            if self.augment:
                for row, (_, seed) in zip(features, keys):
                    apply_masks(row, spec_masks(self.config, row.shape[0], row.shape[1], seed))
            yield features[:, None], torch.tensor([self.labels[i] for i, _ in keys])

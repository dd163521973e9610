"""The CPU data path: a torch DataLoader whose worker processes decode and compute log-mel.

Order is planned, not sampled: ``EpochPlan`` fixes each epoch's item order from the seed
(permutation, or class-balanced draws with replacement) and pads it to a whole number of global
batches, so every rank of every optimizer step has a full micro-batch. Micro-batch ``j`` of an
epoch is ``order[j * B:(j + 1) * B]``; optimizer step ``t`` takes micro-batches
``t * A * W + a * W + r`` (accumulation step ``a``, rank ``r`` of ``W``). One process
accumulating over ``A * W`` micro-batches therefore sees exactly the items of ``W`` DDP ranks.

Evaluation covers whole utterances: windows of the training crop length with half overlap
(the last one flush with the end), one padded window for short clips; logits are averaged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from lanser_fast.audio import SAMPLE_RATE, load_audio
from lanser_fast.data.crops import apply_masks, crop_start, crop_wave, item_seed, spec_masks
from lanser_fast.data.examples import Example
from lanser_fast.data.input_config import InputConfig
from lanser_fast.features import log_mel


@dataclass(frozen=True)
class EpochPlan:
    n_items: int
    micro_batch: int  # items per micro-batch (per rank)
    accumulate: int  # micro-batches per optimizer step and rank
    world: int  # DDP ranks
    seed: int
    labels: tuple[int, ...] | None = None  # class of each item: class-balanced order if given

    @property
    def global_batch(self) -> int:
        return self.micro_batch * self.accumulate * self.world

    @property
    def steps_per_epoch(self) -> int:
        return max(1, math.ceil(self.n_items / self.global_batch))

    def order(self, epoch: int) -> np.ndarray:
        """Item indices of ``epoch``, padded (by wrapping) to ``steps_per_epoch`` global batches."""
        rng = np.random.default_rng([self.seed, epoch, 0x5EED])
        size = self.steps_per_epoch * self.global_batch
        if self.labels is None:
            return np.resize(rng.permutation(self.n_items), size)
        labels = np.asarray(self.labels)
        counts = np.bincount(labels)
        weights = 1.0 / counts[labels]
        return rng.choice(self.n_items, size=size, replace=True, p=weights / weights.sum())

    def step_batches(self, order: np.ndarray, epoch: int, step: int,
                     rank: int) -> list[list[tuple[int, int]]]:
        """The micro-batches of ``rank`` for optimizer ``step`` of ``epoch`` (whose ``order``
        is given): lists of ``(item index, item seed)``."""
        out = []
        for a in range(self.accumulate):
            j = step * self.accumulate * self.world + a * self.world + rank
            positions = range(j * self.micro_batch, (j + 1) * self.micro_batch)
            out.append([(int(order[p]), item_seed(self.seed, epoch, p)) for p in positions])
        return out


class _PlannedBatches:
    """Batch sampler over the rest of one epoch, from optimizer step ``first_step``."""

    def __init__(self, plan: EpochPlan, epoch: int, first_step: int, rank: int):
        self.plan, self.epoch, self.first_step, self.rank = plan, epoch, first_step, rank

    def __iter__(self):
        order = self.plan.order(self.epoch)
        for step in range(self.first_step, self.plan.steps_per_epoch):
            yield from self.plan.step_batches(order, self.epoch, step, self.rank)

    def __len__(self) -> int:
        return (self.plan.steps_per_epoch - self.first_step) * self.plan.accumulate


def read_utterance(ex: Example) -> np.ndarray:
    """The utterance's samples, 16 kHz mono float32 (our decoder: any format, any rate)."""
    return load_audio(ex.path, offset_s=ex.offset_s, duration_s=ex.duration_s).samples


def crop_features(samples: np.ndarray, config: InputConfig, seed: int,
                  augment: bool) -> torch.Tensor:
    """Log-mel (1, n_mels, frames) of the item's crop, SpecAugment-masked if ``augment``."""
    crop = config.crop_samples
    wave = crop_wave(samples, crop_start(len(samples), crop, seed), crop)
    features, _ = log_mel(torch.from_numpy(wave)[None], None, config.preset, threads=1)
    if augment:
        apply_masks(features[0], spec_masks(config, features.shape[1], features.shape[2], seed))
    return features


class TrainItems(Dataset):
    """Map-style dataset keyed by ``(index, item seed)``: one random crop per key."""

    def __init__(self, examples: list[Example], config: InputConfig, augment: bool):
        self.examples, self.config, self.augment = examples, config, augment

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, key: tuple[int, int]):
        index, seed = key
        ex = self.examples[index]
        features = crop_features(read_utterance(ex), self.config, seed,
                                 self.augment and self.config.spec_augment)
        return features, ex.label


def window_starts(n_samples: int, crop: int) -> list[int]:
    """Evaluation windows: half-overlapping crops covering the clip (one if it is short)."""
    if n_samples <= crop:
        return [0]
    hop = crop // 2
    starts = list(range(0, n_samples - crop + 1, hop))
    if starts[-1] != n_samples - crop:
        starts.append(n_samples - crop)
    return starts


def window_features(samples: np.ndarray, config: InputConfig) -> torch.Tensor:
    """(windows, 1, n_mels, frames) log-mel of every evaluation window of one utterance."""
    crop = config.crop_samples
    waves = np.stack([crop_wave(samples, s, crop) for s in window_starts(len(samples), crop)])
    features, _ = log_mel(torch.from_numpy(waves), None, config.preset, threads=1)
    return features[:, None]


class EvalItems(Dataset):
    """Every evaluation window of every utterance; items are ``(windows, label, index)``."""

    def __init__(self, examples: list[Example], config: InputConfig, reader=read_utterance):
        self.examples, self.config, self.reader = examples, config, reader

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, index: int):
        ex = self.examples[index]
        return window_features(self.reader(ex), self.config), ex.label, index


def collate_train(items):
    features = torch.cat([f for f, _ in items])[:, None]  # (B, 1, n_mels, frames)
    return features, torch.tensor([label for _, label in items], dtype=torch.long)


def collate_eval(items):
    windows = torch.cat([w for w, _, _ in items])  # (sum of windows, 1, n_mels, frames)
    counts = torch.tensor([len(w) for w, _, _ in items])
    labels = torch.tensor([label for _, label, _ in items], dtype=torch.long)
    return windows, counts, labels, [index for _, _, index in items]


def _worker_init(_):
    torch.set_num_threads(1)  # a loader worker is one core; the trainer owns the rest


def train_loader(items: TrainItems, plan: EpochPlan, epoch: int, first_step: int, rank: int,
                 workers: int) -> DataLoader:
    return DataLoader(items, batch_sampler=_PlannedBatches(plan, epoch, first_step, rank),
                      collate_fn=collate_train, num_workers=workers,
                      worker_init_fn=_worker_init if workers else None,
                      persistent_workers=False, prefetch_factor=4 if workers else None)


def eval_loader(items: EvalItems, batch_size: int, workers: int) -> DataLoader:
    return DataLoader(items, batch_size=batch_size, shuffle=False, collate_fn=collate_eval,
                      num_workers=workers, worker_init_fn=_worker_init if workers else None)


def audio_seconds(n_items: int, config: InputConfig) -> float:
    """Audio consumed by ``n_items`` training crops (seconds)."""
    return n_items * config.crop_samples / SAMPLE_RATE

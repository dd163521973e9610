"""Training inputs: which crop of which utterance, and its SpecAugment masks, from seeds alone.

Every random choice of an item is drawn from ``item_seed(seed, epoch, position)``, never from a
global RNG. That is what makes training resumable bit-for-bit (a resumed run recomputes the same
crops from the step counter), lets DDP ranks and the single-process reference see the same items,
and lets the DALI and torch loaders produce the same crop for the same item.
"""

from __future__ import annotations

import numpy as np
import torch

from lanser_fast.data.input_config import InputConfig


def item_seed(seed: int, epoch: int, position: int) -> int:
    """The seed of the item at ``position`` of ``epoch``'s order (a 63-bit integer)."""
    state = np.random.SeedSequence([seed, epoch, position]).generate_state(2, np.uint32)
    return int(state[0]) << 31 | int(state[1]) >> 1


def crop_start(n_samples: int, crop: int, seed: int) -> int:
    """Start of the training crop: uniform over the full-length crops; 0 if the clip is short."""
    if n_samples <= crop:
        return 0
    return int(np.random.default_rng(seed).integers(0, n_samples - crop + 1))


def spec_masks(config: InputConfig, n_mels: int, n_frames: int, seed: int) -> np.ndarray:
    """SpecAugment masks as (n, 3) int rows ``(axis, start, width)``; axis 0 = mel, 1 = time."""
    rng = np.random.default_rng([seed, 1])  # independent of the crop's stream
    rows = []
    for axis, count, width, size in ((0, config.freq_masks, config.freq_width, n_mels),
                                     (1, config.time_masks, config.time_width, n_frames)):
        for _ in range(count):
            w = int(rng.integers(0, min(width, size) + 1))
            rows.append((axis, int(rng.integers(0, size - w + 1)), w))
    return np.asarray(rows, dtype=np.int64).reshape(-1, 3)


def apply_masks(features: torch.Tensor, masks: np.ndarray) -> torch.Tensor:
    """Fill the masked bands/frames of one (n_mels, frames) map with its mean, in place."""
    fill = features.mean()
    for axis, start, width in masks.tolist():
        if width:
            if axis == 0:
                features[start:start + width, :] = fill
            else:
                features[:, start:start + width] = fill
    return features


def crop_wave(samples: np.ndarray, start: int, crop: int) -> np.ndarray:
    """``crop`` samples from ``start``, zero-padded at the end."""
    piece = samples[start:start + crop]
    if len(piece) == crop:
        return np.ascontiguousarray(piece, dtype=np.float32)
    out = np.zeros(crop, dtype=np.float32)
    out[:len(piece)] = piece
    return out

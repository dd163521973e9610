"""What the SER model is fed: the front-end preset, the training crop and SpecAugment (no torch
needed, so the command line reads its defaults from here)."""

from __future__ import annotations

from dataclasses import dataclass

from lanser_fast.audio import SAMPLE_RATE


@dataclass(frozen=True)
class InputConfig:
    preset: str = "ser-64"  # log-mel front end (lanser_fast.features presets)
    crop_s: float = 3.0  # training crop length (s); shorter utterances are zero-padded at the end
    spec_augment: bool = False  # time and frequency masking on training crops
    freq_masks: int = 2  # SpecAugment: number of frequency masks ...
    freq_width: int = 8  # ... each up to this many mel bands wide
    time_masks: int = 2  # number of time masks ...
    time_width: int = 30  # ... each up to this many frames wide

    @property
    def crop_samples(self) -> int:
        return round(self.crop_s * SAMPLE_RATE)

    def __post_init__(self):
        if self.crop_s <= 0.025:
            raise ValueError(f"crop_s must be longer than one 25 ms window, got {self.crop_s}")

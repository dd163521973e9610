"""What the SER model is: architecture, head size, front-end bands, width (no torch needed, so
the command line reads its defaults from here)."""

from __future__ import annotations

from dataclasses import dataclass

ARCHS = {  # name -> (block, blocks per stage)
    "resnet18": ("basic", (2, 2, 2, 2)),
    "resnet34": ("basic", (3, 4, 6, 3)),
    "resnet50": ("bottleneck", (3, 4, 6, 3)),
}


@dataclass(frozen=True)
class ModelConfig:
    arch: str = "resnet50"  # one of ARCHS
    n_classes: int = 28  # head size (the taxonomy's label count)
    n_mels: int = 64  # mel bands of the front end (bn0's channels)
    width: int = 64  # channels of the first stage (64 = the paper's ResNet; 16 for tests)

    def __post_init__(self):
        if self.arch not in ARCHS:
            raise ValueError(f"unknown architecture {self.arch!r}; choose one of "
                             f"{', '.join(ARCHS)}")
        if self.n_classes < 1 or self.width < 1 or self.n_mels < 1:
            raise ValueError(f"n_classes, width and n_mels must be positive: {self}")

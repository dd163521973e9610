"""ResNet on log-mel spectrograms: LanSER's ResNet-50 with a 1-channel stem, and smaller variants.

The torchvision layout (7x7 stride-2 stem, max-pool, four stages, global average pool) with one
input channel, written here because torchvision's registry wheels are CUDA builds. Two additions:

- ``bn0`` normalises each mel band over the batch before the stem (log-mel bands differ in scale
  by orders of magnitude), so features need no dataset statistics and an exported model takes raw
  ``ser-64`` features;
- the head is a separate ``nn.Linear`` so fine-tuning swaps it and keeps the backbone.

Input (batch, 1, n_mels, frames), output (batch, n_classes) logits.
"""

from __future__ import annotations

import torch
from torch import nn

from lanser_fast.models.config import ARCHS, ModelConfig


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inp: int, planes: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(inp, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = _shortcut(inp, planes, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(y + self.shortcut(x))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inp: int, planes: int, stride: int):
        super().__init__()
        out = planes * self.expansion
        self.conv1 = nn.Conv2d(inp, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        # Stride on the 3x3 conv (torchvision's "ResNet v1.5").
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = _shortcut(inp, out, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return self.relu(y + self.shortcut(x))


def _shortcut(inp: int, out: int, stride: int) -> nn.Module:
    if stride == 1 and inp == out:
        return nn.Identity()
    return nn.Sequential(nn.Conv2d(inp, out, 1, stride, bias=False), nn.BatchNorm2d(out))


class SpectrogramResNet(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        kind, depths = ARCHS[config.arch]
        block = Bottleneck if kind == "bottleneck" else BasicBlock
        width = config.width
        self.bn0 = nn.BatchNorm2d(config.n_mels)
        self.stem = nn.Sequential(
            nn.Conv2d(1, width, 7, 2, 3, bias=False), nn.BatchNorm2d(width),
            nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1))
        stages, inp = [], width
        for index, depth in enumerate(depths):
            planes = width * 2 ** index
            blocks = []
            for b in range(depth):
                blocks.append(block(inp, planes, 2 if (b == 0 and index > 0) else 1))
                inp = planes * block.expansion
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.embed_dim = inp
        self.head = nn.Linear(inp, config.n_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        # Zero the last BN of each residual branch: every block starts as the identity, which
        # trains faster and more stably from scratch (Goyal et al., 2017).
        for m in self.modules():
            last = getattr(m, "bn3", None) if isinstance(m, Bottleneck) else (
                getattr(m, "bn2", None) if isinstance(m, BasicBlock) else None)
            if last is not None:
                nn.init.zeros_(last.weight)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled backbone features (batch, embed_dim) of log-mel input (batch, 1, mels, T)."""
        # bn0 over mel bands: (B, 1, M, T) -> (B, M, 1, T) -> normalise -> back.
        x = self.bn0(x.transpose(1, 2)).transpose(1, 2)
        x = self.stages(self.stem(x))
        return torch.flatten(self.pool(x), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))

    def replace_head(self, n_classes: int) -> None:
        """A fresh classification head for ``n_classes`` (fine-tuning keeps the backbone)."""
        self.head = nn.Linear(self.embed_dim, n_classes).to(self.head.weight.device)
        self.config = ModelConfig(self.config.arch, n_classes, self.config.n_mels,
                                  self.config.width)


def build_model(config: ModelConfig) -> SpectrogramResNet:
    return SpectrogramResNet(config)

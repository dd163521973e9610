"""SER models: the configuration (``config``) and the ResNets on log-mel spectrograms
(``resnet``: ``SpectrogramResNet``, ``build_model``).

Example::

    from lanser_fast.models import ModelConfig
    from lanser_fast.models.resnet import build_model
    model = build_model(ModelConfig("resnet50", n_classes=28))  # (B, 1, 64, frames) -> logits

``SpectrogramResNet`` has torchvision's ResNet layout (ResNet-50 "v1.5" bottlenecks;
ResNet-18/34 basic blocks for small machines) with a 1-channel 7x7 stem, a BatchNorm over mel
bands in front (raw log-mel in, no dataset statistics needed), zero-initialised last BN of each
block, and a separate head: fine-tuning swaps the head and keeps the backbone; a checkpoint with
the same classes keeps its head. ``--width`` scales the channels (64 = the paper's 23.5 M
parameters for 28 classes). ``ModelConfig`` needs no torch, so the command line reads its
defaults without importing it.
"""

from lanser_fast.models.config import ARCHS, ModelConfig

__all__ = ["ARCHS", "ModelConfig"]

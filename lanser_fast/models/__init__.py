"""SER models: ResNets on log-mel spectrograms."""

from lanser_fast.models.resnet import ARCHS, ModelConfig, SpectrogramResNet, build_model

__all__ = ["ARCHS", "ModelConfig", "SpectrogramResNet", "build_model"]

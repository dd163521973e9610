"""Checkpoints: everything needed to resume bit-for-bit, or to deploy the model.

A checkpoint holds the model, optimizer, scheduler and the step counter (the data position:
item order and crops are functions of the seed, epoch and position, see ``data.crops``), plus the
RNG states for anything outside that plan, and the model/input configuration and class names so
``evaluate``, ``predict`` and ``export`` need nothing else. Writes are atomic (temp file, fsync,
rename): a run killed mid-write keeps its previous checkpoint.
"""

from __future__ import annotations

import os
import random
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from lanser_fast.data.input_config import InputConfig
from lanser_fast.models import ModelConfig
from lanser_fast.models.resnet import SpectrogramResNet, build_model

FORMAT = 1
LAST, BEST = "last.pt", "best.pt"


def rng_state() -> dict:
    """The generators' state; of CUDA only this process's current device, so a resume with
    another GPU count (or on CPU) restores what each rank can."""
    return {"torch": torch.get_rng_state(), "numpy": np.random.get_state(),
            "python": random.getstate(),
            "cuda": torch.cuda.get_rng_state() if torch.cuda.is_available() else None}


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    cuda = state.get("cuda")
    if cuda is None or not torch.cuda.is_available():
        return
    if isinstance(cuda, (list, tuple)):  # checkpoints before: every device's state
        index = torch.cuda.current_device()
        if index >= len(cuda):
            return
        cuda = cuda[index]
    torch.cuda.set_rng_state(cuda)


def save(path: str | os.PathLike, **content) -> Path:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        torch.save({"format": FORMAT, **content}, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


def is_checkpoint(path: str | os.PathLike) -> bool:
    """Whether ``path`` names a checkpoint: a ``.pt`` file, or a run folder holding one."""
    path = Path(path)
    return path.suffix == ".pt" or (path / LAST).is_file() or (path / BEST).is_file()


def load(path: str | os.PathLike) -> dict:
    path = Path(path)
    if path.is_dir():
        path = path / BEST if (path / BEST).is_file() else path / LAST
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}: pass a .pt file or a training "
                                f"folder holding {BEST} or {LAST}")
    state = torch.load(path, map_location="cpu", weights_only=False)
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"{path} is not a lanser-fast checkpoint (format {FORMAT})")
    state["path"] = str(path)
    return state


def model_from(state: dict) -> SpectrogramResNet:
    model = build_model(ModelConfig(**state["model_config"]))
    model.load_state_dict(state["model"])
    return model


def input_config_from(state: dict) -> InputConfig:
    return InputConfig(**state["input_config"])


def model_content(model: SpectrogramResNet, input_config: InputConfig,
                  classes, taxonomy: str | None) -> dict:
    """The deployable part of a checkpoint."""
    return {"model": model.state_dict(), "model_config": asdict(model.config),
            "input_config": asdict(input_config), "classes": list(classes),
            "taxonomy": taxonomy}

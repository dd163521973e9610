"""Deployable models: TorchScript or ONNX, carrying their classes and front end.

The exported graph maps ``ser-64`` log-mel features (batch, 1, n_mels, frames) to logits; the
frame count is dynamic. The metadata (classes, taxonomy, front-end preset, crop length) travels
inside the file (TorchScript extra file ``lanser.json``; ONNX ``metadata_props``) and in a
``<model>.json`` sidecar, so a deployment computes the same features and names the classes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from lanser_fast.train import checkpoint as ckpt

FORMATS = {".onnx": "onnx", ".pt": "torchscript", ".ts": "torchscript"}
OPSET = 17
META_FILE = "lanser.json"


def model_metadata(state: dict) -> dict:
    input_config = state["input_config"]
    return {"classes": list(state["classes"]), "taxonomy": state.get("taxonomy"),
            "preset": input_config["preset"], "crop_s": input_config["crop_s"],
            "input": "log-mel (batch, 1, n_mels, frames) of the preset; frames dynamic",
            "arch": state["model_config"]["arch"], "output": "logits (batch, n_classes)"}


def export_model(source: str | os.PathLike, out: str | os.PathLike) -> Path:
    """Write the checkpoint ``source`` as ``out`` (.onnx, or .pt/.ts for TorchScript)."""
    out = Path(out)
    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise ValueError(f"{out}: the model format is chosen by the suffix: "
                         f"{', '.join(FORMATS)}")
    state = ckpt.load(source)
    model = ckpt.model_from(state).eval()
    meta = model_metadata(state)
    n_mels = state["model_config"]["n_mels"]
    frames = max(2, round(meta["crop_s"] * 100))
    example = torch.randn(2, 1, n_mels, frames)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    if fmt == "torchscript":
        scripted = torch.jit.script(model)
        torch.jit.save(scripted, str(tmp), _extra_files={META_FILE: json.dumps(meta)})
    else:
        import onnx

        with torch.no_grad():
            torch.onnx.export(model, (example,), str(tmp), input_names=["features"],
                              output_names=["logits"], opset_version=OPSET, dynamo=False,
                              dynamic_axes={"features": {0: "batch", 3: "frames"},
                                            "logits": {0: "batch"}})
        graph = onnx.load(str(tmp))
        for key, value in meta.items():
            entry = graph.metadata_props.add()
            entry.key, entry.value = key, json.dumps(value)
        onnx.save(graph, str(tmp))
    os.replace(tmp, out)
    out.with_name(out.name + ".json").write_text(json.dumps(meta, indent=2))
    return out

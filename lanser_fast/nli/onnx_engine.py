"""ONNX Runtime engine: the model exported once to ONNX, cached on disk, run by ONNX Runtime.

The export (and the int8 variant) is cached under ``$LANSER_FAST_CACHE`` (default
``~/.cache/lanser-fast``) in a folder keyed by the model's resolved files, the opset, the export
code's revision and the versions of torch, transformers, onnx and onnxruntime; a file lock makes
parallel workers wait for one export instead of racing. The same ONNX file is what the TensorRT
engine consumes.

Precisions: ``fp32`` reproduces the torch reference (scores within 1e-5); ``int8`` is ONNX
Runtime's dynamic quantization of the MatMul weights (activations quantized per batch): about
1.7x faster on an AVX2 CPU and more with VNNI, with scores that differ (the benchmark reports
top-1 agreement and the largest difference).
"""

from __future__ import annotations

import hashlib
import json
import os
from importlib import metadata
from pathlib import Path

import numpy as np
import torch

from lanser_fast.cache import cache_root, file_stamps

OPSET = 17
EXPORT_REVISION = 3  # bump when the exported graph or its key changes (2: BART's last
# </s> by gather; 3: file stamps from lanser_fast.cache)
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
PRECISIONS = ("fp32", "int8")


def _model_files(model: str) -> dict:
    """Identity of the model's files: the resolved snapshot folder, sizes and mtimes."""
    from transformers.utils import cached_file

    folder = Path(cached_file(model, "config.json")).parent
    return {"folder": str(folder),
            "stamps": file_stamps(folder, (".json", ".safetensors", ".bin", ".model", ".txt"))}


def export_identity(model: str, revision: int = EXPORT_REVISION) -> dict:
    """What an export of ``model`` depends on: its files, the opset, the export code's
    ``revision`` and the library versions (the sentence encoders' exports share it)."""
    versions = {name: _version(name) for name in ("torch", "transformers", "onnx", "onnxruntime")}
    return {"model": model, "files": _model_files(model), "opset": OPSET, "revision": revision,
            "versions": versions}


def export_key(model: str) -> str:
    payload = json.dumps(export_identity(model), sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "-"


def exported_model(model: str, precision: str = "fp32") -> Path:
    """Path of the cached ONNX file of ``model`` (exported under a lock on first use)."""
    from filelock import FileLock

    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose one of {PRECISIONS}")
    folder = cache_root() / "onnx" / export_key(model)
    folder.mkdir(parents=True, exist_ok=True)
    fp32, int8 = folder / "model.onnx", folder / "model.int8.onnx"
    with FileLock(str(folder / ".lock")):
        if not fp32.exists():
            _export(model, fp32)
        if precision == "int8" and not int8.exists():
            quantize(fp32, int8)
    return int8 if precision == "int8" else fp32


def _export(model: str, target: Path) -> None:
    from transformers import AutoModelForSequenceClassification

    net = AutoModelForSequenceClassification.from_pretrained(model, attn_implementation="eager")
    net.config.use_cache = False  # encoder-decoders (BART) would otherwise return caches
    takes_types = "token_type_ids" in net.forward.__code__.co_varnames and \
        getattr(net.config, "type_vocab_size", 0) > 1
    eos = getattr(net.config, "eos_token_id", None) or 2
    net = _LogitsOnly(net, takes_types).eval()
    names = list(INPUTS if takes_types else INPUTS[:2])
    ids = torch.tensor([[0, 100, 200, eos, eos, 300, 400, eos]] * 2)  # (2, 8) example pair
    example = (ids, torch.ones_like(ids)) + ((torch.zeros_like(ids),) if takes_types else ())
    tmp = target.with_name(target.name + ".tmp")
    axes = {name: {0: "batch", 1: "tokens"} for name in names}
    axes["logits"] = {0: "batch"}
    with torch.no_grad():
        torch.onnx.export(net, example, str(tmp), input_names=names, output_names=["logits"],
                          dynamic_axes=axes, opset_version=OPSET, dynamo=False)
    os.replace(tmp, target)


class _LogitsOnly(torch.nn.Module):
    """The classifier with the logits tensor as its only output (what the export traces).

    BART-style classifiers read the decoder state at the last ``</s>`` through a boolean mask,
    which exports to NonZero on a bool tensor (a type TensorRT's NonZero does not list); for
    them the same state is picked with a gather at the last ``</s>`` position instead."""

    def __init__(self, net, takes_types: bool):
        super().__init__()
        self.net, self.takes_types = net, takes_types
        self.eos_pooled = hasattr(net, "classification_head") and hasattr(net, "model")

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        if self.eos_pooled:
            return self._eos_logits(input_ids, attention_mask)
        extra = {"token_type_ids": token_type_ids} if self.takes_types else {}
        return self.net(input_ids=input_ids, attention_mask=attention_mask, **extra).logits

    def _eos_logits(self, input_ids, attention_mask):
        hidden = self.net.model(input_ids=input_ids, attention_mask=attention_mask,
                                use_cache=False).last_hidden_state  # (B, T, H) decoder states
        positions = torch.arange(1, input_ids.shape[1] + 1, device=input_ids.device)
        last_eos = ((input_ids == self.net.config.eos_token_id) * positions).argmax(dim=1)
        index = last_eos[:, None, None].expand(-1, 1, hidden.shape[-1])
        return self.net.classification_head(hidden.gather(1, index)[:, 0])  # no squeeze: an If


def quantize(source: Path, target: Path) -> None:
    """int8 dynamic quantization of the MatMul/Gemm weights (activations quantized per batch)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = target.with_name(target.name + ".tmp.onnx")
    quantize_dynamic(str(source), str(tmp), weight_type=QuantType.QInt8,
                     op_types_to_quantize=["MatMul", "Gemm"])
    os.replace(tmp, target)


class OnnxEngine:
    name = "onnxruntime"
    token_budget = 1_024  # 2-core CPU, roberta-base size: 19.0 pairs/s vs 16.1 at 2048
    max_batch = 512

    def __init__(self, model: str, *, precision: str = "fp32", threads: int = 0):
        import onnxruntime as ort

        self.path = exported_model(model, precision)
        self.precision = precision
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        self.session = ort.InferenceSession(str(self.path), options,
                                            providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]

    def logits(self, input_ids: np.ndarray, attention_mask: np.ndarray,
               token_type_ids: np.ndarray | None) -> np.ndarray:
        feeds = {"input_ids": input_ids, "attention_mask": attention_mask}
        if "token_type_ids" in self.input_names:
            feeds["token_type_ids"] = (token_type_ids if token_type_ids is not None
                                       else np.zeros_like(input_ids))
        return self.session.run(["logits"], feeds)[0].astype(np.float32)

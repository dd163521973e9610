"""TensorRT engine (experimental: written against TensorRT 10's documented Python API and not yet
run on a GPU; opt-in with ``--engine tensorrt``, never chosen by ``auto``).

The engine is built from the very ONNX file the onnxruntime engine runs
(``onnx_engine.exported_model(model, "fp32")``, which the CPU tests pin to the HF pipeline's
scores), with one optimization profile over batch size and sequence length and fp16 (or fp32
with TF32 off). The serialized plan is cached under ``$LANSER_FAST_CACHE/tensorrt/<key>/``,
keyed by the ONNX export's key, the TensorRT version, the GPU and the build settings, and built
under a file lock so parallel workers wait for one build.

Buffers are torch CUDA tensors; inference is ``execute_async_v3`` on torch's current stream.

TensorRT 10 only (``SUPPORTED_MAJOR``; the extra pins ``tensorrt>=10,<11``): TensorRT 11 builds
strongly typed networks only, without ``BuilderFlag.FP16``, so this fp16 build would fail there;
an 11 found installed is refused before any work, naming the pin.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from lanser_fast.cache import cache_root
from lanser_fast.nli.onnx_engine import export_key, exported_model

MAX_BATCH = 256  # pairs per batch the profile accepts
OPT_BATCH = 128  # the batch size TensorRT tunes its kernels for
OPT_TOKENS = 64  # the sequence length it tunes for (transcript + hypothesis, typical)
TOKEN_BUDGET = 16_384  # padded tokens per batch the scorer sends
WORKSPACE_BYTES = 4 << 30


def max_tokens(model: str) -> int:
    """Longest pair the scorer sends: the tokenizer's maximum length (pairs are truncated to
    it), or the model's position table where the tokenizer sets none."""
    from transformers import AutoConfig

    from lanser_fast.nli.models import load_tokenizer

    limit = load_tokenizer(model).model_max_length
    if limit is None or limit > 100_000:  # transformers' "no limit" sentinel is 1e30
        limit = AutoConfig.from_pretrained(model).max_position_embeddings
    return int(limit)


def profile_shapes(longest: int) -> dict[str, tuple[int, int]]:
    """(batch, tokens) minimum, optimum and maximum of every input of the profile."""
    return {"min": (1, 1), "opt": (OPT_BATCH, min(OPT_TOKENS, longest)),
            "max": (MAX_BATCH, longest)}


def plan_path(model: str, precision: str, shapes: dict, device: int = 0) -> Path:
    """Where the plan for this model, precision, profile, GPU and TensorRT version lives."""
    import tensorrt as trt
    import torch

    payload = json.dumps({
        "onnx": export_key(model), "tensorrt": trt.__version__, "precision": precision,
        "shapes": shapes, "gpu": torch.cuda.get_device_name(device),
        "capability": torch.cuda.get_device_capability(device),
    }, sort_keys=True)
    key = hashlib.sha256(payload.encode()).hexdigest()[:20]
    return cache_root() / "tensorrt" / key / "model.plan"


def build_plan(onnx_path: Path, target: Path, precision: str, shapes: dict) -> None:
    """Parse ``onnx_path`` and write TensorRT's serialized engine to ``target`` (atomic)."""
    import tensorrt as trt

    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)  # explicit batch, the only mode of TensorRT 10
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise RuntimeError(f"TensorRT cannot parse {onnx_path}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, WORKSPACE_BYTES)
    if precision == "fp16":
        config.set_flag(trt.BuilderFlag.FP16)
    else:
        config.clear_flag(trt.BuilderFlag.TF32)  # fp32 means fp32: no TF32 matmuls
    profile = builder.create_optimization_profile()
    for i in range(network.num_inputs):
        profile.set_shape(network.get_input(i).name, shapes["min"], shapes["opt"], shapes["max"])
    config.add_optimization_profile(profile)
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise RuntimeError(f"TensorRT could not build an engine from {onnx_path} "
                           "(see its log above)")
    tmp = target.with_name(target.name + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write(memoryview(plan))
    os.replace(tmp, target)


def _torch_dtype(trt_dtype):
    import torch

    dtypes = {"FLOAT": torch.float32, "HALF": torch.float16, "BF16": torch.bfloat16,
              "INT32": torch.int32, "INT64": torch.int64, "BOOL": torch.bool}
    return dtypes[trt_dtype.name]


SUPPORTED_MAJOR = 10


def check_version(version: str) -> None:
    """Refuse a TensorRT whose major version this engine is not written for."""
    from lanser_fast.nli.engines import EngineUnavailable

    major = int(version.split(".")[0])
    if major != SUPPORTED_MAJOR:
        raise EngineUnavailable(
            f"TensorRT {version} is installed; the TensorRT engine supports TensorRT "
            f"{SUPPORTED_MAJOR} only (TensorRT 11 networks are strongly typed, without the fp16 "
            f"builder flag it uses): pip install 'tensorrt>={SUPPORTED_MAJOR},"
            f"<{SUPPORTED_MAJOR + 1}', or use --engine auto")


class TensorRTEngine:
    name = "tensorrt"
    token_budget = TOKEN_BUDGET
    max_batch = MAX_BATCH

    def __init__(self, model: str, *, precision: str = "fp16", device: int = 0):
        import tensorrt as trt
        import torch
        from filelock import FileLock

        if precision not in ("fp16", "fp32"):
            raise ValueError(f"TensorRT precision is fp16 or fp32, not {precision!r}")
        self.precision = precision
        self.device = torch.device("cuda", device)
        self.onnx_path = exported_model(model, "fp32")  # the file the CPU parity tests run
        self.shapes = profile_shapes(max_tokens(model))
        self.plan = plan_path(model, precision, self.shapes, device)
        self.plan.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.plan.parent / ".lock")):
            if not self.plan.exists():
                build_plan(self.onnx_path, self.plan, precision, self.shapes)
        self._logger = trt.Logger(trt.Logger.WARNING)
        self._runtime = trt.Runtime(self._logger)
        self._engine = self._runtime.deserialize_cuda_engine(self.plan.read_bytes())
        if self._engine is None:
            raise RuntimeError(f"TensorRT cannot load {self.plan}; delete it to rebuild")
        self._context = self._engine.create_execution_context()
        names = [self._engine.get_tensor_name(i) for i in range(self._engine.num_io_tensors)]
        self.input_names = [n for n in names
                            if self._engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        self.dtypes = {n: _torch_dtype(self._engine.get_tensor_dtype(n)) for n in names}

    def logits(self, input_ids: np.ndarray, attention_mask: np.ndarray,
               token_type_ids: np.ndarray | None) -> np.ndarray:
        """(B, n_classes) float32 logits of a padded batch (B, T), B <= MAX_BATCH."""
        import torch

        feeds = {"input_ids": input_ids, "attention_mask": attention_mask,
                 "token_type_ids": (token_type_ids if token_type_ids is not None
                                    else np.zeros_like(input_ids))}
        stream = torch.cuda.current_stream(self.device)
        keep = []  # the input tensors must outlive the asynchronous run
        for name in self.input_names:
            tensor = torch.from_numpy(np.ascontiguousarray(feeds[name])).to(
                self.device, self.dtypes[name], non_blocking=False)
            keep.append(tensor)
            self._context.set_input_shape(name, tuple(tensor.shape))
            self._context.set_tensor_address(name, tensor.data_ptr())
        shape = tuple(self._context.get_tensor_shape("logits"))
        out = torch.empty(shape, dtype=self.dtypes["logits"], device=self.device)
        self._context.set_tensor_address("logits", out.data_ptr())
        if not self._context.execute_async_v3(stream.cuda_stream):
            raise RuntimeError("TensorRT execution failed (see its log above)")
        return out.float().cpu().numpy()  # .cpu() waits for the stream

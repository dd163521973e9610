"""The NLI engines behind one interface, and the choice among them.

Every engine has ``name``, ``precision``, ``token_budget`` (padded tokens per batch it runs
best at), ``max_batch`` (pairs per batch it accepts) and ``logits(input_ids, attention_mask,
token_type_ids) -> (B, n_classes) float32``.

- ``torch``: the reference (Hugging Face model, SDPA); fp32, or bf16/fp16 on CUDA.
- ``onnxruntime``: the model exported once to ONNX (cached, file-locked); fp32 (exact) or int8.
- ``tensorrt`` (experimental, opt-in): built from the same ONNX file; fp16 or fp32, CUDA only.

``auto`` is torch on CUDA and onnxruntime on CPU; it never picks TensorRT.
"""

from __future__ import annotations

ENGINES = ("auto", "torch", "onnxruntime", "tensorrt")
PRECISIONS = {
    "torch": ("fp32", "bf16", "fp16"),
    "onnxruntime": ("fp32", "int8"),
    "tensorrt": ("fp16", "fp32"),
}
DEFAULT_PRECISION = {"torch": "fp32", "onnxruntime": "fp32", "tensorrt": "fp16"}  # for "auto"
TENSORRT_HINT = ("the TensorRT engine needs an NVIDIA GPU and the tensorrt package: "
                 "pip install 'lanser-fast[tensorrt]' on a CUDA machine, or use --engine auto")


class EngineUnavailable(ValueError):
    """An engine or precision this machine cannot run, with what to do instead."""


def resolve_engine(engine: str = "auto", precision: str = "auto") -> tuple[str, str]:
    """The concrete ``(engine, precision)`` for this machine; fails before any work."""
    import torch

    if engine not in ENGINES:
        raise EngineUnavailable(f"unknown NLI engine {engine!r}; choose one of "
                                f"{', '.join(ENGINES)}")
    cuda = torch.cuda.is_available()
    if engine == "auto":
        engine = "torch" if cuda else "onnxruntime"
    if precision == "auto":
        precision = DEFAULT_PRECISION[engine]
    if precision not in PRECISIONS[engine]:
        raise EngineUnavailable(f"precision {precision!r} is not available with the {engine} "
                                f"engine; choose one of {', '.join(PRECISIONS[engine])}")
    if engine == "torch" and precision == "fp16" and not cuda:
        raise EngineUnavailable("fp16 with the torch engine needs CUDA; on CPU use fp32 "
                                "(exact) or --engine onnxruntime --precision int8")
    if engine == "tensorrt":
        if not cuda:
            raise EngineUnavailable(f"no CUDA device: {TENSORRT_HINT}")
        try:
            import tensorrt
        except ImportError as exc:
            raise EngineUnavailable(f"tensorrt is not installed ({exc}): {TENSORRT_HINT}") \
                from None
        from lanser_fast.nli.tensorrt_engine import check_version

        check_version(tensorrt.__version__)
    return engine, precision


def make_engine(model: str, engine: str = "auto", precision: str = "auto", *, threads: int = 0):
    """The engine ``engine`` names at ``precision`` (both resolved by ``resolve_engine``);
    ``threads`` CPU threads (0: every core; the torch engine uses torch's setting)."""
    engine, precision = resolve_engine(engine, precision)
    if engine == "torch":
        from lanser_fast.nli.torch_engine import TorchEngine

        return TorchEngine(model, precision=precision)
    if engine == "onnxruntime":
        from lanser_fast.nli.onnx_engine import OnnxEngine

        return OnnxEngine(model, precision=precision, threads=threads)
    from lanser_fast.nli.tensorrt_engine import TensorRTEngine

    return TensorRTEngine(model, precision=precision)

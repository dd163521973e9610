"""What this machine can run: each component, its version, and what its absence disables.

Versions come from package metadata (no heavy import); capabilities (CUDA devices, CTranslate2
compute types, ONNX Runtime providers) are probed by importing the library, inside each check,
so one broken library shows as a failed row instead of breaking the report.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from dataclasses import asdict, dataclass
from importlib import metadata
from typing import Callable

# The first releases with the APIs the GPU code uses (pyproject's `gpu` extra says the same).
TRITON_FLOOR = (3, 4)  # triton.knobs
DALI_FLOOR = (2, 0)  # Pipeline(exec_dynamic=True): `.shape()` of GPU data read on the CPU


def _meets(version: str, floor: tuple[int, ...]) -> bool:
    parts = []
    for piece in version.split(".")[:len(floor)]:
        digits = "".join(ch for ch in piece if ch.isdigit()) if piece[:1].isdigit() else ""
        parts.append(int(digits or 0))
    return tuple(parts) >= floor


def _dotted(floor: tuple[int, ...]) -> str:
    return ".".join(map(str, floor))


@dataclass(frozen=True)
class Check:
    """One component of the report."""

    name: str
    ok: bool  # usable on this machine
    version: str | None
    detail: str  # what was found (devices, providers, compute types)
    disables: str  # what does not work without it ("" when ok)

    def as_dict(self) -> dict:
        return asdict(self)


def run_checks() -> list[Check]:
    return [_safe(check) for check in _CHECKS]


def checks_table(checks: list[Check]):
    """The report as a rich table: component, version, status, what was found, what is lost."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="lanser-fast doctor")
    for column in ("component", "version", "status", "found", "without it"):
        table.add_column(column, overflow="fold")
    for c in checks:
        table.add_row(escape(c.name), escape(c.version or "-"),
                      "[green]ok[/]" if c.ok else "[yellow]missing[/]", escape(c.detail),
                      escape(c.disables))
    return table


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _safe(check: Callable[[], Check]) -> Check:
    try:
        return check()
    except Exception as exc:  # noqa: BLE001 - a broken library is a finding, not a crash
        name = check.__name__.removeprefix("_check_").replace("_", "-")
        return Check(name, False, None, f"probe failed: {type(exc).__name__}: {exc}",
                     "see the error: the library is installed but does not load")


def _missing(name: str, disables: str, install: str) -> Check:
    return Check(name, False, None, f"not installed ({install})", disables)


def _check_torch() -> Check:
    if _version("torch") is None:
        return _missing("torch", "every model stage", "pip install torch")
    import torch

    detail = f"CPU threads {torch.get_num_threads()}"
    if torch.cuda.is_available():
        names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        detail += f"; CUDA {torch.version.cuda}: {', '.join(names)}"
    else:
        build = "CPU-only build" if torch.version.cuda is None else f"CUDA {torch.version.cuda}"
        detail += f"; no usable GPU ({build})"
    return Check("torch", True, torch.__version__, detail, "")


def _check_audio_io() -> Check:
    if _version("soundfile") is None:
        return _missing("soundfile", "WAV/FLAC/OGG/MP3 decoding",
                        "pip install soundfile")
    import soundfile

    return Check("soundfile", True, soundfile.__version__,
                 f"libsndfile {soundfile.__libsndfile_version__}", "")


def _check_compiled_ops() -> Check:
    from lanser_fast import compiled

    if not compiled.available():
        return Check("compiled-ops", False, None, f"not loaded: {compiled.load_error()}",
                     "the fast CPU log-mel (falls back to the torch reference); reinstall "
                     "lanser-fast with a C++ compiler present")
    return Check("compiled-ops", True, _version("lanser-fast"),
                 f"CPU log-mel kernel dispatched to {compiled.isa()}", "")


def _check_soxr() -> Check:
    version = _version("soxr")
    if version is None:
        return _missing("soxr", "resampling to 16 kHz", "pip install soxr")
    return Check("soxr", True, version, "resampler", "")


def _check_pyav() -> Check:
    if _version("av") is None:
        return _missing("av (PyAV)", "M4A/AAC, WebM/MKV and other FFmpeg-only formats",
                        "pip install av")
    import av

    ffmpeg = av.library_versions.get("libavcodec", ())
    return Check("av (PyAV)", True, av.__version__,
                 f"bundled FFmpeg libavcodec {'.'.join(map(str, ffmpeg))}", "")


def _check_ctranslate2() -> Check:
    if _version("ctranslate2") is None:
        return _missing("ctranslate2", "Whisper transcription",
                        "pip install ctranslate2")
    import ctranslate2

    cpu = sorted(ctranslate2.get_supported_compute_types("cpu"))
    detail = f"CPU compute types {', '.join(cpu)}"
    n_cuda = ctranslate2.get_cuda_device_count()
    if n_cuda:
        from lanser_fast.asr.cuda_libs import loadable, preload

        cuda = sorted(ctranslate2.get_supported_compute_types("cuda"))
        detail += f"; {n_cuda} CUDA device(s): {', '.join(cuda)}"
        preload()
        if not loadable("libcublas.so.12"):  # loaded at the first encode, not at import
            return Check("ctranslate2", False, ctranslate2.__version__,
                         detail + "; libcublas.so.12 (CUDA 12 cuBLAS, loaded at the first "
                         "encode) cannot be loaded: pip install nvidia-cublas-cu12 "
                         "nvidia-cudnn-cu12", "Whisper on CUDA")
    else:
        detail += "; no CUDA devices"
    return Check("ctranslate2", True, ctranslate2.__version__, detail, "")


def _check_faster_whisper() -> Check:
    version = _version("faster-whisper")
    if version is None:
        return _missing("faster-whisper", "Silero VAD for long audio",
                        "pip install faster-whisper")
    spec = importlib.util.find_spec("faster_whisper")
    assets = os.path.join(os.path.dirname(spec.origin), "assets")
    vad = [f for f in os.listdir(assets) if f.startswith("silero")] if os.path.isdir(assets) else []
    return Check("faster-whisper", bool(vad), version,
                 f"Silero VAD: {', '.join(vad) or 'missing'}",
                 "" if vad else "VAD segmentation of long audio")


def _check_transformers() -> Check:
    version = _version("transformers")
    if version is None:
        return _missing("transformers", "NLI weak labeling, model loading",
                        "pip install transformers")
    return Check("transformers", True, version, f"tokenizers {_version('tokenizers')}", "")


def _check_onnxruntime() -> Check:
    if _version("onnxruntime") is None and _version("onnxruntime-gpu") is None:
        return _missing("onnxruntime", "the ONNX Runtime NLI engine",
                        "pip install onnxruntime")
    import onnxruntime

    providers = onnxruntime.get_available_providers()
    return Check("onnxruntime", True, onnxruntime.__version__,
                 f"providers {', '.join(providers)}", "")


def _check_triton() -> Check:
    version = _version("triton")
    if version is None:
        return _missing("triton", "fused GPU kernels (torch fallback on GPU)",
                        "pip install 'lanser-fast[gpu]'")
    if not _meets(version, TRITON_FLOOR):
        return Check("triton", False, version, f"older than {_dotted(TRITON_FLOOR)}, the first "
                     "with triton.knobs: pip install 'triton>=" + _dotted(TRITON_FLOOR) + "'",
                     "the Triton log-mel kernel (the torch front end runs instead)")
    interp = os.environ.get("TRITON_INTERPRET") == "1"
    return Check("triton", True, version,
                 "runs on CUDA GPUs; on CPU only under TRITON_INTERPRET=1"
                 + (" (set now)" if interp else ""), "")


def _check_dali() -> Check:
    for dist in ("nvidia-dali-cuda130", "nvidia-dali-cuda120", "nvidia-dali-cuda110"):
        version = _version(dist)
        if version and not _meets(version, DALI_FLOOR):
            return Check("DALI", False, version, f"{dist} older than {_dotted(DALI_FLOOR)}, the "
                         "first with the dynamic executor as a Pipeline mode (GPU `.shape()`): "
                         f"pip install '{dist}>={_dotted(DALI_FLOOR)}'",
                         "DALI decoding and training crops (the torch loaders run instead)")
        if version:
            return Check("DALI", True, version,
                         f"{dist}: GPU pipelines need CUDA; CPU-only pipelines run anywhere", "")
    return _missing("DALI", "GPU data loading (torch DataLoader is used)",
                    "pip install 'lanser-fast[gpu]'")


def _check_tensorrt() -> Check:
    version = _version("tensorrt")
    if version is None or importlib.util.find_spec("tensorrt") is None:
        return _missing("TensorRT", "the TensorRT NLI engine (experimental)",
                        "GPU machines: pip install 'lanser-fast[tensorrt]'")
    from lanser_fast.nli.engines import EngineUnavailable
    from lanser_fast.nli.tensorrt_engine import SUPPORTED_MAJOR, check_version

    try:
        check_version(version)
    except EngineUnavailable as exc:
        return Check("TensorRT", False, version, str(exc),
                     "the TensorRT NLI engine (experimental)")
    return Check("TensorRT", True, version, f"supported: TensorRT {SUPPORTED_MAJOR}", "")


def _check_ray() -> Check:
    version = _version("ray")
    if version is None:
        return _missing("ray", "multi-node labeling (--ray)", "pip install 'lanser-fast[ray]'")
    data = importlib.util.find_spec("pandas") is not None
    return Check("ray", data, version, "ray.data usable" if data else "pandas missing",
                 "" if data else "Ray Data jobs (install ray[data])")


def _check_lhotse() -> Check:
    version = _version("lhotse")
    if version is None:
        return _missing("lhotse", "Lhotse CutSet input/export",
                        "pip install 'lanser-fast[lhotse]'")
    return Check("lhotse", True, version, "", "")


def _binary(name: str, flag: str, disables: str, install: str) -> Check:
    path = shutil.which(name)
    if path is None:
        return Check(name, False, None, f"not on PATH ({install})", disables)
    out = subprocess.run([path, flag], capture_output=True, text=True, timeout=20).stdout
    words = out.split()
    version = next((w for w in words if w[:1].isdigit()), None)
    return Check(name, True, version, path, "")


def _check_espeak() -> Check:
    return _binary("espeak-ng", "--version", "synthetic speech (tools/, tests, demo)",
                   "apt-get install espeak-ng")


def _check_ffmpeg() -> Check:
    return _binary("ffmpeg", "-version", "openai-whisper's load_audio reference (benchmarks)",
                   "apt-get install ffmpeg")


_CHECKS = (
    _check_torch, _check_compiled_ops, _check_audio_io, _check_soxr, _check_pyav,
    _check_ctranslate2, _check_faster_whisper, _check_transformers, _check_onnxruntime,
    _check_triton, _check_dali, _check_tensorrt, _check_ray, _check_lhotse, _check_espeak,
    _check_ffmpeg,
)

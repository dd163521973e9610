"""Get every model a ``label`` run needs onto this machine once: Whisper resolved (downloaded or
converted to CTranslate2), the NLI model's files, and its ONNX export for the ONNX Runtime engine.

Each step runs under the file lock of its cache entry, so N workers (or the nodes of a cluster
sharing a file system) never race, and a run started afterwards finds everything in place. To
prepare an offline cluster, run it on a machine with hub access with ``HF_HOME`` and
``LANSER_FAST_CACHE`` pointing into one folder, copy the folder, and set the same two variables
(plus ``HF_HUB_OFFLINE=1``) on the cluster.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lanser_fast.label.config import LabelConfig


@dataclass(frozen=True)
class Prepared:
    what: str  # "whisper", "nli", "onnx"
    model: str  # as the user named it
    where: str  # local path it resolved to


def prepare_models(config: LabelConfig, *, export: bool = True) -> list[Prepared]:
    """Resolve, download, convert and export what ``config`` needs; raises a clear error for a
    missing model (``WhisperModelError``, ``ModelNotFound``) or an unusable engine.
    ``export=False`` (a dry run) stops after resolving: no NLI weights, no ONNX export."""
    from lanser_fast.nli.engines import resolve_engine
    from lanser_fast.nli.models import resolve_model

    out = []
    if config.transcripts == "asr":
        from lanser_fast.asr.models import resolve_whisper

        info = resolve_whisper(config.asr.model)
        out.append(Prepared("whisper", config.asr.model, str(info.path)))
    nli = config.nli
    engine, precision = resolve_engine(nli.engine, nli.precision)
    resolve_model(nli.model)
    out.append(Prepared("nli", nli.model, _nli_folder(nli.model)))
    if not export:
        return out
    if engine in ("onnxruntime", "tensorrt"):  # TensorRT builds from the same ONNX file
        from lanser_fast.nli.onnx_engine import exported_model

        onnx_precision = precision if engine == "onnxruntime" else "fp32"
        out.append(Prepared("onnx", nli.model, str(exported_model(nli.model, onnx_precision))))
    else:
        _fetch_weights(nli.model)
    return out


def _nli_folder(model: str) -> str:
    from transformers.utils import cached_file

    return str(Path(cached_file(model, "config.json")).parent)


def _fetch_weights(model: str) -> None:
    """The torch engine loads the weights itself; fetch them now (a no-op when cached)."""
    from transformers import AutoModelForSequenceClassification

    AutoModelForSequenceClassification.from_pretrained(model)

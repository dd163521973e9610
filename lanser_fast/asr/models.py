"""Whisper models for CTranslate2: faster-whisper names, hub ids and local folders.

A model is given as a faster-whisper name (``tiny`` … ``large-v3``, ``large-v3-turbo``,
``distil-large-v3``), a hub id, a local CTranslate2 folder (``model.bin``) or a local Hugging
Face Whisper folder (``config.json`` of ``model_type`` whisper). Hugging Face checkpoints, local
or from the hub, are converted once with CTranslate2's converter into
``$LANSER_FAST_CACHE/ct2/<key>`` (keyed by the source files and the CTranslate2 version, under a
file lock). Conversion keeps float32 weights; the compute type is chosen at load time.

With transformers 5 the converter can write an empty ``lang_ids`` (it reads the language tokens
from the generation config or from a tokenizer attribute that no longer exists), which breaks
language detection; ``repair_lang_ids`` fills them in from the tokenizer's ``<|xx|>`` tokens.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from lanser_fast.cache import cache_root, file_stamps

DEFAULT_WHISPER = "large-v3-turbo"  # transcribe/label default: near large-v3 quality, 8x faster
FASTER_WHISPER_MODELS = {  # faster-whisper's public names -> the CTranslate2 repos they load
    "tiny.en": "Systran/faster-whisper-tiny.en", "tiny": "Systran/faster-whisper-tiny",
    "base.en": "Systran/faster-whisper-base.en", "base": "Systran/faster-whisper-base",
    "small.en": "Systran/faster-whisper-small.en", "small": "Systran/faster-whisper-small",
    "medium.en": "Systran/faster-whisper-medium.en", "medium": "Systran/faster-whisper-medium",
    "large-v1": "Systran/faster-whisper-large-v1", "large-v2": "Systran/faster-whisper-large-v2",
    "large-v3": "Systran/faster-whisper-large-v3", "large": "Systran/faster-whisper-large-v3",
    "distil-large-v2": "Systran/faster-distil-whisper-large-v2",
    "distil-large-v3": "Systran/faster-distil-whisper-large-v3",
    "distil-medium.en": "Systran/faster-distil-whisper-medium.en",
    "distil-small.en": "Systran/faster-distil-whisper-small.en",
    DEFAULT_WHISPER: "mobiuslabsgmbh/faster-whisper-large-v3-turbo",
    "turbo": "mobiuslabsgmbh/faster-whisper-large-v3-turbo",
}
COMPUTE_TYPES = {
    "cpu": ("int8", "int8_float32", "float32"),
    "cuda": ("float16", "int8_float16", "int8", "int8_float32", "float32", "bfloat16",
             "int8_bfloat16"),
}
DEFAULT_COMPUTE_TYPE = {"cpu": "int8", "cuda": "float16"}
LANGUAGE_TOKEN = re.compile(r"^<\|[a-z]{2,3}\|>$")  # <|en|>, <|haw|>; not <|nospeech|>, <|0.00|>
MULTILINGUAL_VOCAB = 51_865  # Whisper's multilingual vocabularies have at least this many
HF_FILES = ("tokenizer.json", "preprocessor_config.json")  # copied next to the converted model
CT2_FILES = ("config.json", "tokenizer.json")  # beside model.bin: what the decoder reads


class WhisperModelError(ValueError):
    """A Whisper model that cannot be found or used, naming it and what to do."""

    def __init__(self, spec: str, reason: str):
        self.spec, self.reason = spec, reason
        super().__init__(f"Whisper model {spec!r}: {reason}")


@dataclass(frozen=True)
class WhisperModelInfo:
    spec: str  # what the user gave
    path: Path  # the CTranslate2 model folder
    n_mels: int  # 80 (tiny … large-v2) or 128 (large-v3, turbo)
    multilingual: bool
    converted_from: Path | None  # the Hugging Face folder it was converted from, if any


def resolve_whisper(spec: str) -> WhisperModelInfo:
    """The CTranslate2 folder for ``spec`` (converting a Hugging Face checkpoint once)."""
    source = _locate(spec)
    if (source / "model.bin").is_file():
        missing = [f for f in CT2_FILES if not (source / f).is_file()]
        if missing:
            raise WhisperModelError(spec, f"{source} is a CTranslate2 folder without "
                                          f"{', '.join(missing)} (a Whisper conversion holds "
                                          f"{', '.join(('model.bin',) + CT2_FILES)})")
        return _info(spec, source, None)
    if _is_hf_whisper(source):
        return _info(spec, convert_hf_whisper(source), source)
    present = ", ".join(sorted(p.name for p in source.iterdir())[:8]) or "nothing"
    raise WhisperModelError(spec, f"{source} holds neither a CTranslate2 model (model.bin) nor a "
                                  "Hugging Face Whisper checkpoint (config.json, model_type "
                                  f"whisper); it holds {present}")


def compute_type(device: str, requested: str | None = None) -> str:
    """The CTranslate2 compute type for ``device`` (``requested`` checked against it)."""
    kind = "cuda" if device.startswith("cuda") else "cpu"
    if requested is None or requested == "auto":
        return DEFAULT_COMPUTE_TYPE[kind]
    if requested not in COMPUTE_TYPES[kind]:
        raise ValueError(f"compute type {requested!r} is not available on {kind}; choose one of "
                         f"{', '.join(COMPUTE_TYPES[kind])}")
    return requested


def _locate(spec: str) -> Path:
    folder = Path(spec).expanduser()
    if folder.is_dir():
        return folder
    if folder.exists() or spec.startswith((".", "/", "~")):
        raise WhisperModelError(spec, "no such folder")
    repo = FASTER_WHISPER_MODELS.get(spec, spec)
    if "/" not in repo:
        raise WhisperModelError(spec, "not a local folder, a hub id (owner/name) or a "
                                      f"faster-whisper name ({', '.join(FASTER_WHISPER_MODELS)})")
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo, allow_patterns=[
            "*.json", "*.bin", "*.safetensors", "*.txt", "vocabulary.*"]))
    except Exception as exc:  # offline without a cached copy, unknown repo, no access
        raise WhisperModelError(spec, f"{repo} could not be loaded ({type(exc).__name__}: "
                                      f"{exc}); download it on a machine with hub access "
                                      "(lanser-fast caches it under HF_HOME) or pass a local "
                                      "folder") from None


def _is_hf_whisper(folder: Path) -> bool:
    config = folder / "config.json"
    if not config.is_file():
        return False
    return json.loads(config.read_text()).get("model_type") == "whisper"


def _info(spec: str, path: Path, source: Path | None) -> WhisperModelInfo:
    n_mels = 80
    features = path / "preprocessor_config.json"
    if features.is_file():
        n_mels = int(json.loads(features.read_text()).get("feature_size", 80))
    config = json.loads((path / "config.json").read_text()) if (path / "config.json").is_file() \
        else {}
    # English-only models may list language ids in their config too (tiny.en's conversion
    # does); their vocabulary is one token short of the multilingual one
    vocabulary = path / "vocabulary.txt"
    multilingual = bool(config.get("lang_ids")) and (
        not vocabulary.is_file() or _lines(vocabulary) >= MULTILINGUAL_VOCAB)
    return WhisperModelInfo(spec, path, n_mels, multilingual, source)


def _lines(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(1 for _ in fh)


def conversion_key(source: Path) -> str:
    payload = json.dumps({"source": str(source.resolve()), "files": file_stamps(source),
                          "ctranslate2": metadata.version("ctranslate2")}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def convert_hf_whisper(source: Path) -> Path:
    """Convert a Hugging Face Whisper folder once (file-locked); the CTranslate2 folder."""
    from ctranslate2.converters import TransformersConverter
    from filelock import FileLock

    target = cache_root() / "ct2" / conversion_key(source)
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if not (target / "model.bin").is_file():
            tmp = target.with_name(target.name + ".tmp")
            copy = [name for name in HF_FILES if (source / name).is_file()]
            TransformersConverter(str(source), copy_files=copy).convert(str(tmp), force=True)
            repair_lang_ids(tmp, source)
            if target.exists():  # a partial folder from an interrupted run
                import shutil

                shutil.rmtree(target)
            os.replace(tmp, target)
    return target


def language_token_ids(tokenizer_json: Path) -> list[int]:
    """Ids of the ``<|xx|>`` language tokens of a Whisper ``tokenizer.json``, sorted."""
    data = json.loads(tokenizer_json.read_text(encoding="utf-8"))
    ids = {t["id"] for t in data.get("added_tokens", []) if LANGUAGE_TOKEN.match(t["content"])}
    vocab = data.get("model", {}).get("vocab", {})
    ids |= {i for token, i in vocab.items() if LANGUAGE_TOKEN.match(token)}
    return sorted(ids)


def repair_lang_ids(ct2_dir: Path, source: Path) -> bool:
    """Fill an empty ``lang_ids`` in a converted model's config.json from the tokenizer's
    language tokens (multilingual models only). True if it changed the file."""
    config_path = Path(ct2_dir) / "config.json"
    config = json.loads(config_path.read_text())
    if config.get("lang_ids"):
        return False
    tokenizer = Path(source) / "tokenizer.json"
    hf_config = json.loads((Path(source) / "config.json").read_text())
    if not tokenizer.is_file() or hf_config.get("vocab_size", 0) < MULTILINGUAL_VOCAB:
        return False  # English-only models (51,864 tokens) detect no language
    ids = language_token_ids(tokenizer)
    if not ids:
        return False
    config["lang_ids"] = ids
    config_path.write_text(json.dumps(config, indent=2))
    return True

"""Loading an NLI model and its tokenizer by hub id or local folder, failing early and clearly."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from lanser_fast.nli.semantics import nli_indices

DEFAULT_MODEL = "FacebookAI/roberta-large-mnli"


class ModelNotFound(ValueError):
    """The model id or folder cannot be loaded; says how to get it."""


@dataclass(frozen=True)
class NliModelInfo:
    name: str  # the id or path as given
    config: object  # transformers PretrainedConfig
    entailment: int  # entailment class id
    contradiction: int  # contradiction class id


def resolve_model(name: str | os.PathLike) -> NliModelInfo:
    """Config and NLI class ids of ``name``; raises ModelNotFound before any work."""
    from transformers import AutoConfig

    name = str(name)
    _check_folder(name)
    try:
        config = AutoConfig.from_pretrained(name)
    except (OSError, ValueError) as exc:
        offline = os.environ.get("HF_HUB_OFFLINE") == "1"
        hint = ("HF_HUB_OFFLINE=1 is set: download it on a machine with hub access "
                f"(huggingface-cli download {name}) or pass a local folder"
                if offline else "check the hub id, or pass a local folder with config.json")
        raise ModelNotFound(f"NLI model {name!r} could not be loaded: {hint} "
                            f"({type(exc).__name__}: {str(exc).splitlines()[0]})") from None
    entailment, contradiction = nli_indices(dict(config.label2id), name)
    return NliModelInfo(name=name, config=config, entailment=entailment,
                        contradiction=contradiction)


WEIGHTS = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json",
           "pytorch_model.bin.index.json")
TOKENIZER = ("tokenizer.json", "vocab.json", "vocab.txt", "spm.model", "sentencepiece.bpe.model")


def _check_folder(name: str) -> None:
    """A local folder that is not a model says which files it lacks (instead of a hub error
    suggesting to download the folder's path)."""
    path = Path(name).expanduser()
    if not path.is_dir():
        if path.exists() or name.startswith((".", "/", "~")):
            raise ModelNotFound(f"NLI model {name!r}: no such folder")
        return
    missing = [] if (path / "config.json").is_file() else ["config.json"]
    if not any((path / f).is_file() for f in WEIGHTS):
        missing.append(" or ".join(WEIGHTS[:2]))
    if not any((path / f).is_file() for f in TOKENIZER):
        missing.append("tokenizer files (" + ", ".join(TOKENIZER[:3]) + ", ...)")
    if missing:
        raise ModelNotFound(f"{name} is a folder but not a model: it lacks {'; '.join(missing)} "
                            "(a Hugging Face model folder, as save_pretrained writes it)")


def load_tokenizer(name: str):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(name)

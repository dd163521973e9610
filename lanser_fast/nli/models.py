"""Loading an NLI model and its tokenizer by hub id or local folder, failing early and clearly."""

from __future__ import annotations

import os
from dataclasses import dataclass

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


def load_tokenizer(name: str):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(name)

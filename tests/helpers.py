"""Helpers the tests of several packages share (fixtures live in conftest.py)."""

from __future__ import annotations

import numpy as np


def sine(seconds: float, rate: int, freq: float = 440.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def pipeline_scores(model: str, texts, prompts, template: str, multi_label: bool = False):
    """Hugging Face zero-shot-classification pipeline scores (CPU), in ``prompts`` order."""
    from transformers import pipeline

    classify = pipeline("zero-shot-classification", model=model, tokenizer=model, device="cpu")
    out = classify(list(texts), candidate_labels=list(prompts), hypothesis_template=template,
                   multi_label=multi_label)
    out = out if isinstance(out, list) else [out]
    return np.array([[dict(zip(r["labels"], r["scores"]))[p] for p in prompts] for r in out])

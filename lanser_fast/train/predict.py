"""``predict``: a trained model on new audio, one row per file or per window of a long file.

Without ``window_s`` each input is one utterance (its crops' logits averaged, as in evaluation);
with it, each ``window_s`` stretch of the input gets its own row (the last one may be shorter).
A file that cannot be decoded becomes an error row with the reason; the others go on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np
import torch

from lanser_fast.audio import SAMPLE_RATE, AudioError
from lanser_fast.data.input_config import InputConfig
from lanser_fast.data.loader import window_features
from lanser_fast.train.runtime import Runtime

MIN_WINDOW_S = 0.1  # a trailing window shorter than this is merged into the previous one


@dataclass(frozen=True)
class Predictor:
    model: torch.nn.Module
    input_config: InputConfig
    classes: tuple[str, ...]
    runtime: Runtime

    @torch.inference_mode()
    def logits(self, samples: np.ndarray) -> np.ndarray:
        """Mean logits (n_classes,) over the evaluation windows of one utterance."""
        memory = torch.channels_last if self.runtime.channels_last else torch.contiguous_format
        features = window_features(samples, self.input_config).to(
            self.runtime.device, memory_format=memory)
        with torch.autocast(self.runtime.device.type, dtype=self.runtime.dtype,
                            enabled=self.runtime.dtype != torch.float32):
            return self.model(features).float().mean(dim=0).cpu().numpy()

    def rows(self, items: Iterable, window_s: float | None = None) -> Iterator[dict]:
        self.model.eval()
        for item in items:
            base = item.offset_s or 0.0
            try:
                samples = item.load_audio().samples
            except (AudioError, ValueError, OSError) as exc:
                yield _row(item, base, item.duration_s, None, self.classes, str(exc))
                continue
            for start, end in _windows(len(samples), window_s):
                probs = torch.softmax(torch.from_numpy(self.logits(samples[start:end])), 0)
                yield _row(item, base + start / SAMPLE_RATE, (end - start) / SAMPLE_RATE,
                           probs.numpy(), self.classes, None)


def _windows(n: int, window_s: float | None) -> list[tuple[int, int]]:
    if window_s is None or n <= round(window_s * SAMPLE_RATE):
        return [(0, n)]
    size = round(window_s * SAMPLE_RATE)
    edges = list(range(0, n, size)) + [n]
    if edges[-1] - edges[-2] < MIN_WINDOW_S * SAMPLE_RATE:
        del edges[-2]
    return list(zip(edges[:-1], edges[1:]))


def _row(item, offset_s, duration_s, probs, classes, error) -> dict:
    best = None if probs is None else int(np.argmax(probs))
    return {"id": item.id, "path": item.path, "offset_s": offset_s, "duration_s": duration_s,
            "label": None if best is None else classes[best],
            "score": None if best is None else float(probs[best]),
            "probs": None if probs is None else [float(p) for p in probs],
            "error": error}

"""Batched Whisper decoding with CTranslate2: features of many utterances in, tokens out.

``WhisperDecoder.decode(features)`` takes a (B, n_mels, 3000) float32 batch (our front end,
``whisper-80``/``whisper-128`` per the model) as a numpy array or a torch tensor (a CUDA tensor is
handed to CTranslate2 through ``__cuda_array_interface__``, without a host copy) and runs
``ctranslate2.models.Whisper`` on the whole batch: the encoder once, language detection on its
output where no language is given (multilingual models; faster-whisper encodes a second time for
this), then greedy decoding (beam search optional) without timestamps, each utterance prompted with
``<|startoftranscript|><|lang|><|transcribe|><|notimestamps|>`` (English-only models:
``<|startoftranscript|><|notimestamps|>``), at most ``max_new_tokens`` new tokens, and with
``token_rate_cap`` at most that many tokens per second of each utterance's audio (the batch decodes
to its longest utterance's cap; each result is cut to its own).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lanser_fast.asr.models import compute_type, resolve_whisper

TASKS = ("transcribe", "translate")


@dataclass(frozen=True)
class DecodeOptions:
    language: str | None = None  # "en", "de", ...; None: detected per utterance
    task: str = "transcribe"  # or "translate"
    beam_size: int = 1  # 1: greedy
    max_new_tokens: int = 224  # tokens generated after the prompt, at most
    suppress_tokens: tuple[int, ...] = (-1,)  # -1: Whisper's non-speech symbols (the default)
    token_rate_cap: float | None = None  # tokens per second of audio at most (None: no cap)

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"unknown task {self.task!r}; choose {' or '.join(TASKS)}")

    def limit(self, duration_s: float | None) -> int:
        """New tokens an utterance of ``duration_s`` seconds may get."""
        if self.token_rate_cap is None or duration_s is None:
            return self.max_new_tokens
        return max(1, min(self.max_new_tokens, math.ceil(self.token_rate_cap * duration_s)))


@dataclass(frozen=True)
class Decoded:
    tokens: tuple[int, ...]  # generated text tokens (no prompt, no end of text)
    text: str
    language: str | None  # detected or given ("en"); None for English-only models
    language_prob: float | None  # detection probability (None when given)
    avg_logprob: float  # sum of generated token log-probs / (generated + 1), as faster-whisper
    no_speech_prob: float
    ended: bool  # the model ended the text itself (not cut at its token limit)


class WhisperDecoder:
    def __init__(self, model: str, *, device: str = "cpu", compute: str | None = None,
                 threads: int = 0, replicas: int = 1, options: DecodeOptions = DecodeOptions()):
        """``replicas`` batches run at once (CTranslate2 workers sharing the weights), each
        with ``threads`` threads (0: CTranslate2's default)."""
        import ctranslate2
        from tokenizers import Tokenizer

        self.info = resolve_whisper(model)  # fails before any work on a missing model
        self.device = device
        if device.startswith("cuda"):
            from lanser_fast.asr.cuda_libs import preload

            preload()  # CTranslate2's CUDA 12 libraries from pip (asr/cuda_libs.py)
        self.options = options
        self.compute_type = compute_type(device, compute)
        self.model = ctranslate2.models.Whisper(
            str(self.info.path), device=device.split(":")[0],
            device_index=int(device.split(":")[1]) if ":" in device else 0,
            compute_type=self.compute_type, intra_threads=threads, inter_threads=replicas)
        self.tokenizer = Tokenizer.from_file(str(self.info.path / "tokenizer.json"))
        self.sot = self._token("<|startoftranscript|>")
        self.eot = self._token("<|endoftext|>")
        self.no_timestamps = self._token("<|notimestamps|>")
        self.task = self._token(f"<|{options.task}|>") if self.model.is_multilingual else None
        if options.language is not None and self.model.is_multilingual:
            self._token(f"<|{options.language}|>")  # an unknown language fails here

    def probe(self) -> None:
        """One tiny encode and decode on the model's device, so that a broken CUDA stack (a
        CUDA library CTranslate2 loads only at its first encode) fails the command before any
        input is read, with the missing library and the fix named (``DeviceError``)."""
        frames = np.zeros((2, self.info.n_mels, 3000), np.float32)
        try:
            self._decode(frames, None)
        except Exception as exc:  # noqa: BLE001 - any failure here is the device's
            raise DeviceError(device_failure(self.device, exc)) from exc

    def _token(self, text: str) -> int:
        token = self.tokenizer.token_to_id(text)
        if token is None:
            raise ValueError(f"{self.info.spec}: the tokenizer has no {text} token")
        return token

    def decode(self, features, durations: list[float] | None = None) -> list[Decoded]:
        """One result per row of the (B, n_mels, frames) batch, in order; ``durations`` (the
        utterances' seconds) apply ``token_rate_cap``.

        A row's result does not depend on the other rows of its call: CTranslate2 computes a
        batch of one with other kernels than larger batches (measured: float32 log-probs differ
        in the 6th digit, which can flip a token), so a lone row is decoded beside a copy of
        itself, like a row of any batch.
        """
        if len(features) == 1:
            return self._decode(_twice(features), None if durations is None else durations * 2)[:1]
        return self._decode(features, durations)

    def _decode(self, features, durations: list[float] | None) -> list[Decoded]:
        import ctranslate2

        if not isinstance(features, np.ndarray) and features.device.type == "cuda":
            features = features.float().contiguous()  # shared with CTranslate2, not copied
        else:  # numpy, or a CPU tensor (viewed as numpy without a copy)
            features = np.ascontiguousarray(np.asarray(features), np.float32)
        encoded = self.model.encode(ctranslate2.StorageView.from_array(features), to_cpu=False)
        languages = self._languages(encoded, len(features))
        prompts = []
        for language, _ in languages:
            if self.model.is_multilingual:
                prompts.append([self.sot, self._token(f"<|{language}|>"), self.task,
                                self.no_timestamps])
            else:
                prompts.append([self.sot, self.no_timestamps])
        limits = [self.options.limit(d) for d in durations or [None] * len(prompts)]
        results = self.model.generate(  # CTranslate2 4.8 generates at most max_length // 2
            encoded, prompts, beam_size=self.options.beam_size, max_length=2 * max(limits),
            return_scores=True, return_no_speech_prob=True, suppress_blank=True,
            suppress_tokens=list(self.options.suppress_tokens))
        out = []
        for (language, probability), result, limit in zip(languages, results, limits):
            raw = result.sequences_ids[0]
            tokens = tuple(t for t in raw[:limit] if t < self.eot)
            length = len(raw)  # what the score averages over
            total = result.scores[0] * length  # CTranslate2 scores are per-token averages
            out.append(Decoded(tokens, self.tokenizer.decode(list(tokens)), language,
                               probability, total / (length + 1),
                               float(result.no_speech_prob),
                               self.eot in raw[:limit] or length < limit))
        return out

    def _languages(self, encoded, size: int) -> list[tuple[str | None, float | None]]:
        if not self.model.is_multilingual:
            return [(None, None)] * size
        if self.options.language is not None:
            return [(self.options.language, None)] * size
        detected = self.model.detect_language(encoded)
        return [(ranked[0][0][2:-2], float(ranked[0][1])) for ranked in detected]



class DeviceError(ValueError):
    """The model cannot run on its device (a missing or mismatched CUDA library, ...)."""


CUDA_LIBRARY_FIXES = {  # a library CTranslate2 4.x loads at its first encode -> the fix
    "libcublas.so.12": "CTranslate2 4.x is built against CUDA 12: pip install "
                       "nvidia-cublas-cu12 (tools/setup.sh does on a GPU machine), or install "
                       "the CUDA 12 toolkit's cuBLAS",
    "libcudnn": "CTranslate2 4.x needs cuDNN 9 for CUDA 12: pip install nvidia-cudnn-cu12",
}


def device_failure(device: str, exc: BaseException) -> str:
    """What to tell a user whose model failed its first encode on ``device``."""
    text = str(exc)
    fix = next((fix for lib, fix in CUDA_LIBRARY_FIXES.items() if lib in text), None)
    message = f"the Whisper model cannot run on {device}: {text}"
    if fix:
        return f"{message}. {fix}; `lanser-fast doctor` shows the CUDA stack"
    return f"{message}; `lanser-fast doctor` shows the CUDA stack, --device cpu runs without it"


def _twice(features):
    """A one-row batch as two copies of its row (numpy or torch, on its device)."""
    if isinstance(features, np.ndarray):
        return np.concatenate([features, features])
    import torch

    return torch.cat([features, features])

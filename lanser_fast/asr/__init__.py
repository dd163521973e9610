"""Whisper transcription with CTranslate2: models, batched decoding, VAD, guards, corpus runs."""

from lanser_fast.asr.corpus import TranscribeSummary, transcribe_corpus
from lanser_fast.asr.guards import GuardConfig, asr_flags
from lanser_fast.asr.models import WhisperModelError, resolve_whisper
from lanser_fast.asr.transcriber import (
    TranscribeConfig,
    Transcriber,
    Transcript,
    Utterance,
    split_utterances,
)
from lanser_fast.asr.vad import VadConfig, speech_segments
from lanser_fast.asr.whisper_decode import Decoded, DecodeOptions, WhisperDecoder

__all__ = [
    "DecodeOptions",
    "Decoded",
    "GuardConfig",
    "TranscribeConfig",
    "TranscribeSummary",
    "Transcriber",
    "Transcript",
    "Utterance",
    "VadConfig",
    "WhisperDecoder",
    "WhisperModelError",
    "asr_flags",
    "resolve_whisper",
    "speech_segments",
    "split_utterances",
    "transcribe_corpus",
]

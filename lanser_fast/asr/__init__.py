"""Whisper transcription with CTranslate2 (models: ``lanser_fast.asr.models``)."""

"""Audio decoding stage: any file or blob to 16 kHz mono float32 (see :mod:`.decode`)."""

from lanser_fast.audio.decode import (
    FLAG_REGION_PAST_END,
    FLAG_TRUNCATED,
    SAMPLE_RATE,
    Audio,
    AudioSource,
    downmix,
    load_audio,
    resample,
)
from lanser_fast.audio.errors import (
    AudioError,
    BadRegionError,
    EmptyFileError,
    MissingFileError,
    NoAudioDataError,
    NonFiniteSamplesError,
    NotAFileError,
    NotAudioError,
    UnreadableFileError,
    UnsupportedCodecError,
    ZeroChannelsError,
)

AUDIO_EXTENSIONS = frozenset(
    {".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".aac", ".mp4",
     ".webm", ".mka", ".mkv", ".aif", ".aiff", ".au", ".caf", ".wma"}
)  # what folder readers pick up; decoding itself goes by content, not by name

__all__ = [
    "AUDIO_EXTENSIONS",
    "FLAG_REGION_PAST_END",
    "FLAG_TRUNCATED",
    "SAMPLE_RATE",
    "Audio",
    "AudioError",
    "AudioSource",
    "BadRegionError",
    "EmptyFileError",
    "MissingFileError",
    "NoAudioDataError",
    "NonFiniteSamplesError",
    "NotAFileError",
    "NotAudioError",
    "UnreadableFileError",
    "UnsupportedCodecError",
    "ZeroChannelsError",
    "downmix",
    "load_audio",
    "resample",
]

"""Audio decoding stage: any file or blob to 16 kHz mono float32 (see :mod:`.decode`).

Example::

    from lanser_fast.audio import load_audio, AudioError
    audio = load_audio("clip.m4a", offset_s=12.5, duration_s=4.0)  # or bytes
    audio.samples          # (n,) float32, 16 kHz mono
    audio.flags            # ("truncated",) when only a readable prefix was decoded

``lanser-fast decode IN... --out DIR`` runs it over a corpus (``corpus.py``: one Parquet row per
input, a result or an error row; resumes; prints audio-hours per device-hour).

Decoders
--------
libsndfile (soundfile) first: WAV 8/16/24/32-bit int and 32/64-bit float, FLAC, OGG/Vorbis,
Opus, MP3, recognised by content, not name; PyAV (bundled FFmpeg) for everything else (M4A/AAC,
WebM/MKV audio tracks, ...). ``AUDIO_EXTENSIONS`` only decides what folder readers pick up.

Channels are averaged (the mean of all channels; FFmpeg's ``-ac 1`` weights stereo by 0.707
instead); soxr (HQ) resamples.

Regions
-------
``offset_s``/``duration_s`` seek: sample-exact for libsndfile formats and for PyAV offsets under
30 s (decoded from the start), exact to the container's timestamp resolution (1 ms for
Matroska/WebM) past that. Region times count from the first decoded sample.

Errors
------
Errors are typed (``errors.py``) and carry a ``kind`` that is written to error rows:
``missing`` (incl. broken symlinks), ``not_a_file``, ``unreadable``, ``empty_file``,
``not_audio``, ``unsupported_codec``, ``zero_channels``, ``no_audio_data`` (zero-length, header
only, nothing readable), ``non_finite`` (NaN/inf), ``bad_region``.

Measured
--------
24 clips of 2-8 s (FLAC 44.1 kHz stereo, MP3 48 kHz, WAV 16 kHz), one thread, on the 2-core CI
machine (AMD EPYC, AVX2, no GPU): 19.4x openai-whisper's ``load_audio`` (ffmpeg CLI) and 22.4x
faster-whisper's ``decode_audio`` (PyAV), measured in the same run (benchmarks/README.md).
"""

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

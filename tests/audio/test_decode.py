import io
import shutil
import struct
import subprocess

import numpy as np
import pytest
import soundfile as sf
import soxr

from lanser_fast.audio import (
    FLAG_REGION_PAST_END,
    FLAG_TRUNCATED,
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
    load_audio,
)
from lanser_fast.audio import decode as decode_mod
from tests.helpers import sine

LOSSLESS_TOL = {  # max abs error of a round trip = the format's quantization step
    "PCM_U8": 1 / 128, "PCM_16": 1 / 32768, "PCM_24": 2.0**-23, "PCM_32": 2.0**-31,
    "FLOAT": 1e-7, "DOUBLE": 1e-7,
}


def _dominant_hz(x: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[spectrum.argmax()])


@pytest.mark.parametrize("subtype", sorted(LOSSLESS_TOL))
def test_wav_subtypes_round_trip(tmp_path, subtype):
    x = sine(1.0, 16000)
    path = tmp_path / f"{subtype}.wav"
    sf.write(path, x, 16000, subtype=subtype)
    audio = load_audio(path)
    assert audio.samples.dtype == np.float32 and audio.samples.shape == x.shape
    assert np.abs(audio.samples - x).max() <= LOSSLESS_TOL[subtype] + 1e-7
    assert audio.flags == () and audio.source_rate == 16000


def test_flac_and_bytes_round_trip(tmp_path):
    x = sine(0.7, 16000)
    path = tmp_path / "a.flac"
    sf.write(path, x, 16000, subtype="PCM_16")
    from_file = load_audio(path).samples
    from_bytes = load_audio(path.read_bytes(), name="blob").samples
    assert np.abs(from_file - x).max() <= 1 / 32768
    np.testing.assert_array_equal(from_file, from_bytes)


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg CLI missing")
@pytest.mark.parametrize("ext,rate", [("ogg", 44100), ("opus", 48000), ("mp3", 44100),
                                      ("m4a", 44100), ("webm", 48000), ("mkv", 44100)])
def test_lossy_formats_decode_the_known_signal(tmp_path, ext, rate):
    x = sine(2.0, rate, freq=440.0, amp=0.5)
    src = tmp_path / "src.wav"
    sf.write(src, np.stack([x, x], axis=1), rate, subtype="PCM_16")  # stereo
    out = tmp_path / f"a.{ext}"
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-i", str(src), "-y",
                    str(out)], check=True)
    audio = load_audio(out)
    assert audio.sample_rate == 16000 and audio.source_channels == 2
    assert abs(audio.duration_s - 2.0) < 0.06  # codec priming/padding only
    core = audio.samples[4000:28000]
    assert abs(_dominant_hz(core, 16000) - 440.0) < 2.0
    rms = float(np.sqrt(np.mean(core**2)))
    assert abs(rms - 0.5 / np.sqrt(2)) < 0.05


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000, 96000])
def test_resampling_matches_soxr_and_the_analytic_signal(tmp_path, rate):
    x = sine(1.5, rate, freq=440.0)
    path = tmp_path / f"{rate}.wav"
    sf.write(path, x, rate, subtype="FLOAT")
    got = load_audio(path).samples
    ref = soxr.resample(x, rate, 16000, quality="HQ")
    assert got.shape == ref.shape == (round(1.5 * 16000),)
    # Same resampler: equal to float32 rounding.
    assert np.abs(got - ref).max() <= 1e-6
    # And the right signal: the 16 kHz sine itself, away from the filter's edge transients.
    truth = sine(1.5, 16000, freq=440.0)
    assert np.abs(got[800:-800] - truth[800:-800]).max() <= 2e-3


def test_multichannel_downmix_is_the_channel_mean(tmp_path):
    x = sine(0.5, 16000)
    channels = np.stack([x * (i + 1) / 6 for i in range(6)], axis=1)  # 6 channels
    path = tmp_path / "six.wav"
    sf.write(path, channels, 16000, subtype="FLOAT")
    audio = load_audio(path)
    assert audio.source_channels == 6
    np.testing.assert_allclose(audio.samples, channels.mean(axis=1), atol=1e-7)


@pytest.mark.parametrize("ext", ["wav", "flac", "m4a"])
def test_region_equals_slice_of_full_decode(tmp_path, ext):
    x = sine(3.0, 44100, freq=330.0)
    src = tmp_path / "src.wav"
    sf.write(src, x, 44100, subtype="PCM_16")
    path = src
    if ext != "wav":
        path = tmp_path / f"a.{ext}"
        subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-i", str(src), "-y",
                        str(path)], check=True)
    full = load_audio(path).samples
    part = load_audio(path, offset_s=1.25, duration_s=0.5)
    assert len(part.samples) == 8000 and part.flags == ()
    start = round(1.25 * 16000)
    # soxr edge transients at the cut: compare away from the ends
    assert np.abs(part.samples[200:-200] - full[start + 200:start + 7800]).max() < 1e-3


def test_region_past_end_is_flagged_and_past_start_is_an_error(tmp_path):
    path = tmp_path / "a.wav"
    sf.write(path, sine(1.0, 16000), 16000)
    tail = load_audio(path, offset_s=0.8, duration_s=1.0)
    assert len(tail.samples) == 3200 and FLAG_REGION_PAST_END in tail.flags
    with pytest.raises(BadRegionError, match="past the end"):
        load_audio(path, offset_s=2.0)
    with pytest.raises(BadRegionError):
        load_audio(path, offset_s=-1.0)


# ----------------------------------------------------------------------------- bad inputs


def _wav_bytes(x: np.ndarray, rate: int = 16000, subtype: str = "PCM_16") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, x, rate, format="WAV", subtype=subtype)
    return buf.getvalue()


def test_missing_file_and_broken_symlink(tmp_path):
    with pytest.raises(MissingFileError, match="no such file"):
        load_audio(tmp_path / "nope.wav")
    link = tmp_path / "dangling.wav"
    link.symlink_to(tmp_path / "gone.wav")
    with pytest.raises(MissingFileError, match="broken symlink"):
        load_audio(link)


def test_directory_named_like_audio(tmp_path):
    (tmp_path / "x.wav").mkdir()
    with pytest.raises(NotAFileError, match="directory"):
        load_audio(tmp_path / "x.wav")


def test_empty_file_and_empty_bytes(tmp_path):
    (tmp_path / "e.wav").write_bytes(b"")
    with pytest.raises(EmptyFileError):
        load_audio(tmp_path / "e.wav")
    with pytest.raises(EmptyFileError):
        load_audio(b"")


def test_unreadable_file(tmp_path, monkeypatch):
    path = tmp_path / "locked.wav"
    path.write_bytes(_wav_bytes(sine(0.1, 16000)))

    def deny(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(decode_mod, "open", deny, raising=False)  # CI runs as root: inject
    with pytest.raises(UnreadableFileError, match="permission denied") as info:
        load_audio(path)
    assert info.value.kind == "unreadable" and str(path) in str(info.value)


@pytest.mark.parametrize("name,content", [
    ("random.wav", np.random.default_rng(0).bytes(4096)),
    ("text.flac", b"this is a text file, not FLAC\n" * 20),
])
def test_not_audio(tmp_path, name, content):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(NotAudioError) as info:
        load_audio(tmp_path / name)
    assert info.value.row_text.startswith("not_audio: ")


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg CLI missing")
def test_video_without_audio_stream(tmp_path):
    path = tmp_path / "video.mkv"
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
                    "testsrc=d=0.2:s=32x32", "-y", str(path)], check=True)
    with pytest.raises(NotAudioError, match="no audio stream"):
        load_audio(path)


def test_unsupported_codec(tmp_path):
    data = bytearray(_wav_bytes(sine(0.1, 16000)))
    data[20:22] = struct.pack("<H", 0x1234)  # unknown WAVE format tag
    (tmp_path / "odd.wav").write_bytes(bytes(data))
    with pytest.raises(UnsupportedCodecError):
        load_audio(tmp_path / "odd.wav")


def test_zero_channels(tmp_path):
    data = bytearray(_wav_bytes(sine(0.1, 16000)))
    data[22:24] = struct.pack("<H", 0)
    with pytest.raises(ZeroChannelsError):
        load_audio(bytes(data))


def test_zero_length_and_header_only(tmp_path):
    with pytest.raises(NoAudioDataError, match="zero-length"):
        load_audio(_wav_bytes(np.zeros(0, np.float32)))
    header_claims_data = _wav_bytes(sine(0.5, 16000))[:44]
    with pytest.raises(NoAudioDataError, match="no readable"):
        load_audio(header_claims_data)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_samples(bad):
    x = sine(0.2, 16000)
    x[100] = bad
    with pytest.raises(NonFiniteSamplesError, match="1 of"):
        load_audio(_wav_bytes(x, subtype="FLOAT"))


@pytest.mark.parametrize("fmt", ["WAV", "FLAC"])
def test_truncated_file_keeps_the_readable_part(fmt):
    x = sine(2.0, 16000)
    buf = io.BytesIO()
    sf.write(buf, x, 16000, format=fmt, subtype="PCM_16")
    data = buf.getvalue()
    audio = load_audio(data[: len(data) // 2])
    assert FLAG_TRUNCATED in audio.flags
    assert 0.3 < audio.duration_s < 1.2
    n = len(audio.samples)
    assert np.abs(audio.samples[: n - 1024] - x[: n - 1024]).max() <= 1 / 32768


def test_streaming_wav_header_is_not_truncation():
    data = bytearray(_wav_bytes(sine(0.5, 16000)))
    data[40:44] = struct.pack("<I", 0x7FFFF000)  # what espeak-ng/ffmpeg pipes write
    audio = load_audio(bytes(data))
    assert audio.flags == () and len(audio.samples) == 8000


def test_mp3_content_with_wav_name(tmp_path):
    buf = io.BytesIO()
    sf.write(buf, sine(1.0, 16000), 16000, format="MP3")
    (tmp_path / "actually_mp3.wav").write_bytes(buf.getvalue())
    audio = load_audio(tmp_path / "actually_mp3.wav")
    assert abs(audio.duration_s - 1.0) < 0.05


@pytest.mark.parametrize("rate,channels,subtype,fmt", [
    (22_050, 1, "PCM_16", "WAV"),  # espeak-ng's native output
    (44_100, 2, "PCM_16", "WAV"),
    (48_000, 2, "FLOAT", "WAV"),
    (8_000, 1, "PCM_16", "FLAC"),
    (16_000, 1, "PCM_16", "WAV"),  # no resampling: still FFmpeg's s16 path
])
def test_ffmpeg_resampler_is_faster_whisper_decode_audio(tmp_path, rate, channels, subtype,
                                                         fmt):
    """``resampler="ffmpeg"`` gives exactly the samples faster-whisper feeds Whisper."""
    from faster_whisper.audio import decode_audio

    rng = np.random.default_rng(rate)
    t = np.arange(int(2.3 * rate)) / rate
    wave = 0.3 * np.sin(2 * np.pi * 220 * t)[:, None] * np.ones(channels)
    wave += rng.normal(0, 0.02, wave.shape)
    path = tmp_path / f"clip.{fmt.lower()}"
    sf.write(path, wave.astype(np.float32), rate, subtype=subtype, format=fmt)
    ours = load_audio(path, resampler="ffmpeg").samples
    theirs = decode_audio(str(path))
    assert ours.dtype == np.float32 and len(ours) == len(theirs)
    assert np.array_equal(ours, theirs)


def test_ffmpeg_resampler_regions_and_bad_input(tmp_path):
    path = tmp_path / "clip.wav"
    sf.write(path, sine(3.0, 22_050), 22_050, subtype="PCM_16")
    full = load_audio(path, resampler="ffmpeg").samples
    part = load_audio(path, offset_s=1.0, duration_s=1.0, resampler="ffmpeg").samples
    assert abs(len(part) - 16_000) <= 1
    assert np.abs(part[100:-100] - full[16_100:32_000 - 100][: len(part) - 200]).max() < 0.01
    with pytest.raises(ValueError, match="unknown resampler 'sinc'"):
        load_audio(path, resampler="sinc")
    nan = sine(1.0, 16_000)
    nan[10] = np.nan
    sf.write(tmp_path / "nan.wav", nan, 16_000, subtype="FLOAT")
    with pytest.raises(NonFiniteSamplesError, match="1 of 16000 samples"):
        load_audio(tmp_path / "nan.wav", resampler="ffmpeg")

"""Synthetic speech corpora with espeak-ng, deterministic by seed.

Each utterance is one or more sentences spoken with a seeded rate, pitch and amplitude, cut or
padded to a target duration drawn from the requested distribution. Used by the tests and the
benchmarks of every stage (and by the README's first command) in place of real corpora.

    python -m tools.synth_speech --out sample/ --count 32 --min-s 1 --max-s 6 --seed 0
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import soundfile as sf

from lanser_fast.audio import SAMPLE_RATE, load_audio

SENTENCES = (
    "I can't believe you did that again.",
    "This is the best day of my life.",
    "Please leave me alone for a while.",
    "We will meet at the station at noon.",
    "Why would anyone say such a thing?",
    "The results came back and they look fine.",
    "I'm so sorry for your loss.",
    "Get out of my house right now!",
    "Honestly, I don't care what happens next.",
    "That was the funniest thing I have ever seen.",
    "It's raining again, and the bus is late.",
    "I think we should talk about what happened.",
    "Don't touch that, it's dangerous!",
    "Thank you so much, this means a lot to me.",
    "The meeting has been moved to Thursday.",
    "I was afraid you would never come back.",
)  # the twelve CREMA-D sentences are spoken with emotion; these only need varied phonetics

RATE_WPM = (120, 220)  # espeak-ng -s range (words per minute)
PITCH = (20, 80)  # espeak-ng -p range (0-99)
AMPLITUDE = (60, 160)  # espeak-ng -a range (0-200, 100 = default)
FADE_S = 0.01  # fade at a cut so trimming does not click


@dataclass(frozen=True)
class Utterance:
    """One synthesized clip as written to the corpus manifest."""

    path: str
    id: str
    transcript: str  # the sentences spoken (a cut clip may end mid-sentence)
    duration_s: float
    rate_wpm: int
    pitch: int
    amplitude: int


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


def speak(text: str, *, rate_wpm: int = 175, pitch: int = 50, amplitude: int = 100,
          voice: str = "en", sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """espeak-ng speech for ``text`` as mono float32 at ``sample_rate``."""
    if not espeak_available():
        raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)")
    wav = subprocess.run(
        ["espeak-ng", "--stdout", "-v", voice, "-s", str(rate_wpm), "-p", str(pitch),
         "-a", str(amplitude), text],
        check=True, capture_output=True,
    ).stdout
    return load_audio(wav, sample_rate=sample_rate, name="espeak-ng").samples


def uniform_durations(min_s: float, max_s: float) -> Callable[[random.Random], float]:
    """A duration sampler: uniform between ``min_s`` and ``max_s`` seconds."""
    return lambda rng: rng.uniform(min_s, max_s)


def synthesize_corpus(
    out_dir: str | Path,
    count: int,
    *,
    seed: int = 0,
    durations: Callable[[random.Random], float] | Sequence[float] = uniform_durations(1.0, 6.0),
    sentences: Sequence[str] = SENTENCES,
    sample_rate: int = SAMPLE_RATE,
    subtype: str = "PCM_16",
) -> list[Utterance]:
    """Write ``count`` WAV clips and ``manifest.jsonl`` into ``out_dir``; return the rows.

    ``durations`` is a sampler (``rng -> seconds``) or an explicit list of ``count`` lengths.
    The same arguments always give the same files.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    rows = []
    for index in range(count):
        target = durations[index] if isinstance(durations, Sequence) else durations(rng)
        rate, pitch = rng.randint(*RATE_WPM), rng.randint(*PITCH)
        amplitude = rng.randint(*AMPLITUDE)
        spoken, pieces, total = [], [], 0
        want = max(1, round(target * sample_rate))
        while total < want:
            sentence = rng.choice(sentences)
            wave = speak(sentence, rate_wpm=rate, pitch=pitch, amplitude=amplitude,
                         sample_rate=sample_rate)
            spoken.append(sentence)
            pieces.append(wave)
            total += len(wave)
        clip = _cut(np.concatenate(pieces), want, sample_rate)
        name = f"utt{index:05d}.wav"
        sf.write(out / name, clip, sample_rate, subtype=subtype)
        rows.append(Utterance(path=name, id=f"utt{index:05d}", transcript=" ".join(spoken),
                              duration_s=want / sample_rate, rate_wpm=rate, pitch=pitch,
                              amplitude=amplitude))
    with open(out / "manifest.jsonl", "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(asdict(row)) + "\n")
    return rows


PROSODY_CLASSES = {"low": (10, 25), "mid": (42, 58), "high": (75, 90)}  # class -> pitch range
VOICES = ("en", "en-us", "en-gb-x-rp", "en-029")  # espeak-ng voices: the "speakers"


def synthesize_prosody_corpus(out_dir: str | Path, count: int, *, seed: int = 0,
                              min_s: float = 1.0, max_s: float = 3.0,
                              classes: dict[str, tuple[int, int]] = PROSODY_CLASSES) -> list[dict]:
    """A corpus whose class is set by the audio (pitch band), not by the words.

    Every class speaks the same sentences at the same rates, so only prosody tells them apart:
    a model that learns it reads the audio it was given, which catches audio/label misalignment.
    Writes WAV clips and ``labels.csv`` (path, label, speaker, transcript) for ``read_table``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    names = list(classes)
    rows = []
    for index in range(count):
        label = names[index % len(names)]
        voice = rng.randrange(len(VOICES))
        pitch = rng.randint(*classes[label])
        rate, amplitude = rng.randint(*RATE_WPM), rng.randint(*AMPLITUDE)
        sentence = rng.choice(SENTENCES)
        wave = speak(sentence, rate_wpm=rate, pitch=pitch, amplitude=amplitude,
                     voice=VOICES[voice])
        clip = _cut(wave, round(rng.uniform(min_s, max_s) * SAMPLE_RATE), SAMPLE_RATE)
        name = f"{label}_{index:05d}.wav"
        sf.write(out / name, clip, SAMPLE_RATE, subtype="PCM_16")
        rows.append({"path": name, "label": label, "speaker": f"voice{voice}",
                     "transcript": sentence})
    with open(out / "labels.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, ["path", "label", "speaker", "transcript"])
        writer.writeheader()
        writer.writerows(rows)
    return rows


def _cut(wave: np.ndarray, length: int, sample_rate: int) -> np.ndarray:
    clip = wave[:length].astype(np.float32, copy=True)
    fade = min(len(clip), round(FADE_S * sample_rate))
    if fade and len(wave) > length:
        clip[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return np.clip(clip, -1.0, 1.0)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="output folder (WAV files + manifest.jsonl)")
    parser.add_argument("--count", type=int, default=32, help="number of clips")
    parser.add_argument("--min-s", type=float, default=1.0, help="shortest clip (seconds)")
    parser.add_argument("--max-s", type=float, default=6.0, help="longest clip (seconds)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed, same corpus)")
    args = parser.parse_args(argv)
    rows = synthesize_corpus(args.out, args.count, seed=args.seed,
                             durations=uniform_durations(args.min_s, args.max_s))
    hours = sum(r.duration_s for r in rows) / 3600
    print(f"wrote {len(rows)} clips ({hours * 60:.1f} min of speech) to {args.out}")


if __name__ == "__main__":
    main()

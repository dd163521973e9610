"""Synthetic emotional speech with espeak-ng: LanSER in miniature, deterministic by seed.

**The prosody model.** A speaker is an espeak-ng voice and variant with a base pitch (``-p``)
and speed (``-s``) of its own. An emotion is spoken by wrapping the sentence in an SSML
``<prosody>`` element whose offsets from the speaker's neutral delivery follow the acoustic
correlates reported for acted emotional speech (Banse & Scherer 1996; Juslin & Laukka 2003):
higher and wider pitch, faster and louder for anger and joy; higher pitch and faster but not
louder for fear; lower, narrower, slower and softer for sadness; lower and slower for disgust.
The offsets (percent of the speaker's own value) at full intensity:

    emotion   pitch  range  rate  volume
    anger      +15    +60    +20    +60
    disgust    -15    -10    -20     +0
    fear       +35    +20    +30    -10
    happy      +25    +80    +10    +20
    neutral      0      0      0      0
    sad        -20    -60    -30    -40

An intensity level scales them: ``LO`` 0.5, ``MD`` 0.75, ``HI`` 1.0 (``XX``, CREMA-D's
"unspecified", is spoken as ``MD``). These values were fixed before any model was trained on the
corpora, from the literature's directions, not tuned on results.

**Pre-training speech** (``synthesize_pretraining``, unlabeled, the People's Speech / Condensed
Movies analogue): sentences of :mod:`lanser_fast.synth.sentences` whose words carry an emotion, each
spoken by a speaker of the pool with the prosody of its *voice emotion*: the text's emotion with
probability ``match``, otherwise one of the other five, uniformly. So text and voice agree often
but not always, as in acted speech (``match`` 0.7) or less, as in read speech (``match`` 0.2).
The audio and ``manifest.jsonl`` (path and id only) are what the pipeline reads; the truth
(text emotion, voice emotion, speaker, level, transcript) goes to ``truth.jsonl``, which it never
reads.

**A CREMA-D-like labeled set** (``synthesize_cremad``): CREMA-D's twelve emotionally neutral
sentences spoken by ``actors`` synthetic actors in all six emotions, by prosody alone, at the
levels given, written in CREMA-D's released layout ``AudioWAV/<actor>_<SENTENCE>_<EMO>_<LVL>.wav``
(16 kHz, 16-bit, like the release) so ``crema-d:PATH`` reads it unchanged. Actors are distinct
voices with distinct pitch and speed offsets, so speaker-independent folds mean something.

    python -m lanser_fast.synth pretrain --out corpus --count 360 --match 0.7
    python -m lanser_fast.synth cremad --out cremad-like --actors 8
    python -m lanser_fast.synth agreement corpus labels.parquet   # weak labels vs the truth
"""

from __future__ import annotations

import json
import random
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import soundfile as sf

from lanser_fast.audio import SAMPLE_RATE, load_audio
from lanser_fast.data.cremad import EMOTIONS as CREMAD_CODES
from lanser_fast.data.cremad import SENTENCES as CREMAD_SENTENCES
from lanser_fast.synth.sentences import EMOTIONS, sentences

# percent offsets at full intensity: (pitch, range, rate, volume); see the table above
PROFILES: dict[str, tuple[int, int, int, int]] = {
    "anger": (15, 60, 20, 60),
    "disgust": (-15, -10, -20, 0),
    "fear": (35, 20, 30, -10),
    "happy": (25, 80, 10, 20),
    "neutral": (0, 0, 0, 0),
    "sad": (-20, -60, -30, -40),
}
LEVELS = {"LO": 0.5, "MD": 0.75, "HI": 1.0, "XX": 0.75}
CODES = {label: code for code, label in CREMAD_CODES.items()}  # anger -> ANG
# espeak-ng voices and variants the speakers are drawn from (all ship with espeak-ng)
VOICES = ("en-us", "en-gb", "en-gb-x-rp", "en-029", "en-gb-scotland", "en-us-nyc")
VARIANTS = ("m1", "m2", "m3", "m4", "m7", "f1", "f2", "f3", "f4", "f5")
BASE_PITCH = (35, 65)  # espeak-ng -p of a speaker's neutral delivery
BASE_RATE = (150, 185)  # espeak-ng -s (words per minute)
PAD_S = 0.15  # silence kept around each clip


@dataclass(frozen=True)
class Speaker:
    name: str
    voice: str  # espeak-ng voice+variant, e.g. "en-gb+f3"
    pitch: int  # -p
    rate: int  # -s


def speakers(count: int, seed: int = 0, exclude: Sequence[Speaker] = ()) -> list[Speaker]:
    """``count`` distinct speakers (voice, variant, base pitch and rate), seeded; none shares
    a voice and variant with a speaker of ``exclude``."""
    rng = random.Random(seed)
    taken = {s.voice for s in exclude}
    combos = [(v, a) for v in VOICES for a in VARIANTS if f"{v}+{a}" not in taken]
    if count > len(combos):
        raise ValueError(f"only {len(combos)} voice and variant pairs are left for {count} "
                         "speakers")
    rng.shuffle(combos)
    return [Speaker(f"s{k:02d}", f"{voice}+{variant}", rng.randint(*BASE_PITCH),
                    rng.randint(*BASE_RATE)) for k, (voice, variant) in
            enumerate(combos[:count])]


def speak_emotion(text: str, speaker: Speaker, emotion: str, level: str = "HI",
                  sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """``text`` spoken by ``speaker`` with ``emotion``'s prosody at ``level``: mono float32."""
    scale = LEVELS[level]
    pitch, span, rate, volume = (round(v * scale) for v in PROFILES[emotion])
    ssml = (f'<speak><prosody pitch="{pitch:+d}%" range="{span:+d}%" rate="{rate:+d}%" '
            f'volume="{volume:+d}%">{_escape(text)}</prosody></speak>')
    wav = subprocess.run(["espeak-ng", "-m", "--stdout", "-v", speaker.voice, "-p",
                          str(speaker.pitch), "-s", str(speaker.rate), ssml],
                         check=True, capture_output=True).stdout
    samples = load_audio(wav, sample_rate=sample_rate, name="espeak-ng").samples
    return _trim(samples, sample_rate)


def synthesize_pretraining(out_dir: str | Path, count: int, *, match: float = 0.7,
                           seed: int = 0, n_speakers: int = 12, jobs: int = 2) -> list[dict]:
    """``count`` unlabeled clips (sentences of the bank, cycled in a seeded order), each voice
    emotion matching the text's with probability ``match``; ``manifest.jsonl`` + ``truth.jsonl``.

    The draws do not depend on ``match`` (each clip draws its sentence, speaker, level, a uniform
    number ``u`` and another emotion; its voice is the text's emotion when ``u < match``), so
    corpora of two ``match`` values differ only in the clips whose ``u`` lies between them.
    Clips already on disk are kept (a killed run resumes); ``jobs`` espeak-ng processes at once.
    """
    if not 0 <= match <= 1:
        raise ValueError(f"match must be in [0, 1], got {match}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    bank = sentences()
    order = list(range(len(bank)))
    rng.shuffle(order)
    pool = speakers(n_speakers, seed)
    truth, todo = [], []
    for index in range(count):
        text_emotion, text = bank[order[index % len(bank)]]
        u, other = rng.random(), rng.choice([e for e in EMOTIONS if e != text_emotion])
        speaker, level = rng.choice(pool), rng.choice(("MD", "HI"))
        voice_emotion = text_emotion if u < match else other
        name = f"utt{index:05d}.wav"
        truth.append({"id": name, "path": name, "transcript": text, "text_emotion": text_emotion,
                      "voice_emotion": voice_emotion, "speaker": speaker.name, "level": level})
        todo.append((out / name, text, speaker, voice_emotion, level))
    for row, frames in zip(truth, _speak_all(todo, jobs)):
        row["duration_s"] = frames / SAMPLE_RATE
    _jsonl(out / "manifest.jsonl", [{"id": t["id"], "path": t["path"]} for t in truth])
    _jsonl(out / "truth.jsonl", truth)
    _jsonl(out / "speakers.jsonl", [asdict(s) for s in pool])
    return truth


def synthesize_cremad(out_dir: str | Path, *, actors: int = 8, levels: Sequence[str] = ("LO",
                      "HI"), seed: int = 1, sentence_codes: Sequence[str] | None = None,
                      exclude: Sequence[Speaker] = (), jobs: int = 2) -> list[Path]:
    """A CREMA-D-like tree: every actor x sentence x emotion x level under ``AudioWAV/``
    (neutral once per sentence at level ``XX``, as CREMA-D records it). Actors share no voice
    with ``exclude`` (e.g. the pre-training speakers); clips on disk are kept."""
    root = Path(out_dir)
    folder = root / "AudioWAV"
    folder.mkdir(parents=True, exist_ok=True)
    cast = speakers(actors, seed, exclude)
    todo = []
    for number, speaker in enumerate(cast, start=1001):
        for code in sentence_codes or CREMAD_SENTENCES:
            for emotion in EMOTIONS:
                for level in (("XX",) if emotion == "neutral" else levels):
                    path = folder / f"{number}_{code}_{CODES[emotion]}_{level}.wav"
                    todo.append((path, CREMAD_SENTENCES[code], speaker, emotion, level))
    _speak_all(todo, jobs)
    _jsonl(root / "actors.jsonl", [{"actor": 1001 + k, **asdict(s)} for k, s in enumerate(cast)])
    return [path for path, *_ in todo]


def read_speakers(path: str | Path) -> list[Speaker]:
    """The speakers a synthesis wrote (``speakers.jsonl`` or ``actors.jsonl``)."""
    rows = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    return [Speaker(r["name"], r["voice"], r["pitch"], r["rate"]) for r in rows]


def _speak_all(todo: list[tuple], jobs: int) -> list[int]:
    """Write each ``(path, text, speaker, emotion, level)`` clip that is not on disk yet
    (atomically: a temporary name, then a rename); the frame counts of all of them."""
    def one(job) -> int:
        path, text, speaker, emotion, level = job
        if path.exists():
            return sf.info(path).frames
        wave = speak_emotion(text, speaker, emotion, level)
        tmp = path.with_name("." + path.name)
        sf.write(tmp, wave, SAMPLE_RATE, subtype="PCM_16", format="WAV")
        tmp.replace(path)
        return len(wave)

    with ThreadPoolExecutor(max(1, jobs)) as pool:
        return list(pool.map(one, todo))


def agreement(truth_jsonl: str | Path, results: str | Path) -> dict:
    """How often the weak labels of a ``label`` run over a synthesized corpus equal the text
    emotion and the voice emotion of ``truth.jsonl`` (rows without a label count as misses)."""
    from lanser_fast.manifest import read_results

    labels = {r["id"]: r["weak_label"] for r in read_results(results).to_pylist()}
    truth = [json.loads(line) for line in Path(truth_jsonl).read_text().splitlines()]
    n = len(truth)
    text = sum(labels.get(t["id"]) == t["text_emotion"] for t in truth)
    voice = sum(labels.get(t["id"]) == t["voice_emotion"] for t in truth)
    return {"clips": n, "labeled": sum(labels.get(t["id"]) is not None for t in truth),
            "text_agreement": text / n if n else 0.0, "voice_agreement": voice / n if n else 0.0,
            "text_voice_match": sum(t["text_emotion"] == t["voice_emotion"] for t in truth) /
            max(n, 1)}


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _trim(wave: np.ndarray, sample_rate: int, threshold: float = 1e-3) -> np.ndarray:
    """Leading and trailing silence cut to ``PAD_S`` (espeak-ng pads its output unevenly)."""
    loud = np.flatnonzero(np.abs(wave) > threshold)
    if not len(loud):
        return wave.astype(np.float32)
    pad = round(PAD_S * sample_rate)
    return wave[max(0, loud[0] - pad): loud[-1] + pad].astype(np.float32)


def _jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")

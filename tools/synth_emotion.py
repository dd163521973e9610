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
Movies analogue): sentences of ``tools.emotion_sentences`` whose words carry an emotion, each
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

    python -m tools.synth_emotion pretrain --out corpus --count 360 --match 0.7
    python -m tools.synth_emotion cremad --out cremad-like --actors 8
    python -m tools.synth_emotion agreement corpus labels.parquet   # weak labels vs the truth
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import soundfile as sf

from lanser_fast.audio import SAMPLE_RATE, load_audio
from lanser_fast.data.cremad import EMOTIONS as CREMAD_CODES
from lanser_fast.data.cremad import SENTENCES as CREMAD_SENTENCES
from tools.emotion_sentences import EMOTIONS, sentences

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


def speakers(count: int, seed: int = 0) -> list[Speaker]:
    """``count`` distinct speakers (voice, variant, base pitch and rate), seeded."""
    rng = random.Random(seed)
    combos = [(v, a) for v in VOICES for a in VARIANTS]
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
                           seed: int = 0, n_speakers: int = 12) -> list[dict]:
    """``count`` unlabeled clips (sentences of the bank, cycled in a seeded order), each voice
    emotion matching the text's with probability ``match``; ``manifest.jsonl`` + ``truth.jsonl``.
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
    truth = []
    for index in range(count):
        text_emotion, text = bank[order[index % len(bank)]]
        voice_emotion = text_emotion if rng.random() < match else \
            rng.choice([e for e in EMOTIONS if e != text_emotion])
        speaker = rng.choice(pool)
        level = rng.choice(("MD", "HI"))
        name = f"utt{index:05d}.wav"
        wave = speak_emotion(text, speaker, voice_emotion, level)
        sf.write(out / name, wave, SAMPLE_RATE, subtype="PCM_16")
        truth.append({"id": name, "path": name, "transcript": text, "text_emotion": text_emotion,
                      "voice_emotion": voice_emotion, "speaker": speaker.name, "level": level,
                      "duration_s": len(wave) / SAMPLE_RATE})
    _jsonl(out / "manifest.jsonl", [{"id": t["id"], "path": t["path"]} for t in truth])
    _jsonl(out / "truth.jsonl", truth)
    _jsonl(out / "speakers.jsonl", [asdict(s) for s in pool])
    return truth


def synthesize_cremad(out_dir: str | Path, *, actors: int = 8, levels: Sequence[str] = ("LO",
                      "HI"), seed: int = 1, sentence_codes: Sequence[str] | None = None
                      ) -> list[Path]:
    """A CREMA-D-like tree: every actor x sentence x emotion x level under ``AudioWAV/``
    (neutral once per sentence at level ``XX``, as CREMA-D records it)."""
    root = Path(out_dir)
    folder = root / "AudioWAV"
    folder.mkdir(parents=True, exist_ok=True)
    cast = speakers(actors, seed)
    written = []
    for number, speaker in enumerate(cast, start=1001):
        for code in sentence_codes or CREMAD_SENTENCES:
            for emotion in EMOTIONS:
                for level in (("XX",) if emotion == "neutral" else levels):
                    path = folder / f"{number}_{code}_{CODES[emotion]}_{level}.wav"
                    if not path.exists():
                        wave = speak_emotion(CREMAD_SENTENCES[code], speaker, emotion, level)
                        tmp = path.with_name("." + path.name)
                        sf.write(tmp, wave, SAMPLE_RATE, subtype="PCM_16", format="WAV")
                        tmp.replace(path)
                    written.append(path)
    _jsonl(root / "actors.jsonl", [{"actor": 1001 + k, **asdict(s)} for k, s in enumerate(cast)])
    return written


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


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    pre = sub.add_parser("pretrain", help="unlabeled emotional speech (manifest + truth)")
    pre.add_argument("--out", required=True)
    pre.add_argument("--count", type=int, default=36)
    pre.add_argument("--match", type=float, default=0.7, help="P(voice emotion = text's)")
    pre.add_argument("--seed", type=int, default=0)
    crema = sub.add_parser("cremad", help="a CREMA-D-like labeled tree (AudioWAV/)")
    crema.add_argument("--out", required=True)
    crema.add_argument("--actors", type=int, default=8)
    crema.add_argument("--levels", default="LO,HI")
    crema.add_argument("--seed", type=int, default=1)
    agree = sub.add_parser("agreement", help="weak labels of a label run vs truth.jsonl")
    agree.add_argument("corpus", help="the pretrain corpus folder (holds truth.jsonl)")
    agree.add_argument("results", help="the label output of that corpus")
    args = parser.parse_args(argv)
    if args.what == "agreement":
        a = agreement(Path(args.corpus) / "truth.jsonl", args.results)
        print(f"{a['labeled']} of {a['clips']} clips labeled; weak label = the sentence's "
              f"emotion for {a['text_agreement']:.0%}, = the voice's for "
              f"{a['voice_agreement']:.0%} (chance 1/6 = 17%; voice = text for "
              f"{a['text_voice_match']:.0%} of the clips)")
        return
    if args.what == "pretrain":
        rows = synthesize_pretraining(args.out, args.count, match=args.match, seed=args.seed)
        minutes = sum(r["duration_s"] for r in rows) / 60
        print(f"wrote {len(rows)} clips ({minutes:.1f} min) to {args.out} (truth.jsonl beside)")
    else:
        files = synthesize_cremad(args.out, actors=args.actors, seed=args.seed,
                                  levels=tuple(args.levels.split(",")))
        print(f"wrote {len(files)} clips to {Path(args.out) / 'AudioWAV'}")


if __name__ == "__main__":
    main()

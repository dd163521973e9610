"""CREMA-D (Cao et al., 2014) read from its released layout: ``AudioWAV/*.wav``.

Everything is in the file name, ``ActorID_Sentence_Emotion_Level.wav`` (``1001_DFA_ANG_XX.wav``):
91 actors (1001..1091) each read 12 fixed sentences in 6 emotions. The sentence code gives the
transcript, so no ASR is needed for it. Audio is not opened here (decoding errors surface where
audio is decoded), but empty files are reported now: the release ships one
(``1076_MTI_SAD_XX.wav``) and a stat is free.
"""

from __future__ import annotations

import os
from pathlib import Path

from lanser_fast.data.examples import Example, LabeledSet, Problem
from lanser_fast.taxonomy.builtin import BUILTIN

AUDIO_FOLDER = "AudioWAV"  # the release's wav folder (AudioMP3/, VideoFlash/, ... sit beside it)
ACTORS = range(1001, 1092)
SENTENCES = {
    "IEO": "It's eleven o'clock.",
    "TIE": "That is exactly what happened.",
    "IOM": "I'm on my way to the meeting.",
    "IWW": "I wonder what this is about.",
    "TAI": "The airplane is almost full.",
    "MTI": "Maybe tomorrow it will be cold.",
    "IWL": "I would like a new alarm clock.",
    "ITH": "I think I have a doctor's appointment.",
    "DFA": "Don't forget a jacket.",
    "ITS": "I think I've seen this before.",
    "TSI": "The surface is slick.",
    "WSI": "We'll stop in a couple of minutes.",
}
EMOTIONS = {"ANG": "anger", "DIS": "disgust", "FEA": "fear", "HAP": "happy", "NEU": "neutral",
            "SAD": "sad"}  # emotion code -> cremad6 label
LEVELS = ("LO", "MD", "HI", "XX")  # intensity: low, medium, high, unspecified
JUNK_FILES = (".DS_Store",)  # macOS litter; ``._*`` resource forks are skipped as well


def read_cremad(root: str | os.PathLike, *, classes: str = "cremad6") -> LabeledSet:
    """The clips of CREMA-D under ``root`` (the release folder, or its ``AudioWAV`` folder).

    Speaker and group are the actor id, so folds by group are speaker-independent.
    """
    if classes != "cremad6":
        raise ValueError(f"CREMA-D classes must be 'cremad6', got {classes!r}")
    labels = BUILTIN[classes][0]
    folder = _audio_folder(Path(os.path.abspath(root)))
    problems: list[Problem] = []
    examples: list[Example] = []
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as err:
        raise ValueError(f"CREMA-D folder {folder} cannot be read: {err}") from err
    for entry in entries:
        name = entry.name
        if name.startswith("._") or name in JUNK_FILES:
            continue
        stem, suffix = os.path.splitext(name)
        if entry.is_dir() or suffix.lower() != ".wav":
            problems.append(Problem(entry.path, "not a .wav file (AudioWAV holds "
                                                "ActorID_Sentence_Emotion_Level.wav clips)"))
            continue
        reason = _bad_name(stem)
        if reason is None:
            reason = _bad_file(entry)
        if reason is not None:
            problems.append(Problem(entry.path, f"{reason}; skipped"))
            continue
        actor, sentence, emotion, _level = stem.split("_")
        examples.append(Example(id=stem, path=entry.path, label=labels.index(EMOTIONS[emotion]),
                                speaker=actor, group=actor, transcript=SENTENCES[sentence]))
    return LabeledSet("crema-d", labels, tuple(examples), tuple(problems))


def _audio_folder(root: Path) -> Path:
    if not root.exists():
        raise FileNotFoundError(f"CREMA-D root {root} does not exist; expected the release "
                                f"folder (with {AUDIO_FOLDER}/) or {AUDIO_FOLDER} itself")
    if (root / AUDIO_FOLDER).is_dir():
        return root / AUDIO_FOLDER
    try:
        has_wavs = any(name.lower().endswith(".wav") for name in os.listdir(root))
    except OSError as err:
        raise ValueError(f"CREMA-D root {root} cannot be read: {err}") from err
    if not has_wavs:
        raise ValueError(f"CREMA-D root {root} has no {AUDIO_FOLDER} folder and no .wav files; "
                         f"expected the release folder or {AUDIO_FOLDER} itself")
    return root


def _bad_name(stem: str) -> str | None:
    """Why ``stem`` is not a CREMA-D clip name, or None."""
    parts = stem.split("_")
    if len(parts) != 4:
        return "name is not ActorID_Sentence_Emotion_Level (like 1001_DFA_ANG_XX.wav)"
    actor, sentence, emotion, level = parts
    if not (actor.isascii() and actor.isdigit() and int(actor) in ACTORS):
        return f"unknown actor {actor!r} (actors are {ACTORS[0]}..{ACTORS[-1]})"
    if sentence not in SENTENCES:
        return f"unknown sentence code {sentence!r} (expected one of {', '.join(SENTENCES)})"
    if emotion not in EMOTIONS:
        return f"unknown emotion code {emotion!r} (expected one of {', '.join(EMOTIONS)})"
    if level not in LEVELS:
        return f"unknown intensity {level!r} (expected one of {', '.join(LEVELS)})"
    return None


def _bad_file(entry: os.DirEntry) -> str | None:
    try:
        size = entry.stat().st_size  # follows links: a dangling one fails here
    except OSError as err:
        return f"cannot be read ({err.strerror or err})"
    return "empty file (0 bytes)" if size == 0 else None

"""Built-in emotion taxonomies: exact label lists, each with its source."""

from __future__ import annotations

# GoEmotions (Demszky et al., ACL 2020): 27 emotion categories + neutral, in the dataset's order.
GOEMOTIONS28 = (
    "admiration", "amusement", "anger", "annoyance", "approval", "caring", "confusion",
    "curiosity", "desire", "disappointment", "disapproval", "disgust", "embarrassment",
    "excitement", "fear", "gratitude", "grief", "joy", "love", "nervousness", "optimism",
    "pride", "realization", "relief", "remorse", "sadness", "surprise", "neutral",
)

# name -> (labels, source)
BUILTIN: dict[str, tuple[tuple[str, ...], str]] = {
    "iemocap4": (
        ("neutral", "happy", "sad", "angry"),
        "IEMOCAP (Busso et al., 2008), the usual 4-class setup: excited is merged into happy",
    ),
    "cremad6": (
        ("anger", "disgust", "fear", "happy", "neutral", "sad"),
        "CREMA-D (Cao et al., 2014): ANG, DIS, FEA, HAP, NEU, SAD",
    ),
    "ekman7": (
        ("anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral"),
        "Ekman's six basic emotions (Ekman, 1992) plus neutral",
    ),
    "goemotions28": (
        GOEMOTIONS28,
        "GoEmotions (Demszky et al., 2020): 27 emotions plus neutral",
    ),
}

"""The paper's baselines: the majority class, and the text-only weak labeler.

The text baseline runs the same entailment labeler as ``label`` on the downstream utterances'
transcripts: the dataset's own where it ships them (IEMOCAP's transcriptions, CREMA-D's twelve
sentences), our Whisper transcriber otherwise. Its labels map onto the dataset's classes as in
zero-shot (:mod:`.zeroshot`). On CREMA-D, where every emotion speaks the same sentences, it can
only do as well as chance: the point the paper makes about prosody.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from lanser_fast.audio import load_audio
from lanser_fast.data.examples import LabeledSet
from lanser_fast.metrics import Scores, score
from lanser_fast.train.zeroshot import class_map


def majority(train: LabeledSet, test: LabeledSet) -> tuple[Scores, str]:
    """Every test utterance gets the training set's most frequent class (ties: lowest index)."""
    counts = Counter(ex.label for ex in train.examples)
    if not counts:
        raise ValueError("the training split is empty: no majority class")
    top = max(sorted(counts), key=lambda c: counts[c])
    return score([ex.label for ex in test.examples], [top] * len(test), test.classes), \
        test.classes[top]


def transcripts_for(data: LabeledSet, transcribe_config=None) -> tuple[list[str], int]:
    """Each utterance's transcript, and how many came from our transcriber."""
    missing = [i for i, ex in enumerate(data.examples) if not ex.transcript]
    texts = [ex.transcript or "" for ex in data.examples]
    if not missing:
        return texts, 0
    if transcribe_config is None:
        raise ValueError(f"{len(missing)} utterances of {data.name} have no transcript: give an "
                         "ASR model (--asr-model) to transcribe them")
    from lanser_fast.asr import Transcriber, split_utterances

    transcriber = Transcriber(transcribe_config)
    try:
        for i in missing:
            ex = data.examples[i]
            audio = load_audio(ex.path, offset_s=ex.offset_s, duration_s=ex.duration_s,
                               resampler=transcribe_config.resampler)  # as Whisper reads audio
            pieces = split_utterances(ex.id, audio.samples)
            texts[i] = " ".join(d.text.strip() for d in
                                transcriber.transcribe([u.samples for u in pieces])).strip()
    finally:
        transcriber.close()
    return texts, len(missing)


def text_baseline(test: LabeledSet, score_config, transcribe_config=None, *,
                  scorer=None) -> dict:
    """The weak labeler on ``test``'s transcripts, scored against its labels (``scorer``: one
    already made from ``score_config``, reused)."""
    from lanser_fast.nli.labelers import make_scorer

    texts, transcribed = transcripts_for(test, transcribe_config)
    scorer = scorer or make_scorer(score_config)
    matrix = class_map(tuple(scorer.taxonomy.labels), test.classes, scorer.taxonomy)
    predicted = []
    for result in scorer.score(texts):
        if result.scores is None:  # empty transcript: no evidence, the labeler abstains
            predicted.append(-1)
            continue
        predicted.append(int(np.argmax(np.asarray(result.scores) @ matrix)))
    return {"scores": score([ex.label for ex in test.examples], predicted, test.classes),
            "transcribed": transcribed, "taxonomy": scorer.taxonomy.name,
            "model": score_config.model}

"""Synthetic emotional speech for LanSER in miniature (espeak-ng, deterministic by seed).

- :mod:`.sentences`: 420 hand-written sentences whose words carry one of CREMA-D's six emotions;
- :mod:`.speech`: the prosody model, unlabeled pre-training speech whose voice emotion matches
  the text's with a probability, a CREMA-D-like labeled tree, weak-label agreement.

``python -m lanser_fast.synth pretrain|cremad|agreement`` is the command line; ``lanser-fast
experiment lanser-mini`` runs the whole method on these corpora. Needs the ``espeak-ng`` binary.
"""

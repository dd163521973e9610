"""Emotion taxonomies: built-ins, taxonomy files, mappings onto coarser taxonomies.

Example::

    from lanser_fast.taxonomy import load_taxonomy
    taxonomy = load_taxonomy("goemotions28")         # a built-in name, or a .txt / .yaml file
    taxonomy.labels, taxonomy.hypotheses("The emotion of the conversation is {}.")

Built-ins (``builtin.py``, each with its source)
------------------------------------------------
- ``iemocap4``: neutral, happy, sad, angry (IEMOCAP's excited counts as happy);
- ``cremad6``: anger, disgust, fear, happy, neutral, sad;
- ``ekman7``: Ekman's six + neutral;
- ``goemotions28``: GoEmotions' 27 + neutral, the default (``DEFAULT_TAXONOMY``; LanSER's
  prompt ``DEFAULT_TEMPLATE`` is "The emotion of the conversation is {}.").

Files (``taxonomy.py``)
-----------------------
Plain text (one label per line, ``#`` comments) or YAML with a prompt word per label and a
mapping onto a coarser taxonomy::

    name: fine43
    maps_to: iemocap4
    labels:
      - {label: amusement, prompt: amused, maps_to: happy}
      - {label: calm, maps_to: neutral}

Empty files, duplicate or blank labels and mappings to unknown labels fail (``TaxonomyError``)
naming the line. The mapping (``Taxonomy.mapping``, ``Taxonomy.to_coarse``) is how ``zeroshot``
and ``prompts`` score fine labels against a dataset's coarser classes.
"""

from lanser_fast.taxonomy.builtin import BUILTIN
from lanser_fast.taxonomy.taxonomy import (
    Taxonomy,
    TaxonomyError,
    builtin_taxonomy,
    load_taxonomy,
)

DEFAULT_TAXONOMY = "goemotions28"  # the finest built-in (LanSER's default for weak labels)
DEFAULT_TEMPLATE = "The emotion of the conversation is {}."  # the paper's prompt

__all__ = ["BUILTIN", "DEFAULT_TAXONOMY", "DEFAULT_TEMPLATE", "Taxonomy", "TaxonomyError",
           "builtin_taxonomy", "load_taxonomy"]

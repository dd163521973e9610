"""Taxonomies: the label sets weak labels are drawn from, and mappings between them.

A taxonomy is a built-in name (``goemotions28``, ...) or a file:

- plain text: one label per line (``#`` starts a comment line);
- YAML, where the word put in the prompt template may differ from the label name and each label
  may map to a label of a coarser taxonomy (used for zero-shot evaluation, e.g. a fine
  43-label taxonomy onto ``iemocap4``)::

      name: fine43                 # optional (default: the file name)
      source: my notes             # optional
      maps_to: iemocap4            # optional: the coarser taxonomy (built-in name or file)
      labels:
        - amusement                # prompt word = label, mapping needed if maps_to is set
        - {label: anger, prompt: angry, maps_to: angry}

Bad files (empty, duplicate or blank labels, a mapping to an unknown label) raise
:class:`TaxonomyError` naming the file and line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from lanser_fast.taxonomy.builtin import BUILTIN

YAML_SUFFIXES = (".yaml", ".yml")


class TaxonomyError(ValueError):
    """A taxonomy that cannot be used, with the file and line to fix."""

    def __init__(self, where: str, reason: str, line: int | None = None):
        self.where, self.reason, self.line = where, reason, line
        at = f"{where}:{line}" if line is not None else where
        super().__init__(f"taxonomy {at}: {reason}")


@dataclass(frozen=True)
class Taxonomy:
    name: str  # built-in name or file stem
    labels: tuple[str, ...]  # output labels, in order (score vectors follow this order)
    prompts: tuple[str, ...]  # word put in the template for each label
    source: str  # where the label list comes from, one line
    coarse: "Taxonomy | None" = None  # the taxonomy `mapping` maps onto
    mapping: tuple[str, ...] | None = None  # coarse label of each label, in label order

    def __len__(self) -> int:
        return len(self.labels)

    def hypotheses(self, template: str) -> list[str]:
        """The hypothesis of every label: ``template.format(prompt)``."""
        return [template.format(prompt) for prompt in self.prompts]

    def to_coarse(self, label: str) -> str:
        """The coarse label ``label`` maps to."""
        if self.mapping is None:
            raise ValueError(f"taxonomy {self.name} has no mapping to a coarser taxonomy")
        return self.mapping[self.labels.index(label)]


def builtin_taxonomy(name: str) -> Taxonomy:
    labels, source = BUILTIN[name]
    return Taxonomy(name=name, labels=labels, prompts=labels, source=source)


def load_taxonomy(spec: str | os.PathLike) -> Taxonomy:
    """A built-in taxonomy by name, or a taxonomy file (plain text or YAML)."""
    if isinstance(spec, str) and spec in BUILTIN:
        return builtin_taxonomy(spec)
    path = Path(spec)
    if not path.is_file():
        raise TaxonomyError(str(spec), f"not a built-in taxonomy ({', '.join(BUILTIN)}) and no "
                                       "such file")
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in YAML_SUFFIXES:
        return _from_yaml(text, str(path), path.stem)
    return _from_text(text, str(path), path.stem)


def _from_text(text: str, where: str, name: str) -> Taxonomy:
    lines = text.splitlines()
    while lines and not lines[-1].strip():  # trailing blank lines are not labels
        lines.pop()
    labels: list[tuple[str, int]] = []
    for number, raw in enumerate(lines, start=1):
        if raw.lstrip().startswith("#"):
            continue
        if not raw.strip():
            raise TaxonomyError(where, "blank label (remove the empty line)", number)
        labels.append((raw.strip(), number))
    return _build(name, labels, None, None, f"file {where}", where)


def _from_yaml(text: str, where: str, name: str) -> Taxonomy:
    import yaml

    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise TaxonomyError(where, f"not valid YAML: {getattr(exc, 'problem', exc)}",
                            mark.line + 1 if mark else None) from None
    if root is None:
        raise TaxonomyError(where, "empty file: list the labels under 'labels:'")
    if not isinstance(root, yaml.MappingNode):
        raise TaxonomyError(where, "expected a mapping with 'labels:'", _line(root))
    fields = {key.value: value for key, value in root.value}
    unknown = set(fields) - {"name", "source", "maps_to", "labels"}
    if unknown:
        raise TaxonomyError(where, f"unknown keys {sorted(unknown)} (use name, source, maps_to, "
                                   "labels)", _line(root))
    node = fields.get("labels")
    if not isinstance(node, yaml.SequenceNode):
        raise TaxonomyError(where, "'labels:' must be a list of labels",
                            _line(node) if node is not None else _line(root))
    coarse = None
    if "maps_to" in fields:
        target = _scalar(fields["maps_to"], where, "maps_to")
        try:
            coarse = load_taxonomy(target)
        except TaxonomyError as exc:
            raise TaxonomyError(where, f"maps_to {target!r}: {exc.reason}",
                                _line(fields["maps_to"])) from None
    labels, prompts, targets = [], {}, {}
    for item in node.value:
        if isinstance(item, yaml.ScalarNode):
            label = _scalar(item, where, "label")
        elif isinstance(item, yaml.MappingNode):
            entry = {key.value: value for key, value in item.value}
            extra = set(entry) - {"label", "prompt", "maps_to"}
            if extra or "label" not in entry:
                raise TaxonomyError(where, "a label entry has 'label' and optionally 'prompt' "
                                           "and 'maps_to'", _line(item))
            label = _scalar(entry["label"], where, "label")
            if "prompt" in entry:
                prompts[label] = _scalar(entry["prompt"], where, "prompt")
            if "maps_to" in entry:
                targets[label] = (_scalar(entry["maps_to"], where, "maps_to"),
                                  _line(entry["maps_to"]))
        else:
            raise TaxonomyError(where, "a label is a string or a {label: ...} mapping",
                                _line(item))
        labels.append((label, _line(item)))
    source = _scalar(fields["source"], where, "source") if "source" in fields else f"file {where}"
    name = _scalar(fields["name"], where, "name") if "name" in fields else name
    taxonomy = _build(name, labels, prompts, None, source, where)
    if coarse is None:
        if targets:
            label, (_, line) = next(iter(targets.items()))
            raise TaxonomyError(where, f"label {label!r} has maps_to but the file sets no "
                                       "top-level 'maps_to:' taxonomy", line)
        return taxonomy
    mapping = []
    for label, line in labels:
        if label not in targets:
            raise TaxonomyError(where, f"label {label!r} has no maps_to (every label must map "
                                       f"onto {coarse.name})", line)
        target, target_line = targets[label]
        if target not in coarse.labels:
            raise TaxonomyError(where, f"label {label!r} maps to {target!r}, which is not a "
                                       f"label of {coarse.name} ({', '.join(coarse.labels)})",
                                target_line)
        mapping.append(target)
    return Taxonomy(name=taxonomy.name, labels=taxonomy.labels, prompts=taxonomy.prompts,
                    source=taxonomy.source, coarse=coarse, mapping=tuple(mapping))


def _build(name: str, labels: list[tuple[str, int]], prompts: dict[str, str] | None,
           mapping, source: str, where: str) -> Taxonomy:
    if not labels:
        raise TaxonomyError(where, "no labels (empty taxonomy)")
    seen: dict[str, int] = {}
    for label, line in labels:
        if not label.strip():
            raise TaxonomyError(where, "blank label", line)
        if label in seen:
            raise TaxonomyError(where, f"duplicate label {label!r} (first on line "
                                       f"{seen[label]})", line)
        seen[label] = line
    names = tuple(label for label, _ in labels)
    words = tuple((prompts or {}).get(label, label) for label in names)
    return Taxonomy(name=name, labels=names, prompts=words, source=source)


def _scalar(node, where: str, what: str) -> str:
    import yaml

    if not isinstance(node, yaml.ScalarNode) or not str(node.value).strip():
        raise TaxonomyError(where, f"'{what}' must be a non-empty string", _line(node))
    return str(node.value).strip()


def _line(node) -> int:
    return node.start_mark.line + 1

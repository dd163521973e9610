"""Taxonomies: built-ins, text and YAML files, mappings, and errors that name the line."""

from __future__ import annotations

import pytest

from lanser_fast.taxonomy import (
    BUILTIN,
    DEFAULT_TAXONOMY,
    DEFAULT_TEMPLATE,
    TaxonomyError,
    load_taxonomy,
)


def test_builtins_have_exact_label_lists_and_sources():
    assert load_taxonomy("iemocap4").labels == ("neutral", "happy", "sad", "angry")
    assert load_taxonomy("cremad6").labels == ("anger", "disgust", "fear", "happy", "neutral",
                                                "sad")
    assert load_taxonomy("ekman7").labels == ("anger", "disgust", "fear", "happiness",
                                              "sadness", "surprise", "neutral")
    go = load_taxonomy("goemotions28")
    assert len(go) == 28 and go.labels[-1] == "neutral" and len(set(go.labels)) == 28
    assert {"admiration", "grief", "realization", "remorse"} <= set(go.labels)
    assert DEFAULT_TAXONOMY == "goemotions28"
    for name in BUILTIN:
        assert load_taxonomy(name).source


def test_hypotheses_use_the_prompt_words():
    assert load_taxonomy("iemocap4").hypotheses(DEFAULT_TEMPLATE)[3] == \
        "The emotion of the conversation is angry."


def test_text_file(tmp_path):
    path = tmp_path / "mine.txt"
    path.write_text("# my labels\ncalm\n  excited \nbored\n\n")
    taxonomy = load_taxonomy(path)
    assert taxonomy.name == "mine" and taxonomy.labels == ("calm", "excited", "bored")
    assert taxonomy.prompts == taxonomy.labels and taxonomy.mapping is None


def test_yaml_file_with_prompts_and_mapping(tmp_path):
    path = tmp_path / "fine.yaml"
    path.write_text(
        "name: fine5\n"
        "source: a test\n"
        "maps_to: iemocap4\n"
        "labels:\n"
        "  - {label: amusement, prompt: amused, maps_to: happy}\n"
        "  - label: fury\n"
        "    prompt: furious\n"
        "    maps_to: angry\n"
        "  - {label: calm, maps_to: neutral}\n"
        "  - {label: grief, prompt: grieving, maps_to: sad}\n"
        "  - {label: glee, maps_to: happy}\n"
    )
    taxonomy = load_taxonomy(path)
    assert taxonomy.name == "fine5" and taxonomy.source == "a test"
    assert taxonomy.labels == ("amusement", "fury", "calm", "grief", "glee")
    assert taxonomy.prompts == ("amused", "furious", "calm", "grieving", "glee")
    assert taxonomy.coarse.name == "iemocap4"
    assert [taxonomy.to_coarse(label) for label in taxonomy.labels] == \
        ["happy", "angry", "neutral", "sad", "happy"]
    assert taxonomy.hypotheses("It is {}.")[1] == "It is furious."


@pytest.mark.parametrize("name,text,line,reason", [
    ("empty.txt", "", None, "no labels"),
    ("comments.txt", "# nothing\n", None, "no labels"),
    ("dup.txt", "calm\nangry\ncalm\n", 3, "duplicate label 'calm' (first on line 1)"),
    ("blank.txt", "calm\n\nangry\n", 2, "blank label"),
    ("empty.yaml", "", None, "empty file"),
    ("nolabels.yaml", "name: x\n", 1, "'labels:' must be a list"),
    ("dup.yaml", "labels:\n  - calm\n  - calm\n", 3, "duplicate label 'calm'"),
    ("blank.yaml", "labels:\n  - calm\n  - ''\n", 3, "'label' must be a non-empty string"),
    ("unknown.yaml", "maps_to: iemocap4\nlabels:\n  - {label: calm, maps_to: neutral}\n"
                     "  - {label: glee, maps_to: joyful}\n", 4,
     "label 'glee' maps to 'joyful', which is not a label of iemocap4"),
    ("unmapped.yaml", "maps_to: iemocap4\nlabels:\n  - {label: calm, maps_to: neutral}\n"
                      "  - glee\n", 4, "label 'glee' has no maps_to"),
    ("nocoarse.yaml", "labels:\n  - {label: calm, maps_to: neutral}\n", 2,
     "sets no top-level 'maps_to:'"),
    ("badcoarse.yaml", "maps_to: nope\nlabels:\n  - calm\n", 1, "maps_to 'nope'"),
    ("badkey.yaml", "labels:\n  - {label: calm, colour: blue}\n", 2, "a label entry has"),
    ("syntax.yaml", "labels: [calm,\n", 2, "not valid YAML"),
])
def test_bad_files_name_the_line(tmp_path, name, text, line, reason):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(TaxonomyError) as info:
        load_taxonomy(path)
    assert reason in str(info.value)
    assert info.value.line == line
    assert str(path) in str(info.value)


def test_unknown_name_lists_the_builtins():
    with pytest.raises(TaxonomyError, match="not a built-in taxonomy .*goemotions28"):
        load_taxonomy("goemotions29")

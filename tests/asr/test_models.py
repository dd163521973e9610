"""Whisper models for CTranslate2: hub ids, folders, conversion once, lang_ids repair, errors."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from lanser_fast.asr.models import (
    WhisperModelError,
    compute_type,
    language_token_ids,
    repair_lang_ids,
    resolve_whisper,
)

HUB_ID = "openai/whisper-tiny"

pytestmark = pytest.mark.usefixtures("lanser_cache")  # a cache of its own


def test_hub_id_is_converted_once_with_language_ids(hub_models):
    info = resolve_whisper(HUB_ID)
    assert (info.path / "model.bin").is_file() and info.converted_from == hub_models[HUB_ID]
    assert info.n_mels == 80 and info.multilingual
    config = json.loads((info.path / "config.json").read_text())
    assert config["lang_ids"] == language_token_ids(hub_models[HUB_ID] / "tokenizer.json")
    assert len(config["lang_ids"]) == 99  # tiny's multilingual tokenizer: 99 languages
    built = (info.path / "model.bin").stat().st_mtime_ns
    again = resolve_whisper(HUB_ID)
    assert again.path == info.path and (again.path / "model.bin").stat().st_mtime_ns == built
    assert resolve_whisper(str(info.path)).path == info.path  # a CTranslate2 folder as is


def test_folder_without_lang_to_id_gets_lang_ids_repaired(hub_models, tmp_path):
    """A checkpoint whose generation config has no lang_to_id (older saves): the converter
    falls back to a tokenizer attribute transformers 5 removed and writes no languages."""
    import ctranslate2

    folder = tmp_path / "whisper-old-generation-config"
    shutil.copytree(hub_models[HUB_ID], folder)
    generation = json.loads((folder / "generation_config.json").read_text())
    generation.pop("lang_to_id", None)
    (folder / "generation_config.json").write_text(json.dumps(generation))
    info = resolve_whisper(str(folder))
    ids = json.loads((info.path / "config.json").read_text())["lang_ids"]
    assert ids == language_token_ids(folder / "tokenizer.json") and len(ids) == 99
    model = ctranslate2.models.Whisper(str(info.path), device="cpu", compute_type="float32")
    features = ctranslate2.StorageView.from_array(np.zeros((1, 80, 3000), np.float32))
    languages = model.detect_language(features)[0]
    assert len(languages) == 99 and languages[0][0].startswith("<|")


def test_repair_leaves_good_and_english_only_configs(hub_models, tmp_path):
    source = hub_models[HUB_ID]
    good = tmp_path / "good"
    good.mkdir()
    (good / "config.json").write_text(json.dumps({"lang_ids": [50259]}))
    assert not repair_lang_ids(good, source)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "config.json").write_text(json.dumps({"lang_ids": []}))
    english = tmp_path / "english-source"
    shutil.copytree(source, english)
    config = json.loads((english / "config.json").read_text())
    (english / "config.json").write_text(json.dumps({**config, "vocab_size": 51864}))
    assert not repair_lang_ids(empty, english)  # an English-only vocabulary: no languages
    assert repair_lang_ids(empty, source)
    assert len(json.loads((empty / "config.json").read_text())["lang_ids"]) == 99


@pytest.mark.parametrize("spec,message", [
    ("nobody/no-whisper", "'nobody/no-whisper': nobody/no-whisper could not be loaded"),
    ("large-v3-turbo", "mobiuslabsgmbh/faster-whisper-large-v3-turbo could not be loaded"),
    ("tinyy", "faster-whisper name (tiny.en, tiny,"),
    ("./no/such/folder", "no such folder"),
])
def test_missing_models_fail_naming_them(hub_models, spec, message):
    with pytest.raises(WhisperModelError, match=message.replace("(", r"\(")):
        resolve_whisper(spec)


def test_folder_that_is_not_a_whisper_model(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(WhisperModelError, match="neither a CTranslate2 model"):
        resolve_whisper(str(tmp_path))


def test_compute_types_per_device():
    assert compute_type("cpu") == "int8" and compute_type("cuda:1") == "float16"
    assert compute_type("cpu", "int8_float32") == "int8_float32"
    with pytest.raises(ValueError, match="not available on cpu"):
        compute_type("cpu", "float16")

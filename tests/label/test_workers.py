"""Worker processes: several CPU workers, one worker per GPU, same rows as one process."""

from __future__ import annotations

import json

import pytest

from lanser_fast.label.corpus import label_corpus
from lanser_fast.manifest import open_inputs
from tests.label.common import label_config, rows_of, same_rows


def test_two_workers_give_the_same_rows(baseline, corpus, tmp_path):
    out = tmp_path / "out"
    summary = label_corpus(open_inputs([str(corpus)]), out, label_config(), workers=2)
    same_rows(rows_of(out), baseline)
    assert summary.files == 8 and summary.rows == 8
    assert {p.name.split("-")[1] for p in out.glob("part-*.parquet")} <= {"w0", "w1"}
    record = json.loads((out / "_run.json").read_text())
    assert record["status"] == "done" and record["workers"] == 2
    assert record["identity"]["nli"]["taxonomy"] == "goemotions28"


def test_thread_counts_and_batch_sizes_give_the_same_rows(baseline, corpus, tmp_path):
    """One thread everywhere, Whisper batches of 3 instead of 4 and NLI chunks of 3 transcripts
    instead of 32: other batch partners for every utterance and transcript, the same rows."""
    from dataclasses import replace

    base = label_config()
    config = label_config(asr=replace(base.asr, threads=1, batch_size=3),
                          nli=replace(base.nli, threads=1), decode_threads=1, nli_chunk=3)
    label_corpus(open_inputs([str(corpus)]), tmp_path / "out", config)
    same_rows(rows_of(tmp_path / "out"), baseline)


@pytest.mark.requires_cuda
def test_one_worker_per_gpu_labels_every_input(hub_models, corpus, tmp_path):
    import torch

    gpus = torch.cuda.device_count()
    out = tmp_path / "out"
    summary = label_corpus(open_inputs([str(corpus)]), out, label_config(), gpus=gpus)
    rows = rows_of(out)
    assert len(rows) == 8 and summary.devices == gpus
    assert all(r["error"] is None and r["weak_label"] is not None for r in rows.values())
    assert {p.name.split("-")[1] for p in out.glob("part-*.parquet")} <= \
        {f"w{rank}" for rank in range(gpus)}


@pytest.mark.parametrize("inherited,expected", [
    (None, ["0", "1"]),  # no mask: the first devices
    ("4,5", ["4", "5"]),  # a scheduler's mask: worker k gets the k-th visible device
    ("GPU-8a3f,GPU-77c1,GPU-0b2e", ["GPU-8a3f", "GPU-77c1"]),  # UUIDs
    (" 6 , 7 ", ["6", "7"]),
])
def test_gpu_workers_honour_an_inherited_device_mask(inherited, expected):
    from lanser_fast.label.workers import worker_devices

    assert worker_devices(2, inherited) == expected


@pytest.mark.parametrize("inherited", ["", "3", "2,-1,5"])
def test_too_few_visible_devices_for_the_gpu_workers_is_refused(inherited):
    from lanser_fast.label.workers import worker_devices

    with pytest.raises(ValueError, match="device"):
        worker_devices(2, inherited)

"""``label --ray``: the Ray Data job on a local Ray gives the rows of the one-process run, and
stops when the model fails as a whole."""

from __future__ import annotations

import json
import os

import pytest

from lanser_fast.manifest import open_inputs
from tests.label.common import WHISPER, label_config, rows_of, same_rows


@pytest.fixture(scope="module")
def local_ray(hub_models, label_cache):
    import ray

    ray.init(num_cpus=2, object_store_memory=100 * 1024 * 1024, include_dashboard=False,
             log_to_driver=False, runtime_env={"env_vars": {
                 k: os.environ[k] for k in ("HF_HOME", "HF_HUB_OFFLINE", "LANSER_FAST_CACHE")}})
    yield
    ray.shutdown()


def test_ray_job_on_a_local_ray_gives_the_same_rows(local_ray, baseline, corpus, tmp_path):
    from lanser_fast.label.ray_job import label_with_ray

    out = tmp_path / "out"
    summary = label_with_ray(open_inputs([str(corpus)]), out, label_config(), address=None)
    assert summary.rows == 8
    same_rows(rows_of(out), baseline)
    again = label_with_ray(open_inputs([str(corpus)]), out, label_config(), address=None)
    assert again.skipped == 8 and again.rows == 0


def test_ray_job_stops_when_the_model_fails_as_a_whole(local_ray, corpus, tmp_path):
    import shutil
    from dataclasses import replace

    from lanser_fast.asr.models import resolve_whisper
    from lanser_fast.label.ray_job import label_with_ray
    from lanser_fast.stop_guard import StopRule, SystemicFailure

    broken = tmp_path / "broken-model"  # says 128 mels beside an 80-mel model
    shutil.copytree(resolve_whisper(WHISPER).path, broken)
    settings = json.loads((broken / "preprocessor_config.json").read_text())
    (broken / "preprocessor_config.json").write_text(json.dumps({**settings, "feature_size": 128}))
    base = label_config()
    config = replace(base, asr=replace(base.asr, model=str(broken)), stop=StopRule(first=4))
    out = tmp_path / "out"
    with pytest.raises(SystemicFailure, match="first 4 utterances"):
        label_with_ray(open_inputs([str(corpus)]), out, config, address=None)
    assert not list(out.glob("part-*.parquet"))  # no error rows of the broken model
    run = json.loads((out / "_run.json").read_text())
    assert run["status"] == "stopped" and "first 4 utterances" in run["stopped"]


def test_each_gpu_gets_one_actor_running_both_stages():
    """Half-GPU ASR and NLI actors could share GPUs unevenly; one actor per GPU holding it whole
    cannot (Ray's GPU accounting), and runs both models."""
    from lanser_fast.label.ray_job import _AsrStage, _LabelStage, _NliStage, stage_plan

    assert [(s, a, g) for s, _, a, g, _ in stage_plan(gpus=4, cpus=64)] == [(_LabelStage, 4, 1)]
    cpu = stage_plan(gpus=0, cpus=16)
    assert [s for s, *_ in cpu] == [_AsrStage, _NliStage]
    assert all(g == 0 and c >= 1 for *_, g, c in cpu)


def test_ray_job_with_gpus_gives_the_same_rows(baseline, corpus, tmp_path, hub_models,
                                              label_cache, monkeypatch):
    """Two (fake) GPUs: the one-actor-per-GPU plan, on CPU tensors, gives the one-process rows."""
    import ray

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "98,99")  # the actors' masks: no real GPU

    from lanser_fast.label.ray_job import label_with_ray

    if ray.is_initialized():
        ray.shutdown()
    ray.init(num_cpus=2, num_gpus=2, object_store_memory=100 * 1024 * 1024,
             include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": {
                 k: os.environ[k] for k in ("HF_HOME", "HF_HUB_OFFLINE", "LANSER_FAST_CACHE")}})
    try:
        out = tmp_path / "out"
        summary = label_with_ray(open_inputs([str(corpus)]), out, label_config(), address=None)
        assert summary.rows == 8 and summary.devices == 2
        same_rows(rows_of(out), baseline)
    finally:
        ray.shutdown()

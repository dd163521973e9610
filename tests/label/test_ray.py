"""``label --ray``: the Ray Data job on a local Ray gives the rows of the one-process run."""

from __future__ import annotations

import os

from lanser_fast.manifest import open_inputs
from tests.label.common import label_config, rows_of, same_rows


def test_ray_job_on_a_local_ray_gives_the_same_rows(baseline, corpus, tmp_path):
    import ray

    from lanser_fast.label.ray_job import label_with_ray

    ray.init(num_cpus=2, object_store_memory=100 * 1024 * 1024, include_dashboard=False,
             log_to_driver=False, runtime_env={"env_vars": {
                 k: os.environ[k] for k in ("HF_HOME", "HF_HUB_OFFLINE", "LANSER_FAST_CACHE")}})
    try:
        out = tmp_path / "out"
        summary = label_with_ray(open_inputs([str(corpus)]), out, label_config(), address=None)
        assert summary.rows == 8
        same_rows(rows_of(out), baseline)
        again = label_with_ray(open_inputs([str(corpus)]), out, label_config(), address=None)
        assert again.skipped == 8 and again.rows == 0
    finally:
        ray.shutdown()

"""``label --ray`` against a real two-node Ray cluster on this machine: a head (no GPU) and a
worker node with two fake GPUs, each started with ``ray start`` as its own processes, the job
submitted by a third process through the command line. The worker node's raylet is killed with
SIGKILL once the first batch of inputs is labeled: the job stops (exit 1, finished rows kept)
instead of waiting forever for the lost GPUs; with the node back, the same command resumes, and
every input has its rows exactly once, those of the one-process run.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from lanser_fast.label.corpus import label_corpus
from lanser_fast.manifest import open_inputs
from tests.label.common import NEW_TOKENS, NLI, WHISPER, label_config, rows_of, same_rows

BIN = Path(sys.executable).parent
WORKER_TAG = "lanser_test_worker"  # a custom resource: finds the worker node's raylet
JOB = ["--asr-model", WHISPER, "--nli-model", NLI, "--compute-type", "float32",
       "--max-new-tokens", str(NEW_TOKENS)]  # = label_config()
FAKE_GPUS = "98,99"  # as CUDA_VISIBLE_DEVICES: Ray hands them out, CUDA finds neither
ACTOR_TASK = "ray::MapWorker(MapBatches(_LabelStage)).submit"  # an actor's title while it labels


@pytest.fixture(scope="module")
def big_corpus(tmp_path_factory) -> Path:
    """48 clips: three batches of 16 inputs, two labeled at once by the two actors."""
    from tools.synth_speech import synthesize_corpus, uniform_durations

    out = tmp_path_factory.mktemp("cluster-corpus")
    synthesize_corpus(out, 48, seed=5, durations=uniform_durations(0.5, 2.0))
    return out


@pytest.fixture(scope="module")
def big_baseline(labeler, big_corpus, tmp_path_factory) -> dict[str, dict]:
    out = tmp_path_factory.mktemp("cluster-baseline") / "out"
    label_corpus(open_inputs([str(big_corpus)]), out, label_config(), labeler=labeler)
    return rows_of(out)


class Cluster:
    """A head and a worker node started with ``ray start`` (their own HOME: no stray auth token
    of the machine applies), stopped with ``ray stop`` at the end."""

    def __init__(self, home: Path, temp: str):
        import ray

        if ray.is_initialized():  # this process must not hold a local Ray of its own
            ray.shutdown()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        # a Ray started earlier in this process leaves RAY_AUTH_MODE=token in its environment
        # (seen with Ray 2.60): the cluster gets its own HOME and no inherited auth settings
        self.env = {**{k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH")},
                    "HOME": str(home), "RAY_USAGE_STATS_ENABLED": "0"}
        # fake GPUs 98 and 99: an actor's mask names no real device, on a GPU box too
        self.worker_env = {**self.env, "CUDA_VISIBLE_DEVICES": FAKE_GPUS}
        self._ray("start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(self.port),
                  "--num-cpus", "1", "--num-gpus", "0", "--include-dashboard", "false",
                  "--object-store-memory", str(100 << 20), "--temp-dir", temp)

    def start_worker(self) -> None:
        self._ray("start", "--address", self.address, "--node-ip-address", "127.0.0.1",
                  "--num-cpus", "2", "--num-gpus", "2", "--resources",
                  json.dumps({WORKER_TAG: 1}), "--object-store-memory", str(100 << 20),
                  env=self.worker_env)
        deadline = time.monotonic() + 60
        while "/2.0 GPU" not in self._status():  # "0.0/2.0 GPU" once the node has joined
            assert time.monotonic() < deadline, "the worker node did not join"
            time.sleep(1)

    def kill_worker_raylet(self) -> None:
        found = subprocess.run(["pgrep", "-f", f"raylet.*{WORKER_TAG}"], capture_output=True,
                               text=True).stdout.split()
        assert found, "no raylet of the worker node"
        for pid in found:
            os.kill(int(pid), signal.SIGKILL)

    def stop(self) -> None:
        subprocess.run([str(BIN / "ray"), "stop", "--force"], env=self.env, capture_output=True,
                       timeout=120)

    def _status(self) -> str:
        return subprocess.run([str(BIN / "ray"), "status", "--address", self.address],
                              env=self.env, capture_output=True, text=True, timeout=60).stdout

    def _ray(self, *args: str, env=None) -> None:
        done = subprocess.run([str(BIN / "ray"), *args, "--disable-usage-stats"],
                              env=env or self.env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture
def cluster(tmp_path, label_cache):
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths have a limit
    made = Cluster(tmp_path / "home", temp)
    try:
        made.start_worker()
        yield made
    finally:
        made.stop()
        shutil.rmtree(temp, ignore_errors=True)


def _label(cluster: Cluster, corpus: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen([str(BIN / "lanser-fast"), "label", str(corpus), *JOB, "--ray",
                             cluster.address, "--ray-wait-s", "15", "--out", str(out)],
                            env={**cluster.env, "COLUMNS": "200"}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _after_first_batch(job: subprocess.Popen, timeout_s: float = 240) -> None:
    """Until both actors labeled at once and one of them finished its batch."""
    both, deadline = False, time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert job.poll() is None, "the job ended before the kill: " + job.communicate()[1]
        titles = subprocess.run(["ps", "-eo", "args"], capture_output=True,
                                text=True).stdout.splitlines()
        busy = sum(1 for t in titles if t.startswith(ACTOR_TASK))
        both = both or busy >= 2
        if both and busy < 2:
            return
        time.sleep(0.2)
    raise AssertionError("the actors never labeled a batch")


def test_a_lost_worker_node_stops_the_job_and_the_rerun_completes_it_exactly_once(
        cluster, big_corpus, big_baseline, tmp_path):
    out = tmp_path / "out"
    job = _label(cluster, big_corpus, out)
    try:
        _after_first_batch(job)
        cluster.kill_worker_raylet()
        _, stderr = job.communicate(timeout=240)
    finally:
        if job.poll() is None:
            job.kill()
    assert job.returncode == 1, stderr
    assert "lost nodes (GPU 2 -> 0" in stderr and "run the same command to resume" in stderr
    assert json.loads((out / "_run.json").read_text())["status"] == "stopped"
    kept = rows_of(out)  # no input twice
    assert len(kept) < len(big_baseline)
    same_rows(kept, {key: big_baseline[key] for key in kept})

    cluster.start_worker()
    rerun = _label(cluster, big_corpus, out)
    stdout, stderr = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, stdout + stderr
    assert json.loads((out / "_run.json").read_text())["status"] == "done"
    same_rows(rows_of(out), big_baseline)

"""The output folder of a corpus run (``label``, ``transcribe``): one writer at a time, one
configuration per folder.

``open_output`` takes an exclusive lock on ``OUT/.lock`` (released by the operating system when
the process dies, so a killed run never blocks its resume), refuses a folder whose ``_run.json``
records other row-deciding settings (the stage's ``identity``) or another stage's output unless
``force``, deletes the temporary files of shards a killed run did not finish, records the
configuration before any row is written, and tells which inputs are done.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from lanser_fast.manifest import write_json_atomic
from lanser_fast.manifest.writer import remove_leftovers
from lanser_fast.runs import RUN_SIDECAR, done_inputs

LOCK_NAME = ".lock"


class OutputError(ValueError):
    """The output folder cannot take this run (locked, or holding another configuration)."""


@dataclass
class Output:
    path: Path
    lock: object  # the held FileLock
    done: set[str]  # input ids whose rows are all written
    resumed: bool
    started_at: float
    stage: str
    identity: dict  # the settings that decide rows

    def record(self, config: dict, status: str, extra: dict | None = None) -> None:
        """Write ``_run.json``: the configuration, its identity and (at the end) the summary."""
        write_json_atomic(self.path / RUN_SIDECAR, {
            "stage": self.stage, "status": status, "identity": self.identity,
            "config": _jsonable(config), "versions": _versions(),
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(self.started_at)),
            **(extra or {}),
        })

    def release(self) -> None:
        self.lock.release()


def open_output(out_dir: str | os.PathLike, stage: str, identity: dict, *,
                force: bool = False, dry_run: bool = False) -> Output:
    from filelock import FileLock, Timeout

    path, identity = Path(out_dir), _jsonable(identity)
    if path.exists() and not path.is_dir():
        raise OutputError(f"{path} exists and is not a folder: --out names a folder of Parquet "
                          "shards")
    if dry_run and not path.exists():  # a check only: nothing is created
        parent = next(p for p in path.absolute().parents if p.exists())
        if not os.access(parent, os.W_OK):
            raise OutputError(f"cannot create the output folder {path}: {parent} is not "
                              "writable")
        return Output(path, _NoLock(), set(), resumed=False, started_at=time.time(),
                      stage=stage, identity=identity)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the output folder {path}: {exc.strerror or exc}") \
            from None
    if not os.access(path, os.W_OK):
        raise OutputError(f"the output folder {path} is not writable")
    lock = FileLock(str(path / LOCK_NAME))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise OutputError(f"another run is writing to {path} (it holds {path / LOCK_NAME}); "
                          "wait for it or use another --out") from None
    try:
        _check_config(path, stage, identity, force)
        if not dry_run:
            remove_leftovers(path)
        done = done_inputs(path)
    except BaseException:
        lock.release()
        raise
    return Output(path, lock, done, resumed=bool(done), started_at=time.time(), stage=stage,
                  identity=identity)


class _NoLock:
    def release(self) -> None:
        pass


def _check_config(path: Path, stage: str, now: dict, force: bool) -> None:
    sidecar = path / RUN_SIDECAR
    has_rows = any(path.glob("part-*.parquet"))
    if not sidecar.exists():
        if has_rows and not force:
            raise OutputError(f"{path} holds result shards but no {RUN_SIDECAR}: its "
                              "configuration is unknown. Use another --out, or --force to add "
                              "rows to it anyway")
        return
    try:
        previous = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        if force:
            return
        raise OutputError(f"{sidecar} is unreadable ({exc}); use another --out, or --force") \
            from None
    if previous.get("stage") != stage:
        if has_rows and not force:
            raise OutputError(f"{path} holds the output of '{previous.get('stage')}', not of "
                              f"'{stage}'; use another --out, or --force")
        return
    before = previous.get("identity")
    if before != now and not force:
        changed = sorted(_differences(before or {}, now))
        raise OutputError(f"{path} was written with other settings ({'; '.join(changed)}); "
                          "resuming would mix rows of two configurations. Use another --out, or "
                          "--force to resume with the new settings (rows already written keep "
                          "the old ones)")


def _differences(before: dict, now: dict, prefix: str = "") -> list[str]:
    out = []
    for key in sorted(set(before) | set(now)):
        a, b = before.get(key), now.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}: {a!r} -> {b!r}")
    return out


def _jsonable(value):
    return json.loads(json.dumps(value, default=str))


def _versions() -> dict:
    from importlib import metadata

    out = {}
    for name in ("lanser-fast", "ctranslate2", "transformers", "onnxruntime", "torch"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out

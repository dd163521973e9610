"""CTranslate2's CUDA 12 libraries from pip's nvidia wheels: found and loaded by path, so its
first encode on a GPU finds them without LD_LIBRARY_PATH (on CPU with stand-in files)."""

from __future__ import annotations

import ctypes.util
import shutil
from pathlib import Path

import pytest

from lanser_fast.asr import cuda_libs


def _system_library() -> Path:
    """A real shared library of this machine to stand in for cuBLAS (loads anywhere)."""
    name = ctypes.util.find_library("m")
    for folder in ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64"):
        if name and (Path(folder) / name).exists():
            return Path(folder) / name
    pytest.fail("no libm to stand in for the CUDA libraries")


def test_the_cuda12_wheels_are_found_and_loaded_in_order(tmp_path):
    site = tmp_path / "site-packages"
    for rel in ("nvidia/cublas/lib/libcublas.so.12", "nvidia/cublas/lib/libcublasLt.so.12",
                "nvidia/cudnn/lib/libcudnn.so.9", "nvidia/cudnn/lib/libcudnn_ops.so.9",
                "nvidia/cublas/lib/libcublas.so.13"):  # a CUDA 13 file is not CTranslate2's
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(_system_library(), site / rel)
    found = [p.name for p in cuda_libs.find([tmp_path / "elsewhere", site])]
    assert found == ["libcublasLt.so.12", "libcublas.so.12", "libcudnn.so.9",
                     "libcudnn_ops.so.9"]
    assert [p.name for p in cuda_libs.preload([site])] == found
    broken = tmp_path / "broken" / "nvidia/cudnn/lib/libcudnn.so.9"  # (never overwrite a
    broken.parent.mkdir(parents=True)                                 # loaded library)
    broken.write_bytes(b"not a library")
    assert cuda_libs.find([broken.parents[3]]) == [broken]
    assert cuda_libs.preload([broken.parents[3]]) == []  # left to the probe to name


def test_nothing_is_found_without_the_wheels(tmp_path):
    assert cuda_libs.find([tmp_path]) == []
    assert cuda_libs.preload([tmp_path]) == []
    assert not cuda_libs.loadable("libdoes-not-exist.so.12")
    assert cuda_libs.loadable(_system_library().name)

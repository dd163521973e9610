"""The CUDA 12 libraries CTranslate2 4.x loads, from pip's ``nvidia-*-cu12`` wheels.

CTranslate2 4.x wheels are built against CUDA 12 and ``dlopen`` ``libcublas.so.12`` (and cuDNN 9)
at their first encode on a GPU; a current CUDA torch (a CUDA 13 build) brings
``libcublas.so.13`` only. ``tools/setup.sh`` installs ``nvidia-cublas-cu12`` and
``nvidia-cudnn-cu12`` on GPU machines, and ``preload`` loads those files by path, globally,
before CTranslate2 asks for them, so its ``dlopen`` by name finds them already loaded: nobody
exports ``LD_LIBRARY_PATH``. ``doctor`` reports whether ``libcublas.so.12`` can be loaded.
"""

from __future__ import annotations

import ctypes
import site
import sys
from pathlib import Path
from typing import Iterable

# (folder under site-packages/nvidia, file-name pattern), in load order: cuBLASLt before cuBLAS
LIBRARIES = (("cublas/lib", "libcublasLt.so.12"), ("cublas/lib", "libcublas.so.12"),
             ("cudnn/lib", "libcudnn*.so.9"))


def package_roots() -> list[Path]:
    """Where pip puts the ``nvidia`` wheels: every site-packages folder on the path."""
    roots = [*site.getsitepackages(), site.getusersitepackages(), *sys.path]
    seen, out = set(), []
    for root in map(Path, roots):
        if root not in seen and (root / "nvidia").is_dir():
            seen.add(root)
            out.append(root)
    return out


def find(roots: Iterable[Path] | None = None) -> list[Path]:
    """The CUDA 12 library files CTranslate2 needs that pip installed, in load order."""
    roots = package_roots() if roots is None else list(roots)
    found = []
    for folder, pattern in LIBRARIES:
        for root in roots:
            files = sorted((Path(root) / "nvidia" / folder).glob(pattern))
            if files:
                found += [f for f in files if f not in found]
                break
    return found


def preload(roots: Iterable[Path] | None = None) -> list[Path]:
    """Load the libraries ``find`` returns, globally; the ones that loaded. A file that does
    not load is left to CTranslate2, whose first encode (the Transcriber's probe) names it."""
    loaded = []
    for path in find(roots):
        try:
            ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)
        except OSError:
            continue
        loaded.append(path)
    return loaded


def loadable(name: str) -> bool:
    """Whether the dynamic loader finds ``name`` (e.g. ``libcublas.so.12``) now."""
    try:
        ctypes.CDLL(name)
    except OSError:
        return False
    return True

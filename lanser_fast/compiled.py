"""The one guarded loader of the compiled extension (``csrc/``, module ``_lanser_csrc``).

Importing this never fails: a missing or broken build sets ``available() == False`` and keeps
the reason in ``load_error()``, so callers fall back to the torch reference (and say so once).
"""

from __future__ import annotations

import importlib
import threading
from types import ModuleType

_module: ModuleType | None = None
_error: str | None = None
_loaded = False
_lock = threading.Lock()


def _load() -> None:
    """Import the extension once. Threads that ask while another is importing wait for the
    outcome: a thread told "not available" mid-import would compute with the reference instead
    and give (slightly) different numbers for the same input."""
    global _module, _error, _loaded
    if _loaded:
        return
    with _lock:
        if _loaded:
            return
        try:
            _module = importlib.import_module("lanser_fast._lanser_csrc")
        except ImportError as exc:
            _error = f"{type(exc).__name__}: {exc}"
        _loaded = True


def available() -> bool:
    """True when the compiled ops loaded."""
    _load()
    return _module is not None


def load_error() -> str | None:
    """Why the compiled ops did not load (None when they did)."""
    _load()
    return _error


def ops() -> ModuleType:
    """The extension module; raises with the load error when it is not available."""
    _load()
    if _module is None:
        raise RuntimeError(f"lanser-fast's compiled ops are not available ({_error}); "
                           "reinstall with a C++ compiler present (pip install -e .)")
    return _module


def isa() -> str | None:
    """Instruction set the compiled kernels dispatched to (avx512, avx2, baseline)."""
    return ops().isa() if available() else None


def isas() -> list[str]:
    """Every compiled kernel instruction set this CPU can run, best first."""
    return list(ops().isas()) if available() else []

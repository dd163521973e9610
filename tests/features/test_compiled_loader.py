"""The compiled-op loader under threads: nobody is told "not available" while another thread is
importing it (a thread that was would compute its batch with the torch reference, whose numbers
differ in the 5th digit, and runs would stop being reproducible)."""

from __future__ import annotations

import importlib
import threading
import time

from lanser_fast import compiled


def test_threads_that_ask_during_the_import_wait_for_it(monkeypatch):
    real_import = importlib.import_module
    calls = []

    def slow_import(name, *args):
        calls.append(name)
        time.sleep(0.3)  # a cold import: the shared library is being loaded
        return real_import(name, *args)

    monkeypatch.setattr(compiled, "_module", None)
    monkeypatch.setattr(compiled, "_error", None)
    monkeypatch.setattr(compiled, "_loaded", False)
    monkeypatch.setattr(compiled.importlib, "import_module", slow_import)
    answers, start = [], threading.Barrier(8)

    def ask():
        start.wait()
        answers.append(compiled.available())

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [True] * 8 and calls == ["lanser_fast._lanser_csrc"]
    assert compiled.load_error() is None

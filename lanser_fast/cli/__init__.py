"""The ``lanser-fast`` command line: a thin layer over the library.

``base`` holds the Typer app and what every command shares; each command group lives in its own
module and registers itself on the app when imported here: ``stages`` (one stage on its own),
``label`` (the weak-labeling job), ``train`` (SER training and evaluation), ``bench``.
"""

import importlib

from lanser_fast.cli.base import app

COMMAND_MODULES = ("stages", "label", "train", "bench")  # in the order of --help's panels
for _module in COMMAND_MODULES:
    importlib.import_module(f"lanser_fast.cli.{_module}")

__all__ = ["app", "main"]


def main() -> None:
    app()

"""The output folder of a ``label`` run (:mod:`lanser_fast.run_output` with the label stage's
identity: the settings in ``LabelConfig.identity``)."""

from __future__ import annotations

import os

from lanser_fast.label.config import LabelConfig
from lanser_fast.run_output import Output, OutputError

__all__ = ["Output", "OutputError", "open_output"]


def open_output(out_dir: str | os.PathLike, config: LabelConfig, *, force: bool = False,
                dry_run: bool = False) -> Output:
    from lanser_fast.run_output import open_output as open_run

    return open_run(out_dir, "label", config.identity(), force=force, dry_run=dry_run)

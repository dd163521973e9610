"""Fail when a pytest run skipped a test for any reason but the GPU/TensorRT markers.

Reads the ``-ra`` short summary of a pytest log (``SKIPPED [n] file:line: reason``). A missing
optional package must not silently skip its parity tests, so only reasons starting with
``requires_cuda:`` or ``requires_tensorrt:`` (set by tests/conftest.py) are allowed.

    python tools/check_skips.py pytest.log
"""

from __future__ import annotations

import re
import sys

ALLOWED = ("requires_cuda:", "requires_tensorrt:")
_SKIP = re.compile(r"^SKIPPED \[\d+\] (?P<where>[^:]+:\d+): (?P<reason>.*)$")


def unexpected_skips(log: str) -> list[str]:
    bad = []
    for line in log.splitlines():
        match = _SKIP.match(line.strip())
        if match and not match["reason"].startswith(ALLOWED):
            bad.append(f"{match['where']}: {match['reason']}")
    return bad


def main(argv: list[str]) -> int:
    with open(argv[0], encoding="utf-8", errors="replace") as fh:
        bad = unexpected_skips(fh.read())
    for entry in bad:
        print(f"unexpected skip: {entry}", file=sys.stderr)
    if bad:
        print(f"{len(bad)} test(s) skipped for a reason other than {', '.join(ALLOWED)}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

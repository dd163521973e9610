"""IEMOCAP (Busso et al., 2008) read from its released layout, ``IEMOCAP_full_release``.

Labels come from the summary line of each turn in ``SessionN/dialog/EmoEvaluation/<dialog>.txt``
(the evaluators' consensus); the per-evaluator lines under it and the ``Categorical/``,
``Attribute/`` and ``Self-evaluation/`` subfolders are not needed for it and are not read.
IEMOCAP ships one wav per turn (``SessionN/sentences/wav/<dialog>/<turn>.wav``), so an example is
a whole file. Turns whose consensus is outside the taxonomy (frustrated, surprised, ``xxx`` = no
majority, ...) are left out without a problem: that is the usual 4-class setup, not a defect.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from lanser_fast.data.examples import Example, LabeledSet, Problem
from lanser_fast.taxonomy.builtin import BUILTIN

RELEASE_FOLDER = "IEMOCAP_full_release"  # what the release unpacks to
SESSIONS = (1, 2, 3, 4, 5)
# kind -> the part of a dialog name that selects it ("" keeps every dialog)
KINDS = {"all": "", "improvised": "_impro", "scripted": "_script"}
# Every consensus code the release uses; a code outside this set is a defect worth reporting.
CODES = frozenset({"neu", "hap", "exc", "sad", "ang", "fru", "sur", "fea", "dis", "oth", "xxx"})
# taxonomy -> {code: label}; codes not listed are dropped. Excited is merged into happy, as in the
# usual 4-class setup (and in LanSER's evaluation).
CODE_MAPS = {
    "iemocap4": {"neu": "neutral", "hap": "happy", "exc": "happy", "sad": "sad", "ang": "angry"},
}
JUNK_FILES = (".DS_Store",)  # macOS litter; ``._*`` resource forks are skipped as well

_TIMES = re.compile(r"\[\s*(\d+(?:\.\d*)?)\s*-\s*(\d+(?:\.\d*)?)\s*\]")  # [6.2901 - 8.2357]
_EVALUATOR = re.compile(r"[A-Z]+-[A-Za-z]+\d*:")  # C-E1:, A-F1:, C-M2: ...
# The speaker letter is the one before the turn number at the end of the name: script turns may
# carry extra parts (Ses03M_script01_1b_F000), so the dialog owner's letter (Ses03M) is not it.
_TURN_SPEAKER = re.compile(r"_([FM])\d{3}$")
_TRANSCRIPT = re.compile(r"(\S+)\s+\[[^\]]*\]:\s?(.*)")  # Ses01F_impro01_F000 [006.29-008.23]: Hi


def read_iemocap(root: str | os.PathLike, *, sessions: Iterable[int] | int | None = None,
                 kind: str = "all", classes: str = "iemocap4") -> LabeledSet:
    """The labeled turns of IEMOCAP under ``root`` (the release folder, or the folder holding it).

    ``sessions`` keeps some of Session1..Session5 (default: all present); ``kind`` is ``"all"``,
    ``"improvised"`` or ``"scripted"``. Each example's group is its session, for
    leave-one-session-out folds.
    """
    if classes not in CODE_MAPS:
        raise ValueError(f"IEMOCAP classes must be one of {', '.join(CODE_MAPS)}, got {classes!r}")
    if kind not in KINDS:
        raise ValueError(f"IEMOCAP kind must be one of {', '.join(KINDS)}, got {kind!r}")
    labels = BUILTIN[classes][0]
    codes = {code: labels.index(label) for code, label in CODE_MAPS[classes].items()}
    release = _release_folder(Path(os.path.abspath(root)))
    problems: list[Problem] = []
    examples: list[Example] = []
    first_seen: dict[str, str] = {}  # turn -> where it was first labeled
    for n in _sessions(release, sessions):
        for ex, where in _read_session(release / f"Session{n}", n, kind, codes, problems):
            if ex.id in first_seen:
                first_file, _, first_line = first_seen[ex.id].rpartition(":")
                same_file = where.rpartition(":")[0] == first_file
                first = f"line {first_line}" if same_file else first_seen[ex.id]
                problems.append(Problem(where, f"turn {ex.id} is labeled again (first on "
                                               f"{first}); kept the first"))
                continue
            first_seen[ex.id] = where
            examples.append(ex)
    examples.sort(key=lambda ex: (ex.group, ex.id))
    problems.sort(key=_file_order)
    return LabeledSet("iemocap", labels, tuple(examples), tuple(problems))


def _release_folder(root: Path) -> Path:
    if not root.exists():
        raise FileNotFoundError(f"IEMOCAP root {root} does not exist; expected the "
                                f"{RELEASE_FOLDER} folder (with Session1..Session5)")
    for folder in (root, root / RELEASE_FOLDER):
        try:
            if any((folder / f"Session{n}").is_dir() for n in SESSIONS):
                return folder
        except OSError as err:
            raise ValueError(f"IEMOCAP root {folder} cannot be read: {err}") from err
    raise ValueError(f"IEMOCAP root {root} holds no Session1..Session5 folder; expected the "
                     f"{RELEASE_FOLDER} folder or the folder that contains it")


def _sessions(release: Path, wanted: Iterable[int] | int | None) -> list[int]:
    present = [n for n in SESSIONS if (release / f"Session{n}").is_dir()]
    if wanted is None:
        return present
    chosen = sorted({wanted} if isinstance(wanted, int) else set(wanted))
    for n in chosen:
        if isinstance(n, bool) or n not in SESSIONS:
            raise ValueError(f"IEMOCAP sessions are 1..5, got {n!r}")
        if n not in present:
            raise ValueError(f"IEMOCAP Session{n} was asked for but {release / f'Session{n}'} "
                             f"does not exist (present: "
                             f"{', '.join(f'Session{p}' for p in present)})")
    return chosen


def _read_session(folder: Path, n: int, kind: str, codes: dict[str, int],
                  problems: list[Problem]) -> Iterable[tuple[Example, str]]:
    """(example, where it is labeled) for every kept turn of one session."""
    label_dir = folder / "dialog" / "EmoEvaluation"
    try:
        entries = sorted(os.scandir(label_dir), key=lambda e: e.name)
    except OSError as err:
        problems.append(Problem(str(label_dir), f"cannot list the session's label files "
                                                f"(<dialog>.txt): {err.strerror or err}"))
        return
    prefix = f"Ses{n:02d}"
    for entry in entries:
        name = entry.name
        if entry.is_dir() or name.startswith("._") or name in JUNK_FILES:
            continue  # Categorical/, Attribute/, Self-evaluation/, macOS resource forks
        if not name.endswith(".txt"):
            problems.append(Problem(entry.path, "unexpected file: EmoEvaluation holds "
                                                "<dialog>.txt label files"))
            continue
        dialog = name[: -len(".txt")]
        if not dialog.startswith(prefix):
            problems.append(Problem(entry.path, f"not a Session{n} dialog (its names start "
                                                f"with {prefix}); skipped"))
            continue
        if KINDS[kind] not in dialog:
            continue
        turns = [t for t in _read_labels(Path(entry.path), dialog, problems) if t[2] in codes]
        if not turns:
            continue
        wav_dir = folder / "sentences" / "wav" / dialog
        try:
            wavs = set(os.listdir(wav_dir))
        except OSError as err:  # one problem for the dialog, not one per turn
            problems.append(Problem(str(wav_dir), f"cannot list the audio of {dialog} "
                                                  f"({err.strerror or err}); its {len(turns)} "
                                                  "labeled turn(s) are skipped"))
            continue
        transcripts = _read_transcripts(folder / "dialog" / "transcriptions" / name)
        for line, turn, code in turns:
            where = f"{entry.path}:{line}"
            if f"{turn}.wav" not in wavs:
                problems.append(Problem(where, f"turn {turn} has no audio: "
                                               f"{wav_dir / (turn + '.wav')} is missing"))
                continue
            speaker = prefix + _TURN_SPEAKER.search(turn).group(1)
            yield Example(id=turn, path=str(wav_dir / f"{turn}.wav"), label=codes[code],
                          speaker=speaker, group=f"Session{n}",
                          transcript=transcripts.get(turn)), where


def _read_labels(path: Path, dialog: str,
                 problems: list[Problem]) -> Iterable[tuple[int, str, str]]:
    """(line, turn, emotion code) of every well-formed summary line of an EmoEvaluation file."""
    lines = _read_lines(path, problems)
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("%") or _EVALUATOR.match(line):
            continue  # blank, the header, one evaluator's labels
        where = f"{path}:{number}"
        if not line.startswith("["):
            problems.append(Problem(where, f"unrecognised line {line[:60]!r}"))
            continue
        fields = [f.strip() for f in line.split("\t") if f.strip()]
        if len(fields) != 4:
            problems.append(Problem(where, f"expected 4 tab-separated fields ([START - END], "
                                           f"TURN, EMOTION, [V, A, D]), found {len(fields)}"))
            continue
        times, turn, code, _vad = fields
        span = _TIMES.fullmatch(times)
        if span is None or float(span.group(2)) < float(span.group(1)):
            problems.append(Problem(where, f"bad times {times!r} (expected [START - END] in "
                                           "seconds, START <= END)"))
        elif not turn.startswith(dialog + "_") or not _TURN_SPEAKER.search(turn):
            problems.append(Problem(where, f"bad turn name {turn!r} (expected {dialog}_ "
                                           "... F000 or M000)"))
        elif code not in CODES:
            problems.append(Problem(where, f"unknown emotion code {code!r} (IEMOCAP uses "
                                           f"{', '.join(sorted(CODES))})"))
        else:
            yield number, turn, code


def _read_transcripts(path: Path) -> dict[str, str]:
    """turn -> what was said. Lines of other forms (``M_0001 ...``, notes) are not turns."""
    if not path.is_file():
        return {}
    said: dict[str, str] = {}
    for raw in _read_lines(path, []):
        match = _TRANSCRIPT.fullmatch(raw.strip())
        if match and match.group(1) not in said and match.group(2).strip():
            said[match.group(1)] = match.group(2).strip()
    return said


def _read_lines(path: Path, problems: list[Problem]) -> list[str]:
    # A stray non-UTF-8 byte in a note must not cost the whole dialog: it is replaced.
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as err:
        problems.append(Problem(str(path), f"cannot read: {err.strerror or err}"))
        return []


def _file_order(problem: Problem) -> tuple[str, int]:
    """Problems by file, then by line (a file's missing audio is found after its bad lines)."""
    path, _, line = problem.where.rpartition(":")
    return (path, int(line)) if line.isdigit() else (problem.where, 0)

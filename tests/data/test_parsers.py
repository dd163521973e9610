"""Dataset readers on fixture trees laid out like the published releases, with the release's own
oddities (resource forks, label subfolders, an empty CREMA-D clip) and planted defects; and the
splits built on what they read. No audio is decoded: the wavs are placeholder bytes."""

from __future__ import annotations

import gzip
import json
import os
import shutil
from pathlib import Path

import pytest

from lanser_fast.data.cremad import SENTENCES, read_cremad
from lanser_fast.data.examples import LabeledSet
from lanser_fast.data.iemocap import read_iemocap
from lanser_fast.data.splits import label_fraction, make_split
from lanser_fast.data.tables import read_table

WAV = b"RIFF\x24\x00\x00\x00WAVEfmt "  # placeholder: readers only check that the file exists

HEADER = "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n\n"
EVALUATORS = ("C-E2:\tNeutral;\t()\nC-E3:\tNeutral;\t()\nC-F1:\tNeutral;\t(curious)\n"
              "A-E3:\tval 3; act 2; dom  2;\t()\nA-F1:\tval 3; act 2; dom  1;\t()\n")

# (turn suffix, code) of every dialog; fru/sur/xxx are outside iemocap4 and are dropped quietly
IMPRO_TURNS = [("F000", "neu"), ("M000", "ang"), ("F001", "hap"), ("M001", "sad"),
               ("F002", "exc"), ("M002", "fru"), ("F003", "xxx")]
SCRIPT_TURNS = [("F000", "neu"), ("M000", "sad"), ("M042", "ang"), ("F001", "sur")]
# script dialog names as the release spells them, extra parts included
SCRIPTS = {1: "Ses01M_script01_1", 2: "Ses02F_script03_2", 3: "Ses03M_script01_1b",
           4: "Ses04M_script02_1", 5: "Ses05F_script02_2"}
KEPT_PER_SESSION = 5 + 3


def _summary(start: float, turn: str, code: str) -> str:
    return f"[{start:.4f} - {start + 1.5:.4f}]\t{turn}\t{code}\t[2.5000, 3.0000, 3.5000]\n"


def _dialog(session: Path, dialog: str, turns, *, wav_missing=(), extra_labels=""):
    """One dialog: EmoEvaluation file, a wav per turn, a transcription file."""
    labels, said = HEADER, []
    for i, (suffix, code) in enumerate(turns):
        turn = f"{dialog}_{suffix}"
        labels += _summary(5.0 * i + 1, turn, code) + EVALUATORS + "\n"
        said.append(f"{turn} [{5.0 * i + 1:08.4f}-{5.0 * i + 2.5:08.4f}]: Words of {suffix}.\n")
        if suffix not in wav_missing:
            wav = session / "sentences" / "wav" / dialog / f"{turn}.wav"
            wav.parent.mkdir(parents=True, exist_ok=True)
            wav.write_bytes(WAV)
    (session / "dialog" / "EmoEvaluation" / f"{dialog}.txt").write_text(labels + extra_labels)
    (session / "dialog" / "transcriptions" / f"{dialog}.txt").write_text(
        "M_0001 [001.0000-002.0000]: Um.\n" + "".join(said))


@pytest.fixture
def iemocap(tmp_path) -> Path:
    """tmp/IEMOCAP_full_release/Session1..5; returns tmp (one level above the release)."""
    release = tmp_path / "IEMOCAP_full_release"
    for n in range(1, 6):
        session = release / f"Session{n}"
        labels = session / "dialog" / "EmoEvaluation"
        for sub in ("Categorical", "Attribute", "Self-evaluation"):
            (labels / sub).mkdir(parents=True)
        (labels / "Categorical" / f"Ses0{n}F_impro01_e2_cat.txt").write_text(
            f"Ses0{n}F_impro01_F000 :Neutral; ()\n")  # would be malformed if it were read
        (session / "dialog" / "transcriptions").mkdir(parents=True)
        impro = f"Ses0{n}F_impro01"
        if n == 1:
            extra = (_summary(60, f"{impro}_F009", "neu").rsplit("\t", 1)[0] + "\n"  # 3 fields
                     + "[61.0 - x]\tSes01F_impro01_M009\tang\t[1.0, 2.0, 3.0]\n"  # bad times
                     + _summary(62, f"{impro}_M005", "zzz")  # unknown code
                     + _summary(63, f"{impro}_F000", "sad"))  # labeled twice
            _dialog(session, impro, IMPRO_TURNS + [("F004", "neu")], wav_missing={"F004"},
                    extra_labels=extra)
            (labels / f"._{impro}.txt").write_bytes(b"\x00\x05\x16\x07\x00\x02Mac OS X")
            (labels / f"{impro}.bak").write_text("stray")
        else:
            _dialog(session, impro, IMPRO_TURNS)
        _dialog(session, SCRIPTS[n], SCRIPT_TURNS)
    # the release has some CRLF files; a session without transcriptions reads with None
    crlf = release / "Session2" / "dialog" / "EmoEvaluation" / "Ses02F_impro01.txt"
    crlf.write_bytes(crlf.read_bytes().replace(b"\n", b"\r\n"))
    shutil.rmtree(release / "Session4" / "dialog" / "transcriptions")
    return tmp_path


def test_iemocap_reads_released_layout(iemocap):
    data = read_iemocap(iemocap)  # one level above IEMOCAP_full_release
    assert data.name == "iemocap"
    assert data.classes == ("neutral", "happy", "sad", "angry")
    assert len(data) == 5 * KEPT_PER_SESSION
    assert data.counts() == [10, 10, 10, 10]  # hap and exc both count as happy
    by_id = {ex.id: ex for ex in data.examples}
    assert len(by_id) == len(data)

    ex = by_id["Ses01F_impro01_M000"]
    assert (ex.label, ex.speaker, ex.group) == (3, "Ses01M", "Session1")
    assert ex.path == str(iemocap / "IEMOCAP_full_release" / "Session1" / "sentences" / "wav"
                          / "Ses01F_impro01" / "Ses01F_impro01_M000.wav")
    assert os.path.isabs(ex.path) and (ex.offset_s, ex.duration_s) == (0.0, None)
    assert ex.transcript == "Words of M000."
    assert by_id["Ses01F_impro01_F000"].label == 0  # the first label wins over the repeat
    assert by_id["Ses01F_impro01_F002"].label == 1  # exc -> happy
    # the speaker letter is the one before the turn number, not the dialog owner's
    assert by_id["Ses03M_script01_1b_F000"].speaker == "Ses03F"
    assert by_id["Ses05F_script02_2_M042"].speaker == "Ses05M"
    assert by_id["Ses05F_script02_2_M042"].label == 3
    assert by_id["Ses02F_impro01_M001"].label == 2  # CRLF file
    assert by_id["Ses04F_impro01_F000"].transcript is None  # no transcriptions folder
    dropped = {f"Ses0{n}F_impro01_{s}" for n in range(1, 6) for s in ("M002", "F003")}
    assert not dropped & set(by_id)
    assert {ex.group for ex in data.examples} == {f"Session{n}" for n in range(1, 6)}
    assert {ex.speaker for ex in data.examples} == {f"Ses0{n}{g}" for n in range(1, 6)
                                                     for g in "FM"}
    assert [ex.id for ex in data.examples] == sorted(by_id, key=lambda i: (by_id[i].group, i))

    labels = "IEMOCAP_full_release/Session1/dialog/EmoEvaluation/"
    problems = [(os.path.relpath(p.where, iemocap), p.reason) for p in data.problems]
    expected = [
        (labels + "Ses01F_impro01.bak", "unexpected file"),
        (labels + "Ses01F_impro01.txt:52", "turn Ses01F_impro01_F004 has no audio"),
        (labels + "Ses01F_impro01.txt:59", "found 3"),
        (labels + "Ses01F_impro01.txt:60", "bad times '[61.0 - x]'"),
        (labels + "Ses01F_impro01.txt:61", "unknown emotion code 'zzz'"),
        (labels + "Ses01F_impro01.txt:62", "labeled again (first on line 3)"),
    ]
    assert len(problems) == len(expected), problems
    for (where, reason), (want_where, want_reason) in zip(problems, expected):  # file order
        assert where == want_where and want_reason in reason, (where, reason)


def test_iemocap_root_kinds_and_sessions(iemocap):
    release = iemocap / "IEMOCAP_full_release"
    assert len(read_iemocap(release)) == 5 * KEPT_PER_SESSION
    impro = read_iemocap(release, kind="improvised")
    assert len(impro) == 5 * 5 and all("_impro" in ex.id for ex in impro.examples)
    scripted = read_iemocap(release, kind="scripted")
    assert len(scripted) == 5 * 3 and all("_script" in ex.id for ex in scripted.examples)
    # Session1's label defects are all in its improvised dialog; the stray file is still seen
    assert [p.where.rsplit("/", 1)[1] for p in scripted.problems] == ["Ses01F_impro01.bak"]
    some = read_iemocap(release, sessions=[3, 1, 3])
    assert {ex.group for ex in some.examples} == {"Session1", "Session3"}
    assert len(some) == 2 * KEPT_PER_SESSION
    assert {ex.group for ex in read_iemocap(release, sessions=2).examples} == {"Session2"}

    with pytest.raises(ValueError, match="kind"):
        read_iemocap(release, kind="acted")
    with pytest.raises(ValueError, match="classes"):
        read_iemocap(release, classes="ekman7")
    with pytest.raises(ValueError, match="1..5"):
        read_iemocap(release, sessions=[6])
    shutil.rmtree(release / "Session4")
    assert len(read_iemocap(release)) == 4 * KEPT_PER_SESSION
    with pytest.raises(ValueError, match="Session4"):
        read_iemocap(release, sessions=[4])
    with pytest.raises(FileNotFoundError, match="nowhere"):
        read_iemocap(iemocap / "nowhere")
    with pytest.raises(ValueError, match="Session1..Session5"):
        read_iemocap(release / "Session1")


def test_iemocap_missing_audio_folder_is_one_problem(iemocap):
    release = iemocap / "IEMOCAP_full_release"
    shutil.rmtree(release / "Session2" / "sentences" / "wav" / "Ses02F_script03_2")
    data = read_iemocap(release, sessions=[2])
    assert len(data) == 5
    (problem,) = data.problems
    assert problem.where.endswith("Ses02F_script03_2") and "3 labeled turn(s)" in problem.reason


def test_iemocap_folds_leave_one_session_out(iemocap):
    data = read_iemocap(iemocap)
    for k in range(1, 6):
        split = make_split(data, fold=k)
        assert {ex.group for ex in split.test.examples} == {f"Session{k}"}
        assert len(split.test) == KEPT_PER_SESSION
        rest = split.train.examples + split.valid.examples
        assert len(rest) + len(split.test) == len(data)
        assert not {ex.speaker for ex in split.test.examples} & {ex.speaker for ex in rest}
        assert not {ex.speaker for ex in split.valid.examples} & {
            ex.speaker for ex in split.train.examples}
        assert len(split.valid) > 0


# -- CREMA-D ------------------------------------------------------------------------------------

CREMAD_ACTORS = range(1001, 1011)
CREMAD_EMOTIONS = ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD")


@pytest.fixture
def cremad(tmp_path) -> Path:
    """tmp/AudioWAV with 10 actors x 6 emotions x 2 sentences, and the release's oddities."""
    audio = tmp_path / "AudioWAV"
    audio.mkdir()
    (tmp_path / "AudioMP3").mkdir()  # a sibling folder of the release, not read
    for actor in CREMAD_ACTORS:
        for i, emotion in enumerate(CREMAD_EMOTIONS):
            level = "XX" if i % 2 else "HI"
            for sentence in ("DFA", "ITS"):
                (audio / f"{actor}_{sentence}_{emotion}_{level}.wav").write_bytes(WAV)
    (audio / "1076_MTI_SAD_XX.wav").write_bytes(b"")  # empty in the real release too
    (audio / "README.txt").write_text("not audio")
    (audio / "1001_DFA_ANG.wav").write_bytes(WAV)  # three parts
    (audio / "1002_DFA_XYZ_XX.wav").write_bytes(WAV)  # unknown emotion
    (audio / "1092_DFA_ANG_XX.wav").write_bytes(WAV)  # no such actor
    (audio / "1003_ABC_ANG_XX.wav").write_bytes(WAV)  # unknown sentence
    (audio / "1003_DFA_ANG_ZZ.wav").write_bytes(WAV)  # unknown intensity
    (audio / "._1001_DFA_ANG_HI.wav").write_bytes(b"\x00\x05\x16\x07")  # resource fork: silent
    return tmp_path


def test_cremad_reads_released_layout(cremad):
    data = read_cremad(cremad)
    assert data.name == "crema-d"
    assert data.classes == ("anger", "disgust", "fear", "happy", "neutral", "sad")
    assert len(data) == len(CREMAD_ACTORS) * 6 * 2
    assert data.counts() == [20] * 6
    assert [ex.id for ex in data.examples] == sorted(ex.id for ex in data.examples)
    ex = next(ex for ex in data.examples if ex.id == "1004_ITS_FEA_HI")
    assert (ex.label, ex.speaker, ex.group) == (2, "1004", "1004")
    assert ex.transcript == "I think I've seen this before." == SENTENCES["ITS"]
    assert ex.path == str(cremad / "AudioWAV" / "1004_ITS_FEA_HI.wav")
    assert next(e for e in data.examples if e.id == "1001_DFA_NEU_HI").label == 4

    problems = {os.path.basename(p.where): p.reason for p in data.problems}
    assert set(problems) == {"1076_MTI_SAD_XX.wav", "README.txt", "1001_DFA_ANG.wav",
                             "1002_DFA_XYZ_XX.wav", "1092_DFA_ANG_XX.wav", "1003_ABC_ANG_XX.wav",
                             "1003_DFA_ANG_ZZ.wav"}
    assert "0 bytes" in problems["1076_MTI_SAD_XX.wav"]
    assert "not a .wav" in problems["README.txt"]
    assert "ActorID_Sentence_Emotion_Level" in problems["1001_DFA_ANG.wav"]
    assert "emotion code 'XYZ'" in problems["1002_DFA_XYZ_XX.wav"]
    assert "actor '1092'" in problems["1092_DFA_ANG_XX.wav"]
    assert "sentence code 'ABC'" in problems["1003_ABC_ANG_XX.wav"]
    assert "intensity 'ZZ'" in problems["1003_DFA_ANG_ZZ.wav"]

    same = read_cremad(cremad / "AudioWAV")  # the wav folder itself
    assert same.examples == data.examples
    with pytest.raises(FileNotFoundError):
        read_cremad(cremad / "missing")
    with pytest.raises(ValueError, match="no AudioWAV"):
        read_cremad(cremad / "AudioMP3")
    with pytest.raises(ValueError, match="cremad6"):
        read_cremad(cremad, classes="iemocap4")


def test_cremad_folds_are_speaker_independent(cremad):
    data = read_cremad(cremad)
    tested = []
    for k in range(1, 6):
        split = make_split(data, fold=k, n_folds=5, seed=3)
        test_speakers = {ex.speaker for ex in split.test.examples}
        assert len(test_speakers) == 2  # 10 actors dealt into 5 folds
        rest = split.train.examples + split.valid.examples
        assert not test_speakers & {ex.speaker for ex in rest}
        tested += [ex.id for ex in split.test.examples]
    assert sorted(tested) == sorted(ex.id for ex in data.examples)  # every clip tested once
    assert make_split(data, fold=2, seed=3) == make_split(data, fold=2, seed=3)


@pytest.mark.parametrize("reader", ["iemocap", "cremad"])
def test_label_fractions_nested_seeded_and_cover_classes(reader, iemocap, cremad):
    data = read_iemocap(iemocap) if reader == "iemocap" else read_cremad(cremad)
    previous: set[str] = set()
    for fraction in (0.01, 0.05, 0.1, 0.5, 1.0):
        subset = label_fraction(data, fraction, seed=7)
        ids = {ex.id for ex in subset.examples}
        assert previous <= ids
        assert all(n >= 1 for n in subset.counts())
        assert subset == label_fraction(data, fraction, seed=7)
        previous = ids
    assert previous == {ex.id for ex in data.examples}
    assert label_fraction(data, 0.5, seed=7) != label_fraction(data, 0.5, seed=8)


# -- tables -------------------------------------------------------------------------------------

CSV = """path,label,split,speaker,offset_s,duration_s,transcript,extra
audio/a.wav,happy,train,s1,,,"Hello, there.",x
audio/b.wav,sad,Train,s1,0,2.5,,x
/abs/c.wav,happy,val,s2,1.5,1,,x
audio/a.wav,sad,dev,s2,1.5,,,x
audio/h.wav,angry,test,s3,,,,x

audio/d.wav,happy,test,s3,abc,,,x
,happy,test,s3,,,,x
audio/e.wav,happy,holdout,s3,,,,x
audio/f.wav,happy,test
audio/b.wav,happy,test,s3,,,,x
audio/g.wav,sad,test,s3,,-1,,x
"""


def test_table_csv(tmp_path):
    table = tmp_path / "sets" / "emo.csv"
    table.parent.mkdir()
    table.write_text(CSV)
    data = read_table(table)
    assert data.name == "emo.csv"
    assert data.classes == ("angry", "happy", "sad")  # sorted labels found
    assert [ex.id for ex in data.examples] == ["a", "b", "c@1.5", "a@1.5", "h"]
    a, b, c, a15, h = data.examples
    assert a.path == str(tmp_path / "sets" / "audio" / "a.wav")
    assert (a.label, a.group, a.speaker, a.transcript) == (1, "train", "s1", "Hello, there.")
    assert (b.label, b.group, b.offset_s, b.duration_s, b.transcript) == (2, "train", 0.0, 2.5,
                                                                           None)
    assert (c.path, c.group, c.offset_s, c.duration_s) == ("/abs/c.wav", "valid", 1.5, 1.0)
    assert (a15.group, a15.label) == ("valid", 2)
    assert (h.group, h.label, h.speaker) == ("test", 0, "s3")

    problems = {p.where.rsplit(":", 1)[1]: p.reason for p in data.problems}
    assert all(p.where.startswith(str(table) + ":") for p in data.problems)
    assert set(problems) == {"8", "9", "10", "11", "12", "13"}
    assert "offset_s 'abc' is not a number" in problems["8"]
    assert "empty path" in problems["9"]
    assert "split 'holdout'" in problems["10"]
    assert "3 fields, the header has 8" in problems["11"]
    assert "duplicate id 'b' (first on line 3)" in problems["12"]
    assert "duration_s '-1'" in problems["13"]

    split = make_split(data, fold=1)  # a given split is kept as given
    assert [len(split.train), len(split.valid), len(split.test)] == [2, 2, 1]

    fixed = read_table(table, classes=["happy", "sad"])
    assert fixed.classes == ("happy", "sad") and len(fixed) == 4
    assert [ex.label for ex in fixed.examples] == [0, 1, 0, 1]
    assert "label 'angry' is not one of the classes" in {
        p.where.rsplit(":", 1)[1]: p.reason for p in fixed.problems}["6"]
    assert read_table(table, classes="iemocap4").classes == ("neutral", "happy", "sad", "angry")


def test_table_jsonl(tmp_path):
    rows = [
        {"path": "clips/x.flac", "label": "neutral", "speaker": "p1", "offset_s": 1.5,
         "duration_s": 2},
        {"path": "clips/x.flac", "label": "neutral", "speaker": "p1", "offset_s": 12.0},
        {"path": "clips/y.flac", "label": "anger", "id": "y-1", "transcript": "No."},
        {"path": "s3://bucket/z.wav", "label": "anger", "speaker": "p2"},
    ]
    lines = [json.dumps(r) for r in rows]
    lines.insert(1, "{not json")
    lines.insert(2, "")
    lines.insert(3, "[1, 2]")
    lines.append(json.dumps({"path": "clips/w.wav", "label": ["anger"]}))
    lines.append(json.dumps({"label": "anger"}))
    text = "\n".join(lines) + "\n"
    for name in ("set.jsonl", "set.jsonl.gz", "set.json"):
        table = tmp_path / name
        if name.endswith(".gz"):
            table.write_bytes(gzip.compress(text.encode()))
        else:
            table.write_text(text)
        data = read_table(table)
        assert data.name == name and data.classes == ("anger", "neutral")
        assert [ex.id for ex in data.examples] == ["x@1.5", "x@12", "y-1", "z"]
        x, x12, y, z = data.examples
        assert x.path == str(tmp_path / "clips" / "x.flac")
        assert (x.offset_s, x.duration_s, x.label, x.group) == (1.5, 2.0, 1, "p1")
        assert (x12.offset_s, x12.duration_s) == (12.0, None)
        assert (y.transcript, y.speaker, y.group, y.label) == ("No.", None, None, 0)
        assert z.path == "s3://bucket/z.wav" and z.group == "p2"
        problems = {p.where.rsplit(":", 1)[1]: p.reason for p in data.problems}
        assert set(problems) == {"2", "4", "8", "9"}
        assert "not JSON" in problems["2"]
        assert "not an object" in problems["4"]
        assert "label ['anger'] is not text" in problems["8"]
        assert "empty path" in problems["9"]
    # without a split column the speaker is the group: folds are speaker-independent
    assert make_split(data, fold=1).test.examples == (x, x12)


def test_table_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("file,emotion\na.wav,happy\n")
    with pytest.raises(ValueError, match=r"bad\.csv.*no path or label column.*file, emotion"):
        read_table(bad)
    array = tmp_path / "array.json"
    array.write_text('[{"path": "a.wav", "label": "x"}, {"path": "b.wav", "label": "y"}]\n')
    with pytest.raises(ValueError, match="not a JSON array"):
        read_table(array)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("path,label\nb\xe9b\xe9.wav,happy\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"latin\.csv:2: not UTF-8"):
        read_table(latin)
    with pytest.raises(FileNotFoundError, match="nothing.csv"):
        read_table(tmp_path / "nothing.csv")
    with pytest.raises(ValueError, match="unknown format"):
        read_table(tmp_path / "table.xlsx")
    with pytest.raises(ValueError, match="distinct"):
        read_table(bad, classes=["a", "a"])
    half = tmp_path / "half.jsonl"
    half.write_text('{"path": "a.wav", "label": "x", "split": "TEST"}\n'
                    '{"path": "b.wav", "label": "x"}\n')
    data = read_table(half)
    assert [(ex.id, ex.group) for ex in data.examples] == [("a", "test")]
    assert [(p.where, p.reason) for p in data.problems] == [
        (f"{half}:2", "no split, though the table has a split column; row skipped")]
    tsv = tmp_path / "t.tsv"
    tsv.write_bytes("\ufeffPath\tLabel\na.wav\thappy\n".encode())  # spreadsheet BOM, capitals
    assert [(ex.id, ex.label) for ex in read_table(tsv).examples] == [("a", 0)]


def test_readers_return_labeled_sets(iemocap, cremad, tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("path,label\na.wav,x\n")
    for data in (read_iemocap(iemocap), read_cremad(cremad), read_table(table)):
        assert isinstance(data, LabeledSet)
        assert all(0 <= ex.label < len(data.classes) for ex in data.examples)

"""What a ``label`` run is: the ASR and NLI settings, where transcripts come from, and which
settings decide its rows (a resumed run must not mix rows of two configurations)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from lanser_fast.asr.transcriber import TranscribeConfig
from lanser_fast.nli.scorer import ScoreConfig
from lanser_fast.stop_guard import StopRule

TRANSCRIPT_SOURCES = ("asr", "manifest")  # Whisper, or the inputs' own transcript column
LOST_WAIT_S = 300.0  # --ray: how long a job that lost nodes waits for them, no input finishing
NLI_CHUNK = {"cuda": 256, "cpu": 32}  # transcripts (from many files) per NLI call, when 0:
# big enough for full engine batches, small enough that rows reach disk often on a CPU


@dataclass(frozen=True)
class LabelConfig:
    asr: TranscribeConfig = field(default_factory=TranscribeConfig)
    nli: ScoreConfig = field(default_factory=ScoreConfig)
    transcripts: str = "asr"  # "manifest": the inputs' transcripts, no ASR
    languages: tuple[str, ...] = ()  # detected languages to label (empty: every language)
    nli_chunk: int = 0  # transcripts per NLI call (0: 256 with a GPU engine, 32 on CPU)
    decode_threads: int = 0  # per worker (0: up to 4, one per core)
    stop: StopRule = StopRule()  # when a failing model stops the run (lanser_fast.stop_guard)

    def __post_init__(self) -> None:
        if self.transcripts not in TRANSCRIPT_SOURCES:
            raise ValueError(f"unknown transcript source {self.transcripts!r}; choose "
                             f"{' or '.join(TRANSCRIPT_SOURCES)}")
        if self.languages and self.transcripts == "manifest":
            raise ValueError("--languages filters on the language Whisper detects; with "
                             "--transcripts manifest nothing is detected: drop one of them")
        if self.nli_chunk < 0:
            raise ValueError("nli_chunk must not be negative (0: automatic)")

    def identity(self) -> dict:
        """The settings that decide the rows; a resumed run with others is refused."""
        nli = asdict(self.nli)
        return {
            "transcripts": self.transcripts,
            "languages": sorted(self.languages),
            "asr": None if self.transcripts == "manifest" else self.asr.identity(),
            "nli": {key: nli[key] for key in ("model", "taxonomy", "template", "multi_label",
                                              "engine", "precision", "empty")
                    + (() if self.nli.labeler == "entailment" else ("labeler", "temperature"))},
        }

    def as_dict(self) -> dict:
        return asdict(self)

"""What a ``label`` run did: rows, errors by reason, labels, flags and time per stage.

Workers each keep one and the coordinator merges them; ``count`` takes the rows of one input.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

STAGES = ("decode", "asr", "nli", "write")


@dataclass
class LabelSummary:
    files: int = 0  # inputs finished this run (results and errors)
    skipped: int = 0  # inputs already in the output (resume)
    retried: int = 0  # inputs whose error rows were redone (--retry-errors)
    rows: int = 0
    labeled: int = 0  # rows with a weak label
    audio_s: float = 0.0  # decoded input audio
    speech_s: float = 0.0  # audio of the utterance rows (VAD segments of long files)
    wall_s: float = 0.0
    devices: int = 1  # GPUs, or 1 for the CPU (all its cores)
    errors: Counter = field(default_factory=Counter)  # "stage: kind" -> rows
    labels: Counter = field(default_factory=Counter)  # weak label -> rows
    flags: Counter = field(default_factory=Counter)  # asr flag -> rows
    stage_s: Counter = field(default_factory=Counter)  # stage -> busy seconds (see STAGES)

    @property
    def audio_hours_per_device_hour(self) -> float:
        device_s = self.wall_s * self.devices
        return self.audio_s / device_s if device_s > 0 else 0.0

    def progress_line(self) -> str:
        """One line for a progress display: inputs, rows, audio, throughput, errors."""
        return (f"{self.files:,} inputs, {self.rows:,} rows, {self.audio_s / 3600:.3f} audio-h, "
                f"{self.audio_hours_per_device_hour:,.1f} audio-h/device-h, "
                f"{sum(self.errors.values()):,} errors")

    def count(self, rows: list[dict], audio_s: float) -> None:
        """Account for the rows of one finished input."""
        self.files += 1
        self.audio_s += audio_s
        for row in rows:
            self.rows += 1
            if row["error"]:
                self.errors[f"{row['error_stage']}: {row['error'].split(':', 1)[0]}"] += 1
                continue
            self.speech_s += row["duration_s"] or 0.0
            self.flags.update(row.get("asr_flags") or ())
            if row.get("weak_label") is not None:
                self.labeled += 1
                self.labels[row["weak_label"]] += 1

    def merge(self, other: "LabelSummary") -> None:
        for name in ("files", "skipped", "rows", "labeled", "audio_s", "speech_s"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in ("errors", "labels", "flags", "stage_s"):
            getattr(self, name).update(getattr(other, name))

    def as_dict(self) -> dict:
        return {
            "files_this_run": self.files, "skipped_done": self.skipped, "rows_this_run": self.rows,
            "retried_errors": self.retried,
            "labeled": self.labeled, "audio_hours": self.audio_s / 3600,
            "speech_hours": self.speech_s / 3600, "wall_s": self.wall_s, "devices": self.devices,
            "audio_hours_per_device_hour": self.audio_hours_per_device_hour,
            "errors": dict(self.errors), "labels": dict(self.labels),
            "asr_flags": dict(self.flags), "stage_s": dict(self.stage_s),
        }

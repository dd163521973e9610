"""lanser-fast: LanSER (Interspeech 2023) weak emotion labeling and SER training, at scale."""

__version__ = "0.1.0"

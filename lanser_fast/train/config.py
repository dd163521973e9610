"""Training settings (no torch needed, so the command line reads its defaults from here).

How ``auto`` settings resolve on the machine at hand is :mod:`.runtime`'s job.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
SWITCHES = ("auto", "on", "off")
LOADERS = ("auto", "torch", "dali")
BALANCE = ("none", "sampler", "loss")  # how weak-label imbalance is countered
PRETRAIN_VALID_FRACTION = 0.05  # share of weak-labeled files held out for validation
LABEL_FRACTIONS = (0.01, 0.05, 0.1, 0.25, 1.0)  # label-efficiency experiment: training labels
SEEDS = (0, 1, 2)  # label-efficiency experiment: runs per fraction and start


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 30  # passes over the training set
    batch_size: int = 32  # items per micro-batch and process
    accumulate: int = 1  # micro-batches per optimizer step (gradient accumulation)
    lr: float = 1e-3  # AdamW peak learning rate
    weight_decay: float = 0.01  # AdamW decoupled weight decay
    warmup: float = 0.05  # linear warm-up, as a fraction of all steps; cosine decay after
    precision: str = "auto"  # PRECISIONS
    compile: str = "auto"  # SWITCHES: torch.compile the model
    channels_last: str = "auto"  # SWITCHES: NHWC memory format
    loader: str = "auto"  # LOADERS: auto = DALI + Triton log-mel on CUDA, torch DataLoader else
    balance: str = "none"  # BALANCE: "sampler" draws classes evenly, "loss" weights them
    seed: int = 0  # model init, item order, crops, masks
    workers: int = 2  # DataLoader worker processes per training process (0 = in-process)
    eval_batch: int = 16  # utterances per evaluation batch
    checkpoint_every: int = 0  # optimizer steps between checkpoints (0 = at each epoch's end)
    max_steps: int = 0  # stop after this many optimizer steps (0 = all epochs)

    def __post_init__(self):
        for name, value, choices in (("precision", self.precision, PRECISIONS),
                                     ("compile", self.compile, SWITCHES),
                                     ("channels_last", self.channels_last, SWITCHES),
                                     ("balance", self.balance, BALANCE),
                                     ("loader", self.loader, LOADERS)):
            if value not in choices:
                raise ValueError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
        for name in ("epochs", "batch_size", "accumulate", "eval_batch"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.lr <= 0 or not 0 <= self.warmup < 1 or self.workers < 0:
            raise ValueError(f"need lr > 0, 0 <= warmup < 1, workers >= 0: {self}")

    def as_dict(self) -> dict:
        return asdict(self)

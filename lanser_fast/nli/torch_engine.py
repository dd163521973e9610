"""The reference engine: the Hugging Face model in torch (SDPA attention where the architecture
has it, else eager; bf16/fp16 on CUDA)."""

from __future__ import annotations

import numpy as np
import torch

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
CPU_TOKEN_BUDGET = 1_024  # 2-core CPU, roberta-base size: small batches measured fastest
CUDA_TOKEN_BUDGET = 32_768  # large batches keep a GPU busy
# Rows per model call, always (short calls are filled with copies of a row): a row's logits
# depend on how many rows share the call (measured on CPU: up to 6e-6 at roberta-base size between
# 1, 3, 8 and 16 rows; not on the padded width or on which rows they are), so a fixed row count
# keeps a transcript's scores the same whatever its batch partners or the resume point.
FIXED_ROWS = {"cpu": 32, "cuda": 256}
WIDTH_STEP = 16  # and a fixed padded width per length class: it matters too (1.6e-7 measured)


class TorchEngine:
    name = "torch"
    max_batch = 1_024

    def __init__(self, model: str, *, precision: str = "fp32", device: str | None = None):
        from transformers import AutoModelForSequenceClassification

        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        if precision not in DTYPES:
            raise ValueError(f"unknown precision {precision!r}; choose one of {tuple(DTYPES)}")
        if self.device.type == "cpu" and precision == "fp16":
            raise ValueError("fp16 needs CUDA; use fp32 or bf16 on CPU")
        self.precision = precision
        self.token_budget = CUDA_TOKEN_BUDGET if self.device.type == "cuda" else CPU_TOKEN_BUDGET
        try:
            net = AutoModelForSequenceClassification.from_pretrained(
                model, dtype=DTYPES[precision], attn_implementation="sdpa")
        except ValueError:  # architectures without SDPA support (DeBERTa-v2/v3)
            net = AutoModelForSequenceClassification.from_pretrained(
                model, dtype=DTYPES[precision], attn_implementation="eager")
        self.model = net.to(self.device).eval()
        self.takes_token_types = "token_type_ids" in self.model.forward.__code__.co_varnames
        self.fixed_rows = FIXED_ROWS["cuda" if self.device.type == "cuda" else "cpu"]
        self.width_step = WIDTH_STEP
        if self.device.type == "cuda":
            self.probe()  # a broken CUDA stack fails here, before any transcript is read

    def probe(self) -> None:
        """One tiny forward on the engine's device; a failure raises ``EngineUnavailable``
        with the reason (a usage error: nothing was scored yet)."""
        from lanser_fast.nli.engines import EngineUnavailable

        ids = np.ones((1, 2), np.int64)
        try:
            self._forward(ids, ids, None)
        except Exception as exc:  # noqa: BLE001 - any failure here is the device's
            raise EngineUnavailable(f"the NLI model cannot run on {self.device}: {exc}; "
                                    "`lanser-fast doctor` shows the CUDA stack, --engine "
                                    "onnxruntime runs on CPU") from exc

    def logits(self, input_ids: np.ndarray, attention_mask: np.ndarray,
               token_type_ids: np.ndarray | None) -> np.ndarray:
        """(B, n_classes) float32 logits of a padded batch (B, T), computed ``fixed_rows`` rows
        per model call."""
        return in_fixed_calls(self._forward, (input_ids, attention_mask, token_type_ids),
                              self.fixed_rows)

    @torch.inference_mode()
    def _forward(self, input_ids: np.ndarray, attention_mask: np.ndarray,
                 token_type_ids: np.ndarray | None) -> np.ndarray:
        inputs = {"input_ids": torch.from_numpy(input_ids).to(self.device),
                  "attention_mask": torch.from_numpy(attention_mask).to(self.device)}
        if token_type_ids is not None and self.takes_token_types:
            inputs["token_type_ids"] = torch.from_numpy(token_type_ids).to(self.device)
        return self.model(**inputs).logits.float().cpu().numpy()


def in_fixed_calls(forward, arrays: tuple[np.ndarray | None, ...], rows: int) -> np.ndarray:
    """``forward(*arrays)`` computed ``rows`` rows per call, the last call filled with copies of
    its first row (``None`` arrays passed as they are), the outputs of the real rows joined."""
    total, out = len(arrays[0]), []
    for start in range(0, total, rows):
        parts = [a if a is None else _filled(a[start:start + rows], rows) for a in arrays]
        out.append(forward(*parts)[: total - start])
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def _filled(block: np.ndarray, rows: int) -> np.ndarray:
    """``block`` with copies of its first row appended up to ``rows`` rows."""
    if len(block) == rows:
        return block
    return np.concatenate([block, np.repeat(block[:1], rows - len(block), axis=0)])

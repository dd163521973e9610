"""The reference engine: the Hugging Face model in torch (SDPA attention where the architecture
has it, else eager; bf16/fp16 on CUDA)."""

from __future__ import annotations

import numpy as np
import torch

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
CPU_TOKEN_BUDGET = 1_024  # 2-core CPU, roberta-base size: small batches measured fastest
CUDA_TOKEN_BUDGET = 32_768  # large batches keep a GPU busy


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

    @torch.inference_mode()
    def logits(self, input_ids: np.ndarray, attention_mask: np.ndarray,
               token_type_ids: np.ndarray | None) -> np.ndarray:
        """(B, n_classes) float32 logits of a padded batch (B, T)."""
        inputs = {"input_ids": torch.from_numpy(input_ids).to(self.device),
                  "attention_mask": torch.from_numpy(attention_mask).to(self.device)}
        if token_type_ids is not None and self.takes_token_types:
            inputs["token_type_ids"] = torch.from_numpy(token_type_ids).to(self.device)
        return self.model(**inputs).logits.float().cpu().numpy()

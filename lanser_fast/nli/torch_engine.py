"""The reference engine: the Hugging Face model in torch (SDPA attention where the architecture
has it, else eager; bf16/fp16 on CUDA)."""

from __future__ import annotations

import numpy as np
import torch


class TorchEngine:
    name = "torch"

    def __init__(self, model: str, *, device: str | None = None, dtype: str = "float32"):
        from transformers import AutoModelForSequenceClassification

        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        torch_dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16,
                       "float16": torch.float16}[dtype]
        if self.device.type == "cpu" and torch_dtype == torch.float16:
            raise ValueError("float16 needs CUDA; use float32 or bfloat16 on CPU")
        try:
            net = AutoModelForSequenceClassification.from_pretrained(
                model, dtype=torch_dtype, attn_implementation="sdpa")
        except ValueError:  # architectures without SDPA support (DeBERTa-v2/v3)
            net = AutoModelForSequenceClassification.from_pretrained(
                model, dtype=torch_dtype, attn_implementation="eager")
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

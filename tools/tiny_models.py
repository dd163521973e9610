"""Random-weight models with the real architectures, configs, label maps and tokenizers.

Nothing can be downloaded here, so tests and benchmarks build stand-ins of the hub models and
load them through the very code path users take with hub ids: each model is saved as a folder
and can be installed into a Hugging Face cache directory under the real repo id, so
``from_pretrained("FacebookAI/roberta-large-mnli")`` resolves offline (``HF_HOME`` +
``HF_HUB_OFFLINE=1``).

Sizes: Whisper ``tiny`` … ``large-v3``/``large-v3-turbo`` use the published dimensions; the NLI
families take ``tiny`` (for tests), ``base`` (roberta-base-sized, for benchmarks) or ``large``
(the published size). The output layers are scaled up so the argmax of a random model is never
a near-tie that fp32 rounding could flip (exact-token and exact-label tests stay stable).

    python -m tools.tiny_models --hf-home .lanser-cache/hf      # the default test set
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Sequence

from lanser_fast.cache import hub_cache, install_in_hub_cache

WHISPER_SIZES = {
    #                 d_model, enc layers, dec layers, heads, n_mels, languages
    "tiny": (384, 4, 4, 6, 80, 99),
    "base": (512, 6, 6, 8, 80, 99),
    "small": (768, 12, 12, 12, 80, 99),
    "medium": (1024, 24, 24, 16, 80, 99),
    "large-v3": (1280, 32, 32, 20, 128, 100),
    "large-v3-turbo": (1280, 32, 4, 20, 128, 100),
}
WHISPER_HUB_IDS = {size: f"openai/whisper-{size}" for size in WHISPER_SIZES}

NLI_SIZES = {
    #         hidden, layers (BART: per stack), heads, ffn
    "tiny": (64, 2, 4, 256),
    "minilm": (384, 6, 12, 1536),  # all-MiniLM-L6-v2's size (benchmarks against it)
    "base": (768, 12, 12, 3072),
    "large": (1024, 24, 16, 4096),
}
NLI_HUB_IDS = {
    "roberta": "FacebookAI/roberta-large-mnli",
    "bart": "facebook/bart-large-mnli",
    "deberta": "MoritzLaurer/DeBERTa-v3-large-mnli-fever-anli-ling-wanli",
}

WHISPER_LOGIT_SCALE = 8.0  # multiplies the decoder's final LayerNorm weight (logits are tied)
# Random transformers at the default init (std 0.02) give every hypothesis almost the same
# logits: label scores tie to 1e-4. A wider init makes the output depend on the label token.
# The std is for the tiny size (hidden 64) and scales with 1/sqrt(hidden), so every size keeps
# the tiny model's signal propagation (a fixed 0.2 saturates attention at base/large size and
# makes the network chaotic: fp32 rounding then moves label scores by 1e-3).
NLI_INIT_STD = 0.2
NLI_LOGIT_SCALE = 2.0  # multiplies the classifier's output projection


def build_whisper(out_dir: str | Path, size: str = "tiny", *, seed: int = 0) -> Path:
    """A random-weight ``WhisperForConditionalGeneration`` with ``size``'s published config,
    generation config, tokenizer and feature extractor, saved to ``out_dir``."""
    import torch
    from transformers import (
        GenerationConfig,
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
    )
    from whisper.tokenizer import get_tokenizer

    from tools.bpe_tokenizers import whisper_tokenizer

    d_model, enc_layers, dec_layers, heads, n_mels, n_langs = WHISPER_SIZES[size]
    tok = get_tokenizer(multilingual=True, num_languages=n_langs)
    suppress = sorted(set(tok.non_speech_tokens)
                      | {tok.sot, tok.sot_lm, tok.sot_prev, tok.no_speech})
    config = WhisperConfig(
        vocab_size=tok.encoding.n_vocab,
        num_mel_bins=n_mels,
        d_model=d_model,
        encoder_layers=enc_layers,
        decoder_layers=dec_layers,
        encoder_attention_heads=heads,
        decoder_attention_heads=heads,
        encoder_ffn_dim=4 * d_model,
        decoder_ffn_dim=4 * d_model,
        max_source_positions=1500,
        max_target_positions=448,
        pad_token_id=tok.eot,
        bos_token_id=tok.eot,
        eos_token_id=tok.eot,
        decoder_start_token_id=tok.sot,
        begin_suppress_tokens=[tok.encoding.encode(" ")[0], tok.eot],
        suppress_tokens=suppress,
        architectures=["WhisperForConditionalGeneration"],
    )
    torch.manual_seed(seed)
    model = WhisperForConditionalGeneration(config).eval()
    with torch.no_grad():
        model.model.decoder.layer_norm.weight.mul_(WHISPER_LOGIT_SCALE)
    lang_to_id = {f"<|{code}|>": tok.encoding.encode_single_token(f"<|{code}|>")
                  for code in tok.all_language_codes}
    model.generation_config = GenerationConfig(
        decoder_start_token_id=tok.sot,
        pad_token_id=tok.eot,
        bos_token_id=tok.eot,
        eos_token_id=tok.eot,
        max_length=448,
        begin_suppress_tokens=config.begin_suppress_tokens,
        suppress_tokens=suppress,
        is_multilingual=True,
        lang_to_id=lang_to_id,
        task_to_id={"transcribe": tok.transcribe, "translate": tok.translate},
        no_timestamps_token_id=tok.no_timestamps,
        prev_sot_token_id=tok.sot_prev,
        max_initial_timestamp_index=50,
        alignment_heads=[[dec_layers - 1, h] for h in range(min(heads, 4))],
    )
    out = Path(out_dir)
    model.save_pretrained(out)
    whisper_tokenizer(n_langs).save_pretrained(out)
    WhisperFeatureExtractor(feature_size=n_mels).save_pretrained(out)
    return out


def build_nli(out_dir: str | Path, family: str = "roberta", size: str = "tiny", *,
              seed: int = 0, labels: Sequence[str] | None = None,
              bpe_texts: Sequence[str] | None = None) -> Path:
    """A random-weight MNLI classifier shaped like roberta-large-mnli (``family="roberta"``,
    labels CONTRADICTION/NEUTRAL/ENTAILMENT), bart-large-mnli (``"bart"``, lowercase labels) or
    MoritzLaurer's DeBERTa-v3 NLI models (``"deberta"``: entailment/neutral/contradiction, so
    entailment = 0), with a realistic tokenizer (byte-level BPE; DeBERTa: a trained Unigram),
    saved to ``out_dir``. ``labels`` replaces the family's classes (e.g. ``("entailment",
    "not_entailment")``, the two-class zero-shot models). ``bpe_texts``: RoBERTa/BART get a
    byte-level BPE trained on them instead of GPT-2's (``bpe_tokenizers.roberta_tokenizer``)."""
    import torch
    from transformers import (
        BartConfig,
        BartForSequenceClassification,
        RobertaConfig,
        RobertaForSequenceClassification,
    )

    from tools.bpe_tokenizers import ROBERTA_VOCAB_SIZE, roberta_tokenizer

    hidden, layers, heads, ffn = NLI_SIZES[size]
    init_std = NLI_INIT_STD * (NLI_SIZES["tiny"][0] / hidden) ** 0.5
    torch.manual_seed(seed)
    if family == "roberta":
        labels = list(labels or ["CONTRADICTION", "NEUTRAL", "ENTAILMENT"])
        config = RobertaConfig(
            vocab_size=ROBERTA_VOCAB_SIZE, hidden_size=hidden, num_hidden_layers=layers,
            num_attention_heads=heads, intermediate_size=ffn, hidden_act="gelu",
            max_position_embeddings=514, type_vocab_size=1, layer_norm_eps=1e-5,
            pad_token_id=1, bos_token_id=0, eos_token_id=2, initializer_range=init_std,
            id2label=dict(enumerate(labels)), label2id={n: i for i, n in enumerate(labels)},
            architectures=["RobertaForSequenceClassification"],
        )
        model = RobertaForSequenceClassification(config).eval()
        head = model.classifier.out_proj
        tokenizer = roberta_tokenizer("RobertaTokenizer", bpe_texts)
    elif family == "bart":
        labels = list(labels or ["contradiction", "neutral", "entailment"])
        config = BartConfig(
            vocab_size=ROBERTA_VOCAB_SIZE, d_model=hidden, encoder_layers=layers,
            decoder_layers=layers, encoder_attention_heads=heads, decoder_attention_heads=heads,
            encoder_ffn_dim=ffn, decoder_ffn_dim=ffn, activation_function="gelu",
            max_position_embeddings=1024, pad_token_id=1, bos_token_id=0, eos_token_id=2,
            decoder_start_token_id=2, forced_bos_token_id=0, scale_embedding=False,
            init_std=init_std,
            id2label=dict(enumerate(labels)), label2id={n: i for i, n in enumerate(labels)},
            architectures=["BartForSequenceClassification"],
        )
        model = BartForSequenceClassification(config).eval()
        head = model.classification_head.out_proj
        tokenizer = roberta_tokenizer("BartTokenizer", bpe_texts)
    elif family == "deberta":
        from transformers import DebertaV2Config, DebertaV2ForSequenceClassification

        from tools.unigram_tokenizer import deberta_v3_tokenizer

        labels = list(labels or ["entailment", "neutral", "contradiction"])
        config = DebertaV2Config(  # deberta-v3-large's layout at the chosen size
            vocab_size=128_100, hidden_size=hidden, num_hidden_layers=layers,
            num_attention_heads=heads, intermediate_size=ffn, hidden_act="gelu",
            max_position_embeddings=512, type_vocab_size=0, layer_norm_eps=1e-7,
            relative_attention=True, max_relative_positions=-1, position_buckets=256,
            norm_rel_ebd="layer_norm", share_att_key=True, pos_att_type=["p2c", "c2p"],
            position_biased_input=False, pad_token_id=0, pooler_hidden_size=hidden,
            pooler_hidden_act="gelu", pooler_dropout=0.0, initializer_range=init_std,
            id2label=dict(enumerate(labels)), label2id={n: i for i, n in enumerate(labels)},
            architectures=["DebertaV2ForSequenceClassification"],
        )
        model = DebertaV2ForSequenceClassification(config).eval()
        head = model.classifier
        tokenizer = deberta_v3_tokenizer()
    else:
        raise ValueError(f"unknown NLI family {family!r}: use 'roberta', 'bart' or 'deberta'")
    with torch.no_grad():
        head.weight.mul_(NLI_LOGIT_SCALE)
    out = Path(out_dir)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def build_test_models(hf_home: str | Path, *, whisper_size: str = "tiny",
                      nli_size: str = "tiny") -> dict[str, Path]:
    """Build the default set (Whisper, RoBERTa-MNLI, BART-MNLI, DeBERTa-v3-NLI) into
    ``hf_home`` under their real hub ids; the plain folders stay in ``hf_home/local``. Returns
    hub id -> snapshot."""
    local = Path(hf_home) / "local"
    built = {
        WHISPER_HUB_IDS[whisper_size]: build_whisper(local / f"whisper-{whisper_size}",
                                                     whisper_size),
    }
    for family, repo_id in NLI_HUB_IDS.items():
        built[repo_id] = build_nli(local / f"{family}-mnli-{nli_size}", family, nli_size)
    return {repo_id: install_in_hub_cache(path, repo_id, hub_cache(hf_home))
            for repo_id, path in built.items()}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hf-home", required=True, help="HF_HOME to install the models into")
    parser.add_argument("--whisper", default="tiny", choices=sorted(WHISPER_SIZES),
                        help="Whisper size (published dimensions)")
    parser.add_argument("--nli", default="tiny", choices=sorted(NLI_SIZES),
                        help="NLI model size (tiny for tests, base/large for benchmarks)")
    args = parser.parse_args(argv)
    for repo_id, snapshot in build_test_models(args.hf_home, whisper_size=args.whisper,
                                               nli_size=args.nli).items():
        print(f"{repo_id:40s} {snapshot}")


if __name__ == "__main__":
    main()

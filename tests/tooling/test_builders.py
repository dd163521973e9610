"""Offline builders: tokenizers equal tiktoken's ids; models load by hub id and by folder."""

import json

import numpy as np
import pytest


@pytest.fixture(scope="module")
def tiktoken_gpt2():
    import tiktoken
    from tiktoken.load import load_tiktoken_bpe
    from whisper.tokenizer import get_encoding

    from tools.bpe_tokenizers import assets_dir

    ranks = load_tiktoken_bpe(str(assets_dir() / "gpt2.tiktoken"))
    return tiktoken.Encoding("gpt2", pat_str=get_encoding("gpt2")._pat_str,
                             mergeable_ranks=ranks, special_tokens={"<|endoftext|>": 50256})


TEXTS = [
    "The emotion of the conversation is joy.",
    "I can't   believe you'd do that!!  Seriously?? 1234 dollars",
    "naïve café — déjà vu, Straße, 日本語のテキスト, русский текст 🙂🎉",
    "   leading spaces\tand\ttabs\nand newlines\n\n",
    "",
]


def test_gpt2_tokenizer_ids_equal_tiktoken(tiktoken_gpt2):
    from tools.bpe_tokenizers import gpt2_tokenizer

    tok = gpt2_tokenizer()
    for text in TEXTS:
        assert tok(text)["input_ids"] == tiktoken_gpt2.encode(text), text
        assert tok.decode(tok(text)["input_ids"]) == text


def test_roberta_tokenizer_is_gpt2_bpe_with_roberta_specials(tiktoken_gpt2):
    from tools.bpe_tokenizers import ROBERTA_VOCAB_SIZE, roberta_tokenizer

    tok = roberta_tokenizer()
    assert len(tok) == ROBERTA_VOCAB_SIZE and tok.convert_tokens_to_ids("<mask>") == 50264
    premise, hypothesis = TEXTS[1], "The emotion of the conversation is anger."
    ids = tok(premise, hypothesis)["input_ids"]
    p = [i + 4 for i in tiktoken_gpt2.encode(premise)]
    h = [i + 4 for i in tiktoken_gpt2.encode(hypothesis)]
    assert ids == [0, *p, 2, 2, *h, 2]


@pytest.mark.parametrize("num_languages", [99, 100])
def test_whisper_tokenizer_ids_equal_openai_whisper(num_languages):
    from whisper.tokenizer import get_encoding, get_tokenizer

    from tools.bpe_tokenizers import whisper_tokenizer

    tok = whisper_tokenizer(num_languages)
    ref = get_encoding("multilingual", num_languages=num_languages)
    assert len(tok) == ref.n_vocab
    for text in TEXTS:
        assert tok(text, add_special_tokens=False)["input_ids"] == ref.encode(text), text
    wt = get_tokenizer(True, num_languages=num_languages)
    names = ["<|startoftranscript|>", "<|en|>", "<|transcribe|>", "<|translate|>",
             "<|nospeech|>", "<|notimestamps|>", "<|0.00|>", "<|30.00|>"]
    expected = [wt.sot, wt.encoding.encode_single_token("<|en|>"), wt.transcribe, wt.translate,
                wt.no_speech, wt.no_timestamps, wt.timestamp_begin, wt.timestamp_begin + 1500]
    assert tok.convert_tokens_to_ids(names) == expected


def test_models_load_by_hub_id_and_by_folder(hub_models, hf_home):
    import torch
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
    )

    deberta = "MoritzLaurer/DeBERTa-v3-large-mnli-fever-anli-ling-wanli"
    assert set(hub_models) == {"openai/whisper-tiny", "FacebookAI/roberta-large-mnli",
                               "facebook/bart-large-mnli", deberta}
    for repo_id, label2id, vocab_size in [
        ("FacebookAI/roberta-large-mnli", {"CONTRADICTION": 0, "NEUTRAL": 1, "ENTAILMENT": 2},
         50265),
        ("facebook/bart-large-mnli", {"contradiction": 0, "neutral": 1, "entailment": 2}, 50265),
        (deberta, {"entailment": 0, "neutral": 1, "contradiction": 2}, 128_100),
    ]:
        by_id = AutoModelForSequenceClassification.from_pretrained(repo_id)
        by_dir = AutoModelForSequenceClassification.from_pretrained(hub_models[repo_id])
        assert by_id.config.label2id == label2id
        assert by_id.config.vocab_size == vocab_size
        tok = AutoTokenizer.from_pretrained(repo_id)
        batch = tok(["I am furious."], ["The emotion of the conversation is anger."],
                    return_tensors="pt")
        with torch.no_grad():
            a, b = by_id(**batch).logits, by_dir(**batch).logits
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    whisper = WhisperForConditionalGeneration.from_pretrained("openai/whisper-tiny")
    cfg = whisper.config
    assert (cfg.d_model, cfg.encoder_layers, cfg.decoder_layers, cfg.num_mel_bins,
            cfg.vocab_size) == (384, 4, 4, 80, 51865)
    gen = whisper.generation_config
    assert gen.lang_to_id["<|en|>"] == 50259 and gen.task_to_id["transcribe"] == 50359
    assert gen.no_timestamps_token_id == 50363
    fe = WhisperFeatureExtractor.from_pretrained("openai/whisper-tiny")
    feats = fe(np.zeros(16000, np.float32), sampling_rate=16000, return_tensors="pt")
    tokens = whisper.generate(feats.input_features, max_new_tokens=4, language="en",
                              task="transcribe")
    assert tokens.shape[1] >= 1


def test_random_nli_models_separate_labels(hub_models):
    """Scaled heads: a random model's label scores are not near-ties (stable argmax)."""
    from transformers import pipeline

    labels = ["joy", "anger", "sadness", "fear", "neutral", "surprise"]
    for repo_id in ("FacebookAI/roberta-large-mnli", "facebook/bart-large-mnli"):
        clf = pipeline("zero-shot-classification", model=repo_id)
        out = clf("I never thought this would happen to us.", labels)
        assert out["scores"][0] - out["scores"][1] > 1e-3
        assert abs(sum(out["scores"]) - 1) < 1e-5


def test_hf_cache_layout(hub_models, hf_home):
    repo = hf_home / "hub" / "models--FacebookAI--roberta-large-mnli"
    commit = (repo / "refs" / "main").read_text()
    assert (repo / "snapshots" / commit / "config.json").is_file()
    config = json.loads((repo / "snapshots" / commit / "config.json").read_text())
    assert config["architectures"] == ["RobertaForSequenceClassification"]


def test_synthetic_corpus_is_deterministic(tmp_path, speech_corpus):
    from tools.synth_speech import synthesize_corpus, uniform_durations

    rows = synthesize_corpus(tmp_path, 3, seed=1, durations=uniform_durations(0.5, 3.0))
    for row in rows:
        assert (tmp_path / row.path).read_bytes() == (speech_corpus / row.path).read_bytes()
    exact = synthesize_corpus(tmp_path / "exact", 2, seed=5, durations=[0.75, 1.5])
    assert [r.duration_s for r in exact] == [0.75, 1.5]
    import soundfile as sf

    x, rate = sf.read(tmp_path / "exact" / exact[1].path)
    assert rate == 16000 and len(x) == 24000 and np.abs(x).max() > 0.01

"""Entailment scoring of transcripts against a taxonomy (LanSER's weak labels).

Example::

    from lanser_fast.nli.scorer import EntailmentScorer, ScoreConfig
    scorer = EntailmentScorer(ScoreConfig(model="FacebookAI/roberta-large-mnli",
                                          taxonomy="iemocap4"))
    results = scorer.score(["I can't believe you did that!", ""])  # one result per text
    results[0].label, results[0].score, results[0].top_k
    results[1].label, results[1].reason    # None, "empty transcript"

Commands: ``lanser-fast score`` (texts of JSONL/CSV/TSV/Parquet or stdin, ``corpus.py:
score_texts``; row columns in ``lanser_fast.manifest.schema``) and ``lanser-fast prompts``
(accuracy and unweighted recall of prompt templates on labeled text, ``prompts.py``).
Taxonomies and prompt words: :mod:`lanser_fast.taxonomy`.

Scores (``semantics.py``, ``scorer.py``)
----------------------------------------
The scores are the Hugging Face zero-shot-classification pipeline's: single-label = softmax over
the labels of the entailment logit; multi-label, and a one-label taxonomy, = per label softmax
over (contradiction, entailment). The entailment class is found from the model's ``label2id`` as
the pipeline finds it. The pipeline (transformers 5.23) *assumes* the contradiction class (0, or
the last class when entailment is 0); we look it up ("contradict..."). Both agree for the
standard MNLI orders (roberta-large-mnli, bart-large-mnli, DeBERTa-v3 NLI models); for other
orders ours uses the real contradiction logit.

Transcripts are whitespace-normalized (the text that is scored) and deduplicated; each distinct
transcript and each hypothesis is tokenized once and pairs are assembled from ids (``pairs.py``;
equal to ``tokenizer(premise, hypothesis, truncation="only_first")``, tested), sorted by length
and batched by a token budget (each engine sets its own: 1,024 padded tokens on CPU, larger on
GPUs).

Engines (``--engine``, ``engines.py``)
--------------------------------------
``auto`` = torch on CUDA, onnxruntime on CPU; ``--precision auto`` = fp32, except TensorRT fp16.

- ``torch`` (fp32; bf16, fp16 on CUDA; ``torch_engine.py``): the reference: the Hugging Face
  model, SDPA attention where the architecture has it.
- ``onnxruntime`` (fp32 exact, int8 fast; ``onnx_engine.py``): the model exported once to ONNX
  (opset 17), cached under ``$LANSER_FAST_CACHE`` or ``~/.cache/lanser-fast``, keyed by the model
  files, opset and library versions, under a file lock; int8 = ONNX Runtime dynamic quantization
  of the MatMul weights.
- ``tensorrt`` (fp16, fp32 with TF32 off; ``tensorrt_engine.py``): **experimental, opt-in, has
  not run on a GPU yet**: written against TensorRT 10's Python API; builds from the same fp32
  ONNX file with one optimization profile (batch 1-256, tokens 1 to the tokenizer's maximum,
  tuned for 128 x 64) and caches the plan keyed by that export, the TensorRT version, the GPU and
  the settings, under a file lock; needs ``lanser-fast[tensorrt]`` and CUDA.

torch and onnxruntime fp32 equal the pipeline within 1e-5 for RoBERTa-, BART- and DeBERTa-v3-MNLI
in the tests (TensorRT's tests are written and skipped here: no GPU); the ONNX file TensorRT
parses is the one those tests run, and a CPU test checks it is valid, at an opset TensorRT 10
reads, with dynamic batch/token axes and only operators TensorRT's ONNX parser lists as
supported.

CPU default: the exact path (measured)
--------------------------------------
The CPU default is onnxruntime fp32, because its labels are the pipeline's. On the 2-core CI
machine (AMD EPYC, AVX2+FMA, no AVX-512/VNNI), roberta-base size, 43 labels, transcripts of
2-60 words (``benchmarks/bench_nli.py``, tables in benchmarks/README.md): exact 18.4 pairs/s,
1.17x the pipeline at ``batch_size=32`` and 2.17x at its default, scores within 8.2e-7 of the
pipeline's; ``--precision int8`` 30.4 pairs/s (1.93x / 3.59x), but on random weights, whose
label scores lie close together (median gap between the best two labels 0.003), int8 keeps the
top label of 57 % of transcripts (largest score change 0.025): check agreement on your model
before switching. Repeated transcripts are scored once: 30 % repeats gave 1.44x more pairs
answered per second.

Why not more on this CPU: the exact path already runs at 148 GFLOP/s of useful work (~95 % of
the two cores' fp32 FMA peak, 2 x 2.45 GHz x 32 flop/cycle = 157 GFLOP/s), and the pipeline at
``batch_size=32`` reaches 126 GFLOP/s, so no exact fp32 path can be more than ~1.3x faster here;
int8 without VNNI (``vpmaddubsw``) peaks near 2x fp32. CTranslate2's encoder (int8, its fastest
CPU type) reached 29.3 pairs/s, below ONNX Runtime int8, so it is not an engine. GPU figures:
not measured.
"""

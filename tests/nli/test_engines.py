"""Engine choice, precision checks and the ONNX file the TensorRT engine consumes (on CPU)."""

from __future__ import annotations

import onnx
import pytest

from lanser_fast.nli.engines import EngineUnavailable, resolve_engine
from lanser_fast.nli.onnx_engine import OPSET, exported_model
from lanser_fast.nli.scorer import EntailmentScorer, ScoreConfig
from lanser_fast.nli.tensorrt_engine import MAX_BATCH, max_tokens, profile_shapes

MODELS = {"FacebookAI/roberta-large-mnli": 512, "facebook/bart-large-mnli": 1024,
          "MoritzLaurer/DeBERTa-v3-large-mnli-fever-anli-ling-wanli": 512}
# ONNX operators marked supported, without conditions our graphs could break, by TensorRT 10's
# ONNX parser (onnx-tensorrt docs/operators.md) that transformer encoders and encoder-decoders
# export to. Left out on purpose: NonZero (float inputs only; boolean-mask indexing exports it on
# bool) and If (both branches must keep the rank; a dynamic squeeze exports one that does not).
# An op outside this list would make the TensorRT build fail on the user's GPU: the test names
# it here first.
TENSORRT_OPS = {
    "Abs", "Add", "And", "ArgMax", "Cast", "Ceil", "Clip", "Concat", "Constant",
    "ConstantOfShape", "CumSum", "Div", "Equal", "Erf", "Exp", "Expand", "Flatten", "Floor",
    "Gather", "GatherElements", "Gemm", "Greater", "GreaterOrEqual", "Identity",
    "LayerNormalization", "Less", "LessOrEqual", "Log", "MatMul", "Max", "Min", "Mul", "Neg",
    "Not", "Or", "Pow", "Range", "ReduceMax", "ReduceMean", "ReduceSum", "Relu", "Reshape",
    "ScatterND", "Shape", "Sigmoid", "Sign", "Slice", "Softmax", "Split", "Sqrt", "Squeeze",
    "Sub", "Tanh", "Tile", "Transpose", "Trilu", "Unsqueeze", "Where",
}

pytestmark = pytest.mark.usefixtures("lanser_cache")  # a cache of its own


def test_auto_is_onnxruntime_fp32_on_cpu_and_never_tensorrt(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # what a GPU box says
    assert resolve_engine() == ("torch", "fp32")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_engine() == ("onnxruntime", "fp32")
    assert resolve_engine("torch") == ("torch", "fp32")
    assert resolve_engine("onnxruntime", "int8") == ("onnxruntime", "int8")


@pytest.mark.parametrize("engine,precision,message", [
    ("tensorflow", "auto", "unknown NLI engine 'tensorflow'"),
    ("torch", "int8", "choose one of fp32, bf16, fp16"),
    ("onnxruntime", "fp16", "choose one of fp32, int8"),
    ("torch", "fp16", "fp16 with the torch engine needs CUDA"),
    ("tensorrt", "auto", "pip install 'lanser-fast[tensorrt]' on a CUDA machine"),
])
def test_unusable_engine_fails_before_work(hub_models, engine, precision, message):
    with pytest.raises(EngineUnavailable, match=message.replace("[", r"\[").replace("]", r"\]")):
        EntailmentScorer(ScoreConfig(model="nobody/not-loaded", engine=engine,
                                     precision=precision))


def test_results_do_not_depend_on_the_cache_size(hub_models):
    texts = ["I am so happy.", "Leave me alone!", "I am so happy.", "", "Why?"]
    full = EntailmentScorer(ScoreConfig(model="FacebookAI/roberta-large-mnli",
                                        taxonomy="iemocap4", engine="torch"))
    expected = [r.scores for r in full.score(texts)]
    for size in (0, 1):
        small = EntailmentScorer(ScoreConfig(model="FacebookAI/roberta-large-mnli",
                                             taxonomy="iemocap4", engine="torch",
                                             cache_size=size), engine=full.engine)
        assert [r.scores for r in small.score(texts)] == expected
        assert len(small._cache) == size


@pytest.mark.parametrize("engine", ["torch", "onnxruntime"])
def test_scores_do_not_depend_on_the_batch_partners(hub_models, engine):
    """Same inputs, same rows: a transcript scored alone, among others or in another order gets
    the same scores, bit for bit."""
    texts = ["I am so happy.", "Leave me alone, I said leave me alone right now!", "Why?",
             "We won the final and everyone is dancing in the street tonight.", "Oh no.",
             "Thanks.", "I cannot believe you would do this to me after all these years."] * 3
    texts = [f"{t} ({i})" for i, t in enumerate(texts)]
    config = ScoreConfig(model="FacebookAI/roberta-large-mnli", taxonomy="ekman7",
                         engine=engine, cache_size=0)
    scorer = EntailmentScorer(config)
    together = [r.scores for r in scorer.score(texts)]
    for i in (0, 4, len(texts) - 1):
        assert [r.scores for r in scorer.score([texts[i]])] == [together[i]]
    backwards = [r.scores for r in scorer.score(texts[::-1])]
    assert backwards[::-1] == together


@pytest.mark.parametrize("model", MODELS)
def test_tensorrt_profile_covers_every_pair_the_scorer_sends(hub_models, model):
    longest = max_tokens(model)
    assert longest == MODELS[model]
    shapes = profile_shapes(longest)
    for axis in (0, 1):
        assert shapes["min"][axis] <= shapes["opt"][axis] <= shapes["max"][axis]
    assert shapes["max"] == (MAX_BATCH, longest)


@pytest.mark.parametrize("model", MODELS)
def test_onnx_file_for_tensorrt(hub_models, model):
    """The file TensorRT parses is the fp32 export the onnxruntime parity tests run: a valid
    graph at an opset TensorRT 10 reads (9-20), dynamic batch and token axes, integer inputs,
    one float logits output, and only operators TensorRT's ONNX parser supports."""
    path = exported_model(model, "fp32")
    graph = onnx.load(str(path))
    onnx.checker.check_model(graph)
    assert 9 <= OPSET <= 20
    assert {o.domain or "ai.onnx" for o in graph.opset_import} == {"ai.onnx"}
    for tensor in graph.graph.input:
        dims = [d.dim_param for d in tensor.type.tensor_type.shape.dim]
        assert dims == ["batch", "tokens"]
        assert tensor.type.tensor_type.elem_type == onnx.TensorProto.INT64
    assert [o.name for o in graph.graph.output] == ["logits"]
    ops = {node.op_type for node in graph.graph.node}
    assert ops <= TENSORRT_OPS, f"operators TensorRT may not parse: {ops - TENSORRT_OPS}"


def test_tensorrt_11_is_refused_naming_the_supported_major(monkeypatch):
    """TensorRT 11 dropped BuilderFlag.FP16 (strongly typed networks): the fp16 build would fail
    on the user's GPU; an installed 11 is refused before any work, in doctor too."""
    from lanser_fast import doctor
    from lanser_fast.nli.tensorrt_engine import check_version

    check_version("10.13.3.9")
    with pytest.raises(EngineUnavailable, match=r"supports TensorRT 10 only.*tensorrt>=10,<11"):
        check_version("11.0.0")
    monkeypatch.setattr(doctor, "_version", lambda name: "11.0.0")
    monkeypatch.setattr(doctor.importlib.util, "find_spec", lambda name: object())
    check = doctor._check_tensorrt()
    assert not check.ok and "TensorRT 10 only" in check.detail


def test_the_torch_engine_probe_names_a_broken_device(hub_models, monkeypatch):
    from lanser_fast.nli.torch_engine import TorchEngine

    engine = TorchEngine("FacebookAI/roberta-large-mnli", device="cpu")
    engine.probe()  # a working device passes

    def fails(*_):
        raise RuntimeError("CUDA error: no kernel image is available for execution")

    monkeypatch.setattr(engine, "_forward", fails)
    with pytest.raises(EngineUnavailable, match="cannot run on cpu: CUDA error: no kernel"):
        engine.probe()

"""The pieces of training, one by one: item plan, crops, masks, schedule, runtime choice, model,
metrics and class mapping."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
import torch

from lanser_fast.data.crops import InputConfig, crop_start, crop_wave, item_seed, spec_masks
from lanser_fast.data.loader import EpochPlan, window_starts
from lanser_fast.metrics import confusion_matrix, score
from lanser_fast.models import ARCHS, ModelConfig
from lanser_fast.models.resnet import build_model
from lanser_fast.taxonomy import load_taxonomy
from lanser_fast.train import runtime as train_runtime
from lanser_fast.train.config import TrainConfig
from lanser_fast.train.runtime import lr_factor, resolve_runtime
from lanser_fast.train.zeroshot import class_map, mapped_probabilities


def test_ddp_ranks_see_exactly_the_accumulated_micro_batches():
    single = EpochPlan(n_items=37, micro_batch=4, accumulate=2, world=1, seed=5)
    ddp = EpochPlan(n_items=37, micro_batch=4, accumulate=1, world=2, seed=5)
    order = single.order(3)
    assert np.array_equal(order, ddp.order(3))
    assert single.steps_per_epoch == ddp.steps_per_epoch == math.ceil(37 / 8)
    for step in range(single.steps_per_epoch):
        accumulated = single.step_batches(order, 3, step, rank=0)
        ranks = [ddp.step_batches(order, 3, step, rank=r)[0] for r in range(2)]
        assert accumulated == ranks  # same items, same crop seeds, same grouping


def test_epoch_order_covers_every_item_and_pads_by_wrapping():
    plan = EpochPlan(n_items=10, micro_batch=4, accumulate=1, world=1, seed=0)
    order = plan.order(0)
    assert len(order) == 12 and sorted(order[:10]) == list(range(10))
    assert list(order[10:]) == list(order[:2])
    assert not np.array_equal(order, plan.order(1))  # reshuffled each epoch
    assert np.array_equal(order, EpochPlan(10, 4, 1, 1, 0).order(0))  # from the seed alone


def test_balanced_order_draws_classes_evenly():
    labels = tuple([0] * 900 + [1] * 90 + [2] * 10)
    plan = EpochPlan(len(labels), 50, 1, 1, 0, labels)
    drawn = Counter(labels[i] for i in plan.order(0))
    assert all(abs(drawn[c] / 1000 - 1 / 3) < 0.06 for c in range(3)), drawn


@pytest.mark.parametrize("n", [1, 399, 400, 47_999, 48_000, 48_001, 160_000])
def test_crops_are_full_length_and_inside_the_clip(n):
    crop = 48_000
    samples = np.arange(n, dtype=np.float32) + 1
    for position in range(20):
        seed = item_seed(0, 0, position)
        start = crop_start(n, crop, seed)
        assert 0 <= start <= max(0, n - crop)
        wave = crop_wave(samples, start, crop)
        assert wave.shape == (crop,)
        kept = min(n, crop)
        assert np.array_equal(wave[:kept], samples[start:start + kept])
        assert not wave[kept:].any()  # zero padding after a short clip


def test_item_seeds_differ_by_epoch_and_position():
    seeds = {item_seed(s, e, p) for s in range(2) for e in range(3) for p in range(50)}
    assert len(seeds) == 300


def test_spec_masks_are_seeded_and_bounded():
    config = InputConfig(spec_augment=True, freq_masks=2, freq_width=8, time_masks=3,
                         time_width=30)
    a, b = spec_masks(config, 64, 298, 11), spec_masks(config, 64, 298, 11)
    assert np.array_equal(a, b) and len(a) == 5
    for axis, start, width in a.tolist():
        size, limit = (64, 8) if axis == 0 else (298, 30)
        assert 0 <= width <= limit and start + width <= size


@pytest.mark.parametrize("n,crop,expected", [(100, 300, [0]), (300, 300, [0]),
                                             (301, 300, [0, 1]), (750, 300, [0, 150, 300, 450])])
def test_evaluation_windows_cover_the_clip(n, crop, expected):
    assert window_starts(n, crop) == expected


def test_schedule_warms_up_then_decays_to_zero():
    values = [lr_factor(s, 100, 10) for s in range(101)]
    assert values[0] == pytest.approx(0.1) and values[9] == pytest.approx(1.0)
    assert all(x >= y for x, y in zip(values[9:], values[10:]))
    assert values[100] == pytest.approx(0.0, abs=1e-12)
    assert lr_factor(0, 10, 0) == pytest.approx(1.0)


def test_auto_runtime_follows_the_measurements(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setattr(train_runtime, "cpu_has_native_bf16", lambda: False)
    emulated = resolve_runtime(TrainConfig(), cpu)
    assert (emulated.dtype, emulated.channels_last, emulated.compile, emulated.loader) == (
        torch.float32, True, False, "torch")
    monkeypatch.setattr(train_runtime, "cpu_has_native_bf16", lambda: True)
    native = resolve_runtime(TrainConfig(), cpu)
    assert (native.dtype, native.channels_last) == (torch.bfloat16, True)
    forced = resolve_runtime(TrainConfig(precision="fp32", channels_last="off", compile="on"),
                             cpu)
    assert (forced.dtype, forced.channels_last, forced.compile) == (torch.float32, False, True)
    with pytest.raises(ValueError, match="fp16 training needs a CUDA device"):
        resolve_runtime(TrainConfig(precision="fp16"), cpu)
    with pytest.raises(ValueError, match="precision must be one of"):
        TrainConfig(precision="fp8")


@pytest.mark.parametrize("arch", sorted(ARCHS))
def test_models_take_any_frame_count_and_swap_heads(arch):
    torch.manual_seed(0)
    model = build_model(ModelConfig(arch, n_classes=7, width=8)).eval()
    for frames in (1, 37, 298):
        assert model(torch.randn(2, 1, 64, frames)).shape == (2, 7)
    backbone = {k: v.clone() for k, v in model.state_dict().items() if not k.startswith("head.")}
    model.replace_head(4)
    assert model(torch.randn(3, 1, 64, 100)).shape == (3, 4) and model.config.n_classes == 4
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in backbone.items())


def test_resnet50_has_the_papers_size():
    model = build_model(ModelConfig("resnet50", n_classes=28))
    params = sum(p.numel() for p in model.parameters())
    # torchvision's ResNet-50 has 25.56 M with 3 input channels and 1000 classes: minus the
    # 1000-class head (2.05 M) and two input channels of the stem (6 k), plus 28 classes and bn0.
    assert abs(params - (25_557_032 - 2_049_000 - 6_272 + 2048 * 28 + 28 + 128)) < 100


def test_channels_last_matches_contiguous_in_fp32():
    torch.manual_seed(0)
    model = build_model(ModelConfig("resnet18", n_classes=5, width=16)).eval()
    x = torch.randn(4, 1, 64, 150)
    ref = model(x)
    fast = model.to(memory_format=torch.channels_last)(x.contiguous(
        memory_format=torch.channels_last))
    torch.testing.assert_close(fast, ref, rtol=1e-4, atol=1e-4)


def test_wa_and_ua_against_a_hand_computed_matrix():
    classes = ("neutral", "happy", "sad", "angry")
    reference = [0, 0, 0, 0, 1, 1, 2, 2, 2, 3]
    predicted = [0, 0, 1, 3, 1, 0, 2, 2, -1, 3]
    s = score(reference, predicted, classes)
    assert s.confusion.tolist() == [[2, 1, 0, 1], [1, 1, 0, 0], [0, 0, 2, 0], [0, 0, 0, 1]]
    assert s.abstained == 1 and s.n == 10
    assert s.wa == pytest.approx(6 / 10)  # the abstention counts as an error
    assert s.recall == pytest.approx((2 / 4, 1 / 2, 2 / 3, 1.0))
    assert s.ua == pytest.approx((2 / 4 + 1 / 2 + 2 / 3 + 1) / 4)
    absent = score([0, 0, 1], [0, 1, 1], ("a", "b", "c"))
    assert absent.recall[2] is None and absent.ua == pytest.approx((0.5 + 1) / 2)
    assert confusion_matrix([1], [1], 2).tolist() == [[0, 0], [0, 1]]


def test_class_mapping_by_name_and_by_taxonomy_file(tmp_path):
    same = class_map(("sad", "angry"), ("angry", "sad"))
    assert same.tolist() == [[0, 1], [1, 0]]
    coarse = tmp_path / "coarse.txt"
    coarse.write_text("low\nhigh\n")
    fine = tmp_path / "fine.yaml"
    fine.write_text(f"maps_to: {coarse}\nlabels:\n  - {{label: calm, maps_to: low}}\n"
                    "  - {label: bored, maps_to: low}\n  - {label: thrilled, maps_to: high}\n")
    taxonomy = load_taxonomy(fine)
    matrix = class_map(taxonomy.labels, ("low", "high"), taxonomy)
    assert matrix.tolist() == [[1, 0], [1, 0], [0, 1]]
    probs = mapped_probabilities(np.log(np.array([[0.3, 0.3, 0.4]])), matrix)
    assert probs == pytest.approx(np.array([[0.6, 0.4]]))  # two fine labels outweigh one
    with pytest.raises(ValueError, match="no taxonomy mapping"):
        class_map(("x", "y"), ("low", "high"))


def test_checkpoint_rng_holds_the_current_device_only_and_restores_on_any_gpu_count(
        monkeypatch):
    """A run on 4 GPUs resumed on 2 (or 1, or CPU): each rank restores its own device's state;
    checkpoints that hold every device's state still load."""
    from lanser_fast.train import checkpoint

    states = {k: torch.full((8,), k, dtype=torch.uint8) for k in range(4)}
    current, restored = {"index": 3}, []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: current["index"])
    monkeypatch.setattr(torch.cuda, "get_rng_state", lambda: states[current["index"]])
    monkeypatch.setattr(torch.cuda, "set_rng_state", lambda s: restored.append(int(s[0])))
    saved = checkpoint.rng_state()
    assert int(saved["cuda"][0]) == 3  # one tensor, not a list over devices
    current["index"] = 0  # resumed as rank 0 of a smaller job
    checkpoint.set_rng_state(saved)
    old = {**saved, "cuda": [states[k] for k in range(4)]}  # the former every-device format
    checkpoint.set_rng_state(old)
    current["index"] = 5  # a device the old checkpoint has no state for
    checkpoint.set_rng_state(old)
    assert restored == [3, 0]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    checkpoint.set_rng_state(saved)  # on CPU: the CUDA state is left alone
    assert restored == [3, 0]


def test_fp32_training_on_cuda_turns_tf32_off_and_restores_it():
    """PyTorch lets cuDNN convolutions use TF32 by default: an "fp32" run would be a TF32 one."""
    from lanser_fast.train.runtime import fp32_means_fp32

    before = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    with fp32_means_fp32(torch.device("cuda")):
        assert not torch.backends.cudnn.allow_tf32
        assert not torch.backends.cuda.matmul.allow_tf32
    assert (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32) == before
    for device, dtype in ((torch.device("cpu"), torch.float32),
                          (torch.device("cuda"), torch.bfloat16)):  # autocast: left alone
        with fp32_means_fp32(device, dtype):
            assert torch.backends.cudnn.allow_tf32 == before[0]


def test_the_training_device_probe_runs_a_step_and_names_a_failure(monkeypatch):
    from lanser_fast.train.distributed import probe

    probe(torch.device("cpu"))  # a working device passes

    def fails(*_, **__):
        raise RuntimeError("CUDA error: out of memory")

    monkeypatch.setattr(torch, "randn", fails)
    with pytest.raises(RuntimeError, match="training cannot run on cpu: CUDA error: out of mem"):
        probe(torch.device("cpu"))

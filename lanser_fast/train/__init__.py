"""Pre-training, fine-tuning and evaluation of the SER model: settings (``config``, torch-free),
what ``auto`` resolves to (``runtime``), the trainer, checkpoints, runs and experiments.

Example::

    from lanser_fast.data import open_dataset, make_split, label_fraction, InputConfig
    from lanser_fast.models import ModelConfig
    from lanser_fast.train.config import TrainConfig
    from lanser_fast.train.trainer import fit

    data = open_dataset("iemocap:/data/IEMOCAP_full_release")  # or crema-d:PATH, table.csv,
                                                               # or a label output
    split = make_split(data, fold=1)              # leave-one-session-out: test = Session1
    train = label_fraction(split.train, 0.1, seed=0)  # stratified, nested, >= 1 per class
    fit(train, split.valid, "runs/iemocap-f1",
        model_config=ModelConfig("resnet50", len(data.classes)),
        input_config=InputConfig(crop_s=3.0), config=TrainConfig(epochs=30),
        init="runs/pretrain")

Datasets, splits and the data path: :mod:`lanser_fast.data`; the model: :mod:`lanser_fast.models`.
Modules: ``config.py`` (``TrainConfig``), ``runtime.py`` (``resolve_runtime``, ``Runtime``,
``lr_factor``), ``trainer.py`` (``fit``), ``checkpoint.py``, ``distributed.py``, ``runs.py``
(fine-tuning runs), ``experiment.py`` (label efficiency), ``evaluate.py``, ``zeroshot.py``,
``baselines.py``, ``predict.py``, ``export.py``; metrics in :mod:`lanser_fast.metrics`.

Training
--------
AdamW (no decay on norms and biases), linear warm-up then cosine decay to zero, cross-entropy,
gradient accumulation. ``auto`` settings follow measurements (``benchmarks/bench_train.py``):

- precision: bf16 autocast on GPUs with bf16 (fp16 with a gradient scaler otherwise) and on CPUs
  with native bf16 (AVX512-BF16/AMX); fp32 on other CPUs, where oneDNN emulates bf16 and a
  ResNet-50 step is about 12x slower (measured on the AVX2 CI machine);
- channels-last everywhere (reduced precision needs it; fp32 steps here were 7 % faster with it
  in an interleaved A/B);
- ``torch.compile`` on CUDA; off on CPU (about 90 s cold for a few percent here);
- the DALI loader on CUDA when DALI is installed.

DDP: launch the same command with torchrun, one process per device (NCCL on GPUs, gloo on CPU):
``torchrun --nproc-per-node 8 $(which lanser-fast) pretrain labels/ --out runs/pretrain``. Each
rank takes its micro-batches from the shared item plan (``--batch-size`` is per process).

Checkpoints (``last.pt`` every ``--checkpoint-every`` steps and each epoch; ``best.pt`` by
validation UA) hold model, optimizer, scheduler, scaler, RNG states and the step (the data
position), written atomically; rerunning the command resumes, and a killed run ends with the
same weights as an uninterrupted one (tested with SIGKILL). A resume with settings that change
the weights is refused, naming each change, unless ``--force``. Logs: ``metrics.csv`` (loss,
lr, samples/s, audio-h/device-h per step; WA/UA per validation), TensorBoard events in ``tb/``,
``run.json``, and a progress bar.

Metrics, zero-shot, baselines
-----------------------------
WA = overall accuracy; UA = mean per-class recall over the classes present; the confusion matrix
has reference rows and predicted columns. ``finetune`` scores the test fold into ``test.json``,
``test_confusion.csv/.png`` and ``test_predictions.csv``.

``zeroshot`` sums the probabilities of fine labels that map to each downstream class (a taxonomy
file with ``maps_to``, see :mod:`lanser_fast.taxonomy`), or matches classes by name when the
model was pre-trained on the downstream taxonomy. ``baseline text`` runs the entailment labeler
(same scoring as ``label``) on the dataset's transcripts (IEMOCAP's transcriptions, CREMA-D's
sentences, a table's ``transcript`` column) or on Whisper transcripts (``--asr-model``); it
abstains on an empty transcript, and an abstention counts as an error. ``baseline majority``
predicts the training split's most frequent class. ``experiment label-efficiency`` trains
scratch vs pre-trained at each label fraction and seed (one resumable run folder per cell) and
writes ``results.csv``, ``summary.csv/.md`` (mean +- sd) and ``label_efficiency.png``.

Deployment
----------
``predict CKPT IN...`` labels new audio: one row per file, or per ``--window-s`` window of long
files; unreadable inputs become error rows. ``export CKPT --out model.onnx|model.pt`` writes a
graph from ``ser-64`` features (batch, 1, 64, frames; frames dynamic) to logits; classes,
taxonomy, preset and crop length are inside the file (ONNX ``metadata_props``; TorchScript extra
file ``lanser.json``) and in a ``.json`` sidecar. Both outputs are tested against the checkpoint
to 1e-4 (ONNX Runtime, TorchScript).

Does pre-training help? (measured, CPU)
---------------------------------------
With labels that carry the audio's class, yes: ``tests/test_train_learns.py`` pre-trains on 240
pitch-labeled synthetic clips and fine-tunes on 5 % (3 clips) of another slice: test UA 0.69 vs
0.32 from scratch. With the README's sample, whose weak labels come from a random-weight NLI
model, it cannot help (measured: 5 % labels, UA 0.33 pre-trained vs 0.37 scratch; chance is
0.33). No result on a real corpus (IEMOCAP, CREMA-D) or with real-weight models is reported
here.

Speed (measured, CPU)
---------------------
A ResNet-50 step (batch 8 of 1 x 64 x 300 log-mel, AdamW) with the ``auto`` settings is 1.14x a
plain eager fp32 PyTorch loop on the 2-core CI machine (AMD EPYC, AVX2, no bf16): the goal,
>= 2x on CPU, is not met. The step is 75.1 GFLOP, 0.48 s at the cores' fp32 FMA peak, so fp32
could at best be 1.8-2.2x the reference here; the 2x lever is bf16, which this CPU lacks.
Details: benchmarks/README.md.

Not run here
------------
No GPU was lent to this work: DALI's GPU operators, the Triton log-mel inside training,
bf16/fp16 autocast on a GPU, ``torch.compile`` on CUDA, NCCL and multi-node DDP have not run.
The ``requires_cuda`` test
``tests/test_train_dali.py::test_gpu_pipeline_and_triton_log_mel_match_the_cpu_path`` covers
the GPU data path where a GPU exists.
"""

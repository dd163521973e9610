"""Peak compute and bandwidth of the machine, to put achieved figures in proportion.

CPU fp32 peak = usable cores x clock x flops per cycle per core (two FMA pipes: 64 with AVX-512,
32 with AVX2+FMA, 8 without): an upper bound, as turbo and SMT make it fuzzy; it is labeled as
an estimate. GPU peaks are the vendor's dense figures for common data-centre cards, matched by
name; an unknown card gets no peak rather than a guess.
"""

from __future__ import annotations

import os
from pathlib import Path

# name fragment -> dense TFLOP/s per precision (fp32 without tensor cores; TF32 and bf16 dense,
# not the 2:4-sparse figures) and memory GB/s, from the vendors' datasheets. A run is scored
# against the peak of the precision it ran in ("precision" in its extra fields; bf16 if unsaid).
GPU_PEAKS = {
    "H200": ({"fp32": 67.0, "tf32": 494.7, "bf16": 989.0}, 4800.0),
    "H100 SXM": ({"fp32": 67.0, "tf32": 494.7, "bf16": 989.0}, 3350.0),
    "H100 PCIe": ({"fp32": 51.2, "tf32": 378.0, "bf16": 756.0}, 2000.0),
    "H100": ({"fp32": 67.0, "tf32": 494.7, "bf16": 989.0}, 3350.0),
    "A100-SXM4-80GB": ({"fp32": 19.5, "tf32": 156.0, "bf16": 312.0}, 2039.0),
    "A100": ({"fp32": 19.5, "tf32": 156.0, "bf16": 312.0}, 1555.0),
    "L40S": ({"fp32": 91.6, "tf32": 183.0, "bf16": 362.0}, 864.0),
    "L4": ({"fp32": 30.3, "tf32": 60.0, "bf16": 121.0}, 300.0),
    "A10": ({"fp32": 31.2, "tf32": 62.5, "bf16": 125.0}, 600.0),
    "T4": ({"fp32": 8.1, "bf16": 65.0}, 320.0),  # no TF32; its 65 is fp16
}


def cpu_fp32_peak_gflops() -> float | None:
    """Estimated fp32 peak of the usable cores (GFLOP/s); None where the CPU is unknown."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    flags, mhz = set(), None
    for line in text.splitlines():
        if line.startswith("flags") and not flags:
            flags = set(line.split(":", 1)[1].split())
        elif line.startswith("cpu MHz") and mhz is None:
            mhz = float(line.split(":", 1)[1])
    if not mhz:
        return None
    per_cycle = 64 if "avx512f" in flags else 32 if {"avx2", "fma"} <= flags else 8
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return cores * mhz / 1000 * per_cycle


def gpu_peaks(name: str) -> tuple[dict[str, float], float] | None:
    """({precision: TFLOP/s}, GB/s) of a GPU by its name, or None."""
    for fragment, peaks in GPU_PEAKS.items():
        if fragment in name:
            return peaks
    return None


def hardware_use(extra: dict, device: str) -> str:
    """``"96 GFLOP/s (61 % of ~157 est. fp32 peak)"`` from a measurement's extra fields; a
    compute-bound GPU kernel that records both shows FLOP/s and GB/s."""
    parts = []
    if "gflop_per_s" in extra:
        value = extra["gflop_per_s"]
        if device != "cpu":  # a GPU's name
            peaks, precision = gpu_peaks(device), extra.get("precision", "bf16")
            if peaks and precision in peaks[0]:
                parts.append(f"{value / 1000:.1f} TFLOP/s ({value / 10 / peaks[0][precision]:.0f}"
                             f" % of {precision} peak)")
            else:
                parts.append(f"{value / 1000:.1f} TFLOP/s")
        else:
            peak = cpu_fp32_peak_gflops()
            parts.append(f"{value:.0f} GFLOP/s ({100 * value / peak:.0f} % of ~{peak:.0f} fp32 "
                         "peak)" if peak else f"{value:.0f} GFLOP/s")
    if "achieved_GBps" in extra:
        value = extra["achieved_GBps"]
        peaks = gpu_peaks(device)
        parts.append(f"{value:.0f} GB/s ({100 * value / peaks[1]:.0f} % of peak)" if peaks
                     else f"{value:.0f} GB/s")
    return ", ".join(parts)

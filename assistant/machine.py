"""What computer this is, in one line (the CPU and the instruction sets that decide precision),
for benchmarks and for the training record of a checkpoint; and its CPU kind, the key under
which a model's measured precision choice is kept (int8 speed and accuracy differ by kind)."""
from __future__ import annotations

import os
import platform
from pathlib import Path

#: the instruction sets the one-line name lists
SHOWN_FLAGS = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "avx_vnni", "amx_bf16")
#: CPU kinds, best first: (kind, the flag that makes it). ONNX Runtime's int8 kernels differ
#: between them (AMX tiles, VNNI dot products, or AVX2 multiplies whose u8*s8 pairs can
#: saturate: Lite0 lost 2.95 points there), so a choice measured on one says nothing of another.
KINDS = (("amx", "amx_int8"), ("avx512-vnni", "avx512_vnni"), ("avx-vnni", "avx_vnni"),
         ("avx512", "avx512bw"), ("avx2", "avx2"))


def cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    line = next((ln for ln in text.splitlines() if ln.startswith("flags")), "")
    return set(line.partition(":")[2].split())


#: flags that make bf16 matrix products native (either is enough): OpenVINO's bf16 needs them,
#: and falls back to f32 quietly without them
BF16_FLAGS = ("amx_bf16", "avx512_bf16")


def has_bf16(flags: set[str] | None = None) -> bool:
    """Whether this CPU computes bf16 products natively, from what it reports (no torch)."""
    flags = cpu_flags() if flags is None else flags
    return any(f in flags for f in BF16_FLAGS)


def cpu_kind(flags: set[str] | None = None) -> str:
    """'amx', 'avx512-vnni', 'avx-vnni', 'avx512', 'avx2' or 'baseline' (none of them)."""
    flags = cpu_flags() if flags is None else flags
    return next((kind for kind, flag in KINDS if flag in flags), "baseline")


def cpu_name() -> str:
    model = ""
    try:
        text = Path("/proc/cpuinfo").read_text()
        model = next((ln.split(":", 1)[1].strip() for ln in text.splitlines() if ln.startswith("model name")), "")
    except OSError:
        model = platform.processor()
    flags = " ".join(f for f in SHOWN_FLAGS if f in cpu_flags())
    return f"{model or 'unknown CPU'} ({os.cpu_count()} cores; {flags or 'no AVX2'})"


def process_age() -> float:
    """Seconds since this process started, read from /proc (psutil's import alone cost 0.15 s
    of the app's launch under load); NaN where there is no /proc."""
    try:
        stat = Path("/proc/self/stat").read_text()
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return float("nan")
    started = int(stat.rpartition(")")[2].split()[19])  # field 22 (starttime), after the name
    return uptime - started / os.sysconf("SC_CLK_TCK")

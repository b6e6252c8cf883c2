"""What computer this is, in one line (the CPU and the instruction sets that decide precision),
for benchmarks and for the training record of a checkpoint."""
from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_name() -> str:
    flags = ""
    try:
        text = Path("/proc/cpuinfo").read_text()
        model = next((ln.split(":", 1)[1].strip() for ln in text.splitlines() if ln.startswith("model name")), "")
        flag_line = next((ln for ln in text.splitlines() if ln.startswith("flags")), "")
        kinds = [f for f in ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "avx_vnni", "amx_bf16")
                 if f" {f}" in flag_line]
        flags = " ".join(kinds)
    except OSError:
        model = platform.processor()
    return f"{model or 'unknown CPU'} ({os.cpu_count()} cores; {flags or 'no AVX2'})"

"""Which machine a benchmark ran on, recorded with its figures.

The same bench gives 2.5x on one 2-core CPU and 4x on another (AVX2, AVX-512 or
AMX; MKL on Intel, oneDNN on AMD; bench/README.md): a figure without its CPU cannot
be compared with the next session's. Read from ``/proc/cpuinfo`` where there is
one (Linux); elsewhere ``platform`` says what it knows.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

CPUINFO = Path("/proc/cpuinfo")
# The instruction sets the engines' speed depends on: float32 and int8 products
# (AVX2, AVX-512, VNNI), bfloat16 (AVX512-BF16, AMX tiles).
ISA_FLAGS: tuple[str, ...] = (
    "avx2",
    "fma",
    "avx512f",
    "avx512_vnni",
    "avx512_bf16",
    "amx_tile",
    "amx_bf16",
    "amx_int8",
)


def parse_cpuinfo(text: str) -> dict[str, Any]:
    """Model name, vendor and the ``ISA_FLAGS`` present, from the first processor's
    block of a ``/proc/cpuinfo`` text."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if fields:
                break  # one processor is enough: they are alike
            continue
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    flags = set(fields.get("flags", "").split())
    return {
        "cpu": fields.get("model name") or None,
        "vendor": fields.get("vendor_id") or None,
        "isa": [flag for flag in ISA_FLAGS if flag in flags],
    }


def host() -> dict[str, Any]:
    """The CPU (model, vendor, ``ISA_FLAGS`` present), the cores this process may
    use and the architecture (the benches record Python's version themselves)."""
    try:
        info = parse_cpuinfo(CPUINFO.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        info = {"cpu": platform.processor() or None, "vendor": None, "isa": []}
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 0
    return {
        **info,
        "cores": cores,
        "machine": platform.machine(),
    }


def describe(record: dict[str, Any]) -> str:
    """One line for a bench's header: ``AMD EPYC (AuthenticAMD), 2 cores, avx2 fma``."""
    vendor = f" ({record['vendor']})" if record.get("vendor") else ""
    isa = " ".join(record.get("isa") or []) or "no AVX2"
    cpu = record.get("cpu") or "unknown CPU"
    return f"{cpu}{vendor}, {record['cores']} cores, {isa}"

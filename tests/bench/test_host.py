"""What a benchmark records of the machine it ran on (bench/host.py)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from bench.host import ISA_FLAGS, describe, host, parse_cpuinfo

# Two processors of one CPU, abridged; the second's model name must not win.
CPUINFO = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz
flags\t\t: fpu sse2 avx2 fma avx512f avx512_fp16 amx_bf16 amx_tile amx_int8

processor\t: 1
vendor_id\t: GenuineIntel
model name\t: something else
flags\t\t: fpu avx512_bf16
"""


def test_cpuinfo_gives_the_first_processors_model_vendor_and_isa():
    info = parse_cpuinfo(CPUINFO)
    assert info["cpu"] == "Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz"
    assert info["vendor"] == "GenuineIntel"
    # Whole flags only (avx512_fp16 is not avx512_bf16), in ISA_FLAGS' order.
    assert info["isa"] == ["avx2", "fma", "avx512f", "amx_tile", "amx_bf16", "amx_int8"]
    assert describe({**info, "cores": 2}) == (
        "Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz (GenuineIntel), 2 cores, "
        "avx2 fma avx512f amx_tile amx_bf16 amx_int8"
    )


def test_a_cpuinfo_without_the_fields_gives_none():
    assert parse_cpuinfo("processor\t: 0\n") == {"cpu": None, "vendor": None, "isa": []}
    assert describe({"cpu": None, "vendor": None, "isa": [], "cores": 1}) == (
        "unknown CPU, 1 cores, no AVX2"
    )


@pytest.mark.skipif(not Path("/proc/cpuinfo").exists(), reason="no /proc/cpuinfo")
def test_this_machine_is_recorded_as_proc_cpuinfo_says():
    text = Path("/proc/cpuinfo").read_text()
    flags = re.search(r"^flags\s*:(.*)$", text, re.M)
    present = set(flags.group(1).split()) if flags else set()
    record = host()
    assert record["isa"] == [flag for flag in ISA_FLAGS if flag in present]
    assert record["cores"] == len(os.sched_getaffinity(0))
    model = re.search(r"^model name\s*:\s*(.*)$", text, re.M)
    assert record["cpu"] == (model.group(1).strip() if model else None)

#!/usr/bin/env bash
# The pipeline benchmark on a GPU host, in one command (a few minutes):
#
#   bash bench/gpu.sh                 # on a host with a CUDA build of torch
#   bash bench/gpu.sh --dry-run       # anywhere: CPU, tiny sizes, same code paths
#
# Runs bench/pipeline.py for the tiny and the offline profiles, fp16 and bf16,
# batch sizes 1/16/64, transformers vs CTranslate2 side by side, and writes every
# run's JSON under bench/results/gpu/ plus one summary table (table.md), one JSON
# (summary.json) and one chart (chart.svg). Each run is capped by RUN_TIMEOUT
# seconds, so a stuck run cannot eat the host's slot. Nothing here downloads a
# model: the offline profile uses packaged weights, the tiny one builds random ones.
set -euo pipefail

cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
OUT=${OUT:-bench/results/gpu}
N=${N:-64}
RUN_TIMEOUT=${RUN_TIMEOUT:-120}
DEVICE=cuda
PROFILES=(tiny offline)
DTYPES=(float16 bfloat16)
BATCHES=(1 16 64)

if [[ "${1:-}" == "--dry-run" ]]; then
  # The same matrix on the CPU at toy sizes: checks the script, not the GPU.
  DEVICE=cpu
  N=${DRY_N:-4}
  DTYPES=(float32)
  BATCHES=(1 4)
  PROFILES=(tiny)
  RUN_TIMEOUT=${DRY_TIMEOUT:-900}
fi

export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$OUT"
if [[ "$DEVICE" == cuda ]]; then
  "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA device: use --dry-run')"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader > "$OUT/gpu.txt" || true
fi

runs=()
for profile in "${PROFILES[@]}"; do
  for dtype in "${DTYPES[@]}"; do
    # CTranslate2's compute type follows the torch dtype.
    case "$dtype" in
      float16) ct2=int8_float16 ;;
      bfloat16) ct2=int8_bfloat16 ;;
      *) ct2=int8 ;;
    esac
    for batch in "${BATCHES[@]}"; do
      name="$profile-$dtype-b$batch"
      echo "== $name" >&2
      if TRIAGE_CT2_COMPUTE_TYPE=$ct2 timeout "$RUN_TIMEOUT" "$PY" bench/pipeline.py \
          --models "$profile" --n "$N" --batch-size "$batch" --device "$DEVICE" \
          --dtype "$dtype" --backends transformers,ct2 --out "$OUT/$name.json" \
          > "$OUT/$name.log" 2>&1; then
        runs+=("$name")
      else
        echo "   failed or timed out (see $OUT/$name.log)" >&2
        echo "{\"error\": \"exit status $?\"}" > "$OUT/$name.json"
        runs+=("$name")
      fi
    done
  done
done

"$PY" - "$OUT" "${runs[@]}" <<'EOF'
import json
import sys
from pathlib import Path

from bench.chart import gpu_summary_svg

out = Path(sys.argv[1])
rows, summary = [], {}
for name in sys.argv[2:]:
    data = json.loads((out / f"{name}.json").read_text())
    summary[name] = data
    for backend, run in (data.get("runs") or {}).items():
        if "error" in run:
            rows.append(f"| {name} | {backend} | failed | | | | |")
            continue
        rows.append(
            f"| {name} | {backend} | {run['naive_emails_per_s']} | "
            f"{run['batched_emails_per_s']} | {run['ratio']} | "
            f"{run['peak_rss_mb']:.0f} | {run['load_s']} |"
        )
    if "error" in data:
        rows.append(f"| {name} | - | {data['error']} | | | | |")
table = "\n".join(
    [
        "| run | backend | naive emails/s | batched emails/s | batched/naive "
        "| peak RSS MB | load s |",
        "|---|---|---|---|---|---|---|",
        *rows,
    ]
)
(out / "table.md").write_text(table + "\n")
(out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
gpu = (out / "gpu.txt").read_text().strip() if (out / "gpu.txt").is_file() else "CPU"
(out / "chart.svg").write_text(
    gpu_summary_svg(summary, f"Batched emails/s (x one at a time), on {gpu}")
)
print(table)
print(f"\nwritten to {out}/table.md, summary.json and chart.svg")
EOF

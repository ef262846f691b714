"""Print the class balance of support_sentences.jsonl as Markdown tables.

python data/labelled/stats.py   # paste the output into DATASHEET.md
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from workers.nlp.intent import DEFAULT_INTENT_LABELS as INTENTS  # noqa: E402

SENTIMENTS = ("negative", "neutral", "positive")


def table(rows: list[dict[str, str]]) -> str:
    cells = Counter((r["intent"], r["sentiment"]) for r in rows)
    splits = Counter((r["intent"], r["split"]) for r in rows)
    head = "| intent | " + " | ".join(SENTIMENTS) + " | total | train | eval |"
    lines = [head, "|" + "---|" * (len(SENTIMENTS) + 4)]
    for intent in INTENTS:
        counts = [cells[(intent, s)] for s in SENTIMENTS]
        lines.append(
            f"| {intent} | "
            + " | ".join(map(str, counts))
            + f" | {sum(counts)} | {splits[(intent, 'train')]}"
            + f" | {splits[(intent, 'eval')]} |"
        )
    totals = [sum(cells[(i, s)] for i in INTENTS) for s in SENTIMENTS]
    by_split = Counter(r["split"] for r in rows)
    lines.append(
        "| **total** | "
        + " | ".join(map(str, totals))
        + f" | {len(rows)} | {by_split['train']} | {by_split['eval']} |"
    )
    return "\n".join(lines)


def main(path: Path = HERE / "support_sentences.jsonl") -> int:
    with path.open(encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(*(Path(a) for a in sys.argv[1:])))

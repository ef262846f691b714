"""Benchmark: `triage.quoting.strip_quoted` on a long quoted thread.

    python bench/quoting.py                 # 40 nested replies (~1,300 lines)
    python bench/quoting.py --replies 200 --repeat 50

The thread is built here: a short reply above a history of `--replies` earlier
messages, alternating Gmail ("On ... wrote:" + "> " lines, nesting deeper each time)
and Outlook ("From:/Sent:/To:/Subject:" blocks), the shape a long support thread
has. Prints the median time per call and writes bench/results/quoting.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from triage.quoting import strip_quoted  # noqa: E402

BODY = (
    "Thanks for the update. The replacement arrived but the lid is still loose,\n"
    "and the order number on the box (4711) does not match the invoice.\n"
    "Could you check whether a second parcel is on its way?\n\n"
    "Best regards,\nAda Lovelace\n"
)


def thread(replies: int) -> str:
    history = ""
    for n in range(replies):
        if n % 2:
            block = (
                "From: Support <support@shop.test>\nSent: Monday, November "
                f"{n % 28 + 1},"
                f" 2025 9:14 AM\nTo: Ada <ada@example.com>\nSubject: RE: order 4711\n\n"
                f"{BODY}\n{history}"
            )
        else:
            quoted = "".join(f"> {line}\n" for line in (BODY + history).splitlines())
            block = (
                f"On Mon, Nov {n % 28 + 1}, 2025 at 9:14 AM Support "
                f"<support@shop.test> wrote:\n\n{quoted}"
            )
        history = block
    return f"{BODY}\n{history}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--replies", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    text = thread(args.replies)
    assert strip_quoted(text) == BODY.rstrip()
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        strip_quoted(text)
        times.append(time.perf_counter() - start)
    result = {
        "lines": text.count("\n"),
        "chars": len(text),
        "median_ms": round(statistics.median(times) * 1000, 3),
        "min_ms": round(min(times) * 1000, 3),
    }
    print(json.dumps(result))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "quoting.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()

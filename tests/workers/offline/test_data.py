"""The labelled set: well-formed, stratified, and free of the acceptance email."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter

import pytest

from tests.conftest import REPO
from tests.workers.offline.conftest import BUMBLEBEE
from workers.nlp.offline.heads import LABELLED_DATA
from workers.nlp.offline.train import examples, load_labelled

DATA_DIR = REPO / "data" / "labelled"


@pytest.fixture(scope="module")
def rows():
    return load_labelled(LABELLED_DATA)


def words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def test_enough_rows_unique_ids_and_texts(rows):
    assert len(rows) >= 400
    assert len({r["id"] for r in rows}) == len(rows)
    assert len({r["text"].lower() for r in rows}) == len(rows)


def test_every_label_is_represented_in_both_splits(rows):
    for task in ("sentiment", "intent"):
        for split in ("train", "eval"):
            labels = {e.label for e in examples(rows, task, split)}
            expected = 3 if task == "sentiment" else 8
            assert len(labels) == expected, (task, split, labels)


def test_eval_is_about_a_fifth_of_every_intent(rows):
    total = Counter(r["intent"] for r in rows)
    held_out = Counter(r["intent"] for r in rows if r["split"] == "eval")
    for intent, n in total.items():
        assert 0.15 <= held_out[intent] / n <= 0.25, intent


def test_the_bumblebee_email_is_not_in_the_data(rows):
    bumblebee = words(BUMBLEBEE)
    grams = {tuple(bumblebee[i : i + 5]) for i in range(len(bumblebee) - 4)}
    names = re.compile(r"megatron|optimus|decepticon|bumblebee|amazon|germany", re.I)
    for row in rows:
        assert not names.search(row["text"]), row["id"]
        w = words(row["text"])
        shared = [g for g in zip(*(w[i:] for i in range(5))) if g in grams]
        assert not shared, (row["id"], shared)


def test_the_check_above_would_catch_a_copied_sentence():
    copied = words("To resolve the issue, I demand an exchange of the lamp.")
    bumblebee = words(BUMBLEBEE)
    grams = {tuple(bumblebee[i : i + 5]) for i in range(len(bumblebee) - 4)}
    assert any(g in grams for g in zip(*(copied[i:] for i in range(5))))


def test_datasheet_table_matches_the_data():
    printed = subprocess.run(
        [sys.executable, str(DATA_DIR / "stats.py")],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    assert printed in (DATA_DIR / "DATASHEET.md").read_text(encoding="utf-8")

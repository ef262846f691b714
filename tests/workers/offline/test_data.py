"""The labelled set: well-formed, stratified, and free of the acceptance email."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter

import pytest

from tests.conftest import REPO
from tests.workers.offline.conftest import BUMBLEBEE
from triage.quoting import strip_quoted
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


@pytest.fixture(scope="module")
def email_sets():
    from workers.nlp.offline.head_files import EMAIL_DATA, EVAL_EMAILS
    from workers.nlp.offline.train import load_emails

    return {"train": load_emails(EMAIL_DATA), "eval": load_emails(EVAL_EMAILS)}


def test_whole_emails_are_well_formed_and_apart(email_sets, rows):
    train, eval_ = email_sets["train"], email_sets["eval"]
    assert len(eval_) >= 60
    assert {r["split"] for r in train} == {"train"}
    assert {r["split"] for r in eval_} == {"eval"}
    english = [r for r in eval_ if r["language"] == "en"]
    assert len(english) >= 50
    assert len({r["language"] for r in eval_}) >= 4  # several languages
    # Every sentiment and the inbox's kinds of mail are in both sets.
    for part in (train, english):
        assert {r["sentiment"] for r in part} == {"negative", "neutral", "positive"}
        assert {"praise", "question", "complaint", "mixed", "quoted"} <= {
            r["kind"] for r in part
        }
    # Written apart: no evaluation email shares a sentence-long run of words with
    # the training emails or the labelled sentences.
    # Quoted history (the shop's own attribution lines) is not the customer's text.
    seen = set()
    for row in [*train, *rows]:
        w = words(strip_quoted(row["text"]))
        seen |= {tuple(w[i : i + 8]) for i in range(len(w) - 7)}
    for row in eval_:
        w = words(strip_quoted(row["text"]))
        shared = [g for g in zip(*(w[i:] for i in range(8))) if g in seen]
        assert not shared, (row["id"], shared[:1])


def test_the_bumblebee_email_is_not_in_the_email_sets(email_sets):
    bumblebee = words(BUMBLEBEE)
    grams = {tuple(bumblebee[i : i + 5]) for i in range(len(bumblebee) - 4)}
    names = re.compile(r"megatron|optimus|decepticon|bumblebee|amazon|germany", re.I)
    for row in [*email_sets["train"], *email_sets["eval"]]:
        assert not names.search(row["text"]), row["id"]
        w = words(row["text"])
        assert not [g for g in zip(*(w[i:] for i in range(5))) if g in grams], row["id"]

"""Fixtures for the pipeline tests: sample emails and small-generation configs."""

from __future__ import annotations

import email
import email.policy
import email.utils
import os
from pathlib import Path

import pytest

from workers.nlp import PipelineConfig

# Tiny models gain nothing from intra-op threads, and on a busy machine (CI, other
# test runs) every OpenMP barrier waits for a descheduled thread: one thread keeps
# the tiny forward passes at microseconds. Set before any model loads.
os.environ.setdefault("TRIAGE_TORCH_THREADS", "1")

SAMPLES = Path(__file__).resolve().parents[3] / "samples"
SHOP_EMAIL = "support@example-shop.test"


def read_sample(name: str) -> dict[str, str]:
    message = email.message_from_bytes(
        (SAMPLES / name).read_bytes(), policy=email.policy.default
    )
    try:
        body = message.get_body(preferencelist=("plain", "html"))
        text = body.get_content() if body is not None else ""
    except (LookupError, ValueError, AttributeError):
        text = ""
    name_, address = email.utils.parseaddr(str(message.get("From", "")))
    return {
        "text": str(text),
        "subject": str(message.get("Subject", "")),
        "customer_name": name_,
        "customer_email": address,
    }


@pytest.fixture(scope="session")
def samples() -> dict[str, dict[str, str]]:
    """Sample file stem ("01-bumblebee") -> EmailInput."""
    return {path.stem: read_sample(path.name) for path in sorted(SAMPLES.glob("*.eml"))}


@pytest.fixture(scope="session")
def make_config(tiny_models):
    """PipelineConfig over the tiny models; generation kept to a few tokens."""

    def make(**overrides) -> PipelineConfig:
        values = {
            "models": dict(tiny_models),
            "summary_min_words": 20,
            "summary_max_length": 8,
            "draft_max_new_tokens": 8,
            "shop_name": "Example Shop",
            "shop_email": SHOP_EMAIL,
            "batch_size": 4,
            **overrides,
        }
        return PipelineConfig(**values)

    return make

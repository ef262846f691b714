"""Customer history (issue 15 item 4): panel, page, counts per customer."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import TicketFactory, UserFactory
from triage.selectors.customers import customer_ticket_counts, customer_tickets
from triage.services import roles_sync

pytestmark = pytest.mark.django_db


def test_history_and_counts():
    a1 = TicketFactory(customer_email="ada@example.com", subject="One")
    a2 = TicketFactory(customer_email="ada@example.com", subject="Two")
    TicketFactory(customer_email="bob@example.com")
    assert [t.pk for t in customer_tickets("ada@example.com", exclude_id=a2.pk)] == [
        a1.pk
    ]
    assert customer_ticket_counts(["ada@example.com", "bob@example.com", ""]) == {
        "ada@example.com": 2,
        "bob@example.com": 1,
    }


def test_customer_page_needs_view_permission_and_escapes(client):
    hostile = 'x"><script>alert(1)</script>@example.com'
    TicketFactory(customer_email=hostile, customer_name="<b>Eve</b>")
    url = reverse("admin:triage_customer")
    nobody = UserFactory()
    client.force_login(nobody)
    assert client.get(url, {"email": hostile}).status_code == 403
    agent = UserFactory(groups=[roles_sync()["Agents"]])
    client.force_login(agent)
    response = client.get(url, {"email": hostile})
    assert response.status_code == 200
    html = response.content.decode()
    assert "<script>alert(1)</script>" not in html and "<b>Eve</b>" not in html
    assert client.get(url, {"email": "nobody@example.com"}).status_code == 404

"""The README's API example, run as written (only the server, the token and the
ticket number swapped in) with `requests` against a live server: it lists
today's negative tickets and approves a draft, and the reply is mailed once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import ReplyDraftFactory, TicketFactory
from tests.triage.api.webhook_receiver import readme_snippet
from triage.models import AuditEvent, ReplyDraft, Ticket
from triage.services.api_tokens import api_token_create


def _swap(snippet: str, old: str, new: str) -> str:
    assert old in snippet, f"the README's example no longer has {old!r}"
    return snippet.replace(old, new)


@pytest.mark.django_db(transaction=True)
def test_readme_lists_todays_negative_tickets_and_approves_a_draft(
    live_server, approver, smtp, capsys
):
    draft = ReplyDraftFactory()
    ticket = draft.ticket
    Ticket.objects.filter(pk=ticket.pk).update(sentiment_label="NEGATIVE")
    old = TicketFactory(sentiment_label="NEGATIVE")
    Ticket.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(days=3)
    )
    TicketFactory(sentiment_label="POSITIVE")
    _, secret = api_token_create(user=approver, name="README")

    code = readme_snippet("/approve/")
    code = _swap(
        code,
        '"https://triage.example.com/api/v1"',
        repr(f"{live_server.url}/api/v1"),
    )
    code = _swap(code, '"Bearer trg_…"', repr(f"Bearer {secret}"))
    code = _swap(code, "/tickets/42/", f"/tickets/{ticket.pk}/")
    exec(compile(code, "README.md", "exec"), {})

    printed = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in printed] == [str(ticket.pk)]
    draft.refresh_from_db()
    assert draft.status == ReplyDraft.Status.SENT
    [mail] = smtp.wait_for(1)
    assert mail.rcpt_tos == [ticket.customer_email]
    assert AuditEvent.objects.get(action="reply_approved").actor == approver

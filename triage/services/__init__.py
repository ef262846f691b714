"""Every write goes through a function in this package (HackSoft style)."""

from triage.services.dashboard import roles_sync, ticket_assign, ticket_update
from triage.services.ingest import IngestResult, email_ingest
from triage.services.replies import (
    ReplyRefused,
    SendOutcome,
    reply_approve,
    reply_create,
    reply_edit,
    reply_enqueue_send,
    reply_reject,
    reply_send,
    reply_send_fail,
)
from triage.services.triage import (
    TriageJob,
    analysis_save,
    message_enqueue_triage,
    message_triage_claim,
    message_triage_fail,
    message_triage_release,
    message_triage_retry,
)

__all__ = [
    "IngestResult",
    "ReplyRefused",
    "SendOutcome",
    "TriageJob",
    "analysis_save",
    "email_ingest",
    "message_enqueue_triage",
    "message_triage_claim",
    "message_triage_fail",
    "message_triage_release",
    "message_triage_retry",
    "reply_approve",
    "reply_create",
    "reply_edit",
    "reply_enqueue_send",
    "reply_reject",
    "reply_send",
    "reply_send_fail",
    "roles_sync",
    "ticket_assign",
    "ticket_update",
]

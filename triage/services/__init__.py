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
from triage.services.triage_stages import (
    analysis_save_encoded,
    message_generate_claim,
    message_rerun_job,
    steps_to_rerun,
)

__all__ = [
    "IngestResult",
    "ReplyRefused",
    "SendOutcome",
    "TriageJob",
    "analysis_save",
    "analysis_save_encoded",
    "email_ingest",
    "message_enqueue_triage",
    "message_generate_claim",
    "message_rerun_job",
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
    "steps_to_rerun",
    "ticket_assign",
    "ticket_update",
]

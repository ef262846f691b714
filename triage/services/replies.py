"""The approval gate: edit, approve or reject a reply draft, and send it exactly once.

State machine of a ReplyDraft::

    drafted --edit--> drafted --approve--> approved --claim--> sending --> sent
       ^  \\--reject--> rejected --edit--/      ^                  |
       |                                        \\---- released ---/  (SMTP error)
    failed <--(gave up / refused / outcome unknown)-- approved | sending

Exactly once rests on three things:
- every transition happens under `select_for_update` on the draft row, so a double
  click, two approvers or two send tasks serialise and only one wins;
- a send first *claims* the draft (approved -> sending, committed) before it talks
  to SMTP; whoever finds it `sending` does not send;
- the email's Message-ID is derived from the draft's idempotency key, so a crash
  between the SMTP "250 OK" and our commit is detectable at the mail server and a
  re-send is the same message to receivers that de-duplicate on Message-ID. Such a
  claim is never retried automatically: past its lease the draft becomes `failed`
  with "outcome unknown" and an approver decides.

The services are split along those seams: approval (`reply_approval`), the outgoing
email (`reply_composition`) and sending (`reply_sending`), with what they share in
`reply_common`. This module keeps every name importable from here.
"""

from __future__ import annotations

from triage.services.reply_approval import (
    reply_approve,
    reply_create,
    reply_edit,
    reply_reject,
    reply_version,
)
from triage.services.reply_common import (
    EDITABLE,
    PERM_ADD,
    PERM_APPROVE,
    PERM_EDIT,
    REASON_MAX_CHARS,
    TEXT_MAX_CHARS,
    OutgoingReply,
    ReplyRefused,
    SendOutcome,
    User,
)
from triage.services.reply_composition import (
    LINE_BREAK_RE,
    REFERENCES_MAX,
    SUBJECT_PREFIX_RE,
    reply_compose,
    reply_customer_language,
    reply_in_customer_language,
    reply_message_id,
    reply_subject,
)
from triage.services.reply_sending import (
    _send_claim,
    _smtp_deliver,
    reply_enqueue_send,
    reply_send,
    reply_send_fail,
)

__all__ = [
    "EDITABLE",
    "LINE_BREAK_RE",
    "PERM_ADD",
    "PERM_APPROVE",
    "PERM_EDIT",
    "REASON_MAX_CHARS",
    "REFERENCES_MAX",
    "SUBJECT_PREFIX_RE",
    "TEXT_MAX_CHARS",
    "OutgoingReply",
    "ReplyRefused",
    "SendOutcome",
    "User",
    "_send_claim",
    "_smtp_deliver",
    "reply_approve",
    "reply_compose",
    "reply_create",
    "reply_customer_language",
    "reply_edit",
    "reply_enqueue_send",
    "reply_in_customer_language",
    "reply_message_id",
    "reply_reject",
    "reply_send",
    "reply_send_fail",
    "reply_subject",
    "reply_version",
]

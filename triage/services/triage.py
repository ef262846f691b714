"""Triage bookkeeping: claim a message, save step results, record failures."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from triage import queue
from triage.models import AuditEvent, Message, ReplyDraft, Ticket
from triage.quoting import strip_quoted
from triage.selectors.analyses import message_outcomes
from triage.services.analysis_rows import analysis_rows_save
from triage.services.denorm import ticket_list_fields_refresh, ticket_search_refresh
from triage.services.outgoing_webhooks import webhook_emit
from triage.services.sla import sla_apply
from workers import contract

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TriageJob:
    """What the models need of one message: plain data, safe to hand to workers."""

    message_id: int
    text: str
    subject: str
    customer_name: str
    customer_email: str

    def as_email(self) -> contract.EmailInput:
        """The `workers.contract.EmailInput` of this message."""
        return contract.email_input(
            self.text, self.subject, self.customer_name, self.customer_email
        )


def message_enqueue_triage(message_id: int) -> bool:
    """Publish the triage task. False when the broker is unreachable.

    The message stays `received` then, and the periodic sweeper (or `manage.py
    triage`) picks it up, so a broker outage loses nothing.
    """
    if not queue.publish(queue.TRIAGE_MESSAGE, [message_id], raise_eager=True):
        Message.objects.filter(pk=message_id).update(triage_enqueued_at=None)
        return False
    Message.objects.filter(pk=message_id).update(triage_enqueued_at=timezone.now())
    return True


def message_triage_claim(
    message_ids: Sequence[int], *, extra: int = 0
) -> list[TriageJob]:
    """Claim messages for triage: the given ids plus up to `extra` other waiting ones.

    Claimed rows turn `triaging` with one more attempt. Rows locked by another
    worker, already triaged, or claimed recently by a live worker are skipped, so
    every message is triaged by one worker at a time. A claim older than the soft
    time limit is presumed abandoned (a hard time limit or a kill; acks_late then
    redelivers at once) and is taken over; should the old task still save, the
    unique constraints keep one set of results. Picking up `extra` waiting messages
    is what makes batches under load; their own queued tasks then find them done.

    The claim reads and writes ids only, and each job then loads just the columns
    the models need, row by row if need be: one row that cannot be read (a value
    the database holds but Python cannot) is failed by id with its error, and
    never stops the claim of the others (issue 10).
    """
    stale = timezone.now() - timedelta(seconds=settings.CELERY_TASK_SOFT_TIME_LIMIT)
    # Failed messages are a dead letter: only `message_triage_retry` revives them.
    claimable = Q(triage_status=Message.TriageStatus.RECEIVED) | Q(
        triage_status=Message.TriageStatus.TRIAGING, triage_started_at__lt=stale
    )
    locked = Message.objects.select_for_update(skip_locked=True, of=("self",))
    with transaction.atomic():
        ids = list(
            locked.filter(claimable, pk__in=list(message_ids)).values_list(
                "pk", flat=True
            )
        )
        if extra > 0:
            ids += list(
                locked.filter(
                    direction=Message.Direction.INBOUND,
                    triage_status=Message.TriageStatus.RECEIVED,
                    # A message that failed once is retried alone, by its own
                    # task: a poison message must not sink other batches.
                    triage_attempts=0,
                )
                .exclude(pk__in=list(message_ids))
                .order_by("received_at")
                .values_list("pk", flat=True)[:extra]
            )
        ids = _give_up_on_exhausted(ids)
        Message.objects.filter(pk__in=ids).update(
            triage_status=Message.TriageStatus.TRIAGING,
            triage_attempts=F("triage_attempts") + 1,
            triage_started_at=timezone.now(),
        )
    skipped = set(message_ids) - set(ids)
    if skipped:
        logger.info("Not claiming messages %s: done, gone or busy", sorted(skipped))
    return message_jobs(ids)


JOB_COLUMNS = (
    "pk",
    "text_body",
    "subject",
    "from_name",
    "from_address",
    "ticket__customer_name",
    "ticket__customer_email",
)


def message_jobs(ids: list[int]) -> list[TriageJob]:
    """The claimed messages as jobs, in claim order; unreadable rows are failed."""
    if not ids:
        return []
    try:
        with transaction.atomic():
            rows = {r[0]: r for r in _job_rows(ids)}
    except Exception:
        logger.exception("Loading messages %s failed; loading one by one", ids)
        rows = {}
        for pk in ids:
            try:
                with transaction.atomic():
                    rows.update({r[0]: r for r in _job_rows([pk])})
            except Exception as exc:
                logger.exception("Message %s cannot be read; failed", pk)
                message_triage_fail(
                    message_id=pk, error=f"unreadable row: {type(exc).__name__}: {exc}"
                )
    return [_job(rows[pk]) for pk in ids if pk in rows]


def _job_rows(ids: list[int]) -> list[tuple[Any, ...]]:
    return list(Message.objects.filter(pk__in=ids).values_list(*JOB_COLUMNS))


def _job(row: tuple[Any, ...]) -> TriageJob:
    pk, text, subject, from_name, from_address, customer_name, customer_email = row
    return TriageJob(
        message_id=pk,
        text=strip_quoted(text)[: settings.TRIAGE_MODEL_TEXT_MAX_CHARS],
        subject=subject,
        customer_name=from_name or customer_name,
        customer_email=from_address or customer_email,
    )


def _give_up_on_exhausted(ids: list[int]) -> list[int]:
    """Fail the messages that used up their attempts; return the others.

    The attempt counter lives on the row, so it also counts deliveries whose worker
    was killed before it could record anything (acks_late redelivers those).
    """
    limit = settings.TRIAGE_MAX_ATTEMPTS
    exhausted = Message.objects.filter(pk__in=ids, triage_attempts__gte=limit)
    gone = {}
    for pk, attempts, error in exhausted.values_list(
        "pk", "triage_attempts", "triage_error"
    ):
        logger.error("Message %s failed triage %s times; giving up", pk, limit)
        gone[pk] = (
            f"Gave up after {attempts} attempts"
            + (f"; last error: {error}" if error else "")
        )[:10000]
    for pk, error in gone.items():
        Message.objects.filter(pk=pk).update(
            triage_status=Message.TriageStatus.FAILED, triage_error=error
        )
    return [pk for pk in ids if pk not in gone]


def message_triage_release(
    *, retry: Sequence[int] = (), extras: Sequence[int] = (), error: str = ""
) -> None:
    """Hand back the claims of a batch that failed; each attempt counts.

    `retry`: the task's own messages, claimed again by the task's retry. `extras`:
    messages picked up to fill the batch; they are enqueued again, because their
    own task may already have run and found them busy (if it has not, the later of
    the two tasks finds them done). Having failed once, none of them is batched
    with others again, so a poison message costs its neighbours one attempt.
    """
    with transaction.atomic():
        Message.objects.filter(
            pk__in=[*retry, *extras], triage_status=Message.TriageStatus.TRIAGING
        ).update(
            triage_status=Message.TriageStatus.RECEIVED,
            triage_started_at=None,
            triage_error=error[:10000],
        )
        if extras:
            transaction.on_commit(lambda: [message_enqueue_triage(pk) for pk in extras])


def analysis_save(
    *, message_id: int, results: contract.Outcomes, keep: Sequence[str] = ()
) -> Message:
    """Store one message's step results (plain dicts from workers.nlp) and finish
    its triage: status, ticket labels, draft, audit, webhook.

    Idempotent: a rerun replaces the rows of the steps it ran. ``keep``: steps
    saved earlier (by the encode stage, or before a failed step was retried)
    whose rows stay as they are; the message's status and everything derived
    from the analysis are computed over them and ``results`` together.
    """
    with transaction.atomic():
        # Only the columns written here: a row with a value Python cannot read in
        # another column (an out-of-range date) must still save (issue 10).
        message = (
            Message.objects.select_for_update()
            .only("pk", "triage_status", "triage_error", "triaged_at", "ticket")
            .get(pk=message_id)
        )
        analysis_rows_save(message, results)
        # Read under the message's lock: a concurrent retry of another step
        # saved before this one counts.
        kept = message_outcomes(message_id, [s for s in keep if s not in results])
        results = {**kept, **results}
        errors = {s: o["error"] for s, o in results.items() if o.get("error")}
        # Language and translation only prepare the text: if every step that
        # analyses it failed, the triage failed, whatever the preparation did.
        analysing = set(results) - PREPARATION_STEPS or set(results)
        if results and analysing <= set(errors):
            message.triage_status = Message.TriageStatus.FAILED
            message.triage_error = "; ".join(f"{s}: {e}" for s, e in errors.items())
        else:
            message.triage_status = Message.TriageStatus.TRIAGED
            message.triage_error = "; ".join(f"{s}: {e}" for s, e in errors.items())
            message.triaged_at = timezone.now()
        message.save(update_fields=["triage_status", "triage_error", "triaged_at"])
        _ticket_apply(message.ticket, results)
        _draft_save(message, contract.draft_of(results))
        # The answer and the draft shown in the list; the search vector, stemmed
        # in the language just detected.
        ticket_list_fields_refresh([message.ticket_id])
        ticket_search_refresh([message.ticket_id])
        AuditEvent.objects.create(
            ticket=message.ticket,
            action="message_triaged",
            detail={
                "message": message.pk,
                "status": message.triage_status,
                "failed_steps": sorted(errors),
            },
        )
        # The analysis as stored (each step's result or error).
        webhook_emit(
            "message.triaged",
            {
                "ticket": message.ticket_id,
                "message": message.pk,
                "status": message.triage_status,
                "analysis": {
                    step: {"result": o.get("result"), "error": o.get("error") or ""}
                    for step, o in results.items()
                },
            },
        )
    return message


PREPARATION_STEPS = contract.PREPARATION_STEPS


PRIORITIES = {
    "urgent": Ticket.Priority.URGENT,
    "high": Ticket.Priority.HIGH,
    "normal": Ticket.Priority.NORMAL,
    "low": Ticket.Priority.LOW,
}


def _ticket_apply(ticket: Ticket, results: contract.Outcomes) -> None:
    """Copy the latest message's labels onto its ticket (list filters, ordering)."""

    fields = []
    priority_before = ticket.priority
    if sentiment := contract.sentiment_of(results):
        ticket.sentiment_label = str(sentiment["label"])[:32]
        ticket.sentiment_score = float(sentiment["score"])
        fields += ["sentiment_label", "sentiment_score"]
    if language := (contract.language_of(results) or {"language": None})["language"]:
        ticket.language = str(language)[:16]
        fields.append("language")
    not_analysed = contract.not_analysed_of(results)
    if not_analysed:
        # No model read this mail: no label of theirs is kept, the routing is
        # the team's (TRIAGE_NOT_ANALYSED), not a guess.
        fields += _ticket_route_not_analysed(ticket, not_analysed)
    elif ticket.not_analysed:
        ticket.not_analysed = ""
        fields.append("not_analysed")
    if not not_analysed and (intent := contract.intent_of(results)):
        ticket.intent = str(intent.get("label") or "")[:64]
        ticket.priority = PRIORITIES.get(str(intent.get("priority")), ticket.priority)
        fields += ["intent", "priority"]
    if ticket.status == Ticket.Status.NEW:
        ticket.status = Ticket.Status.NEEDS_REVIEW
        fields.append("status")
    if ticket.priority != priority_before:
        fields += sla_apply(ticket)  # issue 15: the new priority's targets
    if fields:
        ticket.save(update_fields=[*fields, "updated_at"])


def _ticket_route_not_analysed(ticket: Ticket, reason: str) -> list[str]:
    """Flag a ticket no model could read and route it as configured: a priority
    high enough not to be buried, and an assignee who reads its language."""
    routing = settings.TRIAGE_NOT_ANALYSED
    ticket.not_analysed = reason[:255]
    ticket.sentiment_label = ""
    ticket.sentiment_score = None
    ticket.intent = ""
    ticket.priority = PRIORITIES.get(
        str(routing.get("priority") or "high"), Ticket.Priority.HIGH
    )
    fields = [
        "not_analysed",
        "sentiment_label",
        "sentiment_score",
        "intent",
        "priority",
    ]
    username = (routing.get("assignees") or {}).get(ticket.language)
    if username and ticket.assigned_to_id is None:
        assignee = get_user_model().objects.filter(username=username).first()
        if assignee is not None:
            ticket.assigned_to = assignee
            fields.append("assigned_to")
    return fields


def _draft_save(message: Message, draft: contract.Draft | None) -> None:
    """The model's draft for this message: created, or refreshed while untouched.

    A draft an agent has already approved, rejected or sent is history and stays.
    """
    if not draft or not draft.get("text"):
        return
    existing = ReplyDraft.objects.filter(
        in_reply_to_message=message, created_by=ReplyDraft.Author.MODEL
    ).first()
    if existing is not None and (
        existing.status != ReplyDraft.Status.DRAFTED or existing.author_id
    ):
        return
    values = {
        "ticket": message.ticket,
        "text": draft["text"],
        "text_customer_language": draft.get("text_customer_language") or "",
        "customer_language": draft.get("customer_language") or "",
        "customer_language_model": draft.get("customer_language_model") or "",
        "customer_language_via": draft.get("customer_language_via") or "",
    }
    if existing is None:
        created = ReplyDraft.objects.create(
            in_reply_to_message=message,
            created_by=ReplyDraft.Author.MODEL,
            arrived_at=message.received_at,
            **values,
        )
        webhook_emit(
            "draft.created",
            {"ticket": message.ticket_id, "draft": created.pk, "text": created.text},
        )
    else:
        for name, value in values.items():
            setattr(existing, name, value)
        existing.save()


def message_triage_retry(
    message_ids: Sequence[int], *, enqueue: bool = True
) -> list[int]:
    """Give failed messages a fresh set of attempts (dead letters retried by an
    operator), enqueued unless the caller triages them itself. Returns the ids that
    were failed and now wait again.
    """
    with transaction.atomic():
        ids = list(
            Message.objects.select_for_update()
            .filter(pk__in=list(message_ids), triage_status=Message.TriageStatus.FAILED)
            .values_list("pk", flat=True)
        )
        Message.objects.filter(pk__in=ids).update(
            triage_status=Message.TriageStatus.RECEIVED,
            triage_attempts=0,
            triage_started_at=None,
        )
        if enqueue:
            transaction.on_commit(lambda: [message_enqueue_triage(pk) for pk in ids])
    return ids


def message_triage_fail(*, message_id: int, error: str) -> None:
    """Record a triage that could not complete (the task gave up retrying)."""
    Message.objects.filter(pk=message_id).exclude(
        triage_status=Message.TriageStatus.TRIAGED
    ).update(triage_status=Message.TriageStatus.FAILED, triage_error=error[:10000])

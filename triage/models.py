"""The system of record: every email, its ticket, and what the models said.

Analysis is one row per (message, step) rather than typed columns on Message: each
step fails, retries and records its model independently, a step can be re-run alone,
and the steps still to come (translation, summary, intent, draft) need no migration.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone

from workers import contract

# The ticket list's filter columns (the admin's filters read them).
LIST_FILTERS = ("status", "shown_sentiment", "shown_intent", "language", "assigned_to")


class Ticket(models.Model):
    class Status(models.TextChoices):
        NEW = "new", "New"
        NEEDS_REVIEW = "needs_review", "Needs review"
        WAITING = "waiting", "Waiting on customer"
        CLOSED = "closed", "Closed"

    class Priority(models.IntegerChoices):
        # Integers so the dashboard can order by urgency.
        URGENT = 1, "Urgent"
        HIGH = 2, "High"
        NORMAL = 3, "Normal"
        LOW = 4, "Low"

    subject = models.CharField(max_length=998, blank=True)
    customer_email = models.CharField(max_length=320, db_index=True)
    customer_name = models.CharField(max_length=255, blank=True)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.NEW, db_index=True
    )
    priority = models.PositiveSmallIntegerField(
        choices=Priority.choices, default=Priority.NORMAL, db_index=True
    )
    intent = models.CharField(max_length=64, blank=True)
    language = models.CharField(max_length=16, blank=True)
    # Copied from the latest inbound message's analysis so the list can filter and
    # sort on it without a subquery per row.
    sentiment_label = models.CharField(max_length=32, blank=True, db_index=True)
    sentiment_score = models.FloatField(null=True, blank=True)
    # An agent's correction of the model's labels; training data for `train_heads
    # --from-tickets` and what the dashboard shows instead of the model's guess.
    agent_sentiment = models.CharField(max_length=32, blank=True)
    agent_intent = models.CharField(max_length=64, blank=True)
    labels_corrected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    labels_corrected_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    # Set when no model here reads the latest mail's language ("no model reads
    # German here: install a de→en translation model"): the ticket is flagged and
    # routed by TRIAGE_NOT_ANALYSED, never given a model-derived priority.
    not_analysed = models.CharField(max_length=255, blank=True, db_index=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tickets",
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    # --- What the list shows, stored so a page of 50 rows reads 50 rows ---
    # The agent's correction, else the model's label: computed by the database on
    # every write, so no code path can forget it, and indexed for the filters.
    shown_sentiment = models.GeneratedField(
        expression=Coalesce(NullIf(F("agent_sentiment"), Value("")), "sentiment_label"),
        output_field=models.CharField(max_length=32),
        db_persist=True,
    )
    shown_intent = models.GeneratedField(
        expression=Coalesce(NullIf(F("agent_intent"), Value("")), "intent"),
        output_field=models.CharField(max_length=64),
        db_persist=True,
    )
    # What the newest inbound message asks for (its `answer` analysis) and the
    # status of the newest reply draft; kept by `triage.services.denorm` when an
    # analysis or a draft is saved.
    latest_answer = models.CharField(max_length=300, blank=True, db_default="")
    draft_status = models.CharField(
        max_length=10, blank=True, db_default="", editable=False
    )
    # Subject, customer and inbound bodies as a PostgreSQL tsvector (GIN index,
    # created by migration 0006 on PostgreSQL only); kept by
    # `triage.services.denorm.ticket_search_refresh`. Unused on SQLite.
    search_vector = SearchVectorField(null=True, editable=False)
    # Issue 15: marked as spam by an agent (or from a blocked sender): hidden
    # from the list, shown in the spam view, undoable.
    is_spam = models.BooleanField(default=False, db_default=False)
    # Issue 15: merged into another ticket, which now holds its messages, drafts,
    # notes and history; its page redirects there.
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="merged_from",
        editable=False,
    )
    # Issue 15 SLA: the first-response target and when it was met (our first
    # reply sent); `due_at` is the next target, resolution once answered.
    first_response_due_at = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # `pk` last makes the order total, so the admin adds no `-pk` of its own
        # and the index below serves the whole ORDER BY.
        ordering = ["priority", "created_at", "pk"]
        # The list hides spam: with `is_spam` in the index, its page and its
        # capped count ("10,000+") are index-only scans; without it, every counted
        # row was a heap visit (40-75 ms at 100k tickets).
        indexes = [
            models.Index(
                fields=["priority", "created_at", "id"],
                include=["is_spam"],
                name="ticket_list_order_idx",
            ),
            # One per list filter, in the list's order: a filtered page is the
            # first 50 entries of one index range. Each carries the other filters'
            # columns, so the capped count of combined filters stays index-only
            # (three filters at 1M tickets: 101 ms of heap visits).
            *(
                models.Index(
                    fields=[column, "priority", "created_at", "id"],
                    include=["is_spam", *(c for c in LIST_FILTERS if c != column)],
                    name=f"ticket_{column.split('_')[-1][:9]}_list_idx",
                )
                for column in LIST_FILTERS
                if column != "assigned_to"
            ),
            models.Index(
                fields=["assigned_to", "priority", "created_at", "id"],
                include=["is_spam", *(c for c in LIST_FILTERS if c != "assigned_to")],
                name="ticket_assignee_list_idx",
            ),
            # The overview's charts: days, sentiment and intent from the index.
            models.Index(
                fields=["created_at", "shown_sentiment", "shown_intent"],
                name="ticket_created_labels_idx",
            ),
            # The overview's SLA block: first-response figures over a window of
            # days, and the open tickets' clocks and assignees, index-only.
            models.Index(
                fields=["created_at"],
                # `id`: what Count("pk") reads.
                include=["first_response_due_at", "first_response_at", "is_spam", "id"],
                name="ticket_sla_window_idx",
            ),
            models.Index(
                fields=["status", "due_at"],
                include=["assigned_to", "is_spam", "id"],
                name="ticket_sla_open_idx",
            ),
            # The overview's "not analysed" panel: the few tickets no model read,
            # without scanning the many that were.
            models.Index(
                fields=["language"],
                condition=~models.Q(not_analysed=""),
                name="ticket_not_analysed_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"[#{self.pk}] {self.subject or '(no subject)'}"


# Message.triage_status values of mail still waiting for its analysis.
UNTRIAGED = ("received", "triaging")


class Message(models.Model):
    class Direction(models.TextChoices):
        INBOUND = "inbound", "Inbound"
        OUTBOUND = "outbound", "Outbound"

    class TriageStatus(models.TextChoices):
        RECEIVED = "received", "Received"
        TRIAGING = "triaging", "Triaging"
        TRIAGED = "triaged", "Triaged"
        FAILED = "failed", "Failed"

    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="messages"
    )
    direction = models.CharField(
        max_length=10, choices=Direction.choices, default=Direction.INBOUND
    )
    source = models.CharField(max_length=32, help_text="file, mime, postmark, ...")
    provider_message_id = models.CharField(max_length=255, blank=True)
    # RFC 5322 Message-ID; when the mail has none, a stable one derived from the raw
    # bytes so the same file ingested twice still dedupes.
    message_id = models.CharField(max_length=998)
    message_id_synthetic = models.BooleanField(default=False)
    in_reply_to = models.CharField(max_length=998, blank=True)
    references = models.TextField(blank=True)
    from_address = models.CharField(max_length=320, blank=True)
    from_name = models.CharField(max_length=255, blank=True)
    to = models.TextField(blank=True)
    cc = models.TextField(blank=True)
    subject = models.CharField(max_length=998, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    text_body = models.TextField(blank=True)
    html_body = models.TextField(blank=True, help_text="Sanitised with nh3.")
    raw = models.BinaryField()
    raw_size = models.PositiveBigIntegerField(default=0)
    raw_sha256 = models.CharField(max_length=64)
    raw_truncated = models.BooleanField(default=False)
    is_malformed = models.BooleanField(default=False, db_index=True)
    parse_defects = models.JSONField(default=list, blank=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    triage_status = models.CharField(
        max_length=10,
        choices=TriageStatus.choices,
        default=TriageStatus.RECEIVED,
        db_index=True,
    )
    triage_attempts = models.PositiveSmallIntegerField(default=0)
    # When the current claim began: a `triaging` claim older than the task's hard
    # time limit belongs to a dead worker and may be taken over.
    triage_started_at = models.DateTimeField(null=True, blank=True)
    # Last successful publish of a triage task; the sweeper re-enqueues only rows
    # whose last publish is old, so two sweepers never enqueue one message twice.
    triage_enqueued_at = models.DateTimeField(null=True, blank=True)
    triage_error = models.TextField(blank=True)
    triaged_at = models.DateTimeField(null=True, blank=True)
    # Set when the mail's threading headers or subject tag point at a ticket its
    # sender takes no part in: it opened its own ticket instead, and agents see the
    # link ("mentions ticket #N").
    mentions_ticket = models.ForeignKey(
        Ticket,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="mentioned_by",
    )

    class Meta:
        ordering = ["received_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["direction", "message_id"], name="uniq_message_id_per_direction"
            ),
        ]
        indexes = [
            models.Index(fields=["message_id"], name="message_rfc_id_idx"),
            # Mail waiting for its analysis: /healthz (polled), the sweeper and the
            # overview ask for its count and oldest arrival; this index holds those
            # rows only, however large the table.
            models.Index(
                fields=["received_at"],
                condition=Q(direction="inbound", triage_status__in=UNTRIAGED),
                name="message_untriaged_idx",
            ),
            # The overview's arrival-to-analysis times: the newest analysed mails,
            # read from the index alone.
            models.Index(
                fields=["triaged_at"],
                include=["received_at"],
                condition=Q(triaged_at__isnull=False),
                name="message_triaged_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.message_id}"


class Attachment(models.Model):
    # Empty while the file belongs to an agent's unsent reply (`draft`); set to
    # the outbound message once that reply is sent.
    message = models.ForeignKey(
        Message,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="attachments",
    )
    draft = models.ForeignKey(
        "ReplyDraft",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="attachments",
    )
    filename = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=255, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    # Empty when the attachment broke a cap; `flag_reason` says which.
    file = models.FileField(upload_to="attachments/%Y/%m/", blank=True)
    flagged = models.BooleanField(default=False)
    flag_reason = models.CharField(max_length=255, blank=True)

    def __str__(self) -> str:
        return self.filename or f"attachment {self.pk}"


class Analysis(models.Model):
    # The built-in steps, from the contract with workers.nlp. A step added as a
    # file under workers/nlp/steps stores its rows too (the column is not limited
    # to these choices in the database); the dashboard shows them generically.
    Step = models.TextChoices(
        "Step",
        [(name.upper(), (name, label)) for name, label in contract.STEP_LABELS.items()],
    )

    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="analyses"
    )
    step = models.CharField(max_length=contract.MAX_STEP_NAME, choices=Step.choices)
    result = models.JSONField(null=True, blank=True)
    # Which text the result's character offsets refer to: the mail as received or
    # its translation into the analysis language.
    computed_on = models.CharField(
        max_length=16,
        choices=[("original", "Original"), ("translation", "Translation")],
        blank=True,
    )
    error = models.TextField(blank=True)
    # Why the step did not analyse this mail (no model reads its language): not
    # an error, not a guess; result and error are empty.
    not_analysed = models.CharField(max_length=255, blank=True)
    model = models.CharField(max_length=512, blank=True)
    model_revision = models.CharField(max_length=64, blank=True)
    # Random-weight test models: the dashboard warns that results are meaningless.
    is_tiny = models.BooleanField(default=False)
    duration_ms = models.FloatField(default=0.0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "analyses"
        indexes = [
            # The tiny-model banner asks "is there any?" on every list page: this
            # index holds only tiny rows, so the answer never scans the table.
            models.Index(
                fields=["message"], condition=Q(is_tiny=True), name="analysis_tiny_idx"
            ),
            # The overview's analysis speed reads the newest rows' step and time
            # from this index alone (triage.selectors.pipeline_speed); the rows
            # themselves are wide (results, errors).
            models.Index(
                fields=["created_at"],
                include=["step", "duration_ms"],
                name="analysis_speed_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["message", "step"], name="uniq_analysis_step_per_message"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.step} of message {self.message_id}"

    @property
    def ok(self) -> bool:
        return not self.error


class ReplyDraft(models.Model):
    class Status(models.TextChoices):
        DRAFTED = "drafted", "Drafted"
        APPROVED = "approved", "Approved"
        # Claimed by one send task, which is talking to SMTP: nobody else may send.
        SENDING = "sending", "Sending"
        REJECTED = "rejected", "Rejected"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        # A newer inbound message arrived before this was sent (issue 15).
        SUPERSEDED = "superseded", "Superseded"

    class Author(models.TextChoices):
        MODEL = "model", "Model"
        AGENT = "agent", "Agent"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="drafts")
    in_reply_to_message = models.ForeignKey(
        Message,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="drafts",
    )
    text = models.TextField(help_text="In the agents' language.")
    text_customer_language = models.TextField(blank=True)
    customer_language = models.CharField(max_length=16, blank=True)
    # How the customer-language text was machine-translated ("apertium:eng-spa>es-fr")
    # and through which pivot language ("es"), shown to the approver.
    customer_language_model = models.CharField(max_length=512, blank=True)
    customer_language_via = models.CharField(max_length=16, blank=True)
    cc = models.TextField(
        blank=True, help_text="Comma-separated addresses an agent typed (issue 15)."
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.DRAFTED, db_index=True
    )
    created_by = models.CharField(
        max_length=10, choices=Author.choices, default=Author.MODEL
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The overview's time-to-approval chart reads it (a date range) through
    # draft_approval_time_idx below.
    approved_at = models.DateTimeField(null=True, blank=True)
    # When the mail this answers arrived (or the ticket opened), copied at creation:
    # the overview's time to approval reads it from the approved_at index instead
    # of looking up one message per draft (issue 19).
    arrived_at = models.DateTimeField(null=True, blank=True)
    rejected_reason = models.TextField(blank=True)
    send_attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_message = models.OneToOneField(
        Message,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sent_draft",
    )
    # Sending is keyed on this so a retried send task never mails twice.
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        permissions = [
            ("approve_replydraft", "Can approve or reject a reply draft for sending"),
        ]
        indexes = [
            models.Index(
                fields=["approved_at"],
                include=["arrived_at"],
                condition=models.Q(approved_at__isnull=False),
                name="draft_approval_time_idx",
            ),
        ]
        constraints = [
            # A re-run triage replaces the model's draft instead of adding one.
            models.UniqueConstraint(
                fields=["in_reply_to_message"],
                condition=models.Q(created_by="model"),
                name="uniq_model_draft_per_message",
            ),
        ]

    def __str__(self) -> str:
        return f"Draft {self.pk} for ticket {self.ticket_id} ({self.status})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The services pass it; this catches any other writer (a data import, a
        # shell), so the overview never silently leaves a draft out.
        if self.arrived_at is None and self._state.adding:
            message = self.in_reply_to_message
            self.arrived_at = message.received_at if message else self.ticket.created_at
        super().save(*args, **kwargs)


class AuditEvent(models.Model):
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="audit_events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty for the system (ingest, workers).",
    )
    action = models.CharField(max_length=64)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.action} on ticket {self.ticket_id}"


class WebhookReplay(models.Model):
    """Tokens already accepted from a provider, so a replayed request is refused."""

    provider = models.CharField(max_length=32)
    token = models.CharField(max_length=255)
    seen_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "token"], name="uniq_webhook_token"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider} token seen {self.seen_at:%Y-%m-%d %H:%M}"


class TicketNote(models.Model):
    """An internal note on a ticket: agents only, never sent to the customer."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"Note {self.pk} on ticket {self.ticket_id}"


class Notification(models.Model):
    """An in-app notice for one agent (an @mention in a note), shown on the list."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="notifications"
    )
    note = models.ForeignKey(
        TicketNote,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    text = models.CharField(max_length=300)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["recipient", "created_at"],
                condition=models.Q(read_at__isnull=True),
                name="notification_unread_idx",
            )
        ]

    def __str__(self) -> str:
        return f"Notification {self.pk} for user {self.recipient_id}"


class Macro(models.Model):
    """A canned reply (issue 15): text with {{ variables }}, optional ticket changes.

    Team leads manage them (add/change/delete_macro); agents apply them.
    """

    name = models.CharField(max_length=120, unique=True)
    body = models.TextField(help_text="{{ customer.first_name }}, {{ ticket.id }} ...")
    intents = models.CharField(
        max_length=500,
        blank=True,
        help_text="Comma-separated intents this macro is suggested for.",
    )
    set_status = models.CharField(
        max_length=20, blank=True, choices=Ticket.Status.choices
    )
    set_priority = models.PositiveSmallIntegerField(
        null=True, blank=True, choices=Ticket.Priority.choices
    )
    set_assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def intent_list(self) -> list[str]:
        return [i.strip().lower() for i in self.intents.split(",") if i.strip()]


class BlockedSender(models.Model):
    """An address whose future mail is stored but auto-closed as spam (issue 15)."""

    email = models.CharField(max_length=320, unique=True)
    blocked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.email


class SlaPolicy(models.Model):
    """Targets for one priority, in business hours (TRIAGE_BUSINESS_*) unless
    `around_the_clock`. Team leads manage them in the dashboard."""

    priority = models.PositiveSmallIntegerField(
        choices=Ticket.Priority.choices, unique=True
    )
    first_response_hours = models.FloatField(
        validators=[MinValueValidator(0.05)],
        help_text="Hours until the first reply is due.",
    )
    resolution_hours = models.FloatField(
        validators=[MinValueValidator(0.05)],
        help_text="Hours from arrival until the ticket should be resolved.",
    )
    around_the_clock = models.BooleanField(
        default=False,
        help_text="Count every hour (urgent tickets), not only business hours.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["priority"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"

    def __str__(self) -> str:
        return f"SLA for {Ticket.Priority(self.priority).label} tickets"


class AutoAck(models.Model):
    """The claim on a ticket's one receipt: the unique ticket makes a second ack
    impossible whatever the retries or workers; rows per address in the last hour
    are the per-sender rate limit."""

    class Status(models.TextChoices):
        # Claimed by one task, talking to SMTP. A claim whose task died stays
        # here: the receipt is then at most once, never twice.
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"

    ticket = models.OneToOneField(
        Ticket, on_delete=models.CASCADE, related_name="autoack"
    )
    to_address = models.CharField(max_length=320)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.SENDING
    )
    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    message = models.OneToOneField(
        Message,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="autoack",
    )
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["to_address", "created_at"], name="autoack_sender_rate_idx"
            )
        ]

    def __str__(self) -> str:
        return f"Auto-ack for ticket {self.ticket_id} ({self.status})"

"""The agents' dashboard, built on the Django admin.

Thin: reads come from `triage.selectors`, every write goes through a service
(`reply_*` for the approval gate, `ticket_update`/`ticket_assign` for the ticket).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminSplitDateTime
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.text import Truncator, slugify

from triage import selectors, services
from triage.admin_live import ticket_assign_me_view, ticket_live_view
from triage.admin_merge import merged_redirect
from triage.admin_sla import SlaFilter, sla_due
from triage.models import Analysis, Attachment, Macro, Message, ReplyDraft, Ticket
from triage.paginators import SEARCH_COUNT_CAP, CappedPaginator
from triage.selectors.customers import customer_ticket_counts, customer_tickets
from triage.selectors.live import ticket_live_state
from triage.selectors.notes import notifications_unread, ticket_notes
from triage.services.dashboard import EDITABLE_FIELDS
from triage.services.macros import PERM_APPLY as MACRO_PERM_APPLY
from triage.services.macros import (
    macro_apply,
    macro_save,
    macro_validate,
    macros_suggested,
)
from triage.services.notes import (
    NOTE_MAX_CHARS,
    PERM_ADD_NOTE,
    note_add,
    notification_mark_read,
)
from triage.services.replies import PERM_ADD, TEXT_MAX_CHARS
from triage.services.reply_direct import (
    reply_policy_allows_direct_send,
    reply_send_own,
)
from triage.services.spam import (
    sender_is_blocked,
    ticket_mark_spam,
    ticket_unmark_spam,
)

TINY_WARNING = (
    "Some results on this page come from tiny test models with random weights. "
    "They exercise the pipeline but their labels, entities and answers are "
    "meaningless. Configure real models (TRIAGE_MODELS) before relying on them."
)


def sentiment_badge(label: str, score: float | None) -> str:
    if not label:
        return "—"
    return format_html(
        '<span class="triage-badge triage-badge-{}">{} {}</span>',
        slugify(label),
        label,
        f"{score:.2f}" if score is not None else "",
    )


def short_age(since: Any) -> str:
    """'45 min', '5 h', '3 d': the list is read at a glance."""
    seconds = max((timezone.now() - since).total_seconds(), 0)
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h"
    return f"{int(seconds // 86400)} d"


# --- Filters ---


class _ColumnFilter(admin.SimpleListFilter):
    """Filter on an annotated list column; the choices are the values present."""

    column = ""

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(v, self.label(v)) for v in selectors.ticket_filter_values(self.column)]

    def label(self, value: str) -> str:
        return value

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value():
            return queryset.filter(**{self.column: self.value()})
        return queryset


class SentimentFilter(_ColumnFilter):
    title = "sentiment"
    parameter_name = "sentiment"
    column = "shown_sentiment"


class IntentFilter(_ColumnFilter):
    title = "intent"
    parameter_name = "intent"
    column = "shown_intent"


class LanguageFilter(_ColumnFilter):
    title = "language"
    parameter_name = "language"
    column = "language"

    def label(self, value: str) -> str:
        info = selectors.language_info(value)
        return f"{info.flag} {info.name}".strip()


class AssignedFilter(admin.SimpleListFilter):
    title = "assigned to"
    parameter_name = "assigned"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("me", "Me"), ("nobody", "Nobody"), ("others", "Someone else")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "me":
            return queryset.filter(assigned_to=request.user)
        if self.value() == "nobody":
            return queryset.filter(assigned_to__isnull=True)
        if self.value() == "others":
            return queryset.exclude(assigned_to=request.user).exclude(
                assigned_to__isnull=True
            )
        return queryset


class SpamFilter(admin.SimpleListFilter):
    """Spam is hidden from the queue; `?spam=yes` is the spam view (issue 15)."""

    title = "spam"
    parameter_name = "spam"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Spam only")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(is_spam=self.value() == "yes")


class SourceFilter(admin.SimpleListFilter):
    """Where mail came from: the channels the code knows, not `SELECT DISTINCT`
    over every message (another label still filters when typed in the URL)."""

    title = "source"
    parameter_name = "source"
    SOURCES = ("demo", "file", "imap", "mailgun", "mime", "postmark", "sendgrid")

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(s, s) for s in (*self.SOURCES, "smtp")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(source=self.value()) if self.value() else queryset


# --- Forms (input cleaning only; the services decide) ---


class DraftForm(forms.Form):
    text = forms.CharField(max_length=TEXT_MAX_CHARS, strip=True)
    text_customer_language = forms.CharField(
        max_length=TEXT_MAX_CHARS, required=False, strip=True
    )


class NewReplyForm(DraftForm):
    cc = forms.CharField(max_length=2000, required=False, strip=True)


class NoteForm(forms.Form):
    body = forms.CharField(max_length=NOTE_MAX_CHARS, strip=True)


class SpamForm(forms.Form):
    block_sender = forms.BooleanField(required=False)


class RejectForm(forms.Form):
    reason = forms.CharField(max_length=2000, strip=True)


class ApproveForm(forms.Form):
    version = forms.CharField(max_length=64)


# --- Tickets ---


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = (
        "subject_line",
        "customer",
        "sentiment",
        "priority_badge",
        sla_due,
        "intent_label",
        "language_flag",
        "status_badge",
        "age",
        "assigned_to",
    )
    list_display_links = ("subject_line",)
    list_filter = (
        SpamFilter,
        "status",
        SentimentFilter,
        IntentFilter,
        LanguageFilter,
        "priority",
        AssignedFilter,
        SlaFilter,
    )
    search_fields = (
        "subject",
        "customer_email",
        "customer_name",
        "messages__text_body",
    )
    search_help_text = "Subject, customer name or address, or any words of the mail."
    # Most urgent first; within a priority, whoever has waited longest (`pk`
    # makes it total, matching the list's index).
    ordering = ("priority", "created_at", "pk")
    list_per_page = 50
    paginator = CappedPaginator
    # One capped count per page, not a second one over the whole table.
    show_full_result_count = False
    fields = EDITABLE_FIELDS
    actions = ("assign_to_me",)
    change_form_template = "admin/triage/ticket/change_form.html"
    change_list_template = "admin/triage/ticket/change_list.html"

    class Media:
        css = {"all": ("triage/dashboard.css",)}
        # Own static files only (the CSP allows no inline script): keyboard
        # shortcuts on the list and the ticket, and the ticket's live updates.
        js = ("triage/shortcuts.js", "triage/live.js")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Ticket]:
        return selectors.ticket_list()

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        # Full-text and exact-field search; no join, so no DISTINCT.
        return selectors.ticket_search(queryset, search_term), False

    def get_paginator(self, request: HttpRequest, queryset, per_page, *args, **kw):
        paginator = super().get_paginator(request, queryset, per_page, *args, **kw)
        if request.GET.get("q", "").strip():
            # A broad search matches half the table; counting 10,000 matches
            # costs more than the page. Twenty pages of results is plenty.
            paginator.cap = SEARCH_COUNT_CAP
        return paginator

    def get_object(self, request: HttpRequest, object_id: str, from_field=None):
        # change_view asks twice (ours for the page, Django's for the form).
        cache = request.__dict__.setdefault("_triage_tickets", {})
        key = (object_id, from_field)
        if key not in cache:
            cache[key] = super().get_object(request, object_id, from_field)
        return cache[key]

    def get_urls(self) -> list:
        wrap = self.admin_site.admin_view
        return [
            path(
                "<int:ticket_id>/live/",
                wrap(ticket_live_view),
                name="triage_ticket_live",
            ),
            path(
                "<int:ticket_id>/assign-me/",
                wrap(ticket_assign_me_view),
                name="triage_ticket_assign_me",
            ),
            path(
                "<int:ticket_id>/spam/<slug:action>/",
                wrap(self.spam_view),
                name="triage_ticket_spam",
            ),
            path(
                "customer/",
                wrap(self.customer_view),
                name="triage_customer",
            ),
            path(
                "<int:ticket_id>/macros/apply/",
                wrap(self.macro_apply_view),
                name="triage_ticket_macro_apply",
            ),
            path(
                "<int:ticket_id>/notes/new/",
                wrap(self.note_create_view),
                name="triage_ticket_note_create",
            ),
            path(
                "notifications/<int:notification_id>/read/",
                wrap(self.notification_read_view),
                name="triage_notification_read",
            ),
            path(
                "<int:ticket_id>/drafts/new/",
                wrap(self.draft_create_view),
                name="triage_ticket_draft_create",
            ),
            path(
                "<int:ticket_id>/drafts/<int:draft_id>/<slug:action>/",
                wrap(self.draft_action_view),
                name="triage_ticket_draft_action",
            ),
            *super().get_urls(),
        ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # tickets come from email only

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "assigned_to":
            kwargs["queryset"] = get_user_model().objects.filter(
                is_staff=True, is_active=True
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        widget = getattr(formfield, "widget", None)
        # The stock split date/time widget prints "Date:"/"Time:" as bare text
        # beside two inputs that nothing labels; name each after its field.
        if isinstance(widget, AdminSplitDateTime):
            for sub, part in zip(widget.widgets, ("date", "time"), strict=True):
                sub.attrs["aria-label"] = f"{formfield.label}: {part}"
        return formfield

    def save_model(self, request: HttpRequest, obj: Ticket, form, change) -> None:
        services.ticket_update(ticket=obj, user=request.user, fields=form.changed_data)

    # --- List columns ---

    @admin.display(description="Ticket", ordering="pk")
    def subject_line(self, obj: Ticket) -> str:
        return format_html(
            '<span class="tr-id">#{}</span> {}', obj.pk, obj.subject or "(no subject)"
        )

    def get_changelist_instance(self, request: HttpRequest):
        changelist = super().get_changelist_instance(request)
        # One grouped query for the page's customers (issue 15), not a count
        # per row and not an annotation over the whole table.
        rows = list(changelist.result_list)
        counts = customer_ticket_counts(t.customer_email for t in rows)
        for ticket in rows:
            ticket.customer_ticket_count = counts.get(ticket.customer_email, 1)
        return changelist

    @admin.display(description="Customer", ordering="customer_email")
    def customer(self, obj: Ticket) -> str:
        count = getattr(obj, "customer_ticket_count", 0)
        return format_html(
            '{} {}<span class="tr-sub">{}</span>',
            obj.customer_name or obj.customer_email,
            format_html(
                '<a class="tr-chip tr-customer-count" href="{}?{}" '
                'title="Tickets from this customer">{} tickets</a>',
                reverse("admin:triage_customer"),
                urlencode({"email": obj.customer_email}),
                count,
            )
            if count > 1
            else "",
            Truncator(getattr(obj, "latest_answer", None) or "").chars(60),
        )

    @admin.display(description="Sentiment", ordering="sentiment_score")
    def sentiment(self, obj: Ticket) -> str:
        if obj.not_analysed and not obj.agent_sentiment:
            return format_html(
                '<span class="tr-chip tr-not-analysed" title="{}">not analysed</span>',
                obj.not_analysed,
            )
        if obj.agent_sentiment:
            return sentiment_badge(obj.agent_sentiment, None)
        return sentiment_badge(obj.sentiment_label, obj.sentiment_score)

    @admin.display(description="Priority", ordering="priority")
    def priority_badge(self, obj: Ticket) -> str:
        return format_html(
            '<span class="tr-chip tr-prio-{}">{}</span>',
            obj.priority,
            obj.get_priority_display(),
        )

    @admin.display(description="Intent", ordering="intent")
    def intent_label(self, obj: Ticket) -> str:
        if obj.not_analysed and not obj.agent_intent:
            return "not analysed"
        return obj.agent_intent or obj.intent or "—"

    @admin.display(description="Lang", ordering="language")
    def language_flag(self, obj: Ticket) -> str:
        if not obj.language:
            return "—"
        info = selectors.language_info(obj.language)
        return format_html(
            '<span class="tr-lang" title="{}">{} {}</span>',
            info.name,
            info.flag,
            info.code.upper(),
        )

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj: Ticket) -> str:
        """The ticket's status, and under it where its newest reply stands."""
        draft_status = getattr(obj, "draft_status", None)
        reply = (
            format_html(
                '<span class="tr-sub">reply: {}</span>',
                ReplyDraft.Status(draft_status).label.lower(),
            )
            if draft_status
            else ""
        )
        return format_html(
            '<span class="tr-chip tr-status-{}">{}</span>{}',
            obj.status,
            obj.get_status_display(),
            reply,
        )

    @admin.display(description="Age", ordering="created_at")
    def age(self, obj: Ticket) -> str:
        return format_html(
            '<time datetime="{}" title="{}">{}</time>',
            obj.created_at.isoformat(),
            timezone.localtime(obj.created_at).strftime("%Y-%m-%d %H:%M"),
            short_age(obj.created_at),
        )

    # --- Actions ---

    @admin.action(description="Assign selected tickets to me", permissions=["change"])
    def assign_to_me(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = services.ticket_assign(
            ticket_ids=queryset.values_list("pk", flat=True),
            assignee=request.user,
            actor=request.user,
        )
        self.message_user(request, f"{count} ticket(s) assigned to you.")

    # --- Pages ---

    def changelist_view(self, request: HttpRequest, extra_context=None):
        extra_context = {
            "title": "Tickets",
            **(extra_context or {}),
            "tiny_warning": TINY_WARNING if selectors.tiny_models_used() else "",
            "notifications": notifications_unread(request.user),
        }
        return super().changelist_view(request, extra_context)

    def change_view(
        self, request: HttpRequest, object_id, form_url="", extra_context=None
    ):
        ticket = self.get_object(request, object_id)
        if ticket is not None and ticket.merged_into_id:
            return merged_redirect(request, ticket)
        extra_context = dict(extra_context or {})
        if ticket is not None:
            review = selectors.ticket_review(ticket)
            inbound = [item for item in review if item.is_inbound]
            drafts = selectors.ticket_drafts(ticket, request.user)
            models_used = selectors.ticket_models(ticket)
            extra_context.update(
                review=review,
                latest=inbound[-1] if inbound else None,
                drafts=drafts,
                can_write_reply=request.user.has_perm(PERM_ADD)
                and not any(d.is_open for d in drafts),
                timeline=selectors.ticket_timeline(ticket),
                models_used=models_used,
                language=selectors.language_info(ticket.language)
                if ticket.language
                else None,
                age=short_age(ticket.created_at),
                overdue=bool(ticket.due_at and ticket.due_at < timezone.now()),
                draft_form_max=TEXT_MAX_CHARS,
                notes=ticket_notes(ticket),
                can_add_note=request.user.has_perm(PERM_ADD_NOTE),
                note_form_max=NOTE_MAX_CHARS,
                can_send_directly=reply_policy_allows_direct_send(),
                macros=list(Macro.objects.only("pk", "name"))
                if request.user.has_perm(MACRO_PERM_APPLY)
                else [],
                macros_suggested=macros_suggested(ticket),
                sender_blocked=sender_is_blocked(ticket.customer_email),
                customer_history=customer_tickets(
                    ticket.customer_email, exclude_id=ticket.pk
                ),
                superseded=[
                    d for d in drafts if d.draft.status == ReplyDraft.Status.SUPERSEDED
                ],
                live=ticket_live_state(ticket.pk),
                live_poll_seconds=settings.TRIAGE_LIVE_POLL_SECONDS,
                can_assign=request.user.has_perm("triage.change_ticket")
                and ticket.assigned_to_id != request.user.pk,
            )
            # The rows above already say which models ran: no query of its own.
            if any(row["is_tiny"] for row in models_used):
                extra_context["tiny_warning"] = TINY_WARNING
        return super().change_view(request, object_id, form_url, extra_context)

    def note_create_view(self, request: HttpRequest, ticket_id: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not Ticket.objects.filter(pk=ticket_id).exists():
            raise Http404
        form = NoteForm(request.POST)
        if not form.is_valid():
            self._form_errors(request, form)
        else:
            self._run(
                request,
                lambda: note_add(
                    ticket_id=ticket_id, user=request.user, **form.cleaned_data
                ),
                "Internal note added (not sent to the customer).",
            )
        return self._back(ticket_id, "notes")

    def spam_view(
        self, request: HttpRequest, ticket_id: int, action: str
    ) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if action not in ("mark", "undo") or not (
            Ticket.objects.filter(pk=ticket_id).exists()
        ):
            raise Http404
        form = SpamForm(request.POST)
        block = form.is_valid() and form.cleaned_data["block_sender"]
        if action == "mark":
            ticket_mark_spam(ticket_id=ticket_id, user=request.user, block_sender=block)
            self.message_user(request, "Marked as spam and hidden from the list.")
        else:
            ticket_unmark_spam(
                ticket_id=ticket_id, user=request.user, unblock_sender=block
            )
            self.message_user(request, "Not spam: the ticket is back in the list.")
        return self._back(ticket_id, "spam")

    def customer_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        email = request.GET.get("email", "").strip()[:320]
        if not email:
            raise Http404
        tickets = list(customer_tickets(email, limit=200))
        if not tickets:
            raise Http404
        context = {
            **self.admin_site.each_context(request),
            "title": f"Customer {tickets[0].customer_name or email}",
            "email": email,
            "customer_name": next(
                (t.customer_name for t in tickets if t.customer_name), ""
            ),
            "tickets": tickets,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/triage/customer.html", context)

    def macro_apply_view(self, request: HttpRequest, ticket_id: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not Ticket.objects.filter(pk=ticket_id).exists():
            raise Http404
        try:
            macro_id = int(request.POST.get("macro", ""))
        except ValueError:
            raise Http404 from None
        if not Macro.objects.filter(pk=macro_id).exists():
            raise Http404
        self._run(
            request,
            lambda: macro_apply(
                ticket_id=ticket_id, macro_id=macro_id, user=request.user
            ),
            "Macro inserted into the reply box; edit it, then save or send.",
        )
        return self._back(ticket_id, "drafts")

    def notification_read_view(
        self, request: HttpRequest, notification_id: int
    ) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        notification_mark_read(notification_id=notification_id, user=request.user)
        return HttpResponseRedirect(reverse("admin:triage_ticket_changelist"))

    def draft_create_view(self, request: HttpRequest, ticket_id: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not Ticket.objects.filter(pk=ticket_id).exists():
            raise Http404
        form = NewReplyForm(request.POST)
        files = {"attachments": request.FILES.getlist("attachments")}
        if not form.is_valid():
            self._form_errors(request, form)
        elif "send_now" in request.POST:
            self._run(
                request,
                lambda: reply_send_own(
                    ticket_id=ticket_id, user=request.user, **form.cleaned_data, **files
                ),
                "Reply sent to the mail worker; it goes out once.",
            )
        else:
            self._run(
                request,
                lambda: services.reply_create(
                    ticket_id=ticket_id, user=request.user, **form.cleaned_data, **files
                ),
                "Reply saved as a draft. An approver can now send it.",
            )
        return self._back(ticket_id, "drafts")

    def draft_action_view(
        self, request: HttpRequest, ticket_id: int, draft_id: int, action: str
    ) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        handler = self._draft_actions().get(action)
        if handler is None or not (
            ReplyDraft.objects.filter(pk=draft_id, ticket_id=ticket_id).exists()
        ):
            raise Http404
        handler(request, draft_id)
        return self._back(ticket_id, f"draft-{draft_id}")

    def _draft_actions(self) -> dict[str, Callable[[HttpRequest, int], None]]:
        return {
            "edit": self._draft_edit,
            "approve": self._draft_approve,
            "reject": self._draft_reject,
        }

    def _draft_edit(self, request: HttpRequest, draft_id: int) -> None:
        form = DraftForm(request.POST)
        if not form.is_valid():
            return self._form_errors(request, form)
        self._run(
            request,
            lambda: services.reply_edit(
                draft_id=draft_id,
                user=request.user,
                attachments=request.FILES.getlist("attachments"),
                **form.cleaned_data,
            ),
            "Draft saved.",
        )

    def _draft_approve(self, request: HttpRequest, draft_id: int) -> None:
        form = ApproveForm(request.POST)
        version = form.cleaned_data["version"] if form.is_valid() else None
        self._run(
            request,
            lambda: services.reply_approve(
                draft_id=draft_id, user=request.user, version=version
            ),
            "Approved. The reply is sent once, to the ticket's customer only.",
        )

    def _draft_reject(self, request: HttpRequest, draft_id: int) -> None:
        form = RejectForm(request.POST)
        if not form.is_valid():
            return self._form_errors(request, form)
        self._run(
            request,
            lambda: services.reply_reject(
                draft_id=draft_id, user=request.user, **form.cleaned_data
            ),
            "Draft rejected; the agents see your reason.",
        )

    def _run(self, request: HttpRequest, call: Callable[[], Any], done: str) -> None:
        # PermissionDenied is not caught: Django answers 403.
        try:
            call()
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
        else:
            self.message_user(request, done, messages.SUCCESS)

    def _form_errors(self, request: HttpRequest, form: forms.Form) -> None:
        for field, errors in form.errors.items():
            name = field.replace("_", " ")
            self.message_user(request, f"{name}: {' '.join(errors)}", messages.ERROR)

    def _back(self, ticket_id: int, anchor: str) -> HttpResponseRedirect:
        url = reverse("admin:triage_ticket_change", args=[ticket_id])
        return HttpResponseRedirect(f"{url}#{anchor}")


# --- Read-only views of the other models ---


class AttachmentInline(admin.TabularInline):
    model = Attachment
    extra = 0
    can_delete = False
    fields = ("filename", "content_type", "size", "sha256", "flagged", "flag_reason")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "ticket",
        "direction",
        "from_address",
        "subject",
        "triage_status",
        "triage_attempts",
        "is_malformed",
        "received_at",
    )
    list_filter = ("triage_status", "direction", "is_malformed", SourceFilter)
    list_select_related = ("ticket",)
    # Exact fields: the Message-ID by equality, the sender by prefix (both
    # indexed); words are searched on the ticket list.
    search_fields = ("=message_id", "^from_address")
    search_help_text = "A Message-ID, or the start of the sender's address."
    paginator = CappedPaginator
    show_full_result_count = False
    inlines = (AttachmentInline,)
    exclude = ("raw", "html_body")
    readonly_fields = [
        f.name
        for f in Message._meta.get_fields()
        if f.concrete and f.name not in {"id", "raw", "html_body"}
    ]

    actions = ("retry_triage",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Message]:
        # The raw MIME (up to 10 MiB a row) is never shown here.
        return (
            super()
            .get_queryset(request)
            .defer("raw", "ticket__search_vector", "ticket__latest_answer")
        )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        term = search_term.replace("\x00", "").strip()
        if not term:
            return queryset, False
        ids = {term, term.strip("<>"), f"<{term.strip('<>')}>"}
        # istartswith: UPPER(from_address) LIKE 'X%', on its pattern index.
        return queryset.filter(
            Q(message_id__in=ids) | Q(from_address__istartswith=term)
        ), False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Retry triage of the selected failed messages")
    def retry_triage(self, request: HttpRequest, queryset) -> None:
        ids = services.message_triage_retry(list(queryset.values_list("pk", flat=True)))
        self.message_user(
            request,
            f"{len(ids)} failed message(s) queued for triage again"
            + ("" if len(ids) == queryset.count() else "; the others had not failed"),
        )


@admin.register(Analysis)
class AnalysisAdmin(admin.ModelAdmin):
    list_display = ("message", "step", "model", "is_tiny", "duration_ms", "error")
    list_filter = ("step", "is_tiny")
    list_select_related = ("message",)
    paginator = CappedPaginator
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Analysis]:
        heavy = ("raw", "text_body", "html_body", "references", "parse_defects")
        return super().get_queryset(request).defer(*(f"message__{f}" for f in heavy))

    readonly_fields = [f.name for f in Analysis._meta.get_fields() if f.concrete]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(ReplyDraft)
class ReplyDraftAdmin(admin.ModelAdmin):
    """Read-only: drafts change only through the ticket page's gate (services)."""

    list_display = ("id", "ticket", "status", "created_by", "approved_by", "sent_at")
    list_filter = ("status", "created_by")
    list_select_related = ("ticket", "approved_by")
    paginator = CappedPaginator
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[ReplyDraft]:
        return super().get_queryset(request).defer("ticket__search_vector")

    readonly_fields = [f.name for f in ReplyDraft._meta.get_fields() if f.concrete]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class MacroForm(forms.ModelForm):
    class Meta:
        model = Macro
        fields = (
            "name",
            "body",
            "intents",
            "set_status",
            "set_priority",
            "set_assignee",
        )

    def clean_body(self) -> str:
        body = self.cleaned_data["body"]
        macro_validate(body)  # the sandbox's refusal shows on the field
        return body


@admin.register(Macro)
class MacroAdmin(admin.ModelAdmin):
    """Team leads manage canned replies (add/change/delete_macro)."""

    form = MacroForm

    list_display = ("name", "intents", "set_status", "set_priority", "set_assignee")
    search_fields = ("name", "body", "intents")

    def save_model(self, request: HttpRequest, obj: Macro, form, change) -> None:
        macro_save(macro=obj, user=request.user)

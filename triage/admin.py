"""The agents' dashboard, built on the Django admin. Thin: reads via selectors."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.html import format_html
from django.utils.text import Truncator, slugify

from triage import selectors
from triage.models import Analysis, Attachment, AuditEvent, Message, ReplyDraft, Ticket

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


class AuditEventInline(admin.TabularInline):
    model = AuditEvent
    extra = 0
    can_delete = False
    fields = ("created_at", "actor", "action", "detail")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "subject",
        "customer",
        "status",
        "sentiment",
        "answer",
        "created_at",
    )
    list_display_links = ("id", "subject")
    list_filter = ("status", "sentiment_label", "priority")
    search_fields = (
        "subject",
        "customer_email",
        "customer_name",
        "messages__text_body",
    )
    ordering = ("priority", "created_at")
    readonly_fields = (
        "subject",
        "customer_email",
        "customer_name",
        "sentiment_label",
        "sentiment_score",
        "language",
        "created_at",
    )
    fields = (
        ("subject", "created_at"),
        ("customer_name", "customer_email"),
        ("status", "priority", "assigned_to", "due_at"),
        ("sentiment_label", "sentiment_score", "language"),
    )
    inlines = (AuditEventInline,)
    change_form_template = "admin/triage/ticket/change_form.html"
    change_list_template = "admin/triage/ticket/change_list.html"

    class Media:
        css = {"all": ("triage/dashboard.css",)}

    def get_queryset(self, request: HttpRequest):
        return selectors.ticket_list()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # tickets come from email only

    @admin.display(description="Customer", ordering="customer_email")
    def customer(self, obj: Ticket) -> str:
        return obj.customer_name or obj.customer_email

    @admin.display(description="Sentiment", ordering="sentiment_score")
    def sentiment(self, obj: Ticket) -> str:
        return sentiment_badge(obj.sentiment_label, obj.sentiment_score)

    @admin.display(description="What the customer wants")
    def answer(self, obj: Ticket) -> str:
        return Truncator(getattr(obj, "latest_answer", None) or "—").chars(80)

    def changelist_view(self, request: HttpRequest, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "tiny_warning": TINY_WARNING if selectors.tiny_models_used() else "",
        }
        return super().changelist_view(request, extra_context)

    def change_view(
        self, request: HttpRequest, object_id, form_url="", extra_context=None
    ):
        ticket = self.get_object(request, object_id)
        extra_context = dict(extra_context or {})
        if ticket is not None:
            extra_context["review"] = selectors.ticket_review(ticket)
            if selectors.tiny_models_used(ticket):
                extra_context["tiny_warning"] = TINY_WARNING
        response = super().change_view(request, object_id, form_url, extra_context)
        if isinstance(response, TemplateResponse):
            # Email content is rendered on this page: no inline script may run.
            response["Content-Security-Policy"] = (
                "default-src 'self'; script-src 'self'; style-src 'self'; "
                "img-src 'self' data:; object-src 'none'; frame-ancestors 'none'; "
                "base-uri 'none'; form-action 'self'"
            )
        return response


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
    list_filter = ("triage_status", "direction", "is_malformed", "source")
    search_fields = ("message_id", "from_address", "subject")
    inlines = (AttachmentInline,)
    exclude = ("raw", "html_body")
    readonly_fields = [
        f.name
        for f in Message._meta.get_fields()
        if f.concrete and f.name not in {"id", "raw", "html_body"}
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Analysis)
class AnalysisAdmin(admin.ModelAdmin):
    list_display = ("message", "step", "model", "is_tiny", "duration_ms", "error")
    list_filter = ("step", "is_tiny")
    readonly_fields = [f.name for f in Analysis._meta.get_fields() if f.concrete]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(ReplyDraft)
class ReplyDraftAdmin(admin.ModelAdmin):
    list_display = ("ticket", "status", "created_by", "created_at")
    list_filter = ("status",)

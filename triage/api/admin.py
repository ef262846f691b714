"""Admin: API tokens (revoke) and outgoing webhook subscriptions (test event)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from triage.api.models import (
    ApiToken,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from triage.services.api_tokens import api_token_revoke
from triage.services.outgoing_webhooks import webhook_send_test


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    # Created with `manage.py api_token create` (the secret is printed once).
    list_display = (
        "name",
        "prefix",
        "user",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    readonly_fields = ("prefix", "digest", "created_at", "last_used_at", "revoked_at")
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        for token in queryset:
            api_token_revoke(token=token)
        self.message_user(request, f"{queryset.count()} token(s) revoked.")


class DeliveryInline(admin.TabularInline):
    model = WebhookDelivery
    extra = 0
    can_delete = False
    fields = ("event", "event_id", "status", "attempts", "response_code", "last_error")
    readonly_fields = fields
    max_num = 0
    ordering = ("-created_at",)
    show_change_link = True  # to the delivery's attempts


class AttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = ("number", "at", "response_code", "error")
    readonly_fields = fields
    max_num = 0


def _superuser(request: HttpRequest) -> bool:
    # Where events go, and what receivers answered, is for administrators only.
    return bool(request.user.is_superuser)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """The delivery log: read-only, one row per event and subscription."""

    list_display = (
        "event",
        "event_id",
        "subscription",
        "status",
        "attempts",
        "response_code",
        "created_at",
    )
    list_filter = ("status", "event")
    search_fields = ("event_id",)
    fields = (
        "subscription",
        "event",
        "event_id",
        "status",
        "attempts",
        "response_code",
        "last_error",
        "created_at",
        "delivered_at",
        "payload",
    )
    readonly_fields = fields
    inlines = [AttemptInline]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _superuser(request)

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return _superuser(request)

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    list_display = ("url", "events", "is_active", "consecutive_failures")
    readonly_fields = ("consecutive_failures", "disabled_reason", "created_at")
    inlines = [DeliveryInline]
    actions = ["send_test_event"]

    def has_module_permission(self, request: HttpRequest) -> bool:
        # Where events go is for administrators only.
        return bool(request.user.is_superuser)

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return bool(request.user.is_superuser)

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return bool(request.user.is_superuser)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)

    @admin.action(description="Send a test event")
    def send_test_event(
        self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]
    ) -> None:
        for subscription in queryset:
            webhook_send_test(subscription=subscription)
        self.message_user(
            request, f"Test event queued for {queryset.count()}.", messages.SUCCESS
        )

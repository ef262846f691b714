"""The dashboard's SLA parts (issue 15): the list's SLA filter and due marker,
and the SLA policies that team leads manage."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html

from triage.models import SlaPolicy, Ticket
from triage.selectors.sla import (
    AT_RISK,
    BREACHED,
    ON_TRACK,
    STATE_LABELS,
    sla_filter,
    sla_state,
)
from triage.services.sla import sla_policy_save


class SlaFilter(admin.SimpleListFilter):
    title = "SLA"
    parameter_name = "sla"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        from django.conf import settings

        hours = f"{settings.TRIAGE_SLA_AT_RISK_HOURS:g}"
        return [
            (BREACHED, "Breached"),
            (AT_RISK, f"At risk (due within {hours} h)"),
            (ON_TRACK, "On track"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return sla_filter(queryset, self.value()) if self.value() else queryset


def _relative(due: Any, now: Any) -> str:
    seconds = (due - now).total_seconds()
    span = abs(seconds)
    if span < 3600:
        text = f"{int(span // 60)} min"
    elif span < 86400:
        text = f"{int(span // 3600)} h"
    else:
        text = f"{int(span // 86400)} d"
    return f"in {text}" if seconds >= 0 else f"{text} over"


# Not sortable: due_at has no list index (a sort would read the whole table),
# and the SLA filter already answers "which are late".
@admin.display(description="Due")
def sla_due(obj: Ticket) -> str:
    """The list's due marker: state chip and how long until (or past) due."""
    state = sla_state(obj)
    if not state or obj.due_at is None:
        return "—"
    now = timezone.now()
    return format_html(
        '<span class="tr-chip tr-sla tr-sla-{}" data-sla="{}" title="Due {}">{} · {}'
        "</span>",
        state.replace("_", "-"),
        state,
        timezone.localtime(obj.due_at).strftime("%a %d %b %H:%M"),
        STATE_LABELS[state],
        _relative(obj.due_at, now),
    )


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    """Team leads (add/change/delete_slapolicy) and superusers set the targets."""

    list_display = (
        "priority",
        "first_response_hours",
        "resolution_hours",
        "around_the_clock",
        "updated_at",
    )
    ordering = ("priority",)

    def save_model(self, request: HttpRequest, obj: SlaPolicy, form, change) -> None:
        sla_policy_save(policy=obj, user=request.user)

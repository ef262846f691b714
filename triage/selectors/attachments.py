"""Reads for attachments: the row the serving view checks, a draft's files."""

from __future__ import annotations

from django.db.models import QuerySet

from triage.models import Attachment


def attachment_get(attachment_id: int) -> Attachment | None:
    return Attachment.objects.filter(pk=attachment_id).first()


def draft_attachments(draft_id: int) -> QuerySet[Attachment]:
    return Attachment.objects.filter(draft_id=draft_id).order_by("pk")

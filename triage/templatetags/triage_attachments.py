"""How the ticket page shows an attachment: thumbnail, open, or download.

From the declared type only (no file read per row); the serving view decides
again from the bytes, so a mislabelled file is still only ever a download.
"""

from __future__ import annotations

from django import template
from django.conf import settings
from django.template.defaultfilters import filesizeformat

from triage.attachments import declared_image, declared_inline
from triage.models import Attachment

register = template.Library()


@register.filter
def attachment_kind(attachment: Attachment) -> str:
    """'withheld', 'missing', 'image', 'inline' (PDF) or 'download'."""
    if attachment.flagged:
        return "withheld"
    if not attachment.file:
        return "missing"
    if declared_image(attachment.content_type):
        return "image"
    return "inline" if declared_inline(attachment.content_type) else "download"


@register.simple_tag
def reply_attachments_limit() -> str:
    """The reply form's hint: how much an agent may attach (settings)."""
    return (
        f"up to {settings.TRIAGE_REPLY_ATTACHMENTS_MAX_COUNT} files, "
        f"{filesizeformat(settings.TRIAGE_REPLY_ATTACHMENTS_MAX_BYTES)} in all"
    )

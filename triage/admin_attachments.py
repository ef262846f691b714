"""Serving an attachment to an agent, safely (issue 15).

Attachments are files a stranger sent: they are served by the app (never a
public media URL), only to staff with the agents' permission, as a download
unless the type is allow-listed and the bytes agree, always with `nosniff` and
a sandboxing Content-Security-Policy. A flagged attachment is never served.
"""

from __future__ import annotations

import logging

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from triage.attachments import (
    ATTACHMENT_CSP,
    DOWNLOAD_TYPE,
    SNIFF_BYTES,
    content_disposition,
    inline_type,
)
from triage.selectors.attachments import attachment_get

logger = logging.getLogger(__name__)

PERM_VIEW = "triage.view_attachment"


def attachment_permitted(user: object) -> bool:
    return bool(
        getattr(user, "is_active", False)
        and getattr(user, "is_staff", False)
        and user.has_perm(PERM_VIEW)  # type: ignore[attr-defined]
    )


def _harden(response: HttpResponse) -> HttpResponse:
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = ATTACHMENT_CSP
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
def attachment_serve(request: HttpRequest, attachment_id: int) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), reverse("admin:login"))
    if not attachment_permitted(request.user):
        raise PermissionDenied("Attachments are for agents and approvers only.")
    attachment = attachment_get(attachment_id)
    if attachment is None:
        raise Http404("No such attachment.")
    if attachment.flagged:
        return _harden(
            HttpResponse(
                "This attachment is withheld and is never served: "
                f"{attachment.flag_reason or 'flagged'}.",
                status=403,
                content_type="text/plain; charset=utf-8",
            )
        )
    if not attachment.file:
        raise Http404("This attachment has no stored file.")
    try:
        handle = attachment.file.open("rb")
    except OSError as exc:
        logger.warning("Attachment %s file unreadable: %s", attachment.pk, exc)
        raise Http404("The stored file is missing.") from exc
    head = handle.read(SNIFF_BYTES)
    handle.seek(0)
    shown = inline_type(attachment.content_type, head)
    response = FileResponse(handle, content_type=shown or DOWNLOAD_TYPE)
    response["Content-Disposition"] = content_disposition(
        "inline" if shown else "attachment",
        attachment.filename or f"attachment-{attachment.pk}",
    )
    return _harden(response)

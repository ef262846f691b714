"""Files an agent attaches to their own reply (issue 15).

Stored like inbound attachments (content-addressed, under a generated name),
tied to the draft until it is sent, then to the outbound message. The agent's
file name and declared type are cleaned: both end up in the sent MIME headers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol

from django.conf import settings
from django.db.models import Count, Sum
from django.template.defaultfilters import filesizeformat

from triage.attachments import content_type_clean, filename_clean
from triage.models import Attachment, ReplyDraft
from triage.services.attachment_files import attachment_file_store
from triage.services.reply_common import ReplyRefused, User, _audit


class Upload(Protocol):
    """What Django's UploadedFile offers and this module uses."""

    name: str | None
    size: int | None
    content_type: str | None

    def read(self, size: int = ...) -> bytes: ...


def reply_attachments_check(
    files: Sequence[Upload], *, kept_count: int = 0, kept_bytes: int = 0
) -> None:
    """Refuse too many or too large files before anything is written; `kept_*`:
    what the draft already carries (files added while editing it)."""
    max_count = settings.TRIAGE_REPLY_ATTACHMENTS_MAX_COUNT
    max_bytes = settings.TRIAGE_REPLY_ATTACHMENTS_MAX_BYTES
    if kept_count + len(files) > max_count:
        raise ReplyRefused(
            f"At most {max_count} files can be attached to one reply "
            f"({kept_count + len(files)} with these)."
        )
    total = kept_bytes + sum(f.size or 0 for f in files)
    if total > max_bytes:
        raise ReplyRefused(
            f"The attachments add up to {filesizeformat(total)}; a reply may "
            f"carry at most {filesizeformat(max_bytes)}."
        )
    for upload in files:
        if not upload.size:
            raise ReplyRefused(f"The file {upload.name!r} is empty.")


def reply_attachments_store(
    *, draft: ReplyDraft, user: User, files: Sequence[Upload]
) -> list[Attachment]:
    """Store the files on the draft (inside the caller's transaction) and audit.

    The size is checked again on the bytes read: an upload's declared size is
    the client's word.
    """
    if not files:
        return []
    kept = Attachment.objects.filter(draft=draft).aggregate(
        n=Count("pk"), b=Sum("size")
    )
    kept_count, kept_bytes = kept["n"], kept["b"] or 0
    reply_attachments_check(files, kept_count=kept_count, kept_bytes=kept_bytes)
    budget = settings.TRIAGE_REPLY_ATTACHMENTS_MAX_BYTES - kept_bytes
    stored = []
    for index, upload in enumerate(files, start=1):
        payload = upload.read(budget + 1)
        budget -= len(payload)
        if budget < 0:
            raise ReplyRefused("The attachments are larger than a reply may carry.")
        attachment = Attachment(
            draft=draft,
            filename=filename_clean(upload.name or "", f"attachment-{index}"),
            content_type=content_type_clean(upload.content_type or ""),
            size=len(payload),
            sha256=hashlib.sha256(payload).hexdigest(),
        )
        attachment_file_store(attachment, payload)
        attachment.save()
        stored.append(attachment)
    _audit(
        draft.ticket,
        user,
        "reply_attachments_added",
        draft=draft.pk,
        files=[
            {"name": a.filename, "type": a.content_type, "size": a.size, "id": a.pk}
            for a in stored
        ],
    )
    return stored

"""Writing an attachment's bytes to storage (ingest and agents' uploads)."""

from __future__ import annotations

from django.core.files.base import ContentFile

from triage.models import Attachment


def attachment_file_store(attachment: Attachment, payload: bytes) -> None:
    """Content-addressed: the same bytes (a retried or re-sent mail) share one file.

    Stored under a generated name: the sender's filename is only metadata.
    `attachment.sha256` must be set; the row is not saved here.
    """
    field = attachment.file.field
    name = field.generate_filename(attachment, f"{attachment.sha256}.bin")
    if field.storage.exists(name):
        attachment.file.name = name
    else:
        attachment.file.save(name.rsplit("/", 1)[-1], ContentFile(payload), save=False)

"""The webhooks' one write: consume the replay token and ingest, atomically.

Both in one transaction, so a request that fails half-way (database error, crash)
leaves its token unspent and the provider's retry is accepted; a request that
succeeded has spent it, and a replay of it is refused.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from triage.models import WebhookReplay
from triage.services.ingest import IngestResult, email_ingest

logger = logging.getLogger(__name__)


PRUNE_BATCH = 100


class ReplayedToken(Exception):
    pass


def webhook_token_seen(*, provider: str, token: str) -> bool:
    """Cheap early refusal; the unique constraint in `webhook_mail_receive` decides."""
    return WebhookReplay.objects.filter(provider=provider, token=token[:255]).exists()


def webhook_mail_receive(
    raw_mime: bytes,
    *,
    source: str,
    provider_message_id: str = "",
    replay_token: str = "",
    replay_window: timedelta | None = None,
) -> IngestResult:
    if not replay_token:
        # email_ingest is its own transaction; an outer one would only add a
        # savepoint's round trips to every request.
        return email_ingest(
            raw_mime, source=source, provider_message_id=provider_message_id
        )
    with transaction.atomic():
        _token_spend(source, replay_token)
        result = email_ingest(
            raw_mime, source=source, provider_message_id=provider_message_id
        )
    if replay_window is not None:
        _tokens_prune(source, replay_window)
    return result


def _token_spend(provider: str, token: str) -> None:
    try:
        with transaction.atomic():
            WebhookReplay.objects.create(provider=provider, token=token[:255])
    except IntegrityError as exc:
        raise ReplayedToken(f"{provider} token replayed") from exc


def _tokens_prune(provider: str, window: timedelta) -> None:
    """Forget tokens older than the signature's validity: the timestamp check
    refuses those requests first, so the cache only needs the window.

    Outside the ingest transaction and in small batches, so concurrent requests
    never wait on each other's deletes; a failure here costs nothing but space.
    """
    stale = WebhookReplay.objects.filter(
        provider=provider, seen_at__lt=timezone.now() - window
    ).values_list("pk", flat=True)[:PRUNE_BATCH]
    try:
        pks = list(stale)
        if pks:
            WebhookReplay.objects.filter(pk__in=pks).delete()
    except DatabaseError:
        logger.warning("Pruning %s replay tokens failed", provider, exc_info=True)

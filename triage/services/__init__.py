"""Every write goes through a function in this package (HackSoft style)."""

from triage.services.ingest import IngestResult, email_ingest
from triage.services.triage import (
    TriageJob,
    analysis_save,
    message_enqueue_triage,
    message_triage_claim,
    message_triage_fail,
    message_triage_release,
    message_triage_retry,
)

__all__ = [
    "IngestResult",
    "TriageJob",
    "analysis_save",
    "email_ingest",
    "message_enqueue_triage",
    "message_triage_claim",
    "message_triage_fail",
    "message_triage_release",
    "message_triage_retry",
]

"""Django settings -> the plain `PipelineConfig` that workers.nlp understands."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from workers.nlp import PipelineConfig


def pipeline_config(models: Mapping[str, str] | None = None) -> PipelineConfig:
    from workers.nlp import PipelineConfig

    return PipelineConfig(
        models=dict(settings.TRIAGE_MODELS if models is None else models),
        agent_language=settings.TRIAGE_AGENT_LANGUAGE,
        analysis_language=settings.TRIAGE_ANALYSIS_LANGUAGE,
        intent_labels=tuple(settings.TRIAGE_INTENT_LABELS),
        backends=dict(settings.TRIAGE_BACKENDS),
        shop_name=settings.TRIAGE_SHOP_NAME,
        shop_email=settings.TRIAGE_SUPPORT_ADDRESS,
        agent_signature=settings.TRIAGE_AGENT_SIGNATURE,
        batch_size=settings.TRIAGE_BATCH_SIZE,
        step_languages={
            step: tuple(codes)
            for step, codes in getattr(settings, "TRIAGE_STEP_LANGUAGES", {}).items()
        },
    )


def language_pairs(languages: Sequence[str] | None = None) -> list[tuple[str, str]]:
    """Every (source, target) a translation model may be asked for: ``languages``
    (default TRIAGE_LANGUAGES) to and from the agents' and analysis languages."""
    hub = {settings.TRIAGE_AGENT_LANGUAGE, settings.TRIAGE_ANALYSIS_LANGUAGE}
    pairs = set()
    customers = settings.TRIAGE_CUSTOMER_LANGUAGES if languages is None else languages
    for customer in customers:
        for ours in hub:
            if customer != ours:
                pairs.update({(customer, ours), (ours, customer)})
    if len(hub) == 2:
        agent, analysis = (
            settings.TRIAGE_AGENT_LANGUAGE,
            settings.TRIAGE_ANALYSIS_LANGUAGE,
        )
        pairs.update({(agent, analysis), (analysis, agent)})
    return sorted(pairs)

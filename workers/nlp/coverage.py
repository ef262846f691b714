"""Which customer languages the configured models fully cover, said at a worker's
start so a team learns it before the first German mail is "not analysed".

A language is covered when it is the analysis language, or when a translation model
for it into the analysis language is there (an apertium pair or chain offline; a
local path or a Hugging Face cache entry for a Hub id). Nothing is loaded or
downloaded to find out.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from workers.contract import OFFLINE_PREFIX

if TYPE_CHECKING:
    from workers.nlp.config import PipelineConfig

logger = logging.getLogger(__name__)


def language_coverage(
    config: PipelineConfig, languages: Sequence[str]
) -> dict[str, str | None]:
    """language -> how it is read ("analysed directly", "translated by X"), or
    None where no model reads it here."""
    from workers.nlp.translation import resolve_model

    analysis = config.analysis_language
    setting = config.models.get("translation", "")
    out: dict[str, str | None] = {}
    for language in dict.fromkeys([analysis, *languages]):
        if language == analysis:
            out[language] = "analysed directly"
            continue
        model = resolve_model(setting, language, analysis) if setting else ""
        out[language] = _translated_by(model, language, analysis)
    return out


def _translated_by(model: str, source: str, target: str) -> str | None:
    if not model:
        return None
    if model.strip().startswith(OFFLINE_PREFIX):
        from workers.nlp.offline.apertium import TranslationUnavailable, mode_for

        try:
            return f"translated by apertium:{mode_for(source, target)}"
        except TranslationUnavailable:
            return None
    if Path(model).exists():
        return f"translated by {model}"
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(model, "config.json")
    except Exception:
        return None
    return f"translated by {model}" if isinstance(cached, str) else None


def log_coverage(config: PipelineConfig, languages: Sequence[str]) -> None:
    coverage = language_coverage(config, languages)
    covered = [f"{lang} ({how})" for lang, how in coverage.items() if how]
    missing = [lang for lang, how in coverage.items() if not how]
    logger.info("languages fully covered: %s", ", ".join(covered) or "none")
    if missing:
        logger.warning(
            "languages not analysed (no model reads them; tickets are flagged and "
            "routed by TRIAGE_NOT_ANALYSED): %s",
            ", ".join(missing),
        )

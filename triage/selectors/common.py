"""Reads shared by every dashboard page: languages, step order, tiny-model flag."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import get_language_info

from triage.models import Analysis, Ticket

# Which text the offsets of an analysis refer to (Analysis.computed_on).
ON_ORIGINAL = "original"
ON_TRANSLATION = "translation"
# Language flags are a visual cue for a language, not a claim about a country.
LANGUAGE_FLAGS = {
    "ca": "🇦🇩",
    "cs": "🇨🇿",
    "da": "🇩🇰",
    "de": "🇩🇪",
    "el": "🇬🇷",
    "en": "🇬🇧",
    "es": "🇪🇸",
    "fi": "🇫🇮",
    "fr": "🇫🇷",
    "hu": "🇭🇺",
    "it": "🇮🇹",
    "ja": "🇯🇵",
    "ko": "🇰🇷",
    "nb": "🇳🇴",
    "nl": "🇳🇱",
    "no": "🇳🇴",
    "pl": "🇵🇱",
    "pt": "🇵🇹",
    "ro": "🇷🇴",
    "ru": "🇷🇺",
    "sv": "🇸🇪",
    "tr": "🇹🇷",
    "uk": "🇺🇦",
    "zh": "🇨🇳",
}


@dataclass(frozen=True)
class Language:
    code: str
    name: str
    flag: str


def language_info(code: str) -> Language:
    base = code.split("-")[0].lower()
    try:
        name = get_language_info(base)["name"]
    except KeyError:
        name = code
    return Language(code=code, name=name, flag=LANGUAGE_FLAGS.get(base, ""))


def tiny_models_used(ticket: Ticket | None = None) -> bool:
    qs = Analysis.objects.filter(is_tiny=True)
    if ticket is not None:
        qs = qs.filter(message__ticket=ticket)
    return qs.exists()


STEP_ORDER = [s.value for s in Analysis.Step]


def step_order(step: str) -> int:
    return STEP_ORDER.index(step) if step in STEP_ORDER else len(STEP_ORDER)


def ok_result(analysis: Analysis | None) -> Any:
    return analysis.result if analysis and not analysis.error else None


def computed_on_of(analysis: Analysis | None) -> str:
    # Rows from before `computed_on` existed, or unknown values: the original.
    on = getattr(analysis, "computed_on", "") if analysis else ""
    return ON_TRANSLATION if on == ON_TRANSLATION else ON_ORIGINAL

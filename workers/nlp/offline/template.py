"""The fixed text of an offline draft: greeting, acknowledgement of the request,
the next step for its intent, signature (draft.py puts SmolLM2's checked apology
inside it, or nothing)."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from workers.nlp.offline.draft_guards import _clean_line

logger = logging.getLogger(__name__)


# Next step per topic: the request sentence's keywords, else the pipeline's intent.
NEXT_STEPS: dict[str, str] = {
    "refund": "We are checking your order and will get back to you about your "
    "refund as soon as possible.",
    "exchange": "We are checking your order and will get back to you about the "
    "exchange as soon as possible.",
    "wrong item": "We are checking your order and will get back to you about the "
    "item you received as soon as possible.",
    "damaged": "We are checking your order and will get back to you about the "
    "damaged item as soon as possible.",
    "late delivery": "We are checking the status of your delivery and will get back "
    "to you as soon as possible.",
    "billing": "We are checking the charges in question and will get back to you as "
    "soon as possible.",
    "account": "We are looking into your account and will get back to you as soon "
    "as possible.",
    "other": "A member of our team will look into it and get back to you as soon as "
    "possible.",
}


PROBLEM_INTENTS = frozenset(NEXT_STEPS) - {"other"}


KEYWORD_INTENTS: tuple[tuple[str, str], ...] = (
    (r"\b(exchange|swap|replace|replacement)", "exchange"),
    (r"\b(refund|money back|reimburse)", "refund"),
    (r"\b(wrong|instead of|not what i ordered)", "wrong item"),
    (r"\b(broken|damaged|cracked|faulty|defective)", "damaged"),
    (r"\b(deliver|parcel|tracking|arrive)", "late delivery"),
    (r"\b(charge|invoice|bill|payment)", "billing"),
    (r"\b(account|log ?in|password|sign in)", "account"),
)


def complaining(grounding: Mapping[str, Any]) -> bool:
    """Whether the customer complains: a NEGATIVE sentiment, or no sentiment at all
    (unknown: the draft keeps its apology rather than guess the other way)."""
    sentiment = str(grounding.get("sentiment") or "").upper()
    return sentiment in ("", "NEGATIVE")


def _topic(grounding: Mapping[str, Any], answer: str) -> str:
    """What the next step is about: what the request sentence asks for first (the
    customer's words: "I demand an exchange"), else the intent the pipeline found
    (which may name the problem instead: "wrong item")."""
    for pattern, label in KEYWORD_INTENTS:
        if re.search(pattern, answer, re.IGNORECASE):
            return label
    intent = grounding.get("intent")
    if isinstance(intent, Mapping):
        intent = intent.get("label")
    if isinstance(intent, str) and intent in NEXT_STEPS:
        return intent
    return "other"


def compose(
    *,
    name: str,
    shop_name: str,
    signature: str,
    answer: str,
    intent: str,
    apology: Sequence[str],
    sentiment: str = "",
) -> str:
    """Greeting, apology (only to a customer who complains), acknowledgement of the
    request, next step, signature."""
    greeting = f"Dear {name}," if name else "Dear customer,"
    shop = _clean_line(shop_name, 80) or "our shop"
    lines = [f"Thank you for contacting {shop}."]
    complaint = complaining({"sentiment": sentiment})
    if apology and complaint:
        lines.extend(apology)
    elif intent in PROBLEM_INTENTS and complaint:
        lines.append("We are sorry for the trouble this has caused.")
    elif sentiment.upper() == "POSITIVE":
        lines.append("We are glad to hear it, and we will pass your kind words on.")
    if answer:
        lines.append(f'We have noted your request: "{answer}"')
    lines.append(NEXT_STEPS.get(intent, NEXT_STEPS["other"]))
    closing = ["Kind regards,"]
    closing.extend(
        line
        for line in (_clean_line(signature, 120), shop)
        if line and line != "our shop"
    )
    return "\n\n".join([greeting, " ".join(lines), "\n".join(closing)])

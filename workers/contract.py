"""The contract between Core (Django) and NLP (workers.nlp): plain data only.

Both halves import this module and nothing of each other's: it names the built-in
triage steps, the shape of what each returns, what a step is given
(:class:`EmailInput`), the envelope of one outcome (:class:`StepOutcome`) and the
model profiles. No torch, no Django, no import of the rest of the project, so
settings, the web process and the workers can all read it.

Core reads stored results through the typed readers at the end (``sentiment_of``
and friends) rather than by string keys scattered through services and views.

A step added as one file under ``workers/nlp/steps`` (workers/nlp/README.md) does
not need an entry here: its name and result are its own; what is listed here are
the steps Core knows by name (ticket fields, the draft box, the dashboard).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal, NotRequired, TypedDict, cast

# --- step names ------------------------------------------------------------------

# The built-in steps in pipeline order, with the label the dashboard shows.
STEP_LABELS: Final[Mapping[str, str]] = {
    "language": "Language",
    "translation": "Translation",
    "sentiment": "Sentiment",
    "entities": "Entities",
    "answer": "What the customer wants",
    "summary": "Summary",
    "intent": "Intent",
    "draft": "Reply draft",
}
STEP_NAMES: Final[tuple[str, ...]] = tuple(STEP_LABELS)
# Steps that only prepare the text the others read: a triage in which every other
# step failed has failed, whatever these did.
PREPARATION_STEPS: Final[frozenset[str]] = frozenset({"language", "translation"})
# Longest step name the database stores (Analysis.step is a CharField).
MAX_STEP_NAME: Final[int] = 16

ComputedOn = Literal["original", "translation"]


# --- what a step is given ---------------------------------------------------------


class EmailInput(TypedDict):
    """One email as the pipeline reads it."""

    text: str
    subject: str
    customer_name: str
    customer_email: str


def email_input(
    text: object = "",
    subject: object = "",
    customer_name: object = "",
    customer_email: object = "",
) -> EmailInput:
    """The one place an :class:`EmailInput` is built: every field a string, missing
    values blank (Core's rows, a parsed .eml, a benchmark sample alike)."""
    return {
        "text": str(text or ""),
        "subject": str(subject or ""),
        "customer_name": str(customer_name or ""),
        "customer_email": str(customer_email or ""),
    }


def as_email_input(email: Mapping[str, object]) -> EmailInput:
    """:func:`email_input` from a mapping with the same keys (extra keys ignored)."""
    return email_input(
        email.get("text"),
        email.get("subject"),
        email.get("customer_name"),
        email.get("customer_email"),
    )


# --- what the steps return ----------------------------------------------------------


class Language(TypedDict):
    language: str | None
    confidence: float
    detector: str


class Translation(TypedDict):
    source_language: str | None
    target_language: str
    text: str
    skipped: bool
    reason: str | None
    segments: int
    # The pivot language when the text went through a third one (an apertium
    # chain, fr->es->en); absent or None for a direct translation.
    via: NotRequired[str | None]


class PipelineTranslation(Translation, total=False):
    # Set when agents read another language than the models: the translation the
    # models read (this record itself is the agents' one). None otherwise.
    analysis: Translation | None


class Sentiment(TypedDict):
    label: str
    score: float


class Entity(TypedDict):
    label: str
    text: str
    start: int
    end: int
    score: float


class Answer(TypedDict):
    question: str
    answer: str
    # None where a chat model wrote the answer and it is not a span of the text.
    score: float | None
    start: int | None
    end: int | None


class Summary(TypedDict):
    summary: str
    skipped: bool
    reason: str | None


class Intent(TypedDict):
    label: str | None
    score: float
    scores: dict[str, float]


class TriagedIntent(Intent, total=False):
    # Added by the pipeline from the intent, the sentiment and urgent words.
    priority: str
    priority_reasons: list[str]


class Draft(TypedDict):
    text: str
    text_customer_language: str | None
    customer_language: str
    backend: str
    prompt_version: str
    # Why a translation of the draft is missing when one was needed; else None.
    translation_error: str | None
    # How ``text_customer_language`` was made, for the approver: the translation
    # model ("apertium:eng-spa>es-fr") and its pivot language ("es") when it went
    # through a third language; "" / None when there is no such text.
    customer_language_model: NotRequired[str]
    customer_language_via: NotRequired[str | None]


# --- one outcome --------------------------------------------------------------------


class StepOutcome(TypedDict):
    """One step's outcome for one email, as stored in an Analysis row."""

    result: Any
    error: str | None
    model: str
    revision: str | None
    tiny: bool
    duration_ms: float
    # Which text the result was computed on (its offsets point into it); None
    # when no text was read (an unknown step, a step that did not analyse it).
    on: ComputedOn | None
    # Why the step did not analyse this mail ("no model reads German here: ..."):
    # not an error and not a guess; result and error are None. Absent or None
    # when the step ran.
    not_analysed: NotRequired[str | None]


Outcomes = Mapping[str, Mapping[str, Any]]


def result_of(outcomes: Outcomes, step: str) -> Any:
    """The result of ``step`` when it ran without error, else None."""
    outcome = outcomes.get(step) or {}
    if outcome.get("error"):
        return None
    return outcome.get("result")


def _dict_result(outcomes: Outcomes, step: str) -> dict[str, Any] | None:
    result = result_of(outcomes, step)
    return result if isinstance(result, dict) and result else None


def language_of(outcomes: Outcomes) -> Language | None:
    return cast("Language | None", _dict_result(outcomes, "language"))


def translation_of(outcomes: Outcomes) -> PipelineTranslation | None:
    return cast("PipelineTranslation | None", _dict_result(outcomes, "translation"))


def sentiment_of(outcomes: Outcomes) -> Sentiment | None:
    return cast("Sentiment | None", _dict_result(outcomes, "sentiment"))


def entities_of(outcomes: Outcomes) -> list[Entity]:
    result = result_of(outcomes, "entities")
    return cast("list[Entity]", result) if isinstance(result, list) else []


def answer_of(outcomes: Outcomes) -> Answer | None:
    return cast("Answer | None", _dict_result(outcomes, "answer"))


def summary_of(outcomes: Outcomes) -> Summary | None:
    return cast("Summary | None", _dict_result(outcomes, "summary"))


def intent_of(outcomes: Outcomes) -> TriagedIntent | None:
    return cast("TriagedIntent | None", _dict_result(outcomes, "intent"))


def not_analysed_of(outcomes: Outcomes) -> str | None:
    """Why the mail was not (fully) analysed: the reason of the first step that
    analyses text (not language detection or translation) and did not read it."""
    for step, outcome in outcomes.items():
        reason = outcome.get("not_analysed")
        if step not in PREPARATION_STEPS and reason:
            return str(reason)
    return None


def draft_of(outcomes: Outcomes) -> Draft | None:
    return cast("Draft | None", _dict_result(outcomes, "draft"))


def describe_result(result: object, *, max_chars: int = 300) -> str:
    """A one-line reading of any step's result, for steps the dashboard has no
    dedicated view of (a step added as one file shows up through this)."""
    if result is None:
        return ""
    if isinstance(result, Mapping):
        for key in ("summary", "answer", "text", "label"):
            value = result.get(key)
            if isinstance(value, str) and value:
                score = result.get("score")
                tail = f" ({score:.2f})" if isinstance(score, int | float) else ""
                return _clip(value + tail, max_chars)
        parts = [
            f"{key}: {value}"
            for key, value in result.items()
            if isinstance(value, str | int | float | bool)
        ]
        return _clip("; ".join(parts), max_chars)
    if isinstance(result, list | tuple):
        return _clip(
            ", ".join(describe_result(item, max_chars=60) for item in result), max_chars
        )
    return _clip(str(result), max_chars)


def _clip(text: str, max_chars: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"


# --- model profiles ----------------------------------------------------------------

# The seed's models (DESIGN §1, §4): the defaults for hosts that reach the HF Hub.
# `{src}`/`{tgt}` in the translation id are filled per language pair.
HUB_MODELS: Final[Mapping[str, str]] = {
    "translation": "Helsinki-NLP/opus-mt-{src}-{tgt}",
    "sentiment": "distilbert/distilbert-base-uncased-finetuned-sst-2-english",
    "entities": "dbmdz/bert-large-cased-finetuned-conll03-english",
    "answer": "distilbert/distilbert-base-cased-distilled-squad",
    "summary": "sshleifer/distilbart-cnn-12-6",
    "intent": "facebook/bart-large-mnli",
    "draft": "openai-community/gpt2",
    # An instruction model for any text-to-text step switched to the "chat" backend.
    "chat": "HuggingFaceTB/SmolLM2-360M-Instruct",
}
# models[...] key of the instruction model that serves every "chat" backend.
CHAT_MODEL_KEY: Final[str] = "chat"
# Steps served by a packaged library rather than a transformers model; the same in
# every profile.
LIBRARY_STEPS: Final[Mapping[str, str]] = {"language": "lingua"}
# The offline profile (DESIGN §8): real models that registry packages ship, served by
# workers.nlp.offline. `{src}`/`{tgt}` are filled per language pair; the heads'
# directory is appended to the minilm-heads specs by triage.model_profiles.
OFFLINE_MODELS: Final[Mapping[str, str]] = {
    "translation": "offline:apertium@{src}-{tgt}",
    "sentiment": "offline:minilm-heads",
    "entities": "offline:spacy",
    "answer": "offline:minilm-select",
    "summary": "offline:minilm-select",
    "intent": "offline:minilm-heads",
    "draft": "offline:smollm2",
}
# Prefix of a model setting served by workers.nlp.offline.
OFFLINE_PREFIX: Final[str] = "offline:"

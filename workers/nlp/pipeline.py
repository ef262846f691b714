"""The whole triage of DESIGN §4 over a batch of emails: plain data in and out.

``run_pipeline(emails, config)`` runs each step once over the whole batch (inputs
sorted by length so mini-batches pad little, results put back in input order) and
returns, per email, step -> :class:`StepOutcome`.

Two languages matter. The *analysis language* (``analysis_language``, "en") is what
the sentiment, entity, answer, summary, intent and draft models read: mail in
another language is translated into it and those steps run on the translation. The
*agent language* (``agent_language``) is what agents read: the translation shown
beside the original. Usually both are "en" and one translation serves both;
otherwise a second, display translation is made. Every outcome says which text it
was computed on (``"on": "original" | "translation"``); :func:`analysis_text`
returns that text, so span offsets are never ambiguous.

Failures stay local: a step that fails records its error for the emails it failed
for and the others still run; a step whose input came from a failed step runs with
what it has (the draft without an answer, the analysis on the original when the
translation failed) and says so through ``on``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

from workers.nlp.answer import ChatAnswerStep
from workers.nlp.draft import PROMPT_VERSION as DRAFT_PROMPT_VERSION
from workers.nlp.draft import (
    Draft,
    DraftInput,
    DraftSettings,
    DraftStep,
    scrub,
    shop_domain,
)
from workers.nlp.errors import is_interrupt
from workers.nlp.generation import sorted_call
from workers.nlp.intent import DEFAULT_INTENT_LABELS, IntentStep
from workers.nlp.language import DEFAULT_LANGUAGES, get_detector
from workers.nlp.offline import build_step, is_offline
from workers.nlp.priority import priority
from workers.nlp.registry import get_step, load_once
from workers.nlp.runner import StepOutcome
from workers.nlp.summary import SummaryStep
from workers.nlp.tiny import is_tiny
from workers.nlp.translation import (
    Translated,
    Translation,
    TranslationRequest,
    Translator,
)

logger = logging.getLogger(__name__)

PIPELINE_STEPS: tuple[str, ...] = (
    "language",
    "translation",
    "sentiment",
    "entities",
    "answer",
    "summary",
    "intent",
    "draft",
)
# Text-to-text steps and the backends that can serve them; the first is the default.
STEP_BACKENDS: dict[str, tuple[str, ...]] = {
    "translation": ("seq2seq", "chat"),
    "summary": ("seq2seq", "chat"),
    "answer": ("extractive", "chat"),
    "draft": ("causal", "chat"),
}
DEFAULT_BACKENDS: dict[str, str] = {s: b[0] for s, b in STEP_BACKENDS.items()}
# models[...] key of the instruction model that serves every "chat" backend.
CHAT_MODEL_KEY = "chat"
DEFAULT_DETECTOR = "lingua"
CHAT_ANSWER_MAX_NEW_TOKENS = 32
__all__ = [
    "DEFAULT_BACKENDS",
    "DEFAULT_INTENT_LABELS",
    "DEFAULT_LANGUAGES",
    "PIPELINE_STEPS",
    "EmailInput",
    "PipelineConfig",
    "analysis_text",
    "preload",
    "run_pipeline",
]


class EmailInput(TypedDict):
    text: str
    subject: str
    customer_name: str
    customer_email: str


@dataclass(frozen=True)
class PipelineConfig:
    """Everything the pipeline needs to know; plain values, no Django."""

    # step -> HF id or local path; "translation" may hold {src}/{tgt}; "chat" is
    # the instruction model for every step whose backend is "chat"; "language"
    # names the detector (default "lingua").
    models: Mapping[str, str]
    agent_language: str = "en"
    analysis_language: str = "en"
    intent_labels: Sequence[str] = DEFAULT_INTENT_LABELS
    # step -> backend name; missing steps use DEFAULT_BACKENDS.
    backends: Mapping[str, str] = field(default_factory=dict)
    summary_min_words: int = 60
    summary_max_length: int = 60
    draft_max_new_tokens: int = 120
    draft_max_chars: int = 1200
    shop_name: str = "our shop"
    shop_email: str = ""
    agent_signature: str = "Customer Service"
    batch_size: int = 16
    # Candidate languages of the detector (ISO 639-1); the agent and analysis
    # languages are always added.
    languages: Sequence[str] = DEFAULT_LANGUAGES

    def backend(self, step: str) -> str:
        choices = STEP_BACKENDS[step]
        backend = self.backends.get(step, choices[0])
        if backend not in choices:
            raise ValueError(
                f"backend {backend!r} cannot serve {step}; choose one of {choices}"
            )
        return backend

    def model(self, step: str) -> str:
        """The model (or detector) that serves ``step`` with its configured backend."""
        if step == "language":
            return self.models.get("language") or DEFAULT_DETECTOR
        if step in STEP_BACKENDS and self.backend(step) == "chat":
            return self.models.get(CHAT_MODEL_KEY, "")
        return self.models.get(step, "")

    def detector_languages(self) -> tuple[str, ...]:
        codes = {*self.languages, self.agent_language, self.analysis_language}
        return tuple(sorted(code.lower() for code in codes if code))


def analysis_text(
    email_text: str, outcomes: Mapping[str, StepOutcome], step: str
) -> str:
    """The text that ``outcomes[step]`` was computed on (its offsets point into it)."""
    if outcomes[step].get("on") != "translation":
        return email_text
    translation = outcomes["translation"]["result"]
    return (translation.get("analysis") or translation)["text"]


@dataclass
class _Partial:
    """One email's outcome of one step, before timing is added."""

    result: Any
    error: str | None
    model: str
    revision: str | None
    tiny: bool
    on: str | None


def run_pipeline(
    emails: Sequence[EmailInput],
    config: PipelineConfig,
    steps: Sequence[str] = PIPELINE_STEPS,
) -> list[dict[str, StepOutcome]]:
    """One dict per email (input order): step -> outcome, for each of ``steps``.

    Steps run in pipeline order whatever the order of ``steps``; the language is
    detected whenever translation or the draft needs it, but only reported when
    asked for. An unknown step name is an error outcome, not an exception.
    """
    requested = list(dict.fromkeys(steps))
    run = _Run([_email(e) for e in emails], config)
    if not run.emails:
        return []
    wanted = set(requested)
    if wanted & {"translation", "draft"}:
        wanted.add("language")
    for step in PIPELINE_STEPS:
        if step in wanted:
            run.step(step)
    for step in requested:
        if step not in PIPELINE_STEPS:
            run.record_all(
                step,
                _Partial(
                    None,
                    f"ValueError: unknown step {step!r}; known: "
                    + ", ".join(PIPELINE_STEPS),
                    "",
                    None,
                    False,
                    None,
                ),
                0.0,
            )
    return [{step: outcome[step] for step in requested} for outcome in run.outcomes]


def preload(
    config: PipelineConfig,
    steps: Sequence[str] = PIPELINE_STEPS,
    *,
    language_pairs: Sequence[tuple[str, str]] = (),
) -> dict[str, float]:
    """Load every model ``steps`` need now rather than on the first batch.

    For a worker's start (in the child process, after fork) and for benchmarks.
    Translation models of a ``{src}``/``{tgt}`` setting are loaded for
    ``language_pairs`` only. Returns seconds per step; raises what a load raises.
    """
    timings: dict[str, float] = {}
    for step in PIPELINE_STEPS:
        if step not in steps:
            continue
        started = time.perf_counter()
        if step == "translation":
            _translator(config).preload(language_pairs)
        else:
            _step_object(step, config)
        timings[step] = time.perf_counter() - started
    return timings


def _require(config: PipelineConfig, step: str) -> str:
    model = config.model(step)
    if not model:
        chat = step in STEP_BACKENDS and config.backend(step) == "chat"
        key = CHAT_MODEL_KEY if chat else step
        raise LookupError(f"no model configured for step {step!r} (models[{key!r}])")
    return model


def _step_object(step: str, config: PipelineConfig) -> Any:
    """The loaded object serving ``step`` (not translation): each model once per
    process through the registry; the thin per-config wrappers are rebuilt."""
    model = _require(config, step)
    if is_offline(model):
        return _offline_step(step, model, config)
    if step == "language":
        return get_detector(model, config.detector_languages())
    if step == "answer" and config.backend("answer") == "chat":
        return load_once(
            ("answer-chat", model),
            lambda: ChatAnswerStep(model, max_new_tokens=CHAT_ANSWER_MAX_NEW_TOKENS),
        )
    if step in ("sentiment", "entities", "answer"):
        return get_step(step, model)
    if step == "summary":
        return SummaryStep(
            model,
            backend=config.backend("summary"),
            min_words=config.summary_min_words,
            max_new_tokens=config.summary_max_length,
            batch_size=config.batch_size,
            language=config.analysis_language,
        )
    if step == "intent":
        labels = tuple(config.intent_labels)
        return load_once(
            ("intent", model, labels), lambda: IntentStep(model, labels=labels)
        )
    if step == "draft":
        return DraftStep(
            model, backend=config.backend("draft"), batch_size=config.batch_size
        )
    raise ValueError(f"unknown step {step!r}")


def _offline_step(step: str, model: str, config: PipelineConfig) -> Any:
    """A step of the offline profile (``offline:...`` specs, DESIGN §8), built by
    workers.nlp.offline once per process; it takes the same calls as the others."""
    if step == "intent":
        labels = tuple(config.intent_labels)
        return load_once(
            ("offline", step, model, labels),
            lambda: build_step(step, model, labels=labels),
        )
    return get_step(step, model)


def _translator(config: PipelineConfig) -> Translator:
    return Translator(
        config.models.get("translation", ""),
        backend=config.backend("translation"),
        chat_model=config.models.get(CHAT_MODEL_KEY, ""),
        batch_size=config.batch_size,
    )


def _email(email: Mapping[str, Any]) -> EmailInput:
    return {
        "text": str(email.get("text") or ""),
        "subject": str(email.get("subject") or ""),
        "customer_name": str(email.get("customer_name") or ""),
        "customer_email": str(email.get("customer_email") or ""),
    }


class _Run:
    """The state of one pipeline run: inputs, what each step produced, outcomes."""

    def __init__(self, emails: list[EmailInput], config: PipelineConfig) -> None:
        self.emails = emails
        self.config = config
        self.texts = [email["text"] for email in emails]
        n = len(emails)
        self.outcomes: list[dict[str, StepOutcome]] = [{} for _ in emails]
        self.language: list[str | None] = [None] * n
        # The analysis text of each email and which text it is.
        self.analysis = list(self.texts)
        self.on = ["original"] * n
        self.results: dict[str, list[Any]] = {}

    # --- bookkeeping -------------------------------------------------------------

    def step(self, step: str) -> None:
        body: Callable[[], list[_Partial]] = getattr(self, f"_{step}")
        started = time.perf_counter()
        try:
            partials = body()
            if len(partials) != len(self.emails):
                raise RuntimeError(f"{len(partials)} results for {len(self.emails)}")
        except Exception as exc:
            if is_interrupt(exc):
                raise
            logger.exception(
                "step %s failed for a batch of %s emails", step, len(self.emails)
            )
            model = self._model_or_blank(step)
            error = f"{type(exc).__name__}: {exc}"
            on = "original" if step in ("language", "translation") else None
            partials = [
                _Partial(None, error, model, None, _tiny(model), on or self.on[i])
                for i in range(len(self.emails))
            ]
        # Steps run on the whole batch: per-email time is the batch's wall time
        # shared evenly, not a measurement of that email.
        duration_ms = (time.perf_counter() - started) * 1000.0 / len(self.emails)
        self.results[step] = [p.result if p.error is None else None for p in partials]
        for outcome, partial in zip(self.outcomes, partials, strict=True):
            outcome[step] = _outcome(partial, duration_ms)

    def record_all(self, step: str, partial: _Partial, duration_ms: float) -> None:
        for outcome in self.outcomes:
            outcome[step] = _outcome(partial, duration_ms)

    def _model_or_blank(self, step: str) -> str:
        try:
            return self.config.model(step)
        except ValueError:
            return ""

    def _uniform(
        self, step: Any, results: list[Any], on: Sequence[str]
    ) -> list[_Partial]:
        return [
            _Partial(result, None, step.model_id, step.revision, step.tiny, where)
            for result, where in zip(results, on, strict=True)
        ]

    # --- steps -------------------------------------------------------------------

    def _language(self) -> list[_Partial]:
        detector = _step_object("language", self.config)
        results = sorted_call(detector, self.texts, key=len)
        self.language = [r["language"] for r in results]
        return self._uniform(detector, results, ["original"] * len(results))

    def _translator(self) -> Translator:
        return _translator(self.config)

    def _translation(self) -> list[_Partial]:
        config = self.config
        translator = self._translator()
        n = len(self.emails)
        separate = config.agent_language != config.analysis_language
        requests = [
            TranslationRequest(text, source, config.analysis_language)
            for text, source in zip(self.texts, self.language, strict=True)
        ]
        if separate:
            requests += [
                TranslationRequest(text, source, config.agent_language)
                for text, source in zip(self.texts, self.language, strict=True)
            ]
        done = translator(requests)
        partials = []
        for i in range(n):
            analysis = done[i]
            display = done[n + i] if separate else analysis
            if (
                analysis.error is None
                and analysis.result
                and not analysis.result["skipped"]
            ):
                self.analysis[i] = analysis.result["text"]
                self.on[i] = "translation"
            result: dict[str, Any] = dict(
                _record(display, requests[n + i if separate else i])
            )
            result["analysis"] = _record(analysis, requests[i]) if separate else None
            ran = display if _ran(display) or not _ran(analysis) else analysis
            partials.append(
                _Partial(
                    result,
                    display.error or analysis.error,
                    ran.model,
                    ran.revision,
                    ran.tiny,
                    "original",
                )
            )
        return partials

    def _sentiment(self) -> list[_Partial]:
        return self._text_step(_step_object("sentiment", self.config))

    def _entities(self) -> list[_Partial]:
        return self._text_step(_step_object("entities", self.config))

    def _answer(self) -> list[_Partial]:
        return self._text_step(_step_object("answer", self.config))

    def _text_step(self, step: Any) -> list[_Partial]:
        batch_size = self.config.batch_size
        results = sorted_call(
            lambda texts: step(texts, batch_size=batch_size), self.analysis, key=len
        )
        return self._uniform(step, results, self.on)

    def _summary(self) -> list[_Partial]:
        step = _step_object("summary", self.config)
        results = sorted_call(step, self.analysis, key=len)
        return self._uniform(step, results, self.on)

    def _intent(self) -> list[_Partial]:
        step = _step_object("intent", self.config)
        batch_size = self.config.batch_size
        results = sorted_call(
            lambda texts: step(texts, batch_size=batch_size), self.analysis, key=len
        )
        sentiments = self.results.get("sentiment") or [None] * len(results)
        for i, result in enumerate(results):
            level, reasons = priority(
                intent=result["label"],
                sentiment=sentiments[i],
                texts=(self.emails[i]["subject"], self.texts[i], self.analysis[i]),
            )
            result["priority"] = level
            result["priority_reasons"] = reasons
        return self._uniform(step, results, self.on)

    def _draft(self) -> list[_Partial]:
        config = self.config
        step = _step_object("draft", config)
        settings = DraftSettings(
            shop_name=config.shop_name,
            shop_email=config.shop_email,
            agent_signature=config.agent_signature,
            language=config.analysis_language,
            max_new_tokens=config.draft_max_new_tokens,
            max_chars=config.draft_max_chars,
        )
        answers = self.results.get("answer") or [None] * len(self.emails)
        intents = self.results.get("intent") or [None] * len(self.emails)
        summaries = self.results.get("summary") or [None] * len(self.emails)
        entities = self.results.get("entities") or [None] * len(self.emails)
        items = [
            DraftInput(
                email=self.analysis[i],
                customer_name=email["customer_name"],
                customer_email=email["customer_email"],
                answer=(answers[i] or {}).get("answer") or "",
                summary=(summaries[i] or {}).get("summary") or "",
                entities=entities[i] or (),
                intent=(intents[i] or {}).get("label") or "",
                language=(
                    config.analysis_language
                    if self.on[i] == "translation"
                    else self.language[i] or ""
                ),
            )
            for i, email in enumerate(self.emails)
        ]
        default_backend = config.backend("draft")

        def write(batch: list[DraftInput]) -> list[tuple[str, str]]:
            texts = step(batch, settings)
            # A step that writes some drafts one way and some another (the offline
            # step: SmolLM2, or the template where nothing generated passed its
            # checks) says which wrote each.
            backends = list(getattr(step, "last_backends", None) or ())
            if len(backends) != len(texts):
                backends = [default_backend] * len(texts)
            return list(zip(texts, backends, strict=True))

        written = sorted_call(write, items, key=lambda item: len(item.email))
        texts = [text for text, _ in written]
        backends = [backend for _, backend in written]
        drafts = self._translate_drafts(
            texts, backends, getattr(step, "prompt_version", DRAFT_PROMPT_VERSION)
        )
        return [
            _Partial(
                draft,
                None,
                *_draft_model(step, backend),
                step.tiny,
                on,
            )
            for draft, backend, on in zip(drafts, backends, self.on, strict=True)
        ]

    def _translate_drafts(
        self,
        texts: list[str],
        backends: Sequence[str] | None = None,
        prompt_version: str = DRAFT_PROMPT_VERSION,
    ) -> list[Draft]:
        """Drafts are written in the analysis language; agents read theirs and the
        customer gets theirs, so up to two translations per draft. ``backends``:
        what wrote each draft (default: the configured draft backend)."""
        config = self.config
        analysis, agent = config.analysis_language, config.agent_language
        customer = [language or agent for language in self.language]
        requests: list[TranslationRequest] = []
        wanted: list[tuple[int, str]] = []
        for i, text in enumerate(texts):
            for target in dict.fromkeys((agent, customer[i])):
                if target != analysis:
                    requests.append(TranslationRequest(text, analysis, target))
                    wanted.append((i, target))
        done: dict[tuple[int, str], Translated] = {}
        if requests:
            try:
                done = dict(zip(wanted, self._translator()(requests), strict=True))
            except Exception as exc:  # e.g. a bad backend name
                if is_interrupt(exc):
                    raise
                logger.exception("draft translation failed")
                error = f"{type(exc).__name__}: {exc}"
                done = {key: Translated(None, error, "", None, False) for key in wanted}
        drafts: list[Draft] = []
        for i, text in enumerate(texts):
            errors: list[str] = []
            agent_text = self._draft_version(i, text, agent, done, errors)
            customer_text = (
                self._draft_version(i, text, customer[i], done, errors)
                if customer[i] != agent
                else None
            )
            drafts.append(
                {
                    # Falls back to the analysis-language draft, with the error.
                    "text": agent_text if agent_text is not None else text,
                    "text_customer_language": customer_text,
                    "customer_language": customer[i],
                    "backend": backends[i] if backends else config.backend("draft"),
                    "prompt_version": prompt_version,
                    "translation_error": "; ".join(errors) or None,
                    **_customer_language_source(done, i, customer[i], customer_text),
                }
            )
        return drafts

    def _draft_version(
        self,
        i: int,
        text: str,
        target: str,
        done: Mapping[tuple[int, str], Translated],
        errors: list[str],
    ) -> str | None:
        analysis = self.config.analysis_language
        if target == analysis:
            return text
        translated = done[(i, target)]
        if translated.error or not translated.result:
            errors.append(f"{analysis}->{target}: {translated.error}")
            return None
        # Translation must not bring back what the draft filter removed.
        return scrub(
            translated.result["text"],
            allowed_emails=(self.emails[i]["customer_email"], self.config.shop_email),
            link_domains=(shop_domain(self.config.shop_email),),
        )


def _customer_language_source(
    done: Mapping[tuple[int, str], Translated],
    i: int,
    language: str,
    text: str | None,
) -> dict[str, Any]:
    """Which model made the customer-language draft and through which pivot: an
    approver must be told when a reply went through a third language."""
    translated = done.get((i, language))
    if text is None or translated is None or translated.result is None:
        return {"customer_language_model": "", "customer_language_via": None}
    return {
        "customer_language_model": translated.model,
        "customer_language_via": translated.result.get("via"),
    }


def _ran(translated: Translated) -> bool:
    return (
        translated.error is None
        and bool(translated.result)
        and not (translated.result or {}).get("skipped")
    )


def _record(translated: Translated, request: TranslationRequest) -> Translation:
    if translated.result is not None:
        return translated.result
    return {
        "source_language": request.source,
        "target_language": request.target,
        "text": "",
        "skipped": True,
        "reason": f"failed: {translated.error}",
        "segments": 0,
    }


def _draft_model(step: Any, backend: str) -> tuple[str, str | None]:
    """(model, revision) that wrote one draft: "template" where the offline step's
    template wrote it (SmolLM2 not installed, or nothing it generated passed the
    checks), else the step's model."""
    if backend == "template":
        return "template", getattr(step, "prompt_version", None)
    return step.model_id, step.revision


def _tiny(model: str) -> bool:
    return bool(model) and is_tiny(model)


def _outcome(partial: _Partial, duration_ms: float) -> StepOutcome:
    return {
        "result": partial.result,
        "error": partial.error,
        "model": partial.model,
        "revision": partial.revision,
        "tiny": partial.tiny,
        "duration_ms": duration_ms,
        "on": partial.on,
    }

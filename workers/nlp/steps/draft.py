"""The reply draft: grounded in the other steps' results, written in the analysis
language, then translated for the agents and for the customer (and scrubbed again:
a translation must not bring back what the draft filter removed)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from workers.contract import Draft
from workers.nlp.cache import load_once
from workers.nlp.errors import is_interrupt
from workers.nlp.generation import sorted_call
from workers.nlp.offline import expect, parse_spec
from workers.nlp.scrub import scrub, shop_domain
from workers.nlp.steps.base import Batch, Partial, Step
from workers.nlp.steps.translation import translator

if TYPE_CHECKING:
    from workers.nlp.config import PipelineConfig
    from workers.nlp.draft import DraftInput
    from workers.nlp.translation import Translated

logger = logging.getLogger(__name__)


def _generator(backend: str) -> Any:
    def load(model: str, config: PipelineConfig) -> Any:
        from workers.nlp.draft import DraftStep

        # A thin per-config wrapper; the model inside loads once per process.
        return DraftStep(model, backend=backend, batch_size=config.batch_size)

    return load


def _offline(model: str, config: PipelineConfig) -> Any:
    """``offline:smollm2`` (SmolLM2, else the template), ``offline:smollm2-ct2``
    (the same model through CTranslate2), ``offline:openai`` (an OpenAI-compatible
    server, workers.nlp.engines.openai_compat) or ``offline:template``."""

    def build() -> Any:
        from workers.nlp.offline.draft import DraftStep

        expect(model, "smollm2", "smollm2-ct2", "openai", "template")
        return DraftStep(parse_spec(model)[0])

    return load_once(("offline", "draft", model), build)


class DraftSpec(Step):
    name = "draft"
    label = "Reply draft"
    order = 80
    stage = "generate"
    result_type = Draft
    inputs = ("language", "sentiment", "answer", "summary", "entities", "intent")
    # The language tells which language the customer gets the draft in.
    requires = ("language",)
    backends = {"causal": _generator("causal"), "chat": _generator("chat")}
    offline = _offline
    tiny_builder = "workers.nlp_testing.tiny_generators:build_draft"

    def run(self, batch: Batch) -> list[Partial]:
        from workers.nlp.draft import PROMPT_VERSION, DraftInput, DraftSettings

        config = batch.config
        step = self.load(config)
        settings = DraftSettings(
            shop_name=config.shop_name,
            shop_email=config.shop_email,
            agent_signature=config.agent_signature,
            language=config.analysis_language,
            max_new_tokens=config.draft_max_new_tokens,
            max_chars=config.draft_max_chars,
        )
        answers, intents = batch.result("answer"), batch.result("intent")
        summaries, entities = batch.result("summary"), batch.result("entities")
        sentiments = batch.result("sentiment")
        items = [
            DraftInput(
                email=batch.analysis[i],
                customer_name=email["customer_name"],
                customer_email=email["customer_email"],
                answer=(answers[i] or {}).get("answer") or "",
                summary=(summaries[i] or {}).get("summary") or "",
                entities=entities[i] or (),
                intent=(intents[i] or {}).get("label") or "",
                sentiment=str((sentiments[i] or {}).get("label") or ""),
                language=(
                    config.analysis_language
                    if batch.on[i] == "translation"
                    else batch.language[i] or ""
                ),
            )
            for i, email in enumerate(batch.emails)
        ]
        default_backend = self.backend(config)

        def write(chunk: list[DraftInput]) -> list[tuple[str, str]]:
            texts = step(chunk, settings)
            # A step that writes some drafts one way and some another (the offline
            # step: SmolLM2, or the template where nothing generated passed its
            # checks) says which wrote each.
            backends = list(getattr(step, "last_backends", None) or ())
            if len(backends) != len(texts):
                backends = [default_backend] * len(texts)
            return list(zip(texts, backends, strict=True))

        written = sorted_call(write, items, key=lambda item: len(item.email))
        drafts = translate_drafts(
            batch,
            [text for text, _ in written],
            [backend for _, backend in written],
            getattr(step, "prompt_version", PROMPT_VERSION),
        )
        return [
            Partial(draft, None, *_draft_model(step, backend), step.tiny, on)
            for draft, (_, backend), on in zip(drafts, written, batch.on, strict=True)
        ]


def translate_drafts(
    batch: Batch,
    texts: list[str],
    backends: Sequence[str] | None = None,
    prompt_version: str | None = None,
) -> list[Draft]:
    """Drafts are written in the analysis language; agents read theirs and the
    customer gets theirs, so up to two translations per draft. ``backends``: what
    wrote each draft (default: the configured draft backend)."""
    from workers.nlp.draft import PROMPT_VERSION
    from workers.nlp.translation import Translated, TranslationRequest

    config = batch.config
    analysis, agent = config.analysis_language, config.agent_language
    customer = [language or agent for language in batch.language]
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
            done = dict(zip(wanted, translator(config)(requests), strict=True))
        except Exception as exc:  # e.g. a bad backend name
            if is_interrupt(exc):
                raise
            logger.exception("draft translation failed")
            error = f"{type(exc).__name__}: {exc}"
            done = {key: Translated(None, error, "", None, False) for key in wanted}
    drafts: list[Draft] = []
    for i, text in enumerate(texts):
        errors: list[str] = []
        agent_text = _version(batch, i, text, agent, done, errors)
        customer_text = (
            _version(batch, i, text, customer[i], done, errors)
            if customer[i] != agent
            else None
        )
        source = _customer_language_source(done, i, customer[i], customer_text)
        drafts.append(
            {
                # Falls back to the analysis-language draft, with the error.
                "text": agent_text if agent_text is not None else text,
                "text_customer_language": customer_text,
                "customer_language": customer[i],
                "backend": backends[i] if backends else STEP.backend(config),
                "prompt_version": prompt_version or PROMPT_VERSION,
                "translation_error": "; ".join(errors) or None,
                "customer_language_model": source[0],
                "customer_language_via": source[1],
            }
        )
    return drafts


def _customer_language_source(
    done: Mapping[tuple[int, str], Translated],
    i: int,
    language: str,
    text: str | None,
) -> tuple[str, str | None]:
    """(model, pivot) that made the customer-language draft: an approver must be
    told when a reply went through a third language."""
    translated = done.get((i, language))
    if text is None or translated is None or translated.result is None:
        return "", None
    return translated.model, translated.result.get("via")


def _version(
    batch: Batch,
    i: int,
    text: str,
    target: str,
    done: Mapping[tuple[int, str], Translated],
    errors: list[str],
) -> str | None:
    analysis = batch.config.analysis_language
    if target == analysis:
        return text
    translated = done[(i, target)]
    if translated.error or not translated.result:
        errors.append(f"{analysis}->{target}: {translated.error}")
        return None
    # Translation must not bring back what the draft filter removed.
    return scrub(
        translated.result["text"],
        allowed_emails=(batch.emails[i]["customer_email"], batch.config.shop_email),
        link_domains=(shop_domain(batch.config.shop_email),),
    )


def _draft_model(step: Any, backend: str) -> tuple[str, str | None]:
    """(model, revision) that wrote one draft: "template" where the offline step's
    template wrote it (SmolLM2 not installed, or nothing it generated passed the
    checks), else the step's model."""
    if backend == "template":
        return "template", getattr(step, "prompt_version", None)
    return step.model_id, step.revision


STEP = DraftSpec()

"""Translation into the analysis language (what the models read) and, when agents
read another language, a second, display translation.

Sets ``batch.analysis``/``batch.on`` for every later step: mail that was
translated is analysed on its translation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workers.contract import CHAT_MODEL_KEY, PipelineTranslation, Translation
from workers.nlp.steps.base import Batch, Partial, Step

if TYPE_CHECKING:
    from workers.nlp.config import PipelineConfig
    from workers.nlp.translation import Translated, TranslationRequest, Translator


def translator(config: PipelineConfig) -> Translator:
    """The translator of this configuration (models load once per process and pair);
    the draft step uses it too."""
    from workers.nlp.translation import Translator

    return Translator(
        config.models.get("translation", ""),
        backend=STEP.backend(config),
        chat_model=config.models.get(CHAT_MODEL_KEY, ""),
        batch_size=config.batch_size,
    )


def _load(model: str, config: PipelineConfig) -> Any:
    return translator(config)


class TranslationSpec(Step):
    name = "translation"
    label = "Translation"
    order = 20
    result_type = PipelineTranslation
    requires = ("language",)
    reads = "original"
    languages = "any"
    # Offline settings (offline:apertium@{src}-{tgt}) are served per pair by the
    # translator itself, whatever the backend.
    backends = {"seq2seq": _load, "chat": _load}
    tiny_builder = "workers.nlp_testing.tiny_generators:build_translation"

    def load(self, config: PipelineConfig) -> Any:
        # The translator resolves a model per language pair; a missing setting
        # fails per request, not here.
        return translator(config)

    def preload(self, config: PipelineConfig, **options: Any) -> None:
        translator(config).preload(options.get("language_pairs", ()))

    def run(self, batch: Batch) -> list[Partial]:
        from workers.nlp.translation import TranslationRequest

        config = batch.config
        n = len(batch)
        separate = config.agent_language != config.analysis_language
        requests = [
            TranslationRequest(text, source, config.analysis_language)
            for text, source in zip(batch.texts, batch.language, strict=True)
        ]
        if separate:
            requests += [
                TranslationRequest(text, source, config.agent_language)
                for text, source in zip(batch.texts, batch.language, strict=True)
            ]
        done = self.load(config)(requests)
        partials = []
        for i in range(n):
            analysis = done[i]
            display = done[n + i] if separate else analysis
            if (
                analysis.error is None
                and analysis.result
                and not analysis.result["skipped"]
            ):
                batch.analysis[i] = analysis.result["text"]
                batch.on[i] = "translation"
            result: PipelineTranslation = {
                **record(display, requests[n + i if separate else i]),
                "analysis": record(analysis, requests[i]) if separate else None,
            }
            ran = display if _ran(display) or not _ran(analysis) else analysis
            partials.append(
                Partial(
                    result,
                    display.error or analysis.error,
                    ran.model,
                    ran.revision,
                    ran.tiny,
                    "original",
                )
            )
        return partials


def _ran(translated: Translated) -> bool:
    return (
        translated.error is None
        and bool(translated.result)
        and not (translated.result or {"skipped": False})["skipped"]
    )


def record(translated: Translated, request: TranslationRequest) -> Translation:
    """The stored translation: the result, or a skipped record naming the error."""
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


STEP = TranslationSpec()

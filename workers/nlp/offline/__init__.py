"""An offline model profile: real models that registry packages ship (DESIGN §8).

| step              | spec                  | what serves it                       |
|-------------------|-----------------------|--------------------------------------|
| sentiment, intent | offline:minilm-heads  | MiniLM + heads trained on our labels |
| answer, summary   | offline:minilm-select | MiniLM sentence selection            |
| entities          | offline:spacy         | spaCy en_core_web_sm                 |
| draft             | offline:smollm2       | SmolLM2-135M-Instruct, else template |
| draft             | offline:template      | the template alone                   |
| translation       | offline:apertium      | apertium where it has the pair       |

The profile itself is ``workers.contract.OFFLINE_MODELS``; each step's spec
(``workers/nlp/steps/<step>.py``, its ``offline`` loader) builds the step from its
``offline:`` setting. Importing this package loads neither torch, transformers nor
spaCy. A spec may carry an argument after ``@``: the heads directory for
``offline:minilm-heads@/srv/heads``, the language pair for ``offline:apertium@es-en``.
"""

from __future__ import annotations

from workers.contract import OFFLINE_PREFIX as PREFIX


class OfflineSpecError(ValueError):
    pass


def is_offline(spec: str) -> bool:
    return spec.strip().startswith(PREFIX)


def parse_spec(spec: str) -> tuple[str, str]:
    """``"offline:minilm-heads@/x"`` -> ``("minilm-heads", "/x")``."""
    spec = spec.strip()
    if not spec.startswith(PREFIX):
        raise OfflineSpecError(f"not an offline model spec: {spec!r}")
    method, _, argument = spec[len(PREFIX) :].partition("@")
    return method, argument


def expect(spec: str, *methods: str) -> str:
    """The argument of ``spec`` (after ``@``), which must name one of ``methods``."""
    method, argument = parse_spec(spec)
    if method not in methods:
        raise OfflineSpecError(
            f"{spec!r}: expected offline:{' or offline:'.join(methods)}"
        )
    return argument


__all__ = ["PREFIX", "OfflineSpecError", "expect", "is_offline", "parse_spec"]

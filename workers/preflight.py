"""Before a GPU worker takes tasks: is every configured model there?

A model that is neither a local folder nor in the Hugging Face cache would be
downloaded inside the first triage task, under its soft time limit, or fail there
when the Hub is unreachable (an air-gapped host, HF_HUB_OFFLINE=1) and fail every
task after it. `missing_models()` finds such models without loading anything;
workers/celery.py refuses to start a worker that serves the `gpu` queue when any
is missing and the Hub cannot be reached, naming the models and the fix
(`manage.py download_models`, the compose `init` service).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def missing_models(
    models: Mapping[str, str], language_pairs: Iterable[tuple[str, str]] = ()
) -> list[tuple[str, str]]:
    """``(step, hub id)`` of configured Hub models absent from the local cache."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    from workers.nlp.download import IGNORE_PATTERNS, targets

    missing = []
    for step, model in targets(models, language_pairs):
        try:
            # Resolves from the cache only: no network, nothing downloaded.
            snapshot_download(
                model, local_files_only=True, ignore_patterns=IGNORE_PATTERNS
            )
        except (LocalEntryNotFoundError, OSError):
            missing.append((step, model))
    return missing


def refusal(missing: list[tuple[str, str]]) -> str:
    names = "\n".join(f"  - {step}: {model}" for step, model in missing)
    return (
        "Refusing to start: these configured models are not in the local Hugging "
        f"Face cache and the Hub is unreachable:\n{names}\n"
        "Fetch them first: `python manage.py download_models` (the compose `init` "
        "service does it into the shared hf-cache volume), or copy a cache from a "
        "host with network access and point HF_HOME at it, or configure local "
        "model folders (TRIAGE_MODELS / TRIAGE_MODEL_<STEP>)."
    )


def check_models() -> str | None:
    """The refusal message when the worker must not start, else None."""
    from django.conf import settings

    from triage.model_profiles import hub_reachable
    from workers.config import language_pairs

    missing = missing_models(settings.TRIAGE_MODELS, language_pairs())
    if not missing or hub_reachable():
        return None
    return refusal(missing)

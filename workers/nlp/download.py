"""Pre-fetch every configured model from the Hugging Face Hub (air-gapped hosts).

``download(models, dest, language_pairs=[("de", "en"), ...])`` fetches each Hub id
of the model mapping with ``huggingface_hub.snapshot_download`` (tqdm progress per
file and over the models), expanding ``{src}``/``{tgt}`` over the pairs. Local paths
and values that are not Hub ids (the language detector "lingua") are skipped.
``dest`` is a Hugging Face cache directory: point ``HF_HUB_CACHE`` at it on the
worker (with ``HF_HUB_OFFLINE=1``) and the same ids load from it.

When the Hub cannot be reached (no network, ``HF_HUB_OFFLINE=1``) the first model
fails fast with :class:`HubUnreachableError`, which names the model.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

# Steps whose setting names a packaged library, not a Hub repository.
LIBRARY_STEPS = frozenset({"language"})
# Other frameworks' weights and exports: torch never reads them, and for repos
# like gpt2 they are most of the download.
IGNORE_PATTERNS = [
    "*.h5",
    "*.msgpack",
    "*.ot",
    "*.onnx",
    "*.onnx_data",
    "*.tflite",
    "*.mlmodel",
    "*.gguf",
    "onnx/*",
    "coreml/*",
    "tf_model*",
    "flax_model*",
    "rust_model*",
]


class HubUnreachableError(ConnectionError):
    """The Hub could not be reached to fetch a model."""


@dataclass(frozen=True)
class Downloaded:
    step: str
    model: str
    path: str

    def __str__(self) -> str:
        return f"{self.step}: {self.model} -> {self.path}"


def is_hub_id(value: str) -> bool:
    """True for ``owner/name`` (or a legacy single name), False for local paths."""
    from huggingface_hub.utils import validate_repo_id

    value = value.strip()
    if not value or value.startswith(("/", ".", "~")) or Path(value).exists():
        return False
    try:
        validate_repo_id(value)
    except ValueError:
        return False
    return True


def targets(
    models: Mapping[str, str], language_pairs: Iterable[tuple[str, str]] = ()
) -> list[tuple[str, str]]:
    """``(step, hub id)`` to fetch, in setting order, each id once."""
    pairs = list(dict.fromkeys(language_pairs))
    found: dict[str, str] = {}
    for step, setting in models.items():
        if step in LIBRARY_STEPS or not setting:
            continue
        if "{src}" in setting or "{tgt}" in setting:
            if not pairs:
                logger.warning("%s: %s needs language pairs; none given", step, setting)
            ids = [
                setting.replace("{src}", src).replace("{tgt}", tgt)
                for src, tgt in pairs
                if src != tgt
            ]
        else:
            ids = [setting]
        for model in ids:
            if is_hub_id(model):
                found.setdefault(model, step)
            else:
                logger.info("%s: %s is not a Hub id; skipped", step, model)
    return [(step, model) for model, step in found.items()]


def download(
    models: Mapping[str, str],
    dest: Path | None = None,
    *,
    language_pairs: Iterable[tuple[str, str]] = (),
) -> list[Downloaded]:
    """Fetch every Hub model of ``models`` into ``dest`` (default: the HF cache)."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
    )
    from tqdm.auto import tqdm

    unreachable: tuple[type[BaseException], ...] = (
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        OSError,
    )
    try:
        import httpx

        # Raised as is when a transfer breaks off mid-file.
        unreachable += (httpx.TransportError,)
    except ImportError:  # pragma: no cover - huggingface_hub < 1.0 used requests
        pass
    done: list[Downloaded] = []
    todo = targets(models, language_pairs)
    for step, model in tqdm(todo, desc="models", unit="model", disable=not todo):
        try:
            path = snapshot_download(
                model,
                cache_dir=str(dest) if dest is not None else None,
                ignore_patterns=IGNORE_PATTERNS,
            )
        except (GatedRepoError, RepositoryNotFoundError) as exc:
            raise LookupError(
                f"{step}: model {model!r} was not found on the Hugging Face Hub "
                f"(or needs access rights): {exc}"
            ) from exc
        except unreachable as exc:
            # OSError covers connection errors (httpx's derive from it here) and
            # HF_HUB_OFFLINE's "not in the cache".
            raise HubUnreachableError(
                f"{step}: cannot download {model!r}: the Hugging Face Hub is "
                f"unreachable ({type(exc).__name__}: {_first_line(exc)}). Fetch the "
                "models on a host with network access and copy its cache."
            ) from exc
        done.append(Downloaded(step, model, str(path)))
        logger.info("%s: %s ready in %s", step, model, path)
    return done


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "no detail"

"""Converting a transformers directory to CTranslate2, once (see ct2.py).

The converted directory lives next to its source; a marker file records what it
was converted from, so a changed source or quantization converts again and an
unchanged one is reused. The tokenizer files are copied in.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from workers.nlp.publish import publish_dir

logger = logging.getLogger(__name__)

MARKER = "triage_ct2.json"
# What a converted directory needs besides model.bin: the tokenizer's files.
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "chat_template.jinja",
    "generation_config.json",
    "vocab.json",
    "merges.txt",
    "source.spm",
    "target.spm",
    "config.json",
)
# Serialises conversions within a process; across processes the temp dir + rename
# keeps a half-written model from ever being read.
_convert_lock = threading.Lock()


def source_key(source: Path, quantization: str) -> str:
    """What a conversion depends on: the source's config and weight files (names and
    sizes; hashing hundreds of MB on every start would cost more than it saves),
    the quantization and CTranslate2's version."""
    import ctranslate2

    h = hashlib.sha256()
    h.update(quantization.encode())
    h.update(ctranslate2.__version__.encode())
    for path in sorted(source.iterdir()):
        if path.is_file():
            h.update(path.name.encode())
            h.update(str(path.stat().st_size).encode())
            if path.name in {"config.json", "triage_smollm2.json"}:
                h.update(path.read_bytes())
    return h.hexdigest()


def converted_dir(source: Path, quantization: str) -> Path:
    """Where ``source`` converted with ``quantization`` lives: beside it."""
    return source.parent / f"{source.name}-ct2-{quantization}"


def ensure_converted(
    source: str | Path,
    quantization: str,
    target: str | Path | None = None,
) -> Path:
    """Convert the transformers directory ``source`` once; return the CT2 directory.

    ``quantization`` is CTranslate2's weight type (int8 for a CPU, int8_float16 or
    float16 for a GPU). Reuses an existing conversion whose marker matches.
    """
    source = Path(source)
    target = Path(target) if target else converted_dir(source, quantization)
    key = source_key(source, quantization)
    marker = target / MARKER
    if _marker_matches(marker, key):
        return target
    with _convert_lock:
        if _marker_matches(marker, key):
            return target
        started = time.perf_counter()
        logger.info(
            "converting %s to CTranslate2 (%s) in %s", source, quantization, target
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
        try:
            copy = [n for n in TOKENIZER_FILES if (source / n).is_file()]
            # The converter writes its own config.json; ours is copied as hf_config.
            copy = [n for n in copy if n != "config.json"]
            _Converter(str(source), copy_files=copy, low_cpu_mem_usage=True).convert(
                str(tmp / "model"), quantization=quantization, force=True
            )
            out = tmp / "model"
            if (source / "config.json").is_file():
                shutil.copyfile(source / "config.json", out / "hf_config.json")
            (out / MARKER).write_text(
                json.dumps(
                    {
                        "key": key,
                        "source": str(source),
                        "quantization": quantization,
                        "seconds": round(time.perf_counter() - started, 2),
                    }
                ),
                encoding="utf-8",
            )
            publish_dir(out, target, done=lambda: _marker_matches(marker, key))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        logger.info("converted %s in %.1fs", source, time.perf_counter() - started)
    return target


def _converter_class() -> Any:
    from ctranslate2.converters import TransformersConverter

    class Converter(TransformersConverter):
        """CTranslate2's converter, with what transformers 5 dropped put back.

        Its BART loader reads ``config.normalize_before``, which transformers 5's
        ``BartConfig`` no longer has (BART is post-norm: False, the value it had);
        Marian's loader sets it itself.
        """

        def load_model(self, model_class: Any, model_name_or_path: str, **kwargs: Any):
            model = super().load_model(model_class, model_name_or_path, **kwargs)
            config = model.config
            if config.model_type == "bart" and "normalize_before" not in vars(config):
                config.normalize_before = False
            return model

    return Converter


def _Converter(*args: Any, **kwargs: Any) -> Any:
    return _converter_class()(*args, **kwargs)


def _marker_matches(marker: Path, key: str) -> bool:
    if not marker.is_file():
        return False
    try:
        return json.loads(marker.read_text(encoding="utf-8")).get("key") == key
    except ValueError:
        return False

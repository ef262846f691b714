from __future__ import annotations

from tests.workers.offline.conftest import BUMBLEBEE


def test_bumblebee_entities_with_offsets(spacy_step):
    (entities,) = spacy_step([BUMBLEBEE])
    found = {(e["label"], e["text"]) for e in entities}
    assert {("ORG", "Amazon"), ("LOC", "Germany"), ("PER", "Bumblebee")} <= found
    for e in entities:
        assert set(e) == {"label", "text", "start", "end", "score"}
        assert BUMBLEBEE[e["start"] : e["end"]] == e["text"]
        assert e["label"] in {"PER", "ORG", "LOC", "MISC"}
        assert e["score"] == 1.0
    # "last week" is a DATE: dropped by default.
    assert all("week" not in e["text"] for e in entities)


def test_numeric_entities_only_on_request(spacy_step):
    from workers.nlp.offline.spacy_ner import SpacyEntitiesStep

    text = "Hello, I am Jürgen Müller from München and I paid 49 EUR on 3 May."
    (default,) = spacy_step([text])
    assert ("PER", "Jürgen Müller") in {(e["label"], e["text"]) for e in default}
    assert not {e["label"] for e in default} & {"DATE", "MONEY", "CARDINAL"}
    (kept,) = SpacyEntitiesStep(keep_numeric=True)([text])
    assert "DATE" in {e["label"] for e in kept}


def test_batch_order_blank_and_model_id(spacy_step):
    results = spacy_step(["", "Anna from Paris wrote.", BUMBLEBEE])
    assert results[0] == []
    assert results[1][0]["text"] in {"Anna", "Paris"}
    assert len(results) == 3
    assert spacy_step([]) == []
    assert spacy_step.model_id == "spacy:en_core_web_sm-3.8.0"


def test_no_entities_from_mime_debris_or_control_characters(spacy_step):
    # What a multipart whose boundary never appears leaves in the body (the
    # malformed sample): spaCy tagged "Content-Type" ORG and "red \x1b[0" ORG.
    text = (
        "--some-other-boundary\nContent-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: base64\n\n"
        "Stray control bytes: \x1b[31m red \x1b[0m\n"
        "My order from Amazon never arrived.\nThanks,\nTom Becker | ACME | +49 30 1\n"
    )
    (entities,) = spacy_step([text])
    found = {e["text"] for e in entities}
    assert not found & {"Content-Type", "Content-Transfer-Encoding"}
    assert not any("\x1b" in e or "-boundary" in e for e in found)
    assert "Amazon" in found
    for e in entities:
        assert text[e["start"] : e["end"]] == e["text"]

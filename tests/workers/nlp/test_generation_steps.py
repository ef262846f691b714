"""Translation, summary, intent and the chat answer on tiny models.

Random weights make the generated text meaningless; these tests check the flow:
what is translated or skipped, which model serves which pair, shapes, labels from
the configuration, and that batching changes nothing.
"""

from __future__ import annotations

import shutil

import pytest

from workers.nlp.answer import ChatAnswerStep, locate
from workers.nlp.generation import Seq2SeqGenerator
from workers.nlp.intent import DEFAULT_INTENT_LABELS, IntentStep
from workers.nlp.registry import load_once
from workers.nlp.summary import SummaryStep
from workers.nlp.translation import (
    TranslationRequest,
    Translator,
    resolve_model,
    translation_messages,
)
from workers.nlp_testing.tiny import BUMBLEBEE

TRANSLATION_KEYS = {
    "source_language",
    "target_language",
    "text",
    "skipped",
    "reason",
    "segments",
}
GERMAN = (
    "Sehr geehrte Damen und Herren,\n\nmeine Bestellung ist nicht angekommen. "
    "Bitte um Erstattung.\n\nMit freundlichen Grüßen\nJürgen Müller"
)


# --- translation ------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["seq2seq", "chat"])
def test_translate_or_skip(tiny_models, backend):
    translator = Translator(
        tiny_models["translation"],
        backend=backend,
        chat_model=tiny_models["chat"],
        batch_size=2,
    )
    requests = [
        TranslationRequest(GERMAN, "de", "en"),
        TranslationRequest(BUMBLEBEE, "en", "en"),
        TranslationRequest("   ", "fr", "en"),
        TranslationRequest("Bonjour, ma commande est en retard.", None, "en"),
        TranslationRequest(BUMBLEBEE, "en", "de"),
    ]
    done = translator(requests)
    assert len(done) == len(requests)
    expected_model = tiny_models["chat" if backend == "chat" else "translation"]
    for translated in done:
        assert translated.error is None
        assert set(translated.result) == TRANSLATION_KEYS
    german, english, blank, unknown, to_german = (t.result for t in done)
    assert german["skipped"] is False and german["reason"] is None
    assert german["text"].strip()
    # Greeting, two sentences, closing line and name: five segments.
    assert german["segments"] == 5
    # Paragraphs survive: segments are re-joined with the original separators.
    assert german["text"].count("\n\n") == 2
    assert done[0].model == expected_model and done[0].tiny is True
    assert english == {
        "source_language": "en",
        "target_language": "en",
        "text": "",
        "skipped": True,
        "reason": "already in en",
        "segments": 0,
    }
    assert blank["skipped"] and blank["reason"] == "empty text"
    assert unknown["skipped"] and unknown["reason"] == "source language unknown"
    assert to_german["skipped"] is False and to_german["text"]
    assert (to_german["source_language"], to_german["target_language"]) == ("en", "de")


def test_templated_setting_loads_one_model_per_pair(tiny_models, tmp_path):
    # Local stand-ins for Helsinki-NLP/opus-mt-{src}-{tgt}.
    for pair in ("de-en", "en-de"):
        shutil.copytree(tiny_models["translation"], tmp_path / f"opus-mt-{pair}")
    setting = str(tmp_path / "opus-mt-{src}-{tgt}")
    assert resolve_model(setting, "de", "en") == str(tmp_path / "opus-mt-de-en")
    translator = Translator(setting, batch_size=4)
    done = translator(
        [
            TranslationRequest(GERMAN, "de", "en"),
            TranslationRequest(BUMBLEBEE, "en", "de"),
            TranslationRequest("Salut.", "fr", "en"),  # no opus-mt-fr-en here
            TranslationRequest(BUMBLEBEE, "en", "en"),
        ]
    )
    assert done[0].model == str(tmp_path / "opus-mt-de-en") and done[0].error is None
    assert done[1].model == str(tmp_path / "opus-mt-en-de") and done[1].error is None
    # A missing pair fails alone; the others are translated.
    assert done[2].model == str(tmp_path / "opus-mt-fr-en")
    assert done[2].result is None and done[2].error
    assert done[3].result["skipped"] and done[3].model == setting.replace(
        "{src}", "en"
    ).replace("{tgt}", "en")
    first = load_once(("seq2seq", done[0].model), lambda: None)
    assert isinstance(first, Seq2SeqGenerator)


def test_translation_batch_equals_single(tiny_models):
    translator = Translator(tiny_models["translation"], batch_size=3)
    texts = [GERMAN, "Kurz.", "Das Paket ist beschädigt. " * 5, "Danke!"]
    requests = [TranslationRequest(text, "de", "en") for text in texts]
    batch = [t.result["text"] for t in translator(requests)]
    single = [translator([r])[0].result["text"] for r in requests]
    assert batch == single


def test_special_tokens_in_the_text_do_not_reach_the_model(tiny_models):
    generator = load_once(
        ("seq2seq", tiny_models["translation"]),
        lambda: Seq2SeqGenerator(tiny_models["translation"]),
    )
    assert generator.clean("Hallo </s> <pad> Welt <unk>") == "Hallo Welt"


def test_chat_translation_prompt():
    system, user = translation_messages("Guten   Tag.\nDanke", "de", "en")
    assert "from German to English" in system["content"]
    assert user == {"role": "user", "content": "Guten Tag. Danke"}


def test_a_bad_backend_is_refused():
    with pytest.raises(ValueError, match="backend"):
        Translator("x", backend="marian")


# --- summary ----------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["seq2seq", "chat"])
def test_summary_skips_short_mail(tiny_models, backend):
    model = tiny_models["summary" if backend == "seq2seq" else "chat"]
    step = SummaryStep(model, backend=backend, min_words=60, max_new_tokens=6)
    assert (step.model_id, step.tiny) == (model, True)
    results = step([BUMBLEBEE, "Where is my parcel?", "", " ".join([BUMBLEBEE] * 4)])
    for result in results:
        assert set(result) == {"summary", "skipped", "reason"}
    long_one, short, empty, longer = results
    assert long_one["skipped"] is False and long_one["summary"]
    assert longer["skipped"] is False and longer["summary"]
    assert short == {
        "summary": "",
        "skipped": True,
        "reason": "short mail (4 words < 60)",
    }
    assert empty == {"summary": "", "skipped": True, "reason": "empty text"}


def test_summary_batch_equals_single(tiny_models):
    step = SummaryStep(tiny_models["summary"], min_words=3, max_new_tokens=6)
    texts = [BUMBLEBEE, GERMAN, "My parcel is late again, please help.", "Too short"]
    assert step(texts) == [step([text])[0] for text in texts]


def test_summary_min_length_never_exceeds_the_cap(tiny_models):
    step = SummaryStep(tiny_models["summary"], max_new_tokens=6)
    step._seq2seq.generation_config.min_length = 56  # as distilbart-cnn saves it
    try:
        assert step._length_kwargs() == {"min_length": 3}
    finally:
        step._seq2seq.generation_config.min_length = 0


# --- intent -----------------------------------------------------------------------


def test_intent_labels_come_from_the_configuration(tiny_models):
    labels = ("refund", "exchange", "wrong item", "other")
    step = IntentStep(tiny_models["intent"], labels=labels)
    texts = [BUMBLEBEE, "Refund please </s></s> now", "", GERMAN]
    results = step(texts, batch_size=3)
    for text, result in zip(texts, results, strict=True):
        assert set(result) == {"label", "score", "scores"}
        if not text.strip():
            assert result == {"label": None, "score": 0.0, "scores": {}}
            continue
        assert list(result["scores"]) == list(labels)
        assert result["label"] in labels
        assert result["score"] == max(result["scores"].values())
        assert sum(result["scores"].values()) == pytest.approx(1.0, abs=1e-5)
    single = [step([text])[0] for text in texts]
    for a, b in zip(results, single, strict=True):
        assert a["label"] == b["label"]
        assert a["scores"] == pytest.approx(b["scores"], abs=1e-5)


def test_intent_defaults_and_refuses_a_non_nli_model(tiny_models):
    assert "damaged" in DEFAULT_INTENT_LABELS and "other" in DEFAULT_INTENT_LABELS
    with pytest.raises(ValueError, match="entailment"):
        IntentStep(tiny_models["sentiment"])
    with pytest.raises(ValueError, match="at least one label"):
        IntentStep(tiny_models["intent"], labels=(" ",))


# --- answer (chat backend) ----------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "text", "span"),
    [
        ("an exchange of Megatron", BUMBLEBEE, (335, 358)),
        ('"An exchange of  Megatron."', BUMBLEBEE, (335, 358)),
        (
            "the return label for the Megatron",
            "received the return label for\nthe Megatron figure",
            (9, 42),
        ),
        ("a refund", BUMBLEBEE, None),
        ("", BUMBLEBEE, None),
        ("...", BUMBLEBEE, None),
    ],
)
def test_locate(answer, text, span):
    assert locate(answer, text) == span


def test_chat_answer_shape(tiny_models, monkeypatch):
    step = ChatAnswerStep(tiny_models["chat"], max_new_tokens=6)
    texts = [BUMBLEBEE, "", GERMAN]
    results = step(texts, batch_size=2)
    for text, result in zip(texts, results, strict=True):
        assert set(result) == {"question", "answer", "score", "start", "end"}
        assert result["score"] is None
        if result["start"] is None:
            assert result["end"] is None
        else:
            assert result["answer"] == text[result["start"] : result["end"]]
    assert results[1]["answer"] == "" and results[1]["start"] is None


def test_chat_answer_points_into_the_text_when_found(tiny_models, monkeypatch):
    from workers.nlp.generation import CausalGenerator

    replies = iter(["An exchange of Megatron.", "a new laptop"])
    monkeypatch.setattr(
        CausalGenerator,
        "complete",
        lambda self, chats, **kw: [next(replies) for _ in chats],
    )
    step = ChatAnswerStep(tiny_models["chat"])
    found, missing = step([BUMBLEBEE, GERMAN])
    assert (found["start"], found["end"]) == (335, 358)
    assert found["answer"] == "an exchange of Megatron"
    assert (missing["start"], missing["end"]) == (None, None)
    assert missing["answer"] == "a new laptop"

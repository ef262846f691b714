"""Cut the quoted history off a reply so the models read only what the customer wrote.

`strip_quoted(text)` always returns a *prefix* of `text` (right-stripped): entity and
answer offsets the models compute on it are then valid offsets into the stored
`Message.text_body`, which is what the dashboard highlights. That is why this is
written here rather than taken from PyPI: `mail-parser-reply` (MIT, maintained)
detects the same markers but returns re-normalised text (every line stripped,
separator lines removed), so offsets would drift; `quotequail` (MIT) keeps the text
unmodified but misses Outlook's bare "From:/Sent:" block and the German Outlook
header, and keeps the attribution line; `email-reply-parser` is English-only and
unmaintained since 2020; `talon` since 2017. Their test fixtures are scored against
this module in tests/triage/test_quoting_fixtures.py.

Recognised, in any order, the earliest one wins:
- a trailing block of "> " quoted lines (interleaved answers are kept);
- attribution lines, wrapped over up to four lines: "On ... wrote:" (Gmail, Apple
  Mail, Thunderbird; also "...<addr>wrote:" with no space), and the German, French,
  Dutch, Spanish, Italian, Portuguese, Polish, Finnish, Russian, Danish, Swedish,
  Norwegian, Japanese and Vietnamese forms; date-first headers
  ("2017-11-24 16:32 GMT+01:00 Name <addr>:"); "---- Name wrote ----" separators;
  an attribution sharing a line with the end of the reply ("Thanks On ... wrote:")
  when quoted lines follow;
- "-----Original Message-----", "-----Reply Message-----" and their variants in the
  languages above;
- Outlook's header block: "From:" followed within a few lines by "Sent:"/"Date:"/"To:"
  (or "Von:"/"Gesendet:", "De :"/"Envoyé le :", ...), or "Date:" followed by
  "From:"/"To:", with the "____" rule above it.
Forwarded messages are kept: what a customer forwards is usually the context.
"""

from __future__ import annotations

import re

# The verbs that end an attribution ("... wrote:"), in the languages we route.
_VERB = (
    r"(?:wrote|writes|sent|schrieb|a\s[ée]crit|schreef|geschreven|escribi[óo]"
    r"|ha\sscritto|escreveu|napisa[łl](?:\(a\)|a)?|pisze|kirjoitti|написал(?:\(а\)|а)?"  # noqa: RUF001
    r"|skrev|đã\sviết|書きました|のメッセージ)"
)
# A verb must start a word: "rewrote:" is not an attribution, "<a@b.c>wrote:" is.
_VERB_START = r"(?<![^\s>\"')\]])"
# Words that open a dated attribution: "On", "Am", "Le", "Op", "El", "Il", "Em",
# "W dniu", "Den", "På", "Vào", Danish "d.", a weekday/date that starts with a digit.
_OPENER = r"(?:On|Am|Le|Op|El|Il|Em|W\s+dniu|Den|P[åa]|V[àa]o|d\.|\d{1,4}(?=[./\s-]))"
_ATTRIBUTION = re.compile(
    rf"^\s*>?\s*(?:-{{2,}}\s*)?{_OPENER}\S*\s.{{0,300}}?{_VERB_START}{_VERB}"
    rf"(?:\s.{{0,200}}?)?\s?:\s*$",
    re.IGNORECASE,
)
# Any "... <verb> ...:" line that names an address and a date: Finnish Gmail
# ("ma 3.11.2025 klo 9.14 Support <s@x> kirjoitti:"), Russian, Japanese.
_DATED_ADDRESS_ATTRIBUTION = re.compile(
    rf"^\s*\S.{{0,300}}?(?=.*\d)(?=.*@).{{0,300}}?{_VERB_START}{_VERB}"
    rf"(?:\s.{{0,200}}?)?\s?:\s*$",
    re.IGNORECASE,
)
# "2017-11-24 16:32 GMT+01:00 Name <addr>:" (Gmail in several locales) and
# "2025年11月3日(月) 9:14 Name <addr>:" (Japanese Gmail).
_DATE_FIRST = re.compile(
    r"^\s*(?:\d{4}[-/.年]\s?\d{1,2}[-/.月]\s?\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})"
    r".{0,200}?[\w.+-]+@[\w-]+(?:\.[\w-]+)+>?\)?\s?(?P<colon>:)?\s*$"
)
# A date and time, then an address and a colon, no verb: Russian and other
# localised Gmail (a weekday, date and time in Cyrillic).
_TIMED_ADDRESS = re.compile(
    r"^\s*\S.{0,300}?\d{1,2}[:.]\d{2}.{0,200}?"
    r"<?[\w.+-]+@[\w-]+(?:\.[\w-]+)+>?\)?\s?:\s*$"
)
# "Bob <bob@example.com> wrote:" with no date: only trusted when quotes follow.
_BARE_ATTRIBUTION = re.compile(
    rf"^\s*\S.{{0,200}}?{_VERB_START}{_VERB}(?:\s.{{0,120}}?)?\s?:\s*$",
    re.IGNORECASE,
)
# "---- John Smith wrote ----", "------On 12/29/1987, Julius wrote-----".
_SEPARATOR_ATTRIBUTION = re.compile(
    rf"^\s*-{{2,}}\s*\S.{{0,300}}?{_VERB_START}{_VERB}\s*:?\s*-{{2,}}\s*$",
    re.IGNORECASE,
)
# "Thanks On Wed, Apr 4, 2012 at 3:59 PM, bob@example.com wrote:" (quotes follow).
_INLINE_ATTRIBUTION = re.compile(
    rf"[^\s>](?P<cut>\s*(?:-{{2,}}\s*)?(?-i:On)\s.{{1,300}}?{_VERB_START}wrote\s?:\s*)$",
    re.IGNORECASE,
)
_ORIGINAL_MESSAGE = re.compile(
    r"^\s*-{2,}\s*(?:Original\s?Message|Reply\s?Message|Urspr[üu]ngliche\s+Nachricht"
    r"|Original-?Nachricht|Antwort\s?Nachricht|Message\s+d'origine|Message\s+original"
    r"|Mensaje\s+original|Messaggio\s+originale|Mensagem\s+original"
    r"|Oorspronkelijk\s+bericht|Oprindelig\s+meddelelse|Ursprungligt\s+meddelande"
    r"|Opprinnelig\s+melding|Alkuper[äa]inen\s+viesti|Wiadomo[śs][ćc]\s+oryginalna"
    r"|Oryginalna\s+wiadomo[śs][ćc]|Исходное\s+сообщение|Пересылаемое\s+сообщение"
    r"|元のメッセージ|Thư\s+gốc)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_FORWARDED = re.compile(
    r"^\s*(?:-{2,}\s*(?:Forwarded\s+message|Weitergeleitete\s+Nachricht"
    r"|Message\s+transf[ée]r[ée]|Mensaje\s+reenviado|Messaggio\s+inoltrato"
    r"|Doorgestuurd\s+bericht|Videresendt\s+meddelelse|Vidarebefordrat\s+meddelande"
    r"|Mensagem\s+encaminhada|Wiadomo[śs][ćc]\s+przekazana|Välitetty\s+viesti)\s*-{2,}"
    r"|Begin\s+forwarded\s+message\s*:|Anfang\s+der\s+weitergeleiteten\s+Nachricht\s*:"
    r"|D[ée]but\s+du\s+message\s+r[ée]exp[ée]di[ée]\s*:)\s*$",
    re.IGNORECASE,
)
_FROM_FIELD = re.compile(
    r"^\s*\*?(?:From|Von|De|Van|Da|Från|Fra|Od|Lähettäjä|От|Remetente|差出人|Từ)"
    r"\s?:\*?\s*\S",
    re.I,
)
_SENT_FIELD = re.compile(
    r"^\s*\*?(?:Sent|Date|Gesendet|Datum|Envoy[ée]e?(?:\s+le)?|Verzonden|Inviato"
    r"|Enviad[oa](?:\s+em)?|Skickat|Sendt|Wys[łl]ano|Data|Lähetetty|Päivämäärä"
    r"|Отправлено|Дата|送信日時|Gửi\s+lúc|Ngày\s+gửi|Fecha)\s?:",
    re.IGNORECASE,
)
_TO_FIELD = re.compile(
    r"^\s*\*?(?:To|An|À|A|Aan|Till|Til|Do|Vastaanottaja|Кому|Para|宛先|Đến|Cc)\s?:",
    re.IGNORECASE,
)
_RULE = re.compile(r"^\s*(?:_{10,}|-{20,})\s*$")
_QUOTED = re.compile(r"^\s*>")
_STARTS_WITH_ON = re.compile(r"^\s*On\s.*\d")
# A wrapped attribution spans at most this many non-blank lines (Gmail wraps the
# address onto its own line, Polymail even splits "<" / "mailto:..." / "> wrote:");
# an Outlook block puts the second header field at most this many lines lower.
_WRAP_LINES = 4
_WRAP_SPAN = 6
_HEADER_LINES = 4


def strip_quoted(text: str) -> str:
    """The customer's own words: `text` up to the first quote marker, right-stripped.

    Returns the whole text (right-stripped) when it holds no marker, or when cutting
    would leave nothing, so the models never get an empty message for a reply that
    only quotes.
    """
    lines = text.splitlines(keepends=True)
    if not lines:
        return text
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    cut = _first_marker([line.rstrip("\r\n") for line in lines])
    if cut is None:
        return text.rstrip()
    index, column = cut
    head = text[: starts[index] + column].rstrip()
    return head if head else text.rstrip()


def _first_marker(bodies: list[str]) -> tuple[int, int] | None:
    """(line, column) where the quoted history starts, or None."""
    block = _first_block_marker(bodies)
    inline = _inline_attribution(bodies, len(bodies) if block is None else block[0])
    return inline if inline is not None else block


def _first_block_marker(bodies: list[str]) -> tuple[int, int] | None:
    attributions = _Attributions(bodies)
    # A marker only counts below the customer's first own line: not blank, not
    # quoted, not part of an attribution.
    first_own = next(
        (
            i
            for i, line in enumerate(bodies)
            if line.strip()
            and not _QUOTED.match(line)
            and attributions.start(i) is None
        ),
        None,
    )
    if first_own is None:
        return None
    trailing = _trailing_quote_block(bodies, first_own)
    for i in range(first_own + 1, len(bodies)):
        line = bodies[i]
        if trailing is not None and i >= trailing:
            return trailing, 0
        if not line.strip():
            continue
        if _FORWARDED.match(line):
            return None  # everything below is forwarded context: keep it
        if (
            _ORIGINAL_MESSAGE.match(line)
            or _SEPARATOR_ATTRIBUTION.match(line)
            or attributions.start(i) == i
        ):
            return i, 0
        if _is_header_block(bodies, i):
            return _with_rule_above(bodies, i, first_own), 0
    return None if trailing is None else (trailing, 0)


def _inline_attribution(bodies: list[str], stop: int) -> tuple[int, int] | None:
    """The reply's last words and "On ... wrote:" on one line, quotes below."""
    for i in range(min(stop + 1, len(bodies))):
        line = bodies[i]
        if "wrote" not in line.lower() or _QUOTED.match(line):
            continue  # cheap filter before the regexes
        if _ATTRIBUTION.match(line):
            continue  # the whole line is the attribution: not a shared line
        match = _INLINE_ATTRIBUTION.search(line)
        if match and _quote_follows(bodies, i + 1):
            return i, match.start("cut")
    return None


class _Attributions:
    """Which attribution (wrapped over several lines) a line belongs to, computed
    lazily: the scan stops at the first marker, so a long quoted history below it
    is never run through the attribution patterns.

    When two windows end on the same line, the later-starting one wins if it is the
    more specific match ("On <date> ... wrote:" over a bare "... wrote:"), so a
    one-line reply right above "On ... wrote:" is never taken into the attribution
    while a wrapped Gmail header is still taken whole.
    """

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self._ends: dict[int, tuple[int, int]] = {}

    def _end(self, index: int) -> tuple[int, int]:
        if index not in self._ends:
            self._ends[index] = _attribution_end(self.lines, index)
        return self._ends[index]

    def _wins(self, index: int) -> bool:
        end, rank = self._end(index)
        if not end:
            return False
        return not any(
            self._end(j)[0] == end and self._end(j)[1] > rank
            for j in range(index + 1, end)
        )

    def start(self, index: int) -> int | None:
        """First line of the attribution holding line `index`, if any."""
        for k in range(max(0, index - _WRAP_SPAN + 1), index + 1):
            if self._end(k)[0] > index and self._wins(k) and not self._covered(k):
                return k
        return None

    def _covered(self, index: int) -> bool:
        # A window that starts inside an earlier, winning attribution is part of it.
        return any(
            self._end(k)[0] > index and self._wins(k)
            for k in range(max(0, index - _WRAP_SPAN + 1), index)
        )


def _attribution_end(lines: list[str], index: int) -> tuple[int, int]:
    """(one past the attribution starting at `index`, how specific; (0, 0): none)."""
    first = lines[index]
    if not first.strip():
        return 0, 0
    spans_blanks = bool(_STARTS_WITH_ON.match(first))
    window = ""
    taken = 0
    for i in range(index, min(len(lines), index + _WRAP_SPAN)):
        line = lines[i].strip()
        if not line:
            if spans_blanks:
                continue
            break  # a wrapped attribution never spans a blank line (but Polymail's)
        if taken and _QUOTED.match(lines[i]) and not line.lstrip(">").strip():
            break
        window = f"{window} {line}".strip()
        taken += 1
        rank = _rank(window, lines, i + 1)
        if rank:
            return i + 1, rank
        if taken >= _WRAP_LINES:
            break
    return 0, 0


def _rank(window: str, lines: list[str], after: int) -> int:
    """0: no attribution; 1: bare, above quotes; 2: dated with an address; 3: opener."""
    if window.endswith(":"):
        if _ATTRIBUTION.match(window) or _DATE_FIRST.match(window):
            return 3
        if _DATED_ADDRESS_ATTRIBUTION.match(window) or _TIMED_ADDRESS.match(window):
            return 2
        return int(
            bool(_BARE_ATTRIBUTION.match(window)) and _quote_follows(lines, after)
        )
    # "2011/4/7 Nathan <support@example.com>" with no colon: only above quotes.
    return int(bool(_DATE_FIRST.match(window)) and _quote_follows(lines, after))


def _quote_follows(lines: list[str], index: int) -> bool:
    for line in lines[index:]:
        if line.strip():
            return bool(_QUOTED.match(line))
    return False


def _is_header_block(lines: list[str], index: int) -> bool:
    """A forwarded/quoted header block: two header fields within a few lines."""
    line = lines[index]
    following = lines[index + 1 : index + 1 + _HEADER_LINES]
    if _FROM_FIELD.match(line):
        return any(_SENT_FIELD.match(f) or _TO_FIELD.match(f) for f in following)
    if _SENT_FIELD.match(line):
        return any(_FROM_FIELD.match(f) or _TO_FIELD.match(f) for f in following)
    return False


def _with_rule_above(lines: list[str], index: int, first_own: int) -> int:
    above = index - 1
    while above > first_own and not lines[above].strip():
        above -= 1
    if above > first_own and _RULE.match(lines[above]):
        return above
    return index


def _trailing_quote_block(lines: list[str], first_own: int) -> int | None:
    """First line of the run of quoted/blank lines that ends the text, if any."""
    start = None
    for i in range(len(lines) - 1, first_own, -1):
        line = lines[i]
        if not line.strip():
            continue
        if _QUOTED.match(line):
            start = i
            continue
        break
    return start

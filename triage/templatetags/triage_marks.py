"""How a highlighted span of email text tells what it is without colour.

Each `<mark>` carries its type in words twice: in `title` for a pointer, and in
`data-sr-before`/`data-sr-after`, which dashboard.css prints through visually
hidden ::before/::after content. Generated content is read by screen readers
but is not part of the text, so copying the customer's words copies no labels.
Where the answer overlaps an entity both names are kept.
"""

from __future__ import annotations

from django import template
from django.utils.html import format_html_join
from django.utils.safestring import SafeString
from django.utils.text import slugify

from triage.selectors import Segment

register = template.Library()

# The CoNLL-03 types the NER models print, in words an agent knows.
ENTITY_KINDS = {
    "PER": "person",
    "ORG": "organisation",
    "LOC": "place",
    "GPE": "place",
    "MISC": "other name",
}
ANSWER = "what the customer wants"


@register.filter
def entity_kind(label: str) -> str:
    """`ORG` -> "organisation"; an unknown label is shown as it is."""
    label = str(label)
    return ENTITY_KINDS.get(label.upper(), label)


def entity_class(label: str) -> str:
    return f"ent-{slugify(label).upper()}"


@register.simple_tag
def mark_attrs(seg: Segment) -> SafeString:
    """The class, title and hidden words of one highlighted segment (escaped)."""
    classes, names, before, after = [], [], [], []
    if seg.entity:
        kind = entity_kind(seg.entity)
        classes += ["ent", entity_class(seg.entity)]
        names.append(kind if kind == seg.entity else f"{kind} ({seg.entity})")
        if seg.entity_ends:
            after.append(kind)
    if seg.answer:
        classes.append("answer")
        names.append(ANSWER)
        if seg.answer_starts:
            before.append(f"{ANSWER}: ")
        if seg.answer_ends:
            after.append(f"end of {ANSWER}")
    attrs = [("class", " ".join(classes)), ("title", " · ".join(names))]
    if before:
        attrs.append(("data-sr-before", "".join(before)))
    if after:
        attrs.append(("data-sr-after", f" ({'; '.join(after)})"))
    return format_html_join(" ", '{}="{}"', attrs)

"""Highlight marks name their type in words, once per span, keeping both names."""

from __future__ import annotations

from django.template import Context, Template

from triage.selectors import highlight_segments
from triage.templatetags.triage_marks import entity_kind, mark_attrs

TEXT = "Dear Amazon, I want an exchange of Megatron, says Bumblebee."


def render(segments) -> str:
    template = Template('{% include "admin/triage/ticket/_segments.html" %}')
    return template.render(Context({"segments": segments}))


def test_segments_know_where_each_span_starts_and_ends():
    entities = [
        {"label": "ORG", "start": 5, "end": 11},
        {"label": "MISC", "start": 35, "end": 43},
    ]
    # The answer ends where the entity "Megatron" ends: one mark carries both.
    segments = highlight_segments(TEXT, entities, {"start": 20, "end": 43})
    flags = {
        s.text: (s.entity_starts, s.entity_ends, s.answer_starts, s.answer_ends)
        for s in segments
        if s.entity or s.answer
    }
    assert flags == {
        "Amazon": (True, True, False, False),
        "an exchange of ": (False, False, True, False),
        "Megatron": (True, True, False, True),
    }


def test_an_entity_cut_by_the_answer_is_named_once():
    entities = [{"label": "PER", "start": 50, "end": 59}]  # "Bumblebee"
    segments = highlight_segments(TEXT, entities, {"start": 45, "end": 54})
    html = render(segments)
    assert html.count("(person)") == 1
    assert 'data-sr-before="what the customer wants: "' in html
    assert html.count("end of what the customer wants") == 1
    # The words sit in attributes (printed by CSS), never in the text itself.
    assert "".join(s.text for s in segments) == TEXT
    assert ">Bumb</mark><mark" in html


def test_overlap_keeps_both_names_and_unknown_labels_are_escaped():
    segments = highlight_segments(
        TEXT,
        [
            {"label": "MISC", "start": 35, "end": 43},
            {"label": '<b onclick="x">', "start": 0, "end": 4},
        ],
        {"start": 20, "end": 43},
    )
    megatron = next(s for s in segments if s.text == "Megatron")
    attrs = mark_attrs(megatron)
    assert 'class="ent ent-MISC answer"' in attrs
    assert 'title="other name (MISC) · what the customer wants"' in attrs
    assert 'data-sr-after=" (other name; end of what the customer wants)"' in attrs
    html = render(segments)
    assert "<b onclick" not in html and "&lt;b onclick=&quot;x&quot;&gt;" in html
    assert entity_kind("gpe") == "place" and entity_kind("EVENT") == "EVENT"

"""The overview's analysis speed: per step, from the ms each Analysis row records."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from tests.factories import MessageFactory
from triage.admin_views import seconds_label
from triage.models import UNTRIAGED, Analysis, Message
from triage.selectors import pipeline_speed
from triage.selectors.pipeline_speed import overview_pipeline_speed

pytestmark = pytest.mark.django_db


def analysis(step: str, ms: float, *, days_ago: float = 0.1, **fields) -> Analysis:
    return Analysis.objects.create(
        message=MessageFactory(),
        step=step,
        duration_ms=ms,
        created_at=timezone.now() - timedelta(days=days_ago),
        **fields,
    )


@pytest.fixture
def week():
    for ms in (10.0, 20.0, 30.0, 40.0):
        analysis("draft", ms)
    analysis("draft", 50.0, error="RuntimeError: out of memory")  # timed too
    analysis("draft", 9000.0, days_ago=8)  # before the window
    for ms in (4.0, 6.0):
        analysis("sentiment", ms)
    # No model reads the mail's language: no time, left out of the figures.
    analysis("sentiment", 0.0, not_analysed="no model reads Polish here")
    analysis("answer", 0.0, not_analysed="no model reads Polish here")
    analysis("keywords", 2.0)  # a step added as a file


def test_each_step_in_pipeline_order_with_its_median_p95_and_share(week):
    speed = overview_pipeline_speed(days=7)
    by_step = {row["step"]: row for row in speed["rows"]}
    # "answer" took no time anywhere: no row rather than a 0 ms median.
    assert [row["step"] for row in speed["rows"]] == ["sentiment", "draft", "keywords"]
    draft = by_step["draft"]
    assert draft["timed"] == 5
    assert draft["median_ms"] == pytest.approx(30.0)
    # percentile_cont(0.95) of 10..50: 40 + 0.8 * (50 - 40).
    assert draft["p95_ms"] == pytest.approx(48.0)
    sentiment = by_step["sentiment"]
    assert sentiment["timed"] == 2
    assert sentiment["median_ms"] == pytest.approx(5.0)  # not pulled to 0
    assert by_step["keywords"]["label"] == "keywords"
    assert by_step["draft"]["label"] == "Reply draft"
    assert speed["total_ms"] == pytest.approx(150.0 + 10.0 + 2.0)
    assert draft["share"] == pytest.approx(150.0 / 162.0)
    assert sum(row["share"] for row in speed["rows"]) == pytest.approx(1.0)


def test_only_the_newest_rows_are_read(week):
    """However busy the desk, the figures come from the newest ``limit`` rows."""
    for ms in (100.0, 300.0):
        analysis("draft", ms, days_ago=0.01)
    rows = overview_pipeline_speed(days=7, limit=2)["rows"]
    assert [(r["step"], r["timed"], r["median_ms"]) for r in rows] == [
        ("draft", 2, 200.0)
    ]


def test_postgresql_and_python_give_the_same_figures(week):
    """PostgreSQL computes them in one query; SQLite runs read the rows instead.
    Both on the same rows: the same numbers."""
    if connection.vendor != "postgresql":
        pytest.skip("the SQL path is PostgreSQL's")
    since = timezone.now() - timedelta(days=7)
    for limit in (3, 100):
        in_sql = pipeline_speed._speed_sql(since, limit)
        in_python = pipeline_speed._speed_python(since, limit)
        assert in_sql.keys() == in_python.keys()
        for step, row in in_sql.items():
            assert row == pytest.approx(in_python[step]), (limit, step)
    assert in_sql.keys() == {"draft", "sentiment", "keywords"}


def test_the_overview_shows_it(admin_client, week):
    page = admin_client.get(reverse("triage_overview")).content.decode()
    section = page[page.index('id="chart-speed"') :]
    assert "<title>Reply draft: 30 median ms per email </title>" in section
    table = section[section.index('id="speed-table"') :]
    assert '<td>Reply draft</td><td class="tr-num">5</td>' in table
    assert '<td class="tr-num">48</td>' in table  # the draft's 95th percentile
    assert '<td class="tr-num">93 %</td>' in table  # its share of the time


def test_no_timed_analysis_yet(admin_client):
    analysis("draft", 0.0)  # written without a time (an import, an old row)
    page = admin_client.get(reverse("triage_overview")).content.decode()
    assert "No analysis with a recorded time in this period." in page


def mail(arrived_min_ago: float, analysed_min_ago: float | None, **fields):
    now = timezone.now()
    analysed = analysed_min_ago is not None
    fields.setdefault("triage_status", "triaged" if analysed else "received")
    return MessageFactory(
        received_at=now - timedelta(minutes=arrived_min_ago),
        triaged_at=now - timedelta(minutes=analysed_min_ago) if analysed else None,
        **fields,
    )


def test_arrival_to_analysis_and_mail_waiting_now():
    for waited_s in (10, 20, 30, 40, 50):
        mail(10 + waited_s / 60, 10)
    mail(60 * 24 * 9, 60 * 24 * 8)  # analysed before the window
    mail(30, None)  # waiting for half an hour
    mail(2, None)
    mail(5, None, direction="outbound", triage_status="triaged")  # our reply
    latency = overview_pipeline_speed(days=7)["latency"]
    assert latency["timed"] == 5
    assert latency["median_s"] == pytest.approx(30.0, abs=0.01)
    assert latency["p95_s"] == pytest.approx(48.0, abs=0.01)
    assert latency["waiting"] == 2
    assert latency["oldest_waiting_s"] == pytest.approx(30 * 60, abs=5)


def test_latency_from_the_newest_mails_only():
    mail(60, 59)  # waited a minute, an hour ago
    mail(3, 1)  # waited two minutes, a minute ago
    latency = pipeline_speed.triage_latency(days=7, limit=1)
    assert (latency["timed"], latency["median_s"]) == (
        1,
        pytest.approx(120.0, abs=0.01),
    )


def test_the_overview_says_how_long_mail_waits(admin_client, settings):
    settings.TRIAGE_OVERVIEW_CACHE_SECONDS = 0
    page = admin_client.get(reverse("triage_overview")).content.decode()
    assert "No mail analysed in this period." in page
    assert "<strong>0</strong> mails waiting for analysis now" in page
    mail(12, 10)
    mail(125, None)
    page = admin_client.get(reverse("triage_overview")).content.decode()
    assert "<strong>2 min</strong> median from arrival to analysis" in page
    assert "<strong>1</strong> mail waiting for analysis now" in page
    assert "(the oldest for 2.1 h)" in page


@pytest.mark.parametrize(
    ("seconds", "label"),
    [(None, ""), (0.42, "0.4 s"), (12.4, "12 s"), (120, "2 min"), (7560, "2.1 h")],
)
def test_seconds_label(seconds, label):
    assert seconds_label(seconds) == label


def test_untriaged_names_the_statuses_of_mail_waiting():
    """The partial index's statuses are spelled out (a Meta cannot see the
    model's enum): they must stay those of the model."""
    assert set(UNTRIAGED) == {
        Message.TriageStatus.RECEIVED,
        Message.TriageStatus.TRIAGING,
    }
    assert set(Message.TriageStatus) - set(UNTRIAGED) == {
        Message.TriageStatus.TRIAGED,
        Message.TriageStatus.FAILED,
    }

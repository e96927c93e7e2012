"""The overview page: counts per status linking to the filtered list, the 30-day SVG chart (with its
text alternative), and the latest changes; plus the chart's geometry."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from dashboard.api_types import DayStats
from dashboard.charts import daily_chart, nice_step
from tests.factories import make_order

OVERVIEW = "/stores/acme/"


@pytest.fixture
def orders(store):
    now = timezone.now()
    made = [make_order(store, status="pending", created_at=now - timedelta(hours=1)) for _ in range(3)]
    made += [make_order(store, status="shipped", created_at=now - timedelta(days=2)) for _ in range(2)]
    made.append(
        make_order(store, status="delivered", created_at=now - timedelta(days=40))
    )  # outside the chart
    return made


def test_counts_per_status_each_link_to_the_filtered_list(viewer_client, orders):
    html = viewer_client.get(OVERVIEW).content.decode()
    for status, count in {"pending": 3, "shipped": 2, "delivered": 1, "cancelled": 0}.items():
        link = re.search(
            rf'<a class="status-count" href="/stores/acme/orders/\?status={status}"[^>]*>\s*'
            rf'<span class="status-count-number">(\d+)</span>',
            html,
        )
        assert link, status
        assert int(link.group(1)) == count, status


def test_chart_has_thirty_days_with_a_text_alternative(viewer_client, orders):
    html = viewer_client.get(OVERVIEW).content.decode()
    bars = re.findall(r'<rect class="chart-bar"[^>]*data-date="([\d-]+)" data-count="(\d+)"', html)
    assert len(bars) == 30
    assert bars[-1][0] == timezone.localdate().isoformat()  # the store is in UTC
    assert sum(int(count) for _, count in bars) == 5  # the 40-day-old order is outside
    assert 'role="img" aria-labelledby="chart-title chart-desc"' in html
    assert re.search(r'<title id="chart-title">Orders and revenue per day, last 30 days</title>', html)
    assert re.search(r'<desc id="chart-desc">From .*: 5 orders, revenue [\d,.]+ USD\.', html)
    table = re.search(r'<table class="visually-hidden">.*?</table>', html, re.S).group(0)
    assert len(re.findall(r'<th scope="row">', table)) == 30


def test_latest_ten_changes_are_listed_newest_first(viewer_client, store):
    # given 12 orders, each with its creation entry, an hour apart
    now = timezone.now()
    made = [make_order(store, created_at=now - timedelta(hours=12 - i)) for i in range(12)]
    # when
    html = viewer_client.get(OVERVIEW).content.decode()
    # then
    feed = re.search(r'<ol class="feed">.*?</ol>', html, re.S).group(0)
    numbers = re.findall(r'class="order-link"[^>]*>(ORD-\d+)<', feed)
    assert numbers == [o.display_number for o in reversed(made)][:10]


def test_overview_is_the_store_landing_page_in_the_nav(viewer_client, orders):
    html = viewer_client.get(OVERVIEW).content.decode()
    assert 'href="/stores/acme/" aria-current="page">Overview</a>' in html
    assert 'href="/stores/acme/audit/"' in html
    assert "/stores/acme/webhooks/" not in html  # viewers do not manage webhooks


def test_user_text_in_the_feed_is_escaped(viewer_client, api, store):
    order = make_order(store, status="confirmed")
    api.put_json(
        f"/api/v1/orders/{order.id}/status", {"status": "processing", "note": "<script>alert(1)</script>"}
    )
    html = viewer_client.get(OVERVIEW).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_nice_steps_are_round_numbers():
    assert nice_step(0) == 1
    assert nice_step(7) == 2
    assert nice_step(100) == 50
    assert nice_step(1234.5) == 500


def test_chart_geometry_scales_bars_and_line_to_the_axes():
    # given
    days = [DayStats(date=f"2024-05-{d:02d}", count=d % 5, revenue=Decimal(d * 10)) for d in range(1, 31)]
    # when
    chart = daily_chart(days, "EUR")
    # then
    assert len(chart.bars) == 30
    tallest = max(chart.bars, key=lambda b: b.height)
    assert tallest.count == 4
    assert tallest.y == chart.plot_top  # max count 4 is the axis top (step 1)
    assert all(b.height == 0 for b in chart.bars if b.count == 0)
    assert chart.count_ticks[-1].label == "4"
    assert len(chart.revenue_points.split()) == 30
    assert chart.day_labels[-1].label == "May 30"
    assert "Busiest day May 29 with 4 orders" in chart.description

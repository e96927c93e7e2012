"""The overview's "orders and revenue per day" chart, drawn on the server as SVG (no chart library, no
CDN, nothing for the CSP to allow).

`daily_chart()` does the geometry: bars for the order count (left axis) and a line for revenue (right
axis), with round-number ticks. The template `dashboard/overview/_daily_chart.html` draws it, so every
label goes through the template engine's escaping. Accessibility: the SVG is `role="img"` labelled by
its `<title>` and `<desc>` (a one-sentence summary), and the template adds the same figures as a
visually hidden table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from dashboard.api_types import DayStats

WIDTH, HEIGHT = 760, 260
# Room for the axis labels: left (counts), right (revenue), bottom (dates).
LEFT, RIGHT, TOP, BOTTOM = 44, 64, 16, 32
TICKS = 4


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    day: date
    count: int
    revenue: Decimal


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class DayLabel:
    x: float
    label: str


@dataclass(frozen=True)
class DailyChart:
    width: int
    height: int
    plot_left: int
    plot_right: int
    plot_top: int
    plot_bottom: int
    bars: list[Bar]
    revenue_points: str  # SVG polyline "x,y x,y …"
    count_ticks: list[Tick]
    revenue_ticks: list[Tick]
    day_labels: list[DayLabel]
    currency: str
    title: str
    description: str

    @property
    def days(self) -> int:
        return len(self.bars)


def nice_step(maximum: float, ticks: int = TICKS) -> float:
    """The smallest 1, 2 or 5 × 10^n step that covers `maximum` in at most `ticks` steps."""
    if maximum <= 0:
        return 1
    raw = maximum / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= raw:
            return factor * magnitude
    return 10 * magnitude  # pragma: no cover - the loop always returns


def _money_label(value: float, currency: str) -> str:
    if value >= 10_000:
        return f"{value / 1000:,.0f}k"
    return f"{value:,.0f}"


def daily_chart(days: list[DayStats], currency: str) -> DailyChart:
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    bottom = TOP + plot_h
    counts = [d.count for d in days]
    revenues = [float(d.revenue) for d in days]
    count_step = max(1, math.ceil(nice_step(max(counts, default=0))))
    count_top = count_step * max(1, math.ceil(max(counts, default=0) / count_step))
    revenue_step = nice_step(max(revenues, default=0.0))
    revenue_top = revenue_step * max(1, math.ceil(max(revenues, default=0.0) / revenue_step))
    slot = plot_w / max(1, len(days))
    bar_w = max(2.0, slot * 0.62)

    bars, points = [], []
    for i, day in enumerate(days):
        height = plot_h * day.count / count_top
        centre = LEFT + slot * i + slot / 2
        bars.append(
            Bar(
                x=round(centre - bar_w / 2, 1),
                y=round(bottom - height, 1),
                width=round(bar_w, 1),
                height=round(height, 1),
                day=date.fromisoformat(day.date),
                count=day.count,
                revenue=day.revenue,
            )
        )
        points.append(f"{centre:.1f},{bottom - plot_h * float(day.revenue) / revenue_top:.1f}")

    count_ticks = [
        Tick(y=round(bottom - plot_h * n / count_top, 1), label=f"{n:,}")
        for n in range(0, count_top + 1, count_step)
    ]
    revenue_ticks = [
        Tick(
            y=round(bottom - plot_h * (k * revenue_step) / revenue_top, 1),
            label=_money_label(k * revenue_step, currency),
        )
        for k in range(round(revenue_top / revenue_step) + 1)
    ]
    # A date under every 7th bar (and the last), counted back from today so the newest day is labelled.
    day_labels = [
        DayLabel(x=round(bar.x + bar.width / 2, 1), label=bar.day.strftime("%b %-d"))
        for i, bar in enumerate(bars)
        if (len(bars) - 1 - i) % 7 == 0
    ]
    return DailyChart(
        width=WIDTH,
        height=HEIGHT,
        plot_left=LEFT,
        plot_right=WIDTH - RIGHT,
        plot_top=TOP,
        plot_bottom=bottom,
        bars=bars,
        revenue_points=" ".join(points),
        count_ticks=count_ticks,
        revenue_ticks=revenue_ticks,
        day_labels=day_labels,
        currency=currency,
        title=f"Orders and revenue per day, last {len(days)} days",
        description=_describe(days, currency),
    )


def _describe(days: list[DayStats], currency: str) -> str:
    """One sentence a screen reader can read instead of looking at the bars."""
    if not days:
        return "No days to show."
    total = sum(d.count for d in days)
    revenue = sum((d.revenue for d in days), Decimal("0"))
    busiest = max(days, key=lambda d: (d.count, d.date))
    first, last = date.fromisoformat(days[0].date), date.fromisoformat(days[-1].date)
    text = f"From {first:%b %-d} to {last:%b %-d, %Y}: {total:,} orders, revenue {revenue:,.2f} {currency}."
    if busiest.count:
        text += f" Busiest day {date.fromisoformat(busiest.date):%b %-d} with {busiest.count:,} orders."
    return text

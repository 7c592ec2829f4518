"""Charts of the statistics as PNG pictures: requests per region (bars), requests and deeds per day
(lines), the ratings' distribution (bars). Knows nothing of Telegram or of translations: titles,
labels and names come in already in the reader's language.

matplotlib's object API (`Figure`, the Agg canvas), never pyplot: no global state, no GUI backend,
and a figure is freed with its last reference. Rendering takes a CPU for a tenth of a second or so,
holding the GIL, so the bot calls these in worker processes (`chart_pool.py`); the lock keeps two
renderings in one process's threads from sharing matplotlib's caches at once. matplotlib is
imported by the first drawing, so the bot's own process, which only plans the charts, never loads it
(~30 MB).
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DPI = 110
WIDTH = 8.0  # inches: about 880 pixels, legible on a phone
BAR_COLOR = "#1f77b4"
LINE_COLORS = ("#1f77b4", "#2ca02c", "#d62728", "#9467bd")
STAR_COLORS = ("#d62728", "#ff7f0e", "#bcbd22", "#8fbc3f", "#2ca02c")

_lock = threading.Lock()


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _png(figure: Figure) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    canvas = FigureCanvasAgg(figure)
    figure.get_layout_engine().set(w_pad=0.12, h_pad=0.12)  # a margin round the constrained layout, in inches
    figure.set_dpi(DPI)
    # One draw, the layout included, then the pixels encoded: `savefig` would lay the figure out
    # in a draw of its own first, measuring every text twice (the same picture, ~10 ms more).
    canvas.draw()
    pixels = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    buffer = io.BytesIO()
    # Opaque, so RGB; zlib's fastest level: ~10 ms less a chart for ~10% more bytes (Telegram
    # recompresses a photo anyway).
    pixels.convert("RGB").save(buffer, format="png", compress_level=1)
    return buffer.getvalue()


def warm_up() -> None:
    """Load matplotlib and draw a small chart, throwing it away: the imports, the font cache and the
    text engine's first use, ~0.3-0.5 s, are then not paid by the first chart someone waits for."""
    ratings([1, 2, 3, 4, 5], ["1", "2", "3", "4", "5"], "Қазақстан\nСтатистика", "★", "N")


def _style(axes, title: str) -> None:
    axes.set_title(title, fontsize=13, loc="left")
    axes.spines[["top", "right"]].set_visible(False)
    axes.grid(axis="both", alpha=0.25)
    axes.set_axisbelow(True)


def tickets_per_region(bars: Sequence[tuple[str, int, str]], title: str) -> bytes:
    """Horizontal bars, one per region (name, count, the count as the reader writes numbers), in the
    order given, the first on top, each labelled with its count: no value axis, which would say the same again (and its ticks cost a
    sixth of the chart's drawing, the slowest of the report's)."""
    with _lock:
        figure = _figure(WIDTH, max(3.0, 1.5 + 0.38 * len(bars)))
        axes = figure.add_subplot()
        names = [name for name, _, _ in bars]
        counts = [count for _, count, _ in bars]
        positions = range(len(bars))
        drawn = axes.barh(positions, counts, color=BAR_COLOR)
        axes.bar_label(drawn, labels=[shown for _, _, shown in bars], padding=3, fontsize=9)
        axes.set_yticks(list(positions), names)
        axes.invert_yaxis()
        axes.margins(x=0.1)
        _style(axes, title)
        axes.xaxis.set_visible(False)
        axes.spines["bottom"].set_visible(False)
        axes.grid(visible=False)
        return _png(figure)


def per_day(days: Sequence[date], series: Sequence[tuple[str, Sequence[int]]], title: str, value_label: str) -> bytes:
    """Lines over the days, one per series (label, a count for each day)."""
    with _lock:
        from matplotlib.dates import AutoDateLocator, DateFormatter, DayLocator
        from matplotlib.ticker import MaxNLocator

        figure = _figure(WIDTH, 4.5)
        axes = figure.add_subplot()
        marker = "o" if len(days) <= 45 else None
        for (label, counts), color in zip(series, LINE_COLORS, strict=False):
            axes.plot(list(days), list(counts), label=label, color=color, marker=marker, markersize=4, linewidth=2)
        if len(days) <= 31:  # a tick a day, or every few days: no tick between two days
            axes.xaxis.set_major_locator(DayLocator(interval=-(-len(days) // 10)))
        else:
            axes.xaxis.set_major_locator(AutoDateLocator(minticks=3, maxticks=10))
        half_day = timedelta(hours=12)
        axes.set_xlim(datetime.combine(days[0], time(0)) - half_day, datetime.combine(days[-1], time(0)) + half_day)
        # Numbers, not month names: the same in every language.
        axes.xaxis.set_major_formatter(DateFormatter("%d.%m" if len({d.year for d in days}) == 1 else "%d.%m.%y"))
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_ylim(bottom=0)
        axes.set_ylabel(value_label)
        axes.legend(loc="best", frameon=False)
        _style(axes, title)
        return _png(figure)


def ratings(distribution: Sequence[int], shown: Sequence[str], title: str, stars_label: str, value_label: str) -> bytes:
    """Bars of how many ratings gave 1, 2, 3, 4 and 5 stars (`shown`: each count as the reader
    writes numbers)."""
    with _lock:
        from matplotlib.ticker import MaxNLocator

        figure = _figure(WIDTH * 0.75, 4.0)
        axes = figure.add_subplot()
        drawn = axes.bar([f"{n} ★" for n in range(1, 6)], list(distribution), color=STAR_COLORS)
        axes.bar_label(drawn, labels=list(shown), padding=3, fontsize=9)
        axes.set_xlabel(stars_label)
        axes.set_ylabel(value_label)
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.margins(y=0.12)
        _style(axes, title)
        axes.grid(axis="x", visible=False)
        return _png(figure)

"""Digest charts: matplotlib (Agg) with a CJK font found on the machine, rendered off the event loop.

Without a CJK font the Chinese labels would come out as boxes, so no chart is drawn at all (the
digest stays text-only) and one log line says why.
"""

from __future__ import annotations

import asyncio
import io
import logging
import threading
from collections.abc import Sequence
from functools import cache

log = logging.getLogger(__name__)

# Families tried in order; any font that declares Chinese coverage is the fallback.
PREFERRED_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Noto Serif CJK SC",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
)
# matplotlib's pyplot state is global; the object API with one lock keeps threads apart.
_lock = threading.Lock()


@cache
def cjk_font_path() -> str | None:
    """Path of a font that can draw Chinese, or None; which one is logged once.

    matplotlib lists the fonts it found when it built its cache; a CJK font installed after that
    (`apt-get install fonts-noto-cjk` on a machine that already drew a chart) is not in the list.
    When the list has none, the system's font files that are not in it yet are added and the
    search is repeated, so no cache needs deleting by hand."""
    from matplotlib import font_manager

    found = _find_cjk(font_manager.fontManager.ttflist)
    if found is None:
        added = _add_new_system_fonts(font_manager)
        if added:
            found = _find_cjk(font_manager.fontManager.ttflist)
            if found is not None:
                log.info("a CJK font installed after matplotlib's font cache was built was picked up")
    if found is None:
        log.warning("no CJK font found; digests are sent without a chart (install fonts-noto-cjk)")
        return None
    name, path = found
    log.info("charts use the font %s (%s)", name, path)
    return path


def _find_cjk(fonts: Sequence[object]) -> tuple[str, str] | None:
    entries = [(str(getattr(f, "name", "")), str(getattr(f, "fname", ""))) for f in fonts]
    for family in PREFERRED_FONTS:
        for name, path in entries:
            if name == family:
                return name, path
    for name, path in entries:
        if any(tag in name for tag in ("CJK", "Hei", "Han Sans", "Song", "Kai")):
            return name, path
    return None


def _add_new_system_fonts(font_manager: object) -> int:
    """Add to matplotlib's font list the system font files it does not know yet; how many."""
    manager = font_manager.fontManager  # type: ignore[attr-defined]
    known = {str(entry.fname) for entry in manager.ttflist}
    added = 0
    for path in font_manager.findSystemFonts():  # type: ignore[attr-defined]
        if path in known:
            continue
        try:
            manager.addfont(path)
            added += 1
        except Exception:  # a broken font file: matplotlib skips those too
            log.debug("font file %s could not be read", path)
    return added


def bar_chart_png(
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
) -> bytes | None:
    """Horizontal grouped bars, one group per label and one bar per series; None without a CJK font."""
    path = cjk_font_path()
    if path is None or not labels:
        return None
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager
    from matplotlib.figure import Figure

    font = font_manager.FontProperties(fname=path)
    small = font_manager.FontProperties(fname=path, size=8)
    # Names are drawn as written: "$" in an org or member name is no math text.
    with _lock, matplotlib.rc_context({"text.parse_math": False, "text.usetex": False}):
        rows = len(labels) * max(1, len(series))
        height = 1.4 + 0.22 * rows
        fig = Figure(figsize=(7, height), dpi=100)
        # fixed margins: tight_layout would lay the text out twice more
        fig.subplots_adjust(left=0.17, right=0.96, top=1 - 0.55 / height, bottom=0.6 / height)
        ax = fig.add_subplot()
        bar = 0.8 / max(1, len(series))
        colors = ("#c0392b", "#bdc3c7", "#2c3e50")
        for i, (name, values) in enumerate(series):
            # the first series on top of each group (the y axis is inverted below)
            positions = [n - 0.4 + bar * (i + 0.5) for n in range(len(labels))]
            bars = ax.barh(positions, values, height=bar, label=name, color=colors[i % len(colors)])
            ax.bar_label(bars, fmt="%g", padding=2, fontsize=8)
        ax.set_yticks(range(len(labels)))
        ax.set_yticklabels(labels, fontproperties=font)
        ax.invert_yaxis()
        # Every bar carries its value, so the x axis would only repeat it (and costs a third of
        # the drawing time).
        ax.xaxis.set_visible(False)
        ax.tick_params(axis="y", length=0)
        ax.set_title(title, fontproperties=font)
        ax.legend(
            prop=small,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.12 / height),
            ncol=len(series),
            frameon=False,
        )
        ax.spines[["top", "right", "bottom"]].set_visible(False)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", pil_kwargs={"compress_level": 1})  # fast over small
    return buffer.getvalue()


async def bar_chart(
    title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]]
) -> bytes | None:
    """`bar_chart_png` in a worker thread, so drawing never blocks the event loop. A chart that
    fails to draw is left out (logged): it never stops the digest it belongs to."""
    try:
        return await asyncio.to_thread(bar_chart_png, title, labels, series)
    except Exception:
        log.exception("chart failed; sent without it", extra={"labels": len(labels)})
        return None

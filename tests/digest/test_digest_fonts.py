"""Charts on a machine where a CJK font was installed after matplotlib's font cache was built."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from bot import charts


@pytest.fixture
def fresh_font_search() -> Iterator[None]:
    charts.cjk_font_path.cache_clear()
    yield
    charts.cjk_font_path.cache_clear()


def _system_cjk_fonts() -> list[str]:
    from matplotlib import font_manager

    return [p for p in font_manager.findSystemFonts() if "CJK" in p or "wqy" in p.lower() or "Han" in p]


def test_a_font_installed_after_the_cache_was_built_is_found_and_named_once(
    fresh_font_search: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from matplotlib import font_manager

    if not _system_cjk_fonts():
        pytest.skip("this machine has no CJK font file to install")
    # matplotlib's cache as it was before the font was installed: no CJK entry in it
    stale = [
        entry
        for entry in font_manager.fontManager.ttflist
        if charts._find_cjk([entry]) is None and entry.fname not in _system_cjk_fonts()
    ]
    monkeypatch.setattr(font_manager.fontManager, "ttflist", stale)
    with caplog.at_level(logging.INFO, logger="bot.charts"):
        path = charts.cjk_font_path()
        again = charts.cjk_font_path()
    assert path is not None and path == again
    assert path in _system_cjk_fonts()
    png = charts.bar_chart_png("第一党委 本周", ["第一支部", "第二支部"], [("记录", [3, 5])])
    assert png is not None and png.startswith(b"\x89PNG")
    named = [r.getMessage() for r in caplog.records if r.getMessage().startswith("charts use the font")]
    assert len(named) == 1 and path in named[0], "which font is used is logged once"


def test_the_font_in_use_is_logged_once_when_the_cache_already_has_it(
    fresh_font_search: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="bot.charts"):
        first = charts.cjk_font_path()
        charts.cjk_font_path()
    if first is None:
        assert any("no CJK font" in r.getMessage() for r in caplog.records)
        return
    assert [r.getMessage() for r in caplog.records].count(
        next(r.getMessage() for r in caplog.records if r.getMessage().startswith("charts use the font"))
    ) == 1

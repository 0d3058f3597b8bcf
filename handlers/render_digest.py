"""Reports as Telegram messages: the digest, readiness and the export's caption in HTML, split into
parts of at most 4096 characters, and the digest's buttons (callback prefix `digest:`).

The figures come from bot.digest / bot.readiness / bot.export as values; only the wording of
markup, escaping and Telegram's message size are decided here.
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass

from bot.digest import STEADY_WEEKS, Digest, DigestReport, Scope, SilentMember, TargetLine
from bot.export import LedgerExport
from bot.periods import PERIOD_NAMES, period_label
from bot.periods_parse import Period, period_from_bounds
from bot.readiness import Readiness, Tally, TargetReadiness
from handlers.callbacks import pack

MESSAGE_LIMIT = 4096
# Beyond this many parts the silent list is cut short and points to the export.
MAX_PARTS = 3
SILENT_ORGS_SHOWN = 30
SILENT_NAMES_PER_ORG = 12
MISSING_SHOWN = 6


# --- splitting -----------------------------------------------------------------------------------
def split_message(lines: list[str], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Join lines into messages of at most `limit` characters, breaking only between lines."""
    parts: list[str] = []
    current = ""
    for line in lines:
        while len(line) > limit:  # never happens with the renderer's caps; still never exceed
            if current:
                parts.append(current)
                current = ""
            parts.append(line[: limit - 1] + "…")
            line = ""
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current:
        parts.append(current)
    return parts


# --- the digest ----------------------------------------------------------------------------------
def _delta(now: int, before: int) -> str:
    diff = now - before
    return "持平" if diff == 0 else f"+{diff}" if diff > 0 else str(diff)


def _strip(active: tuple[bool | None, ...]) -> str:
    """▇ a week with activity, ▁ one without, · one not begun (or before the 起算日期)."""
    return "".join("·" if a is None else "▇" if a else "▁" for a in active)


def _day(day: dt.date) -> str:
    return f"{day.month}月{day.day}日"


def _target_text(t: TargetLine, closed_on: dt.date | None = None) -> str:
    """One target's line; `closed_on`: the last day of a closed period the report is as of (no
    days left are counted down in a report of the past)."""
    unit = "个组织" if t.subject == "org" else "人"
    every = PERIOD_NAMES.get(t.period, t.period)
    head = f"· {html.escape(t.name)}（{every}{t.required}次{'·每人' if t.subject == 'member' else ''}）"
    if t.total == 0:
        return f"{head}：{'起算日期之前，不作统计' if t.not_started else '暂无适用对象'}"
    text = f"{head} {t.done}/{t.total}{unit}"
    apart = ""
    if t.exempt_reasons:  # shown apart from work done, with their reasons
        reasons = "、".join(dict.fromkeys(html.escape(r) or "未说明原因" for r in t.exempt_reasons))
        apart = f"（其中{len(t.exempt_reasons)}{unit}本期不涉及：{reasons}）"
    if t.done == t.total:
        return text + " ✅" + apart
    notes = []
    if t.at_risk:
        notes.append(f"{t.at_risk}{unit}临期")
    if t.overdue:
        notes.append(f"{t.overdue}{unit}未完成")
    if t.days_left is not None and (t.at_risk or t.due):
        if closed_on is not None:
            notes.append(f"截至{_day(closed_on)}")
        else:
            notes.append(f"还剩{t.days_left}天" if t.days_left > 0 else "今天截止")
    return (
        text + apart + (" · " + " · ".join(notes) if notes else "") + (" ⚠️" if t.at_risk or t.overdue else "")
    )


def _silent_name(s: SilentMember, unit: str) -> str:
    name = html.escape(s.name)
    if s.streak > 1:
        name += f"（连续{s.streak}{unit}{'以上' if s.streak_capped else ''}）"
    return name


def _silent_lines(digest: Digest, shown: int) -> list[str]:
    """Silent members per org, orgs and names in id order (never by count).

    When more orgs have silent members than can be shown, the list becomes a count per sub-org
    (a direct child of the root and everything below it) and points to the export for names.
    """
    unit = digest.streak_unit
    per_org = digest.silent_by_org()
    if len(per_org) > shown and digest.sub_orgs:
        return _silent_per_sub_org(digest, unit)
    # (a scope without sub-orgs is one org: its names always fit)
    lines = []
    for _, people in per_org:
        names = [_silent_name(s, unit) for s in people[:SILENT_NAMES_PER_ORG]]
        more = f" 等{len(people)}人" if len(people) > SILENT_NAMES_PER_ORG else ""
        lines.append(f"· {html.escape(people[0].org_name)} {len(people)}人：{'、'.join(names)}{more}")
    return lines


def _silent_per_sub_org(digest: Digest, unit: str) -> list[str]:
    from bot.digest import LONG_SILENCE

    lines = []
    for sub in digest.silent_by_sub_org():
        label = f"{html.escape(sub.name)}{'本级' if sub.own else '及下级'}"
        tail = f"，连续{LONG_SILENCE}{unit}以上 {sub.long_silent}人" if sub.long_silent else ""
        lines.append(f"· {label} {sub.silent}人{tail}")
    lines.append("名单见「导出台账」")
    return lines


def render_digest(digest: Digest, *, silent_orgs: int = SILENT_ORGS_SHOWN) -> list[str]:
    """The digest as Telegram HTML lines (no line holds an unclosed tag, so any split is clean)."""
    d = digest
    cut = f"（{_day(d.counted_from)}起统计）" if d.counted_from is not None else ""
    lines = [f"📊 <b>{html.escape(d.scope.title)}</b> · {d.period.label}{cut}"]
    if d.before_start and d.scope.start is not None:
        lines.append(f"该期间在起算日期（{d.scope.start.year}年{_day(d.scope.start)}）之前，不作统计。")
        return lines
    if d.scope.member_id is None and not d.members:
        lines.append("还没有成员加入。")
    elif d.scope.member_id is None:
        apart = []
        if d.on_leave:
            apart.append(f"请假 {d.on_leave}")
        if d.unreachable:
            apart.append(f"无法送达 {d.unreachable}")
        lines.append(f"报告 {d.reporting}/{d.expected} 人" + (f"（{'，'.join(apart)}）" if apart else ""))
    lines.append(
        f"记录 {d.records} 条（上期 {d.prev_records}，{_delta(d.records, d.prev_records)}）"
        + (f" · 报告人数 {_delta(d.reporting, d.prev_reporting)}" if d.scope.member_id is None else "")
        + (f" · 其中补报 {d.late} 条" if d.late else "")
    )
    if d.records:
        counts = d.by_category
        parts = [f"{name} {counts.get(code, 0)}" for code, name in d.categories.items() if counts.get(code)]
        parts += [f"{html.escape(code)} {n}" for code, n in counts.items() if code not in d.categories and n]
        lines.append("· " + " · ".join(parts))
    if d.targets:
        lines.append("<b>指标完成</b>")
        closed_on = d.period.end if d.closed else None
        lines.extend(_target_text(t, closed_on) for t in d.targets)
    if d.own_targets:
        lines.append("<b>我的指标</b>")
        lines.extend(f"· {html.escape(text)}" for text in d.own_targets)
    if d.scope.member_id is None:
        silent_lines = _silent_lines(d, silent_orgs)
        if silent_lines:
            lines.append(f"<b>未报告</b> {d.silent_total} 人")
            lines.extend(silent_lines)
        elif d.expected:
            lines.append("未报告：无")
    lines.append(
        f"问题整改：发现 {d.issues_found} · 已整改 {d.issues_fixed} · 近{STEADY_WEEKS}周待整改 {d.open_issues}"
    )
    if d.steadiness:
        lines.append(f"<b>常抓</b>（近 {STEADY_WEEKS} 周有活动的周数）")
        lines.extend(f"{html.escape(s.name)} {_strip(s.weeks)} {s.active}/{s.counted}" for s in d.steadiness)
    shown = [level for level in d.levels if level.members]
    if len(shown) >= 2:
        rates = [level.records / level.members for level in shown]
        text = " · ".join(f"{level.name} {rate:.1f}" for level, rate in zip(shown, rates, strict=True))
        cold = rates[0] > 0 and rates[-1] < rates[0] / 2
        lines.append(f"层级人均记录：{text}" + ("（上热下冷）" if cold else ""))
    return lines


def digest_parts(digest: Digest) -> list[str]:
    """Render and split; with too many parts, summarise the silent list per sub-org sooner."""
    shown = SILENT_ORGS_SHOWN
    parts = split_message(render_digest(digest, silent_orgs=shown))
    while len(parts) > MAX_PARTS and shown > 0:
        shown //= 2
        parts = split_message(render_digest(digest, silent_orgs=shown))
    return parts


# --- the digest's buttons (callback prefix `digest:`) --------------------------------------------
@dataclass(frozen=True)
class DigestButton:
    """A pressed button under a digest: x export, p the previous period, r readiness of `year`,
    v the review list of the period."""

    action: str
    org_id: int
    period: Period | None = None  # for x and p
    year: int | None = None  # for r


def digest_buttons(scope: Scope, period: Period) -> list[tuple[str, str]]:
    """[导出台账] [上一期] [年度达标预览] [审核记录], with the callback data `parse_digest_button` reads."""
    start, end = period.start.isoformat(), period.end.isoformat()
    word = {"week": "上一周", "month": "上个月", "quarter": "上季度", "year": "上一年"}.get(
        period.kind, "上一期"
    )
    return [
        ("导出台账", pack("digest", "x", scope.root_id, start, end)),
        (word, pack("digest", "p", scope.root_id, start, end)),
        ("年度达标预览", pack("digest", "r", scope.root_id, period.end.year)),
        ("审核记录", pack("digest", "v", scope.root_id, start, end)),
    ]


def parse_digest_button(data: str) -> DigestButton:
    """The button `digest_buttons` made; ValueError (or IndexError) for anything else."""
    parts = data.split(":")
    action, org_id = parts[1], int(parts[2])
    if action == "r":
        year = int(parts[3])
        if not 2000 <= year <= 2100:
            raise ValueError("year out of range")
        return DigestButton(action, org_id, year=year)
    period = period_from_bounds(dt.date.fromisoformat(parts[3]), dt.date.fromisoformat(parts[4]))
    if period.start > period.end:
        raise ValueError("empty period")
    if action not in ("x", "p", "v"):
        raise ValueError("stale button")
    return DigestButton(action, org_id, period=period)


# --- the message ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class DigestMessage:
    parts: list[str]  # Telegram HTML, each at most 4096 characters
    chart_png: bytes | None
    buttons: list[tuple[str, str]]  # (label, callback data) for the last part
    period: Period
    scope: Scope


def digest_message(report: DigestReport) -> DigestMessage:
    digest = report.digest
    return DigestMessage(
        digest_parts(digest),
        report.chart_png,
        digest_buttons(digest.scope, digest.period),
        digest.period,
        digest.scope,
    )


# --- readiness -----------------------------------------------------------------------------------
def render_readiness(readiness: Readiness) -> list[str]:
    r, on = readiness, readiness.on
    head = f"📋 <b>年度达标预览</b> · {html.escape(r.scope.title)} · {r.year}年（截至{on.month}月{on.day}日）"
    if not r.started:
        return [head, f"{r.year}年还没有开始，可以查看{r.today.year}年及以前的年度。"]
    if r.before_start:
        if r.scope.start is not None:
            start = r.scope.start
            why = f"早于起算日期（{start.year}年{_day(start)}）"
        else:
            why = "早于2000年"
        return [head.split("（截至")[0], f"{r.year}年{why}，没有需要统计的内容。"]
    if not r.items:
        return [head, "暂无适用的量化指标。管理员可用 /target 设置。"]
    complete = sum(1 for i in r.items if i.complete)
    lines = [head, f"如果今天考核：{complete}/{len(r.items)} 项指标没有缺口。"]
    for item in r.items:
        whom = "每人" if item.subject == "member" else "按组织"
        every = PERIOD_NAMES.get(item.period, item.period)
        lines.append(f"<b>{html.escape(item.name)}</b>（{every}{item.required}次 · {whom}）")
        for tally in item.rows:
            lines.append(_row_text(item, tally, today=on, member=r.scope.member_id is not None))
    return lines


def _row_text(item: TargetReadiness, tally: Tally, *, today: dt.date, member: bool) -> str:
    label = "本人" if member else html.escape(tally.name)
    text = f"· {label} {tally.met}/{tally.counted}"
    notes = []
    single = tally.subjects == 1
    if tally.missing and single:
        shown = [period_label(item.period, d) for d in tally.missing[:MISSING_SHOWN]]
        more = f"等{len(tally.missing)}期" if len(tally.missing) > MISSING_SHOWN else ""
        notes.append("缺 " + "、".join(shown) + more)
    elif tally.gaps:
        unit = "人" if item.subject == "member" else "个组织"
        notes.append(f"{tally.gaps}{unit}有缺口")
    if tally.current is not None:
        s = tally.current
        when = period_label(item.period, s.period_start, today=today)
        left = f"剩{s.days_left}天" if s.days_left > 0 else "今天截止"
        if single:
            notes.append(f"{when}还差{s.missing}次，{left}")
        else:
            notes.append(f"{when}尚有未完成，{left}")
    if not notes:
        return text + " ✅"
    return text + " · " + " · ".join(notes)


def readiness_parts(readiness: Readiness) -> list[str]:
    return split_message(render_readiness(readiness))


# --- the export ----------------------------------------------------------------------------------
def export_caption(ledger: LedgerExport) -> str:
    title, period = html.escape(ledger.scope.title), ledger.period.label
    return f"📎 {title} · {period} 台账，共 {ledger.export.records} 条记录。"

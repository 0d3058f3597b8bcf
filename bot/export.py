"""The Excel ledger (台账): what was entered once, exported for the assessment.

Sheets: 汇总 (org × category, with each org's targets: the state of the one period the export
covers, or how many of its periods were met), 台账 (every record of the period), 指标完成 (each
target's own state in each of its periods: a month's row shows that month, counting only records
dated in it) and 未报告 (members without a record). Chinese headers, a frozen header row,
column widths and date formats set. Every export is written to the audit log.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.digest import UNIT, FuturePeriod, Scope, SilentMember, asker_scope, silent_members
from bot.periods import PERIOD_NAMES, period_bounds
from bot.periods_parse import Period, period_text
from bot.review import STATUS_NAMES as REVIEW_NAMES
from storage import stats
from storage import targets as target_repo
from storage.models import ORG_KIND_NAMES, ROLE_NAMES, Member
from storage.orgs import audit

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.services import Services
    from bot.targets import TargetStatus

LEDGER_HEADERS = (
    "组织",
    "姓名",
    "类别",
    "形式",
    "日期",
    "人数",
    "时长（分钟）",
    "发现问题",
    "整改问题",
    "原文",
    "佐证数",
    "填报时间",
    "修改时间",
    "审核状态",
    "意见",
)
LEDGER_WIDTHS = (18, 10, 10, 10, 12, 6, 10, 8, 8, 60, 6, 17, 17, 14, 30)
# A sheet per meeting form (三会一课 and the other meetings), in a 三会一课 ledger's column order.
MEETING_SHEETS = (
    ("支部党员大会", "党员大会"),
    ("支委会", "支委会"),
    ("党小组会", "党小组会"),
    ("党课", "党课"),
    ("其他会议", None),
)
MEETING_HEADERS = (
    "序号",
    "组织",
    "会议日期",
    "会议时长（分钟）",
    "会议地点",
    "主持人",
    "记录人",
    "应到人数",
    "实到人数",
    "缺席人数",
    "缺席人员及原因",
    "会议主题",
    "会议内容（原文）",
    "填报人",
    "佐证数",
    "审核状态",
    "意见",
)
MEETING_WIDTHS = (6, 18, 12, 10, 16, 10, 10, 8, 8, 8, 24, 24, 50, 10, 6, 14, 24)
PER_PERIOD_HEADERS = ("组织", "指标", "周期", "期间", "完成次数", "要求次数", "状态")
PER_PERIOD_WIDTHS = (18, 14, 8, 18, 8, 8, 8)
SILENT_HEADERS = ("组织", "姓名", "身份", "情况", "连续未报告")
SILENT_WIDTHS = (18, 10, 8, 10, 12)
STATUS_NAMES = {"silent": "未报告", "leave": "请假", "unreachable": "无法送达"}
STATE_NAMES = {
    "done": "已完成",
    "due": "进行中",
    "at_risk": "临期",
    "overdue": "未完成",
    "excused": "请假",
    "exempt": "不涉及",
    "not_started": "未起算",
}

# Records in one file sent through the bot (the command line has no limit).
LEDGER_LIMIT = 100_000


class ExportTooLarge(Exception):
    def __init__(self, records: int, limit: int) -> None:
        super().__init__(f"{records} records, limit {limit}")
        self.records = records
        self.limit = limit

    def __str__(self) -> str:
        return (
            f"这段时间共有 {self.records} 条记录，超过单个文件 {self.limit} 条的上限。"
            "请缩短期间（如 本月、2026-11）或指定下级组织。"
        )


@dataclass(frozen=True)
class Export:
    filename: str
    data: bytes
    records: int


@dataclass(frozen=True)
class LedgerExport:
    """An export handed out through a messenger: the file, and what it covers (for its caption)."""

    scope: Scope
    period: Period
    export: Export


@dataclass(frozen=True)
class _Sheets:
    summary_headers: list[str]
    summary_rows: list[list[object]]
    ledger: list[stats.LedgerRow]
    silent: list[SilentMember]
    streak_unit: str
    per_period: list[list[object]]


# What XML 1.0 (so an xlsx) cannot hold: control characters but tab and newlines, lone
# surrogates, U+FFFE and U+FFFF. openpyxl writes them, and the file no longer opens.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
EXCEL_CELL_LIMIT = 32_767
FILENAME_BYTES = 255
# A file name keeps letters, digits, punctuation and spaces: no controls, bidi or other format
# marks (a right-to-left override shows "xlsx.evil" as something else), separators, surrogates,
# unassigned or private code points, nor the characters Windows refuses.
_NAME_DROPS = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
_NAME_RESERVED = set('\\/:*?"<>|')


def xml_text(text: str) -> str:
    """User text as an xlsx can hold it (see _NOT_XML), within Excel's cell limit."""
    return _NOT_XML.sub("", text)[:EXCEL_CELL_LIMIT]


def safe_filename(stem: str, suffix: str, fallback: str) -> str:
    """`stem` + `suffix` as a file name every system and Telegram accept: dropped what _NAME_DROPS
    and _NAME_RESERVED name, spaces for other whitespace, at most FILENAME_BYTES in UTF-8."""
    kept = "".join(
        " " if ch.isspace() else ch
        for ch in stem
        if ch not in _NAME_RESERVED and unicodedata.category(ch) not in _NAME_DROPS
    )
    kept = " ".join(kept.split()).strip(" .") or fallback
    budget = FILENAME_BYTES - len(suffix.encode())
    while len(kept.encode()) > budget:
        kept = kept[:-1]
    return kept.rstrip(" .") + suffix


def export_filename(scope: Scope, period: Period) -> str:
    name = safe_filename(scope.member_name or scope.root_name, "", "台账")
    return safe_filename(f"台账_{name}", f"_{period.start:%Y%m%d}-{period.end:%Y%m%d}.xlsx", "台账")


async def _gather(
    *,
    session: AsyncSession,
    scope: Scope,
    period: Period,
    today: dt.date,
    categories: dict[str, str],
    limit: int | None,
) -> _Sheets:
    rs = scope.records
    all_orgs = {o.id: o for o in await stats.org_rows(session=session)}
    counts = await stats.category_counts(session=session, scope=rs, start=period.start, end=period.end)
    total = sum(c.records for c in counts)
    if limit is not None and total > limit:
        raise ExportTooLarge(total, limit)
    members = await stats.member_rows(session=session, org_ids=None if scope.everything else scope.org_ids)
    if scope.member_id is not None:
        members = [m for m in members if m.id == scope.member_id]
    statuses = await _period_statuses(
        session=session, scope=scope, members=members, period=period, today=today
    )
    target_columns: dict[tuple[int, str], str] = {}
    for found in statuses.values():
        for s in found:
            target_columns.setdefault(
                (s.target_id, s.subject), f"{s.name}（{PERIOD_NAMES.get(s.period, s.period)}{s.required}次）"
            )
    columns = sorted(target_columns)
    per_period = [
        [
            all_orgs[org_id].name,
            s.name,
            PERIOD_NAMES.get(s.period, s.period),
            period_text(s.period_start, s.period_end),
            s.done,
            s.required,
            STATE_NAMES.get(s.state, s.state),
        ]
        for org_id in (scope.org_ids if scope.member_id is None else (scope.root_id,))
        for s in sorted(statuses.get(org_id, []), key=lambda s: (s.target_id, s.subject, s.period_start))
    ]
    per_org: dict[int, Counter[str]] = defaultdict(Counter)
    for c in counts:
        per_org[c.org_id][c.category] += c.records
    headers = ["组织", "类型", *categories.values(), "合计", *(target_columns[k] for k in columns)]
    rows: list[list[object]] = []
    org_ids = scope.org_ids if scope.member_id is None else (scope.root_id,)
    for org_id in org_ids:
        org = all_orgs[org_id]
        tally = per_org.get(org_id, Counter())
        cells = _summary_cells(statuses.get(org_id, []))
        rows.append(
            [
                org.name,
                ORG_KIND_NAMES.get(org.kind, org.kind),
                *(tally[code] for code in categories),
                sum(tally.values()),
                *(cells.get(k, "—") for k in columns),
            ]
        )

    ledger = await stats.ledger_rows(session=session, scope=rs, start=period.start, end=period.end)
    silent: list[SilentMember] = []
    if scope.member_id is None:
        _, silent = await silent_members(
            session=session,
            scope=scope,
            period=period,
            members=members,
            org_names={o.id: o.name for o in all_orgs.values()},
        )
    return _Sheets(headers, rows, ledger, silent, UNIT.get(period.kind, "期"), per_period)


async def _period_statuses(
    *, session: AsyncSession, scope: Scope, members: list[stats.MemberRow], period: Period, today: dt.date
) -> dict[int, list[TargetStatus]]:
    """Each target's state in each of its own periods that overlap the export (up to today), per
    org (or for the member), counting only records dated in that period and in the export."""
    from bot.targets import closed_state, members_statuses, statuses_for_orgs

    kinds = sorted({t.period for t in await target_repo.list_targets(session=session)})
    last = min(period.end, today)
    out: dict[int, list[TargetStatus]] = defaultdict(list)
    for kind in kinds:
        day = period.start
        while day <= last:
            start, end = period_bounds(kind, day)
            on, until = min(today, end), min(end, period.end)
            if scope.member_id is None:
                found = await statuses_for_orgs(
                    session=session,
                    org_ids=list(scope.org_ids),
                    on=on,
                    period_of=start,
                    period=kind,
                    until=until,
                )
            else:
                mine = await members_statuses(
                    session=session, members=members, on=on, period_of=start, period=kind, until=until
                )
                found = {scope.root_id: mine.get(scope.member_id, [])}
            for org_id, statuses in found.items():
                out[org_id].extend(closed_state(s, today) for s in statuses if s.period_start == start)
            day = end + dt.timedelta(days=1)
    return out


def _summary_cells(statuses: Sequence[TargetStatus]) -> dict[tuple[int, str], str]:
    """One cell per target: its state when the export covers one of its periods, else how many of
    its periods were met (periods before the 起算日期 or on leave left out)."""
    from bot.targets import UNCOUNTED

    grouped: dict[tuple[int, str], list[TargetStatus]] = defaultdict(list)
    for s in statuses:
        grouped[(s.target_id, s.subject)].append(s)
    cells = {}
    for key, group in grouped.items():
        if len(group) == 1:
            s = group[0]
            cells[key] = f"{s.done}/{s.required} {STATE_NAMES.get(s.state, s.state)}"
            continue
        counted = [s for s in group if s.state not in UNCOUNTED and not s.open]
        met = sum(1 for s in counted if s.state in ("done", "exempt"))
        cells[key] = f"达标 {met}/{len(counted)} 期" if counted else "未起算"
    return cells


@dataclass(frozen=True)
class TitleBlock:
    """The rows above a meeting sheet's header: 组织, 期间, 导出人, 导出时间."""

    org: str
    period: str
    exporter: str
    exported_at: dt.datetime

    def rows(self, sheet_title: str) -> list[list[str]]:
        return [
            [f"{self.org} {sheet_title}台账"],
            [
                f"组织：{self.org}",
                f"期间：{self.period}",
                f"导出人：{self.exporter}",
                f"导出时间：{self.exported_at:%Y-%m-%d %H:%M}",
            ],
        ]


def meeting_sheet_of(row: stats.LedgerRow) -> str | None:
    """The meeting sheet a ledger row belongs on (None: not a meeting)."""
    from bot.parsing.ledger import MEETINGS
    from bot.targets import canonical_form

    if row.category not in MEETINGS:
        return None
    form = canonical_form(row.keyword)
    return next((name for name, canonical in MEETING_SHEETS if canonical and canonical == form), "其他会议")


def _workbook(
    sheets: _Sheets,
    *,
    title: str,
    tz: ZoneInfo,
    categories: dict[str, str],
    block: TitleBlock | None = None,
) -> bytes:
    """Write the workbook in openpyxl's streaming (write-only) mode: memory stays flat with size."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)
    title_font = Font(bold=True, size=14)
    header_alignment = Alignment(vertical="center", wrap_text=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    wb = Workbook(write_only=True)

    def sheet(
        name: str, headers: Sequence[str], widths: Sequence[float], above: Sequence[Sequence[str]] = ()
    ) -> Any:
        """A sheet printed A4 landscape, fit to the page's width, its header row (below the title
        rows `above`) frozen and repeated on every printed page."""
        ws = wb.create_sheet(name)
        for i, width in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(i)].width = width
        ws.freeze_panes = f"A{len(above) + 2}"
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = "9"  # A4
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.print_title_rows = f"{len(above) + 1}:{len(above) + 1}"
        for n, values in enumerate(above):
            row = []
            for value in values:
                cell = WriteOnlyCell(ws, value=xml_text(value))
                cell.data_type = "s"
                if n == 0:
                    cell.font = title_font
                row.append(cell)
            ws.append(row)
        cells = []
        for header in headers:
            cell = WriteOnlyCell(ws, value=xml_text(header))
            cell.font = bold
            cell.alignment = header_alignment
            cells.append(cell)
        ws.append(cells)
        return ws

    def text(ws: Any, value: str | None, alignment: Alignment | None = None) -> Any:
        """User text as a plain string cell: control characters dropped, never a formula."""
        cell = WriteOnlyCell(ws, value=xml_text(value or ""))
        cell.data_type = "s"
        if alignment is not None:
            cell.alignment = alignment
        return cell

    def formatted(ws: Any, value: object, number_format: str) -> Any:
        cell = WriteOnlyCell(ws, value=value)
        cell.number_format = number_format
        return cell

    extra = len(sheets.summary_headers) - len(categories) - 3
    summary = sheet("汇总", sheets.summary_headers, [18, 8, *([9] * len(categories)), 8, *([16] * extra)])
    for row in sheets.summary_rows:
        summary.append([text(summary, v) if isinstance(v, str) else v for v in row])

    ledger = sheet("台账", LEDGER_HEADERS, LEDGER_WIDTHS)
    for r in sheets.ledger:
        ledger.append(
            [
                text(ledger, r.org_name),
                text(ledger, r.member_name),
                text(ledger, categories.get(r.category, r.category)),
                text(ledger, r.keyword),
                formatted(ledger, r.date, "yyyy-mm-dd"),
                r.participants,
                r.duration_min,
                r.issues_found,
                r.issues_fixed,
                text(ledger, r.source_text, wrap),
                r.evidence,
                formatted(ledger, _local(r.created_at, tz), "yyyy-mm-dd hh:mm"),
                formatted(ledger, _local(r.updated_at, tz), "yyyy-mm-dd hh:mm"),
                text(ledger, REVIEW_NAMES.get(r.review_status, "")),
                text(ledger, r.review_opinion, wrap),
            ]
        )

    if block is not None:
        by_sheet: dict[str, list[stats.LedgerRow]] = defaultdict(list)
        for r in sheets.ledger:
            name = meeting_sheet_of(r)
            if name is not None:
                by_sheet[name].append(r)
        for name, _ in MEETING_SHEETS:
            ws = sheet(name, MEETING_HEADERS, MEETING_WIDTHS, above=block.rows(name))
            for n, r in enumerate(by_sheet[name], start=1):
                ws.append(
                    [
                        n,
                        text(ws, r.org_name),
                        formatted(ws, r.date, "yyyy-mm-dd"),
                        r.duration_min,
                        text(ws, r.place),
                        text(ws, r.host),
                        text(ws, r.recorder),
                        r.expected_count,
                        r.participants,
                        r.absent_count,
                        text(ws, r.absent_reasons, wrap),
                        text(ws, r.topic, wrap),
                        text(ws, r.source_text, wrap),
                        text(ws, r.member_name),
                        r.evidence,
                        text(ws, REVIEW_NAMES.get(r.review_status, "")),
                        text(ws, r.review_opinion, wrap),
                    ]
                )

    per_period = sheet("指标完成", PER_PERIOD_HEADERS, PER_PERIOD_WIDTHS)
    for row in sheets.per_period:
        per_period.append([text(per_period, v) if isinstance(v, str) else v for v in row])

    silent = sheet("未报告", SILENT_HEADERS, SILENT_WIDTHS)
    for s in sheets.silent:
        streak = f"{s.streak}{sheets.streak_unit}{'以上' if s.streak_capped else ''}"
        silent.append(
            [
                text(silent, s.org_name),
                text(silent, s.name),
                ROLE_NAMES.get(s.role, s.role),
                STATUS_NAMES.get(s.status, s.status),
                streak,
            ]
        )
    wb.properties.title = xml_text(title)[:255]
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _local(value: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """Excel has no time zones: write the local wall time, without tzinfo."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(tz).replace(tzinfo=None, microsecond=0)


async def export_ledger(
    *,
    session: AsyncSession,
    scope: Scope,
    period: Period,
    today: dt.date,
    tz: ZoneInfo,
    categories: dict[str, str] | None = None,
    limit: int | None = LEDGER_LIMIT,
    exporter: str = "命令行导出",
    now: dt.datetime | None = None,
) -> Export:
    """Build the workbook (off the event loop). It only reads: run it in a read-only unit, then
    `record_export` in a writing one before handing the file out.

    Raises ExportTooLarge when the period holds more than `limit` records (None: no limit).
    """
    if categories is None:
        from bot.parsing import CATEGORIES

        categories = dict(CATEGORIES)
    sheets = await _gather(
        session=session, scope=scope, period=period, today=today, categories=categories, limit=limit
    )
    title = f"{scope.title} {period.label} 党建工作台账"
    block = TitleBlock(scope.title, period.label, exporter, _local(now or dt.datetime.now(dt.UTC), tz))
    data = await asyncio.to_thread(_workbook, sheets, title=title, tz=tz, categories=categories, block=block)
    return Export(export_filename(scope, period), data, len(sheets.ledger))


async def record_export(
    *, session: AsyncSession, scope: Scope, period: Period, actor: Member | None, export: Export
) -> None:
    """Write an export to the audit log (every export is, before the file leaves)."""
    await audit(
        session=session,
        actor=actor,
        action="export",
        object_type="member" if scope.member_id is not None else "org",
        object_id=scope.member_id if scope.member_id is not None else scope.root_id,
        detail=f"{scope.title} {period.start}..{period.end} records={export.records}",
    )


async def asked_export(
    services: Services,
    *,
    telegram_id: int,
    period: Period,
    org_name: str | None = None,
    org_id: int | None = None,
) -> LedgerExport:
    """/export: the asker's ledger of `period` (the org by name, or by id from a button), built in a
    read-only unit (check-ins go on meanwhile) and written to the audit log before it is handed out.

    Raises ScopeError when the asker may not see it, ExportTooLarge beyond LEDGER_LIMIT records.
    """
    today = services.clock.now().date()
    if period.start > today:
        raise FuturePeriod(period)
    async with services.session(read_only=True) as session:
        scope, member = await asker_scope(
            session=session, services=services, telegram_id=telegram_id, org_name=org_name, org_id=org_id
        )
    async with services.session(read_only=True) as session:
        export = await export_ledger(
            session=session,
            scope=scope,
            period=period,
            today=today,
            tz=services.settings.tz,
            categories=dict(services.rules.categories),
            limit=LEDGER_LIMIT,
            exporter=member.name if member is not None else "",
            now=services.clock.now(),
        )
    async with services.session() as session:
        await record_export(session=session, scope=scope, period=period, actor=member, export=export)
    return LedgerExport(scope, period, export)


async def _run_cli(args: Any, settings: Settings) -> tuple[int, str]:
    from bot.clock import SystemClock
    from bot.digest import ScopeError, scope_for
    from bot.parsing import load_rules
    from bot.periods_parse import PERIOD_HINT, parse_period
    from storage.db import create_engine, create_sessionmaker, session_scope

    today = SystemClock(settings.tz).today()
    period = parse_period(args.period or "今年", today)
    if period is None:
        return 2, f"unknown period {args.period!r}; try: {PERIOD_HINT}"
    categories = dict(load_rules(settings.rules_path).categories)
    engine = create_engine(settings.database_url)
    try:
        async with session_scope(create_sessionmaker(engine, read_only=True)) as session:
            try:
                scope = await scope_for(session=session, member=None, org_name=args.org)
            except ScopeError as error:
                return 2, str(error)
            result = await export_ledger(
                session=session,
                scope=scope,
                period=period,
                today=today,
                tz=settings.tz,
                categories=categories,
                limit=None,
            )
        async with session_scope(create_sessionmaker(engine)) as session:
            await record_export(session=session, scope=scope, period=period, actor=None, export=result)
    finally:
        await engine.dispose()
    path = Path(args.output or result.filename)
    await asyncio.to_thread(path.write_bytes, result.data)
    return 0, f"wrote {path} ({result.records} records, {period.label})"


def run_cli(args: Any) -> int:
    """`dutybot export`: the same workbook as /export, against settings.database_url."""
    from bot.config import Settings

    code, message = asyncio.run(_run_cli(args, Settings()))
    print(message, file=sys.stdout if code == 0 else sys.stderr)
    return code

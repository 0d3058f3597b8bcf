"""Bulk import of the org tree and the roster (`bot.roster_file` reads the file).

Always a dry run first: `plan_import` compares the file with the database and says what would be
created, changed and left alone, and which rows are bad (row number and reason); nothing is
written. `apply_import` plans again inside one transaction and applies it; applying the same file
again changes nothing.

Orgs are known by their path (第一党委/第一支部); a row that names 上级组织 (or a type, or no
person) defines an org, in any order. People are known by 工号, else 手机号. A person already
bound (a Member with that key) is updated in place; anyone else is pre-registered with a personal
invite (one use, their org and role): nobody is bound before they tap their own link.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from bot.admin import MAX_ORG_NAME, kind_from_name
from bot.invites import ALPHABET, CODE_LENGTH, new_code, parse_role
from bot.roster_file import RosterFile, RosterRow
from storage import orgs
from storage import roster as repo
from storage.models import ORG_KIND_NAMES, ROLE_NAMES, InviteCode, Member, Org, OrgKind, Role

KIND_WORDS = {
    "党委": OrgKind.committee,
    "committee": OrgKind.committee,
    "党总支": OrgKind.general_branch,
    "总支": OrgKind.general_branch,
    "general_branch": OrgKind.general_branch,
    "党支部": OrgKind.branch,
    "支部": OrgKind.branch,
    "branch": OrgKind.branch,
}
ROLE_EXTRA = {
    "普通党员": Role.cadre,
    "预备党员": Role.cadre,
    "支部书记": Role.secretary,
    "党委书记": Role.secretary,
}
SEP = orgs.PATH_SEPARATOR
assert len(ALPHABET) ** CODE_LENGTH > 10**9  # enough codes for any roster


@dataclass(frozen=True)
class BadRow:
    number: int
    reason: str  # plain Chinese text


@dataclass
class OrgPlan:
    path: str
    name: str
    parent_path: str  # "" for a root
    kind: str
    action: str  # create, change, same
    row: int


@dataclass(slots=True)
class PersonPlan:
    row: int
    key: str  # 工号:10293 or 手机:13800000000
    name: str
    org_path: str
    role: str
    joined: dt.date | None
    action: str  # create, change, same
    changes: tuple[str, ...] = ()  # 调整组织, 调整身份, 改名, 入党日期
    bound: bool = False  # a member already bound by this key

    @property
    def key_label(self) -> str:
        return self.key.replace(":", " ", 1)


@dataclass
class ImportPlan:
    sheet: str
    rows: int
    orgs: list[OrgPlan] = field(default_factory=list)
    people: list[PersonPlan] = field(default_factory=list)
    bad: list[BadRow] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    def count(self, which: str, action: str) -> int:
        items: Iterable[OrgPlan | PersonPlan] = self.orgs if which == "orgs" else self.people
        return sum(1 for p in items if p.action == action)

    @property
    def person_changes(self) -> Counter[str]:
        return Counter(c for p in self.people if p.action == "change" for c in p.changes)

    @property
    def changed(self) -> int:
        """Orgs and people that applying would create or change."""
        return sum(1 for o in self.orgs if o.action != "same") + sum(
            1 for p in self.people if p.action != "same"
        )


@dataclass(frozen=True)
class PendingLink:
    name: str
    org_path: str
    role: str
    key_label: str
    code: str


@dataclass(frozen=True)
class ApplyResult:
    plan: ImportPlan
    links: list[PendingLink]  # everyone in the file not bound yet, with their personal code


# --- reading the cells -------------------------------------------------------------------------
_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})(?:[-/.月](\d{1,2})日?)?月?$")


def parse_joined(text: str) -> dt.date | None:
    """2001-07-01, 2001/7/1, 2001.07, 2001年7月1日 (a month alone means its first day)."""
    found = _DATE.match(text.strip().split(" ")[0])
    if not found:
        raise ValueError(text)
    year, month, day = int(found.group(1)), int(found.group(2)), int(found.group(3) or 1)
    return dt.date(year, month, day)


def person_key(row: RosterRow) -> str:
    staff = row.values.get("staff_no", "").strip()
    if staff:
        if len(staff) > 40:
            raise ValueError(f"工号「{staff[:20]}…」太长")
        return f"工号:{staff}"
    phone = re.sub(r"[\s\-()（）]", "", row.values.get("phone", ""))
    if not phone:
        raise ValueError("缺少手机号或工号")
    phone = phone.removeprefix("+86").removeprefix("0086")
    if not re.fullmatch(r"1\d{10}", phone):
        raise ValueError(f"手机号「{phone[:20]}」不是 11 位手机号")
    return f"手机:{phone}"


def _role(text: str) -> str | None:
    text = text.strip()
    if not text:
        return Role.cadre
    return ROLE_EXTRA.get(text) or parse_role(text)


def _is_org_row(row: RosterRow) -> bool:
    return "parent" in row.values or "kind" in row.values or "name" not in row.values


class _Tree:
    """Org paths known so far: the database's live orgs and those the file defines."""

    def __init__(self, live: list[Org]) -> None:
        self.db: dict[str, Org] = {orgs.org_path(live, o): o for o in live}
        self.paths: set[str] = set(self.db)
        self.by_name: dict[str, set[str]] = {}
        for path in self.paths:
            self.by_name.setdefault(path.rsplit(SEP, 1)[-1], set()).add(path)

    def add(self, path: str) -> None:
        self.paths.add(path)
        self.by_name.setdefault(path.rsplit(SEP, 1)[-1], set()).add(path)

    def find(self, text: str) -> set[str]:
        """The known paths `text` (a name, or a path or its end) can mean."""
        parts = [p.strip() for p in text.strip().strip(SEP).split(SEP) if p.strip()]
        if not parts:
            return set()
        tail = SEP.join(parts)
        return {p for p in self.by_name.get(parts[-1], set()) if p == tail or p.endswith(SEP + tail)}


@dataclass
class _OrgDef:
    row: int
    name: str
    parent: str  # the text of 上级组织 ("" for none)
    kind: str | None


def _org_defs(rows: list[RosterRow], bad: dict[int, str]) -> list[_OrgDef]:
    defs: dict[tuple[str, str], _OrgDef] = {}
    for row in rows:
        if row.number in bad or "org" not in row.values or not _is_org_row(row):
            continue
        text, parent = row.values["org"].strip(SEP), row.values.get("parent", "").strip()
        if SEP in text:  # a path: its last part is the org, the rest its parent
            head, _, text = text.rpartition(SEP)
            if parent and parent != head and not head.endswith(SEP + parent):
                bad[row.number] = f"组织「{row.values['org']}」与上级组织「{parent}」不一致"
                continue
            parent = head
        kind_text = row.values.get("kind", "").strip()
        kind = KIND_WORDS.get(kind_text) if kind_text else None
        if kind_text and kind is None:
            bad[row.number] = f"类型「{kind_text}」无法识别（可写：党委 / 党总支 / 党支部）"
            continue
        if len(text) > MAX_ORG_NAME or text.startswith("#"):
            bad[row.number] = f"组织名称「{text[:20]}」太长或以“#”开头"
            continue
        key = (text, parent)
        seen = defs.get(key)
        if seen is None:
            defs[key] = _OrgDef(row.number, text, parent, kind)
        elif kind is not None and seen.kind is not None and kind != seen.kind:
            bad[row.number] = f"组织「{text}」的类型与第{seen.row}行不一致"
        elif seen.kind is None:
            seen.kind = kind
    return list(defs.values())


def _resolve_orgs(defs: list[_OrgDef], tree: _Tree, bad: dict[int, str]) -> list[OrgPlan]:
    """Paths for the file's orgs, parents first; rows whose parent is missing, ambiguous or part of
    a cycle are bad. A parent named by a name the file still defines waits for that definition."""
    plans: list[OrgPlan] = []
    pending = list(defs)
    while pending:
        pending_names = {d.name for d in pending}
        waiting: list[_OrgDef] = []
        for d in pending:
            parent_path = ""
            if d.parent:
                if d.parent.rsplit(SEP, 1)[-1] in pending_names:
                    waiting.append(d)
                    continue
                found = tree.find(d.parent)
                if not found:
                    waiting.append(d)
                    continue
                if len(found) > 1:
                    bad[d.row] = f"上级组织「{d.parent}」有多个，请写完整路径（如 第一党委/第一支部）"
                    continue
                parent_path = next(iter(found))
            path = f"{parent_path}{SEP}{d.name}" if parent_path else d.name
            existing = tree.db.get(path)
            if path in tree.paths and existing is None:
                continue  # the file defines it twice (by a name and by a path): once is enough
            kind = d.kind or (existing.kind if existing else kind_from_name(d.name, root=not parent_path))
            action = "create" if existing is None else ("same" if existing.kind == kind else "change")
            tree.add(path)
            plans.append(OrgPlan(path, d.name, parent_path, kind, action, d.row))
        if len(waiting) == len(pending):
            break
        pending = waiting
    waiting_by_name = {d.name: d for d in pending}
    for d in pending:
        chain, current = [d.name], d
        while current.parent in waiting_by_name and current.parent not in chain:
            current = waiting_by_name[current.parent]
            chain.append(current.name)
        if current.parent in chain:
            bad[d.row] = f"上级关系形成循环：{' → '.join([*chain, current.parent])}"
        elif d.parent in waiting_by_name:
            bad[d.row] = f"上级组织「{d.parent}」有问题（见第{waiting_by_name[d.parent].row}行）"
        else:
            bad[d.row] = f"上级组织「{d.parent}」不存在"
    return plans


def _person(row: RosterRow, tree: _Tree, org_rows: dict[int, str]) -> PersonPlan:
    """A person row read and checked (ValueError: the reason it is bad)."""
    name = row.values["name"].strip()
    if len(name) > 50:
        raise ValueError("姓名太长")
    key = person_key(row)
    role = _role(row.values.get("role", ""))
    if role is None:
        raise ValueError(f"身份「{row.values['role'][:20]}」无法识别（可写：党员 / 书记 / 管理员）")
    joined = None
    if row.values.get("joined"):
        try:
            joined = parse_joined(row.values["joined"])
        except ValueError:
            raise ValueError(f"入党日期「{row.values['joined'][:20]}」无法识别（可写 2001-07-01）") from None
    org_text = row.values.get("org", "")
    if not org_text:
        raise ValueError("缺少组织")
    path = org_rows.get(row.number)
    if path is None:
        found = tree.find(org_text)
        if not found:
            raise ValueError(f"组织「{org_text[:30]}」不存在")
        if len(found) > 1:
            raise ValueError(f"组织「{org_text[:30]}」有多个，请写完整路径或填写上级组织")
        path = next(iter(found))
    return PersonPlan(row.number, key, name, path, role, joined, "create")


async def plan_import(*, session: AsyncSession, roster: RosterFile) -> ImportPlan:
    """Compare the file with the database; nothing is written."""
    live = await orgs.list_orgs(session=session)
    tree = _Tree(live)
    plan = ImportPlan(roster.sheet, len(roster.rows), ignored_columns=roster.ignored)
    bad: dict[int, str] = {}
    for row in roster.rows:
        if row.formulas:
            bad[row.number] = f"单元格是公式（{'、'.join(row.formulas)}），请复制后“选择性粘贴为数值”再导入"
    if "name" in roster.columns and not ({"phone", "staff_no"} & set(roster.columns)):
        bad.update(
            {
                r.number: "缺少手机号或工号列"
                for r in roster.rows
                if "name" in r.values and r.number not in bad
            }
        )
    plan.orgs = _resolve_orgs(_org_defs(roster.rows, bad), tree, bad)
    # The path each org-defining person row refers to.
    org_rows: dict[int, str] = {}
    by_def = {(p.name, p.parent_path): p.path for p in plan.orgs}
    for row in roster.rows:
        if "name" in row.values and "parent" in row.values and row.number not in bad:
            text = row.values.get("org", "").strip(SEP)
            parent = row.values["parent"]
            found = tree.find(parent)
            if SEP in text:
                org_rows[row.number] = text
            elif len(found) == 1 and (text, next(iter(found))) in by_def:
                org_rows[row.number] = by_def[(text, next(iter(found)))]
    members = await repo.members_by_person_key(session=session)
    invites = await repo.personal_invites(session=session)
    paths_by_id = {o.id: p for p, o in tree.db.items()}
    first_row: dict[str, int] = {}
    for row in roster.rows:
        if "name" not in row.values or row.number in bad:
            continue
        try:
            person = _person(row, tree, org_rows)
        except ValueError as error:
            bad[row.number] = str(error)
            continue
        if person.key in first_row:
            bad[row.number] = f"与第{first_row[person.key]}行是同一人（{person.key_label}）"
            continue
        first_row[person.key] = row.number
        _compare(person, members.get(person.key), invites.get(person.key), paths_by_id)
        plan.people.append(person)
    plan.bad = [BadRow(n, r) for n, r in sorted(bad.items())]
    return plan


def _compare(
    person: PersonPlan, member: repo.Person | None, invite: repo.Person | None, paths: dict[int | None, str]
) -> None:
    """A bound member, else a live personal invite, compared with the row (neither: a new one)."""
    known = (
        member if member is not None else (invite if invite is not None and invite.uses_left > 0 else None)
    )
    if known is None:
        return
    person.bound = member is not None
    changes = []
    if paths.get(known.org_id) != person.org_path:
        changes.append("调整组织")
    if known.role != person.role:
        changes.append("调整身份")
    if known.name != person.name:
        changes.append("改名")
    if known.joined != person.joined and (person.joined is not None or member is None):
        changes.append("入党日期")
    person.action = "change" if changes else "same"
    person.changes = tuple(changes)


async def apply_import(
    *, session: AsyncSession, roster: RosterFile, actor: Member | None, now: dt.datetime
) -> ApplyResult:
    """Plan again and apply, in the caller's one transaction. Bad rows are skipped."""
    plan = await plan_import(session=session, roster=roster)
    live = await orgs.list_orgs(session=session)
    by_path: dict[str, Org] = {orgs.org_path(live, o): o for o in live}
    levels: dict[int, list[OrgPlan]] = {}
    for org_plan in plan.orgs:
        levels.setdefault(org_plan.path.count(SEP), []).append(org_plan)
    for depth in sorted(levels):  # parents get their ids (a flush) before their children
        for org_plan in levels[depth]:
            if org_plan.action == "create":
                parent = by_path[org_plan.parent_path] if org_plan.parent_path else None
                org = Org(name=org_plan.name, parent_id=parent.id if parent else None, kind=org_plan.kind)
                session.add(org)
                by_path[org_plan.path] = org
            elif org_plan.action == "change":
                by_path[org_plan.path].kind = org_plan.kind
        await session.flush()
    members = await repo.members_by_person_key(session=session)
    invites = await repo.personal_invites(session=session)
    codes = await repo.all_codes(session=session)
    new_rows: list[dict[str, object]] = []
    member_rows: list[dict[str, object]] = []
    invite_rows: list[dict[str, object]] = []
    links = []
    for person in plan.people:
        org_id = by_path[person.org_path].id
        assert org_id is not None
        member = members.get(person.key)
        if member is not None:
            if person.action == "change":
                values: dict[str, object] = {
                    "id": member.id,
                    "org_id": org_id,
                    "role": person.role,
                    "name": person.name,
                }
                if person.joined is not None:
                    values["party_joined_on"] = person.joined
                member_rows.append(values)
            continue
        invite = invites.get(person.key)
        if invite is not None and invite.uses_left > 0:
            if person.action == "change":
                invite_rows.append(
                    {
                        "id": invite.id,
                        "org_id": org_id,
                        "role": person.role,
                        "person_name": person.name,
                        "party_joined_on": person.joined,
                    }
                )
            code = invite.code
        else:
            code = new_code()
            while code in codes:
                code = new_code()
            codes.add(code)
            if len(new_rows) >= 1000:  # written as they come: 10,000 dicts at once cost ~10 MB
                await repo.insert_invites(session=session, rows=new_rows)
                new_rows.clear()
            new_rows.append(
                {
                    "code": code,
                    "org_id": org_id,
                    "role": person.role,
                    "uses_left": 1,
                    "created_by": actor.id if actor else None,
                    "created_at": now,
                    "person_key": person.key,
                    "person_name": person.name,
                    "party_joined_on": person.joined,
                }
            )
        links.append(PendingLink(person.name, person.org_path, person.role, person.key_label, code))
    await repo.update_rows(session=session, model=Member, rows=member_rows)
    await repo.update_rows(session=session, model=InviteCode, rows=invite_rows)
    await repo.insert_invites(session=session, rows=new_rows)
    if plan.changed:
        await orgs.audit(
            session=session,
            actor=actor,
            action="import.apply",
            object_type="roster",
            detail=summary(plan),
        )
    return ApplyResult(plan, links)


def summary(plan: ImportPlan) -> str:
    """The counts of a plan in one line (plain text)."""
    people = plan.person_changes
    changed = " · ".join(f"{k} {v:,}" for k, v in people.items())
    return (
        f"组织：新建 {plan.count('orgs', 'create'):,} · 调整类型 {plan.count('orgs', 'change'):,} · "
        f"不变 {plan.count('orgs', 'same'):,}；"
        f"人员：新建 {plan.count('people', 'create'):,}"
        + (f" · {changed}" if changed else "")
        + f" · 不变 {plan.count('people', 'same'):,}；有问题的行 {len(plan.bad):,}"
    )


def kind_label(kind: str) -> str:
    return ORG_KIND_NAMES.get(kind, kind)


def role_label(role: str) -> str:
    return ROLE_NAMES.get(role, role)


# --- what the user reads -------------------------------------------------------------------------
SHOWN_BAD_ROWS = 20


def preview_lines(plan: ImportPlan, filename: str) -> list[str]:
    """The dry run's answer, as plain text lines (adapters escape them)."""
    where = f" · 工作表「{plan.sheet}」" if plan.sheet else ""
    people = plan.person_changes
    changed = "".join(f" · {k} {v:,}" for k, v in people.items())
    lines = [
        f"预览（尚未导入）：{filename}{where} · {plan.rows:,} 行",
        f"组织：新建 {plan.count('orgs', 'create'):,} · 调整类型 {plan.count('orgs', 'change'):,}"
        f" · 不变 {plan.count('orgs', 'same'):,}",
        f"人员：新建 {plan.count('people', 'create'):,}{changed} · 不变 {plan.count('people', 'same'):,}",
    ]
    if plan.bad:
        lines.append(f"有问题的行 {len(plan.bad):,} 行（不会导入）：")
        lines += [f"· 第{b.number}行：{b.reason}" for b in plan.bad[:SHOWN_BAD_ROWS]]
        if len(plan.bad) > SHOWN_BAD_ROWS:
            lines.append(f"……其余 {len(plan.bad) - SHOWN_BAD_ROWS:,} 行见问题清单")
    if plan.ignored_columns:
        lines.append(f"忽略的列：{'、'.join(plan.ignored_columns[:10])}")
    if not plan.changed:
        lines.append("没有需要导入的变化。")
    return lines


def problems_csv(plan: ImportPlan) -> bytes:
    """Every bad row (行号, 原因) as a CSV Excel opens (UTF-8 with a BOM)."""
    out = ["行号,原因"] + [f'{b.number},"{b.reason.replace(chr(34), chr(34) * 2)}"' for b in plan.bad]
    return ("\ufeff" + "\r\n".join(out) + "\r\n").encode()


def links_workbook(links: list[PendingLink], bot_username: str | None) -> bytes:
    """The sheet of personal links for the office to send out: one row per person not bound yet."""
    import io

    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("邀请链接")
    sheet.append(["姓名", "组织", "身份", "手机号/工号", "邀请码", "邀请链接"])
    for link in links:
        url = f"https://t.me/{bot_username}?start={link.code}" if bot_username else f"/join {link.code}"
        sheet.append([link.name, link.org_path, role_label(link.role), link.key_label, link.code, url])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()

"""The console's demo organisations.

`seed_demo` creates the console's small organisation once (a root, one branch bound to a group
chat, and the console's people). `build_demo` adds a believable office around it: a 党委, two
党总支, six branches and forty people with eight weeks of check-ins, leave and a few gaps, so the
first digest, readiness view, chart and ledger look like a real one. The look-ups at the end serve
the console (names of chats, a person by name, what a schedule job stands for).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.records import Source, new_records
from bot.recurrence import format_fire, parse_rule
from bot.scheduler import seed_defaults as seed_default_schedules
from bot.services import Services
from bot.target_settings import seed_default_targets
from storage import orgs
from storage import schedules as schedule_repo
from storage import targets as targets_repo
from storage.models import Leave, Member, Org, OrgKind, Target

KIND_LABEL = {"nudge": "提醒", "digest": "工作摘要", "escalation": "督促"}


async def seed_demo(
    services: Services,
    *,
    root: str,
    branch: str,
    people: Iterable[tuple[int, str, bool, str]],
    group_chat_id: int | None = None,
) -> None:
    """Create the root org, its branch and each (telegram id, name, in the root?, role) once; bind
    the branch to `group_chat_id` when it has no group yet."""
    async with services.session() as session:
        root_org = await orgs.get_org_by_name(session=session, name=root)
        if root_org is None:
            root_org = await orgs.create_org(session=session, name=root, kind=OrgKind.committee)
        branch_org = await orgs.get_org_by_name(session=session, name=branch)
        if branch_org is None:
            branch_org = await orgs.create_org(session=session, name=branch, parent=root_org)
        if group_chat_id is not None and branch_org.id not in await orgs.group_counts(session=session):
            if await orgs.get_org_by_group_chat(session=session, chat_id=group_chat_id) is None:
                await orgs.bind_group_chat(
                    session=session, chat_id=group_chat_id, org=branch_org, by=None, now=services.clock.now()
                )
        for telegram_id, name, in_root, role in people:
            if await orgs.get_member(session=session, telegram_id=telegram_id) is None:
                org = root_org if in_root else branch_org
                await orgs.create_member(
                    session=session, telegram_id=telegram_id, name=name, org=org, role=role
                )


# --- the demo office ---------------------------------------------------------------------------
GENERAL_BRANCHES = ("机关党总支", "业务党总支")
BRANCHES = (
    ("第一支部", "机关党总支"),
    ("第二支部", "机关党总支"),
    ("第三支部", "机关党总支"),
    ("第四支部", "业务党总支"),
    ("第五支部", "业务党总支"),
    ("第六支部", "业务党总支"),
)
DEMO_PEOPLE = 40
WEEKS = 8
_SURNAMES = "陈刘杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
_GIVEN = (
    "伟",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "洋",
    "艳",
    "勇",
    "军",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "华",
    "建国",
    "文",
    "慧",
    "海燕",
    "志刚",
    "玉兰",
    "晓东",
)
# What cadres report, by kind: (text, how often a week, on which weekday 0=Mon)
_CADRE_REPORTS = (
    ("今天上午参加支部集中学习，学习党的二十届三中全会精神，1.5小时", 0.8, 2),
    ("下午在社区开展志愿服务，帮助整理图书，2小时", 0.35, 5),
    ("参加主题党日活动，到红色教育基地参观学习", 0.2, 4),
    ("晚上在学习强国自学一小时", 0.3, 0),
    ("走访慰问困难党员两户", 0.12, 3),
)
_SECRETARY_REPORTS = (
    ("主持召开支委会，研究本月发展党员工作，参加5人", 0.25, 1),
    ("组织召开党小组会，参加8人", 0.22, 3),
    ("和新入职同事谈心谈话，了解思想和工作情况", 0.5, 2),
    ("给支部党员讲专题党课，参加12人，1小时", 0.08, 4),
    ("组织主题党日活动，参加15人，开展重温入党誓词", 0.22, 4),
)
_ADMIN_REPORTS = (
    ("召开党委会，研究部署下半年党建工作", 0.3, 0),
    ("对第三支部三会一课落实情况开展专项检查，发现问题2个，已整改1个", 0.15, 2),
    ("到第五支部调研基层党建工作，召开座谈会", 0.12, 3),
)


@dataclass(frozen=True)
class DemoFacts:
    orgs: int
    people: int
    records: int
    leaves: int


def _names(rng: random.Random, taken: set[str], count: int) -> list[str]:
    names: list[str] = []
    while len(names) < count:
        name = rng.choice(_SURNAMES) + rng.choice(_GIVEN)
        if name not in taken:
            taken.add(name)
            names.append(name)
    return names


async def build_demo(
    services: Services,
    *,
    root: str,
    personas: Iterable[tuple[int, str, str, str]],
    seed: int = 16,
) -> DemoFacts | None:
    """The demo office around the console's personas ((telegram id, name, org name, role)); the
    history ends at the services' clock. None, and nothing changed, when the database already
    has the root org (a demo built before, or someone's data)."""
    rng = random.Random(seed)
    now = services.clock.now()
    personas = list(personas)
    async with services.session() as session:
        if await orgs.get_org_by_name(session=session, name=root) is not None:
            return None
    # The default targets and schedules, a weekly study target for cadres and a weekly 督促.
    await seed_default_targets(services)
    await seed_default_schedules(services)
    async with services.session() as session:
        session.add(
            Target(name="理论学习", category="study", count=1, period="week", role="cadre", scope="member")
        )
        rule = parse_rule("每周一9:30")
        await schedule_repo.add_schedule(
            session=session,
            rule_text=rule.label,
            cron=rule.cron,
            special=rule.special,
            timezone=services.settings.timezone,
            kind="escalation",
            holiday_policy="next",
            created_at=now.astimezone(dt.UTC),
        )
    async with services.session() as session:
        root_org = await orgs.create_org(session=session, name=root, kind=OrgKind.committee)
        by_name: dict[str, Org] = {root: root_org}
        for name in GENERAL_BRANCHES:
            by_name[name] = await orgs.create_org(
                session=session, name=name, parent=root_org, kind=OrgKind.general_branch
            )
        for name, parent in BRANCHES:
            by_name[name] = await orgs.create_org(session=session, name=name, parent=by_name[parent])

        members: list[Member] = []
        taken = {p[1] for p in personas}
        for telegram_id, name, org_name, role in personas:
            members.append(
                await orgs.create_member(
                    session=session, telegram_id=telegram_id, name=name, org=by_name[org_name], role=role
                )
            )
        others = _names(rng, taken, DEMO_PEOPLE - len(members))
        next_id = 910_001
        has_secretary = {p[2] for p in personas if p[3] == "secretary"}
        # one more person in the 党委's office, a secretary for every branch, cadres spread evenly
        plan: list[tuple[str, str]] = [(root, "cadre")]
        plan += [(name, "secretary") for name, _ in BRANCHES if name not in has_secretary]
        while len(plan) < len(others):
            plan.append((BRANCHES[len(plan) % len(BRANCHES)][0], "cadre"))
        for name, (org_name, role) in zip(others, plan, strict=True):
            members.append(
                await orgs.create_member(
                    session=session, telegram_id=next_id, name=name, org=by_name[org_name], role=role
                )
            )
            next_id += 1

        # Leave: one cadre away for two weeks in the middle, one on leave now.
        cadres = _demo_cadres(members)
        leaves = [
            Leave(
                member_id=cadres[1].id,  # type: ignore[arg-type]
                start=now.date() - dt.timedelta(days=30),
                end=now.date() - dt.timedelta(days=17),
                reason="外出培训",
            ),
            Leave(
                member_id=cadres[10].id,  # type: ignore[arg-type]
                start=now.date() - dt.timedelta(days=4),
                end=now.date() + dt.timedelta(days=10),
                reason="病假",
            ),
        ]
        session.add_all(leaves)
    first = dt.datetime.combine(now.date() - dt.timedelta(days=WEEKS * 7), dt.time(0), tzinfo=now.tzinfo)
    records = await simulate_reports(services, start=first, end=now, built_at=now, personas=True, seed=seed)
    return DemoFacts(orgs=len(by_name), people=len(members), records=records, leaves=len(leaves))


def _demo_cadres(members: Iterable[Member]) -> list[Member]:
    return sorted(
        (m for m in members if m.role == "cadre" and m.telegram_id >= 910_000), key=lambda m: m.telegram_id
    )


async def simulate_reports(
    services: Services,
    *,
    start: dt.datetime,
    end: dt.datetime,
    built_at: dt.datetime,
    personas: bool = False,
    seed: int = 16,
) -> int:
    """The demo office's own reports sent in (start, end], stored as their check-ins would be; how
    many records. Each person's week is drawn from its own seed, so the same week comes out the
    same however time is cut. A few gaps: two cadres stopped three weeks before `built_at`, one
    never reported; nobody reports on leave. The console's people report only in the history
    (`personas`), and its cadre never: what they do is up to whoever types."""
    if end <= start:
        return 0
    tz = end.tzinfo
    async with services.session() as session:
        members = sorted(await orgs.list_members(session=session), key=lambda m: m.telegram_id)
        cadres = _demo_cadres(members)
        quiet_since = {m.id: built_at.date() - dt.timedelta(days=21) for m in cadres[3:5]}
        if len(cadres) > 7:
            quiet_since[cadres[7].id] = dt.date.min
        away = await _leave_days(session, [m.id for m in members if m.id is not None], start, end)
        reports = {"cadre": _CADRE_REPORTS, "secretary": _SECRETARY_REPORTS, "admin": _ADMIN_REPORTS}
        records = 0
        monday = start.date() - dt.timedelta(days=start.date().weekday())
        while monday <= end.date():
            for member in members:
                if member.telegram_id < 910_000 and (not personas or member.role == "cadre"):
                    continue
                rng = random.Random(f"{seed}:{member.telegram_id}:{monday.isoformat()}")
                for index, (text, rate, weekday) in enumerate(reports.get(member.role, _CADRE_REPORTS)):
                    roll, hour, minute = rng.random(), 17 + rng.randrange(4), rng.randrange(60)
                    day = monday + dt.timedelta(days=weekday)
                    sent = dt.datetime.combine(day, dt.time(hour, minute), tzinfo=tz)
                    if roll >= rate or not start < sent <= end:
                        continue
                    if day >= quiet_since.get(member.id, dt.date.max) or (member.id, day) in away:
                        continue
                    source = Source(member.telegram_id, day.toordinal() * 8 + index, text)
                    parsed = services.parser.parse(text, sent).records
                    for record in new_records(member, source, parsed):
                        record.created_at = record.updated_at = sent.astimezone(dt.UTC)
                        session.add(record)
                        records += 1
            monday += dt.timedelta(days=7)
    return records


async def _leave_days(
    session: AsyncSession, member_ids: list[int], start: dt.datetime, end: dt.datetime
) -> set[tuple[int | None, dt.date]]:
    days: set[tuple[int | None, dt.date]] = set()
    day = start.date()
    while day <= end.date():
        for member_id in await targets_repo.members_on_leave(session=session, member_ids=member_ids, on=day):
            days.add((member_id, day))
        day += dt.timedelta(days=1)
    return days


# --- look-ups for the console ------------------------------------------------------------------
async def chat_names(services: Services) -> dict[int, str]:
    """Every member's private chat and every bound group, by name."""
    async with services.session() as session:
        names = {m.telegram_id: m.name for m in await orgs.list_members(session=session)}
        by_id = {org.id: org for org in await orgs.list_orgs(session=session)}
        for chat_id, org_id in await orgs.group_chats(session=session):
            if org_id in by_id:
                names[chat_id] = f"{by_id[org_id].name}群"
    return names


async def member_by_name(services: Services, name: str) -> tuple[int, str, str] | None:
    """(telegram id, name, role) of the member called `name`, or None."""
    async with services.session() as session:
        for member in await orgs.list_members(session=session):
            if member.name == name:
                return member.telegram_id, member.name, member.role
    return None


async def job_label(services: Services, job_name: str, when: dt.datetime) -> str:
    """What a scheduler job stands for, in words: '12月4日 周五 16:00 · 提醒（每周五16:00）'."""
    head = format_fire(when.astimezone(services.settings.tz))
    kind, _, ident = job_name.partition(":")
    if kind == "schedule" and ident.isdigit():
        async with services.session() as session:
            schedule = await schedule_repo.get_schedule(session=session, schedule_id=int(ident))
        if schedule is not None:
            return f"{head} · {KIND_LABEL.get(schedule.kind, schedule.kind)}（{schedule.rule_text}）"
    if kind == "snooze":
        return f"{head} · 稍后提醒"
    if kind == "backup":
        return f"{head} · 夜间备份"
    if kind == "suggest":
        return f"{head} · 规则建议"
    return f"{head} · {job_name}"

"""SPEC.md as extended for issue 11: clause roles, dates, numbers, not-check-ins and the intent.

One table per spec section, one message per row: (text, send time, expected records), a record being
(category, date, participants, duration_min, issues_found, issues_fixed). The sentences are written
for the rules (third-person report register as well as a cadre's first person); none is taken from
the labelled dev sets.
"""

from __future__ import annotations

import datetime as dt

import pytest

from bot.parsing import (
    INTENT_NONE,
    INTENT_NOTICE,
    INTENT_PLAN,
    INTENT_QUESTION,
    INTENT_REPORT,
    Parser,
    ParseResult,
)

FRI = "2026-11-27 10:15"  # a Friday
D = "2026-11-27"  # its day

Row = tuple[str, str, list[tuple]]


def _run(parser: Parser, text: str, ref: str) -> list[tuple]:
    result = parser.parse(text, dt.datetime.fromisoformat(ref))
    return [
        (r.category, r.date.isoformat(), r.participants, r.duration_min, r.issues_found, r.issues_fixed)
        for r in result.records
    ]


def _ids(rows: list) -> list[str]:
    return [row[0][:24] for row in rows]


def _org(day: str = D, people: int | None = None) -> tuple:
    return ("org_life", day, people, None, None, None)


# "One message, several records": framing clauses state a purpose, basis or occasion and make no
# record; their dates and counts still flow.
FRAMING: list[Row] = [
    ("为推动党史学习教育走深走实，11月20日，机关第二党支部开展主题党日活动", FRI, [_org("2026-11-20")]),
    ("按照上级党委部署要求，支部于11月18日召开组织生活会", FRI, [_org("2026-11-18")]),
    (
        "根据年度检查工作安排，11月24日上午，纪委对第三支部开展专项检查，发现问题4个",
        FRI,
        [("inspect", "2026-11-24", None, None, 4, None)],
    ),
    ("在重阳节到来之际，社区党支部组织党员走访慰问高龄老人", FRI, [("service", D, None, None, None, None)]),
    ("以建党节为契机，支部组织党员重温入党誓词", FRI, [_org()]),
    (
        "为进一步加强作风建设，提升服务水平，增强党员宗旨意识，11月25日，支部组织党员到社区开展志愿服务",
        FRI,
        [("service", "2026-11-25", None, None, None, None)],
    ),
    ("随着冬训工作的启动，11月23日，支部召开党员大会", FRI, [_org("2026-11-23")]),
    ("为了营造学习氛围，支部开展读书分享会", FRI, [("study", D, None, None, None, None)]),
    ("围绕巡察反馈问题整改，党委召开专题会议", FRI, [("deploy", D, None, None, None, None)]),
    # 为 before a noun is "for", no purpose: the act stays
    ("为社区老人开展义诊", FRI, [("service", D, None, None, None, None)]),
    # a framing phrase that names a form is no second record either
    (
        "为推进组织生活会查摆问题整改，11月19日，公司党委召开新员工座谈会，30余名新员工参加",
        FRI,
        [("research", "2026-11-19", 30, None, None, None)],
    ),
    # a form named only as what the act is combined with decides nothing
    ("结合本月党日活动的主题，支部组织党员开展志愿服务", FRI, [("service", D, None, None, None, None)]),
]

# Restatements: a later sentence with no new date about the same activity adds its details.
RESTATEMENTS: list[Row] = [
    (
        "11月20日，支部书记为全体党员讲授专题党课。党课围绕新修订的条例展开，参加党员25名",
        FRI,
        [_org("2026-11-20", 25)],
    ),
    (
        "11月24日，局机关举办党务干部培训班。来自各支部的48名党务干部参加培训",
        FRI,
        [("study", "2026-11-24", 48, None, None, None)],
    ),
    (
        "11月25日，支部开展“清洁家园”志愿服务活动。活动中，党员们清理小区垃圾、劝导文明停车",
        FRI,
        [("service", "2026-11-25", None, None, None, None)],
    ),
    (
        "11月26日，召开支部党员大会。会上，支部书记通报了近期党建工作，并开展了批评和自我批评",
        FRI,
        [_org("2026-11-26")],
    ),
    (
        "11月21日，党委召开巡察整改推进会。会议要求各支部要对照问题清单逐项整改",
        FRI,
        [("deploy", "2026-11-21", None, None, None, None)],
    ),
    (
        "11月22日，组织党员观看警示教育片。观看警示教育片后，大家纷纷表示受到深刻教育",
        FRI,
        [("study", "2026-11-22", None, None, None, None)],
    ),
    (
        "11月16日，社区党委召开驻区单位座谈会。街道负责同志参加会议并与大家逐一交心谈心",
        FRI,
        [("research", "2026-11-16", None, None, None, None)],
    ),
    (
        "11月14日，支部组织党员到社区开展志愿服务。活动当天，党员们帮助居民清扫楼道",
        FRI,
        [("service", "2026-11-14", None, None, None, None)],
    ),
    # the activity as subject without a record before it: a record of its own
    ("本次培训由区委组织部主办，共有60余名学员参加", FRI, [("study", D, 60, None, None, None)]),
    # a different activity, or the same form marked as a new occurrence, is a new record
    (
        "11月23日召开支委会，研究发展党员工作。随后召开支部党员大会，表决接收预备党员",
        FRI,
        [_org("2026-11-23"), _org("2026-11-23")],
    ),
    (
        "昨天开展了谈心谈话。今天又与2名党员开展谈心谈话",
        FRI,
        [("talk", "2026-11-26", None, None, None, None), ("talk", D, 2, None, None, None)],
    ),
    # what follows the meeting is no part of it
    (
        "11月20日召开党小组会，参加8人；会后，组长与1名党员开展谈心谈话",
        FRI,
        [_org("2026-11-20", 8), ("talk", "2026-11-20", 1, None, None, None)],
    ),
]

# Listed forms under one act: one record each; listed organisations, people or topics are not.
LISTED: list[Row] = [
    ("今天召开支委会、党小组会和主题党日", FRI, [_org(), _org(), _org()]),
    ("11月22日，支部召开组织生活会和民主评议党员大会", FRI, [_org("2026-11-22"), _org("2026-11-22")]),
    ("召开推进会和部署会", FRI, [("deploy", D, None, None, None, None)] * 2),
    ("对第一、第二党支部开展督查", FRI, [("inspect", D, None, None, None, None)]),
    ("召开专题学习会暨党课报告会", FRI, [_org()]),  # 暨: one combined event
    ("先后多次召开党委会、调度会，研究整改工作", FRI, [("deploy", D, None, None, None, None)]),
]

# A stated number of separate meetings or events makes that many records.
OCCURRENCES: list[Row] = [
    ("11月份开展了3次谈心谈话", FRI, [("talk", "2026-11-01", None, None, None, None)] * 3),
    ("本月开展了3次谈心谈话", FRI, [("talk", D, None, None, None, None)] * 3),
    ("本周一和周三分别召开了两次党小组会", FRI, [_org("2026-11-23"), _org("2026-11-25")]),
    ("上月召开了2次支部委员会", FRI, [_org("2026-10-01")] * 2),
    ("上周三和周五各开了一次党小组会", FRI, [_org("2026-11-18"), _org("2026-11-20")]),
    ("这个月搞了两次主题党日", FRI, [_org()] * 2),
    ("本周召开支委会2次", FRI, [_org()] * 2),
    ("督办了两次", FRI, [("oversee", D, None, None, None, None)]),
    ("多次召开专题会研究整改工作", FRI, [("deploy", D, None, None, None, None)]),
    ("11月份第3次主题党日，到会18人", FRI, [_org(D, 18)]),
    ("开展调研，召开座谈会3场", FRI, [("research", D, None, None, None, None)]),
    (
        "今年以来，该局党组先后召开党组会议12次，专题研究党建工作",
        FRI,
        [("deploy", D, None, None, None, None)],
    ),
]

# A done act and a plan in one sentence keep the done act; a plan cue governs its own act only.
DONE_AND_PLAN: list[Row] = [
    ("今天上午开了党小组会，明天计划开展党课", FRI, [_org()]),
    ("11月26日召开支委会，下周将召开支部党员大会", FRI, [_org("2026-11-26")]),
    ("召开党委会，研究明年工作计划", FRI, [("deploy", D, None, None, None, None)]),
    (
        "昨天召开了座谈会，原计划一个半小时，实际开了两个半小时",
        FRI,
        [("research", "2026-11-26", None, 150, None, None)],
    ),
    (
        "昨天召开民主评议工作会，会议决定此项评议将在12月中旬开展",
        FRI,
        [("deploy", "2026-11-26", None, None, None, None)],
    ),
    (
        "11月16日召开党建工作推进会，安排部署年底前重点任务",
        FRI,
        [("deploy", "2026-11-16", None, None, None, None)],
    ),
    ("明天计划开党课", FRI, []),
    ("计划下周开支委会", FRI, []),
    ("明年一季度将召开民主生活会", FRI, []),
    ("11月30日前完成整改", FRI, []),  # a deadline still ahead
    ("本期学员共40余名新任支部委员，大家将于12月3日到党校报到学习", FRI, []),
]

DATES: list[Row] = [
    ("去年12月开展的党课忘记报了", FRI, [_org("2025-12-01")]),
    ("前年6月开展的主题党日", FRI, [_org("2024-06-01")]),
    ("2025年5月召开了支部党员大会", FRI, [_org("2025-05-01")]),
    ("去年11月5日召开支委会", FRI, [_org("2025-11-05")]),
    ("12日召开支委会", FRI, [_org("2026-11-12")]),
    ("2026年10月，机关党支部开展主题党日活动", FRI, [_org("2026-10-01")]),
    ("11月上旬，支部组织党员开展了2次集中学习", FRI, [("study", "2026-11-01", None, None, None, None)] * 2),
    ("11月19日至21日，举办入党积极分子培训班", FRI, [("study", "2026-11-19", None, None, None, None)]),
    ("19日-21日开展专项督查", FRI, [("inspect", "2026-11-19", None, None, None, None)]),
    ("11月19日—11月21日开展专项督查", FRI, [("inspect", "2026-11-19", None, None, None, None)]),
    # a month that only says which period's meeting it is sets no date
    ("11月份主题党日，参加15人", FRI, [_org(D, 15)]),
    ("督办上月检查发现的问题", FRI, [("oversee", D, None, None, None, None)]),
    # vague times keep the date in force; a deadline is no date of the activity
    ("近日，支部开展谈心谈话", FRI, [("talk", D, None, None, None, None)]),
    ("截至11月底，共开展谈心谈话40人次", FRI, [("talk", D, 40, None, None, None)]),
    (
        "为做好走访工作，在节日前夕，支部党员入户走访慰问，11月20日前已全部完成12户的走访慰问",
        FRI,
        [("service", D, None, None, None, None)],
    ),
]

NUMBERS: list[Row] = [
    ("组织党员30余人开展志愿服务", FRI, [("service", D, 30, None, None, None)]),
    ("百余名党员参加主题党日", FRI, [_org(D, 100)]),
    ("近50名党员参加集中学习", FRI, [("study", D, 50, None, None, None)]),
    ("全区干部近2万人参加警示教育", FRI, [("study", D, 20000, None, None, None)]),
    ("15名党员和3名入党积极分子参加学习", FRI, [("study", D, 18, None, None, None)]),
    ("对排名末两位的支部书记进行约谈", FRI, [("interview", D, None, None, None, None)]),
    ("对考核前三位的支部开展督查", FRI, [("inspect", D, None, None, None, None)]),
    ("开展“十个一”主题党日活动", FRI, [_org()]),
    ("走访慰问了8户困难党员，做到“走访一人、温暖一家”", FRI, [("service", D, None, None, None, None)]),
    (
        "督导组检查发现，所查的3个社区有11个问题",
        FRI,
        [("inspect", D, None, None, 11, None)],
    ),
    ("巡察组发现问题20个，已整改15个", FRI, [("inspect", D, None, None, 20, 15)]),
    ("目前，巡察组已发现问题9个", FRI, [("inspect", D, None, None, 9, None)]),
    ("上轮督查反馈的问题，目前已完成整改18个，未完成2个", FRI, [("oversee", D, None, None, None, 18)]),
]

NOT_A_CHECK_IN: list[tuple[str, str, str]] = [
    # questions without a question mark
    ("下周要不要开支委会", FRI, INTENT_QUESTION),
    ("主题党日活动一般多久开展一次", FRI, INTENT_QUESTION),
    ("组织生活会需要准备哪些材料", FRI, INTENT_QUESTION),
    ("支部党员大会是否需要全体党员参加", FRI, INTENT_QUESTION),
    ("民主评议党员怎么打分", FRI, INTENT_QUESTION),
    ("这周的主题党日准备开展什么内容", FRI, INTENT_QUESTION),
    ("请问组织生活会一年开几次", FRI, INTENT_QUESTION),
    ("11月份的主题党日开了没", FRI, INTENT_QUESTION),
    # notices, directives and requirements addressed to others
    ("各党支部要在12月10日前召开组织生活会", FRI, INTENT_NOTICE),
    ("请各支部于月底前报送主题党日活动记录", FRI, INTENT_NOTICE),
    ("务必按时参加明天的党员大会", FRI, INTENT_NOTICE),
    ("各位党员同志：根据工作安排，定于12月5日召开支部党员大会，请准时参加", FRI, INTENT_NOTICE),
    ("现将《关于开展主题党日活动的实施方案》印发给你们，请认真贯彻落实", FRI, INTENT_NOTICE),
    ("按照上级要求，现就开展本月主题党日活动有关事宜通知如下：", FRI, INTENT_NOTICE),
    ("主题党日活动要突出政治功能，防止形式化", FRI, INTENT_NOTICE),
    ("支部委员会会议一般每月召开一次", FRI, INTENT_NOTICE),
    # headings and theme lines
    ("三是理论学习与业务工作相结合", FRI, INTENT_NOTICE),
    ("关于开展2026年度民主评议党员工作的通知", FRI, INTENT_NOTICE),
    ("主题党日活动方案", FRI, INTENT_REPORT),  # a document named by a form
    ("开展专项检查的目的在于发现问题、解决问题", FRI, INTENT_NOTICE),  # an explanation, not an act
    ("组织生活会前，要认真开展谈心谈话", FRI, INTENT_NOTICE),
    # questions asking how often or whether there is a rule
    ("党课一年讲几次", FRI, INTENT_QUESTION),
    ("支部书记讲党课有没有次数要求", FRI, INTENT_QUESTION),
    # plans about what comes next
    ("今后，我们将进一步加强督促检查", FRI, INTENT_PLAN),
    ("下一步，支部将继续抓好理论学习，定期开展主题党日活动", FRI, INTENT_PLAN),
]


@pytest.mark.parametrize(("text", "ref", "expected"), FRAMING, ids=_ids(FRAMING))
def test_framing_clauses(parser: Parser, text: str, ref: str, expected: list[tuple]) -> None:
    assert _run(parser, text, ref) == expected


@pytest.mark.parametrize(("text", "ref", "expected"), RESTATEMENTS, ids=_ids(RESTATEMENTS))
def test_restatements(parser: Parser, text: str, ref: str, expected: list[tuple]) -> None:
    assert _run(parser, text, ref) == expected


@pytest.mark.parametrize(("text", "ref", "expected"), LISTED, ids=_ids(LISTED))
def test_listed_forms(parser: Parser, text: str, ref: str, expected: list[tuple]) -> None:
    assert _run(parser, text, ref) == expected


@pytest.mark.parametrize(("text", "ref", "expected"), OCCURRENCES, ids=_ids(OCCURRENCES))
def test_counted_occurrences(parser: Parser, text: str, ref: str, expected: list[tuple]) -> None:
    assert _run(parser, text, ref) == expected


@pytest.mark.parametrize(("text", "ref", "expected"), DONE_AND_PLAN, ids=_ids(DONE_AND_PLAN))
def test_plan_scope(parser: Parser, text: str, ref: str, expected: list[tuple]) -> None:
    assert _run(parser, text, ref) == expected


@pytest.mark.parametrize(("text", "ref", "expected"), DATES, ids=_ids(DATES))
def test_dates(parser: Parser, text: str, ref: str, expected: list[tuple]) -> None:
    assert _run(parser, text, ref) == expected


@pytest.mark.parametrize(("text", "ref", "expected"), NUMBERS, ids=_ids(NUMBERS))
def test_numbers(parser: Parser, text: str, ref: str, expected: list[tuple]) -> None:
    assert _run(parser, text, ref) == expected


@pytest.mark.parametrize(("text", "ref", "intent"), NOT_A_CHECK_IN, ids=_ids(NOT_A_CHECK_IN))
def test_not_a_check_in(parser: Parser, text: str, ref: str, intent: str) -> None:
    result = parser.parse(text, dt.datetime.fromisoformat(ref))
    assert result.records == ()
    assert result.intent == intent


INTENTS: list[tuple[str, str, str]] = [
    ("今天召开支委会", FRI, INTENT_REPORT),
    ("今天上午开了党小组会，明天计划开展党课", FRI, INTENT_REPORT),
    ("今天的党课取消了", FRI, INTENT_REPORT),  # an ordinary report of a cancellation
    ("三会一课记录本发下去了", FRI, INTENT_REPORT),  # names the work, reports no activity
    ("《民主评议党员登记表》由各支部自行留存", FRI, INTENT_REPORT),  # a form named in a title only
    ("明天计划开党课", FRI, INTENT_PLAN),
    ("下周组织党员志愿服务", FRI, INTENT_PLAN),
    ("下周要不要开支委会", FRI, INTENT_QUESTION),  # a question wins over the future word
    ("支委会记录要上传吗", FRI, INTENT_QUESTION),
    ("各党支部要按时开展主题党日", FRI, INTENT_NOTICE),
    ("早上好", FRI, INTENT_NONE),
    ("👍👍", FRI, INTENT_NONE),
    ("", FRI, INTENT_NONE),
]


@pytest.mark.parametrize(("text", "ref", "intent"), INTENTS, ids=_ids(INTENTS))
def test_intent(parser: Parser, text: str, ref: str, intent: str) -> None:
    assert parser.parse(text, dt.datetime.fromisoformat(ref)).intent == intent


def test_intent_constants_and_default() -> None:
    assert (INTENT_REPORT, INTENT_PLAN, INTENT_QUESTION, INTENT_NOTICE, INTENT_NONE) == (
        "report",
        "plan",
        "question",
        "notice",
        "none",
    )
    # Built by hand (the chat layer's fallback when parsing fails), a result still has an intent.
    assert ParseResult(records=(), plans=(), cancelled=()).intent == INTENT_NONE

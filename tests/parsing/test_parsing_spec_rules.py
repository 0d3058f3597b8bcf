"""The parser against SPEC.md, one table per rule. A row: text, send time, expected records.

Expected records are (category, date, participants, duration_min, issues_found, issues_fixed).
Sentences here are written for the rules; they are not taken from the labelled dev sets.
"""

from __future__ import annotations

import datetime as dt

import pytest

from bot.parsing import Parser

FRI = "2026-11-27 10:15"  # a Friday
MON = "2026-11-30 09:00"  # the Monday after
NEW_YEAR = "2027-01-04 09:00"

Row = tuple[str, str, list[tuple]]


def _run(parser: Parser, text: str, ref: str) -> list[tuple]:
    result = parser.parse(text, dt.datetime.fromisoformat(ref))
    return [
        (r.category, r.date.isoformat(), r.participants, r.duration_min, r.issues_found, r.issues_fixed)
        for r in result.records
    ]


def _ids(rows: list[Row]) -> list[str]:
    return [text[:24] for text, _, _ in rows]


CATEGORIES: list[Row] = [
    ("召开党委会，研究部署第四季度党建重点工作", FRI, [("deploy", "2026-11-27", None, None, None, None)]),
    ("协调宣传部解决阵地建设经费问题", FRI, [("deploy", "2026-11-27", None, None, None, None)]),
    ("亲自过问信访积案办理进展", FRI, [("oversee", "2026-11-27", None, None, None, None)]),
    ("对群众反映的问题作出批示，要求限期办结", FRI, [("oversee", "2026-11-27", None, None, None, None)]),
    ("组织党员开展专题学习，学习新修订的条例", FRI, [("study", "2026-11-27", None, None, None, None)]),
    ("参加市委党校举办的培训班", FRI, [("study", "2026-11-27", None, None, None, None)]),
    ("召开党小组会，参加7人", FRI, [("org_life", "2026-11-27", 7, None, None, None)]),
    ("和新转正的党员谈心", FRI, [("talk", "2026-11-27", None, None, None, None)]),
    ("对值班缺岗的同志提出批评", FRI, [("criticize", "2026-11-27", None, None, None, None)]),
    ("对履职不力的村支书进行约谈", FRI, [("interview", "2026-11-27", None, None, None, None)]),
    ("带队对物业公司开展暗访", FRI, [("inspect", "2026-11-27", None, None, None, None)]),
    ("到企业开展调研，了解党建工作开展情况", FRI, [("research", "2026-11-27", None, None, None, None)]),
    ("组织党员到养老院开展志愿服务", FRI, [("service", "2026-11-27", None, None, None, None)]),
]

BOUNDARIES: list[Row] = [
    # 1. a named form wins over a generic verb
    ("主题党日集中学习新党章", FRI, [("org_life", "2026-11-27", None, None, None, None)]),
    ("支委会研究接收预备党员工作", FRI, [("org_life", "2026-11-27", None, None, None, None)]),
    ("主题党日组织党员到社区打扫卫生", FRI, [("org_life", "2026-11-27", None, None, None, None)]),
    # 2. party committee meetings that study or arrange work
    ("党组会专题研究意识形态工作", FRI, [("deploy", "2026-11-27", None, None, None, None)]),
    ("召开党委会，传达学习上级精神并研究贯彻意见", FRI, [("deploy", "2026-11-27", None, None, None, None)]),
    # 3. interview > criticize > talk
    ("约谈并批评了一名迟报材料的支部书记", FRI, [("interview", "2026-11-27", 1, None, None, None)]),
    ("先提醒谈话，后又当面批评", FRI, [("criticize", "2026-11-27", None, None, None, None)]),
    ("与3名新任干部开展提醒谈话", FRI, [("talk", "2026-11-27", 3, None, None, None)]),
    # 4. warning education is study; any 党课 is org_life
    ("组织观看警示教育片", FRI, [("study", "2026-11-27", None, None, None, None)]),
    ("讲授警示教育专题党课", FRI, [("org_life", "2026-11-27", None, None, None, None)]),
    # 5. inspection leading to 督促整改 is inspect; following up findings is oversee
    (
        "对食堂开展检查，发现问题3个，督促限期整改",
        FRI,
        [("inspect", "2026-11-27", None, None, 3, None)],
    ),
    ("对上次督查发现的问题跟踪问效", FRI, [("oversee", "2026-11-27", None, None, None, None)]),
    # 6. a form named as object or source decides nothing
    ("督促整改民主生活会查摆的问题", FRI, [("oversee", "2026-11-27", None, None, None, None)]),
    ("通报批评主题党日流于形式的支部", FRI, [("criticize", "2026-11-27", None, None, None, None)]),
    ("巡察组反馈问题已整改完毕，共4项", FRI, [("oversee", "2026-11-27", None, None, None, 4)]),
    ("在党员大会上点名批评2名党员", FRI, [("criticize", "2026-11-27", 2, None, None, None)]),
    ("检查中发现问题3个，已整改2个", FRI, [("inspect", "2026-11-27", None, None, 3, 2)]),
    # 7. 走访慰问 is service; 走访 to listen is research
    ("走访慰问了2名老党员", FRI, [("service", "2026-11-27", 2, None, None, None)]),
    ("走访辖区商户，听取意见建议", FRI, [("research", "2026-11-27", None, None, None, None)]),
]

SPLITTING: list[Row] = [
    (
        "上午召开支委会；下午讲党课，参加20人",
        FRI,
        [
            ("org_life", "2026-11-27", None, None, None, None),
            ("org_life", "2026-11-27", 20, None, None, None),
        ],
    ),
    (
        "1、组织中心组学习；2、对2名干部开展谈心谈话",
        FRI,
        [("study", "2026-11-27", None, None, None, None), ("talk", "2026-11-27", 2, None, None, None)],
    ),
    (
        "一是召开推进会，二是开展专项检查",
        FRI,
        [("deploy", "2026-11-27", None, None, None, None), ("inspect", "2026-11-27", None, None, None, None)],
    ),
    (
        "上周二召开党组会，上周四走访慰问困难群众",
        FRI,
        [("deploy", "2026-11-17", None, None, None, None), ("service", "2026-11-19", None, None, None, None)],
    ),
    (
        "上午约谈1名干部，下午与2名党员谈心",
        FRI,
        [("interview", "2026-11-27", 1, None, None, None), ("talk", "2026-11-27", 2, None, None, None)],
    ),
    # commas otherwise join details of one activity
    ("开展主题党日，学习党章，参加16人，时长1小时", FRI, [("org_life", "2026-11-27", 16, 60, None, None)]),
    # a template: the heading details go to the first activity
    (
        "活动时间：11月20日；活动内容：党小组会；参加人员：9人",
        FRI,
        [("org_life", "2026-11-20", 9, None, None, None)],
    ),
    # a heading that names a form as its subject is no second activity
    (
        "关于11月主题党日开展情况的报告。11月20日下午，支部开展主题党日活动，参加党员19名",
        FRI,
        [("org_life", "2026-11-20", 19, None, None, None)],
    ),
    # a detail after the activity, with its own date
    ("谈心谈话2人，上周一的事", FRI, [("talk", "2026-11-16", 2, None, None, None)]),
    ("上午开展专项检查，发现问题4个。已整改完毕3个", FRI, [("inspect", "2026-11-27", None, None, 4, 3)]),
]

DATES: list[Row] = [
    ("昨天召开支委会", FRI, [("org_life", "2026-11-26", None, None, None, None)]),
    ("前天召开支委会", FRI, [("org_life", "2026-11-25", None, None, None, None)]),
    ("昨晚组织学习", FRI, [("study", "2026-11-26", None, None, None, None)]),
    ("今晚组织学习", FRI, [("study", "2026-11-27", None, None, None, None)]),
    ("周三召开支委会", FRI, [("org_life", "2026-11-25", None, None, None, None)]),
    ("周五召开支委会", FRI, [("org_life", "2026-11-27", None, None, None, None)]),
    ("星期六召开支委会", FRI, [("org_life", "2026-11-21", None, None, None, None)]),
    ("礼拜天召开支委会", MON, [("org_life", "2026-11-29", None, None, None, None)]),
    ("本周二召开支委会", FRI, [("org_life", "2026-11-24", None, None, None, None)]),
    ("上周五召开支委会", MON, [("org_life", "2026-11-27", None, None, None, None)]),
    ("上星期一召开支委会", FRI, [("org_life", "2026-11-16", None, None, None, None)]),
    ("11月3日召开支委会", FRI, [("org_life", "2026-11-03", None, None, None, None)]),
    ("11月3号召开支委会", FRI, [("org_life", "2026-11-03", None, None, None, None)]),
    ("11.3 召开支委会", FRI, [("org_life", "2026-11-03", None, None, None, None)]),
    ("11-3 召开支委会", FRI, [("org_life", "2026-11-03", None, None, None, None)]),
    ("2026年11月3日召开支委会", FRI, [("org_life", "2026-11-03", None, None, None, None)]),
    ("2026-11-03 召开支委会", FRI, [("org_life", "2026-11-03", None, None, None, None)]),
    ("2026.11.3 召开支委会", FRI, [("org_life", "2026-11-03", None, None, None, None)]),
    # a heading that names a week sets it for weekdays named without a prefix
    (
        "上周工作小结：\n1. 周二召开党委会；\n2. 周四组织中心组学习",
        FRI,
        [("deploy", "2026-11-17", None, None, None, None), ("study", "2026-11-19", None, None, None, None)],
    ),
    # a bare day of the month: this month's, or last month's when it would lie ahead
    ("本月3号召开支委会", FRI, [("org_life", "2026-11-03", None, None, None, None)]),
    ("28日召开支委会", FRI, [("org_life", "2026-10-28", None, None, None, None)]),
    ("上月20日召开支委会", FRI, [("org_life", "2026-10-20", None, None, None, None)]),
    # a month-day after the send day belongs to the previous year
    ("12月28日召开支委会", NEW_YEAR, [("org_life", "2026-12-28", None, None, None, None)]),
    # the date in force carries on; 同日 is that day
    (
        "11月20日召开支委会；下午开展谈心谈话；同日走访慰问老党员",
        FRI,
        [
            ("org_life", "2026-11-20", None, None, None, None),
            ("talk", "2026-11-20", None, None, None, None),
            ("service", "2026-11-20", None, None, None, None),
        ],
    ),
    # a decimal length is not a date
    ("组织专题学习，时长1.5小时", FRI, [("study", "2026-11-27", None, 90, None, None)]),
]

NUMBERS: list[Row] = [
    ("召开党员大会，参加三十二人", FRI, [("org_life", "2026-11-27", 32, None, None, None)]),
    ("开展谈心谈话，共谈话4人次", FRI, [("talk", "2026-11-27", 4, None, None, None)]),
    ("带着两个党员去敬老院做志愿服务", FRI, [("service", "2026-11-27", 2, None, None, None)]),
    ("与5名党员谈心谈话", FRI, [("talk", "2026-11-27", 5, None, None, None)]),
    ("走访了8户群众，听取意见", FRI, [("research", "2026-11-27", None, None, None, None)]),
    ("对4个支部开展督查", FRI, [("inspect", "2026-11-27", None, None, None, None)]),
    ("开展民意调查，回收问卷90份", FRI, [("inspect", "2026-11-27", None, None, None, None)]),
    ("跟两个入党积极分子谈了谈", FRI, [("talk", "2026-11-27", 2, None, None, None)]),
    ("召开支部大会，发展了2名新党员", FRI, [("org_life", "2026-11-27", None, None, None, None)]),
    ("与李某谈话", FRI, [("talk", "2026-11-27", None, None, None, None)]),
    ("召开党员大会，应到30人，实到27人", FRI, [("org_life", "2026-11-27", 27, None, None, None)]),
    # people counted as absent or at fault are not those taking part
    ("召开党员大会，应到30人，实到27人，3人请假", FRI, [("org_life", "2026-11-27", 27, None, None, None)]),
    ("开展主题党日，缺席2人，到会18人", FRI, [("org_life", "2026-11-27", 18, None, None, None)]),
    ("开展主题党日，2人请假", FRI, [("org_life", "2026-11-27", None, None, None, None)]),
    ("组织集中学习，其中2人迟到", FRI, [("study", "2026-11-27", None, None, None, None)]),
    ("检查支部组织生活落实情况，发现3人未按时参加", FRI, [("inspect", "2026-11-27", None, None, None, None)]),
    (
        "召开支部党员大会，参加党员20名，选出优秀党员2名",
        FRI,
        [("org_life", "2026-11-27", 20, None, None, None)],
    ),
    ("组织集中学习两小时", FRI, [("study", "2026-11-27", None, 120, None, None)]),
    ("组织集中学习一个半小时", FRI, [("study", "2026-11-27", None, 90, None, None)]),
    ("组织集中学习半小时", FRI, [("study", "2026-11-27", None, 30, None, None)]),
    ("组织集中学习，时长：45分钟", FRI, [("study", "2026-11-27", None, 45, None, None)]),
    ("14:30-16:00召开支委会", FRI, [("org_life", "2026-11-27", None, 90, None, None)]),
    ("下午2点到4点半召开支委会", FRI, [("org_life", "2026-11-27", None, 150, None, None)]),
    ("深入社区蹲点调研两天", FRI, [("research", "2026-11-27", None, None, None, None)]),
    ("开展专项检查，指出4个问题", FRI, [("inspect", "2026-11-27", None, None, 4, None)]),
    ("开展专项检查，发现问题6处，当场整改3处", FRI, [("inspect", "2026-11-27", None, None, 6, 3)]),
    ("开展专项检查，发现问题5个，已全部整改", FRI, [("inspect", "2026-11-27", None, None, 5, 5)]),
    ("督办巡察反馈问题，已全部整改", FRI, [("oversee", "2026-11-27", None, None, None, None)]),
    ("督办巡察反馈问题，已整改", FRI, [("oversee", "2026-11-27", None, None, None, None)]),
    ("督办巡察反馈问题，已销号2个", FRI, [("oversee", "2026-11-27", None, None, None, 2)]),
    ("组织党员观看红色电影，来了20多人", FRI, [("study", "2026-11-27", 20, None, None, None)]),
    ("对食堂开展暗访，发现问题隐患3起", FRI, [("inspect", "2026-11-27", None, None, 3, None)]),
    # ordinals and months are no counts and no dates
    ("本月第2次主题党日，到会18人", FRI, [("org_life", "2026-11-27", 18, None, None, None)]),
]

PLANS_AND_CANCELLATIONS: list[Row] = [
    ("明天召开支委会", FRI, []),
    ("下周组织党员志愿服务", FRI, []),
    ("计划下月开展民主评议党员", FRI, []),
    ("拟于12月5日召开组织生活会", FRI, []),
    ("将于近期开展专项检查", FRI, []),
    ("准备召开党员大会", FRI, []),
    ("今天的党课取消了", FRI, []),
    ("各位党员：本周六上午9点召开党员大会", FRI, []),  # dated after the send day
    ("2026年12月5日召开组织生活会", FRI, []),
    ("本周支委会未召开", FRI, []),
    ("原定的主题党日没有开展", FRI, []),
    # 计划 and 准备 as nouns are no plan cues
    ("召开党委会，研究年度工作计划", FRI, [("deploy", "2026-11-27", None, None, None, None)]),
    ("召开党组会，研究部署民主生活会准备工作", FRI, [("deploy", "2026-11-27", None, None, None, None)]),
    # a cancellation cue that describes someone is no cancellation
    ("对推迟交纳党费的党员进行批评", FRI, [("criticize", "2026-11-27", None, None, None, None)]),
    ("对没有开展主题党日的支部进行通报批评", FRI, [("criticize", "2026-11-27", None, None, None, None)]),
    # a date that is the content of a meeting is no plan
    ("昨晚开了个支委会，定了下个月主题党日的安排", FRI, [("org_life", "2026-11-26", None, None, None, None)]),
    ("召开党委会，研究部署下周工作", FRI, [("deploy", "2026-11-27", None, None, None, None)]),
    # a plan clause gives nothing, the activity beside it stays
    (
        "今天召开支委会。下周将开展主题党日",
        FRI,
        [("org_life", "2026-11-27", None, None, None, None)],
    ),
]

NOT_A_CHECK_IN: list[Row] = [
    ("早上好", FRI, []),
    ("请问主题党日怎么报？", FRI, []),
    ("支委会记录要上传吗", FRI, []),
    ("最近工作太多了，忙不过来", FRI, []),
    ("收到，谢谢", FRI, []),
    ("各支部请于本周五前完成主题党日活动", FRI, []),
    ("提醒：本周五前报送支委会会议记录", FRI, []),
    ("关于主题党日开展情况的报告", FRI, []),
    ("三会一课记录本发下去了", FRI, []),
    ("培训通知已转发各支部", FRI, []),
    ("关于开展“三会一课”专项检查的通知", FRI, []),
    ("最近检查太多了，基层压力很大", FRI, []),
    ("这个月的谈心谈话还没完成", FRI, []),
    ("", FRI, []),
    ("👍👍", FRI, []),
]


@pytest.mark.parametrize(("text", "ref", "expected"), CATEGORIES, ids=_ids(CATEGORIES))
def test_categories(parser: Parser, text: str, ref: str, expected: list[tuple]) -> None:
    assert _run(parser, text, ref) == expected


@pytest.mark.parametrize(("text", "ref", "expected"), BOUNDARIES, ids=_ids(BOUNDARIES))
def test_boundary_rules(parser: Parser, text: str, ref: str, expected: list[tuple]) -> None:
    assert _run(parser, text, ref) == expected


@pytest.mark.parametrize(("text", "ref", "expected"), SPLITTING, ids=_ids(SPLITTING))
def test_one_record_per_activity(parser: Parser, text: str, ref: str, expected: list[tuple]) -> None:
    assert _run(parser, text, ref) == expected


@pytest.mark.parametrize(("text", "ref", "expected"), DATES, ids=_ids(DATES))
def test_dates(parser: Parser, text: str, ref: str, expected: list[tuple]) -> None:
    assert _run(parser, text, ref) == expected


@pytest.mark.parametrize(("text", "ref", "expected"), NUMBERS, ids=_ids(NUMBERS))
def test_numbers(parser: Parser, text: str, ref: str, expected: list[tuple]) -> None:
    assert _run(parser, text, ref) == expected


@pytest.mark.parametrize(
    ("text", "ref", "expected"), PLANS_AND_CANCELLATIONS, ids=_ids(PLANS_AND_CANCELLATIONS)
)
def test_plans_and_cancellations(parser: Parser, text: str, ref: str, expected: list[tuple]) -> None:
    assert _run(parser, text, ref) == expected


@pytest.mark.parametrize(("text", "ref", "expected"), NOT_A_CHECK_IN, ids=_ids(NOT_A_CHECK_IN))
def test_not_a_check_in(parser: Parser, text: str, ref: str, expected: list[tuple]) -> None:
    assert _run(parser, text, ref) == expected


def test_plans_and_cancellations_are_reported(parser: Parser) -> None:
    ref = dt.datetime.fromisoformat(FRI)
    result = parser.parse("今天的党课取消了。明天召开支委会。昨天开展谈心谈话", ref)
    assert result.cancelled == ("今天的党课取消了",)
    assert result.plans == ("明天召开支委会",)
    assert [r.category for r in result.records] == ["talk"]


def test_record_keeps_keyword_and_span(parser: Parser) -> None:
    text = "上午召开支委会；下午给党员讲党课，参加20人"
    result = parser.parse(text, dt.datetime.fromisoformat(FRI))
    assert [r.keyword for r in result.records] == ["支委会", "党课"]
    assert [text[slice(*r.span)] for r in result.records] == ["上午召开支委会", "下午给党员讲党课，参加20人"]


def test_aware_send_time_uses_its_local_day(parser: Parser) -> None:
    from zoneinfo import ZoneInfo

    ref = dt.datetime(2026, 11, 27, 0, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert parser.parse("昨天召开支委会", ref).records[0].date == dt.date(2026, 11, 26)

"""Who sees what: a secretary their subtree, a cadre their own records, an admin everything."""

from __future__ import annotations

import io

import pytest
from digest_world import ADMIN, PARTY_SEC, SEC1, STRANGER, ZHANG, seed_world
from openpyxl import load_workbook

REFUSED_SEC1 = "您只能查看「第一支部」及下级组织。"
REFUSED_CADRE = "您可以查看自己的记录；组织情况请向本支部书记了解。"
NOT_MEMBER = "您还没有加入组织"

# (user, [what /digest, /digest 上周 第一支部, … 第二支部, … 第一党委 show])
DIGEST_MATRIX = [
    (ADMIN, ["第一党委", "第一支部", "第二支部", "第一党委"]),
    (PARTY_SEC, ["第一党委", "第一支部", "第二支部", "第一党委"]),
    (SEC1, ["第一支部", "第一支部", REFUSED_SEC1, REFUSED_SEC1]),
    (ZHANG, ["张三（第一支部）", "张三（第一支部）", REFUSED_CADRE, REFUSED_CADRE]),
    (STRANGER, [NOT_MEMBER] * 4),
]
REQUESTS = ["/digest", "/digest 上周 第一支部", "/digest 上周 第二支部", "/digest 上周 第一党委"]


@pytest.mark.parametrize(("user", "expected"), DIGEST_MATRIX, ids=lambda v: getattr(v, "first_name", ""))
async def test_digest_matrix(harness, user, expected) -> None:
    await seed_world(harness)
    for request, want in zip(REQUESTS, expected, strict=True):
        text = harness.replies(await harness.send(user, request))[0].text
        if want.startswith(("您", NOT_MEMBER)):
            assert text.startswith(want), (request, text)
        else:
            assert text.startswith(f"📊 <b>{want}</b> · 11月16日—22日"), (request, text)


EVERYONE_SILENT = {"管理员", "<b>李四</b>", "钱五", "孙六"}
# (user, names in the November ledger or None when refused, names on the silent sheet)
EXPORT_MATRIX = [
    (ADMIN, ["王书记", "张三", "张三", "李书记", "李书记", "赵书记"], EVERYONE_SILENT),
    (PARTY_SEC, ["王书记", "张三", "张三", "李书记", "李书记", "赵书记"], EVERYONE_SILENT),
    (SEC1, ["张三", "张三", "李书记", "李书记"], {"<b>李四</b>"}),
    (ZHANG, ["张三", "张三"], set()),
    (STRANGER, None, None),
]


@pytest.mark.parametrize(
    ("user", "names", "silent"), EXPORT_MATRIX, ids=lambda v: getattr(v, "first_name", "")
)
async def test_export_matrix(harness, user, names, silent) -> None:
    await seed_world(harness)
    calls = await harness.send(user, "/export 2026-11")
    documents = harness.replies(calls, "sendDocument")
    if names is None:
        assert documents == []
        assert NOT_MEMBER in harness.replies(calls)[0].text
        return
    assert len(documents) == 1
    workbook = load_workbook(io.BytesIO(documents[0].files["document"][1]))
    ledger = [row[1] for row in workbook["台账"].iter_rows(min_row=2, values_only=True)]
    assert ledger == names
    assert {row[1] for row in workbook["未报告"].iter_rows(min_row=2, values_only=True)} == silent


@pytest.mark.parametrize(
    ("user", "org", "refusal"),
    [(SEC1, "第二支部", REFUSED_SEC1), (ZHANG, "第一党委", REFUSED_CADRE), (SEC1, "第一党委", REFUSED_SEC1)],
)
async def test_export_and_readiness_refuse_outside_the_subtree(harness, user, org, refusal) -> None:
    await seed_world(harness)
    calls = await harness.send(user, f"/export 本月 {org}")
    assert harness.replies(calls, "sendDocument") == []
    assert harness.replies(calls)[0].text == refusal
    assert harness.replies(await harness.send(user, f"/readiness 2026 {org}"))[0].text == refusal

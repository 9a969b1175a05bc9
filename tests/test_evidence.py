"""The evidence stage: what a branch's records show, rule by rule, against the checklist."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from pathlib import Path

import pytest

from xlflow import constants as K
from xlflow import ledger
from xlflow.campaign import Campaign
from xlflow.checklist import RULE_TYPES, Category, Checklist, Indicator, Rule, load_checklist
from xlflow.evidence import (FAIL, NA, PASS, PENDING, RULES, VERDICTS, Evidence, ReturnData, check_return, from_checked,
                             from_ledger, mismatches, periods, return_date, verdict_of)
from xlflow.settings import Settings

from helpers import sample_returns

ROOT = Path(__file__).resolve().parent.parent
CHECKLIST = load_checklist(ROOT / "templates" / "checklist.yaml")
SETTINGS = Settings()  # campaign 2019-01-01 .. 2019-12-31
CAMPAIGN = Campaign(CHECKLIST, SETTINGS)
NOV20 = dt.date(2019, 11, 20)
AFTER = dt.date(2020, 1, 10)  # the year is over: yearly requirements are due
MEETING, COMMITTEE, GROUP, LECTURE, THEME_DAY, LIFE, REVIEW, STUDY = K.ACTIVITY_TYPES
FULL, PROBATIONARY = K.MEMBER_CATEGORIES
D = dt.date


def member(i: int, category: str = FULL, **kw) -> dict:
    return {"_row": 3 + i, "name": f"党员{i}", "category": category, "group": None, "study_hours": 40,
            "dues_months": 11, "last_life": D(2019, 11, 10), "evaluation": "合格", **kw}


def activity(date: dt.date, kind: str, **kw) -> dict:
    return {"_row": 0, "date": date, "type": kind, "topic": kind, "presenter": "书记", "expected": 8,
            "actual": 8, "secretary_lecture": None, **kw}


def clean_activities() -> list[dict]:
    """A branch with a committee that met every requirement up to 11-20, November included."""
    rows = []
    for m in range(1, 12):
        rows += [activity(D(2019, m, 5), THEME_DAY), activity(D(2019, m, 6), COMMITTEE)]
    for m in (2, 5, 8, 11):
        rows += [activity(D(2019, m, 10), MEETING), activity(D(2019, m, 12), LECTURE, secretary_lecture=m == 5)]
    rows += [activity(D(2019, 3, 15), LIFE), activity(D(2019, 3, 16), REVIEW)]
    for n, row in enumerate(sorted(rows, key=lambda r: r["date"])):
        row["_row"] = 3 + n
    return sorted(rows, key=lambda r: r["date"])


def make(as_of: dt.date = NOV20, members: list[dict] | None = None, activities: list[dict] | None = None,
         activists: list[dict] | None = None, **basic) -> ReturnData:
    b = {"type": K.BRANCH_TYPES[0], "full_members": 8, "probationary_members": 0, "has_committee": True,
         "committee_size": 3, "secretary": "书记", "election_date": D(2018, 5, 1), "groups": 0,
         "venue": K.VENUE_KINDS[0], "secretary_trained": True, "filled_on": as_of, **basic}
    return ReturnData(b, [member(i) for i in range(8)] if members is None else members,
                      clean_activities() if activities is None else activities, activists or [],
                      {}, [], as_of)


def rule_ev(data: ReturnData, rule: str, activity: str | None = None) -> Evidence:
    found = [e for e in check_return(data, CAMPAIGN) if e.rule == rule
             and (activity is None or e.requirement.split("：")[-1].startswith(activity))]
    assert len(found) == 1, found
    return found[0]


def without(kind: str, *months: int) -> list[dict]:
    return [a for a in clean_activities() if not (a["type"] == kind and a["date"].month in months)]


# ---- a clean return -------------------------------------------------------------------------------

def test_clean_return_has_one_evidence_per_rule_and_nothing_wrong():
    ev = check_return(make(), CAMPAIGN)
    assert [(e.indicator, e.rule) for e in ev] == [(i.code, r.type) for i in CHECKLIST.indicators for r in i.rules]
    assert all(e.verdict in VERDICTS and e.measured and e.requirement for e in ev)
    assert {e.verdict for e in ev} <= {PASS, NA}
    assert [e.rule for e in ev if e.verdict == NA] == ["frequency", "activist_reports", "activist_review"]


# ---- min_full_members, committee, branch_size ------------------------------------------------------

def test_min_full_members_counts_the_roster_not_probationary():
    data = make(members=[member(0), member(1), member(2, PROBATIONARY), member(3, PROBATIONARY)])
    e = rule_ev(data, "min_full_members")
    assert (e.verdict, e.measured) == (FAIL, "正式党员 2 人")
    assert e.rows == ("党员名册 第 3-4 行",)
    assert rule_ev(make(members=[member(i) for i in range(3)]), "min_full_members").verdict == PASS


@pytest.mark.parametrize("full, has, size, verdict, detail", [
    (8, True, 4, FAIL, "单数"),  # even
    (7, True, 5, PASS, ""),
    (9, True, 7, PASS, "多于一般的 3-5 人"),  # allowed, but noted
    (12, True, 9, FAIL, "3-7 人"),
    (8, True, 1, FAIL, "3-7 人"),
    (6, False, 0, PASS, "不足 7 人"),  # a secretary is enough
    (8, False, 0, FAIL, "应设支委会"),
    (7, False, 0, FAIL, "应设支委会"),  # the threshold itself requires a committee
    (4, True, 5, FAIL, "多于正式党员"),  # 预备党员 cannot be elected
])
def test_committee(full, has, size, verdict, detail):
    data = make(members=[member(i) for i in range(full)], has_committee=has, committee_size=size or None)
    e = rule_ev(data, "committee")
    assert e.verdict == verdict
    assert detail in e.detail
    assert e.rows[:2] == ("基本信息!B9", "基本信息!B10")  # the template's cells when not read from a file


@pytest.mark.parametrize("n, groups, verdict", [(30, 0, PASS), (31, 0, FAIL), (31, 2, PASS)])
def test_branch_size(n, groups, verdict):
    e = rule_ev(make(members=[member(i) for i in range(n)], groups=groups), "branch_size")
    assert (e.verdict, e.measured.split("，")[0]) == (verdict, f"党员 {n} 人")


# ---- term, training, venue --------------------------------------------------------------------------

@pytest.mark.parametrize("elected, verdict", [
    (D(2016, 5, 1), FAIL), (D(2016, 11, 20), PASS), (D(2016, 11, 19), FAIL), (D(2017, 3, 1), PASS)])
def test_term(elected, verdict):
    e = rule_ev(make(election_date=elected), "term")
    assert e.verdict == verdict
    if elected == D(2016, 5, 1):
        assert e.detail == "任期已于 2019-05-01 届满，尚未换届"


def test_term_ending_later_this_year_is_noted_and_leap_day_is_handled():
    assert "应于 2019-12-15 前换届" in rule_ev(make(election_date=D(2016, 12, 15)), "term").detail
    assert "2019-02-28 任期届满" in rule_ev(make(election_date=D(2016, 2, 29)), "term").measured


def test_secretary_training_is_yearly():
    assert rule_ev(make(), "secretary_training").verdict == PASS
    assert rule_ev(make(secretary_trained=False), "secretary_training").verdict == PENDING
    assert rule_ev(make(AFTER, secretary_trained=False), "secretary_training").verdict == FAIL


def test_venue():
    assert rule_ev(make(venue=K.VENUE_KINDS[1]), "venue").verdict == PASS
    e = rule_ev(make(venue=K.VENUE_KINDS[-1]), "venue")
    assert (e.verdict, e.rows) == (FAIL, ("基本信息!B16",))


# ---- frequency ---------------------------------------------------------------------------------------

def test_quarter_without_members_meeting_is_named():
    e = rule_ev(make(activities=without(MEETING, 8)), "frequency", MEETING)
    assert (e.verdict, e.measured, e.detail) == (FAIL, "第一季度至第三季度中有 2 个季度召开", "缺 第三季度")
    assert e.requirement == "支部党员大会每季度至少 1 次"
    assert e.rows == ("三会一课 第 7、17、33 行",)  # the meetings counted: February, May, November


def test_missing_months_are_listed():
    e = rule_ev(make(), "frequency", THEME_DAY)
    assert (e.verdict, e.measured, e.detail) == (PASS, "1月至10月每月均开展", "")
    e = rule_ev(make(activities=without(THEME_DAY, 3, 7)), "frequency", THEME_DAY)
    assert (e.verdict, e.measured, e.detail) == (FAIL, "1月至10月中有 8 个月开展", "缺 3月、7月")


def test_the_running_month_is_not_required_until_it_is_over():
    acts = without(THEME_DAY, 11)
    for as_of, verdict in [(NOV20, PASS), (D(2019, 11, 30), PASS), (D(2019, 12, 1), FAIL)]:
        e = rule_ev(make(as_of, activities=acts), "frequency", THEME_DAY)
        assert e.verdict == verdict, as_of
    assert rule_ev(make(D(2019, 12, 1), activities=acts), "frequency", THEME_DAY).detail == "缺 11月"
    # a quarterly rule in the second month of the first quarter: nothing due yet
    early = make(D(2019, 2, 10), activities=[])
    e = rule_ev(early, "frequency", MEETING)
    assert (e.verdict, e.detail) == (PENDING, "第一季度结束前还需召开 1 次")
    done_early = make(D(2019, 2, 10), activities=[activity(D(2019, 2, 1), MEETING, _row=3)])
    assert rule_ev(done_early, "frequency", MEETING).verdict == PASS


def test_committee_meetings_only_when_there_is_a_committee():
    no_committee = make(members=[member(i) for i in range(6)], has_committee=False, committee_size=None,
                        activities=without(COMMITTEE, *range(1, 13)))
    e = rule_ev(no_committee, "frequency", COMMITTEE)
    assert (e.verdict, e.measured) == (NA, "未设支委会")
    e = rule_ev(make(activities=without(COMMITTEE, 3)), "frequency", COMMITTEE)
    assert (e.verdict, e.detail) == (FAIL, "缺 3月")


def test_group_meetings_only_when_there_are_groups_and_per_group():
    assert rule_ev(make(groups=0), "frequency", GROUP).verdict == NA
    one_a_month = clean_activities() + [activity(D(2019, m, 20), GROUP, _row=100 + m) for m in range(1, 11)]
    assert rule_ev(make(groups=1, activities=one_a_month), "frequency", GROUP).verdict == PASS
    e = rule_ev(make(groups=2, activities=one_a_month), "frequency", GROUP)
    assert (e.verdict, e.measured) == (FAIL, "1月至10月均未召开满 2 次")
    assert "2 个共 2 次" in e.requirement and e.detail.startswith("缺 1月（仅 1 次）")
    two = one_a_month + [activity(D(2019, m, 21), GROUP, _row=200 + m) for m in range(1, 11)]
    assert rule_ev(make(groups=2, activities=two), "frequency", GROUP).verdict == PASS


def test_yearly_meeting_is_pending_until_the_year_is_over():
    acts = without(LIFE, 3)
    e = rule_ev(make(activities=acts), "frequency", LIFE)
    assert (e.verdict, e.measured, e.detail) == (PENDING, "2019年尚未结束，已召开 0 次", "2019年结束前还需召开 1 次")
    e = rule_ev(make(AFTER, activities=acts), "frequency", LIFE)
    assert (e.verdict, e.measured, e.detail) == (FAIL, "2019年未召开", "缺 2019年")
    assert rule_ev(make(), "frequency", LIFE).verdict == PASS  # done already: 符合 before the year ends


def test_secretary_lecture():
    e = rule_ev(make(), "secretary_lecture")
    assert (e.verdict, e.rows) == (PASS, ("三会一课 第 18 行",))
    none = [{**a, "secretary_lecture": False} for a in clean_activities()]
    assert rule_ev(make(activities=none), "secretary_lecture").verdict == PENDING
    e = rule_ev(make(AFTER, activities=none), "secretary_lecture")
    assert (e.verdict, e.requirement) == (FAIL, "支部书记每年至少讲党课 1 次")
    # a 是 on another activity type is not a 党课
    other = none + [activity(D(2019, 6, 1), MEETING, secretary_lecture=True, _row=99)]
    assert rule_ev(make(AFTER, activities=other), "secretary_lecture").verdict == FAIL


# ---- activists -------------------------------------------------------------------------------------

def activist(name: str, designated: dt.date, last_review: dt.date | None = None, reports: int = 3, row=3) -> dict:
    return {"_row": row, "name": name, "designated": designated, "last_review": last_review, "reports": reports}


def test_activist_reports_scale_with_quarters_over_since_designation():
    assert rule_ev(make(), "activist_reports").verdict == NA
    data = make(activists=[activist("甲", D(2018, 9, 1), D(2019, 10, 1), 2, row=3),
                           activist("乙", D(2019, 5, 1), D(2019, 10, 1), 1, row=4),  # owes only Q3
                           activist("丙", D(2018, 9, 1), D(2019, 10, 1), 3, row=5)])
    e = rule_ev(data, "activist_reports")
    assert (e.verdict, e.detail, e.rows) == (FAIL, "甲 2/3 次", ("入党积极分子 第 3 行 甲",))
    assert e.measured == "3 名积极分子中 2 名按期汇报（已过 3 个季度）"


def test_activist_review():
    assert rule_ev(make(), "activist_review").verdict == NA
    data = make(activists=[
        activist("甲", D(2019, 1, 10), None, row=3),  # designated long ago, never reviewed
        activist("乙", D(2019, 9, 1), None, row=4),  # designated within 6 months: not yet due
        activist("丙", D(2018, 1, 1), D(2019, 4, 20), row=5),  # 7 months ago
        activist("丁", D(2018, 1, 1), D(2019, 5, 20), row=6),  # exactly 6 months: still within
    ])
    e = rule_ev(data, "activist_review")
    assert e.verdict == FAIL
    assert e.detail == "甲 确定为积极分子后未考察、丙 最近考察 2019-04-20"
    assert e.rows == ("入党积极分子 第 3 行 甲", "入党积极分子 第 5 行 丙")


# ---- members ---------------------------------------------------------------------------------------

def test_study_hours_names_members_below_and_is_yearly():
    members = [member(0), member(1, study_hours=31.5), member(2, study_hours=32)]
    e = rule_ev(make(AFTER, members=members), "study_hours")
    assert (e.verdict, e.detail, e.rows) == (FAIL, "党员1 31.5 学时", ("党员名册 第 4 行 党员1",))
    assert e.measured == "3 名党员中 2 名达到 32 学时"
    e = rule_ev(make(members=members), "study_hours")
    assert (e.verdict, e.detail) == (PENDING, "年度未结束，尚未达到：党员1 31.5 学时")
    assert rule_ev(make(members=[member(0)]), "study_hours").verdict == PASS


def test_dues_count_the_months_over():
    members = [member(0, dues_months=11), member(1, dues_months=10)]
    e = rule_ev(make(D(2019, 12, 5), members=members), "dues")
    assert (e.verdict, e.detail) == (FAIL, "党员1 10/11 个月")
    assert e.measured == "已过 11 个月，2 名党员中 1 名足月缴纳"
    assert rule_ev(make(NOV20, members=members), "dues").verdict == PASS  # Jan–Oct only


@pytest.mark.parametrize("last, verdict", [
    (D(2019, 4, 20), FAIL), (D(2019, 5, 19), FAIL), (D(2019, 5, 20), PASS), (D(2019, 6, 20), PASS)])
def test_org_life_gap(last, verdict):
    e = rule_ev(make(members=[member(0), member(1, last_life=last)]), "org_life_gap")
    assert e.verdict == verdict
    if verdict == FAIL:
        assert e.detail == f"党员1 最近一次 {last:%Y-%m-%d}" and e.rows == ("党员名册 第 4 行 党员1",)


# ---- summaries -------------------------------------------------------------------------------------

def ev(code: str, verdict: str) -> Evidence:
    return Evidence(code, "x", "m", "r", verdict)


def test_verdict_of():
    evidence = [ev("A", PASS), ev("A", FAIL), ev("B", NA), ev("B", NA), ev("C", PASS), ev("C", NA),
                ev("D", PASS), ev("D", PENDING), ev("E", NA), ev("E", PENDING)]
    assert [verdict_of(c, evidence) for c in "ABCDEF"] == [FAIL, NA, PASS, PENDING, PENDING, ""]


def test_mismatches_flag_full_self_rating_against_failed_rule():
    data = make(activities=without(MEETING, 8), venue=K.VENUE_KINDS[-1], secretary_trained=False)
    evidence = check_return(data, CAMPAIGN)
    ratings = {i.code: "达标" for i in CHECKLIST.indicators} | {"ZD01": "基本达标"}
    assert mismatches(evidence, ratings, CHECKLIST) == ["ZJ02"]  # ZD01 admitted; BZ04 only pending


# ---- periods, dates, data-driven -------------------------------------------------------------------

def test_every_rule_type_has_a_judge():
    assert set(RULES) == set(RULE_TYPES)


def test_periods_labels_and_clipping():
    assert [p.label for p in periods("quarter", D(2019, 1, 1), D(2019, 12, 31))] == \
        ["第一季度", "第二季度", "第三季度", "第四季度"]
    ps = periods("half", D(2019, 9, 1), D(2020, 8, 31))
    assert [(p.label, p.first, p.last) for p in ps] == [
        ("2019年下半年", D(2019, 9, 1), D(2019, 12, 31)), ("2020年上半年", D(2020, 1, 1), D(2020, 6, 30)),
        ("2020年下半年", D(2020, 7, 1), D(2020, 8, 31))]
    assert periods("month", D(2019, 1, 1), D(2019, 12, 31))[1].last == D(2019, 2, 28)


def test_return_date_is_the_earlier_of_filled_and_received():
    assert return_date(D(2019, 11, 20), D(2019, 11, 25)) == D(2019, 11, 20)
    assert return_date(D(2019, 12, 20), dt.datetime(2019, 11, 25, 9)) == D(2019, 11, 25)
    assert return_date("2019-11-20", dt.datetime(2019, 11, 25, 9)) == D(2019, 11, 20)  # as the ledger stores it
    assert return_date(None, D(2019, 11, 25)) == D(2019, 11, 25)


def test_parameters_come_from_the_checklist():
    def one(rule: Rule) -> Checklist:
        ind = Indicator("X01", "X", 1, "测试", "测试", 100.0, (rule,))
        return replace(CHECKLIST, categories=(Category("X", "测试", "测试", 100.0, (ind,)),))

    data = make(AFTER, members=[member(0, study_hours=36)])
    assert check_return(data, Campaign(one(Rule("study_hours", (("min", 32),))), SETTINGS))[0].verdict == PASS
    e = check_return(data, Campaign(one(Rule("study_hours", (("min", 40),))), SETTINGS))[0]
    assert (e.verdict, e.requirement) == (FAIL, "党员每年集中学习培训不少于 40 学时")
    half = Rule("frequency", (("activity", MEETING), ("min", 2), ("per", "half")))
    e = check_return(make(), Campaign(one(half), SETTINGS))[0]
    assert (e.verdict, e.measured, e.requirement) == (PASS, "上半年召开 2 次", "支部党员大会每半年至少 2 次")


# ---- the whole path: a sample workbook, read, validated, checked; the ledger round trip ---------------

@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    done = sample_returns(tmp_path_factory.mktemp("evidence"), CAMPAIGN)
    for _, checked in done:
        assert checked.report.valid, checked.report.errors[:3]
    return done


def test_sample_branches_are_mostly_compliant_and_overrating_is_flagged(samples):
    verdicts, flagged = [], 0
    full = CHECKLIST.ratings[0].name
    for _, checked in samples:
        data = from_checked(checked)
        assert data.as_of == checked.basic["filled_on"]  # the sample saves after it fills in
        evidence = check_return(data, CAMPAIGN)
        verdicts += [e.verdict for e in evidence]
        found = mismatches(evidence, data.self_ratings, CHECKLIST)
        for code in found:
            assert data.self_ratings[code] == full and verdict_of(code, evidence) == FAIL
        flagged += len(found)
        for e in evidence:  # every reference points into the workbook's sheets
            assert all(r.split("!")[0].split(" ")[0] in {t for t, _ in K.TABLES.values()} | {K.SHEET_BASIC}
                       for r in e.rows)
    assert verdicts.count(PASS) >= 0.75 * len(verdicts)
    assert verdicts.count(FAIL) <= 0.15 * len(verdicts)
    assert flagged >= 1  # the sample over-rates itself now and then, and it shows


def test_ledger_round_trip_gives_the_same_evidence(samples, tmp_path):
    conn = ledger.open_ledger(tmp_path / "ledger.sqlite")
    for n, (path, c) in enumerate(samples[:3]):
        rec = ledger.FileRecord(sha256=f"{n:064d}", original_name=path.name, size=1,
                                arrived_at=dt.datetime(2019, 12, 1, 9), outcome=ledger.ACCEPTED,
                                stored_as=f"inbox/accepted/{path.name}", branch_code=f"{c.branch.code}-{n}",
                                kind=K.KIND_BRANCH, content_hash=c.content_hash)
        ledger.record(conn, rec, [], {"code": c.branch.code, "name": c.branch.name, "general": c.branch.general,
                                      **c.basic}, c.tables)
        rid = conn.execute("SELECT id FROM returns ORDER BY id DESC LIMIT 1").fetchone()[0]
        stored, direct = from_ledger(conn, rid), from_checked(c)
        assert stored.as_of == direct.as_of
        assert isinstance(stored.basic["election_date"], dt.date) and isinstance(stored.basic["has_committee"], bool)
        assert stored.members == direct.members and stored.activities == direct.activities
        assert stored.self_ratings == direct.self_ratings
        assert check_return(stored, CAMPAIGN) == check_return(direct, CAMPAIGN)
    conn.close()


def test_counts_read_as_a_clerk_writes_them():
    """“14 名党员均足月缴纳”, never “14 名党员中 14 名”, nor “中 0 名”."""
    texts = [e.measured for e in check_return(make(), CAMPAIGN)]
    assert any(re.fullmatch(r"已过 10 个月，\d+ 名党员均足月缴纳", t) for t in texts), texts
    assert not [t for t in texts if re.search(r"(\d+) 名\w+中 \1 名|中 0 名|(\d+) 个\w+中 \2 个", t)], texts

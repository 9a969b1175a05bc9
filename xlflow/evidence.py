"""stage: one branch's accepted return (basic info + tables) + checklist rules → what the records show,
indicator by indicator

Each evidence rule of checklist.yaml is judged by a small function chosen by the rule's type; every
number (3 members, 6 months, 32 hours…) comes from the rule's parameters. The result is an Evidence
per rule, in Chinese, for the 初验/复验 reviewers, next to the branch's own self-rating.

Verdicts:
  符合    the records meet the requirement, as far as it is due
  不符合  they do not (a reviewer should look)
  不适用  the rule cannot apply to this branch: no 支委会, no 党小组, no 入党积极分子
  未到期  a yearly requirement not met yet while its year is still running. Deliberately not
          不适用: that is also a self-rating which takes an indicator out of scoring, whereas here
          the branch still owes it before the year ends.

Time: only the periods of the campaign (settings.period_start..period_end) that are over by the
return's date (`as_of`: its 填表日期, or the date it arrived if earlier) are required. A period is
over once as_of is after its last day; on the last day itself it is still running (the meeting
may be held that evening), so a return dated 11-20 or 11-30 is judged on Jan–Oct, Q1–Q3, H1.
Records in a running period still count: done early is 符合. Yearly requirements (per: year, the
secretary's lecture, the training, the 学时) are thus due once the year is over; before that they
are 符合 if already met, else 未到期 with what is missing. Counted fields scale with the periods
passed: 党费 months paid ≥ months over, an activist's reports ≥ quarters over since designation.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from dateutil.relativedelta import relativedelta

from xlflow import constants as K
from xlflow import ledger
from xlflow.ledger import ledger_date
from xlflow.campaign import Campaign
from xlflow.checklist import Checklist, Rule
from xlflow.settings import Settings

PASS, FAIL, NA, PENDING = "符合", "不符合", "不适用", "未到期"
VERDICTS = (PASS, FAIL, NA, PENDING)

FULL_MEMBER = K.MEMBER_CATEGORIES[0]  # 正式党员
LECTURE = K.ACTIVITY_TYPES[3]  # 党课
NO_VENUE = K.VENUE_KINDS[-1]  # 暂无固定场所

_SPAN = {"month": 1, "quarter": 3, "half": 6, "year": 12}  # months per period
_UNIT = {"month": "个月", "quarter": "个季度", "half": "个半年", "year": "年"}
_EVERY = {"month": "每月", "quarter": "每季度", "half": "每半年", "year": "每年"}
_WHEN = {"committee": ("设支委会的支部", "未设支委会"), "groups": ("设党小组的支部", "未设党小组")}


@dataclass(frozen=True, slots=True)  # 50 per return, all of them held by the results of a campaign
class Evidence:
    indicator: str  # indicator code, e.g. ZJ02
    rule: str  # rule type, e.g. frequency
    measured: str  # what the records show, e.g. "第一季度至第三季度中有 2 个季度召开"
    requirement: str  # e.g. "支部党员大会每季度至少 1 次"
    verdict: str  # one of VERDICTS
    rows: tuple[str, ...] = ()  # where it came from: "三会一课 第 5、9 行", "党员名册 第 7 行 张三"
    detail: str = ""  # e.g. "缺 3月、7月"


@dataclass
class ReturnData:
    basic: dict
    members: list[dict]
    activities: list[dict]
    activists: list[dict]
    self_ratings: dict[str, str]  # indicator code -> rating
    problems: list[dict]
    as_of: dt.date
    cells: dict[str, str] = field(default_factory=dict)  # basic key -> "B9" when read from the workbook


# ---- building ReturnData ------------------------------------------------------------------------

def return_date(filled_on, received: dt.date | None = None) -> dt.date:
    """The date a return is judged at (and speaks for): its 填表日期 (a date, or ISO text as the
    ledger stores it), unless it arrived earlier (records cannot be newer than the file)."""
    dates = [d for d in (ledger_date(filled_on), ledger_date(received)) if d is not None]
    return min(dates)  # neither: ValueError


def from_checked(checked, as_of: dt.date | None = None) -> ReturnData:
    """A validated return (validate.Checked) as ReturnData; as_of defaults to return_date()."""
    t = checked.tables
    saved = checked.raw.saved_at.date() if checked.raw.saved_at else None
    return ReturnData(dict(checked.basic), t.get("members", []), t.get("activities", []), t.get("activists", []),
                      {r["code"]: r["rating"] for r in t.get("self", [])}, t.get("problems", []),
                      as_of or return_date(checked.basic.get("filled_on"), saved), dict(checked.raw.basic_cells))


@functools.cache
def _kinds() -> dict[str, dict[str, str]]:
    """table -> field -> kind (date, yesno…), from the field table: one source of the types."""
    return {t: {f.key: f.kind for f in fs} for t, fs in K.FIELDS.items()}


_FROM_SQL: dict[str, Callable[[object], object]] = {"date": ledger_date, "yesno": bool}  # ISO text, 0/1


def _typed(table: str, row: dict) -> dict:
    kinds = _kinds()[table]
    return {"_row" if k == "row" else k: _FROM_SQL[kinds[k]](v) if v is not None and kinds.get(k) in _FROM_SQL else v
            for k, v in row.items() if k != "return_id"}


def from_ledger(conn, return_id: int, as_of: dt.date | None = None) -> ReturnData:
    """Read one accepted return from the ledger (ISO text → date, 0/1 → bool)."""
    def rows(table: str) -> list[dict]:
        return [_typed(table, r) for r in ledger.return_rows(conn, return_id, table)]

    basic = next(iter(rows("basic")), {})
    if as_of is None:  # results.py passes it: then the arrival need not be looked up
        as_of = return_date(basic.get("filled_on"), ledger.received_at(conn, return_id))
    return ReturnData(basic, rows("members"), rows("activities"), rows("activists"),
                      {r["code"]: r["rating"] for r in rows("self")}, rows("problems"), as_of)


# ---- periods and references ------------------------------------------------------------------

class Period(NamedTuple):
    label: str  # e.g. 第三季度
    first: dt.date
    last: dt.date


def _months_later(d: dt.date, n: int) -> dt.date:
    """d moved n calendar months (n may be negative); the 31st becomes the month's last day."""
    return d + relativedelta(months=n)


def _month_end(y: int, m: int) -> dt.date:
    return dt.date(y, m, 1) + relativedelta(months=1, days=-1)


def _index(per: str, d: dt.date) -> int:
    return (d.year * 12 + d.month - 1) // _SPAN[per]


@functools.lru_cache(maxsize=64)
def periods(per: str, start: dt.date, end: dt.date) -> tuple[Period, ...]:
    """The calendar months/quarters/halves/years of the campaign period, clipped to it."""
    span, several = _SPAN[per], start.year != end.year
    out = []
    for k in range(_index(per, start), _index(per, end) + 1):
        y, m0 = divmod(k * span, 12)
        label = {"month": f"{m0 + 1}月", "quarter": f"第{'一二三四'[m0 // 3]}季度",
                 "half": ("上半年", "下半年")[m0 // 6], "year": f"{y}年"}[per]
        if several and per != "year":
            label = f"{y}年{label}"
        out.append(Period(label, max(dt.date(y, m0 + 1, 1), start), min(_month_end(y, m0 + span), end)))
    return tuple(out)


def _due(per: str, settings: Settings, as_of: dt.date) -> list[Period]:
    return [p for p in periods(per, settings.period_start, settings.period_end) if p.last < as_of]


def _row_ref(sheet: str, rows) -> str:
    """'三会一课 第 5、9、12-15 行': runs of consecutive rows are shown as ranges."""
    rows = sorted(set(rows))
    runs: list[list[int]] = []  # [first, last] of each run of consecutive rows
    for r in rows:
        if runs and r == runs[-1][1] + 1:
            runs[-1][1] = r
        else:
            runs.append([r, r])
    text = "、".join(f"{a}" if a == b else f"{a}-{b}" for a, b in runs)
    return f"{sheet} 第 {text} 行" if rows else ""


def _who(sheet: str, rows: list[dict]) -> tuple[str, ...]:
    return tuple(f"{sheet} 第 {r['_row']} 行 {r.get('name') or ''}".rstrip() for r in rows)


# ---- the rules: (rule, data, ctx) -> fields of an Evidence ----------------------------------------

@dataclass
class _Ctx:
    settings: Settings
    full: list[dict]  # 正式党员 rows of the roster
    has_committee: bool
    groups: int
    year_over: bool  # the campaign year is over by as_of: yearly requirements are due

    def basic_ref(self, data: ReturnData, *keys: str) -> tuple[str, ...]:
        first = K.BASIC_FIRST_ROW + len(K.BASIC_IDENTITY_FIELDS)  # the template's layout, if not read
        return tuple(f"{K.SHEET_BASIC}!{data.cells.get(k) or f'B{first + list(K.BASIC_FIELDS).index(k)}'}"
                     for k in keys)


def _ev(verdict: str, measured: str, requirement: str, rows=(), detail: str = "") -> dict:
    return {"verdict": verdict, "measured": measured, "requirement": requirement,
            "rows": tuple(r for r in rows if r), "detail": detail}


def _share(n: int, k: int, who: str, what: str) -> str:
    """As a clerk counts: 14 名党员均足月缴纳 (all), 14 名党员中 12 名足月缴纳 (some), 均未 (none)."""
    if k == n:
        return f"{n} 名{who}均{what}"
    return f"{n} 名{who}均未{what}" if k == 0 else f"{n} 名{who}中 {k} 名{what}"


def _yearly(ok: bool, c: _Ctx) -> str:
    return PASS if ok else FAIL if c.year_over else PENDING


def _min_full_members(rule: Rule, d: ReturnData, c: _Ctx) -> dict:
    n, need = len(c.full), rule.get("min")
    return _ev(PASS if n >= need else FAIL, f"正式党员 {n} 人", f"正式党员 {need} 人以上",
               (_row_ref(K.SHEET_MEMBERS, [m["_row"] for m in c.full]),),
               "" if n >= need else f"不足 {need} 人，应与相近单位联合设立党支部")


def _committee(rule: Rule, d: ReturnData, c: _Ctx) -> dict:
    th, lo, usual, hi, odd = (rule.get(k) for k in ("threshold", "min", "usual_max", "max", "odd"))
    n, size = len(c.full), int(d.basic.get("committee_size") or 0)
    req = f"正式党员 {th} 人以上设支委会，一般 {lo}-{usual} 人，最多 {hi} 人" + ("，委员人数为单数" if odd else "")
    rows = (*c.basic_ref(d, "has_committee", "committee_size"), _row_ref(K.SHEET_MEMBERS, [m["_row"] for m in c.full]))
    if not c.has_committee:
        if n >= th:
            return _ev(FAIL, f"正式党员 {n} 人，未设支委会", req, rows, f"正式党员达到 {th} 人，应设支委会")
        return _ev(PASS, f"正式党员 {n} 人，未设支委会", req, rows, f"正式党员不足 {th} 人，设书记即可")
    wrong = []
    if not lo <= size <= hi:
        wrong.append(f"委员人数应在 {lo}-{hi} 人之间")
    if odd and size % 2 == 0:
        wrong.append("委员人数应为单数")
    if size > n:  # 预备党员 have no right to be elected: every member of the committee is a full member
        wrong.append("委员人数多于正式党员人数")
    measured = f"正式党员 {n} 人，支委会委员 {size} 人"
    if wrong:
        return _ev(FAIL, measured, req, rows, "；".join(wrong))
    return _ev(PASS, measured, req, rows, f"委员 {size} 人，多于一般的 {lo}-{usual} 人" if size > usual else "")


def _branch_size(rule: Rule, d: ReturnData, c: _Ctx) -> dict:
    n, usual = len(d.members), rule.get("usual_max")
    req, rows = f"党员一般在 {usual} 人以内，人数较多的设党小组", c.basic_ref(d, "groups")
    if n <= usual:
        return _ev(PASS, f"党员 {n} 人", req, rows)
    if c.groups >= 1:
        return _ev(PASS, f"党员 {n} 人，设党小组 {c.groups} 个", req, rows, f"超过 {usual} 人，已设党小组")
    return _ev(FAIL, f"党员 {n} 人，未设党小组", req, rows, f"超过 {usual} 人，应设党小组")


def _term(rule: Rule, d: ReturnData, c: _Ctx) -> dict:
    years, elected = rule.get("years"), d.basic.get("election_date")
    req, rows = f"每届任期 {years} 年，期满按时换届", c.basic_ref(d, "election_date")
    if not isinstance(elected, dt.date):
        return _ev(FAIL, "未填写选举日期", req, rows)
    ends = _months_later(elected, 12 * years)
    measured = f"{elected:%Y-%m-%d} 选举，{ends:%Y-%m-%d} 任期届满"
    if d.as_of > ends:
        return _ev(FAIL, measured, req, rows, f"任期已于 {ends:%Y-%m-%d} 届满，尚未换届")
    soon = ends <= c.settings.period_end  # worth a word to the reviewer: 换届 is due this year
    return _ev(PASS, measured, req, rows, f"本年度内任期届满，应于 {ends:%Y-%m-%d} 前换届" if soon else "")


def _secretary_training(rule: Rule, d: ReturnData, c: _Ctx) -> dict:
    done = bool(d.basic.get("secretary_trained"))
    verdict = _yearly(done, c)
    return _ev(verdict, "书记本年度已参加集中轮训" if done else "书记本年度未参加集中轮训",
               f"书记每年参加集中轮训 {rule.get('per_year')} 次", c.basic_ref(d, "secretary_trained"),
               "年底前参加轮训即可" if verdict == PENDING else "")


def _venue(rule: Rule, d: ReturnData, c: _Ctx) -> dict:
    venue = d.basic.get("venue") or NO_VENUE
    return _ev(FAIL if venue == NO_VENUE else PASS, venue, "有相对固定的党员活动场所", c.basic_ref(d, "venue"))


def _periodic(items: list[tuple[dt.date, int]], per: str, need: int, what: str, verb: str,
              d: ReturnData, c: _Ctx) -> tuple[str, str, tuple[str, ...], str]:
    """(verdict, measured, rows, detail) of 'at least `need` per period' over dated records."""
    s = c.settings
    ps = periods(per, s.period_start, s.period_end)
    k0, counts, used = _index(per, ps[0].first), [0] * len(ps), []
    for day, row in items:
        i = _index(per, day) - k0
        if 0 <= i < len(ps) and ps[i].first <= day <= ps[i].last:
            counts[i] += 1
            used.append(row)
    rows = (_row_ref(K.SHEET_ACTIVITIES, used),)
    due = [i for i, p in enumerate(ps) if p.last < d.as_of]
    short = [i for i in due if counts[i] < need]
    verb_n = verb if need == 1 else f"{verb}满 {need} 次"
    # worded as a clerk would: "1月至10月每月均召开", "第一季度至第三季度中有 2 个季度召开"
    if due and (per == "year" or len(due) == 1):
        measured = "、".join(f"{ps[i].label}{verb} {counts[i]} 次" if counts[i] else f"{ps[i].label}未{verb}"
                            for i in due)
    elif due:
        span, met = f"{ps[due[0]].label}至{ps[due[-1]].label}", len(due) - len(short)
        measured = (f"{span}{_EVERY[per]}均{verb_n}" if not short else f"{span}均未{verb_n}" if not met
                    else f"{span}中有 {met} {_UNIT[per]}{verb_n}")
    if short:
        missing = "、".join(ps[i].label + (f"（仅 {counts[i]} 次）" if counts[i] else "") for i in short)
        return FAIL, measured, rows, f"缺 {missing}"
    if due:
        return PASS, measured, rows, ""
    # nothing is over yet: only the running period can speak (done early, or still owed)
    now = next((i for i, p in enumerate(ps) if p.first <= d.as_of <= p.last), len(ps) - 1)
    measured = f"{ps[now].label}尚未结束，已{verb} {counts[now]} 次"
    if counts[now] >= need:
        return PASS, measured, rows, ""
    return PENDING, measured, rows, f"{ps[now].label}结束前还需{verb} {need - counts[now]} 次"


def _frequency(rule: Rule, d: ReturnData, c: _Ctx) -> dict:
    what, per, need, when = rule.get("activity"), rule.get("per"), rule.get("min"), rule.get("when")
    req = f"{what}{_EVERY[per]}至少 {need} 次"
    if when:
        held = {"committee": c.has_committee, "groups": c.groups >= 1}[when]
        if not held:
            return _ev(NA, _WHEN[when][1], f"{_WHEN[when][0]}：{req}", c.basic_ref(d, "has_committee"
                       if when == "committee" else "groups"))
        req = f"{_WHEN[when][0]}：{req}"
        if when == "groups" and c.groups > 1:  # the minimum is per 党小组: each group meets
            req, need = f"{req}（每个党小组，{c.groups} 个共 {need * c.groups} 次）", need * c.groups
    items = [(a["date"], a["_row"]) for a in d.activities if a.get("type") == what and a.get("date")]
    verdict, measured, rows, detail = _periodic(items, per, need, what, "召开" if what.endswith("会") else "开展",
                                                d, c)
    return _ev(verdict, measured, req, rows, detail)


def _secretary_lecture(rule: Rule, d: ReturnData, c: _Ctx) -> dict:
    need = rule.get("per_year")
    items = [(a["date"], a["_row"]) for a in d.activities
             if a.get("type") == LECTURE and a.get("secretary_lecture") and a.get("date")]
    verdict, measured, rows, detail = _periodic(items, "year", need, "书记讲党课", "讲党课", d, c)
    return _ev(verdict, measured, f"支部书记每年至少讲党课 {need} 次", rows, detail)


def _activist_reports(rule: Rule, d: ReturnData, c: _Ctx) -> dict:
    per, need = rule.get("per"), rule.get("min")
    req = f"入党积极分子{_EVERY[per]}至少汇报 {need} 次"
    if not d.activists:
        return _ev(NA, "没有入党积极分子", req)
    due, short = _due(per, c.settings, d.as_of), []
    for a in d.activists:
        # periods that began after the activist was designated (no report owed for earlier ones)
        since = a.get("designated") or dt.date.min
        owed, got = need * sum(1 for p in due if p.first >= since), a.get("reports") or 0
        if got < owed:
            short.append((a, got, owed))
    n = len(d.activists)
    return _ev(FAIL if short else PASS, _share(n, n - len(short), "积极分子", "按期汇报") + f"（已过 {len(due)} {_UNIT[per]}）",
               req, _who(K.SHEET_ACTIVISTS, [a for a, _, _ in short]),
               "、".join(f"{a['name']} {got}/{owed} 次" for a, got, owed in short))


def _study_hours(rule: Rule, d: ReturnData, c: _Ctx) -> dict:
    need, n = rule.get("min"), len(d.members)
    low = [m for m in d.members if (m.get("study_hours") or 0) < need]
    verdict = _yearly(not low, c)
    names = "、".join(f"{m['name']} {m.get('study_hours') or 0:g} 学时" for m in low)
    return _ev(verdict, _share(n, n - len(low), "党员", f"达到 {need} 学时"), f"党员每年集中学习培训不少于 {need} 学时",
               _who(K.SHEET_MEMBERS, low), f"年度未结束，尚未达到：{names}" if verdict == PENDING else names)


def _dues(rule: Rule, d: ReturnData, c: _Ctx) -> dict:
    months, n = len(_due("month", c.settings, d.as_of)), len(d.members)
    short = [m for m in d.members if (m.get("dues_months") or 0) < months]
    return _ev(FAIL if short else PASS, f"已过 {months} 个月，" + _share(n, n - len(short), "党员", "足月缴纳"),
               "党员按月缴纳党费", _who(K.SHEET_MEMBERS, short),
               "、".join(f"{m['name']} {m.get('dues_months') or 0}/{months} 个月" for m in short))


def _activist_review(rule: Rule, d: ReturnData, c: _Ctx) -> dict:
    months = rule.get("months")
    req = f"每 {months} 个月对积极分子考察 1 次"
    if not d.activists:
        return _ev(NA, "没有入党积极分子", req)
    since = _months_later(d.as_of, -months)
    # never reviewed is fine while the activist was designated within the window
    late = [a for a in d.activists if (a.get("last_review") or a.get("designated") or dt.date.min) < since]
    n = len(d.activists)
    detail = "、".join(f"{a['name']} 最近考察 {a['last_review']:%Y-%m-%d}" if a.get("last_review")
                      else f"{a['name']} 确定为积极分子后未考察" for a in late)
    return _ev(FAIL if late else PASS, _share(n, n - len(late), "积极分子", f"在 {since:%Y-%m-%d} 之后考察过"),
               req, _who(K.SHEET_ACTIVISTS, late), detail)


def _org_life_gap(rule: Rule, d: ReturnData, c: _Ctx) -> dict:
    months = rule.get("months")
    req = f"无党员连续 {months} 个月不参加组织生活"
    if not d.members:
        return _ev(NA, "党员名册为空", req)
    since = _months_later(d.as_of, -months)
    gone = [m for m in d.members if not m.get("last_life") or m["last_life"] < since]
    detail = "、".join(f"{m['name']} 最近一次 {m['last_life']:%Y-%m-%d}" if m.get("last_life")
                      else f"{m['name']} 未填写" for m in gone)
    return _ev(FAIL if gone else PASS, _share(len(d.members), len(d.members) - len(gone), "党员", f"在 {since:%Y-%m-%d} 之后参加过组织生活"),
               req, _who(K.SHEET_MEMBERS, gone), detail)


# rule type -> its judge, keyed as checklist.RULE_TYPES (the one table of rule types; a test keeps them in step)
RULES = {"min_full_members": _min_full_members, "committee": _committee, "branch_size": _branch_size, "term": _term,
         "secretary_training": _secretary_training, "venue": _venue, "frequency": _frequency,
         "secretary_lecture": _secretary_lecture, "activist_reports": _activist_reports, "study_hours": _study_hours,
         "dues": _dues, "activist_review": _activist_review, "org_life_gap": _org_life_gap}


# ---- the stage ---------------------------------------------------------------------------------

def check_return(data: ReturnData, campaign: Campaign) -> list[Evidence]:
    """One Evidence per rule of every indicator, in checklist order."""
    checklist, settings = campaign.checklist, campaign.settings
    b = data.basic
    ctx = _Ctx(settings, [m for m in data.members if m.get("category") == FULL_MEMBER],
               bool(b.get("has_committee")), int(b.get("groups") or 0), data.as_of > settings.period_end)
    return [Evidence(ind.code, rule.type, **RULES[rule.type](rule, data, ctx))
            for ind in checklist.indicators for rule in ind.rules]


def verdict_of(indicator_code: str, evidence: list[Evidence]) -> str:
    """One verdict for an indicator's rules: 不符合 > 未到期 > 符合 > 不适用 (all rules not applicable).
    An indicator without evidence rules gets "" (the records say nothing about it)."""
    got = {e.verdict for e in evidence if e.indicator == indicator_code}
    return next((v for v in (FAIL, PENDING, PASS, NA) if v in got), "")


def mismatches(evidence: list[Evidence], self_ratings: dict[str, str], checklist: Checklist) -> list[str]:
    """Indicators self-rated at the full rating (达标) although a rule says 不符合: 自评与记录不符."""
    full = max((r for r in checklist.ratings if r.factor is not None), key=lambda r: r.factor or 0.0).name
    failed = {e.indicator for e in evidence if e.verdict == FAIL}
    return [i.code for i in checklist.indicators if i.code in failed and self_ratings.get(i.code) == full]

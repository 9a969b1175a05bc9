"""stage: this year's results + the earlier years' (history) → the road travelled, branch by branch (pure)

For the master's 历年对比 sheet and the 三年总结: each year's score, 等次, stage and 样板 per branch and
per 总支; the indicators a branch brought up to 达标 this year (改进) or let slip (退步); indicators
with a problem again after one last year (重复问题); problems opened, closed and overdue.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from xlflow import constants as K
from xlflow.ledger import ledger_date
from xlflow.results import BranchResult, Results

DONE = K.PROBLEM_STATUS[-1]


@dataclass(frozen=True)
class YearMark:
    total: float | None  # None: no accepted return that year
    grade: str
    stage: str
    model: bool  # 样板 named that year (or held from before)


@dataclass
class Road:
    code: str
    name: str
    general: str
    years: dict[int, YearMark] = field(default_factory=dict)
    improved: list[str] = field(default_factory=list)  # indicator codes 达标 now, not last year
    declined: list[str] = field(default_factory=list)
    repeated: list[str] = field(default_factory=list)  # indicators with a problem both years
    opened: int = 0  # problems raised this year
    closed: int = 0  # carried problems 已完成 this year
    overdue: int = 0  # open problems past their deadline


def _full(results: Results) -> str:
    return results.params.factors[0][0]  # the first rating (达标) counts in full


def _marks(results: Results) -> dict[str, YearMark]:
    by = {r.branch.code: r for r in results.branches}
    out = {}
    for code, st in results.standings.items():
        r = by.get(code)
        out[code] = YearMark(r.score.total if r else None, r.score.grade if r else "", st.stage,
                             bool(st.model or st.model_since))
    return out


def _frozen(marks: dict[str, dict]) -> dict[str, YearMark]:
    return {c: YearMark(m.get("total"), m.get("grade") or "", m.get("stage") or "", bool(m.get("model")))
            for c, m in marks.items()}


def roads(current: Results, year: int, marks: dict[int, dict[str, dict]], today: dt.date) -> list[Road]:
    """One Road per branch of this year's roster, in roster order. marks: the earlier years' frozen
    marks (results.marks, register.year_marks), with the ratings used and the indicators of problems."""
    years = {y: _frozen(m) for y, m in marks.items()} | {year: _marks(current)}
    last = marks.get(year - 1, {})
    full = _full(current)
    names = {r.branch.code: r.branch for r in current.branches} | {b.code: b for b in current.missing}
    now_by = {r.branch.code: r for r in current.branches}
    out = []
    for code in current.standings:
        b = names[code]
        road = Road(code, b.name, b.general, {y: m[code] for y, m in sorted(years.items()) if code in m})
        now: BranchResult | None = now_by.get(code)
        before = last.get(code) or {}
        was_used = before.get("used") or {}
        if now is not None and was_used:
            for ind, rating in now.score.used.items():
                was = was_used.get(ind)
                if rating == full and was and was != full and current.params.factor(was) is not None:
                    road.improved.append(ind)
                elif was == full and rating and rating != full and current.params.factor(rating) is not None:
                    road.declined.append(ind)
        if now is not None:
            road.repeated = sorted({p.get("indicator") for p in now.problems if (p.get("raised") or year) == year}
                                   & set(before.get("problems") or ()) - {None})
            for p in now.problems:
                raised = p.get("raised") or year
                road.opened += raised == year
                road.closed += raised < year and p.get("status") == DONE
                until = ledger_date(p.get("deadline"))
                road.overdue += p.get("status") != DONE and until is not None and until < today
        out.append(road)
    return out


def general_years(road_list: list[Road]) -> dict[str, dict[int, tuple[float | None, int, int]]]:
    """总支 -> year -> (average score of the branches that returned, branches 认定, branches in all)."""
    out: dict[str, dict[int, list]] = {}
    for r in road_list:
        for y, m in r.years.items():
            acc = out.setdefault(r.general, {}).setdefault(y, [[], 0, 0])
            if m.total is not None:
                acc[0].append(m.total)
            acc[1] += m.stage == K.STAGE_RECOGNIZED
            acc[2] += 1
    return {g: {y: (round(sum(t) / len(t), 2) if t else None, n, total) for y, (t, n, total) in years.items()}
            for g, years in out.items()}

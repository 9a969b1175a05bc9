"""stage: ratings (self, 初验, 复验) + checklist + parameters → scores, 等次, rank, 样板 and 标杆院系.

This is the scoring that the master workbook's formulas perform; xlflow computes it here too, so
every formula cell carries a correct cached value and the Word documents use the same figures.
The two must agree: tests recalculate the master in LibreOffice and compare.

Rules (all parameters editable in checklist.yaml / xlflow.toml and in the master's 参数 sheet):
- rating used: 复验, else 初验, else the branch's self-rating;
- indicator score = points × factor of the rating used; a rating whose factor is empty (不适用)
  takes the indicator out: its category is rescaled to its weight over the applicable points
  (a category with no applicable indicator counts in full: nothing there was required);
- total = the sum of category scores, rounded to 2 decimals (half away from zero, as Excel);
- a veto indicator whose rating used has factor 0 (未达标) makes the branch 未达标 whatever its
  total; otherwise the 等次 is the first grade whose minimum the total reaches;
- rank among the branches that returned (ties share a rank, as Excel's RANK);
- 样板 candidates: branches that pass (达标 or better, no veto) with rank ≤ the quota, where the
  quota is the number of branches in the roster ÷ the phase's denominator, rounded down;
- 标杆院系 candidates: a 总支 all of whose branches pass, with 样板 candidates making up at least
  the given share of its branches.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property

from xlflow.checklist import Checklist
from xlflow.campaign import Campaign


@dataclass(frozen=True)
class Params:
    pass_line: float
    factors: tuple[tuple[str, float | None], ...]  # rating -> factor (None: not applicable)
    grades: tuple[tuple[str, float], ...]  # (name, min) from the highest
    veto: tuple[str, ...]
    quota_denominator: int  # 0: no 样板 this phase
    benchmark_share: float = 0.2  # 标杆院系: share of 样板 among its branches

    @classmethod
    def default(cls, campaign: Campaign) -> Params:
        checklist, settings = campaign.checklist, campaign.settings
        return cls(checklist.pass_line, tuple((r.name, r.factor) for r in checklist.ratings),
                   tuple((g.name, g.min) for g in checklist.grades), checklist.veto, settings.quota_denominator,
                   settings.benchmark_share)

    def factor(self, rating: str | None) -> float | None:
        return self._factor.get(rating or "", 0.0)

    @cached_property
    def _factor(self) -> dict[str, float | None]:  # asked once per indicator of every branch
        return dict(self.factors)

    @property
    def fail_grade(self) -> str:
        return self.grades[-1][0]


def excel_round(x: float, digits: int = 2) -> float:
    """ROUND as Excel and LibreOffice do it: half away from zero on the decimal shown."""
    q = Decimal(1).scaleb(-digits)
    d = Decimal(repr(x)).quantize(q, rounding=ROUND_HALF_UP)  # HALF_UP is away from zero in Decimal
    return float(d)


@dataclass
class BranchScore:
    code: str
    used: dict[str, str]  # indicator -> rating used
    source: dict[str, str]  # indicator -> 自评 / 初验 / 复验
    points: dict[str, float | None]  # indicator -> score (None: not applicable)
    categories: dict[str, float]  # category code -> score on its weight
    total: float
    veto_hits: list[str]
    grade: str
    passed: bool
    rank: int | None = None
    model: bool = False  # 样板 candidate


def score_branch(code: str, checklist: Checklist, params: Params, self_r: dict[str, str],
                 first: dict[str, str] | None = None, second: dict[str, str] | None = None) -> BranchScore:
    first, second = first or {}, second or {}
    used: dict[str, str] = {}
    source: dict[str, str] = {}
    points: dict[str, float | None] = {}
    cats: dict[str, float] = {}
    factor = params._factor.get  # (once per indicator of every branch: 5,000 × 47 lookups)
    for cat in checklist.categories:
        got = possible = 0.0
        for ind in cat.indicators:
            ic = ind.code
            if r := second.get(ic):
                label = "复验"
            elif r := first.get(ic):
                label = "初验"
            else:
                r, label = self_r.get(ic) or "", "自评"
            used[ic], source[ic] = r, label
            f = factor(r, 0.0)
            if f is None:
                points[ic] = None
            else:
                points[ic] = ind.points * f
                got += ind.points * f
                possible += ind.points
        cats[cat.code] = cat.weight * got / possible if possible else cat.weight
    total = excel_round(sum(cats.values()), 2)
    veto = [v for v in params.veto if params.factor(used.get(v)) == 0]
    if veto:
        grade = params.fail_grade
    else:
        grade = next((g for g, m in params.grades if total >= m), params.fail_grade)
    passed = not veto and total >= params.pass_line
    return BranchScore(code, used, source, points, cats, total, veto, grade, passed)


def rank_all(scores: list[BranchScore], roster_size: int, params: Params) -> int:
    """Set rank and 样板 candidates in place; returns the quota."""
    totals = sorted(s.total for s in scores)
    quota = roster_size // params.quota_denominator if params.quota_denominator else 0
    for s in scores:
        s.rank = 1 + len(totals) - bisect_right(totals, s.total)  # 1 + how many totals are higher
        s.model = s.passed and s.rank <= quota
    return quota


def benchmark_generals(scores: list[BranchScore], general_of: dict[str, str], params: Params) -> list[str]:
    """总支 whose every branch (in the roster) passed and whose 样板 share reaches the threshold."""
    by_code = {s.code: s for s in scores}
    out = []
    for general in dict.fromkeys(general_of.values()):
        members = [c for c, g in general_of.items() if g == general]
        passed = all(c in by_code and by_code[c].passed for c in members)
        models = sum(1 for c in members if c in by_code and by_code[c].model)
        if members and passed and models >= params.benchmark_share * len(members):
            out.append(general)
    return out

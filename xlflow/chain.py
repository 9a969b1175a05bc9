"""stage: ledger facts (returns, 初验, 复验, spot-check draws, the committee's decision) → where each branch stands

The seed's acceptance path (第一阶段 5. 达标验收): the branch checks itself; its 党总支 does the 初验;
a branch found 达标 applies (申请) to the college; the college does the 复验, for the branches put
forward plus a random spot check of the others (组织保障: 集中督查与随机抽查相结合); only then does the
Party committee decide 认定达标 and 样板. Scores and evidence inform the people who judge; nothing
here reads a score: a stage follows from the conclusions people recorded, and nothing else.

`standings(facts, codes, today)` is pure; `load_facts(conn, year)` reads the ledger; `draw()` is the
reproducible spot check that review.py records.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
from contextlib import closing
from dataclasses import dataclass, field, replace
from pathlib import Path

from xlflow import constants as K
from xlflow import ledger
from xlflow.ledger import ledger_root, read_only
from xlflow.register import INPUTS, history_ledgers, model_register
from xlflow.roster import load_roster

AGREE, DISAGREE, RECTIFY = K.REVIEW_CONCLUSIONS
RECOGNIZE, REFUSE = K.DECISION_CHOICES
YES = K.YES_NO[0]


@dataclass(frozen=True)
class Conclusion:
    """One branch's conclusion in the current 初验 or 复验 workbook."""

    conclusion: str
    reviewed_on: dt.date | None = None
    deadline: dt.date | None = None
    opinion: str = ""
    reviewer: str = ""


@dataclass(frozen=True)
class Decision:
    """The committee's current 认定 workbook."""

    meeting: str
    decided_on: dt.date | None
    rows: dict[str, tuple[str, bool, str]]  # branch code -> (认定达标 / 不予认定, 样板, 备注)


@dataclass
class Facts:
    """What the ledger knows of the chain, for one campaign year."""

    returned: dict[str, dt.datetime] = field(default_factory=dict)  # code -> current return's arrival
    rejected: set[str] = field(default_factory=set)  # latest file sent back, nothing accepted since
    first: dict[str, Conclusion] = field(default_factory=dict)
    second: dict[str, Conclusion] = field(default_factory=dict)
    first_units: set[str] = field(default_factory=set)  # 总支 that returned a 初验 workbook
    drawn: dict[str, int] = field(default_factory=dict)  # code -> number of the draw that took it
    pools: set[str] = field(default_factory=set)  # every code a draw was made from
    decision: Decision | None = None
    held: dict[str, int] = field(default_factory=dict)  # code -> year named 样板 (the register of earlier years)
    rectify: dict[str, dict] = field(default_factory=dict)  # code -> its 整顿 plan (ledger.rectify_plans)


@dataclass(frozen=True)
class Standing:
    code: str
    stage: str  # one of K.STAGES
    label: str  # the stage as a sentence for documents, e.g. 已通过党总支初验，待学院复验
    put_forward: bool = False  # 初验 同意达标: the branch applies to the college
    drawn: bool = False  # taken by the spot check
    recheck: bool = False  # a corrected return awaits the same reviewer (再验)
    deadline: dt.date | None = None  # 整改期限 of an open 整改后再验
    overdue: bool = False
    recognized: bool = False  # 认定达标, by the committee's decision
    model: bool = False  # 校级样板党支部, by the committee's decision
    decided_on: dt.date | None = None
    meeting: str = ""
    note: str = ""  # the committee's 备注 (a reason for 不予认定)
    model_since: int | None = None  # named 样板 in an earlier year (the register)

    @property
    def in_second(self) -> bool:
        """Does the 复验 cover this branch (put forward, or drawn)?"""
        return self.put_forward or self.drawn


def load_facts(conn, year: int) -> Facts:
    f = Facts(returned=ledger.branch_returns(conn), rejected=ledger.latest_rejected(conn))
    for kind, out in ((K.KIND_REVIEW_FIRST, f.first), (K.KIND_REVIEW_SECOND, f.second)):
        for r in ledger.review_conclusions(conn, kind):
            if r["conclusion"]:
                out[r["branch_code"]] = Conclusion(r["conclusion"], ledger.ledger_date(r["reviewed_on"]),
                                                   ledger.ledger_date(r["deadline"]),
                                                   r["opinion"] or "", r["reviewer"] or "")
    f.first_units = set(ledger.review_units(conn, K.KIND_REVIEW_FIRST))
    for n, d in enumerate(ledger.draws(conn, year), 1):
        f.pools |= set(json.loads(d["pool"]))
        for code in json.loads(d["drawn"]):
            f.drawn.setdefault(code, n)
    root = ledger_root(conn)
    if root is not None:
        f.held = {e.code: e.year for e in model_register(root) if not e.revoked}  # a revoked 样板 leaves the stock
    f.rectify = ledger.rectify_plans(conn)
    meeting, rows = ledger.current_decision(conn)
    if meeting is not None or rows:
        f.decision = Decision((meeting["meeting"] if meeting else "") or "",
                              ledger.ledger_date(meeting["decided_on"]) if meeting else None,
                              {r["branch_code"]: (r["decision"] or "", r["model"] == YES, r["note"] or "") for r in rows})
    return f


def _reworked(facts: Facts, code: str, c: Conclusion) -> bool:
    """A return arrived after the 整改后再验 conclusion: it waits for the same reviewer's 再验."""
    got = facts.returned.get(code)
    return bool(got and c.reviewed_on and got.date() > c.reviewed_on)


def standing(facts: Facts, code: str, today: dt.date) -> Standing:
    """Where one branch stands. The latest conclusion of each round counts; a 复验 counts only for a
    branch put forward by its 总支 or drawn by the spot check; only the committee's decision 认定s."""
    if code not in facts.returned:
        stage = K.STAGE_REJECTED if code in facts.rejected else K.STAGE_MISSING
        label = "填报表被退回，待支部修改后重新报送" if stage == K.STAGE_REJECTED else "尚未报送填报表"
        return Standing(code, stage, label)
    first, second = facts.first.get(code), facts.second.get(code)
    put_forward, drawn = bool(first and first.conclusion == AGREE), code in facts.drawn
    base = {"put_forward": put_forward, "drawn": drawn}
    way = "已通过党总支初验" if put_forward else "经随机抽查"
    if (put_forward or drawn) and second:
        if second.conclusion == AGREE:
            row = facts.decision.rows.get(code) if facts.decision else None
            if row and row[0] == RECOGNIZE:
                d = facts.decision
                return Standing(code, K.STAGE_RECOGNIZED, f"{way}、学院复验，经学院党委认定为达标党支部", **base,
                                recognized=True, model=row[1], decided_on=d.decided_on, meeting=d.meeting, note=row[2])
            if row and row[0] == REFUSE:
                d = facts.decision
                return Standing(code, K.STAGE_NOT_RECOGNIZED, f"{way}、学院复验，学院党委决定暂不认定", **base,
                                decided_on=d.decided_on, meeting=d.meeting, note=row[2])
            return Standing(code, K.STAGE_AWAIT_DECISION, f"{way}、学院复验同意达标，待学院党委认定", **base)
        if second.conclusion == DISAGREE:
            return Standing(code, K.STAGE_SECOND_FAILED, "学院复验结论为不同意达标", **base)
        if _reworked(facts, code, second):
            return Standing(code, K.STAGE_SECOND_RECHECK, "复验要求整改后再验，已交整改后的填报表，待学院再验",
                            **base, recheck=True, deadline=second.deadline)
        late = bool(second.deadline and today > second.deadline)
        return Standing(code, K.STAGE_SECOND_RECTIFY, "复验要求整改后再验，整改中", **base,
                        deadline=second.deadline, overdue=late)
    if put_forward or drawn:
        return Standing(code, K.STAGE_AWAIT_SECOND, f"{way}，待学院复验" if put_forward else "随机抽中，待学院复验",
                        **base)
    if first is None:
        return Standing(code, K.STAGE_AWAIT_FIRST, "已报送，待党总支初验", **base)
    if first.conclusion == DISAGREE:
        return Standing(code, K.STAGE_FIRST_FAILED, "党总支初验结论为不同意达标", **base)
    if _reworked(facts, code, first):
        return Standing(code, K.STAGE_FIRST_RECHECK, "初验要求整改后再验，已交整改后的填报表，待党总支再验", **base,
                        recheck=True, deadline=first.deadline)
    late = bool(first.deadline and today > first.deadline)
    return Standing(code, K.STAGE_FIRST_RECTIFY, "初验要求整改后再验，整改中", **base, deadline=first.deadline,
                    overdue=late)


def standings(facts: Facts, codes, today: dt.date) -> dict[str, Standing]:
    out = {}
    for c in codes:
        st = standing(facts, c, today)
        out[c] = replace(st, model_since=facts.held[c]) if c in facts.held else st
    return out


def model_room(total: int, denominator: int, held: int) -> int:
    """样板 the committee may still name: the phase's share of all branches is a stock that counts
    the 样板 already held (seed: 1/10 in 2020, 1/5 in 2021), never a fresh share each year."""
    return max(0, total // denominator - held) if denominator else 0


# ---- the spot check --------------------------------------------------------------------------------

def draw(pool: list[str], share: float, seed: str) -> list[str]:
    """The spot check: ceil(share × pool) branches of the pool, by a seeded random sample, so anyone
    can repeat it from the recorded seed and pool. The pool is sorted first: same pool, same draw."""
    pool = sorted(pool)
    k = min(len(pool), math.ceil(share * len(pool) - 1e-9)) if share > 0 else 0
    return sorted(random.Random(seed).sample(pool, k)) if k else []


def spot_check_pool(facts: Facts, codes) -> list[str]:
    """Branches a draw may take now: returned, not put forward, not yet in any draw's pool."""
    return [c for c in codes if c in facts.returned and c not in facts.pools
            and not (facts.first.get(c) and facts.first[c].conclusion == AGREE)]


def draw_seed(seed: int, year: int, number: int) -> str:
    """The seed of the year's draw, from the seed in xlflow.toml (recorded with the draw)."""
    return f"{seed}-{year}-{number}"


def history_standings(root: Path) -> dict[int, dict[str, Standing]]:
    """Each earlier year's standings as its frozen ledger has them, over that year's own roster
    (history/<year>/inputs): cheap (no scores, no evidence), for rules that read the years."""
    out = {}
    for year, path in history_ledgers(root):
        roster_path = path.parent / INPUTS / "templates" / "branches.xlsx"
        if not roster_path.is_file():
            continue
        codes = [b.code for b in load_roster(roster_path)]
        with closing(read_only(path)) as conn:
            out[year] = standings(load_facts(conn, year), codes, dt.date(year, 12, 31))
    return out

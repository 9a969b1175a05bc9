"""stage: last year's standings and marks + this year's chain → the 整顿转化 list (pure)

Seed, 2020: 重点整顿不标准、不规范党支部……确保学院党支部全部达标. At the start of a year every branch not
认定 the year before (which takes in those left with an open 整改后再验, and those that never
reported) is on its 总支's 整顿 list: what failed (last year's stage, the indicators not 达标, the
整改后再验 not closed), and the plan the 总支 enters in its 整顿 workbook (整顿措施, 责任人, 完成期限;
decision.build_rectify_workbook writes it, review_read checks it). It is tracked through the year:
done once the branch is 认定 this year, overdue once its 完成期限 has passed before that.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from xlflow import constants as K
from xlflow.chain import Standing
from xlflow.ledger import ledger_date
from xlflow.roster import Branch

# what the 整顿 list says of a branch during the year
DONE, OVERDUE, UNDER_WAY, NO_PLAN = "已认定达标", "逾期未完成", "整顿中", "待制定整顿措施"
OPEN_RECHECK = {K.STAGE_FIRST_RECTIFY: "初验", K.STAGE_FIRST_RECHECK: "初验", K.STAGE_SECOND_RECTIFY: "复验",
                K.STAGE_SECOND_RECHECK: "复验"}


@dataclass
class RectifyItem:
    branch: Branch
    year: int  # the year it failed (last year)
    last_stage: str
    failed: list[str] = field(default_factory=list)  # indicator codes not 达标 last year
    open: str = ""  # the 整改后再验 left open, e.g. 初验要求整改后再验（整改期限2019-11-30），未再验通过
    plan: str = ""
    owner: str = ""
    deadline: dt.date | None = None
    progress: str = ""
    now: Standing | None = None  # this year's standing
    overdue: bool = False

    @property
    def done(self) -> bool:
        return bool(self.now and self.now.recognized)

    @property
    def state(self) -> str:
        return DONE if self.done else OVERDUE if self.overdue else UNDER_WAY if self.plan else NO_PLAN

    def failed_text(self, shorts: dict[str, str] | None = None) -> str:
        """The indicators not 达标 last year, with their short names when known: A3 三会一课、B2 …"""
        shorts = shorts or {}
        return "、".join(f"{c} {shorts[c]}" if c in shorts else c for c in self.failed)

    @property
    def what_failed(self) -> str:
        """One line for status and the 催报通知: 2019年初验不同意达标；未达标指标 A3、B2."""
        parts = [f"{self.year}年{self.last_stage}"]
        if self.open:
            parts.append(self.open)
        if self.failed:
            parts.append(f"未达标指标 {'、'.join(self.failed)}")
        return "；".join(parts)


    @property
    def brief(self) -> str:
        """Short, for a table cell of the 催报通知: 2019年初验不同意达标，未达标指标12项."""
        return f"{self.year}年{self.last_stage}" + (f"，未达标指标{len(self.failed)}项" if self.failed else "")


def open_recheck(st: Standing) -> str:
    """The 整改后再验 a year ended with, still open (empty when there was none)."""
    rnd = OPEN_RECHECK.get(st.stage)
    if not rnd:
        return ""
    until = f"（整改期限{st.deadline:%Y-%m-%d}）" if st.deadline else ""
    return f"{rnd}要求整改后再验{until}，年底前未再验通过"


def rectify_items(branches: list[Branch], year: int, now: dict[str, Standing],
                  earlier: dict[int, dict[str, Standing]], marks: dict[int, dict[str, dict]],
                  plans: dict[str, dict], today: dt.date) -> list[RectifyItem]:
    """The 整顿 list of this year, in roster order. earlier: each earlier year's standings (chain.
    history_standings); marks: each earlier year's frozen marks (register.year_marks: failed
    indicators); plans: the 总支's entries (ledger.rectify_plans). A first year has none."""
    last, marked = earlier.get(year - 1, {}), marks.get(year - 1, {})
    out = []
    for b in branches:
        was, failed = last.get(b.code), list(marked.get(b.code, {}).get("failed") or [])
        if was is None:  # split or merged (roster 原支部编码): it takes over what its origins left open
            sources = [last[o] for o in b.origin if o in last]
            was = next((s for s in sources if not s.recognized), sources[0] if sources else None)
            failed = sorted({c for o in b.origin for c in marked.get(o, {}).get("failed") or []})
        if was is None or was.recognized:
            continue
        plan = plans.get(b.code, {})
        until = ledger_date(plan.get("deadline"))
        st = now.get(b.code)
        item = RectifyItem(b, year - 1, was.stage, failed, open_recheck(was),
                           plan.get("plan") or "", plan.get("owner") or "", until, plan.get("progress") or "", st)
        item.overdue = not item.done and until is not None and today > until
        out.append(item)
    return out


def progress(now: dict[str, Standing]) -> tuple[int, int]:
    """The seed's 全部达标 as progress: (branches 认定 this year, all branches)."""
    return sum(1 for st in now.values() if st.recognized), len(now)


def progress_text(now: dict[str, Standing]) -> str:
    done, total = progress(now)
    share = f"（{done / total:.0%}）" if total else ""
    return f"全部达标进度：经学院党委认定达标 {done} 个 / 全院 {total} 个党支部{share}"


def items_of(results, branches: list[Branch], year: int) -> list[RectifyItem]:
    """The 整顿 list from a year's results (results.Results: its standings, the earlier years' and
    their marks, the plans in its facts)."""
    return rectify_items(branches, year, results.standings, results.earlier, results.marks, results.facts.rectify,
                         results.today)

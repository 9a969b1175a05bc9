"""stage: the earlier years' frozen ledgers → what each branch carries into this year's workbook

Each year starts from the last (seed: 持续开展党支部达标建设，在此基础上……): the secretary updates what
the branch reported last year rather than retyping it. Carried, from the branch's last accepted
return: the basic information that does not change with the year (not 填表日期 or this year's
training), the member roster (name, category, group: not this year's hours, dues or evaluation),
the activists (name, date designated), and every 问题清单 item not 已完成 with the year it was raised.
Its standing each year (认定, 样板) comes from the chain as that year's ledger froze it.
"""

from __future__ import annotations

import datetime as dt
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from xlflow import constants as K
from xlflow import ledger
from xlflow.chain import load_facts, standing
from xlflow.ledger import read_only
from xlflow.register import history_ledgers

BASIC_CARRIED = ("type", "full_members", "probationary_members", "has_committee", "committee_size", "secretary",
                 "secretary_kind", "deputy", "election_date", "groups", "venue", "contact", "phone")
MEMBER_CARRIED = ("name", "category", "group")
ACTIVIST_CARRIED = ("name", "designated")
PROBLEM_CARRIED = ("indicator", "problem", "measure", "owner", "deadline", "status")
DONE = K.PROBLEM_STATUS[-1]  # 已完成


@dataclass
class Carried:
    code: str
    year: int  # the year the basic information and rosters come from
    basic: dict = field(default_factory=dict)
    members: list[dict] = field(default_factory=list)
    activists: list[dict] = field(default_factory=list)
    problems: list[dict] = field(default_factory=list)  # open items, each with "raised" (a year)
    history: list[tuple[int, str]] = field(default_factory=list)  # (year, stage) for every earlier year
    models: list[int] = field(default_factory=list)  # years named 校级样板党支部

    @property
    def standing_text(self) -> str:
        """What the first sheet says of the branch's road so far, e.g. 2019年：认定达标；2020年：认定达标，评为校级样板党支部."""
        parts = []
        for year, stage in self.history:
            parts.append(f"{year}年：{stage}" + ("，评为校级样板党支部" if year in self.models else ""))
        return "；".join(parts)


def _pick(row: dict, keys) -> dict:
    return {k: row.get(k) for k in keys}


def carried(root: Path, codes, origins: dict[str, tuple[str, ...]] | None = None) -> dict[str, Carried]:
    """code -> what the branch carries, from the years frozen in root/history (empty in a first year).
    origins: code -> the codes it was split or merged from (the roster's 原支部编码): a branch new
    under its code takes their history, rosters from the first that has one, every open problem."""
    origins = {c: tuple(o for o in v if o != K.ROSTER_NEW) for c, v in (origins or {}).items()}
    wanted = list(codes)
    codes = list(dict.fromkeys([*wanted, *(o for c in wanted for o in origins.get(c, ()))]))
    out: dict[str, Carried] = {}
    for year, path in history_ledgers(root):  # oldest first: later years overwrite what they reported
        with closing(read_only(path)) as conn:
            facts = load_facts(conn, year)
            current = ledger.current_returns(conn)
            for code in codes:
                st = standing(facts, code, dt.date(year, 12, 31))
                c = out.setdefault(code, Carried(code, year))
                c.history.append((year, st.stage))
                if st.model:
                    c.models.append(year)
                rid = current.get(code)
                if rid is None:
                    continue
                raised = {p["problem"]: p.get("raised") or year for p in c.problems}
                basic = next(iter(ledger.return_rows(conn, rid, "basic")), {})
                c.year, c.basic = year, _pick(basic, BASIC_CARRIED)
                c.members = [_pick(r, MEMBER_CARRIED) for r in ledger.return_rows(conn, rid, "members")]
                c.activists = [_pick(r, ACTIVIST_CARRIED) for r in ledger.return_rows(conn, rid, "activists")]
                c.problems = [{**_pick(r, PROBLEM_CARRIED), "raised": raised.get(r.get("problem")) or year}
                              for r in ledger.return_rows(conn, rid, "problems") if r.get("status") != DONE]
    for code in wanted:
        sources = [out[o] for o in origins.get(code, ()) if o in out]
        mine = out.get(code)
        if sources and (mine is None or not any(stage not in (K.STAGE_MISSING,) for _, stage in mine.history)):
            first = next((s for s in sources if s.basic), sources[0])
            out[code] = Carried(code, first.year, dict(first.basic), list(first.members), list(first.activists),
                                [p for s in sources for p in s.problems], list(first.history), list(first.models))
    return {c: out[c] for c in wanted if c in out}


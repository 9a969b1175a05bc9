"""stage: ledger + roster + checklist + settings → the campaign's results, branch by branch.

The one place that turns stored returns and reviews into figures: evidence verdicts, the ratings
of each round, scores, 等次, rank, 样板 and 标杆院系. The master workbook writes these as cached
values beside its formulas, and the Word documents quote them, so both always agree.
"""

from __future__ import annotations

import datetime as dt
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from xlflow import ledger
from xlflow.ledger import ledger_date  # noqa: F401  (re-exported: review, documents)
from xlflow.chain import Facts, Standing, history_standings, load_facts, standings
from xlflow.ledger import ledger_root, read_only
from xlflow.register import INPUTS, history_ledgers, year_marks
from xlflow.campaign import Campaign
from xlflow.evidence import Evidence, check_return, from_ledger, mismatches, return_date
from xlflow.roster import Branch
from xlflow.scoring import BranchScore, Params, benchmark_generals, rank_all, score_branch
from xlflow.workspace import Workspace


@dataclass
class Review:
    ratings: dict[str, str] = field(default_factory=dict)  # indicator -> rating
    comments: dict[str, str] = field(default_factory=dict)
    conclusion: str = ""
    opinion: str = ""
    reviewer: str = ""
    reviewed_on: str = ""
    deadline: str = ""  # 整改期限 of 整改后再验


@dataclass
class BranchResult:
    branch: Branch
    return_id: int
    file_id: int
    received_at: dt.datetime
    as_of: dt.date
    basic: dict
    self_ratings: dict[str, str]
    first: Review
    second: Review
    evidence: list[Evidence]
    mismatches: list[str]
    problems: list[dict]
    score: BranchScore | None = None
    standing: Standing | None = None  # where it stands in the acceptance chain (chain.py)
    part: str = ""  # the name of its return's part (basic … evidence) in load_results' memo; "" without one


@dataclass
class Results:
    campaign: Campaign  # what they were judged with: the checklist, the settings, the roster
    branches: list[BranchResult]  # branches with a current return, in roster order
    missing: list[Branch]
    quota: int
    benchmarks: list[str]  # 标杆院系 candidates (总支 names)
    params: Params
    standings: dict[str, Standing] = field(default_factory=dict)  # every roster branch, by code
    facts: Facts = field(default_factory=Facts)
    today: dt.date = dt.date.min  # the day overdue deadlines are judged on
    earlier: dict[int, dict[str, Standing]] = field(default_factory=dict)  # the earlier years' standings
    marks: dict[int, dict[str, dict]] = field(default_factory=dict)  # earlier years' scores (register.year_marks)

    def standing(self, code: str) -> Standing:
        return self.standings[code]


def _reviews(conn, kind: str) -> dict[str, Review]:
    """branch code -> the current review of that kind (初验 by its 总支, or 复验 by the college)."""
    out: dict[str, Review] = {}
    for r in ledger.review_ratings(conn, kind):
        rv = out.setdefault(r["branch_code"], Review())
        if r["rating"]:
            rv.ratings[r["indicator"]] = r["rating"]
        if r["comment"]:
            rv.comments[r["indicator"]] = r["comment"]
    for r in ledger.review_conclusions(conn, kind):
        rv = out.setdefault(r["branch_code"], Review())
        rv.conclusion, rv.opinion, rv.reviewer = r["conclusion"] or "", r["opinion"] or "", r["reviewer"] or ""
        rv.reviewed_on, rv.deadline = r["reviewed_on"] or "", r["deadline"] or ""
    return out


def _return_part(conn, ret, campaign: Campaign) -> tuple:
    """What one stored return gives, whatever else happened: (basic, as-of day, self ratings, problems,
    evidence). A stored return never changes, so a caller may keep these (load_results' memo)."""
    rid = ret["id"]
    basic = next(iter(ledger.return_rows(conn, rid, "basic")), {})
    day = return_date(basic.get("filled_on"), dt.datetime.fromisoformat(ret["received_at"]))
    self_r = {r["code"]: r["rating"] for r in ledger.return_rows(conn, rid, "self")}
    problems = ledger.return_rows(conn, rid, "problems")
    return basic, day, self_r, problems, check_return(from_ledger(conn, rid, day), campaign)


def load_results(conn, campaign: Campaign, params: Params | None = None, today: dt.date | None = None,
                 memo=None) -> Results:
    """today: the day deadlines are judged on (the caller's clock; default the system's). memo: a
    mapping that keeps each return's part (_return_part) between runs, keyed by its returns row
    (outputs.ReturnMemo): the evidence checks of 1,000 unchanged returns are then not run again; its
    digest(ret) names a part (BranchResult.part), so that the master keys a branch's blocks by it."""
    checklist, branches = campaign.checklist, campaign.branches
    params, today = params or Params.default(campaign), today or dt.date.today()
    facts = load_facts(conn, campaign.year)
    where = standings(facts, [b.code for b in branches], today)
    current = ledger.current_return_rows(conn)
    firsts, seconds = _reviews(conn, ledger.REVIEW_FIRST), _reviews(conn, ledger.REVIEW_SECOND)
    out, missing, scores = [], [], []
    for b in branches:
        ret = current.get(b.code)
        if ret is None:
            missing.append(b)
            continue
        rid = ret["id"]
        received = dt.datetime.fromisoformat(ret["received_at"])
        part = memo.get(ret) if memo is not None else None
        if part is None:
            part = _return_part(conn, ret, campaign)
            if memo is not None:
                memo[ret] = part
        basic, day, self_r, problems, evidence = part
        first, second = firsts.get(b.code, Review()), seconds.get(b.code, Review())
        result = BranchResult(b, rid, ret["file_id"], received, day, basic, self_r, first, second, evidence,
                              mismatches(evidence, self_r, checklist), problems)
        result.score = score_branch(b.code, checklist, params, self_r, first.ratings, second.ratings)
        result.standing = where[b.code]
        result.part = memo.digest(ret) if memo is not None else ""
        out.append(result)
        scores.append(result.score)
    quota = rank_all(scores, len(branches), params)
    benchmarks = benchmark_generals(scores, {b.code: b.general for b in branches}, params)
    root = ledger_root(conn)
    earlier = history_standings(root) if root is not None else {}
    marks = year_marks(root) if root is not None else {}
    return Results(campaign, out, missing, quota, benchmarks, params, where, facts, today, earlier, marks)


def ledger_results(path: Path, campaign: Campaign, today: dt.date | None = None) -> Results:
    """The current results of the ledger at path (a working folder's ws.ledger), judged with the
    campaign the caller has loaded already."""
    with closing(ledger.open_ledger(path)) as conn:
        return load_results(conn, campaign, today=today)


def history_results(root: Path) -> list[tuple[int, Results]]:
    """Each earlier year's results as it was decided: its frozen ledger read with the inputs it was
    decided with (history/<year>/inputs), judged on its last day. Oldest first."""
    out = []
    for year, path in history_ledgers(root):
        then = Workspace(path.parent / INPUTS)
        campaign = then.campaign()
        with closing(read_only(path)) as conn:
            out.append((year, load_results(conn, campaign, today=campaign.settings.period_end)))
    return out

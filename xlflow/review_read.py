"""stage: a returned 初验/复验 workbook → checked review rows for the ledger

Review workbooks (review.py) come back through inbox/ like branch returns; ingest sends them here.
The identity (very hidden `_xlflow` sheet and custom properties: kind, unit, version, checklist
fingerprint and the branch codes covered) says what was issued; read_review turns a returned
workbook into the rows of t_review and t_review_conclusion, with findings (R4xx, plus V2xx for
dates and the sheet structure) worded for the 总支 clerk and addressed as sheet!cell.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from xlflow import constants as K
from xlflow.chain import Facts, model_room, standing
from xlflow.campaign import Campaign
from xlflow.files import content_hash
from xlflow.messages import Code, Report, finding
from xlflow.normalize import clean_text, parse_choice, parse_date
from xlflow.read import RawReturn, read_workbook
from xlflow.roster import generals
from xlflow.settings import Settings
from xlflow.workbook import review_version  # noqa: F401  (also where tests find it)

FIRST = K.KIND_REVIEW_FIRST
AGREE, RECTIFY = K.REVIEW_CONCLUSIONS[0], K.REVIEW_CONCLUSIONS[2]  # 同意达标, 整改后再验


def date_range(settings: Settings) -> tuple[dt.date, dt.date]:
    """A 验收日期 falls in the campaign period or the year after it (复验 may run into January)."""
    return settings.period_start, dt.date(settings.period_end.year + 1, 12, 31)


def covered_codes(identity: dict[str, str]) -> list[str] | None:
    """The branch codes a review workbook was issued for (sheet, else the split custom property)."""
    text = identity.get("branches")
    if not text:
        parts = sorted((k for k in identity if re.fullmatch(r"branches_\d+", k)), key=lambda k: int(k[9:]))
        text = "".join(identity[k] for k in parts)
    try:
        codes = json.loads(text) if text else None
    except ValueError:
        return None
    return [str(c) for c in codes] if isinstance(codes, list) and codes else None


@dataclass
class CheckedReview:
    """A returned review workbook after checking: its rows for the ledger, and the report."""

    raw: RawReturn
    kind: str
    unit: str | None = None
    covered: tuple[str, ...] = ()
    report: Report = field(default_factory=Report)
    tables: dict[str, list[dict]] = field(default_factory=dict)  # review, review_conclusion; rows with _row

    @property
    def round(self) -> str:
        return K.REVIEW_ROUNDS.get(self.kind, "验收")

    @property
    def content_hash(self) -> str:
        return content_hash(self.tables, kind=self.kind, unit=self.unit)


def read_review(source: RawReturn | Path | str, campaign: Campaign, facts: Facts | None = None) -> CheckedReview:
    """Check a returned 初验/复验 workbook, or the committee's 认定 workbook (a path, or what
    read.read_workbook made of it). facts: the chain as the ledger has it, which a decision is
    checked against (only a branch whose 复验 agreed can be 认定)."""
    raw = source if isinstance(source, RawReturn) else read_workbook(Path(source))
    out = CheckedReview(raw, raw.identity.get("kind") or "", clean_text(raw.identity.get("unit")))
    if _identify(out, campaign):
        out.report.extend(raw.findings)  # the structure: missing or renamed sheets and columns
        if out.kind == K.KIND_DECISION:
            _DecisionReader(out, campaign, facts or Facts()).run()
        elif out.kind == K.KIND_REGISTER:
            _RegisterReader(out, campaign).run()
        elif out.kind == K.KIND_RECTIFY:
            _RectifyReader(out, campaign).run()
        else:
            _Reader(out, campaign).run()
    return out


def _identify(out: CheckedReview, campaign: Campaign) -> bool:
    checklist, settings = campaign.checklist, campaign.settings
    ident, file, rnd, add = out.raw.identity, out.raw.path.name, out.round, out.report.findings.append
    codes = covered_codes(ident)
    missing = [label for label, ok in (("工作簿类型", out.kind in K.REVIEW_ROUNDS), ("验收单位", out.unit),
                                       ("支部清单", codes)) if not ok]
    if missing:
        add(finding(Code.R403, file=file, round=rnd, missing="、".join(missing)))
        return False
    by_general = out.kind in (FIRST, K.KIND_RECTIFY)  # a 总支's workbook, not the college's
    units = set(generals(campaign.branches)) if by_general else {settings.college}
    if out.unit not in units:
        expected = "本年度支部名册中的党总支" if by_general else f"学院（{settings.college}）"
        add(finding(Code.R401, file=file, round=rnd, unit=out.unit, expected=expected))
        return False
    year = ident.get("year", "")
    if year and year != str(settings.year):
        add(finding(Code.R414, file=file, round=rnd, year=year, current=settings.year))
        return False
    version, current = ident.get("template_version", ""), review_version(checklist)
    if version != current or ident.get("checklist_fingerprint") != checklist.fingerprint:
        add(finding(Code.R402, file=file, round=rnd, version=version or "未知", current=current))
        return False
    out.covered = tuple(codes)
    return True


def _issued_branch(out: CheckedReview, table, excel_row: int, v: dict, seen: dict[str, int], what: str) -> str | None:
    """The branch code of a row of a per-branch table: one of the branches the workbook was issued for
    (else R407), once (else R405, naming the first row). None when the row is refused."""
    code = clean_text(v.get("branch_code")) or ""
    cell = table.cell("branch_code", excel_row) if "branch_code" in table.columns else ""
    if code not in out.covered:
        out.report.findings.append(finding(Code.R407, file=out.raw.path.name, sheet=table.sheet, cell=cell, value=code,
                                           round=out.round))
        return None
    if code in seen:
        out.report.findings.append(finding(Code.R405, file=out.raw.path.name, sheet=table.sheet, cell=cell, value=code,
                                           first=seen[code], what=what))
        return None
    seen[code] = excel_row
    return code


def _issued_rows(out: CheckedReview, table, what: str, seen: dict[str, int] | None = None):
    """The rows of a per-branch table whose branch passes _issued_branch, as (Excel row, values,
    branch code, cell(key) -> that row's cell reference); seen collects code -> first row."""
    seen = {} if seen is None else seen
    for excel_row, v in table.rows:
        code = _issued_branch(out, table, excel_row, v, seen, what)
        if code is not None:
            yield excel_row, v, code, lambda key, r=excel_row: table.cell(key, r) if key in table.columns else ""


class _Reader:
    def __init__(self, out: CheckedReview, campaign: Campaign):
        self.out, self.checklist, self.settings = out, campaign.checklist, campaign.settings
        self.file, self.rnd = out.raw.path.name, out.round
        self.names = {b.code: b.name for b in campaign.branches}
        self.add = out.report.findings.append
        # per (branch, indicator): the rating that counts after this round, and where it comes from
        self.effective: dict[tuple[str, str], tuple[str, str]] = {}
        self.rated: set[str] = set()  # branches with a rating of this round

    def name(self, code: str) -> str:
        return self.names.get(code, code)

    def run(self) -> None:
        items, conclusions = self.items(), self.conclusions()
        self.out.tables = {"review": items, "review_conclusion": conclusions}
        if not items and not conclusions and self.out.report.valid:
            self.add(finding(Code.R409, file=self.file, round=self.rnd, items=K.REVIEW_SHEET_ITEMS,
                             conclusions=K.REVIEW_SHEET_CONCLUSION))

    def items(self) -> list[dict]:
        table = self.out.raw.tables.get("review")
        if table is None:
            return []  # V220/V221 already say why
        labels = K.REVIEW_LAYOUTS[self.out.kind]["review"][1]
        indicators = [i.code for i in self.checklist.indicators]
        issued = {(c, i) for c in self.out.covered for i in indicators}
        seen: dict[tuple[str, str], int] = {}
        ratings = tuple(self.checklist.rating_names)
        rows = []
        for excel_row, v in table.rows:
            cell = lambda key: table.cell(key, excel_row) if key in table.columns else ""  # noqa: E731
            code, ind = clean_text(v.get("branch_code")) or "", clean_text(v.get("indicator")) or ""
            if (code, ind) not in issued:
                self.add(finding(Code.R404, file=self.file, sheet=table.sheet, cell=cell("branch_code"), value=code,
                                 indicator=ind, round=self.rnd))
                continue
            if (code, ind) in seen:
                self.add(finding(Code.R405, file=self.file, sheet=table.sheet, cell=cell("indicator"),
                                 value=f"{code} {ind}", first=seen[code, ind], what="同一支部的同一指标"))
                continue
            seen[code, ind] = excel_row
            p = parse_choice(v.get("rating"), ratings)
            if p.problem:
                self.add(finding(Code.R406, file=self.file, sheet=table.sheet, cell=cell("rating"), value=p.shown,
                                 label=labels["rating"], choices="、".join(ratings)))
                continue
            comment = clean_text(v.get("comment"))
            if p.value or comment:
                rows.append({"_row": excel_row, "branch_code": code, "indicator": ind, "rating": p.value,
                             "comment": comment})
            if p.value:
                self.rated.add(code)
            for key in ("rating", "first_rating", "self_rating"):
                shown = p.value if key == "rating" else clean_text(v.get(key))
                if shown and key in labels:
                    self.effective[code, ind] = (shown, labels[key])
                    break
        for code in self.out.covered:
            lost = [i for i in indicators if (code, i) not in seen]
            if lost:
                self.add(finding(Code.R410, file=self.file, sheet=table.sheet, name=self.name(code), code=code,
                                 count=len(lost), codes="、".join(lost), round=self.rnd))
        return rows

    def conclusions(self) -> list[dict]:
        table = self.out.raw.tables.get("review_conclusion")
        if table is None:
            return []
        labels = K.REVIEW_LAYOUTS[self.out.kind]["review_conclusion"][1]
        lo, hi = date_range(self.settings)
        seen: dict[str, int] = {}
        rows = []
        for excel_row, v, code, cell in _issued_rows(self.out, table, "每个支部的总体结论", seen):
            ok = True
            p = parse_choice(v.get("conclusion"), K.REVIEW_CONCLUSIONS)
            if p.problem:
                ok = False
                self.add(finding(Code.R406, file=self.file, sheet=table.sheet, cell=cell("conclusion"), value=p.shown,
                                 label=labels["conclusion"], choices="、".join(K.REVIEW_CONCLUSIONS)))
            d = parse_date(v.get("reviewed_on"), date1904=self.out.raw.date1904)
            if d.problem:
                ok = False
                self.add(d.finding(file=self.file, sheet=table.sheet, cell=cell("reviewed_on")))
            elif d.value is not None and not lo <= d.value <= hi:
                ok = False
                self.add(finding(Code.R408, file=self.file, sheet=table.sheet, cell=cell("reviewed_on"), label=labels["reviewed_on"],
                                 value=f"{d.value:%Y-%m-%d}", lo=f"{lo:%Y-%m-%d}", hi=f"{hi:%Y-%m-%d}"))
            until = parse_date(v.get("deadline"), date1904=self.out.raw.date1904)
            if until.problem:
                ok = False
                self.add(until.finding(file=self.file, sheet=table.sheet, cell=cell("deadline")))
            elif p.value == RECTIFY and until.value is None:
                ok = False
                self.add(finding(Code.R415, file=self.file, sheet=table.sheet, cell=cell("deadline"), name=self.name(code),
                                 round=self.rnd, label=labels["deadline"]))
            elif until.value is not None and not lo <= until.value <= hi:
                ok = False
                self.add(finding(Code.R408, file=self.file, sheet=table.sheet, cell=cell("deadline"), label=labels["deadline"],
                                 value=f"{until.value:%Y-%m-%d}", lo=f"{lo:%Y-%m-%d}", hi=f"{hi:%Y-%m-%d}"))
            if not ok:
                continue
            rec = {"conclusion": p.value, "opinion": clean_text(v.get("opinion")),
                   "reviewer": clean_text(v.get("reviewer")), "reviewed_on": d.value,
                   "deadline": until.value if p.value == RECTIFY else None}
            if any(x is not None for x in rec.values()):
                rows.append({"_row": excel_row, "branch_code": code, **rec})
            self._consistency(table, excel_row, code, p.value, cell("conclusion"))
        for code in self.out.covered:
            if code not in seen:
                self.add(finding(Code.R411, file=self.file, sheet=table.sheet, name=self.name(code), code=code,
                                 round=self.rnd))
        return rows

    def _consistency(self, table, excel_row: int, code: str, conclusion: str | None, cell: str) -> None:
        if conclusion == AGREE:
            for veto in self.checklist.veto:
                rating, source = self.effective.get((code, veto), ("", ""))
                if rating in self.checklist.rating_names and self.checklist.factor(rating) == 0:
                    self.add(finding(Code.R412, file=self.file, sheet=table.sheet, cell=cell, value=conclusion,
                                     name=self.name(code), round=self.rnd, code=veto,
                                     short=self.checklist.indicator(veto).short, source=source, rating=rating))
        elif conclusion is None and code in self.rated:
            self.add(finding(Code.R413, file=self.file, sheet=table.sheet, cell=cell, name=self.name(code),
                             round=self.rnd))


class _DecisionReader:
    """The committee's 认定 workbook: each decided branch must have passed 复验 (put forward or
    drawn); 样板 only for a branch 认定达标, only in a year that names them, never over the quota;
    a decision needs its meeting and date."""

    def __init__(self, out: CheckedReview, campaign: Campaign, facts: Facts):
        settings, roster = campaign.settings, campaign.branches
        self.out, self.settings, self.facts = out, settings, facts
        self.file, self.rnd, self.add = out.raw.path.name, out.round, out.report.findings.append
        self.names = {b.code: b.name for b in roster}
        codes = {b.code for b in roster}
        self.held = {c: y for c, y in facts.held.items() if c in codes}
        self.quota = model_room(len(roster), settings.quota_denominator, len(self.held)) if settings.models_awarded \
            else 0

    def run(self) -> None:
        rows = self.decisions()
        meeting = self.meeting(bool(rows))
        self.out.tables = {"decision": rows, "decision_meeting": meeting}
        if not rows and not meeting and self.out.report.valid:
            self.add(finding(Code.R409, file=self.file, round=self.rnd, items=K.DECISION_SHEET,
                             conclusions=K.DECISION_MEETING_SHEET))

    def decisions(self) -> list[dict]:
        table = self.out.raw.tables.get("decision")
        if table is None:
            return []
        labels = K.REVIEW_LAYOUTS[K.KIND_DECISION]["decision"][1]
        rows, models = [], 0
        today = self.settings.period_end  # overdue plays no part in what may be decided
        for excel_row, v, code, cell in _issued_rows(self.out, table, "每个支部的认定结论"):
            d = parse_choice(v.get("decision"), K.DECISION_CHOICES)
            m = parse_choice(v.get("model"), K.YES_NO)
            bad = False
            for key, got, choices in (("decision", d, K.DECISION_CHOICES), ("model", m, K.YES_NO)):
                if got.problem:
                    bad = True
                    self.add(finding(Code.R406, file=self.file, sheet=table.sheet, cell=cell(key), value=got.shown,
                                     label=labels[key], choices="、".join(choices)))
            if bad:
                continue
            name = self.names.get(code, code)
            st = standing(self.facts, code, today)
            if d.value and not (st.in_second and self.facts.second.get(code)
                                and self.facts.second[code].conclusion == AGREE):
                self.add(finding(Code.R420, file=self.file, sheet=table.sheet, cell=cell("decision"), value=d.value,
                                 name=name, code=code, stage=st.label))
                continue
            model = m.value == K.YES_NO[0]
            if model and not self.settings.models_awarded:
                self.add(finding(Code.R423, file=self.file, sheet=table.sheet, cell=cell("model"), value=m.value,
                                 year=self.settings.year, phase=self.settings.phase, label=labels["model"]))
                continue
            if model and code in self.held:
                self.add(finding(Code.R425, file=self.file, sheet=table.sheet, cell=cell("model"), value=m.value,
                                 name=name, year=self.held[code]))
                continue
            if model and d.value != K.DECISION_CHOICES[0]:
                self.add(finding(Code.R421, file=self.file, sheet=table.sheet, cell=cell("model"), value=m.value,
                                 name=name, label=labels["decision"]))
                continue
            if model:
                models += 1
                if models == self.quota + 1:
                    self.add(finding(Code.R422, file=self.file, sheet=table.sheet, cell=cell("model"), value=m.value,
                                     quota=self.quota, total=len(self.names), held=len(self.held),
                                     share=f"1/{self.settings.quota_denominator}"))
            note = clean_text(v.get("note"))
            if d.value or note:
                rows.append({"_row": excel_row, "branch_code": code, "decision": d.value,
                             "model": K.YES_NO[0] if model else None, "note": note})
        return rows

    def meeting(self, decided: bool) -> list[dict]:
        table = self.out.raw.tables.get("decision_meeting")
        if table is None:
            return []
        labels = K.REVIEW_LAYOUTS[K.KIND_DECISION]["decision_meeting"][1]
        first = table.rows[0] if table.rows else (K.HEADER_ROW + 1, {})
        excel_row, v = first
        cell = lambda key: table.cell(key, excel_row) if key in table.columns else ""  # noqa: E731
        name = clean_text(v.get("meeting"))
        d = parse_date(v.get("decided_on"), date1904=self.out.raw.date1904)
        lo, hi = date_range(self.settings)
        if d.problem:
            self.add(d.finding(file=self.file, sheet=table.sheet, cell=cell("decided_on")))
            return []
        if d.value is not None and not lo <= d.value <= hi:
            self.add(finding(Code.R427, file=self.file, sheet=table.sheet, cell=cell("decided_on"),
                             value=f"{d.value:%Y-%m-%d}", lo=f"{lo:%Y-%m-%d}", hi=f"{hi:%Y-%m-%d}"))
            return []
        if decided:
            for key, got, example in (("meeting", name, f"学院党委{self.settings.year}年第N次会议"),
                                      ("decided_on", d.value, f"{self.settings.second_review_deadline:%Y-%m-%d}")):
                if not got:
                    self.add(finding(Code.R424, file=self.file, sheet=table.sheet, cell=cell(key), label=labels[key],
                                     example=example))
        if name is None and d.value is None:
            return []
        return [{"_row": excel_row, "meeting": name, "decided_on": d.value}]


class _RegisterReader:
    """The 样板名册 workbook: choices from the lists; a result needs its recommendation; a revocation
    needs its date and reason."""

    def __init__(self, out: CheckedReview, campaign: Campaign):
        self.out, self.settings = out, campaign.settings
        self.file, self.rnd, self.add = out.raw.path.name, out.round, out.report.findings.append

    def run(self) -> None:
        table = self.out.raw.tables.get("register")
        rows: list[dict] = []
        self.out.tables = {"register": rows}
        if table is None:
            return
        labels = K.REVIEW_LAYOUTS[K.KIND_REGISTER]["register"][1]
        for excel_row, v, code, cell in _issued_rows(self.out, table, "每个样板党支部"):
            got, ok = {}, True
            for key, choices in (("province", K.YES_NO), ("province_result", K.OUTCOMES), ("nation", K.YES_NO),
                                 ("nation_result", K.OUTCOMES), ("revoked", K.YES_NO)):
                p = parse_choice(v.get(key), choices)
                if p.problem:
                    ok = False
                    self.add(finding(Code.R406, file=self.file, sheet=table.sheet, cell=cell(key), value=p.shown,
                                     label=labels[key], choices="、".join(choices)))
                got[key] = p.value
            d = parse_date(v.get("revoked_on"), date1904=self.out.raw.date1904)
            if d.problem:
                ok = False
                self.add(d.finding(file=self.file, sheet=table.sheet, cell=cell("revoked_on")))
            reason = clean_text(v.get("reason"))
            for result, asked in (("province_result", "province"), ("nation_result", "nation")):
                if got[result] and got[asked] != K.YES_NO[0]:
                    ok = False
                    self.add(finding(Code.R430, file=self.file, sheet=table.sheet, cell=cell(result), value=got[result],
                                     label=labels[result], asked=labels[asked]))
            if got["revoked"] == K.YES_NO[0]:
                for key, have in (("revoked_on", d.value), ("reason", reason)):
                    if not have:
                        ok = False
                        self.add(finding(Code.R431, file=self.file, sheet=table.sheet, cell=cell(key),
                                         label=labels[key]))
            if ok and (any(got.values()) or reason or d.value):
                rows.append({"_row": excel_row, "branch_code": code, **got, "revoked_on": d.value, "reason": reason})
        if not rows and self.out.report.valid:
            self.add(finding(Code.R432, file=self.file))


class _RectifyReader:
    """The 整顿 workbook of a 总支 (整顿转化, issue 9): for each branch on the list, 整顿措施, 责任人 and
    完成期限 together (or none of them), the 完成期限 within this year; 进展情况 free text."""

    def __init__(self, out: CheckedReview, campaign: Campaign):
        self.out, self.settings, self.add = out, campaign.settings, out.report.findings.append
        self.names = {b.code: b.name for b in campaign.branches}

    def run(self) -> None:
        table = self.out.raw.tables.get("rectify")
        rows: list[dict] = []
        self.out.tables = {"rectify": rows}
        if table is None:
            return
        s, file = self.settings, self.out.raw.path.name
        labels = K.REVIEW_LAYOUTS[K.KIND_RECTIFY]["rectify"][1]
        for excel_row, v, code, cell in _issued_rows(self.out, table, "每个支部的整顿措施"):
            name = self.names.get(code, code)
            d = parse_date(v.get("deadline"), date1904=self.out.raw.date1904)
            if d.problem:
                self.add(d.finding(file=file, sheet=table.sheet, cell=cell("deadline")))
                continue
            got = {"plan": clean_text(v.get("plan")), "owner": clean_text(v.get("owner")), "deadline": d.value}
            progress = clean_text(v.get("progress"))
            if not any(got.values()):
                continue  # not decided yet: the row stays open (a progress note alone is not a plan)
            missing = [k for k, have in got.items() if not have]
            for key in missing:
                self.add(finding(Code.R440, file=file, sheet=table.sheet, cell=cell(key), name=name, label=labels[key]))
            if missing:
                continue
            if not s.period_start <= d.value <= s.period_end:
                self.add(finding(Code.R441, file=file, sheet=table.sheet, cell=cell("deadline"), name=name,
                                 value=f"{d.value:%Y-%m-%d}", lo=f"{s.period_start:%Y-%m-%d}",
                                 hi=f"{s.period_end:%Y-%m-%d}", year=s.year,
                                 example=f"{s.first_review_deadline - dt.timedelta(days=30):%Y-%m-%d}"))
                continue
            if d.value > s.first_review_deadline:
                self.add(finding(Code.R443, file=file, sheet=table.sheet, cell=cell("deadline"), name=name,
                                 value=f"{d.value:%Y-%m-%d}", first=f"{s.first_review_deadline:%Y-%m-%d}"))
            rows.append({"_row": excel_row, "branch_code": code, **got, "progress": progress})
        if not rows and self.out.report.valid:
            self.add(finding(Code.R442, file=file, sheet=table.sheet))

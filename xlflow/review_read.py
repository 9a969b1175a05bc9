"""stage: a returned 初验/复验 workbook → checked review rows for the ledger

Review workbooks (review.py) come back through inbox/ like branch returns; ingest sends them here.
The identity (very hidden `_xlflow` sheet and custom properties: kind, unit, version, checklist
fingerprint and the branch codes covered) says what was issued; read_review turns a returned
workbook into the rows of t_review and t_review_conclusion, with findings (R4xx, plus V2xx for
dates and the sheet structure) worded for the 总支 clerk and addressed as sheet!cell.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from xlflow import constants as K
from xlflow.checklist import Checklist
from xlflow.messages import Report, finding
from xlflow.normalize import clean_text, parse_choice, parse_date
from xlflow.read import RawReturn, read_workbook
from xlflow.roster import Branch, generals
from xlflow.settings import Settings

FIRST = K.KIND_REVIEW_FIRST
AGREE = K.REVIEW_CONCLUSIONS[0]  # 同意达标


def review_version(checklist: Checklist) -> str:
    """The version a review workbook is issued with (review.py) and must come back with."""
    return f"{checklist.version}-r{K.REVIEW_FORMAT}"


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
        data = {"kind": self.kind, "unit": self.unit,
                "tables": {k: [{c: v for c, v in r.items() if c != "_row"} for r in rows]
                           for k, rows in self.tables.items()}}
        text = json.dumps(data, ensure_ascii=False, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()


def read_review(source: RawReturn | Path | str, checklist: Checklist, settings: Settings,
                branches: Iterable[Branch]) -> CheckedReview:
    """Check a returned 初验/复验 workbook (a path, or what read.read_workbook made of it)."""
    raw = source if isinstance(source, RawReturn) else read_workbook(Path(source))
    roster = list(branches)
    out = CheckedReview(raw, raw.identity.get("kind") or "", clean_text(raw.identity.get("unit")))
    if _identify(out, checklist, settings, roster):
        out.report.extend(raw.findings)  # the structure: missing or renamed sheets and columns
        _Reader(out, checklist, settings, roster).run()
    return out


def _identify(out: CheckedReview, checklist: Checklist, settings: Settings, roster: list[Branch]) -> bool:
    ident, file, rnd, add = out.raw.identity, out.raw.path.name, out.round, out.report.findings.append
    codes = covered_codes(ident)
    missing = [label for label, ok in (("工作簿类型", out.kind in K.REVIEW_ROUNDS), ("验收单位", out.unit),
                                       ("支部清单", codes)) if not ok]
    if missing:
        add(finding("R403", file=file, round=rnd, missing="、".join(missing)))
        return False
    units = set(generals(roster)) if out.kind == FIRST else {settings.college}
    if out.unit not in units:
        expected = "本年度支部名册中的党总支" if out.kind == FIRST else f"学院（{settings.college}）"
        add(finding("R401", file=file, round=rnd, unit=out.unit, expected=expected))
        return False
    version, current = ident.get("template_version", ""), review_version(checklist)
    if version != current or ident.get("checklist_fingerprint") != checklist.fingerprint:
        add(finding("R402", file=file, round=rnd, version=version or "未知", current=current))
        return False
    out.covered = tuple(codes)
    return True


class _Reader:
    def __init__(self, out: CheckedReview, checklist: Checklist, settings: Settings, roster: list[Branch]):
        self.out, self.checklist, self.settings = out, checklist, settings
        self.file, self.rnd = out.raw.path.name, out.round
        self.names = {b.code: b.name for b in roster}
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
            self.add(finding("R409", file=self.file, round=self.rnd, items=K.REVIEW_SHEET_ITEMS,
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
                self.add(finding("R404", file=self.file, sheet=table.sheet, cell=cell("branch_code"), value=code,
                                 indicator=ind, round=self.rnd))
                continue
            if (code, ind) in seen:
                self.add(finding("R405", file=self.file, sheet=table.sheet, cell=cell("indicator"),
                                 value=f"{code} {ind}", first=seen[code, ind], what="同一支部的同一指标"))
                continue
            seen[code, ind] = excel_row
            p = parse_choice(v.get("rating"), ratings)
            if p.problem:
                self.add(finding("R406", file=self.file, sheet=table.sheet, cell=cell("rating"), value=p.shown,
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
                self.add(finding("R410", file=self.file, sheet=table.sheet, name=self.name(code), code=code,
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
        for excel_row, v in table.rows:
            cell = lambda key: table.cell(key, excel_row) if key in table.columns else ""  # noqa: E731
            code = clean_text(v.get("branch_code")) or ""
            if code not in self.out.covered:
                self.add(finding("R407", file=self.file, sheet=table.sheet, cell=cell("branch_code"), value=code,
                                 round=self.rnd))
                continue
            if code in seen:
                self.add(finding("R405", file=self.file, sheet=table.sheet, cell=cell("branch_code"), value=code,
                                 first=seen[code], what="每个支部的总体结论"))
                continue
            seen[code] = excel_row
            ok = True
            p = parse_choice(v.get("conclusion"), K.REVIEW_CONCLUSIONS)
            if p.problem:
                ok = False
                self.add(finding("R406", file=self.file, sheet=table.sheet, cell=cell("conclusion"), value=p.shown,
                                 label=labels["conclusion"], choices="、".join(K.REVIEW_CONCLUSIONS)))
            d = parse_date(v.get("reviewed_on"), date1904=self.out.raw.date1904)
            if d.problem:
                ok = False
                self.add(d.finding(file=self.file, sheet=table.sheet, cell=cell("reviewed_on")))
            elif d.value is not None and not lo <= d.value <= hi:
                ok = False
                self.add(finding("R408", file=self.file, sheet=table.sheet, cell=cell("reviewed_on"),
                                 value=f"{d.value:%Y-%m-%d}", lo=f"{lo:%Y-%m-%d}", hi=f"{hi:%Y-%m-%d}"))
            if not ok:
                continue
            rec = {"conclusion": p.value, "opinion": clean_text(v.get("opinion")),
                   "reviewer": clean_text(v.get("reviewer")), "reviewed_on": d.value}
            if any(x is not None for x in rec.values()):
                rows.append({"_row": excel_row, "branch_code": code, **rec})
            self._consistency(table, excel_row, code, p.value, cell("conclusion"))
        for code in self.out.covered:
            if code not in seen:
                self.add(finding("R411", file=self.file, sheet=table.sheet, name=self.name(code), code=code,
                                 round=self.rnd))
        return rows

    def _consistency(self, table, excel_row: int, code: str, conclusion: str | None, cell: str) -> None:
        if conclusion == AGREE:
            for veto in self.checklist.veto:
                rating, source = self.effective.get((code, veto), ("", ""))
                if rating in self.checklist.rating_names and self.checklist.factor(rating) == 0:
                    self.add(finding("R412", file=self.file, sheet=table.sheet, cell=cell, value=conclusion,
                                     name=self.name(code), round=self.rnd, code=veto,
                                     short=self.checklist.indicator(veto).short, source=source, rating=rating))
        elif conclusion is None and code in self.rated:
            self.add(finding("R413", file=self.file, sheet=table.sheet, cell=cell, name=self.name(code),
                             round=self.rnd))

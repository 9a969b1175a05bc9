"""stage: results → review workbooks (初验 per 总支, 复验 for the college); and a returned review
workbook → review rows for the ledger

The seed's acceptance path is branch self-check → 党总支 初验 → 学院 复验 → 认定达标. Each 党总支
gets one 初验 workbook: its accepted branches × the checklist's indicators, each row with the
branch's self-rating and what its records show (the evidence verdict and the measured facts)
pre-filled and locked, and two tinted input columns for the reviewer's rating (a dropdown of the
checklist's ratings) and comment; a second sheet takes one overall conclusion per branch. The
college gets one 复验 workbook over every accepted branch, which shows the 初验 read-only beside
its own input columns. Ratings already returned are pre-filled, so a second round edits the first.

They come back through inbox/ like branch returns. The identity (very hidden `_xlflow` sheet and
custom properties: kind, unit, version, checklist fingerprint and the branch codes covered) says
what was issued; read_review turns a returned workbook into the rows of t_review and
t_review_conclusion, with findings (R4xx, plus V2xx for dates and the sheet structure) worded for
the 总支 clerk and addressed as sheet!cell.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import xlsxwriter

from xlflow import constants as K
from xlflow.checklist import Checklist
from xlflow.evidence import FAIL, Evidence, verdict_of
from xlflow.files import atomic_path, safe_filename
from xlflow.messages import Report, finding
from xlflow.normalize import clean_text, parse_choice, parse_date
from xlflow.read import RawReturn, read_workbook
from xlflow.roster import Branch, generals
from xlflow.scoring import Params, score_branch
from xlflow.settings import Settings
from xlflow.workbook import write_identity_sheet, write_list_sheet

if TYPE_CHECKING:  # results is only needed to write; reading back (ingest) stays light
    from xlflow.results import BranchResult, Results
    from xlflow.workspace import Workspace

FIRST, SECOND = K.KIND_REVIEW_FIRST, K.KIND_REVIEW_SECOND
YES = K.YES_NO[0]
AGREE = K.REVIEW_CONCLUSIONS[0]  # 同意达标
NO_RULES = "（无台账核验项）"
LIST_RATING, LIST_CONCLUSION = "xl_rating", "xl_conclusion"
WIDTHS = {  # column key -> width, for both sheets of both rounds
    "branch_code": 10, "branch_name": 24, "indicator": 8, "short": 16, "points": 6, "self_rating": 9,
    "evidence": 44, "mismatch": 8, "first_rating": 9, "first_comment": 22, "rating": 10, "comment": 28,
    "self_total": 9, "first_conclusion": 11, "first_opinion": 28, "conclusion": 12, "opinion": 40,
    "reviewer": 10, "reviewed_on": 12,
}
CENTERED = {"branch_code", "indicator", "points", "self_rating", "mismatch", "first_rating", "rating",
            "self_total", "first_conclusion", "conclusion", "reviewer", "reviewed_on"}


def review_version(checklist: Checklist) -> str:
    return f"{checklist.version}-r{K.REVIEW_FORMAT}"


def review_path(outdir: Path, kind: str, unit: str) -> Path:
    """outdir/初验_<总支>.xlsx or outdir/复验_<college>.xlsx."""
    return Path(outdir) / safe_filename(f"{K.REVIEW_ROUNDS[kind]}_{unit}.xlsx")


def date_range(settings: Settings) -> tuple[dt.date, dt.date]:
    """A 验收日期 falls in the campaign period or the year after it (复验 may run into January)."""
    return settings.period_start, dt.date(settings.period_end.year + 1, 12, 31)


def evidence_text(code: str, evidence: list[Evidence]) -> tuple[str, str]:
    """(verdict, text) of the 记录核验 column: the verdict, then what each rule measured."""
    verdict = verdict_of(code, evidence)
    if not verdict:
        return "", NO_RULES
    parts = [e.measured + (f"（{e.detail}）" if e.detail else "") for e in evidence if e.indicator == code]
    return verdict, f"{verdict}：{'；'.join(parts)}"


def identity_values(kind: str, unit: str, codes: Iterable[str], checklist: Checklist) -> dict[str, str]:
    return {"kind": kind, "unit": unit, "template_version": review_version(checklist),
            "checklist_fingerprint": checklist.fingerprint,
            "branches": json.dumps(list(codes), ensure_ascii=False)}


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


def _lines(text: str, width: int) -> int:
    """Wrapped line count (CJK counts double): Excel and WPS do not grow rows they did not lay out."""
    per = max(1, width - 1)
    return sum(max(1, -(-sum(2 if ord(c) > 0x2E7F else 1 for c in p) // per)) for p in str(text).split("\n"))


# ---- writing ------------------------------------------------------------------------------------

class _Book:
    def __init__(self, wb, kind: str, unit: str, rows: list[BranchResult], checklist: Checklist,
                 settings: Settings, params: Params):
        self.wb, self.kind, self.unit, self.rows = wb, kind, unit, rows
        self.checklist, self.settings, self.params = checklist, settings, params
        self.round = K.REVIEW_ROUNDS[kind]
        f = wb.add_format
        base = {"font_name": "宋体", "font_size": 11, "valign": "vcenter", "border": 1, "text_wrap": True}
        self.title = f({"font_name": "黑体", "font_size": 16, "align": "center", "valign": "vcenter", "text_wrap": True})
        self.header = f({**base, "bold": True, "bg_color": "#D9E1F2", "align": "center"})
        self.text = f({"font_name": "宋体", "font_size": 12, "text_wrap": True, "valign": "top"})
        self.bold = f({"font_name": "黑体", "font_size": 12, "text_wrap": True, "valign": "top"})
        # read-only cells: branches alternate white and grey so one branch's rows read as a block
        self.fixed = {}
        for shade, bg in enumerate(("#FFFFFF", "#F2F2F2")):
            for center in (False, True):
                for red in (False, True):
                    extra = {"align": "center"} if center else {}
                    extra |= {"font_color": "#C00000", "bold": True} if red else {}
                    self.fixed[shade, center, red] = f({**base, "bg_color": bg, **extra})
        self.total = [f({**base, "bg_color": bg, "align": "center", "num_format": "0.00"}) for bg in ("#FFFFFF", "#F2F2F2")]
        inp = {**base, "bg_color": "#FFF2CC", "locked": False}
        self.input = f(inp)
        self.input_center = f({**inp, "align": "center"})
        self.input_date = f({**inp, "align": "center", "num_format": "yyyy-mm-dd"})

    def own(self, r: BranchResult):
        return r.first if self.kind == FIRST else r.second

    def sheet(self, name: str, title: str, keys: list[str]):
        ws = self.wb.add_worksheet(name)
        ws.set_paper(9)  # A4
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
        for c, key in enumerate(keys):
            ws.set_column(c, c, WIDTHS[key])
        ws.merge_range(0, 0, 0, len(keys) - 1, f"{self.unit} — {title}", self.title)
        ws.set_row(0, 30)
        ws.set_footer("&C第 &P 页，共 &N 页")
        ws.repeat_rows(K.HEADER_ROW - 1)
        ws.protect("", {"autofilter": True, "format_columns": True, "format_rows": True,
                        "select_locked_cells": True, "select_unlocked_cells": True})
        return ws

    def table(self, key: str, title: str, values_of, tall: tuple[str, ...]):
        """A review table: header, one row per values_of() item, then dropdowns and the filter."""
        sheet, cols = K.REVIEW_LAYOUTS[self.kind][key]
        keys, inputs = list(cols), K.REVIEW_INPUTS[key]
        ws = self.sheet(sheet, title, keys)
        ws.write_row(K.HEADER_ROW - 1, 0, list(cols.values()), self.header)
        ws.set_row(K.HEADER_ROW - 1, 32)
        row = K.HEADER_ROW
        for shade, red, values in values_of():
            for c, k in enumerate(keys):
                v = values.get(k)
                if k in inputs:
                    fmt = self.input_date if k == "reviewed_on" else self.input_center if k in CENTERED else self.input
                elif k == "self_total":
                    fmt = self.total[shade]
                else:
                    fmt = self.fixed[shade, k in CENTERED, k in red]
                if isinstance(v, dt.date):
                    ws.write_datetime(row, c, dt.datetime.combine(v, dt.time()), fmt)
                elif isinstance(v, (int, float)):
                    ws.write_number(row, c, v, fmt)
                elif v:
                    ws.write_string(row, c, str(v), fmt)
                else:
                    ws.write_blank(row, c, None, fmt)
            lines = max(_lines(values.get(k) or "", WIDTHS[k]) for k in tall)
            ws.set_row(row, 15 * min(lines, 6) + 4)
            row += 1
        first, last = K.HEADER_ROW, max(row - 1, K.HEADER_ROW)
        ws.autofilter(K.HEADER_ROW - 1, 0, last, len(keys) - 1)
        ws.freeze_panes(K.HEADER_ROW, 2)
        return ws, keys, first, last

    def dropdown(self, ws, col: int, first: int, last: int, name: str, label: str, values) -> None:
        ws.data_validation(first, col, last, col, {
            "validate": "list", "source": f"={name}",
            "input_title": label[:32], "input_message": "请从下拉列表中选择；暂不填写的可以留空。",
            "error_title": "请从列表中选择", "error_message": f"只能选择：{'、'.join(values)}"[:255],
        })

    # -- sheets --------------------------------------------------------------------------------
    def guide(self) -> None:
        s, rnd, n = self.settings, self.round, len(self.rows)
        deadline = s.first_review_deadline if self.kind == FIRST else s.second_review_deadline
        items, concl = K.REVIEW_SHEET_ITEMS, K.REVIEW_SHEET_CONCLUSION
        choices = "、".join(self.checklist.rating_names)
        fallback = "支部自评等次" if self.kind == FIRST else "初验等次（未初验的按支部自评等次）"
        who = ("党总支组织委员（或初验小组）对本总支所属已报送的党支部逐项初验" if self.kind == FIRST
               else "学院组织部复验组对各党总支初验后的党支部逐支部复验")
        after = ("初验“同意达标”的支部由党总支向学院申请复验" if self.kind == FIRST
                 else "复验“同意达标”的支部由学院党委认定达标并颁发达标奖牌")
        ws = self.wb.add_worksheet(K.REVIEW_SHEET_GUIDE)
        ws.set_column(0, 0, 110)
        ws.set_paper(9)
        ws.set_landscape()
        ws.set_margins(left=0.6, right=0.6, top=0.6, bottom=0.6)
        ws.fit_to_pages(1, 0)
        ws.hide_gridlines(2)
        ws.protect("", {"select_locked_cells": True})
        lines = [
            (self.title, f"{s.college}党支部建设达标{rnd}工作簿（{s.year}年·{s.phase}引领）"),
            (self.bold, f"验收单位：{self.unit}　　共 {n} 个党支部，每个支部 {len(self.checklist.indicators)} 项指标"),
            (self.bold, f"交回截止日期：{deadline.year}年{deadline.month}月{deadline.day}日"),
            (self.text, f"一、谁来填：{who}。灰色格子已预先填好，不能修改；浅黄色格子由验收人填写。"),
            (self.text, f"二、“{items}”表：每个支部的每项指标一行。“自评等次”是支部的自评；“记录核验”是系统对照支部"
                        "台账（党员名册、三会一课、积极分子等）核验的结果（符合 / 不符合 / 未到期 / 不适用，后附台账显示的情况）；"
                        "“自评与记录不符”为“是”的，表示支部自评达标但台账记录不符合要求，请重点核查。"),
            (self.text, f"三、{rnd}等次从下拉列表中选择（{choices}），不同意自评或需要说明的请写在“{rnd}意见”中。"
                        f"{rnd}等次不填的，按{fallback}计分。"),
            (self.text, f"四、“{concl}”表：每个支部一行，从下拉列表中选择{rnd}结论：“{K.REVIEW_CONCLUSIONS[0]}”"
                        f"（达到建设标准）、“{K.REVIEW_CONCLUSIONS[1]}”（未达到，需说明理由）或"
                        f"“{K.REVIEW_CONCLUSIONS[2]}”（限期整改后重新验收），并填写验收意见、验收人和验收日期"
                        f"（如 {deadline:%Y-%m-%d}）。{after}。"),
            (self.text, "五、可用表头的筛选按钮按支部或“自评与记录不符”查看。请不要插入或删除行列、不要改动灰色格子、"
                        "不要修改工作表名称，保存为 Excel 工作簿（.xlsx）。文件名可以随意，系统按表内信息识别。"),
            (self.text, "六、填好后报组织部。如被退回，退回的文件中标红的格子就是需要修改的地方，改好后再次提交即可。"
                        f"再次下发的{rnd}工作簿会带上已提交的等次和意见，可在其基础上修改，以最后提交的一份为准。"),
            (self.text, f"七、如有疑问请联系：{s.contact}。"),
        ]
        for row, (fmt, text) in enumerate(lines):
            ws.write_string(row, 0, text, fmt)
            ws.set_row(row, 36 if row == 0 else 17 * _lines(text, 110) + 4)
        ws.activate()

    def items(self) -> None:
        def values_of():
            for n, r in enumerate(self.rows):
                own, flagged = self.own(r), set(r.mismatches)
                for ind in self.checklist.indicators:
                    verdict, text = evidence_text(ind.code, r.evidence)
                    red = {k for k, hit in (("evidence", verdict == FAIL), ("mismatch", ind.code in flagged)) if hit}
                    yield n % 2, red, {
                        "branch_code": r.branch.code, "branch_name": r.branch.name, "indicator": ind.code,
                        "short": ind.short, "points": ind.points, "self_rating": r.self_ratings.get(ind.code) or "",
                        "evidence": text, "mismatch": YES if ind.code in flagged else "",
                        "first_rating": r.first.ratings.get(ind.code, ""),
                        "first_comment": r.first.comments.get(ind.code, ""),
                        "rating": own.ratings.get(ind.code, ""), "comment": own.comments.get(ind.code, ""),
                    }

        ws, keys, first, last = self.table("review", f"{self.round}逐项验收表", values_of,
                                           ("branch_name", "short", "evidence", "first_comment", "comment"))
        self.dropdown(ws, keys.index("rating"), first, last, LIST_RATING, K.REVIEW_LAYOUTS[self.kind]["review"][1]["rating"],
                      self.checklist.rating_names)

    def conclusions(self) -> None:
        def values_of():
            for n, r in enumerate(self.rows):
                own = self.own(r)
                total = score_branch(r.branch.code, self.checklist, self.params, r.self_ratings).total
                on = own.reviewed_on
                try:
                    on = dt.date.fromisoformat(on[:10]) if on else None
                except ValueError:
                    pass  # kept as text: the reviewer sees what was stored
                yield n % 2, set(), {
                    "branch_code": r.branch.code, "branch_name": r.branch.name, "self_total": total,
                    "first_conclusion": r.first.conclusion, "first_opinion": r.first.opinion,
                    "conclusion": own.conclusion, "opinion": own.opinion, "reviewer": own.reviewer, "reviewed_on": on,
                }

        ws, keys, first, last = self.table("review_conclusion", f"{self.round}总体结论", values_of,
                                           ("branch_name", "first_opinion", "opinion"))
        cols = K.REVIEW_LAYOUTS[self.kind]["review_conclusion"][1]
        self.dropdown(ws, keys.index("conclusion"), first, last, LIST_CONCLUSION, cols["conclusion"],
                      K.REVIEW_CONCLUSIONS)
        lo, hi = date_range(self.settings)
        c = keys.index("reviewed_on")
        ws.data_validation(first, c, last, c, {
            "validate": "date", "criteria": "between", "minimum": lo, "maximum": hi,
            "input_title": cols["reviewed_on"], "input_message": f"请填写日期，如 {self.settings.first_review_deadline:%Y-%m-%d}。",
            "error_title": "日期不正确", "error_message": f"请填写 {lo:%Y-%m-%d} 至 {hi:%Y-%m-%d} 之间的日期。",
        })

    def lists(self) -> None:
        write_list_sheet(self.wb, ((LIST_RATING, f"{self.round}等次", self.checklist.rating_names),
                                   (LIST_CONCLUSION, f"{self.round}结论", K.REVIEW_CONCLUSIONS)))

    def identity(self) -> None:
        write_identity_sheet(self.wb, K.REVIEW_IDENTITY_KEYS,
                             identity_values(self.kind, self.unit, [r.branch.code for r in self.rows], self.checklist))


def build_review_workbook(dest: Path, kind: str, unit: str, rows: list[BranchResult], checklist: Checklist,
                          settings: Settings, params: Params) -> Path:
    """Write one review workbook (kind: 初验 or 复验) for `unit` over `rows` atomically; returns dest."""
    with atomic_path(dest) as tmp:
        wb = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False, "strings_to_urls": False, "in_memory": True})
        wb.set_properties({
            "title": f"{unit}{K.REVIEW_ROUNDS[kind]}工作簿", "subject": f"{settings.year}年党支部建设达标验收",
            "author": settings.department, "company": settings.college,
            "created": dt.datetime(settings.year, 1, 1),
        })
        b = _Book(wb, kind, unit, rows, checklist, settings, params)
        b.guide()
        b.items()
        b.conclusions()
        b.lists()
        b.identity()
        wb.close()
    return dest


def write_review_workbooks(results: Results, checklist: Checklist, settings: Settings, outdir: Path,
                           branches: list[Branch]) -> list[Path]:
    """outdir/初验_<总支>.xlsx for every 总支 with accepted branches, and outdir/复验_<college>.xlsx
    over all accepted branches (roster order). Nothing is written before any branch is accepted."""
    accepted = {r.branch.code: r for r in results.branches}
    paths = []
    for general in generals(branches):
        rows = [accepted[b.code] for b in branches if b.general == general and b.code in accepted]
        if rows:
            paths.append(build_review_workbook(review_path(outdir, FIRST, general), FIRST, general, rows,
                                               checklist, settings, results.params))
    everyone = [accepted[b.code] for b in branches if b.code in accepted]
    if everyone:
        paths.append(build_review_workbook(review_path(outdir, SECOND, settings.college), SECOND, settings.college,
                                           everyone, checklist, settings, results.params))
    return paths


def review_round(ws: Workspace) -> list[Path]:
    """The ledger's current results → the review workbooks in the working folder's outbox/review/."""
    from xlflow.ledger import open_ledger
    from xlflow.results import load_results

    checklist, settings, branches = ws.checklist(), ws.settings(), ws.roster()
    conn = open_ledger(ws.ledger)
    try:
        results = load_results(conn, checklist, settings, branches)
    finally:
        conn.close()
    return write_review_workbooks(results, checklist, settings, ws.review, branches)


# ---- reading back -------------------------------------------------------------------------------

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

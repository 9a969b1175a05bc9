"""stage: ledger + results → outbox/master.xlsx, the master workbook whose scoring is live formulas.

Every derived figure (rating used, scores, category scores rescaled over applicable indicators,
totals, rank, 等次, 样板 and 标杆院系 candidates, overview figures) is a classic Excel formula over
the cells and the 参数 sheet, so a clerk who changes a rating or a parameter in Excel or WPS sees
everything recompute; each formula also carries the value xlflow computed (results.py), so
viewers that do not recalculate show true numbers. Branch detail rows are contiguous (44 per
branch, grouped by category), so each branch's formulas use direct ranges, not SUMIFS over the
whole sheet: the workbook stays fast to recalculate at 10,000 branches. Raw records are
streamed from the ledger (xlsxwriter constant_memory) and continue on a new sheet when a sheet
is full, so 10,000 branches fit in bounded memory.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name, xl_rowcol_to_cell
from xlsxwriter.worksheet import Worksheet

from xlflow import constants as K
from xlflow.checklist import Checklist
from xlflow.evidence import verdict_of
from xlflow.files import scratch_dir
from xlflow.ledger import rejected_branches
from xlflow.results import Results
from xlflow.roster import Branch
from xlflow.settings import Settings

FIRST = 2  # 0-based first data row of every table sheet (row 1 title, row 2 header)
P = f"'{K.MASTER_PARAMS}'!"
D = f"'{K.MASTER_DETAIL}'!"
S = f"'{K.MASTER_SCORES}'!"
R = f"'{K.MASTER_ROSTER}'!"

DETAIL_COLUMNS = ["支部编码", "支部名称", "所属总支", "指标编码", "类别", "分值", "自评等次", "记录核验",
                  "自评与记录不符", "初验等次", "复验等次", "采用等次", "采用来源", "系数", "可得分", "得分", "否决命中"]
SCORE_FIXED = ["支部编码", "支部名称", "所属总支", "支部类型"]
SCORE_TAIL = ["总分", "排名", "否决项数", "等次", "是否达标", "样板候选", "自评与记录不符", "初验结论", "复验结论"]


def _abs(row: int, col: int) -> str:
    return xl_rowcol_to_cell(row, col, row_abs=True, col_abs=True)


class _Params:
    """Where each parameter sits on the 参数 sheet (absolute references for the formulas)."""

    def __init__(self, checklist: Checklist):
        n_r, n_g = len(checklist.ratings), len(checklist.grades)
        self.pass_line, self.denominator, self.roster_count, self.quota, self.share = (
            P + _abs(r, 1) for r in range(2, 7))
        top = 9  # first row of the lists (0-based), header above
        self.rating_names = f"{P}{_abs(top, 0)}:{_abs(top + n_r - 1, 0)}"
        self.rating_factors = f"{P}{_abs(top, 1)}:{_abs(top + n_r - 1, 1)}"
        self.grade_rows = [(P + _abs(top + i, 3), P + _abs(top + i, 4)) for i in range(n_g)]
        self.veto = f"{P}{_abs(top, 6)}:{_abs(top + 49, 6)}"  # room for a clerk to add veto codes
        self.weights = {c.code: P + _abs(top + i, 11) for i, c in enumerate(checklist.categories)}
        self.top = top


class _ClassicSheet(Worksheet):
    """Our formulas use classic functions only (DESIGN.md), so xlsxwriter's ~30 regex passes per
    formula that add _xlfn. prefixes to newer functions are pure cost: at 10,000 branches they
    were a third of the build. Only the leading '=' is stripped."""

    def _prepare_formula(self, formula, expand_future_functions=False):
        return formula[1:] if formula.startswith("=") else formula


class _Grid:
    """A small sheet's cells, collected in any order and written row by row."""

    def __init__(self):
        self.cells: dict[tuple[int, int], tuple] = {}

    def put(self, r: int, c: int, value, fmt=None) -> None:
        self.cells[(r, c)] = ("v", value, fmt, None)

    def formula(self, r: int, c: int, text: str, value, fmt=None) -> None:
        self.cells[(r, c)] = ("f", text, fmt, value)

    def flush(self, ws, put) -> None:
        for (r, c), (kind, v, fmt, cached) in sorted(self.cells.items()):
            if kind == "f":
                ws.write_formula(r, c, v, fmt, cached)
            else:
                put(ws, r, c, v, fmt)


class MasterWriter:
    def __init__(self, path: Path, results: Results, checklist: Checklist, settings: Settings,
                 branches: list[Branch], conn, constant_memory: bool = True):
        self.results, self.checklist, self.settings, self.branches, self.conn = results, checklist, settings, branches, conn
        self.wb = xlsxwriter.Workbook(str(path), {"constant_memory": constant_memory, "strings_to_formulas": False,
                                                  "strings_to_urls": False, "strings_to_numbers": False,
                                                  "tmpdir": str(path.parent)})
        self.wb.set_properties({"title": f"{settings.college}{settings.year}年党支部建设汇总表",
                                "author": settings.department, "created": dt.datetime(settings.year, 1, 1)})
        f = self.wb.add_format
        self.f_title = f({"bold": True, "font_size": 14, "font_name": "黑体"})
        self.f_head = f({"bold": True, "bg_color": "#D9E1F2", "border": 1, "text_wrap": True, "valign": "vcenter"})
        self.f_num = f({"num_format": "0.00"})
        self.f_pct = f({"num_format": "0.0%"})
        self.f_red = f({"bg_color": "#FFC7CE", "font_color": "#9C0006"})
        self.f_green = f({"bg_color": "#C6EFCE", "font_color": "#006100"})
        self.f_orange = f({"bg_color": "#FFEB9C", "font_color": "#9C5700"})
        self.p = _Params(checklist)
        self.n = len(results.branches)
        self.per = len(checklist.indicators)
        self.sheets = {}
        k = len(SCORE_FIXED) + len(checklist.categories)  # 得分表: column of 总分, then the tail
        self.scores_cols = {name: xl_col_to_name(k + i) for i, name in enumerate(SCORE_TAIL)}
        self.score_first_cat = len(SCORE_FIXED)
        rejected = rejected_branches(conn)
        accepted = {b.branch.code for b in results.branches}
        self.status = {b.code: K.STATUS_ACCEPTED if b.code in accepted else
                       K.STATUS_REJECTED if b.code in rejected else K.STATUS_MISSING for b in branches}
        self.status_counts = {st: sum(1 for v in self.status.values() if v == st)
                              for st in (K.STATUS_ACCEPTED, K.STATUS_REJECTED, K.STATUS_MISSING)}

    # -- helpers ---------------------------------------------------------------------------
    def sheet(self, name: str, title: str, headers: list[str], widths: list[int] | None = None):
        ws = self.wb.add_worksheet(name, worksheet_class=_ClassicSheet)
        ws.write_string(0, 0, title, self.f_title)
        for c, h in enumerate(headers):
            ws.write_string(1, c, h, self.f_head)
            ws.set_column(c, c, (widths[c] if widths and c < len(widths) else max(10, len(h) * 2 + 2)))
        ws.freeze_panes(FIRST, 0)
        ws.set_paper(9)
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(1)
        self.sheets[name] = ws
        return ws

    @staticmethod
    def put(ws, r: int, c: int, value, fmt=None) -> None:
        """Data cells: text stays text (a branch's '=…' is never a formula), numbers stay numbers."""
        if value is None or value == "":
            return
        if isinstance(value, bool):
            ws.write_string(r, c, "是" if value else "否", fmt)
        elif isinstance(value, (int, float)):
            ws.write_number(r, c, value, fmt)
        else:
            ws.write_string(r, c, str(value), fmt)

    def finish(self, ws, headers: list[str], last_row: int) -> None:
        ws.autofilter(1, 0, max(1, last_row), len(headers) - 1)

    # -- sheets ----------------------------------------------------------------------------
    def build(self) -> None:
        # The order matters for constant_memory only within a sheet; tabs appear in this order.
        self.overview()
        self.scores()
        self.detail()
        self.evidence()
        self.problems()
        self.records()
        self.roster()
        self.missing()
        self.log()
        self.checklist_sheet()
        self.params()
        self.wb.close()

    def params(self) -> None:
        res, cl, p = self.results, self.checklist, self.p
        ws = self.wb.add_worksheet(K.MASTER_PARAMS, worksheet_class=_ClassicSheet)
        ws.set_column(0, 0, 22)
        ws.set_column(1, 12, 12)
        g = _Grid()  # constant_memory needs rows in order: collect, then write row by row
        g.put(0, 0, "计分参数（修改后各表自动重算）", self.f_title)
        rows = [("达标分数线", res.params.pass_line), ("样板比例（支部总数的几分之一，0 为不评）", res.params.quota_denominator),
                ("支部总数", len(self.branches))]
        for i, (label, value) in enumerate(rows):
            g.put(2 + i, 0, label)
            g.put(2 + i, 1, value)
        g.put(5, 0, "样板名额")
        g.formula(5, 1, f"=IF({p.denominator}>0,INT({p.roster_count}/{p.denominator}),0)", res.quota)
        g.put(6, 0, "标杆院系：样板占本总支支部数不低于")
        g.put(6, 1, res.params.benchmark_share, self.f_pct)
        t = p.top
        for col, head in ((0, "等次"), (1, "计分系数"), (3, "等次划分"), (4, "最低分"), (6, "否决项（指标编码）"),
                          (10, "类别"), (11, "权重")):
            g.put(t - 1, col, head, self.f_head)
        for i, (name, factor) in enumerate(res.params.factors):
            g.put(t + i, 0, name)
            g.put(t + i, 1, "不计分" if factor is None else factor)
        for i, (name, low) in enumerate(res.params.grades):
            g.put(t + i, 3, name)
            if low == res.params.pass_line:  # the 达标 grade follows the pass line
                g.formula(t + i, 4, f"={_abs(2, 1)}", low)
            else:
                g.put(t + i, 4, low)
        for i, code in enumerate(res.params.veto):
            g.put(t + i, 6, code)
        for i, c in enumerate(cl.categories):
            g.put(t + i, 10, c.name)
            g.put(t + i, 11, c.weight)
        note = t + max(len(res.params.grades), len(cl.categories)) + 2
        g.put(note, 0, "说明：采用等次取复验，无复验取初验，再无取自评；“不计分”的指标从本类别中扣除，"
                       "本类别按适用指标折算回权重；否决项的采用等次系数为 0 时，总分再高也认定为未达标。")
        g.flush(ws, self.put)

    def detail(self) -> None:
        ws = self.sheet(K.MASTER_DETAIL, "指标明细（每个支部 44 项，采用等次和得分为公式）", DETAIL_COLUMNS,
                        [10, 26, 18, 8, 14, 6, 9, 24, 8, 9, 9, 9, 8, 7, 7, 7, 7])
        p, r = self.p, FIRST
        cats = {c.code: c.short for c in self.checklist.categories}
        for br in self.results.branches:
            score, ev = br.score, br.evidence
            for ind in self.checklist.indicators:
                code = ind.code
                row = [br.branch.code, br.branch.name, br.branch.general, code, cats[ind.category], ind.points,
                       br.self_ratings.get(code, ""), verdict_of(code, ev),
                       "是" if code in br.mismatches else "", br.first.ratings.get(code, ""), br.second.ratings.get(code, "")]
                for c, v in enumerate(row):
                    self.put(ws, r, c, v)
                x = r + 1
                factor = self.results.params.factor(score.used[code])
                used, source = score.used[code], score.source[code]
                ws.write_formula(r, 11, f'=IF(K{x}<>"",K{x},IF(J{x}<>"",J{x},G{x}))', None, used)
                ws.write_formula(r, 12, f'=IF(K{x}<>"","复验",IF(J{x}<>"","初验","自评"))', None, source)
                ws.write_formula(r, 13, f"=IFERROR(INDEX({p.rating_factors},MATCH(L{x},{p.rating_names},0)),0)",
                                 None, "不计分" if factor is None else factor)
                ws.write_formula(r, 14, f"=IF(ISNUMBER(N{x}),F{x},0)", None, 0 if factor is None else ind.points)
                ws.write_formula(r, 15, f"=IF(ISNUMBER(N{x}),F{x}*N{x},0)", None,
                                 0 if factor is None else ind.points * factor)
                veto = 1 if code in self.results.params.veto and factor == 0 else 0
                ws.write_formula(r, 16, f"=IF(COUNTIF({p.veto},D{x})=0,0,IF(N{x}=0,1,0))", None, veto)
                r += 1
        self.finish(ws, DETAIL_COLUMNS, r - 1)

    def scores(self) -> None:
        cl, p, res = self.checklist, self.p, self.results
        cat_heads = [f"{c.short}（{c.weight:g}）" for c in cl.categories]
        headers = SCORE_FIXED + cat_heads + SCORE_TAIL
        ws = self.sheet(K.MASTER_SCORES, f"{self.settings.college}{self.settings.year}年党支部建设得分表"
                                         f"（公式计算，改动参数或等次后自动重算）", headers,
                        [10, 28, 20, 12] + [10] * len(cl.categories) + [8, 6, 8, 8, 8, 8, 12, 10, 10])
        last = FIRST + self.n  # 1-based last row
        k = len(SCORE_FIXED) + len(cl.categories)  # column of 总分
        col = self.scores_cols
        offsets, start = {}, 0
        for c in cl.categories:
            offsets[c.code] = (start, start + len(c.indicators) - 1)
            start += len(c.indicators)
        grades = res.params.grades
        for i, br in enumerate(res.branches):
            r, x, s = FIRST + i, FIRST + i + 1, br.score
            d0 = FIRST + 1 + i * self.per  # 1-based first detail row of this branch
            for c, v in enumerate([br.branch.code, br.branch.name, br.branch.general, br.branch.type]):
                self.put(ws, r, c, v)
            for j, cat in enumerate(cl.categories):
                a, b = d0 + offsets[cat.code][0], d0 + offsets[cat.code][1]
                possible, got = f"SUM({D}O{a}:O{b})", f"SUM({D}P{a}:P{b})"
                w = p.weights[cat.code]
                ws.write_formula(r, 4 + j, f"=IF({possible}=0,{w},{w}*{got}/{possible})", self.f_num,
                                 s.categories[cat.code])
            first_cat, last_cat = xl_col_to_name(4), xl_col_to_name(3 + len(cl.categories))
            ws.write_formula(r, k, f"=ROUND(SUM({first_cat}{x}:{last_cat}{x}),2)", self.f_num, s.total)
            ws.write_formula(r, k + 1, f"=RANK({col['总分']}{x},${col['总分']}${FIRST + 1}:${col['总分']}${max(last, FIRST + 1)})",
                             None, s.rank)
            ws.write_formula(r, k + 2, f"=SUM({D}Q{d0}:Q{d0 + self.per - 1})", None, len(s.veto_hits))
            grade = f"{p.grade_rows[-1][0]}"
            for name_cell, min_cell in reversed(p.grade_rows[:-1]):
                grade = f"IF({col['总分']}{x}>={min_cell},{name_cell},{grade})"
            ws.write_formula(r, k + 3, f"=IF({col['否决项数']}{x}>0,{p.grade_rows[-1][0]},{grade})", None, s.grade)
            ws.write_formula(r, k + 4, f'=IF(AND({col["否决项数"]}{x}=0,{col["总分"]}{x}>={p.pass_line}),"是","否")',
                             None, "是" if s.passed else "否")
            ws.write_formula(r, k + 5, f'=IF(AND({col["是否达标"]}{x}="是",{col["排名"]}{x}<={p.quota}),"是","")',
                             None, "是" if s.model else "")
            self.put(ws, r, k + 6, len(br.mismatches) or "")
            self.put(ws, r, k + 7, br.first.conclusion)
            self.put(ws, r, k + 8, br.second.conclusion)
        rng = f"{col['等次']}{FIRST + 1}:{col['等次']}{max(last, FIRST + 1)}"
        ws.conditional_format(rng, {"type": "cell", "criteria": "==", "value": f'"{grades[-1][0]}"', "format": self.f_red})
        ws.conditional_format(rng, {"type": "cell", "criteria": "==", "value": f'"{grades[0][0]}"', "format": self.f_green})
        flag = f"{col['自评与记录不符']}{FIRST + 1}:{col['自评与记录不符']}{max(last, FIRST + 1)}"
        ws.conditional_format(flag, {"type": "cell", "criteria": ">", "value": 0, "format": self.f_orange})
        model = f"{col['样板候选']}{FIRST + 1}:{col['样板候选']}{max(last, FIRST + 1)}"
        ws.conditional_format(model, {"type": "cell", "criteria": "==", "value": '"是"', "format": self.f_green})
        self.finish(ws, headers, last - 1)

    def overview(self) -> None:
        res, p = self.results, self.p
        ws = self.wb.add_worksheet(K.MASTER_OVERVIEW, worksheet_class=_ClassicSheet)
        ws.set_column(0, 0, 24)
        ws.set_column(1, 10, 11)
        ws.set_paper(9)
        ws.set_landscape()
        ws.fit_to_pages(1, 1)  # the overview (tables and charts) on one A4 page
        ws.activate()
        g = _Grid()
        s = self.settings
        g.put(0, 0, f"{s.college}{s.year}年党支部标准化规范化建设汇总（{s.phase}引领）", self.f_title)
        n_roster, last_s = len(self.branches), FIRST + max(self.n, 1)
        roster_rng = lambda col: f"{R}${col}${FIRST + 1}:${col}${FIRST + max(n_roster, 1)}"  # noqa: E731
        score_rng = lambda col: f"{S}${col}${FIRST + 1}:${col}${last_s}"  # noqa: E731
        col = self.scores_cols
        scored = [b.score for b in res.branches]
        figures = [
            ("支部总数", f"=COUNTA({roster_rng('A')})", n_roster),
            ("已收", f'=COUNTIF({roster_rng("G")},"{K.STATUS_ACCEPTED}")', self.n),
            ("退回待改", f'=COUNTIF({roster_rng("G")},"{K.STATUS_REJECTED}")', self.status_counts[K.STATUS_REJECTED]),
            ("未报", f'=COUNTIF({roster_rng("G")},"{K.STATUS_MISSING}")', self.status_counts[K.STATUS_MISSING]),
            ("平均分", f'=IFERROR(AVERAGE({score_rng(col["总分"])}),"")',
             sum(x.total for x in scored) / len(scored) if scored else ""),
            ("达标支部", f'=COUNTIF({score_rng(col["是否达标"])},"是")', sum(x.passed for x in scored)),
            ("样板名额", f"={p.quota}", res.quota),
            ("样板候选", f'=COUNTIF({score_rng(col["样板候选"])},"是")', sum(x.model for x in scored)),
        ]
        for i, (label, formula, value) in enumerate(figures):
            g.put(2, i + 1, label, self.f_head)
            g.formula(3, i + 1, formula, value, self.f_num if label == "平均分" else None)
        g.put(3, 0, "全院", self.f_head)
        # per 总支
        top = 6
        heads = ["党总支", "应报", "已收", "退回待改", "未报", "报送率", "平均分", "达标", "样板候选", "标杆院系候选"]
        for c, h in enumerate(heads):
            g.put(top - 1, c, h, self.f_head)
        generals = list(dict.fromkeys(b.general for b in self.branches))
        by_general = {gname: [b for b in res.branches if b.branch.general == gname] for gname in generals}
        status = self.status
        for i, gname in enumerate(generals):
            r, x = top + i, top + i + 1
            mine = [b for b in self.branches if b.general == gname]
            got = by_general[gname]
            counts = [len(mine)] + [sum(1 for b in mine if status[b.code] == st)
                                    for st in (K.STATUS_ACCEPTED, K.STATUS_REJECTED, K.STATUS_MISSING)]
            g.put(r, 0, gname)
            g.formula(r, 1, f"=COUNTIF({roster_rng('C')},A{x})", counts[0])
            for j, st in enumerate((K.STATUS_ACCEPTED, K.STATUS_REJECTED, K.STATUS_MISSING)):
                g.formula(r, 2 + j, f'=COUNTIFS({roster_rng("C")},A{x},{roster_rng("G")},"{st}")', counts[1 + j])
            g.formula(r, 5, f"=IF(B{x}=0,0,C{x}/B{x})", counts[1] / counts[0] if counts[0] else 0, self.f_pct)
            avg = sum(b.score.total for b in got) / len(got) if got else ""
            g.formula(r, 6, f'=IFERROR(AVERAGEIF({score_rng("C")},A{x},{score_rng(col["总分"])}),"")', avg, self.f_num)
            passed, models = sum(b.score.passed for b in got), sum(b.score.model for b in got)
            g.formula(r, 7, f'=COUNTIFS({score_rng("C")},A{x},{score_rng(col["是否达标"])},"是")', passed)
            g.formula(r, 8, f'=COUNTIFS({score_rng("C")},A{x},{score_rng(col["样板候选"])},"是")', models)
            g.formula(r, 9, f'=IF(AND(B{x}>0,H{x}=B{x},I{x}>={p.share}*B{x}),"是","")',
                      "是" if gname in res.benchmarks else "")
        end = top + len(generals)  # 0-based row after the per-总支 table
        # category profile
        ctop = end + 2
        for c, h in enumerate(["建设内容", "权重", "平均得分", "得分率"]):
            g.put(ctop - 1, c, h, self.f_head)
        for j, cat in enumerate(self.checklist.categories):
            r, x = ctop + j, ctop + j + 1
            letter = xl_col_to_name(self.score_first_cat + j)
            avg = sum(b.score.categories[cat.code] for b in res.branches) / self.n if self.n else 0
            g.put(r, 0, cat.name)
            g.formula(r, 1, f"={p.weights[cat.code]}", cat.weight)
            g.formula(r, 2, f"=IFERROR(AVERAGE({score_rng(letter)}),0)", avg, self.f_num)
            g.formula(r, 3, f"=IF(B{x}=0,0,C{x}/B{x})", avg / cat.weight if cat.weight else 0, self.f_pct)
        cend = ctop + len(self.checklist.categories)
        # grade distribution
        gtop = cend + 2
        g.put(gtop - 1, 0, "等次", self.f_head)
        g.put(gtop - 1, 1, "支部数", self.f_head)
        for j, (name, _) in enumerate(res.params.grades):
            g.put(gtop + j, 0, name)
            g.formula(gtop + j, 1, f'=COUNTIF({score_rng(col["等次"])},A{gtop + j + 1})',
                      sum(1 for b in scored if b.grade == name))
        g.flush(ws, self.put)
        self._charts(ws, top, end, ctop, cend)

    def _charts(self, ws, top: int, end: int, ctop: int, cend: int) -> None:
        if end > top:
            progress = self.wb.add_chart({"type": "column"})
            for c, label in ((1, "应报"), (2, "已收")):
                progress.add_series({"name": label, "categories": [K.MASTER_OVERVIEW, top, 0, end - 1, 0],
                                     "values": [K.MASTER_OVERVIEW, top, c, end - 1, c]})
            progress.set_title({"name": "各党总支报送进度"})
            ws.insert_chart(top, 11, progress, {"x_scale": 1.3})
            avg = self.wb.add_chart({"type": "bar"})
            avg.add_series({"name": "平均分", "categories": [K.MASTER_OVERVIEW, top, 0, end - 1, 0],
                            "values": [K.MASTER_OVERVIEW, top, 6, end - 1, 6]})
            avg.set_title({"name": "各党总支平均分"})
            avg.set_legend({"none": True})
            ws.insert_chart(top + 16, 11, avg, {"x_scale": 1.3})
        profile = self.wb.add_chart({"type": "radar"})
        profile.add_series({"name": "得分率", "categories": [K.MASTER_OVERVIEW, ctop, 0, cend - 1, 0],
                            "values": [K.MASTER_OVERVIEW, ctop, 3, cend - 1, 3]})
        profile.set_title({"name": "建设内容得分率"})
        ws.insert_chart(ctop, 5, profile)

    def evidence(self) -> None:
        heads = ["支部编码", "支部名称", "所属总支", "指标编码", "核验内容", "要求", "记录显示", "结论", "说明", "依据"]
        ws = self.sheet(K.MASTER_EVIDENCE, "证据明细（由支部台账核验）", heads, [10, 26, 18, 8, 14, 20, 28, 8, 30, 30])
        r = FIRST
        for br in self.results.branches:
            for e in br.evidence:
                row = [br.branch.code, br.branch.name, br.branch.general, e.indicator, _RULE_NAMES.get(e.rule, e.rule),
                       e.requirement, e.measured, e.verdict, e.detail, "；".join(e.rows)]
                for c, v in enumerate(row):
                    self.put(ws, r, c, v)
                r += 1
        for verdict, fmt in (("不符合", self.f_red), ("未到期", self.f_orange)):
            ws.conditional_format(FIRST, 7, max(r - 1, FIRST), 7, {"type": "cell", "criteria": "==",
                                                                   "value": f'"{verdict}"', "format": fmt})
        self.finish(ws, heads, r - 1)

    def problems(self) -> None:
        keys = [k for k in K.PROBLEM_COLUMNS if k != "seq"]
        heads = ["支部编码", "支部名称", "所属总支"] + [K.PROBLEM_COLUMNS[k] for k in keys]
        ws = self.sheet(K.MASTER_PROBLEMS, "问题清单和责任清单汇总", heads, [10, 26, 18, 10, 36, 36, 10, 12, 10])
        r = FIRST
        for br in self.results.branches:
            for p in br.problems:
                for c, v in enumerate([br.branch.code, br.branch.name, br.branch.general] + [p.get(k) for k in keys]):
                    self.put(ws, r, c, v)
                r += 1
        self.finish(ws, heads, r - 1)

    def records(self) -> None:
        """基本信息 and the raw tables of every current return, streamed from the ledger."""
        order = {b.code: i for i, b in enumerate(self.branches)}
        basic_keys = list(K.BASIC_FIELDS)
        self._stream(K.MASTER_BASIC, "各支部基本信息", ["支部编码", "支部名称", "所属总支"] +
                     [K.BASIC_FIELDS[k] for k in basic_keys], "t_basic", basic_keys, order, with_row=False)
        for sheet, title, table in ((K.MASTER_MEMBERS, "党员名册汇总", "members"),
                                    (K.MASTER_ACTIVITIES, "三会一课记录汇总", "activities"),
                                    (K.MASTER_ACTIVISTS, "入党积极分子汇总", "activists")):
            keys = [k for k in K.TABLES[table][1] if k != "seq"]
            self._stream(sheet, title, ["支部编码", "支部名称", "所属总支", "原表行号"] +
                         [K.TABLES[table][1][k] for k in keys], f"t_{table}", keys, order, with_row=True)

    def _stream(self, sheet, title, heads, table, keys, order, with_row: bool) -> None:
        cols = ", ".join(f'x."{k}"' for k in keys)
        row_col = "x.row, " if with_row else ""
        cursor = self.conn.execute(
            f"""SELECT b.code, b.name, b.general, {row_col}{cols} FROM {table} x
                JOIN returns r ON r.id = x.return_id AND r.current = 1 AND r.kind = ?
                JOIN t_basic b ON b.return_id = r.id ORDER BY b.code, {'x.row' if with_row else 'b.code'}""",
            (K.KIND_BRANCH,))
        part, ws, r = 1, self.sheet(sheet, title, heads), FIRST
        for rec in cursor:
            if r >= K.EXCEL_MAX_ROWS:  # a sheet is full: continue on the next one
                self.finish(ws, heads, r - 1)
                part += 1
                ws, r = self.sheet(f"{sheet}({part})", f"{title}（续{part - 1}）", heads), FIRST
            for c, v in enumerate(rec):
                self.put(ws, r, c, v)
            r += 1
        self.finish(ws, heads, r - 1)

    def roster(self) -> None:
        heads = ["支部编码", "支部名称", "所属总支", "支部类型", "支部书记", "联系电话", "报送状态"]
        ws = self.sheet(K.MASTER_ROSTER, "支部名册及报送状态", heads, [10, 28, 20, 14, 10, 14, 10])
        for i, b in enumerate(self.branches):
            for c, v in enumerate([b.code, b.name, b.general, b.type, b.secretary, b.phone, self.status[b.code]]):
                self.put(ws, FIRST + i, c, v)
        self.finish(ws, heads, FIRST + len(self.branches) - 1)

    def missing(self) -> None:
        heads = ["支部编码", "支部名称", "所属总支", "支部书记", "联系电话", "状态"]
        ws = self.sheet(K.MASTER_MISSING, "尚未报送或退回待改的支部", heads, [10, 28, 20, 10, 14, 10])
        r = FIRST
        for b in self.branches:
            if self.status[b.code] != K.STATUS_ACCEPTED:
                for c, v in enumerate([b.code, b.name, b.general, b.secretary, b.phone, self.status[b.code]]):
                    self.put(ws, r, c, v)
                r += 1
        self.finish(ws, heads, r - 1)

    def log(self) -> None:
        heads = ["收到时间", "原文件名", "处理结果", "支部编码", "错误", "提醒", "说明", "原件存档位置", "退回说明"]
        ws = self.sheet(K.MASTER_LOG, "报送记录（每个收到的文件一行）", heads, [18, 36, 8, 10, 6, 6, 50, 40, 40])
        rows = self.conn.execute(
            """SELECT f.arrived_at, f.original_name, f.outcome, f.branch_code, f.errors, f.warnings,
                      (SELECT message FROM findings WHERE file_id = f.id ORDER BY severity = 'error' DESC, rowid LIMIT 1),
                      f.stored_as, f.feedback FROM files f ORDER BY f.id""")
        r = FIRST
        for rec in rows:
            rec = list(rec)
            rec[0] = rec[0].replace("T", " ")
            rec[2] = K.OUTCOME_NAMES.get(rec[2], rec[2])
            for c, v in enumerate(rec):
                self.put(ws, r, c, v)
            r += 1
        self.finish(ws, heads, r - 1)

    def checklist_sheet(self) -> None:
        heads = ["指标编码", "建设内容", "序号", "简称", "具体指标", "分值", "否决项", "可核验的要求"]
        ws = self.sheet(K.MASTER_CHECKLIST, f"建设要点清单（版本 {self.checklist.version}）", heads,
                        [8, 16, 5, 18, 70, 6, 6, 30])
        r = FIRST
        for cat in self.checklist.categories:
            for ind in cat.indicators:
                rules = "；".join(_RULE_NAMES.get(x.type, x.type) for x in ind.rules)
                for c, v in enumerate([ind.code, cat.name, ind.seq, ind.short, ind.text, ind.points,
                                       "是" if ind.veto else "", rules]):
                    self.put(ws, r, c, v)
                r += 1
        self.finish(ws, heads, r - 1)


_RULE_NAMES = {
    "min_full_members": "正式党员人数", "committee": "支委会设置", "branch_size": "党员规模与党小组", "term": "按期换届",
    "secretary_training": "书记轮训", "venue": "活动场所", "frequency": "活动频次", "secretary_lecture": "书记讲党课",
    "activist_reports": "积极分子思想汇报", "study_hours": "学习学时", "dues": "按月缴纳党费",
    "activist_review": "积极分子考察", "org_life_gap": "参加组织生活",
}


def write_master(conn, results: Results, checklist: Checklist, settings: Settings, branches: list[Branch],
                 dest: Path, now: dt.datetime) -> tuple[Path, bool]:
    """Build the master beside dest and rename it into place. If dest is locked (open in Excel),
    keep the new one beside it with a timestamp. Returns (where it is, whether that is dest)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".master.", suffix=".tmp", dir=scratch_dir(dest.parent))  # xlsxwriter's too
    os.close(fd)
    tmp = Path(tmp)
    try:
        MasterWriter(tmp, results, checklist, settings, branches, conn).build()
        try:
            os.replace(tmp, dest)
            return dest, True
        except PermissionError:
            beside = dest.with_name(f"{dest.stem}_{now:%Y%m%d-%H%M%S}{dest.suffix}")
            os.replace(tmp, beside)
            return beside, False
    finally:
        tmp.unlink(missing_ok=True)

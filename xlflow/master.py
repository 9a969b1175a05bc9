"""stage: ledger + results → outbox/master.xlsx, the master workbook whose scoring is live formulas.

Every derived figure (rating used, scores, category scores rescaled over applicable indicators,
totals, rank, 等次, 样板 and 标杆院系 candidates, overview figures) is a classic Excel formula over
the cells and the 参数 sheet, so a clerk who tries a rating or a parameter in Excel or WPS sees
everything recompute; each formula also carries the value xlflow computed (results.py), so
viewers that do not recalculate show true numbers. Formulas name their columns (`Columns`), never
fixed letters, so a column added to a sheet moves every reference with it. Branch detail rows are
contiguous (one per indicator, grouped by category), so each branch's formulas use direct ranges,
not SUMIFS over the whole sheet: the workbook stays fast to recalculate at 10,000 branches. Raw
records are streamed from the ledger (xlsxwriter constant_memory) and continue on a new sheet when
a sheet is full, so 10,000 branches fit in bounded memory.

The master is rebuilt from the ledger after every pass; a copy a clerk edited since xlflow wrote it
(sha256 in a sidecar manifest) is kept beside the new one under another name, never overwritten.
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass
from pathlib import Path

import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell

from xlflow import constants as K
from xlflow.checklist import RULE_NAMES, Checklist
from xlflow.evidence import verdict_of
from xlflow.keep import Written, put_in_place
from xlflow.ledger import current_branch_files, file_log, rejected_branches, return_records
from xlflow.master_years import changes_sheet, general_years_sheet, rectify_sheet
from xlflow.results import Results
from xlflow.roster import Branch
from xlflow.settings import Settings
from xlflow.files import code_fingerprint
from xlflow.sheetcache import HEIGHT, BlockCache, BlockSheet, mark, splice
from xlflow.sheetstyle import (FIRST, F, ClassicSheet, Col, Columns, Formats, Grid, Table, display_width, dropdown,
                               page_setup, wrapped_lines)

BRANCH = (Col("branch_code", "支部编码"), Col("branch_name", "支部名称"), Col("general", "所属总支"))

DETAIL = Columns([
    *BRANCH, Col("indicator", "指标编码"), Col("category", "类别"), Col("points", "分值"),
    Col("self", "自评等次"), Col("evidence", "记录核验"), Col("mismatch", "自评与记录不符"),
    Col("first", "初验等次", width=10), Col("second", "复验等次", width=10), Col("used", "采用等次"),
    Col("source", "采用来源"), Col("factor", "系数"), Col("possible", "可得分"), Col("got", "得分"),
    Col("veto", "否决命中"),
])
SCORE_HEAD = (*BRANCH, Col("type", "支部类型"))
# The per-branch columns after the category scores. A new per-branch figure (e.g. 验收状态) is one
# Col here plus its value in score_sheet's row dict.
SCORE_TAIL = (
    Col("total", "总分", "num"), Col("rank", "排名"), Col("vetoes", "否决项数"), Col("grade", "等次"),
    Col("passed", "是否达标"), Col("model", "样板候选"), Col("mismatches", "自评与记录不符"),
    Col("first", "初验结论"), Col("second", "复验结论"), Col("acceptance", "验收状态"), Col("decided", "党委评定样板"),
)
ROSTER = Columns([*BRANCH, Col("type", "支部类型"), Col("secretary", "支部书记"), Col("phone", "联系电话"),
                  Col("status", "报送状态"), Col("acceptance", "验收状态")])
GENERALS = Columns([  # the overview's table per 党总支
    Col("general", "党总支"), Col("expected", "应报"), Col("accepted", "已收"), Col("rejected", "退回待改"),
    Col("missing", "未报"), Col("rate", "报送率", "pct"), Col("average", "平均分", "num"), Col("passed", "达标"),
    Col("models", "样板候选"), Col("benchmark", "标杆院系候选"), Col("recognized", "认定达标"),
])
PROFILE = Columns([Col("category", "建设内容"), Col("weight", "权重"), Col("average", "平均得分", "num"),
                   Col("rate", "得分率", "pct")])  # the overview's category profile
GRADE_COUNTS = Columns([Col("grade", "等次"), Col("count", "支部数")])  # the overview's grade distribution
EVIDENCE = Columns([*BRANCH, Col("indicator", "指标编码"), Col("rule", "核验内容"), Col("requirement", "要求"),
                    Col("measured", "记录显示"), Col("verdict", "结论"), Col("detail", "说明"),
                    Col("rows", "依据")])
MISSING = Columns([*BRANCH, Col("secretary", "支部书记"), Col("phone", "联系电话"), Col("status", "状态")])
LOG = Columns([Col("arrived", "收到时间", "datetime"), Col("name", "原文件名"), Col("outcome", "处理结果"),
               Col("branch_code", "支部编码"), Col("errors", "错误"), Col("warnings", "提醒"),
               Col("message", "说明", "wrap", width=40), Col("stored", "原件存档位置"), Col("feedback", "退回说明")])
CHECKLIST = Columns([Col("code", "指标编码"), Col("category", "建设内容"), Col("seq", "序号"), Col("short", "简称"),
                     Col("text", "具体指标", "wrap", width=60), Col("points", "分值"), Col("veto", "否决项"),
                     Col("rules", "可核验的要求")])

# Header rows as the tests and readers see them
DETAIL_COLUMNS = DETAIL.heads
SCORE_FIXED = [c.head for c in SCORE_HEAD]


def score_columns(checklist: Checklist) -> Columns:
    cats = [Col(f"cat_{c.code}", f"{c.short}（{c.weight:g}）", "num") for c in checklist.categories]
    return Columns([*SCORE_HEAD, *cats, *SCORE_TAIL])


def _field_kinds() -> dict[str, dict[str, str]]:
    """table -> field key -> how the master shows it (date cells, 是/否, else as stored), from the field
    table (constants.FIELDS) that the branch workbook and the validator use too."""
    return {t: {f.key: f.kind if f.kind in ("date", "yesno") else "text" for f in fs} for t, fs in K.FIELDS.items()}


# -- the 参数 sheet's layout ---------------------------------------------------------------------------

class Params:
    """Where each parameter sits on the 参数 sheet (absolute references for the formulas)."""

    VALUE = 1  # column of the values (B)
    RATING, GRADE, VETO, CATEGORY = 0, 3, 6, 8  # first column of each list
    TOP = 9  # 0-based first row of the lists, their header above
    LAST = 9  # last column the sheet uses (J)

    def __init__(self, checklist: Checklist):
        n_r, n_g, top = len(checklist.ratings), len(checklist.grades), self.TOP
        self.pass_line, self.denominator, self.roster_count, self.quota, self.share = (
            self.cell(r, self.VALUE) for r in range(2, 7))
        self.rating_names = self.cells(top, top + n_r - 1, self.RATING)
        self.rating_factors = self.cells(top, top + n_r - 1, self.RATING + 1)
        self.grade_rows = [(self.cell(top + i, self.GRADE), self.cell(top + i, self.GRADE + 1)) for i in range(n_g)]
        self.veto = self.cells(top, top + 49, self.VETO)  # room below for a clerk to try more veto codes
        self.weights = {c.code: self.cell(top + i, self.CATEGORY + 1) for i, c in enumerate(checklist.categories)}

    @staticmethod
    def cell(r: int, c: int) -> str:
        return f"'{K.MASTER_PARAMS}'!" + xl_rowcol_to_cell(r, c, row_abs=True, col_abs=True)

    @classmethod
    def cells(cls, r0: int, r1: int, c: int) -> str:
        return f"{cls.cell(r0, c)}:{xl_rowcol_to_cell(r1, c, row_abs=True, col_abs=True)}"


# -- the book ----------------------------------------------------------------------------------------

@dataclass
class Book:
    wb: xlsxwriter.Workbook
    fmt: Formats
    results: Results
    conn: object
    params: Params
    scores: Columns
    status: dict[str, str]  # branch code -> 已收 / 退回待改 / 未报
    branch_widths: dict[str, str]  # branch column key -> its widest text in the roster
    kinds: dict[str, dict[str, str]]  # see _field_kinds
    cache: BlockCache
    parts: dict[str, list]  # worksheet part -> its blocks, spliced in after xlsxwriter closes the workbook

    @property
    def checklist(self) -> Checklist:
        return self.results.campaign.checklist

    @property
    def settings(self) -> Settings:
        return self.results.campaign.settings

    @property
    def branches(self) -> tuple[Branch, ...]:
        return self.results.campaign.branches

    @property
    def per(self) -> int:
        return len(self.checklist.indicators)


def _book(wb, results: Results, conn, cache) -> Book:
    checklist, branches = results.campaign.checklist, results.campaign.branches
    rejected = rejected_branches(conn)
    accepted = {b.branch.code for b in results.branches}
    status = {b.code: K.STATUS_ACCEPTED if b.code in accepted else K.STATUS_REJECTED if b.code in rejected
              else K.STATUS_MISSING for b in branches}
    widest = {key: max((getattr(b, attr) for b in branches), key=display_width, default="")
              for key, attr in (("branch_code", "code"), ("branch_name", "name"), ("general", "general"))}
    return Book(wb, Formats(wb), results, conn, Params(checklist),
                score_columns(checklist), status, widest, _field_kinds(), cache, {})


def _table(b: Book, name: str, title: str, cols: Columns, **kw) -> Table:
    return Table(b.wb, b.fmt, name, title, cols, seen=b.branch_widths, **kw)


def build(path: Path, results: Results, conn, constant_memory: bool = True, cache: Path | None = None) -> None:
    """Write the master workbook at path. cache: the block cache's file (sheetcache.py), None for a
    build from scratch; the workbook is the same either way."""
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": constant_memory, "strings_to_formulas": False,
                                         "strings_to_urls": False, "strings_to_numbers": False,
                                         "tmpdir": str(path.parent)})
    settings = results.campaign.settings
    wb.set_properties({"title": f"{settings.college}{settings.year}年党支部建设汇总表",
                       "author": settings.department, "created": dt.datetime(settings.year, 1, 1)})
    blocks = BlockCache(cache)
    try:
        book = _book(wb, results, conn, blocks)
        for sheet in (overview_sheet, score_sheet, years_sheet, general_years_sheet, changes_sheet, rectify_sheet,
                      detail_sheet, evidence_sheet, problems_sheet,
                      record_sheets, roster_sheet, missing_sheet, log_sheet, checklist_sheet, params_sheet):  # tab order
            sheet(book)
        wb.close()
        splice(path, book.parts, blocks)
    except BaseException:
        blocks.abort()
        raise
    blocks.close()


def _blocks(b: Book, t: Table, signature: str = "", numbered: bool = False) -> BlockSheet:
    """A table sheet whose rows come per branch through the block cache; this module's source is part
    of every block's key (the rows are made here). numbered: the rows hold formulas (which name their
    rows); the other sheets' blocks have no row numbers, so a corrected return that gains rows
    moves every later block at no cost (sheetcache.render)."""
    return BlockSheet(t, b.cache, b.parts, f"{_CODE}|{signature}", numbered)


_CODE = code_fingerprint(sys.modules[__name__])


# -- the sheets ----------------------------------------------------------------------------------------

def params_sheet(b: Book) -> None:
    res, cl, p = b.results, b.checklist, b.params
    ws = b.wb.add_worksheet(K.MASTER_PARAMS, worksheet_class=ClassicSheet)
    fmt, g = b.fmt, Grid()  # constant_memory needs rows in order: collect, then write row by row
    g.put(0, 0, "计分参数（可在此试算：改动后各表自动重算）", fmt.title)
    rows = [("达标分数线", res.params.pass_line, "长期修改：templates/checklist.yaml 中的 pass_line"),
            ("样板比例（支部总数的几分之一，0 为不评）", res.params.quota_denominator,
             "长期修改：xlflow.toml 中的 phase（达标、提质为 10，创优为 5）"),
            ("支部总数", len(b.branches), "长期修改：templates/branches.xlsx（支部名册）"),
            ("样板名额", F(f"=IF({p.denominator}>0,INT({p.roster_count}/{p.denominator}),0)", res.quota),
             "公式：支部总数 ÷ 样板比例，取整"),
            ("标杆院系：样板占本总支支部数不低于", res.params.benchmark_share, "长期修改：xlflow.toml 中的 benchmark_share"),
            ("标杆院系：往年每年认定达标率不低于", b.settings.benchmark_rate, "长期修改：xlflow.toml 中的 benchmark_rate")]
    label_width = max(display_width(label) for label, _, _ in rows) + 2  # no label cut, on screen or paper
    widths = {0: label_width, 1: 10, 2: 3, 3: 10, 4: 8, 5: 3, 6: 18, 7: 3, 8: 18, 9: 8}
    for c, w in widths.items():
        ws.set_column(c, c, w)
    page_setup(ws, tall=1, margins=(0.5, 0.5, 0.6, 0.6))  # one page
    span = sum(widths.values())
    g.merge(1, 0, p.LAST, "在本表或“指标明细”的初验、复验等次中改动，只是在 Excel/WPS 中试算：各表随即重算，"
                          "但不进入台账，下次生成汇总表时恢复为下列文件中的值（改过的汇总表会另存为"
                          "“master（已修改-日期时间）.xlsx”，不会丢失）。要长期改变，请按每项右边或下方的说明修改。",
            fmt.note, span)
    for i, (label, value, where) in enumerate(rows):
        g.put(2 + i, 0, label)
        g.put(2 + i, p.VALUE, value, fmt.pct if i >= 4 else None)
        g.put(2 + i, p.VALUE + 2, where)
    t = p.TOP
    for col, head in ((p.RATING, "等次"), (p.RATING + 1, "计分系数"), (p.GRADE, "等次划分"), (p.GRADE + 1, "最低分"),
                      (p.VETO, "否决项（指标编码）"), (p.CATEGORY, "类别"), (p.CATEGORY + 1, "权重")):
        g.put(t - 1, col, head, fmt.head)
    for i, (name, factor) in enumerate(res.params.factors):
        g.put(t + i, p.RATING, name)
        g.put(t + i, p.RATING + 1, "不计分" if factor is None else factor)
    for i, (name, low) in enumerate(res.params.grades):
        g.put(t + i, p.GRADE, name)
        # the 达标 grade follows the pass line
        g.put(t + i, p.GRADE + 1, F(f"={p.pass_line}", low) if low == res.params.pass_line else low)
    for i, code in enumerate(res.params.veto):
        g.put(t + i, p.VETO, code)
    for i, c in enumerate(cl.categories):
        g.put(t + i, p.CATEGORY, c.name)
        g.put(t + i, p.CATEGORY + 1, c.weight)
    note = t + max(len(res.params.factors), len(res.params.grades), len(res.params.veto), len(cl.categories)) + 1
    g.merge(note, 0, p.LAST, "长期修改：等次和计分系数（ratings）、等次划分（grades）、否决项（veto）、类别权重"
                             "（categories 的 weight）都在 templates/checklist.yaml 中修改，下次生成汇总表时生效；"
                             "初验、复验等次由各党总支和学院填写验收工作簿（outbox/review/），交回 inbox/ 后计入。",
            fmt.note, span)
    g.merge(note + 1, 0, p.LAST, "计分规则：采用等次取复验，无复验取初验，再无取自评；“不计分”的指标从本类别中扣除，"
                                 "本类别按适用指标折算回权重；否决项的采用等次系数为 0 时，总分再高也认定为未达标。",
            fmt.wrap, span)
    g.merge(note + 2, 0, p.LAST, "标杆院系规则（创优年度，依据达标以及创建样板党支部成效）：本总支全部党支部本年度经学院党委认定达标；"
                                 "样板党支部（含往年评定、未撤销的）不少于本总支支部数 × benchmark_share；往年每一年认定达标的"
                                 "支部不少于本总支支部数 × benchmark_rate。", fmt.wrap, span)
    g.flush(ws)


def detail_sheet(b: Book) -> None:
    p, res, cols = b.params, b.results, DETAIL
    t = _table(b, K.MASTER_DETAIL, f"指标明细（每个支部 {b.per} 项，采用等次和得分为公式）", cols)
    f = cols.row_formula
    used = f('=IF({second}<>"",{second},IF({first}<>"",{first},{self}))')
    source = f('=IF({second}<>"","复验",IF({first}<>"","初验","自评"))')
    factor = f("=IFERROR(INDEX({factors},MATCH({used},{names},0)),0)", factors=p.rating_factors, names=p.rating_names)
    possible = f("=IF(ISNUMBER({factor}),{points},0)")
    got = f("=IF(ISNUMBER({factor}),{points}*{factor},0)")
    veto = f("=IF(COUNTIF({vetoes},{indicator})=0,0,IF({factor}=0,1,0))", vetoes=p.veto)
    cats = {c.code: c.short for c in b.checklist.categories}
    inds = [(ind.code, cats[ind.category], ind.points) for ind in b.checklist.indicators]
    sheet = _blocks(b, t, repr((used, source, factor, possible, got, veto, inds, res.params.veto)), numbered=True)

    def rows(head, vals):
        return [{**head, "indicator": code, "category": cat, "points": points, "self": self_, "evidence": ev,
                 "mismatch": mis, "first": first, "second": second,
                 "used": F(used.format(r=mark(i)), u), "source": F(source.format(r=mark(i)), src),
                 "factor": F(factor.format(r=mark(i)), "不计分" if k is None else k),
                 "possible": F(possible.format(r=mark(i)), 0 if k is None else points),
                 "got": F(got.format(r=mark(i)), 0 if k is None else points * k),
                 "veto": F(veto.format(r=mark(i)), 1 if code in res.params.veto and k == 0 else 0)}
                for i, ((code, cat, points), (self_, ev, mis, first, second, u, src, k)) in enumerate(zip(inds, vals))]

    def values(br):
        s, verdicts = br.score, _verdicts(br.evidence)
        return [(br.self_ratings.get(code), verdicts.get(code, ""), "是" if code in br.mismatches else None,
                 br.first.ratings.get(code), br.second.ratings.get(code), s.used[code], s.source[code],
                 res.params.factor(s.used[code])) for code, _, _ in inds]

    for br in res.branches:
        head = {"branch_code": br.branch.code, "branch_name": br.branch.name, "general": br.branch.general}
        # what the values are made from: the return's part (self ratings, evidence, mismatches) by its
        # name, the reviews, the factors (cheaper than the values, made only for a block not cached)
        material = (head, br.part, br.first.ratings, br.second.ratings, res.params.factors) if br.part \
            else (head, values(br))
        sheet.add(material, lambda head=head, br=br: rows(head, values(br)), len(inds))
    first, last = t.first_last()
    for key in ("first", "second"):  # ratings a clerk may try: only the checklist's
        dropdown(t.ws, first - 1, cols[key], last - 1, p.rating_names, cols.cols[cols[key]].head,
                 [r.name for r in b.checklist.ratings], "请从下拉列表中选择。此处改动只用于试算，"
                 "长期有效的验收等次请通过验收工作簿交回。")
    sheet.close()


def _verdicts(evidence) -> dict[str, str]:
    """indicator -> evidence.verdict_of(indicator, evidence), in one pass over a branch's evidence."""
    by: dict[str, list] = {}
    for e in evidence:
        by.setdefault(e.indicator, []).append(e)
    return {code: verdict_of(code, ev) for code, ev in by.items()}


def years_sheet(b: Book) -> None:
    """历年对比 (a later year): each branch's score and stage in every earlier year (frozen marks), this
    year's score looked up live from 得分表, and the change on last year as a formula."""
    res, s = b.results, b.settings
    years = sorted(res.marks)
    if not years:
        return
    cols = Columns([*BRANCH, *(c for y in years for c in (Col(f"t{y}", f"{y}年得分", "num"), Col(f"s{y}", f"{y}年验收状态"))),
                    Col("now", f"{s.year}年得分", "num"), Col("stage", f"{s.year}年验收状态"),
                    Col("change", "较上年", "num"), Col("model", "样板")])
    t = _table(b, K.MASTER_YEARS, f"{s.college}党支部建设历年对比（{years[0]}—{s.year}年）", cols)
    n = len(res.branches)
    codes = b.scores.span("branch_code", FIRST + 1, FIRST + max(n, 1), K.MASTER_SCORES, absolute=True)
    totals = b.scores.span("total", FIRST + 1, FIRST + max(n, 1), K.MASTER_SCORES, absolute=True)
    now = cols.row_formula('=IFERROR(INDEX({totals},MATCH({branch_code},{codes},0)),"")', totals=totals, codes=codes)
    last = f"t{years[-1]}"
    change = cols.row_formula(f'=IF(OR({{now}}="",{{{last}}}=""),"",ROUND({{now}}-{{{last}}},2))')
    scored = {r.branch.code: r.score.total for r in res.branches}
    for x in b.branches:
        r = t.r + 1
        row = {"branch_code": x.code, "branch_name": x.name, "general": x.general}
        for y in years:
            m = res.marks[y].get(x.code, {})
            row[f"t{y}"], row[f"s{y}"] = m.get("total"), m.get("stage", "")
        mine, before = scored.get(x.code), res.marks[years[-1]].get(x.code, {}).get("total")
        st = res.standings[x.code]
        row |= {"now": F(now.format(r=r), mine if mine is not None else ""), "stage": st.stage,
                "change": F(change.format(r=r), round(mine - before, 2) if mine is not None and before is not None
                            else ""),
                "model": _decided_model(st) or ("是" if any(res.marks[y].get(x.code, {}).get("model") for y in years)
                                                else "")}
        t.row(row)
    t.close()


def _decided_model(st) -> str:
    """The committee's 样板 (not the score's candidate): named this year, or held from an earlier one."""
    if st.model:
        return "是"
    return f"{st.model_since}年评定" if st.model_since else ""


def score_sheet(b: Book) -> None:
    cl, p, res, cols, s = b.checklist, b.params, b.results, b.scores, b.settings
    t = _table(b, K.MASTER_SCORES, f"{s.college}{s.year}年党支部建设得分表（公式计算，改动参数或等次后自动重算）", cols)
    f = cols.row_formula
    first_cat, last_cat = (f"cat_{c.code}" for c in (cl.categories[0], cl.categories[-1]))
    n = len(res.branches)
    total_col = cols.span("total", FIRST + 1, FIRST + max(n, 1), absolute=True)
    total = f("=ROUND(SUM({a}:{b}),2)", a=cols.letter(first_cat) + "{r}", b=cols.letter(last_cat) + "{r}")
    rank = f("=RANK({total},{all})", all=total_col)
    grade = p.grade_rows[-1][0]
    for name_cell, min_cell in reversed(p.grade_rows[:-1]):
        grade = f"IF({{total}}>={min_cell},{name_cell},{grade})"
    grade = f(f"=IF({{vetoes}}>0,{p.grade_rows[-1][0]},{grade})")
    passed = f('=IF(AND({vetoes}=0,{total}>={line}),"是","否")', line=p.pass_line)
    model = f('=IF(AND({passed}="是",{rank}<={quota}),"是","")', quota=p.quota)
    offsets, start = {}, 0
    for c in cl.categories:
        offsets[c.code] = (start, start + len(c.indicators) - 1)
        start += len(c.indicators)
    sheet = _blocks(b, t, repr((total, rank, grade, passed, model, offsets, p.weights)), numbered=True)

    def rows(x, d0, head, cats, total_, rank_, vetoes, grade_, passed_, model_, tail):
        row = dict(head)
        for cat in cl.categories:
            a, z = d0 + offsets[cat.code][0], d0 + offsets[cat.code][1]
            can = f"SUM({DETAIL.span('possible', a, z, K.MASTER_DETAIL)})"
            got = f"SUM({DETAIL.span('got', a, z, K.MASTER_DETAIL)})"
            w = p.weights[cat.code]
            row[f"cat_{cat.code}"] = F(f"=IF({can}=0,{w},{w}*{got}/{can})", cats[cat.code])
        return [row | {
            "total": F(total.format(r=x), total_), "rank": F(rank.format(r=x), rank_),
            "vetoes": F(f"=SUM({DETAIL.span('veto', d0, d0 + b.per - 1, K.MASTER_DETAIL)})", vetoes),
            "grade": F(grade.format(r=x), grade_), "passed": F(passed.format(r=x), passed_),
            "model": F(model.format(r=x), model_), **tail}]

    for i, br in enumerate(res.branches):
        sc = br.score
        # the row and the branch's first detail row (1-based) are in its formulas: part of its key
        vals = (t.r + 1, FIRST + 1 + i * b.per,
                {"branch_code": br.branch.code, "branch_name": br.branch.name, "general": br.branch.general,
                 "type": br.branch.type}, sc.categories, sc.total, sc.rank, len(sc.veto_hits), sc.grade,
                "是" if sc.passed else "否", "是" if sc.model else "",
                {"mismatches": len(br.mismatches) or None, "first": br.first.conclusion,
                 "second": br.second.conclusion, "acceptance": br.standing.stage,
                 "decided": _decided_model(br.standing)})
        sheet.add((vals, n), lambda vals=vals: rows(*vals), 1)
    first, last = t.first_last()
    grades, fmt = res.params.grades, b.fmt
    for key, value, style in (("grade", f'"{grades[-1][0]}"', fmt.bad), ("grade", f'"{grades[0][0]}"', fmt.good),
                              ("model", '"是"', fmt.good)):
        t.ws.conditional_format(cols.span(key, first, last), {"type": "cell", "criteria": "==", "value": value,
                                                              "format": style})
    t.ws.conditional_format(cols.span("mismatches", first, last), {"type": "cell", "criteria": ">", "value": 0,
                                                                   "format": fmt.warn})
    sheet.close()


def _block(b: Book, g: Grid, top: int, cols: Columns, rows: list[dict]) -> int:
    """A table on a small sheet: its header in row top - 1, then one {key: value} per row, formatted
    by the column's kind. Returns the row after it."""
    for c, h in enumerate(cols.heads):
        g.put(top - 1, c, h, b.fmt.head)
    for i, values in enumerate(rows):
        for key, v in values.items():
            kind = cols.cols[cols[key]].kind
            g.put(top + i, cols[key], v, None if kind == "text" else getattr(b.fmt, kind))
    return top + len(rows)


def overview_sheet(b: Book) -> None:
    res, p, s, fmt, sc = b.results, b.params, b.settings, b.fmt, b.scores
    ws = b.wb.add_worksheet(K.MASTER_OVERVIEW, worksheet_class=ClassicSheet)
    ws.set_column(0, 0, 24)
    ws.set_column(1, max(len(GENERALS) - 1, 8), 11)
    page_setup(ws, tall=1)  # the overview (tables and charts) on one A4 page
    ws.activate()
    g = Grid()
    g.put(0, 0, f"{s.college}{s.year}年党支部标准化规范化建设汇总（{s.phase}引领）", fmt.title)
    n, n_roster = len(res.branches), len(b.branches)

    def roster(key):
        return ROSTER.span(key, FIRST + 1, FIRST + max(n_roster, 1), K.MASTER_ROSTER, absolute=True)

    def scores(key):
        return sc.span(key, FIRST + 1, FIRST + max(n, 1), K.MASTER_SCORES, absolute=True)

    scored = [x.score for x in res.branches]
    counts = {st: sum(1 for v in b.status.values() if v == st) for st in (K.STATUS_REJECTED, K.STATUS_MISSING)}
    figures = [
        ("支部总数", f"=COUNTA({roster('branch_code')})", n_roster),
        ("已收", f'=COUNTIF({roster("status")},"{K.STATUS_ACCEPTED}")', n),
        ("退回待改", f'=COUNTIF({roster("status")},"{K.STATUS_REJECTED}")', counts[K.STATUS_REJECTED]),
        ("未报", f'=COUNTIF({roster("status")},"{K.STATUS_MISSING}")', counts[K.STATUS_MISSING]),
        ("平均分", f'=IFERROR(AVERAGE({scores("total")}),"")', sum(x.total for x in scored) / n if n else ""),
        ("达标支部", f'=COUNTIF({scores("passed")},"是")', sum(x.passed for x in scored)),
        ("样板名额", f"={p.quota}", res.quota),
        ("样板候选", f'=COUNTIF({scores("model")},"是")', sum(x.model for x in scored)),
        ("认定达标", f'=COUNTIF({roster("acceptance")},"{K.STAGE_RECOGNIZED}")',
         sum(1 for st in res.standings.values() if st.stage == K.STAGE_RECOGNIZED)),
    ]
    for i, (label, formula, value) in enumerate(figures):
        g.put(2, i + 1, label, fmt.head)
        g.put(3, i + 1, F(formula, value), fmt.num if label == "平均分" else None)
    g.put(3, 0, "全院", fmt.head)

    # per 总支
    top, f = 6, GENERALS.row_formula
    statuses = {"accepted": K.STATUS_ACCEPTED, "rejected": K.STATUS_REJECTED, "missing": K.STATUS_MISSING}
    by_status = {key: f(f'=COUNTIFS({roster("general")},{{general}},{roster("status")},"{st}")')
                 for key, st in statuses.items()}
    expected = f("=COUNTIF({rg},{general})", rg=roster("general"))
    rate = f("=IF({expected}=0,0,{accepted}/{expected})")
    average = f('=IFERROR(AVERAGEIF({g},{general},{t}),"")', g=scores("general"), t=scores("total"))
    passed = f('=COUNTIFS({g},{general},{p},"是")', g=scores("general"), p=scores("passed"))
    models = f('=COUNTIFS({g},{general},{m},"是")', g=scores("general"), m=scores("model"))
    bench = f('=IF(AND({expected}>0,{passed}={expected},{models}>={share}*{expected}),"是","")', share=p.share)
    recognized = f('=COUNTIFS({rg},{general},{ra},"{st}")', rg=roster("general"), ra=roster("acceptance"),
                   st=K.STAGE_RECOGNIZED)
    rows = []
    for i, gname in enumerate(dict.fromkeys(x.general for x in b.branches)):
        x = top + i + 1
        mine = [c for c in b.branches if c.general == gname]
        got = [c for c in res.branches if c.branch.general == gname]
        values = {"general": gname, "expected": F(expected.format(r=x), len(mine)),
                  **{key: F(by_status[key].format(r=x), sum(1 for c in mine if b.status[c.code] == st))
                     for key, st in statuses.items()}}
        rows.append(values | {
            "rate": F(rate.format(r=x), values["accepted"].value / len(mine) if mine else 0),
            "average": F(average.format(r=x), sum(c.score.total for c in got) / len(got) if got else ""),
            "passed": F(passed.format(r=x), sum(c.score.passed for c in got)),
            "models": F(models.format(r=x), sum(c.score.model for c in got)),
            "benchmark": F(bench.format(r=x), "是" if gname in res.benchmarks else ""),
            "recognized": F(recognized.format(r=x),
                            sum(1 for c in mine if res.standings[c.code].stage == K.STAGE_RECOGNIZED))})
    end = _block(b, g, top, GENERALS, rows)

    # category profile
    ctop, f = end + 2, PROFILE.row_formula
    rate = f("=IF({weight}=0,0,{average}/{weight})")
    rows = []
    for j, cat in enumerate(b.checklist.categories):
        avg = sum(c.score.categories[cat.code] for c in res.branches) / n if n else 0
        rows.append({"category": cat.name, "weight": F(f"={p.weights[cat.code]}", cat.weight),
                     "average": F(f"=IFERROR(AVERAGE({scores('cat_' + cat.code)}),0)", avg),
                     "rate": F(rate.format(r=ctop + j + 1), avg / cat.weight if cat.weight else 0)})
    cend = _block(b, g, ctop, PROFILE, rows)

    # grade distribution
    gtop = cend + 2
    count = GRADE_COUNTS.row_formula('=COUNTIF({g},{grade})', g=scores("grade"))
    _block(b, g, gtop, GRADE_COUNTS, [
        {"grade": name, "count": F(count.format(r=gtop + j + 1), sum(1 for x in scored if x.grade == name))}
        for j, (name, _) in enumerate(res.params.grades)])
    g.flush(ws)
    _charts(b, ws, top, end, ctop, cend)


def _charts(b: Book, ws, top: int, end: int, ctop: int, cend: int) -> None:
    wb, cols, right = b.wb, GENERALS, len(GENERALS) + 1
    if end > top:
        progress, name = wb.add_chart({"type": "column"}), cols["general"]
        for key in ("expected", "accepted"):
            c = cols[key]
            progress.add_series({"name": cols.cols[c].head, "categories": [K.MASTER_OVERVIEW, top, name, end - 1, name],
                                 "values": [K.MASTER_OVERVIEW, top, c, end - 1, c]})
        progress.set_title({"name": "各党总支报送进度"})
        ws.insert_chart(top, right, progress, {"x_scale": 1.3})
        avg, c = wb.add_chart({"type": "bar"}), cols["average"]
        avg.add_series({"name": "平均分", "categories": [K.MASTER_OVERVIEW, top, name, end - 1, name],
                        "values": [K.MASTER_OVERVIEW, top, c, end - 1, c]})
        avg.set_title({"name": "各党总支平均分"})
        avg.set_legend({"none": True})
        ws.insert_chart(top + 16, right, avg, {"x_scale": 1.3})
    profile = wb.add_chart({"type": "radar"})
    c, rate = PROFILE["category"], PROFILE["rate"]
    profile.add_series({"name": "得分率", "categories": [K.MASTER_OVERVIEW, ctop, c, cend - 1, c],
                        "values": [K.MASTER_OVERVIEW, ctop, rate, cend - 1, rate]})
    profile.set_title({"name": "建设内容得分率"})
    ws.insert_chart(ctop, 5, profile)


def evidence_sheet(b: Book) -> None:
    t = _table(b, K.MASTER_EVIDENCE, "证据明细（由支部台账核验）", EVIDENCE)
    sheet = _blocks(b, t, repr(RULE_NAMES))  # (the names live in checklist.py)
    for br in b.results.branches:
        head = {"branch_code": br.branch.code, "branch_name": br.branch.name, "general": br.branch.general}
        sheet.add((head, br.part or br.evidence), lambda head=head, ev=br.evidence: [
            {**head, "indicator": e.indicator, "rule": RULE_NAMES.get(e.rule, e.rule), "requirement": e.requirement,
             "measured": e.measured, "verdict": e.verdict, "detail": e.detail, "rows": "；".join(e.rows)}
            for e in ev], len(br.evidence))
    first, last = t.first_last()
    for verdict, style in (("不符合", b.fmt.bad), ("未到期", b.fmt.warn)):
        t.ws.conditional_format(EVIDENCE.span("verdict", first, last), {"type": "cell", "criteria": "==",
                                                                        "value": f'"{verdict}"', "format": style})
    sheet.close()


def _record_columns(table: str, kinds: dict[str, str], with_row: bool) -> Columns:
    heads = K.BASIC_FIELDS if table == "basic" else K.TABLES[table][1]
    return Columns([*BRANCH, *([Col("row", "原表行号")] if with_row else []),
                    *(Col(k, heads[k], kinds.get(k, "text")) for k in heads if k != "seq")])


def problems_sheet(b: Book) -> None:
    cols = _record_columns("problems", b.kinds["problems"], with_row=False)
    t = _table(b, K.MASTER_PROBLEMS, "问题清单和责任清单汇总", cols)
    keys = [c.key for c in cols.cols[len(BRANCH):]]
    sheet = _blocks(b, t)
    for br in b.results.branches:
        head = {"branch_code": br.branch.code, "branch_name": br.branch.name, "general": br.branch.general}
        vals = [[prob.get(k) for k in keys] for prob in br.problems]
        sheet.add((head, br.part or vals), lambda head=head, vals=vals: [{**head, **dict(zip(keys, v))} for v in vals],
                  len(vals))
    sheet.close()


def record_sheets(b: Book) -> None:
    """基本信息 and the raw tables of every current return, from the ledger: only a return not in the
    block cache is read (a corrected one), one at a time."""
    returns = current_branch_files(b.conn)
    for sheet, title, table in ((K.MASTER_BASIC, "各支部基本信息", "basic"),
                                (K.MASTER_MEMBERS, "党员名册汇总", "members"),
                                (K.MASTER_ACTIVITIES, "三会一课记录汇总", "activities"),
                                (K.MASTER_ACTIVISTS, "入党积极分子汇总", "activists")):
        with_row = table != "basic"
        cols = _record_columns(table, b.kinds[table], with_row)
        keys = [c.key for c in cols.cols]
        fields = keys[len(BRANCH) + with_row:]
        blocks = _blocks(b, _table(b, sheet, title, cols, spill=True))
        for rid, sha, *head in returns:  # a stored return's rows never change: its file names them
            blocks.add((rid, sha, head), lambda rid=rid, head=head: [
                dict(zip(keys, (*head, *rec))) for rec in return_records(b.conn, rid, table, fields, with_row)])
        blocks.close()


def roster_sheet(b: Book) -> None:
    sheet = _blocks(b, _table(b, K.MASTER_ROSTER, "支部名册及报送状态", ROSTER))
    for x in b.branches:
        row = {"branch_code": x.code, "branch_name": x.name, "general": x.general, "type": x.type,
               "secretary": x.secretary, "phone": x.phone, "status": b.status[x.code],
               "acceptance": b.results.standings[x.code].stage}
        sheet.add(row, lambda row=row: [row], 1)
    sheet.close()


def missing_sheet(b: Book) -> None:
    t = _table(b, K.MASTER_MISSING, "尚未报送或退回待改的支部", MISSING)
    for x in b.branches:
        if b.status[x.code] != K.STATUS_ACCEPTED:
            t.row({"branch_code": x.code, "branch_name": x.name, "general": x.general, "secretary": x.secretary,
                   "phone": x.phone, "status": b.status[x.code]})
    t.close()


def log_sheet(b: Book) -> None:
    sheet = _blocks(b, _table(b, K.MASTER_LOG, "报送记录（每个收到的文件一行）", LOG, top=True))
    width = LOG.cols[LOG["message"]].width
    rows = []
    for rec in file_log(b.conn):
        row = dict(zip(("arrived", "name", "outcome", "branch_code", "errors", "warnings", "message", "stored",
                        "feedback"), rec))
        row["outcome"] = K.OUTCOME_NAMES.get(row["outcome"], row["outcome"])
        if row["message"]:  # the whole finding readable, on screen and on paper
            row[HEIGHT] = 15 * min(wrapped_lines(row["message"], width), 8) + 3
        rows.append(row)
    for i in range(0, len(rows), 50):  # files only ever arrive at the end: blocks of 50 stay as they were
        chunk = rows[i:i + 50]
        sheet.add(chunk, lambda chunk=chunk: chunk, len(chunk))
    sheet.close()


def checklist_sheet(b: Book) -> None:
    t = _table(b, K.MASTER_CHECKLIST, f"建设要点清单（版本 {b.checklist.version}）", CHECKLIST, top=True)
    width = CHECKLIST.cols[CHECKLIST["text"]].width
    for cat in b.checklist.categories:
        for ind in cat.indicators:
            t.ws.set_row(t.r, 15 * wrapped_lines(ind.text, width) + 3)
            t.row({"code": ind.code, "category": cat.name, "seq": ind.seq, "short": ind.short, "text": ind.text,
                   "points": ind.points, "veto": "是" if ind.veto else None,
                   "rules": "；".join(RULE_NAMES.get(x.type, x.type) for x in ind.rules)})
    t.close()


def cache_path(dest: Path) -> Path:
    """The master's block cache beside it (outbox/.master-cache.db): only a cache, see sheetcache.py."""
    return dest.with_name(f".{dest.stem}-cache.db")


def write_master(conn, results: Results, dest: Path, now: dt.datetime) -> Written:
    """Build the master and put it at dest, keeping a clerk's edited copy (keep.put_in_place)."""
    return put_in_place(lambda tmp: build(tmp, results, conn, cache=cache_path(dest)), dest, now)

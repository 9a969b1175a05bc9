"""stage: results → review workbooks (初验 per 总支, 复验 for the college)

The seed's acceptance path is branch self-check → 党总支 初验 → 学院 复验 → 认定达标. Each 党总支
gets one 初验 workbook: its accepted branches × the checklist's indicators, each row with the
branch's self-rating and what its records show (the evidence verdict and the measured facts)
pre-filled and locked, and two tinted input columns for the reviewer's rating (a dropdown of the
checklist's ratings) and comment; a second sheet takes one overall conclusion per branch. The
college gets one 复验 workbook over every accepted branch, which shows the 初验 read-only beside
its own input columns. Ratings already returned are pre-filled, so a second round edits the first.

They come back through inbox/ like branch returns; review_read.py checks them. The identity (very
hidden `_xlflow` sheet and custom properties) says what was issued: kind, unit, version, checklist
fingerprint and the branch codes covered.
"""

from __future__ import annotations

import datetime as dt
import json
from contextlib import closing
from pathlib import Path


from xlflow import constants as K
from xlflow.campaign import Campaign
from xlflow.evidence import FAIL, Evidence, verdict_of
from xlflow.files import atomic_path, safe_filename
from xlflow.messages import cn_date
from xlflow import ledger
from xlflow.chain import draw, draw_seed, spot_check_pool
from xlflow.decision import (DECIDABLE, build_decision_workbook, build_rectify_workbook, build_register_workbook,
                             register_rows)
from xlflow.rectify import items_of
from xlflow.register import model_register
from xlflow.ledger import open_ledger
from xlflow.results import BranchResult, Results, ledger_date, load_results
from xlflow.review_read import date_range
from xlflow.roster import generals
from xlflow.scoring import Params, score_branch
from xlflow.workbook import identity_values, new_workbook, write_guide_sheet, write_identity_sheet, write_list_sheet, wrapped_lines
from xlflow.workspace import Workspace

FIRST, SECOND = K.KIND_REVIEW_FIRST, K.KIND_REVIEW_SECOND
YES = K.YES_NO[0]
NO_RULES = "（无台账核验项）"
LIST_RATING, LIST_CONCLUSION = "xl_rating", "xl_conclusion"
WIDTHS = {  # column key -> width, for both sheets of both rounds
    "branch_code": 10, "branch_name": 24, "indicator": 8, "short": 16, "points": 6, "self_rating": 9,
    "evidence": 44, "mismatch": 8, "first_rating": 9, "first_comment": 22, "rating": 10, "comment": 28,
    "self_total": 9, "first_conclusion": 11, "first_opinion": 28, "conclusion": 12, "opinion": 40,
    "reviewer": 10, "reviewed_on": 12, "category": 14, "deadline": 12,
}
CENTERED = {"branch_code", "indicator", "points", "self_rating", "mismatch", "first_rating", "rating",
            "self_total", "first_conclusion", "conclusion", "reviewer", "reviewed_on", "category", "deadline"}


def review_path(outdir: Path, kind: str, unit: str) -> Path:
    """outdir/初验_<总支>.xlsx or outdir/复验_<college>.xlsx."""
    return Path(outdir) / safe_filename(f"{K.REVIEW_ROUNDS[kind]}_{unit}.xlsx")


def evidence_text(code: str, evidence: list[Evidence]) -> tuple[str, str]:
    """(verdict, text) of the 记录核验 column: the verdict, then what each rule measured."""
    verdict = verdict_of(code, evidence)
    if not verdict:
        return "", NO_RULES
    parts = [e.measured + (f"（{e.detail}）" if e.detail else "") for e in evidence if e.indicator == code]
    return verdict, f"{verdict}：{'；'.join(parts)}"


class _Book:
    def __init__(self, wb, kind: str, unit: str, rows: list[BranchResult], campaign: Campaign, params: Params,
                 spot_check: str = ""):
        self.wb, self.kind, self.unit, self.rows = wb, kind, unit, rows
        self.spot_check = spot_check  # 复验: how the spot check was drawn, printed in the guide
        self.checklist, self.settings, self.params = campaign.checklist, campaign.settings, params
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
                    fmt = self.input_date if k in ("reviewed_on", "deadline") else self.input_center if k in CENTERED else self.input
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
            lines = max(wrapped_lines(str(values.get(k) or ""), WIDTHS[k]) for k in tall)
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
               else "学院组织部复验组对党总支初验同意、申请复验的党支部，以及随机抽查的党支部逐支部复验")
        after = ("初验“同意达标”的支部由党总支向学院申请复验" if self.kind == FIRST
                 else "复验“同意达标”的支部报学院党委认定，经党委会议认定后方为达标党支部")
        lines = [
            (self.title, f"{s.college}党支部建设达标{rnd}工作簿（{s.year}年·{s.phase}引领）"),
            (self.bold, f"验收单位：{self.unit}　　共 {n} 个党支部，每个支部 {len(self.checklist.indicators)} 项指标"),
            (self.bold, f"交回截止日期：{cn_date(deadline)}"),
            (self.text, f"一、谁来填：{who}。灰色格子已预先填好，不能修改；浅黄色格子由验收人填写。"),
            (self.text, f"二、“{items}”表：每个支部的每项指标一行。“自评等次”是支部的自评；“记录核验”是系统对照支部"
                        "台账（党员名册、三会一课、积极分子等）核验的结果（符合 / 不符合 / 未到期 / 不适用，后附台账显示的情况）；"
                        "“自评与记录不符”为“是”的，表示支部自评达标但台账记录不符合要求，请重点核查。"),
            (self.text, f"三、{rnd}等次从下拉列表中选择（{choices}），不同意自评或需要说明的请写在“{rnd}意见”中。"
                        f"{rnd}等次不填的，按{fallback}计分。"),
            (self.text, f"四、“{concl}”表：每个支部一行，从下拉列表中选择{rnd}结论：“{K.REVIEW_CONCLUSIONS[0]}”"
                        f"（达到建设标准）、“{K.REVIEW_CONCLUSIONS[1]}”（未达到，需说明理由）或"
                        f"“{K.REVIEW_CONCLUSIONS[2]}”（限期整改后重新验收，须填写整改期限），并填写验收意见、验收人和验收日期"
                        f"（如 {deadline:%Y-%m-%d}）。{after}。“验收类别”为“{K.CATEGORY_RECHECK}”的，是上次{rnd}要求"
                        f"整改后再验、支部已交回整改后填报表的，请重新验收并填写新的结论和日期。"),
            (self.text, "五、可用表头的筛选按钮按支部或“自评与记录不符”查看。请不要插入或删除行列、不要改动灰色格子、"
                        "不要修改工作表名称，保存为 Excel 工作簿（.xlsx）。文件名可以随意，系统按表内信息识别。"),
            (self.text, "六、填好后报组织部。如被退回，退回的文件中标红的格子就是需要修改的地方，改好后再次提交即可。"
                        f"再次下发的{rnd}工作簿会带上已提交的等次和意见，可在其基础上修改，以最后提交的一份为准。"),
            (self.text, f"七、如有疑问请联系：{s.contact}。"),
        ]
        if self.spot_check:
            lines.insert(3, (self.bold, self.spot_check))
        write_guide_sheet(self.wb, K.REVIEW_SHEET_GUIDE, 110, lines, lambda text: 17 * wrapped_lines(text, 110) + 4,
                          margins=0.6, landscape=True)

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
                own, category = self.own(r), self.category(r)
                total = score_branch(r.branch.code, self.checklist, self.params, r.self_ratings).total
                on = ledger_date(own.reviewed_on) or own.reviewed_on or None  # else as text: what was stored
                until = ledger_date(own.deadline) or own.deadline or None
                fresh = category.startswith(K.CATEGORY_RECHECK)  # 再验: a new conclusion is due
                yield n % 2, {"category"} if fresh else set(), {
                    "branch_code": r.branch.code, "branch_name": r.branch.name, "self_total": total,
                    "category": category,
                    "first_conclusion": r.first.conclusion, "first_opinion": r.first.opinion,
                    "conclusion": None if fresh else own.conclusion, "opinion": own.opinion,
                    "deadline": None if fresh else until,
                    "reviewer": own.reviewer, "reviewed_on": None if fresh else on,
                }

        ws, keys, first, last = self.table("review_conclusion", f"{self.round}总体结论", values_of,
                                           ("branch_name", "first_opinion", "opinion"))
        cols = K.REVIEW_LAYOUTS[self.kind]["review_conclusion"][1]
        self.dropdown(ws, keys.index("conclusion"), first, last, LIST_CONCLUSION, cols["conclusion"],
                      K.REVIEW_CONCLUSIONS)
        lo, hi = date_range(self.settings)
        for key, hint in (("reviewed_on", ""), ("deadline", "结论为“整改后再验”时必填，")):
            c = keys.index(key)
            ws.data_validation(first, c, last, c, {
                "validate": "date", "criteria": "between", "minimum": lo, "maximum": hi,
                "input_title": cols[key],
                "input_message": f"{hint}请填写日期，如 {self.settings.first_review_deadline:%Y-%m-%d}。",
                "error_title": "日期不正确", "error_message": f"请填写 {lo:%Y-%m-%d} 至 {hi:%Y-%m-%d} 之间的日期。",
            })

    def category(self, r: BranchResult) -> str:
        """验收类别 of a branch in this round: 初验 / 申请复验 / 随机抽查, or 再验 with the last 整改期限."""
        st = r.standing
        if st is not None and st.recheck and (st.stage == K.STAGE_FIRST_RECHECK) == (self.kind == FIRST):
            until = f"，整改期限{st.deadline:%Y-%m-%d}" if st.deadline else ""
            return f"{K.CATEGORY_RECHECK}（上次：整改后再验{until}）"
        if self.kind == FIRST:
            return K.CATEGORY_FIRST
        return K.CATEGORY_APPLIED if st is None or st.put_forward else K.CATEGORY_DRAWN

    def lists(self) -> None:
        write_list_sheet(self.wb, ((LIST_RATING, f"{self.round}等次", self.checklist.rating_names),
                                   (LIST_CONCLUSION, f"{self.round}结论", K.REVIEW_CONCLUSIONS)))

    def identity(self) -> None:
        write_identity_sheet(self.wb, K.REVIEW_IDENTITY_KEYS,
                             identity_values(self.kind, self.checklist, self.settings.year, unit=self.unit,
                                             branches=[r.branch.code for r in self.rows]))


def build_review_workbook(dest: Path, kind: str, unit: str, rows: list[BranchResult], campaign: Campaign,
                          params: Params, spot_check: str = "") -> Path:
    """Write one review workbook (kind: 初验 or 复验) for `unit` over `rows` atomically; returns dest."""
    with atomic_path(dest) as tmp:
        wb = new_workbook(tmp, f"{unit}{K.REVIEW_ROUNDS[kind]}工作簿", f"{campaign.year}年党支部建设达标验收",
                          campaign.settings)
        b = _Book(wb, kind, unit, rows, campaign, params, spot_check)
        b.guide()
        b.items()
        b.conclusions()
        b.lists()
        b.identity()
        wb.close()
    return dest


def spot_check_text(draws: list, names: dict[str, str]) -> str:
    """The 复验 guide's account of every spot-check draw: when, from how many, how many, the seed."""
    parts = []
    for d in draws:
        pool, drawn = json.loads(d["pool"]), json.loads(d["drawn"])
        who = "、".join(names.get(c, c) for c in drawn) or "无"
        parts.append(f"{d['drawn_at'][:10]}从未经党总支推荐申请复验的{len(pool)}个支部中按{d['share']:.0%}随机抽取"
                     f"{len(drawn)}个（随机种子 {d['seed']}，按种子可复核）：{who}")
    return f"随机抽查：{'；'.join(parts)}。被抽中的支部与申请复验的支部一样逐项复验。" if parts else ""


def write_review_workbooks(results: Results, outdir: Path, draws: list = (), register: list = ()) -> list[Path]:
    """outdir/初验_<总支>.xlsx for every 总支 with accepted branches; outdir/复验_<college>.xlsx over the
    branches put forward by their 总支 or drawn by the spot check; outdir/认定_<college>.xlsx (the
    committee's decision) once a 复验 has agreed to any. Nothing is written before a branch is accepted."""
    campaign = results.campaign
    settings, branches = campaign.settings, campaign.branches
    accepted = {r.branch.code: r for r in results.branches}
    paths = []
    for general in generals(branches):
        rows = [accepted[b.code] for b in branches if b.general == general and b.code in accepted]
        if rows:
            paths.append(build_review_workbook(review_path(outdir, FIRST, general), FIRST, general, rows,
                                               campaign, results.params))
    second = [accepted[b.code] for b in branches if b.code in accepted and accepted[b.code].standing.in_second]
    if second:
        text = spot_check_text(list(draws), {b.code: b.name for b in branches})
        paths.append(build_review_workbook(review_path(outdir, SECOND, settings.college), SECOND, settings.college,
                                           second, campaign, results.params, text))
    decided = [r for r in results.branches if r.standing.stage in DECIDABLE]
    if decided:
        paths.append(build_decision_workbook(review_path(outdir, K.KIND_DECISION, settings.college), results,
                                             decided))
    models = register_rows(results, list(register))
    if models:  # the 样板 register, once there is a 样板 (earlier years', or named this year)
        paths.append(build_register_workbook(review_path(outdir, K.KIND_REGISTER, settings.college), models,
                                             campaign))
    todo = items_of(results, branches, settings.year)  # 整顿转化 (a later year): one 整顿 workbook per 总支
    for general in dict.fromkeys(it.branch.general for it in todo):
        paths.append(build_rectify_workbook(review_path(outdir, K.KIND_RECTIFY, general), general,
                                            [it for it in todo if it.branch.general == general], campaign))
    return paths


def spot_check_due(results: Results, today: dt.date) -> bool:
    """The draw is made once the 初验 are in: every 总支 with accepted branches returned its 初验
    workbook, or the 初验 deadline has passed."""
    if not results.branches:
        return False
    waiting = {r.branch.general for r in results.branches} - results.facts.first_units
    return not waiting or today > results.campaign.settings.first_review_deadline


def review_round(ws: Workspace, now: dt.datetime | None = None) -> list[Path]:
    """The ledger's current results → the review workbooks in the working folder's outbox/review/.
    When the spot check is due (and not yet drawn this year), the draw is made and recorded in the
    ledger first (reproducible from its recorded seed and pool)."""
    campaign = ws.campaign()
    settings = campaign.settings
    now = now or dt.datetime.now().replace(microsecond=0)
    with closing(open_ledger(ws.ledger)) as conn:
        results = load_results(conn, campaign, today=now.date())
        # One draw a year, once the 初验 are in: a sample, fixed once made (a branch put forward later
        # goes to 复验 by its application; re-drawing would let the result be chosen).
        pool = spot_check_pool(results.facts, [b.code for b in campaign.branches])
        if pool and not ledger.draws(conn, settings.year) and spot_check_due(results, now.date()):
            seed = draw_seed(settings.spot_check_seed, settings.year, 1)
            ledger.add_draw(conn, now, settings.year, seed, settings.spot_check_share, pool,
                            draw(pool, settings.spot_check_share, seed))
            results = load_results(conn, campaign, today=now.date())
        made = ledger.draws(conn, settings.year)
    return write_review_workbooks(results, ws.review, made, model_register(ws.root))

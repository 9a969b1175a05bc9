"""stage: the master's sheets of the three-year campaign (issue 9): 整顿清单, 总支历年, 历年变化.

Sheet functions taking the master's `Book` as `b` (master.py calls them in its tab order; this module
comes before it, so it names no type of master's). What depends on
this year's sheets is a formula over 得分表 carrying the value xlflow computed (this year's 认定, 样板
and average per 总支, each branch's stage on the 整顿 list), so trying a rating in Excel moves them;
the earlier years are frozen marks (history/<year>/marks.json), plain values.
"""

from __future__ import annotations

import datetime as dt
from xlflow import constants as K
from xlflow.rectify import DONE, NO_PLAN, OVERDUE, UNDER_WAY, items_of
from xlflow.sheetstyle import FIRST, ClassicSheet, Col, Columns, F, Grid, Table, page_setup, wrapped_lines
from xlflow.trajectory import general_years, roads

MASTER_GENERAL_YEARS, MASTER_CHANGES = "总支历年", "历年变化"
BRANCH = (Col("branch_code", "支部编码"), Col("branch_name", "支部名称"), Col("general", "所属总支"))
RECTIFY = Columns([
    *BRANCH, Col("last_stage", "上年度验收状态"), Col("failed", "未达标的指标", "wrap", width=30),
    Col("open", "未完成的整改要求", "wrap", width=24), Col("plan", "整顿措施", "wrap", width=36), Col("owner", "责任人"),
    Col("deadline", "完成期限", "date"), Col("now", "本年度验收状态"), Col("state", "整顿进展"),
])
CHANGES = Columns([
    *BRANCH, Col("road", "历年验收状态", "wrap", width=36), Col("models", "样板"),
    Col("n_improved", "改进项数"), Col("improved", "改进指标", "wrap", width=24),
    Col("n_declined", "退步项数"), Col("declined", "退步指标", "wrap", width=24),
    Col("repeated", "重复问题指标", "wrap", width=16),
    Col("opened", "新提出问题"), Col("closed", "往年问题销号"), Col("overdue", "逾期未整改"),
])


def _scores(b, key: str) -> str:
    n = len(b.results.branches)
    return b.scores.span(key, FIRST + 1, FIRST + max(n, 1), K.MASTER_SCORES, absolute=True)


def _table(b, name: str, title: str, cols: Columns) -> Table:
    return Table(b.wb, b.fmt, name, title, cols, top=True, seen=b.branch_widths)


def _row(t: Table, values: dict) -> None:
    """A row as tall as its wrapped columns need (set before its cells: constant_memory)."""
    lines = max((wrapped_lines(str(values.get(c.key) or ""), c.width) for c in t.cols.cols
                 if c.kind == "wrap" and c.width), default=1)
    if lines > 1:
        t.ws.set_row(t.r, 15 * min(lines, 8) + 2)
    t.row(values)


def rectify_sheet(b) -> None:
    """整顿清单 (a later year): every branch not 认定 last year, what failed, the 总支's plan, and where
    it stands now (looked up in 得分表: a branch that has not returned keeps its stage)."""
    res, s = b.results, b.settings
    items = items_of(res, b.branches, s.year)
    if not items:
        return
    done = sum(it.done for it in items)
    t = _table(b, K.RECTIFY_SHEET, f"{s.college}{s.year}年整顿转化清单（{s.year - 1}年未认定达标的 {len(items)} 个党支部，"
                                   f"已认定达标 {done} 个；计划由各党总支在整顿工作簿中填写）", RECTIFY)
    now = RECTIFY.row_formula('=IFERROR(INDEX({stages},MATCH({branch_code},{codes},0)),"STAGE")',
                              stages=_scores(b, "acceptance"), codes=_scores(b, "branch_code"))
    day = res.today if res.today != dt.date.min else s.period_end
    state = RECTIFY.row_formula(f'=IF({{now}}="{K.STAGE_RECOGNIZED}","{DONE}",IF({{deadline}}="","{NO_PLAN}",'
                                f'IF({{deadline}}<DATE({day.year},{day.month},{day.day}),"{OVERDUE}","{UNDER_WAY}")))')
    shorts = {i.code: i.short for i in b.checklist.indicators}
    for it in items:
        r = t.r + 1
        stage = it.now.stage if it.now else ""
        _row(t, {"branch_code": it.branch.code, "branch_name": it.branch.name, "general": it.branch.general,
               "last_stage": f"{it.year}年：{it.last_stage}", "failed": it.failed_text(shorts), "open": it.open,
               "plan": it.plan, "owner": it.owner, "deadline": it.deadline,
               "now": F(now.format(r=r).replace("STAGE", stage), stage), "state": F(state.format(r=r), it.state)})
    t.close()


def general_years_sheet(b) -> None:
    """总支历年 (a later year): per 总支 and for the college, each year's 认定 (count and share), average
    score and 样板, this year's as formulas over 得分表; two charts of the road."""
    res, s, fmt = b.results, b.settings, b.fmt
    if not res.marks:
        return
    road = roads(res, s.year, res.marks, res.today if res.today != dt.date.min else s.period_end)
    per = general_years(road)
    years = sorted({y for g in per.values() for y in g})
    generals = list(dict.fromkeys(x.general for x in b.branches))
    ws = b.wb.add_worksheet(MASTER_GENERAL_YEARS, worksheet_class=ClassicSheet)
    page_setup(ws, tall=1)
    ws.set_column(0, 0, 24)
    ws.set_column(1, len(years) + 1, 10)
    g = Grid()
    g.put(0, 0, f"{s.college}各党总支历年对比（{years[0]}—{years[-1]}年）", fmt.title)
    total = len(b.branches)
    recognized = sum(1 for st in res.standings.values() if st.recognized)
    scores_general, scores_stage = _scores(b, "general"), _scores(b, "acceptance")
    g.put(1, 0, "全部达标进度", fmt.head)
    g.put(1, 1, F(f'=COUNTIF({scores_stage},"{K.STAGE_RECOGNIZED}")', recognized))
    g.put(1, 2, f"/ 全院 {total} 个")
    g.put(1, 3, F(f"=IF({total}=0,0,B2/{total})", recognized / total if total else 0), fmt.pct)
    now_col = 1 + years.index(s.year) + 1  # after 党总支 and 支部数
    blocks = [("认定达标（个）", None), ("认定达标率", fmt.pct), ("平均分", fmt.num), ("样板党支部（个，含往年评定）", None)]
    top, starts = 3, []
    for title, cell_fmt in blocks:
        g.put(top, 0, title, fmt.title)
        g.put(top + 1, 0, "党总支", fmt.head)
        g.put(top + 1, 1, "支部数", fmt.head)
        for j, y in enumerate(years):
            g.put(top + 1, 2 + j, f"{y}年", fmt.head)
        starts.append(top + 2)
        top += len(generals) + 5
    count_top, rate_top, avg_top, model_top = starts
    now_letter = chr(ord("A") + now_col)
    for i, gname in enumerate([*generals, "全院"]):
        college = gname == "全院"
        mine = [x for x in b.branches if college or x.general == gname]
        for base in starts:
            g.put(base + i, 0, gname, fmt.head if college else None)
            g.put(base + i, 1, len(mine))
        for j, y in enumerate(years):
            cells = [per[x][y] for x in (generals if college else [gname]) if y in per.get(x, {})]
            n_rec = sum(c[1] for c in cells)
            n_all = sum(c[2] for c in cells)
            avgs = [c[0] for c in cells if c[0] is not None]
            avg = round(sum(avgs) / len(avgs), 2) if avgs else ""
            held = sum(1 for r in road if (college or r.general == gname) and y in r.years and r.years[y].model)
            col = 2 + j
            if y == s.year:
                where = "" if college else f"{scores_general},A{{r}},"
                count_f = f'=COUNTIFS({where}{scores_stage},"{K.STAGE_RECOGNIZED}")'
                avg_f = (f'=IFERROR(AVERAGE({_scores(b, "total")}),"")' if college else
                         f'=IFERROR(AVERAGEIF({scores_general},A{{r}},{_scores(b, "total")}),"")')
                exact = [r.score.total for r in res.branches if college or r.branch.general == gname]
                avg = sum(exact) / len(exact) if exact else ""  # what the formula gives, unrounded
                # 样板 held or named: a formula over 得分表 when every one of them has a return there
                model_f = f'=COUNTIFS({where}{_scores(b, "decided")},"?*")'.format(r=model_top + i + 1)
                scored = sum(1 for r in res.branches if (college or r.branch.general == gname)
                             and (r.standing.model or r.standing.model_since))
                g.put(count_top + i, col, F(count_f.format(r=count_top + i + 1), n_rec))
                g.put(avg_top + i, col, F(avg_f.format(r=avg_top + i + 1), avg), fmt.num)
                g.put(model_top + i, col, F(model_f, held) if scored == held else held)
                g.put(rate_top + i, col, F(f"=IF(B{rate_top + i + 1}=0,0,{now_letter}{count_top + i + 1}"
                                           f"/B{rate_top + i + 1})", n_rec / n_all if n_all else 0), fmt.pct)
            else:
                g.put(count_top + i, col, n_rec)
                g.put(avg_top + i, col, avg, fmt.num)
                g.put(model_top + i, col, held)
                g.put(rate_top + i, col, n_rec / n_all if n_all else 0, fmt.pct)
    note = top
    g.merge(note, 0, len(years) + 1, f"{s.year}年的数字是公式（按“{K.MASTER_SCORES}”表的验收状态、得分和党委评定样板计算），"
                                     "往年的数字是各年度归档时的结果（history/年度/marks.json），不随本表改动。"
                                     "“全院”一行为全院合计。", fmt.note, 24 + 10 * (len(years) + 1))
    g.flush(ws)
    _charts(b, ws, generals, years, rate_top, avg_top, len(years) + 3)


def _charts(b, ws, generals: list[str], years: list[int], rate_top: int, avg_top: int, right: int) -> None:
    """认定达标率 by 总支, one column per year (where each 总支 got to); 平均分 per 总支 as lines over the years."""
    n, last_col = len(generals), 1 + len(years)
    rate = b.wb.add_chart({"type": "column"})
    for j, y in enumerate(years):
        rate.add_series({"name": f"{y}年", "categories": [MASTER_GENERAL_YEARS, rate_top, 0, rate_top + n - 1, 0],
                         "values": [MASTER_GENERAL_YEARS, rate_top, 2 + j, rate_top + n - 1, 2 + j],
                         "data_labels": {"value": False}})
    rate.set_title({"name": "各党总支认定达标率（历年）"})
    rate.set_y_axis({"num_format": "0%", "min": 0, "max": 1, "major_gridlines": {"visible": True}})
    rate.set_x_axis({"num_font": {"rotation": -30}})
    rate.set_legend({"position": "top"})
    rate.set_size({"width": 760, "height": 340})
    ws.insert_chart(1, right, rate)
    avg = b.wb.add_chart({"type": "line"})
    for i, gname in enumerate(generals):
        avg.add_series({"name": gname, "categories": [MASTER_GENERAL_YEARS, avg_top - 1, 2, avg_top - 1, last_col],
                        "values": [MASTER_GENERAL_YEARS, avg_top + i, 2, avg_top + i, last_col],
                        "marker": {"type": "circle"}})
    avg.set_title({"name": "各党总支平均分（历年）"})
    avg.set_legend({"position": "right"})
    avg.set_size({"width": 760, "height": 340})
    ws.insert_chart(19, right, avg)


def changes_sheet(b) -> None:
    """历年变化 (a later year): per branch its stages over the years, 样板, the indicators it brought up
    to 达标 (改进) or let slip (退步) since last year, problems raised again, opened, closed, overdue."""
    res, s = b.results, b.settings
    if not res.marks:
        return
    road = roads(res, s.year, res.marks, res.today if res.today != dt.date.min else s.period_end)
    t = _table(b, MASTER_CHANGES, f"{s.college}各党支部历年变化（{min(res.marks)}—{s.year}年）：改进 = {s.year}年采用等次达标、"
                                  f"{s.year - 1}年未达标的指标，退步反之；重复问题 = {s.year}年新提出问题的指标{s.year - 1}年"
                                  "也提出过问题；指标名称见“指标清单”表", CHANGES)

    def names(codes):
        return "、".join(codes)

    for r in road:
        path = " → ".join(f"{y}：{m.stage}" for y, m in sorted(r.years.items()))
        models = "、".join(f"{y}年" for y, m in sorted(r.years.items()) if m.model)
        _row(t, {"branch_code": r.code, "branch_name": r.name, "general": r.general, "road": path, "models": models,
               "n_improved": len(r.improved), "improved": names(r.improved), "n_declined": len(r.declined),
               "declined": names(r.declined), "repeated": names(r.repeated),
               "opened": r.opened, "closed": r.closed, "overdue": r.overdue})
    t.close()

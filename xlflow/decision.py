"""stage: results (复验 done) → the Party committee's 认定 workbook (outbox/review/认定_<college>.xlsx)

Only the committee decides 认定达标 and 样板 (seed: 学院复验后认定达标; 样板 评定 at 1/10 in 2020, 1/5
in 2021). This workbook puts before it the branches whose 复验 agreed, with what a committee weighs:
how each came to 复验 (申请 or 随机抽查), both conclusions, the score and its rank, 自评与记录不符, and
a suggestion (建议认定; 样板候选 within the quota, ties at the quota's edge shown as such, never
silently over it). The clerk records the decision and the meeting and drops the workbook into
inbox/ like any review; review_read checks it. Until one arrives, nothing is 认定.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from xlflow import constants as K
from xlflow.chain import model_room
from xlflow.campaign import Campaign
from xlflow.files import atomic_path
from xlflow.messages import cn_date
from xlflow.results import BranchResult, Results
from xlflow.review_read import date_range
from xlflow.settings import Settings
from xlflow.workbook import identity_values, new_workbook, wrapped_lines, write_guide_sheet, write_identity_sheet, write_list_sheet

CENTERED = {"branch_code", "category", "first_conclusion", "second_conclusion", "rank", "mismatch"}
DECIDABLE = (K.STAGE_AWAIT_DECISION, K.STAGE_RECOGNIZED, K.STAGE_NOT_RECOGNIZED)
LIST_DECISION, LIST_MODEL = "xl_decision", "xl_model"
SUGGEST, CANDIDATE, TIE, NURTURE = "建议认定", "样板候选", "并列，处在名额边缘", "推荐创建样板"
WIDTHS = {"branch_code": 10, "branch_name": 24, "general": 18, "category": 10, "first_conclusion": 11,
          "second_conclusion": 11, "total": 9, "rank": 8, "mismatch": 10, "suggestion": 22, "decision": 11,
          "model": 11, "note": 24, "meeting": 44, "decided_on": 14}


def model_stock(results: Results) -> dict[str, int]:
    """The 样板 already held by this year's branches (code -> year named)."""
    return {c: st.model_since for c, st in results.standings.items() if st.model_since}


def model_quota(results: Results) -> int:
    """The most 样板 the committee may still name this year: the phase's share of all branches less
    the 样板 already held (0 in the 达标 year unless switched on)."""
    settings = results.campaign.settings
    if not settings.models_awarded:
        return 0
    return model_room(len(results.standings), settings.quota_denominator, len(model_stock(results)))


def suggestions(rows: list[BranchResult], quota: int, awarded: bool, guidance: int) -> dict[str, str]:
    """branch code -> the suggestion shown to the committee. Ranked by score among the rows: within
    the quota a 样板候选 (in the 达标 year 推荐创建样板, by the 1/10 guidance); branches tied on the
    score at the quota's edge are all marked, so the committee sees the tie instead of a silent cut."""
    limit = quota if awarded else guidance
    open_ = [r for r in rows if not r.score.veto_hits and not r.standing.model_since]  # 样板 held: no new slot
    scores = sorted((r.score.total for r in open_), reverse=True)
    edge = scores[limit - 1] if 0 < limit <= len(scores) else None
    tied = edge is not None and sum(1 for s in scores if s >= edge) > limit
    out = {}
    for r in rows:
        text = SUGGEST
        t = r.score.total
        if r.standing.model_since:
            text += f"；已是校级样板党支部（{r.standing.model_since}年评定）"
        elif edge is not None and not r.score.veto_hits and t >= edge:
            text += f"；{CANDIDATE if awarded else NURTURE}"
            if tied and t == edge:
                text += f"（{TIE}）"
        out[r.branch.code] = text
    return out


def _guide_lines(results: Results, rows: list[BranchResult], settings: Settings, quota: int, f) -> list:
    s, total = settings, len(results.standings)
    stages = [st.stage for st in results.standings.values()]
    count = {k: stages.count(k) for k in K.STAGES}
    others = "，".join(f"{k} {count[k]} 个" for k in K.STAGES if count[k] and k not in DECIDABLE) or "无"
    share = f"1/{s.quota_denominator}"
    stock = len(model_stock(results))
    if s.models_awarded:
        models = (f"三、评定校级样板党支部：到本年度，样板党支部总数可达全院 {total} 个党支部的{share}"
                  f"（{total // s.quota_denominator} 个，向下取整）；往年已评定 {stock} 个，本年度还可评定 {quota} 个。"
                  "党委可以少评，不能超过名额；否决项未达标的支部不能评为样板。“建议”列按验收得分排出的“样板候选”"
                  f"只供参考；标有“{TIE}”的，是得分相同、处在名额边缘的支部，请党委会议决定。")
    else:
        models = (f"三、本年度为{s.phase}阶段，按三年行动计划只树立标准、鼓励创建，不评定校级样板党支部，"
                  "“评为校级样板党支部”一列请选“否”或留空。“建议”列中的“推荐创建样板”是验收得分排在前"
                  f"{share}的支部，供确定下一阶段创建培育对象参考。")
    by_general: dict[str, list[BranchResult]] = {}
    for r in rows:
        by_general.setdefault(r.branch.general, []).append(r)
    generals = "；".join(f"{g} {len(v)} 个" for g, v in by_general.items())
    return [
        (f["title"], f"{s.college}党委认定达标党支部工作簿（{s.year}年·{s.phase}引领）"),
        (f["bold"], f"全院党支部 {total} 个，经学院复验同意达标、提请党委认定的 {len(rows)} 个（{generals}）。"),
        (f["text"], f"其余支部不在本表中：{others}。它们须先完成初验、复验，才能提请认定。"),
        (f["text"], "一、谁来填：党委会议研究后，由组织部把会议决定逐个支部录入本表，交回组织部放入收件箱（inbox）。"
                    "只有交回的本表才使认定和样板评定生效；此前生成的表彰决定只是草稿，证书不会生成。"),
        (f["text"], f"二、“{K.DECISION_SHEET}”表：每个支部一行，“认定结论”从下拉列表中选择"
                    f"“{K.DECISION_CHOICES[0]}”或“{K.DECISION_CHOICES[1]}”，暂不决定的留空；不予认定的请在“备注”中写明理由。"),
        (f["text"], models),
        (f["text"], f"四、“{K.DECISION_MEETING_SHEET}”表：填写作出决定的党委会议名称和会议日期（如 "
                    f"{s.second_review_deadline:%Y-%m-%d}）。会议日期即表彰决定和证书的落款日期。"),
        (f["text"], "五、灰色格子不能修改，请不要插入或删除行列、不要修改工作表名称；以最后交回的一份为准，"
                    "被退回的，按退回说明中标红的格子修改后再次交回。"),
        (f["text"], f"六、如有疑问请联系：{s.contact}。"),
    ]


def build_decision_workbook(dest: Path, results: Results, rows: list[BranchResult]) -> Path:
    """Write the 认定 workbook over rows (branches whose 复验 agreed) atomically; returns dest."""
    checklist, settings = results.campaign.checklist, results.campaign.settings
    quota = model_quota(results)
    guidance = len(results.standings) // settings.quota_denominator
    suggested = suggestions(rows, quota, settings.models_awarded, guidance)
    decision = results.facts.decision
    with atomic_path(dest) as tmp:
        wb = new_workbook(tmp, f"{settings.college}党委认定工作簿", f"{settings.year}年党支部建设达标认定", settings)
        f = _formats(wb)
        write_guide_sheet(wb, K.REVIEW_SHEET_GUIDE, 110, _guide_lines(results, rows, settings, quota, f),
                          lambda text: 17 * wrapped_lines(text, 110) + 4, margins=0.6, landscape=True)
        sheet, cols = K.REVIEW_LAYOUTS[K.KIND_DECISION]["decision"]
        keys, inputs = list(cols), K.REVIEW_INPUTS["decision"]
        ws = _sheet(wb, sheet, f"{settings.college}党委认定结论", keys, cols, f)
        for n, r in enumerate(rows):
            st = r.standing
            own = decision.rows.get(r.branch.code, ("", False, "")) if decision else ("", False, "")
            values = {"branch_code": r.branch.code, "branch_name": r.branch.name, "general": r.branch.general,
                      "category": K.CATEGORY_APPLIED if st.put_forward else K.CATEGORY_DRAWN,
                      "first_conclusion": r.first.conclusion or "未初验", "second_conclusion": r.second.conclusion,
                      "total": r.score.total, "rank": r.score.rank, "mismatch": len(r.mismatches),
                      "suggestion": suggested[r.branch.code], "decision": own[0],
                      "model": K.YES_NO[0] if own[1] else ("" if not own[0] else K.YES_NO[1]), "note": own[2]}
            row = K.HEADER_ROW + n
            for c, k in enumerate(keys):
                v = values[k]
                fmt = f["input"] if k in inputs else f["num"] if k == "total" else f["center"] if k in CENTERED else f["fixed"]
                if isinstance(v, (int, float)):
                    ws.write_number(row, c, v, fmt)
                elif v:
                    ws.write_string(row, c, str(v), fmt)
                else:
                    ws.write_blank(row, c, None, fmt)
            ws.set_row(row, 15 * min(3, wrapped_lines(r.branch.name, WIDTHS["branch_name"])) + 4)
        first, last = K.HEADER_ROW, K.HEADER_ROW + max(len(rows), 1) - 1
        ws.autofilter(K.HEADER_ROW - 1, 0, last, len(keys) - 1)
        ws.freeze_panes(K.HEADER_ROW, 2)
        models = K.YES_NO if settings.models_awarded else K.YES_NO[1:]
        for key, name, values in (("decision", LIST_DECISION, K.DECISION_CHOICES), ("model", LIST_MODEL, models)):
            c = keys.index(key)
            ws.data_validation(first, c, last, c, {
                "validate": "list", "source": f"={name}", "input_title": cols[key][:32],
                "input_message": "请从下拉列表中选择；暂不决定的可以留空。",
                "error_title": "请从列表中选择", "error_message": f"只能选择：{'、'.join(values)}"})
        sheet, cols = K.REVIEW_LAYOUTS[K.KIND_DECISION]["decision_meeting"]
        ws = _sheet(wb, sheet, "作出决定的党委会议", list(cols), cols, f)
        ws.write_string(K.HEADER_ROW, 0, decision.meeting if decision else "", f["input"])
        if decision and decision.decided_on:
            ws.write_datetime(K.HEADER_ROW, 1, dt.datetime.combine(decision.decided_on, dt.time()), f["date"])
        else:
            ws.write_blank(K.HEADER_ROW, 1, None, f["date"])
        lo, hi = date_range(settings)
        ws.data_validation(K.HEADER_ROW, 1, K.HEADER_ROW, 1, {
            "validate": "date", "criteria": "between", "minimum": lo, "maximum": hi, "input_title": cols["decided_on"],
            "input_message": f"请填写日期，如 {settings.second_review_deadline:%Y-%m-%d}。",
            "error_title": "日期不正确", "error_message": f"请填写 {cn_date(lo)} 至 {cn_date(hi)} 之间的日期。"})
        write_list_sheet(wb, ((LIST_DECISION, "认定结论", K.DECISION_CHOICES), (LIST_MODEL, "样板", models)))
        write_identity_sheet(wb, K.REVIEW_IDENTITY_KEYS, identity_values(
            K.KIND_DECISION, checklist, settings.year, unit=settings.college, branches=[r.branch.code for r in rows]))
        wb.close()
    return dest


def _formats(wb) -> dict:
    """The cell formats of the committee's workbooks (认定, 样板名册)."""
    base = {"font_name": "宋体", "font_size": 11, "valign": "vcenter", "border": 1, "text_wrap": True}
    fixed = {**base, "bg_color": "#F2F2F2"}
    return {"title": wb.add_format({"font_name": "黑体", "font_size": 16, "align": "center", "text_wrap": True}),
            "bold": wb.add_format({"font_name": "黑体", "font_size": 12, "text_wrap": True, "valign": "top"}),
            "text": wb.add_format({"font_name": "宋体", "font_size": 12, "text_wrap": True, "valign": "top"}),
            "head": wb.add_format({**base, "bold": True, "bg_color": "#D9E1F2", "align": "center"}),
            "fixed": wb.add_format(fixed),
            "num": wb.add_format({**fixed, "align": "center", "num_format": "0.00"}),
            "center": wb.add_format({**fixed, "align": "center"}),
            "input": wb.add_format({**base, "bg_color": "#FFF2CC", "locked": False}),
            "date": wb.add_format({**base, "bg_color": "#FFF2CC", "locked": False, "num_format": "yyyy-mm-dd"})}


def _sheet(wb, name: str, title: str, keys: list[str], cols: dict[str, str], f, widths: dict | None = None):
    ws = wb.add_worksheet(name)
    ws.set_paper(9)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.set_footer("&C第 &P 页，共 &N 页")
    for c, key in enumerate(keys):
        ws.set_column(c, c, (widths or WIDTHS)[key])
    ws.merge_range(0, 0, 0, len(keys) - 1, title, f["title"])
    ws.set_row(0, 30)
    ws.write_row(K.HEADER_ROW - 1, 0, [cols[k] for k in keys], f["head"])
    ws.set_row(K.HEADER_ROW - 1, 32)
    ws.repeat_rows(K.HEADER_ROW - 1)
    ws.protect("", {"autofilter": True, "format_columns": True, "format_rows": True,
                    "select_locked_cells": True, "select_unlocked_cells": True})
    return ws


# ---- the 样板 register (样板名册_<college>.xlsx) ---------------------------------------------------------

LIST_YES_NO, LIST_OUTCOME = "xl_yes_no", "xl_outcome"


def register_rows(results: Results, entries: list) -> list[dict]:
    """Every 样板 of the register (earlier years, as register.model_register gives them) and those the
    committee named this year, with what the register records of each."""
    names = {r.branch.code: r.branch for r in results.branches} | {b.code: b for b in results.missing}
    rows = [{"branch_code": e.code, "named_year": e.year, "level": e.level, "province": e.province,
             "province_result": e.province_result, "nation": e.nation, "nation_result": e.nation_result,
             "revoked": K.YES_NO[0] if e.revoked else "", "revoked_on": e.revoked_on, "reason": e.reason}
            for e in entries if e.code in names]
    year = results.today.year if results.today != dt.date.min else None
    rows += [{"branch_code": c, "named_year": st.decided_on.year if st.decided_on else year, "level": K.MODEL_LEVELS[0]}
             for c, st in results.standings.items() if st.model]
    for r in rows:
        b = names[r["branch_code"]]
        r["branch_name"], r["general"] = b.name, b.general
    return rows


def build_register_workbook(dest: Path, rows: list[dict], campaign: Campaign) -> Path:
    """Write the 样板名册 workbook atomically: one row per 样板, the clerk records recommendations to
    省级/国家级, their outcome, and any revocation with its date and reason."""
    checklist, settings = campaign.checklist, campaign.settings
    with atomic_path(dest) as tmp:
        wb = new_workbook(tmp, f"{settings.college}样板党支部名册", f"{settings.year}年样板党支部名册", settings)
        f = _formats(wb)
        lines = [
            (f["title"], f"{settings.college}校级样板党支部名册（截至{settings.year}年）"),
            (f["bold"], f"共 {len(rows)} 个样板党支部（往年评定的和本年度党委会议评定的）。"),
            (f["text"], "一、灰色格子由系统按历年党委认定结果填写，不能修改；浅黄色格子由组织部填写。"),
            (f["text"], "二、推荐参评省级、国家级样板党支部的，在“推荐省级”“推荐国家级”中选“是”，评定结果出来后在"
                        f"“评定结果”中选择（{'、'.join(K.OUTCOMES)}）；“现级别”按评定结果自动更新。"),
            (f["text"], "三、撤销样板称号的，在“撤销”中选“是”，并填写撤销日期和撤销原因；撤销后不再计入样板名额。"),
            (f["text"], "四、填好后放入收件箱（inbox），以最后交回的一份为准；请不要插入或删除行列、不要修改工作表名称。"),
        ]
        write_guide_sheet(wb, K.REVIEW_SHEET_GUIDE, 110, lines, lambda text: 17 * wrapped_lines(text, 110) + 4,
                          margins=0.6, landscape=True)
        sheet, cols = K.REVIEW_LAYOUTS[K.KIND_REGISTER]["register"]
        keys, inputs = list(cols), K.REVIEW_INPUTS["register"]
        widths = {"branch_code": 10, "branch_name": 26, "general": 18, "named_year": 9, "level": 8, "province": 9,
                  "province_result": 11, "nation": 10, "nation_result": 12, "revoked": 7, "revoked_on": 12,
                  "reason": 28}
        ws = _sheet(wb, sheet, f"{settings.college}样板党支部名册", keys, cols, f, widths)
        for n, r in enumerate(rows):
            for c, k in enumerate(keys):
                v = r.get(k)
                fmt = (f["date"] if k == "revoked_on" else f["input"]) if k in inputs else f["fixed"]
                if k == "revoked_on" and v:
                    ws.write_datetime(K.HEADER_ROW + n, c, dt.datetime.fromisoformat(str(v)[:10]), fmt)
                elif isinstance(v, int):
                    ws.write_number(K.HEADER_ROW + n, c, v, fmt)
                elif v:
                    ws.write_string(K.HEADER_ROW + n, c, str(v), fmt)
                else:
                    ws.write_blank(K.HEADER_ROW + n, c, None, fmt)
        first, last = K.HEADER_ROW, K.HEADER_ROW + max(len(rows), 1) - 1
        for key, name, values in (("province", LIST_YES_NO, K.YES_NO), ("nation", LIST_YES_NO, K.YES_NO),
                                  ("revoked", LIST_YES_NO, K.YES_NO), ("province_result", LIST_OUTCOME, K.OUTCOMES),
                                  ("nation_result", LIST_OUTCOME, K.OUTCOMES)):
            c = keys.index(key)
            ws.data_validation(first, c, last, c, {
                "validate": "list", "source": f"={name}", "input_title": cols[key][:32],
                "input_message": "请从下拉列表中选择；没有的可以留空。",
                "error_title": "请从列表中选择", "error_message": f"只能选择：{'、'.join(values)}"})
        write_list_sheet(wb, ((LIST_YES_NO, "是否", K.YES_NO), (LIST_OUTCOME, "评定结果", K.OUTCOMES)))
        write_identity_sheet(wb, K.REVIEW_IDENTITY_KEYS, identity_values(
            K.KIND_REGISTER, checklist, settings.year, unit=settings.college, branches=[r["branch_code"] for r in rows]))
        wb.close()
    return dest


# ---- the 整顿 workbook (整顿_<总支>.xlsx): 整顿转化, issue 9 -----------------------------------------------

def build_rectify_workbook(dest: Path, general: str, items: list, campaign: Campaign) -> Path:
    """Write a 总支's 整顿 workbook atomically: one row per branch on its 整顿 list (rectify.RectifyItem),
    what failed last year read-only, 整顿措施 / 责任人 / 完成期限 / 进展情况 to fill (what was returned
    before is pre-filled, so the 总支 updates its plan through the year)."""
    checklist, settings = campaign.checklist, campaign.settings
    shorts = {i.code: i.short for i in checklist.indicators}
    last = items[0].year if items else settings.year - 1
    with atomic_path(dest) as tmp:
        wb = new_workbook(tmp, f"{general}整顿工作簿", f"{settings.year}年党支部整顿转化", settings)
        f = _formats(wb)
        lines = [
            (f["title"], f"{general}党支部整顿转化工作簿（{settings.year}年·{settings.phase}引领）"),
            (f["bold"], f"共 {len(items)} 个党支部：{last}年度未经学院党委认定达标，列入本年度整顿转化"
                        "（三年行动计划：重点整顿不标准、不规范党支部，确保学院党支部全部达标）。"),
            (f["text"], "一、灰色格子由系统按上年度验收结果填写，不能修改：上年度验收状态、未达标的指标"
                        "（上年度采用等次不是“达标”的指标）、未完成的整改要求。"),
            (f["text"], "二、浅黄色格子由党总支填写：针对上述问题的整顿措施、责任人（姓名）、完成期限（本年度内的日期，"
                        f"如 {settings.first_review_deadline - dt.timedelta(days=30):%Y-%m-%d}；宜早于初验截止日期"
                        f" {settings.first_review_deadline:%Y-%m-%d}），三项缺一不可；进展情况可随时补充。"
                        "暂时定不下来的支部，本行浅黄色格子全部留空。"),
            (f["text"], "三、整顿中的支部照常报送本年度填报表，走初验、复验和党委认定；经党委认定达标即完成整顿。"
                        "完成期限已过仍未认定的，列入催报通知。"),
            (f["text"], "四、填好后报组织部（放入收件箱 inbox），以最后交回的一份为准；再次下发的工作簿会带上已交回的内容，"
                        "可在其基础上修改。请不要插入或删除行列、不要修改工作表名称。"),
            (f["text"], f"五、如有疑问请联系：{settings.contact}。"),
        ]
        write_guide_sheet(wb, K.REVIEW_SHEET_GUIDE, 110, lines, lambda text: 17 * wrapped_lines(text, 110) + 4,
                          margins=0.6, landscape=True)
        sheet, cols = K.REVIEW_LAYOUTS[K.KIND_RECTIFY]["rectify"]
        keys, inputs = list(cols), K.REVIEW_INPUTS["rectify"]
        widths = {"branch_code": 10, "branch_name": 26, "last_stage": 13, "failed": 30, "open": 26, "plan": 40,
                  "owner": 10, "deadline": 12, "progress": 24}
        ws = _sheet(wb, sheet, f"{general}{settings.year}年整顿清单", keys, cols, f, widths)
        for n, it in enumerate(items):
            r = K.HEADER_ROW + n
            values = {"branch_code": it.branch.code, "branch_name": it.branch.name, "last_stage": it.last_stage,
                      "failed": it.failed_text(shorts), "open": it.open, "plan": it.plan, "owner": it.owner,
                      "progress": it.progress}
            for c, k in enumerate(keys):
                fmt = (f["date"] if k == "deadline" else f["input"]) if k in inputs else f["fixed"]
                if k == "deadline":
                    if it.deadline:
                        ws.write_datetime(r, c, dt.datetime.combine(it.deadline, dt.time()), fmt)
                    else:
                        ws.write_blank(r, c, None, fmt)
                elif values.get(k):
                    ws.write_string(r, c, str(values[k]), fmt)
                else:
                    ws.write_blank(r, c, None, fmt)
            tall = max(wrapped_lines(str(values.get(k) or ""), widths[k]) for k in ("failed", "open", "plan"))
            ws.set_row(r, 15 * min(tall, 6) + 4)
        first, last_row = K.HEADER_ROW, K.HEADER_ROW + max(len(items), 1) - 1
        c = keys.index("deadline")
        ws.data_validation(first, c, last_row, c, {
            "validate": "date", "criteria": "between", "minimum": settings.period_start,
            "maximum": settings.period_end, "input_title": cols["deadline"],
            "input_message": f"本年度内的日期，如 {settings.first_review_deadline - dt.timedelta(days=30):%Y-%m-%d}。",
            "error_title": "日期不正确",
            "error_message": f"请填写 {settings.period_start:%Y-%m-%d} 至 {settings.period_end:%Y-%m-%d} 之间的日期。"})
        ws.freeze_panes(K.HEADER_ROW, 2)
        write_identity_sheet(wb, K.REVIEW_IDENTITY_KEYS, identity_values(
            K.KIND_RECTIFY, checklist, settings.year, unit=general, branches=[it.branch.code for it in items]))
        wb.close()
    return dest

"""stage: campaign results → the context of every document (pure)

From the same figures as the master workbook (results.py), plan() lists every document the campaign
calls for, with the context its Word template is rendered with (reports.py writes them under
outbox/reports/):
  验收意见书/<编码>_<支部>_达标验收意见书.docx   per branch that returned
  证书/<编码>_<支部>_证书.docx                  per branch the committee 认定 (达标党支部 or 样板党支部)
  年度报告/<总支>_<年>年度党支部建设情况报告.docx  per 总支, to the college committee
  催报通知/<总支>_催报通知.docx                  per 总支 with returns, reviews or rectifications overdue
  <年>年度表彰决定.docx                          the committee's decision (final once it is recorded)
  草稿/<年>年度表彰决定（草稿）.docx              before that, a draft for the meeting: no 发文字号

Documents follow the acceptance chain (chain.py), never a score: a title (证书, 表彰决定, the 认定
part of an 意见书) is conferred only by the committee's recorded decision, dated by its meeting.

Every string of a context is cleaned of characters XML cannot hold. Dates are written with Arabic
numerals (2019年12月20日). A document is dated by its data, not by the clock, so it does not change
from one day to the next: a branch's documents by its 复验 (else 初验, else its return's) date, the
decision and annual reports by the latest of those; only the reminder notice is dated `today`,
which the caller (the CLI) passes in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import sys
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Iterable

from xlflow import constants as K
from xlflow import evidence, messages
from xlflow.campaign import Campaign
from xlflow.checklist import Checklist
from xlflow.decision import CANDIDATE, model_quota, suggestions
from xlflow.evidence import FAIL, Evidence
from xlflow.files import code_fingerprint, safe_filename
from xlflow.messages import Code, cn_date
from xlflow.rectify import items_of
from xlflow.rectify import progress as rect_progress
from xlflow.results import BranchResult, Results, Review, ledger_date
from xlflow.roster import Branch
from xlflow.scoring import Params
from xlflow.settings import Settings

FORMAT = 3  # bump when contexts or rendering change: every document is then rendered again

ACCEPTANCE, DECISION, CERTIFICATE, ANNUAL, REMINDER = "达标验收意见书", "表彰决定", "证书", "年度报告", "催报通知"
SUMMARY = "三年总结"  # the 创优 year: per 总支 and for the college
KINDS = (ACCEPTANCE, CERTIFICATE, ANNUAL, REMINDER, DECISION, SUMMARY)
TEMPLATES = {kind: f"{kind}.docx" for kind in KINDS}  # in the working folder's templates/
FOLDERS = {ACCEPTANCE: "验收意见书", CERTIFICATE: "证书", ANNUAL: "年度报告", REMINDER: "催报通知", DECISION: "",
           SUMMARY: "三年总结"}
DRAFTS = "草稿"  # drafts of a kind (the 表彰决定 before the committee decides) sit here, never beside finals
PENDING = "（待党委会议决定）"

BLANK_DATE = "　　　　年　　月　　日"  # left for a hand-written date
MODEL_HONOR, PASS_HONOR = "校级“样板党支部”", "达标党支部"
BENCHMARK_PHASE = "创优"  # 标杆院系 are chosen in the 创优 year (seed, 第三阶段)


@dataclass(frozen=True)
class Doc:
    kind: str
    path: str  # relative to the output folder, with "/"
    context: dict
    key: str | None = None  # a branch's own document: the digest of what it is made from (inputs_key)


# ---- text ------------------------------------------------------------------------------------------

# XML 1.0 cannot hold C0 controls other than tab/newline/CR, nor U+FFFE/U+FFFF or lone surrogates;
# DEL and the C1 controls are legal but never meant in a document: all go.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")


_SUSPECT = re.compile("[\x00-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")  # the above, CR, LF and tab


def clean_text(text: str) -> str:
    """A string safe for WordprocessingML: line ends as \\n (docxtpl makes them line breaks)."""
    if not _SUSPECT.search(text):  # nearly every string: nothing to do
        return text
    return _ILLEGAL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def clean(value):
    """Clean every string of a context (dicts, lists, tuples), leave other values alone. Keys are
    xlflow's own names."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    return value


# ---- titles ----------------------------------------------------------------------------------------

TITLE_EM = 19  # a title line (2号, 22 pt) holds 20 characters of the 156 mm text block: one spare


def _em(text: str) -> float:
    """Width in characters of the title font: Latin letters and digits are half as wide."""
    return sum(0.5 if ord(ch) < 0x2000 else 1.0 for ch in text)


def title_lines(words: Iterable[str], width: float = TITLE_EM) -> list[str]:
    """A title broken only between its words (GB/T 9704 7.3.3: 排列对称，长短适宜, in 梯形 or 菱形),
    in as few lines as fit, as even as possible. A word longer than a line is cut where it must be."""
    parts: list[str] = []
    for w in words:
        while _em(w) > width:  # only a name longer than a whole line
            cut = next(i for i in range(len(w), 0, -1) if _em(w[:i]) <= width)
            parts.append(w[:cut])
            w = w[cut:]
        if w:
            parts.append(w)
    n = len(parts)
    # best[i] = (lines, unevenness, breaks) for parts[i:]: fewest lines first, then the least squared
    # difference of the lines from an even share of the title
    share = _em("".join(parts)) / _min_lines(parts, width)
    best: list[tuple[int, float, list[int]]] = [(0, 0.0, [])] * (n + 1)
    for i in range(n - 1, -1, -1):
        options = []
        for j in range(i + 1, n + 1):
            w = _em("".join(parts[i:j]))
            if w > width and j > i + 1:
                break
            lines, spread, breaks = best[j]
            options.append((lines + 1, spread + (w - share) ** 2, [j, *breaks]))
        best[i] = min(options, key=lambda t: (t[0], t[1]))
    seq = [0, *best[0][2]]
    return ["".join(parts[a:b]) for a, b in zip(seq, seq[1:])]


def _min_lines(parts: list[str], width: float) -> int:
    lines, used = 1, 0.0
    for p in parts:
        w = _em(p)
        if used and used + w > width:
            lines, used = lines + 1, 0.0
        used += w
    return lines


def title_text(words: Iterable[str]) -> str:
    """The title as one string, its lines joined by \n (docxtpl makes them line breaks)."""
    return "\n".join(title_lines(words))


SIGN_EM = 14  # the 署名 is centred on the 成文日期: about 15 characters of 3号 fit around that centre


def signature(name: str, width: float = SIGN_EM) -> str:
    """A 署名 as lines that fit centred over the date, broken after 学院 or 委员会 if too long."""
    return "\n".join(title_lines(re.split(r"(?<=学院)|(?<=委员会)", name), width))


def full_name(general: str, settings: Settings) -> str:
    """A 总支's full name for its signature: 机电工程学院党总支 → 中共鹤壁职业技术学院机电工程学院总支部委员会."""
    stem = settings.committee.removesuffix("委员会")
    if general.endswith("党总支"):
        return stem + general.removesuffix("党总支") + "总支部委员会"
    return general if general.startswith("中共") else stem + general


def _date_text(value) -> str:
    d = ledger_date(value)
    return cn_date(d) if d else ("" if value is None else str(value))


def _num(x: float) -> str:
    return f"{x:g}"


def _score(x: float | None) -> str:
    return "" if x is None else f"{x:.2f}"


def _counts(items: Iterable[str], order: Iterable[str]) -> str:
    c = Counter(items)
    return "、".join(f"{k}{c[k]}个" for k in order if c[k]) or "无"


# ---- contexts --------------------------------------------------------------------------------------

def _common(settings: Settings) -> dict:
    return {"college": settings.college, "committee": settings.committee, "department": settings.department,
            "year": settings.year, "phase": settings.phase, "contact": settings.contact,
            "deadline": cn_date(settings.deadline)}


def branch_date(br: BranchResult) -> dt.date:
    """The date a branch's result speaks for: the committee's decision, else its 复验, else its 初验,
    else its return."""
    if br.standing is not None and br.standing.decided_on:
        return br.standing.decided_on
    for rv in (br.second, br.first):
        d = ledger_date(rv.reviewed_on)
        if d:
            return d
    return br.as_of


def _basis(results: list[BranchResult]) -> str:
    """How the results were reached, truthfully: only the steps that took place for all of them."""
    steps = ["党支部自查"]
    if results and all(r.first.conclusion for r in results):
        steps.append("党总支初验")
    if results and all(r.standing.in_second and r.second.conclusion for r in results):
        steps.append("学院复验" if all(r.standing.put_forward for r in results) else "学院复验（含随机抽查）")
    if results and all(r.standing.decided_on for r in results):
        steps.append("学院党委认定")
    return "经" + "、".join(steps)


def _branch_info(br: BranchResult) -> dict:
    b, basic = br.branch, br.basic
    full, prob = basic.get("full_members"), basic.get("probationary_members")
    return {"code": b.code, "name": b.name, "general": b.general, "type": b.type,
            "secretary": basic.get("secretary") or b.secretary,
            "full_members": f"{full}人" if full is not None else "", "probationary_members": f"{prob}人" if prob is not None else "",
            "received_on": cn_date(br.received_at.date()),
            "stage": br.standing.label if br.standing else ""}


def _review(rv: Review, label: str, checklist: Checklist, counted: bool = True) -> dict:
    """A round's part of an 意见书. counted: False for a 复验 that does not count (the branch is
    neither put forward nor drawn), which the 意见书 then does not quote."""
    if not counted:
        rv = Review()
    until = ledger_date(rv.deadline)
    conclusion = rv.conclusion or f"尚未{label}"
    if rv.conclusion == K.REVIEW_CONCLUSIONS[2] and until:
        conclusion += f"（整改期限：{cn_date(until)}）"
    return {"conclusion": conclusion, "opinion": _cn_dates(rv.opinion), "reviewer": rv.reviewer,
            "date": cn_date(ledger_date(rv.reviewed_on)) or BLANK_DATE,
            "comments": [{"code": i.code, "short": i.short, "rating": rv.ratings.get(i.code, ""),
                          "comment": _cn_dates(rv.comments[i.code])} for i in checklist.indicators if rv.comments.get(i.code)]}


_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")


def _cn_dates(text: str) -> str:
    """ISO dates inside generated text (the evidence findings) as 2019年4月27日."""
    return _ISO_DATE.sub(lambda m: f"{int(m[1])}年{int(m[2])}月{int(m[3])}日", text)


def _evidence_row(e: Evidence) -> dict:
    measured = f"{e.measured}（{e.detail}）" if e.detail else e.measured
    return {"code": e.indicator, "requirement": _cn_dates(e.requirement), "measured": _cn_dates(measured),
            "verdict": e.verdict}


def _findings(br: BranchResult, checklist: Checklist) -> list[str]:
    out = []
    for code in br.mismatches:
        fails = [e for e in br.evidence if e.indicator == code and e.verdict == FAIL]
        what = "；".join(_evidence_row(e)["measured"] for e in fails) or "不符合要求"
        out.append(Code.E301.text(code=code, short=checklist.indicator(code).short,
                                  rating=br.self_ratings.get(code, ""), measured=what))
    return out


def acceptance_context(br: BranchResult, campaign: Campaign, params: Params) -> dict:
    checklist, settings = campaign.checklist, campaign.settings
    s = br.score
    deductions = []
    for ind in checklist.indicators:
        pts = s.points.get(ind.code)
        if pts is None or pts >= ind.points:  # 不适用, or full marks
            continue
        deductions.append({"code": ind.code, "short": ind.short, "rating": s.used.get(ind.code) or "未评定",
                           "source": s.source.get(ind.code, ""), "points": f"{pts:.2f}/{_num(ind.points)}"})
    problems = [{"seq": n, "indicator": p.get("indicator") or "", "problem": p.get("problem") or "",
                 "measure": p.get("measure") or "", "owner": p.get("owner") or "",
                 "deadline": _date_text(p.get("deadline")), "status": p.get("status") or ""}
                for n, p in enumerate(br.problems, 1)]
    st = br.standing
    decided = st.stage in (K.STAGE_RECOGNIZED, K.STAGE_NOT_RECOGNIZED)
    return {**_common(settings),
            "title": title_text([settings.college, "党支部建设", "达标验收意见书"]),
            "branch": _branch_info(br),
            "scores": [{"seq": n, "name": c.name, "weight": _num(c.weight), "score": _score(s.categories.get(c.code))}
                       for n, c in enumerate(checklist.categories, 1)],
            "weight_total": _num(sum(c.weight for c in checklist.categories)),
            "total": _score(s.total), "grade": s.grade, "pass_line": _num(params.pass_line),
            "stage": st.label, "decided": decided, "recognized": st.recognized, "model": st.model,
            "meeting": st.meeting or "学院党委会议", "decision_date": cn_date(st.decided_on) if decided else BLANK_DATE,
            "decision_note": st.note,
            "veto": "、".join(f"{v}（{checklist.indicator(v).short}）" for v in s.veto_hits),
            "deductions": deductions,
            "evidence": [_evidence_row(e) for e in br.evidence],
            "findings": _findings(br, checklist),
            "problems": problems,
            "first": _review(br.first, K.REVIEW_ROUNDS[K.KIND_REVIEW_FIRST], checklist),
            "second": _review(br.second, K.REVIEW_ROUNDS[K.KIND_REVIEW_SECOND], checklist, st.in_second)}


def certificate_context(br: BranchResult, settings: Settings) -> dict:
    """Only for a branch the committee 认定 (plan() sees to it); dated by the decision."""
    return {**_common(settings), "branch": _branch_info(br),
            "honor": MODEL_HONOR if br.standing.model else PASS_HONOR,
            "basis": "经验收和学院党委认定", "cert_no": f"{settings.year}-{br.branch.code}", "date": cn_date(branch_date(br))}


def _missing_rows(missing: list[Branch]) -> list[dict]:
    return [{"seq": n, "code": b.code, "name": b.name, "secretary": b.secretary, "phone": b.phone}
            for n, b in enumerate(missing, 1)]


def annual_context(general: str, members: list[BranchResult], missing: list[Branch], campaign: Campaign,
                   params: Params, issued: dt.date) -> dict:
    checklist, settings = campaign.checklist, campaign.settings
    scores = [r.score for r in members]
    recognized = [r.branch.name for r in members if r.standing.recognized]
    models = [r.branch.name for r in members if r.standing.model]
    rows = [{"seq": n, "name": r.branch.name, "stage": r.standing.stage, "total": _score(r.score.total),
             "grade": r.score.grade, "rank": r.score.rank or "",
             "note": "样板" if r.standing.model else ("否决" if r.score.veto_hits else "")}
            for n, r in enumerate(members, 1)]
    categories = []
    for c in checklist.categories:
        avg = sum(s.categories.get(c.code, 0.0) for s in scores) / len(scores) if scores else 0.0
        categories.append({"name": c.name, "weight": _num(c.weight), "average": _score(avg),
                           "rate": f"{avg / c.weight * 100:.1f}%" if c.weight else ""})
    problems = [{"seq": 0, "branch": r.branch.name, "indicator": p.get("indicator") or "",
                 "problem": p.get("problem") or "", "status": p.get("status") or ""}
                for r in members for p in r.problems]
    for n, p in enumerate(problems, 1):
        p["seq"] = n
    everyone = [r.branch for r in members] + missing
    if recognized:
        standing = f"经学院党委认定达标{len(recognized)}个" + (f"，其中{len(models)}个评为校级“样板党支部”（{'、'.join(models)}）"
                                                     if models else "")
    else:
        standing = "学院党委尚未作出认定，暂无认定达标的党支部"
    title = title_text([general, "关于", f"{settings.year}年度", "党支部", "标准化", "规范化", "建设情况的报告"])
    return {**_common(settings), "general": general, "title": title, "signer": signature(full_name(general, settings)),
            "total": len(everyone),
            "types": _counts((b.type for b in everyone), K.BRANCH_TYPES),
            "as_of": cn_date(issued), "date": cn_date(issued), "returned": len(members),
            "grades": _counts((s.grade for s in scores), (g for g, _ in params.grades)),
            "average": _score(sum(s.total for s in scores) / len(scores)) if scores else "",
            "stages": _counts((r.standing.stage for r in members), K.STAGES),
            "models_text": standing,
            "rows": rows, "categories": categories, "problems": problems,
            "problem_status": _counts((p["status"] for p in problems), K.PROBLEM_STATUS),
            "missing": _missing_rows(missing)}


def _chain_rows(items: list[tuple[Branch, str]]) -> list[dict]:
    return [{"seq": n, "code": b.code, "name": b.name, "secretary": b.secretary, "phone": b.phone, "what": what}
            for n, (b, what) in enumerate(items, 1)]


def reminder_due(general: str, results: Results, branches: dict[str, Branch],
                 today: dt.date) -> dict[str, list[tuple[Branch, str]]]:
    """What a 总支 is to be reminded of: returns missing, returns sent back, 初验 overdue, and
    rectifications (整改后再验) past their deadline. Empty lists: nothing to remind."""
    of = [(branches[c], st) for c, st in results.standings.items() if branches[c].general == general]
    settings = results.campaign.settings
    late_first = today > settings.first_review_deadline
    return {
        "missing": [(b, st.label) for b, st in of if st.stage == K.STAGE_MISSING],
        "rejected": [(b, st.label) for b, st in of if st.stage == K.STAGE_REJECTED],
        "reviews": [(b, st.label) for b, st in of
                    if late_first and st.stage in (K.STAGE_AWAIT_FIRST, K.STAGE_FIRST_RECHECK)],
        "rectify": [(b, f"{st.stage}，整改期限{cn_date(st.deadline)}，已逾期") for b, st in of if st.overdue],
        # 整顿转化: not 认定 last year, its 完成期限 passed before it was 认定 (issue 9)
        "plans": [(it.branch, it) for it in items_of(results, list(branches.values()), settings.year)
                  if it.overdue and it.branch.general == general],
    }


def reminder_context(general: str, due: dict[str, list[tuple[Branch, str]]], settings: Settings, today: dt.date,
                     number: int = 0, results: Results | None = None) -> dict:
    progress = ""
    if results is not None:  # the seed's 全部达标, for the college and for this 总支
        codes = {b.code for b in [r.branch for r in results.branches] + results.missing if b.general == general}
        mine = {c: st for c, st in results.standings.items() if c in codes}
        (done, total), (own, of) = rect_progress(results.standings), rect_progress(mine)
        progress = (f"截至{cn_date(today)}，全院经学院党委认定达标的党支部{done}个，占全院{total}个党支部的"
                    f"{done / total:.0%}；你总支{own}个，占本总支{of}个的{own / of:.0%}。" if total and of else "")
    return {**_common(settings), "general": general, "doc_code": settings.doc_code("reminder", number),
            "signer": signature(settings.department),
            "missing": _chain_rows(due["missing"]), "rejected": _chain_rows(due["rejected"]),
            "reviews": _chain_rows(due["reviews"]), "rectify": _chain_rows(due["rectify"]),
            "plans": [{"seq": n, "code": b.code, "name": b.name, "what": it.brief, "owner": it.owner,
                       "deadline": f"{it.deadline:%Y-%m-%d}", "now": it.now.stage if it.now else ""}
                      for n, (b, it) in enumerate(due.get("plans", ()), 1)],
            "progress": progress,
            "first_deadline": cn_date(settings.first_review_deadline),
            "as_of": cn_date(today), "date": cn_date(today), "overdue": today > settings.deadline}


def decided_benchmarks(results: Results) -> list[str]:
    """标杆院系 from the committee's decisions over the years (not from scores): a 总支 all of whose
    branches were 认定 this year, with 样板 (named this year or held) making up at least
    benchmark_share of its branches, and at least benchmark_rate of them 认定 in each earlier year."""
    settings = results.campaign.settings
    by: dict[str, list] = {}
    for b in [r.branch for r in results.branches] + results.missing:
        by.setdefault(b.general, []).append(b.code)
    out = []
    for g, codes in by.items():
        sts = [results.standings[c] for c in codes]
        if not all(st.recognized for st in sts):
            continue
        if sum(bool(st.model or st.model_since) for st in sts) < settings.benchmark_share * len(sts):
            continue
        if all(sum(1 for c in codes if then.get(c) and then[c].recognized) >= settings.benchmark_rate * len(codes)
               for then in results.earlier.values()):
            out.append(g)
    return out


def decision_context(results: Results, candidates: list[BranchResult]) -> dict:
    """The committee's decision: final once a recorded decision 认定 any branch (dated by its meeting,
    with its 发文字号); before that a draft for the meeting, listing what is proposed (拟认定, and
    the 样板 candidates where the year names 样板), with no 发文字号 and no date."""
    brs, d, settings = results.branches, results.facts.decision, results.campaign.settings
    recognized = [r for r in brs if r.standing.recognized]
    draft = not recognized
    listed = [r for r in brs if r.standing.stage == K.STAGE_AWAIT_DECISION] if draft else recognized
    models = candidates if draft else [r for r in recognized if r.standing.model]
    show = settings.phase == BENCHMARK_PHASE and not draft
    benchmarks = decided_benchmarks(results) if show else []
    words = ["（草稿）"] if draft else []
    words += [settings.committee, "关于认定", f"{settings.year}年度", "达标党支部"]
    words += ["和表彰", "校级“样板党支部”"] if models else []
    words += ["、“标杆院系”"] if benchmarks else []
    words.append("的决定")
    year = f"{settings.year}年度"
    annexes = [([year, "拟认定的" if draft else "", "达标党支部名单"], listed, True)]
    if models:
        annexes.append(([year, "拟评定的" if draft else "", "校级“样板党支部”名单"], models, True))
    if benchmarks:
        annexes.append(([year, "“标杆院系”名单"], benchmarks, False))
    many = len(annexes) > 1  # a single attachment is not numbered (GB/T 9704 7.3.4)
    rows = []
    for n, (name, items, branches) in enumerate(annexes, 1):
        lead = ("附件：" if n == 1 else "　　　") + (f"{n}．" if many else "")
        table = [{"seq": i, "name": x.branch.name, "general": x.branch.general} if branches
                 else {"seq": i, "name": x, "general": "—"} for i, x in enumerate(items, 1)]
        rows.append({"no": f"附件{n}" if many else "附件", "line": lead + "".join(name), "title": title_text(name),
                     "rows": table, "unit": "所属党总支" if branches else "备注"})
    date = cn_date(d.decided_on) if d and d.decided_on and not draft else PENDING
    if models:
        no_models = ""
    elif settings.models_awarded:
        no_models = "经学院党委研究，本年度暂不评定校级“样板党支部”。"
    else:
        no_models = f"本年度为{settings.phase}阶段，按三年行动计划树立标准、鼓励创建，不评定校级“样板党支部”。"
    return {**_common(settings), "draft": draft, "title": title_text(words), "signer": signature(settings.committee),
            "doc_code": "" if draft else settings.doc_code("decision"),
            "doc_line": "草稿：未经学院党委会议决定，不作为正式文件印发" if draft else settings.doc_code("decision"),
            "total_branches": len(brs) + len(results.missing), "returned": len(brs), "recognized": len(listed),
            "basis": _basis(listed) if listed else "经党支部自查", "meeting": (d.meeting if d and not draft else ""),
            "date": date, "printed": "草稿，未印发" if draft else f"{date}印发",
            "models": [{"seq": n, "name": r.branch.name, "general": r.branch.general, "code": r.branch.code}
                       for n, r in enumerate(models, 1)],
            "no_models": no_models, "show_benchmarks": bool(benchmarks),
            "benchmarks": [{"seq": n, "name": g} for n, g in enumerate(benchmarks, 1)],
            "annexes": rows}


def inputs_salt(campaign: Campaign, params: Params) -> str:
    """What every branch's own documents are also made from: the checklist, the parameters, the
    settings, and the code that judges the records and words the contexts."""
    return f"{FORMAT}|{_CODE}|{campaign.checklist.fingerprint}|{params!r}|{campaign.settings!r}|"


def inputs_key(br: BranchResult, salt: str) -> str:
    """A digest of everything a branch's 意见书 and 证书 are made from, far cheaper than their contexts:
    its stored return by its row (a stored return never changes: its evidence follows from it and
    the as-of day), what it says, its reviews, the scores it shows (not its rank, which moves with
    every other branch) and its standing. Equal keys, equal contexts (tests/test_reports.py)."""
    s = br.score
    # the part (basic … evidence) by its name in load_results' memo, when it has one
    part = br.part or (br.return_id, br.as_of, br.basic, br.self_ratings, br.problems)
    who = (br.branch, br.file_id, br.received_at, part, br.mismatches, br.first, br.second,
           s.used, s.source, s.points, s.categories, s.total, s.grade, s.veto_hits, br.standing)
    return hashlib.sha1((salt + repr(who)).encode("utf-8")).hexdigest()


def _generals(results: Results) -> list[str]:
    return list(dict.fromkeys([r.branch.general for r in results.branches] + [b.general for b in results.missing]))


Known = Callable[[str, str, str], bool]  # (kind, path, inputs key) -> made from these inputs already


def plan(results: Results, today: dt.date | None = None, kinds: Iterable[str] = KINDS,
         sink: Callable[[Doc], None] | None = None, known: Known | None = None) -> list[Doc]:
    """Every document the results call for, with its (cleaned) context. With a sink, each is
    handed to it as soon as it is made and none is kept (thousands of contexts are never all held).

    known: asked before a branch's own document (意见书, 证书) is made, with its inputs_key; True
    passes it over, its context never built (reports.py: the document on disk was made from the
    same inputs). The college-wide documents (reports, reminders, the decision), which depend on
    every branch, are always made."""
    kinds, today = set(kinds), today or dt.date.today()
    campaign, params = results.campaign, results.params
    settings = campaign.settings
    issued = max((branch_date(r) for r in results.branches), default=today)
    docs: list[Doc] = []
    put = sink or docs.append
    salt = inputs_salt(campaign, params) if known else ""

    def add(kind: str, name: str, build: Callable[[], dict], folder: str | None = None, key: str | None = None) -> None:
        if kind in kinds:  # contexts are built only for the kinds asked for
            folder, name = FOLDERS[kind] if folder is None else folder, safe_filename(clean_text(name))
            path = f"{folder}/{name}" if folder else name
            if key is None or not known(kind, path, key):
                put(Doc(kind, path, clean(build()), key))

    for br in results.branches:
        stem = f"{br.branch.code}_{br.branch.name}"
        key = inputs_key(br, salt) if known else None
        add(ACCEPTANCE, f"{stem}_{ACCEPTANCE}.docx", lambda: acceptance_context(br, campaign, params), key=key)
        if br.standing.recognized:  # only the committee's decision confers the title
            add(CERTIFICATE, f"{stem}_{CERTIFICATE}.docx", lambda: certificate_context(br, settings), key=key)
    roster = {b.code: b for b in [r.branch for r in results.branches] + results.missing}
    reminders = 0
    for general in _generals(results):
        members = [r for r in results.branches if r.branch.general == general]
        missing = [b for b in results.missing if b.general == general]
        add(ANNUAL, f"{general}_{settings.year}年度党支部建设情况报告.docx",
            lambda: annual_context(general, members, missing, campaign, params, issued))
        due = reminder_due(general, results, roster, today)
        if any(due.values()):
            add(REMINDER, f"{general}_{REMINDER}.docx",
                lambda: reminder_context(general, due, settings, today, reminders, results))
            reminders += 1
    if settings.phase == BENCHMARK_PHASE and results.earlier:  # the plan's last year, with the years before it
        for general in _generals(results):
            add(SUMMARY, f"{general}_{SUMMARY}.docx", lambda: summary_context(general, results, issued))
        add(SUMMARY, f"{settings.college}_{SUMMARY}.docx", lambda: summary_context(None, results, issued))
    if any(r.standing.recognized for r in results.branches):
        add(DECISION, f"{settings.year}年度{DECISION}.docx", lambda: decision_context(results, []))
    elif any(r.standing.stage == K.STAGE_AWAIT_DECISION for r in results.branches):
        waiting = [r for r in results.branches if r.standing.stage == K.STAGE_AWAIT_DECISION]
        quota = model_quota(results)
        shown = suggestions(waiting, quota, settings.models_awarded, 0)
        candidates = [r for r in waiting if CANDIDATE in shown[r.branch.code]]
        add(DECISION, f"{settings.year}年度{DECISION}（草稿）.docx", lambda: decision_context(results, candidates),
            folder=DRAFTS)
    return docs


_CODE = code_fingerprint(sys.modules[__name__], evidence, messages, K)


# ---- the three-year summary (三年总结, the 创优 year) ----------------------------------------------------

def summary_context(general: str | None, results: Results, issued: dt.date) -> dict:
    """The campaign's three years for one 总支 (general) or the whole college (None), from each year's
    decisions (results.earlier and this year's standings): 认定 and 样板 per year, every branch's stage
    each year, problems carried and closed this year, and the 标杆院系 chosen."""
    settings = results.campaign.settings
    years = {**results.earlier, settings.year: results.standings}
    order = sorted(years)
    roster = [r.branch for r in results.branches] + results.missing
    mine = [b for b in roster if general is None or b.general == general]
    codes = {b.code for b in mine}
    table = []
    for y in order:
        sts = [st for c, st in years[y].items() if c in codes]
        recognized = sum(st.stage == K.STAGE_RECOGNIZED for st in sts)
        table.append({"year": f"{y}年", "branches": len(sts), "recognized": recognized,
                      "rate": f"{recognized / len(sts):.0%}" if sts else "",
                      "models": sum(bool(st.model or st.model_since) for st in sts)})
    cols = [f"{y}年" for y in order][-3:]
    rows = []
    for n, b in enumerate(sorted(mine, key=lambda x: (x.general, x.code)), 1):
        cells = [years[y][b.code].stage if b.code in years[y] else "" for y in order][-3:]
        rows.append({"seq": n, "name": b.name, "cells": cells + [""] * (3 - len(cells))})
    rectified = []  # 整顿转化: each later year, the branches not 认定 the year before, and how many it brought to 认定
    for before, y in zip(order, order[1:]):
        listed = [c for c, st in years[before].items() if c in codes and not st.recognized]
        turned = sum(1 for c in listed if c in years[y] and years[y][c].recognized)
        rectified.append(f"{y}年将上年度未认定达标的{len(listed)}个党支部列入整顿转化，当年认定达标{turned}个")
    problems = [p for r in results.branches if r.branch.code in codes for p in r.problems]
    old = [p for p in problems if (p.get("raised") or settings.year) < settings.year]
    closed = sum(1 for p in old if p.get("status") == K.PROBLEM_STATUS[-1])
    first, last = table[0], table[-1]
    who = general or settings.college
    title = title_text([who, "党支部建设“两化一创”强基引领", f"三年行动总结（{order[0]}—{order[-1]}年）"])
    bench = decided_benchmarks(results)
    return {**_common(settings), "general": who, "title": title, "college_wide": general is None,
            "signer": signature(settings.committee if general is None else full_name(general, settings)),
            "years": cols + [""] * (3 - len(cols)), "table": table, "rows": rows,
            "progress": (f"认定达标的党支部由{first['year']}的{first['recognized']}个（{first['rate']}）"
                         f"到{last['year']}的{last['recognized']}个（{last['rate']}）"),
            "rectified": "；".join(rectified), "models": last["models"], "carried": len(old), "closed": closed, "opened": len(problems) - len(old),
            "benchmarks": "、".join(g for g in bench if general is None or g == general) or "",
            "date": cn_date(issued)}

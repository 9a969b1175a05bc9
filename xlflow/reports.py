"""stage: campaign results → Word documents for filing (docxtpl)

From the same figures as the master workbook (results.py) this writes, under outbox/reports/:
  验收意见书/<编码>_<支部>_达标验收意见书.docx   per branch that returned
  证书/<编码>_<支部>_证书.docx                  per branch that passed (达标党支部 or 样板党支部)
  年度报告/<总支>_<年>年度党支部建设情况报告.docx  per 总支, to the college committee
  催报通知/<总支>_催报通知.docx                  per 总支 with branches that have not returned
  <年>年度表彰决定.docx                          the committee's decision, annex: 样板 (and 标杆院系)

Templates are .docx files in the working folder's templates/ (built by scripts/make_docx_templates.py,
editable in Word/WPS). Before anything is written, every template is checked against the context it
will get: every tag must name something that exists (a clerk's typo such as {{ branch.nmae }} stops
the run with a message naming the template and the tag). Every string is cleaned of characters XML
cannot hold and rendered with autoescape, so “A&B<C>” arrives intact.

Incremental: each document's digest covers its template file and its context; .manifest.json keeps
the digest of every document written, so a run renders only what changed (or went missing) and
removes documents that no longer apply (a certificate whose branch no longer passes). Long runs use
every core (ProcessPoolExecutor; workers get template paths and plain-data contexts).

Dates are written with Arabic numerals (2019年12月20日). A document is dated by its data, not by
the clock, so it does not change from one day to the next: a branch's documents by its 复验 (else
初验, else its return's) date, the decision and annual reports by the latest of those; only the
reminder notice is dated `today`, which the caller (the CLI) passes in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import io
import json
import os
import re
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable

import jinja2
from docxtpl import DocxTemplate
from jinja2 import nodes

from xlflow import constants as K
from xlflow.checklist import Checklist
from xlflow.errors import TemplateError
from xlflow.evidence import FAIL, Evidence
from xlflow.files import atomic_path, atomic_write_bytes, safe_filename
from xlflow.results import BranchResult, Results, Review
from xlflow.roster import Branch
from xlflow.scoring import Params, score_branch
from xlflow.settings import Settings

FORMAT = 1  # bump when contexts or rendering change: every document is then rendered again

ACCEPTANCE, DECISION, CERTIFICATE, ANNUAL, REMINDER = "达标验收意见书", "表彰决定", "证书", "年度报告", "催报通知"
KINDS = (ACCEPTANCE, CERTIFICATE, ANNUAL, REMINDER, DECISION)
TEMPLATES = {kind: f"{kind}.docx" for kind in KINDS}
FOLDERS = {ACCEPTANCE: "验收意见书", CERTIFICATE: "证书", ANNUAL: "年度报告", REMINDER: "催报通知", DECISION: ""}
MANIFEST = ".manifest.json"

BLANK_DATE = "　　　　年　　月　　日"  # left for a hand-written date
MODEL_HONOR, PASS_HONOR = "校级“样板党支部”", "达标党支部"
BENCHMARK_PHASE = "创优"  # 标杆院系 are chosen in the 创优 year (seed, 第三阶段)
REVIEW_LABELS = ("初验", "复验")

Progress = Callable[[int, int], None]  # (documents just finished, total to render)


@dataclass(frozen=True)
class Doc:
    kind: str
    path: str  # relative to the output folder, with "/"
    context: dict


@dataclass
class ReportRun:
    written: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)  # unchanged since the last run
    removed: list[Path] = field(default_factory=list)  # no longer apply (e.g. a certificate)
    locked: list[Path] = field(default_factory=list)  # open in Word/WPS: not replaced, tried again next run


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


def cn_date(d: dt.date | None) -> str:
    """2019年6月20日 (Arabic numerals, no leading zeros, as GB/T 9704 wants)."""
    return f"{d.year}年{d.month}月{d.day}日" if d else ""


def parse_date(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _date_text(value) -> str:
    d = parse_date(value)
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
            "doc_code": settings.doc_code, "deadline": cn_date(settings.deadline)}


def branch_date(br: BranchResult) -> dt.date:
    """The date a branch's result speaks for: its 复验, else its 初验, else its return."""
    for rv in (br.second, br.first):
        d = parse_date(rv.reviewed_on)
        if d:
            return d
    return br.as_of


def _basis(results: list[BranchResult]) -> str:
    """How the results were reached, truthfully: only the rounds that took place for all of them."""
    if results and all(r.second.conclusion or r.second.ratings for r in results):
        return "经党支部自查、党总支初验、学院复验"
    if results and all(r.first.conclusion or r.first.ratings for r in results):
        return "经党支部自查、党总支初验"
    return "经党支部自查"


def _branch_info(br: BranchResult) -> dict:
    b, basic = br.branch, br.basic
    full, prob = basic.get("full_members"), basic.get("probationary_members")
    return {"code": b.code, "name": b.name, "general": b.general, "type": b.type,
            "secretary": basic.get("secretary") or b.secretary,
            "full_members": f"{full}人" if full is not None else "", "probationary_members": f"{prob}人" if prob is not None else "",
            "received_on": cn_date(br.received_at.date())}


def _review(rv: Review, label: str, checklist: Checklist) -> dict:
    return {"conclusion": rv.conclusion or f"尚未{label}", "opinion": rv.opinion, "reviewer": rv.reviewer,
            "date": cn_date(parse_date(rv.reviewed_on)) or BLANK_DATE,
            "comments": [{"code": i.code, "short": i.short, "rating": rv.ratings.get(i.code, ""),
                          "comment": rv.comments[i.code]} for i in checklist.indicators if rv.comments.get(i.code)]}


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
        out.append(f"{code}（{checklist.indicator(code).short}）自评为“{br.self_ratings.get(code, '')}”，"
                   f"但台账显示：{what}。")
    return out


def acceptance_context(br: BranchResult, checklist: Checklist, params: Params, settings: Settings) -> dict:
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
    reviewed = bool(br.second.conclusion or br.second.ratings)
    return {**_common(settings),
            "branch": _branch_info(br),
            "scores": [{"seq": n, "name": c.name, "weight": _num(c.weight), "score": _score(s.categories.get(c.code))}
                       for n, c in enumerate(checklist.categories, 1)],
            "weight_total": _num(sum(c.weight for c in checklist.categories)),
            "total": _score(s.total), "grade": s.grade, "pass_line": _num(params.pass_line),
            "passed": s.passed, "model": s.model, "reviewed": reviewed,
            "veto": "、".join(f"{v}（{checklist.indicator(v).short}）" for v in s.veto_hits),
            "deductions": deductions,
            "evidence": [_evidence_row(e) for e in br.evidence],
            "findings": _findings(br, checklist),
            "problems": problems,
            "first": _review(br.first, REVIEW_LABELS[0], checklist),
            "second": _review(br.second, REVIEW_LABELS[1], checklist)}


def certificate_context(br: BranchResult, settings: Settings) -> dict:
    return {**_common(settings), "branch": _branch_info(br),
            "honor": MODEL_HONOR if br.score.model else PASS_HONOR,
            "basis": _basis([br]), "cert_no": f"{settings.year}-{br.branch.code}", "date": cn_date(branch_date(br))}


def _missing_rows(missing: list[Branch]) -> list[dict]:
    return [{"seq": n, "code": b.code, "name": b.name, "secretary": b.secretary, "phone": b.phone}
            for n, b in enumerate(missing, 1)]


def annual_context(general: str, members: list[BranchResult], missing: list[Branch], checklist: Checklist,
                   params: Params, settings: Settings, issued: dt.date) -> dict:
    scores = [r.score for r in members]
    models = [r.branch.name for r in members if r.score.model]
    rows = [{"seq": n, "name": r.branch.name, "type": r.branch.type, "total": _score(r.score.total),
             "grade": r.score.grade, "rank": r.score.rank or "",
             "note": "样板" if r.score.model else ("否决" if r.score.veto_hits else "")}
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
    return {**_common(settings), "general": general, "total": len(everyone),
            "types": _counts((b.type for b in everyone), K.BRANCH_TYPES),
            "as_of": cn_date(issued), "date": cn_date(issued), "returned": len(members),
            "grades": _counts((s.grade for s in scores), (g for g, _ in params.grades)),
            "average": _score(sum(s.total for s in scores) / len(scores)) if scores else "",
            "models_text": (f"其中{len(models)}个列入校级“样板党支部”名单（{'、'.join(models)}）" if models
                            else "暂无党支部列入校级“样板党支部”名单"),
            "rows": rows, "categories": categories, "problems": problems,
            "problem_status": _counts((p["status"] for p in problems), K.PROBLEM_STATUS),
            "missing": _missing_rows(missing)}


def reminder_context(general: str, missing: list[Branch], settings: Settings, today: dt.date) -> dict:
    return {**_common(settings), "general": general, "missing": _missing_rows(missing),
            "as_of": cn_date(today), "date": cn_date(today), "overdue": today > settings.deadline}


def decision_context(results: Results, settings: Settings, issued: dt.date) -> dict:
    brs = results.branches
    show = settings.phase == BENCHMARK_PHASE
    models = [r for r in brs if r.score.model]
    return {**_common(settings), "show_benchmarks": show,
            "total_branches": len(brs) + len(results.missing), "returned": len(brs),
            "passed": sum(1 for r in brs if r.score.passed), "quota": results.quota,
            "basis": _basis(brs), "date": cn_date(issued),
            "models": [{"seq": n, "name": r.branch.name, "general": r.branch.general, "code": r.branch.code}
                       for n, r in enumerate(models, 1)],
            "benchmarks": [{"seq": n, "name": g} for n, g in enumerate(results.benchmarks, 1)] if show else []}


def _generals(results: Results) -> list[str]:
    return list(dict.fromkeys([r.branch.general for r in results.branches] + [b.general for b in results.missing]))


def plan(results: Results, checklist: Checklist, settings: Settings, today: dt.date | None = None,
         kinds: Iterable[str] = KINDS) -> list[Doc]:
    """Every document the results call for, with its (cleaned) context."""
    kinds, today = set(kinds), today or dt.date.today()
    params = results.params
    issued = max((branch_date(r) for r in results.branches), default=today)
    docs: list[Doc] = []

    def add(kind: str, name: str, build: Callable[[], dict]) -> None:
        if kind in kinds:  # contexts are built only for the kinds asked for
            folder, name = FOLDERS[kind], safe_filename(clean_text(name))
            docs.append(Doc(kind, f"{folder}/{name}" if folder else name, clean(build())))

    for br in results.branches:
        stem = f"{br.branch.code}_{br.branch.name}"
        add(ACCEPTANCE, f"{stem}_{ACCEPTANCE}.docx", lambda: acceptance_context(br, checklist, params, settings))
        if br.score.passed:
            add(CERTIFICATE, f"{stem}_{CERTIFICATE}.docx", lambda: certificate_context(br, settings))
    for general in _generals(results):
        members = [r for r in results.branches if r.branch.general == general]
        missing = [b for b in results.missing if b.general == general]
        add(ANNUAL, f"{general}_{settings.year}年度党支部建设情况报告.docx",
            lambda: annual_context(general, members, missing, checklist, params, settings, issued))
        if missing:
            add(REMINDER, f"{general}_{REMINDER}.docx", lambda: reminder_context(general, missing, settings, today))
    add(DECISION, f"{settings.year}年度{DECISION}.docx", lambda: decision_context(results, settings, issued))
    return docs


# ---- the template check ----------------------------------------------------------------------------

class _Env(jinja2.Environment):
    """docxtpl compiles the template's XML on every render; a run renders the same few templates
    hundreds of times, so compiled templates are kept (per process) by their source."""

    _compiled: dict[str, jinja2.Template] = {}

    def from_string(self, source, globals=None, template_class=None):
        if globals or template_class or not isinstance(source, str):
            return super().from_string(source, globals, template_class)
        key = f"{self.autoescape}\0{source}"
        got = self._compiled.get(key)
        if got is None:
            if len(self._compiled) > 64:
                self._compiled.clear()
            got = self._compiled[key] = super().from_string(source)
        return got


def _env() -> jinja2.Environment:
    return _Env(autoescape=True, undefined=jinja2.StrictUndefined)


LEAF = "leaf"


def _shape(value):
    """The keys a template may use: dict -> {key: shape}, list -> [shape of any element], else LEAF."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        merged: dict | str | list | None = None
        for v in value:
            s = _shape(v)
            merged = {**merged, **s} if isinstance(merged, dict) and isinstance(s, dict) else s
        return [merged if merged is not None else LEAF]
    return LEAF


def specimen(checklist: Checklist, settings: Settings) -> dict[str, dict]:
    """kind -> a context with every key and at least one element in every list, from an invented
    branch that has a bit of everything: the template check's reference."""
    inds = checklist.indicators
    b1 = Branch("XX-T01", "示例党支部", "示例党总支", K.BRANCH_TYPES[0], "张三", "0000-0000000")
    b2 = Branch("XX-T02", "示例第二党支部", "示例党总支", K.BRANCH_TYPES[1], "李四", "0000-0000001")
    rating = min((r for r in checklist.ratings if r.factor is not None), key=lambda r: r.factor).name  # deductions
    self_r = {i.code: rating for i in inds}
    rv = Review({inds[0].code: rating}, {inds[0].code: "意见"}, "达标", "意见", "王五", f"{settings.year}-12-01")
    params = Params.default(checklist, settings)
    score = score_branch(b1.code, checklist, params, self_r, rv.ratings, rv.ratings)
    score.veto_hits, score.rank, score.model, score.passed = [inds[0].code], 1, True, True
    day = dt.date(settings.year, 12, 1)
    br = BranchResult(b1, 1, 1, dt.datetime(settings.year, 12, 1), day, {"full_members": 10, "probationary_members": 1},
                      self_r, rv, rv, [Evidence(inds[0].code, "rule", "实际", "要求", FAIL, ("行",), "说明")],
                      [inds[0].code], [{"indicator": inds[0].code, "problem": "问题", "measure": "措施", "owner": "张三",
                                        "deadline": f"{settings.year}-12-31", "status": K.PROBLEM_STATUS[0]}], score)
    results = Results([br], [b2], 1, [b1.general], params)
    docs = plan(results, checklist, replace(settings, phase=BENCHMARK_PHASE), day)
    return {d.kind: d.context for d in docs}


def _docx_sources(tpl: DocxTemplate) -> tuple[str, str]:
    """(patched Jinja source, plain text of the tags as typed) of the body, headers, footers and
    document properties: everything docxtpl renders."""
    tpl.init_docx()
    parts = [tpl.get_xml()]
    for uri in (tpl.HEADER_URI, tpl.FOOTER_URI):
        parts += [tpl.get_part_xml(part) for _, part in tpl.get_headers_footers(uri)]
    cp = tpl.docx.core_properties
    props = [getattr(cp, p) or "" for p in ("author", "comments", "identifier", "language", "subject", "title")]
    source = "\n".join(re.sub(r"<w:p([ >])", r"\n<w:p\1", tpl.patch_xml(x)) for x in parts) + "\n" + "\n".join(props)
    text = "\n".join(
        "".join(re.findall(r"<w:t(?: [^>]*)?>([^<]*)</w:t>", p))
        for x in parts for p in re.findall(r"<w:p[ >].*?</w:p>", x, flags=re.S)) + "\n" + "\n".join(props)
    return source, html.unescape(text)


_DICT_METHODS = {"items", "keys", "values", "get"}
_LIST_FILTERS = {"sort", "reverse", "list", "unique", "selectattr", "rejectattr", "select", "reject", "batch", "slice"}


class _Unknown(Exception):
    def __init__(self, path: list[str], available: list[str]):
        self.path, self.available = path, available


def _resolve(node, scope: dict, ctx: dict):
    """The shape an expression evaluates to (LEAF when it cannot be known); raises _Unknown for a
    name or key that does not exist in the context."""
    if isinstance(node, nodes.Name):
        if node.name in scope:
            return scope[node.name]
        if node.name in ctx:
            return ctx[node.name]
        if node.name in ("loop", "range", "dict", "lipsum", "cycler", "joiner", "namespace", "true", "false", "none"):
            return LEAF
        raise _Unknown([node.name], sorted(ctx))
    if isinstance(node, (nodes.Getattr, nodes.Getitem)):
        base = _resolve(node.node, scope, ctx)
        key = node.attr if isinstance(node, nodes.Getattr) else \
            node.arg.value if isinstance(node.arg, nodes.Const) else None
        if isinstance(base, dict) and isinstance(key, str):
            if key in base:
                return base[key]
            if key in _DICT_METHODS:
                return LEAF
            raise _Unknown(_path(node), list(base))
        if isinstance(base, list) and isinstance(key, int):
            return base[0]
        _check_children(node, scope, ctx)
        return LEAF
    if isinstance(node, nodes.Filter) and node.name in _LIST_FILTERS and node.node is not None:
        _check_children(node, scope, ctx)
        return _resolve(node.node, scope, ctx)
    _check_children(node, scope, ctx)
    return LEAF


def _path(node) -> list[str]:
    if isinstance(node, nodes.Name):
        return [node.name]
    if isinstance(node, nodes.Getattr):
        return _path(node.node) + [node.attr]
    if isinstance(node, nodes.Getitem):
        arg = node.arg.value if isinstance(node.arg, nodes.Const) else "…"
        return _path(node.node) + [f"[{arg!r}]" if isinstance(arg, str) else f"[{arg}]"]
    return ["…"]


def _bind(target, shape, scope: dict) -> None:
    if isinstance(target, nodes.Name):
        scope[target.name] = shape
    else:
        for n in target.find_all(nodes.Name):
            scope[n.name] = LEAF


def _check_children(node, scope: dict, ctx: dict) -> None:
    for child in node.iter_child_nodes():
        _check(child, scope, ctx)


def _check(node, scope: dict, ctx: dict) -> None:
    """Walk a template, resolving every name and key against the context's shape."""
    if isinstance(node, nodes.For):
        it = _resolve(node.iter, scope, ctx)
        inner = dict(scope)
        _bind(node.target, it[0] if isinstance(it, list) else LEAF, inner)
        inner["loop"] = LEAF
        for child in (*node.body, *node.else_, *([node.test] if node.test else [])):
            _check(child, inner, ctx)
    elif isinstance(node, (nodes.Assign, nodes.AssignBlock)):
        if isinstance(node, nodes.Assign):
            _resolve(node.node, scope, ctx)
        else:
            for child in node.body:
                _check(child, scope, ctx)
        _bind(node.target, LEAF, scope)
    elif isinstance(node, (nodes.Macro, nodes.CallBlock)):
        inner = dict(scope)
        for arg in node.args:
            _bind(arg, LEAF, inner)
        inner.update(varargs=LEAF, kwargs=LEAF, caller=LEAF)
        for child in node.body:
            _check(child, inner, ctx)
        if isinstance(node, nodes.Macro):
            scope[node.name] = LEAF
    elif isinstance(node, nodes.With):
        inner = dict(scope)
        for target, value in zip(node.targets, node.values):
            _bind(target, _resolve(value, scope, ctx), inner)
        for child in node.body:
            _check(child, inner, ctx)
    elif isinstance(node, nodes.Expr):
        _resolve(node, scope, ctx)
    else:
        _check_children(node, scope, ctx)


def _tag_text(text: str, path: list[str]) -> str:
    """The tag as the clerk typed it, found in the template's text; else rebuilt from the path."""
    pattern = r"\b" + r"\s*".join(
        re.escape(p) if p.startswith("[") else (r"\.\s*" if i else "") + re.escape(p) + r"\b"
        for i, p in enumerate(path))
    for tag in re.findall(r"\{\{.*?\}\}|\{%.*?%\}", text, flags=re.S):
        if re.search(pattern, tag):
            return tag.strip()
    dotted = "".join(p if p.startswith("[") or i == 0 else f".{p}" for i, p in enumerate(path))
    return f"{{{{ {dotted} }}}}"


def _problem(name: str, source: str, text: str, ctx: dict, env: jinja2.Environment) -> str | None:
    try:
        tree = env.parse(source)
        env.compile(tree)  # unknown filters and tests show up here
    except jinja2.TemplateSyntaxError as exc:
        lines = source.splitlines()
        near = re.sub(r"<[^>]+>", "", lines[exc.lineno - 1]).strip() if exc.lineno and exc.lineno <= len(lines) else ""
        near = f"，出错处附近的文字：“{html.unescape(near)[:60]}”" if near else ""
        return f"{name}：标签写法有误（{exc.message}）{near}。请检查 {{{{ }}}} 与 {{% %}} 是否成对、完整"
    except jinja2.TemplateError as exc:
        return f"{name}：标签写法有误（{exc}）"
    try:
        _check(tree, {}, ctx)
    except _Unknown as exc:
        tag = _tag_text(text, exc.path)
        where = "、".join(exc.available)
        if len(exc.path) == 1:
            return f"{name}：标签“{tag}”中的“{exc.path[0]}”无法识别，可用的有：{where}"
        parent = "".join(p if p.startswith("[") or i == 0 else f".{p}" for i, p in enumerate(exc.path[:-1]))
        return f"{name}：标签“{tag}”中的“{exc.path[-1].strip('[]')}”无法识别，“{parent}”下可用的有：{where}"
    return None


def check_templates(templates_dir: Path | str, checklist: Checklist, settings: Settings,
                    kinds: Iterable[str] = KINDS) -> dict[str, Path]:
    """kind -> template path, after checking that every template exists, parses, and uses only
    names and keys its context has. Raises TemplateError listing every problem (nothing written)."""
    return _check_templates(Path(templates_dir), checklist, settings, tuple(kinds))[0]


def _check_templates(templates_dir: Path, checklist: Checklist, settings: Settings, kinds: tuple[str, ...],
                     known: dict[str, str] | None = None, known_shapes: str = "",
                     ) -> tuple[dict[str, Path], dict[str, str], str]:
    """(paths, sha-256 of each template, signature of the contexts' shapes). A template whose bytes
    passed against the same shapes before (known: kind -> sha, known_shapes) is not parsed again."""
    shapes = {k: _shape(c) for k, c in specimen(checklist, settings).items()}
    signature = hashlib.sha256(json.dumps([FORMAT, shapes], sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    known = known if known and known_shapes == signature else {}
    env, found, shas, problems, absent = _env(), {}, {}, [], []
    for kind in kinds:
        name = TEMPLATES[kind]
        path = templates_dir / name
        try:
            data = path.read_bytes()
        except OSError:
            absent.append(name)
            continue
        sha = hashlib.sha256(data).hexdigest()
        if known.get(kind) != sha:
            problem = _check_one(name, data, shapes[kind], env)
            if problem:
                problems.append(problem)
        found[kind], shas[kind] = path, sha
    if absent:
        problems.insert(0, f"找不到 Word 模板：{'、'.join(absent)}（应在 {templates_dir}）。运行 xlflow init 加上工作目录"
                           "可以补上缺少的模板，已有的文件不会被覆盖")
    if problems:
        raise TemplateError(f"Word 模板有 {len(problems)} 处问题，本次没有生成任何文书。请在 Word 中改正后重新运行：\n"
                            + "\n".join(problems))
    return found, shas, signature


def _check_one(name: str, data: bytes, shape: dict, env: jinja2.Environment) -> str | None:
    try:
        tpl = DocxTemplate(io.BytesIO(data))
        source, text = _docx_sources(tpl)
    except Exception as exc:  # not a zip, not a Word document…
        return f"{name}：文件无法打开（{type(exc).__name__}），可能已损坏或不是 Word 文档（.docx）"
    problem = _problem(name, source, text, shape, env)
    if problem is None:  # what docxtpl itself reports, as a second opinion
        unknown = sorted(tpl.get_undeclared_template_variables(env, context=dict.fromkeys(shape)))
        if unknown:
            problem = f"{name}：标签中的“{'、'.join(unknown)}”无法识别，可用的有：{'、'.join(shape)}"
    return problem


# ---- rendering -----------------------------------------------------------------------------------

_bytes_cache: dict[tuple[str, int, int], bytes] = {}


def _template_bytes(path: str) -> bytes:
    st = os.stat(path)
    key = (path, st.st_mtime_ns, st.st_size)
    data = _bytes_cache.get(key)
    if data is None:
        _bytes_cache.clear()  # a changed template replaces the old one
        data = _bytes_cache[key] = Path(path).read_bytes()
    return data


class _Template(DocxTemplate):
    """DocxTemplate whose XML clean-up (patch_xml: a few dozen regular expressions over the whole
    part) is done once per template part and process, not once per document."""

    _patched: dict[str, str] = {}

    def patch_xml(self, src_xml: str) -> str:
        got = self._patched.get(src_xml)
        if got is None:
            if len(self._patched) > 64:
                self._patched.clear()
            got = self._patched[src_xml] = super().patch_xml(src_xml)
        return got


def render(template: Path | str, context: dict, dest: Path | str) -> Path:
    """Render one document with docxtpl (autoescape) and write it atomically."""
    tpl = _Template(io.BytesIO(_template_bytes(str(template))))
    try:
        tpl.render(context, _env(), autoescape=True)
    except jinja2.TemplateError as exc:
        raise TemplateError(f"Word 模板“{Path(template).name}”生成“{Path(dest).name}”时出错：{exc}") from None
    with atomic_path(dest) as tmp:
        tpl.save(tmp)
    return Path(dest)


def _render_batch(jobs: list[tuple[str, dict, str]]) -> list[str]:
    """Render jobs; returns the destinations that could not be replaced (open elsewhere on Windows)."""
    locked = []
    for template, context, dest in jobs:
        try:
            render(template, context, dest)
        except PermissionError:
            locked.append(dest)
    return locked


def _digest(template_sha: str, context: dict) -> str:
    body = json.dumps(context, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{FORMAT}\0{template_sha}\0{body}".encode()).hexdigest()


def _read_manifest(path: Path) -> dict:
    """{"documents": {path: digest}, "checked": {kind: template sha}, "shapes": signature}; empty
    when there is none yet or it cannot be read (then everything is rendered again)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            return {}
        return {"documents": {str(k): str(v) for k, v in dict(data.get("documents") or {}).items()},
                "checked": {str(k): str(v) for k, v in dict(data.get("checked") or {}).items()},
                "shapes": str(data.get("shapes") or "")}
    except (OSError, ValueError, TypeError, AttributeError):
        return {}


def _write_manifest(path: Path, docs: dict[str, str], checked: dict[str, str], shapes: str) -> None:
    data = {"format": FORMAT, "note": "xlflow 记录：每份文书的内容摘要，用于只重新生成有变化的文书。请勿编辑。",
            "shapes": shapes, "checked": dict(sorted(checked.items())), "documents": dict(sorted(docs.items()))}
    atomic_write_bytes(path, json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8"))


def write_reports(results: Results, checklist: Checklist, settings: Settings, templates_dir: Path | str,
                  outdir: Path | str, workers: int | None = None, progress: Progress | None = None, *,
                  today: dt.date | None = None, force: bool = False, kinds: Iterable[str] = KINDS) -> ReportRun:
    """Render the documents whose template or content changed since the last run (all with force),
    remove those that no longer apply, and record what was written in outdir/.manifest.json.

    progress, if given, is called as progress(done, total) as documents are finished."""
    kinds = tuple(kinds)
    outdir = Path(outdir)
    manifest_path = outdir / MANIFEST
    stored = _read_manifest(manifest_path)
    old = stored.get("documents", {})
    # Raises before anything is written; a template is parsed again only if its bytes changed.
    paths, shas, shapes = _check_templates(Path(templates_dir), checklist, settings, kinds,
                                           None if force else stored.get("checked"), stored.get("shapes", ""))
    checked = {**{k: v for k, v in stored.get("checked", {}).items() if stored.get("shapes") == shapes}, **shas}
    docs = plan(results, checklist, settings, today, kinds)
    digests = {d.path: _digest(shas[d.kind], d.context) for d in docs}
    run = ReportRun()
    todo = []
    for d in docs:
        dest = outdir / d.path
        if not force and old.get(d.path) == digests[d.path] and dest.is_file():
            run.skipped.append(dest)
        else:
            todo.append(d)
    # Keep the entries of documents outside this run's kinds; drop those not planned any more.
    kind_of_folder = {folder: kind for kind, folder in FOLDERS.items()}

    def scoped(rel: str) -> bool:
        return kind_of_folder.get(rel.rpartition("/")[0]) in kinds

    manifest = {rel: h for rel, h in old.items() if not scoped(rel) or rel in digests}
    manifest.update((d.relative_to(outdir).as_posix(), digests[d.relative_to(outdir).as_posix()]) for d in run.skipped)
    try:
        _render(todo, paths, outdir, workers, progress, manifest, digests, run)
    finally:
        for rel in [r for r in old if scoped(r) and r not in digests]:
            stale = outdir / rel
            try:
                if stale.is_file():
                    stale.unlink()
                    run.removed.append(stale)
                manifest.pop(rel, None)
            except PermissionError:  # open in Word: removed next time
                run.locked.append(stale)
        _write_manifest(manifest_path, manifest, checked, shapes)
    return run


def _render(todo: list[Doc], paths: dict[str, Path], outdir: Path, workers: int | None, progress: Progress | None,
            manifest: dict[str, str], digests: dict[str, str], run: ReportRun) -> None:
    total = len(todo)
    jobs = [(str(paths[d.kind]), d.context, str(outdir / d.path)) for d in todo]
    workers = workers or os.cpu_count() or 1

    def finished(batch: list[tuple[str, dict, str]], locked: list[str]) -> None:
        for _, _, dest in batch:
            if dest in locked:
                run.locked.append(Path(dest))
                continue
            rel = Path(dest).relative_to(outdir).as_posix()
            manifest[rel] = digests[rel]
            run.written.append(Path(dest))
        if progress:
            progress(len(batch), total)

    if workers > 1 and total >= 16:
        size = max(1, min(16, total // (workers * 4)))
        batches = [jobs[i:i + size] for i in range(0, total, size)]
        with ProcessPoolExecutor(min(workers, len(batches))) as pool:
            futures = {pool.submit(_render_batch, b): b for b in batches}
            for fut in as_completed(futures):
                finished(futures[fut], fut.result())
    else:
        for job in jobs:
            finished([job], _render_batch([job]))

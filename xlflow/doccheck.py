"""stage: Word templates + specimen contexts → the tags a clerk's edit broke

Templates are .docx files in the working folder's templates/ (built by scripts/make_docx_templates.py,
editable in Word/WPS). Before anything is written, every template is checked against the context it
will get: the specimen, a context of every kind built by documents.plan from an invented branch
that has a bit of everything. Every tag must name something that exists (a clerk's typo such as
{{ branch.nmae }} stops the run with a message naming the template and the tag); the Jinja AST is
walked against the shape of the specimen, and docxtpl's own list of undeclared names is a second
opinion. The Jinja environment here is the one reports.py renders with.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import io
import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Iterable

import jinja2
from docxtpl import DocxTemplate
from jinja2 import nodes

from xlflow import constants as K
from xlflow import messages as M
from xlflow.campaign import Campaign
from xlflow.chain import Decision, Facts, Standing
from xlflow.documents import BENCHMARK_PHASE, FORMAT, KINDS, TEMPLATES, plan
from xlflow.errors import TemplateError
from xlflow.evidence import FAIL, Evidence
from xlflow.results import BranchResult, Results, Review
from xlflow.roster import Branch
from xlflow.scoring import Params, score_branch


class _Env(jinja2.Environment):
    """docxtpl compiles the template's XML on every render; a run renders the same few templates
    hundreds of times, so compiled templates are kept (per process) by their source. With
    docxtpl's patched XML kept too, this saved 64% of the CPU of rendering the Word templates
    (bench/tricks_bench.py); reports._Compiled now keeps both per template, and this cache serves
    the checks and reports.py's docxtpl fallback."""

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


def environment() -> jinja2.Environment:
    """The Jinja environment of the check and of reports.render: autoescape, unknown names fail."""
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


def specimen(campaign: Campaign) -> dict[str, dict]:
    """kind -> a context with every key and at least one element in every list, from an invented
    branch that has a bit of everything: the template check's reference."""
    checklist, settings = campaign.checklist, campaign.settings
    inds = checklist.indicators
    b1 = Branch("XX-T01", "示例党支部", "示例党总支", K.BRANCH_TYPES[0], "张三", "0000-0000000")
    b2 = Branch("XX-T02", "示例第二党支部", "示例党总支", K.BRANCH_TYPES[1], "李四", "0000-0000001")
    rating = min((r for r in checklist.ratings if r.factor is not None), key=lambda r: r.factor).name  # deductions
    self_r = {i.code: rating for i in inds}
    rv = Review({inds[0].code: rating}, {inds[0].code: "意见"}, "达标", "意见", "王五", f"{settings.year}-12-01")
    params = Params.default(campaign)
    score = score_branch(b1.code, checklist, params, self_r, rv.ratings, rv.ratings)
    score.veto_hits, score.rank, score.model, score.passed = [inds[0].code], 1, True, True
    day = dt.date(settings.year, 12, 1)
    br = BranchResult(b1, 1, 1, dt.datetime(settings.year, 12, 1), day, {"full_members": 10, "probationary_members": 1},
                      self_r, rv, rv, [Evidence(inds[0].code, "rule", "实际", "要求", FAIL, ("行",), "说明")],
                      [inds[0].code], [{"indicator": inds[0].code, "problem": "问题", "measure": "措施", "owner": "张三",
                                        "deadline": f"{settings.year}-12-31", "status": K.PROBLEM_STATUS[0]}], score)
    br.standing = Standing(b1.code, K.STAGE_RECOGNIZED, "认定达标", put_forward=True, recognized=True, model=True,
                           decided_on=day, meeting="党委会议", note="备注")
    facts = Facts(decision=Decision("党委会议", day, {b1.code: (K.DECISION_CHOICES[0], True, "备注")}))
    where = {b1.code: br.standing, b2.code: Standing(b2.code, K.STAGE_MISSING, "尚未报送填报表")}
    every = Campaign(checklist, replace(settings, phase=BENCHMARK_PHASE), (b1, b2))  # every kind is planned
    results = Results(every, [br], [b2], 1, [b1.general], params, where, facts, day, {settings.year - 1: where})
    docs = plan(results, day)
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
        near = M.TEMPLATE_NEAR.format(text=html.unescape(near)[:60]) if near else ""
        return M.TEMPLATE_SYNTAX.format(name=name, detail=exc.message, near=near)
    except jinja2.TemplateError as exc:
        return M.TEMPLATE_BAD_TAG.format(name=name, detail=exc)
    try:
        _check(tree, {}, ctx)
    except _Unknown as exc:
        tag = _tag_text(text, exc.path)
        where = "、".join(exc.available)
        if len(exc.path) == 1:
            return M.TEMPLATE_UNKNOWN.format(name=name, tag=tag, key=exc.path[0], available=where)
        parent = "".join(p if p.startswith("[") or i == 0 else f".{p}" for i, p in enumerate(exc.path[:-1]))
        return M.TEMPLATE_UNKNOWN_UNDER.format(name=name, tag=tag, key=exc.path[-1].strip("[]"), parent=parent,
                                               available=where)
    return None


def check_templates(templates_dir: Path | str, campaign: Campaign, kinds: Iterable[str] = KINDS) -> dict[str, Path]:
    """kind -> template path, after checking that every template exists, parses, and uses only
    names and keys its context has. Raises TemplateError listing every problem (nothing written)."""
    return check_changed_templates(Path(templates_dir), campaign, tuple(kinds))[0]


def check_changed_templates(templates_dir: Path, campaign: Campaign, kinds: tuple[str, ...],
                            known: dict[str, str] | None = None, known_shapes: str = "",
                            ) -> tuple[dict[str, Path], dict[str, str], str]:
    """(paths, sha-256 of each template, signature of the contexts' shapes). A template whose bytes
    passed against the same shapes before (known: kind -> sha, known_shapes) is not parsed again."""
    shapes = {k: _shape(c) for k, c in specimen(campaign).items()}
    signature = hashlib.sha256(json.dumps([FORMAT, shapes], sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    known = known if known and known_shapes == signature else {}
    env, found, shas, problems, absent = environment(), {}, {}, [], []
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
        problems.insert(0, M.TEMPLATE_MISSING.format(names="、".join(absent), folder=templates_dir))
    if problems:
        raise TemplateError(M.TEMPLATE_PROBLEMS.format(count=len(problems)) + "\n".join(problems))
    return found, shas, signature


def _check_one(name: str, data: bytes, shape: dict, env: jinja2.Environment) -> str | None:
    try:
        tpl = DocxTemplate(io.BytesIO(data))
        source, text = _docx_sources(tpl)
    except Exception as exc:  # not a zip, not a Word document…
        return M.TEMPLATE_UNOPENABLE.format(name=name, kind=type(exc).__name__)
    problem = _problem(name, source, text, shape, env)
    if problem is None:  # what docxtpl itself reports, as a second opinion
        unknown = sorted(tpl.get_undeclared_template_variables(env, context=dict.fromkeys(shape)))
        if unknown:
            problem = M.TEMPLATE_UNKNOWN_NAMES.format(name=name, keys="、".join(unknown), available="、".join(shape))
    return problem

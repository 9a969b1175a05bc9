"""stage: templates/checklist.yaml → Checklist (dataclasses).

The checklist is the single source of the campaign: indicators, categories, points, ratings,
grades, veto indicators and evidence rules. A broken edit is rejected with a Chinese message
that names the line of the file, so the clerk who edited it can find the mistake.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from xlflow import messages as M
from xlflow.constants import ACTIVITY_TYPES
from xlflow.errors import ChecklistError

PERIODS = ("month", "quarter", "half", "year")
CONDITIONS = ("committee", "groups")
PASS_GRADE = "达标"  # the grade whose lowest score is the pass line


@dataclass(frozen=True)
class RuleType:
    """An evidence rule type: the name a person reads (the master, the 建设要点 sheet) and the
    parameters a checklist rule of this type takes (name -> required?)."""

    name: str
    params: dict[str, bool]


# The one table of evidence rule types. Adding a type: a row here and its judge in evidence.RULES
# (tests/test_evidence.py keeps the two in step); the checklist check, the master and the
# documents all read this table.
RULE_TYPES: dict[str, RuleType] = {
    "min_full_members": RuleType("正式党员人数", {"min": True}),
    "committee": RuleType("支委会设置", {"threshold": True, "min": True, "usual_max": True, "max": True, "odd": True}),
    "branch_size": RuleType("党员规模与党小组", {"usual_max": True}),
    "term": RuleType("按期换届", {"years": True}),
    "secretary_training": RuleType("书记轮训", {"per_year": True}),
    "venue": RuleType("活动场所", {}),
    "frequency": RuleType("活动频次", {"activity": True, "per": True, "min": True, "when": False}),
    "secretary_lecture": RuleType("书记讲党课", {"per_year": True}),
    "activist_reports": RuleType("积极分子思想汇报", {"per": True, "min": True}),
    "study_hours": RuleType("学习学时", {"min": True}),
    "dues": RuleType("按月缴纳党费", {}),
    "activist_review": RuleType("积极分子考察", {"months": True}),
    "org_life_gap": RuleType("参加组织生活", {"months": True}),
}
RULE_NAMES: dict[str, str] = {k: t.name for k, t in RULE_TYPES.items()}


@dataclass(frozen=True)
class Rule:
    type: str
    params: tuple[tuple[str, object], ...] = ()

    def get(self, key: str, default=None):
        return dict(self.params).get(key, default)


@dataclass(frozen=True)
class Indicator:
    code: str
    category: str  # category code
    seq: int
    short: str
    text: str
    points: float
    rules: tuple[Rule, ...] = ()
    veto: bool = False


@dataclass(frozen=True)
class Category:
    code: str
    name: str
    short: str
    weight: float
    indicators: tuple[Indicator, ...]


@dataclass(frozen=True)
class Rating:
    name: str
    factor: float | None  # None: not applicable, the indicator is taken out of its category


@dataclass(frozen=True)
class Grade:
    name: str
    min: float


@dataclass(frozen=True)
class Checklist:
    version: str
    title: str
    ratings: tuple[Rating, ...]
    pass_line: float
    grades: tuple[Grade, ...]
    veto: tuple[str, ...]
    categories: tuple[Category, ...]
    fingerprint: str = field(default="", compare=False)

    @property
    def indicators(self) -> list[Indicator]:
        return [i for c in self.categories for i in c.indicators]

    def indicator(self, code: str) -> Indicator:
        return self._by_code[code]

    def category(self, code: str) -> Category:
        return next(c for c in self.categories if c.code == code)

    @functools.cached_property  # the checklist is frozen: build the lookup once, not per call
    def _by_code(self) -> dict[str, Indicator]:
        return {i.code: i for i in self.indicators}

    @property
    def rating_names(self) -> list[str]:
        return [r.name for r in self.ratings]

    @property
    def below_full(self) -> list[str]:
        """The ratings under the first (full) one that still count (not 不适用): a self-rating of one of
        these asks for the problem and its measures in 问题清单 (validate's V242, the guide)."""
        return [r.name for r in self.ratings[1:] if r.factor is not None]

    def factor(self, rating: str) -> float | None:
        return next(r.factor for r in self.ratings if r.name == rating)


class _LineLoader(yaml.SafeLoader):
    """A safe loader whose mappings remember the line they start on (for messages)."""


class _Map(dict):
    line = 0


def _construct_map(loader, node):
    m = _Map(loader.construct_mapping(node, deep=True))
    m.line = node.start_mark.line + 1
    return m


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)


class _Problems:
    def __init__(self, path: Path):
        self.path = path
        self.lines: list[str] = []

    def add(self, node, text: str) -> None:
        line = getattr(node, "line", 0)
        where = M.CHECKLIST_AT_LINE.format(line=line) if line else ""
        self.lines.append(f"{where}{text}")

    def raise_if_any(self) -> None:
        if self.lines:
            head = M.CHECKLIST_PROBLEMS.format(file=self.path.name, count=len(self.lines))
            raise ChecklistError(head + "\n".join(self.lines))


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def load_checklist(path: Path | str) -> Checklist:
    path = Path(path)
    if not path.is_file():
        raise ChecklistError(M.CHECKLIST_NOT_FOUND.format(path=path))
    raw_text = path.read_text(encoding="utf-8")
    try:
        doc = yaml.load(raw_text, Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = M.CHECKLIST_NEAR_LINE.format(line=mark.line + 1) if mark else M.SOMEWHERE
        raise ChecklistError(M.CHECKLIST_SYNTAX.format(file=path.name, where=where)) from None
    if not isinstance(doc, dict):
        raise ChecklistError(M.CHECKLIST_EMPTY.format(file=path.name))
    return _build(doc, path)


def _build(doc: dict, path: Path) -> Checklist:
    p = _Problems(path)
    for key in ("version", "title", "ratings", "pass_line", "grades", "categories"):
        if doc.get(key) in (None, "", []):
            p.add(doc, M.CHECKLIST_MISSING_KEY.format(key=key))
    p.raise_if_any()

    ratings = []
    for r in doc["ratings"]:
        factor = r.get("factor")
        if not r.get("name"):
            p.add(r, M.CHECKLIST_RATING_NO_NAME)
        elif factor is not None and not (_number(factor) and 0 <= factor <= 1):
            p.add(r, M.CHECKLIST_RATING_FACTOR.format(name=r["name"]))
        ratings.append(Rating(str(r.get("name", "")), None if factor is None else float(factor)))

    pass_line = doc["pass_line"]
    if not (_number(pass_line) and 0 < pass_line <= 100):
        p.add(doc, M.CHECKLIST_PASS_LINE)
    grades = [Grade(str(g.get("name", "")), g.get("min")) for g in doc["grades"]]
    mins = [g.min for g in grades]
    if not all(_number(m) for m in mins) or mins != sorted(mins, reverse=True):
        p.add(doc["grades"][0], M.CHECKLIST_GRADE_ORDER)
    elif not any(g.name == PASS_GRADE and g.min == pass_line for g in grades):
        p.add(doc["grades"][0], M.CHECKLIST_PASS_GRADE.format(grade=PASS_GRADE, pass_line=pass_line))

    categories, seen, total = [], {}, 0.0
    for c in doc["categories"]:
        ccode, cname = c.get("code"), c.get("name")
        if not ccode or not cname:
            p.add(c, M.CHECKLIST_CATEGORY_NO_CODE)
            continue
        weight = c.get("weight")
        if not _number(weight):
            p.add(c, M.CHECKLIST_CATEGORY_WEIGHT.format(name=cname))
            weight = 0
        total += weight
        inds = []
        for i in c.get("indicators") or []:
            ind = _indicator(i, ccode, p, seen)
            if ind:
                inds.append(ind)
        if not inds:
            p.add(c, M.CHECKLIST_CATEGORY_EMPTY.format(name=cname))
        points = sum(i.points for i in inds)
        if inds and not math.isclose(points, weight, abs_tol=1e-9):
            p.add(c, M.CHECKLIST_CATEGORY_POINTS.format(name=cname, points=points, weight=weight))
        categories.append(Category(ccode, cname, str(c.get("short") or cname), float(weight), tuple(inds)))
    if not math.isclose(total, 100, abs_tol=1e-9):
        p.add(doc, M.CHECKLIST_WEIGHTS.format(count=len(categories), total=total))

    veto = [str(v) for v in doc.get("veto") or []]
    for v in veto:
        if v not in seen:
            p.add(doc, M.CHECKLIST_VETO_UNKNOWN.format(code=v))
    p.raise_if_any()

    categories = [
        Category(c.code, c.name, c.short, c.weight, tuple(_with_veto(i, veto) for i in c.indicators))
        for c in categories
    ]
    canonical = json.dumps({k: doc[k] for k in sorted(doc)}, ensure_ascii=False, sort_keys=True, default=str)
    return Checklist(
        version=str(doc["version"]),
        title=str(doc["title"]),
        ratings=tuple(ratings),
        pass_line=float(pass_line),
        grades=tuple(Grade(g.name, float(g.min)) for g in grades),
        veto=tuple(veto),
        categories=tuple(categories),
        fingerprint=hashlib.sha256(canonical.encode()).hexdigest()[:12],
    )


def _with_veto(ind: Indicator, veto: list[str]) -> Indicator:
    return Indicator(ind.code, ind.category, ind.seq, ind.short, ind.text, ind.points, ind.rules, ind.code in veto)


def _indicator(i: dict, ccode: str, p: _Problems, seen: dict) -> Indicator | None:
    code = i.get("code")
    if not code:
        p.add(i, M.CHECKLIST_INDICATOR_NO_CODE)
        return None
    code = str(code)
    if code in seen:
        p.add(i, M.CHECKLIST_INDICATOR_TWICE.format(code=code, line=seen[code]))
        return None
    seen[code] = i.line
    if not str(i.get("text") or "").strip():
        p.add(i, M.CHECKLIST_INDICATOR_NO_TEXT.format(code=code))
    points = i.get("points")
    if not (_number(points) and points > 0):
        p.add(i, M.CHECKLIST_INDICATOR_POINTS.format(code=code))
        points = 0
    rules = []
    for r in i.get("rules") or []:
        rule = _rule(r, code, p)
        if rule:
            rules.append(rule)
    return Indicator(code, ccode, int(i.get("seq") or 0), str(i.get("short") or code),
                     str(i.get("text") or "").strip(), float(points), tuple(rules))


def _rule(r: dict, code: str, p: _Problems) -> Rule | None:
    kind = r.get("type")
    if kind not in RULE_TYPES:
        p.add(r, M.CHECKLIST_RULE_UNKNOWN.format(code=code, kind=kind, kinds="、".join(RULE_TYPES)))
        return None
    spec = RULE_TYPES[kind].params
    params = {k: v for k, v in r.items() if k != "type"}
    for key, required in spec.items():
        if required and key not in params:
            p.add(r, M.CHECKLIST_RULE_MISSING.format(code=code, kind=kind, key=key))
    for key in params:
        if key not in spec:
            p.add(r, M.CHECKLIST_RULE_EXTRA.format(code=code, kind=kind, key=key))
    if "activity" in params and params["activity"] not in ACTIVITY_TYPES:
        p.add(r, M.CHECKLIST_RULE_ACTIVITY.format(code=code, value=params["activity"], choices="、".join(ACTIVITY_TYPES)))
    if "per" in params and params["per"] not in PERIODS:
        p.add(r, M.CHECKLIST_RULE_PER.format(code=code, value=params["per"], choices="、".join(PERIODS)))
    if params.get("when") not in (None, *CONDITIONS):
        p.add(r, M.CHECKLIST_RULE_WHEN.format(code=code, value=params["when"], choices="、".join(CONDITIONS)))
    return Rule(kind, tuple(sorted(params.items())))

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

from xlflow.constants import ACTIVITY_TYPES
from xlflow.errors import ChecklistError

PERIODS = ("month", "quarter", "half", "year")
CONDITIONS = ("committee", "groups")

# Evidence rule types: the name a person reads, and the parameters each needs (name -> required?).
# evidence.RULES has one judge per type (a test keeps the two in step); the master and documents
# name a rule by RULE_NAMES.
_RULES: dict[str, tuple[str, dict[str, bool]]] = {
    "min_full_members": ("正式党员人数", {"min": True}),
    "committee": ("支委会设置", {"threshold": True, "min": True, "usual_max": True, "max": True, "odd": True}),
    "branch_size": ("党员规模与党小组", {"usual_max": True}),
    "term": ("按期换届", {"years": True}),
    "secretary_training": ("书记轮训", {"per_year": True}),
    "venue": ("活动场所", {}),
    "frequency": ("活动频次", {"activity": True, "per": True, "min": True, "when": False}),
    "secretary_lecture": ("书记讲党课", {"per_year": True}),
    "activist_reports": ("积极分子思想汇报", {"per": True, "min": True}),
    "study_hours": ("学习学时", {"min": True}),
    "dues": ("按月缴纳党费", {}),
    "activist_review": ("积极分子考察", {"months": True}),
    "org_life_gap": ("参加组织生活", {"months": True}),
}
RULE_TYPES: dict[str, dict[str, bool]] = {k: spec for k, (_, spec) in _RULES.items()}
RULE_NAMES: dict[str, str] = {k: name for k, (name, _) in _RULES.items()}


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
        where = f"第 {line} 行：" if line else ""
        self.lines.append(f"{where}{text}")

    def raise_if_any(self) -> None:
        if self.lines:
            head = f"指标清单“{self.path.name}”有 {len(self.lines)} 处问题，请修改后重新运行：\n"
            raise ChecklistError(head + "\n".join(self.lines))


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def load_checklist(path: Path | str) -> Checklist:
    path = Path(path)
    if not path.is_file():
        raise ChecklistError(f"找不到指标清单文件：{path}")
    raw_text = path.read_text(encoding="utf-8")
    try:
        doc = yaml.load(raw_text, Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行附近" if mark else "某处"
        raise ChecklistError(f"指标清单“{path.name}”{where}格式有误（缩进、冒号或引号），无法读取。") from None
    if not isinstance(doc, dict):
        raise ChecklistError(f"指标清单“{path.name}”内容为空或格式不对。")
    return _build(doc, path)


def _build(doc: dict, path: Path) -> Checklist:
    p = _Problems(path)
    for key in ("version", "title", "ratings", "pass_line", "grades", "categories"):
        if doc.get(key) in (None, "", []):
            p.add(doc, f"缺少“{key}”。")
    p.raise_if_any()

    ratings = []
    for r in doc["ratings"]:
        factor = r.get("factor")
        if not r.get("name"):
            p.add(r, "等次缺少名称（name）。")
        elif factor is not None and not (_number(factor) and 0 <= factor <= 1):
            p.add(r, f"等次“{r['name']}”的系数（factor）应为 0 到 1 之间的数，或留空表示不适用。")
        ratings.append(Rating(str(r.get("name", "")), None if factor is None else float(factor)))

    pass_line = doc["pass_line"]
    if not (_number(pass_line) and 0 < pass_line <= 100):
        p.add(doc, "达标分数线（pass_line）应为 0 到 100 之间的数。")
    grades = [Grade(str(g.get("name", "")), g.get("min")) for g in doc["grades"]]
    mins = [g.min for g in grades]
    if not all(_number(m) for m in mins) or mins != sorted(mins, reverse=True):
        p.add(doc["grades"][0], "等次（grades）应从高到低排列，每个等次的最低分（min）为数字。")
    elif not any(g.name == "达标" and g.min == pass_line for g in grades):
        p.add(doc["grades"][0], f"等次“达标”的最低分应与达标分数线（pass_line: {pass_line}）一致。")

    categories, seen, total = [], {}, 0.0
    for c in doc["categories"]:
        ccode, cname = c.get("code"), c.get("name")
        if not ccode or not cname:
            p.add(c, "建设内容类别缺少编码（code）或名称（name）。")
            continue
        weight = c.get("weight")
        if not _number(weight):
            p.add(c, f"类别“{cname}”的权重（weight）应为数字。")
            weight = 0
        total += weight
        inds = []
        for i in c.get("indicators") or []:
            ind = _indicator(i, ccode, p, seen)
            if ind:
                inds.append(ind)
        if not inds:
            p.add(c, f"类别“{cname}”没有指标。")
        points = sum(i.points for i in inds)
        if inds and not math.isclose(points, weight, abs_tol=1e-9):
            p.add(c, f"类别“{cname}”各指标分值合计 {points:g}，与类别权重 {weight:g} 不一致。")
        categories.append(Category(ccode, cname, str(c.get("short") or cname), float(weight), tuple(inds)))
    if not math.isclose(total, 100, abs_tol=1e-9):
        p.add(doc, f"{len(categories)} 个类别的权重合计为 {total:g}，应为 100。")

    veto = [str(v) for v in doc.get("veto") or []]
    for v in veto:
        if v not in seen:
            p.add(doc, f"否决项（veto）中的指标编码“{v}”在清单中不存在。")
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
        p.add(i, "指标缺少编码（code）。")
        return None
    code = str(code)
    if code in seen:
        p.add(i, f"指标编码“{code}”重复（第 {seen[code]} 行已使用）。")
        return None
    seen[code] = i.line
    if not str(i.get("text") or "").strip():
        p.add(i, f"指标“{code}”缺少具体指标内容（text）。")
    points = i.get("points")
    if not (_number(points) and points > 0):
        p.add(i, f"指标“{code}”的分值（points）应为大于 0 的数。")
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
        p.add(r, f"指标“{code}”的证据规则类型“{kind}”无法识别，可用的类型：{'、'.join(RULE_TYPES)}。")
        return None
    spec = RULE_TYPES[kind]
    params = {k: v for k, v in r.items() if k != "type"}
    for key, required in spec.items():
        if required and key not in params:
            p.add(r, f"指标“{code}”的证据规则“{kind}”缺少参数“{key}”。")
    for key in params:
        if key not in spec:
            p.add(r, f"指标“{code}”的证据规则“{kind}”有无法识别的参数“{key}”。")
    if "activity" in params and params["activity"] not in ACTIVITY_TYPES:
        p.add(r, f"指标“{code}”的活动类型“{params['activity']}”不在可选项中：{'、'.join(ACTIVITY_TYPES)}。")
    if "per" in params and params["per"] not in PERIODS:
        p.add(r, f"指标“{code}”的频次“{params['per']}”无法识别，可用：{'、'.join(PERIODS)}。")
    if params.get("when") not in (None, *CONDITIONS):
        p.add(r, f"指标“{code}”的条件“{params['when']}”无法识别，可用：{'、'.join(CONDITIONS)}。")
    return Rule(kind, tuple(sorted(params.items())))

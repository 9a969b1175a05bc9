"""stage: ledger + roster → where the campaign stands, per 党总支 (for `xlflow status` and the demo).

Expected is the roster. Each branch's stage comes from the acceptance chain (chain.py): returns
(已收 / 退回待改 / 未报), then 初验, 复验 and the committee's 认定; a 总支's 初验 is overdue once its
deadline has passed with branches still waiting, and a rectification (整改后再验) once its own
deadline has.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from xlflow import constants as K
from xlflow import ledger
from xlflow.chain import Standing, history_standings, load_facts, standings
from xlflow.intake import is_ignored
from xlflow.rectify import RectifyItem, rectify_items
from xlflow.ledger import ledger_root
from xlflow.register import year_marks
from xlflow.roster import Branch
from xlflow.settings import Settings
from xlflow.sheetstyle import display_width

RETURNED = set(K.STAGES) - {K.STAGE_MISSING, K.STAGE_REJECTED}
RECTIFYING = (K.STAGE_FIRST_RECTIFY, K.STAGE_SECOND_RECTIFY, K.STAGE_FIRST_RECHECK, K.STAGE_SECOND_RECHECK)
AWAIT_FIRST = (K.STAGE_AWAIT_FIRST, K.STAGE_FIRST_RECHECK)
AWAIT_SECOND = (K.STAGE_AWAIT_SECOND, K.STAGE_SECOND_RECHECK)


@dataclass
class GeneralStatus:
    general: str
    expected: int = 0
    accepted: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # branch names awaiting a corrected file
    missing: list[str] = field(default_factory=list)
    stages: Counter = field(default_factory=Counter)
    first_returned: bool = False  # the 总支 returned its 初验 workbook
    first_overdue: list[str] = field(default_factory=list)  # waiting for 初验 past its deadline
    overdue: list[str] = field(default_factory=list)  # rectifications past their deadline
    recheck: list[str] = field(default_factory=list)  # corrected after 整改后再验, waiting for 再验
    rectify: list[str] = field(default_factory=list)  # 整顿转化: not 认定 last year, not yet this year either
    rectify_total: int = 0  # on the 整顿 list (not 认定 last year)
    rectify_done: int = 0  # of them, 认定 this year
    rectify_overdue: list[str] = field(default_factory=list)  # 完成期限 passed, not 认定


def campaign_status(conn, branches: list[Branch], settings: Settings | None = None,
                    today: dt.date | None = None, root: Path | None = None) -> list[GeneralStatus]:
    """root: the working folder, whose history/ holds the earlier years (default: the ledger's folder)."""
    settings, today = settings or Settings(), today or dt.date.today()
    facts = load_facts(conn, settings.year)
    where = standings(facts, [b.code for b in branches], today)
    root = root or ledger_root(conn)
    earlier = history_standings(root) if root else {}
    items = rectify_items(branches, settings.year, where, earlier, year_marks(root) if root else {}, facts.rectify,
                          today)
    return summarize(branches, where, facts.first_units, settings, today, items)


def _plan_text(it: RectifyItem) -> str:
    if not it.plan:
        return "待制定整顿措施"
    plan = it.plan if len(it.plan) <= 30 else it.plan[:29] + "…"
    return f"整顿措施：{plan}，责任人：{it.owner}，完成期限：{it.deadline:%Y-%m-%d}"


def summarize(branches: list[Branch], where: dict[str, Standing], first_units: set[str], settings: Settings,
              today: dt.date, items: list[RectifyItem] = ()) -> list[GeneralStatus]:
    out: dict[str, GeneralStatus] = {}
    late = today > settings.first_review_deadline
    for b in branches:
        s = out.setdefault(b.general, GeneralStatus(b.general, first_returned=b.general in first_units))
        st = where[b.code]
        s.expected += 1
        s.stages[st.stage] += 1
        {K.STAGE_MISSING: s.missing, K.STAGE_REJECTED: s.rejected}.get(st.stage, s.accepted).append(b.name)
        if late and st.stage in AWAIT_FIRST:
            s.first_overdue.append(b.name)
        if st.overdue:
            s.overdue.append(f"{b.name}（{st.stage}，整改期限 {st.deadline:%Y-%m-%d}）")
        if st.recheck:
            s.recheck.append(f"{b.name}（{st.stage}）")
    for it in items:  # 整顿转化: tracked until the branch is 认定 this year
        s = out[it.branch.general]
        s.rectify_total += 1
        s.rectify_done += it.done
        if not it.done:
            s.rectify.append(f"{it.branch.name}（{it.what_failed}；{_plan_text(it)}；今年：{it.now.stage}）")
        if it.overdue:
            s.rectify_overdue.append(f"{it.branch.name}（完成期限 {it.deadline:%Y-%m-%d}，责任人 {it.owner}，"
                                     f"今年：{it.now.stage}）")
    return list(out.values())


def unidentified(conn) -> list[tuple[str, str]]:
    """Rejected files that could not be tied to a branch: (file name, first message)."""
    return ledger.unidentified_rejections(conn)


def _pad(text: str, width: int) -> str:
    """Left-align for a terminal, where a Chinese character takes two columns."""
    return text + " " * max(0, width - display_width(text))


def _right(text: str, width: int) -> str:
    return " " * max(0, width - display_width(text)) + text


HEADS = ("应报", "已收", "退回待改", "未报", "初验", "待复验", "整改中", "待认定", "认定达标")


def _first_cell(s: GeneralStatus) -> str:
    if s.first_overdue:
        return "逾期"
    waiting = s.stages[K.STAGE_AWAIT_FIRST] + s.stages[K.STAGE_FIRST_RECHECK]
    return "已交" if s.first_returned and not waiting else ("部分" if s.first_returned else "未交")


def _counts(s: GeneralStatus) -> list[int]:
    return [s.expected, len(s.accepted), len(s.rejected), len(s.missing), sum(s.stages[k] for k in AWAIT_SECOND),
            sum(s.stages[k] for k in RECTIFYING), s.stages[K.STAGE_AWAIT_DECISION], s.stages[K.STAGE_RECOGNIZED]]


def format_status(rows: list[GeneralStatus], list_missing: bool = True) -> str:
    def line(name, counts, first):
        cells = [str(c) for c in counts]
        cells.insert(4, first)
        return _pad(name, 22) + "".join(_right(c, 9) for c in cells)

    lines = [_pad("党总支", 22) + "".join(_right(h, 9) for h in HEADS)]
    for s in rows:
        lines.append(line(s.general, _counts(s), _first_cell(s)))
    total = [sum(x) for x in zip(*[_counts(s) for s in rows])] or [0] * 8
    done = sum(1 for s in rows if s.first_returned)
    lines.append(line("合计", total, f"{done}/{len(rows)}"))
    if total[0]:
        lines.append(f"全部达标进度：经学院党委认定达标 {total[-1]} 个 / 全院 {total[0]} 个党支部（{total[-1] / total[0]:.0%}）")
    listed = sum(s.rectify_total for s in rows)
    if listed:
        done = sum(s.rectify_done for s in rows)
        late = sum(len(s.rectify_overdue) for s in rows)
        lines.append(f"整顿转化：上年度未认定达标的 {listed} 个党支部中，本年度已认定达标 {done} 个，整顿中 {listed - done} 个"
                     + (f"（其中逾期 {late} 个）" if late else ""))
    for s in rows:
        if s.rectify and not list_missing:
            lines.append(f"{s.general} {_rectify_label(s)}：{'、'.join(s.rectify)}")
    if list_missing:
        for s in rows:
            for label, names in (("退回待改（已报送但被退回，待修改后重新报送）", s.rejected), ("未报", s.missing),
                                 ("初验逾期", s.first_overdue), ("整改逾期", s.overdue), ("待再验", s.recheck),
                                 (_rectify_label(s), s.rectify), ("整顿逾期", s.rectify_overdue)):
                if names:
                    lines.append(f"{s.general} {label}：{'、'.join(names)}")
    return "\n".join(lines)


def _rectify_label(s: GeneralStatus) -> str:
    return f"整顿转化（上年度未认定达标 {s.rectify_total} 个，已认定 {s.rectify_done} 个）"


# ---- files in inbox/ not processed yet (for `xlflow status` and `xlflow watch`) ----
# Names a browser or download tool gives a file until it is complete; intake ignores them until renamed.
PARTIAL_SUFFIXES = (".part", ".partial", ".crdownload", ".download", ".downloading", ".xltd")


def inbox_waiting(inbox: Path) -> tuple[list[str], list[str]]:
    """(files waiting for the next pass, partial downloads or copies that are not complete yet)."""
    if not inbox.is_dir():
        return [], []
    files = sorted(p.name for p in inbox.iterdir() if p.is_file())
    partial = [n for n in files if n.lower().endswith(PARTIAL_SUFFIXES)]
    return [n for n in files if not is_ignored(n)], partial


def format_waiting(pending: list[str], partial: list[str]) -> list[str]:
    lines = []
    if pending:
        lines.append(f"收件箱中有 {len(pending)} 份文件等待处理（运行 xlflow ingest，或开着 xlflow watch 即可）："
                     + "、".join(pending))
    if partial:
        lines.append(f"尚未复制或下载完整的文件 {len(partial)} 份（完成后才会处理；若长时间不变，请重新复制）："
                     + "、".join(partial))
    return lines

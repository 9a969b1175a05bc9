"""stage: ledger + roster → where the campaign stands, per 党总支 (for `xlflow status` and the demo).

Expected is the roster; a branch counts as accepted once it has a current return, as rejected
when its latest file was sent back and nothing has been accepted since, else as missing.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from xlflow import constants as K
from xlflow.ledger import rejected_branches
from xlflow.roster import Branch


@dataclass
class GeneralStatus:
    general: str
    expected: int = 0
    accepted: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # branch names awaiting a corrected file
    missing: list[str] = field(default_factory=list)


def campaign_status(conn, branches: list[Branch]) -> list[GeneralStatus]:
    current = {r[0] for r in conn.execute(
        "SELECT branch_code FROM returns WHERE current = 1 AND kind = ?", (K.KIND_BRANCH,))}
    rejected = rejected_branches(conn)
    out: dict[str, GeneralStatus] = {}
    for b in branches:
        s = out.setdefault(b.general, GeneralStatus(b.general))
        s.expected += 1
        if b.code in current:
            s.accepted.append(b.name)
        elif b.code in rejected:
            s.rejected.append(b.name)
        else:
            s.missing.append(b.name)
    return list(out.values())


def unidentified(conn) -> list[tuple[str, str]]:
    """Rejected files that could not be tied to a branch: (file name, first message)."""
    return [(r[0], r[1] or "") for r in conn.execute(
        """SELECT f.original_name, (SELECT message FROM findings WHERE file_id = f.id ORDER BY rowid LIMIT 1)
           FROM files f WHERE f.outcome = 'rejected' AND f.branch_code IS NULL ORDER BY f.id""")]


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    """Left-align for a terminal, where a Chinese character takes two columns."""
    return text + " " * max(0, width - _width(text))


def format_status(rows: list[GeneralStatus], list_missing: bool = True) -> str:
    def line(name, *counts):
        return _pad(name, 22) + "".join(f"{c:>10}" for c in counts)

    lines = [_pad("党总支", 22) + "".join(" " * (10 - _width(h)) + h for h in ("应报", "已收", "退回待改", "未报"))]
    for s in rows:
        lines.append(line(s.general, s.expected, len(s.accepted), len(s.rejected), len(s.missing)))
    total = [sum(x) for x in zip(*[(s.expected, len(s.accepted), len(s.rejected), len(s.missing)) for s in rows])] \
        or [0, 0, 0, 0]
    lines.append(line("合计", *total))
    if list_missing:
        for s in rows:
            if s.rejected:
                lines.append(f"{s.general} 退回待改：{'、'.join(s.rejected)}")
            if s.missing:
                lines.append(f"{s.general} 未报：{'、'.join(s.missing)}")
    return "\n".join(lines)

"""stage: checklist.yaml + xlflow.toml + branches.xlsx → Campaign, the inputs every later stage reads.

A command loads them once (Workspace.campaign()) and hands the one object down the pipeline, so a
stage that needs the checklist, the year or the roster takes `campaign` instead of three arguments
that must agree. Functions that are about the checklist alone (its columns, its version, a score
from ratings) still take just the Checklist.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from xlflow.checklist import Checklist
from xlflow.roster import Branch
from xlflow.settings import Settings


@dataclass(frozen=True)
class Campaign:
    checklist: Checklist
    settings: Settings
    branches: tuple[Branch, ...] = ()  # the roster, in its order; empty where a stage needs none

    def __post_init__(self):
        object.__setattr__(self, "branches", tuple(self.branches))

    @cached_property
    def by_code(self) -> dict[str, Branch]:
        return {b.code: b for b in self.branches}

    @property
    def year(self) -> int:
        return self.settings.year

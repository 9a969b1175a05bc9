"""stage: RawReturn + roster + checklist → which branch returned it, or why it cannot be taken.

The branch is read from the workbook's own identity (very hidden sheet, custom properties),
never from the file name: clerks rename files freely.
"""

from __future__ import annotations

from xlflow import constants as K
from xlflow.campaign import Campaign
from xlflow.messages import Code, Finding, finding
from xlflow.normalize import clean_text
from xlflow.read import RawReturn
from xlflow.roster import Branch
from xlflow.workbook import template_version


def identify(raw: RawReturn, campaign: Campaign) -> tuple[Branch | None, list[Finding]]:
    """Whose return it is, in the campaign's roster; a workbook handed out for another year gets one message."""
    checklist, year = campaign.checklist, campaign.year
    file = raw.path.name
    ident = raw.identity
    kind = ident.get("kind") or K.KIND_BRANCH
    if kind in K.REVIEW_ROUNDS:  # ingest sends these to review_read.read_review; here they are not a return
        return None, [finding(Code.I107, file=file)]
    if kind != K.KIND_BRANCH:
        return None, [finding(Code.I108, file=file)]
    code = ident.get("branch_code")
    if not code:
        return None, [finding(Code.I101, file=file)]
    branch = campaign.by_code.get(code)
    name = ident.get("branch_name") or code
    issued = ident.get("year", "")
    if issued and issued != str(year):  # before the roster: the code may have changed since
        return branch, [finding(Code.I109, file=file, issued=issued, year=year)]
    if branch is None:
        return None, [finding(Code.I104, file=file, code=code, name=name)]
    current = template_version(checklist)
    version = ident.get("template_version", "")
    if version != current or ident.get("checklist_fingerprint") != checklist.fingerprint:
        return branch, [finding(Code.I102, file=file, version=version or "未知", current=current)]
    found: list[Finding] = []
    typed = raw.basic.get("code")
    if typed is not None and clean_text(typed[1]) not in (None, code):
        found.append(finding(Code.I105, file=file, sheet=K.SHEET_BASIC, cell=raw.basic_cells["code"],
                             value=typed[1], name=branch.name, code=code))
    for other in campaign.branches:  # a file named after another branch: say which one we took
        if other.code != code and (other.name in file or other.code in file):
            found.append(finding(Code.I106, file=file, other=other.name, name=branch.name))
            break
    return branch, found

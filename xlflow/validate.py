"""stage: RawReturns → normalized returns + a Report of findings each (pandera schemas built
from the checklist and the workbook layout).

Validation runs over a batch: the rows of every return in a pass are stacked into one frame per
table and validated once, lazily, so that every problem of every file is found in one sweep and
pandera's per-call cost is paid once per pass rather than once per file. A failure is mapped
back to its file, sheet and Excel cell, and worded from the catalogue in messages.py.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

import pandas as pd
import pandera.pandas as pa

from xlflow import constants as K
from xlflow.campaign import Campaign
from xlflow.files import content_hash
from xlflow.messages import Code, Finding, Report, date_example, finding
from xlflow.normalize import clean_text, parse_choice, parse_date, parse_int, parse_number, parse_yes_no
from xlflow.read import RawReturn
from xlflow.roster import Branch

def field_specs(campaign: Campaign) -> dict[str, list[K.Field]]:
    """What every cell that is read must hold: constants.FIELDS (the table the workbook's data
    validations come from too) with its choices and date bounds resolved for this campaign."""
    out = {}
    for table, fields in K.FIELDS.items():
        specs = []
        for f in fields:
            if f.kind == "shown":
                continue  # 序号 and other columns shown to help, never read
            lo, hi = f.bounds(campaign.settings)
            specs.append(replace(f, choices=f.options(campaign.checklist) if f.kind == "choice" else (), lo=lo, hi=hi,
                                 why=f.why.format(lo=_fmt(lo), hi=_fmt(hi)) if f.why else ""))
        out[table] = specs
    return out


@dataclass
class Checked:
    """One return after validation: normalized values, where each came from, and the report."""

    raw: RawReturn
    branch: Branch | None
    report: Report = field(default_factory=Report)
    basic: dict[str, object] = field(default_factory=dict)
    tables: dict[str, list[dict]] = field(default_factory=dict)  # rows with "_row": Excel row

    @property
    def content_hash(self) -> str:
        return content_hash(self.tables, basic=self.basic)


_PARSERS = {"int": parse_int, "number": parse_number, "yesno": parse_yes_no}


def _parse(f: K.Field, value, date1904: bool):
    if f.kind in ("text", "code"):
        return clean_text(value), None
    if f.kind == "choice":
        p = parse_choice(value, f.choices)
        # an unknown choice stays as typed: the schema's isin check reports it with the list
        return (p.value if p.ok else clean_text(value)), None
    p = _PARSERS.get(f.kind)
    p = p(value) if p else parse_date(value, date1904=date1904)
    return p.value, (p if p.problem else None)


def _label(table: str, key: str) -> str:
    if table == "basic":
        return K.BASIC_FIELDS.get(key) or K.BASIC_IDENTITY_FIELDS[key]
    return K.TABLES[table][1][key]


def _sheet(table: str) -> str:
    return K.SHEET_BASIC if table == "basic" else K.TABLES[table][0]


def _fmt(v) -> str:
    return v.strftime("%Y-%m-%d") if isinstance(v, dt.date) else f"{v:g}" if isinstance(v, float) else str(v)


@dataclass(frozen=True)
class _Rule:
    """What a failed pandera check means to a clerk: the catalogue code, and the column whose cell
    the finding marks. It rides on the check itself (SchemaError.check), never through a string."""

    code: Code
    key: str


def _tagged(check: pa.Check, code: Code, key: str) -> pa.Check:
    check.xlflow_rule = _Rule(code, key)
    return check


def build_schemas(campaign: Campaign) -> dict[str, pa.DataFrameSchema]:
    """One pandera schema per table; each check carries the _Rule that maps its failures back."""
    texts = {i.code: i.text for i in campaign.checklist.indicators}
    schemas = {}
    for table, fields in field_specs(campaign).items():
        columns = {}
        for f in fields:
            checks = []
            if f.choices:
                checks.append(_tagged(pa.Check.isin(f.choices), Code.V207, f.key))
            if f.lo is not None:
                code = Code.V234 if f.kind == "date" else Code.V233
                checks.append(_tagged(pa.Check.in_range(f.lo, f.hi), code, f.key))
            columns[f.key] = pa.Column(None, checks, nullable=not f.required, required=True)
        frame_checks = []
        if table == "activities":
            frame_checks.append(_tagged(pa.Check(lambda d: ~(d["actual"] > d["expected"]).fillna(False).astype(bool)),
                                        Code.V236, "actual"))
        if table == "basic":
            frame_checks.append(_tagged(pa.Check(lambda d: ~((d["has_committee"] == True)  # noqa: E712
                                                             & (d["committee_size"].isna() | (d["committee_size"] == 0)))),
                                        Code.V237, "committee_size"))
        if table == "self":
            frame_checks.append(_tagged(pa.Check(lambda d: d["code"].map(texts).isna() | (d["text"] == d["code"].map(texts))),
                                        Code.V238, "text"))
        schemas[table] = pa.DataFrameSchema(columns, checks=frame_checks)
    return schemas


def _failures(exc: pa.errors.SchemaErrors):
    """(rule, dataframe index) of each failed check a clerk can act on, frame checks first (pandera's
    own order of failure cases); a dtype or other generic pandera check is left out."""
    errors = sorted(exc.schema_errors, key=lambda e: not isinstance(e.schema, pa.DataFrameSchema))
    for err in errors:
        if err.check == "not_nullable":
            rule = _Rule(Code.V231, err.schema.name)
        else:
            rule = getattr(err.check, "xlflow_rule", None)
        if rule is None or isinstance(err.failure_cases, str):
            continue
        for index in err.failure_cases["index"]:
            if not pd.isna(index):
                yield rule, int(index)


class _Cells:
    """(return, table, Excel row, key) → the cell's address ("B7"), or "" for a column the
    sheet lacks; worked out only for the few cells a finding names, not for every value."""

    def __init__(self, out: list[Checked]):
        self.out = out

    def __getitem__(self, where: tuple) -> str:
        n, table, row, key = where
        raw = self.out[n].raw
        if table == "basic":
            return raw.basic_cells.get(key, "")
        t = raw.tables[table]
        return t.cell(key, row) if key in t.columns else ""


class Validator:
    """Built once per pass (schemas are generated from the checklist); validates batches."""

    def __init__(self, campaign: Campaign, carried: dict | None = None):
        """carried: branch code -> what it carried from last year (carry.Carried): its open problems
        must still be on the 问题清单 (a problem is closed by 已完成, never by deleting the row)."""
        self.checklist, self.settings = campaign.checklist, campaign.settings
        self.carried = carried or {}
        self.specs = field_specs(campaign)
        self.schemas = build_schemas(campaign)
        self.params = {(t, f.key): f for t, fs in self.specs.items() for f in fs}
        self.example = dict(zip(("example", "example_cn"), date_example(campaign.year)))
        self.indicators = {i.code: f"{i.code} {i.short}" for i in self.checklist.indicators}
        self.unique = {t: [f for f in fs if f.unique] for t, fs in self.specs.items()}
        self.not_after_filled = {t: [f for f in fs if f.not_after_filled] for t, fs in self.specs.items()}

    def indicator(self, table: str, values: dict) -> str:
        """The indicator a row of 自评表 or 问题清单 is about ("ZJ03 支部委员会设置"), or ""."""
        key = {"self": "code", "problems": "indicator"}.get(table)
        return self.indicators.get(clean_text(values.get(key)), "") if key else ""

    def validate(self, items: list[tuple[RawReturn, Branch | None, list[Finding]]]) -> list[Checked]:
        """items: (raw return, identified branch, findings so far). Returns one Checked each."""
        out = [Checked(raw, branch, Report(list(found))) for raw, branch, found in items]
        frames: dict[str, list[dict]] = {t: [] for t in self.specs}
        cells = _Cells(out)  # (ret, table, row, key) -> cell address, worked out when needed
        reported: set[tuple] = set()
        memo: dict[tuple, list[dict]] = {}  # parses already done in this batch, see _normalize
        for n, c in enumerate(out):
            if not c.report.valid:
                continue  # a file that cannot be identified is not read further
            self._normalize(n, c, frames, cells, reported, memo)
        for table, records in frames.items():
            if records:
                self._check(table, pd.DataFrame.from_records(records), out, cells, reported)
        for c in out:
            if c.report.valid or c.tables:
                self._cross_checks(c)
        return out

    def _normalize(self, n, c: Checked, frames, cells, reported, memo) -> None:
        raw, file = c.raw, c.raw.path.name
        c.report.extend(raw.findings)
        rows = {"basic": [(0, {k: v for k, (_, v) in raw.basic.items()})]} if raw.basic else {}
        rows.update({k: t.rows for k, t in raw.tables.items()})
        date1904 = raw.date1904
        for table, table_rows in rows.items():
            fields = self.specs[table]
            # The same values recur all over a batch (choices, dates, counts, names): each field
            # remembers what a (type, value) parsed to. Parsing is a pure function of the value
            # (and, for dates, of the 1904 flag); type is in the key, as 1 == 1.0 == True.
            seen_by_field = memo.get((table, date1904)) or memo.setdefault((table, date1904), [{} for _ in fields])
            # A column (or 基本信息 line) that is not there at all was reported once by read.py;
            # its cells are not reported again one by one as "not filled in".
            present = set(raw.basic) if table == "basic" else set(raw.tables[table].columns)
            absent = [f.key for f in fields if f.key not in present]
            clean_rows = []
            frame_add, clean_add = frames[table].append, clean_rows.append
            for excel_row, values in table_rows:
                clean = {"_row": excel_row}
                for f, seen in zip(fields, seen_by_field):
                    value = values.get(f.key)
                    key = None if type(value) is float and not value else (type(value), value)  # 0.0 ≠ -0.0
                    try:
                        parsed = seen.get(key)
                    except TypeError:  # unhashable: never from calamine, but not remembered either
                        parsed = key = None
                    if parsed is None:
                        parsed = _parse(f, value, date1904)
                        if key is not None:
                            seen[key] = parsed
                    value, problem = parsed
                    if problem:
                        where = (n, table, excel_row, f.key)
                        c.report.findings.append(problem.finding(file=file, sheet=_sheet(table), cell=cells[where],
                                                                 cell_indicator=self.indicator(table, values),
                                                                 **self.example))
                        reported.add(where)
                    clean[f.key] = value
                for key in absent:
                    reported.add((n, table, excel_row, key))
                frame_add({"_ret": n, **clean})
                clean_add(clean)
            if table == "basic":
                c.basic = {k: v for k, v in clean_rows[0].items() if k != "_row"}
            else:
                c.tables[table] = clean_rows

    def _check(self, table: str, df: pd.DataFrame, out, cells: _Cells, reported) -> None:
        try:
            self.schemas[table].validate(df, lazy=True)
            return
        except pa.errors.SchemaErrors as exc:
            failed = list(_failures(exc))
        seen = set()
        for rule, index in failed:
            rec = df.loc[index]
            code, key = rule.code, rule.key
            n, row = int(rec["_ret"]), int(rec["_row"])
            where = (n, table, row, key)
            if where in reported or (where, code) in seen:
                continue
            seen.add((where, code))
            f = self.params[(table, key)]
            value = rec[key]
            out[n].report.findings.append(finding(
                code, file=out[n].raw.path.name, sheet=_sheet(table), cell=cells[where],
                value="" if value is None or (isinstance(value, float) and pd.isna(value)) else _fmt(value),
                label=_label(table, key), choices="、".join(f.choices), cell_indicator=self.indicator(table, rec),
                lo=_fmt(f.lo) if f.lo is not None else "", hi=_fmt(f.hi) if f.hi is not None else "", why=f.why))

    def _cross_checks(self, c: Checked) -> None:
        """Checks across rows and tables: every indicator rated, counts agree with the member roster,
        nobody entered twice, no record later than the form's 填表日期."""
        file = c.raw.path.name
        add = c.report.findings.append
        self._impossible_records(c)
        rated = {r["code"] for r in c.tables.get("self", [])}
        if "self" in c.raw.tables:
            for ind in self.checklist.indicators:
                if ind.code not in rated:
                    add(finding(Code.V240, file=file, sheet=K.SHEET_SELF, code=ind.code, short=ind.short))
        members = c.tables.get("members")
        if members is not None and c.basic:
            for key, category in zip(("full_members", "probationary_members"), K.MEMBER_CATEGORIES):
                stated = c.basic.get(key)
                count = sum(1 for m in members if m["category"] == category)
                if isinstance(stated, int) and stated != count:
                    add(finding(Code.V241, file=file, sheet=K.SHEET_BASIC, cell=c.raw.basic_cells.get(key, ""),
                                value=stated, label=K.BASIC_FIELDS[key], category=category, count=count))
        if "problems" not in c.tables:
            return  # no 问题清单 sheet at all: reported by read.py, not once per indicator here
        self._carried_problems(c)
        listed = {r["indicator"] for r in c.tables.get("problems", [])}
        below = self.checklist.below_full
        for r in c.tables.get("self", []):
            if r["rating"] in below and r["code"] not in listed:
                add(finding(Code.V242, file=file, sheet=K.SHEET_SELF, cell=c.raw.tables["self"].cell("rating", r["_row"]),
                            value=r["rating"], cell_indicator=self.indicator("self", r)))

    def _carried_problems(self, c: Checked) -> None:
        """A problem carried from an earlier year that is gone from the return (deleted, or its locked
        text changed): V245, at the row where it was handed out."""
        carried = self.carried.get(c.branch.code) if c.branch else None
        if not carried or not carried.problems:
            return
        present = {clean_text(r.get("problem")) for r in c.tables.get("problems", [])}
        table = c.raw.tables["problems"]
        for n, p in enumerate(carried.problems):
            if clean_text(p.get("problem")) not in present:
                row = K.HEADER_ROW + 1 + n
                c.report.findings.append(finding(
                    Code.V245, file=c.raw.path.name, sheet=K.SHEET_PROBLEMS, cell=table.cell("problem", row),
                    value=p.get("problem"), row=row, year=p.get("raised"),
                    cell_indicator=self.indicators.get(clean_text(p.get("indicator")), "")))

    def _impossible_records(self, c: Checked) -> None:
        """Rows that cannot be true: the same person twice in a table (V244), and a record dated
        after the form's 填表日期 (V243: a planned meeting entered as held). A cell already marked
        wrong is not marked again."""
        file, add = c.raw.path.name, c.report.findings.append
        marked = {(f.sheet, f.cell) for f in c.report.errors}
        filled = c.basic.get("filled_on")
        for table in K.FIELDS:
            sheet, first = _sheet(table), {}
            for f, row, where, v in _cells_of(c, table, self.unique[table]):
                if v is not None and (f.key, v) in first and (sheet, where) not in marked:
                    add(finding(Code.V244, file=file, sheet=sheet, cell=where, value=_fmt(v), row=row,
                                first=first[(f.key, v)], label=_label(table, f.key)))
                first.setdefault((f.key, v), row)
            if not isinstance(filled, dt.date):
                continue
            for f, row, where, v in _cells_of(c, table, self.not_after_filled[table]):
                if isinstance(v, dt.date) and v > filled and (sheet, where) not in marked:
                    add(finding(Code.V243, file=file, sheet=sheet, cell=where, value=_fmt(v), row=row,
                                label=_label(table, f.key), filled=_fmt(filled)))


def _cells_of(c: Checked, table: str, fields) -> list[tuple]:
    """(field, Excel row, cell address, normalized value) of each of `fields` in every row of a table
    (基本信息: its line) that the return has."""
    if table == "basic":
        return [(f, c.raw.basic[f.key][0], c.raw.basic_cells.get(f.key, ""), c.basic.get(f.key))
                for f in fields if f.key in c.raw.basic]
    t = c.raw.tables.get(table)
    if t is None:
        return []
    return [(f, r["_row"], t.cell(f.key, r["_row"]), r.get(f.key))
            for f in fields if f.key in t.columns for r in c.tables.get(table, [])]

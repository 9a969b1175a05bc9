"""stage: raw cell values (as read by python-calamine or openpyxl) → clean typed values, keeping the raw value

Branch secretaries type into Excel/WPS by hand, so this accepts what people really type
(full-width digits from a Chinese IME, "2019年6月20日", "12人", "√") and refuses to guess
where the intent is unclear (two-digit years, day/month order, a month without a day).

Every parse_* returns a `Parsed(value, raw, problem, params)`:
  value    the typed value, or None for a blank cell or a problem;
  raw      the value exactly as read, for the feedback and the ledger;
  problem  None or a V2xx code of xlflow.messages; `params` holds any extra template fields.
A blank cell (None, "", only spaces) is `Parsed(None, raw, None)`: whether a blank is
allowed is the validation stage's decision, not this one's.
Pure functions, no I/O; fast paths first because this runs on every cell of every return.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from xlflow.messages import Code, Finding, finding

# ---- finding codes (catalogue: xlflow/messages.py, block V2xx) ----
BAD_DATE = Code.V201
TWO_DIGIT_YEAR = Code.V202
NO_SUCH_DATE = Code.V203
NOT_NUMBER = Code.V204
NOT_INTEGER = Code.V205
BAD_YES_NO = Code.V206
NOT_A_CHOICE = Code.V207
NO_DAY = Code.V208
NO_YEAR = Code.V209
DATE_ORDER = Code.V210


@dataclass(slots=True)
class Parsed:
    value: object
    raw: object
    problem: Code | None = None
    params: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def shown(self) -> str:
        """The raw value as the person sees it in the cell (12.0 → "12"), for messages."""
        return clean_text(self.raw) or ""

    def finding(self, *, file: str = "", sheet: str = "", cell: str = "", **context) -> Finding | None:
        """context: more template fields from the caller (the indicator, the campaign's date example)."""
        if self.problem is None:
            return None
        return finding(self.problem, file=file, sheet=sheet, cell=cell, value=self.shown, **self.params, **context)


# ---- text ----

# Full-width ASCII (U+FF01–FF5E) folds to half-width, except the punctuation a Chinese IME
# types as proper Chinese punctuation: folding "，" or "（）" would alter the branch's prose
# and break matches against choices written with them. Unlike NFKC this leaves everything
# else (“”、。…, CJK compatibility ideographs) exactly as typed.
_KEEP_FULL_WIDTH = "！（），：；？"
_TABLE: dict[int, str | None] = {
    c: chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F) if chr(c) not in _KEEP_FULL_WIDTH
}
_SPACES = "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
_TABLE.update({ord(c): " " for c in _SPACES})
_TABLE.update({0x2028: "\n", 0x2029: "\n"})
# Zero-width characters, soft hyphen, BOM, and controls XML forbids or Excel shows as boxes.
_DROP = [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0),
         0x00AD, 0x180E, 0x200B, 0x200C, 0x2060, 0xFEFF, 0xFFFE, 0xFFFF]
_TABLE.update(dict.fromkeys(_DROP))
# The zero-width joiner is dropped too, except inside an emoji sequence (👨‍👩‍👧, ❤️‍🔥), which it
# holds together: there it is part of what was typed.
_EMOJI = "\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF"
_STRAY_ZWJ = re.compile(f"(?<![{_EMOJI}\ufe0f])\u200d|\u200d(?![{_EMOJI}])")
# Any character the table touches, or a run of spaces: when absent, strip() is enough.
_NEEDS_WORK = re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(_TABLE)) + "\u200d\t\n\r]| {2}")
_AROUND_NEWLINE = re.compile(r"[^\S\n]*\n\s*")  # a line break (Alt+Enter) survives, once
_SPACE_RUN = re.compile(r"[^\S\n]+")


def clean_text(v: object) -> str | None:
    """The cell as tidy text, or None when blank.

    Integral floats print as integers (calamine reads 12 as 12.0, a phone number as
    13800138000.0), dates as ISO, booleans as Excel shows them (TRUE/FALSE). Full-width
    digits, letters and ASCII punctuation fold to half-width (Chinese punctuation is kept),
    invisible and control characters are removed, whitespace is stripped and collapsed to
    one space (a run containing a line break collapses to one line break).
    """
    if v is None:
        return None
    t = type(v)
    if t is str:
        s = v
    elif t is float:
        if not math.isfinite(v):
            return None if v != v else str(v)
        s = str(int(v)) if v.is_integer() else str(v)
    elif t is bool:
        s = "TRUE" if v else "FALSE"
    elif t is datetime:
        s = v.date().isoformat() if v.time() == time() else v.isoformat(sep=" ")
    elif t is date:
        s = v.isoformat()
    else:
        s = str(v)
    if s.isascii() and s.isprintable() and "  " not in s:
        return s.strip() or None  # fast path: nothing to fold or remove
    if _NEEDS_WORK.search(s):
        if "\r" in s:
            s = s.replace("\r\n", "\n").replace("\r", "\n")
        s = s.translate(_TABLE).strip()
        if "\u200d" in s:
            s = _STRAY_ZWJ.sub("", s)
        if "\n" in s:
            s = _AROUND_NEWLINE.sub("\n", s)
        s = _SPACE_RUN.sub(" ", s)
        return s or None
    return s.strip() or None


# ---- numbers ----

# A unit after the number is tolerated ("12人", "31.5 学时", "12个月") and dropped: it is a
# label, not converted (小时 is taken as written, not as 学时). Callers may narrow `units`.
UNITS = frozenset(("人", "名", "次", "个", "个月", "月", "学时", "课时", "小时"))
# Plain decimals only: float() would also take "1e3", "nan", "1_000", which nobody means.
# Thousands separators must be well-formed ("1,200"), so "1,2" is refused rather than guessed.
_NUMBER = re.compile(r"([+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|[+-]?\.\d+)\s*([^\d.,+-]*)")


def _number_text(v: object, units: frozenset[str]) -> tuple[float | int | None, bool]:
    """(number, blank) from a non-numeric raw value; number None means not a number."""
    s = clean_text(v)
    if s is None:
        return None, True
    m = _NUMBER.fullmatch(s)
    if m is None or (m[2] and m[2] not in units):
        return None, False
    digits = m[1].replace(",", "")
    if "." in digits:
        return float(digits), False
    return int(digits), False


def _not_a_number(v: object) -> bool:
    # TRUE, a date or a time in a number column is a slip, not a number (bool is an int).
    return isinstance(v, (bool, date, time, timedelta))


def parse_number(v: object, *, units: frozenset[str] = UNITS) -> Parsed:
    """A float from a number or from number-like text ("12", "１２", " 31.5 ", "12人")."""
    t = type(v)
    if t is float:
        return Parsed(v, v) if math.isfinite(v) else Parsed(None, v, NOT_NUMBER)
    if t is int:
        return Parsed(float(v), v)
    if _not_a_number(v):
        return Parsed(None, v, NOT_NUMBER)
    n, blank = _number_text(v, units)
    if n is None:
        return Parsed(None, v, None if blank else NOT_NUMBER)
    return Parsed(float(n), v)


def parse_int(v: object, *, units: frozenset[str] = UNITS) -> Parsed:
    """An int from a whole number, 12.0, or number-like text ("12", "12.0", "12人")."""
    t = type(v)
    if t is int:
        return Parsed(v, v)
    if t is float:
        if not math.isfinite(v):
            return Parsed(None, v, NOT_NUMBER)
        return Parsed(int(v), v) if v.is_integer() else Parsed(None, v, NOT_INTEGER)
    if _not_a_number(v):
        return Parsed(None, v, NOT_NUMBER)
    n, blank = _number_text(v, units)  # not via float: long digit strings stay exact
    if n is None:
        return Parsed(None, v, None if blank else NOT_NUMBER)
    if type(n) is float:
        if not n.is_integer():
            return Parsed(None, v, NOT_INTEGER)
        n = int(n)
    return Parsed(n, v)


# ---- dates ----

_EPOCH_1900 = date(1899, 12, 30)  # serial 61 → 1900-03-01; below 60 Excel is off by one
_EPOCH_1904 = date(1904, 1, 1)
_MAX_SERIAL = 73050  # 2099-12-31: further numbers are not dates anyone means here
_YEARS = range(1900, 2100)
# Separators people use between year, month, day, folded to "." or "-" before matching.
_DATE_SEPARATORS = str.maketrans({"。": ".", "、": ".", "—": "-", "–": "-", "‐": "-", "−": "-"})
_CN_FULL = re.compile(r"(\d+)\s*年\s*(\d+)\s*月\s*(\d+)\s*[日号]?")
_CN_YEAR_MONTH = re.compile(r"(\d+)\s*年(?:\s*(\d+)\s*月份?)?")
_CN_MONTH_DAY = re.compile(r"(\d+)\s*月\s*(\d+)\s*[日号]?")
# "2019-06-20", "2019.6.20", "2019/6/20", with an optional time ("2019-06-20 00:00:00").
_SEP3 = re.compile(r"(\d+)\s*([./-])\s*(\d+)\s*\2\s*(\d+)(?:(?:\s+|T)\d{1,2}:\d{2}(?::\d{2}(?:\.\d*)?)?)?")
_SEP2 = re.compile(r"(\d+)\s*[./-]\s*(\d+)")


def _ymd(y: str | int, m: str | int, d: str | int, raw: object) -> Parsed:
    y, m, d = int(y), int(m), int(d)
    if y not in _YEARS:
        return Parsed(None, raw, BAD_DATE)
    try:
        return Parsed(date(y, m, d), raw)
    except ValueError:
        return Parsed(None, raw, NO_SUCH_DATE)


def _from_serial(n: float, raw: object, date1904: bool) -> Parsed:
    if 1900 <= n < 2100:
        return Parsed(None, raw, NO_DAY)  # typed a year (2019) or year.month (2019.6)
    if n.is_integer() and 19000101 <= n <= 20991231:
        s = str(int(n))
        return _ymd(s[:4], s[4:6], s[6:], raw)  # typed 20190620 into a General cell
    if 190001 <= n <= 209912 and n.is_integer() and 1 <= n % 100 <= 12:
        return Parsed(None, raw, NO_DAY)  # typed 201906
    if not 0 <= n < _MAX_SERIAL + 1:
        return Parsed(None, raw, BAD_DATE)
    days = int(n)  # a fraction is the time of day
    if date1904:
        return Parsed(_EPOCH_1904 + timedelta(days=days), raw)
    if days == 60:
        return Parsed(None, raw, NO_SUCH_DATE)  # Excel's fictitious 1900-02-29
    if days == 0:
        return Parsed(None, raw, BAD_DATE)  # Excel shows 1900-01-00
    return Parsed(_EPOCH_1900 + timedelta(days=days if days > 60 else days + 1), raw)


def _from_text(s: str, raw: object) -> Parsed:
    if not s.isascii():
        s = s.translate(_DATE_SEPARATORS)
    if s.isdigit() and s.isascii():
        if len(s) == 8:
            y, mo, d = s[:4], s[4:6], s[6:]
        elif len(s) in (4, 6) and int(s[:4]) in _YEARS:
            return Parsed(None, raw, NO_DAY)
        else:
            return Parsed(None, raw, BAD_DATE)
    elif "年" in s or "月" in s:
        if m := _CN_FULL.fullmatch(s):
            y, mo, d = m.groups()
        elif m := _CN_YEAR_MONTH.fullmatch(s):
            return Parsed(None, raw, TWO_DIGIT_YEAR if len(m[1]) == 2 else NO_DAY if len(m[1]) == 4 else BAD_DATE)
        elif _CN_MONTH_DAY.fullmatch(s):
            return Parsed(None, raw, NO_YEAR)
        else:
            return Parsed(None, raw, BAD_DATE)
    elif m := _SEP3.fullmatch(s):
        y, _, mo, d = m.groups()
        if len(y) != 4:
            if len(d) == 4 and len(y) <= 2 and len(mo) <= 2:
                return Parsed(None, raw, DATE_ORDER)  # 6/20/2019 or 20/6/2019: whose order?
            if max(len(y), len(mo), len(d)) == 2 and 2 in (len(y), len(d)):
                return Parsed(None, raw, TWO_DIGIT_YEAR)  # 19.6.20, 6/20/19
            return Parsed(None, raw, BAD_DATE)
    elif m := _SEP2.fullmatch(s):
        a, b = m.groups()
        if 4 in (len(a), len(b)):
            return Parsed(None, raw, NO_DAY)  # 2019.6, 2019-06, 6/2019
        if len(a) <= 2 and len(b) <= 2:
            return Parsed(None, raw, NO_YEAR if 1 <= int(a) <= 12 else TWO_DIGIT_YEAR)
        return Parsed(None, raw, BAD_DATE)
    else:
        return Parsed(None, raw, BAD_DATE)
    if len(y) == 2:
        return Parsed(None, raw, TWO_DIGIT_YEAR)
    if len(y) != 4 or len(mo) > 2 or len(d) > 2:
        return Parsed(None, raw, BAD_DATE)
    return _ymd(y, mo, d, raw)


def parse_date(v: object, *, date1904: bool = False) -> Parsed:
    """A date from a date/datetime cell, an Excel serial number, or date-like text.

    Text: 2019年6月20日 (日 or 号 optional), 2019.6.20, 2019/6/20, 2019-6-20 (also with 。 or a
    dash, and an optional time after it), 20190620; full-width digits and spaces are fine.
    Refused, each with its own reason: two-digit years, day/month order with the year last,
    a year and month without a day, a month and day without a year, impossible dates, years
    outside 1900–2099. Numbers: 20190620 typed into a General cell is read as such; 2019 or
    201906 is a date without a day; otherwise a serial in the workbook's 1900 or 1904 system
    (`date1904`, from the workbook), where 1900 serial 60 is Excel's non-existent 1900-02-29.
    """
    t = type(v)
    if t is datetime:
        return Parsed(v.date(), v)
    if t is date:
        return Parsed(v, v)
    if t is str:
        s = clean_text(v)
        return Parsed(None, v) if s is None else _from_text(s, v)
    if v is None:
        return Parsed(None, v)
    if isinstance(v, datetime):  # subclasses, e.g. pandas.Timestamp
        return Parsed(v.date(), v)
    if _not_a_number(v):
        return Parsed(None, v, BAD_DATE)  # TRUE, a time of day, a duration
    if isinstance(v, (int, float)):
        return _from_serial(float(v), v, date1904)
    s = clean_text(v)
    return Parsed(None, v) if s is None else _from_text(s, v)


# ---- yes/no ----

_YES = ("是", "√", "✓", "✔", "☑", "y", "yes", "有", "true", "1")
_NO = ("否", "×", "✗", "✘", "✕", "✖", "☒", "n", "no", "无", "没有", "false", "0")
_YES_NO = {**dict.fromkeys(_YES, True), **dict.fromkeys(_NO, False)}


def parse_yes_no(v: object) -> Parsed:
    """True/False from 是/否, √/×, ✓/✗, ✔/✘, Y/N, yes/no, 有/无, TRUE/FALSE, 1/0 (any case)."""
    if type(v) is bool:
        return Parsed(v, v)
    if type(v) is str and (b := _YES_NO.get(v)) is not None:
        return Parsed(b, v)  # fast path: already one of the tokens
    if type(v) in (int, float):
        return Parsed(bool(v), v) if v in (0, 1) else Parsed(None, v, BAD_YES_NO)
    s = clean_text(v)
    if s is None:
        return Parsed(None, v)
    b = _YES_NO.get(s.casefold())
    return Parsed(None, v, BAD_YES_NO) if b is None else Parsed(b, v)


# ---- choices ----


def _choice_key(s: str) -> str:
    # Only trivial differences: width (NFKC: "（" vs "("), spaces inside, letter case.
    return "".join(unicodedata.normalize("NFKC", s).split()).casefold()


@lru_cache(maxsize=256)
def _choice_index(choices: tuple[str, ...]) -> tuple[frozenset[str], dict[str, str]]:
    keys: dict[str, list[str]] = {}
    for c in choices:
        keys.setdefault(_choice_key(c), []).append(c)
    # Two choices that differ only trivially are matched exactly, never by their key.
    return frozenset(choices), {k: cs[0] for k, cs in keys.items() if len(cs) == 1}


def parse_choice(v: object, choices) -> Parsed:
    """One of `choices` (returned as written in the list), after tolerating trivial variants."""
    choices = tuple(choices)
    exact, loose = _choice_index(choices)
    if v in exact:
        return Parsed(v, v)
    s = clean_text(v)
    if s is None:
        return Parsed(None, v)
    if s in exact:
        return Parsed(s, v)
    c = loose.get(_choice_key(s))
    if c is not None:
        return Parsed(c, v)
    return Parsed(None, v, NOT_A_CHOICE, {"choices": "、".join(choices)})

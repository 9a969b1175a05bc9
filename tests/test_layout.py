"""The layout of the Word documents as printed (GB/T 9704-2012), read from LibreOffice's PDF.

The documents of a real campaign (the `campaign` of test_reports.py) are printed by LibreOffice
(double-sided: with the blank pages Writer inserts) and poppler's `pdftotext -bbox-layout` gives
every line with its position on the page, in points. What is checked is what a secretary sees:
the 版记 at the foot of the last page, an even page; no page holding only the 署名 and date;
titles broken between words; the 署名 centred over the 成文日期, the date four characters in
from the right; phone numbers whole; no text that reads as machine output.
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from xlflow import documents as D
from xlflow import reports as R

from test_reports import TODAY, campaign  # noqa: F401  (the module-scoped campaign fixture)

PT = 72 / 25.4  # points per mm
PAGE_W, PAGE_H = 210 * PT, 297 * PT
LEFT, RIGHT, BOTTOM = 28 * PT, PAGE_W - 26 * PT, PAGE_H - 35 * PT  # the text block (GB/T 9704 5.2.2)
CHAR3 = 156 * PT / 28  # one character of the body text (3号, 28 a line)
CHAR4 = 14.0  # one character of the 版记 (4号)
DATE = re.compile(r"^(\d{4}年\d{1,2}月\d{1,2}日|（待党委会议决定）)$")
PAGE_NO = re.compile(r"^—\d+—$")
XH = "{http://www.w3.org/1999/xhtml}"


@dataclass(frozen=True)
class Line:
    text: str  # without spaces (pdftotext spaces out "2019 年")
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def centre(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def height(self) -> float:
        return self.y1 - self.y0


def pages(pdf: Path) -> list[list[Line]]:
    """Every page's lines, top to bottom."""
    xml = subprocess.run(["pdftotext", "-bbox-layout", str(pdf), "-"], capture_output=True, check=True).stdout
    root = ET.fromstring(xml)
    out = []
    for page in root.iter(f"{XH}page"):
        lines = []
        for line in page.iter(f"{XH}line"):
            words = [w.text or "" for w in line.iter(f"{XH}word")]
            text = re.sub(r"\s+", "", "".join(words))
            if text:
                lines.append(Line(text, *(float(line.get(k)) for k in ("xMin", "yMin", "xMax", "yMax"))))
        out.append(_rows(lines))
    return out


def _rows(lines: list[Line]) -> list[Line]:
    """Lines on the same baseline as one (a table row, the 版记's 印发机关 and 印发日期)."""
    rows: list[list[Line]] = []
    for ln in sorted(lines, key=lambda ln: (ln.y1, ln.x0)):
        if rows and abs(ln.y1 - rows[-1][0].y1) < 1.5:
            rows[-1].append(ln)
        else:
            rows.append([ln])
    return [Line("".join(ln.text for ln in sorted(row, key=lambda ln: ln.x0)), min(ln.x0 for ln in row),
                 min(ln.y0 for ln in row), max(ln.x1 for ln in row), max(ln.y1 for ln in row)) for row in rows]


def content(page: list[Line]) -> list[Line]:
    return [ln for ln in page if not PAGE_NO.match(ln.text)]


def broken_words(lines: list[str], words: list[str]) -> list[str]:
    """The words split from one line to the next ("2019/年度", "规范/化")."""
    return [f"{a[-len(w[:k]):]}/{b[:len(w) - k]}" for a, b in zip(lines, lines[1:]) for w in words
            for k in range(1, len(w)) if a.endswith(w[:k]) and b.startswith(w[k:])]


def test_broken_words_finds_a_word_across_two_lines():
    assert broken_words(["中共鹤壁职业技术学院委员会关于认定2019", "年度达标党支部的决定"], ["2019年度"]) == ["2019/年度"]
    assert broken_words(["关于认定2019年度", "达标党支部的决定"], ["2019年度", "达标党支部"]) == []


def title_lines(page: list[Line]) -> list[str]:
    """The lines set in the title's type (2号, 22 pt: taller than the 16 pt body), next to each other."""
    big = [ln for ln in content(page) if 24 <= ln.height <= 30]
    runs: list[list[Line]] = []
    for ln in big:
        if runs and ln.y0 - runs[-1][-1].y1 < 0.8 * ln.height:
            runs[-1].append(ln)
        else:
            runs.append([ln])
    return [[ln.text for ln in run] for run in runs]


# ---- the documents ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def printed(campaign, libreoffice, tmp_path_factory):  # noqa: F811
    """Every kind of document (and decisions of several lengths) printed in one LibreOffice batch."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    out = tmp_path_factory.mktemp("layout")
    res, templates = campaign["results"], campaign["ws"].templates
    docs = {d.path: d for d in D.plan(res, today=TODAY)}
    picks: dict[str, tuple[str, dict]] = {}
    for d in docs.values():
        if d.kind in (D.ANNUAL, D.REMINDER, D.DECISION):
            picks[d.path] = (d.kind, d.context)
    acceptances = [d for d in docs.values() if d.kind == D.ACCEPTANCE]
    picks.update({d.path: (d.kind, d.context) for d in acceptances[:3]})
    # 意见书 whose 复验 opinion grows by about a line at a time: their signature blocks fall on every
    # line of a page, the page's foot included
    decided = next(d for d in acceptances if d.context["recognized"] and d.context["second"]["opinion"])
    for k in range(0, 23):
        second = {**decided.context["second"], "opinion": "台账规范，记录完整，" * (3 * k) + "同意认定达标。"}
        picks[f"opinion_{k}.docx"] = (D.ACCEPTANCE, {**decided.context, "second": second})
    # a decision naming no 样板: one attachment, not numbered; annexes of several lengths, so that
    # the text ends on an odd page in some and on an even page in others
    plain = copy.deepcopy(res)
    for r in plain.branches:
        r.standing = replace(r.standing, model=False)
    plain.campaign = replace(plain.campaign, settings=replace(plain.campaign.settings, phase="达标"))
    [single] = D.plan(plain, today=TODAY, kinds=[D.DECISION])
    assert len(single.context["annexes"]) == 1
    rows = single.context["annexes"][0]["rows"]
    for n in (1, 8, 20, 30, 45):
        listed = [{**rows[i % len(rows)], "seq": i + 1} for i in range(n)]
        ctx = {**single.context, "annexes": [{**single.context["annexes"][0], "rows": listed}]}
        picks[f"single_{n}.docx"] = (D.DECISION, ctx)
    pairs, meta = [], {}
    for n, (name, (kind, ctx)) in enumerate(picks.items()):
        src = R.render(templates / D.TEMPLATES[kind], ctx, out / f"{n}.docx")
        pairs.append((src, out / f"{n}.pdf"))
        meta[name] = (kind, ctx, out / f"{n}.pdf")
    libreoffice.to_pdf_many(pairs)
    return {name: (kind, ctx, pages(pdf)) for name, (kind, ctx, pdf) in meta.items()}


def _of(printed, kind):
    return {name: v for name, v in printed.items() if v[0] == kind}


# ---- 版记 ---------------------------------------------------------------------------------------

def test_the_imprint_sits_at_the_foot_of_the_last_page_which_is_even(printed):
    parities = set()
    for name, (_, ctx, pp) in _of(printed, D.DECISION).items():
        where = [n for n, page in enumerate(pp, 1) if any(ln.text.endswith("印发") for ln in page)]
        assert where == [len(pp)], f"{name}: 版记 on page {where} of {len(pp)}"
        assert len(pp) % 2 == 0, f"{name}: the last page ({len(pp)}) is not an even page"
        [imprint] = [ln for ln in pp[-1] if ln.text.endswith("印发")]
        assert content(pp[-1]) == [imprint], f"{name}: the 版记 page holds only the 版记, without page number"
        # on the last line of the text block (LibreOffice sets a frame at the foot about half a line
        # lower than Word: the box of 4号 type reaches into the bottom margin, above the page number)
        assert BOTTOM - 20 < imprint.y1 < BOTTOM + 14, f"{name}: 版记 at {imprint.y1:.0f} pt, not at the foot"
        office, printed_on = f"{ctx['committee']}办公室", ctx["printed"]
        assert imprint.text == f"{office}{printed_on}"
        # 印发机关 左空一字, 印发日期 右空一字 (of 4号 type)
        assert abs(imprint.x0 - (LEFT + CHAR4)) < 2 and abs(imprint.x1 - (RIGHT - CHAR4)) < 2, name
        last_text = max(n for n, page in enumerate(pp[:-1], 1) if content(page))
        assert all(not content(page) for page in pp[last_text:-1]), f"{name}: only blank pages before the 版记 page"
        parities.add(last_text % 2)
    assert parities == {0, 1}, "decisions whose text ends on an odd and on an even page were both printed"


def test_a_single_attachment_is_not_numbered(printed):
    for name, (_, ctx, pp) in _of(printed, D.DECISION).items():
        text = "".join(ln.text for page in pp for ln in page)
        if len(ctx["annexes"]) == 1:
            assert "附件：2019年度达标党支部名单" in text and "附件1" not in text and "1．2019" not in text, name
        else:
            assert "附件：1．2019年度达标党支部名单" in text, name


# ---- signature ---------------------------------------------------------------------------------

def _signature(pp: list[list[Line]], signer: str) -> tuple[int, list[Line], Line]:
    """(page number, 署名 lines, date line) of the signature block: the date line under the 署名."""
    lines = signer.split("\n")
    for n, page in enumerate(pp, 1):
        texts = [ln.text for ln in page]
        for i in range(len(texts) - len(lines)):
            if texts[i:i + len(lines)] == lines and DATE.match(texts[i + len(lines)]):
                return n, page[i:i + len(lines)], page[i + len(lines)]
    raise AssertionError(f"no 署名 {lines} over a date")


@pytest.mark.parametrize("kind", [D.DECISION, D.ANNUAL, D.REMINDER])
def test_the_signature_is_centred_over_the_date_and_never_alone_on_a_page(printed, kind):
    docs = _of(printed, kind)
    assert docs
    for name, (_, ctx, pp) in docs.items():
        n, signer, date = _signature(pp, ctx["signer"])
        for ln in signer:  # GB/T 9704 7.3.5.1: 署名 centred on the 成文日期 …
            assert abs(ln.centre - date.centre) < 3, f"{name}: {ln.text} centred at {ln.centre:.1f}, date at {date.centre:.1f}"
        if "待" not in date.text:  # … which is 右空四字: where a date in the fonts GB/T 9704 names would end
            # (this machine may print Times New Roman's digits in a wider substitute, so the centre is checked)
            at = RIGHT - 4 * CHAR3 - design_width(date.text) / 2
            assert abs(date.centre - at) < CHAR3 / 2, f"{name}: date centred at {date.centre:.1f} pt, not {at:.1f}"
        others = [ln for ln in content(pp[n - 1]) if ln not in (*signer, date)]
        assert others and others[-1].y1 < signer[0].y0, f"{name}: page {n} holds only the signature"


def test_the_forms_signature_lines_stay_together_under_the_text(printed):
    """The 意见书's blocks (党总支/党委组织部（盖章）… and the committee's) are never split from their date."""
    blocks, wrong = 0, []
    for name, (_, ctx, pp) in _of(printed, D.ACCEPTANCE).items():
        for n, page in enumerate(pp, 1):
            texts = [ln.text for ln in content(page)]
            for i, t in enumerate(texts):
                if t.endswith("（盖章）") or "负责人（签字）" in t:
                    blocks += 1
                    if not (i + 1 < len(texts) and (DATE.match(texts[i + 1]) or "年月日" in texts[i + 1])):
                        wrong.append(f"{name}: “{t}” at the foot of page {n}, its date on the next")
                    # (at the top of a page it may be: LibreOffice does not keep a table, nor a
                    # paragraph of a whole page, with the paragraph after it; the page then goes on)
                    if i == 0 and len(texts) < 3:
                        wrong.append(f"{name}: page {n} holds only “{t}” and its date")
            if texts and DATE.match(texts[0]) and n > 1:
                wrong.append(f"{name}: page {n} begins with the date")
    assert not wrong
    assert blocks >= 3 * 23


def design_width(text: str) -> float:
    """Width in points of 3号 text as the templates set it: Times New Roman digits half as wide as the
    Chinese characters, both 0.3 pt condensed."""
    return sum((8 if ch.isascii() else 16) - 0.3 for ch in text)


def test_no_page_holds_only_a_date_or_signature(printed):
    for name, (_, _, pp) in printed.items():
        for n, page in enumerate(pp, 1):
            texts = [ln.text for ln in content(page) if not ln.text.endswith("印发")]
            alone = texts and all(DATE.match(t) or t.startswith(("中共", "党委组织部", "党总支（盖章）")) or "委员会" in t
                                  for t in texts)
            assert not alone, f"{name}: page {n} holds only {texts}"


# ---- titles --------------------------------------------------------------------------------------

def test_titles_break_between_words(printed, campaign):  # noqa: F811
    st = campaign["settings"]
    generals = {b.general for b in campaign["branches"]}
    words = [st.committee, st.college, *generals, f"{st.year}年度", "党支部", "标准化", "规范化", "建设情况", "报告",
             "达标党支部", "样板党支部", "标杆院系", "决定", "验收意见书", "名单", "关于", "认定", "表彰", "通知",
             "督促", "报送", "验收材料"]
    seen = 0
    for name, (kind, _, pp) in printed.items():
        for page in pp:
            for run in title_lines(page):
                assert not broken_words(run, words), f"{name}: {run}"
                assert all(len(t) <= 20 for t in run)
                seen += len(run) > 1
    assert seen >= 3, "titles of two lines and more were printed"


# ---- the 年度报告 ------------------------------------------------------------------------------

def test_the_annual_report_ends_with_the_closing_phrase_and_the_full_name(printed, campaign):  # noqa: F811
    st = campaign["settings"]
    for name, (_, ctx, pp) in _of(printed, D.ANNUAL).items():
        text = "".join(ln.text for page in pp for ln in content(page))
        general = ctx["general"]
        full = f"{st.committee.removesuffix('委员会')}{general.removesuffix('党总支')}总支部委员会"
        assert text.endswith(f"特此报告。{full}{ctx['date']}"), name


# ---- tables and wording ------------------------------------------------------------------------

def test_phone_numbers_are_never_broken(printed):
    checked = 0
    for name, (kind, ctx, pp) in printed.items():
        rows = ctx.get("missing") or [] if kind == D.ANNUAL else \
            [m for key in ("missing", "rejected", "reviews", "rectify") for m in ctx.get(key) or []]
        lines = [ln.text for page in pp for ln in page]
        for m in rows if kind in (D.ANNUAL, D.REMINDER) else []:
            if m["phone"]:
                assert any(m["phone"] in t for t in lines), f"{name}: {m['phone']} is broken"
                checked += 1
    assert checked >= 3


def test_no_text_reads_as_machine_output(printed):
    for name, (_, _, pp) in printed.items():
        text = "".join(ln.text for page in pp for ln in page)
        assert not re.search(r"(\d+)个(月|季度)中\1个|(?<!\d)(\d+)名[^，。\d]{1,5}中\3名|中0名", text), name
        assert "（未结束）" not in text and "尚未到期" not in text, name
        assert "（一）" not in text or "（二）" in text, f"{name}: a lone （一）"
        assert not re.search(r"(?<![\d.])0个", text), f"{name}: “0个” where a clerk writes “均已”/“均未”"

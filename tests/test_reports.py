"""The reports stage: Word documents from a small real campaign, printed to PDF by LibreOffice.

A real campaign (handout → filled returns → ingest → load_results) is rendered; LibreOffice turns
documents into PDF and poppler's pdftotext/pdfinfo read them back, so what is checked is what a
clerk would see when opening the file. The .docx XML is checked for the GB/T 9704 page, fonts,
grid and page number; the template check, escaping, incrementality and the parallel path too.
"""

from __future__ import annotations

import copy
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from click.testing import CliRunner

import xlflow.files
from helpers import fill_workbook, write_roster
from xlflow import constants as K
from xlflow import documents as D
from xlflow import reports as R
from xlflow.doccheck import check_templates
from xlflow.chain import Facts, Standing
from xlflow.cli import main as cli
from xlflow.errors import TemplateError
from xlflow.ingest import candidates, run_pass
from xlflow.ledger import open_ledger
from xlflow.results import load_results
from xlflow.review import review_round
from xlflow.sample import fill_decision, fill_review
from xlflow.workbook import handout_path, write_handout
from xlflow.workspace import init_workspace

ROOT = Path(__file__).resolve().parent.parent
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
TODAY = dt.date(2019, 12, 10)  # after the deadline: the reminder says so
GB = {"top": "2098", "bottom": "1984", "left": "1588", "right": "1474"}  # 37/35/28/26 mm in twips


# ---- the campaign ------------------------------------------------------------------------------

MEETING, DECIDED = "学院党委2019年第12次会议", dt.date(2019, 12, 24)


@pytest.fixture(scope="module")
def campaign(reports_campaign):
    """The campaign below, built once per session (conftest.py): test_layout.py prints its documents."""
    return reports_campaign


def build_campaign(tmp_path_factory):
    """20 branches of three 总支; 12 return (all of the first 总支). Phase 创优: 样板 at 1/5 (4
    places) and 标杆院系 in the decision. The whole acceptance chain runs on real workbooks through
    the inbox: every 总支 returns its 初验, the college its 复验 (with the spot check), and the
    committee its decision (认定 and 样板 as suggested)."""
    root = tmp_path_factory.mktemp("reports")
    ws, _ = init_workspace(root / "ws")
    checklist, roster = ws.checklist(), ws.roster()
    generals = list(dict.fromkeys(b.general for b in roster))[:3]
    groups = [[b for b in roster if b.general == g] for g in generals]
    branches = groups[0] + groups[1] + groups[2][:6]
    write_roster(ws.roster_path, branches)
    toml = (ws.root / "xlflow.toml").read_text(encoding="utf-8")
    toml = toml.replace('phase = "达标"', 'phase = "创优"').replace(
        'decision_prefix = "（请在xlflow.toml中设置发文机关代字）"', 'decision_prefix = "鹤职院党发"').replace(
        "decision_number = 1", "decision_number = 12")
    (ws.root / "xlflow.toml").write_text(toml, encoding="utf-8")
    inputs = ws.campaign()
    settings = inputs.settings
    returning = groups[0] + groups[1][:3] + groups[2][:2]
    write_handout(inputs, ws.handout, workers=1)
    for n, b in enumerate(returning):
        fill_workbook(handout_path(ws.handout, b), ws.inbox / f"{b.code}.xlsx", b, inputs, 40 + n)
    outcome = run_pass(ws, candidates(ws.inbox), dt.datetime(2019, 11, 28, 9, 30))
    assert [o.outcome for o in outcome.outcomes] == ["accepted"] * len(returning)
    for n, path in enumerate(review_round(ws, dt.datetime(2019, 12, 1, 9))):
        fill_review(path, ws.inbox / path.name, 70 + n, checklist)
    assert {o.outcome for o in run_pass(ws, candidates(ws.inbox), dt.datetime(2019, 12, 9, 9)).outcomes} == {"accepted"}
    [second] = [p for p in review_round(ws, dt.datetime(2019, 12, 11, 9)) if p.name.startswith("复验")]
    fill_review(second, ws.inbox / second.name, 80, checklist)
    assert [o.outcome for o in run_pass(ws, candidates(ws.inbox), dt.datetime(2019, 12, 20, 9)).outcomes] == ["accepted"]
    [decision] = [p for p in review_round(ws, dt.datetime(2019, 12, 21, 9)) if p.name.startswith("认定")]
    fill_decision(decision, ws.inbox / decision.name, MEETING, DECIDED)
    assert [o.outcome for o in run_pass(ws, candidates(ws.inbox), dt.datetime(2019, 12, 25, 9)).outcomes] == ["accepted"]
    conn = open_ledger(ws.ledger)
    try:
        results = load_results(conn, inputs, today=TODAY)
    finally:
        conn.close()
    assert any(r.standing.model for r in results.branches)
    assert any(r.standing.recognized and not r.standing.model for r in results.branches)
    out = root / "out"
    run = R.write_reports(results, ws.templates, out, workers=2, today=TODAY)
    return {"ws": ws, "inputs": inputs, "checklist": checklist, "settings": settings, "branches": branches, "results": results,
            "out": out, "run": run, "root": root}


def _by_code(campaign, code):
    return next(r for r in campaign["results"].branches if r.branch.code == code)


def _doc(campaign, kind: str, key: str) -> Path:
    folder = campaign["out"] / D.FOLDERS[kind] if D.FOLDERS[kind] else campaign["out"]
    found = [p for p in folder.glob("*.docx") if key in p.name]
    assert len(found) == 1, (kind, key, found)
    return found[0]


def _pdf_text(pdf: Path, layout: bool = False) -> str:
    args = ["pdftotext", "-enc", "UTF-8", *(["-layout"] if layout else []), str(pdf), "-"]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def _pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def pdfs(campaign, libreoffice):
    """A selection of the documents printed to PDF in one LibreOffice batch: key -> (docx, pdf)."""
    if shutil.which("pdftotext") is None or shutil.which("pdfinfo") is None:
        pytest.skip("pdftotext/pdfinfo (poppler-utils) are not installed")
    res = campaign["results"]
    with_problems = next(r for r in res.branches if len(r.problems) >= 2)
    model = next(r for r in res.branches if r.standing.model)
    passed_only = next(r for r in res.branches if r.standing.recognized and not r.standing.model)
    picks = {
        "acceptance": _doc(campaign, D.ACCEPTANCE, with_problems.branch.code),
        "acceptance_model": _doc(campaign, D.ACCEPTANCE, model.branch.code),
        "certificate_model": _doc(campaign, D.CERTIFICATE, model.branch.code),
        "certificate": _doc(campaign, D.CERTIFICATE, passed_only.branch.code),
        "decision": _doc(campaign, D.DECISION, D.DECISION),
        "annual": _doc(campaign, D.ANNUAL, with_problems.branch.general),
        "reminder": _doc(campaign, D.REMINDER, campaign["branches"][-1].general),
    }
    pdf_dir = campaign["root"] / "pdf"
    pairs = [(src, pdf_dir / f"{key}.pdf") for key, src in picks.items()]
    libreoffice.to_pdf_many(pairs)
    return {"picks": picks, "pdf": {key: pdf_dir / f"{key}.pdf" for key in picks},
            "with_problems": with_problems, "model": model, "passed_only": passed_only}


# ---- what is written ---------------------------------------------------------------------------

def test_every_document_is_written_where_expected(campaign):
    res, out, run = campaign["results"], campaign["out"], campaign["run"]
    passed = [r for r in res.branches if r.standing.recognized]  # 证书 only for what the committee decided
    assert len(list((out / "验收意见书").glob("*.docx"))) == len(res.branches) == 12
    assert len(list((out / "证书").glob("*.docx"))) == len(passed)
    assert len(list((out / "年度报告").glob("*.docx"))) == 3
    assert sorted(p.name for p in (out / "催报通知").glob("*.docx")) == sorted(
        f"{g}_催报通知.docx" for g in {b.general for b in res.missing})
    assert (out / "2019年度表彰决定.docx").is_file() and not (out / D.DRAFTS).exists()
    assert not (out / D.FOLDERS[D.SUMMARY]).exists()  # 创优, but no earlier year: no 三年总结
    assert len(run.written) == 12 + len(passed) + 3 + 2 + 1 and not run.skipped and not run.removed
    assert (out / R.MANIFEST).is_file()
    assert not list(out.rglob("*.tmp")), "atomic writes leave no temporary files"
    b = res.branches[0].branch
    assert (out / "验收意见书" / f"{b.code}_{b.name}_达标验收意见书.docx").is_file()


def test_the_shipped_templates_pass_the_check_and_are_reproducible(campaign, tmp_path):
    paths = check_templates(ROOT / "templates", campaign["inputs"])
    assert sorted(p.name for p in paths.values()) == sorted(D.TEMPLATES.values())
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_docx_templates.py"), str(tmp_path)],
                   check=True, capture_output=True)
    for name in D.TEMPLATES.values():
        assert (tmp_path / name).read_bytes() == (ROOT / "templates" / name).read_bytes(), \
            f"templates/{name} is not what scripts/make_docx_templates.py makes: run it again"
    assert sorted(p.name for p in campaign["ws"].templates.glob("*.docx")) == sorted(D.TEMPLATES.values()), \
        "xlflow init copies the Word templates into the working folder"


# ---- the documents as LibreOffice prints them ---------------------------------------------------

def test_acceptance_report_shows_name_scores_grade_and_problems(pdfs, campaign):
    br, pdf = pdfs["with_problems"], pdfs["pdf"]["acceptance"]
    text = _flat(_pdf_text(pdf))
    assert 2 <= _pages(pdf) <= 8
    assert br.branch.name in text and br.branch.general in text and br.branch.code in text
    assert f"验收总分{br.score.total:.2f}分" in text
    assert f"计分等次为“{br.score.grade}”" in text
    for cat in campaign["checklist"].categories:
        assert cat.name in text
        assert f"{br.score.categories[cat.code]:.2f}" in text
    for p in br.problems:
        assert _flat(p["problem"]) in text
        assert p["status"] in text
    for e in br.evidence:
        assert _flat(e.requirement)[:10] in text
    st = br.standing
    assert f"验收进度{st.label}" in text
    assert f"四、党总支初验意见结论：{br.first.conclusion}" in text
    if st.recognized:
        assert f"经{MEETING}研究，该支部达到《三标准三规范》建设要求，认定为达标党支部" in text
        assert f"{campaign['settings'].committee}（盖章）{D.cn_date(DECIDED)}" in text
    else:
        assert "认定为达标党支部" not in text and "尚未认定" in text


def test_a_model_branch_is_named_so(pdfs):
    text = _flat(_pdf_text(pdfs["pdf"]["acceptance_model"]))
    assert pdfs["model"].branch.name in text
    assert f"经{MEETING}研究，该支部达到《三标准三规范》建设要求，认定为达标党支部，评为校级“样板党支部”。" in text


def test_certificates_one_landscape_page_each(pdfs, campaign):
    for key, br, honor in (("certificate_model", pdfs["model"], "样板党支部"),
                           ("certificate", pdfs["passed_only"], "达标党支部")):
        pdf = pdfs["pdf"][key]
        assert _pages(pdf) == 1
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
        w, h = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+)", info).groups())
        assert w > h and round(w) == 842 and round(h) == 595  # A4 landscape
        text = _flat(_pdf_text(pdf))
        assert br.branch.name in text and honor in text and "荣誉证书" in text
        assert f"证书编号：2019-{br.branch.code}" in text
        assert D.cn_date(D.branch_date(br)) in text
    assert "样板" not in _flat(_pdf_text(pdfs["pdf"]["certificate"]))


def test_decision_is_an_official_document(pdfs, campaign):
    res, settings = campaign["results"], campaign["settings"]
    pdf = pdfs["pdf"]["decision"]
    text = _flat(_pdf_text(pdf))
    recognized = [r for r in res.branches if r.standing.recognized]
    benchmarks = D.decided_benchmarks(res)
    assert _pages(pdf) >= 2
    assert text.startswith(f"{settings.committee}文件")
    assert settings.doc_code("decision") == "鹤职院党发〔2019〕12号" and "鹤职院党发〔2019〕12号" in text
    title = "关于认定2019年度达标党支部和表彰校级“样板党支部”" + ("、“标杆院系”" if benchmarks else "") + "的决定"
    assert title in text and "草稿" not in text
    assert "各总支，院属各单位：" in text
    assert f"全院{len(campaign['branches'])}个党支部中，{len(recognized)}个达到建设标准，经{MEETING}研究，认定为达标党支部" in text
    assert "附件：1．2019年度达标党支部名单" in text and "2．2019年度校级“样板党支部”名单" in text
    assert f"{settings.committee}{D.cn_date(DECIDED)}" in text  # 落款: the meeting's date, not the day xlflow ran
    assert f"{settings.committee}办公室" in text and f"{D.cn_date(DECIDED)}印发" in text  # 版记


def _annexes(layout: str) -> list[str]:
    parts = re.split(r"^\f?附件\s*\d\s*$", layout, flags=re.M)
    return parts[1:]


def test_decision_annexes_list_exactly_the_decided_branches(pdfs, campaign):
    res = campaign["results"]
    recognized = [r.branch for r in res.branches if r.standing.recognized]
    models = [r.branch for r in res.branches if r.standing.model]
    assert 1 <= len(models) <= res.quota == 4
    layout = _pdf_text(pdfs["pdf"]["decision"], layout=True)  # pdftotext spaces out "附件 1", "2018 级"
    names = [b.name for b in campaign["branches"]]
    assert not any(a != b and a in b for a in names for b in names)
    annexes = _annexes(layout)
    for annex, listed in zip(annexes, (recognized, models)):
        rows = re.findall(r"^\s*(\d+)\s+(.+?党支部)\s+(\S+党总支)\s*$", annex, re.M)
        assert [(n, _flat(name), g) for n, name, g in rows] == [(str(n), b.name, b.general) for n, b in enumerate(listed, 1)]
        flat = _flat(annex)
        assert [n for n in names if n in flat] == [b.name for b in listed], "the annex holds nothing else"


def test_decision_without_benchmarks_outside_the_chuangyou_phase(campaign, libreoffice, tmp_path):
    tizhi = replace(campaign["inputs"], settings=replace(campaign["settings"], phase="提质"))
    run = R.write_reports(replace(campaign["results"], campaign=tizhi), campaign["ws"].templates,
                          tmp_path, today=TODAY, kinds=[D.DECISION])
    pdf = libreoffice.to_pdf(run.written[0], tmp_path / "d.pdf")
    text = _flat(_pdf_text(pdf))
    assert "关于认定2019年度达标党支部和表彰校级“样板党支部”的决定" in text
    assert "标杆院系" not in text and "附件3" not in text


def test_annual_report_counts_scores_problems_and_missing(pdfs, campaign):
    res, br = campaign["results"], pdfs["with_problems"]
    general = br.branch.general
    members = [r for r in res.branches if r.branch.general == general]
    missing = [b for b in res.missing if b.general == general]
    text = _flat(_pdf_text(pdfs["pdf"]["annual"]))
    assert f"{general}关于2019年度党支部标准化规范化建设情况的报告" in text
    assert "学院党委：" in text
    total = len(members) + len(missing)
    returned = f"{len(members)}个党支部报送了验收材料，{len(missing)}个尚未报送" if missing else "所属党支部均已报送验收材料"
    assert f"本总支共有党支部{total}个" in text and returned in text
    for r in members:
        assert r.branch.name in text and f"{r.score.total:.2f}" in text
    for p in br.problems:
        assert _flat(p["problem"]) in text
    for b in missing:
        assert b.name in text
    if not missing:
        assert "本总支所属党支部均已报送验收材料" in text


def test_reminder_lists_the_branches_that_have_not_returned(pdfs, campaign):
    general = campaign["branches"][-1].general
    missing = [b for b in campaign["results"].missing if b.general == general]
    text = _flat(_pdf_text(pdfs["pdf"]["reminder"]))
    # one page, or two when the 署名 (two lines: 中共鹤壁职业技术学院/委员会组织部) takes the text's last
    # line with it (tests/test_layout.py: no page holds only the signature)
    assert missing and _pages(pdfs["pdf"]["reminder"]) <= 2
    assert f"{general}：" in text and f"下列{len(missing)}个党支部尚未报送" in text
    for b in missing:
        assert b.name in text and b.code in text
    assert "应于2019年11月30日前报送" in text and "截至2019年12月10日" in text
    assert "报送截止日期已过" in text  # TODAY is after the deadline
    others = {b.name for b in campaign["branches"] if b not in missing}
    assert not [n for n in others if n in text]


# ---- the .docx itself ------------------------------------------------------------------------

def _xml(path: Path, part: str) -> ET.Element:
    with zipfile.ZipFile(path) as z:
        return ET.fromstring(z.read(part))


def _style(styles: ET.Element, style_id: str) -> ET.Element:
    return next(s for s in styles.iter(f"{W}style") if s.get(f"{W}styleId") == style_id)


def _fonts(style: ET.Element) -> tuple[dict, str]:
    rpr = style.find(f"{W}rPr")
    fonts = {k.replace(W, ""): v for k, v in rpr.find(f"{W}rFonts").attrib.items()}
    return fonts, rpr.find(f"{W}sz").get(f"{W}val")


@pytest.mark.parametrize("kind", [D.ACCEPTANCE, D.DECISION, D.ANNUAL, D.REMINDER, D.CERTIFICATE])
def test_docx_page_fonts_grid_and_page_number(campaign, kind):
    key = {D.ACCEPTANCE: "JD-", D.CERTIFICATE: "JD-", D.DECISION: "决定", D.ANNUAL: "机电",
           D.REMINDER: campaign["branches"][-1].general}[kind]
    folder = campaign["out"] / D.FOLDERS[kind] if D.FOLDERS[kind] else campaign["out"]
    path = sorted(p for p in folder.glob("*.docx") if key in p.name)[0]
    doc = _xml(path, "word/document.xml")
    sect = doc.find(f"{W}body/{W}sectPr")
    size = {k.replace(W, ""): v for k, v in sect.find(f"{W}pgSz").attrib.items()}
    margins = {k.replace(W, ""): v for k, v in sect.find(f"{W}pgMar").attrib.items()}
    styles = _xml(path, "word/styles.xml")
    if kind == D.CERTIFICATE:  # not an official document: A4 landscape
        assert (size["w"], size["h"], size.get("orient")) == ("16838", "11906", "landscape")
        return
    assert (size["w"], size["h"]) == ("11906", "16838")
    assert {k: margins[k] for k in GB} == GB
    grid = sect.find(f"{W}docGrid")
    assert grid.get(f"{W}type") == "linesAndChars" and grid.get(f"{W}linePitch") == "579"
    pitch = 16 + int(grid.get(f"{W}charSpace")) / 4096  # pt per character of the 3号 body text
    width = (11906 - 1588 - 1474) / 20
    assert 28 * pitch <= width < 29 * pitch and 22 * 579 <= 16838 - 2098 - 1984 < 23 * 579
    for style_id, east, size_ in (("Normal", "仿宋_GB2312", "32"), ("Title", "方正小标宋简体", "44"),
                                  ("Heading1", "黑体", "32"), ("Heading2", "楷体_GB2312", "32"),
                                  ("GwBody", "仿宋_GB2312", "32"), ("GwTable", "仿宋_GB2312", "24")):
        fonts, sz = _fonts(_style(styles, style_id))
        assert fonts["eastAsia"] == east and sz == size_, style_id
        assert not any(k.endswith("Theme") for k in fonts), f"{style_id}: a theme font would override {east}"
    normal = _style(styles, "Normal").find(f"{W}pPr/{W}spacing")
    assert (normal.get(f"{W}line"), normal.get(f"{W}lineRule")) == ("579", "exact")  # 28.95 pt
    defaults = styles.find(f"{W}docDefaults/{W}rPrDefault/{W}rPr/{W}rFonts")
    assert defaults.get(f"{W}eastAsia") == "仿宋_GB2312"
    font_table = ET.tostring(_xml(path, "word/fontTable.xml"), encoding="unicode")
    assert "方正小标宋简体" in font_table and "altName" in font_table  # a named fallback
    settings = _xml(path, "word/settings.xml")
    assert settings.find(f"{W}evenAndOddHeaders") is not None
    with zipfile.ZipFile(path) as z:
        footers = [n for n in z.namelist() if n.startswith("word/footer")]
        numbered = [n for n in footers if " PAGE " in z.read(n).decode()]
        assert len(numbered) == 2  # odd pages right, even pages left
        # the decision's 版记 page (and the blank page before it) has none (GB/T 9704 7.5)
        assert len(footers) == (4 if kind == D.DECISION else 2)
        assert all("<w:t" not in z.read(n).decode() for n in footers if n not in numbered)
        for name in numbered:
            xml = z.read(name).decode()
            assert "<w:t xml:space=\"preserve\">— </w:t>" in xml and "<w:t xml:space=\"preserve\"> —</w:t>" in xml
            assert " PAGE " in xml and 'w:eastAsia="宋体"' in xml and '<w:sz w:val="28"/>' in xml
    for tbl in doc.iter(f"{W}tbl"):  # a real grid, so WPS lays the tables out as Word does
        cols = [int(c.get(f"{W}w")) for c in tbl.find(f"{W}tblGrid")]
        assert cols and int(tbl.find(f"{W}tblPr/{W}tblW").get(f"{W}w")) == sum(cols) <= 8844
        assert tbl.find(f"{W}tblPr/{W}tblLayout").get(f"{W}type") == "fixed"
        assert tbl.find(f"{W}tblPr/{W}tblBorders/{W}insideV") is not None
        for tc in tbl.iter(f"{W}tc"):
            assert tc.find(f"{W}tcPr/{W}tcW").get(f"{W}type") == "dxa"
    if kind == D.DECISION:  # the 版记: a section from the next even page, a full-width frame at its foot
        assert sect.find(f"{W}type").get(f"{W}val") == "evenPage"
        [frame] = [p for p in doc.iter(f"{W}p") if p.find(f"{W}pPr/{W}framePr") is not None]
        fp = frame.find(f"{W}pPr/{W}framePr")
        assert (fp.get(f"{W}w"), fp.get(f"{W}yAlign"), fp.get(f"{W}vAnchor")) == ("8844", "bottom", "margin")
        rules = frame.find(f"{W}pPr/{W}pBdr")
        assert [rules.find(f"{W}{side}").get(f"{W}sz") for side in ("top", "bottom")] == ["8", "8"]  # 0.35 mm
    body = ET.tostring(doc, encoding="unicode")
    assert "{{" not in body and "{%" not in body, "every tag is rendered"
    assert not re.search(r"\d{4}-\d{2}-\d{2}", "".join(t.text or "" for t in doc.iter(f"{W}t"))), \
        "dates are written as 2019年6月20日"


def test_dates_use_arabic_numerals_without_zero_padding():
    assert D.cn_date(dt.date(2019, 6, 20)) == "2019年6月20日"
    assert D.cn_date(dt.date(2019, 12, 1)) == "2019年12月1日"


# ---- safety ------------------------------------------------------------------------------------

def test_clean_text_strips_what_xml_cannot_hold():
    assert D.clean_text("a\x00b\x07c\x0bd\x1fe\ufffff") == "abcdef"
    assert D.clean_text("行一\r\n行二\r行三\t列") == "行一\n行二\n行三\t列"
    assert D.clean({"k": ["x\x08", ("y\x0c",)], "n": 3}) == {"k": ["x", ["y"]], "n": 3}


def test_ampersand_angle_brackets_and_control_characters(campaign, libreoffice, tmp_path):
    results = copy.deepcopy(campaign["results"])
    br = next(r for r in results.branches if r.standing.model and r.problems)
    br.branch = replace(br.branch, name="机电&测试<甲>支部\x07")
    br.problems[0]["problem"] = "台账<缺失> & 记录\x0b不全"
    run = R.write_reports(results, campaign["ws"].templates,
                          tmp_path / "out", today=TODAY, kinds=[D.ACCEPTANCE, D.DECISION])
    report = next(p for p in run.written if br.branch.code in p.name)
    decision = next(p for p in run.written if D.DECISION in p.name)
    assert report.name == f"{br.branch.code}_机电&测试_甲_支部_达标验收意见书.docx"  # safe on Windows too
    with zipfile.ZipFile(report) as z:
        xml = z.read("word/document.xml").decode()
    assert "机电&amp;测试&lt;甲&gt;支部" in xml and "\x07" not in xml and "\x0b" not in xml
    ET.fromstring(xml)  # well-formed
    pdfs = libreoffice.to_pdf_many([(report, tmp_path / "r.pdf"), (decision, tmp_path / "d.pdf")])
    text = _pdf_text(pdfs[0])
    assert "机电&测试<甲>支部" in text
    assert "台账<缺失> & 记录不全" in _pdf_text(pdfs[0], layout=True) or "台账<缺失>&记录不全" in _flat(text)
    assert "机电&测试<甲>支部" in _pdf_text(pdfs[1])


# ---- the template check -----------------------------------------------------------------------

def _broken_copy(tmp_path: Path, name: str, old: str, new: str) -> Path:
    templates = tmp_path / "templates"
    shutil.copytree(ROOT / "templates", templates)
    path = templates / name
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    xml = parts["word/document.xml"].decode()
    assert old in xml
    parts["word/document.xml"] = xml.replace(old, new, 1).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for n, data in parts.items():
            z.writestr(n, data)
    return templates


def test_a_misspelt_tag_is_named_and_nothing_is_written(campaign, tmp_path):
    templates = _broken_copy(tmp_path, "达标验收意见书.docx", "{{ branch.name }}", "{{ branch.nmae }}")
    out = tmp_path / "out"
    with pytest.raises(TemplateError) as err:
        R.write_reports(campaign["results"], templates, out, today=TODAY)
    assert str(err.value) == (
        "Word 模板有 1 处问题，本次没有生成任何文书。请在 Word 中改正后重新运行：\n"
        "达标验收意见书.docx：标签“{{ branch.nmae }}”中的“nmae”无法识别，“branch”下可用的有："
        "code、name、general、type、secretary、full_members、probationary_members、received_on、stage")
    assert not out.exists()


def test_other_broken_templates(campaign, tmp_path):
    inputs = campaign["inputs"]
    templates = _broken_copy(tmp_path / "a", "年度报告.docx", "{{ title }}", "{{ genral }}")
    with pytest.raises(TemplateError, match=re.escape("年度报告.docx：标签“{{ genral }}”中的“genral”无法识别，可用的有：as_of、average")):
        check_templates(templates, inputs)
    templates = _broken_copy(tmp_path / "b", "表彰决定.docx", "{{ m.general }}", "{{ m.general }")
    with pytest.raises(TemplateError, match="表彰决定.docx：标签写法有误"):
        check_templates(templates, inputs)
    templates = _broken_copy(tmp_path / "c", "表彰决定.docx", "{{ m.name }}", "{{ m.nam }}")
    with pytest.raises(TemplateError, match=re.escape("标签“{{ m.nam }}”中的“nam”无法识别，“m”下可用的有：seq、name")):
        check_templates(templates, inputs)
    (templates / "证书.docx").unlink()
    (templates / "催报通知.docx").write_bytes(b"not a zip")
    with pytest.raises(TemplateError) as err:
        check_templates(templates, inputs)
    assert "找不到 Word 模板：证书.docx" in str(err.value) and "xlflow init" in str(err.value)
    assert "催报通知.docx：文件无法打开" in str(err.value) and "Word 模板有 3 处问题" in str(err.value)


# ---- incremental and parallel -----------------------------------------------------------------

def test_incremental_runs_render_only_what_changed(campaign, tmp_path):
    results = copy.deepcopy(campaign["results"])
    templates = tmp_path / "templates"
    shutil.copytree(campaign["ws"].templates, templates)
    out = tmp_path / "out"

    def run(res=None):
        return R.write_reports(res or results, templates, out, workers=1, today=TODAY)

    first = run()
    assert first.written and not first.skipped
    second = run()
    assert not second.written and len(second.skipped) == len(first.written)

    # one branch's problem text: its report and its 总支's annual report, nothing else
    br = next(r for r in results.branches if r.problems and r.standing.recognized)
    br.problems[0]["problem"] += "（已补充）"
    third = run()
    assert sorted(p.relative_to(out).as_posix() for p in third.written) == sorted([
        f"验收意见书/{br.branch.code}_{br.branch.name}_达标验收意见书.docx",
        f"年度报告/{br.branch.general}_2019年度党支部建设情况报告.docx"])

    # a document deleted by hand is written again
    cert = out / "证书" / f"{br.branch.code}_{br.branch.name}_证书.docx"
    cert.unlink()
    assert run().written == [cert]

    # a branch no longer 认定 (a newer decision) loses its certificate
    br.standing = replace(br.standing, stage=K.STAGE_NOT_RECOGNIZED, recognized=False, model=False)
    results.standings[br.branch.code] = br.standing
    fourth = run()
    assert fourth.removed == [cert] and not cert.exists()
    assert out / "验收意见书" / f"{br.branch.code}_{br.branch.name}_达标验收意见书.docx" in fourth.written

    # an edited template: every document made from it, and only those
    shutil.copyfile(ROOT / "templates" / "年度报告.docx", templates / "证书.docx")  # any other valid docx …
    with pytest.raises(TemplateError):  # … is checked against the certificate's context first
        run()
    shutil.copyfile(campaign["ws"].templates / "证书.docx", templates / "证书.docx")
    with zipfile.ZipFile(templates / "证书.docx") as z:
        parts = {n: z.read(n) for n in z.namelist()}
    parts["word/document.xml"] = parts["word/document.xml"].replace("特发此证".encode(), "特颁此证".encode())
    with zipfile.ZipFile(templates / "证书.docx", "w", zipfile.ZIP_DEFLATED) as z:
        for n, data in parts.items():
            z.writestr(n, data)
    fifth = run()
    certs = sorted((out / "证书").glob("*.docx"))
    assert sorted(fifth.written) == certs and len(certs) == sum(r.standing.recognized for r in results.branches)

    # a damaged manifest only costs a full run
    (out / R.MANIFEST).write_text("{", encoding="utf-8")
    assert len(run().written) == len(D.plan(results, TODAY))
    assert not run().written


def _docs(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*.docx"))}


@pytest.fixture
def contexts_made(monkeypatch):
    """The branch codes whose 意见书 context is built, run by run (documents.plan passes over a
    branch whose inputs are those its document on disk was made from)."""
    made: list[str] = []
    real = D.acceptance_context

    def counted(br, *args):
        if br.branch.general != "示例党总支":  # (doccheck's specimen, made every run for the templates' shapes)
            made.append(br.branch.code)
        return real(br, *args)

    monkeypatch.setattr(D, "acceptance_context", counted)
    return made


def test_a_corrected_return_replans_only_its_branch_and_gives_the_documents_of_a_cold_build(campaign, tmp_path,
                                                                                            contexts_made):
    from xlflow.master import cache_path
    from xlflow.outputs import rebuild_outputs
    from xlflow.workspace import Workspace

    ws = Workspace(tmp_path / "ws")
    shutil.copytree(campaign["ws"].root, ws.root)
    now = dt.datetime(2019, 12, 26, 9)
    # as after the last pass: the manifest holds each branch document's inputs
    returned = [r.branch for r in rebuild_outputs(ws, now).results.branches]
    assert sorted(contexts_made) == sorted(b.code for b in returned)
    contexts_made.clear()
    assert not rebuild_outputs(ws, now).reports.written and contexts_made == []  # nothing changed: nothing planned

    b = returned[0]  # returns again, with other data
    fill_workbook(handout_path(ws.handout, b), ws.inbox / "again.xlsx", b, ws.campaign(), 4242)
    assert [o.outcome for o in run_pass(ws, candidates(ws.inbox), now).outcomes] == ["accepted"]
    written = rebuild_outputs(ws, now).reports.written
    assert contexts_made == [b.code]  # the other branches' documents are not even planned
    assert ws.reports / D.FOLDERS[D.ACCEPTANCE] / f"{b.code}_{b.name}_{D.ACCEPTANCE}.docx" in written
    assert not [p for p in written if p.parent.name == D.FOLDERS[D.ACCEPTANCE] and not p.name.startswith(b.code)]
    cached = _docs(ws.reports)

    (ws.reports / R.MANIFEST).unlink()  # cold: no manifest, no memo, no master cache
    cache_path(ws.master).unlink()
    rebuild_outputs(ws, now)
    assert _docs(ws.reports) == cached


def test_a_college_wide_input_replans_every_document(campaign, tmp_path, contexts_made):
    from xlflow.outputs import rebuild_outputs
    from xlflow.workspace import Workspace

    ws = Workspace(tmp_path / "ws")
    shutil.copytree(campaign["ws"].root, ws.root)
    now = dt.datetime(2019, 12, 26, 9)
    first = rebuild_outputs(ws, now)
    before = set(first.reports.written)
    contexts_made.clear()
    toml = ws.root / "xlflow.toml"  # the 咨询电话, on every document
    toml.write_text(toml.read_text(encoding="utf-8").replace("0392-3311000", "0392-3311999"), encoding="utf-8")
    again = rebuild_outputs(ws, now).reports
    assert sorted(contexts_made) == sorted(r.branch.code for r in first.results.branches)
    assert set(again.written) == before and not again.skipped


def test_a_document_open_in_word_is_left_and_retried(campaign, tmp_path, monkeypatch):
    results = copy.deepcopy(campaign["results"])
    args = (results, campaign["ws"].templates, tmp_path)
    R.write_reports(*args, workers=1, today=TODAY)
    br = results.branches[0]
    br.problems.append({"indicator": "ZS01", "problem": "新发现的问题", "measure": "", "owner": "", "deadline": "",
                        "status": "未整改"})
    report = tmp_path / "验收意见书" / f"{br.branch.code}_{br.branch.name}_达标验收意见书.docx"
    before = report.read_bytes()
    real = os.replace

    def replace_unless_open(src, dst):  # Windows refuses to replace a file Word holds open
        if Path(dst) == report:
            raise PermissionError(13, "The process cannot access the file", str(dst))
        return real(src, dst)

    monkeypatch.setattr(xlflow.files.os, "replace", replace_unless_open)
    run = R.write_reports(*args, workers=1, today=TODAY)
    assert run.locked == [report] and report.read_bytes() == before
    assert [p.parent.name for p in run.written] == ["年度报告"]
    assert not list(tmp_path.rglob("*.tmp"))
    monkeypatch.undo()
    assert R.write_reports(*args, workers=1, today=TODAY).written == [report]


def test_no_returns_yet(campaign, tmp_path):
    res = campaign["results"]
    missing = {b.code: Standing(b.code, K.STAGE_MISSING, "尚未报送填报表") for b in campaign["branches"]}
    nothing = replace(res, branches=[], missing=list(campaign["branches"]), quota=0, benchmarks=[],
                      standings=missing, facts=Facts())
    run = R.write_reports(nothing, campaign["ws"].templates, tmp_path,
                          today=TODAY)
    assert sorted({p.parent.name for p in run.written}) == sorted(["年度报告", "催报通知"])  # no decision, no draft


def test_parallel_and_serial_runs_write_the_same_documents(campaign, tmp_path, monkeypatch):
    args = (campaign["results"], campaign["ws"].templates)
    ticks = []
    serial = R.write_reports(*args, tmp_path / "one", workers=1, today=TODAY)
    # the pool from the first batch on (a run renders its first _Renderer.LOCAL documents itself)
    monkeypatch.setattr(R._Renderer, "LOCAL", 0)
    parallel = R.write_reports(*args, tmp_path / "two", workers=2, today=TODAY, progress=lambda n, t: ticks.append((n, t)))
    assert len(parallel.written) == len(serial.written) > R._Renderer.BATCH  # more than one batch
    assert sum(n for n, _ in ticks) == len(parallel.written) and {t for _, t in ticks} == {len(parallel.written)}
    for p in serial.written:
        q = tmp_path / "two" / p.relative_to(tmp_path / "one")
        with zipfile.ZipFile(p) as a, zipfile.ZipFile(q) as b:
            assert a.read("word/document.xml") == b.read("word/document.xml"), p.name


# ---- the command line -------------------------------------------------------------------------

def test_cli_reports(campaign):
    ws = campaign["ws"]
    result = CliRunner().invoke(cli, ["reports", "--root", str(ws.root)])
    assert result.exit_code == 0, result.output
    assert "文书已生成：新生成" in result.output and str(ws.reports.resolve()) in result.output
    assert len(list((ws.reports / "验收意见书").glob("*.docx"))) == 12
    again = CliRunner().invoke(cli, ["reports", "--root", str(ws.root)])
    assert "新生成 0 份" in again.output

"""The LibreOffice harness is real: it recalculates, round-trips and prints documents."""

from __future__ import annotations

import datetime
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

from libreoffice import LibreOfficeError


def _wrong_cache_workbook(path: Path) -> Path:
    """A1=2, A2=3, A3 '=A1*A2' whose cached value is a deliberate lie (99)."""
    wb = xlsxwriter.Workbook(path)
    ws = wb.add_worksheet("数据")
    ws.write("A1", 2)
    ws.write("A2", 3)
    ws.write_formula("A3", "=A1*A2", None, 99)
    wb.close()
    return path


def _cached(path: Path, cell: str = "A3"):
    wb = openpyxl.load_workbook(path, data_only=True)
    try:
        return wb.worksheets[0][cell].value
    finally:
        wb.close()


def test_recalc_replaces_a_wrong_cached_value(libreoffice, tmp_path):
    src = _wrong_cache_workbook(tmp_path / "源.xlsx")
    assert _cached(src) == 99

    dst = libreoffice.recalc(src, tmp_path / "out" / "重算.xlsx")

    assert _cached(dst) == 6
    formulas = openpyxl.load_workbook(dst)
    assert formulas.worksheets[0]["A3"].value == "=A1*A2"


def test_resave_keeps_the_cached_value(libreoffice, tmp_path):
    # LibreOffice 7.4 with a fresh profile does NOT recalculate xlsx formulas on load
    # (Tools > Options > Calc > Formula > "Recalculation on file load", Excel 2007 and
    # newer: "Never recalculate"); it also ignores xlsxwriter's <calcPr fullCalcOnLoad="1"/>
    # and drops it on save. So an open-and-save round trip carries our cached values
    # through unchanged: only recalc() proves the formulas.
    src = _wrong_cache_workbook(tmp_path / "src.xlsx")

    dst = libreoffice.resave(src, tmp_path / "resaved.xlsx")

    assert _cached(dst) == 99


def test_recalc_many_runs_a_batch(libreoffice, tmp_path):
    pairs = []
    for i in range(3):
        src = tmp_path / f"in{i}.xlsx"
        wb = xlsxwriter.Workbook(src)
        ws = wb.add_worksheet()
        ws.write("A1", i)
        ws.write_formula("A2", "=A1+10", None, -1)
        wb.close()
        pairs.append((src, tmp_path / f"out{i}.xlsx"))

    outs = libreoffice.recalc_many(pairs)

    assert [_cached(p, "A2") for p in outs] == [10, 11, 12]


def _chinese_docx(path: Path) -> Path:
    import docx

    document = docx.Document()
    document.add_heading("党支部标准化规范化建设", level=1)
    document.add_paragraph("第一党支部 2019 年度自查报告。")
    document.save(path)
    return path


def test_docx_to_pdf_keeps_chinese_text(libreoffice, tmp_path):
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    src = _chinese_docx(tmp_path / "报告.docx")

    pdf = libreoffice.to_pdf(src, tmp_path / "报告.pdf")

    assert pdf.read_bytes().startswith(b"%PDF")
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, check=True
    ).stdout.decode("utf-8")
    assert "党支部" in text


def test_xlsx_to_pdf(libreoffice, tmp_path):
    src = _wrong_cache_workbook(tmp_path / "book.xlsx")
    pdf = libreoffice.to_pdf(src, tmp_path / "book.pdf")
    assert pdf.read_bytes().startswith(b"%PDF")


def test_a_failed_job_raises_with_the_worker_error(libreoffice, tmp_path):
    src = _chinese_docx(tmp_path / "not-a-sheet.docx")
    with pytest.raises(LibreOfficeError, match="not a spreadsheet"):
        libreoffice.recalc(src, tmp_path / "never.xlsx")
    # the session's soffice is still usable afterwards
    ok = libreoffice.recalc(_wrong_cache_workbook(tmp_path / "ok.xlsx"), tmp_path / "ok2.xlsx")
    assert _cached(ok) == 6


def test_resave_keeps_what_the_branch_workbook_relies_on(libreoffice, tmp_path):
    """What survives a branch secretary opening our workbook in LibreOffice and saving it."""
    src = tmp_path / "branch.xlsx"
    wb = xlsxwriter.Workbook(src)
    wb.set_custom_property("branch_id", "B001-党支部")
    wb.set_custom_property("year", 2019)
    wb.set_custom_property("final", True)
    wb.set_custom_property("issued", datetime.datetime(2019, 3, 1))
    main = wb.add_worksheet("基本信息")
    lists = wb.add_worksheet("下拉选项")
    ident = wb.add_worksheet("_xlflow")
    lists.write_column("A1", ["优秀", "良好", "一般"])
    lists.hide()
    ident.write("A1", "B001")
    ident.very_hidden()
    wb.define_name("评级", "='下拉选项'!$A$1:$A$3")
    unlocked = wb.add_format({"locked": False})
    main.write_blank("B1", None, unlocked)
    main.data_validation(
        "B1",
        {"validate": "list", "source": "=评级", "error_title": "输入错误", "error_message": "请从下拉列表中选择"},
    )
    main.data_validation("B2", {"validate": "integer", "criteria": "between", "minimum": 0, "maximum": 200})
    main.protect("secret")
    wb.close()

    out = openpyxl.load_workbook(libreoffice.resave(src, tmp_path / "saved.xlsx"))

    # Sheet states: LibreOffice 7.4 has no "very hidden"; it reads veryHidden as hidden and
    # writes state="hidden". The sheet and its content survive, but a user could unhide it.
    states = {ws.title: ws.sheet_state for ws in out.worksheets}
    assert states == {"基本信息": "visible", "下拉选项": "hidden", "_xlflow": "hidden"}
    assert out["_xlflow"]["A1"].value == "B001"

    # Custom document properties survive (sorted by name; integers come back as floats,
    # vt:r8 instead of vt:i4, so compare by value).
    props = {p.name: p.value for p in out.custom_doc_props.props}
    assert props == {
        "branch_id": "B001-党支部",
        "year": 2019,
        "final": True,
        "issued": datetime.datetime(2019, 3, 1),
    }

    # Data validations survive, with their messages and the named-range list source.
    dvs = {str(dv.sqref): dv for dv in out["基本信息"].data_validations.dataValidation}
    assert set(dvs) == {"B1", "B2"}
    assert (dvs["B1"].type, dvs["B1"].formula1, dvs["B1"].error) == ("list", "评级", "请从下拉列表中选择")
    assert (dvs["B2"].type, dvs["B2"].formula1, dvs["B2"].formula2) == ("whole", "0", "200")
    assert out.defined_names["评级"].attr_text == "下拉选项!$A$1:$A$3"

    # Sheet protection survives with the same password hash (written in lower case).
    protection = out["基本信息"].protection
    assert protection.sheet is True
    assert protection.password.upper() == "DAA7"  # xlsxwriter's hash of "secret"
    assert out["基本信息"]["B1"].protection.locked is False
    assert out["基本信息"]["A1"].protection.locked is True

"""Hostile and mutated returns for the fault tests and bench/faults_bench.py: each takes a real
filled return (bytes of an .xlsx) and returns the bytes of a damaged or poisoned one, as a copy
tool, a careless clerk or a hostile sender would make it. Real zips, real sheet XML."""

from __future__ import annotations

import io
import random
import re
import zipfile

XFD_CELL = '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'


def sheet_part(data: bytes, sheet: str) -> str:
    """The part name of the worksheet called `sheet` (via workbook.xml and its rels)."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        book = z.read("xl/workbook.xml").decode()
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
    rid = re.search(rf'<sheet [^>]*name="{re.escape(sheet)}"[^>]*r:id="([^"]+)"', book).group(1)
    target = re.search(rf'<Relationship [^>]*Id="{rid}"[^>]*Target="([^"]+)"', rels)
    if target is None:  # attributes in the other order
        target = re.search(rf'<Relationship [^>]*Target="([^"]+)"[^>]*Id="{rid}"', rels)
    return "xl/" + target.group(1).lstrip("/").removeprefix("xl/")


def rewrite(data: bytes, edits: dict[str, callable]) -> bytes:
    """A copy of the zip with the named members passed through their edit (bytes → bytes)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename in edits:
                body = edits[info.filename](body)
            dst.writestr(info.filename, body, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def far_cell(data: bytes, sheet: str = "三会一课", row_xml: str = XFD_CELL) -> bytes:
    """One cell typed far away (XFD1048576, legal in Excel), the <dimension> left as it was."""
    return rewrite(data, {sheet_part(data, sheet): lambda b: b.replace(b"</sheetData>", row_xml.encode() + b"</sheetData>")})


def late_doctype(data: bytes, pad: int = 6000) -> bytes:
    """A DTD after a long comment, past the first 4 KiB of workbook.xml (after its XML declaration)."""
    dtd = b"<!--" + b" " * pad + b'--><!DOCTYPE workbook [<!ENTITY e "x">]>'

    def edit(b: bytes) -> bytes:
        m = re.match(rb"\s*<\?xml[^>]*\?>", b)
        at = m.end() if m else 0
        return b[:at] + dtd + b[at:]
    return rewrite(data, {"xl/workbook.xml": edit})


def truncated(data: bytes, keep: float = 0.6) -> bytes:
    return data[:int(len(data) * keep)]


def flip_bytes(data: bytes, rng: random.Random, n: int = 8) -> bytes:
    buf = bytearray(data)
    for _ in range(n):
        buf[rng.randrange(len(buf))] ^= 1 << rng.randrange(8)
    return bytes(buf)


def long_text(data: bytes, sheet: str = "三会一课", cell: str = "D3", length: int = 40_000) -> bytes:
    """A cell holding more text than Excel's 32,767-character limit (only other tools write it:
    Excel and openpyxl cut it), as an inline string in place of what the cell held."""
    text = ("学习" * (length // 2 + 1))[:length]
    new = f'<c r="{cell}" t="inlineStr"><is><t>{text}</t></is></c>'.encode()
    pattern = rb'<c r="' + cell.encode() + rb'"[^>]*?(?:/>|>.*?</c>)'
    return rewrite(data, {sheet_part(data, sheet): lambda b: re.sub(pattern, lambda m: new, b, count=1, flags=re.S)})

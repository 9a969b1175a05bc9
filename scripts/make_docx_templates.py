"""Build the Word templates in templates/ (docxtpl tags), reproducibly.

    python scripts/make_docx_templates.py [OUTDIR]

Writes 达标验收意见书.docx, 表彰决定.docx, 证书.docx, 年度报告.docx and 催报通知.docx. The same code
gives the same bytes (fixed zip timestamps and document properties), so a rebuilt template only
shows up in review when its content changed. A clerk may edit the wording and the letterhead in
Word or WPS afterwards; xlflow checks every tag at start-up (xlflow/doccheck.py).

Format (GB/T 9704-2012 党政机关公文格式), except the certificate, which is not an official document:
- A4 portrait; margins top 37 mm, bottom 35 mm, left 28 mm, right 26 mm (2098/1984/1588/1474 twips),
  so the text block is 156 × 225 mm;
- 22 lines × 28 characters: document grid `linesAndChars`, line pitch 579 twips (28.95 pt, 22 × 579
  ≤ 12756), character pitch 16 pt − 849/4096 pt (28 × pitch ≤ 8844 twips), so Word's page setup
  shows 22 × 28; body lines are exact 28.95 pt. The paragraph styles do not snap to the character
  grid, because LibreOffice gives a 16 pt character two 15.79 pt cells (14 characters a line);
  instead 3号 text is set 0.3 pt closer (w:spacing -6), so 28 characters fill a line in Word, WPS
  and LibreOffice alike;
- title 2号 方正小标宋简体 (22 pt); body 3号 仿宋_GB2312 (16 pt); 一级标题 黑体, 二级标题 楷体_GB2312;
  Chinese fonts are set as East Asian fonts (w:rFonts w:eastAsia), Latin text in Times New Roman;
  the font table names a fallback (w:altName) for every Chinese font;
- page number "— 1 —" in 4号 宋体 (14 pt), odd pages right, even pages left, one character in;
- tables with a full grid: w:tblGrid, fixed layout, explicit cell widths, single 0.5 pt borders.
The certificate (证书) is A4 landscape with its own, larger type.

Tags are docxtpl (Jinja2): {{ … }} for values, {%p … %} / {%tr … %} for paragraphs and table rows.
The context each template receives is built in xlflow/documents.py.
"""

from __future__ import annotations

import datetime as dt
import io
import sys
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import docx
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Twips

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "templates"

# ---- fonts and sizes (half-points) ----
SONG, FANGSONG, HEITI, KAITI, XBS = "宋体", "仿宋_GB2312", "黑体", "楷体_GB2312", "方正小标宋简体"
LATIN = "Times New Roman"
FALLBACK = {XBS: "宋体", FANGSONG: "仿宋", KAITI: "楷体", HEITI: "SimHei", SONG: "SimSun"}
SZ_2, SZ_3, SZ_4, SZ_XIAO4, SZ_5 = 44, 32, 28, 24, 21

# ---- page geometry (twips) ----
A4_W, A4_H = 11906, 16838
MARGIN = {"top": 2098, "bottom": 1984, "left": 1588, "right": 1474}
TEXT_W = A4_W - MARGIN["left"] - MARGIN["right"]  # 8844 = 156 mm
LINE = 579  # 28.95 pt: 22 lines in 225 mm
CHAR_SPACE = -849  # 1/4096 pt: 28 characters of 3号 in 156 mm
CONDENSE = -6  # 1/20 pt: 3号 characters 0.3 pt closer, so 28 fit a line without snapping to the grid
RED = "FF0000"
# 署名 centred over the 成文日期, the date 右空四字 (GB/T 9704 7.3.5.1): the centre of a date such as
# 2019年12月24日 (8 Times digits and 3 characters of condensed 3号) four characters in from the right;
# the 署名 paragraph is centred on it by a box from SIGN_LEFT to the right edge. xlflow breaks a
# 署名 too long for the box into lines (documents.SIGN_EM).
CHAR = TEXT_W / 28
DATE_W = 8 * (SZ_3 * 5 + CONDENSE) + 3 * (SZ_3 * 10 + CONDENSE)
SIGN_LEFT = round(2 * (TEXT_W - 4 * CHAR - DATE_W / 2) - TEXT_W)

# ---- style ids ----
BODY, PLAIN, SIGN, TABLE, TABLE_HEAD, NOTE = "GwBody", "GwPlain", "GwSign", "GwTable", "GwTableHead", "GwNote"
SIGNATURE = "GwSignature"


def rpr(east: str, size: int, bold: bool = False, color: str | None = None, latin: str = LATIN,
        spacing: int | None = None) -> str:
    """A w:rPr with the Chinese font as East Asian font (and no theme font overriding it)."""
    parts = [f'<w:rFonts w:ascii="{latin}" w:hAnsi="{latin}" w:eastAsia="{east}" w:cs="{latin}" w:hint="eastAsia"/>']
    parts.append("<w:b/><w:bCs/>" if bold else '<w:b w:val="0"/><w:bCs w:val="0"/>')
    if color:
        parts.append(f'<w:color w:val="{color}"/>')
    if spacing is not None:
        parts.append(f'<w:spacing w:val="{spacing}"/>')
    parts.append(f'<w:sz w:val="{size}"/><w:szCs w:val="{size}"/>')
    return "<w:rPr>" + "".join(parts) + "</w:rPr>"


def ppr(*, line: int | None = LINE, rule: str = "exact", jc: str | None = None, first_chars: int | None = None,
        grid: bool = False, keep_next: bool = False, outline: int | None = None, before: int = 0, after: int = 0,
        right_chars: int | None = None, left: int | None = None, extra: str = "", tail: str = "") -> str:
    """A w:pPr in schema order. first_chars / right_chars are in 1/100 character, left in twips; extra:
    elements before w:pBdr (keepLines, framePr), tail: those between w:pBdr and w:snapToGrid."""
    parts = ["<w:keepNext/>" if keep_next else "", extra, tail, "" if grid else '<w:snapToGrid w:val="0"/>']
    spacing = f'<w:spacing w:before="{before}" w:after="{after}"'
    spacing += f' w:line="{line}" w:lineRule="{rule}"/>' if line else "/>"
    parts.append(spacing)
    ind = []
    if first_chars is not None:
        ind.append(f'w:firstLineChars="{first_chars}" w:firstLine="{first_chars * SZ_3 * 10 // 100}"')
    if left is not None:
        ind.append(f'w:left="{left}" w:right="0"')
    if right_chars is not None:
        ind.append(f'w:rightChars="{right_chars}" w:right="{right_chars * SZ_3 * 10 // 100}"')
    if ind:
        parts.append(f"<w:ind {' '.join(ind)}/>")
    if jc:
        parts.append(f'<w:jc w:val="{jc}"/>')
    if outline is not None:
        parts.append(f'<w:outlineLvl w:val="{outline}"/>')
    return "<w:pPr>" + "".join(parts) + "</w:pPr>"


# ---------------------------------------------------------------------------------------------
# styles
# ---------------------------------------------------------------------------------------------

def _restyle(style, name: str | None, p: str | None, r: str) -> None:
    el = style.element
    for tag in ("w:pPr", "w:rPr"):
        for child in el.findall(qn(tag)):
            el.remove(child)
    for tag in ("w:link",):  # the linked character styles carry theme fonts: unlink them
        for child in el.findall(qn(tag)):
            el.remove(child)
    if name:
        el.find(qn("w:name")).set(qn("w:val"), name)
    if p:
        el.append(parse_xml(p.replace("<w:pPr>", f"<w:pPr {nsdecls('w')}>", 1)))
    el.append(parse_xml(r.replace("<w:rPr>", f"<w:rPr {nsdecls('w')}>", 1)))


def _add_style(doc, style_id: str, name: str, p: str | None, r: str, based_on: str = "Normal") -> None:
    style = doc.styles.add_style(style_id, WD_STYLE_TYPE.PARAGRAPH)
    style.base_style = doc.styles[based_on]
    style.quick_style = True
    _restyle(style, name, p, r)


def setup_styles(doc, *, certificate: bool = False) -> None:
    styles = doc.styles.element
    defaults = styles.find(qn("w:docDefaults"))
    defaults.getparent().remove(defaults)
    styles.insert(0, parse_xml(
        f'<w:docDefaults {nsdecls("w")}><w:rPrDefault><w:rPr>'
        f'<w:rFonts w:ascii="{LATIN}" w:hAnsi="{LATIN}" w:eastAsia="{FANGSONG}" w:cs="{LATIN}" w:hint="eastAsia"/>'
        f'<w:kern w:val="2"/><w:sz w:val="{SZ_3}"/><w:szCs w:val="{SZ_3}"/>'
        '<w:lang w:val="en-US" w:eastAsia="zh-CN" w:bidi="ar-SA"/></w:rPr></w:rPrDefault>'
        '<w:pPrDefault><w:pPr><w:widowControl/><w:spacing w:after="0" w:line="240" w:lineRule="auto"/></w:pPr></w:pPrDefault>'
        '</w:docDefaults>'))

    line = None if certificate else LINE
    body = rpr(FANGSONG, SZ_3, spacing=None if certificate else CONDENSE)
    _restyle(doc.styles["Normal"], None, ppr(line=line, rule="exact" if line else "auto", jc="both"), body)
    _restyle(doc.styles["Title"], None, ppr(line=720, jc="center", grid=False),
             rpr(XBS, SZ_2))
    _restyle(doc.styles["Heading 1"], None, ppr(line=line, first_chars=200, keep_next=True, outline=0,
                                                extra="<w:keepLines/>"), rpr(HEITI, SZ_3, spacing=CONDENSE))
    _restyle(doc.styles["Heading 2"], None, ppr(line=line, first_chars=200, keep_next=True, outline=1,
                                                extra="<w:keepLines/>"), rpr(KAITI, SZ_3, spacing=CONDENSE))
    _add_style(doc, BODY, "公文正文", ppr(line=line, first_chars=200, jc="both"), body)
    _add_style(doc, PLAIN, "公文顶格", ppr(line=line, jc="both"), body)
    _add_style(doc, SIGN, "公文落款", ppr(line=line, jc="right", right_chars=400, extra="<w:keepLines/>"), body)
    # no extra space between Chinese and Arabic numerals (autoSpaceDE/DN): the date is as wide as counted
    _add_style(doc, SIGNATURE, "公文署名", ppr(line=line, jc="center", left=SIGN_LEFT, extra="<w:keepLines/>",
                                           tail='<w:autoSpaceDE w:val="0"/><w:autoSpaceDN w:val="0"/>'), body)
    _add_style(doc, TABLE, "表格文字", ppr(line=300, rule="atLeast", grid=False, jc="left"),
               rpr(FANGSONG, SZ_XIAO4))
    _add_style(doc, TABLE_HEAD, "表格标题行", ppr(line=300, rule="atLeast", grid=False, jc="center"),
               rpr(HEITI, SZ_XIAO4))
    _add_style(doc, NOTE, "版记", ppr(line=LINE, rule="exact", grid=False, jc="left",
                                     extra=f'<w:tabs><w:tab w:val="right" w:pos="{TEXT_W - 280}"/></w:tabs>'),
               rpr(FANGSONG, SZ_4))


def font_table() -> bytes:
    """fontTable.xml naming every font used, each Chinese one with a fallback (w:altName)."""
    fonts = [(LATIN, None, "00", "roman")]
    fonts += [(f, FALLBACK[f], "86", "modern" if f in (HEITI,) else "roman") for f in (SONG, FANGSONG, HEITI, KAITI, XBS)]
    body = "".join(
        f'<w:font w:name="{escape(name)}">' + (f'<w:altName w:val="{escape(alt)}"/>' if alt else "")
        + f'<w:charset w:val="{charset}"/><w:family w:val="{family}"/><w:pitch w:val="variable"/></w:font>'
        for name, alt, charset, family in fonts)
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:fonts {nsdecls("w", "r")}>'
            f'{body}</w:fonts>').encode()


# ---------------------------------------------------------------------------------------------
# page setup, footer
# ---------------------------------------------------------------------------------------------

def setup_page(doc, *, landscape: bool = False) -> None:
    sec = doc.sections[0]
    if landscape:
        sec.orientation = WD_ORIENT.LANDSCAPE
        sec.page_width, sec.page_height = Twips(A4_H), Twips(A4_W)
        for side in ("top", "bottom", "left", "right"):
            setattr(sec, f"{side}_margin", Twips(1418))  # 25 mm all round
        sec.header_distance = sec.footer_distance = Twips(851)
        grid = '<w:docGrid w:type="lines" w:linePitch="312"/>'
    else:
        sec.orientation = WD_ORIENT.PORTRAIT
        sec.page_width, sec.page_height = Twips(A4_W), Twips(A4_H)
        for side, value in MARGIN.items():
            setattr(sec, f"{side}_margin", Twips(value))
        sec.header_distance = Twips(851)  # 15 mm
        sec.footer_distance = Twips(1304)  # 23 mm: the page number sits ~7 mm below the text block
        grid = f'<w:docGrid w:type="linesAndChars" w:linePitch="{LINE}" w:charSpace="{CHAR_SPACE}"/>'
    sec.gutter = Twips(0)
    sect = sec._sectPr
    old = sect.find(qn("w:docGrid"))
    new = parse_xml(grid.replace("<w:docGrid", f"<w:docGrid {nsdecls('w')}", 1))
    if old is not None:
        old.addprevious(new)
        sect.remove(old)
    else:
        sect.append(new)


def page_number_footer(doc) -> None:
    """— 1 — in 4号 宋体: odd pages right, even pages left, one character from the edge."""
    doc.settings.odd_and_even_pages_header_footer = True
    sec = doc.sections[0]
    r = rpr(SONG, SZ_4, latin=SONG)

    def fill(footer, jc: str, side: str) -> None:
        footer.is_linked_to_previous = False
        p = footer.paragraphs[0]._p
        for child in list(p):
            p.remove(child)
        xml = (f'<w:p {nsdecls("w")}><w:pPr><w:snapToGrid w:val="0"/><w:ind w:{side}Chars="100" w:{side}="280"/>'
               f'<w:jc w:val="{jc}"/></w:pPr>'
               f'<w:r>{r}<w:t xml:space="preserve">— </w:t></w:r>'
               f'<w:r>{r}<w:fldChar w:fldCharType="begin"/></w:r>'
               f'<w:r>{r}<w:instrText xml:space="preserve"> PAGE </w:instrText></w:r>'
               f'<w:r>{r}<w:fldChar w:fldCharType="separate"/></w:r>'
               f'<w:r>{r}<w:t>1</w:t></w:r>'
               f'<w:r>{r}<w:fldChar w:fldCharType="end"/></w:r>'
               f'<w:r>{r}<w:t xml:space="preserve"> —</w:t></w:r></w:p>')
        p.addprevious(parse_xml(xml))
        p.getparent().remove(p)

    fill(sec.footer, "right", "right")
    fill(sec.even_page_footer, "left", "left")


# ---------------------------------------------------------------------------------------------
# body helpers (raw OOXML appended before the section properties)
# ---------------------------------------------------------------------------------------------

class Body:
    def __init__(self, doc):
        self.doc = doc
        self.anchor = doc.element.body.sectPr

    def _add(self, xml: str) -> None:
        self.anchor.addprevious(parse_xml(xml))

    def p(self, text: str = "", style: str = BODY, *, jc: str | None = None, r: str = "", extra_ppr: str = "",
          border: str = "", keep_next: bool = False) -> None:
        """One paragraph; text may hold docxtpl tags and \n (a line break inside the paragraph).
        r: run properties (raw) for direct formatting. keep_next: on the same page as the next one."""
        p_pr = f'<w:pStyle w:val="{style}"/>' + ("<w:keepNext/>" if keep_next else "")
        if border:
            p_pr += border
        p_pr += extra_ppr
        if jc:
            p_pr += f'<w:jc w:val="{jc}"/>'
        run = "<w:r><w:br/></w:r>".join(f'<w:r>{r}<w:t xml:space="preserve">{escape(line)}</w:t></w:r>'
                                         for line in text.split("\n")) if text else ""
        self._add(f'<w:p {nsdecls("w")}><w:pPr>{p_pr}</w:pPr>{run}</w:p>')

    def tag(self, tag: str) -> None:
        """A paragraph holding only a {%p … %} tag (docxtpl removes the paragraph)."""
        self.p(tag, PLAIN)

    def blank(self, n: int = 1, style: str = PLAIN, keep_next: bool = False) -> None:
        for _ in range(n):
            self.p("", style, keep_next=keep_next)

    def page_break(self) -> None:
        self._add(f'<w:p {nsdecls("w")}><w:pPr><w:pStyle w:val="{PLAIN}"/></w:pPr>'
                  '<w:r><w:br w:type="page"/></w:r></w:p>')

    def table(self, columns: list[tuple[str, int, str]], rows: list, *, font: str = TABLE, size: int | None = None,
              header: bool = True, keep_next: bool = False) -> None:
        """A bordered table: columns are (header, width in twips, alignment of the data cells).

        rows: each a list of cell texts (one per column), or a str: a control row holding only a
        {%tr … %} tag, written as one merged cell. Widths must add up to at most the text width.
        keep_next: the table on the same page as the paragraph after it (a signature under it).
        """
        keep = "<w:keepNext/>" if keep_next else ""
        widths = [w for _, w, _ in columns]
        total = sum(widths)
        assert total <= TEXT_W, (total, TEXT_W)
        border = "".join(f'<w:{side} w:val="single" w:sz="4" w:space="0" w:color="000000"/>'
                         for side in ("top", "left", "bottom", "right", "insideH", "insideV"))
        size_r = ""
        if size:
            size_r = f'<w:rPr><w:sz w:val="{size}"/><w:szCs w:val="{size}"/></w:rPr>'
        xml = [f'<w:tbl {nsdecls("w")}><w:tblPr><w:tblW w:w="{total}" w:type="dxa"/><w:jc w:val="center"/>'
               f'<w:tblBorders>{border}</w:tblBorders><w:tblLayout w:type="fixed"/>'
               '<w:tblCellMar><w:top w:w="28" w:type="dxa"/><w:left w:w="85" w:type="dxa"/>'
               '<w:bottom w:w="28" w:type="dxa"/><w:right w:w="85" w:type="dxa"/></w:tblCellMar>'
               '<w:tblLook w:val="04A0" w:firstRow="1" w:lastRow="0" w:firstColumn="1" w:lastColumn="0" '
               'w:noHBand="0" w:noVBand="1"/></w:tblPr><w:tblGrid>']
        xml += [f'<w:gridCol w:w="{w}"/>' for w in widths]
        xml.append("</w:tblGrid>")

        def cell(text: str, width: int, style: str, jc: str, span: int = 1) -> str:
            span_xml = f'<w:gridSpan w:val="{span}"/>' if span > 1 else ""
            run = f'<w:r>{size_r}<w:t xml:space="preserve">{escape(text)}</w:t></w:r>' if text else ""
            return (f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/>{span_xml}<w:vAlign w:val="center"/></w:tcPr>'
                    f'<w:p><w:pPr><w:pStyle w:val="{style}"/>{keep}<w:jc w:val="{jc}"/></w:pPr>{run}</w:p></w:tc>')

        if header:
            xml.append('<w:tr><w:trPr><w:cantSplit/><w:tblHeader/><w:trHeight w:val="454"/></w:trPr>')
            xml += [cell(head, w, TABLE_HEAD, "center") for head, w, _ in columns]
            xml.append("</w:tr>")
        for row in rows:
            xml.append('<w:tr><w:trPr><w:cantSplit/><w:trHeight w:val="397"/></w:trPr>')
            if isinstance(row, str):
                xml.append(cell(row, total, font, "left", len(columns)))
            else:
                assert len(row) <= len(columns), row
                col = 0
                for item in row:
                    text, span = item if isinstance(item, tuple) else (item, 1)
                    width = sum(widths[col:col + span])
                    xml.append(cell(text, width, font, columns[col][2], span))
                    col += span
                assert col == len(columns), row
            xml.append("</w:tr>")
        xml.append("</w:tbl>")
        self._add("".join(xml))
        # a little air below the table (6 pt), off the line grid
        self._add(f'<w:p {nsdecls("w")}><w:pPr><w:pStyle w:val="{PLAIN}"/>{keep}'
                  '<w:spacing w:before="0" w:after="0" w:line="120" w:lineRule="exact"/></w:pPr></w:p>')


def new_document(*, landscape: bool = False, title: str = ""):
    doc = docx.Document()
    body = doc.element.body
    for child in list(body):
        if child.tag != qn("w:sectPr"):
            body.remove(child)
    setup_styles(doc, certificate=landscape)
    setup_page(doc, landscape=landscape)
    if not landscape:
        page_number_footer(doc)
    cp = doc.core_properties
    stamp = dt.datetime(2019, 1, 1)
    cp.title, cp.author, cp.last_modified_by = title, "xlflow", "xlflow"
    cp.subject = cp.keywords = cp.comments = cp.category = ""
    cp.created = cp.modified = stamp
    cp.last_printed = stamp
    cp.revision = 1
    return doc, Body(doc)


KEEP_STYLES = {"Normal", "DefaultParagraphFont", "TableNormal", "NoList", "Title", "Heading1", "Heading2", "Header",
               "Footer", BODY, PLAIN, SIGN, SIGNATURE, TABLE, TABLE_HEAD, NOTE}
DROP_PARTS = ("/thumbnail", "/stylesWithEffects", "/customXml", "/webSettings", "/numbering")


def trim(doc) -> None:
    """Only what the documents use: python-docx's default package carries ~800 KB of styles
    (and parts Word does not need) that every render would parse and zip again."""
    pkg = doc.part.package
    for owner in (pkg, doc.part):
        for rid, rel in list(owner.rels.items()):
            if rel.reltype.endswith(DROP_PARTS):
                owner.rels.pop(rid)
    styles = doc.styles.element
    for st in styles.findall(qn("w:style")):
        if st.get(qn("w:styleId")) not in KEEP_STYLES:
            styles.remove(st)
            continue
        for ref in ("w:link", "w:next", "w:basedOn"):
            el = st.find(qn(ref))
            if el is not None and el.get(qn("w:val")) not in KEEP_STYLES:
                st.remove(el)


def save(doc, path: Path) -> None:
    """Save with fixed zip timestamps and our font table, so the bytes are reproducible."""
    trim(doc)
    pkg = doc.part.package
    for part in pkg.iter_parts():
        if str(part.partname) == "/word/fontTable.xml":
            part._blob = font_table()
    raw = io.BytesIO()
    doc.save(raw)
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "[Content_Types].xml":
                data = data.replace(b'<Default Extension="jpeg" ContentType="image/jpeg"/>', b"")
            z = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            z.compress_type = zipfile.ZIP_DEFLATED
            z.external_attr = 0o644 << 16
            dst.writestr(z, data)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out.getvalue())


def sign(b: Body, who: str, when: str, gap: int = 2) -> None:
    """署名 over 成文日期, centred on it, in one paragraph that is never split and stays on the page
    of the text above (the paragraph before it is written with keep_next=True)."""
    b.blank(gap, keep_next=True)
    b.p(f"{who}\n{when}", SIGNATURE)


# ---------------------------------------------------------------------------------------------
# the templates
# ---------------------------------------------------------------------------------------------

def acceptance():
    doc, b = new_document(title="党支部建设达标验收意见书")
    b.p("{{ title }}", "Title")
    b.p("（{{ year }}年度）", PLAIN, jc="center", r=rpr(KAITI, SZ_3))
    b.blank()
    b.table([("项目", 1500, "center"), ("内容", 2922, "left"), ("项目", 1500, "center"), ("内容", 2922, "left")], [
        ["党支部名称", ("{{ branch.name }}", 3)],
        ["所属党总支", "{{ branch.general }}", "支部编码", "{{ branch.code }}"],
        ["支部类型", "{{ branch.type }}", "支部书记", "{{ branch.secretary }}"],
        ["正式党员", "{{ branch.full_members }}", "预备党员", "{{ branch.probationary_members }}"],
        ["报送日期", ("{{ branch.received_on }}", 3)],
        ["验收进度", ("{{ stage }}", 3)],
    ], header=False)
    b.blank()
    b.p("一、验收得分", "Heading1")
    b.table([("序号", 900, "center"), ("建设内容", 4344, "left"), ("分值", 1800, "center"), ("得分", 1800, "center")], [
        "{%tr for c in scores %}",
        ["{{ c.seq }}", "{{ c.name }}", "{{ c.weight }}", "{{ c.score }}"],
        "{%tr endfor %}",
        [("合计", 2), "{{ weight_total }}", "{{ total }}"],
    ])
    b.p("验收总分{{ total }}分（达标线{{ pass_line }}分），计分等次为“{{ grade }}”。得分供验收参考，"
        "是否达标以党总支初验、学院复验的结论和学院党委的认定为准。")
    b.tag("{%p if veto %}")
    b.p("否决项“{{ veto }}”评为“未达标”，总分再高也不能认定达标，须限期整改后重新申请验收。")
    b.tag("{%p endif %}")
    b.tag("{%p if deductions %}")
    b.p("扣分的指标如下：", keep_next=True)
    b.table([("指标", 1100, "center"), ("内容", 3344, "left"), ("验收等次", 1400, "center"),
             ("等次来源", 1400, "center"), ("得分/分值", 1600, "center")], [
        "{%tr for d in deductions %}",
        ["{{ d.code }}", "{{ d.short }}", "{{ d.rating }}", "{{ d.source }}", "{{ d.points }}"],
        "{%tr endfor %}",
    ])
    b.tag("{%p else %}")
    b.p("各项指标的验收等次均为“达标”，没有扣分。")
    b.tag("{%p endif %}")

    b.p("二、台账核验情况", "Heading1")
    b.p("依据支部报送的党员名册、“三会一课”记录、入党积极分子等台账，对可以核验的指标逐项核验如下。")
    b.tag("{%p if evidence %}")
    b.table([("指标", 1000, "center"), ("核验要求", 2744, "left"), ("台账情况", 3300, "left"),
             ("结论", 1800, "center")], [
        "{%tr for e in evidence %}",
        ["{{ e.code }}", "{{ e.requirement }}", "{{ e.measured }}", "{{ e.verdict }}"],
        "{%tr endfor %}",
    ])
    b.tag("{%p else %}")
    b.p("本次报送没有可以核验的台账项目。")
    b.tag("{%p endif %}")
    b.tag("{%p if findings %}")
    b.p("自评与台账不一致之处：")
    b.tag("{%p for f in findings %}")
    b.p("{{ loop.index }}．{{ f }}")
    b.tag("{%p endfor %}")
    b.tag("{%p endif %}")

    b.p("三、存在问题及整改要求", "Heading1")
    b.tag("{%p if problems %}")
    b.table([("序号", 500, "center"), ("指标", 800, "center"), ("存在问题", 2200, "left"), ("整改措施", 2244, "left"),
             ("责任人", 800, "center"), ("完成时限", 1500, "center"), ("状态", 800, "center")], [
        "{%tr for q in problems %}",
        ["{{ q.seq }}", "{{ q.indicator }}", "{{ q.problem }}", "{{ q.measure }}", "{{ q.owner }}",
         "{{ q.deadline }}", "{{ q.status }}"],
        "{%tr endfor %}",
    ], size=SZ_5)
    b.p("请支部按上表逐项整改，在完成时限前将整改情况书面报党总支；尚未完成的问题，在下一年度验收中重点复查。")
    b.tag("{%p else %}")
    b.p("支部未报告存在问题。")
    b.tag("{%p endif %}")

    for no, key, who, unit in (("四", "first", "党总支初验意见", "党总支（盖章）"),
                               ("五", "second", "学院复验意见", "党委组织部（盖章）")):
        b.p(f"{no}、{who}", "Heading1")
        b.p(f"结论：{{{{ {key}.conclusion }}}}", keep_next=True)
        b.tag(f"{{%p if {key}.opinion %}}")
        b.p(f"{{{{ {key}.opinion }}}}", keep_next=True)
        b.tag("{%p endif %}")
        b.tag(f"{{%p if {key}.comments %}}")
        b.table([("指标", 1100, "center"), ("内容", 2744, "left"), ("等次", 1200, "center"), ("意见", 3800, "left")], [
            f"{{%tr for c in {key}.comments %}}",
            ["{{ c.code }}", "{{ c.short }}", "{{ c.rating }}", "{{ c.comment }}"],
            "{%tr endfor %}",
        ], keep_next=True)
        b.tag("{%p endif %}")
        b.blank(keep_next=True)
        b.p(f"{unit}　　　　负责人（签字）：{{{{ {key}.reviewer }}}}\n{{{{ {key}.date }}}}", SIGN)

    b.p("六、学院党委认定意见", "Heading1")
    b.tag("{%p if recognized %}")
    b.p("经{{ meeting }}研究，该支部达到《三标准三规范》建设要求，认定为达标党支部"
        "{% if model %}，评为校级“样板党支部”{% endif %}。", keep_next=True)
    b.tag("{%p elif decided %}")
    b.p("经{{ meeting }}研究，暂不认定为达标党支部{% if decision_note %}（{{ decision_note }}）{% endif %}，"
        "请限期整改后重新申请验收。", keep_next=True)
    b.tag("{%p else %}")
    b.p("尚未认定。目前进度：{{ stage }}。是否认定达标，以学院党委会议的决定为准。")
    b.tag("{%p endif %}")
    b.tag("{%p if decided %}")
    b.blank(keep_next=True)  # a form's signature lines (as in 四、五), right-aligned, never split
    b.p("{{ committee }}（盖章）\n{{ decision_date }}", SIGN)
    b.tag("{%p endif %}")
    return doc


def decision():
    doc, b = new_document(title="认定和表彰决定")
    # 版头: 发文机关标志 (red 小标宋), 发文字号 (a draft says so instead), red separator line
    b.blank(1)
    b.p("{{ committee }}文件", PLAIN, jc="center", r=rpr(XBS, 56, color=RED),
        extra_ppr='<w:snapToGrid w:val="0"/><w:spacing w:before="0" w:after="0" w:line="1200" w:lineRule="exact"/>')
    b.blank(2)
    b.p("{{ doc_line }}", PLAIN, jc="center",
        border=f'<w:pBdr><w:bottom w:val="single" w:sz="18" w:space="12" w:color="{RED}"/></w:pBdr>')
    b.blank(2)
    b.p("{{ title }}", "Title")
    b.blank()
    b.p("各总支，院属各单位：", PLAIN)
    b.p("{{ year }}年，学院党委深入实施党支部建设“两化一创”强基引领三年行动计划，各党总支、党支部对照"
        "《三标准三规范》建设要点清单自查自建。{{ basis }}，全院{{ total_branches }}个党支部中，"
        "{{ recognized }}个达到建设标准{% if draft %}，拟提请学院党委认定为达标党支部{% else %}，"
        "经{{ meeting }}研究，认定为达标党支部{% endif %}（名单见{{ annexes[0].no }}）。")
    b.tag("{%p if models %}")
    b.p("为树立典型、激励先进，{% if draft %}拟{% else %}经学院党委研究，决定{% endif %}授予{{ models[0].name }}等"
        "{{ models|length }}个党支部校级“样板党支部”称号{% if show_benchmarks %}，授予{{ benchmarks[0].name }}等"
        "{{ benchmarks|length }}个党总支“标杆院系”称号{% endif %}。")
    b.p("希望受到表彰的党支部珍惜荣誉，发挥示范引领作用。各党支部要以先进为榜样，对照标准查漏补缺、"
        "整改提升，推动学院党支部建设质量全面提升。", keep_next=True)
    b.tag("{%p else %}")
    b.p("{{ no_models }}希望认定达标的党支部巩固成果、对标争先，尚未达标的党支部对照标准限期整改，"
        "推动学院党支部建设质量全面提升。", keep_next=True)
    b.tag("{%p endif %}")
    b.blank(keep_next=True)
    b.tag("{%p for a in annexes %}")
    b.p("{{ a.line }}", keep_next=True)
    b.tag("{%p endfor %}")
    sign(b, "{{ signer }}", "{{ date }}")
    b.tag("{%p for a in annexes %}")
    b.page_break()
    b.p("{{ a.no }}", PLAIN, r=rpr(HEITI, SZ_3))
    b.blank()
    b.p("{{ a.title }}", "Title")
    b.blank()
    b.table([("序号", 1000, "center"), ("名称", 4644, "left"), ("{{ a.unit }}", 3200, "left")], [
        "{%tr for m in a.rows %}",
        ["{{ m.seq }}", "{{ m.name }}", "{{ m.general }}"],
        "{%tr endfor %}",
    ])
    b.tag("{%p endfor %}")
    imprint(doc, b, "{{ committee }}办公室", "{{ printed }}")
    return doc


def imprint(doc, b: Body, office: str, printed: str) -> None:
    """The 版记 (GB/T 9704 8.2): 印发机关 左空一字 and 印发日期 右空一字 between two full-width rules,
    at the foot of the last page, which is an even page (the back of the last sheet). It is a
    section of its own that starts on the next even page (Word and LibreOffice put a blank page
    before it when the text ends on an even page), without page number (GB/T 9704 7.5), holding
    the 版记 in a frame at the bottom of the text block."""
    b._add(f'<w:p {nsdecls("w")}><w:pPr><w:pStyle w:val="{PLAIN}"/>'
           '<w:spacing w:before="0" w:after="0" w:line="20" w:lineRule="exact"/></w:pPr></w:p>')
    doc.add_section(WD_SECTION.EVEN_PAGE)
    sec = doc.sections[-1]
    for footer in (sec.footer, sec.even_page_footer):
        footer.is_linked_to_previous = False  # an empty footer of its own: no page number
    rule = '<w:{} w:val="single" w:sz="8" w:space="1" w:color="000000"/>'
    r = rpr(FANGSONG, SZ_4)
    b._add(f'<w:p {nsdecls("w")}><w:pPr><w:pStyle w:val="{NOTE}"/>'
           f'<w:framePr w:w="{TEXT_W}" w:wrap="notBeside" w:vAnchor="margin" w:hAnchor="margin" '
           'w:xAlign="center" w:yAlign="bottom"/>'
           f'<w:pBdr>{rule.format("top")}{rule.format("bottom")}</w:pBdr>'
           f'<w:tabs><w:tab w:val="left" w:pos="280"/><w:tab w:val="right" w:pos="{TEXT_W - 280}"/></w:tabs>'
           '<w:ind w:left="0" w:right="0"/></w:pPr>'
           f'<w:r>{r}<w:tab/><w:t xml:space="preserve">{escape(office)}</w:t></w:r>'
           f'<w:r>{r}<w:tab/><w:t xml:space="preserve">{escape(printed)}</w:t></w:r></w:p>')


def certificate():
    doc, b = new_document(landscape=True, title="证书")
    big = '<w:spacing w:before="0" w:after="0" w:line="{}" w:lineRule="exact"/>'
    b.blank(1)
    b.p("荣 誉 证 书", PLAIN, jc="center", r=rpr(XBS, 72, color=RED, spacing=40), extra_ppr=big.format(1300))
    b.blank(1)
    b.p("{{ branch.name }}：", PLAIN, r=rpr(FANGSONG, 40), extra_ppr=big.format(760))
    b.p("在{{ year }}年党支部建设“两化一创”强基引领行动中，{{ basis }}，"
        "你支部达到《三标准三规范》建设要求，被认定为", BODY, r=rpr(FANGSONG, 40),
        extra_ppr=big.format(760) + '<w:ind w:firstLineChars="200" w:firstLine="800"/>')
    b.p("{{ honor }}", PLAIN, jc="center", r=rpr(XBS, 64, color=RED), extra_ppr=big.format(1200))
    b.p("特发此证，以资鼓励。", BODY, r=rpr(FANGSONG, 40),
        extra_ppr=big.format(760) + '<w:ind w:firstLineChars="200" w:firstLine="800"/>')
    b.blank(1)
    b.p("{{ committee }}", PLAIN, jc="right", r=rpr(FANGSONG, 40), extra_ppr=big.format(760))
    b.p("{{ date }}", PLAIN, jc="right", r=rpr(FANGSONG, 40), extra_ppr=big.format(760))
    b.p("证书编号：{{ cert_no }}", PLAIN, r=rpr(FANGSONG, SZ_XIAO4), extra_ppr=big.format(400))
    return doc


def report_to_the_committee(name: str, purpose: str, first_heading: str):
    """A 总支's (or the college's) report to the committee: its title, 学院党委：, the opening that cites
    the three-year plan and says what is reported, then the first heading."""
    doc, b = new_document(title=name)
    b.p("{{ title }}", "Title")
    b.blank()
    b.p("学院党委：", PLAIN)
    b.p("按照《{{ college }}党支部建设“两化一创”强基引领三年行动计划（2019-2021）》要求，" + purpose)
    b.p(first_heading, "Heading1")
    return doc, b


def annual():
    doc, b = report_to_the_committee("党总支年度党支部建设情况报告",
                                     "现将本总支{{ year }}年度党支部标准化规范化建设情况报告如下。", "一、基本情况")
    b.p("本总支共有党支部{{ total }}个（{{ types }}）。截至{{ as_of }}，{% if not missing %}所属党支部均已报送验收材料"
        "{% elif not returned %}所属党支部均未报送验收材料"
        "{% else %}{{ returned }}个党支部报送了验收材料，{{ missing|length }}个尚未报送{% endif %}。")
    b.tag("{%p if returned %}")
    b.p("验收进度：{{ stages }}；{{ models_text }}。按验收计分，{{ grades }}，平均得分{{ average }}分。")
    b.tag("{%p endif %}")
    b.p("二、各党支部验收得分", "Heading1")
    b.tag("{%p if rows %}")
    b.table([("序号", 700, "center"), ("党支部", 2744, "left"), ("验收进度", 1600, "center"), ("得分", 900, "center"),
             ("等次", 900, "center"), ("全院排名", 1150, "center"), ("备注", 850, "center")], [
        "{%tr for r in rows %}",
        ["{{ r.seq }}", "{{ r.name }}", "{{ r.stage }}", "{{ r.total }}", "{{ r.grade }}", "{{ r.rank }}", "{{ r.note }}"],
        "{%tr endfor %}",
    ], size=SZ_5)
    b.p("各项建设内容的平均得分和得分率如下：", keep_next=True)
    b.table([("建设内容", 3844, "left"), ("分值", 1500, "center"), ("平均得分", 1750, "center"),
             ("得分率", 1750, "center")], [
        "{%tr for c in categories %}",
        ["{{ c.name }}", "{{ c.weight }}", "{{ c.average }}", "{{ c.rate }}"],
        "{%tr endfor %}",
    ])
    b.tag("{%p else %}")
    b.p("本总支尚无党支部报送验收材料。")
    b.tag("{%p endif %}")
    b.p("三、存在的主要问题及整改情况", "Heading1")
    b.tag("{%p if problems %}")
    b.p("各党支部共查摆问题{{ problems|length }}个，其中{{ problem_status }}。", keep_next=True)
    b.table([("序号", 700, "center"), ("党支部", 2600, "left"), ("指标", 900, "center"), ("存在问题", 3644, "left"),
             ("整改状态", 1000, "center")], [
        "{%tr for q in problems %}",
        ["{{ q.seq }}", "{{ q.branch }}", "{{ q.indicator }}", "{{ q.problem }}", "{{ q.status }}"],
        "{%tr endfor %}",
    ], size=SZ_5)
    b.tag("{%p else %}")
    b.p("各党支部未报告存在问题。")
    b.tag("{%p endif %}")
    b.p("四、未报送党支部", "Heading1")
    b.tag("{%p if missing %}")
    b.p("下列{{ missing|length }}个党支部尚未报送验收材料，本总支将督促其尽快报送：", keep_next=True)
    b.table([("序号", 700, "center"), ("支部编码", 1300, "center"), ("党支部", 4044, "left"),
             ("支部书记", 1100, "center"), ("联系电话", 1700, "center")], [
        "{%tr for m in missing %}",
        ["{{ m.seq }}", "{{ m.code }}", "{{ m.name }}", "{{ m.secretary }}", "{{ m.phone }}"],
        "{%tr endfor %}",
    ], size=SZ_5)
    b.tag("{%p else %}")
    b.p("本总支所属党支部均已报送验收材料。")
    b.tag("{%p endif %}")
    b.p("五、下一步工作", "Heading1")
    b.p("本总支将针对验收中发现的问题，督促各党支部逐项整改、按期销号；对未达标的党支部限期整顿，"
        "确保所属党支部全部达标；积极培育校级“样板党支部”，推动党支部建设质量整体提升。", keep_next=True)
    b.p("特此报告。", keep_next=True)
    sign(b, "{{ signer }}", "{{ date }}")
    return doc


def reminder():
    doc, b = new_document(title="催报通知")
    b.p("{{ doc_code }}", PLAIN, jc="right")
    b.p("关于督促报送党支部建设验收材料的通知", "Title")
    b.blank()
    b.p("{{ general }}：", PLAIN)
    b.p("按照学院党委关于党支部建设“两化一创”强基引领行动的安排，各党支部应于{{ deadline }}前报送"
        "《党支部建设填报表》，各党总支应于{{ first_deadline }}前完成初验。截至{{ as_of }}，你总支有以下事项尚未完成，请督促办理。")
    for key, text in (
            ("missing", "下列{{ missing|length }}个党支部尚未报送："),
            ("rejected", "下列{{ rejected|length }}个党支部的填报表已退回"
                                                 "（退回说明中标明了需要修改之处），请督促修改后重新报送："),
            ("reviews", "下列{{ reviews|length }}个党支部已报送，但初验截止日期已过，党总支尚未交回初验结论："),
            ("rectify", "下列{{ rectify|length }}个党支部的验收结论为“整改后再验”，整改期限已过，"
                                         "尚未交回整改后的填报表：")):
        b.tag(f"{{%p if {key} %}}")
        b.p(text, keep_next=True)
        what = [("情况", 1900, "left")] if key == "rectify" else []  # the others' 情况 is the sentence above
        b.table([("序号", 700, "center"), ("支部编码", 1300, "center"), ("党支部", 4144 - 1900 * len(what), "left"),
                 *what, ("支部书记", 1000, "center"), ("联系电话", 1700, "center")], [
            f"{{%tr for m in {key} %}}",
            ["{{ m.seq }}", "{{ m.code }}", "{{ m.name }}", *(["{{ m.what }}"] if what else []), "{{ m.secretary }}",
             "{{ m.phone }}"],
            "{%tr endfor %}",
        ], size=SZ_5)
        b.tag("{%p endif %}")
    b.tag("{%p if plans %}")  # 整顿转化 (issue 9): the 总支's own plan, past its 完成期限
    b.p("下列{{ plans|length }}个党支部上年度未经学院党委认定达标，列入本年度整顿转化，整顿完成期限已过，"
        "目前仍未认定达标，请督促责任人落实整顿措施：", keep_next=True)
    b.table([("序号", 600, "center"), ("党支部", 2500, "left"), ("上年度情况", 2300, "left"),
             ("责任人", 900, "center"), ("完成期限", 1400, "center"), ("目前进度", 1144, "center")], [
        "{%tr for m in plans %}",
        ["{{ m.seq }}", "{{ m.name }}", "{{ m.what }}", "{{ m.owner }}", "{{ m.deadline }}", "{{ m.now }}"],
        "{%tr endfor %}",
    ], size=SZ_5)
    b.tag("{%p endif %}")
    b.tag("{%p if progress %}")
    b.p("{{ progress }}确保学院党支部全部达标，是三年行动计划的目标，请抓紧推进。")
    b.tag("{%p endif %}")
    b.tag("{%p if overdue %}")
    b.p("报送截止日期已过，请在收到本通知后3个工作日内办结上述事项。")
    b.tag("{%p else %}")
    b.p("请督促上述党支部在{{ deadline }}前报送。")
    b.tag("{%p endif %}")
    b.p("填报表请使用下发的模板填写，不要改动表格结构；被退回的，按退回说明修改后重新报送。")
    b.p("联系方式：{{ contact }}", keep_next=True)
    sign(b, "{{ signer }}", "{{ date }}", gap=1)
    return doc


def summary():
    doc, b = report_to_the_committee("三年行动总结", "{{ general }}党支部建设经过达标引领、提质引领、创优引领三个阶段，"
                                     "现将三年来的情况总结如下。", "一、三年来的进展")
    b.p("{{ progress }}；目前共有校级“样板党支部”{{ models }}个。{% if benchmarks %}{{ benchmarks }}被认定为“标杆院系”。{% endif %}",
        keep_next=True)
    b.table([("年度", 1800, "center"), ("党支部数", 1700, "center"), ("认定达标", 1800, "center"),
             ("认定比例", 1744, "center"), ("样板党支部", 1800, "center")], [
        "{%tr for t in table %}",
        ["{{ t.year }}", "{{ t.branches }}", "{{ t.recognized }}", "{{ t.rate }}", "{{ t.models }}"],
        "{%tr endfor %}",
    ])
    b.p("二、各党支部三年验收情况", "Heading1")
    b.p("各党支部每年的验收进度如下（认定达标以学院党委会议的决定为准）：", keep_next=True)
    b.table([("序号", 700, "center"), ("党支部", 3544, "left"), ("{{ years[0] }}", 1530, "center"),
             ("{{ years[1] }}", 1530, "center"), ("{{ years[2] }}", 1540, "center")], [
        "{%tr for r in rows %}",
        ["{{ r.seq }}", "{{ r.name }}", "{{ r.cells[0] }}", "{{ r.cells[1] }}", "{{ r.cells[2] }}"],
        "{%tr endfor %}",
    ], size=SZ_5)
    b.p("三、问题整改", "Heading1")
    b.tag("{%p if rectified %}")
    b.p("{{ rectified }}。", keep_next=True)
    b.tag("{%p endif %}")
    b.p("往年查摆、本年度带入的问题{{ carried }}个，已完成整改{{ closed }}个；本年度新查摆问题{{ opened }}个。"
        "尚未完成的问题将继续跟踪，逐项销号。")
    b.p("四、下一步工作", "Heading1")
    b.p("巩固三年行动成果，坚持标准化规范化建设常态长效，持续开展达标创建和样板培育，推动党支部建设质量整体提升。",
        keep_next=True)
    b.p("特此报告。", keep_next=True)
    sign(b, "{{ signer }}", "{{ date }}")
    return doc


TEMPLATES = {
    "三年总结.docx": summary,
    "达标验收意见书.docx": acceptance,
    "表彰决定.docx": decision,
    "证书.docx": certificate,
    "年度报告.docx": annual,
    "催报通知.docx": reminder,
}


def main(argv: list[str]) -> None:
    out = Path(argv[0]) if argv else OUT
    for name, build in TEMPLATES.items():
        save(build(), out / name)
        print(f"wrote {out / name}")


if __name__ == "__main__":
    main(sys.argv[1:])

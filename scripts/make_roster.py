"""Write the sample branches roster, templates/branches.xlsx (deterministic: same bytes every run).

The college is the seed's 鹤壁职业技术学院; every person and phone number below is invented.

Branch code scheme — ``<总支前缀>-<类型字母><两位序号>``, e.g. ``JD-T01``:

    总支前缀  JD 机电工程学院  XX 信息工程学院  YX 医学院  JM 经济管理学院  JZ 建筑工程学院
              MY 马克思主义学院  JG 机关  HQ 后勤服务
    类型字母  T 教师党支部  S 学生党支部  G 机关党支部  H 后勤服务党支部  R 离退休党支部
              U 联合党支部
    序号      counts from 01 within one 总支 and one type, in roster order.

Codes are generated from the table below, so they stay stable as long as branches are only
appended to the end of their (总支, 类型) group. A code is never reused for another branch.

Phones are fictional on purpose: office numbers 0392-5550xxx (Hebi's area code with the
reserved-looking 555 exchange) and mobiles 130-0000-xxxx.

Usage: python scripts/make_roster.py [OUTPUT.xlsx]   (default: templates/branches.xlsx)
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

import xlsxwriter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a plain script from a checkout, installed or not

from xlflow.constants import BRANCH_TYPES, ROSTER_COLUMNS, ROSTER_SHEET  # noqa: E402

TYPE_LETTERS = dict(zip(BRANCH_TYPES, "TSGHRU"))
T, S, G, H, R, U = BRANCH_TYPES  # 教师 学生 机关 后勤服务 离退休 联合

# (prefix, 总支 name, [(type, branch name, secretary, phone)])
# phone "" = not given (the column is optional); 1300000xxxx = a mobile.
GENERALS = [
    ("JD", "机电工程学院党总支", [
        (T, "机电工程学院第一教师党支部", "王建国", "0392-5550101"),
        (T, "机电工程学院第二教师党支部", "李红梅", "0392-5550102"),
        (T, "机电工程学院实训中心教师党支部", "张志强", "0392-5550103"),
        (S, "机电工程学院2017级学生党支部", "刘晓燕", "0392-5550104"),
        (S, "机电工程学院2018级学生党支部", "陈浩", "0392-5550104"),
        (S, "机电工程学院2019级学生党支部", "杨帆", "13000000105"),
        (U, "机电工程学院汽车与模具教研室联合党支部", "赵立新", "0392-5550106"),
    ]),
    ("XX", "信息工程学院党总支", [
        (T, "信息工程学院第一教师党支部", "孙丽华", "0392-5550201"),
        (T, "信息工程学院第二教师党支部", "周文斌", "0392-5550202"),
        (T, "信息工程学院软件技术教师党支部", "吴晓东", "0392-5550203"),
        (S, "信息工程学院2017级学生党支部", "郑雪", "0392-5550204"),
        (S, "信息工程学院2018级学生党支部", "冯磊", "0392-5550204"),
        (S, "信息工程学院计算机协会学生党支部", "褚静", "13000000205"),
        (U, "网络中心与现代教育技术中心联合党支部", "卫国庆", "0392-5550206"),
    ]),
    ("YX", "医学院党总支", [
        (T, "医学院护理教师党支部", "蒋秀英", "0392-5550301"),
        (T, "医学院临床医学教师党支部", "沈明", "0392-5550302"),
        (T, "医学院医学技术教师党支部", "韩春燕", "0392-5550303"),
        (S, "医学院2017级护理学生党支部", "朱丹", "0392-5550304"),
        (S, "医学院2018级护理学生党支部", "秦亚楠", "0392-5550304"),
        (S, "医学院2017级临床医学学生党支部", "尤俊杰", "0392-5550305"),
        (S, "医学院2018级临床医学学生党支部", "许婷婷", "0392-5550305"),
        (S, "医学院校外实习点学生临时党支部", "何佳", "13000000306"),
    ]),
    ("JM", "经济管理学院党总支", [
        (T, "经济管理学院第一教师党支部", "吕振华", "0392-5550401"),
        (T, "经济管理学院第二教师党支部", "施玉兰", "0392-5550402"),
        (S, "经济管理学院2017级学生党支部", "张丽娟", "0392-5550403"),
        (S, "经济管理学院2018级学生党支部", "孔德明", "0392-5550403"),
        (S, "经济管理学院电子商务专业学生党支部", "曹雨欣", "13000000404"),
        (S, "经济管理学院2019级学生党支部", "邱晓梅", "0392-5550403"),
        (U, "经济管理学院旅游与物流教研室联合党支部", "严海燕", "0392-5550405"),
    ]),
    ("JZ", "建筑工程学院党总支", [
        (T, "建筑工程学院第一教师党支部", "华志军", "0392-5550501"),
        (T, "建筑工程学院第二教师党支部", "金玉凤", "0392-5550502"),
        (S, "建筑工程学院2017级学生党支部", "魏鹏", "0392-5550503"),
        (S, "建筑工程学院2018级学生党支部", "陶冉", "0392-5550503"),
        (S, "建筑工程学院2019级学生党支部", "姜雯", ""),
        (U, "建筑工程学院测绘与工程造价专业学生联合党支部", "戚晓峰", "0392-5550504"),
    ]),
    ("MY", "马克思主义学院党总支", [
        (T, "马克思主义学院思政课第一教师党支部", "谢文华", "0392-5550601"),
        (T, "马克思主义学院思政课第二教师党支部", "邹建华", "0392-5550602"),
        (T, "公共基础教学部教师党支部", "喻红", "0392-5550603"),
        (U, "体育部与艺术教研室联合党支部", "柏建林", "0392-5550604"),
    ]),
    ("JG", "机关党总支", [
        (G, "党政办公室党支部", "史中华", "0392-5550701"),
        (G, "组织人事党支部", "窦永刚", "0392-5550702"),
        (G, "宣传统战党支部", "章秀兰", "0392-5550703"),
        (G, "教务处党支部", "袁飞", "0392-5550704"),
        (G, "学生工作处党支部", "苏建军", "0392-5550705"),
        (G, "招生就业处党支部", "潘玉梅", "0392-5550706"),
        (G, "财务处党支部", "葛淑珍", "0392-5550707"),
        (G, "科研与校企合作处党支部", "夏国强", "0392-5550708"),
        (G, "图书馆党支部", "范晓丽", "0392-5550709"),
        (U, "纪检监察与审计联合党支部", "彭志刚", "0392-5550710"),
        (U, "团委与工会联合党支部", "郎晓琳", "0392-5550711"),
        (R, "离退休第一党支部", "鲁振山", "13000000712"),
        (R, "离退休第二党支部", "韦桂兰", "13000000713"),
        (R, "离退休第三党支部", "常世明", ""),
    ]),
    ("HQ", "后勤服务党总支", [
        (H, "后勤管理处党支部", "马俊峰", "0392-5550801"),
        (H, "饮食服务中心党支部", "苗桂芝", "0392-5550802"),
        (H, "学生公寓管理中心党支部", "冯春生", "0392-5550803"),
        (H, "物业服务中心党支部", "胡玉琴", "0392-5550804"),
        (H, "校医院党支部", "方红霞", "0392-5550805"),
        (H, "基建与资产管理党支部", "俞志勇", "0392-5550806"),
        (G, "保卫处党支部", "任卫东", "0392-5550807"),
    ]),
]


def rows() -> list[tuple[str, str, str, str, str, str]]:
    """The roster rows in ROSTER_COLUMNS order: code, name, general, type, secretary, phone."""
    out = []
    for prefix, general, branches in GENERALS:
        seq: dict[str, int] = {}
        for kind, name, secretary, phone in branches:
            seq[kind] = seq.get(kind, 0) + 1
            code = f"{prefix}-{TYPE_LETTERS[kind]}{seq[kind]:02d}"
            out.append((code, name, general, kind, secretary, phone))
    return out


def write(path: Path) -> int:
    keys = list(ROSTER_COLUMNS)
    assert keys == ["code", "name", "general", "type", "secretary", "phone", "origin"], keys  # rows() order
    data = rows()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    wb = xlsxwriter.Workbook(str(tmp))
    # A fixed creation date keeps the file byte-identical between runs.
    wb.set_properties({"title": "支部名册", "author": "xlflow", "created": dt.datetime(2019, 6, 20)})
    head = wb.add_format({"bold": True, "bg_color": "#C00000", "font_color": "#FFFFFF",
                          "align": "center", "valign": "vcenter", "border": 1})
    text = wb.add_format({"num_format": "@"})  # phones and codes stay text when edited
    ws = wb.add_worksheet(ROSTER_SHEET)
    ws.write_row(0, 0, [ROSTER_COLUMNS[k] for k in keys], head)
    for r, row in enumerate(data, start=1):
        for c, value in enumerate(row):
            ws.write_string(r, c, value, text)
    widths = {"code": 11, "name": 46, "general": 22, "type": 16, "secretary": 11, "phone": 15, "origin": 16}
    for c, key in enumerate(keys):
        ws.set_column(c, c, widths[key], text)
    ws.set_row(0, 22)
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, len(data), len(keys) - 1)
    # A dropdown for 支部类型 on the rows in use and a margin below for new branches.
    ws.data_validation(1, keys.index("type"), len(data) + 200, keys.index("type"), {
        "validate": "list", "source": list(BRANCH_TYPES),
        "error_title": "支部类型", "error_message": "请从下拉列表中选择支部类型。",
    })
    # How a later year records a change, so that every branch's history follows its code.
    notes = wb.add_worksheet("填写说明")
    notes.set_column(0, 0, 100, wb.add_format({"text_wrap": True, "valign": "top"}))
    for r, line in enumerate((
            "支部名册填写说明",
            "每行一个党支部。支部编码是支部的身份：填报表、台账和历年的认定、样板都按编码对应，一经使用不要更改。",
            "支部改名：只改“支部名称”，保留原来的“支部编码”。",
            f"支部拆分或合并（以后的年度）：新支部用新的编码，并在“{ROSTER_COLUMNS['origin']}”一栏填写它由哪个（哪些）"
            "支部而来，多个编码用顿号隔开，例如 JD-T01、JD-T02；它会接着原支部的历史和未完成的问题。",
            f"新成立的支部：在“{ROSTER_COLUMNS['origin']}”一栏填写“新建”。已撤销的支部：删除这一行即可。",
            "第一年（2019年）不需要填写“原支部编码”。")):
        notes.write_string(r, 0, line)
    wb.close()
    os.replace(tmp, path)  # never leave a half-written roster in place
    return len(data)


def main(argv: list[str]) -> None:
    out = Path(argv[1]) if len(argv) > 1 else ROOT / "templates" / "branches.xlsx"
    n = write(out)
    print(f"已写入 {out}：{n} 个党支部，{len(GENERALS)} 个党总支。")


if __name__ == "__main__":
    main(sys.argv)

"""One catalogue of finding codes, with messages written for the person who filled the sheet.

A finding is data: code, severity, where (file, sheet, cell), the value and a Chinese message.
Codes are grouped by stage, like pyxform's error catalogue:
  F1xx intake (the file itself)   I1xx identity   V2xx validation of cells   E3xx evidence
Every stage adds its codes here, in its own block, so that the wording lives in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ERROR = "error"
WARNING = "warning"

# code -> (severity, message template). Templates use str.format fields.
MESSAGES: dict[str, tuple[str, str]] = {
    # ---- intake: the file as a whole (F1xx) ----
    # Params: file (the file name) everywhere; kind, size, limit, count, detail, reason as named.
    "F101": (ERROR, "文件“{file}”是旧版 Excel（.xls）或 WPS 表格（.et）格式，xlflow 无法读取。"
                    "请用 Excel 或 WPS 打开后“另存为”Excel 工作簿（*.xlsx）格式再提交。"),
    "F102": (ERROR, "文件“{file}”设置了打开密码，无法读取。请在 Excel 中取消密码"
                    "（文件→信息→保护工作簿→用密码进行加密，清空密码）后重新提交。"),
    "F103": (ERROR, "文件“{file}”实际是{kind}，不是 Excel 工作簿（*.xlsx），xlflow 无法读取"
                    "（可能是改了扩展名，或是从网页、其他系统导出的）。请用 Excel 或 WPS 打开后"
                    "“另存为”Excel 工作簿（*.xlsx）格式再提交；如果不是在下发的模板中填写的，请使用下发的模板重新填写。"),
    "F104": (ERROR, "文件“{file}”是启用宏的工作簿（.xlsm），为安全起见 xlflow 不接收含宏的文件。"
                    "请在 Excel 中“另存为”Excel 工作簿（*.xlsx，不含宏）后再提交。"),
    "F105": (ERROR, "文件“{file}”是{kind}，这不是支部填报的 Excel 工作簿。"
                    "请确认是否交错了文件，找到填写好的 Excel 工作簿（*.xlsx）重新提交。"),
    "F106": (ERROR, "文件“{file}”是空文件（0 字节），可能没有复制成功。请从原处重新复制该文件后提交。"),
    "F107": (ERROR, "文件“{file}”已损坏或没有复制完整，无法打开。请从原处重新复制（或重新下载）后提交；"
                    "如果原文件在 Excel 中也打不开，请使用下发的原始模板重新填写。"),
    "F108": (ERROR, "文件“{file}”无法识别，不是 Excel 工作簿。请确认是否交错了文件，"
                    "找到填写好的 Excel 工作簿（*.xlsx）重新提交；如果文件已损坏，请重新复制后提交。"),
    "F109": (ERROR, "文件“{file}”大小为 {size}，超过了 {limit} 的上限，文件内容异常庞大，xlflow 拒绝读取。"
                    "请检查是否在表格中插入了大量图片；请使用下发的原始模板重新填写（不要插入图片）后提交。"),
    "F110": (ERROR, "文件“{file}”解压后的内容异常庞大（{detail}），可能已损坏或不是正常保存的工作簿，"
                    "xlflow 拒绝读取。请使用下发的原始模板重新填写后提交。"),
    "F111": (ERROR, "文件“{file}”内部包含 {count} 个部件，超过了 {limit} 个的上限，文件内容异常庞大，"
                    "xlflow 拒绝读取。请使用下发的原始模板重新填写后提交。"),
    "F112": (ERROR, "文件“{file}”中的单元格格式异常庞大（样式部分约 {size}，上限 {limit}），通常是反复从其他表格"
                    "复制粘贴带格式的内容造成的，xlflow 拒绝读取。请使用下发的原始模板重新填写"
                    "（粘贴时使用“选择性粘贴→数值”）后提交。"),
    "F113": (ERROR, "文件“{file}”的工作表“{sheet}”行数异常庞大（{detail}，上限 {limit} 行），xlflow 拒绝读取。"
                    "这通常是整列填充了格式或公式造成的。请删除多余的行，或使用下发的原始模板重新填写后提交。"),
    "F114": (ERROR, "文件“{file}”内部含有不安全的内容（{reason}），不像是用 Excel 或 WPS 正常保存的工作簿，"
                    "xlflow 拒绝读取。请使用下发的原始模板重新填写后提交。"),
    "F115": (ERROR, "文件“{file}”是一个压缩包，不是 Excel 工作簿。请先解压，再提交其中填写好的 Excel 工作簿（*.xlsx）。"),
    # (intake block end)
    # ---- identity (I1xx) ----
    # (identity block end)
    # ---- validation of cells (V2xx) ----
    # normalize.py: a single cell's value (V201–V219)
    "V201": (ERROR, "{sheet}!{cell}：“{value}”不是有效日期。请填写完整日期，例如 2019-06-20 或 2019年6月20日。"),
    "V202": (ERROR, "{sheet}!{cell}：“{value}”的年份只有两位，无法确定是哪一年。请写出四位年份，例如 2019年6月20日。"),
    "V203": (ERROR, "{sheet}!{cell}：“{value}”这一天并不存在（月份应为 1–12，日不能超过当月天数）。请核对后填写正确的日期，例如 2019年6月20日。"),
    "V204": (ERROR, "{sheet}!{cell}：“{value}”不是数字。请只填写阿拉伯数字，例如 12 或 31.5。"),
    "V205": (ERROR, "{sheet}!{cell}：“{value}”不是整数。这一栏填写人数、次数或月数等，请填写整数，例如 12。"),
    "V206": (ERROR, "{sheet}!{cell}：“{value}”无法判断是“是”还是“否”。请从下拉列表中选择“是”或“否”。"),
    "V207": (ERROR, "{sheet}!{cell}：“{value}”不在可选项中。请从下拉列表中选择以下之一：{choices}。"),
    "V208": (ERROR, "{sheet}!{cell}：“{value}”只写到年或月，缺少具体哪一天。请填写到日，例如 2019年6月20日；记不清的请查阅会议记录等材料。"),
    "V209": (ERROR, "{sheet}!{cell}：“{value}”没有写年份。请写出完整的年月日，例如 2019年6月20日。"),
    "V210": (ERROR, "{sheet}!{cell}：“{value}”把年份写在最后，无法确定哪个是月、哪个是日。请按年、月、日的顺序填写，例如 2019-06-20 或 2019年6月20日。"),
    # (validation block end)
    # ---- evidence (E3xx) ----
    # (evidence block end)
}


@dataclass(frozen=True)
class Finding:
    code: str
    severity: str
    message: str
    file: str = ""
    sheet: str = ""
    cell: str = ""
    value: str = ""

    @property
    def where(self) -> str:
        """Where a clerk looks, e.g. 党员名册!F12 (or just the sheet, or nothing)."""
        if self.sheet and self.cell:
            return f"{self.sheet}!{self.cell}"
        return self.sheet

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR


def finding(code: str, *, file: str = "", sheet: str = "", cell: str = "", value: object = "", **params) -> Finding:
    """Build a finding from the catalogue; params fill the message template."""
    severity, template = MESSAGES[code]
    text = "" if value is None else str(value)
    message = template.format(sheet=sheet, cell=cell, value=text, **params)
    return Finding(code, severity, message, file=file, sheet=sheet, cell=cell, value=text)


@dataclass
class Report:
    """All findings of one file, frictionless-style: `.valid` when there is no error."""

    findings: list[Finding] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not any(f.is_error for f in self.findings)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.is_error]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if not f.is_error]

    def extend(self, more) -> None:
        self.findings.extend(more)

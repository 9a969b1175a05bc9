"""One catalogue of finding codes, with messages written for the person who filled the sheet,
and the named templates of every other message xlflow shows a person.

A finding is data: code, severity, where (file, sheet, cell), the value and a Chinese message.
Codes are the members of the Enum `Code`, like pyxform's ErrorCode: finding(Code.V231, ...) cannot
misspell a code, and each member carries its Stage and severity (nothing reads meaning from a
code's letters). Finding.code keeps the plain string ("V231") the ledger and feedback sheets show.
  F1xx intake (the file itself)   D1xx duplicates   I1xx identity   V2xx validation of cells
  R4xx review workbooks (初验/复验/认定/样板名册)   E3xx evidence
Every stage adds its codes here, in its own block, so that the wording lives in one place; the
errors of the checklist, roster, settings, Word templates and command line are named str.format
templates below the catalogue.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import Enum, unique

ERROR = "error"
WARNING = "warning"


class Stage(Enum):
    """The stage a code belongs to: what its finding says about the file (read it here, never from
    the code's first letter)."""

    INTAKE = "intake"  # the file itself could not be opened as a workbook
    DUPLICATE = "duplicate"  # the same file or content as one received before
    IDENTITY = "identity"  # whose workbook it is
    CELLS = "cells"  # the values in its sheets
    REVIEW = "review"  # a returned 初验/复验/认定/样板名册 workbook
    EVIDENCE = "evidence"  # the self-rating against the records

    @property
    def read(self) -> bool:
        """Was the file opened and read as a form (so its cells can be marked in the feedback)?"""
        return self in (Stage.IDENTITY, Stage.CELLS, Stage.REVIEW)


INTAKE, DUPLICATE, IDENTITY, CELLS, REVIEW, EVIDENCE = Stage


@unique
class Code(Enum):
    """The catalogue: each member is (stage, severity, message template); the member's name is the
    code stored in the ledger and shown on the feedback sheet ("V231"). Templates use str.format
    fields. Build a finding with finding(Code.V231, ...)."""

    def __init__(self, stage: Stage, severity: str, template: str):
        self.stage, self.severity, self.template = stage, severity, template

    @property
    def code(self) -> str:
        return self.name

    def text(self, **params) -> str:
        return self.template.format(**params)

    # ---- intake: the file as a whole (F1xx) ----
    # Params: file (the file name) everywhere; kind, size, limit, count, detail, reason as named.
    F101 = (INTAKE, ERROR, "文件“{file}”是旧版 Excel（.xls）或 WPS 表格（.et）格式，无法读取。"
                           "请用 Excel 或 WPS 打开后“另存为”Excel 工作簿（*.xlsx）格式再提交。")
    F102 = (INTAKE, ERROR, "文件“{file}”设置了打开密码，无法读取。请在 Excel 中取消密码"
                           "（文件→信息→保护工作簿→用密码进行加密，清空密码）后重新提交。")
    F103 = (INTAKE, ERROR, "文件“{file}”实际是{kind}，不是 Excel 工作簿（*.xlsx），无法读取"
                           "（可能是改了扩展名，或是从网页、其他系统导出的）。请用 Excel 或 WPS 打开后"
                           "“另存为”Excel 工作簿（*.xlsx）格式再提交；如果不是在下发的模板中填写的，请使用下发的模板重新填写。")
    F104 = (INTAKE, ERROR, "文件“{file}”是启用宏的工作簿（.xlsm），为安全起见不接收含宏的文件。"
                           "请在 Excel 中“另存为”Excel 工作簿（*.xlsx，不含宏）后再提交。")
    F105 = (INTAKE, ERROR, "文件“{file}”是{kind}，这不是支部填报的 Excel 工作簿。"
                           "请确认是否交错了文件，找到填写好的 Excel 工作簿（*.xlsx）重新提交。")
    F106 = (INTAKE, ERROR, "文件“{file}”是空文件（0 字节），可能没有复制成功。请从原处重新复制该文件后提交。")
    F107 = (INTAKE, ERROR, "文件“{file}”已损坏或没有复制完整，无法打开。请从原处重新复制（或重新下载）后提交；"
                           "如果原文件在 Excel 中也打不开，请使用下发的原始模板重新填写。")
    F108 = (INTAKE, ERROR, "文件“{file}”无法识别，不是 Excel 工作簿。请确认是否交错了文件，"
                           "找到填写好的 Excel 工作簿（*.xlsx）重新提交；如果文件已损坏，请重新复制后提交。")
    F109 = (INTAKE, ERROR, "文件“{file}”大小为 {size}，超过了 {limit} 的上限，文件内容异常庞大，无法接收。"
                           "请检查是否在表格中插入了大量图片；请使用下发的原始模板重新填写（不要插入图片）后提交。")
    F110 = (INTAKE, ERROR, "文件“{file}”解压后的内容异常庞大（{detail}），可能已损坏或不是正常保存的工作簿，"
                           "无法接收。请使用下发的原始模板重新填写后提交。")
    F111 = (INTAKE, ERROR, "文件“{file}”内部包含 {count} 个部件，超过了 {limit} 个的上限，文件内容异常庞大，"
                           "无法接收。请使用下发的原始模板重新填写后提交。")
    F112 = (INTAKE, ERROR, "文件“{file}”中的单元格格式异常庞大（样式部分约 {size}，上限 {limit}），通常是反复从其他表格"
                           "复制粘贴带格式的内容造成的，无法接收。请使用下发的原始模板重新填写"
                           "（粘贴时使用“选择性粘贴→数值”）后提交。")
    F113 = (INTAKE, ERROR, "文件“{file}”的工作表“{sheet}”行数异常庞大（{detail}，上限 {limit} 行），无法接收。"
                           "这通常是整列填充了格式或公式造成的。请删除多余的行，或使用下发的原始模板重新填写后提交。")
    F114 = (INTAKE, ERROR, "文件“{file}”内部含有不安全的内容（{reason}），不像是用 Excel 或 WPS 正常保存的工作簿，"
                           "无法接收。请使用下发的原始模板重新填写后提交。")
    F115 = (INTAKE, ERROR, "文件“{file}”是一个压缩包，不是 Excel 工作簿。请先解压，再提交其中填写好的 Excel 工作簿（*.xlsx）。")
    F116 = (INTAKE, ERROR, "文件“{file}”的内容无法处理（表格结构异常）。请使用下发的原始填报表重新填写后提交；"
                           "如仍有问题，请把文件交组织部查看。")
    # issue 12: a sheet whose data reach far beyond the form (the reader would allocate the whole block)
    F117 = (INTAKE, ERROR, "文件“{file}”的工作表“{sheet}”中，单元格 {cell} 有内容，远在填报区域之外"
                           "（从 A1 到该单元格共 {rows} 行 × {cols} 列，超过 {limit} 个单元格的上限），无法接收。"
                           "请在 Excel 或 WPS 中打开该工作表，按 Ctrl+End 跳到最后一个有内容的单元格，"
                           "删除填报区域以外的内容（或整行、整列删除）后保存，再重新提交。")
    # (intake block end)
    # ingest.py: duplicates (D1xx)
    D101 = (DUPLICATE, WARNING, "文件“{file}”与此前收到的文件完全相同，已作为重复文件存档，不再重复处理。")
    D102 = (DUPLICATE, WARNING, "文件“{file}”的填报内容与{name}当前有效的报送完全相同，已作为重复文件存档。")
    # ---- identity (I1xx) ----
    I101 = (IDENTITY, ERROR, "文件“{file}”不是本次下发的支部填报表（表内没有支部编码等识别信息），无法确定是哪个支部的。"
                             "请使用组织部下发的本支部填报表填写，不要新建或另存为别的表格。")
    I102 = (IDENTITY, ERROR, "文件“{file}”是旧版填报表（版本 {version}），现行版本为 {current}。"
                             "请在新下发的本支部填报表中填写（可将已填内容复制过去）后重新提交。")
    I104 = (IDENTITY, ERROR, "文件“{file}”中的支部编码“{code}”（{name}）不在本年度支部名册中。"
                             "请确认是否交错了文件；如支部有调整，请联系组织部更新支部名册。")
    I105 = (IDENTITY, ERROR, "{sheet}!{cell}：支部编码被改成了“{value}”，但这份填报表是下发给{name}（{code}）的。"
                             "每个支部请使用自己的填报表，不要复制其他支部的表格。")
    I106 = (IDENTITY, WARNING, "文件名“{file}”看起来是{other}的，但表内识别为{name}，已按表内信息作为{name}的报送处理。"
                               "如交错了文件，请重新提交正确的文件。")
    I109 = (IDENTITY, ERROR, "文件“{file}”是{issued}年的填报表，请使用{year}年下发的填报表。"
                             "新年度的填报表已带上支部去年报送的基本信息、党员名册和未完成的问题，在其基础上修改即可。")
    I107 = (IDENTITY, ERROR, "文件“{file}”是验收（初验/复验）工作簿，不是支部填报表。")
    I108 = (IDENTITY, ERROR, "文件“{file}”不是支部填报表，也不是初验/复验工作簿（可能是汇总表等组织部生成的其他文件），"
                             "不需要提交。请提交填写好的支部填报表或验收工作簿。")
    # (identity block end)
    # ---- validation of cells (V2xx) ----
    # normalize.py: a single cell's value (V201–V219)
    V201 = (CELLS, ERROR, "{sheet}!{cell}：“{value}”不是有效日期。请填写完整日期，例如 {example} 或 {example_cn}。")
    V202 = (CELLS, ERROR, "{sheet}!{cell}：“{value}”的年份只有两位，无法确定是哪一年。请写出四位年份，例如 {example_cn}。")
    V203 = (CELLS, ERROR, "{sheet}!{cell}：“{value}”这一天并不存在（月份应为 1–12，日不能超过当月天数）。请核对后填写正确的日期，例如 {example_cn}。")
    V204 = (CELLS, ERROR, "{sheet}!{cell}：“{value}”不是数字。请只填写阿拉伯数字，例如 12 或 31.5。")
    V205 = (CELLS, ERROR, "{sheet}!{cell}：“{value}”不是整数。这一栏填写人数、次数或月数等，请填写整数，例如 12。")
    V206 = (CELLS, ERROR, "{sheet}!{cell}：“{value}”无法判断是“是”还是“否”。请从下拉列表中选择“是”或“否”。")
    V207 = (CELLS, ERROR, "{sheet}!{cell}：“{value}”不在可选项中。请从下拉列表中选择以下之一：{choices}。")
    V208 = (CELLS, ERROR, "{sheet}!{cell}：“{value}”只写到年或月，缺少具体哪一天。请填写到日，例如 {example_cn}；记不清的请查阅会议记录等材料。")
    V209 = (CELLS, ERROR, "{sheet}!{cell}：“{value}”没有写年份。请写出完整的年月日，例如 {example_cn}。")
    V210 = (CELLS, ERROR, "{sheet}!{cell}：“{value}”把年份写在最后，无法确定哪个是月、哪个是日。请按年、月、日的顺序填写，例如 {example} 或 {example_cn}。")
    # read.py: the structure of the workbook (V220–V229)
    V220 = (CELLS, ERROR, "缺少工作表“{sheet}”。请使用下发的原始填报表填写，不要删除或改名工作表。")
    V221 = (CELLS, ERROR, "工作表“{sheet}”缺少“{column}”列（表头被改动或删除）。请恢复原来的表头后重新提交，或改用下发的原始填报表。")
    V222 = (CELLS, WARNING, "工作表“{expected}”被改名为“{sheet}”，已按表头识别并读取。以后请不要修改工作表名称。")
    V223 = (CELLS, WARNING, "{sheet}!{cell}：多出的“{value}”列不属于填报表，其中的内容没有被读取。如有需要说明的情况，请写在规定的栏目中。")
    V224 = (CELLS, ERROR, "工作表“{sheet}”中找不到“{field}”一项。请恢复该行后重新提交，或改用下发的原始填报表。")
    # issue 12: more text in one cell than Excel holds (only other tools write it; the master would cut it)
    V225 = (CELLS, ERROR, "{sheet}!{cell}：内容长达 {length} 个字符，超过了 Excel 一个单元格最多 {limit} 个字符的上限，"
                          "汇总时会被截断。请精简到 {limit} 个字符以内（详细材料可另行附上）后重新提交。")
    # validate.py: the schemas and checks across sheets (V230–V249)
    V231 = (CELLS, ERROR, "{sheet}!{cell}：“{label}”没有填写。请补填。")
    V233 = (CELLS, ERROR, "{sheet}!{cell}：“{value}”超出合理范围，“{label}”应在 {lo} 至 {hi} 之间。请核对后重新填写。")
    V234 = (CELLS, ERROR, "{sheet}!{cell}：日期“{value}”不在 {lo} 至 {hi} 之间。{why}")
    V236 = (CELLS, ERROR, "{sheet}!{cell}：实到人数“{value}”多于同一行的应到人数。请核对签到记录后更正。")
    V237 = (CELLS, ERROR, "{sheet}!{cell}：已选择设支部委员会，请填写支委会委员人数。")
    V238 = (CELLS, ERROR, "{sheet}!{cell}：指标内容被改动，与下发的建设要点清单不一致。灰色格子不能修改，"
                          "请恢复原文，或改用下发的原始填报表。")
    V240 = (CELLS, ERROR, "工作表“{sheet}”缺少指标 {code}（{short}）。每一项指标都要自评，请使用下发的原始填报表。")
    V241 = (CELLS, ERROR, "{sheet}!{cell}：填写的{label}为 {value} 人，但党员名册中{category}有 {count} 人。请核对后使两处一致。")
    V242 = (CELLS, WARNING, "{sheet}!{cell}：自评为“{value}”，但问题清单中没有这项指标的问题和整改措施。请在“问题清单”中补充。")
    # records that cannot be true (params: row, label; first: the earlier row; filled: the 填表日期)
    V243 = (CELLS, ERROR, "{sheet}!{cell}：第 {row} 行的{label}“{value}”晚于填表日期 {filled}。还没有发生的事项"
                          "（如计划召开的会议）请不要填写；如果是填表日期写错了，请更正“基本信息”中的填表日期。")
    V244 = (CELLS, ERROR, "{sheet}!{cell}：第 {row} 行的{label}“{value}”与第 {first} 行重复，同一个人只能填写一行。"
                          "请删除重复的一行；如确有两人同名，请在姓名后注明以便区分，例如“{value}（大）”。")
    V245 = (CELLS, ERROR, "{sheet}!{cell}：第 {row} 行{year}年提出的问题“{value}”被删除或改动了。往年的问题不能删除，"
                          "完成整改的请把“整改状态”改为“已完成”来销号。请恢复这一行（可从下发的填报表中复制）后再提交。")
    # (validation block end)
    # ---- review (R4xx) ----
    # review_read.py: a returned 初验/复验 workbook. Params: round (初验/复验) everywhere; others as named.
    R401 = (REVIEW, ERROR, "文件“{file}”是{round}工作簿，但其中的验收单位“{unit}”不是{expected}，无法确定是谁的{round}。"
                           "请使用组织部下发给本单位的{round}工作簿填写，不要复制其他单位的工作簿。")
    R402 = (REVIEW, ERROR, "文件“{file}”是旧版{round}工作簿（版本 {version}），现行版本为 {current}（指标清单或表格格式已调整）。"
                           "请在组织部重新下发的{round}工作簿中填写（可将已填的等次和意见复制过去）后重新提交。")
    R403 = (REVIEW, ERROR, "文件“{file}”的识别信息不完整（缺少{missing}），无法确定这份{round}工作簿覆盖哪些支部。"
                           "请使用组织部下发的原始{round}工作簿填写，不要复制到新表格中。")
    R404 = (REVIEW, ERROR, "{sheet}!{cell}：支部编码“{value}”、指标编码“{indicator}”这一行不在下发的本{round}工作簿中"
                           "（灰色的支部编码、指标编码不能修改，也不能增加新的行）。请删除这一行或恢复原来的编码；"
                           "需要{round}其他支部的，请向组织部索取新的{round}工作簿。")
    R405 = (REVIEW, ERROR, "{sheet}!{cell}：“{value}”与第 {first} 行重复（{what}只能有一行）。请删除重复的行。")
    R406 = (REVIEW, ERROR, "{sheet}!{cell}：{label}“{value}”不在可选项中。请从下拉列表中选择以下之一：{choices}。")
    R407 = (REVIEW, ERROR, "{sheet}!{cell}：支部编码“{value}”不在下发的本{round}工作簿中（灰色的支部编码不能修改，"
                           "也不能增加新的行）。请删除这一行或恢复原来的编码。")
    R408 = (REVIEW, ERROR, "{sheet}!{cell}：{label}“{value}”不在 {lo} 至 {hi} 之间。请填写实际的{label}。")
    R409 = (REVIEW, ERROR, "文件“{file}”中还没有填写任何{round}等次、{round}意见或{round}结论，没有可以接收的内容。"
                           "请在“{items}”和“{conclusions}”两张工作表的浅黄色格子中填写后再提交。")
    R410 = (REVIEW, WARNING, "工作表“{sheet}”中缺少{name}（{code}）的 {count} 项指标（{codes}），可能被删除了行。"
                             "这些指标按未{round}处理；如需{round}，请使用重新下发的{round}工作簿。")
    R411 = (REVIEW, WARNING, "工作表“{sheet}”中缺少{name}（{code}）这一行，该支部的{round}结论按未填写处理。")
    R412 = (REVIEW, WARNING, "{sheet}!{cell}：{name}的{round}结论为“{value}”，但否决项 {code}（{short}）的{source}为“{rating}”，"
                             "按规定不能认定达标。请核对结论或该项等次。")
    R413 = (REVIEW, WARNING, "{sheet}!{cell}：{name}已填写{round}等次，但还没有填写{round}结论。"
                             "如已完成验收，请从下拉列表中选择结论。")
    R414 = (REVIEW, ERROR, "文件“{file}”是{year}年的{round}工作簿，请使用{current}年下发的{round}工作簿。")
    R415 = (REVIEW, ERROR, "{sheet}!{cell}：{name}的{round}结论为“整改后再验”，但没有填写{label}。"
                           "请填写支部完成整改的期限（如 2020-01-31），到期后支部交回整改后的填报表再验。")
    # the committee's 认定 workbook (认定_<学院>.xlsx)
    R420 = (REVIEW, ERROR, "{sheet}!{cell}：{name}（{code}）的认定结论为“{value}”，但该支部目前{stage}，"
                           "还没有经学院复验同意达标，党委不能认定。请清空这一格，待复验同意达标后再认定。")
    R421 = (REVIEW, ERROR, "{sheet}!{cell}：{name}评为校级样板党支部，但{label}不是“认定达标”。"
                           "只有认定达标的支部才能评为样板党支部，请改为“否”，或先把{label}改为“认定达标”。")
    R422 = (REVIEW, ERROR, "{sheet}!{cell}：评为校级样板党支部的支部超过了本年度名额 {quota} 个（样板总数可达全院 {total} 个党支部的{share}，"
                           "往年已评定 {held} 个）。"
                           "名额是上限，请把多出的改为“否”；得分并列处在名额边缘的，请党委会议确定其中一个。")
    R423 = (REVIEW, ERROR, "{sheet}!{cell}：{year}年为{phase}阶段，按三年行动计划本年度不评定校级样板党支部，“{label}”请选“否”或留空。"
                           "如党委决定本年度评定样板，请在 xlflow.toml 中设置 models_in_dabiao = true，重新生成认定工作簿后再填写。")
    R424 = (REVIEW, ERROR, "{sheet}!{cell}：已填写认定结论，但没有填写{label}。请填写作出决定的党委会议的{label}（如 {example}）。")
    R425 = (REVIEW, ERROR, "{sheet}!{cell}：{name}已在{year}年评为校级样板党支部，已在样板名册中，不必重复评定，请选“否”。")
    # the 样板名册 workbook
    R430 = (REVIEW, ERROR, "{sheet}!{cell}：填写了{label}“{value}”，但“{asked}”不是“是”。请先在“{asked}”中选“是”，或清空评定结果。")
    R431 = (REVIEW, ERROR, "{sheet}!{cell}：撤销样板称号的，请填写{label}。")
    R432 = (REVIEW, ERROR, "文件“{file}”中还没有填写任何推荐、评定或撤销情况，没有可以接收的内容。请在浅黄色格子中填写后再提交。")
    R427 = (REVIEW, ERROR, "{sheet}!{cell}：会议日期“{value}”不在 {lo} 至 {hi} 之间。请填写党委会议实际召开的日期。")
    # (review block end)
    # ---- issue 9 (helper "years"): the 整顿 workbook (整顿转化), returned by a 党总支 ----
    R440 = (REVIEW, ERROR, "{sheet}!{cell}：{name}的{label}没有填写。整顿转化的每个支部要写明整顿措施、责任人和完成期限，"
                           "三项缺一不可；暂时定不下来的支部，本行浅黄色格子请全部留空。")
    R441 = (REVIEW, ERROR, "{sheet}!{cell}：{name}的完成期限“{value}”不在本年度（{lo} 至 {hi}）内。"
                           "整顿要在本年度完成，请填写{year}年内的日期（如 {example}）。")
    R442 = (REVIEW, ERROR, "文件“{file}”中还没有填写任何支部的整顿措施，没有可以接收的内容。请在“{sheet}”表的浅黄色格子中"
                           "填写整顿措施、责任人和完成期限后再提交。")
    R443 = (REVIEW, WARNING, "{sheet}!{cell}：{name}的完成期限 {value} 晚于本年度初验截止日期 {first}，整顿完成前该支部难以"
                             "通过初验。如确需这样安排，可不必修改。")
    # (years block end)
    # ---- evidence (E3xx) ----
    # documents.py, the 验收意见书's list of 自评与记录不符: params code, short, rating, measured
    E301 = (EVIDENCE, WARNING, "{code}（{short}）自评为“{rating}”，但台账显示：{measured}。")
    # (evidence block end)


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

    @property
    def file_was_read(self) -> bool:
        """Does this finding say the file was opened and read as a form? A code no longer in the
        catalogue (a finding an older xlflow kept in the ledger) says nothing of the kind."""
        member = Code.__members__.get(self.code)
        return member is not None and member.stage.read


def finding(code: Code, /, *, file: str = "", sheet: str = "", cell: str = "", value: object = "",
            cell_indicator: str = "", **params) -> Finding:
    """Build a finding from the catalogue; params fill the message template. cell_indicator ("ZJ03
    支部委员会设置"), when the cell belongs to one, is named beside the cell: a secretary thinks
    of the indicator, not of 自评表!F9. A date example is the campaign's unless params give one."""
    text = "" if value is None else str(value)
    if "example" not in params:
        params["example"], params["example_cn"] = date_example(DEFAULT_YEAR)
    place = f"{cell}（指标 {cell_indicator}）" if cell_indicator and cell else cell
    message = code.text(file=file, sheet=sheet, cell=place, value=text, **params)
    return Finding(code.name, code.severity, message, file=file, sheet=sheet, cell=cell, value=text)


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


def cn_date(d: dt.date | None) -> str:
    """2019年6月20日 (Arabic numerals, no leading zeros, as GB/T 9704 wants)."""
    return f"{d.year}年{d.month}月{d.day}日" if d else ""


DEFAULT_YEAR = 2019  # the default campaign year (settings.Settings.year)
EXAMPLE_DAY = (6, 20)  # month and day of the one date example


def date_example(year: int) -> tuple[str, str]:
    """The one date example used everywhere (填表说明, input messages, findings), in the campaign's
    year: as ISO (2019-06-20) and in Chinese (2019年6月20日)."""
    d = dt.date(year, *EXAMPLE_DAY)
    return d.isoformat(), cn_date(d)


# ---- the command line (cli.py): click's own words, and the working-folder errors ----
# Click builds every usage error and help heading through gettext; cli.py routes those calls here,
# keyed by click's English message id (str.format fields as click passes them; `!r` is dropped so
# that a name is quoted the Chinese way). An id missing here stays English: tests/test_cli.py
# checks the errors a clerk can provoke.
CLICK_TEXT: dict[str, str] = {
    "Usage:": "用法：",
    "Options": "选项",
    "Commands": "命令",
    "Positional arguments": "参数",
    "Show this message and exit.": "显示本帮助并退出。",
    "Show the version and exit.": "显示版本号并退出。",
    "Error: {message}": "错误：{message}",
    "Try '{command} {option}' for help.": "用法说明请运行：{command} {option}",
    "Invalid value: {message}": "取值有误：{message}",
    "Invalid value for {param_hint}: {message}": "{param_hint} 的取值有误：{message}",
    "Missing argument": "缺少参数",
    "Missing option": "缺少选项",
    "Missing parameter": "缺少参数",
    "Missing command.": "缺少命令。请运行 xlflow -h 查看全部命令。",
    "No such option {name!r}.": "没有“{name}”这个选项。",
    "No such command {name!r}.": "没有“{name}”这个命令。",
    "Did you mean {possibility}?": "是不是要用 {possibility}？",
    "(Did you mean one of: {possibilities}?)": "（是不是要用其中之一：{possibilities}？）",
    "Got unexpected extra argument ({args})": "多出了参数：{args}（名字中有空格的目录请加英文双引号）",
    "Got unexpected extra arguments ({args})": "多出了参数：{args}（名字中有空格的目录请加英文双引号）",
    "Option {name!r} requires an argument.": "选项 {name} 后面要跟一个值。",
    "Option {name!r} requires {nargs} arguments.": "选项 {name} 后面要跟 {nargs} 个值。",
    "Option {name!r} does not take a value.": "选项 {name} 后面不能跟值。",
    "{value!r} is not a valid {number_type}.": "“{value}”不是整数。",
    "{value} is not in the range {range}.": "{value} 不在 {range} 范围内。",
    "file": "文件",
    "directory": "目录",
    "path": "路径",
    "{name} {filename!r} does not exist.": "{name}“{filename}”不存在。",
    "{name} {filename!r} is a file.": "“{filename}”是一个文件，这里要填{name}。",
    "{name} {filename!r} is a directory.": "“{filename}”是一个目录，这里要填{name}。",
    "{name} {filename!r} is not readable.": "{name}“{filename}”没有读取权限。",
    "{name} {filename!r} is not writable.": "{name}“{filename}”没有写入权限。",
    "Aborted!": "已中止。",
    "required": "必填",
    "default: {default}": "默认：{default}",
}

CLI_MISSING = "缺少{what}“{name}”。"  # what: 参数 (an argument) or 选项 (an option)
CLI_BAD_VALUE = "{name} 的取值有误：{message}"
CLI_NO_COMMAND = "没有“{name}”这个命令。{hint}全部命令见 xlflow -h。"
CLI_DID_YOU_MEAN = "是不是要用 xlflow {name}？"
CLI_NO_FOLDER = "找不到工作目录“{root}”。请用 --root 指定已有的工作目录，或先运行 xlflow init {quoted} 建立一个。"
CLI_HERE = "当前目录"  # CLI_NOT_A_FOLDER's where: the current folder, or a folder given by --root
CLI_THERE = "目录"
CLI_ERROR = "错误：{message}"
CLI_NOT_POSITIVE = "--{name} 应为不小于 1 的整数（现为 {value}）。"
CLI_LOG_HEAD = "命令出错：\n{traceback}\n"  # a traceback kept in xlflow.log, for the technician
CLI_NO_LEDGER = ("还没有台账（{ledger}）：请先把各支部交回的填报表放入 inbox/，"
                 "运行 xlflow ingest --root {root} 后再试。")
CLI_NOTHING_TO_REVIEW = "还没有接收任何支部的填报表，暂不生成验收工作簿。请先运行 xlflow ingest。"
CLI_NOTHING_YET = ("还没有处理过任何交回的填报表（台账 {ledger} 尚未建立）。"
                   "把交回的文件放进 inbox/，运行 xlflow ingest 或 xlflow watch 后再查看。")
CLI_UNIDENTIFIED = "无法识别支部的退回文件：{file}：{message}"
CLI_DOCUMENT_OPEN = "未能更新（文件正被 Word 或 WPS 打开，关闭后重新运行即可）：{path}"
CLI_NOT_A_FOLDER = ("{where}“{root}”不是 xlflow 的工作目录（其中没有 xlflow.toml，也没有 templates/checklist.yaml），"
                    "未做任何处理。请用 --root 指定工作目录，例如 xlflow {command} --root 2019年支部建设；"
                    "或先运行 xlflow init {quoted} 把它建成工作目录。")


# ---- the master workbook (master.py, outputs.py): a clerk's edit is kept, never overwritten ----
def master_edit_kept(dest_name: str, kept_name: str) -> str:
    return (f"汇总表 {dest_name} 在 xlflow 上次生成后被改动并保存过，改过的文件已原样另存为 {kept_name}"
            f"（在同一文件夹），新的 {dest_name} 已按台账重新生成。汇总表中的改动只是试算；要长期生效，"
            "计分参数请改 templates/checklist.yaml 或 xlflow.toml，初验、复验等次请通过验收工作簿交回 inbox/。")


# ---- issue 12: the working folder itself (ledger, disk); raised as XlflowError, printed by the CLI ----
LEDGER_GONE = ("台账 {ledger} 不见了（或成了空文件），但收件箱的归档文件夹 inbox/accepted、inbox/rejected、"
               "inbox/duplicates 中已有 {count} 份原件。为免从头另记一本、看不到以前的报送，本次没有处理。"
               "请运行 xlflow ingest --rebuild-ledger --root {root}，由归档的原件按收到的先后重建台账；"
               "或把 {backups} 中最近的备份复制为 {ledger}。")
LEDGER_DAMAGED = ("台账 {ledger} 已损坏，无法读取（{detail}）。以前收到的原件都在 inbox/accepted、inbox/rejected、"
                  "inbox/duplicates 中，没有丢失。请运行 xlflow ingest --rebuild-ledger --root {root}，"
                  "由归档的原件重建台账（损坏的台账会改名保留）；或把 {backups} 中最近的备份复制为 {ledger}。")
LEDGER_REBUILT = ("已由 {count} 份归档原件重建台账 {ledger}（接收 {accepted} 份、退回 {rejected} 份、重复 {duplicate} 份）。"
                  "{aside}")
LEDGER_ASIDE = "原来的台账已改名保留为 {old}。"
LEDGER_BUSY = ("台账 {ledger} 正被另一个程序使用（可能是另一个 xlflow 命令，或用数据库工具打开了它），暂时无法写入。"
               "请稍候再试；如果一直如此，请关闭其他正在运行的 xlflow 命令或数据库工具后重试。")
DISK_FULL = ("磁盘已满，无法在“{folder}”中写入。已处理的内容都已保存，没有丢失。请清理该磁盘（或换到空间充足的磁盘），"
             "然后重新运行同一命令，未完成的部分会自动补上。")
READ_ONLY = ("文件夹“{folder}”是只读的，无法写入（可能是 U 盘或共享文件夹被设为只读，或没有写入权限）。"
             "已处理的内容都已保存，没有丢失。请取消只读（或换到可写的位置）后重新运行同一命令，未完成的部分会自动补上。")
NO_PERMISSION = ("文件“{file}”正被其他程序（如 Excel、WPS）打开，或没有写入权限。请关闭该文件（或取得写入权限）后"
                 "重新运行同一命令，未完成的部分会自动补上。")
NAME_TOO_LONG = "文件名或路径太长，系统无法写入：“{file}”。请把工作目录放到层级较浅的位置（如 D:\\支部建设）后重试。"
DISK_TROUBLE = ("无法读写文件夹“{folder}”（{detail}）。可能是 U 盘被拔出、共享文件夹断开或磁盘出错。"
                "请检查后重新运行同一命令，未完成的部分会自动补上。")
OUT_OF_MEMORY = "内存不足，本次处理未能完成。请关闭其他程序后重新运行同一命令，未完成的部分会自动补上。"
UNEXPECTED = ("出现了意外的程序错误（{kind}），本次处理未能完成；已处理的内容都已保存。详细情况已记入 {log}，"
              "请重新运行一次；如仍出错，请把该文件交给技术人员。")


# ---- issue 11 (msg): the errors of the campaign's own files, raised before anything is read ----
# checklist.py: templates/checklist.yaml. Each problem is one line, prefixed by CHECKLIST_AT_LINE.
CHECKLIST_NOT_FOUND = "找不到指标清单文件：{path}"
CHECKLIST_SYNTAX = "指标清单“{file}”{where}格式有误（缩进、冒号或引号），无法读取。"
CHECKLIST_NEAR_LINE = "第 {line} 行附近"
SOMEWHERE = "某处"
CHECKLIST_EMPTY = "指标清单“{file}”内容为空或格式不对。"
CHECKLIST_PROBLEMS = "指标清单“{file}”有 {count} 处问题，请修改后重新运行：\n"
CHECKLIST_AT_LINE = "第 {line} 行："
CHECKLIST_MISSING_KEY = "缺少“{key}”。"
CHECKLIST_RATING_NO_NAME = "等次缺少名称（name）。"
CHECKLIST_RATING_FACTOR = "等次“{name}”的系数（factor）应为 0 到 1 之间的数，或留空表示不适用。"
CHECKLIST_PASS_LINE = "达标分数线（pass_line）应为 0 到 100 之间的数。"
CHECKLIST_GRADE_ORDER = "等次（grades）应从高到低排列，每个等次的最低分（min）为数字。"
CHECKLIST_PASS_GRADE = "等次“{grade}”的最低分应与达标分数线（pass_line: {pass_line}）一致。"
CHECKLIST_CATEGORY_NO_CODE = "建设内容类别缺少编码（code）或名称（name）。"
CHECKLIST_CATEGORY_WEIGHT = "类别“{name}”的权重（weight）应为数字。"
CHECKLIST_CATEGORY_EMPTY = "类别“{name}”没有指标。"
CHECKLIST_CATEGORY_POINTS = "类别“{name}”各指标分值合计 {points:g}，与类别权重 {weight:g} 不一致。"
CHECKLIST_WEIGHTS = "{count} 个类别的权重合计为 {total:g}，应为 100。"
CHECKLIST_VETO_UNKNOWN = "否决项（veto）中的指标编码“{code}”在清单中不存在。"
CHECKLIST_INDICATOR_NO_CODE = "指标缺少编码（code）。"
CHECKLIST_INDICATOR_TWICE = "指标编码“{code}”重复（第 {line} 行已使用）。"
CHECKLIST_INDICATOR_NO_TEXT = "指标“{code}”缺少具体指标内容（text）。"
CHECKLIST_INDICATOR_POINTS = "指标“{code}”的分值（points）应为大于 0 的数。"
CHECKLIST_RULE_UNKNOWN = "指标“{code}”的证据规则类型“{kind}”无法识别，可用的类型：{kinds}。"
CHECKLIST_RULE_MISSING = "指标“{code}”的证据规则“{kind}”缺少参数“{key}”。"
CHECKLIST_RULE_EXTRA = "指标“{code}”的证据规则“{kind}”有无法识别的参数“{key}”。"
CHECKLIST_RULE_ACTIVITY = "指标“{code}”的活动类型“{value}”不在可选项中：{choices}。"
CHECKLIST_RULE_PER = "指标“{code}”的频次“{value}”无法识别，可用：{choices}。"
CHECKLIST_RULE_WHEN = "指标“{code}”的条件“{value}”无法识别，可用：{choices}。"
# roster.py: templates/branches.xlsx. where is ROSTER_AT_ROW; column names come from constants.ROSTER_COLUMNS.
ROSTER_NOT_FOUND = "找不到支部名册文件：{path}"
ROSTER_UNOPENABLE = "支部名册文件无法打开：{path}（{detail}）"
ROSTER_NO_SHEET = "支部名册文件 {file} 中没有名为“{sheet}”的工作表（现有工作表：{sheets}）。"
ROSTER_NO_COLUMN = "{sheet} 第 {row} 行：缺少“{column}”列（现有表头：{present}）。"
ROSTER_EMPTY_HEADER = "（空）"
ROSTER_AT_ROW = "{sheet} 第 {row} 行："
ROSTER_BLANK = "{where}{label}为空。"
ROSTER_TWICE = "{where}{label}“{value}”与第 {first} 行重复。"
ROSTER_TYPE_BLANK = "{where}{label}为空（应为：{allowed}）。"
ROSTER_TYPE_UNKNOWN = "{where}{label}“{value}”不是规定的类型（应为：{allowed}）。"
ROSTER_NO_BRANCH = "{sheet} 中没有任何支部：请从第 {row} 行起每行填写一个党支部。"
ROSTER_NEW_CODE = ("支部编码“{code}”（{name}）是{year}年新出现的，请在“{label}”一栏填写它由哪个（哪些）支部"
                   "拆分或合并而来，新成立的支部填“{new}”。如果只是改了名称，请保留原来的支部编码。")
ROSTER_UNKNOWN_ORIGIN = "支部编码“{code}”（{name}）的“{label}”中的“{unknown}”不是{last}年支部名册中的编码，请核对。"
ROSTER_GONE = ("{last}年支部名册中的“{code}”（{name}）在{year}年的名册中没有了。如果是改名，请保留原编码、"
               "只改名称；如果并入了其他支部，请在该支部的“{label}”一栏填写“{code}”；如果已撤销，可不处理。")
# settings.py: xlflow.toml
SETTINGS_NOT_UTF8 = "设置文件“{file}”不是 UTF-8 编码，无法读取。请用记事本打开，“另存为”时编码选择 UTF-8。"
SETTINGS_SYNTAX = ("设置文件“{file}”{where}格式有误，无法读取。请检查等号、英文引号和日期的写法，"
                   "例如：year = 2019、college = \"鹤壁职业技术学院\"、deadline = 2019-11-30。")
SETTINGS_AT_LINE = "第 {line} 行"
SETTINGS_UNKNOWN_KEY = "未知的设置项“{key}”。"
SETTINGS_WRONG_TYPE = "设置项“{key}”的值“{value}”类型不对，应为{kind}。"
SETTINGS_KINDS = {  # by the Python type of the setting
    "int": "整数", "str": "文字（用英文引号括起来）", "date": "日期（如 2019-11-30）", "float": "小数（如 0.1）",
    "bool": " true（是）或 false（否）"}
SETTINGS_PHASE = "阶段（phase）“{phase}”无法识别，可选：{choices}。"
SETTINGS_PERIOD = "统计起始日期（period_start）晚于截止日期（period_end）。"
SETTINGS_SHARE = "比例（{key}）应在 0 至 1 之间，如 0.2 表示 20%，现为 {value}。"
SETTINGS_SPOT_CHECK = "抽查比例（spot_check_share）应在 0 至 1 之间，如 0.1 表示 10%，现为 {value}。"
SETTINGS_POLL = "检查间隔（poll_seconds）应为不小于 1 的整数（秒），现为 {value}。"
SETTINGS_PROBLEMS = "设置文件“{file}”有问题：\n"
# doccheck.py: the Word templates in templates/ (one line per problem; the tags' braces doubled for format)
TEMPLATE_SYNTAX = "{name}：标签写法有误（{detail}）{near}。请检查 {{{{ }}}} 与 {{% %}} 是否成对、完整"
TEMPLATE_NEAR = "，出错处附近的文字：“{text}”"
TEMPLATE_BAD_TAG = "{name}：标签写法有误（{detail}）"
TEMPLATE_UNKNOWN = "{name}：标签“{tag}”中的“{key}”无法识别，可用的有：{available}"
TEMPLATE_UNKNOWN_UNDER = "{name}：标签“{tag}”中的“{key}”无法识别，“{parent}”下可用的有：{available}"
TEMPLATE_UNKNOWN_NAMES = "{name}：标签中的“{keys}”无法识别，可用的有：{available}"
TEMPLATE_UNOPENABLE = "{name}：文件无法打开（{kind}），可能已损坏或不是 Word 文档（.docx）"
TEMPLATE_MISSING = ("找不到 Word 模板：{names}（应在 {folder}）。运行 xlflow init 加上工作目录"
                    "可以补上缺少的模板，已有的文件不会被覆盖")
TEMPLATE_PROBLEMS = "Word 模板有 {count} 处问题，本次没有生成任何文书。请在 Word 中改正后重新运行：\n"
# the other stages' errors, raised as XlflowError (or TemplateError, RosterError) and printed by the CLI
NO_DEFUSEDXML = "缺少 defusedxml 组件，无法安全读取工作簿。请重新安装 xlflow。"  # intake.py
TEMPLATE_RENDER = "Word 模板“{template}”生成“{dest}”时出错：{detail}"  # reports.py
WATCH_INTERVAL = "检查间隔应为不小于 1 的整数（秒），现为 {every}。"  # watch.py
WATCH_BUSY = "工作目录“{root}”已有一个 xlflow 正在处理收件箱（xlflow watch 或 xlflow ingest），请等它结束，或先关闭它。"
# years.py: starting a new year from the last one
YEAR_LEDGER_UNREADABLE = "上一年度的台账 {ledger} 无法读取（{detail}），新年度没有建立。请先修复上一年度的台账后再试。"
YEAR_NOT_A_FOLDER = ("“{root}”不是 xlflow 工作目录（没有 {settings} 和 templates/），无法从它开始新年度。"
                     "请用 --from 指定上一年度的工作目录，例如 xlflow init 2020年支部建设 --from 2019年支部建设。")
YEAR_SAME_FOLDER = "新年度的工作目录不能与上一年度相同，请另起一个目录名，例如 2020年支部建设。"
YEAR_ALREADY_STARTED = ("“{root}”已经是一个工作目录（已有 {settings}），新年度已经开始，没有改动任何文件。"
                        "如需重新开始，请另选一个新的目录名。")
YEAR_ROSTER_LINEAGE = "支部名册与{last}年度的不能对应（每个支部的历史按支部编码延续）：\n"
# (issue 11 msg block end)

# ---- helper "mem" block: settings of watch's coalesced rebuild ----
SETTINGS_QUIET = "等待时间（quiet_seconds）应为不小于 0 的整数（秒），现为 {value}。"

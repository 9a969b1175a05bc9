"""stage: xlflow.toml → Settings (campaign year, phase, deadline, names, document numbers).

Every field has a default, so a working folder without xlflow.toml still works.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path

from xlflow.errors import SettingsError

# phase -> 样板 quota denominator: 1/10 of all branches in 提质 (seed), 1/5 in 创优 (seed); in the
# 达标 year the seed encourages 样板 without a ratio, so the 提质 ratio is the default guidance.
PHASES = {"达标": 10, "提质": 10, "创优": 5}


@dataclass(frozen=True)
class Settings:
    year: int = 2019
    phase: str = "达标"
    deadline: dt.date = dt.date(2019, 11, 30)
    # 初验 by the 党总支, then 复验 by the college, before the year ends (seed: 年底前开展达标验收)
    first_review_deadline: dt.date = dt.date(2019, 12, 10)
    second_review_deadline: dt.date = dt.date(2019, 12, 25)
    period_start: dt.date = dt.date(2019, 1, 1)
    period_end: dt.date = dt.date(2019, 12, 31)
    college: str = "鹤壁职业技术学院"
    committee: str = "中共鹤壁职业技术学院委员会"
    department: str = "中共鹤壁职业技术学院委员会组织部"
    contact: str = "组织部 0392-3311000"
    doc_prefix: str = "鹤职院党发"
    doc_number: int = 4
    poll_seconds: int = 30

    @property
    def quota_denominator(self) -> int:
        return PHASES[self.phase]

    @property
    def doc_code(self) -> str:
        """发文字号, e.g. 鹤职院党发〔2019〕4号."""
        return f"{self.doc_prefix}〔{self.year}〕{self.doc_number}号"


SETTINGS_FILE = "xlflow.toml"

DEFAULT_TOML = """\
# xlflow 工作目录设置。修改后保存即可，下次运行命令时生效。
# 日期写成 2019-11-30 的形式。

[campaign]
year = 2019                 # 年度
phase = "达标"              # 阶段：达标（2019）/ 提质（2020）/ 创优（2021）
deadline = 2019-11-30       # 各支部报送截止日期
first_review_deadline = 2019-12-10    # 各党总支交回初验工作簿的截止日期
second_review_deadline = 2019-12-25   # 学院复验工作簿的完成日期
period_start = 2019-01-01   # 本年度统计起始日期（三会一课、学时等按此期间核验）
period_end = 2019-12-31     # 本年度统计截止日期
poll_seconds = 30           # xlflow watch 检查收件箱的间隔（秒）

[org]
college = "鹤壁职业技术学院"
committee = "中共鹤壁职业技术学院委员会"
department = "中共鹤壁职业技术学院委员会组织部"
contact = "组织部 0392-3311000"   # 填表说明中的咨询电话
doc_prefix = "鹤职院党发"          # 发文字号前缀，如 鹤职院党发〔2019〕4号
doc_number = 4
"""


def load_settings(root: Path | str) -> Settings:
    path = Path(root) / SETTINGS_FILE
    if not path.is_file():
        return Settings()
    try:  # utf-8-sig: Windows Notepad may save a byte-order mark
        doc = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise SettingsError(f"设置文件“{path.name}”不是 UTF-8 编码，无法读取。请用记事本打开，"
                            "“另存为”时编码选择 UTF-8。") from None
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"at line (\d+)", str(exc))
        where = f"第 {line.group(1)} 行" if line else "某处"
        raise SettingsError(f"设置文件“{path.name}”{where}格式有误，无法读取。请检查等号、英文引号和日期的写法，"
                            "例如：year = 2019、college = \"鹤壁职业技术学院\"、deadline = 2019-11-30。") from None
    # Keys may sit in any section (or none): [campaign] and [org] only group them for the reader.
    flat = {k: v for k, v in doc.items() if not isinstance(v, dict)}
    flat |= {k: v for section in doc.values() if isinstance(section, dict) for k, v in section.items()}
    known = {f.name: f for f in fields(Settings)}
    problems = [f"未知的设置项“{k}”。" for k in flat if k not in known]
    s = Settings()
    for key, value in flat.items():
        if key not in known:
            continue
        expected = type(getattr(s, key))
        if expected is dt.date and isinstance(value, dt.datetime):
            value = value.date()
        if not isinstance(value, expected) or isinstance(value, bool):
            problems.append(f"设置项“{key}”的值“{value}”类型不对，应为{_KIND[expected]}。")
            continue
        s = replace(s, **{key: value})
    if s.phase not in PHASES:
        problems.append(f"阶段（phase）“{s.phase}”无法识别，可选：{'、'.join(PHASES)}。")
    if s.period_start > s.period_end:
        problems.append("统计起始日期（period_start）晚于截止日期（period_end）。")
    if s.poll_seconds < 1:
        problems.append(f"检查间隔（poll_seconds）应为不小于 1 的整数（秒），现为 {s.poll_seconds}。")
    if problems:
        raise SettingsError(f"设置文件“{path.name}”有问题：\n" + "\n".join(problems))
    return s


_KIND = {int: "整数", str: "文字（用英文引号括起来）", dt.date: "日期（如 2019-11-30）"}

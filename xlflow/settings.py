"""stage: xlflow.toml → Settings (campaign year, phase, deadline, names, document numbers).

Every field has a default, so a working folder without xlflow.toml still works.
"""

from __future__ import annotations

import datetime as dt
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
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"设置文件“{path.name}”格式有误：{exc}。请检查引号和等号。") from None
    flat = {k: v for section in doc.values() if isinstance(section, dict) for k, v in section.items()}
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
    if problems:
        raise SettingsError(f"设置文件“{path.name}”有问题：\n" + "\n".join(problems))
    return s


_KIND = {int: "整数", str: "文字（用英文引号括起来）", dt.date: "日期（如 2019-11-30）"}

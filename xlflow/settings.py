"""stage: xlflow.toml → Settings (campaign year, phase, deadline, names, document numbers).

Every field has a default, so a working folder without xlflow.toml still works.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path

from xlflow import messages as M
from xlflow.errors import SettingsError

# phase -> 样板 quota denominator: 1/10 of all branches in 提质 (seed), 1/5 in 创优 (seed); in the
# 达标 year the seed encourages 样板 without a ratio, so the 提质 ratio is the default guidance.
PHASES = {"达标": 10, "提质": 10, "创优": 5}
PLACEHOLDER_PREFIX = "（请在xlflow.toml中设置发文机关代字）"
# Keys of earlier versions, read as their new names.
_ALIASES = {"doc_prefix": "decision_prefix", "doc_number": "decision_number"}


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
    # 发文字号 per document kind: prefix and number. The shipped prefix is a placeholder a clerk sees at
    # once (never the plan's own number): the college sets its own in xlflow.toml.
    decision_prefix: str = PLACEHOLDER_PREFIX
    decision_number: int = 1
    reminder_prefix: str = PLACEHOLDER_PREFIX
    reminder_number: int = 1
    # 复验's random spot check (seed: 集中督查与随机抽查相结合) of the branches not put forward by their 总支
    spot_check_share: float = 0.1
    spot_check_seed: int = 2019
    # In the 达标 year the seed sets a standard and encourages 样板 (第一阶段 第6条) but names none.
    models_in_dabiao: bool = False
    # 标杆院系 (创优 year, seed: 依据达标以及创建样板党支部成效): every branch 认定 this year, 样板 at least
    # this share of its branches, and at least this share 认定 in each earlier year of the campaign
    benchmark_share: float = 0.2
    benchmark_rate: float = 0.6
    poll_seconds: int = 30
    quiet_seconds: int = 5  # watch: the outputs are rebuilt once the inbox has been quiet this long

    @property
    def quota_denominator(self) -> int:
        return PHASES[self.phase]

    @property
    def models_awarded(self) -> bool:
        """Does the committee name 样板 this year? (提质 and 创优 always; 达标 only if switched on.)"""
        return self.phase != "达标" or self.models_in_dabiao

    def doc_code(self, kind: str, offset: int = 0) -> str:
        """发文字号 of a document kind ("decision" or "reminder"), e.g. 党发〔2019〕12号."""
        prefix, number = getattr(self, f"{kind}_prefix"), getattr(self, f"{kind}_number")
        return f"{prefix}〔{self.year}〕{number + offset}号"


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
quiet_seconds = 5          # xlflow watch 收件箱连续这么多秒没有新文件后，才更新汇总表和文书（一批文件只更新一次）

[org]
college = "鹤壁职业技术学院"
committee = "中共鹤壁职业技术学院委员会"
department = "中共鹤壁职业技术学院委员会组织部"
contact = "组织部 0392-3311000"   # 填表说明中的咨询电话

[documents]
# 发文字号 = 前缀〔年度〕序号号。请改成本单位的发文机关代字和本年度的序号。
decision_prefix = "（请在xlflow.toml中设置发文机关代字）"   # 表彰（认定）决定，如 某院党发
decision_number = 1
reminder_prefix = "（请在xlflow.toml中设置发文机关代字）"   # 催报通知，如 某院组通
reminder_number = 1

[review]
spot_check_share = 0.1      # 复验随机抽查比例：未经党总支推荐申请复验的支部中抽取的比例（0 表示不抽查）
spot_check_seed = 2019      # 抽查的随机种子；抽取结果记入台账，可按种子复核
models_in_dabiao = false    # 达标阶段（2019）是否评定校级样板党支部；默认只提出推荐创建名单
benchmark_share = 0.2       # 标杆院系：样板党支部（含往年评定）占该总支党支部的比例不低于此值
benchmark_rate = 0.6        # 标杆院系：往年每一年认定达标的党支部占该总支的比例不低于此值（本年须全部认定）
"""


def load_settings(root: Path | str) -> Settings:
    path = Path(root) / SETTINGS_FILE
    if not path.is_file():
        return Settings()
    try:  # utf-8-sig: Windows Notepad may save a byte-order mark
        doc = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise SettingsError(M.SETTINGS_NOT_UTF8.format(file=path.name)) from None
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"at line (\d+)", str(exc))
        where = M.SETTINGS_AT_LINE.format(line=line.group(1)) if line else M.SOMEWHERE
        raise SettingsError(M.SETTINGS_SYNTAX.format(file=path.name, where=where)) from None
    # Keys may sit in any section (or none): [campaign] and [org] only group them for the reader.
    flat = {k: v for k, v in doc.items() if not isinstance(v, dict)}
    flat |= {k: v for section in doc.values() if isinstance(section, dict) for k, v in section.items()}
    flat = {_ALIASES.get(k, k): v for k, v in flat.items()}
    known = {f.name: f for f in fields(Settings)}
    problems = [M.SETTINGS_UNKNOWN_KEY.format(key=k) for k in flat if k not in known]
    s = Settings()
    for key, value in flat.items():
        if key not in known:
            continue
        expected = type(getattr(s, key))
        if expected is dt.date and isinstance(value, dt.datetime):
            value = value.date()
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, expected) or (isinstance(value, bool) and expected is not bool):
            problems.append(M.SETTINGS_WRONG_TYPE.format(key=key, value=value, kind=M.SETTINGS_KINDS[expected.__name__]))
            continue
        s = replace(s, **{key: value})
    if s.phase not in PHASES:
        problems.append(M.SETTINGS_PHASE.format(phase=s.phase, choices="、".join(PHASES)))
    if s.period_start > s.period_end:
        problems.append(M.SETTINGS_PERIOD)
    for key in ("benchmark_share", "benchmark_rate"):
        if not 0 <= getattr(s, key) <= 1:
            problems.append(M.SETTINGS_SHARE.format(key=key, value=getattr(s, key)))
    if not 0 <= s.spot_check_share <= 1:
        problems.append(M.SETTINGS_SPOT_CHECK.format(value=s.spot_check_share))
    if s.poll_seconds < 1:
        problems.append(M.SETTINGS_POLL.format(value=s.poll_seconds))
    if s.quiet_seconds < 0:
        problems.append(M.SETTINGS_QUIET.format(value=s.quiet_seconds))
    if problems:
        raise SettingsError(M.SETTINGS_PROBLEMS.format(file=path.name) + "\n".join(problems))
    return s


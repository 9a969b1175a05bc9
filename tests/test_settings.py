"""xlflow.toml → Settings: defaults, the file `xlflow init` writes, and every bad edit's Chinese message."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from xlflow.errors import SettingsError
from xlflow.settings import DEFAULT_TOML, PHASES, SETTINGS_FILE, Settings, load_settings
from xlflow.workspace import init_workspace

HEADER = f"设置文件“{SETTINGS_FILE}”有问题：\n"


def write(tmp_path, text: str, encoding: str = "utf-8"):
    (tmp_path / SETTINGS_FILE).write_text(text, encoding=encoding)
    return tmp_path


def edited(old: str, new: str) -> str:
    """DEFAULT_TOML with one line changed, as a clerk edits it."""
    assert DEFAULT_TOML.count(old) == 1, old
    return DEFAULT_TOML.replace(old, new)


def problem(tmp_path, text: str) -> str:
    with pytest.raises(SettingsError) as exc:
        load_settings(write(tmp_path, text))
    return str(exc.value)


# ---- defaults ----------------------------------------------------------------------------------

def test_defaults_without_a_settings_file(tmp_path):
    s = load_settings(tmp_path)
    assert s == Settings()
    assert (s.year, s.phase, s.deadline) == (2019, "达标", dt.date(2019, 11, 30))
    assert (s.period_start, s.period_end) == (dt.date(2019, 1, 1), dt.date(2019, 12, 31))
    assert s.college == "鹤壁职业技术学院"
    assert s.poll_seconds == 30 and s.quiet_seconds == 5


def test_default_toml_written_by_init_loads_to_exactly_the_defaults(tmp_path):
    ws, created = init_workspace(tmp_path / "ws")
    path = ws.root / SETTINGS_FILE
    assert path in created
    assert path.read_text(encoding="utf-8") == DEFAULT_TOML
    assert load_settings(ws.root) == Settings()


def test_default_toml_names_every_setting(tmp_path):
    """Every field can be changed from the file a clerk gets (nothing hidden in code)."""
    for f in dataclasses.fields(Settings):
        assert f"\n{f.name} = " in DEFAULT_TOML, f.name


def test_an_edit_takes_effect_and_the_rest_keep_their_defaults(tmp_path):
    text = edited("year = 2019 ", "year = 2020 ").replace('phase = "达标"', 'phase = "提质"')
    text = text.replace("decision_number = 1", "decision_number = 12")
    s = load_settings(write(tmp_path, text))
    assert s == dataclasses.replace(Settings(), year=2020, phase="提质", decision_number=12)


def test_a_byte_order_mark_from_windows_notepad_is_accepted(tmp_path):
    (tmp_path / SETTINGS_FILE).write_bytes(b"\xef\xbb\xbf" + edited("year = 2019 ", "year = 2021 ").encode())
    assert load_settings(tmp_path).year == 2021


def test_a_key_outside_any_section_is_not_silently_ignored(tmp_path):
    s = load_settings(write(tmp_path, "year = 2020\n" + DEFAULT_TOML.replace("year = 2019 ", "# ")))
    assert s.year == 2020


def test_a_datetime_is_taken_as_its_date(tmp_path):
    s = load_settings(write(tmp_path, edited("deadline = 2019-11-30", "deadline = 2019-11-30T17:00:00")))
    assert s.deadline == dt.date(2019, 11, 30)


# ---- bad edits: the exact Chinese message -------------------------------------------------------

SYNTAX = ("设置文件“xlflow.toml”第 {n} 行格式有误，无法读取。请检查等号、英文引号和日期的写法，"
          "例如：year = 2019、college = \"鹤壁职业技术学院\"、deadline = 2019-11-30。")


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize("old, new", [
    ("year = 2019 ", "year = 2019年 "),                               # a unit typed after the number
    ('college = "鹤壁职业技术学院"', "college = “鹤壁职业技术学院”"),  # Chinese quotes
    ("deadline = 2019-11-30", "deadline = 2019-11-31"),               # no such day
    ("deadline = 2019-11-30", "deadline = 2019/11/30"),               # the wrong date form
    ("decision_number = 1", "decision_number 1"),                     # the equals sign forgotten
])
def test_bad_toml_syntax_names_the_line(tmp_path, old, new):
    text = edited(old, new)
    assert problem(tmp_path, text) == SYNTAX.format(n=_line_of(text, new))


def test_a_file_that_is_not_utf8(tmp_path):
    text = DEFAULT_TOML.replace("鹤壁职业技术学院", "濮阳职业技术学院")
    (tmp_path / SETTINGS_FILE).write_bytes(text.encode("gbk"))
    with pytest.raises(SettingsError) as exc:
        load_settings(tmp_path)
    assert str(exc.value) == ("设置文件“xlflow.toml”不是 UTF-8 编码，无法读取。请用记事本打开，"
                              "“另存为”时编码选择 UTF-8。")


def test_unknown_key(tmp_path):
    text = edited("decision_number = 1", "decision_number = 1\ndecision_numbr = 5")
    assert problem(tmp_path, text) == HEADER + "未知的设置项“decision_numbr”。"


@pytest.mark.parametrize("old, new, message", [
    ("year = 2019 ", 'year = "2019" ', "设置项“year”的值“2019”类型不对，应为整数。"),
    ("year = 2019 ", "year = 2019.0 ", "设置项“year”的值“2019.0”类型不对，应为整数。"),
    ("year = 2019 ", "year = true ", "设置项“year”的值“True”类型不对，应为整数。"),
    ("deadline = 2019-11-30", 'deadline = "2019-11-30"',
     "设置项“deadline”的值“2019-11-30”类型不对，应为日期（如 2019-11-30）。"),
    ('college = "鹤壁职业技术学院"', "college = 2019",
     "设置项“college”的值“2019”类型不对，应为文字（用英文引号括起来）。"),
    ("poll_seconds = 30", "poll_seconds = 0", "检查间隔（poll_seconds）应为不小于 1 的整数（秒），现为 0。"),
    ("quiet_seconds = 5", "quiet_seconds = -1", "等待时间（quiet_seconds）应为不小于 0 的整数（秒），现为 -1。"),
])
def test_wrong_type(tmp_path, old, new, message):
    assert problem(tmp_path, edited(old, new)) == HEADER + message


def test_unknown_phase(tmp_path):
    assert problem(tmp_path, edited('phase = "达标"', 'phase = "达标引领"')) == (
        HEADER + "阶段（phase）“达标引领”无法识别，可选：达标、提质、创优。")


def test_period_start_after_period_end(tmp_path):
    assert problem(tmp_path, edited("period_start = 2019-01-01", "period_start = 2020-01-01")) == (
        HEADER + "统计起始日期（period_start）晚于截止日期（period_end）。")


def test_every_problem_is_listed_at_once(tmp_path):
    text = edited('phase = "达标"', 'phase = "优秀"').replace("year = 2019 ", 'year = "2019" ')
    text += "\n[extra]\nfoo = 1\n"
    assert problem(tmp_path, text) == HEADER + "\n".join([
        "未知的设置项“foo”。",
        "设置项“year”的值“2019”类型不对，应为整数。",
        "阶段（phase）“优秀”无法识别，可选：达标、提质、创优。",
    ])


# ---- derived values ---------------------------------------------------------------------------

def test_doc_code_is_an_obvious_placeholder_until_the_college_sets_its_own():
    """Never the plan's own number (鹤职院党发〔2019〕4号): a clerk sees at once that it is to be set."""
    assert Settings().doc_code("decision") == "（请在xlflow.toml中设置发文机关代字）〔2019〕1号"
    assert Settings(year=2020, decision_number=17).doc_code("decision") == "（请在xlflow.toml中设置发文机关代字）〔2020〕17号"
    assert Settings(reminder_prefix="鹤职院组通", reminder_number=3).doc_code("reminder", 2) == "鹤职院组通〔2019〕5号"


def test_doc_code_from_the_file(tmp_path):
    text = edited('decision_prefix = "（请在xlflow.toml中设置发文机关代字）"', 'decision_prefix = "鹤职院党组发"')
    text = text.replace("decision_number = 1", "decision_number = 9").replace("year = 2019 ", "year = 2021 ")
    assert load_settings(write(tmp_path, text)).doc_code("decision") == "鹤职院党组发〔2021〕9号"


def test_an_earlier_versions_document_number_keys_still_work(tmp_path):
    text = edited("decision_number = 1", "doc_number = 7").replace("decision_prefix", "doc_prefix")
    s = load_settings(write(tmp_path, text))
    assert s.doc_code("decision").endswith("〔2019〕7号")


@pytest.mark.parametrize("old, new, message", [
    ("spot_check_share = 0.1", "spot_check_share = 1.5",
     "抽查比例（spot_check_share）应在 0 至 1 之间，如 0.1 表示 10%，现为 1.5。"),
    ("models_in_dabiao = false", 'models_in_dabiao = "否"',
     "设置项“models_in_dabiao”的值“否”类型不对，应为 true（是）或 false（否）。"),
])
def test_review_settings_that_cannot_be_used(tmp_path, old, new, message):
    assert problem(tmp_path, edited(old, new)) == HEADER + message


def test_a_whole_number_share_is_read_as_a_share(tmp_path):
    assert load_settings(write(tmp_path, edited("spot_check_share = 0.1", "spot_check_share = 0"))).spot_check_share == 0.0


@pytest.mark.parametrize("phase", list(PHASES))
def test_quota_per_phase(tmp_path, phase):
    """The 样板 quota is 1/denominator of the branches; the seed fixes 1/10 in 提质 (2020) and 1/5 in
    创优 (2021). (达标 has no ratio in the seed; its value is a policy choice kept in PHASES.)"""
    s = load_settings(write(tmp_path, edited('phase = "达标"', f'phase = "{phase}"')))
    assert s.phase == phase
    assert s.quota_denominator == PHASES[phase]
    assert {"提质": 10, "创优": 5}.get(phase, s.quota_denominator) == s.quota_denominator

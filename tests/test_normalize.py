"""normalize: what branch secretaries really type → typed values, or a finding with a clear reason."""

from datetime import date, datetime, time, timedelta

import pytest

from xlflow.constants import ACTIVITY_TYPES, EVALUATION_GRADES, MEMBER_CATEGORIES
from xlflow.messages import Code, finding
from xlflow.normalize import (
    Parsed,
    clean_text,
    parse_choice,
    parse_date,
    parse_int,
    parse_number,
    parse_yes_no,
)


def message(p: Parsed) -> str:
    """The exact text a branch secretary reads for this cell."""
    return finding(p.problem, sheet="党员名册", cell="F12", value=p.raw, **p.params).message


# ---- clean_text ----

@pytest.mark.parametrize(
    "raw, expected",
    [
        (None, None),
        ("", None),
        ("   ", None),
        ("\u3000\u00a0 \t", None),
        ("\u200b", None),
        ("张三", "张三"),
        ("  张三  ", "张三"),
        ("\u3000张三\u3000", "张三"),
        ("\u00a0张三\u00a0", "张三"),
        ("张\u200b三\ufeff", "张三"),
        ("张\x00三\x07\x1f", "张三"),
        ("学习   党章", "学习 党章"),
        ("学习\t\t党章", "学习 党章"),
        ("１２３", "123"),
        ("ＡＢＣｘｙｚ", "ABCxyz"),
        ("１３８－００１３－８０００", "138-0013-8000"),
        ("２０１９．６．２０", "2019.6.20"),
        # Chinese punctuation is the branch's prose: kept as typed, “”、。 included
        ("学习“两学一做”，讨论、发言。", "学习“两学一做”，讨论、发言。"),
        ("第一党支部（教工）：合格！？；", "第一党支部（教工）：合格！？；"),
        ("1.问题一 \r\n\r\n 2.问题二", "1.问题一\n2.问题二"),
        (12, "12"),
        (12.0, "12"),
        (31.5, "31.5"),
        (13800138000.0, "13800138000"),
        (True, "TRUE"),
        (datetime(2019, 6, 20), "2019-06-20"),
        (datetime(2019, 6, 20, 14, 30), "2019-06-20 14:30:00"),
        (date(2019, 6, 20), "2019-06-20"),
    ],
)
def test_clean_text(raw, expected):
    assert clean_text(raw) == expected


def test_clean_text_leaves_chinese_characters_alone():
    # NFKC would turn these compatibility ideographs and marks into other characters.
    s = "⾦金兀︰…〇"
    assert clean_text(s) == s


# ---- numbers ----

@pytest.mark.parametrize(
    "raw, expected",
    [
        (12, 12),
        (12.0, 12),
        ("12", 12),
        ("１２", 12),
        (" 12 ", 12),
        ("\u300012\u3000", 12),
        ("12.0", 12),
        ("12人", 12),
        ("12 人", 12),
        ("3次", 3),
        ("12个月", 12),
        ("12月", 12),
        ("16学时", 16),
        ("1,200", 1200),
        ("-3", -3),
        ("13800138000", 13800138000),
        (None, None),
        ("", None),
        ("  ", None),
    ],
)
def test_parse_int_accepts(raw, expected):
    p = parse_int(raw)
    assert (p.value, p.raw, p.problem) == (expected, raw, None)
    assert type(p.value) is (int if expected is not None else type(None))


@pytest.mark.parametrize(
    "raw, expected",
    [
        (31.5, 31.5),
        (12, 12.0),
        ("31.5", 31.5),
        ("３１．５", 31.5),
        ("31.5学时", 31.5),
        (" 31.5 小时 ", 31.5),
        (".5", 0.5),
        ("1,234.5", 1234.5),
    ],
)
def test_parse_number_accepts(raw, expected):
    p = parse_number(raw)
    assert (p.value, p.problem) == (expected, None)
    assert type(p.value) is float


NOT_NUMBER = "党员名册!F12：“{}”不是数字。请只填写阿拉伯数字，例如 12 或 31.5。"
NOT_INTEGER = "党员名册!F12：“{}”不是整数。这一栏填写人数、次数或月数等，请填写整数，例如 12。"


@pytest.mark.parametrize(
    "raw, code, text",
    [
        ("十二", Code.V204, NOT_NUMBER.format("十二")),
        ("约12", Code.V204, NOT_NUMBER.format("约12")),
        ("12人次", Code.V204, NOT_NUMBER.format("12人次")),
        ("80%", Code.V204, NOT_NUMBER.format("80%")),
        ("1e3", Code.V204, NOT_NUMBER.format("1e3")),
        ("nan", Code.V204, NOT_NUMBER.format("nan")),
        ("1_000", Code.V204, NOT_NUMBER.format("1_000")),
        ("1,2", Code.V204, NOT_NUMBER.format("1,2")),
        ("12-15", Code.V204, NOT_NUMBER.format("12-15")),
        (True, Code.V204, NOT_NUMBER.format("True")),
        (datetime(2019, 6, 12), Code.V204, NOT_NUMBER.format("2019-06-12 00:00:00")),
        ("31.5", Code.V205, NOT_INTEGER.format("31.5")),
        (31.5, Code.V205, NOT_INTEGER.format("31.5")),
        ("12.5人", Code.V205, NOT_INTEGER.format("12.5人")),
    ],
)
def test_parse_int_rejects(raw, code, text):
    p = parse_int(raw)
    assert (p.value, p.raw, p.problem) == (None, raw, code)
    assert message(p) == text


def test_parse_number_rejects_and_units_can_be_narrowed():
    assert parse_number("三十").problem == Code.V204
    assert parse_number(float("nan")).problem == Code.V204
    assert parse_number("12人", units=frozenset({"学时"})).problem == Code.V204
    assert parse_number("12学时", units=frozenset({"学时"})).value == 12.0


# ---- dates ----

JUNE_20 = date(2019, 6, 20)


@pytest.mark.parametrize(
    "raw",
    [
        datetime(2019, 6, 20),
        datetime(2019, 6, 20, 9, 30),
        JUNE_20,
        43636,  # 1900 system serial
        43636.0,
        43636.75,  # with a time of day
        "2019年6月20日",
        "2019年06月20日",
        "2019年6月20号",
        "2019年6月20",
        "2019 年 6 月 20 日",
        "２０１９年６月２０日",
        "2019.6.20",
        "2019.06.20",
        "２０１９．６．２０",
        "2019。6。20",
        "2019/6/20",
        "2019-6-20",
        "2019-06-20",
        "2019－06－20",
        "2019 - 06 - 20",
        "2019-06-20 00:00:00",
        "2019/6/20 14:30",
        "20190620",
        "２０１９０６２０",
        20190620,  # typed into a General cell, stored as a number
        "  2019-06-20\u3000",
        "\u00a02019年6月20日\u200b",
    ],
)
def test_parse_date_accepts(raw):
    p = parse_date(raw)
    assert (p.value, p.raw, p.problem) == (JUNE_20, raw, None)


@pytest.mark.parametrize(
    "serial, date1904, expected",
    [
        (1, False, date(1900, 1, 1)),
        (59, False, date(1900, 2, 28)),
        (61, False, date(1900, 3, 1)),
        (43466, False, date(2019, 1, 1)),
        (43636, True, date(2023, 6, 21)),  # the same number in a 1904 workbook
        (42174, True, JUNE_20),
        (0, True, date(1904, 1, 1)),
        (42174.5, True, JUNE_20),
        (datetime(2019, 6, 20), True, JUNE_20),  # calamine already converted it
        ("2019-06-20", True, JUNE_20),
    ],
)
def test_parse_date_serials(serial, date1904, expected):
    p = parse_date(serial, date1904=date1904)
    assert (p.value, p.problem) == (expected, None)


def test_parse_date_blank():
    for raw in (None, "", "   ", "\u3000"):
        assert parse_date(raw) == Parsed(None, raw, None)


BAD = "党员名册!F12：“{}”不是有效日期。请填写完整日期，例如 2019-06-20 或 2019年6月20日。"
TWO_DIGIT = "党员名册!F12：“{}”的年份只有两位，无法确定是哪一年。请写出四位年份，例如 2019年6月20日。"
NO_SUCH = "党员名册!F12：“{}”这一天并不存在（月份应为 1–12，日不能超过当月天数）。请核对后填写正确的日期，例如 2019年6月20日。"
NO_DAY = "党员名册!F12：“{}”只写到年或月，缺少具体哪一天。请填写到日，例如 2019年6月20日；记不清的请查阅会议记录等材料。"
NO_YEAR = "党员名册!F12：“{}”没有写年份。请写出完整的年月日，例如 2019年6月20日。"
ORDER = "党员名册!F12：“{}”把年份写在最后，无法确定哪个是月、哪个是日。请按年、月、日的顺序填写，例如 2019-06-20 或 2019年6月20日。"


@pytest.mark.parametrize(
    "raw, code, text",
    [
        ("19.6.20", Code.V202, TWO_DIGIT),
        ("19/6/20", Code.V202, TWO_DIGIT),
        ("6/20/19", Code.V202, TWO_DIGIT),
        ("19-06-20", Code.V202, TWO_DIGIT),
        ("19年6月20日", Code.V202, TWO_DIGIT),
        ("19年6月", Code.V202, TWO_DIGIT),
        ("2019-2-30", Code.V203, NO_SUCH),
        ("2019年2月29日", Code.V203, NO_SUCH),
        ("2019.13.1", Code.V203, NO_SUCH),
        ("2019-00-10", Code.V203, NO_SUCH),
        ("20190230", Code.V203, NO_SUCH),
        (20190230, Code.V203, NO_SUCH),
        (60, Code.V203, NO_SUCH),  # Excel's 1900-02-29, which never existed
        ("2019年6月", Code.V208, NO_DAY),
        ("2019年6月份", Code.V208, NO_DAY),
        ("2019年", Code.V208, NO_DAY),
        ("2019.6", Code.V208, NO_DAY),
        ("2019-06", Code.V208, NO_DAY),
        ("201906", Code.V208, NO_DAY),
        ("2019", Code.V208, NO_DAY),
        (2019, Code.V208, NO_DAY),  # a year typed into a General cell, not serial 2019
        (2019.6, Code.V208, NO_DAY),
        (201906, Code.V208, NO_DAY),
        ("6月20日", Code.V209, NO_YEAR),
        ("6.20", Code.V209, NO_YEAR),
        ("6/20", Code.V209, NO_YEAR),
        ("6/20/2019", Code.V210, ORDER),
        ("20/6/2019", Code.V210, ORDER),
        ("二〇一九年六月二十日", Code.V201, BAD),
        ("6月下旬", Code.V201, BAD),
        ("2019年6月20日上午", Code.V201, BAD),
        ("2019.6.20-6.21", Code.V201, BAD),
        ("2019-6/20", Code.V201, BAD),
        ("0219-06-20", Code.V201, BAD),
        ("2190-06-20", Code.V201, BAD),
        ("219.6.20", Code.V201, BAD),
        ("43636", Code.V201, BAD),
        ("待定", Code.V201, BAD),
        (0, Code.V201, BAD),
        (-5, Code.V201, BAD),
        (99999999, Code.V201, BAD),
        (True, Code.V201, BAD),
        (time(9, 30), Code.V201, BAD),
        (timedelta(hours=2), Code.V201, BAD),
    ],
)
def test_parse_date_rejects(raw, code, text):
    p = parse_date(raw)
    assert (p.value, p.raw, p.problem) == (None, raw, code)
    assert message(p) == text.format(raw)


def test_full_width_rejection_shows_what_was_typed_and_helper_tidies_it():
    p = parse_date("１９．６．２０")
    assert p.problem == Code.V202
    assert message(p) == TWO_DIGIT.format("１９．６．２０")
    f = parse_date(" 2019年6月 ").finding(file="一支部.xlsx", sheet="党员名册", cell="F12")
    assert (f.code, f.where, f.value, f.file) == ("V208", "党员名册!F12", "2019年6月", "一支部.xlsx")
    assert f.message == NO_DAY.format("2019年6月")
    assert parse_int(2019.5).finding(sheet="党员名册", cell="F12").value == "2019.5"
    assert parse_date("2019-06-20").finding(sheet="党员名册", cell="F12") is None


# ---- yes/no ----

@pytest.mark.parametrize(
    "raw, expected",
    [
        ("是", True), ("否", False),
        ("√", True), ("×", False),
        ("✓", True), ("✗", False),
        ("✔", True), ("✘", False),
        ("Y", True), ("N", False),
        ("y", True), ("n", False),
        ("ｙ", True), ("Ｎ", False),
        ("yes", True), ("No", False),
        ("有", True), ("无", False),
        (True, True), (False, False),
        ("TRUE", True), ("FALSE", False),
        (1, True), (0, False),
        (1.0, True), ("0", False),
        (" 是 ", True), ("\u3000否\u3000", False),
        (None, None), ("", None),
    ],
)
def test_parse_yes_no_accepts(raw, expected):
    p = parse_yes_no(raw)
    assert (p.value, p.raw, p.problem) == (expected, raw, None)


@pytest.mark.parametrize("raw", ["是的", "x", "X", "不确定", "2", 2, 0.5, "是/否", "否（已补）"])
def test_parse_yes_no_rejects(raw):
    p = parse_yes_no(raw)
    assert (p.value, p.problem) == (None, Code.V206)
    assert message(p) == f"党员名册!F12：“{raw}”无法判断是“是”还是“否”。请从下拉列表中选择“是”或“否”。"


# ---- choices ----

@pytest.mark.parametrize(
    "raw, choices, expected",
    [
        ("正式党员", MEMBER_CATEGORIES, "正式党员"),
        (" 正式党员 ", MEMBER_CATEGORIES, "正式党员"),
        ("\u3000预备党员\u200b", MEMBER_CATEGORIES, "预备党员"),
        ("正式 党员", MEMBER_CATEGORIES, "正式党员"),
        ("基本合格", EVALUATION_GRADES, "基本合格"),
        ("支部党员大会", ACTIVITY_TYPES, "支部党员大会"),
        ("样板(2020)", ("样板（2020）", "达标"), "样板（2020）"),  # half-width brackets
        ("ａ档", ["A档", "B档"], "A档"),  # full-width and case
        (None, MEMBER_CATEGORIES, None),
        ("  ", MEMBER_CATEGORIES, None),
    ],
)
def test_parse_choice_accepts(raw, choices, expected):
    p = parse_choice(raw, choices)
    assert (p.value, p.raw, p.problem) == (expected, raw, None)


@pytest.mark.parametrize(
    "raw, choices",
    [
        ("党员", MEMBER_CATEGORIES),  # a guess, not a trivial variant
        ("党员大会", ACTIVITY_TYPES),
        ("良好", EVALUATION_GRADES),
        ("合格 ", ("优秀", "基本合格")),
    ],
)
def test_parse_choice_rejects(raw, choices):
    p = parse_choice(raw, choices)
    assert (p.value, p.problem) == (None, Code.V207)
    assert message(p) == (
        f"党员名册!F12：“{raw}”不在可选项中。请从下拉列表中选择以下之一：{'、'.join(choices)}。"
    )


def test_parse_choice_example_message():
    p = parse_choice("良好", EVALUATION_GRADES)
    assert message(p) == (
        "党员名册!F12：“良好”不在可选项中。请从下拉列表中选择以下之一：优秀、合格、基本合格、不合格、未评议。"
    )


def test_choices_differing_only_trivially_match_exactly_only():
    choices = ("A档", "a档")
    assert parse_choice("a档", choices).value == "a档"
    assert parse_choice("A档", choices).value == "A档"
    assert parse_choice("Ａ档", choices).value == "A档"  # exact after clean_text
    assert parse_choice("ａ档", choices).value == "a档"
    assert parse_choice("A 档", choices).problem == Code.V207


# ---- the catalogue ----

def test_codes_live_in_the_validation_block_with_the_usual_fields():
    for code in (Code.V201, Code.V202, Code.V203, Code.V204, Code.V205, Code.V206, Code.V207, Code.V208, Code.V209, Code.V210):
        severity, template = code.severity, code.template
        assert severity == "error"
        assert template.startswith("{sheet}!{cell}：“{value}”")
        assert "请" in template  # every message says how to fix it


def test_a_finding_says_by_its_stage_whether_the_file_was_read_as_a_form():
    from xlflow.messages import Finding
    assert finding(Code.V204, sheet="党员名册", cell="F12", value="十二").file_was_read
    assert not finding(Code.F107, file="一支部.xlsx").file_was_read  # damaged: never opened
    assert not finding(Code.D101, file="一支部.xlsx").file_was_read
    # a finding an older xlflow kept in the ledger, under a code the catalogue no longer has
    assert not Finding("I103", "error", "旧的意见").file_was_read

"""The checklist is transcribed whole from the seed, and every broken edit names its line."""

from pathlib import Path

import pytest

from xlflow.checklist import load_checklist
from xlflow.errors import ChecklistError

ROOT = Path(__file__).resolve().parent.parent
CHECKLIST = ROOT / "templates" / "checklist.yaml"
# The annex (建设要点清单) of the campaign's founding document, copied verbatim from the seed
# (shared/seed/000_ab877c283c062e3d.txt, from its line "附件：" to the end), so that a clone alone can run it.
ANNEX = Path(__file__).resolve().parent / "data" / "seed_annex.txt"


def seed_indicators() -> list[tuple[str, int, str]]:
    """The annex of the seed, parsed independently of the YAML: (category, number, text)."""
    text = ANNEX.read_text(encoding="utf-8")
    rows, category = [], None
    for line in text[text.index("建设内容\t序号\t具体指标"):].splitlines()[1:]:
        parts = line.split("\t")
        if len(parts) >= 3:
            category = parts[0].replace(" ", "") or category
            rows.append((category, int(parts[1]), parts[2].strip()))
    return rows


def test_all_44_indicators_in_6_categories_with_the_seed_text():
    c = load_checklist(CHECKLIST)
    assert len(c.categories) == 6 and len(c.indicators) == 44
    got = [(c.category(i.category).name, i.seq, i.text) for i in c.indicators]
    assert got == seed_indicators()


def test_default_scoring():
    c = load_checklist(CHECKLIST)
    weights = {cat.short: cat.weight for cat in c.categories}
    assert weights == {"支部设置": 15, "工作保障": 15, "活动阵地": 10, "制度机制": 20, "组织生活": 20, "党员教育管理": 20}
    for cat in c.categories:
        assert sum(i.points for i in cat.indicators) == cat.weight
    assert [(r.name, r.factor) for r in c.ratings] == [("达标", 1), ("基本达标", 0.6), ("未达标", 0), ("不适用", None)]
    assert c.pass_line == 80
    assert c.veto and all(c.indicator(v).veto for v in c.veto)
    assert len({i.code for i in c.indicators}) == 44


def test_measurable_requirements_carry_rules():
    c = load_checklist(CHECKLIST)
    rules = {(i.code, r.type, r.get("activity"), r.get("per")) for i in c.indicators for r in i.rules}
    assert ("ZJ02", "frequency", "支部党员大会", "quarter") in rules
    assert ("ZJ02", "frequency", "支部委员会", "month") in rules
    assert ("ZJ03", "frequency", "党课", "quarter") in rules
    assert ("ZS03", "frequency", "主题党日", "month") in rules
    assert ("ZS04", "frequency", "组织生活会", "year") in rules
    by_type = {r.type: r for i in c.indicators for r in i.rules}
    assert by_type["study_hours"].get("min") == 32
    assert by_type["org_life_gap"].get("months") == 6
    assert by_type["term"].get("years") == 3
    committee = by_type["committee"]
    assert (committee.get("threshold"), committee.get("min"), committee.get("usual_max"), committee.get("max")) == (7, 3, 5, 7)


def test_fingerprint_changes_with_any_edit(tmp_path):
    edited = tmp_path / "checklist.yaml"
    edited.write_text(CHECKLIST.read_text(encoding="utf-8").replace("points: 3\n", "points: 3.0\n", 1), encoding="utf-8")
    assert load_checklist(CHECKLIST).fingerprint == load_checklist(CHECKLIST).fingerprint
    assert load_checklist(edited).fingerprint != load_checklist(CHECKLIST).fingerprint


def broken(tmp_path, old: str, new: str, count: int = 1) -> Path:
    text = CHECKLIST.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "checklist.yaml"
    path.write_text(text.replace(old, new, count), encoding="utf-8")
    return path


def line_of(path: Path, needle: str, nth: int = 1) -> int:
    hits = [n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line]
    return hits[nth - 1]


def test_duplicate_code_names_both_lines(tmp_path):
    path = broken(tmp_path, "code: SZ02\n", "code: SZ01\n")
    with pytest.raises(ChecklistError) as err:
        load_checklist(path)
    first, second = line_of(path, "code: SZ01"), line_of(path, "code: SZ01", 2)
    assert f"第 {second} 行：指标编码“SZ01”重复（第 {first} 行已使用）。" in str(err.value)


def test_weights_must_sum_to_100(tmp_path):
    path = broken(tmp_path, "weight: 10\n", "weight: 12\n")
    with pytest.raises(ChecklistError) as err:
        load_checklist(path)
    msg = str(err.value)
    assert msg.startswith("指标清单“checklist.yaml”有 2 处问题，请修改后重新运行：")
    assert "类别“活动阵地标准化”各指标分值合计 10，与类别权重 12 不一致。" in msg
    assert "6 个类别的权重合计为 102，应为 100。" in msg


def test_unknown_rule_names_the_line(tmp_path):
    path = broken(tmp_path, "type: study_hours", "type: study_hourz")
    with pytest.raises(ChecklistError) as err:
        load_checklist(path)
    line = line_of(path, "type: study_hourz")
    assert f"第 {line} 行：指标“JG02”的证据规则类型“study_hourz”无法识别，可用的类型：" in str(err.value)


def test_missing_text(tmp_path):
    text = CHECKLIST.read_text(encoding="utf-8")
    start = text.index("    text: 合理配备党务工作人员")
    end = text.index("\n", start)
    path = tmp_path / "checklist.yaml"
    path.write_text(text[:start] + "    text: ''" + text[end:], encoding="utf-8")
    with pytest.raises(ChecklistError) as err:
        load_checklist(path)
    assert f"第 {line_of(path, 'code: BZ02')} 行：指标“BZ02”缺少具体指标内容（text）。" in str(err.value)


def test_unknown_activity_and_veto(tmp_path):
    path = broken(tmp_path, "activity: 主题党日", "activity: 主题日")
    path.write_text(path.read_text(encoding="utf-8").replace("- JG07\n", "- JG99\n"), encoding="utf-8")
    with pytest.raises(ChecklistError) as err:
        load_checklist(path)
    msg = str(err.value)
    assert "指标“ZS03”的活动类型“主题日”不在可选项中：支部党员大会、支部委员会、党小组会、党课、主题党日、组织生活会、民主评议党员、集中学习。" in msg
    assert "否决项（veto）中的指标编码“JG99”在清单中不存在。" in msg


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = broken(tmp_path, "pass_line: 80\n", "pass_line: [80\n")
    with pytest.raises(ChecklistError) as err:
        load_checklist(path)
    assert "格式有误（缩进、冒号或引号），无法读取。" in str(err.value)
    assert "行附近" in str(err.value)


def test_pass_line_and_grades_agree(tmp_path):
    path = broken(tmp_path, "pass_line: 80\n", "pass_line: 85\n")
    with pytest.raises(ChecklistError) as err:
        load_checklist(path)
    assert "等次“达标”的最低分应与达标分数线（pass_line: 85）一致。" in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(ChecklistError) as err:
        load_checklist(tmp_path / "nope.yaml")
    assert str(err.value) == f"找不到指标清单文件：{tmp_path / 'nope.yaml'}"

"""stage: a generated branch workbook → the same workbook filled in as a branch secretary would (demo and test data)

The template is opened and saved with openpyxl, as Excel would: the identity sheet, custom
properties, dropdowns and protection stay. The content is invented but plausible and consistent
(counts match the member list, attendance ≤ expected, every weak rating has a problem row) and
fully determined by the seed. `mistakes` adds the errors secretaries really make, so that the
validation stage and its feedback have something to find.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

from openpyxl import load_workbook

from xlflow import constants as K
from xlflow.campaign import Campaign
from xlflow.checklist import Checklist, Indicator, load_checklist
from xlflow.evidence import FAIL
from xlflow.files import atomic_path
from xlflow.roster import Branch
from xlflow.scoring import Params, score_branch
from xlflow.settings import Settings
from xlflow.workbook import adopt_column_style
from xlflow.workspace import defaults_dir

MISTAKES = ("two_digit_year", "text_number", "actual_gt_expected", "missing_rating", "bad_choice",
            "date_outside_period", "formula_text", "fullwidth", "member_count_mismatch")
FORMULA_TEXT = '=HYPERLINK("http://example.com","点击")'

# Names come from constants, never retyped: 教师 学生 机关 后勤 离退休 联合; the activity types; …
TEACHER, STUDENT, OFFICE, SERVICE, RETIRED, JOINT = K.BRANCH_TYPES
MEETING, COMMITTEE, GROUP, LECTURE, THEME_DAY, LIFE, REVIEW, STUDY = K.ACTIVITY_TYPES
DOUBLE, CORE, COUNSELOR, HEAD, STUDENT_MEMBER, OTHER = K.SECRETARY_KINDS
YES, NO = K.YES_NO

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶"
            "程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏付方白邹孟熊秦邱江尹薛段雷侯龙史陶贺顾毛郝龚邵万钱严武戴孔汤")
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚英华玉兰萍红鹏辉志文斌浩宇欣怡佳琪雪梅晨阳婷宁博雯凯亮倩颖慧琳帆鑫振海燕德"
GROUPS = ("第一党小组", "第二党小组", "第三党小组", "第四党小组")
TOPICS = {
    MEETING: ("学习《中国共产党支部工作条例（试行）》", "部署“两化一创”强基引领行动", "讨论发展预备党员",
              "预备党员转正表决", "学习贯彻党的十九大精神", "听取支委会年度工作报告"),
    COMMITTEE: ("研究部署本月支部工作", "研究“三会一课”年度计划", "研究入党积极分子培养考察",
                "研究党费收缴和使用情况", "研究主题党日活动方案", "对照建设要点清单开展自查"),
    GROUP: ("学习《习近平新时代中国特色社会主义思想三十讲》", "交流学习体会", "学习《中国共产党纪律处分条例》",
            "开展批评与自我批评", "学习“学习强国”平台专题内容"),
    LECTURE: ("不忘初心、牢记使命", "学习贯彻党的十九大精神专题党课", "新时代高校党建工作的使命与担当",
              "庆祝新中国成立70周年专题党课", "从党史中汲取前进力量"),
    THEME_DAY: ("重温入党誓词", "参观红色教育基地", "志愿服务进社区", "观看爱国主义教育影片",
                "学习身边先进典型", "“不忘初心、牢记使命”主题教育"),
    LIFE: ("{y}年度专题组织生活会",),
    REVIEW: ("{y}年度民主评议党员",),
    STUDY: ("学习贯彻党的十九大精神", "学习《中国共产党支部工作条例（试行）》",
            "不忘初心、牢记使命主题教育集中学习", "学习全国教育大会精神", "学习《中国共产党章程》"),
}
EVIDENCE = {  # by checklist category code; a category added later gets the generic lines
    "SZ": ("成立支部批复文件、选举结果报告", "支部委员分工名单"), "BZ": ("经费使用台账", "轮训通知和签到表"),
    "ZD": ("活动场所照片和使用记录", "上墙制度照片"), "ZJ": ("会议记录和工作制度文本", "书面报告和述职材料"),
    "ZS": ("“三会一课”记录本、签到表和活动照片", "学习台账和补课记录"), "JG": ("党员名册和学习台账", "党费收缴记录"),
}
GENERIC_EVIDENCE = ("支部工作台账及相关文件", "工作纪实材料")
# Per branch type: member count range, share of 预备党员, activists range, likely secretary kinds.
PROFILE = {
    TEACHER: ((10, 30), (0.0, 0.1), (0, 3), (DOUBLE, CORE)),
    STUDENT: ((12, 40), (0.3, 0.6), (3, 8), (COUNSELOR, COUNSELOR, CORE, STUDENT_MEMBER)),
    OFFICE: ((8, 25), (0, 0), (0, 2), (HEAD,)),
    SERVICE: ((8, 20), (0, 0), (0, 2), (HEAD,)),
    RETIRED: ((8, 15), (0, 0), (0, 0), (OTHER,)),
    JOINT: ((8, 16), (0, 0.1), (0, 3), (CORE, DOUBLE)),
}


def _names(rng: random.Random, n: int, taken: set[str]) -> list[str]:
    out = []
    while len(out) < n:
        name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2, 2))))
        if name not in taken:
            taken.add(name)
            out.append(name)
    return out


def _day(rng: random.Random, y: int, m: int, lo: dt.date, hi: dt.date) -> dt.date | None:
    """A random day of month m (1st–28th) within [lo, hi], or None when none is left."""
    first, last = max(dt.date(y, m, 1), lo), min(dt.date(y, m, 28), hi)
    return first + dt.timedelta(rng.randint(0, (last - first).days)) if first <= last else None


class _Filler:
    def __init__(self, branch: Branch, campaign: Campaign, rng: random.Random):
        self.b, self.cl, self.s = branch, campaign.checklist, campaign.settings
        checklist, settings = self.cl, self.s
        self.rng = r = rng
        # Returns arrive in the last days before the deadline, so records run up to that day.
        self.filled_on = max(settings.period_start, settings.deadline - dt.timedelta(r.randint(0, 12)))
        self.as_of = min(self.filled_on, settings.period_end)
        lo, hi = settings.period_start, self.as_of
        self.months = [(y, m) for y in range(lo.year, hi.year + 1) for m in range(1, 13)
                       if (lo.year, lo.month) <= (y, m) <= (hi.year, hi.month)]
        self.quarters: dict[int, list[tuple[int, int]]] = {}
        for y, m in self.months:
            self.quarters.setdefault(y * 4 + (m - 1) // 3, []).append((y, m))
        # Rating names and the study-hour minimum come from the checklist, so edits carry through.
        by_factor = {rt.factor: rt.name for rt in checklist.ratings}
        self.ok, self.fail, self.na = by_factor[1], by_factor[0], by_factor[None]
        self.part = next((rt.name for rt in checklist.ratings if rt.factor and 0 < rt.factor < 1), self.fail)
        self.min_hours = next((x.get("min") for i in checklist.indicators for x in i.rules
                               if x.type == "study_hours"), 32)
        size, share, activists, self.kinds = PROFILE[branch.type]
        total = r.randint(*size)
        self.probationary = min(int(total * r.uniform(*share)), total - 3)
        self.full = total - self.probationary
        self.secretary = branch.secretary or _names(r, 1, set())[0]
        taken = {self.secretary}
        self.names = [self.secretary] + _names(r, total - 1, taken)  # the first `full` are 正式党员
        self.committee = (5 if self.full >= 20 and r.random() < 0.6 else 3) if self.full >= 7 else 0
        self.groups = r.randint(2, 4) if total >= 20 else 0
        self.group_of = [GROUPS[i * self.groups // total] if self.groups else None for i in range(total)]
        self.trained = r.random() < 0.85
        self.term_expired = r.random() < 0.15  # elected more than 3 years ago: 换届 overdue
        self.elected = self.as_of - dt.timedelta(r.randint(1120, 1800) if self.term_expired
                                                 else r.randint(60, 1000))
        self.venue = r.choices(K.VENUE_KINDS, (6, 3, 1))[0]
        self.activists = _names(r, r.randint(*activists), taken)
        # Some branches let a month or a quarter slip; their self-rating may or may not admit it.
        self.skipped_month = r.choice(self.months) if r.random() < 0.25 else None
        self.skipped_quarter = r.choice(list(self.quarters)) if r.random() < 0.1 else None

    # -- records ---------------------------------------------------------------------
    def activities(self) -> list[dict]:
        r, n, lo, hi = self.rng, len(self.names), self.s.period_start, self.as_of
        officers = self.names[1:self.committee]
        rows = []

        def add(kind, ym, presenter, expected, lecture=None):
            day = _day(r, *ym, lo, hi)
            if day is None:
                return
            absent = r.choice((0, 0, 1, 1, 2, 3)) + (2 if self.b.type == RETIRED else 0)
            rows.append({"date": day, "type": kind, "topic": r.choice(TOPICS[kind]).format(y=day.year - 1),
                         "presenter": presenter, "expected": expected,
                         "actual": max(1, expected - min(absent, expected // 3)), "secretary_lecture": lecture})

        for ym in self.months:
            if ym == self.skipped_month:
                continue  # a busy month (exams, vacation): nothing recorded
            add(THEME_DAY, ym, r.choice([self.secretary, *officers]), n)
            if self.committee:
                add(COMMITTEE, ym, self.secretary, self.committee)
            for g in GROUPS[:self.groups]:
                group = [name for name, of in zip(self.names, self.group_of) if of == g]
                add(GROUP, ym, group[0], len(group))
        for q, months in self.quarters.items():
            if q != self.skipped_quarter:
                add(MEETING, r.choice(months), self.secretary, n)
                add(LECTURE, r.choice(months), r.choice(officers or self.names[1:]), n, lecture=NO)
        lectures = [row for row in rows if row["type"] == LECTURE]
        if lectures:  # the secretary gives one of the quarterly lectures
            r.choice(lectures).update(presenter=self.secretary, secretary_lecture=YES)
        ym = r.choice(self.months[: max(1, len(self.months) // 2)])  # the yearly meetings come early
        add(LIFE, ym, self.secretary, n)
        add(REVIEW, ym, self.secretary, n)
        for _ in range(r.randint(2, 6)):
            add(STUDY, r.choice(self.months), r.choice([self.secretary, *officers]), n)
        return sorted(rows, key=lambda row: row["date"])

    def members(self, activities: list[dict]) -> list[dict]:
        r, months = self.rng, min(12, len(self.months))  # dues paid month by month up to the return
        grades = K.EVALUATION_GRADES
        evaluated = any(a["type"] == REVIEW for a in activities)
        recent = [a["date"] for a in activities if a["expected"] == len(self.names)][-3:] or [self.as_of]
        rows = []
        for i, name in enumerate(self.names):
            hours = self.min_hours + r.choice((0, 2, 4, 6, 8, 8, 10, 12, 14, 16))
            if r.random() < 0.06:
                hours = self.min_hours - r.choice((8, 4, 2, 0.5))
            lapsed = r.random() < 0.02  # e.g. a 流动党员 out of touch for months
            rows.append({
                "name": name, "category": K.MEMBER_CATEGORIES[i >= self.full], "group": self.group_of[i],
                "study_hours": hours, "dues_months": months - (1 if r.random() < 0.05 else 0),
                "last_life": self.as_of - dt.timedelta(r.randint(190, 300)) if lapsed else r.choice(recent),
                "evaluation": r.choices(grades[:3], (15, 80, 5))[0] if evaluated else grades[-1],  # 未评议
            })
        return rows

    def activist_rows(self) -> list[dict]:
        r, rows = self.rng, []
        for name in self.activists:
            designated = self.as_of - dt.timedelta(r.randint(120, 900))
            review = self.as_of - dt.timedelta(r.randint(190, 260) if r.random() < 0.1 else r.randint(10, 170))
            rows.append({"name": name, "designated": designated, "last_review": max(review, designated),
                         "reports": len(self.quarters) + r.choice((-1, 0, 0, 0, 1, 2))})
        return rows

    def rating(self, ind: Indicator, members: list[dict]) -> tuple[str, str]:
        """(rating, problem) for one indicator: 不适用 where it cannot apply to this branch, a
        weakness the records show (most branches admit it), otherwise mostly 达标."""
        r, t, short = self.rng, self.b.type, ind.short
        if (("双带头人" in short or "书记参与决策" in short) and t not in (TEACHER, JOINT)
                or ("双重组织生活" in short or "重大事项" in short) and t == STUDENT
                or "发展党员" in short and t == RETIRED
                or any(x.type == "activist_review" for x in ind.rules) and not self.activists):
            return self.na, ""
        missed = {THEME_DAY, COMMITTEE, GROUP} if self.skipped_month else set()
        missed |= {MEETING, LECTURE} if self.skipped_quarter is not None else set()
        held = {"committee": self.committee, "groups": self.groups}
        for rule in ind.rules:
            weak = {
                "term": self.term_expired and "支委会任期已满，尚未按期换届",
                "secretary_training": not self.trained and "支部书记本年度未参加集中轮训",
                "venue": self.venue == K.VENUE_KINDS[-1] and "暂无固定的党员活动场所",
                "study_hours": any(m["study_hours"] < self.min_hours for m in members)
                and f"个别党员集中学习学时不足{self.min_hours}学时",
                "frequency": rule.get("activity") in missed and held.get(rule.get("when"), True)
                and f"{rule.get('activity')}未能按规定频次召开",
            }.get(rule.type)
            if weak and r.random() < 0.75:
                return r.choice((self.part, self.part, self.fail)), weak
        rating = r.choices((self.ok, self.part, self.fail), (90, 8, 2))[0]
        if rating == self.ok:
            return rating, ""
        return rating, r.choice(("“{}”落实不够到位，记录不完整", "“{}”方面与建设标准还有差距",
                                 "“{}”相关材料归档不及时")).format(short)

    # -- workbook ----------------------------------------------------------------------
    def fill(self, wb, mistakes: frozenset[str]) -> None:
        r, b, s, indicators = self.rng, self.b, self.s, self.cl.indicators
        acts = self.activities()
        members = self.members(acts)
        ratings = {i.code: self.rating(i, members) for i in indicators}
        evidence = {i.code: "本支部不涉及此项" if ratings[i.code][0] == self.na
                    else r.choice(EVIDENCE.get(i.category, GENERIC_EVIDENCE)) for i in indicators}
        problems = [(code, p) for code, (rt, p) in ratings.items() if rt in (self.part, self.fail)]
        # Each mistake touches its own record, so every one stays visible; the random draws do not
        # depend on `mistakes`, so a faulty workbook differs from the clean one only at the mistakes.
        a1, a2, a3, a4 = r.sample(acts, 4) if len(acts) >= 4 else [acts[0]] * 4
        (m1, m2), (*blank, bad) = r.sample(members, 2), r.sample([i.code for i in indicators], 4)
        outside, excess, miscount = r.randint(3, 25), r.randint(1, 3), r.choice((1, 2, -1))
        if "date_outside_period" in mistakes:  # last December's 主题党日 copied in by habit
            acts.insert(0, {**acts[0], "type": THEME_DAY, "topic": TOPICS[THEME_DAY][0], "secretary_lecture": None,
                            "date": s.period_start - dt.timedelta(outside), "presenter": self.secretary,
                            "expected": len(self.names), "actual": len(self.names) - 1})
        if "actual_gt_expected" in mistakes:
            a1["actual"] = a1["expected"] + excess
        if "two_digit_year" in mistakes:
            a2["date"] = f"{a2['date'].year % 100}.{a2['date'].month}.{a2['date'].day}"
        if "formula_text" in mistakes:
            a3["topic"] = FORMULA_TEXT
        if "text_number" in mistakes:
            m1["study_hours"] = "三十二"
        if "fullwidth" in mistakes:  # IME typing the reader accepts: ３６ and 2019年6月20日
            wide = str.maketrans("0123456789.", "０１２３４５６７８９．")
            m2["study_hours"] = f"{m2['study_hours']:g}".translate(wide)
            a4["date"] = f"{a4['date'].year}年{a4['date'].month}月{a4['date'].day}日"
        if "missing_rating" in mistakes:
            for code in blank:
                ratings[code] = (None, "")
        if "bad_choice" in mistakes:  # typed over the dropdown (pasting bypasses the validation)
            ratings[bad] = ("良好", "")

        contact = self.names[2] if self.committee else self.secretary
        ws = wb[K.SHEET_BASIC]
        rows = {ws.cell(row, 1).value: row for row in range(K.BASIC_FIRST_ROW, ws.max_row + 1)}
        for key, value in {
            "full_members": self.full + (miscount if "member_count_mismatch" in mistakes else 0),
            "probationary_members": self.probationary, "has_committee": YES if self.committee else NO,
            "committee_size": self.committee, "secretary": self.secretary, "secretary_kind": r.choice(self.kinds),
            "deputy": self.names[1] if len(self.names) >= 15 and self.committee else None,
            "election_date": self.elected, "groups": self.groups, "venue": self.venue,
            "secretary_trained": YES if self.trained else NO, "contact": contact,
            "phone": b.phone or f"1300000{r.randint(1000, 9999)}", "filled_on": self.filled_on,
        }.items():
            _put(ws, rows[K.BASIC_FIELDS[key]], 2, value)
        _table(wb[K.SHEET_MEMBERS], K.MEMBER_COLUMNS, members)
        _table(wb[K.SHEET_ACTIVITIES], K.ACTIVITY_COLUMNS, acts)
        _table(wb[K.SHEET_ACTIVISTS], K.ACTIVIST_COLUMNS, self.activist_rows())
        ws = wb[K.SHEET_SELF]
        cols = _columns(ws)
        for row in range(K.HEADER_ROW + 1, ws.max_row + 1):
            code = ws.cell(row, cols[K.SELF_COLUMNS["code"]]).value
            if code in ratings:
                rating, problem = ratings[code]
                _put(ws, row, cols[K.SELF_COLUMNS["rating"]], rating)
                _put(ws, row, cols[K.SELF_COLUMNS["evidence"]], evidence[code] if rating else None)
                _put(ws, row, cols[K.SELF_COLUMNS["problem"]], problem)
        owners = self.names[:max(1, self.committee)]
        # problems carried from last year stay (they cannot be deleted): most were put right since
        ws = wb[K.SHEET_PROBLEMS]
        cols = _columns(ws)
        kept = 0
        while ws.cell(K.HEADER_ROW + 1 + kept, cols[K.PROBLEM_COLUMNS["problem"]]).value:
            row = K.HEADER_ROW + 1 + kept
            _put(ws, row, cols[K.PROBLEM_COLUMNS["status"]], r.choices(K.PROBLEM_STATUS, (1, 2, 7))[0])
            _put(ws, row, cols[K.PROBLEM_COLUMNS["deadline"]], self.as_of + dt.timedelta(r.randint(20, 90)))
            kept += 1
        _table(ws, K.PROBLEM_COLUMNS, [{
            "indicator": code, "problem": problem, "owner": r.choice(owners),
            "measure": f"对照《条例》和建设要点清单制定整改方案，明确专人负责，按期整改到位"
                       f"（{self.cl.indicator(code).short}）",
            "deadline": self.as_of + dt.timedelta(r.randint(20, 90)),
            "status": r.choices(K.PROBLEM_STATUS, (3, 5, 2))[0],
        } for code, problem in problems], start=kept)
        wb.properties.lastModifiedBy = contact


def _columns(ws) -> dict[str, int]:
    """Header text → 1-based column: tables are addressed by header, as the readers do."""
    return {c.value: c.column for c in ws[K.HEADER_ROW] if c.value}


def _put(ws, row: int, col: int, value) -> None:
    cell = ws.cell(row, col)
    adopt_column_style(ws, cell)  # as Excel does: a typed cell keeps its column's (unlocked) style
    cell.value = None if value == "" else value  # openpyxl would write "" as an empty inline string
    if isinstance(value, str) and value.startswith("="):
        # openpyxl would store this as a formula; a secretary's text stays text, as Excel does
        # for input typed after an apostrophe (a string cell with the quotePrefix style).
        cell.data_type = "s"
        cell.quotePrefix = True


def _table(ws, columns: dict[str, str], rows: list[dict], start: int = 0) -> None:
    """Write rows from the table's start-th data row on; rows below that held something (last year's,
    carried into the workbook) are emptied, as a secretary updating the list would."""
    cols = _columns(ws)
    for i, values in enumerate(rows):
        for key, value in values.items():  # 序号 is pre-filled and locked: never in `values`
            _put(ws, K.HEADER_ROW + 1 + start + i, cols[columns[key]], value)
    keys = [k for k in columns if k != "seq"]
    for row in range(K.HEADER_ROW + 1 + start + len(rows), ws.max_row + 1):
        for key in keys:
            if ws.cell(row, cols[columns[key]]).value is not None:
                ws.cell(row, cols[columns[key]]).value = None


def fill_workbook(template: Path, dest: Path, branch: Branch, campaign: Campaign, seed: int,
                  mistakes: frozenset[str] = frozenset()) -> None:
    """Fill a generated branch workbook with the seed's invented records; save it to dest atomically."""
    unknown = set(mistakes) - set(MISTAKES)
    if unknown:
        raise ValueError(f"unknown mistakes: {sorted(unknown)}")
    wb = load_workbook(template)  # neither read-only nor data-only: keep everything the template has
    _Filler(branch, campaign, random.Random(seed)).fill(wb, frozenset(mistakes))
    with atomic_path(dest) as tmp:
        wb.save(tmp)


def plan_demo(branches: list[Branch], seed: int, share: float = 0.8) -> dict[str, frozenset[str]]:
    """The branches that return (about 80%; code → mistakes, in roster order): most make none,
    about 15% one or two typical ones (drawn in turn, so each kind shows up), a few 'fullwidth' only."""
    r = random.Random(seed)
    returned = r.sample(branches, round(len(branches) * share))  # sample order is random: take the head
    plan = {b.code: frozenset() for b in returned}
    typical = [m for m in MISTAKES if m != "fullwidth"]
    r.shuffle(typical)
    n_bad = round(len(returned) * 0.15)
    pool = iter(typical * (2 * n_bad // len(typical) + 2))
    for b in returned[:n_bad]:
        plan[b.code] = frozenset(next(pool) for _ in range(r.choice((1, 1, 2))))
    for b in returned[n_bad:n_bad + max(1, round(len(returned) * 0.05))]:
        plan[b.code] = frozenset({"fullwidth"})
    return {b.code: plan[b.code] for b in branches if b.code in plan}


# ---- review workbooks (初验 / 复验) ------------------------------------------------------------------
REVIEW_OPINIONS = ("支部组织健全，“三会一课”等制度落实较好，台账规范，同意认定达标。",
                   "对照建设要点逐项核查，基本符合标准化规范化建设要求，同意认定达标。",
                   "支部班子健全，组织生活规范，佐证材料齐全，同意认定达标。")


def fill_review(path: Path, dest: Path, seed: int, checklist: Checklist | None = None,
                overrides: dict[str, str] | None = None, day: dt.date | None = None) -> None:
    """Fill a generated 初验/复验 workbook as a reviewer would; save it to dest atomically.

    Mostly agrees (with the 初验 where there is one, else with the self-rating); downgrades a 达标
    where the records say 不符合, now and then another one; then a conclusion per branch from the
    scoring rules (a failed veto indicator: 不同意达标; under the pass line: 整改后再验, with a
    deadline a month on), unless overrides (branch code -> conclusion) says otherwise. Every branch
    the workbook lists is reviewed (the 复验 lists only those put forward or drawn)."""
    overrides = overrides or {}
    if checklist is None:
        checklist = load_checklist(defaults_dir() / "checklist.yaml")
    r = random.Random(seed)
    wb = load_workbook(path)
    kind = next(row[1] for row in wb[K.SHEET_IDENTITY].iter_rows(values_only=True) if row[0] == "kind")
    rnd, layout = K.REVIEW_ROUNDS[kind], K.REVIEW_LAYOUTS[kind]
    by_factor = {rt.factor: rt.name for rt in checklist.ratings}
    ok, fail = by_factor[1], by_factor[0]
    part = next((rt.name for rt in checklist.ratings if rt.factor and 0 < rt.factor < 1), fail)

    sheet, heads = layout["review_conclusion"]
    cws = wb[sheet]
    found = _columns(cws)
    ccol = {key: found[head] for key, head in heads.items()}
    rows_of = {cws.cell(row, ccol["branch_code"]).value: row for row in range(K.HEADER_ROW + 1, cws.max_row + 1)
               if cws.cell(row, ccol["branch_code"]).value}
    todo = set(rows_of)

    sheet, heads = layout["review"]
    ws = wb[sheet]
    found = _columns(ws)
    col = {key: found[head] for key, head in heads.items()}
    self_r: dict[str, dict[str, str]] = {}
    used: dict[str, dict[str, str]] = {}
    for row in range(K.HEADER_ROW + 1, ws.max_row + 1):
        code, ind = ws.cell(row, col["branch_code"]).value, ws.cell(row, col["indicator"]).value
        if code not in todo:
            continue
        own = ws.cell(row, col["self_rating"]).value or ""
        base = (ws.cell(row, col["first_rating"]).value if "first_rating" in col else None) or own
        evidence = str(ws.cell(row, col["evidence"]).value or "")
        rating, comment = base, None
        if base == ok and evidence.split("：", 1)[0] == FAIL:
            rating = part if r.random() < 0.8 else fail
            comment = f"经核查台账，{evidence}，{rnd}核定为“{rating}”。"
        elif base == ok and r.random() < 0.03:
            rating, comment = part, "佐证材料不够完整，请补充归档后备查。"
        _put(ws, row, col["rating"], rating or None)
        _put(ws, row, col["comment"], comment)
        self_r.setdefault(code, {})[ind] = own
        used.setdefault(code, {})[ind] = rating

    params = Params.default(Campaign(checklist, Settings()))
    year = wb.properties.created.year if wb.properties.created else Settings().year
    day = day or dt.date(year, 12, r.randint(2, 9) if "first_conclusion" not in ccol else r.randint(16, 23))
    reviewer = _names(r, 1, set())[0]
    for code in sorted(todo):
        score = score_branch(code, checklist, params, self_r.get(code, {}), used.get(code, {}))
        if score.veto_hits:
            conclusion = K.REVIEW_CONCLUSIONS[1]
            opinion = f"否决项“{checklist.indicator(score.veto_hits[0]).short}”未达标，不同意认定达标。"
        elif not score.passed:
            conclusion = K.REVIEW_CONCLUSIONS[2]
            opinion = f"{rnd}得分 {score.total:g} 分，未达到达标分数线，限期一个月整改后再验。"
        else:
            conclusion, opinion = K.REVIEW_CONCLUSIONS[0], r.choice(REVIEW_OPINIONS)
        if overrides.get(code, conclusion) != conclusion:
            conclusion = overrides[code]
            opinion = {K.REVIEW_CONCLUSIONS[1]: "支部组织生活不经常、不认真，台账与实际不符，不同意认定达标。",
                       K.REVIEW_CONCLUSIONS[2]: "“三会一课”记录不完整，限期一个月整改后再验。"}.get(conclusion, opinion)
        row = rows_of[code]
        until = day + dt.timedelta(days=30) if conclusion == K.REVIEW_CONCLUSIONS[2] else None
        for key, value in (("conclusion", conclusion), ("opinion", opinion), ("reviewer", reviewer),
                           ("reviewed_on", day), ("deadline", until)):
            _put(cws, row, ccol[key], value)
    with atomic_path(dest) as tmp:
        wb.save(tmp)


def fill_decision(path: Path, dest: Path, meeting: str, decided_on: dt.date,
                  refuse: dict[str, str] | None = None) -> None:
    """Record the committee's decision in a generated 认定 workbook as the clerk would: 认定达标 for
    every branch listed (except refuse: code -> reason), 样板 where the suggestion says 样板候选 and
    not tied at the quota's edge, the meeting and its date; save to dest atomically."""
    refuse = refuse or {}
    wb = load_workbook(path)
    sheet, heads = K.REVIEW_LAYOUTS[K.KIND_DECISION]["decision"]
    ws = wb[sheet]
    found = _columns(ws)
    col = {key: found[head] for key, head in heads.items()}
    for row in range(K.HEADER_ROW + 1, ws.max_row + 1):
        code = ws.cell(row, col["branch_code"]).value
        if not code:
            continue
        suggestion = str(ws.cell(row, col["suggestion"]).value or "")
        model = "样板候选" in suggestion and "并列" not in suggestion and code not in refuse
        _put(ws, row, col["decision"], K.DECISION_CHOICES[1] if code in refuse else K.DECISION_CHOICES[0])
        _put(ws, row, col["model"], K.YES_NO[0] if model else K.YES_NO[1])
        _put(ws, row, col["note"], refuse.get(code))
    sheet, heads = K.REVIEW_LAYOUTS[K.KIND_DECISION]["decision_meeting"]
    ms = wb[sheet]
    found = _columns(ms)
    _put(ms, K.HEADER_ROW + 1, found[heads["meeting"]], meeting)
    _put(ms, K.HEADER_ROW + 1, found[heads["decided_on"]], decided_on)
    with atomic_path(dest) as tmp:
        wb.save(tmp)

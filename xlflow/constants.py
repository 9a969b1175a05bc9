"""Names a person reads in the workbooks: sheet names, column headers and fixed choice lists.

Indicator texts, categories, points and ratings live in checklist.yaml; everything else that
appears as a literal in a sheet lives here, once, so generation and reading cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

# Bump when the branch workbook's layout changes: older returns are then recognised as old.
TEMPLATE_FORMAT = 2  # 2: the campaign year in the identity

# ---- branch types and the roster (templates/branches.xlsx) ----
BRANCH_TYPES = ("教师党支部", "学生党支部", "机关党支部", "后勤服务党支部", "离退休党支部", "联合党支部")

ROSTER_SHEET = "支部名册"
ROSTER_COLUMNS = {
    "code": "支部编码",
    "name": "支部名称",
    "general": "所属总支",
    "type": "支部类型",
    "secretary": "支部书记",
    "phone": "联系电话",
    # a later year: where a branch came from when it was split or merged (codes, 、-separated) or 新建
    "origin": "原支部编码",
}
ROSTER_NEW = "新建"

# ---- the branch workbook: sheet names ----
SHEET_GUIDE = "填表说明"
SHEET_BASIC = "基本信息"
SHEET_MEMBERS = "党员名册"
SHEET_ACTIVITIES = "三会一课"
SHEET_ACTIVISTS = "入党积极分子"
SHEET_SELF = "自评表"
SHEET_PROBLEMS = "问题清单"
SHEET_LISTS = "下拉选项"  # hidden: feeds every dropdown
SHEET_IDENTITY = "_xlflow"  # very hidden: the workbook's identity

# ---- fixed choice lists (checklist ratings come from checklist.yaml) ----
YES_NO = ("是", "否")
MEMBER_CATEGORIES = ("正式党员", "预备党员")
ACTIVITY_TYPES = (
    "支部党员大会",
    "支部委员会",
    "党小组会",
    "党课",
    "主题党日",
    "组织生活会",
    "民主评议党员",
    "集中学习",
)
EVALUATION_GRADES = ("优秀", "合格", "基本合格", "不合格", "未评议")
SECRETARY_KINDS = ("双带头人教师", "骨干教师", "辅导员", "部门主要负责人", "优秀学生党员", "其他")
VENUE_KINDS = ("本支部专用场所", "多支部合用场所", "暂无固定场所")
PROBLEM_STATUS = ("未整改", "整改中", "已完成")

# ---- the branch workbook: every column and 基本信息 line, and what it may hold ----
# One table drives both sides: the handed-out workbook's data validations, input messages and cell
# formats (workbook.py) and the validator's schemas (validate.py), so what a branch may type is
# exactly what is accepted. Keys are what code uses; headers are what a person sees (readers find
# columns by header).
RATINGS, INDICATORS = "ratings", "indicators"  # choices taken from the checklist


@dataclass(frozen=True)
class Day:
    """A date bound relative to the campaign, written once: the period's first or last day, or
    31 December `years` after the period's last year; or a fixed day."""

    anchor: str  # "start" | "end" | "year_start" | "year_end" | "fixed"
    years: int = 0
    fixed: dt.date | None = None

    def on(self, settings) -> dt.date:
        if self.anchor == "fixed":
            return self.fixed
        if self.anchor == "year_end":
            return dt.date(settings.period_end.year + self.years, 12, 31)
        if self.anchor == "year_start":
            return dt.date(settings.period_start.year + self.years, 1, 1)
        return settings.period_start if self.anchor == "start" else settings.period_end


OLDEST = Day("fixed", fixed=dt.date(1980, 1, 1))  # for dates in a branch's history (elections, designations)
PERIOD_START, PERIOD_END = Day("start"), Day("end")


@dataclass(frozen=True)
class Field:
    key: str
    header: str  # column header, or the line's label on 基本信息
    kind: str  # shown (never read) | text | code (digits kept as text) | int | number | date | yesno | choice
    required: bool = False
    choices: tuple[str, ...] | str = ()  # a fixed list, or RATINGS / INDICATORS
    lo: float | Day | None = None
    hi: float | Day | None = None
    hint: str = ""  # what to write: the cell's input message and 基本信息's 说明 column
    why: str = ""  # why a date range is what it is, added to the finding ({lo}, {hi}: the bounds)
    prefilled: bool = False  # written by xlflow and locked; read back only to check it
    unique: bool = False  # the same value twice in a table is the same person entered twice
    not_after_filled: bool = False  # a record cannot be later than the form's 填表日期

    def options(self, checklist) -> tuple[str, ...]:
        """The values a choice (or 是/否) accepts."""
        if self.kind == "yesno":
            return YES_NO
        if self.choices == RATINGS:
            return tuple(checklist.rating_names)
        if self.choices == INDICATORS:
            return tuple(i.code for i in checklist.indicators)
        return tuple(self.choices)

    def bounds(self, settings) -> tuple[object, object]:
        """(lo, hi) with date bounds resolved for the campaign; (None, None) when unbounded."""
        return tuple(b.on(settings) if isinstance(b, Day) else b for b in (self.lo, self.hi))


_F = Field
_SEQ = _F("seq", "序号", "shown")
_HISTORY = "日期不能晚于统计期末。"
FIELDS: dict[str, tuple[Field, ...]] = {
    "basic": (  # filled by the branch (the identity lines above them are BASIC_IDENTITY_FIELDS)
        _F("type", "支部类型", "choice", True, BRANCH_TYPES, hint="从列表中选择"),
        _F("full_members", "正式党员人数", "int", True, lo=0, hi=500, hint="与党员名册中的正式党员人数一致"),
        _F("probationary_members", "预备党员人数", "int", True, lo=0, hi=500, hint="与党员名册中的预备党员人数一致"),
        _F("has_committee", "是否设支部委员会", "yesno", True, hint="正式党员 7 人以上应设支委会"),
        _F("committee_size", "支委会委员人数", "int", lo=0, hi=15, hint="未设支委会的填 0"),
        _F("secretary", "支部书记姓名", "text", True),
        _F("secretary_kind", "支部书记类别", "choice", True, SECRETARY_KINDS, hint="从列表中选择"),
        _F("deputy", "副书记姓名", "text", hint="未设副书记的不填"),
        _F("election_date", "本届支委会（书记）选举日期", "date", True, lo=OLDEST, hi=PERIOD_END,
           hint="支委会（或书记）本届选举产生的日期", why="选举日期不能晚于统计期末。", not_after_filled=True),
        _F("groups", "党小组个数", "int", True, lo=0, hi=50, hint="未设党小组的填 0"),
        _F("venue", "党员活动场所", "choice", True, VENUE_KINDS, hint="从列表中选择"),
        _F("secretary_trained", "书记本年度参加集中轮训", "yesno", True, hint="本年度是否参加党支部书记集中轮训"),
        _F("contact", "填表人", "text", True),
        _F("phone", "联系电话", "code", hint="手机或带区号的座机号码"),
        _F("filled_on", "填表日期", "date", True, lo=PERIOD_START, hi=Day("year_end", 1), hint="实际填表的日期",
           why="请填写实际填表的日期。"),
    ),
    "members": (
        _SEQ,
        _F("name", "姓名", "text", True, unique=True),
        _F("category", "党员类别", "choice", True, MEMBER_CATEGORIES),
        _F("group", "所在党小组", "text"),
        _F("study_hours", "本年度集中学习学时", "number", True, lo=0, hi=500),
        _F("dues_months", "本年度已缴党费月数", "int", True, lo=0, hi=12),
        _F("last_life", "最近一次参加组织生活日期", "date", True, lo=OLDEST, hi=PERIOD_END,
           why="最近一次参加组织生活的日期不能晚于统计期末。", not_after_filled=True),
        _F("evaluation", "民主评议等次", "choice", True, EVALUATION_GRADES),
    ),
    "activities": (
        _SEQ,
        _F("date", "日期", "date", True, lo=PERIOD_START, hi=PERIOD_END, why="只填写 {lo} 至 {hi} 统计期间内的情况。",
           not_after_filled=True),
        _F("type", "活动类型", "choice", True, ACTIVITY_TYPES),
        _F("topic", "主题", "text", True),
        _F("presenter", "主持人或主讲人", "text"),
        _F("expected", "应到人数", "int", True, lo=1, hi=1000),
        _F("actual", "实到人数", "int", True, lo=0, hi=1000),
        _F("secretary_lecture", "是否书记讲党课", "yesno"),
    ),
    "activists": (
        _SEQ,
        _F("name", "姓名", "text", True, unique=True),
        _F("designated", "确定为积极分子日期", "date", True, lo=OLDEST, hi=PERIOD_END, why=_HISTORY,
           not_after_filled=True),
        _F("last_review", "最近一次考察日期", "date", lo=OLDEST, hi=PERIOD_END, why=_HISTORY, not_after_filled=True),
        _F("reports", "本年度思想汇报次数", "int", lo=0, hi=100),
    ),
    "self": (
        _F("code", "指标编码", "choice", True, INDICATORS, prefilled=True),
        _F("category", "建设内容", "shown"),
        _F("seq", "序号", "shown"),
        _F("text", "具体指标", "text", prefilled=True),
        _F("points", "分值", "number", prefilled=True),
        _F("rating", "自评等次", "choice", True, RATINGS),
        _F("evidence", "佐证材料说明", "text"),
        _F("problem", "存在问题", "text"),
    ),
    "problems": (
        _SEQ,
        _F("raised", "提出年度", "int", lo=2000, hi=2100,
           hint="往年提出、尚未完成的问题已预填；本年度新发现的问题可不填（按本年度）。"),
        _F("indicator", "对应指标编码", "choice", True, INDICATORS),
        _F("problem", "存在问题", "text", True),
        _F("measure", "整改措施", "text", True),
        _F("owner", "责任人", "text", True),
        # from two years back: a problem carried from an earlier year keeps the deadline it was given
        _F("deadline", "完成时限", "date", True, lo=Day("year_start", -2), hi=Day("year_end", 2),
           why="请填写计划完成整改的日期。"),
        _F("status", "整改状态", "choice", True, PROBLEM_STATUS),
    ),
}


def _headers(table: str) -> dict[str, str]:
    return {f.key: f.header for f in FIELDS[table]}


MEMBER_COLUMNS = _headers("members")
ACTIVITY_COLUMNS = _headers("activities")
ACTIVIST_COLUMNS = _headers("activists")
SELF_COLUMNS = _headers("self")
PROBLEM_COLUMNS = _headers("problems")

# ---- the 基本信息 form: one field per row (key -> label); column B holds the value ----
BASIC_IDENTITY_FIELDS = {  # pre-filled from the roster and locked
    "code": "支部编码",
    "name": "支部名称",
    "general": "所属总支",
}
BASIC_FIELDS = _headers("basic")  # filled by the branch

# Table sheets start with the header in row HEADER_ROW (1-based); rows below are data.
HEADER_ROW = 2
BASIC_FIRST_ROW = 3  # first field row of 基本信息 (row 1 title, row 2 header)
# How many blank input rows each table sheet offers.
TABLE_ROWS = {"members": 200, "activities": 300, "activists": 50, "problems": 60}

# Table sheets of the branch workbook: key -> (sheet name, columns). Readers find them by header.
TABLES = {
    "members": (SHEET_MEMBERS, MEMBER_COLUMNS),
    "activities": (SHEET_ACTIVITIES, ACTIVITY_COLUMNS),
    "activists": (SHEET_ACTIVISTS, ACTIVIST_COLUMNS),
    "self": (SHEET_SELF, SELF_COLUMNS),
    "problems": (SHEET_PROBLEMS, PROBLEM_COLUMNS),
}
IDENTITY_KEYS = ("kind", "year", "branch_code", "branch_name", "general", "template_version", "checklist_fingerprint")
KIND_BRANCH = "branch"  # identity kind of a branch workbook (review workbooks have their own)

# ---- the master workbook (outbox/master.xlsx) ----
MASTER_OVERVIEW = "总览"
MASTER_SCORES = "得分表"
MASTER_DETAIL = "指标明细"
MASTER_EVIDENCE = "证据明细"
MASTER_PROBLEMS = "问题清单汇总"
MASTER_BASIC = "基本信息汇总"
MASTER_MEMBERS = "党员名册汇总"
MASTER_ACTIVITIES = "三会一课汇总"
MASTER_ACTIVISTS = "积极分子汇总"
MASTER_ROSTER = "支部名册"
MASTER_MISSING = "未报支部"
MASTER_LOG = "报送记录"
MASTER_CHECKLIST = "指标清单"
MASTER_PARAMS = "参数"
MASTER_YEARS = "历年对比"
STATUS_ACCEPTED, STATUS_REJECTED, STATUS_MISSING = "已收", "退回待改", "未报"
OUTCOME_NAMES = {"accepted": "接收", "rejected": "退回", "duplicate": "重复"}  # a file's outcome, as shown
EXCEL_MAX_ROWS = 1_048_576

# ---- review workbooks: 初验 by a 党总支, 复验 by the college, 认定 by the Party committee (outbox/review/) ----
KIND_REVIEW_FIRST, KIND_REVIEW_SECOND = "review_first", "review_second"  # identity kinds (ledger uses them)
KIND_DECISION = "decision"  # the committee's 认定 workbook: it alone makes 认定达标 and 样板 final
KIND_REGISTER = "register"  # the 样板 register: 省级/国家级 recommendations and outcomes, revocations
KIND_RECTIFY = "rectify"  # 整顿转化: a 总支's plan for each branch not 认定 last year (rectify.py)
REVIEW_ROUNDS = {KIND_REVIEW_FIRST: "初验", KIND_REVIEW_SECOND: "复验", KIND_DECISION: "认定", KIND_REGISTER: "样板名册",
                 KIND_RECTIFY: "整顿"}
REVIEW_FORMAT = 2  # bump when the review workbook's layout changes (2: 整改期限, 验收类别, year in the identity)
REVIEW_CONCLUSIONS = ("同意达标", "不同意达标", "整改后再验")
DECISION_CHOICES = ("认定达标", "不予认定")
MODEL_LEVELS = ("校级", "省级", "国家级")
OUTCOMES = ("已评定", "未评定", "待定")  # of a recommendation to 省级/国家级
REGISTER_SHEET = "样板党支部名册"
RECTIFY_SHEET = "整顿清单"  # the 整顿 workbook's table, and the master's sheet of the same list
REVIEW_SHEET_GUIDE = "填写说明"
REVIEW_SHEET_ITEMS = "逐项验收"
REVIEW_SHEET_CONCLUSION = "总体结论"
DECISION_SHEET = "认定结论"
DECISION_MEETING_SHEET = "党委会议"
REVIEW_IDENTITY_KEYS = ("kind", "unit", "year", "template_version", "checklist_fingerprint", "branches")
# How a branch came to be in a review workbook (the 验收类别 column), and the spot check's reason.
CATEGORY_FIRST, CATEGORY_RECHECK, CATEGORY_APPLIED, CATEGORY_DRAWN = "初验", "再验", "申请复验", "随机抽查"
# Read-only columns (key -> header), then each round's columns. In a layout the round's own input
# columns have the keys of the ledger's t_review / t_review_conclusion; the earlier round's are shown.
_REVIEW_ITEM_SHOWN = {
    "branch_code": "支部编码",
    "branch_name": "支部名称",
    "indicator": "指标编码",
    "short": "指标简称",
    "points": "分值",
    "self_rating": "自评等次",
    "evidence": "记录核验",
    "mismatch": "自评与记录不符",
}
_REVIEW_CONCLUSION_SHOWN = {"branch_code": "支部编码", "branch_name": "支部名称", "category": "验收类别",
                            "self_total": "自评总分"}
_REVIEW_OWN = {"deadline": "整改期限", "opinion": "验收意见", "reviewer": "验收人", "reviewed_on": "验收日期"}
_R1, _R2 = REVIEW_ROUNDS[KIND_REVIEW_FIRST], REVIEW_ROUNDS[KIND_REVIEW_SECOND]
REVIEW_LAYOUTS = {  # kind -> table key -> (sheet, columns); readers find the columns by header
    KIND_REVIEW_FIRST: {
        "review": (REVIEW_SHEET_ITEMS, {**_REVIEW_ITEM_SHOWN, "rating": f"{_R1}等次", "comment": f"{_R1}意见"}),
        "review_conclusion": (REVIEW_SHEET_CONCLUSION, {**_REVIEW_CONCLUSION_SHOWN, "conclusion": f"{_R1}结论",
                                                        **_REVIEW_OWN}),
    },
    KIND_REVIEW_SECOND: {
        "review": (REVIEW_SHEET_ITEMS, {**_REVIEW_ITEM_SHOWN, "first_rating": f"{_R1}等次",
                                        "first_comment": f"{_R1}意见", "rating": f"{_R2}等次",
                                        "comment": f"{_R2}意见"}),
        "review_conclusion": (REVIEW_SHEET_CONCLUSION, {**_REVIEW_CONCLUSION_SHOWN, "first_conclusion": f"{_R1}结论",
                                                        "first_opinion": f"{_R1}意见", "conclusion": f"{_R2}结论",
                                                        **_REVIEW_OWN}),
    },
    KIND_DECISION: {
        "decision": (DECISION_SHEET, {
            "branch_code": "支部编码", "branch_name": "支部名称", "general": "所属党总支", "category": "复验来源",
            "first_conclusion": f"{_R1}结论", "second_conclusion": f"{_R2}结论", "total": "验收得分",
            "rank": "得分排名", "mismatch": "自评与记录不符（项）", "suggestion": "建议",
            "decision": "认定结论", "model": "评为校级样板党支部", "note": "备注"}),
        "decision_meeting": (DECISION_MEETING_SHEET, {"meeting": "党委会议名称", "decided_on": "会议日期"}),
    },
    KIND_REGISTER: {
        "register": (REGISTER_SHEET, {
            "branch_code": "支部编码", "branch_name": "支部名称", "general": "所属党总支", "named_year": "评定年度",
            "level": "现级别", "province": "推荐省级", "province_result": "省级评定结果", "nation": "推荐国家级",
            "nation_result": "国家级评定结果", "revoked": "撤销", "revoked_on": "撤销日期", "reason": "撤销原因"}),
    },
}
REVIEW_LAYOUTS[KIND_RECTIFY] = {
    "rectify": (RECTIFY_SHEET, {
        "branch_code": "支部编码", "branch_name": "支部名称", "last_stage": "上年度验收状态", "failed": "未达标的指标",
        "open": "未完成的整改要求", "plan": "整顿措施", "owner": "责任人", "deadline": "完成期限", "progress": "进展情况"}),
}
REVIEW_INPUTS = {"review": ("rating", "comment"), "rectify": ("plan", "owner", "deadline", "progress"), "review_conclusion": ("conclusion", *_REVIEW_OWN),
                 "decision": ("decision", "model", "note"), "decision_meeting": ("meeting", "decided_on"),
                 "register": ("province", "province_result", "nation", "nation_result", "revoked", "revoked_on",
                              "reason")}

# ---- where a branch stands in the acceptance chain (chain.py): the words a clerk uses ----
STAGE_MISSING = "未报"
STAGE_REJECTED = "退回待改"
STAGE_AWAIT_FIRST = "待初验"
STAGE_FIRST_FAILED = "初验不同意达标"
STAGE_FIRST_RECTIFY = "初验整改中"
STAGE_FIRST_RECHECK = "待初验再验"
STAGE_AWAIT_SECOND = "待复验"
STAGE_SECOND_FAILED = "复验不同意达标"
STAGE_SECOND_RECTIFY = "复验整改中"
STAGE_SECOND_RECHECK = "待复验再验"
STAGE_AWAIT_DECISION = "待党委认定"
STAGE_RECOGNIZED = "认定达标"
STAGE_NOT_RECOGNIZED = "不予认定"
STAGES = (STAGE_MISSING, STAGE_REJECTED, STAGE_AWAIT_FIRST, STAGE_FIRST_FAILED, STAGE_FIRST_RECTIFY,
          STAGE_FIRST_RECHECK, STAGE_AWAIT_SECOND, STAGE_SECOND_FAILED, STAGE_SECOND_RECTIFY, STAGE_SECOND_RECHECK,
          STAGE_AWAIT_DECISION, STAGE_RECOGNIZED, STAGE_NOT_RECOGNIZED)

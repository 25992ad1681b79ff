"""The one place that knows what the words on a performance form mean (pure data + small matchers).

Forms are read by what their headers and labels say. Every province words its template differently — 全年预算数
/ 调整后预算数 / 预算数(A); 得分 / 自评分 / 指标得分; 年度指标值 / 指标值 / 目标值 — so the synonyms live here, one list
per meaning, collected from the national template (财预〔2020〕10号 附件: 项目支出绩效自评表, 部门整体支出绩效自评表)
and the provincial variants' published headers. A reader module never spells a header itself.

Header text is matched after `header_key`: spaces, brackets' contents that only qualify (单位 (万元), (%),
(A), (B/A), (分)) and a leading 其中 are removed; the qualifiers are returned separately, so `预算数(A)` means
the adjusted budget and `执行数(元)` says its amounts are in 元.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# --- header meanings ----------------------------------------------------------------------------------------
# Order matters inside a list only for readability; matching prefers the longest synonym that equals the key,
# then the longest one the key starts with / ends with (see classify_header).

FIELD_SYNONYMS: dict[str, tuple[str, ...]] = {
    # funds columns
    "initial_budget": ("年初预算数", "年初预算", "年初预算金额", "年初预算资金", "年初批复预算", "年初安排数",
                       "年初数", "预算批复数"),
    "adjusted_budget": ("全年预算数", "调整后预算数", "调整预算数", "全年预算", "调整后预算", "全年预算金额",
                        "预算数", "预算金额", "预算资金", "预算安排数", "全年预算安排", "批复预算数", "全年可用资金",
                        "调整后全年预算数", "预算总额", "全年调整预算数"),
    "available": ("到位数", "资金到位数", "实际到位数", "实际到位资金", "到位资金", "全年到位数"),
    "executed": ("全年执行数", "预算执行数", "执行数", "实际支出", "实际支出数", "全年实际支出", "支出数",
                 "实际执行数", "执行金额", "全年执行金额", "实际执行", "资金执行数", "全年支出数", "决算数",
                 "实际使用", "实际使用资金", "已支出"),
    "rate": ("执行率", "预算执行率", "资金执行率", "全年执行率", "支出进度", "预算执行进度"),
    "balance": ("结余", "结余资金", "结转结余"),
    # scoring columns (funds and indicator tables alike)
    "weight": ("分值", "权重", "指标权重", "标准分值", "标准分", "分数", "权重分", "权重(分)", "满分"),
    "score": ("得分", "自评分", "指标得分", "自评得分", "自评分值", "评分", "自评分数", "实际得分"),
    "review_score": ("复核分", "复核得分", "复评分", "评审得分", "审核得分", "财政评分", "复核分值"),
    "coefficient": ("得分系数", "系数", "完成系数"),
    # indicator columns
    "level1": ("一级指标",),
    "level2": ("二级指标",),
    "level3": ("三级指标", "指标名称", "绩效指标名称", "具体指标", "指标内容", "三级指标名称"),
    "target": ("年度指标值", "指标值", "目标值", "年度目标值", "预期指标值", "年度绩效目标值", "绩效目标值",
               "计划值", "预期值", "指标目标值", "年度指标值(目标值)", "全年指标值", "预期目标值", "目标"),
    "op": ("指标性质", "符号", "比较符"),
    "direction": ("指标方向", "方向", "评判方向"),
    "target_unit": ("度量单位", "计量单位", "单位", "指标单位"),
    "actual": ("实际完成值", "完成值", "全年实际值", "全年完成值", "实际值", "实际完成", "实际完成情况",
               "完成情况", "实际达成值", "年度实际完成值", "实际完成指标值"),
    "note": ("偏差原因分析及改进措施", "偏差原因分析", "偏差原因", "未完成原因分析", "原因分析", "偏差原因及改进措施",
             "未完成原因和改进措施", "备注", "说明", "未完成原因", "偏差说明", "偏差原因分析和改进措施",
             "评分说明", "扣分原因", "扣分说明", "未完成原因分析", "情况说明"),
    "core": ("是否核心指标", "核心指标"),
}

# header words that only group sub-columns (a spanning cell above them)
GROUP_HEADERS = ("预算执行情况", "资金执行情况", "年度指标值", "绩效指标", "指标值", "项目资金", "资金情况",
                 "预算情况", "执行情况")

# --- row labels --------------------------------------------------------------------------------------------

PROJECT_LABELS = ("项目名称", "项目名", "项目全称")
DEPARTMENT_LABELS = ("主管部门", "主管部门及代码", "预算部门", "主管单位", "部门名称", "部门(单位)名称", "单位名称",
                     "预算单位", "填报单位", "填报部门", "部门")
IMPLEMENTER_LABELS = ("实施单位", "项目实施单位", "执行单位", "项目单位", "承担单位", "项目承担单位")
YEAR_LABELS = ("年度", "评价年度", "自评年度", "预算年度")
TOTAL_SCORE_LABELS = ("自评总分", "总分", "总得分", "综合得分", "自评得分合计", "得分合计", "合计得分", "自评分合计",
                      "总计得分", "自评总得分")
GRADE_LABELS = ("自评等级", "评价等级", "绩效等级", "等级", "自评结果等级", "评价结果", "自评结果")
FUNDS_TOTAL_LABELS = ("年度资金总额", "资金总额", "合计", "总计", "资金合计", "年度资金合计", "项目资金总额",
                      "全年资金总额", "预算资金总额")
FUNDS_BLOCK_LABELS = ("项目资金", "资金情况", "预算执行情况", "项目资金情况", "资金投入情况", "年度预算执行情况",
                      "预算资金", "资金执行情况")
GOAL_BLOCK_LABELS = ("年度总体目标", "总体目标", "年度目标", "绩效目标", "年度绩效目标")
GOAL_PLANNED = ("预期目标", "年初设定目标", "年度目标", "计划目标")
GOAL_ACTUAL = ("实际完成情况", "目标实际完成情况", "完成情况", "实际完成")
INDICATOR_BLOCK_LABELS = ("绩效指标", "年度绩效指标", "绩效指标完成情况", "指标完成情况")

# First-level indicator names: the three-block evaluation form (项目决策/项目管理/项目绩效 …), the national
# 产出/效益/满意度/成本 split, and the older 投入和管理 block.
LEVEL1_NAMES = ("产出指标", "效益指标", "满意度指标", "成本指标", "投入和管理目标", "投入和管理指标", "投入管理指标",
                "项目决策", "项目管理", "项目过程", "项目产出", "项目效益", "项目绩效", "决策", "过程", "产出", "效益",
                "满意度", "成本", "预算执行", "预算执行率", "履职效能", "管理效率", "运行成本", "社会效应",
                "可持续发展能力", "过程指标", "决策指标", "效果指标", "投入指标")
LEVEL2_SUFFIX = re.compile(r"(?:指标|效益|影响|满意度|管理|情况|质量|时效|数量|成本|投入|决策|过程|效率|效果)$")
LEVEL2_NAMES = ("数量指标", "质量指标", "时效指标", "成本指标", "经济成本指标", "社会成本指标", "生态环境成本指标",
                "经济效益指标", "社会效益指标", "生态效益指标", "可持续影响指标", "服务对象满意度指标",
                "满意度指标", "经济效益", "社会效益", "生态效益", "可持续影响", "服务对象满意度", "投入管理",
                "财务管理", "项目管理", "业务管理", "资金管理", "组织实施", "项目立项", "绩效目标", "资金投入",
                "部门管理", "预算管理", "资产管理")

# --- vocabulary of a document kind (the coverage verdict) ------------------------------------------------------

SELF_EVAL_TERMS = (
    "绩效自评", "自评表", "自评报告", "一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "指标值",
    "全年预算数", "年初预算数", "全年执行数", "预算执行数", "执行率", "偏差原因", "产出指标", "效益指标",
    "满意度指标", "成本指标", "绩效目标", "自评得分", "自评分", "总分", "分值", "权重", "绩效指标", "评价等级",
    "自评等级", "项目支出", "整体支出",
)
ACCOUNTS_TERMS = (
    "部门决算", "收入支出决算总表", "财政拨款收入支出决算", "一般公共预算财政拨款", "功能分类科目", "基本支出",
    "项目支出", "决算数", "本年收入合计", "本年支出合计", "年末结转和结余", "三公",
)
# A line that announces one form: a 项目名称 / 部门(单位)名称 label as a cell or at the start of a line, or a form
# title. Counted by the coverage verdict against what was read.
FORM_ANNOUNCE_LABELS = ("项目名称", "部门(单位)名称", "部门名称", "单位名称")
FORM_ANNOUNCE = re.compile(r"^\s*(?:项目名称|部门\(单位\)名称|部门名称|单位名称)")

# --- placeholders left from a blank template ----------------------------------------------------------------

_PLACEHOLDER = re.compile(
    r"^(?:指标\s*\d+\s*[:：]?|……+|…+|\.{3,}|—+|-+|/|无|空|\(主要填写[^)]*\)|\(填写[^)]*\)|\(可?根据[^)]*\)"
    r"|[(（]?(?:主要|请|可)?(?:填写|填报|根据)[^)）]*[)）]?|xx+|XX+|××+)$"
)


_INSTRUCTION = re.compile(r"^[(（]?(?:请|主要|此处|本栏)(?:简要|如实|据实)?(?:填写|填报|说明|注明)")


def is_instruction(text: str) -> bool:
    """A filling instruction (请简要说明目标完成情况, （主要填写…）): a cell's content left from the template, never a
    column header even when it names one."""
    return bool(_INSTRUCTION.match(re.sub(r"\s+", "", text or "")))


def is_placeholder(text: str) -> bool:
    """A cell the template left for the filer (指标1：, ……, (主要填写…)) and nobody filled."""
    t = re.sub(r"\s+", "", text or "")
    return not t or bool(_PLACEHOLDER.match(t))


# --- header matching ----------------------------------------------------------------------------------------

_QUALIFIER = re.compile(r"[(（\[【]([^()（）\[\]【】]{0,12})[)）\]】]")
_UNIT_WORD = re.compile(r"(万元|千元|元|%|％|百分比|分)")


@dataclass(frozen=True)
class HeaderMeaning:
    field: str | None  # a key of FIELD_SYNONYMS, or None
    unit: str | None = None  # 万元 / 元 when the header says so
    percent: bool = False  # the header says its values are percentages
    key: str = ""  # the header text as matched


# Both are pure functions of one cell's text, called for every cell of every candidate header row and label
# (10k calls on the bundled corpus, most of the reader's time): cached per process.
@lru_cache(maxsize=65536)
def header_key(text: str) -> tuple[str, str | None, bool]:
    """(key, money unit, percent) of a header cell: qualifiers in brackets removed and remembered."""
    t = re.sub(r"\s+", "", text or "")
    unit = None
    percent = False
    for q in _QUALIFIER.findall(t):
        if "万元" in q:
            unit = "万元"
        elif "元" in q:
            unit = "元"
        if "%" in q or "％" in q or "百分" in q:
            percent = True
    t = _QUALIFIER.sub("", t)
    t = re.sub(r"^(?:其中|含)[:：]?", "", t)
    t = t.rstrip(":：")
    if t.endswith("%"):
        percent, t = True, t[:-1]
    m = re.search(r"(?:单位|金额单位)[:：]?(万元|元)$", t)
    if m:
        unit = m.group(1)
    return t, unit, percent


_ALL_SYNONYMS: list[tuple[str, str]] = sorted(
    ((syn, field) for field, syns in FIELD_SYNONYMS.items() for syn in syns), key=lambda x: -len(x[0])
)


_EXACT: dict[str, str] = {}
for _syn, _field in reversed(_ALL_SYNONYMS):  # reversed: the first (longest) listing of a synonym wins
    _EXACT[_syn] = _field


@lru_cache(maxsize=65536)
def classify_header(text: str) -> HeaderMeaning:
    """What a header cell means. Exact synonym first; then a synonym the key ends with (`项目全年预算数`,
    `指标1得分`) or starts with (`得分(满分10)` after qualifiers), longest first. `复核` wins over `得分`, so a
    复核得分 column is never read as the self-score."""
    key, unit, percent = header_key(text)
    if not key or len(key) > 24:
        return HeaderMeaning(None, unit, percent, key)
    if key in _EXACT:
        return HeaderMeaning(_EXACT[key], unit, percent, key)
    if key in _ROW_LABELS:
        return HeaderMeaning(None, unit, percent, key)
    if "复核" in key or "复评" in key or "评审" in key:
        return HeaderMeaning("review_score", unit, percent, key)
    # a longer header that ends with a synonym (项目全年预算数) or starts with one (得分(满分10) once its
    # qualifier is gone); two-character synonyms (单位, 得分) only match exactly, or 单位名称 would be a unit
    for syn, field in _ALL_SYNONYMS:
        if len(syn) >= 3 and (key.endswith(syn) or key.startswith(syn)):
            return HeaderMeaning(field, unit, percent, key)
    return HeaderMeaning(None, unit, percent, key)


_ROW_LABELS = frozenset((*PROJECT_LABELS, *DEPARTMENT_LABELS, *IMPLEMENTER_LABELS, *YEAR_LABELS, *GRADE_LABELS,
                         *FUNDS_TOTAL_LABELS, *GOAL_BLOCK_LABELS))


def label_in(text: str, labels: tuple[str, ...]) -> str | None:
    """The label `text` is (exactly, after header_key), or None."""
    key, _, _ = header_key(text)
    return key if key in labels else None


_POINTS = re.compile(r"^(?P<name>.+?)[(（]?\s*(?P<w>\d+(?:\.\d+)?)\s*分?\s*[)）]?$")


def level1_with_points(text: str) -> tuple[str, float | None]:
    """`产出指标(50分)` → (产出指标, 50); `产出指标` → (产出指标, None)."""
    t = re.sub(r"\s+", "", text or "")
    m = _POINTS.match(t)
    if m and not re.search(r"\d", m.group("name")):
        return m.group("name").rstrip("(（"), float(m.group("w"))
    return t, None


def is_level1(text: str) -> bool:
    name, _ = level1_with_points(text)
    return name in LEVEL1_NAMES


def is_level2(text: str) -> bool:
    name, _ = level1_with_points(text)
    return name in LEVEL2_NAMES or (len(name) <= 10 and bool(LEVEL2_SUFFIX.search(name)) and not re.search(r"\d", name))


__all__ = [name for name in dir() if name.isupper() or name in {
    "HeaderMeaning", "classify_header", "header_key", "is_level1", "is_level2", "is_placeholder", "label_in",
    "level1_with_points",
}]

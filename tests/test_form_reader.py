"""The general form reader on small forms built in the test, one reader feature each, in every input kind.
(The benchmark over hundreds of generated forms of many template families is `jixiao eval forms`.)"""
from __future__ import annotations

from decimal import Decimal

import pytest

from formbuilder import RENDERERS, Form, national
from retrieval.loaders import load_bytes
from service.extraction import extract_document
from service.extraction.form_reader import align, number, rate_figure
from service.extraction.vocabulary import classify_header, is_placeholder, level1_with_points

ALL = list(RENDERERS)


def read(forms: list[Form], kind: str, prose: str = ""):
    data, name = RENDERERS[kind](forms, prose)
    doc = load_bytes(data, name, max_bytes=50_000_000)
    return extract_document(doc)


def D(x) -> Decimal:
    return Decimal(str(x))


# --- vocabulary and small readers -------------------------------------------------------------------------------

@pytest.mark.parametrize("text,field", [
    ("全年预算数", "adjusted_budget"), ("调整后预算数", "adjusted_budget"), ("预算数(A)", "adjusted_budget"),
    ("全年执行数", "executed"), ("执行数(B)", "executed"), ("实际支出", "executed"), ("执行率(B/A)", "rate"),
    ("分值", "weight"), ("指标权重", "weight"), ("自评得分", "score"), ("指标得分", "score"),
    ("复核得分", "review_score"), ("复核分", "review_score"), ("年度指标值", "target"), ("目标值", "target"),
    ("全年完成值", "actual"), ("实际完成值", "actual"), ("偏差原因分析及改进措施", "note"), ("指标性质", "op"),
    ("度量单位", "target_unit"), ("得分系数(%)", "coefficient"), ("是否核心指标", "core"), ("单位名称", None),
])
def test_headers_are_classified_by_meaning(text, field):
    assert classify_header(text).field == field


def test_header_qualifiers_give_units():
    m = classify_header("执行数（元）")
    assert m.field == "executed" and m.unit == "元"
    assert classify_header("执行率(%)").percent


def test_placeholders_and_points():
    assert is_placeholder("指标1：") and is_placeholder("……") and is_placeholder("(主要填写项目实施的问题)")
    assert not is_placeholder("救助人次")
    assert level1_with_points("产出指标(50分)") == ("产出指标", 50.0)
    assert level1_with_points("效益指标（30）") == ("效益指标", 30.0)


def test_rates_in_three_spellings_are_percent():
    assert rate_figure("95.8%", None, False, None, None).value == D("95.8")
    assert rate_figure("95.8", None, True, None, None).value == D("95.8")
    assert rate_figure("0.958", None, False, D(1000), D(958)).value == D("95.8")
    # a real rate below 1%: the amounts say 0.5 means 0.5%
    assert rate_figure("0.5", None, False, D(1000), D(5)).value == D("0.5")
    assert number("1,082.23") == D("1082.23") and number("—") is None and number("优") is None


def test_alignment_places_cells_by_what_they_hold():
    fields = ["level1", "level2", "level3", "target", "actual", "weight", "score", "note"]
    # a flattened row lost its empty level cells and its empty note
    placed = align(["质量指标", "救助准确率", "≥98%", "97%", "20", "18"], fields)
    assert [fields[placed[i]] for i in range(6)] == ["level2", "level3", "target", "actual", "weight", "score"]
    placed = align(["救助人次", "≥300人次", "320人次", "20", "20"], fields)
    assert [fields[placed[i]] for i in range(5)] == ["level3", "target", "actual", "weight", "score"]


# --- the national template in every input kind --------------------------------------------------------------------

@pytest.mark.parametrize("kind", ALL)
def test_national_template_in_every_input_kind(kind):
    x = read([national()], kind)
    assert x.coverage.status == "read", x.coverage.reason_zh
    (p,) = x.projects
    assert p.project == "城乡医疗救助" and p.department == "区民政局" and p.implementer == "区社会救助中心"
    assert p.year == 2023
    f = p.funds
    assert (f.initial_budget.value, f.adjusted_budget.value, f.executed.value) == (100, 120, 108)
    assert f.reported_rate.value == 90 and f.exec_weight.value == 10 and f.exec_score.value == 9
    assert [s.name for s in f.sources] == ["当年财政拨款", "上年结转资金"]
    assert [s.executed.value for s in f.sources] == [108, 0]
    assert p.reported_total.value == 97 and p.reported_grade.text == "优"
    names = [i.level3 for i in p.indicators]
    assert names == ["救助人次", "救助准确率", "困难群众生活保障", "受助对象满意度"]  # the 指标1 placeholder is skipped
    second = p.indicators[1]
    assert second.target.raw == "≥98%" and second.actual.raw == "97%" and (second.weight, second.score) == (20, 18)
    assert second.deviation_note == "个别核查滞后" and second.level2 == "质量指标"
    assert p.indicators[2].level1 == "效益指标"
    # every value cites the line it came from
    assert f.executed.ref is not None and f.executed.ref.quote == "108"
    assert all(i.ref is not None for i in p.indicators)


# --- template variations ------------------------------------------------------------------------------------------

def split_target_form() -> Form:
    """Amounts in 元 (from a 单位 line), 预算数(A)/执行数(B)/执行率(B/A) with the rate as a fraction, execution
    weight 20, 年度指标值 split into 指标性质/指标值/度量单位 under a two-row header, 复核分 and 是否核心指标 columns,
    points in the first-level names, the total row's grade."""
    rows = [
        ["项目支出绩效自评表"],
        ["单位：元"],
        ["项目名称", "农村公路养护专项资金"],
        ["预算部门", "县交通运输局", None, None, "项目单位", "县公路事业发展中心"],
        ["预算执行情况", None, "预算数(A)", "执行数(B)", "执行率(B/A)", "权重", "自评分", "复核分"],
        [None, "合计", 1000000, 958000, 0.958, 20, 19.16, 19],
        [None, "财政资金", 800000, 800000, 1, None, None, None],
        [None, "单位资金", 200000, 158000, 0.79, None, None, None],
        ["一级指标", "二级指标", "三级指标", "年度指标值", None, None, "全年实际值", "权重", "自评分", "复核分",
         "是否核心指标", "偏差原因"],
        [None, None, None, "指标性质", "指标值", "度量单位"],
        ["产出指标(40分)", "数量指标", "养护里程", "≥", "120", "公里", "125", 20, 20, 19, "是", None],
        [None, "质量指标", "优良路率", "≧", "85", "%", "83", 20, 18, 18, "否", "雨季影响施工"],
        ["效益指标(30分)", "社会效益指标", "交通事故率", "≤", "2", "%", "1.5", 30, 30, 30, "否", None],
        ["满意度指标(10分)", "服务对象满意度指标", "沿线群众满意度", "﹦", "90", "%", "92", 10, 10, 10, "否", None],
        ["总分", None, None, None, None, None, None, 100, 97.16, 96, "优"],
    ]
    merges = ["A1:L1", "A2:L2", "B3:L3", "B4:D4", "F4:L4", "A5:B5", "A6:A8", "D9:F9", "A9:A10", "B9:B10",
              "C9:C10", "G9:G10", "H9:H10", "I9:I10", "J9:J10", "K9:K10", "L9:L10", "A11:A12", "A15:G15"]
    return Form(rows, merges, width=12)


@pytest.mark.parametrize("kind", ["xlsx", "docx", "tsv", "pdf_ruled"])
def test_split_target_review_score_and_yuan(kind):
    x = read([split_target_form()], kind)
    (p,) = x.projects
    f = p.funds
    assert f.unit == "元" and f.adjusted_budget.value == 1000000 and f.executed.value == 958000
    assert f.initial_budget is None  # this template has no 年初预算数
    assert f.reported_rate.value == D("95.8")
    assert f.exec_weight.value == 20 and f.exec_score.value == D("19.16")  # the self-score, not the 复核分 19
    assert [s.name for s in f.sources] == ["财政资金", "单位资金"]
    inds = p.indicators
    assert [i.target.raw for i in inds] == ["≥120公里", "≥85%", "≤2%", "=90%"]
    assert [i.actual.raw for i in inds] == ["125公里", "83%", "1.5%", "92%"]
    assert [i.score for i in inds] == [20, 18, 30, 10]  # 自评分, never the 复核分
    assert inds[1].deviation_note == "雨季影响施工"
    assert p.category_weights == {"产出指标": 40, "效益指标": 30, "满意度指标": 10}
    assert inds[1].level1 == "产出指标"
    assert p.reported_total.value == D("97.16") and p.reported_grade.text == "优"


def direction_form() -> Form:
    """指标性质 正向/反向 with a separate 指标方向 in words; 自评总分 and 自评等级 in the header block, no total row."""
    rows = [
        ["2022年度项目支出绩效自评表"],
        ["项目名称", "义务教育阶段学生资助资金", "主管部门", "市教育局"],
        ["自评总分", "88.5", "自评等级", "良"],
        ["调整后预算数", "全年执行数", "执行率", "分值", "得分"],
        ["560.00", "504.00", "90.00%", "10", "9"],
        ["一级指标", "二级指标", "三级指标", "指标性质", "指标方向", "指标值", "计量单位", "完成值", "指标权重", "指标得分"],
        ["产出指标", "数量指标", "资助学生人数", "正向", "大于等于", "1200", "人", "1180", "30", "27.5"],
        ["产出指标", "成本指标", "生均资助标准", "反向", "小于等于", "1000", "元", "1000", "20", "20"],
        ["效益指标", "社会效益指标", "因贫辍学率", "反向", "等于", "0", "%", "0", "22", "22"],
        ["满意度指标", "服务对象满意度指标", "家长满意度", "正向", "大于等于", "90", "%", "91", "18", "10"],
    ]
    return Form(rows, [], width=10)


@pytest.mark.parametrize("kind", ["xlsx", "docx", "tsv", "spaces", "pdf_plain"])
def test_direction_words_and_header_block_total(kind):
    x = read([direction_form()], kind)
    (p,) = x.projects
    assert p.year == 2022 and p.department == "市教育局"
    assert p.funds.adjusted_budget.value == 560 and p.funds.reported_rate.value == 90
    assert p.funds.initial_budget is None
    assert [i.target.raw for i in p.indicators] == ["≥1200人", "≤1000元", "=0%", "≥90%"]
    assert [i.actual.raw for i in p.indicators] == ["1180人", "1000元", "0%", "91%"]
    assert [i.weight for i in p.indicators] == [30, 20, 22, 18]
    assert p.reported_total.value == D("88.5") and p.reported_grade.text == "良"


def three_block_form() -> Form:
    rows = [
        ["项目支出绩效自评表"],
        ["项目名称", "智慧社区建设项目"],
        ["一级指标", "二级指标", "三级指标", "分值", "得分", "评分说明"],
        ["项目决策(20分)", "项目立项", "立项依据充分性", "10", "10", None],
        [None, "绩效目标", "绩效目标合理性", "10", "8", "目标未细化"],
        ["项目管理(30分)", "资金管理", "资金到位率", "15", "15", None],
        [None, "组织实施", "管理制度健全性", "15", "15", None],
        ["项目绩效(50分)", "产出完成", "实际完成率", "25", "22", None],
        [None, "效果实现", "社会效益", "25", "25", None],
        ["合计", None, None, "100", "95", None],
    ]
    return Form(rows, ["A4:A5", "A6:A7", "A8:A9", "A10:C10"], width=6)


@pytest.mark.parametrize("kind", ["xlsx", "tsv", "pdf_ruled"])
def test_three_block_form_without_a_funds_line(kind):
    x = read([three_block_form()], kind)
    (p,) = x.projects
    assert p.funds.executed is None and p.funds.adjusted_budget is None
    assert [i.level1 for i in p.indicators] == ["项目决策"] * 2 + ["项目管理"] * 2 + ["项目绩效"] * 2
    assert p.category_weights == {"项目决策": 20, "项目管理": 30, "项目绩效": 50}
    assert sum(i.score for i in p.indicators) == 95 and p.reported_total.value == 95
    assert x.coverage.status == "read"


def department_form() -> Form:
    """A department-wide form with target and actual but no weights or scores."""
    rows = [
        ["部门整体支出绩效自评表"],
        ["（2021年度）"],
        ["部门（单位）名称", "区教育局"],
        ["预算执行情况（万元）", None, "预算数", "执行数", "执行率"],
        [None, "年度资金总额", "6,453.42", "6,120.10", "94.84%"],
        [None, "其中：基本支出", "4,000.00", "3,990.00", "99.75%"],
        [None, "项目支出", "2,453.42", "2,130.10", "86.82%"],
        ["一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "偏差原因分析及改进措施"],
        ["产出指标", "数量指标", "新建校舍面积", "≥5000平方米", "5200平方米", None],
        [None, "时效指标", "工程按期完工率", "100%", "95%", "雨季延误"],
        ["效益指标", "社会效益指标", "学位供给增加数", "≥600个", "640个", None],
    ]
    return Form(rows, ["A1:F1", "A2:F2", "B3:F3", "A4:B4", "A5:A7", "A9:A10"], width=6)


@pytest.mark.parametrize("kind", ["xlsx", "docx", "tsv"])
def test_department_form_without_weights(kind):
    x = read([department_form()], kind)
    assert not x.projects
    dept = next(d for d in x.departments if d.indicators)
    assert dept.department == "区教育局" and dept.year == 2021
    assert dept.funds.adjusted_budget.value == D("6453.42") and dept.funds.executed.value == D("6120.10")
    assert dept.funds.reported_rate.value == D("94.84")
    assert [s.name for s in dept.funds.sources] == ["基本支出", "项目支出"]
    assert [i.level3 for i in dept.indicators] == ["新建校舍面积", "工程按期完工率", "学位供给增加数"]
    assert all(i.weight is None and i.score is None for i in dept.indicators)
    assert dept.indicators[1].deviation_note == "雨季延误"
    assert x.coverage.status == "read" and x.coverage.departments == 1


@pytest.mark.parametrize("kind", ["xlsx", "docx", "tsv", "pdf_ruled"])
def test_several_forms_in_one_file(kind):
    forms = [national("城乡医疗救助"), national("临时救助资金", total=85, grade="良"), three_block_form()]
    x = read(forms, kind)
    assert [p.project for p in x.projects] == ["城乡医疗救助", "临时救助资金", "智慧社区建设项目"]
    assert [p.reported_total.value for p in x.projects] == [97, 85, 95]
    assert x.coverage.status == "read" and x.coverage.projects == 3


def test_prose_before_the_form_gives_narrative_claims():
    prose = "一、项目基本情况\n该项目全年实际支出108万元，项目自评总分为97分，评价等级为优。"
    x = read([national()], "docx", prose)
    (p,) = x.projects
    kinds = {c.kind for c in p.narrative_claims}
    assert {"total_score", "grade"} <= kinds


def test_a_form_whose_indicator_table_cannot_be_read_is_partial():
    """Headers the vocabulary does not know: the project is found by its 项目名称 label but its indicator rows
    are not read, and the verdict says so."""
    form = national()
    form.rows[10] = [None, "甲栏", "乙栏", "丙栏", "丁栏", "戊栏", "己栏", "庚栏", "辛栏"]
    form.rows[10][0] = "绩效指标"
    x = read([form], "xlsx")
    assert x.coverage.status in ("partial", "unrecognised")
    assert x.coverage.unread


def test_a_short_qualitative_actual_is_not_read_as_the_unit_column():
    """Flattened text (inner empty cells dropped by the reader's alignment) with a 计量单位 column: 未完成 is
    three characters like a unit (公里, 人次), but it is the actual value, and the checks need it there."""
    from service.extraction import extract_document

    text = "\n".join([
        "项目支出绩效自评表",
        "项目名称\t生活垃圾分类处理补助",
        "一级指标\t二级指标\t三级指标\t指标性质\t指标值\t计量单位\t完成值\t指标权重\t指标得分",
        "产出指标\t数量指标\t新建设施数量\t正向\t53\t个\t56个\t13\t13",
        "\t时效指标\t补助发放时限\t定性\t按时完成\t\t未完成\t14\t14",
        "总分\t\t\t\t\t\t\t100\t27",
    ])
    x = extract_document(load_bytes(text.encode(), "form.txt", max_bytes=10**6))
    (p,) = x.projects
    row = next(i for i in p.indicators if i.level3 == "补助发放时限")
    assert row.actual is not None and row.actual.raw == "未完成"
    assert next(i for i in p.indicators if i.level3 == "新建设施数量").actual.raw == "56个"

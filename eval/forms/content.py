"""What a generated form says (pure, seeded): a project's funds, indicators, scores, total and grade, made
consistent with the rulebook's formulas, and the errors injected into some of them with the findings each
must raise. Template families (eval/forms/families*.py) only decide how this content is laid out.

The scoring used to make clean forms consistent is written here from docs/RULEBOOK.md's formulas, apart from
service/checks, so that the benchmark measures the checks instead of copying them.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal

D0 = Decimal(0)
D100 = Decimal(100)


def q2(x: Decimal) -> Decimal:
    return x.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def band(total: Decimal) -> str:
    if total >= 90:
        return "优"
    if total >= 80:
        return "良"
    if total >= 60:
        return "中"
    return "差"


PROJECTS = [
    "城乡居民基本医疗保险补助资金", "农村公路养护专项资金", "义务教育阶段学生资助资金", "城乡医疗救助资金",
    "困难群众基本生活救助资金", "高标准农田建设项目", "农村饮水安全巩固提升工程", "公共文化服务体系建设专项资金",
    "基层医疗卫生机构运行补助", "就业创业补助资金", "退役军人优抚补助经费", "城镇老旧小区改造补助资金",
    "森林防火专项经费", "河道保洁与水环境治理经费", "学前教育发展专项资金", "残疾人两项补贴资金",
    "农业产业化发展专项资金", "社区居家养老服务补助", "食品安全监督抽检经费", "城市道路照明维护经费",
    "生活垃圾分类处理补助", "中小学校舍维修改造资金", "重大动物疫病防控经费", "乡村振兴衔接资金",
    "公共法律服务体系建设经费", "全民健身设施建设补助", "地质灾害防治专项资金", "耕地地力保护补贴",
    "农村危房改造补助资金", "职业技能提升行动专项资金", "妇幼健康服务项目经费", "非物质文化遗产保护经费",
    "政务服务中心运行经费", "智慧城市管理平台运维经费", "水土保持综合治理项目", "应急物资储备专项资金",
    "消防救援队伍建设经费", "特困人员供养资金", "家庭医生签约服务补助", "公共租赁住房运营补助",
]
DEPARTMENTS = [
    ("区民政局", "区社会救助服务中心"), ("县交通运输局", "县公路事业发展中心"), ("市教育局", "市学生资助管理中心"),
    ("区医疗保障局", "区医疗保险服务中心"), ("县农业农村局", "县农业技术推广中心"), ("区文化广电旅游局", "区文化馆"),
    ("市卫生健康委员会", "市疾病预防控制中心"), ("区人力资源和社会保障局", "区就业服务中心"),
    ("县水利局", "县水利工程管理站"), ("区住房和城乡建设局", "区城市建设服务中心"), ("县林业局", "县森林消防大队"),
    ("区生态环境局", "区环境监测站"), ("市退役军人事务局", "市退役军人服务中心"), ("区市场监督管理局", "区食品检验所"),
    ("县自然资源局", "县地质环境监测站"), ("区应急管理局", "区应急物资保障中心"), ("县残疾人联合会", "县残疾人服务中心"),
    ("区司法局", "区公共法律服务中心"), ("市体育局", "市全民健身中心"), ("区城市管理局", "区环境卫生管理所"),
]


@dataclass
class Kind:
    """An indicator template: its target form and how its actual is read."""

    level1: str
    level2: str
    name: str
    sense: str  # pos | neg | eq | qual
    unit: str = ""
    low: int = 0
    high: int = 0
    words: tuple[str, ...] = ()


BANK = [
    Kind("产出指标", "数量指标", "救助人次", "pos", "人次", 200, 5000),
    Kind("产出指标", "数量指标", "补助对象户数", "pos", "户", 100, 3000),
    Kind("产出指标", "数量指标", "养护道路里程", "pos", "公里", 20, 400),
    Kind("产出指标", "数量指标", "培训人数", "pos", "人", 100, 2000),
    Kind("产出指标", "数量指标", "开展宣传活动次数", "pos", "次", 4, 40),
    Kind("产出指标", "数量指标", "新建设施数量", "pos", "个", 3, 60),
    Kind("产出指标", "数量指标", "覆盖学校数", "pos", "所", 5, 80),
    Kind("产出指标", "质量指标", "资金发放准确率", "pos", "%", 95, 100),
    Kind("产出指标", "质量指标", "工程验收合格率", "pos", "%", 90, 100),
    Kind("产出指标", "质量指标", "抽检覆盖率", "pos", "%", 85, 100),
    Kind("产出指标", "质量指标", "设施完好率", "pos", "%", 90, 98),
    Kind("产出指标", "时效指标", "资金拨付及时率", "pos", "%", 95, 100),
    Kind("产出指标", "时效指标", "项目按期完成率", "pos", "%", 90, 100),
    Kind("产出指标", "时效指标", "补助发放时限", "qual", words=("按时发放", "按时完成", "及时拨付")),
    Kind("成本指标", "经济成本指标", "人均补助标准", "neg", "元", 300, 3000),
    Kind("成本指标", "经济成本指标", "单位养护成本", "neg", "元/公里", 5000, 30000),
    Kind("成本指标", "经济成本指标", "预算控制率", "neg", "%", 100, 100),
    Kind("效益指标", "社会效益指标", "群众生活保障水平", "qual", words=("有效保障", "明显提高", "稳步提升")),
    Kind("效益指标", "社会效益指标", "服务对象覆盖率", "pos", "%", 85, 100),
    Kind("效益指标", "社会效益指标", "投诉率", "neg", "%", 1, 5),
    Kind("效益指标", "社会效益指标", "重大安全责任事故", "eq", "起", 0, 0),
    Kind("效益指标", "经济效益指标", "带动增收金额", "pos", "万元", 50, 800),
    Kind("效益指标", "生态效益指标", "环境质量改善情况", "qual", words=("明显改善", "有效改善")),
    Kind("效益指标", "可持续影响指标", "长效管护机制", "qual", words=("建立健全", "持续运行")),
    Kind("效益指标", "可持续影响指标", "项目持续发挥作用年限", "pos", "年", 3, 10),
    Kind("满意度指标", "服务对象满意度指标", "服务对象满意度", "pos", "%", 85, 95),
    Kind("满意度指标", "服务对象满意度指标", "受益群众满意度", "pos", "%", 85, 95),
]


@dataclass
class Ind:
    level1: str
    level2: str
    name: str
    sense: str  # pos | neg | eq | qual
    op: str  # ≥ ≤ = (or "" for a bare value read as ≥)
    value: Decimal | None  # target number (None for qualitative)
    unit: str
    words: str  # qualitative target text
    actual_value: Decimal | None
    actual_words: str
    weight: Decimal
    score: Decimal
    note: str | None = None
    blank_actual: bool = False  # an injected error: the 实际完成值 cell left empty

    @property
    def target_text(self) -> str:
        if self.sense == "qual":
            return self.words
        return f"{self.op}{fmt(self.value)}{self.unit}"

    @property
    def actual_text(self) -> str:
        if self.blank_actual:
            return ""
        if self.sense == "qual":
            return self.actual_words
        return f"{fmt(self.actual_value)}{self.unit}"

    @property
    def met(self) -> bool:
        if self.sense == "qual":
            return self.actual_words == self.words
        if self.sense == "neg":
            return self.actual_value <= self.value
        if self.sense == "eq" and self.value == 0:
            return self.actual_value <= 0
        return self.actual_value >= self.value


def fmt(x: Decimal | None) -> str:
    if x is None:
        return ""
    if x == x.to_integral_value():
        return str(int(x))
    return format(x.normalize(), "f")


@dataclass
class Source:
    name: str
    initial: Decimal
    adjusted: Decimal
    executed: Decimal


@dataclass
class Content:
    project: str
    department: str
    implementer: str
    year: int
    unit: str  # 万元 | 元
    sources: list[Source]
    initial: Decimal
    adjusted: Decimal
    executed: Decimal
    rate: Decimal  # percent, as printed
    exec_weight: Decimal | None
    exec_score: Decimal | None
    indicators: list[Ind]
    total: Decimal | None
    grade: str | None
    goal: str
    completion: str
    problems: str | None = None  # 存在问题 text (a reason for low execution), or None
    narrative: dict = field(default_factory=dict)  # what the prose states: executed, total, grade, rate
    kind: str = "project"  # project | department
    threshold_note: str | None = None  # a note under the form stating its own low-execution threshold
    heading_points: dict = field(default_factory=dict)  # a heading's printed points when not its rows' sum

    @property
    def category_weights(self) -> dict[str, Decimal]:
        """The points each first-level heading prints: its rows' weights, unless an injection set them apart."""
        out: dict[str, Decimal] = {}
        for i in self.indicators:
            out[i.level1] = out.get(i.level1, D0) + i.weight
        out.update(self.heading_points)
        return out

    def computed_total(self) -> Decimal:
        return q2((self.exec_score or D0) + sum((i.score for i in self.indicators), D0))


def _amount(rng: random.Random, unit: str) -> Decimal:
    wan = Decimal(rng.randrange(2000, 300000)) / 100  # 20.00 … 3000.00 万元
    return wan * 10000 if unit == "元" else wan


def _split(total: Decimal, n: int, rng: random.Random, places: int) -> list[Decimal]:
    if n == 1:
        return [total]
    step = Decimal(1).scaleb(-places)
    shares = [rng.uniform(0.15, 1) for _ in range(n)]
    shares[0] += 1.5
    s = sum(shares)
    parts = [(total * Decimal(str(x / s))).quantize(step) for x in shares[:-1]]
    return parts + [total - sum(parts, D0)]


def score_of(ind: Ind) -> Decimal:
    """The score RULEBOOK.md's formulas give (R-QUANT-POS / NEG / EQ, R-QUAL bands)."""
    w = ind.weight
    if ind.met:
        return w
    if ind.sense == "qual":
        return q2(w * Decimal("0.75"))
    if ind.sense == "neg":
        return q2(w * ind.value / ind.actual_value)
    if ind.sense == "eq" and ind.value == 0:
        return D0
    return q2(w * ind.actual_value / ind.value)


NOTES = ["受疫情影响部分工作延后实施", "部分对象信息核实滞后，下一步将加强动态管理", "受天气影响工程进度放缓",
         "申报人数少于预期，下一步加大宣传力度", "项目实施周期跨年，剩余部分次年完成", "物价上涨导致成本上升"]


def make_indicator(kind: Kind, weight: Decimal, rng: random.Random, miss: bool) -> Ind:
    if kind.sense == "qual":
        words = rng.choice(kind.words)
        ind = Ind(kind.level1, kind.level2, kind.name, "qual", "", None, "", words, None, words, weight, weight)
        return ind
    if kind.unit == "%":
        value = Decimal(rng.randrange(kind.low, kind.high + 1))
    elif kind.sense == "eq":
        value = Decimal(kind.low)
    else:
        value = Decimal(rng.randrange(kind.low, kind.high + 1))
    op = {"pos": rng.choice(["≥", "≥", "≥", ""]) if kind.unit == "%" else "≥", "neg": "≤", "eq": "="}[kind.sense]
    if kind.sense == "pos" and kind.unit == "%" and value == 100:
        op = rng.choice(["=", "≥", ""])
    if kind.sense == "pos":
        if miss:
            actual = (value * Decimal(str(rng.uniform(0.80, 0.97)))).quantize(Decimal(1))
            actual = min(actual, value - 1)
        elif kind.unit == "%":
            actual = min(Decimal(100), value + rng.randrange(0, 4))
        else:
            actual = value + (value * Decimal(str(rng.uniform(0, 0.15)))).quantize(Decimal(1))
    elif kind.sense == "neg":
        if kind.unit == "%" and value == 100:
            actual = Decimal(rng.randrange(92, 101)) if not miss else Decimal(rng.randrange(103, 110))
        elif miss:
            actual = value + max(Decimal(1), (value * Decimal(str(rng.uniform(0.05, 0.2)))).quantize(Decimal(1)))
        else:
            actual = (value * Decimal(str(rng.uniform(0.75, 1.0)))).quantize(Decimal(1))
    else:  # eq, target 0
        actual = Decimal(1) if miss else D0
    ind = Ind(kind.level1, kind.level2, kind.name, kind.sense, op, value, kind.unit, "", actual, "", weight, weight)
    ind.score = score_of(ind)
    if not ind.met:
        ind.note = rng.choice(NOTES)
    return ind


def distribute(total: int, n: int, rng: random.Random) -> list[int]:
    """n positive integer weights summing to total."""
    base = [1] * n
    for _ in range(total - n):
        base[rng.randrange(n)] += 1
    return base


def make_content(rng: random.Random, *, unit: str = "万元", source_names: tuple[str, ...] = ("当年财政拨款",),
                 exec_weight: int | None = 10, initial_differs: bool = True, categories: dict[str, int] | None = None,
                 low_rate: bool = False, problems: bool = False, kind: str = "project", scored: bool = True,
                 level1_names: dict[str, str] | None = None, allow_miss: bool = True) -> Content:
    project = rng.choice(PROJECTS)
    department, implementer = rng.choice(DEPARTMENTS)
    year = rng.randrange(2019, 2025)
    places = 0 if unit == "元" else 2
    adjusted = _amount(rng, unit)
    adjusted = adjusted.quantize(Decimal(1)) if unit == "元" else adjusted
    initial = adjusted
    if initial_differs and rng.random() < 0.4:
        initial = (adjusted * Decimal(str(rng.uniform(0.8, 1.0)))).quantize(Decimal(1).scaleb(-places))
    ratio = Decimal(str(rng.uniform(0.62, 0.86) if low_rate else rng.uniform(0.905, 1.0)))
    if not low_rate and rng.random() < 0.25:
        ratio = Decimal(1)
    executed = (adjusted * ratio).quantize(Decimal(1).scaleb(-places))
    n = len(source_names)
    adj_parts = _split(adjusted, n, rng, places)
    ini_parts = _split(initial, n, rng, places) if initial != adjusted else list(adj_parts)
    exe_parts = [(p * ratio).quantize(Decimal(1).scaleb(-places)) for p in adj_parts[:-1]]
    exe_parts.append(executed - sum(exe_parts, D0))
    if exe_parts[-1] > adj_parts[-1] or exe_parts[-1] < 0:  # keep every source within its budget
        exe_parts = [executed] + [D0] * (n - 1)
        adj_parts = [adjusted] + [D0] * (n - 1)
        ini_parts = [initial] + [D0] * (n - 1)
    sources = [Source(nm, i, a, e) for nm, i, a, e in zip(source_names, ini_parts, adj_parts, exe_parts)]
    rate = q2(executed / adjusted * D100)
    exec_w = Decimal(exec_weight) if exec_weight is not None else None
    exec_s = q2(exec_w * min(rate, D100) / D100) if exec_w is not None else None
    remaining = 100 - (exec_weight or 0)
    cats = categories or _default_categories(remaining, rng)
    indicators: list[Ind] = []
    for level1, cat_weight in cats.items():
        kinds = [k for k in BANK if k.level1 == level1] or [k for k in BANK if k.level1 == "产出指标"]
        count = min(len(kinds), max(1, min(4, cat_weight // 8)))
        picks = rng.sample(kinds, count)
        weights = distribute(cat_weight, count, rng)
        for kd, w in zip(picks, weights):
            # a form with nowhere to explain a shortfall (no 偏差原因 column) reports only met targets when clean
            miss = rng.random() < 0.18 and kd.sense != "qual" and allow_miss
            ind = make_indicator(kd, Decimal(w), rng, miss)
            if level1_names:
                ind.level1 = level1_names.get(ind.level1, ind.level1)
            indicators.append(ind)
    if not scored:
        for ind in indicators:
            ind.weight = ind.score = None  # type: ignore[assignment]
    c = Content(project, department, implementer, year, unit, sources, initial, adjusted, executed, rate,
                exec_w, exec_s, indicators, None, None,
                goal=f"通过实施{project}，完成年度任务，保障服务对象合法权益，提升公共服务水平。",
                completion="已按计划完成年度主要任务，资金按规定使用，服务对象满意度较高。", kind=kind)
    if scored:
        c.total = c.computed_total()
        c.grade = band(c.total)
    if problems or low_rate:
        c.problems = "部分资金因项目实施周期跨年未能在年内支付完毕，下一步将加快执行进度。" if low_rate else \
            "项目绩效目标设置还不够细化，下一步将完善指标体系。"
    return c


def _default_categories(remaining: int, rng: random.Random) -> dict[str, int]:
    sat = 10 if remaining >= 80 else 5
    benefit = 30 if remaining >= 80 else max(10, remaining // 3)
    output = remaining - sat - benefit
    if rng.random() < 0.3 and output >= 30:
        cost = 10
        return {"产出指标": output - cost, "成本指标": cost, "效益指标": benefit, "满意度指标": sat}
    return {"产出指标": output, "效益指标": benefit, "满意度指标": sat}


# --- injected errors --------------------------------------------------------------------------------------------

@dataclass
class Injection:
    name: str
    rules: list[tuple[str, str, str]]  # (rule_id, severity, why)


def _regrade(c: Content) -> None:
    c.total = c.computed_total()
    c.grade = band(c.total)


FUNDS_INJECTIONS = {"rate_wrong", "exec_over", "rows_mismatch", "exec_score_high", "exec_explain", "narr_rate",
                    "narr_amount", "unit_magnitude"}


def inject(c: Content, name: str, rng: random.Random, *, has_narrative: bool, has_problems_field: bool,
           category_headers: bool, has_note_column: bool = True, has_funds: bool = True) -> Injection | None:
    """Change the content so that one error is in it; None when this content cannot carry that error."""
    if name in FUNDS_INJECTIONS and not has_funds:
        return None  # the form prints no funds block: an error there would be invisible
    quant = [i for i in c.indicators if i.sense in ("pos", "neg", "eq") and i.met and i.weight]
    if name == "rate_wrong":
        if c.exec_weight is None and c.kind != "project" or c.rate < 90:
            return None
        old = c.rate
        c.rate = q2(min(D100, old + Decimal(rng.randrange(5, 12)))) if old <= 93 else q2(old - Decimal(rng.randrange(6, 15)))
        if c.rate == old:
            return None
        rules = [("R-EXEC-RATE", "error", f"执行率填{fmt(c.rate)}%，执行数/预算数={fmt(old)}%")]
        if c.rate < 90 and not c.problems:
            rules.append(("R-EXEC-EXPLAIN", "warning", "填报执行率低于90%且未说明原因"))
        return Injection(name, rules)  # the prose, if any, repeats the table's (wrong) rate
    if name == "exec_over":
        if c.exec_weight is None:
            return None
        extra = (c.adjusted * Decimal(str(rng.uniform(0.04, 0.1)))).quantize(Decimal(1) if c.unit == "元" else Decimal("0.01"))
        c.executed = c.adjusted + extra
        c.sources[0].executed = c.executed - sum((s.executed for s in c.sources[1:]), D0)
        c.rate = q2(c.executed / c.adjusted * D100)
        c.exec_score = c.exec_weight
        _regrade(c)
        rules = [("R-EXEC-OVER", "error", "全年执行数超过全年预算数")]
        if c.sources[0].executed > c.sources[0].adjusted and len(c.sources) > 1:
            pass  # a source over its own budget is the same root cause
        return Injection(name, rules)
    if name == "rows_mismatch":
        if len(c.sources) < 2:
            return None
        s = c.sources[1]
        delta = max(Decimal(1), (c.adjusted * Decimal("0.05")).quantize(Decimal(1)))
        s.executed = s.executed + delta if s.executed + delta <= s.adjusted else s.executed
        s.adjusted = s.adjusted + delta
        s.initial = s.initial + delta
        return Injection(name, [("R-EXEC-ROWS", "error", "资金来源各行之和不等于年度资金总额")])
    if name == "exec_score_high":
        # beyond the rulebook's tolerance: a whole-number score may round by half a point (R-EXEC-SCORE)
        if c.exec_weight is None or c.exec_weight * (D100 - c.rate) / D100 <= Decimal("0.6"):
            return None
        c.exec_score = c.exec_weight
        _regrade(c)
        return Injection(name, [("R-EXEC-SCORE", "error", f"执行率{fmt(c.rate)}%却得执行满分")])
    if name == "exec_explain":
        if c.exec_weight is None or not has_problems_field or c.kind != "project":
            return None
        ratio = Decimal(str(rng.uniform(0.65, 0.85)))
        places = Decimal(1) if c.unit == "元" else Decimal("0.01")
        c.executed = (c.adjusted * ratio).quantize(places)
        for s in c.sources:
            s.executed = (s.adjusted * ratio).quantize(places)
        c.sources[0].executed = c.executed - sum((s.executed for s in c.sources[1:]), D0)
        c.rate = q2(c.executed / c.adjusted * D100)
        c.exec_score = q2(c.exec_weight * c.rate / D100)
        c.problems = None
        _regrade(c)
        return Injection(name, [("R-EXEC-EXPLAIN", "warning", f"执行率{fmt(c.rate)}%低于90%，未说明原因")])
    if name in ("quant_pos_full", "quant_neg_full", "quant_eq_full"):
        sense = {"quant_pos_full": "pos", "quant_neg_full": "neg", "quant_eq_full": "eq"}[name]
        cands = [i for i in quant if i.sense == sense and (sense != "pos" or i.op != "=")]
        if sense == "pos":
            cands = [i for i in cands if i.unit != "%" or i.value < 100]
        if not cands:
            return None
        ind = rng.choice(cands)
        if sense == "pos":
            ind.actual_value = max(D0, (ind.value * Decimal(str(rng.uniform(0.7, 0.92)))).quantize(Decimal(1)))
            if ind.actual_value >= ind.value:
                ind.actual_value = ind.value - 1
        elif sense == "neg":
            ind.actual_value = ind.value + max(Decimal(1), (ind.value * Decimal("0.15")).quantize(Decimal(1)))
        else:
            ind.actual_value = Decimal(rng.randrange(1, 4))
        ind.score, ind.note = ind.weight, None
        _regrade(c)
        rule = {"pos": "R-QUANT-POS", "neg": "R-QUANT-NEG", "eq": "R-QUANT-EQ"}[sense]
        return Injection(name, [(rule, "error", f"{ind.name}未达目标却得满分"),
                                ("R-DEVIATION", "warning", f"{ind.name}未达目标，偏差原因未填")])
    if name == "qual_full":
        cands = [i for i in c.indicators if i.sense == "qual" and i.weight]
        if not cands:
            return None
        ind = rng.choice(cands)
        ind.actual_words = rng.choice(["部分完成", "未完成", "基本未实现"])
        ind.score, ind.note = ind.weight, rng.choice(NOTES)
        rules = [("R-QUAL", "error", f"{ind.name}实际为“{ind.actual_words}”却得满分")]
        if not has_note_column:  # the reason has nowhere to go
            rules.append(("R-DEVIATION", "warning", f"{ind.name}未达目标，无处说明偏差原因"))
        return Injection(name, rules)
    if name == "deviation_missing":
        if not has_note_column:
            return None
        missed = [i for i in c.indicators if i.sense in ("pos", "neg") and not i.met and i.weight]
        if not missed:
            cands = [i for i in quant if i.sense == "pos" and (i.unit != "%" or i.value < 100) and i.op != "="]
            if not cands:
                return None
            ind = rng.choice(cands)
            ind.actual_value = (ind.value * Decimal("0.9")).quantize(Decimal(1))
            if ind.actual_value >= ind.value:
                return None
            ind.score = score_of(ind)
            _regrade(c)
        else:
            ind = missed[0]
        ind.note = None
        return Injection(name, [("R-DEVIATION", "warning", f"{ind.name}未达目标，偏差原因未填")])
    if name == "weight_l1":
        if category_headers:
            return None
        cands = [i for i in c.indicators if i.weight and i.weight > 6 and i.met]
        if not cands:
            return None
        ind = rng.choice(cands)
        ind.weight -= 5
        ind.score = ind.weight
        _regrade(c)
        return Injection(name, [("R-WEIGHT-L1", "warning", "指标分值合计不为100")])
    if name == "category_sum":
        if not category_headers or c.total is None:
            return None
        cat = c.indicators[0].level1
        cands = [i for i in c.indicators if i.level1 == cat and i.met and i.weight]
        if not cands:
            return None
        ind = cands[0]
        rows_sum = sum((i.score for i in c.indicators if i.level1 == cat), D0)
        delta = c.category_weights[cat] - rows_sum + Decimal(rng.randrange(2, 5))
        if c.total + delta > 100:
            return None
        ind.score += delta  # the row's score above its weight, the category's sum above its heading
        _regrade(c)
        return Injection(name, [("R-CATEGORY-SUM", "warning", f"{ind.level1}得分合计超过其分值")])
    if name == "total_wrong":
        if c.total is None:
            return None
        true = c.total
        delta = Decimal(rng.choice([2, 3, 4, -2, -3, -5]))
        if true + delta > D100:
            delta = -delta  # never above 100, and never within a whole point of the true total
        c.total = true + delta
        rules = [("R-TOTAL", "error", f"总分填{fmt(c.total)}，各项得分合计{fmt(true)}")]
        if band(c.total) != c.grade:
            rules.append(("R-GRADE", "error", f"总分{fmt(c.total)}对应等级{band(c.total)}，填报{c.grade}"))
        return Injection(name, rules)
    if name == "grade_wrong":
        if c.grade is None:
            return None
        c.grade = {"优": "良", "良": "优", "中": "良", "差": "中"}[c.grade]
        return Injection(name, [("R-GRADE", "error", f"总分{fmt(c.total)}应为{band(c.total)}，填报{c.grade}")])
    if name == "narr_rate":
        if not has_narrative:
            return None
        c.narrative["rate"] = q2(c.rate - Decimal(rng.choice([4, 6, 8])))
        return Injection(name, [("R-NARR-RATE", "error", "文字执行率与表中执行率不符")])
    if name in ("narr_amount", "narr_total", "narr_grade"):
        if not has_narrative:
            return None
        if name == "narr_amount":
            c.narrative["executed"] = c.executed + (Decimal(50) if c.unit == "元" else Decimal("12.5"))
            return Injection(name, [("R-NARR-AMOUNT", "error", "文字所述实际支出与表中执行数不符")])
        if name == "narr_total":
            if c.total is None:
                return None
            c.narrative["total"] = q2(c.total - Decimal(rng.choice([3, 4, 6])))
            rules = [("R-NARR-TOTAL", "error", "文字总分与表中总分不符")]
            return Injection(name, rules)
        if c.grade is None:
            return None
        c.narrative["grade"] = {"优": "良", "良": "优", "中": "良", "差": "中"}[c.grade]
        return Injection(name, [("R-NARR-GRADE", "error", "文字等级与表中等级不符")])
    if name == "unit_magnitude":
        if c.unit != "万元":
            return None
        ind = next((i for i in c.indicators if i.level1 == "成本指标"), None)
        target_yuan = (c.adjusted * 10000).quantize(Decimal(1))
        new = Ind(ind.level1 if ind else "成本指标", ind.level2 if ind else "经济成本指标", "项目支出总额", "neg", "≤",
                  target_yuan, "元", "", c.executed, "", Decimal(0), Decimal(0))
        if ind is None:
            return None
        new.weight, new.score = ind.weight, ind.weight
        c.indicators[c.indicators.index(ind)] = new
        if c.total is not None:
            _regrade(c)  # the replaced row may have been deducted: the total follows the new full score
        return Injection(name, [("R-UNIT-MAGNITUDE", "error", f"实际完成值{fmt(c.executed)}元应为万元数")])
    return None


INJECTIONS = ["rate_wrong", "exec_over", "rows_mismatch", "exec_score_high", "exec_explain", "quant_pos_full",
              "quant_neg_full", "quant_eq_full", "qual_full", "deviation_missing", "weight_l1", "category_sum",
              "total_wrong", "grade_wrong", "narr_amount", "narr_total", "narr_grade", "narr_rate", "unit_magnitude"]


# Injections added after the benchmark's first split was fixed draw from their own random stream (see
# make_form), so adding one leaves every earlier form and injection exactly as it was.
EXTRA_INJECTIONS = ["empty_actual_full"]


def inject_extra(c: Content, name: str, rng: random.Random) -> Injection | None:
    if name == "empty_actual_full":
        full = [i for i in c.indicators if i.weight and i.score == i.weight]
        if len(full) < 1 or len(c.indicators) < 3:
            return None
        ind = rng.choice(full)
        ind.blank_actual = True
        return Injection(name, [("R-EMPTY-VALUE", "warning", f"“{ind.name}”实际完成值未填写却得满分")])
    return None



# The checks added for the reviewer's issue (a second extra stream, drawn only for forms left clean by both
# earlier draws, so every earlier form and injection stays byte-identical).
EXTRA2_INJECTIONS = ["zero_spend", "exec_score_over_weight", "total_row_zero", "template_left", "project_dup",
                     "summary_dup", "summary_wrong", "threshold_below", "threshold_between", "accounts_project",
                     "accounts_dept", "category_weight"]
_THRESHOLD_NOTES = ("注：预算执行率低于{t}%的，须在“存在问题及改进措施”栏说明原因。", "执行率未达到{t}%的需说明原因。",
                    "备注：项目执行率不足{t}%的，请说明偏差原因及改进措施。")
_GOAL_HINTS = ("（填写本年度预期达到的绩效目标）", "请填写年度总体目标", "（主要填写年初设定的年度绩效目标，应与预算批复一致）")
_DONE_HINTS = ("（填写年度绩效目标的实际完成情况）", "请简要说明目标完成情况", "（主要填写实际完成情况）")


def inject_extra2(contents: list[Content], name: str, rng: random.Random, *, funds_fields: set[str],
                  has_problems_field: bool, has_goals: bool, n_source_rows: int,
                  has_summary: bool = False, has_accounts: bool = False,
                  category_headers: bool = False) -> Injection | None:
    """One error for the reviewer's checks. The summary-table ones change no content: the caller applies them to
    the summary rows it prints (eval/forms/__init__.py, apply_summary_injection)."""
    c = contents[0]
    if name == "category_weight":
        # the rows under a printed heading (产出指标（50分）) carry fewer points than the heading says: one row's
        # weight lowered (its score with it, still full), the heading still printing the old points
        if not category_headers or c.total is None:
            return None
        cands = [i for i in c.indicators if i.weight and i.weight > 4 and i.score == i.weight]
        if not cands:
            return None
        ind = rng.choice(cands)
        heading = c.category_weights[ind.level1]
        cut = Decimal(rng.randrange(2, 4))
        c.heading_points = {**c.heading_points, ind.level1: heading}
        ind.weight -= cut
        ind.score = ind.weight
        _regrade(c)
        return Injection(name, [("R-CATEGORY-WEIGHT", "warning",
                                 f"{ind.level1}标题{fmt(heading)}分，其下各项分值合计{fmt(heading - cut)}")])
    if name == "accounts_dept":
        # the 部门决算's 本年支出合计 below what the 部门整体 form says the department executed
        if not has_accounts or c.kind != "department" or c.executed <= 0:
            return None
        return Injection(name, [("R-ACCOUNTS-DEPT", "warning", "部门整体自评执行数高于决算本年支出合计")])
    if name == "accounts_project":
        # the 部门决算's 项目支出 under the item named as this project differs from what its form says it spent
        # (applied to the accounts rows by the caller)
        if not has_accounts or c.kind != "project" or c.executed <= 0:
            return None
        return Injection(name, [("R-ACCOUNTS-PROJECT", "warning", f"决算“{c.project}”项目支出与自评表执行数不符")])
    if name in ("summary_dup", "summary_wrong"):
        if not has_summary or c.total is None:
            return None
        if name == "summary_dup":
            return Injection(name, [("R-SUMMARY-DUP", "warning", f"汇总表列示“{c.project}”两次，得分不同")])
        return Injection(name, [("R-SUMMARY", "error", f"汇总表“{c.project}”一行与其自评表不符")])
    if name == "zero_spend":
        # nothing spent, yet the output and benefit rows keep their full scores (and, half the time, a cost row
        # "met" at 0): one root cause, R-ZERO-SPEND; the form explains the zero so R-EXEC-EXPLAIN stays quiet
        if c.kind != "project" or "executed" not in funds_fields or not has_problems_field:
            return None
        full = [i for i in c.indicators if i.weight and i.score == i.weight and i.level1 in ("产出指标", "效益指标")]
        if not full:
            return None
        c.executed = D0
        for src in c.sources:
            src.executed = D0
        c.rate = q2(D0)
        if c.exec_weight is not None:
            c.exec_score = q2(D0)
        c.problems = "项目因政策调整暂缓实施，资金年内未支出。"
        costs = [i for i in c.indicators if i.level1 == "成本指标" and i.sense == "neg" and i.weight]
        if costs and rng.random() < 0.5:
            ind = rng.choice(costs)
            ind.actual_value, ind.score, ind.note = D0, ind.weight, None
        _regrade(c)
        return Injection(name, [("R-ZERO-SPEND", "warning", "全年执行数为0，产出、效益指标仍得满分")])
    if name == "exec_score_over_weight":
        if c.exec_weight is None or "exec_score" not in funds_fields or c.total is None:
            return None
        delta = Decimal(rng.randrange(1, 4))
        if c.total - (c.exec_score or D0) + c.exec_weight + delta > D100:
            return None  # a total above 100 would be its own finding (R-TOTAL), not this one
        c.exec_score = c.exec_weight + delta
        _regrade(c)
        return Injection(name, [("R-EXEC-SCORE", "error", f"预算执行得分{fmt(c.exec_score)}超过分值{fmt(c.exec_weight)}")])
    if name == "total_row_zero":
        # the total row's 年初预算数 left 0 beside filled source rows (the rate is computed from the 全年 columns,
        # so this is one finding, R-EXEC-ROWS)
        if "initial_budget" not in funds_fields or n_source_rows < 1 or c.initial <= 0:
            return None
        if sum((s.initial for s in c.sources[:n_source_rows]), D0) <= 0:
            return None
        c.initial = D0
        return Injection(name, [("R-EXEC-ROWS", "error", "年初预算数合计行填0，分项有数")])
    if name == "template_left":
        if not has_goals:
            return None
        if rng.random() < 0.5:
            c.goal = rng.choice(_GOAL_HINTS)
        else:
            c.completion = rng.choice(_DONE_HINTS)
        return Injection(name, [("R-TEMPLATE-TEXT", "warning", "目标或完成情况栏仍为填表说明文字")])
    if name in ("threshold_below", "threshold_between"):
        # the form states its own threshold (70/80/85%): a rate under it without a reason is flagged; a rate
        # between it and the common 90% is not (a checker that always assumes 90% would flag it)
        if c.kind != "project" or "executed" not in funds_fields or not has_problems_field:
            return None
        t = rng.choice([70, 80, 85])
        c.threshold_note = rng.choice(_THRESHOLD_NOTES).format(t=t)
        pct = rng.uniform(t - 15, t - 3) if name == "threshold_below" else rng.uniform(t + 2, 89)
        places = Decimal(1) if c.unit == "元" else Decimal("0.01")
        ratio = Decimal(str(pct / 100))
        c.executed = (c.adjusted * ratio).quantize(places)
        for src in c.sources:
            src.executed = (src.adjusted * ratio).quantize(places)
        c.sources[0].executed = c.executed - sum((x.executed for x in c.sources[1:]), D0)
        c.rate = q2(c.executed / c.adjusted * D100)
        if c.exec_weight is not None:
            c.exec_score = q2(c.exec_weight * c.rate / D100)
        c.problems = None
        if c.total is not None:
            _regrade(c)
        if name == "threshold_between":
            return Injection(name, [])
        return Injection(name, [("R-EXEC-EXPLAIN", "warning", f"执行率{fmt(c.rate)}%低于表格规定的{t}%，未说明原因")])
    if name == "project_dup":
        if has_summary:
            return None  # the summary would list the name twice too: a second finding for one cause
        # the same project reported twice in one file with two executed amounts (and so two totals)
        if len(contents) < 2 or c.kind != "project" or "executed" not in funds_fields:
            return None
        import copy

        other = copy.deepcopy(c)
        places = Decimal(1) if c.unit == "元" else Decimal("0.01")
        new = (c.adjusted * Decimal(str(rng.uniform(0.91, 0.99)))).quantize(places)
        if abs(new - c.executed) < c.adjusted * Decimal("0.01"):
            return None
        other.executed = new
        other.sources[0].executed = new - sum((s.executed for s in other.sources[1:]), D0)
        if other.sources[0].executed < 0 or other.sources[0].executed > other.sources[0].adjusted:
            return None
        other.rate = q2(new / other.adjusted * D100)
        if other.exec_weight is not None:
            other.exec_score = q2(other.exec_weight * min(other.rate, D100) / D100)
        if other.total is not None:
            _regrade(other)
        contents[1] = other
        return Injection(name, [("R-PROJECT-DUP", "warning", f"“{c.project}”填报两份自评表，执行数不同")])
    return None

def narrative_of(c: Content) -> dict:
    """What a clean report's prose states (the injections change some of it)."""
    out = {"executed": c.executed, "rate": c.rate}
    if c.total is not None:
        out["total"] = c.total
        out["grade"] = c.grade
    out.update(c.narrative)
    return out


__all__ = ["Content", "EXTRA2_INJECTIONS", "EXTRA_INJECTIONS", "inject_extra2", "Ind", "Injection", "INJECTIONS", "inject_extra", "band", "fmt", "inject", "make_content", "narrative_of",
           "q2", "replace"]

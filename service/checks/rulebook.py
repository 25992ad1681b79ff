"""The rulebook in code. Each rule: id, plain statement (zh + en), formula, tolerance, severity policy,
source with its tag ([seen] read in a public source, [recalled] from 财预〔2020〕10号 as commonly quoted —
full text not found, confirm before relying on it, [inferred] follows from the form's layout), and the pure
function that applies it. docs/RULEBOOK.md is generated from this list (scripts/gen_rulebook.py)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

from service.checks import crosscheck, department, funds, indicators, instructions, narrative, summary, totals

Scope = Literal["project", "summary", "department", "document", "tolerance"]
Tag = Literal["seen", "recalled", "inferred"]


@dataclass(frozen=True)
class Rule:
    id: str
    family: str
    title_zh: str
    title_en: str
    statement_zh: str
    statement_en: str
    formula: str
    tolerance: str
    severity: str
    source: str
    tags: tuple[Tag, ...]
    scope: Scope
    check: Callable | None  # (UnitContext) -> [Finding] for projects; (table|dept, DocContext) -> [Finding]


_ROUND_AMT = "R-ROUND: amounts max(0.01, 0.005 × addends) 万元; a figure printed with 2 decimals carries ±0.005"
_ROUND_RATE = ("R-ROUND: half a unit of the reported rate's last digit, plus the interval the printed executed "
               "amount allows (executed ± 0.005) ÷ budget; the budget, an appropriation, is taken as exact")
_ROUND_SCORE = ("R-ROUND: half a unit of the reported score's last digit (truncating 0.9376 to 0.93 is beyond "
                "it)")

RULES: tuple[Rule, ...] = (
    Rule("R-EXEC-RATE", "funds", "执行率复算", "Execution rate",
         "填报的预算执行率应等于全年执行数除以全年预算数（调整后预算数）；合计行与各资金来源行分别核对；"
         "“预算执行率”指标行的实际完成值若本身是执行率（资金执行情况、预算支出进度等），也须与之相符"
         "（“按相关规定拨付使用补助资金”之类的合规表述不作执行率）。",
         "The reported execution rate equals executed ÷ adjusted budget (全年预算数/调整后预算数), for the total "
         "row and each source row; a 预算执行率 indicator row whose actual value is itself a rate (资金执行情况, "
         "预算支出进度 …) must agree too (rows worded as compliance, 按相关规定拨付使用补助资金, are not rates).",
         "rate = executed / adjusted_budget × 100 (initial budget when no adjusted budget is printed)",
         _ROUND_RATE, "error beyond rounding; info within rounding",
         "MoF-style self-evaluation forms (Anhui, Yunnan, Hebei); Sichuan form states 预算执行数/调整后预算数. "
         "Seed 002's framework defines 预算执行率 = 实际支出/实际到位 instead (not applied: no such table).",
         ("seen",), "project", funds.check_exec_rate),
    Rule("R-EXEC-OVER", "funds", "超预算执行", "Executed above budget",
         "全年执行数不应超过全年预算数。", "Executed must not exceed the (adjusted) budget.",
         "executed ≤ adjusted_budget", "0.01 万元", "error",
         "Severity policy (docs/ARCHITECTURE.md): executed > budget is a contradiction.",
         ("inferred",), "project", funds.check_exec_over),
    Rule("R-EXEC-ROWS", "funds", "资金来源合计", "Funds rows add up",
         "年度资金总额应等于各资金来源（本年财政拨款、上年结转、其他资金…）之和，逐列核对；空白分项按0计。",
         "年度资金总额 equals the sum of its source rows (本年财政拨款, 上年结转, 其他资金 …), column by column; "
         "blank parts count as 0.",
         "total = Σ sources (per column: 年初预算数, 全年预算数, 到位数, 执行数)",
         _ROUND_AMT, "error beyond rounding; info within rounding",
         "Follows from the form's layout; a real Anhui form shows a total row 0/0/0 beside 财政拨款 90/89.974.",
         ("inferred",), "project", funds.check_exec_rows),
    Rule("R-EXEC-SCORE", "funds", "执行得分与执行率", "Execution score vs rate",
         "预算执行得分 = 分值 × 执行率（执行率超过100%按100%）；高于此值为虚高（错误），明显低于此值而无依据为警告。"
         "中原区方案中执行得分隐含于总分，由 R-TOTAL 核对。",
         "Execution score = weight × min(rate, 100%). Above it is inflation (error); clearly below it without a "
         "stated basis is a warning. In the Zhongyuan scheme the execution score is implicit in the total and is "
         "checked by R-TOTAL.",
         "score ≤ weight × min(executed / budget, 1)",
         _ROUND_SCORE + "; whole-number scores allow ±0.5 (廊坊: 86.2% → 9 of 10)",
         "error above; warning below; info within rounding",
         "黄冈 form “得分(20分*执行率)” [seen]; cap at the weight when rate > 100% [inferred]; whole-number "
         "rounding seen in practice (廊坊).",
         ("seen", "inferred"), "project", funds.check_exec_score),
    Rule("R-EXEC-EXPLAIN", "explanations", "低执行率须说明", "Low execution needs a reason",
         "预算执行率低于表格规定的阈值（河南模板：70%；“执行率未达到90%的需说明原因”等写法），须在“存在问题/偏差原因”"
         "中说明原因，结论中引用表格该行；表格未规定时按90%掌握，并在结论中写明“表格未列明阈值”。"
         "模板提示文字、“无”视为未填。按报告所填执行率判断（与复算不符的由 R-EXEC-RATE 指出）。",
         "An execution rate below the form's threshold (Henan template: 70%; wordings such as 执行率未达到90%的需说明"
         "原因), cited on its line, else below 90% with the finding saying the form states none, needs a reason in "
         "存在问题 / 偏差原因; template hint text and 无 count as empty. Judged on the rate the report states (a "
         "contradicting rate is R-EXEC-RATE's finding).",
         "rate < threshold ⇒ explanation non-empty", "none (the rate as recomputed)", "warning",
         "Sichuan form: <90%; Henan form text in seeds 000/001: “预算执行率低于70%…请说明原因和改进措施”.",
         ("seen",), "project", funds.check_exec_explain),
    Rule("R-ZERO-SPEND", "funds", "零支出却得满分", "Nothing spent, full marks",
         "全年执行数为0而全年预算数大于0时，产出、效益指标得满分，或成本指标因支出为0而“达成”并得满分，"
         "缺乏资金支出支撑，应说明依据或调整得分。只判断印有分值的指标行（河北表无逐行分值，不判断）。",
         "When nothing was spent of a positive budget, output or benefit indicators scored at full weight, or a cost "
         "indicator “met” only because the cost was 0 and scored in full, are not backed by spending: the report "
         "must state why or lower the score. Only rows with a printed weight are judged (Hebei forms have none).",
         "executed = 0 ∧ budget > 0 ⇒ no output/benefit row with score = weight, no cost row at 0 with score = weight",
         "none (0 printed as 0 or 0.00)", "warning",
         "Reviewer practice (issue 16: seed 004 破产、困难企业退休人员大病医疗补助金 spent 0 of 1082.23 万元 and "
         "scored 良); 财预〔2020〕10号 ties scores to actual results [recalled].",
         ("inferred", "recalled"), "project", funds.check_zero_spend),
    Rule("R-QUANT-POS", "indicators", "正向指标（≥）", "Positive (≥) indicators",
         "≥ 类指标：完成值≥目标值得满分，否则得分 = 完成值÷目标值×分值。未达成却得满分为错误；得分明显偏离公式为警告。",
         "≥ indicators: full weight if actual ≥ target, else actual ÷ target × weight. Missed yet full score is an "
         "error; a score clearly off the formula is a warning.",
         "score = min(actual / target, 1) × weight", _ROUND_SCORE,
         "error (missed, full score); warning (off the formula); info (within rounding)",
         "Form note (doczj) [seen]; too-low targets (完成值高于指标值较多) may be cut by the deviation [recalled] — "
         "not enforced, see R-FULL-BUT-DEDUCTED. Bare targets (“100%”, “65人”) are read as ≥.",
         ("seen", "recalled"), "project", indicators.check_quant_pos),
    Rule("R-QUANT-NEG", "indicators", "反向指标（≤）", "Reverse (≤) indicators",
         "≤ 类指标（多为成本指标）：完成值≤目标值得满分，否则得分 = 目标值÷完成值×分值；"
         "亦接受厂商系统的 (1−(完成值−目标值)/目标值)×分值，并注明采用哪一种。",
         "≤ indicators (most 成本指标): full weight if actual ≤ target, else target ÷ actual × weight; the vendor "
         "variant (1 − (actual − target)/target) × weight is also accepted and named.",
         "score = min(target / actual, 1) × weight  |  (1 − (actual − target)/target) × weight", _ROUND_SCORE,
         "error (missed, full score); warning (off both formulas); info (within rounding)",
         "Form note [seen]; vendor system variant [seen]. Bare cost targets are read as ≤.",
         ("seen",), "project", indicators.check_quant_neg),
    Rule("R-QUANT-EQ", "indicators", "等值指标（=）", "Equality (=) indicators",
         "= 类指标：目标值>0 时按 ≥ 计分；目标值为0时，完成值≤0得满分，否则0分。",
         "= indicators: scored as ≥ when the target is positive; when the target is 0, full if actual ≤ 0 else 0.",
         "target > 0: min(actual / target, 1) × weight; target = 0: weight if actual ≤ 0 else 0", _ROUND_SCORE,
         "error (missed, full score); warning (off the formula)",
         "Vendor system code.", ("seen",), "project", indicators.check_quant_eq),
    Rule("R-QUAL", "indicators", "定性指标", "Qualitative indicators",
         "定性指标：达成年度指标得分值的80–100%；部分达成并具有一定效果60–80%；未达成且效果较差0–60%。"
         "实际完成情况显示未达成或部分达成（含百分数低于100%）却得满分为错误。",
         "Qualitative: achieved 80–100% of the weight; partly achieved with some effect 60–80%; not achieved 0–60%. "
         "Full score while the stated result shows a partial or failed outcome (including a percentage below 100%) "
         "is an error.",
         "score / weight ∈ band(result)", _ROUND_SCORE, "error",
         "财预〔2020〕10号 as commonly quoted — full text not found, confirm before relying on it; a vendor "
         "validator enforces the same bands; Hubei variant 100–80 / 80–50 / 50–0.",
         ("recalled",), "project", indicators.check_qual),
    Rule("R-FULL-BUT-DEDUCTED", "indicators", "达成却扣分", "Met but deducted",
         "指标已达成而得分低于分值，同样不一致（提示级）。", "A met target scored below its weight is also "
         "inconsistent (info).", "met ⇒ score = weight", _ROUND_SCORE, "info",
         "丽江 form.", ("seen",), "project", indicators.check_full_but_deducted),
    Rule("R-EMPTY-VALUE", "indicators", "空值却得满分", "Empty value, full score",
         "指标的年度指标值或实际完成值未填写（空白、横线或模板占位符如“××”“请填写”）却得满分，无法据以复核（警告）。"
         "仅当同一表中该栏至少另有两项已填写时判断，表式本无此栏的不逐行报告。“无”作为完成值是答案（无投诉），不算空。",
         "An indicator whose target or actual value is left empty (blank, a dash, or the template's placeholder such "
         "as ××, 请填写) yet scored in full cannot be reviewed (warning). Judged only where the same table fills that "
         "column for at least two other indicators; “无” as an actual value is an answer, not a blank.",
         "blank(target) or blank(actual), score ≥ weight − ½ unit, column filled for ≥ 2 other indicators",
         _ROUND_SCORE, "warning",
         "Forms' own instructions (实际完成值据实填写) [seen]; the check that a score is supported follows from "
         "the scoring formulas above [inferred].",
         ("seen", "inferred"), "project", indicators.check_empty_value),
    Rule("R-TEMPLATE-TEXT", "explanations", "填表说明未替换", "Template instructions left in the form",
         "“年度绩效目标”或“实际完成情况”栏仍为表格自带的填表说明（如“（填写本年度预期达到的绩效目标）”“请简要说明"
         "完成情况”），未据实填写：无法判断目标设定与完成情况（警告）。“存在问题/改进措施”栏保留说明文字仅记为提示"
         "（无须说明时可不填；须说明而未说明的，由执行率、偏差说明两条规则报告）。判断的是整个单元格：引用说明文字的"
         "答案不算。",
         "A 年度绩效目标 or 实际完成情况 cell that still holds the form's filling instruction instead of an answer "
         "(warning: targets and completion cannot be judged). The same hint in 存在问题 / 改进措施 is info (nothing "
         "may need explaining; where a reason is owed R-EXEC-EXPLAIN and R-DEVIATION report it). The whole cell is "
         "tested: an answer that quotes the instruction is an answer.",
         "cell text = instruction only (bracketed hint with 填写/填报/注明, or starting 请/主要/此处…填写/说明)", "—",
         "warning (goals, completion) / info (problems, measures)",
         "Forms' own hint cells (主要填写…, 请说明原因…) [seen]; that a goal left as its hint is a value not "
         "reported follows from the form [inferred].", ("seen", "inferred"), "project", instructions.check_template_text),
    Rule("R-DEVIATION", "explanations", "偏差须说明", "Deviations need a reason",
         "完成值未达目标（或得分低于分值）时，“偏差原因分析”栏须填写；表格无此栏也无分值（河北）时，仅对明确未达成的"
         "定量目标要求在“存在问题”中说明；模板提示文字视为未填。单位不可比（如“≥100%”对“72.00家”）不作判断。",
         "Where the actual misses the target (or the score is below the weight), the 偏差原因分析 cell must be "
         "filled; forms with neither that column nor per-row weights (Hebei) need 存在问题 filled only for clearly "
         "missed quantitative targets. Template hint text counts as empty. Incomparable units (≥100% against "
         "72.00家) are not judged.",
         "missed ∨ score < weight ⇒ reason non-empty", _ROUND_SCORE + "; Hebei categories: 0.5 below the heading",
         "warning", "Form columns [seen]; no numeric threshold found.", ("seen",), "project",
         indicators.check_deviation),
    Rule("R-UNIT-MAGNITUDE", "units", "数量级/单位", "Unit and magnitude sanity",
         "以“元”填报的金额若与本项目以万元计的预算数或执行数数字相同（相差10⁴倍），即万元数填作元，如 742.81元 对 "
         "≤11400000.00元。其他10的幂的偏差（=231000.00元 对 231.00万元）在 R-QUANT-* 的说明中指出。",
         "A 元 figure equal to the project's budget or executed amount in 万元 (off by 10⁴) is the 万元 figure "
         "written in 元, e.g. 742.81元 against ≤11400000.00元. Other power-of-ten slips (=231000.00元 against a "
         "231.00万元 budget) are pointed out in the R-QUANT-* message.",
         "value(元) × 10⁴ = funds(万元) × 10⁴ while value(元) ≠ funds × 10⁴", "0.005 万元 (50 元) plus the figure's own last digit",
         "error", "Follows from the forms' units (万元 tables, 元 indicators).",
         ("inferred",), "project", indicators.check_unit_magnitude),
    Rule("R-WEIGHT-L1", "totals", "一级权重合计100", "First-level weights sum to 100",
         "一级指标权重合计应为100（默认：产出50、效益30、满意度10、预算执行10，可调整但合计仍为100）；各方案下的"
         "固定块（河南资金执行分值、中原区资金管理20+执行10）计入。",
         "First-level weights sum to 100 (default 产出 50, 效益 30, 满意度 10, 预算执行 10; adjustable but still 100), "
         "counting the scheme's fixed blocks (Henan 资金执行分值; Zhongyuan 资金管理 20 + execution 10).",
         "Σ first-level weights = 100", "0.005 × number of weights",
         "warning; info when the gap is exactly a lost heading's usual weight (Hebei 效益 30) and the rows of that "
         "kind score within it (a layout slip: weights still 100, no score moves — issue 16)",
         "MoF notice on central-department project self-evaluation (2016) [seen]; variants seen: Sichuan 10 + 90, "
         "Hubei 20 + 40 + 40, Hebei 50/30/10/10 in headers; Zhongyuan 20 + 10 + 70 [inferred from its totals].",
         ("seen", "inferred"), "project", totals.check_weight_l1),
    Rule("R-CATEGORY-WEIGHT", "totals", "类别分值与标题一致", "Rows weigh what their heading prints",
         "一级指标标题所列分值（如“产出指标（50分）”）应等于其下各三级指标分值之和；不等时为警告（总分看不出的分值"
         "错配）。仅在该标题下各行均列分值、且没有按二级指标应属其他一级指标的行（缺标题的情形由类别得分、一级权重"
         "两条规则说明）时判断。",
         "A printed first-level heading's points (产出指标（50分）) equal the weights of the rows under it; otherwise a "
         "warning (a weighting slip the total hides). Judged only where every row under the heading prints a weight "
         "and none belongs under another heading by its second-level name (a lost heading is R-CATEGORY-SUM's and "
         "R-WEIGHT-L1's).",
         "Σ weights(rows under heading) = heading points", "0.005 × number of rows", "warning",
         "Form headings printing their points and the rows' 分值 column [seen]; the equality follows [inferred].",
         ("seen", "inferred"), "project", totals.check_category_weight),
    Rule("R-CATEGORY-SUM", "totals", "类别得分不超分值", "Category scores within the heading's weight",
         "同一一级指标（按表中所印标题，合并单元格向下延续）下的三级指标得分合计不应超过该一级指标的分值；"
         "二级指标属于另一类（如产出指标(50)下的社会效益指标）时在说明中指出缺失的标题。",
         "Scores under a printed first-level heading (merged cells carried down) must not exceed its weight; rows "
         "whose second-level name belongs elsewhere (社会效益指标 under 产出指标(50)) are named as the likely cause "
         "(a lost heading).",
         "Σ scores(category) ≤ weight(category)", "0.005 × number of scores",
         "warning; info when the overflow is only rows of a lost heading and, put back by their second-level "
         "names, every block fits (heading rows ≤ its weight, the strays ≤ 100 − Σ printed weights — issue 16)",
         "Σ third-level 分值 under a heading = that heading's weight (R-WEIGHT-L1 source) [seen]; the score bound "
         "follows from it.", ("seen", "inferred"), "project", totals.check_category_sum),
    Rule("R-TOTAL", "totals", "总分复算", "Total",
         "总分 = 预算执行得分 + 各指标得分之和（+ 资金管理等固定块），不超过100，不得加分。",
         "Total = execution score + Σ indicator scores (+ fixed blocks such as 资金管理), at most 100, no bonus "
         "points.",
         "henan: exec_score + Σ scores; hebei: Σ scores (execution row included); zhongyuan: Σ scores + 10 × "
         "min(rate, 1) + 20", _ROUND_SCORE, "error beyond rounding; info within",
         "Hubei-style config [seen]; seed 004 totals match 70-point indicators + 10 × rate + 20 [inferred].",
         ("seen", "inferred"), "project", totals.check_total),
    Rule("R-GRADE", "totals", "等级与总分", "Grade from total",
         "评价等级由总分确定：90–100优，80–<90良，60–<80中，<60差（下限含）。",
         "The grade follows the total: 90–100 优, 80–<90 良, 60–<80 中, <60 差 (lower bound inclusive).",
         "grade = band(total)", "none", "error",
         "Seed 004 states “90（含）-100 分为优、80（含）-90 分为良、60（含）-80 分为中、60 分以下为差” [seen]; "
         "财预〔2020〕10号 as commonly quoted, same bands [recalled].",
         ("seen", "recalled"), "project", totals.check_grade),
    Rule("R-NARR-AMOUNT", "narrative", "文字金额与表", "Prose amounts vs table",
         "正文所述预算数、实际支出数（万元或元）应与表中数字一致；分项表述之和等于预算亦可。",
         "Budget and spent amounts stated in the text (万元 or 元) equal the table's; budget parts that add up to "
         "the budget are fine.",
         "claim(万元) = table(万元)", "half a unit of the less precise of the two; 元 converted at 10⁴",
         "error", "Follows from the report's structure (the text restates the table).",
         ("inferred",), "project", narrative.check_narr_amount),
    Rule("R-NARR-TOTAL", "narrative", "文字总分与表", "Prose total vs table",
         "正文所述自评总分应等于表中总分。", "The total stated in the text equals the table's.",
         "claim = table total", "half a unit of the less precise of the two", "error",
         "Follows from the report's structure.", ("inferred",), "project", narrative.check_narr_total),
    Rule("R-NARR-GRADE", "narrative", "文字等级与表", "Prose grade vs table",
         "正文所述评价等级应与表中等级一致（优秀=优、良好=良）；表中无等级时与表中总分对应的等级比较。",
         "The grade in the text equals the table's (优秀 = 优, 良好 = 良); where the table has no grade, the grade "
         "of its total.", "grade(claim) = grade(table)", "none", "error",
         "Follows from the report's structure.", ("inferred",), "project", narrative.check_narr_grade),
    Rule("R-NARR-RATE", "narrative", "文字执行率与表", "Prose rate vs table",
         "正文所述执行率应与表中执行率一致（表中未填时与复算值比较）；正文所述某指标的偏离度应等于"
         "|实际值−目标值|÷目标值。",
         "An execution rate stated in the text equals the table's (or the recomputed one when the table has none); "
         "a deviation rate (偏离度) stated for an indicator equals |actual − target| ÷ target.",
         "claim = table rate; 偏离度 = |actual − target| / target × 100", _ROUND_RATE, "error",
         "Follows from the report's structure; the 偏离度 formula is not printed in the seeds [inferred].",
         ("inferred",), "project", narrative.check_narr_rate),
    Rule("R-SUMMARY", "summary", "汇总表与项目报告", "Summary table vs project reports",
         "项目自评汇总表每一行（预算、执行、执行率、得分、等级、各类得分率）应与所列项目的自评报告一致；项目名称先"
         "精确匹配，写法不同（和/and、的、标点）仅在唯一对应时匹配。",
         "Each row of a 项目自评汇总表 (budget, executed, rate, score, grade, category score rates) equals the report "
         "of the project it lists; names match exactly first, and under another spelling (和/and, 的, punctuation) "
         "only when that identifies exactly one report.",
         "row field = report field; category rate = Σ score ÷ Σ weight × 100", _ROUND_SCORE,
         "error beyond rounding; info within", "Follows from the summary's purpose.", ("inferred",), "summary",
         summary.check_summary),
    Rule("R-SUMMARY-DUP", "summary", "汇总表重复列示", "Project listed twice",
         "同一项目在一张汇总表中列示两次及以上（如分列于“可执行项目”与“待分项目”）而自评得分不同，为前后矛盾；"
         "名称按轻度规范化后完全相同才视为同一项目（“…补助的资金”与“…补助资金”不合并）。",
         "One project listed twice or more in one summary table (e.g. under 可执行项目 and 待分项目) with different "
         "scores contradicts itself; names must be equal after light normalization (…补助的资金 and …补助资金 "
         "stay apart).",
         "score(row a) = score(row b) for rows with the same name",
         "the more precise score rounded (half up) to the other's decimals must equal it (98.70 = 98.7; 98.75 ≠ 98.7)",
         "warning", "Follows from the summary's purpose; seed 004 lists four projects twice with different scores.",
         ("inferred",), "summary", summary.check_summary_dup),
    Rule("R-PROJECT-DUP", "summary", "同一项目重复填报", "One project reported twice",
         "同一文件中同一项目（名称轻度规范化后相同，或仅差“的”、和/与/及、标点）有两份项目自评表，而全年预算数、"
         "全年执行数或自评总分不同，为前后矛盾；名称仅差个别字时可能是两笔不同资金，须在名称中区分（警告，不作错误）。",
         "Two self-evaluation tables in one document for one project (names equal after light normalization, or "
         "differing only by 的, 和/与/及 or punctuation) with a different budget, executed amount or total contradict "
         "each other; names differing by such a detail may be two allocations that need distinct names (a "
         "warning, not an error).",
         "budget(a) = budget(b); executed(a) = executed(b); total(a) = total(b) for two tables of one name",
         "amounts 0.01 万元 (R-ROUND); totals: the more precise rounded to the other's decimals must equal it",
         "warning", "Reviewer practice (issue 16: seed 004 prints …省级财政医疗救助补助的资金 87.67 and …补助资金 "
         "83.67, both 8.00 万元 budget, 0.00 executed, the same description) [inferred].",
         ("inferred",), "document", crosscheck.check_project_twice),
    Rule("R-DEPT-TOTAL", "department", "部门整体得分", "Department total",
         "部门整体绩效得分表各项得分之和应等于所述总分，权重合计100，等级与总分对应；部门（科室）一节所称预算、"
         "支出合计不得小于其所附项目自评表之和。",
         "The department score table's rows add up to the stated total, weights sum to 100, and the grade "
         "follows the total; a section's stated budget / spending total cannot be below the sum of the project "
         "tables it prints.", "total = Σ rows; stated section total ≥ Σ printed project tables", _ROUND_SCORE,
         "error; warning for weights",
         "Follows from the table's layout.", ("inferred",), "department", department.check_dept_total),
    Rule("R-DEPT-COUNTS", "department", "部门所述项目个数", "Department counts",
         "正文所述各等级项目个数（如“13个为优”）、评优率、平均得分应与所列项目（本节的项目自评表，单一部门时为汇总表）"
         "一致；所称项目多于所附报告时，只核对不会因缺报告而改变的结论。",
         "Counts (e.g. “13个为优”), the share graded 优 (评优率) and the average score stated in the text equal those "
         "of the projects listed (the section's project tables; for a single department, its summary table); "
         "when the text speaks of more projects than are printed, only conclusions the missing reports cannot "
         "change are checked.",
         "count(grade) = stated; 评优率 = #优 / #projects; average = mean(scores)", "half a unit of the stated figure",
         "error", "Follows from the text.", ("inferred",), "department",
         department.check_dept_counts),
    Rule("R-ACCOUNTS-PROJECT", "accounts", "决算与项目自评", "Accounts vs project self-evaluation",
         "同一文件含部门决算和项目自评表时，支出决算表（公开03表）中与项目同名的功能分类“项”级科目的项目支出，"
         "应与该项目自评表的全年执行数一致；科目可能含其他项目或资金来源，差异须说明（警告，不作错误）。"
         "只比对名称完全相同且只对应一个项目的科目。",
         "When a document holds both the 部门决算 and project self-evaluations, 项目支出 of a 项-level functional "
         "item (公开03 支出决算表) named like a project should equal that project's executed amount; the item may "
         "hold other projects or fund sources, so a difference is a warning that needs explaining, not an error. "
         "Only items whose name equals exactly one project's are compared.",
         "决算 项目支出(item) = 全年执行数(project of the same name)", "0.01 万元", "warning",
         "Reviewer practice (issue 16: seed 004 城乡医疗救助 58.89 万元 in the accounts vs 0 executed); "
         "the 决算 is compiled by 功能分类 [inferred].",
         ("inferred",), "document", crosscheck.check_accounts_projects),
    Rule("R-ACCOUNTS-DEPT", "accounts", "部门整体自评与决算", "Department self-evaluation vs accounts",
         "同一文件含部门决算和部门整体绩效自评时，自评所称预算执行金额（文字未说明时取部门整体自评表的全年执行数）"
         "不应高于决算本年支出合计（公开01表，无公开01表时取支出决算表合计行；已含各资金来源及结转资金的当年支出）；高于时为警告，并说明可能的口径差异（未在决算反映的资金）；两者年初预算相同时"
         "在说明中指出口径一致。低于决算总支出可能只是口径较窄（项目支出、财政拨款），仅作提示。",
         "When a document holds both the 部门决算 and the department-wide self-evaluation, the latter's 预算执行金额 "
         "(its form's 全年执行数 when the prose states none) cannot exceed the accounts' 本年支出合计 (公开01, else the "
         "支出决算表's total row: every source, carried-over money included): above it is "
         "a warning that states the possible scope difference (money the accounts do not carry), noting when both "
         "state the same initial budget. Below it may be a narrower scope (project or appropriation only): info.",
         "预算执行金额(部门整体自评) ≤ 本年支出合计(决算公开01)", "0.01 万元", "warning above; info below",
         "Reviewer practice (issue 16: seed 004 部门整体自评 预算执行金额 5,168.30 万元 vs 决算 736.87 万元, both "
         "with 年初预算 5,549.66 万元); 本年支出合计 covers all sources per the 决算 table's own note [inferred].",
         ("inferred",), "document", crosscheck.check_accounts_department),
    Rule("R-ROUND", "tolerance", "四舍五入容差", "Rounding tolerance",
         "金额以万元计、两位小数；合计容差 max(0.01, 0.005×加数个数)。率与得分容差为所填最后一位的半个单位；复算执行率"
         "时考虑金额本身的舍入区间。舍入范围内的差异至多为提示。",
         "Amounts in 万元 to 2 decimals; sums within max(0.01, 0.005 × addends). Rates and scores within half a unit "
         "of their last printed digit; a recomputed rate also allows the interval the printed amounts leave. "
         "Differences within rounding are info at most.",
         "see each rule", "—", "info at most", "Seed 004 notes “因四舍五入可能存在尾差”.",
         ("inferred",), "tolerance", None),
)

RULE_BY_ID = {r.id: r for r in RULES}
PROJECT_RULES = tuple(r for r in RULES if r.scope == "project")
SUMMARY_RULES = tuple(r for r in RULES if r.scope == "summary")
DEPARTMENT_RULES = tuple(r for r in RULES if r.scope == "department")
DOCUMENT_RULES = tuple(r for r in RULES if r.scope == "document")
RULE_ORDER = {r.id: k for k, r in enumerate(RULES)}

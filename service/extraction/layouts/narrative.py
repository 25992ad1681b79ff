"""Narrative-only evaluation reports (seed 002): no scoring table; the total and grade are in prose
(`“国有企业改制职工医疗保险”项目绩效总得分为100分,评价结果为“优”`), and the goals, problems and
suggestions are numbered sections. The indicators are described item by item under 项目产出情况 /
项目效益情况 (`1、数量指标` / `保障改制企业退休职工医保缴费人数2389人,2023年医保实际缴费人数2389人。`); they are
read as indicator rows with no 分值/得分 (the report gives none): the name is the text before the first
value, the first value the target and the second the actual (`…缴费数大于或等于100万元,实际支出数为100万元`);
a single value reached (`满意率达到了100%`) is the actual; an item with no value is named by its sentence.
"""
from __future__ import annotations

import re

from retrieval.segment import numbering_rank, strip_numbering
from retrieval.types import Line
from service.extraction.prose import claims_in, find_grade, find_section, find_total, num_raw, prose_stream, section_field
from service.extraction.spans import Stream
from service.extraction.targets import NUMBER_RE, OP_RE, UNIT_RE, parse_target
from service.models import Figure, Indicator, ProjectEvaluation, TextField

LAYOUT = "narrative"
_GOALS = re.compile(r"项目(?:绩效)?目标[。.]?$")
_PROBLEMS = re.compile(r"存在(?:的)?问题(?:及原因分析)?[。.]?$")
_MEASURES = re.compile(r"(?:有关建议|改进建议|改进措施)[。.]?$")
_OUTPUT = re.compile(r"项目产出情况[。.]?$")
_EFFECT = re.compile(r"项目(?:效益|效果)情况[。.]?$")
_VALUE = re.compile(rf"(?:{OP_RE})?\s*(?:{NUMBER_RE})\s*(?:{UNIT_RE})")
_YEAR = re.compile(r"\d{4}\s*年")
_REACHED = re.compile(r"(?:达到了|达到|达|为|是)$")


def parse(doc_id: str, unit_id: str, lines: list[Line], project: str) -> ProjectEvaluation:
    ps = prose_stream(doc_id, lines)
    total = grade = None
    if (t := find_total(ps)):
        total = Figure(raw=num_raw(ps.text[t[1]:t[2]]), value=t[0], unit="分", ref=ps.ref(t[1], t[2]))
    if (g := find_grade(ps)):
        grade = TextField(text=g[0], ref=ps.ref(g[1], g[2]))
    aliases = []
    title = "".join(l.text for l in lines[:2] if l.kind == "text")
    m = re.match(r"^(?:部门)?(.{4,40}?)(?:项目)?(?:绩效)?(?:自)?评价报告$", title)
    if m and m.group(1) != project:
        aliases.append(m.group(1))
    return ProjectEvaluation(
        unit_id=unit_id, doc_id=doc_id, project=project, aliases=aliases, reported_total=total,
        reported_grade=grade, goals=section_field(doc_id, lines, _GOALS),
        stated_problems=section_field(doc_id, lines, _PROBLEMS),
        stated_measures=section_field(doc_id, lines, _MEASURES), narrative_claims=claims_in(ps),
        indicators=prose_indicators(doc_id, lines),
    )


def prose_indicators(doc_id: str, lines: list[Line]) -> list[Indicator]:
    out: list[Indicator] = []
    for heading, level1 in ((_OUTPUT, "产出指标"), (_EFFECT, "效益指标")):
        sec = find_section(lines, heading)
        if sec is None:
            continue
        _, b, e = sec
        items: list[list[Line]] = []
        for line in lines[b:e]:
            if line.kind != "text":
                continue
            if numbering_rank(line.text) == 3:
                items.append([line])
            elif items:
                items[-1].append(line)
        for item in items:
            first = strip_numbering(item[0].text)
            if re.search(r"[::]", first):
                level2, _, rest = re.split(r"([::])", first, maxsplit=1)
                body = Stream(doc_id, item).text
                body = body[body.find(rest, len(item[0].text) - len(first)) :] if rest else Stream(doc_id, item[1:]).text
            else:
                level2, body = first, Stream(doc_id, item[1:]).text
            level2 = level2.strip()
            if not level2 or not body.strip():
                continue
            name, target, actual = _read_item(body)
            if not name:
                continue
            stream = Stream(doc_id, item)
            out.append(Indicator(
                level1="满意度指标" if "满意度" in level2 else level1, level2=level2, level3=name,
                target=parse_target(target) if target else None, actual=parse_target(actual) if actual else None,
                ref=stream.ref_all(),
            ))
    return out


def _read_item(body: str) -> tuple[str, str | None, str | None]:
    body = body.strip().rstrip("。.")
    values = [m for m in _VALUE.finditer(body) if not _YEAR.fullmatch(m.group(0).strip())]
    if not values:
        return body.split("。")[0].strip(), None, None
    first = values[0]
    clause_start = max(body.rfind(",", 0, first.start()), body.rfind(",", 0, first.start())) + 1
    name = _REACHED.sub("", body[clause_start : first.start()].strip()).strip()
    if len(values) == 1:
        return name, None, first.group(0).strip()
    return name, first.group(0).strip(), values[1].group(0).strip()

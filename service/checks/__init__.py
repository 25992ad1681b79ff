"""The check engine: a rulebook of pure functions over extracted report units.

Entry point: `run_checks(extraction, doc=None) -> list[Finding]`. The rules, their statements, formulas,
tolerances, severity policy and sources live in `service.checks.rulebook.RULES`; docs/RULEBOOK.md is
generated from them. No I/O happens here.
"""
from service.checks.engine import check_project, run_checks, sort_findings, unit_context
from service.checks.rulebook import RULE_BY_ID, RULES, Rule
from service.checks.scheme import Scheme, detect_scheme

__all__ = ["run_checks", "check_project", "sort_findings", "unit_context", "RULES", "RULE_BY_ID", "Rule",
           "Scheme", "detect_scheme"]

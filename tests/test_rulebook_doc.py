"""docs/RULEBOOK.md is generated from the rulebook in code and must never drift from it."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from service.checks import RULES
from service.checks.rulebook_doc import render_markdown

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "RULEBOOK.md"


def test_committed_rulebook_equals_the_generated_one():
    assert DOC.read_text(encoding="utf-8") == render_markdown(), "run: .venv/bin/python scripts/gen_rulebook.py"


def test_every_rule_is_documented_with_its_tags():
    text = render_markdown()
    for r in RULES:
        assert f"### {r.id} — " in text
        section = text.split(f"### {r.id} — ", 1)[1].split("\n### ", 1)[0]
        for t in r.tags:
            assert f"[{t}]" in section
        if "recalled" in r.tags:
            assert "confirm before relying on it" in section


def test_generator_check_mode_passes():
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_rulebook.py"), "--check"], capture_output=True,
                       text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr

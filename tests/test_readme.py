from __future__ import annotations

import re
from pathlib import Path

from service.settings import Settings

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_starts_with_the_two_fresh_machine_commands():
    text = README.read_text(encoding="utf-8")
    block = re.search(r"```bash\n(.*?)```", text, re.S).group(1)
    assert [ln.split("#")[0].strip() for ln in block.strip().splitlines()] == ["make run", "make test"]
    assert text.index("```bash") < text.index("\n## ")


def test_readme_documents_every_setting():
    text = README.read_text(encoding="utf-8")
    documented = set(re.findall(r"`(JIXIAO_[A-Z0-9_]+)`", text))
    assert documented == {f"JIXIAO_{name.upper()}" for name in Settings.model_fields}

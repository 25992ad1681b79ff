"""Write docs/RULEBOOK.md from the rulebook in code (service/checks/rulebook.py).

    .venv/bin/python scripts/gen_rulebook.py          # write
    .venv/bin/python scripts/gen_rulebook.py --check  # exit 1 if the committed file is stale
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service.checks.rulebook_doc import render_markdown  # noqa: E402

TARGET = ROOT / "docs" / "RULEBOOK.md"


def main(argv: list[str]) -> int:
    text = render_markdown()
    if "--check" in argv:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET.relative_to(ROOT)} is stale: run scripts/gen_rulebook.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)} ({len(text.splitlines())} lines)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

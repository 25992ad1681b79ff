"""Findings per bundled report before and after the reviewer's issue (16), and the root causes they group into.

    python scripts/findings_before_after.py [--before fb7eec6] [--seeds corpus/seeds]

"before" runs the check engine of an older commit (default fb7eec6, the last commit before the issue's work)
from a temporary `git worktree`, "after" the working tree's; both read the same seed files with the rules
reader. Counted: findings at warning or error level, per rule family, and — after only, since the 审核意见's
grouping did not exist before — the problem-list items (one per root cause) the 审核意见 groups them into.
Prints a table; --json for the figures."""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Runs inside either tree: only APIs that exist in both (load_path, extract_document, run_checks).
PROBE = r'''
import json, sys, collections
from pathlib import Path
from retrieval.loaders import load_path
from service.extraction import extract_document
from service.checks import run_checks
out = {}
for path in sorted(Path(sys.argv[1]).glob("*.txt")):
    doc = load_path(path, max_bytes=10**8)
    ex = extract_document(doc, None)
    fs = [f for f in run_checks(ex, doc) if f.severity in ("warning", "error")]
    rec = {"findings": len(fs), "by_rule": dict(collections.Counter(f.rule_id for f in fs))}
    if len(sys.argv) > 2:
        from service.review import build_review, build_opinion
        op = build_opinion(build_review(ex, run_checks(ex, doc), document=path.name))
        rec["root_causes"] = len(op.items())
        rec["by_category"] = {cat: len(items) for cat, items in op.categories}
    out[path.stem] = rec
print(json.dumps(out, ensure_ascii=False))
'''


def probe(tree: Path, seeds: Path, opinion: bool) -> dict:
    cmd = [sys.executable, "-c", PROBE, str(seeds)] + (["opinion"] if opinion else [])
    env = {"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin", "JIXIAO_TELEMETRY": "0"}
    res = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, timeout=600)
    if res.returncode != 0:
        raise SystemExit(f"probe failed in {tree}:\n{res.stderr[-2000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", default="fb7eec6")
    ap.add_argument("--seeds", type=Path, default=ROOT / "corpus" / "seeds")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    seeds = a.seeds.resolve()
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "before"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), a.before],
                       check=True, capture_output=True)
        try:
            before = probe(tree, seeds, opinion=False)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], capture_output=True)
    after = probe(ROOT, seeds, opinion=True)
    if a.json:
        print(json.dumps({"before_ref": a.before, "before": before, "after": after}, ensure_ascii=False, indent=1))
        return 0
    print(f"findings at warning/error level per bundled report: before = {a.before}, after = working tree")
    print(f"{'report':34} {'before':>7} {'after':>6} {'root causes':>12}")
    for stem in sorted(set(before) | set(after)):
        b, f = before.get(stem, {}), after.get(stem, {})
        print(f"{stem:34} {b.get('findings', '-'):>7} {f.get('findings', '-'):>6} {f.get('root_causes', '-'):>12}")
    print()
    for stem in sorted(after):
        b, f = before.get(stem, {}).get("by_rule", {}), after[stem]["by_rule"]
        rules = sorted(set(b) | set(f))
        if rules:
            print(stem + ": " + ", ".join(f"{r} {b.get(r, 0)}→{f.get(r, 0)}" for r in rules))
            cats = after[stem].get("by_category") or {}
            print("   问题清单: " + (", ".join(f"{c} {n}" for c, n in cats.items()) or "无"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

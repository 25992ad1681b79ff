"""The bundled corpus is what scripts/make_corpus.py makes, and the generator keeps its promises."""
from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from retrieval.normalize import is_cjk

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "make_corpus.py"
SMALL = "000_shangjie_retiree_medical"


@pytest.fixture(scope="module")
def make_corpus():
    spec = importlib.util.spec_from_file_location("make_corpus", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_corpus"] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, cwd=ROOT, timeout=240)


def test_committed_corpus_passes_check():
    res = run("--check")
    assert res.returncode == 0, res.stderr
    assert "ok: 5 reports" in res.stdout


def test_check_catches_a_stale_rendering(tmp_path):
    for kind in ("txt", "pdf", "docx"):
        (tmp_path / kind).mkdir()
        shutil.copy(ROOT / "corpus" / "rendered" / kind / f"{SMALL}.{kind}", tmp_path / kind)
    txt = tmp_path / "txt" / f"{SMALL}.txt"
    txt.write_bytes(txt.read_bytes().replace("691033".encode(), "691333".encode(), 1))
    (tmp_path / "docx" / f"{SMALL}.docx").unlink()
    res = run("--check", "--rendered", str(tmp_path), "--only", SMALL, "--jobs", "1")
    assert res.returncode == 1
    assert "committed txt differs" in res.stderr and f"{SMALL}.docx is missing" in res.stderr


def test_rendering_is_deterministic(tmp_path, make_corpus):
    make_corpus.render_all(tmp_path / "a", [SMALL])
    make_corpus.render_all(tmp_path / "b", [SMALL])
    for kind in ("txt", "pdf", "docx"):
        assert (tmp_path / "a" / kind / f"{SMALL}.{kind}").read_bytes() == (tmp_path / "b" / kind / f"{SMALL}.{kind}").read_bytes()


def _check_breaks(original: str, pieces: list[str]) -> None:
    """Pieces follow each other in `original` with at most whitespace dropped between them; where nothing
    was dropped, one side of the break is CJK — never inside an ASCII word or a number."""
    text = original.strip()
    pos = 0
    for k, piece in enumerate(pieces):
        at = text.index(piece, pos)
        gap = text[pos:at]
        assert gap == "" or gap.isspace(), (original, pieces)
        if k and not gap:
            assert is_cjk(text[at - 1]) or is_cjk(text[at]), f"broken inside {text[at - 5:at + 5]!r}"
        pos = at + len(piece)
    assert pos == len(text)


@pytest.mark.parametrize("stem", sorted(p.stem for p in (ROOT / "corpus" / "seeds").glob("*.txt")))
def test_wraps_break_only_at_spaces_or_between_cjk(stem, make_corpus):
    blocks = make_corpus.parse_seed((ROOT / "corpus" / "seeds" / f"{stem}.txt").read_text(encoding="utf-8"))
    wrapped = 0
    for block in blocks:
        if isinstance(block, make_corpus.Prose):
            pieces = make_corpus.wrap(block.text, make_corpus.PROSE_WIDTH, make_corpus.PROSE_SIZE, cell=False)
            assert all(make_corpus.measure(p, make_corpus.PROSE_SIZE) <= make_corpus.PROSE_WIDTH for p in pieces)
            _check_breaks(block.text, pieces)
            wrapped += len(pieces) > 1
        elif isinstance(block, make_corpus.TableBlock):
            ncols = max(len(r) for r in block.rows)
            widths = make_corpus.column_widths(block.rows, ncols)
            assert sum(widths) == pytest.approx(make_corpus.BODY_W)
            for cells in block.rows:
                row = make_corpus.layout_row(cells, widths)
                for cell, pieces in zip(cells, row.lines):
                    if cell.strip():
                        _check_breaks(cell, pieces)
                        wrapped += len(pieces) > 1
    if stem[:3] in ("003", "004"):  # 000–002 are already visual lines; 003/004 hold whole paragraphs
        assert wrapped > 10


def test_markup_and_table_rules_are_gone():
    txt = (ROOT / "corpus" / "rendered" / "txt" / "004_zhongyuan_medsec_accounts.txt").read_text(encoding="utf-8")
    for debris in ("**", "<b>", "<p>", "</p>", "\n#", "--\t---\t--"):
        assert debris not in txt
    assert "第一部分 郑州市中原区医疗保障局概况" in txt  # the heading text stays, its markers go

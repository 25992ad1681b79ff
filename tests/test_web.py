"""The web page in a real browser: Debian's chromium driven by playwright against uvicorn on loopback.

Screenshots go to a temporary folder; set JIXIAO_SCREENSHOTS=docs/screenshots to refresh the committed
ones (main.png, project.png)."""
from __future__ import annotations

import io
import os
import re
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from service.api import create_app
from service.pipeline import Pipeline
from service.settings import Settings

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parent.parent
PDF = ROOT / "corpus" / "rendered" / "pdf"
PRELOADED = ("003_gaoxin_hrss_selfeval", "004_zhongyuan_medsec_accounts")
UPLOADED = "001_shangjie_pension_subsidy"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# No skip: `make test` installs chromium (scripts/system_packages.sh); a missing browser is a failure.
assert CHROMIUM.exists(), "needs Debian's chromium at /usr/bin/chromium: run `make sysdeps`"
from playwright import sync_api  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(settings: Settings):
    import uvicorn

    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("web-data")
    settings = Settings(data_dir=data)
    with Pipeline(settings) as p:
        for stem in PRELOADED:
            assert p.ingest_path(PDF / f"{stem}.pdf").status == "ingested"
    with serving(settings) as url:
        yield url


@pytest.fixture(scope="module")
def browser_page(server, tmp_path_factory):
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_api.sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS, accept_downloads=True,
            viewport={"width": 1440, "height": 900}, locale="zh-CN")
        page = ctx.pages[0] if ctx.pages else ctx.new_page()
        page.set_default_timeout(30_000)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.errors = errors
        yield page
        ctx.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    target = os.environ.get("JIXIAO_SCREENSHOTS")
    out = (ROOT / target) if target and not Path(target).is_absolute() else Path(target or tmp_path_factory.mktemp("shots"))
    out.mkdir(parents=True, exist_ok=True)
    return out


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_review_session(server, browser_page, shots, tmp_path):
    import docx

    page = browser_page
    expect = sync_api.expect
    page.goto(server + "/")
    expect(page.locator("#docs-table tbody tr")).to_have_count(len(PRELOADED))

    # upload a rendered PDF: the progress bar moves, then the per-file result appears
    page.evaluate("""() => {
        window.__statuses = [];
        new MutationObserver(() => {
            const s = document.querySelector('#uploads .up-status');
            if (s && window.__statuses[window.__statuses.length - 1] !== s.textContent) window.__statuses.push(s.textContent);
        }).observe(document.querySelector('#uploads'), {subtree: true, childList: true, characterData: true});
    }""")
    page.set_input_files("#file-input", str(PDF / f"{UPLOADED}.pdf"))
    result = page.locator("#uploads li .up-result")
    expect(result).to_contain_text("1 个项目", timeout=60_000)
    expect(page.locator("#uploads li .up-status")).to_have_text("已入库")
    expect(page.locator("#uploads li .bar")).to_have_class(re.compile(r"\bdone\b"))
    statuses = page.evaluate("window.__statuses")
    assert any(re.fullmatch(r"上传 \d+%", s) for s in statuses), statuses
    assert "正在分析…" in statuses and statuses[-1] == "已入库", statuses
    expect(page.locator("#docs-table tbody tr")).to_have_count(len(PRELOADED) + 1)

    # the projects table: all projects, sortable, filterable
    rows = page.locator("#proj-table tbody tr")
    expect(rows).to_have_count(1 + 22 + 16)
    expect(page.locator("#proj-table")).to_contain_text("城乡居民基本养老保险费财政补助资金")
    page.click("#proj-table th[data-sort=execution_rate]")
    expect(page.locator("#proj-table th[data-sort=execution_rate]")).to_have_class(re.compile(r"\basc\b"))
    rates = [float(t.rstrip("%")) for t in page.locator("#proj-table tbody tr td:nth-child(6)").all_inner_texts()
             if t != "—"]
    assert rates == sorted(rates) and len(rates) > 30
    page.check("#f-findings")
    expect(rows).not_to_have_count(1 + 22 + 16)
    page.fill("#f-name", "劳动监察")
    expect(rows).to_have_count(1)
    page.fill("#f-name", "")
    page.uncheck("#f-findings")
    expect(rows).to_have_count(1 + 22 + 16)

    # ask; click a citation and see the cited lines highlighted in the source viewer
    page.fill("#ask-input", "哪些项目未完成绩效目标？")
    page.click("#ask-btn")
    expect(page.locator("#citations li").first).to_be_visible()
    expect(page.locator("#answer-text")).to_contain_text("项目")
    quote = page.locator("#citations li .quote").first.inner_text().strip("「」")
    page.locator("#citations li .cite-mark").first.click()
    expect(page.locator("#viewer")).to_be_visible()
    hl = page.locator("#v-lines li.hl")
    expect(hl.first).to_be_visible()
    assert _norm(quote)[:12] in _norm(" ".join(hl.all_inner_texts()).replace("\t", "")) or \
        any(_norm(quote)[:6] in _norm(t) for t in hl.all_inner_texts())
    page.click("#v-close")
    page.screenshot(path=str(shots / "main.png"), full_page=True)

    # download a review from the documents table and open it
    doc_row = page.locator("#docs-table tbody tr", has_text=f"{UPLOADED}.pdf")
    with page.expect_download() as dl:
        doc_row.locator("button[data-format=docx]").click()
    download = dl.value
    assert download.suggested_filename == f"{UPLOADED}_审核意见.docx"
    path = tmp_path / "review.docx"
    download.save_as(path)
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(path.read_bytes())).paragraphs)
    assert "城乡居民基本养老保险费财政补助资金" in text

    # open a project: findings beside the source lines
    page.locator("#proj-table a.proj-link", has_text="劳动监察专项资金").click()
    expect(page.locator("#p-name")).to_have_text("劳动监察专项资金")
    expect(page.locator("#p-findings li").first).to_be_visible()
    expect(page.locator("#p-indicators tbody tr").first).to_be_visible()
    expect(page.locator("#v-lines li.hl").first).to_be_visible()
    finding = page.locator("#p-findings li").nth(1)
    ref_text = finding.locator(".src-btn").first.inner_text()  # 原文 第3页 第4行
    page_no, first_line = (int(x) for x in re.findall(r"\d+", ref_text)[:2])
    finding.click()
    expect(page.locator("#v-page")).to_contain_text(f"第 {page_no} /")
    expect(page.locator(f"#v-lines li.hl[data-line='{first_line}']")).to_be_visible()
    with page.expect_download() as dl:
        page.click("#p-downloads button[data-format=xlsx]")
    assert dl.value.suggested_filename.endswith("_审核意见_劳动监察专项资金.xlsx")
    page.locator("#p-findings li").first.click()
    page.screenshot(path=str(shots / "project.png"), full_page=True)
    assert page.errors == []


def test_the_page_asks_for_the_api_key(browser_page, tmp_path):
    key = "web-test-key-0123456789abcdef"
    page = browser_page
    expect = sync_api.expect
    with serving(Settings(data_dir=tmp_path / "data", api_keys=[key])) as url:
        page.goto(url + "/")
        expect(page.locator("#key-box")).to_be_visible()
        expect(page.locator("#banner")).to_contain_text("API 密钥")
        page.fill("#api-key", "wrong-key-wrong-key-wrong")
        page.click("#api-key-save")
        expect(page.locator("#banner")).to_contain_text("无效")
        page.fill("#api-key", key)
        page.click("#api-key-save")
        expect(page.locator("#docs-empty")).to_be_visible()
        expect(page.locator("#banner")).to_be_hidden()
        page.evaluate("sessionStorage.clear()")
    assert page.errors == []


def test_an_unreadable_form_is_flagged_not_shown_clean(browser_page, tmp_path):
    """A document that talks like a self-evaluation form but cannot be read is flagged on upload and in the
    documents table (未能识别 / 未能复核), never shown with 发现问题：无."""
    from test_coverage import UNREADABLE

    form = tmp_path / "封面.txt"
    form.write_bytes(UNREADABLE)
    page = browser_page
    expect = sync_api.expect
    with serving(Settings(data_dir=tmp_path / "data")) as url:
        page.goto(url + "/")
        expect(page.locator("#docs-empty")).to_be_visible()
        page.set_input_files("#file-input", str(form))
        expect(page.locator("#uploads li .coverage-alert")).to_contain_text("未能识别", timeout=60_000)
        row = page.locator("#docs-table tbody tr", has_text="封面.txt")
        expect(row).to_contain_text("未能识别，须人工核对")
        expect(row).to_contain_text("未能复核")
        assert "无" not in row.locator("td").nth(5).inner_text()
    assert page.errors == []

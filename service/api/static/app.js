/* jixiao web page. Plain JS, no build step, no CDN.
 * Everything that comes from a document is data: it is only ever put on the page as text
 * (textContent / text nodes), never as HTML. */
"use strict";
(() => {
  const $ = (sel, root = document) => root.querySelector(sel);

  /** el("td", {class: "num", onclick: fn}, "text", childNode, …) — strings become text nodes. */
  function el(tag, attrs, ...kids) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "dataset") Object.assign(node.dataset, v);
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const kid of kids.flat()) {
      if (kid === null || kid === undefined || kid === false) continue;
      node.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
    }
    return node;
  }
  const clear = (node) => { node.replaceChildren(); return node; };

  // ---------------------------------------------------------------- formatting
  const SEV = { error: "错误", warning: "警告", info: "提示" };
  const ERR_ZH = {
    too_large: "文件过大", unsupported_type: "不支持的文件类型", empty_file: "文件为空", invalid_input: "输入无效",
    invalid_request: "请求无效", invalid_question: "问题无效", not_found: "未找到", unauthorized: "需要 API 密钥",
    forbidden: "API 密钥无效", not_a_pdf: "不是有效的 PDF", corrupt_pdf: "PDF 文件已损坏", encrypted_pdf: "PDF 已加密",
    no_text_layer: "PDF 没有文字层（可能是扫描件）", cid_garbage: "PDF 文字无法识别（字体编码问题）",
    corrupt_docx: "Word 文件已损坏", corrupt_xlsx: "Excel 文件已损坏", no_text: "文件中没有文字",
    ambiguous_document: "文档不唯一", network: "网络错误", internal_error: "服务器内部错误",
  };
  const fmtMoney = (v) => (v === null || v === undefined) ? "—"
    : v.toLocaleString("zh-CN", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const fmtNum = (v) => (v === null || v === undefined) ? "—"
    : v.toLocaleString("zh-CN", { maximumFractionDigits: 2 });
  const fmtRate = (v) => (v === null || v === undefined) ? "—" : `${v.toFixed(2)}%`;
  const lineSpan = (a, b) => (a === b ? `第${a}行` : `第${a}–${b}行`);
  const where = (r) => `第${r.page}页 ${lineSpan(r.line_start, r.line_end)}`;
  const errText = (e) => `${ERR_ZH[e.code] || "出错了"}：${e.message}`;

  function sevBadges(counts, { showZero = false } = {}) {
    const out = [];
    for (const s of ["error", "warning", "info"]) {
      const n = counts && counts[s] ? counts[s] : 0;
      if (n || showZero) out.push(el("span", { class: `sev ${n ? s : "zero"}`, title: SEV[s] }, `${SEV[s]} ${n}`));
    }
    return out.length ? out : [el("span", { class: "sub" }, "无")];
  }

  // What the reader understood. An unread form must never look clean: its finding cell says 未能复核, not 无.
  const COVERAGE = { read: ["已读出", "sub"], partial: ["部分读出，须人工核对", "sev warning"],
    unrecognised: ["未能识别，须人工核对", "sev error"], not_applicable: ["非绩效表格", "sub"] };
  function coverageBadge(d) {
    const [text, cls] = COVERAGE[d.coverage_status] || ["未知", "sub"];
    return el("span", { class: `coverage ${cls}`, title: d.coverage_reason || "" }, text);
  }
  function findingsCell(d) {
    if (d.unread && !Object.values(d.findings || {}).some(Boolean)) {
      return [el("span", { class: "sev error", title: d.coverage_reason || "" }, "未能复核")];
    }
    return sevBadges(d.findings);
  }

  // ---------------------------------------------------------------- API access
  const state = { health: null, docs: [], sort: { key: "id", desc: false }, projects: [], project: null,
    pages: new Map() };

  class ApiError extends Error {
    constructor(status, code, message) { super(message); this.status = status; this.code = code; }
  }
  const apiKey = () => sessionStorage.getItem("jixiao.apiKey") || "";
  // the double-submit CSRF token GET / put in a cookie (service/api/origin.py): sent with every request
  const csrfToken = () => { const m = /(?:^|;\s*)jixiao_csrf=([^;]*)/.exec(document.cookie); return m ? m[1] : ""; };
  const authHeaders = () => ({ ...(apiKey() ? { "X-API-Key": apiKey() } : {}), ...(csrfToken() ? { "X-Jixiao-CSRF": csrfToken() } : {}) });

  async function failure(res) {
    let code = "http_" + res.status, message = res.statusText || "请求失败";
    try { const body = await res.json(); if (body && body.error) ({ code, message } = body.error); } catch (_) { /* not JSON */ }
    if (res.status === 401 || res.status === 403) needKey(code);
    return new ApiError(res.status, code, message);
  }

  async function api(path, opts = {}) {
    let res;
    try {
      res = await fetch(path, { ...opts, headers: { Accept: "application/json", ...authHeaders(), ...(opts.headers || {}) } });
    } catch (e) { throw new ApiError(0, "network", String(e.message || e)); }
    if (!res.ok) throw await failure(res);
    return res.json();
  }

  function banner(text) {
    const b = $("#banner");
    if (!text) { b.hidden = true; return; }
    b.textContent = text; b.hidden = false;
  }

  function needKey(code) {
    $("#key-box").hidden = false;
    banner(code === "forbidden" ? "API 密钥无效，请在右上角重新输入。" : "此服务需要 API 密钥，请在右上角输入后点击“保存”。");
    $("#api-key").focus();
  }

  function filenameFrom(disposition, fallback) {
    if (!disposition) return fallback;
    const star = /filename\*=UTF-8''([^;]+)/i.exec(disposition);
    if (star) { try { return decodeURIComponent(star[1]); } catch (_) { /* fall through */ } }
    const plain = /filename="?([^";]+)"?/i.exec(disposition);
    return plain ? plain[1] : fallback;
  }

  async function download(path, fallback, button) {
    if (button) button.disabled = true;
    try {
      let res;
      try { res = await fetch(path, { headers: authHeaders() }); } catch (e) { throw new ApiError(0, "network", String(e)); }
      if (!res.ok) throw await failure(res);
      const blob = await res.blob();
      const url = URL.createObjectURL(blob);
      const a = el("a", { href: url, download: filenameFrom(res.headers.get("Content-Disposition"), fallback) });
      document.body.append(a); a.click(); a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 30000);
    } catch (e) { banner(errText(e)); } finally { if (button) button.disabled = false; }
  }

  function reviewButtons(docId, project) {
    return ["docx", "pdf", "xlsx", "md"].map((fmt) => {
      const q = new URLSearchParams({ format: fmt });
      if (project) q.set("project", project);
      const label = { docx: "Word", pdf: "PDF", xlsx: "Excel", md: "Markdown" }[fmt];
      const b = el("button", { type: "button", class: "btn small", dataset: { format: fmt }, title: `下载审核意见（${label}）` },
        fmt.toUpperCase());
      b.addEventListener("click", () => download(`/reviews/${encodeURIComponent(docId)}?${q}`, `review.${fmt}`, b));
      return b;
    });
  }

  // ---------------------------------------------------------------- source viewer
  const viewer = { docId: null, filename: "", page: 1, pages: 1, hl: null };

  async function pageLines(docId, page) {
    const key = `${docId}:${page}`;
    if (!state.pages.has(key)) {
      state.pages.set(key, api(`/documents/${encodeURIComponent(docId)}/lines?page=${page}`).catch((e) => {
        state.pages.delete(key); throw e;
      }));
    }
    return state.pages.get(key);
  }

  function renderLine(ln, hl) {
    const text = ln.kind === "row" && ln.cells
      ? el("span", { class: "tx" }, ln.cells.map((c) => el("span", { class: "cell" }, c)))
      : el("span", { class: "tx" }, ln.text);
    const on = hl && ln.line_no >= hl.line_start && ln.line_no <= hl.line_end;
    return el("li", { class: `${ln.kind === "row" ? "row" : ""}${on ? " hl" : ""}`, dataset: { line: ln.line_no } },
      el("span", { class: "ln" }, ln.line_no), text);
  }

  /** Show a page of a document; `ref` {doc_id, page, line_start, line_end, quote} highlights and scrolls to lines. */
  async function showSource(ref, label) {
    const box = $("#viewer");
    box.hidden = false;
    viewer.docId = ref.doc_id; viewer.page = ref.page;
    viewer.hl = ref.line_start ? { page: ref.page, line_start: ref.line_start, line_end: ref.line_end } : null;
    const cite = $("#v-cite");
    if (label || ref.quote) {
      clear(cite).append(el("strong", {}, label || "引用"), `　${where(ref)}`,
        ref.quote ? el("span", {}, `　「${ref.quote.length > 120 ? ref.quote.slice(0, 120) + "…" : ref.quote}」`) : "");
      cite.hidden = false;
    } else cite.hidden = true;
    await renderViewerPage();
  }

  async function renderViewerPage() {
    const list = clear($("#v-lines"));
    list.append(el("li", { class: "sub" }, el("span", { class: "tx" }, "正在加载…")));
    let data;
    try { data = await pageLines(viewer.docId, viewer.page); } catch (e) {
      clear(list).append(el("li", {}, el("span", { class: "tx" }, errText(e)))); return;
    }
    viewer.pages = data.pages; viewer.filename = data.filename;
    $("#v-file").textContent = data.filename;
    $("#v-file").title = data.filename;
    $("#v-page").textContent = `第 ${data.page} / ${data.pages} 页`;
    $("#v-prev").disabled = data.page <= 1;
    $("#v-next").disabled = data.page >= data.pages;
    const hl = viewer.hl && viewer.hl.page === data.page ? viewer.hl : null;
    clear(list).append(...data.lines.map((ln) => renderLine(ln, hl)));
    const first = list.querySelector("li.hl");
    if (first) {
      const top = first.getBoundingClientRect().top - list.getBoundingClientRect().top + list.scrollTop;
      list.scrollTop = Math.max(0, top - list.clientHeight / 3);
      const vr = $("#viewer").getBoundingClientRect();
      if (vr.top > window.innerHeight || vr.bottom < 0) $("#viewer").scrollIntoView({ block: "nearest" });
    } else list.scrollTop = 0;
  }

  function srcButton(ref, label) {
    if (!ref) return "";
    return el("button", { type: "button", class: "linkish src-btn", title: ref.quote || "",
      onclick: (ev) => { ev.stopPropagation(); showSource(ref, label); } }, `原文 ${where(ref)}`);
  }

  // ---------------------------------------------------------------- documents
  async function loadDocs() {
    try { state.docs = await api("/documents"); } catch (e) { banner(errText(e)); return; }
    const body = clear($("#docs-table tbody"));
    $("#doc-count").textContent = state.docs.length ? `共 ${state.docs.length} 份` : "";
    $("#docs-empty").hidden = state.docs.length > 0;
    $("#docs-table").hidden = state.docs.length === 0;
    for (const d of state.docs) {
      const del = el("button", { type: "button", class: "btn small ghost danger", title: "删除该文档及其分析结果" }, "删除");
      del.addEventListener("click", () => deleteDoc(d));
      body.append(el("tr", { dataset: { doc: d.doc_id } },
        el("td", {}, el("button", { type: "button", class: "linkish proj-link", title: d.title || "",
          onclick: () => focusDocument(d.doc_id) }, d.filename), el("div", { class: "sub" }, d.title || "")),
        el("td", { class: "num" }, d.year ?? "—"),
        el("td", { class: "num" }, d.pages),
        el("td", { class: "num" }, d.projects),
        el("td", {}, coverageBadge(d)),
        el("td", {}, findingsCell(d)),
        el("td", { class: "sub" }, new Date(d.ingested_at).toLocaleString("zh-CN", { hour12: false })),
        el("td", {}, el("span", { class: "downloads" }, reviewButtons(d.doc_id))),
        el("td", {}, del)));
    }
    const sel = $("#f-document"), keep = sel.value;
    clear(sel).append(el("option", { value: "" }, "全部"), ...state.docs.map((d) => el("option", { value: d.doc_id }, d.filename)));
    sel.value = state.docs.some((d) => d.doc_id === keep) ? keep : "";
    const years = [...new Set(state.docs.map((d) => d.year).filter(Boolean))].sort();
    const ysel = $("#f-year"), ykeep = ysel.value;
    clear(ysel).append(el("option", { value: "" }, "全部"), ...years.map((y) => el("option", { value: y }, `${y}年`)));
    ysel.value = years.map(String).includes(ykeep) ? ykeep : "";
  }

  async function deleteDoc(d) {
    if (!window.confirm(`确定删除“${d.filename}”及其全部分析结果？此操作不可撤销。`)) return;
    try { await api(`/documents/${encodeURIComponent(d.doc_id)}`, { method: "DELETE" }); } catch (e) { banner(errText(e)); return; }
    state.pages.clear();
    await refreshHome();
  }

  function focusDocument(docId) {
    $("#f-document").value = docId;
    loadProjects();
    $("#proj-table").scrollIntoView({ behavior: "smooth", block: "start" });
  }

  // ---------------------------------------------------------------- projects table
  function projectQuery() {
    const q = new URLSearchParams();
    const doc = $("#f-document").value, year = $("#f-year").value, grade = $("#f-grade").value;
    const below = $("#f-exec").value.trim();
    if (doc) q.set("document", doc);
    if (year) q.set("year", year);
    if (grade) q.set("grade", grade);
    if (below !== "" && !Number.isNaN(Number(below))) q.set("execution_below", below);
    if ($("#f-findings").checked) q.set("has_findings", "true");
    q.set("sort", (state.sort.desc ? "-" : "") + state.sort.key);
    return q;
  }

  let projSeq = 0;
  async function loadProjects() {
    const seq = ++projSeq;
    let items;
    try { items = await api(`/projects?${projectQuery()}`); } catch (e) { banner(errText(e)); return; }
    if (seq !== projSeq) return; // a newer request is under way
    state.projects = items;
    renderProjects();
  }

  function renderProjects() {
    const needle = $("#f-name").value.trim();
    const items = needle ? state.projects.filter((p) => p.name.includes(needle)) : state.projects;
    const body = clear($("#proj-table tbody"));
    $("#proj-count").textContent = `共 ${items.length} 个`;
    $("#proj-empty").hidden = items.length > 0;
    for (const p of items) {
      const scoreDiff = p.reported_total !== null && p.recomputed_total !== null
        && Math.abs(p.reported_total - p.recomputed_total) > 0.005;
      const gradeDiff = p.reported_grade && p.recomputed_grade && !p.reported_grade.startsWith(p.recomputed_grade);
      const open = () => { location.hash = `#/projects/${p.id}`; };
      body.append(el("tr", { class: "clickable", dataset: { project: p.id }, onclick: open },
        el("td", {}, el("a", { href: `#/projects/${p.id}`, class: "proj-link", onclick: (e) => e.stopPropagation() }, p.name),
          p.department ? el("div", { class: "sub" }, p.department) : ""),
        el("td", { class: "sub" }, p.filename),
        el("td", { class: "num" }, p.year ?? "—"),
        el("td", { class: "num" }, fmtMoney(p.budget)),
        el("td", { class: "num" }, fmtMoney(p.executed)),
        el("td", { class: `num${p.execution_rate !== null && p.execution_rate < 90 ? " rate-low" : ""}` }, fmtRate(p.execution_rate)),
        el("td", { class: `num${scoreDiff ? " diff" : ""}`, title: scoreDiff ? "报告得分与复核得分不一致" : "" },
          `${fmtNum(p.reported_total)} / ${fmtNum(p.recomputed_total)}`),
        el("td", {}, el("span", { class: `grade${gradeDiff ? " bad" : ""}`,
          title: gradeDiff ? `按总分应为“${p.recomputed_grade}”` : "" }, p.reported_grade || "—")),
        el("td", {}, sevBadges(p.findings))));
    }
    for (const th of document.querySelectorAll("#proj-table th[data-sort]")) {
      th.classList.toggle("asc", th.dataset.sort === state.sort.key && !state.sort.desc);
      th.classList.toggle("desc", th.dataset.sort === state.sort.key && state.sort.desc);
    }
  }

  function bindProjectTable() {
    for (const th of document.querySelectorAll("#proj-table th[data-sort]")) {
      th.addEventListener("click", () => {
        const key = th.dataset.sort;
        if (state.sort.key === key) state.sort.desc = !state.sort.desc;
        else state.sort = { key, desc: ["errors", "findings", "budget", "executed"].includes(key) };
        loadProjects();
      });
    }
    for (const id of ["#f-document", "#f-year", "#f-grade", "#f-findings"]) $(id).addEventListener("change", loadProjects);
    let t = null;
    $("#f-exec").addEventListener("input", () => { clearTimeout(t); t = setTimeout(loadProjects, 300); });
    $("#f-name").addEventListener("input", renderProjects);
    $("#proj-filters").addEventListener("submit", (e) => e.preventDefault());
  }

  // ---------------------------------------------------------------- upload
  function bindUpload() {
    const input = $("#file-input"), drop = $("#drop");
    input.addEventListener("change", () => { uploadAll([...input.files]); input.value = ""; });
    drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); uploadAll([...e.dataTransfer.files]); });
  }

  async function uploadAll(files) {
    for (const f of files) await uploadOne(f); // one at a time: the server analyses them one by one anyway
    await refreshHome();
  }

  function uploadOne(file) {
    const bar = el("div", { class: "bar" }, el("span"));
    const status = el("span", { class: "up-status" }, "等待上传");
    const result = el("div", { class: "up-result" });
    const li = el("li", { class: "upload" }, el("div", { class: "up-name" }, file.name), el("div", { class: "up-row" }, bar, status), result);
    $("#uploads").prepend(li);
    const fail = (e) => { bar.className = "bar fail"; bar.firstChild.style.width = "100%"; status.textContent = "失败"; result.className = "up-result fail"; result.textContent = errText(e); };
    const max = state.health ? state.health.max_upload_mb : null;
    if (max && file.size > max * 1024 * 1024) { fail({ code: "too_large", message: `文件 ${(file.size / 1048576).toFixed(1)} MB，超过 ${max} MB 上限` }); return Promise.resolve(); }
    if (file.size === 0) { fail({ code: "empty_file", message: "the file is empty" }); return Promise.resolve(); }
    return new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", "/documents");
      if (apiKey()) xhr.setRequestHeader("X-API-Key", apiKey());
      if (csrfToken()) xhr.setRequestHeader("X-Jixiao-CSRF", csrfToken());
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", (e) => {
        if (!e.lengthComputable) return;
        const pct = Math.round((e.loaded / e.total) * 100);
        bar.firstChild.style.width = `${pct}%`;
        status.textContent = `上传 ${pct}%`;
      });
      xhr.upload.addEventListener("load", () => { bar.className = "bar busy"; status.textContent = "正在分析…"; });
      xhr.addEventListener("load", () => {
        let body = null;
        try { body = JSON.parse(xhr.responseText); } catch (_) { /* not JSON */ }
        if (xhr.status === 200 || xhr.status === 201) {
          bar.className = "bar done"; bar.firstChild.style.width = "100%";
          status.textContent = body.status === "ingested" ? "已入库" : "已存在";
          const sev = ["error", "warning", "info"].filter((s) => body.by_severity[s]).map((s) => `${SEV[s]} ${body.by_severity[s]}`).join("，");
          result.replaceChildren(
            body.status === "ingested" ? "分析完成：" : "相同文件此前已入库：",
            `${body.pages} 页，${body.projects} 个项目，发现问题 ${body.findings} 条${sev ? `（${sev}）` : ""}`,
            body.status === "ingested" ? `，用时 ${body.seconds.toFixed(1)} 秒。` : "。",
            el("button", { type: "button", class: "linkish", onclick: () => focusDocument(body.doc_id) }, "查看项目"));
          if (body.unread) {
            result.append(el("div", { class: "coverage-alert", role: "alert" },
              body.coverage_status === "unrecognised" ? "该文件的表格未能识别，发现问题数不代表无问题，须人工核对：" : "该文件只部分读出，须人工核对未读部分：",
              body.coverage_reason || ""));
          }
          for (const w of body.warnings || []) result.append(el("div", { class: "sub" }, `注意：${w}`));
        } else {
          if (xhr.status === 401 || xhr.status === 403) needKey(body && body.error ? body.error.code : "");
          fail(body && body.error ? body.error : { code: `http_${xhr.status}`, message: xhr.statusText });
        }
        resolve();
      });
      xhr.addEventListener("error", () => { fail({ code: "network", message: "连接中断" }); resolve(); });
      const form = new FormData();
      form.append("file", file, file.name);
      status.textContent = "上传 0%";
      xhr.send(form);
    });
  }

  // ---------------------------------------------------------------- ask
  const EXAMPLES = ["哪些项目未完成绩效目标？", "预算执行率低于90%的项目有哪些？", "哪些项目自评等级为优？", "各项目的自评得分是多少？", "存在的主要问题是什么？"];
  const ROW_COLS = [["project", "项目"], ["filename", "文档"], ["year", "年度"], ["indicator", "指标"], ["target", "指标值"],
    ["actual", "实际完成值"], ["adjusted_budget", "预算"], ["executed", "执行"], ["execution_rate", "执行率%"],
    ["reported_total", "得分"], ["reported_grade", "等级"]];

  function bindAsk() {
    const box = $("#examples");
    for (const q of EXAMPLES) box.append(el("button", { type: "button", class: "chip", onclick: () => { $("#ask-input").value = q; ask(); } }, q));
    $("#ask-form").addEventListener("submit", (e) => { e.preventDefault(); ask(); });
  }

  // a list answer comes one page at a time (total = how many in all); the pager asks again for another page
  async function ask(page = 1) {
    const question = $("#ask-input").value.trim();
    const out = $("#answer");
    if (!question) { $("#ask-input").focus(); return; }
    const btn = $("#ask-btn");
    btn.disabled = true; out.hidden = false;
    clear(out).append(el("p", { class: "sub" }, "正在查找…"));
    try {
      const a = await api("/ask", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ question, page }) });
      renderAnswer(a);
    } catch (e) { clear(out).append(el("p", { class: "up-result fail" }, errText(e))); }
    finally { btn.disabled = false; }
  }

  function citationLabel(c) { return `引用 [${c.n}]`; }

  function renderAnswer(a) {
    const out = clear($("#answer"));
    const byN = new Map(a.citations.map((c) => [c.n, c]));
    const text = el("div", { class: "answer-text", id: "answer-text" });
    // a long enumeration ("…：A；B；C") reads better one item per line; the words are unchanged
    // a paged list answer is already one item per line
    const listed = a.answer.includes("\n");
    const pieces = listed ? a.answer.split("\n") : a.answer.length > 160 ? a.answer.split(/(?<=；)/) : [a.answer];
    for (const piece of pieces) {
      const line = el("div", { class: listed ? "answer-line listed" : "answer-line" });
      piece.split(/\[(\d+)\]/).forEach((part, i) => {
        if (i % 2 === 0) { if (part) line.append(part); return; }
        const c = byN.get(Number(part));
        line.append(c ? el("button", { type: "button", class: "cite-mark", title: `${c.filename || ""} ${where(c)}`,
          onclick: () => openCitation(c) }, part) : `[${part}]`);
      });
      text.append(line);
    }
    out.append(text);
    if (a.total && a.page_size && a.total > a.page_size) {
      const pages = Math.ceil(a.total / a.page_size);
      const pager = el("nav", { class: "pager", id: "answer-pager" }, `共 ${a.total} 项 · 第 ${a.page}/${pages} 页 `);
      if (a.page > 1) pager.append(el("button", { type: "button", class: "linkish", onclick: () => ask(a.page - 1) }, "上一页"), " ");
      if (a.page < pages) pager.append(el("button", { type: "button", class: "linkish", id: "answer-more", onclick: () => ask(a.page + 1) }, "更多（下一页）"));
      out.append(pager);
    }
    if (a.citations.length) {
      out.append(el("ol", { class: "citations", id: "citations" }, a.citations.map((c) => el("li", { dataset: { n: c.n } },
        el("button", { type: "button", class: "cite-mark", onclick: () => openCitation(c) }, c.n),
        el("span", {}, el("span", { class: "where" }, `${c.filename || ""} ${where(c)}`), " ",
          el("button", { type: "button", class: "linkish quote", onclick: () => openCitation(c) }, `「${c.quote}」`))))));
    }
    if (a.rows && a.rows.length) {
      const cols = ROW_COLS.filter(([k]) => a.rows.some((r) => r[k] !== undefined && r[k] !== null));
      out.append(el("details", { class: "rows" }, el("summary", {}, `数据明细（${a.rows.length} 条）`),
        el("div", { class: "mini table-wrap" }, el("table", { class: "tbl" },
          el("thead", {}, el("tr", {}, cols.map(([, label]) => el("th", {}, label)))),
          el("tbody", {}, a.rows.map((r) => el("tr", {}, cols.map(([k]) => {
            if (k === "project" && r.project_id) return el("td", {}, el("a", { href: `#/projects/${r.project_id}` }, r[k]));
            return el("td", {}, r[k] ?? "—");
          }))))))));
    }
    out.append(el("p", { class: "answer-route" }, a.route.startsWith("structured") || a.route.startsWith("accounts")
      ? "依据：从报告中提取的结构化数据（精确计算）" : a.route === "open:extractive" ? "依据：报告原文摘录" : `依据：${a.route}`));
  }

  function openCitation(c) {
    for (const m of document.querySelectorAll(".cite-mark.active")) m.classList.remove("active");
    for (const m of document.querySelectorAll(`#answer .cite-mark`)) if (m.textContent === String(c.n)) m.classList.add("active");
    showSource(c, citationLabel(c));
  }

  // ---------------------------------------------------------------- project page
  async function showProject(id) {
    $("#layout").className = "layout on-project";
    $("#view-home").hidden = true;
    $("#view-project").hidden = false;
    window.scrollTo(0, 0);
    let p;
    try { p = await api(`/projects/${encodeURIComponent(id)}`); } catch (e) {
      $("#p-name").textContent = e.code === "not_found" ? "未找到该项目" : "加载失败";
      $("#p-meta").textContent = errText(e);
      return;
    }
    state.project = p;
    clear($("#crumbs")).append(el("a", { href: "#/" }, "总览"), " › ", p.name);
    $("#p-name").textContent = p.name;
    $("#p-meta").textContent = [p.filename, p.year ? `${p.year}年度` : null, p.department, p.implementer && p.implementer !== p.department ? `实施单位：${p.implementer}` : null]
      .filter(Boolean).join(" · ");
    clear($("#p-downloads")).append(el("span", { class: "label" }, "下载审核意见"), ...reviewButtons(p.doc_id, p.unit_id));

    const scoreDiff = p.reported_total !== null && p.recomputed_total !== null && Math.abs(p.reported_total - p.recomputed_total) > 0.005;
    const gradeDiff = p.reported_grade && p.recomputed_grade && !p.reported_grade.startsWith(p.recomputed_grade);
    const unit = p.amount_unit || "万元";
    const tile = (k, v, bad) => el("div", { class: `tile${bad ? " bad" : ""}` }, el("div", { class: "k" }, k), el("div", { class: "v" }, v));
    clear($("#p-tiles")).append(
      tile(`预算（${unit}）`, fmtMoney(p.budget)),
      tile(`执行（${unit}）`, fmtMoney(p.executed)),
      tile("执行率", fmtRate(p.execution_rate), p.execution_rate !== null && p.execution_rate < 90),
      tile("自评得分", [fmtNum(p.reported_total), el("small", {}, ` 复核 ${fmtNum(p.recomputed_total)}`)], scoreDiff),
      tile("等级", [p.reported_grade || "—", p.recomputed_grade ? el("small", {}, ` 应为 ${p.recomputed_grade}`) : ""], gradeDiff));

    // findings
    const fl = clear($("#p-findings"));
    clear($("#p-find-count")).append(p.finding_list.length ? `共 ${p.finding_list.length} 条　` : "",
      ...(p.finding_list.length ? sevBadges(p.findings) : []));
    $("#p-findings-empty").hidden = p.finding_list.length > 0;
    for (const f of p.finding_list) {
      const li = el("li", { class: `finding ${f.severity}`, dataset: { rule: f.rule_id } },
        el("div", { class: "f-head" }, el("span", { class: `sev ${f.severity}` }, SEV[f.severity]),
          el("span", { class: "rule" }, f.rule_title_zh), el("span", { class: "rid" }, f.rule_id)),
        el("div", { class: "msg" }, f.message_zh),
        (f.reported || f.recomputed) ? el("div", { class: "rv" },
          el("span", {}, "报告值：", el("b", {}, f.reported || "—")), el("span", {}, "复核值：", el("b", {}, f.recomputed || "—"))) : "",
        f.refs.length ? el("div", { class: "refs" }, f.refs.map((r) => srcButton(r, `${SEV[f.severity]} · ${f.rule_title_zh}`))) : "");
      if (f.refs.length) li.addEventListener("click", () => {
        for (const x of fl.querySelectorAll(".finding.active")) x.classList.remove("active");
        li.classList.add("active");
        showSource(f.refs[0], `${SEV[f.severity]} · ${f.rule_title_zh}`);
      });
      fl.append(li);
    }

    // reported vs recomputed
    clear($("#p-figures tbody")).append(...p.figures.map((r) => el("tr", {},
      el("td", {}, r.label_zh), el("td", { class: "num" }, r.reported),
      el("td", { class: `num${r.differs ? " diff" : ""}` }, r.recomputed),
      el("td", { class: r.differs ? "diff" : "sub" }, r.differs ? "不一致" : r.recomputed === "—" ? "" : "一致"))));
    $("#p-variant").textContent = p.variant ? `评分办法：${p.variant}${p.evidence ? `（依据：${p.evidence}）` : ""}` : "";

    // funds
    $("#p-unit").textContent = `单位：${p.funds.unit}`;
    const fig = (x) => (x ? x.raw : "—");
    const firstRef = (...xs) => { for (const x of xs) if (x && x.ref) return x.ref; return null; };
    const fundRow = (name, s, strong) => el("tr", {},
      el("td", {}, strong ? el("b", {}, name) : name), el("td", { class: "num" }, fig(s.initial_budget)),
      el("td", { class: "num" }, fig(s.adjusted_budget)), el("td", { class: "num" }, fig(s.executed)),
      el("td", { class: "num" }, fig(s.reported_rate)),
      el("td", {}, srcButton(firstRef(s.executed, s.adjusted_budget, s.initial_budget, s.reported_rate), `资金 · ${name}`)));
    clear($("#p-funds tbody")).append(fundRow("合计", p.funds, true), ...p.funds.sources.map((s) => fundRow(s.name, s)));

    // indicators
    $("#p-ind-count").textContent = `共 ${p.indicators.length} 项`;
    clear($("#p-indicators tbody")).append(...p.indicators.map((i) => el("tr", {},
      el("td", {}, i.level1 || ""), el("td", {}, i.level2 || ""), el("td", {}, i.level3),
      el("td", {}, i.target || "—"), el("td", {}, i.actual || "—"),
      el("td", { class: "num" }, fmtNum(i.weight)), el("td", { class: "num" }, fmtNum(i.score)),
      el("td", { class: "sub" }, i.deviation_note || ""), el("td", {}, srcButton(i.ref, `指标 · ${i.level3}`)))));

    // stated text
    const dl = clear($("#p-stated"));
    for (const [label, t] of [["绩效目标", p.goals], ["目标完成情况", p.goal_completion], ["存在问题", p.stated_problems], ["改进措施", p.stated_measures]]) {
      if (!t) continue;
      dl.append(el("dt", {}, label, " ", srcButton(t.ref, label)), el("dd", {}, t.text));
    }
    $("#p-text-card").hidden = dl.childElementCount === 0;

    const start = p.finding_list.find((f) => f.refs.length);
    if (start) {
      fl.querySelector(".finding").classList.add("active");
      showSource(start.refs[0], `${SEV[start.severity]} · ${start.rule_title_zh}`);
    } else if (p.ref) showSource(p.ref, "项目在原文中的位置");
  }

  // ---------------------------------------------------------------- routing
  async function refreshHome() { await loadDocs(); await loadProjects(); }

  function route() {
    const m = /^#\/projects\/([^/?#]+)/.exec(location.hash);
    if (m) { showProject(decodeURIComponent(m[1])); return; }
    $("#layout").className = "layout on-home";
    $("#view-project").hidden = true;
    $("#view-home").hidden = false;
    clear($("#crumbs"));
    $("#viewer").hidden = true;
    refreshHome();
  }

  async function start() {
    $("#api-key").value = apiKey();
    $("#api-key-save").addEventListener("click", () => {
      sessionStorage.setItem("jixiao.apiKey", $("#api-key").value.trim());
      banner(""); route();
    });
    $("#v-prev").addEventListener("click", () => { if (viewer.page > 1) { viewer.page -= 1; renderViewerPage(); } });
    $("#v-next").addEventListener("click", () => { if (viewer.page < viewer.pages) { viewer.page += 1; renderViewerPage(); } });
    $("#v-close").addEventListener("click", () => { $("#viewer").hidden = true; });
    bindUpload(); bindAsk(); bindProjectTable();
    try {
      state.health = await api("/health");
      if (state.health.auth_required) $("#key-box").hidden = false;
      if (state.health.max_upload_mb) $("#drop-hint").textContent += `；单个文件不超过 ${state.health.max_upload_mb} MB`;
    } catch (e) { banner(errText(e)); }
    window.addEventListener("hashchange", route);
    route();
  }

  document.addEventListener("DOMContentLoaded", start);
})();

// The Kyma console: runs queries through POST /v1/query (NDJSON, read as it streams), pages the
// rows, draws EXPLAIN ANALYZE's pruning cascade from POST /v1/explain, and lists tables.
"use strict";

const pageSize = 100;
let rows = [];
let columns = [];
let page = 0;

const $ = (id) => document.getElementById(id);
const keyInput = $("key");
keyInput.value = localStorage.getItem("kyma-key") || "";
keyInput.addEventListener("change", () => { localStorage.setItem("kyma-key", keyInput.value); loadTables(); });

function headers(extra) {
  const h = Object.assign({ "Content-Type": "application/json" }, extra || {});
  if (keyInput.value) h["Authorization"] = "Bearer " + keyInput.value;
  return h;
}

function setStatus(text, isError) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

async function errorText(response) {
  try {
    const body = await response.json();
    const e = body.error || {};
    const at = e.position ? ` (line ${e.position.line}, column ${e.position.column})` : "";
    return `${response.status} ${e.kind || ""}: ${e.message || ""}${at}`;
  } catch (_) {
    return `${response.status} ${response.statusText}`;
  }
}

function cell(value) {
  if (value === undefined || value === null) return "";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

function render() {
  const thead = $("rows").querySelector("thead");
  const tbody = $("rows").querySelector("tbody");
  thead.innerHTML = "";
  tbody.innerHTML = "";
  const head = document.createElement("tr");
  for (const name of columns) {
    const th = document.createElement("th");
    th.textContent = name;
    head.appendChild(th);
  }
  thead.appendChild(head);
  for (const row of rows.slice(page * pageSize, (page + 1) * pageSize)) {
    const tr = document.createElement("tr");
    for (const name of columns) {
      const td = document.createElement("td");
      td.textContent = cell(row[name]);
      tr.appendChild(td);
    }
    tbody.appendChild(tr);
  }
  const pages = Math.max(1, Math.ceil(rows.length / pageSize));
  $("page").textContent = `page ${page + 1} of ${pages} (${rows.length} rows)`;
  $("prev").disabled = page === 0;
  $("next").disabled = page + 1 >= pages;
}

async function runQuery() {
  rows = [];
  columns = [];
  page = 0;
  render();
  setStatus("running...");
  const started = performance.now();
  const response = await fetch("/v1/query", {
    method: "POST",
    headers: headers(),
    body: JSON.stringify({ query: $("query").value, lang: $("lang").value, format: "ndjson" }),
  });
  if (!response.ok) { setStatus(await errorText(response), true); return; }
  // Rows arrive as JSON lines while the query runs: show them as they come.
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let pending = "";
  let lastDraw = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    pending += decoder.decode(value, { stream: true });
    const lines = pending.split("\n");
    pending = lines.pop();
    for (const line of lines) {
      if (!line) continue;
      const row = JSON.parse(line);
      if (row.error) { setStatus(`failed: ${row.error.kind}: ${row.error.message}`, true); render(); return; }
      for (const name of Object.keys(row)) if (!columns.includes(name)) columns.push(name);
      rows.push(row);
    }
    if (performance.now() - lastDraw > 200) { render(); lastDraw = performance.now(); }
  }
  render();
  setStatus(`${rows.length} rows in ${Math.round(performance.now() - started)} ms`);
}

// The cascade: one bar per level, the full width being what the level was given.
function drawCascade(p) {
  const levels = [
    ["extents: catalog", p.extentsTotal, p.extentsAfterCatalog],
    ["extents: footers", p.extentsAfterCatalog, p.extentsAfterFooters],
    ["blocks: statistics", p.blocksTotal, p.blocksAfterStats],
    ["blocks: bloom filters", p.blocksAfterStats, p.blocksAfterBloom],
    ["blocks: path bitmaps", p.blocksAfterBloom, p.blocksAfterPathBitmaps],
    ["blocks: index", p.blocksAfterPathBitmaps, p.blocksAfterIndex],
    ["rows: decoded", p.rowsTotal, p.rowsDecoded],
    ["rows: matched", p.rowsDecoded, p.rowsMatched],
    ["bytes read", p.bytesTotal, p.footerBytesRead + p.dataBytesRead],
  ];
  const svg = $("cascade");
  const ns = "http://www.w3.org/2000/svg";
  svg.innerHTML = "";
  const barWidth = 380, rowHeight = 26;
  svg.setAttribute("height", String(levels.length * rowHeight + 8));
  levels.forEach(([label, total, kept], i) => {
    const y = 4 + i * rowHeight;
    const name = document.createElementNS(ns, "text");
    name.setAttribute("x", "0"); name.setAttribute("y", String(y + 15));
    name.textContent = label;
    svg.appendChild(name);
    const back = document.createElementNS(ns, "rect");
    back.setAttribute("class", "total"); back.setAttribute("x", "150"); back.setAttribute("y", String(y));
    back.setAttribute("width", String(barWidth)); back.setAttribute("height", "20");
    svg.appendChild(back);
    const bar = document.createElementNS(ns, "rect");
    bar.setAttribute("class", "kept"); bar.setAttribute("x", "150"); bar.setAttribute("y", String(y));
    bar.setAttribute("width", String(total > 0 ? Math.max(1, barWidth * kept / total) : 0)); bar.setAttribute("height", "20");
    bar.setAttribute("data-level", label); bar.setAttribute("data-kept", String(kept)); bar.setAttribute("data-total", String(total));
    svg.appendChild(bar);
    const count = document.createElementNS(ns, "text");
    count.setAttribute("x", String(150 + barWidth + 8)); count.setAttribute("y", String(y + 15));
    count.textContent = `${kept} of ${total}`;
    svg.appendChild(count);
  });
}

async function explain() {
  setStatus("explaining...");
  const response = await fetch("/v1/explain", {
    method: "POST",
    headers: headers(),
    body: JSON.stringify({ query: $("query").value, lang: $("lang").value, analyze: true }),
  });
  if (!response.ok) { setStatus(await errorText(response), true); return; }
  const body = await response.json();
  drawCascade(body.profile);
  $("explain-text").textContent = body.text;
  setStatus(`explained: ${body.profile.rowsReturned} rows, ${body.profile.totalMillis.toFixed(1)} ms`);
}

async function loadTables() {
  const tbody = $("tables").querySelector("tbody");
  tbody.innerHTML = "";
  const response = await fetch("/v1/tables", { headers: headers() });
  if (!response.ok) { setStatus(await errorText(response), true); return; }
  const body = await response.json();
  for (const t of body.tables) {
    const tr = document.createElement("tr");
    for (const value of [t.name, t.rows, t.bytes, t.extents, t.min_time || "", t.max_time || ""]) {
      const td = document.createElement("td");
      td.textContent = String(value);
      tr.appendChild(td);
    }
    tr.addEventListener("click", () => {
      $("query").value = $("lang").value === "sql" ? `SELECT * FROM ${t.name} LIMIT 100` : `${t.name} | take 100`;
    });
    tbody.appendChild(tr);
  }
}

$("run").addEventListener("click", () => runQuery().catch((e) => setStatus(String(e), true)));
$("explain").addEventListener("click", () => explain().catch((e) => setStatus(String(e), true)));
$("refresh").addEventListener("click", () => loadTables().catch((e) => setStatus(String(e), true)));
$("prev").addEventListener("click", () => { page = Math.max(0, page - 1); render(); });
$("next").addEventListener("click", () => { page += 1; render(); });
$("query").addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) runQuery(); });
render();
if (keyInput.value) loadTables();

// todo-dev's status page: one EventSource; a snapshot, then each change.
// Everything is written with textContent (log lines are the user's).
"use strict";

const token = document.querySelector('meta[name="todo-dev-token"]').content;
const LOG_LINES = 200;
const rows = new Map(); // name -> { view, logs: [] }
// For the bench and the tests: when each message arrived, and its event's time.
window.todoDev = { received: 0, latencies: [], states: {} };

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

function size(bytes) {
  if (bytes === null || bytes === undefined) return "";
  if (bytes < 1e3) return `${bytes} B`;
  if (bytes < 1e6) return `${(bytes / 1e3).toFixed(1)} kB`;
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

function ago(ms) {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  return s < 60 ? `${s}s ago` : `${Math.round(s / 60)}m ago`;
}

async function ask(path) {
  const r = await fetch(path, { method: "POST", headers: { "X-Todo-Dev-Token": token } });
  if (!r.ok) alert(`todo-dev: ${r.status} ${await r.text()}`);
}

function card(name) {
  const r = rows.get(name);
  const v = r.view;
  const head = el("h3", {}, v.name, el("span", { class: "state" }, v.state));
  if (v.service) {
    head.append(el("span", { class: "actions" },
      el("button", { type: "button", "data-ask": "rebuild", "data-row": v.name, textContent: "rebuild",
        onclick: () => ask(`/rebuild/${encodeURIComponent(v.name)}`) }), " ",
      el("button", { type: "button", "data-ask": "restart", "data-row": v.name, textContent: "restart",
        onclick: () => ask(`/restart/${encodeURIComponent(v.name)}`) })));
  }
  const meta = [];
  if (v.image) meta.push(`image ${v.image}`);
  if (v.bytes) meta.push(size(v.bytes));
  if (v.build) meta.push(v.build === "built" ? "built" : "cached (unchanged)");
  const body = [head, el("div", { class: "meta image" }, meta.join(" · "))];
  if (v.note) body.push(el("div", { class: "meta note" }, v.note));
  if (v.endpoints.length) {
    const links = el("div", { class: "meta endpoints" });
    for (const e of v.endpoints) links.append(el("a", { href: e.url, target: "_blank", rel: "noreferrer", textContent: e.url }), ` (${e.note}) `);
    body.push(links);
  }
  if (v.failure) body.push(failure(v.failure));
  const pre = el("pre", { class: "logs" });
  for (const l of r.logs) pre.append(logLine(l));
  if (r.logs.length) body.push(pre);
  const article = el("article", { class: `row ${v.tone}`, id: `row-${v.name}`, "data-state": v.state }, ...body);
  return article;
}

function failure(f) {
  const box = el("div", { class: "failure" },
    el("b", {}, `last failure (${f.stage}, ${ago(f.at)})`), " ", f.message);
  const d = f.diagnosis;
  if (d) {
    box.append(el("div", { class: "diagnosis" }, `pod ${d.pod || "-"}: `, el("b", {}, d.reason || ""), ` ${d.detail || ""}`));
    if (d.hint) box.append(el("div", { class: "hint" }, `hint: ${d.hint}`));
    for (const e of d.events || []) box.append(el("div", { class: "meta" }, e));
    if (d.logs) box.append(el("pre", {}, d.logs));
  }
  return box;
}

function logLine(l) {
  return el("span", { class: l.previous ? "previous" : "" }, `${l.pod} | ${l.line}\n`);
}

function draw(name) {
  const fresh = card(name);
  const old = document.getElementById(`row-${name}`);
  const scrolled = old && old.querySelector("pre.logs");
  if (scrolled) { const p = fresh.querySelector("pre.logs"); if (p) requestAnimationFrame(() => { p.scrollTop = p.scrollHeight; }); }
  if (old) old.replaceWith(fresh);
  else document.getElementById("rows").append(fresh);
}

function drawApp(app) {
  const open = document.getElementById("open");
  open.replaceChildren();
  for (const o of app.open || []) {
    // An address, or the command that prints one (minikube service ... --url).
    open.append(/^https?:\/\//.test(o.url)
      ? el("a", { href: o.url, target: "_blank", rel: "noreferrer", textContent: o.url, title: o.note })
      : el("code", { title: o.note }, o.url), " ");
  }
  document.getElementById("watcher").textContent = app.watcher ? `watching: ${app.watcher}` : "";
  const v = app.verify;
  const verdict = document.getElementById("verify-verdict");
  const body = document.querySelector("#verify-checks tbody");
  body.replaceChildren();
  if (!v) return;
  verdict.textContent = v.running ? "running…"
    : v.message ? `could not run: ${v.message}`
    : `${v.ok ? "passed" : "FAILED"}: ${v.checks.length} checks, ${v.failed} failed, ${v.ms} ms (${ago(v.at)})`;
  verdict.className = v.running ? "dim" : v.ok ? "pill good" : "pill bad";
  for (const c of v.checks) {
    const row = el("tr", { "data-check": c.check },
      el("td", {}, c.check), el("td", { class: c.ok ? "ok" : "failed" }, c.ok ? "ok" : "FAILED"),
      el("td", {}, String(c.ms)), el("td", {}, c.figure || "", c.seen ? el("div", { class: "meta" }, `seen: ${c.seen}`) : null,
        c.fix ? el("div", { class: "meta" }, `fix: ${c.fix}`) : null));
    body.append(row);
  }
}

function received(data) {
  window.todoDev.received += 1;
  window.todoDev.latencies.push(Date.now() - data.at);
  if (window.todoDev.latencies.length > 1000) window.todoDev.latencies.shift();
}

function connect() {
  const link = document.getElementById("link");
  const source = new EventSource(`/events?token=${encodeURIComponent(token)}`);
  source.addEventListener("open", () => { link.textContent = "live"; link.className = "pill good"; });
  source.addEventListener("error", () => { link.textContent = "disconnected (is todo-dev still running?)"; link.className = "pill bad"; });
  source.addEventListener("snapshot", (m) => {
    const s = JSON.parse(m.data);
    received(s);
    rows.clear();
    document.getElementById("rows").replaceChildren();
    for (const v of s.rows) { rows.set(v.name, { view: v, logs: s.logs[v.name] || [] }); draw(v.name); }
    drawApp(s.app);
  });
  source.addEventListener("row", (m) => {
    const v = JSON.parse(m.data);
    received(v);
    const states = (window.todoDev.states[v.name] ||= []);
    states.push(v.state);
    if (states.length > 100) states.shift();
    const r = rows.get(v.name) || { logs: [] };
    r.view = v;
    rows.set(v.name, r);
    draw(v.name);
  });
  source.addEventListener("log", (m) => {
    const d = JSON.parse(m.data);
    received(d);
    const r = rows.get(d.row);
    if (!r) return;
    r.logs.push(d.line);
    if (r.logs.length > LOG_LINES) r.logs.shift();
    // A chatty log appends a line; the rest of the card stays as it is.
    const pre = document.querySelector(`#row-${CSS.escape(d.row)} pre.logs`);
    if (!pre) return draw(d.row);
    pre.append(logLine(d.line));
    while (pre.childNodes.length > LOG_LINES) pre.firstChild.remove();
  });
  source.addEventListener("app", (m) => {
    const a = JSON.parse(m.data);
    received(a);
    drawApp(a);
  });
}

document.getElementById("verify-run").addEventListener("click", () => ask("/verify"));
connect();

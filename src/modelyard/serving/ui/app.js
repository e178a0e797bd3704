// The modelyard console: a hash-routed page over the admin API (/api/...), nothing else.
// Every value from the yard reaches the page as text (textContent), never as markup.

const main = document.getElementById("main");
const who = document.getElementById("who");
const dialog = document.getElementById("dialog");
const toast = document.getElementById("toast");
const KEY = "modelyard.key";
const PERIODS = ["15m", "1h", "6h", "24h", "7d"];
const COLORS = ["#0b4fb3", "#c2410c", "#15803d", "#7e22ce", "#b91c1c", "#0e7490", "#a16207"];
const state = { session: null };

// -- building the page -------------------------------------------------------------------

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "text") el.textContent = value;
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function present(nodes) {  // what to show of a page's parts (absent ones are null)
  return nodes.flat(Infinity).filter((n) => n !== null && n !== undefined && n !== false);
}

function table(caption, headers, rows, options = {}) {
  const numeric = new Set(options.numeric || []);
  return h(
    "table",
    { class: options.class },
    caption ? h("caption", {}, caption) : null,
    h("thead", {}, h("tr", {}, headers.map((t, i) =>
      h("th", { scope: "col", class: numeric.has(i) ? "num" : null }, t)))),
    h("tbody", {}, rows.length
      ? rows.map((cells) => h("tr", {}, cells.map((c, i) =>
          h("td", { class: numeric.has(i) ? "num" : null }, c))))
      : h("tr", {}, h("td", { colspan: headers.length, class: "muted" }, options.empty || "None."))),
  );
}

function card(label, value, note) {
  return h("div", { class: "card" },
    h("div", { class: "label" }, label),
    h("div", { class: "value" }, value),
    note ? h("div", { class: "muted" }, note) : null);
}

function facts(pairs) {
  return h("dl", { class: "facts" }, pairs.filter(([, v]) => v !== undefined)
    .map(([k, v]) => [h("dt", {}, k), h("dd", {}, v === null || v === "" ? "—" : v)]));
}

function link(href, text) { return h("a", { href }, text); }

function badge(alias, version) {
  const kind = alias === "production" || alias === "staging" ? alias : "";
  return h("span", { class: `badge ${kind}` }, version === undefined ? alias : `${alias} → v${version}`);
}

function when(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toISOString().slice(0, 19).replace("T", " ") + " UTC";
}

function num(value, digits = 3) {
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  if (typeof value !== "number") return String(value);
  if (Number.isInteger(value)) return value.toLocaleString("en-US");
  return Number(value.toPrecision(digits)).toLocaleString("en-US", { maximumFractionDigits: 6 });
}

function pct(value) {
  return value === null || value === undefined ? "—" : `${(100 * value).toFixed(value < 0.1 ? 2 : 1)} %`;
}

function ms(value) { return value === null || value === undefined ? "—" : `${num(value)} ms`; }

function enc(text) { return encodeURIComponent(text); }

function say(message) {
  toast.textContent = message;
  toast.classList.add("show");
  clearTimeout(say.timer);
  say.timer = setTimeout(() => toast.classList.remove("show"), 6000);
}

function problemBox(error) {
  const body = error.body && error.body.error;
  const problems = (body && body.problems) || [];
  return h("div", { class: "error", role: "alert" },
    h("strong", {}, body ? body.message : error.message),
    problems.length ? h("ul", {}, problems.map((p) =>
      h("li", {}, [p.field || p.feature, p.rule].filter(Boolean).join(": ")))) : null);
}

// -- the API -------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error && body.error.message) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

async function api(path, options = {}) {
  const headers = { Accept: "application/json" };
  const key = sessionStorage.getItem(KEY);
  if (key) headers.Authorization = `Bearer ${key}`;
  const init = { method: options.method || "GET", headers };
  if (options.body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(options.body);
  }
  const response = await fetch(path, init);
  let body = null;
  try { body = await response.json(); } catch { body = null; }
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

async function optional(path) {
  try { return await api(path); } catch (e) { if (e.status === 404) return null; throw e; }
}

function canWrite() { return Boolean(state.session && state.session.scopes.includes("write")); }

// -- session and key ------------------------------------------------------------------------

async function loadSession() {
  state.session = await api("/api/session");
  const s = state.session;
  who.replaceChildren(...present([
    s.auth
      ? h("span", {}, `key ${s.key} · ${s.scopes.join(", ")}`)
      : h("span", {}, "dev mode: no key needed"),
    s.auth ? h("button", { class: "small", onclick: forgetKey }, "Forget key") : null,
  ]));
}

function forgetKey() {
  sessionStorage.removeItem(KEY);
  state.session = null;
  who.replaceChildren();
  render();
}

function keyForm(message) {
  const input = h("input", { id: "key", type: "password", autocomplete: "off", required: true,
    spellcheck: "false", size: 48 });
  const problem = h("div", { "aria-live": "polite" }, message ? h("p", { class: "error" }, message) : null);
  const form = h("form", {
    onsubmit: async (event) => {
      event.preventDefault();
      sessionStorage.setItem(KEY, input.value.trim());
      try {
        await loadSession();
        render();
      } catch (e) {
        sessionStorage.removeItem(KEY);
        problem.replaceChildren(h("p", { class: "error" },
          e.status === 401 ? "That key is not valid (or revoked)." : e.message));
        input.focus();
      }
    },
  },
  h("h1", {}, "Sign in with an API key"),
  h("p", { class: "sub" },
    "Pages need a key with the read scope; promoting, rolling back and steering rollouts " +
    "need write. The key stays in this browser tab only (session storage). Create one with " +
    "`modelyard keys create --scope read`."),
  h("label", { for: "key" }, "API key"),
  input,
  h("div", { class: "row" }, h("button", { class: "primary", type: "submit" }, "Use this key")),
  problem);
  main.replaceChildren(form);
  input.focus();
}

// -- routing ------------------------------------------------------------------------------

const ROUTES = [
  [/^\/models$/, modelsPage, "models"],
  [/^\/models\/([^/]+)$/, modelPage, "models"],
  [/^\/endpoints$/, endpointsPage, "endpoints"],
  [/^\/endpoints\/([^/]+)$/, endpointPage, "endpoints"],
  [/^\/endpoints\/([^/]+)\/drift$/, driftPage, "endpoints"],
  [/^\/audit$/, auditPage, "audit"],
];

function location_() {
  const raw = window.location.hash.replace(/^#/, "") || "/models";
  const [path, search] = raw.split("?");
  return { path, query: new URLSearchParams(search || "") };
}

function go(path, query) {
  const search = query ? new URLSearchParams(
    Object.entries(query).filter(([, v]) => v !== null && v !== undefined && v !== "")).toString() : "";
  window.location.hash = search ? `${path}?${search}` : path;
}

async function render() {
  const { path, query } = location_();
  const found = ROUTES.map(([pattern, page, section]) => [path.match(pattern), page, section])
    .find(([m]) => m);
  for (const a of document.querySelectorAll("nav a")) {
    a.toggleAttribute("aria-current", Boolean(found && a.dataset.section === found[2]));
    if (found && a.dataset.section === found[2]) a.setAttribute("aria-current", "page");
  }
  if (!found) {
    main.replaceChildren(h("h1", {}, "Not found"), h("p", {}, "No page at ", path, ". "),
      link("#/models", "Models"));
    return;
  }
  const [match, page] = found;
  main.setAttribute("aria-busy", "true");
  main.replaceChildren(h("p", { class: "muted" }, "Loading…"));
  try {
    if (!state.session) await loadSession();
    const args = match.slice(1).map(decodeURIComponent);
    const content = await page(...args, query);
    main.replaceChildren(...present([content]));
  } catch (e) {
    if (e.status === 401) keyForm(sessionStorage.getItem(KEY) ? "That key is not valid (or revoked)." : "");
    else main.replaceChildren(h("h1", {}, "Something went wrong"), problemBox(e));
  } finally {
    main.removeAttribute("aria-busy");
  }
  await drawPending();
}

window.addEventListener("hashchange", () => { render(); main.focus({ preventScroll: true }); });

// -- charts (plotly.js from the plotly package, loaded on the pages that draw) --------------

let plotly = null;
const pending = [];

function loadPlotly() {
  plotly ??= new Promise((resolve, reject) => {
    const script = h("script", { src: main.dataset.plotly });
    script.onload = () => resolve(window.Plotly);
    script.onerror = () => reject(new Error("the chart library did not load"));
    document.head.append(script);
  });
  return plotly;
}

function plotText(text) {  // plotly reads a little HTML in labels: give it text only
  return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function chart(title, describe, traces, layout = {}) {
  const el = h("div", { class: "chart", role: "img", "aria-label": `${title}: ${describe}` });
  pending.push([el, title, traces, layout]);
  return el;
}

async function drawPending() {
  if (!pending.length) return;
  const work = pending.splice(0);
  let Plotly;
  try { Plotly = await loadPlotly(); } catch (e) {
    for (const [el] of work) el.replaceChildren(problemBox(e));
    return;
  }
  for (const [el, title, traces, layout] of work) {
    if (!el.isConnected) continue;
    await Plotly.newPlot(el, traces.map((t) => ({ ...t, name: plotText(t.name ?? "") })), {
      title: { text: plotText(title), font: { size: 14 } },
      margin: { l: 56, r: 12, t: 40, b: 40 },
      height: 280,
      legend: { orientation: "h", y: -0.2 },
      font: { family: "system-ui, sans-serif", color: "#1b1f24" },
      ...layout,
    }, { displaylogo: false, responsive: true });
  }
  document.body.dataset.charts = "drawn";
}

// -- pages: models ------------------------------------------------------------------------

async function modelsPage(query) {
  const limit = 50;
  const offset = Math.max(0, Number(query.get("offset")) || 0);
  const q = query.get("q") || "";
  const data = await api(`/api/models?limit=${limit}&offset=${offset}${q ? `&q=${enc(q)}` : ""}`);
  const search = h("input", { id: "model-search", type: "search", value: q, maxlength: 64 });
  const rows = data.models.map((m) => {
    const others = Object.entries(m.aliases).filter(([a]) => a !== "production" && a !== "staging");
    return [
      link(`#/models/${enc(m.name)}`, m.name),
      m.aliases.production ? `v${m.aliases.production}` : "—",
      m.aliases.staging ? `v${m.aliases.staging}` : "—",
      others.length ? others.map(([a, v]) => badge(a, v)) : "—",
      m.latest_version ? `v${m.latest_version}` : "—",
      num(m.versions),
      when(m.last_change),
    ];
  });
  const last = Math.min(offset + limit, data.total);
  return [
    h("h1", {}, "Models"),
    h("p", { class: "sub" }, `${num(data.total)} model${data.total === 1 ? "" : "s"} in the yard`),
    h("form", { class: "row", role: "search",
      onsubmit: (e) => { e.preventDefault(); go("/models", { q: search.value.trim() }); } },
    h("label", { for: "model-search" }, "Name contains", search),
    h("button", { type: "submit" }, "Search")),
    table(null, ["Model", "Production", "Staging", "Other aliases", "Latest", "Versions",
      "Last change"], rows, { numeric: [5], empty: q ? "No model matches." : "No models yet." }),
    pager(offset, limit, data.total, last, (o) => go("/models", { q, offset: o })),
  ];
}

function pager(offset, limit, total, last, goto) {
  if (total <= limit) return null;
  return h("nav", { class: "pager", "aria-label": "Pages" },
    h("button", { disabled: offset === 0, onclick: () => goto(Math.max(0, offset - limit)) }, "← Previous"),
    h("span", {}, `${offset + 1}–${last} of ${num(total)}`),
    h("button", { disabled: last >= total, onclick: () => goto(offset + limit) }, "Next →"));
}

async function modelPage(name, query) {
  const model = await api(`/api/models/${enc(name)}`);
  const metricNames = [...new Set(model.versions.flatMap((v) => Object.keys(v.metrics)))].sort();
  const shown = metricNames.slice(0, 8);
  const details = h("section", { id: "version-details", "aria-live": "polite" });
  const selected = Number(query.get("version")) || null;
  const rows = model.versions.map((v) => [
    h("button", { class: "small", "aria-label": `Details of version ${v.version}`,
      onclick: () => go(`/models/${enc(name)}`, { version: v.version }) }, `v${v.version}`),
    v.status,
    v.aliases.length ? v.aliases.map((a) => badge(a)) : "—",
    ...shown.map((m) => num(v.metrics[m], 4)),
    v.inputs ?? "—",
    when(v.created_at),
    v.created_by,
    canWrite() && v.status === "ready"
      ? h("button", { class: "small", onclick: () => promoteDialog(name, v.version, model.aliases) },
        `Promote v${v.version}…`)
      : "—",
  ]);
  const aliasRows = Object.entries(model.aliases).sort().map(([alias, version]) => [
    badge(alias), `v${version}`,
    canWrite()
      ? h("button", { class: "small", onclick: () => rollbackDialog(name, alias, version) },
        `Roll back ${alias}…`)
      : "—",
  ]);
  const history = model.alias_history.map((e) => [
    when(e.at), badge(e.alias), e.kind,
    e.from_version ? `v${e.from_version}` : "—", e.to_version ? `v${e.to_version}` : "—",
    e.actor, e.reason || "—",
  ]);
  if (selected) versionDetails(name, selected, details);
  return [
    h("p", {}, link("#/models", "← Models")),
    h("h1", {}, model.name),
    model.description ? h("p", { class: "sub" }, model.description) : null,
    h("p", { class: "sub" }, `${model.versions.length} version(s) · latest ready v${model.latest_version ?? "—"} · `,
      h("a", { href: `#/audit?target=${enc(name)}` }, "audit log")),
    h("h2", {}, "Aliases"),
    table(null, ["Alias", "Points at", "Action"], aliasRows, { empty: "No aliases yet." }),
    h("h2", {}, "Versions"),
    table("Newest first; metrics as registered, side by side.",
      ["Version", "Status", "Aliases", ...shown, "Inputs", "Registered", "By", "Action"], rows,
      { numeric: shown.map((_, i) => i + 3) }),
    details,
    h("h2", {}, "Alias history"),
    table(null, ["When", "Alias", "Change", "From", "To", "By", "Reason"], history,
      { empty: "No alias has moved yet." }),
  ];
}

async function versionDetails(name, version, into) {
  try {
    const v = await api(`/api/models/${enc(name)}/versions/${version}`);
    const lineage = v.lineage;
    const inputs = (v.signature.inputs || []).map((f) => [
      f.name, f.kind, f.nullable ? "yes" : "no",
      f.categories ? f.categories.slice(0, 8).join(", ") + (f.categories.length > 8 ? " …" : "")
        : `${num(f.min)} … ${num(f.max)}`,
    ]);
    const output = v.signature.output || {};
    into.replaceChildren(
      h("h2", { tabindex: "-1", id: "details-title" }, `Version ${v.version}`),
      h("div", { class: "two" },
        h("div", {},
          h("h3", {}, "Lineage"),
          facts([
            ["Run", lineage.run ? `${lineage.run.experiment} / ${lineage.run.name || lineage.run.id}` : null],
            ["Run id", lineage.run ? lineage.run.id : null],
            ["Datasets", lineage.datasets.length ? lineage.datasets.map((d) => `${d.ref} (${num(d.rows)} rows)`).join(", ") : null],
            ["Code commit", lineage.code.commit ? `${lineage.code.commit.slice(0, 12)}${lineage.code.dirty ? " (dirty)" : ""}` : null],
            ["Branch", lineage.code.branch],
            ["Python", lineage.environment.python],
            ["Flavor", v.flavor],
            ["Files", lineage.version.files.map((f) => `${f.name} (${num(f.size)} B)`).join(", ")],
            ["Parameters", Object.keys(v.params).length ? JSON.stringify(v.params) : null],
          ])),
        h("div", {},
          h("h3", {}, "Metrics"),
          table(null, ["Metric", "Value"], Object.entries(v.metrics).map(([k, x]) => [k, num(x, 5)]),
            { numeric: [1], empty: "No metrics registered." }))),
      h("h3", {}, "Signature"),
      h("p", { class: "sub" }, `Output: ${output.kind || "—"}${output.classes ? `, classes ${output.classes.join(", ")}` : ""}`),
      table(null, ["Input", "Kind", "Nullable", "Range or categories"], inputs),
    );
    for (const tr of main.querySelectorAll("tbody tr")) {
      const button = tr.querySelector("td button");
      tr.classList.toggle("selected", Boolean(button && button.textContent === `v${version}`));
    }
  } catch (e) {
    into.replaceChildren(problemBox(e));
  }
}

// -- actions (each asks for a reason, then confirms) ---------------------------------------

function openDialog(title, body, confirmLabel, onConfirm, options = {}) {
  const reason = h("textarea", { id: "reason", required: true, maxlength: 1000,
    placeholder: "Why? It goes to the audit log." });
  const problem = h("div", { "aria-live": "assertive" });
  const confirm = h("button", { class: options.danger ? "danger" : "primary", type: "submit",
    id: "confirm" }, confirmLabel);
  const form = h("form", {
    method: "dialog",
    onsubmit: async (event) => {
      event.preventDefault();
      if (!reason.value.trim()) { problem.replaceChildren(h("p", { class: "error" }, "Say why (a reason is required).")); reason.focus(); return; }
      confirm.disabled = true;
      problem.replaceChildren(h("p", { class: "muted" }, "Working…"));
      try {
        const message = await onConfirm(reason.value.trim(), problem);
        if (message) {
          dialog.close();
          say(message);
          render();
        } else {
          confirm.disabled = false;
        }
      } catch (e) {
        problem.replaceChildren(problemBox(e));
        confirm.disabled = false;
      }
    },
  },
  h("h2", { id: "dialog-title" }, title),
  body,
  h("label", { for: "reason" }, "Reason (required)"),
  reason,
  problem,
  h("div", { class: "actions" },
    h("button", { type: "button", onclick: () => dialog.close() }, "Cancel"),
    confirm));
  dialog.replaceChildren(form);
  dialog.showModal();
  (options.focus || reason).focus();
  return { confirm, problem };
}

function gateTable(report) {
  return [
    h("p", { class: report.passed ? "ok" : "bad", id: "gate-verdict" },
      h("strong", {}, report.passed ? "The gate passes" : "The gate fails"),
      ` — ${report.candidate} against ${report.champion || "no current version"} (${report.alias})`),
    table(null, ["Check", "Result", "Detail"], report.checks.map((c) => [
      c.name, h("span", { class: c.passed ? "ok" : "bad" }, c.passed ? "pass" : "fail"), c.detail])),
  ];
}

function promoteDialog(name, version, aliases) {
  const alias = h("input", { id: "alias", value: "production", required: true, maxlength: 64,
    list: "known-aliases" });
  const known = h("datalist", { id: "known-aliases" },
    [...new Set(["production", "staging", ...Object.keys(aliases)])].map((a) => h("option", { value: a })));
  const force = h("input", { id: "force", type: "checkbox" });
  const forceLabel = h("label", { class: "inline", for: "force", hidden: true }, force,
    "Promote even though the gate fails (the reason is recorded as the override)");
  const report = h("div", { id: "gate-report", "aria-live": "polite" });
  let passed = false;
  const runGate = async () => {
    ui.confirm.disabled = true;
    report.replaceChildren(h("p", { class: "muted" }, "Running the promotion gate…"));
    try {
      const result = await api(`/api/models/${enc(name)}/gate`, {
        method: "POST", body: { version, alias: alias.value.trim() } });
      passed = result.passed;
      report.replaceChildren(...gateTable(result));
      forceLabel.hidden = passed;
      ui.confirm.disabled = !passed && !force.checked;
    } catch (e) {
      report.replaceChildren(problemBox(e));
    }
  };
  force.addEventListener("change", () => { ui.confirm.disabled = !passed && !force.checked; });
  alias.addEventListener("change", runGate);
  const ui = openDialog(
    `Promote ${name} v${version}`,
    [h("p", { class: "sub" }, "The promotion gate judges the candidate against the version the alias points at now; the alias moves only if it passes."),
      h("label", { for: "alias" }, "Alias", alias), known, report, forceLabel],
    "Promote",
    async (reason) => {
      try {
        // expect: the version this page shows for the alias (0: unset), so a move made by
        // someone else since the page was drawn is refused (409) instead of replaced.
        const target = alias.value.trim();
        const expect = Object.hasOwn(aliases, target) ? aliases[target] : 0;
        const result = await api(`/api/models/${enc(name)}/promote`, {
          method: "POST", body: { version, alias: target, reason, force: force.checked, expect } });
        return `${name}@${target} → v${version}${result.forced ? " (forced past the gate)" : ""}`;
      } catch (e) {
        if (e.body && e.body.report) { report.replaceChildren(...gateTable(e.body.report)); forceLabel.hidden = false; }
        throw e;
      }
    },
    { focus: alias },
  );
  runGate();
}

function rollbackDialog(name, alias, version) {
  openDialog(
    `Roll back ${name}@${alias}`,
    h("p", {}, `${name}@${alias} points at v${version} now; rolling back points it at the version it pointed at before. Servers swap within seconds.`),
    "Roll back",
    async (reason) => {
      const event = await api(`/api/models/${enc(name)}/rollback`, {
        method: "POST", body: { alias, reason, expect: version } });
      return `${name}@${alias}: v${event.from_version} → v${event.to_version}`;
    },
    { danger: true },
  );
}

function rolloutDialog(endpoint, step, rollout) {
  const what = { pause: "Pause", resume: "Resume", abort: "Abort" }[step];
  const effect = {
    pause: "The rollout stays at its current weight and stops advancing until resumed.",
    resume: "The rollout carries on from its current step; the step's interval starts again.",
    abort: "The candidate's traffic goes back to the baseline: the routes are restored as they were before the rollout.",
  }[step];
  openDialog(
    `${what} the rollout of ${rollout.plan.candidate} on ${endpoint}`,
    h("p", {}, effect),
    `${what} rollout`,
    async (reason) => {
      const result = await api(`/api/endpoints/${enc(endpoint)}/rollout/${step}`, {
        method: "POST", body: { reason } });
      return `rollout ${result.state} at ${result.weight} %`;
    },
    { danger: step === "abort" },
  );
}

// -- pages: endpoints -------------------------------------------------------------------------

async function endpointsPage() {
  const endpoints = await api("/api/endpoints");
  const rows = endpoints.map((e) => [
    link(`#/endpoints/${enc(e.name)}`, e.name),
    e.serving || "—",
    routesText(e.routes),
    num(e.queued_rows),
    e.load_error ? h("span", { class: "bad" }, e.load_error) : "—",
  ]);
  return [
    h("h1", {}, "Endpoints"),
    h("p", { class: "sub" }, "As this server process serves them."),
    table(null, ["Endpoint", "Serving", "Routes", "Queued rows", "Load error"], rows,
      { numeric: [3], empty: "No endpoints yet: `modelyard endpoint create`." }),
  ];
}

function routesText(routes) {
  return (routes || []).map((r) => `${r.model}${r.role && r.role !== "primary" ? ` (${r.role})` : ""} ${r.weight ?? ""}%`.trim()).join(", ") || "—";
}

function periodPicker(path, since, extra = {}) {
  const select = h("select", { id: "period", onchange: () => go(path, { ...extra, since: select.value }) },
    PERIODS.map((p) => h("option", { value: p, selected: p === since }, `last ${p}`)));
  return h("label", { for: "period" }, "Period", select);
}

function splitBar(parts) {
  const total = parts.reduce((s, p) => s + p.value, 0);
  if (!total) return h("p", { class: "muted" }, "No traffic in this period.");
  return h("div", { class: "split", role: "img",
    "aria-label": parts.map((p) => `${p.label} ${Math.round((100 * p.value) / total)} percent`).join(", ") },
  parts.filter((p) => p.value > 0).map((p, i) => h("span", {
    style: `width:${(100 * p.value) / total}%;background:${COLORS[i % COLORS.length]}`,
    title: `${p.label}: ${((100 * p.value) / total).toFixed(1)} %` },
  `${p.label} ${((100 * p.value) / total).toFixed(0)}%`)));
}

function qualityText(q) {
  if (!q || !q.labeled) return "—";
  for (const key of ["accuracy", "f1", "roc_auc", "mae", "rmse", "r2"]) {
    if (q[key] !== undefined && q[key] !== null) return `${key} ${num(q[key], 4)}`;
  }
  return `${q.labeled} labelled`;
}

function series(versions, pick, name) {
  return versions.map((v, i) => ({
    type: "scatter", mode: "lines+markers", name: name ? name(v) : v.version,
    x: (v.timeline || []).map((p) => p.bucket_start),
    y: (v.timeline || []).map((p) => pick(p, v)),
    line: { color: COLORS[i % COLORS.length], width: 2 }, marker: { size: 4 },
  }));
}

async function endpointPage(name, query) {
  loadPlotly().catch(() => {});  // fetch the chart library while the API answers
  const since = PERIODS.includes(query.get("since")) ? query.get("since") : "1h";
  const base = `/api/endpoints/${enc(name)}`;
  const [status, monitor, rollout, abtest, policies] = await Promise.all([
    api(base), api(`${base}/monitor?since=${since}`), optional(`${base}/rollout`),
    optional(`${base}/abtest`), optional(`${base}/policies`),
  ]);
  const versions = monitor.versions;
  const requests = versions.reduce((s, v) => s + v.requests, 0);
  const seconds = (new Date(monitor.until) - new Date(monitor.since)) / 1000;
  const top = versions[0];
  const perVersion = versions.map((v) => [
    v.version, num(v.requests), pct(requests ? v.requests / requests : null),
    num(v.requests / (seconds / 60), 3), ms(v.latency_ms.p50), ms(v.latency_ms.p95),
    ms(v.latency_ms.p99), pct(v.error_rate), pct(v.drift_share),
    v.top_drifted.length ? v.top_drifted.slice(0, 3).join(", ") : "—",
    qualityText(v.quality), pct(v.feedback.coverage),
  ]);
  const rate = (p, v) => (p.requests ?? 0) / ((v.timeline_seconds || 60) / 60);
  const charts = versions.length ? h("div", { class: "charts" },
    chart("Requests per minute", "requests per minute per version over the period",
      series(versions, rate), { yaxis: { rangemode: "tozero" } }),
    chart("Latency (ms): p50, p95, p99", "latency percentiles per version over the period",
      versions.flatMap((v, i) => ["p50", "p95", "p99"].map((q, j) => ({
        type: "scatter", mode: "lines", name: `${v.version} ${q}`,
        x: v.timeline.map((p) => p.bucket_start), y: v.timeline.map((p) => p.latency_ms?.[q] ?? null),
        line: { color: COLORS[i % COLORS.length], dash: ["dot", "solid", "dash"][j], width: 2 },
      }))), { yaxis: { rangemode: "tozero" } }),
    chart("Error rate (5xx)", "share of requests answered with a server error per version",
      series(versions, (p) => p.error_rate ?? null),
      { yaxis: { tickformat: ".1%", range: [0, Math.max(0.01, ...versions.flatMap((v) => v.timeline.map((p) => p.error_rate ?? 0))) * 1.15] } }),
    chart("Drift share", "share of features drifting per version",
      series(versions, (p) => p.drift_share ?? null), { yaxis: { tickformat: ".0%", range: [0, 1] } }),
  ) : h("p", { class: "muted" }, "No traffic in this period.");
  return [
    h("p", {}, link("#/endpoints", "← Endpoints")),
    h("h1", {}, name),
    h("div", { class: "row" }, periodPicker(`/endpoints/${enc(name)}`, since),
      link(`#/endpoints/${enc(name)}/drift?since=${since}`, "Drift by feature →"),
      link(`#/audit?target=${enc(`endpoint:${name}`)}`, "Audit log →")),
    h("h2", {}, "Traffic split"),
    h("p", { class: "sub" }, `Configured routes: ${routesText(status.routes)} · serving ${status.serving || "—"}`),
    h("p", { class: "muted" }, "Requests answered per version in this period:"),
    splitBar(versions.map((v) => ({ label: v.version, value: v.requests }))),
    h("div", { class: "cards" },
      card("Requests", num(requests),
        `${num(versions.reduce((s, v) => s + v.rows, 0))} rows · ${num(requests / (seconds / 60), 3)} per minute over ${since}`),
      card("p50 / p95 / p99", top ? `${num(top.latency_ms.p50)} / ${num(top.latency_ms.p95)} / ${num(top.latency_ms.p99)}` : "—", top ? `ms, ${top.version}` : null),
      card("Error rate", top ? pct(top.error_rate) : "—", top ? top.version : null),
      card("Drift share", top ? pct(top.drift_share) : "—", top && top.top_drifted.length ? `top: ${top.top_drifted.slice(0, 3).join(", ")}` : null),
      card("Quality", top ? qualityText(top.quality) : "—", top ? `feedback on ${pct(top.feedback.coverage)} of rows` : null)),
    h("h2", {}, "Per version"),
    table(null, ["Version", "Requests", "Share", "Per min", "p50", "p95", "p99", "Errors",
      "Drift share", "Top drifted", "Quality", "Feedback"], perVersion,
    { numeric: [1, 2, 3, 4, 5, 6, 7, 8], empty: "No traffic in this period." }),
    charts,
    rolloutSection(name, rollout),
    abtestSection(abtest),
    policySection(policies),
  ];
}

function rolloutSection(endpoint, rollout) {
  if (!rollout) return [h("h2", {}, "Rollout"), h("p", { class: "muted" }, "No rollout has run on this endpoint.")];
  const live = rollout.state === "running" || rollout.state === "paused";
  const button = (step, label, danger) => h("button", {
    class: danger ? "danger" : null, disabled: !canWrite(),
    title: canWrite() ? null : "needs a key with the write scope",
    onclick: () => rolloutDialog(endpoint, step, rollout) }, label);
  return [
    h("h2", {}, "Rollout"),
    facts([
      ["State", h("strong", { id: "rollout-state" }, rollout.state)],
      ["Candidate", rollout.plan.candidate],
      ["Baseline", rollout.plan.baseline],
      ["Step", `${rollout.step} of ${rollout.plan.steps.length}: ${rollout.weight} % to the candidate (steps ${rollout.plan.steps.join(", ")})`],
      ["Checks", rollout.plan.checks.join("; ") || "—"],
      ["Step started", when(rollout.step_started_at)],
      ["Last word", rollout.message || "—"],
    ]),
    live ? h("div", { class: "row" },
      rollout.state === "running" ? button("pause", "Pause…") : button("resume", "Resume…"),
      button("abort", "Abort…", true)) : null,
    table("Steps and decisions, newest first", ["When", "Action", "By", "Detail"],
      (rollout.history || []).slice(0, 12).map((e) => [when(e.at), e.action, e.actor,
        e.details.message || e.details.reason || JSON.stringify(e.details.checks || {})])),
  ];
}

function abtestSection(report) {
  if (!report) return null;
  const arm = (a) => `${a.version}: n=${num(a.n)}, ${report.metric} ${num(a.value ?? a.mean ?? a.rate, 4)}`;
  return [
    h("h2", {}, "A/B test"),
    facts([
      ["State", report.state],
      ["Metric", report.metric],
      ["A", arm(report.arms.a)],
      ["B", arm(report.arms.b)],
      ["B − A", report.difference ? `${num(report.difference.estimate, 4)} [${num(report.difference.low, 4)}, ${num(report.difference.high, 4)}]` : "—"],
      ["Test", report.test ? `${report.test}: p = ${num(report.p_value, 3)}${report.significant ? " (significant)" : ""}` : "—"],
      ["Warnings", report.warnings.length ? report.warnings.join("; ") : "—"],
    ]),
  ];
}

function policySection(data) {
  if (!data || !data.policies.length) return null;
  return [
    h("h2", {}, "Policies"),
    table(null, ["Id", "When", "Then", "State"], data.policies.map((p) => [
      String(p.id), p.condition, p.action?.kind ?? JSON.stringify(p.action), p.state?.status ?? JSON.stringify(p.state ?? {})])),
  ];
}

// -- pages: drift -----------------------------------------------------------------------------

async function driftPage(name, query) {
  loadPlotly().catch(() => {});  // fetch the chart library while the API answers
  const since = PERIODS.includes(query.get("since")) ? query.get("since") : "1h";
  const monitor = await api(`/api/endpoints/${enc(name)}/monitor?since=${since}&histograms=true`);
  const versions = monitor.versions.filter((v) => v.drift);
  const header = [
    h("p", {}, link(`#/endpoints/${enc(name)}?since=${since}`, `← ${name}`)),
    h("h1", {}, `Drift on ${name}`),
  ];
  if (!versions.length) {
    return [...header, h("div", { class: "row" }, periodPicker(`/endpoints/${enc(name)}/drift`, since)),
      h("p", { class: "muted" }, "No traffic with a reference profile in this period.")];
  }
  const version = versions.find((v) => v.version === query.get("version")) || versions[0];
  const features = version.drift.features;
  const feature = features.find((f) => f.feature === query.get("feature"))
    || features.find((f) => f.verdict === "drift") || features[0];
  const extra = { version: version.version, feature: feature.feature };
  const versionSelect = h("select", { id: "drift-version",
    onchange: () => go(`/endpoints/${enc(name)}/drift`, { since, version: versionSelect.value }) },
  versions.map((v) => h("option", { value: v.version, selected: v === version }, v.version)));
  const featureSelect = h("select", { id: "drift-feature",
    onchange: () => go(`/endpoints/${enc(name)}/drift`, { since, version: version.version, feature: featureSelect.value }) },
  features.map((f) => h("option", { value: f.feature, selected: f === feature }, f.feature)));
  const rows = features.map((f) => [
    h("a", { href: `#/endpoints/${enc(name)}/drift?${new URLSearchParams({ since, version: version.version, feature: f.feature })}` }, f.feature),
    f.kind, f.test, num(f.values[f.test], 4), num(f.threshold, 3),
    h("span", { class: f.verdict === "drift" ? "bad" : f.verdict === "ok" ? "ok" : "muted" }, f.verdict),
    num(f.current_rows),
  ]);
  const histogram = version.histograms?.[feature.feature];
  return [
    ...header,
    h("div", { class: "row" }, periodPicker(`/endpoints/${enc(name)}/drift`, since, extra),
      h("label", { for: "drift-version" }, "Version", versionSelect),
      h("label", { for: "drift-feature" }, "Feature", featureSelect)),
    h("p", { class: "sub" }, `Drift share ${pct(version.drift.drift_share)} (alarm at ${pct(version.drift.drift_share_threshold)}) · verdict ${version.drift.verdict}`),
    h("div", { class: "charts" },
      histogram ? histogramChart(feature.feature, histogram) : h("p", { class: "muted" }, "No histogram for this feature."),
      driftOverTime(version, feature)),
    table(`Every feature of ${version.version}`, ["Feature", "Kind", "Test", "Value", "Threshold",
      "Verdict", "Rows"], rows, { numeric: [3, 4, 6] }),
  ];
}

function driftOverTime(version, feature) {
  const { test, threshold } = version.timeline_drift_tests[feature.kind];
  const x = version.timeline.map((p) => p.bucket_start);
  return chart(`${test} of ${feature.feature} over time`,
    `the ${test} value per time bucket, with the threshold ${threshold}`,
    [
      { type: "scatter", mode: "lines+markers", name: test, x,
        y: version.timeline.map((p) => p.drift_scores?.[feature.feature] ?? null),
        line: { color: COLORS[0] } },
      { type: "scatter", mode: "lines", name: `threshold ${threshold}`, x: [x[0], x.at(-1)],
        y: [threshold, threshold], line: { color: COLORS[4], dash: "dash" } },
    ], { yaxis: { rangemode: "tozero" } });
}

function histogramChart(feature, hist) {
  const share = (counts) => {
    const total = counts.reduce((s, c) => s + c, 0) || 1;
    return counts.map((c) => c / total);
  };
  if (hist.type === "numeric") {  // steps over the bins on a numeric axis
    // The reference's bins hold equal shares of its rows (unequal widths): plot density.
    const widths = hist.edges.slice(0, -1).map((e, i) => hist.edges[i + 1] - e);
    const density = (counts) => {
      const d = share(counts).map((p, i) => p / (widths[i] || 1));
      return [...d, d.at(-1)];
    };
    return chart(`${feature}: reference vs current`, "density of rows per bin, reference and current",
      [
        { type: "scatter", mode: "lines", name: "reference", x: hist.edges, y: density(hist.reference),
          line: { shape: "hv", color: "#6b7a8c", width: 1 }, fill: "tozeroy", fillcolor: "rgba(107,122,140,0.3)" },
        { type: "scatter", mode: "lines", name: "current", x: hist.edges, y: density(hist.current),
          line: { shape: "hv", color: COLORS[0], width: 2 } },
      ], { yaxis: { title: { text: "density" }, rangemode: "tozero" } });
  }
  const labels = hist.categories.map(plotText);
  return chart(`${feature}: reference vs current`, "share of rows per category, reference and current",
    [
      { type: "bar", name: "reference", x: labels, y: share(hist.reference), marker: { color: "#8a99ab" } },
      { type: "bar", name: "current", x: labels, y: share(hist.current), marker: { color: COLORS[0] } },
    ], { barmode: "group", yaxis: { tickformat: ".0%" } });
}

// -- pages: audit ---------------------------------------------------------------------------

async function auditPage(query) {
  const filters = { target: query.get("target") || "", action: query.get("action") || "",
    actor: query.get("actor") || "" };
  const before = query.get("before");
  const params = new URLSearchParams({ limit: "50" });
  for (const [k, v] of Object.entries(filters)) if (v) params.set(k, v);
  if (before) params.set("before", before);
  const data = await api(`/api/audit?${params}`);
  const inputs = Object.fromEntries(Object.keys(filters).map((k) =>
    [k, h("input", { id: `audit-${k}`, value: filters[k], maxlength: k === "target" ? 256 : 128 })]));
  const rows = data.events.map((e) => [
    num(e.seq), when(e.at), e.actor, e.action, e.target, e.details.reason || "—",
    h("details", {}, h("summary", {}, "details"), h("pre", {}, JSON.stringify(e.details, null, 2))),
  ]);
  return [
    h("h1", {}, "Audit log"),
    h("p", { class: "sub" }, "Every change to the yard: who, when, what and why. Newest first."),
    h("form", { class: "row", role: "search",
      onsubmit: (ev) => {
        ev.preventDefault();
        go("/audit", Object.fromEntries(Object.entries(inputs).map(([k, el]) => [k, el.value.trim()])));
      } },
    h("label", { for: "audit-target" }, "Target (churn, churn@3, endpoint:churn-api)", inputs.target),
    h("label", { for: "audit-action" }, "Action (promote, gate.*)", inputs.action),
    h("label", { for: "audit-actor" }, "Actor", inputs.actor),
    h("button", { type: "submit" }, "Filter")),
    table(null, ["#", "When", "Actor", "Action", "Target", "Reason", ""], rows,
      { numeric: [0], empty: "No event matches." }),
    h("nav", { class: "pager", "aria-label": "Pages" },
      before ? h("button", { onclick: () => go("/audit", filters) }, "Newest") : null,
      data.next_before ? h("button", { onclick: () => go("/audit", { ...filters, before: data.next_before }) }, "Older →") : null),
  ];
}

render();

// The console's pages: a hash router (#/dashboard, #/customers, ...) over
// one <main>. Every page reads and acts through api.js; every value is put
// on the page as text (dom.js). USER sees no action buttons; a refused
// action (403) is said in words.
import * as api from "./api.js";
import { h, clear, say, loadStripeJs } from "./dom.js";
import { formatMoney, formatTime, formatDate, parseMoney, setTenantLocale } from "./money.js";

const main = document.getElementById("main");
const PAGE_SIZE = 20;

// ------------------------------------------------------------ helpers

function errorText(e) {
  if (e instanceof api.ApiError) {
    if (e.status === 403) return `Your role (${api.currentRole() || "none"}) may not do this: ask an administrator.`;
    // A PATCH or DELETE sent with the version the page showed (If-Match).
    if (e.status === 412) return "This was changed meanwhile by someone else: reload the page to see it, then try again.";
    if (e.status === 0 || e.status >= 500) return "The server failed to complete the request. Try again.";
    return e.message;
  }
  return "The server could not be reached. Check the connection and try again.";
}

// A form whose fields show the API's field errors next to them.
function field(label, name, attrs) {
  const id = "f-" + name + "-" + Math.random().toString(36).slice(2, 8);
  const err = h("p", { class: "field-error", id: id + "-err", "data-field": name, hidden: true });
  let input;
  if (attrs && attrs.options) {
    input = h("select", { id, name, required: attrs.required, "aria-describedby": id + "-err" },
      attrs.options.map(([v, t]) => h("option", { value: v }, t)));
    if (attrs.value !== undefined) input.value = attrs.value;
  } else {
    input = h("input", Object.assign({ id, name, "aria-describedby": id + "-err" }, attrs || {}));
  }
  return h("div", { class: "field" }, h("label", { for: id }, label), input, err);
}

function showErrors(form, e) {
  for (const p of form.querySelectorAll(".field-error")) { p.hidden = true; p.textContent = ""; }
  for (const i of form.querySelectorAll("[aria-invalid]")) i.removeAttribute("aria-invalid");
  const general = form.querySelector(".form-error");
  general.textContent = "";
  let placed = false;
  if (e instanceof api.ApiError) {
    for (const fe of e.errors) {
      const top = String(fe.field || "").split(/[.[]/)[0];
      const slot = form.querySelector(`.field-error[data-field="${CSS.escape(top)}"]`);
      if (slot) {
        slot.textContent = fe.message;
        slot.hidden = false;
        const input = form.querySelector(`[name="${CSS.escape(top)}"]`);
        if (input) { input.setAttribute("aria-invalid", "true"); if (!placed) input.focus(); }
        placed = true;
      }
    }
  }
  if (!placed) general.textContent = errorText(e);
}

// A refusal found before any request (an amount that is no amount), shown
// next to its field like the API's own.
function fieldRefusal(name, message) {
  return new api.ApiError(400, { detail: message, code: "invalid_request", errors: [{ field: name, message }] });
}

function form(label, fields, submitText, onSubmit) {
  const f = h("form", { class: "form", "aria-label": label, novalidate: true },
    fields, h("p", { class: "form-error", role: "alert" }),
    h("button", { type: "submit" }, submitText));
  f.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const button = f.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      await onSubmit(Object.fromEntries(new FormData(f).entries()), f);
      showErrors(f, null);
      f.querySelector(".form-error").textContent = "";
    } catch (e) {
      showErrors(f, e);
    } finally {
      button.disabled = false;
    }
  });
  return f;
}

// A destructive action asks first: the button opens a confirmation with the
// consequence in words; Escape or "Keep" closes it.
function confirmButton(text, question, run, after) {
  const wrap = h("span", { class: "confirm-wrap" });
  const open = h("button", { type: "button", class: "action" }, text);
  const err = h("span", { class: "inline-error", role: "alert" });
  open.addEventListener("click", () => {
    const yes = h("button", { type: "button", class: "danger" }, "Yes, " + text.toLowerCase());
    const no = h("button", { type: "button" }, "Keep");
    const box = h("span", { class: "confirm", role: "group", "aria-label": "Confirm " + text },
      h("span", {}, question + " "), yes, no);
    const close = () => { box.remove(); open.hidden = false; open.focus(); };
    no.addEventListener("click", close);
    box.addEventListener("keydown", (ev) => { if (ev.key === "Escape") close(); });
    yes.addEventListener("click", async () => {
      yes.disabled = true;
      try {
        const said = await run();
        say(typeof said === "string" ? said : text + ": done.");
        after();
      } catch (e) {
        err.textContent = errorText(e);
        close();
      }
    });
    open.hidden = true;
    wrap.insertBefore(box, err);
    yes.focus();
  });
  wrap.append(open, err);
  return wrap;
}

function table(caption, heads, rows, empty) {
  if (!rows.length) return h("p", { class: "empty" }, empty);
  return h("div", { class: "table-wrap" }, h("table", {},
    h("caption", { class: "visually-hidden" }, caption),
    h("thead", {}, h("tr", {}, heads.map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c) => h("td", {}, c)))))));
}

function page(title, ...children) {
  clear(main);
  document.title = title + " · libbilling console";
  main.append(h("h1", {}, title), ...children);
  main.focus();
}

function failed(e) {
  main.append(h("p", { class: "form-error", role: "alert" }, errorText(e)));
}

function statusBadge(s) {
  return h("span", { class: "badge badge-" + String(s).replace(/[^a-z_]/g, "") }, s);
}

// ------------------------------------------------------------ login

function loginPage() {
  document.getElementById("nav").hidden = true;
  document.getElementById("who").hidden = true;
  page("Log in", form("Log in", [
    field("E-mail", "email", { type: "email", autocomplete: "username", required: true }),
    field("Password", "password", { type: "password", autocomplete: "current-password", required: true }),
  ], "Log in", async (v) => {
    await api.login(v.email, v.password);
    // The tenant's locale, for amounts, once per login (a USER reads it).
    setTenantLocale((await api.get("/v1/branding")).locale);
    document.getElementById("nav").hidden = false;
    document.getElementById("who").hidden = false;
    document.getElementById("who-role").textContent = "Role: " + api.currentRole();
    if (location.hash === "#/dashboard") route(); else location.hash = "#/dashboard";
  }));
}

// ------------------------------------------------------------ dashboard

async function currencies() {
  const plans = await api.get("/v1/plans", { pageSize: 100 });
  const set = new Set(plans.data.map((p) => p.currency));
  return set.size ? [...set].sort() : ["EUR"];
}

function monthsBefore(iso, k) {
  const t = new Date(iso);
  t.setUTCMonth(t.getUTCMonth() - k);
  return t.toISOString().replace(/\.\d{3}Z$/, "Z");
}

// The chart library, loaded once; null when it is not installed (the
// figures and tables stand alone).
let chartLib;
async function loadChartLib() {
  if (chartLib === undefined) {
    try {
      chartLib = (await import("./vendor/uPlot.esm.js")).default;
    } catch {
      chartLib = null;
    }
  }
  return chartLib;
}

// The first second (UTC) of the month k months after the one of iso.
function monthStart(iso, k) {
  const t = new Date(iso);
  return new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth() + k, 1)).toISOString().replace(/\.\d{3}Z$/, "Z");
}

// A report month is a calendar month in UTC: named in UTC, so that a user
// west of Greenwich does not see it as the month before.
function monthName(iso) {
  return new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", timeZone: "UTC" }).format(new Date(iso));
}

// The same for an axis, where twelve names share the width: the month, and
// the year under January's and the first month's.
function monthTick(iso, first) {
  const t = new Date(iso);
  const month = new Intl.DateTimeFormat(undefined, { month: "short", timeZone: "UTC" }).format(t);
  return first || t.getUTCMonth() === 0 ? month + "\n" + t.getUTCFullYear() : month;
}

function chartWidth(holder) {
  return Math.max(280, Math.min(720, holder.clientWidth || 600));
}

// A money cell whose figure a test (or a script) reads back exactly.
function moneyCell(minor, currency, attrs) {
  return h("span", Object.assign({ "data-minor": String(minor) }, attrs || {}), formatMoney(minor, currency));
}

async function mrrChart(currency, at, holder) {
  const uPlot = await loadChartLib();
  if (!uPlot) return;
  const times = [];
  for (let k = 11; k >= 0; k--) times.push(k === 0 ? at : monthsBefore(at, k));
  const reports = await Promise.all(times.map((when) => api.get("/v1/reports/mrr", { currency, at: when })));
  const points = times.map((when, i) => [Math.floor(Date.parse(when) / 1000), reports[i].mrr]);
  const fig = h("figure", { class: "chart" },
    h("figcaption", {}, `MRR over the last 12 months (${currency})`));
  holder.append(fig);
  const width = chartWidth(holder);
  // Plotted in minor units (integers); the axis labels are formatted money.
  new uPlot({
    width, height: 220,
    series: [{}, { label: "MRR", stroke: "#1d4ed8", width: 2,
      value: (u, v) => v === null ? "—" : formatMoney(v, currency) }],
    axes: [{}, { size: 90, values: (u, vals) => vals.map((v) => formatMoney(Math.round(v), currency)) }],
  }, [points.map((p) => p[0]), points.map((p) => p[1])], fig);
  // The same figures as a table, for screen readers and small screens.
  fig.append(h("details", {}, h("summary", {}, "MRR by month as a table"),
    table("MRR by month", ["Month", "MRR"],
      points.map((p) => [formatDate(new Date(p[0] * 1000).toISOString()), formatMoney(p[1], currency)]), "")));
}

// MRR movements of the last 12 months (GET /v1/reports/mrr-movements) as
// grouped bars: five bars per month (new, expansion, contraction, churned,
// reactivated; contraction and churned below zero), and the same figures
// as a table.
const MOVEMENTS = [["new", "New", "#15803d"], ["expansion", "Expansion", "#1d4ed8"],
  ["contraction", "Contraction", "#b45309"], ["churned", "Churned", "#b91c1c"],
  ["reactivated", "Reactivated", "#7c3aed"]];
const SLOTS = MOVEMENTS.length + 1;   // the bars of a month, then a gap

async function movementsChart(currency, at, holder) {
  const r = await api.optional("/v1/reports/mrr-movements", { currency, from: monthStart(at, -11), to: monthStart(at, 1) });
  if (!r) return;
  const months = r.months || [];
  const fig = h("figure", { class: "chart", "data-chart": "mrr-movements", "data-currency": currency },
    h("figcaption", {}, `MRR movements per month, last 12 months (${currency})`));
  holder.append(fig);
  const uPlot = await loadChartLib();
  if (uPlot && months.length) {
    // One x slot per bar: month i's movement k at i * SLOTS + k.
    const xs = [];
    for (let i = 0; i < months.length * SLOTS; i++) xs.push(i);
    const ys = MOVEMENTS.map(([key], k) => xs.map((x) => (x % SLOTS === k ? months[Math.floor(x / SLOTS)][key] : null)));
    const label = (x) => (x === null || x === undefined ? "—" : monthName(months[Math.min(months.length - 1, Math.max(0, Math.floor(x / SLOTS)))].start));
    new uPlot({
      width: chartWidth(holder), height: 240,
      scales: { x: { time: false, range: [-1, months.length * SLOTS - 1] } },
      series: [{ label: "Month", value: (u, x) => label(x) }].concat(MOVEMENTS.map(([, name, color]) => ({
        label: name, fill: color, stroke: color, width: 0, fillTo: 0,
        paths: uPlot.paths.bars({ size: [0.9, 24] }), points: { show: false },
        value: (u, v) => (v === null ? "—" : formatMoney(v, currency)),
      }))),
      axes: [
        { splits: () => months.map((m, i) => i * SLOTS + (MOVEMENTS.length - 1) / 2),
          values: (u, vals) => vals.map((x, i) => monthTick(months[Math.floor(x / SLOTS)].start, i === 0)) },
        { size: 90, values: (u, vals) => vals.map((v) => formatMoney(Math.round(v), currency)) },
      ],
    }, [xs].concat(ys), fig);
  }
  fig.append(h("details", {}, h("summary", {}, "MRR movements by month as a table"),
    table("MRR movements by month", ["Month"].concat(MOVEMENTS.map(([, name]) => name), ["MRR at the end"]),
      months.map((m) => [monthName(m.start)].concat(MOVEMENTS.map(([key]) =>
        moneyCell(m[key], currency, { "data-month": m.start, "data-movement": key })),
      [moneyCell(m.endMrr, currency, { "data-month": m.start, "data-movement": "endMrr" })])), "No months.")));
}

// Receivables ageing now (GET /v1/reports/receivables-aging): the open
// invoices' amount due by days past due, as bars and as a table shown
// beside them.
const BUCKETS = [["current", "Not yet due"], ["days1To30", "1–30 days"], ["days31To60", "31–60 days"],
  ["days61To90", "61–90 days"], ["daysOver90", "Over 90 days"]];

async function agingChart(currency, holder) {
  const r = await api.optional("/v1/reports/receivables-aging", { currency });
  if (!r) return;
  const fig = h("figure", { class: "chart", "data-chart": "receivables-aging", "data-currency": currency },
    h("figcaption", {}, `Receivables ageing (${currency}): ${r.invoices} open ${r.invoices === 1 ? "invoice" : "invoices"}, ${r.invoicesPastDue} past due`));
  holder.append(fig);
  const uPlot = await loadChartLib();
  if (uPlot) {
    new uPlot({
      width: chartWidth(holder), height: 200,
      scales: { x: { time: false, range: [-0.6, BUCKETS.length - 0.4] } },
      series: [{ label: "Bucket", value: (u, x) => (x === null ? "—" : BUCKETS[x][1]) },
        { label: "Amount due", fill: "#1d4ed8", stroke: "#1d4ed8", width: 0, fillTo: 0,
          paths: uPlot.paths.bars({ size: [0.6, 60] }), points: { show: false },
          value: (u, v) => (v === null ? "—" : formatMoney(v, currency)) }],
      axes: [
        { splits: () => BUCKETS.map((b, i) => i), values: (u, vals) => vals.map((i) => (BUCKETS[i] ? BUCKETS[i][1] : "")) },
        { size: 90, values: (u, vals) => vals.map((v) => formatMoney(Math.round(v), currency)) },
      ],
    }, [BUCKETS.map((b, i) => i), BUCKETS.map(([key]) => r[key])], fig);
  }
  fig.append(table("Receivables ageing", ["Past due", "Amount due"],
    BUCKETS.map(([key, name]) => [name, moneyCell(r[key], currency, { "data-bucket": key })])
      .concat([["Total", moneyCell(r.total, currency, { "data-bucket": "total" })]]), ""));
}

async function dashboardPage() {
  page("Dashboard");
  try {
    for (const currency of await currencies()) {
      const r = await api.optional("/v1/reports/mrr", { currency });
      if (!r) {
        main.append(h("p", {}, "This server has no revenue reports."));
        return;
      }
      const section = h("section", { class: "card", "aria-labelledby": "mrr-" + currency },
        h("h2", { id: "mrr-" + currency }, `Revenue in ${currency}`),
        h("dl", { class: "figures" },
          h("div", {}, h("dt", {}, "MRR"),
            h("dd", { class: "headline", "data-report": "mrr", "data-currency": currency, "data-minor": String(r.mrr) },
              formatMoney(r.mrr, currency))),
          h("div", {}, h("dt", {}, "ARR"), h("dd", {}, formatMoney(r.arr, currency))),
          h("div", {}, h("dt", {}, "Active subscriptions"), h("dd", {}, String(r.subscriptions))),
          h("div", {}, h("dt", {}, "Paying customers"), h("dd", {}, String(r.customers)))),
        h("p", { class: "note" }, "As of " + formatTime(r.at)));
      main.append(section);
      await mrrChart(currency, r.at, section);
      await movementsChart(currency, r.at, section);
      await agingChart(currency, section);
    }
  } catch (e) {
    failed(e);
  }
}

// ------------------------------------------------------------ customers

async function customersPage(params) {
  const search = params.get("search") || "";
  const pageNo = Math.max(1, parseInt(params.get("page") || "1", 10) || 1);
  const searchForm = h("form", { class: "search", role: "search", "aria-label": "Search customers" },
    h("label", { for: "customer-search" }, "Search by name or e-mail"),
    h("input", { id: "customer-search", name: "search", type: "search", value: search }),
    h("button", { type: "submit" }, "Search"));
  searchForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams({ search: searchForm.search.value });
    location.hash = "#/customers?" + q.toString();
  });
  page("Customers", searchForm);
  if (api.isAdmin()) {
    main.append(h("details", { class: "card" }, h("summary", {}, "New customer"),
      form("New customer", [
        field("Name", "name", { required: true, autocomplete: "off" }),
        field("E-mail", "email", { type: "email", required: true, autocomplete: "off" }),
      ], "Create customer", async (v) => {
        const c = await api.post("/v1/customers", { name: v.name, email: v.email });
        say("Customer created.");
        location.hash = "#/customers/" + encodeURIComponent(c.id);
      })));
  }
  try {
    const list = await api.get("/v1/customers", { search, page: pageNo, pageSize: PAGE_SIZE, sortBy: "createdAt" });
    main.append(table("Customers", ["Name", "E-mail", "Created"], list.data.map((c) => [
      h("a", { href: "#/customers/" + encodeURIComponent(c.id) }, c.name), c.email, formatDate(c.createdAt),
    ]), search ? "No customer matches." : "No customers yet."));
    const nav = h("nav", { class: "pager", "aria-label": "Pages" });
    const q = (p) => "#/customers?" + new URLSearchParams({ search, page: String(p) }).toString();
    if (pageNo > 1) nav.append(h("a", { href: q(pageNo - 1) }, "Previous page"));
    nav.append(h("span", {}, `Page ${list.page || pageNo} of ${Math.max(1, list.totalPages || 1)}`));
    if (list.hasMore) nav.append(h("a", { href: q(pageNo + 1) }, "Next page"));
    main.append(nav);
  } catch (e) {
    failed(e);
  }
}

const SUB = (s, action) => "/v1/subscriptions/" + encodeURIComponent(s.id) + (action ? "/" + action : "");

function subscriptionActions(s, refresh) {
  if (!api.isAdmin()) return "";
  const out = h("span", { class: "actions" });
  if (["active", "trialing", "past_due", "unpaid"].includes(s.status)) {
    out.append(confirmButton("Pause", "Billing stops until the subscription is resumed; nothing is credited.",
      () => api.post(SUB(s, "pause"), {}), refresh));
  } else if (s.status === "paused") {
    out.append(confirmButton("Resume", "A new period starts now and is invoiced at once.",
      () => api.post(SUB(s, "resume")), refresh));
  }
  if (["active", "trialing", "past_due", "unpaid", "paused"].includes(s.status)) {
    if (s.cancelAtPeriodEnd) {
      out.append(confirmButton("Undo cancellation", "Keep the subscription after this period?",
        () => api.patch("/v1/subscriptions/" + encodeURIComponent(s.id), { cancelAtPeriodEnd: false }), refresh));
    } else {
      out.append(confirmButton("Cancel at period end",
        `The subscription ends on ${formatDate(s.currentPeriodEnd)}; it can be undone until then.`,
        () => api.post("/v1/subscriptions/" + encodeURIComponent(s.id) + "/cancel", { atPeriodEnd: true }), refresh));
    }
    out.append(confirmButton("Cancel now", "The subscription ends at once, with no refund. This cannot be undone.",
      () => api.post("/v1/subscriptions/" + encodeURIComponent(s.id) + "/cancel", { atPeriodEnd: false }), refresh));
  }
  return out;
}

// Change a subscription's plan or quantity (its first item): "Preview
// change" asks GET /v1/subscription-items/preview and shows the lines and
// the total the change would invoice; only "Confirm change" applies it
// (PATCH /v1/subscription-items/{id}) with the preview's proration date, so
// the amounts are the ones shown.
function changeForm(s, plans, planName, refresh) {
  const item = (s.items && s.items[0]) || null;
  if (!item) return null;
  const choices = plans.filter((p) => p.active && p.currency === s.currency && p.interval === plans.find((q) => q.id === item.planId)?.interval);
  const shown = h("div", { class: "preview", "aria-live": "polite" });
  const label = "Change plan or quantity of " + (planName.get(item.planId) || item.planId);
  let f;
  const fields = [
    field("New plan", "planId", { required: true, value: item.planId, options: (choices.length ? choices : plans.filter((p) => p.id === item.planId))
      .map((p) => [p.id, p.name + (p.amount !== null && p.amount !== undefined ? " (" + formatMoney(p.amount, p.currency) + ")" : "")]) }),
    field("New quantity", "quantity", { type: "number", min: 1, max: 10000, value: item.quantity, inputmode: "numeric" }),
  ];
  f = form(label, fields, "Preview change", async (v) => {
    clear(shown);
    const change = { prorationBehavior: "create_prorations" };
    if (v.planId !== item.planId) change.planId = v.planId;
    const q = parseInt(v.quantity, 10);
    if (!/^\d+$/.test(String(v.quantity).trim()) || q < 1 || q > 10000) throw fieldRefusal("quantity", "quantity must be a whole number from 1 to 10000");
    if (q !== item.quantity) change.quantity = q;
    if (change.planId === undefined && change.quantity === undefined) throw fieldRefusal("planId", "Choose another plan or another quantity.");
    // The item's version before the preview is computed (the subscription's
    // items carry none): the confirmation sends it as If-Match, so a change
    // made by someone else after the preview is refused (412), not applied
    // over amounts the page did not show.
    const current = await api.get("/v1/subscription-items/" + encodeURIComponent(item.id));
    const p = await api.get("/v1/subscription-items/preview", Object.assign({ subscriptionId: s.id, subscriptionItemId: item.id }, change));
    const first = (p.lines || []).find((l) => l.periodStart);
    if (first) change.prorationDate = first.periodStart;
    const err = h("p", { class: "inline-error", role: "alert" });
    const yes = h("button", { type: "button", class: "danger" }, "Confirm change");
    const no = h("button", { type: "button" }, "Keep");
    no.addEventListener("click", () => { clear(shown); f.querySelector("button[type=submit]").focus(); });
    yes.addEventListener("click", async () => {
      yes.disabled = true;
      try {
        await api.patch("/v1/subscription-items/" + encodeURIComponent(item.id), change, current.version);
        say("Subscription changed.");
        refresh();
      } catch (e) {
        err.textContent = errorText(e);
        yes.disabled = false;
      }
    });
    shown.append(h("h3", {}, "What the change invoices"),
      table("The change's lines", ["Line", "Period", "Amount"], (p.lines || []).map((l) => [l.description,
        `${formatDate(l.periodStart)} – ${formatDate(l.periodEnd)}`, formatMoney(l.amount, p.currency)]), "No line: nothing is invoiced for the change."),
      h("dl", { class: "facts" },
        h("dt", {}, "Total of the change"), h("dd", { class: "preview-total", "data-minor": String(p.total) }, formatMoney(p.total, p.currency)),
        h("dt", {}, "Due now"), h("dd", {}, formatMoney(p.amountDue, p.currency))),
      h("p", {}, "Nothing has changed yet. "), yes, " ", no, err);
    yes.focus();
  });
  f.addEventListener("input", () => clear(shown));
  return h("details", { class: "card change" }, h("summary", {}, label), f, shown);
}

// An invoice's or a credit note's document, fetched with the token and
// handed over as a blob: URL (the token in no URL, nothing in storage).
function documentButton(text, path, accept, name, cls) {
  const open = h("button", { type: "button", class: "action" }, text);
  open.addEventListener("click", async () => {
    open.disabled = true;
    try {
      const blob = await api.fetchDocument(path, accept);
      const url = URL.createObjectURL(blob);
      const a = accept === "application/pdf"
        ? h("a", { href: url, target: "_blank", rel: "noopener", class: cls, "data-type": blob.type }, "Open " + name)
        : h("a", { href: url, download: name, class: cls }, "Save " + name);
      open.replaceWith(a);
      a.click();
      a.focus();
      say("Document ready.");
    } catch (e) {
      open.disabled = false;
      say(errorText(e));
    }
  });
  return open;
}

// Issue a credit note on a finalized invoice: an amount (tax included, at
// most what is left), a reason, a memo. On a paid invoice it all goes to the
// customer's balance (the API's default); refunds stay with the API.
function creditNoteForm(inv, refresh) {
  const reasons = [["", "(none)"], ["duplicate", "duplicate"], ["fraudulent", "fraudulent"],
    ["order_change", "order change"], ["product_unsatisfactory", "product unsatisfactory"]];
  const f = form("Credit note for " + (inv.number || inv.id), [
    field(`Amount in ${inv.currency}, tax included`, "amount", { required: true, inputmode: "decimal", autocomplete: "off" }),
    field("Reason", "reason", { options: reasons }),
    field("Memo", "memo", { autocomplete: "off" }),
  ], "Issue credit note", async (v) => {
    const amount = parseMoney(v.amount, inv.currency);
    if (amount === null || amount <= 0) throw fieldRefusal("amount", `amount must be a positive amount in ${inv.currency}, like ${formatMoney(inv.total, inv.currency)}`);
    const body = { invoiceId: inv.id, amount };
    if (v.reason) body.reason = v.reason;
    if (v.memo) body.memo = v.memo;
    const cn = await api.post("/v1/credit-notes", body);
    say(`Credit note ${cn.number} issued: ${formatMoney(cn.total, cn.currency)}.`);
    refresh();
  });
  return h("details", { class: "inline-form" }, h("summary", {}, "Issue credit note"), f);
}

function invoiceActions(inv, refresh) {
  const out = h("span", { class: "actions" });
  const doc = "/v1/invoices/" + encodeURIComponent(inv.id);
  out.append(documentButton("Download HTML", doc + "/html", "text/html", (inv.number || inv.id) + ".html", "doc-link"),
    documentButton("Open PDF", doc + "/pdf", "application/pdf", (inv.number || inv.id) + ".pdf", "pdf-link"));
  if (!api.isAdmin()) return out;
  if (["pending", "failed", "uncollectible"].includes(inv.status)) {
    out.append(confirmButton("Pay out of band",
      `Record ${formatMoney(inv.amountDue, inv.currency)} as paid outside the provider (cash, bank transfer)?`,
      () => api.post("/v1/invoices/" + encodeURIComponent(inv.id) + "/pay", { paidOutOfBand: true }), refresh));
    out.append(confirmButton("Void", "A void invoice is never collected. This cannot be undone.",
      () => api.post("/v1/invoices/" + encodeURIComponent(inv.id) + "/void"), refresh));
  }
  if (["pending", "paid", "failed", "uncollectible"].includes(inv.status)) out.append(creditNoteForm(inv, refresh));
  return out;
}

function invoiceRows(list, refresh, withCustomer) {
  return list.map((inv) => {
    const row = [inv.number || "(draft)", statusBadge(inv.status), formatMoney(inv.total, inv.currency),
      formatMoney(inv.amountDue, inv.currency), `${formatDate(inv.periodStart)} – ${formatDate(inv.periodEnd)}`];
    if (withCustomer) row.splice(1, 0, h("a", { href: "#/customers/" + encodeURIComponent(inv.customerId) }, inv.customerId));
    row.push(invoiceActions(inv, refresh));
    return row;
  });
}

// A customer's events (GET /v1/events?customerId=), newest first, a page
// at a time: "Older events" adds the next page (keyset, the API's cursor).
// Times in the user's time zone; the object linked where the console has a
// page for it (invoices and credit notes have their lists; the customer
// and its subscriptions and payments are on this page).
const EVENT_PAGE = 20;

function eventObject(e) {
  const d = e.data || {};
  const name = d.number || e.resourceId;
  if (e.resourceType === "invoice") {
    return h("a", { href: "#/invoices?" + new URLSearchParams({ status: d.status || "" }).toString() }, "Invoice " + name);
  }
  if (e.resourceType === "credit_note") return h("a", { href: "#/credit-notes" }, "Credit note " + name);
  if (e.resourceType === "customer") return "This customer";
  return h("span", {}, String(e.resourceType).replace(/_/g, " ") + " ", h("code", {}, e.resourceId));
}

function eventsSection(id) {
  const section = h("section", { class: "card", "aria-labelledby": "c-events" }, h("h2", { id: "c-events" }, "Events"));
  const body = h("tbody", {});
  const more = h("button", { type: "button", class: "more-events", hidden: true }, "Older events");
  const err = h("p", { class: "form-error", role: "alert" });
  let cursor = null;
  const load = async () => {
    more.disabled = true;
    try {
      const list = await api.get("/v1/events", { customerId: id, order: "desc", pageSize: EVENT_PAGE, startingAfter: cursor });
      for (const e of list.data) {
        body.append(h("tr", { "data-event": e.id }, h("td", {}, h("code", {}, e.type)),
          h("td", {}, h("time", { datetime: e.createdAt }, formatTime(e.createdAt))), h("td", {}, eventObject(e))));
      }
      cursor = list.hasMore ? list.nextCursor : null;
      more.hidden = !cursor;
      if (!body.firstChild) section.replaceChildren(section.firstChild, h("p", { class: "empty" }, "No events."));
    } catch (e) {
      err.textContent = errorText(e);
    } finally {
      more.disabled = false;
    }
  };
  more.addEventListener("click", load);
  section.append(h("div", { class: "table-wrap" }, h("table", {},
    h("caption", { class: "visually-hidden" }, "The customer's events, newest first"),
    h("thead", {}, h("tr", {}, ["Event", "When", "Object"].map((t) => h("th", { scope: "col" }, t)))), body)),
  more, err);
  load();
  return section;
}

// A customer's stored payment methods (GET /v1/payment-methods?customerId=):
// the card as the provider reported it. The customer's default is the
// provider's id its defaultPaymentMethod holds (PATCH stores that for a
// cpm_ id). An ADMIN makes another one the default (PATCH the customer,
// If-Match its version) or detaches one that is not the default (DELETE:
// detached at the provider, then deleted; the API refuses the default).
function isDefaultMethod(c, pm) {
  return !!c.defaultPaymentMethod && (c.defaultPaymentMethod === pm.providerPaymentMethodId || c.defaultPaymentMethod === pm.id);
}

// ------------------------------------------------------------ adding a card
//
// The API's flow (docs/http-api.md "Payment methods and SetupIntents"):
// POST /v1/setup-intents {customerId}; the provider confirms the SetupIntent
// in the browser; POST /v1/payment-methods {customerId,
// providerPaymentMethodId}; optionally PATCH the customer's default. No card
// number ever reaches the console or the server: with Stripe it is typed
// into Stripe.js's own frame; the test provider has no card numbers at all.

// The test provider's cards (src/providers/test/test_provider.c, cards[];
// docs/payments.md "Providers"): its payment method ids script what happens
// when a card is stored and later charged.
const TEST_CARDS = [
  ["pm_card_visa", "Visa ending 4242: charges succeed"],
  ["pm_card_mastercard", "Mastercard ending 4444: charges succeed"],
  ["pm_card_amex", "American Express ending 8431: charges succeed"],
  ["pm_card_chargeDeclined", "Visa ending 0002: stored, but its charges are declined (card_declined)"],
  ["pm_card_insufficientFunds", "Visa ending 9995: stored, but its charges are declined (insufficient_funds)"],
  ["pm_card_authenticationRequired", "Visa ending 3184: stored; its charges need 3-D Secure authentication"],
  ["pm_card_processing", "Visa ending 0077: stored; its charges succeed an hour later"],
  ["pm_card_visa_exp_2020_01", "Visa ending 4242, expired 01/2020: the provider's card is refused (expired_card)"],
];

// The refusals of adding a card, in words; the API's own message follows.
function cardRefusal(e) {
  if (!(e instanceof api.ApiError)) return e;
  const words = {
    expired_card: "This card has expired, so it cannot be stored",
    attached_elsewhere: "This card belongs to another customer at the payment provider, so it cannot be stored here",
    resource_missing: "The payment provider has no such card",
    no_provider: "The server has no payment provider, so no card can be added",
  }[e.code];
  if (!words) return e;
  const message = words + (e.message && !/^HTTP \d+$/.test(e.message) ? " (" + e.message + ")." : ".");
  const errors = e.errors.length ? e.errors.map((fe) => ({ field: fe.field, message })) : [];
  return new api.ApiError(e.status, { detail: message, code: e.code, errors });
}

// Stores the provider's payment method, then makes it the default when
// asked (the customer read again: the SetupIntent may have written its
// provider customer id, a new version).
async function storeCard(c, providerPaymentMethodId, makeDefault) {
  let pm;
  try {
    pm = await api.post("/v1/payment-methods", { customerId: c.id, providerPaymentMethodId });
  } catch (e) {
    throw cardRefusal(e);
  }
  if (makeDefault) {
    const now = await api.get("/v1/customers/" + encodeURIComponent(c.id));
    await api.patch("/v1/customers/" + encodeURIComponent(c.id), { defaultPaymentMethod: pm.id }, now.version);
  }
  return pm;
}

function defaultBox() {
  const id = "f-make-default-" + Math.random().toString(36).slice(2, 8);
  return h("div", { class: "field field-check" },
    h("input", { id, name: "makeDefault", type: "checkbox", value: "yes" }),
    h("label", { for: id }, "Make it the customer's default card (renewals charge it)"));
}

// The test provider's confirmation: pick one of its cards.
function testCardForm(c, intent, done, cancel) {
  const f = form("Add a card", [
    field("Test card", "providerPaymentMethodId", { required: true, options: TEST_CARDS }),
    defaultBox(),
  ], "Save card", async (v) => {
    const pm = await storeCard(c, v.providerPaymentMethodId, v.makeDefault === "yes");
    done(pm);
  });
  f.dataset.setupIntent = intent.id;
  f.prepend(h("p", { class: "note" }, "The test payment provider: choose one of its test cards. No card number is typed or sent."));
  f.append(cancel);
  return f;
}

// Stripe: the card is typed into Stripe.js's Card Element (Stripe's frame),
// the SetupIntent confirmed there (3-D Secure included), and only the
// payment method's id comes back to the console. account: the tenant's
// connected account (Connect), else null.
async function stripeCardForm(c, intent, cfg, account, done, cancel) {
  const Stripe = await loadStripeJs().catch(() => {
    throw refusal("Stripe's card field could not be loaded from js.stripe.com: check the connection and try again.");
  });
  const stripe = account ? Stripe(cfg.stripePublishableKey, { stripeAccount: account }) : Stripe(cfg.stripePublishableKey);
  const card = stripe.elements().create("card");
  const labelId = "card-label-" + Math.random().toString(36).slice(2, 8);
  const mount = h("div", { class: "card-element", role: "group", "aria-labelledby": labelId });
  const err = h("p", { class: "field-error", "data-field": "card", role: "alert", hidden: true });
  const f = form("Add a card", [
    h("div", { class: "field" }, h("span", { id: labelId }, "Card (typed into Stripe's own field; it never reaches this server)"), mount, err),
    defaultBox(),
  ], "Save card", async (v) => {
    const r = await stripe.confirmCardSetup(intent.clientSecret, { payment_method: { card } });
    if (r.error) {
      // Stripe's own words: a declined card, an incomplete number, a failed 3-D Secure.
      throw new api.ApiError(402, { detail: r.error.message, code: r.error.code || r.error.type, errors: [{ field: "card", message: r.error.message }] });
    }
    const pmId = typeof r.setupIntent.payment_method === "string" ? r.setupIntent.payment_method : r.setupIntent.payment_method.id;
    done(await storeCard(c, pmId, v.makeDefault === "yes"));
  });
  f.append(cancel);
  card.mount(mount);
  return f;
}

// A refusal found by the page itself, said as it is.
function refusal(message) {
  return Object.assign(new Error(message), { refusal: true });
}

// With Stripe: the connected account Stripe.js acts for (null: the
// platform's own), or a refusal in words when the console cannot show
// Stripe's field for this tenant.
async function stripeAccountFor(cfg) {
  if (!cfg.stripePublishableKey) {
    throw refusal("The server has no STRIPE_PUBLISHABLE_KEY, so Stripe's card field cannot be shown: ask whoever runs it (docs/console.md).");
  }
  try {
    const pa = await api.get("/v1/provider-account");
    if (pa.apiKeyLast4) {
      throw refusal("This tenant uses its own Stripe account, whose publishable key the server does not have: add the card there, then store it with POST /v1/payment-methods.");
    }
    return pa.account || null;
  } catch (e) {
    if (e instanceof api.ApiError && e.status === 404) return null;   // the server's account
    throw e;
  }
}

// "Add a card" on a customer's page (ADMIN): the SetupIntent first, then
// the provider's confirmation step in place of the button.
function addCard(c, refresh) {
  const wrap = h("div", { class: "add-card" });
  const open = h("button", { type: "button", class: "action", id: "add-card" }, "Add a card");
  const err = h("p", { class: "form-error", role: "alert" });
  const reset = () => {
    for (const el of [...wrap.children]) if (el !== err) el.remove();
    wrap.insertBefore(open, err);
    open.disabled = false;
    open.focus();
  };
  open.addEventListener("click", async () => {
    open.disabled = true;
    err.textContent = "";
    try {
      const cfg = await api.consoleConfig();
      const stripe = cfg.provider === "stripe";
      const account = stripe ? await stripeAccountFor(cfg) : null;
      const intent = await api.post("/v1/setup-intents", { customerId: c.id }).catch((e) => { throw cardRefusal(e); });
      const cancel = h("button", { type: "button" }, "Cancel");
      cancel.addEventListener("click", reset);
      const done = (pm) => { say(`Card added: ${(pm.card && pm.card.brand) || "card"} ending ${(pm.card && pm.card.last4) || ""}.`); refresh(); };
      const step = stripe ? await stripeCardForm(c, intent, cfg, account, done, cancel) : testCardForm(c, intent, done, cancel);
      open.remove();
      wrap.insertBefore(step, err);
      step.querySelector("select, input, button").focus();
    } catch (e) {
      err.textContent = e.refusal ? e.message : errorText(e);
      open.disabled = false;
    }
  });
  wrap.append(open, err);
  return wrap;
}

function paymentMethodsSection(c, methods, refresh) {
  const heads = ["Brand", "Card", "Expires", "Default"].concat(api.isAdmin() ? ["Actions"] : []);
  return h("section", { class: "card", "aria-labelledby": "c-pms" }, h("h2", { id: "c-pms" }, "Payment methods"),
    table("Payment methods", heads, methods.map((pm) => {
      const card = pm.card || {};
      const dflt = isDefaultMethod(c, pm);
      const row = [h("span", { class: "pm-brand" }, card.brand || pm.type || "—"),
        h("span", { class: "pm-last4" }, "ending " + (card.last4 || "")),
        card.expMonth ? String(card.expMonth).padStart(2, "0") + "/" + card.expYear : "—",
        dflt ? "default" : "no"];
      if (api.isAdmin()) {
        const label = (card.brand || "card") + " ending " + (card.last4 || "");
        row.push(dflt ? "" : h("span", { class: "actions" },
          confirmButton("Make default", `Invoices of ${c.name} are charged to the ${label} from now on.`,
            () => api.patch("/v1/customers/" + encodeURIComponent(c.id), { defaultPaymentMethod: pm.id }, c.version), refresh),
          confirmButton("Detach", `The ${label} is detached at the provider and deleted; it cannot be charged again. This cannot be undone.`,
            () => api.del("/v1/payment-methods/" + encodeURIComponent(pm.id)), refresh)));
      }
      return row;
    }), "No payment methods."),
    api.isAdmin() ? addCard(c, refresh) : null);
}

async function customerPage(id) {
  const refresh = () => customerPage(id);
  page("Customer");
  try {
    const c = await api.get("/v1/customers/" + encodeURIComponent(id));
    const [subs, invs, plans, notes, methods] = await Promise.all([
      api.get("/v1/subscriptions", { customerId: id, pageSize: 100 }),
      api.get("/v1/invoices", { customerId: id, pageSize: 100 }),
      api.get("/v1/plans", { pageSize: 100 }),
      api.get("/v1/credit-notes", { customerId: id, pageSize: 100 }),
      api.get("/v1/payment-methods", { customerId: id, pageSize: 100 }),
    ]);
    // The payments list filters by invoice: one request per invoice shown.
    const payments = (await Promise.all(invs.data.map((inv) =>
      api.get("/v1/payments", { invoiceId: inv.id, pageSize: 100 })))).flatMap((l) => l.data);
    const invNumber = new Map(invs.data.map((inv) => [inv.id, inv.number || "(draft)"]));
    const planName = new Map(plans.data.map((p) => [p.id, p.name]));
    main.querySelector("h1").textContent = c.name;
    document.title = c.name + " · libbilling console";
    const balances = Object.entries(c.balances || {});
    main.append(h("section", { class: "card", "aria-labelledby": "c-about" },
      h("h2", { id: "c-about" }, "Customer"),
      h("dl", { class: "facts" },
        h("dt", {}, "Name"), h("dd", { class: "customer-name" }, c.name),
        h("dt", {}, "E-mail"), h("dd", {}, c.email),
        h("dt", {}, "Id"), h("dd", {}, h("code", {}, c.id)),
        h("dt", {}, "Balance"), h("dd", {}, balances.length
          ? balances.map(([cur, amt]) => formatMoney(amt, cur) + (amt < 0 ? " credit" : "")).join(", ")
          : "none"))));
    const subSection = h("section", { class: "card", "aria-labelledby": "c-subs" }, h("h2", { id: "c-subs" }, "Subscriptions"),
      table("Subscriptions", ["Plan", "Status", "Quantity", "Current period", "Actions"],
        subs.data.map((s) => [planName.get(s.planId) || s.planId, h("span", { class: "sub-status" }, statusBadge(s.status), s.cancelAtPeriodEnd ? " (ends at period end)" : ""),
          String(s.quantity), `${formatDate(s.currentPeriodStart)} – ${formatDate(s.currentPeriodEnd)}`,
          subscriptionActions(s, refresh)]), "No subscriptions."));
    if (api.isAdmin()) {
      for (const s of subs.data) {
        if (!["active", "trialing", "past_due", "unpaid"].includes(s.status)) continue;
        const f = changeForm(s, plans.data, planName, refresh);
        if (f) subSection.append(f);
      }
    }
    const live = plans.data.filter((p) => p.active);
    if (api.isAdmin() && live.length) {
      subSection.append(form("Subscribe", [
        field("Plan", "planId", { required: true, options: live.map((p) => [p.id,
          `${p.name} (${p.amount !== null && p.amount !== undefined ? formatMoney(p.amount, p.currency) : "tiered"} / ${p.intervalCount > 1 ? p.intervalCount + " " : ""}${String(p.interval).toLowerCase()})`]) }),
        field("Quantity", "quantity", { type: "number", min: 1, max: 10000, value: 1, inputmode: "numeric" }),
      ], "Subscribe", async (v) => {
        await api.post("/v1/subscriptions", { customerId: id, planId: v.planId, quantity: parseInt(v.quantity, 10) });
        say("Subscribed.");
        refresh();
      }));
    }
    main.append(paymentMethodsSection(c, methods.data, refresh), subSection, h("section", { class: "card", "aria-labelledby": "c-invs" }, h("h2", { id: "c-invs" }, "Invoices"),
      table("Invoices", ["Number", "Status", "Total", "Due", "Period", "Actions"], invoiceRows(invs.data, refresh, false), "No invoices.")),
    h("section", { class: "card", "aria-labelledby": "c-pays" }, h("h2", { id: "c-pays" }, "Payments"),
      table("Payments", ["Invoice", "Status", "Amount", "Refunded", "Method", "When"], payments.map((p) => [
        invNumber.get(p.invoiceId) || p.invoiceId, statusBadge(p.status), formatMoney(p.amount, p.currency),
        formatMoney(p.refundedAmount, p.currency), p.paymentMethod || "—", formatTime(p.createdAt)]), "No payments.")),
    h("section", { class: "card", "aria-labelledby": "c-notes" }, h("h2", { id: "c-notes" }, "Credit notes"),
      table("Credit notes", ["Number", "Invoice", "Status", "Total", "Reason", "Issued", "Document"],
        creditNoteRows(notes.data, invNumber), "No credit notes.")),
    eventsSection(id));
  } catch (e) {
    failed(e);
  }
}

// ------------------------------------------------------------ invoices

const STATUSES = ["", "draft", "pending", "paid", "failed", "void", "uncollectible"];

async function invoicesPage(params) {
  const status = params.get("status") || "";
  const filter = h("form", { class: "search", "aria-label": "Filter invoices" },
    h("label", { for: "invoice-status" }, "Status"),
    h("select", { id: "invoice-status", name: "status" },
      STATUSES.map((s) => { const o = h("option", { value: s }, s || "any"); if (s === status) o.selected = true; return o; })),
    h("button", { type: "submit" }, "Filter"));
  filter.addEventListener("submit", (ev) => {
    ev.preventDefault();
    location.hash = "#/invoices?" + new URLSearchParams({ status: filter.status.value }).toString();
  });
  page("Invoices", filter);
  try {
    const list = await api.get("/v1/invoices", { status, pageSize: 50 });
    main.append(table("Invoices", ["Number", "Customer", "Status", "Total", "Due", "Period", "Actions"],
      invoiceRows(list.data, () => invoicesPage(params), true), "No invoices."));
  } catch (e) {
    failed(e);
  }
}

// ------------------------------------------------------------ credit notes

function creditNoteRows(list, invNumber) {
  return list.map((cn) => [cn.number, invNumber ? (invNumber.get(cn.invoiceId) || cn.invoiceId) : cn.invoiceId,
    statusBadge(cn.status), formatMoney(cn.total, cn.currency), cn.reason || "—", formatDate(cn.createdAt),
    documentButton("Open PDF", "/v1/credit-notes/" + encodeURIComponent(cn.id) + "/pdf", "application/pdf", cn.number + ".pdf", "pdf-link")]);
}

async function creditNotesPage() {
  page("Credit notes");
  try {
    const [list, invs] = await Promise.all([api.get("/v1/credit-notes", { pageSize: 50 }), api.get("/v1/invoices", { pageSize: 100 })]);
    const invNumber = new Map(invs.data.map((inv) => [inv.id, inv.number || "(draft)"]));
    main.append(table("Credit notes", ["Number", "Invoice", "Status", "Total", "Reason", "Issued", "Document"],
      creditNoteRows(list.data, invNumber), "No credit notes."));
  } catch (e) {
    failed(e);
  }
}

// ------------------------------------------------------------ products and plans

function planPrice(p) {
  const every = `${p.intervalCount > 1 ? p.intervalCount + " " : ""}${String(p.interval).toLowerCase()}`;
  return (p.billingScheme === "tiered" ? "tiered" : formatMoney(p.amount, p.currency)) + " / " + every;
}

// A product: its name and SKU are required (docs/http-api.md); the price,
// currency, tax rate and stock keep the API's defaults, the plans carry
// the prices.
function productCreateForm(refresh) {
  return h("details", { class: "card change" }, h("summary", {}, "New product"), form("New product", [
    field("Name", "name", { required: true, autocomplete: "off" }),
    field("SKU (A-Z, 0-9, . _ or -)", "sku", { required: true, autocomplete: "off" }),
    field("Description", "description", { autocomplete: "off" }),
  ], "Create product", async (v) => {
    const body = { name: v.name, sku: v.sku };
    if (v.description.trim()) body.description = v.description;
    await api.post("/v1/products", body);
    say("Product created.");
    refresh();
  }));
}

// Its name and description, sent with the version shown (If-Match): a
// change made meanwhile is refused in words, nothing overwritten. An empty
// description removes it (null).
function productEditForm(p, refresh) {
  return h("details", { class: "inline-form" }, h("summary", {}, "Edit"), form("Edit product " + p.name, [
    field("Name", "name", { required: true, autocomplete: "off", value: p.name }),
    field("Description", "description", { autocomplete: "off", value: p.description || "" }),
  ], "Save product", async (v) => {
    const body = {};
    if (v.name !== p.name) body.name = v.name;
    const description = v.description.trim() ? v.description : null;
    if (description !== (p.description || null)) body.description = description;
    if (!Object.keys(body).length) throw fieldRefusal("name", "Nothing changed: edit the name or the description.");
    await api.patch("/v1/products/" + encodeURIComponent(p.id), body, p.version);
    say("Product saved.");
    refresh();
  }));
}

async function catalogPage() {
  const refresh = () => catalogPage();
  page("Products and plans");
  try {
    const [products, plans] = await Promise.all([api.get("/v1/products", { pageSize: 100 }), api.get("/v1/plans", { pageSize: 100 })]);
    const productName = new Map(products.data.map((p) => [p.id, p.name]));
    const productSection = h("section", { class: "card", "aria-labelledby": "cat-products" }, h("h2", { id: "cat-products" }, "Products"),
      table("Products", ["Name", "SKU", "Description", "Tax rate", "Active"].concat(api.isAdmin() ? ["Actions"] : []),
        products.data.map((p) => [h("span", { class: "product-name" }, p.name), h("code", {}, p.sku), p.description || "—", p.taxRate,
          p.isActive ? "yes" : "no"].concat(api.isAdmin() ? [productEditForm(p, refresh)] : [])), "No products."));
    if (api.isAdmin()) productSection.append(productCreateForm(refresh));
    main.append(productSection);
    const section = h("section", { class: "card", "aria-labelledby": "cat-plans" }, h("h2", { id: "cat-plans" }, "Plans"),
      table("Plans", ["Name", "Code", "Product", "Price", "Trial days", "Active", "Actions"], plans.data.map((p) => [
        p.name, h("code", {}, p.code), productName.get(p.productId) || p.productId, planPrice(p), String(p.trialDays || 0),
        h("span", { class: "plan-active" }, p.active ? "yes" : "no"),
        api.isAdmin() ? (p.active
          ? confirmButton("Deactivate", "No new subscription can take the plan; the subscriptions on it go on.",
            () => api.patch("/v1/plans/" + encodeURIComponent(p.id), { active: false }), refresh)
          : confirmButton("Activate", "New subscriptions can take the plan again.",
            () => api.patch("/v1/plans/" + encodeURIComponent(p.id), { active: true }), refresh)) : "",
      ]), "No plans."));
    main.append(section);
    if (api.isAdmin() && products.data.length) {
      section.append(h("details", { class: "card change" }, h("summary", {}, "New plan"), form("New plan", [
        field("Product", "productId", { required: true, options: products.data.map((p) => [p.id, p.name]) }),
        field("Code (A-Z, 0-9, _ or -)", "code", { required: true, autocomplete: "off" }),
        field("Name", "name", { required: true, autocomplete: "off" }),
        field("Currency", "currency", { required: true, value: "EUR", autocomplete: "off" }),
        field("Price per interval", "amount", { required: true, inputmode: "decimal", autocomplete: "off" }),
        field("Interval", "interval", { options: [["MONTH", "month"], ["YEAR", "year"], ["WEEK", "week"], ["DAY", "day"]] }),
      ], "Create plan", async (v) => {
        const currency = String(v.currency).trim().toUpperCase();
        try { formatMoney(0, currency); } catch { throw fieldRefusal("currency", "currency must be an ISO 4217 code, like EUR"); }
        const amount = parseMoney(v.amount, currency);
        if (amount === null || amount <= 0) throw fieldRefusal("amount", `amount must be a positive amount in ${currency}, like 9.99`);
        await api.post("/v1/plans", { productId: v.productId, code: v.code, name: v.name, currency, amount, interval: v.interval });
        say("Plan created.");
        refresh();
      })));
    }
  } catch (e) {
    failed(e);
  }
}

// ------------------------------------------------------------ webhooks

// Disable or enable (PATCH enabled, If-Match the version shown), delete
// (DELETE, If-Match: its queued deliveries die); each asks first.
function endpointActions(e, refresh) {
  const path = "/v1/webhook-endpoints/" + encodeURIComponent(e.id);
  return h("span", { class: "actions" },
    e.enabled
      ? confirmButton("Disable", "No event is sent to this endpoint until it is enabled again.",
        () => api.patch(path, { enabled: false }, e.version), refresh)
      : confirmButton("Enable", "Events are sent to this endpoint again from now on.",
        () => api.patch(path, { enabled: true }, e.version), refresh),
    confirmButton("Delete", `${e.url} gets no more events and its queued deliveries die. This cannot be undone.`,
      () => api.del(path, e.version), refresh));
}

// A new endpoint: its URL and the events it wants (names or patterns such
// as invoice.* separated by commas or spaces; none is every event). The
// answer's signing secret is shown this once, in the page only.
function endpointCreateForm(refresh) {
  const secret = h("div", { class: "secret-once", role: "status" });
  const f = form("New webhook endpoint", [
    field("URL", "url", { type: "url", required: true, autocomplete: "off", inputmode: "url" }),
    field("Events (comma-separated, empty for all)", "events", { autocomplete: "off", placeholder: "invoice.paid, invoice.*" }),
    field("Description", "description", { autocomplete: "off" }),
  ], "Create endpoint", async (v) => {
    const body = { url: v.url.trim() };
    const events = v.events.split(/[\s,]+/).filter((x) => x);
    if (events.length) body.events = events;
    if (v.description.trim()) body.description = v.description;
    const e = await api.post("/v1/webhook-endpoints", body);
    say("Endpoint created.");
    await refresh();
    // The page was drawn again: the secret goes under the new form.
    const slot = main.querySelector(".secret-once");
    if (slot && e.secret) {
      slot.append(h("p", {}, `Signing secret of ${e.url}, shown this once (store it now; rotating it makes a new one): `),
        h("code", { class: "endpoint-secret" }, e.secret));
    }
  });
  // The secret stays outside the form's <details>, which the redrawn page closes.
  return [h("details", { class: "card change" }, h("summary", {}, "New endpoint"), f), secret];
}

async function webhooksPage() {
  const refresh = () => webhooksPage();
  page("Webhook endpoints");
  try {
    const list = await api.get("/v1/webhook-endpoints", { pageSize: 100 });
    main.append(table("Webhook endpoints", ["URL", "Events", "Enabled", "Description", "Deliveries"].concat(api.isAdmin() ? ["Actions"] : []),
      list.data.map((e) => [
        h("code", {}, e.url), (e.events || []).join(", ") || "all",
        h("span", { class: "endpoint-enabled" }, e.enabled ? "yes" : "no" + (e.disabledReason ? ` (${e.disabledReason})` : "")), e.description || "—",
        h("a", { href: "#/webhooks/" + encodeURIComponent(e.id) }, "Delivery log"),
      ].concat(api.isAdmin() ? [endpointActions(e, refresh)] : [])),
      api.isAdmin() ? "No webhook endpoints yet." : "No webhook endpoints."));
    if (api.isAdmin()) main.append(...endpointCreateForm(refresh));
  } catch (e) {
    failed(e);
  }
}

async function deliveriesPage(id, params) {
  const refresh = () => deliveriesPage(id, params);
  page("Delivery log");
  try {
    const e = await api.get("/v1/webhook-endpoints/" + encodeURIComponent(id));
    const status = params.get("status") || "";
    const list = await api.get("/v1/webhook-endpoints/" + encodeURIComponent(id) + "/deliveries", { status, pageSize: 100 });
    main.querySelector("h1").textContent = "Delivery log of " + e.url;
    const filter = h("form", { class: "search", "aria-label": "Filter deliveries" },
      h("label", { for: "delivery-status" }, "Status"),
      h("select", { id: "delivery-status", name: "status" },
        ["", "pending", "succeeded", "dead"].map((v) => { const o = h("option", { value: v }, v || "any"); if (v === status) o.selected = true; return o; })),
      h("button", { type: "submit" }, "Filter"));
    filter.addEventListener("submit", (ev) => {
      ev.preventDefault();
      location.hash = "#/webhooks/" + encodeURIComponent(id) + "?" + new URLSearchParams({ status: filter.status.value }).toString();
    });
    main.append(h("p", {}, h("a", { href: "#/webhooks" }, "All endpoints")), filter,
      table("Deliveries", ["Event", "Status", "Attempts", "Last answer", "Next attempt", "Created", "Actions"], list.data.map((d) => {
        const last = (d.attempts || [])[d.attempts ? d.attempts.length - 1 : 0];
        return [h("code", {}, d.eventId), statusBadge(d.status), String(d.attemptCount),
          last ? (last.statusCode ? "HTTP " + last.statusCode : (last.error || "—")) : "—",
          formatTime(d.nextAttemptAt), formatTime(d.createdAt),
          api.isAdmin() ? confirmButton("Redeliver", "The event is sent again, now, to every enabled endpoint that wants it.",
            async () => { const r = await api.post("/v1/events/" + encodeURIComponent(d.eventId) + "/redeliver"); return `Redelivery queued: ${r.deliveries} new ${r.deliveries === 1 ? "delivery" : "deliveries"}.`; }, refresh) : ""];
      }), "No deliveries."));
  } catch (e) {
    failed(e);
  }
}

// ------------------------------------------------------------ audit log

async function auditPage(params) {
  const pageNo = Math.max(1, parseInt(params.get("page") || "1", 10) || 1);
  page("Audit log");
  try {
    const list = await api.get("/v1/audit-log", { page: pageNo, pageSize: 50 });
    main.append(h("p", { class: "note" }, "Every change made through the API, oldest first."),
      table("Audit log", ["When", "User", "Role", "Operation", "Resource", "Request"], list.data.map((a) => [
        formatTime(a.at), a.userId || "—", a.role || "—", h("code", {}, a.operation), a.resourceId || "—", a.requestId || "—",
      ]), "Nothing recorded yet."));
    const nav = h("nav", { class: "pager", "aria-label": "Pages" });
    const q = (p) => "#/audit?" + new URLSearchParams({ page: String(p) }).toString();
    if (pageNo > 1) nav.append(h("a", { href: q(pageNo - 1) }, "Previous page"));
    nav.append(h("span", {}, `Page ${list.page || pageNo} of ${Math.max(1, list.totalPages || 1)}`));
    if (list.hasMore) nav.append(h("a", { href: q(pageNo + 1) }, "Next page"));
    main.append(nav);
  } catch (e) {
    failed(e);
  }
}

// ------------------------------------------------------------ test clock

async function clockPage() {
  page("Test clock");
  let now;
  try {
    now = (await api.get("/v1/test-clock")).now;
  } catch (e) {
    if (e instanceof api.ApiError && e.status === 404) {
      main.append(h("p", {}, "The test clock is off: the server runs on real time (BILLING_TEST_CLOCK=1 turns it on, in development only)."));
    } else {
      failed(e);
    }
    return;
  }
  const shown = h("p", { class: "clock-now" }, "The billing clock reads " + formatTime(now) + ".");
  const result = h("p", { role: "status" });
  const button = h("button", { type: "button", id: "advance-month" }, "Advance one month");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const to = new Date(now);
      to.setUTCMonth(to.getUTCMonth() + 1);
      const r = await api.post("/v1/test-clock/advance", { to: to.toISOString().replace(/\.\d{3}Z$/, "Z") });
      now = r.now;
      shown.textContent = "The billing clock reads " + formatTime(now) + ".";
      result.textContent = `Billing run: ${r.processed} processed, ${r.invoiced} invoiced, ${r.failed} failed.`;
    } catch (e) {
      result.textContent = errorText(e);
    } finally {
      button.disabled = false;
    }
  });
  main.append(shown, h("p", {}, "Moving the clock runs every renewal, retry and webhook due up to the new time."), button, result);
}

// ------------------------------------------------------------ router

async function route() {
  if (!api.loggedIn()) { loginPage(); return; }
  const [path, query] = (location.hash.slice(1) || "/dashboard").split("?");
  const params = new URLSearchParams(query || "");
  for (const a of document.querySelectorAll("#nav a")) {
    if (path.startsWith(a.getAttribute("href").slice(1))) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  const m = path.match(/^\/customers\/([A-Za-z0-9_-]+)$/);
  if (m) return customerPage(m[1]);
  if (path === "/customers") return customersPage(params);
  if (path === "/invoices") return invoicesPage(params);
  if (path === "/credit-notes") return creditNotesPage();
  if (path === "/catalog") return catalogPage();
  if (path === "/webhooks") return webhooksPage();
  const w = path.match(/^\/webhooks\/([A-Za-z0-9_-]+)$/);
  if (w) return deliveriesPage(w[1], params);
  if (path === "/audit") return auditPage(params);
  if (path === "/clock") return clockPage();
  return dashboardPage();
}

api.whenLoggedOut(() => { say("Logged out."); loginPage(); });
document.getElementById("logout").addEventListener("click", () => api.logout());
window.addEventListener("hashchange", route);
route();

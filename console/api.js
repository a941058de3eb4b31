// The console's one door to the server: every request goes through here,
// to the same origin's /v1 API. The bearer token lives in this module's
// memory only (never localStorage or sessionStorage, never a cookie): a
// reload or a closed tab logs out, and no other script can read it from
// storage.
let token = null;
let role = null;
let onLoggedOut = () => {};

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && problem.detail) || `HTTP ${status}`);
    this.status = status;
    this.code = (problem && problem.code) || "error";
    // [{field, message}]: shown next to the field named.
    this.errors = (problem && Array.isArray(problem.errors)) ? problem.errors : [];
  }
}

export function whenLoggedOut(fn) { onLoggedOut = fn; }
export function loggedIn() { return token !== null; }
export function currentRole() { return role; }
export function isAdmin() { return role === "ADMIN"; }

function claims(jwt) {
  const part = jwt.split(".")[1] || "";
  const b64 = part.replace(/-/g, "+").replace(/_/g, "/");
  try { return JSON.parse(atob(b64 + "===".slice((b64.length + 3) % 4))); } catch { return {}; }
}

export function logout() {
  token = null;
  role = null;
  onLoggedOut();
}

function key() {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return "console-" + Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

// A version the page read (the object's `version`, its ETag's number):
// sent as If-Match, a change made meanwhile by someone else is 412
// stale_version and nothing changes.
function tag(version) {
  return Number.isInteger(version) ? `W/"${version}"` : undefined;
}

async function call(method, path, body, accept, ifMatch) {
  const headers = { Accept: accept || "application/json" };
  if (token) headers.Authorization = "Bearer " + token;
  if (ifMatch) headers["If-Match"] = ifMatch;
  const init = { method, headers, credentials: "omit", cache: "no-store", referrerPolicy: "no-referrer" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  // A replayed POST (a double click, a retry) makes nothing twice.
  if (method === "POST") headers["Idempotency-Key"] = key();
  const r = await fetch(path, init);
  if (r.status === 401 && token) {
    logout();
  }
  if (!r.ok) {
    let problem = null;
    try { problem = await r.json(); } catch { /* not JSON */ }
    throw new ApiError(r.status, problem);
  }
  return r;
}

export async function login(email, password) {
  const r = await call("POST", "/v1/auth/login", { email, password });
  const out = await r.json();
  token = out.accessToken;
  role = claims(token).role || null;
  return role;
}

export async function get(path, query) {
  const q = query ? "?" + new URLSearchParams(
    Object.entries(query).filter(([, v]) => v !== undefined && v !== null && v !== "")).toString() : "";
  const r = await call("GET", path + (q === "?" ? "" : q));
  return r.json();
}

export async function post(path, body) {
  const r = await call("POST", path, body === undefined ? {} : body);
  return r.status === 204 ? null : r.json();
}

// version: the object's version as the page showed it (If-Match); none,
// and the last writer wins.
export async function patch(path, body, version) {
  const r = await call("PATCH", path, body, undefined, tag(version));
  return r.json();
}

export async function del(path, version) {
  await call("DELETE", path, undefined, undefined, tag(version));
  return null;
}

// A document (an invoice's HTML, an invoice's or a credit note's PDF) as a
// Blob, its type the answer's Content-Type: fetched with the token, then
// handed to the browser as a blob: URL, so that the token never goes in a
// URL (or in storage).
export async function fetchDocument(path, accept) {
  const r = await call("GET", path, undefined, accept || "text/html");
  return r.blob();
}

// The server's settings for adding a card (GET /console/config.json, no
// token: nothing secret): {provider: "test"|"stripe", stripePublishableKey}.
let pageConfig = null;
export async function consoleConfig() {
  if (pageConfig === null) {
    const r = await fetch("/console/config.json", { credentials: "omit", cache: "no-store", referrerPolicy: "no-referrer" });
    if (!r.ok) throw new ApiError(r.status, null);
    pageConfig = await r.json();
  }
  return pageConfig;
}

// "/v1/reports/mrr" answers 404 route_not_found on a server without it.
export async function optional(path, query) {
  try {
    return await get(path, query);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404 && e.code === "route_not_found") return null;
    throw e;
  }
}

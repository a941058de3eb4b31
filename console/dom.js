// The one way the console puts anything on the page: elements built with
// createElement, text with textContent (through text nodes). Data never
// reaches innerHTML, a style attribute or an event-handler attribute.
const SAFE_ATTR = /^(id|class|href|type|name|for|value|role|hidden|disabled|required|min|max|step|autocomplete|novalidate|inputmode|placeholder|scope|colspan|tabindex|download|rel|target|lang|title|datetime|aria-[a-z]+|data-[a-z-]+)$/;

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "on") {
      for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
      continue;
    }
    if (!SAFE_ATTR.test(k)) throw new Error("attribute not allowed: " + k);
    if (k === "href" && !/^(#|\/|blob:)/.test(String(v))) throw new Error("href not allowed");
    el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

let sayTimer = 0;

// A short notice in the page's live region (read out by screen readers),
// cleared after a few seconds.
export function say(text) {
  const s = document.getElementById("status");
  s.textContent = text;
  clearTimeout(sayTimer);
  sayTimer = setTimeout(() => { s.textContent = ""; }, 4000);
}

// Stripe.js, the one script the console loads from elsewhere, and only when
// the server's provider is Stripe (its policy then allows this origin, and
// no other page asks for it). Resolves to window.Stripe.
const STRIPE_JS = "https://js.stripe.com/v3/";
let stripeLoading = null;
export function loadStripeJs() {
  if (!stripeLoading) {
    stripeLoading = new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = STRIPE_JS;
      s.addEventListener("load", () => (window.Stripe ? resolve(window.Stripe) : reject(new Error("Stripe.js did not load"))));
      s.addEventListener("error", () => { stripeLoading = null; reject(new Error("Stripe.js could not be loaded from js.stripe.com")); });
      document.head.append(s);
    });
  }
  return stripeLoading;
}

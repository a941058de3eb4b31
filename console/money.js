// Amounts: integer minor units, formatted without floating point. The
// currency's number of minor digits comes from Intl; the decimal is built
// from integers (BigInt) and given to Intl.NumberFormat as a string, which
// it formats exactly.
const digitsOf = new Map();

export function minorDigits(currency) {
  if (!digitsOf.has(currency)) {
    const nf = new Intl.NumberFormat("en", { style: "currency", currency });
    digitsOf.set(currency, nf.resolvedOptions().maximumFractionDigits);
  }
  return digitsOf.get(currency);
}

export function decimalString(minor, currency) {
  const d = minorDigits(currency);
  let n = BigInt(minor);
  const neg = n < 0n;
  if (neg) n = -n;
  const scale = 10n ** BigInt(d);
  const whole = (n / scale).toString();
  const frac = d ? "." + (n % scale).toString().padStart(d, "0") : "";
  return (neg ? "-" : "") + whole + frac;
}

// "12.34" (or "12,34") in the currency's minor digits to integer minor
// units, without floating point; null for anything else (a sign, more
// digits than the currency has, letters).
export function parseMoney(text, currency) {
  const d = minorDigits(currency);
  const m = String(text).trim().match(/^(\d{1,15})(?:[.,](\d*))?$/);
  if (!m || (m[2] !== undefined && (m[2].length > d || (d === 0 && m[2] !== "")))) return null;
  const frac = (m[2] || "").padEnd(d, "0");
  return Number(BigInt(m[1]) * 10n ** BigInt(d) + BigInt(frac || "0"));
}

// The tenant's locale (GET /v1/branding's locale, read once at login):
// amounts are written in it, whoever reads them; dates are not (they stay
// in the browser's locale and time zone). One of the document locales;
// en-US until a login has read it.
let tenantLocale = "en-US";

export function setTenantLocale(locale) {
  tenantLocale = locale || "en-US";
}

export function formatMoney(minor, currency, locale) {
  if (minor === null || minor === undefined || !currency) return "—";
  const nf = new Intl.NumberFormat(locale || tenantLocale, { style: "currency", currency });
  return nf.format(decimalString(minor, currency));
}

export function formatTime(iso) {
  if (!iso) return "—";
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return String(iso);
  return new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" }).format(t);
}

export function formatDate(iso) {
  if (!iso) return "—";
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return String(iso);
  return new Intl.DateTimeFormat(undefined, { dateStyle: "medium" }).format(t);
}

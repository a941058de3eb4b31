/*
 * The locales of invoice documents (issue #24) in one table, and the
 * formatting of amounts, whole numbers, percentages and dates that every
 * renderer uses (core/document.h). The separators, the symbol's place and
 * the date order follow CLDR for these locales, simplified to what an
 * invoice needs: the minus sign is ASCII "-", dates are numeric, and a
 * currency without a symbol here is written with its ISO code.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "billing/money.h"
#include "core/calendar.h"
#include "core/core.h"
#include "core/document.h"

#define NBSP "\xc2\xa0"          /* U+00A0 NO-BREAK SPACE */
#define NNBSP "\xe2\x80\xaf"     /* U+202F NARROW NO-BREAK SPACE */

static const billing__locale locales[] = {
	{ "en-US", ".", ",", 4, 0, "", "%", BILLING__DATE_MDY, "/", {
		"Invoice", "DRAFT", "Invoice number", "Date of issue", "Date due", "Period",
		"From", "Bill to", "Tax ID", "Description", "Qty", "Unit price", "Tax", "Amount",
		"Tier", "Discount", "Subtotal", "Total", "Tax", "incl.", "Credit notes",
		"Applied balance", "Amount paid", "Amount due", "Status", "Payment instructions",
		"Please pay by", "Reverse charge: VAT to be accounted for by the recipient.", "Memo",
		"Draft", "Open", "Paid", "Payment failed", "Void", "Uncollectible",
		"Page {n} of {m}",
		"Credit note", "Credit note number", "Invoice credited", "Reason",
		"Duplicate", "Fraudulent", "Order change", "Product unsatisfactory",
		"Refunded", "Credited to balance", "Settled outside", "Issued", "Packages" } },
	{ "en-GB", ".", ",", 4, 0, "", "%", BILLING__DATE_DMY, "/", {
		"Invoice", "DRAFT", "Invoice number", "Date of issue", "Date due", "Period",
		"From", "Bill to", "VAT number", "Description", "Qty", "Unit price", "VAT", "Amount",
		"Tier", "Discount", "Subtotal", "Total", "VAT", "incl.", "Credit notes",
		"Applied balance", "Amount paid", "Amount due", "Status", "Payment instructions",
		"Please pay by", "Reverse charge: VAT to be accounted for by the recipient.", "Memo",
		"Draft", "Open", "Paid", "Payment failed", "Void", "Uncollectible",
		"Page {n} of {m}",
		"Credit note", "Credit note number", "Invoice credited", "Reason",
		"Duplicate", "Fraudulent", "Order change", "Product unsatisfactory",
		"Refunded", "Credited to balance", "Settled outside", "Issued", "Packages" } },
	{ "de-DE", ",", ".", 4, 1, NBSP, NBSP "%", BILLING__DATE_DMY, ".", {
		"Rechnung", "ENTWURF", "Rechnungsnummer", "Rechnungsdatum", "F\xc3\xa4llig am",
		"Leistungszeitraum", "Von", "Rechnung an", "USt-IdNr.", "Beschreibung", "Menge",
		"Einzelpreis", "USt.", "Betrag", "Staffel", "Rabatt", "Zwischensumme", "Gesamt",
		"Umsatzsteuer", "inkl.", "Gutschriften", "Verrechnetes Guthaben", "Bezahlt",
		"F\xc3\xa4lliger Betrag", "Status", "Zahlungshinweise", "Bitte zahlen Sie bis",
		"Steuerschuldnerschaft des Leistungsempf\xc3\xa4ngers (Reverse Charge).", "Notiz",
		"Entwurf", "Offen", "Bezahlt", "Zahlung fehlgeschlagen", "Storniert",
		"Uneinbringlich", "Seite {n} von {m}",
		"Gutschrift", "Gutschriftsnummer", "Zugeh\xc3\xb6rige Rechnung", "Grund",
		"Duplikat", "Betrug", "Bestell\xc3\xa4nderung", "Produkt mangelhaft",
		"Erstattet", "Dem Guthaben gutgeschrieben", "Anderweitig beglichen",
		"Ausgestellt", "Pakete" } },
	{ "fr-FR", ",", NNBSP, 4, 1, NBSP, NBSP "%", BILLING__DATE_DMY, "/", {
		"Facture", "BROUILLON", "Num\xc3\xa9ro de facture", "Date d\xe2\x80\x99\xc3\xa9mission",
		"Date d\342\200\231\303\251ch\303\251ance", "P\303\251riode", "De", "Factur\303\251 \303\240",
		"N\xc2\xb0 TVA", "Description", "Qt\xc3\xa9", "Prix unitaire", "TVA", "Montant",
		"Palier", "Remise", "Sous-total", "Total", "TVA", "incl.", "Avoirs",
		"Solde imput\xc3\xa9", "Montant pay\xc3\xa9", "Montant d\xc3\xbb", "Statut",
		"Instructions de paiement", "Merci de payer avant le",
		"Autoliquidation : TVA due par le preneur.", "Note",
		"Brouillon", "Ouverte", "Pay\303\251e", "Paiement \303\251chou\303\251", "Annul\303\251e",
		"Irr\303\251couvrable", "Page {n} sur {m}",
		"Avoir", "Num\303\251ro d\342\200\231avoir", "Facture d\342\200\231origine", "Motif",
		"Doublon", "Fraude", "Modification de commande", "Produit insatisfaisant",
		"Rembours\303\251", "Cr\303\251dit\303\251 sur le solde",
		"R\xc3\xa9gl\xc3\xa9 par ailleurs", "\xc3\x89mis", "Lots" } },
	{ "es-ES", ",", ".", 5, 1, NBSP, NBSP "%", BILLING__DATE_DMY, "/", {
		"Factura", "BORRADOR", "N\xc3\xbamero de factura", "Fecha de emisi\xc3\xb3n",
		"Fecha de vencimiento", "Periodo", "De", "Facturar a", "NIF-IVA", "Descripci\xc3\xb3n",
		"Cant.", "Precio unitario", "IVA", "Importe", "Tramo", "Descuento", "Subtotal", "Total",
		"IVA", "incl.", "Notas de cr\303\251dito", "Saldo aplicado", "Importe pagado",
		"Importe adeudado", "Estado", "Instrucciones de pago", "Pague antes del",
		"Inversi\xc3\xb3n del sujeto pasivo.", "Nota",
		"Borrador", "Pendiente", "Pagada", "Pago fallido", "Anulada", "Incobrable",
		"P\xc3\xa1gina {n} de {m}",
		"Nota de cr\303\251dito", "N\303\272mero de nota de cr\303\251dito",
		"Factura rectificada", "Motivo",
		"Duplicado", "Fraude", "Cambio de pedido", "Producto insatisfactorio",
		"Reembolsado", "Abonado al saldo", "Liquidado por otra v\303\255a", "Emitida",
		"Paquetes" } },
	{ "ja-JP", ".", ",", 4, 0, "", "%", BILLING__DATE_YMD, "/", {
		"\xe8\xab\x8b\xe6\xb1\x82\xe6\x9b\xb8",                         /* 請求書 */
		"\xe4\xb8\x8b\xe6\x9b\xb8\xe3\x81\x8d",                         /* 下書き */
		"\xe8\xab\x8b\xe6\xb1\x82\xe6\x9b\xb8\xe7\x95\xaa\xe5\x8f\xb7", /* 請求書番号 */
		"\xe7\x99\xba\xe8\xa1\x8c\xe6\x97\xa5",                         /* 発行日 */
		"\xe6\x94\xaf\xe6\x89\x95\xe6\x9c\x9f\xe6\x97\xa5",             /* 支払期日 */
		"\xe8\xab\x8b\xe6\xb1\x82\xe6\x9c\x9f\xe9\x96\x93",             /* 請求期間 */
		"\xe8\xab\x8b\xe6\xb1\x82\xe5\x85\x83",                         /* 請求元 */
		"\xe8\xab\x8b\xe6\xb1\x82\xe5\x85\x88",                         /* 請求先 */
		"\xe7\x99\xbb\xe9\x8c\xb2\xe7\x95\xaa\xe5\x8f\xb7",             /* 登録番号 */
		"\xe5\x86\x85\xe5\xae\xb9",                                     /* 内容 */
		"\xe6\x95\xb0\xe9\x87\x8f",                                     /* 数量 */
		"\xe5\x8d\x98\xe4\xbe\xa1",                                     /* 単価 */
		"\xe7\xa8\x8e",                                                 /* 税 */
		"\xe9\x87\x91\xe9\xa1\x8d",                                     /* 金額 */
		"\xe6\xae\xb5\xe9\x9a\x8e",                                     /* 段階 */
		"\xe5\x89\xb2\xe5\xbc\x95",                                     /* 割引 */
		"\xe5\xb0\x8f\xe8\xa8\x88",                                     /* 小計 */
		"\xe5\x90\x88\xe8\xa8\x88",                                     /* 合計 */
		"\xe6\xb6\x88\xe8\xb2\xbb\xe7\xa8\x8e",                         /* 消費税 */
		"\xe7\xa8\x8e\xe8\xbe\xbc",                                     /* 税込 */
		"\xe8\xb2\xb8\xe6\x96\xb9\xe7\xa5\xa8",                         /* 貸方票 */
		"\xe6\xae\x8b\xe9\xab\x98\xe5\x85\x85\xe5\xbd\x93",             /* 残高充当 */
		"\xe6\x94\xaf\xe6\x89\x95\xe6\xb8\x88\xe9\xa1\x8d",             /* 支払済額 */
		"\xe3\x81\x94\xe8\xab\x8b\xe6\xb1\x82\xe9\xa1\x8d",             /* ご請求額 */
		"\xe3\x82\xb9\xe3\x83\x86\xe3\x83\xbc\xe3\x82\xbf\xe3\x82\xb9", /* ステータス */
		"\xe3\x81\x8a\xe6\x94\xaf\xe6\x89\x95\xe3\x81\x84\xe6\x96\xb9\xe6\xb3\x95", /* お支払い方法 */
		"\xe6\x94\xaf\xe6\x89\x95\xe6\x9c\x9f\xe9\x99\x90",             /* 支払期限 */
		/* リバースチャージ (reverse charge) */
		"\343\203\252\343\203\220\343\203\274\343\202\271\343\203\201\343\203\243\343\203\274\343\202\270",
		"\xe5\x82\x99\xe8\x80\x83",                                     /* 備考 */
		"\xe4\xb8\x8b\xe6\x9b\xb8\xe3\x81\x8d",                         /* 下書き */
		"\xe6\x9c\xaa\xe6\x89\x95\xe3\x81\x84",                         /* 未払い */
		"\xe6\x94\xaf\xe6\x89\x95\xe6\xb8\x88",                         /* 支払済 */
		"\xe6\x94\xaf\xe6\x89\x95\xe5\xa4\xb1\xe6\x95\x97",             /* 支払失敗 */
		"\xe7\x84\xa1\xe5\x8a\xb9",                                     /* 無効 */
		"\xe5\x9b\x9e\xe5\x8f\x8e\xe4\xb8\x8d\xe8\x83\xbd",             /* 回収不能 */
		"{n} / {m} \xe3\x83\x9a\xe3\x83\xbc\xe3\x82\xb8",                     /* ページ */
		"\xe8\xb2\xb8\xe6\x96\xb9\xe7\xa5\xa8",                          /* 貸方票 */
		"\xe8\xb2\xb8\xe6\x96\xb9\xe7\xa5\xa8\xe7\x95\xaa\xe5\x8f\xb7",  /* 貸方票番号 */
		"\xe5\xaf\xbe\xe8\xb1\xa1\xe8\xab\x8b\xe6\xb1\x82\xe6\x9b\xb8",  /* 対象請求書 */
		"\xe7\x90\x86\xe7\x94\xb1",                                      /* 理由 */
		"\xe9\x87\x8d\xe8\xa4\x87",                                      /* 重複 */
		"\xe4\xb8\x8d\xe6\xad\xa3",                                      /* 不正 */
		"\xe6\xb3\xa8\xe6\x96\x87\xe5\xa4\x89\xe6\x9b\xb4",              /* 注文変更 */
		"\xe5\x95\x86\xe5\x93\x81\xe4\xb8\x8d\xe8\x89\xaf",              /* 商品不良 */
		"\xe8\xbf\x94\xe9\x87\x91\xe9\xa1\x8d",                          /* 返金額 */
		"\xe6\xae\x8b\xe9\xab\x98\xe3\x81\xb8\xe5\x85\x85\xe5\xbd\x93",  /* 残高へ充当 */
		"\xe5\x88\xa5\xe9\x80\x94\xe7\xb2\xbe\xe7\xae\x97",              /* 別途精算 */
		"\xe7\x99\xba\xe8\xa1\x8c\xe6\xb8\x88\xe3\x81\xbf",          /* 発行済み */
		"\xe3\x83\x91\xe3\x83\x83\xe3\x82\xb1\xe3\x83\xbc\xe3\x82\xb8" } }, /* パッケージ */
};

#define LOCALE_COUNT (sizeof(locales) / sizeof(locales[0]))

/* Every locale has every label (a missing one would be NULL). */
_Static_assert(sizeof(locales[0].labels) / sizeof(locales[0].labels[0]) == BILLING__L_COUNT,
	"a label per key");

const billing__locale *billing__locale_find(const char *tag)
{
	size_t i;
	for (i = 0; tag && i < LOCALE_COUNT; i++)
		if (strcasecmp(locales[i].tag, tag) == 0)
			return &locales[i];
	return NULL;
}

const billing__locale *billing__locales(size_t *count)
{
	*count = LOCALE_COUNT;
	return locales;
}

static const struct {
	const char *code, *symbol;
} symbols[] = {
	{ "EUR", "\xe2\x82\xac" }, { "USD", "$" }, { "GBP", "\xc2\xa3" }, { "JPY", "\xc2\xa5" },
};

/* Appends s to out at *at; 0, or -1 when it does not fit (with its NUL). */
static int put(char *out, size_t size, size_t *at, const char *s)
{
	size_t n = strlen(s);
	if (*at + n >= size)
		return -1;
	memcpy(out + *at, s, n + 1);
	*at += n;
	return 0;
}

/* The magnitude m's integer digits grouped by the locale. */
static int grouped(char *out, size_t size, size_t *at, const billing__locale *loc, uint64_t m)
{
	char digits[24], one[2] = { 0, 0 };
	int n = snprintf(digits, sizeof(digits), "%" PRIu64, m), i;
	for (i = 0; i < n; i++) {
		one[0] = digits[i];
		if (put(out, size, at, one) < 0)
			return -1;
		if (n >= loc->min_grouping && i < n - 1 && (n - 1 - i) % 3 == 0 &&
		    put(out, size, at, loc->group) < 0)
			return -1;
	}
	return 0;
}

static int too_small(void)
{
	return billing__error_set(BILLING_EOVERFLOW, "overflow", "the formatted text is too long");
}

int billing__doc_integer(char *out, size_t size, const billing__locale *loc, int64_t n)
{
	size_t at = 0;
	uint64_t m = n < 0 ? (uint64_t)0 - (uint64_t)n : (uint64_t)n;
	if (size == 0)
		return too_small();
	out[0] = '\0';
	if ((n < 0 && put(out, size, &at, "-") < 0) || grouped(out, size, &at, loc, m) < 0)
		return too_small();
	return (int)at;
}

/* m / 10^exp grouped, then the decimal separator and exp digits. */
static int decimal(char *out, size_t size, size_t *at, const billing__locale *loc, uint64_t m,
	int exp)
{
	uint64_t scale = 1;
	char frac[8];
	int i;
	for (i = 0; i < exp; i++)
		scale *= 10;
	if (grouped(out, size, at, loc, m / scale) < 0)
		return -1;
	if (exp == 0)
		return 0;
	frac[exp] = '\0';     /* exp is 0..4 (money.h) */
	for (i = exp - 1, m %= scale; i >= 0; i--, m /= 10)
		frac[i] = (char)('0' + m % 10);
	return put(out, size, at, loc->decimal) < 0 ? -1 : put(out, size, at, frac);
}

int billing__doc_money(char *out, size_t size, const billing__locale *loc, int64_t amount,
	const char *currency)
{
	const char *sym = currency, *space = loc->symbol_space;
	uint64_t m = amount < 0 ? (uint64_t)0 - (uint64_t)amount : (uint64_t)amount;
	int exp = billing_currency_exponent(currency);
	size_t at = 0, i;

	if (exp < 0)
		return exp;
	for (i = 0; i < sizeof(symbols) / sizeof(symbols[0]); i++)
		if (strcmp(symbols[i].code, currency) == 0)
			sym = symbols[i].symbol;
	if (sym == currency && !loc->symbol_after)
		space = NBSP;           /* "CHF 12.00", as a code before the amount */
	if (size == 0)
		return too_small();
	out[0] = '\0';
	if (amount < 0 && put(out, size, &at, "-") < 0)
		return too_small();
	if (!loc->symbol_after && (put(out, size, &at, sym) < 0 || put(out, size, &at, space) < 0))
		return too_small();
	if (decimal(out, size, &at, loc, m, exp) < 0)
		return too_small();
	if (loc->symbol_after && (put(out, size, &at, space) < 0 || put(out, size, &at, sym) < 0))
		return too_small();
	return (int)at;
}

int billing__doc_percent(char *out, size_t size, const billing__locale *loc, int64_t pct4)
{
	size_t at = 0;
	char frac[8];
	int len;
	uint64_t m = pct4 < 0 ? (uint64_t)0 - (uint64_t)pct4 : (uint64_t)pct4;

	if (size == 0)
		return too_small();
	out[0] = '\0';
	if ((pct4 < 0 && put(out, size, &at, "-") < 0) || grouped(out, size, &at, loc, m / 10000) < 0)
		return too_small();
	/* The shortest fraction: 7.25, 19, 8.875 */
	len = snprintf(frac, sizeof(frac), "%04" PRIu64, m % 10000);
	while (len > 0 && frac[len - 1] == '0')
		frac[--len] = '\0';
	if ((len > 0 && (put(out, size, &at, loc->decimal) < 0 || put(out, size, &at, frac) < 0)) ||
	    put(out, size, &at, loc->percent) < 0)
		return too_small();
	return (int)at;
}

int billing__doc_date(char *out, size_t size, const billing__locale *loc, int64_t t)
{
	char iso[40];
	int y, mo, d, n;
	const char *s = loc->date_sep;
	/* "2026-01-31T00:00:00Z": the calendar's one conversion. */
	if (billing__time_format(iso, sizeof(iso), t) < 0)
		return billing__error_set(BILLING_EINVALID, "invalid", "a time out of range");
	y = (iso[0] - '0') * 1000 + (iso[1] - '0') * 100 + (iso[2] - '0') * 10 + (iso[3] - '0');
	mo = (iso[5] - '0') * 10 + (iso[6] - '0');
	d = (iso[8] - '0') * 10 + (iso[9] - '0');
	switch (loc->date_order) {
	case BILLING__DATE_MDY:
		n = snprintf(out, size, "%02d%s%02d%s%04d", mo, s, d, s, y);
		break;
	case BILLING__DATE_YMD:
		n = snprintf(out, size, "%04d%s%02d%s%02d", y, s, mo, s, d);
		break;
	default:
		n = snprintf(out, size, "%02d%s%02d%s%04d", d, s, mo, s, y);
		break;
	}
	if (n < 0 || (size_t)n >= size)
		return too_small();
	return n;
}

/*
 * Routing and the handlers. Resource routes hold no domain rules: they turn
 * HTTP (path id, If-Match, query parameters, body, Idempotency-Key) into one
 * billing_call_json input and turn its answer back into HTTP. The catalog
 * tells which roles an operation allows and which types its inputs have,
 * and which objects have the standard routes (its "resources": POST and GET
 * /v1/<path>, GET, PATCH and DELETE /v1/<path>/{id}, each where the object
 * offers the operation), so a new object needs no edit here; the special
 * routes (actions, singletons, lists below an item, the server's own) are
 * the table below.
 */
#include "router.h"

#include <cJSON.h>
#include <errno.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "catalog.h"
#include "console.h"
#include "core/json_exact.h"
#include "log.h"
#include "metrics.h"
#include "passwords.h"
#include "problem.h"


/* One row of a route with none of the optional fields (router.h). */
#define ROUTE(method, path, kind, operation, tag, summary) \
	{ method, path, kind, operation, tag, summary, NULL, NULL, NULL }

/* The item checks of lists below an item (route.item_exists). A typed read:
 * nothing of the item is needed but whether the tenant has it. */
static int webhook_endpoint_exists(billing_ctx *ctx, const billing_principal *who,
	const char *id)
{
	billing_webhook_endpoint *e = NULL;
	int rc = billing_webhook_endpoint_get(&e, ctx, who, id);
	billing_webhook_endpoint_free(e);
	return rc;
}

static int customer_exists(billing_ctx *ctx, const billing_principal *who, const char *id)
{
	billing_customer *c = NULL;
	int rc = billing_customer_get(&c, ctx, who, id);
	billing_customer_free(c);
	return rc;
}

/* The hand-written routes; router_init puts the catalog resources' standard
 * routes after the first (login), except those of an operation a row here
 * serves already (a customer's balance transactions are served below the
 * customer only). */
static const route special[] = {
	ROUTE("POST", "/v1/auth/login", H_LOGIN, NULL, "auth",
		"Exchange e-mail and password for a bearer token."),
	ROUTE("POST", "/v1/subscriptions", H_OP_CREATE, "subscriptions.create", "subscriptions", NULL),
	ROUTE("GET", "/v1/subscriptions", H_OP_LIST, "subscriptions.list", "subscriptions", NULL),
	ROUTE("GET", "/v1/subscriptions/{id}", H_OP_GET, "subscriptions.get", "subscriptions", NULL),
	ROUTE("PATCH", "/v1/subscriptions/{id}", H_OP_UPDATE, "subscriptions.update", "subscriptions",
		NULL),
	ROUTE("POST", "/v1/subscriptions/{id}/cancel", H_OP_ACTION, "subscriptions.cancel",
		"subscriptions", NULL),
	ROUTE("POST", "/v1/subscriptions/{id}/change-plan", H_OP_ACTION, "subscriptions.change_plan",
		"subscriptions", NULL),
	ROUTE("POST", "/v1/subscriptions/{id}/pause", H_OP_ACTION, "subscriptions.pause",
		"subscriptions", NULL),
	ROUTE("POST", "/v1/subscriptions/{id}/resume", H_OP_ACTION, "subscriptions.resume",
		"subscriptions", NULL),
	/* Discounts (docs/billing.md): made with a subscription's coupon. */
	ROUTE("DELETE", "/v1/subscriptions/{id}/discount", H_OP_DELETE,
		"subscriptions.delete_discount", "subscriptions", NULL),
	ROUTE("DELETE", "/v1/customers/{id}/discount", H_OP_DELETE, "customers.delete_discount",
		"customers", NULL),
	/* Subscription items (docs/billing.md): the preview row before {id}. */
	ROUTE("POST", "/v1/subscription-items", H_OP_CREATE, "subscription_items.create",
		"subscriptionItems", NULL),
	ROUTE("GET", "/v1/subscription-items", H_OP_LIST, "subscription_items.list",
		"subscriptionItems", NULL),
	ROUTE("GET", "/v1/subscription-items/preview", H_OP_QUERY, "subscription_items.preview",
		"subscriptionItems", NULL),
	ROUTE("GET", "/v1/subscription-items/{id}", H_OP_GET, "subscription_items.get",
		"subscriptionItems", NULL),
	ROUTE("PATCH", "/v1/subscription-items/{id}", H_OP_UPDATE, "subscription_items.update",
		"subscriptionItems", NULL),
	ROUTE("DELETE", "/v1/subscription-items/{id}", H_OP_DELETE, "subscription_items.delete",
		"subscriptionItems", NULL),
	/* Subscription invoices are finalized when issued; drafts (made by
	 * POST /v1/invoices) by their finalize route. The preview row comes
	 * before {id}, which would take "preview" as an id. */
	ROUTE("POST", "/v1/invoices", H_OP_CREATE, "invoices.create", "invoices", NULL),
	ROUTE("GET", "/v1/invoices", H_OP_LIST, "invoices.list", "invoices", NULL),
	ROUTE("GET", "/v1/invoices/preview", H_OP_QUERY, "invoices.preview", "invoices", NULL),
	ROUTE("GET", "/v1/invoices/{id}", H_OP_GET, "invoices.get", "invoices", NULL),
	ROUTE("PATCH", "/v1/invoices/{id}", H_OP_UPDATE, "invoices.update", "invoices", NULL),
	ROUTE("DELETE", "/v1/invoices/{id}", H_OP_DELETE, "invoices.delete", "invoices", NULL),
	/* A draft's own discount (docs/billing.md): the answer is the draft. */
	ROUTE("DELETE", "/v1/invoices/{id}/discount", H_OP_DELETE, "invoices.delete_discount",
		"invoices", NULL),
	ROUTE("POST", "/v1/invoices/{id}/finalize", H_OP_ACTION, "invoices.finalize", "invoices",
		NULL),
	ROUTE("POST", "/v1/invoices/{id}/mark-uncollectible", H_OP_ACTION,
		"invoices.mark_uncollectible", "invoices", NULL),
	ROUTE("POST", "/v1/invoices/{id}/void", H_OP_ACTION, "invoices.void", "invoices", NULL),
	ROUTE("POST", "/v1/invoices/{id}/pay", H_OP_ACTION_NEW, "invoices.pay", "invoices", NULL),
	/* Documents (docs/billing.md "Invoice documents"): a read of the
	 * invoice, answered as a page rather than JSON. */
	ROUTE("GET", "/v1/invoices/{id}/html", H_DOCUMENT_HTML, NULL, "invoices",
		"The invoice as a self-contained HTML document (inline CSS, no scripts) in the "
		"locale asked for (en-US, en-GB, de-DE, fr-FR, es-ES, ja-JP; default en-US); a "
		"draft is marked as one. ETag is the document's content hash: If-None-Match "
		"answers 304."),
	ROUTE("GET", "/v1/invoices/{id}/pdf", H_DOCUMENT_PDF, NULL, "invoices",
		"The invoice as a PDF (A4, fonts embedded; the same layout as the HTML) in the "
		"locale asked for (en-US, en-GB, de-DE, fr-FR, es-ES, ja-JP; default the "
		"customer's preferredLocale, else en-US); a draft is marked as one. ETag is the "
		"document's content hash: If-None-Match answers 304."),
	ROUTE("GET", "/v1/invoices/{id}/einvoice", H_DOCUMENT_CII, NULL, "invoices",
		"The finalized invoice's e-invoice: UN/CEFACT Cross Industry Invoice XML of the "
		"EN 16931 profile (Factur-X / ZUGFeRD EN 16931, guideline urn:cen.eu:en16931:2017). "
		"409 for a draft (draft), a seller or buyer without a country "
		"(einvoice_incomplete) or taxes EN 16931 cannot say (einvoice_unsupported). ETag is "
		"the document's content hash: If-None-Match answers 304."),
	ROUTE("GET", "/v1/invoices/{id}/facturx", H_DOCUMENT_FACTURX, NULL, "invoices",
		"The finalized invoice as a Factur-X (EN 16931) PDF/A-3B: the invoice's PDF in the "
		"locale asked for (default the customer's preferredLocale, else en-US) with the "
		"e-invoice's CII XML attached as factur-x.xml. 409 as the e-invoice's (draft, "
		"einvoice_incomplete, einvoice_unsupported); 400 unsupported_format from a build "
		"without Factur-X support. ETag is the document's content hash: If-None-Match "
		"answers 304."),
	/* Credit notes (docs/billing.md): the preview row before {id}. */
	ROUTE("POST", "/v1/credit-notes", H_OP_CREATE, "credit_notes.create", "creditNotes", NULL),
	ROUTE("GET", "/v1/credit-notes", H_OP_LIST, "credit_notes.list", "creditNotes", NULL),
	ROUTE("GET", "/v1/credit-notes/preview", H_OP_QUERY, "credit_notes.preview", "creditNotes",
		NULL),
	ROUTE("GET", "/v1/credit-notes/{id}", H_OP_GET, "credit_notes.get", "creditNotes", NULL),
	ROUTE("GET", "/v1/credit-notes/{id}/html", H_DOCUMENT_HTML, NULL, "creditNotes",
		"The credit note as a self-contained HTML document (inline CSS, no scripts), laid "
		"out as the invoice's, in the locale asked for (en-US, en-GB, de-DE, fr-FR, es-ES, "
		"ja-JP; default the customer's preferredLocale, else en-US). ETag is the document's "
		"content hash: If-None-Match answers 304."),
	ROUTE("GET", "/v1/credit-notes/{id}/pdf", H_DOCUMENT_PDF, NULL, "creditNotes",
		"The credit note as a PDF (A4, fonts embedded; the same layout as its HTML) in the "
		"locale asked for (en-US, en-GB, de-DE, fr-FR, es-ES, ja-JP; default the "
		"customer's preferredLocale, else en-US). ETag is the document's content hash: "
		"If-None-Match answers 304."),
	ROUTE("GET", "/v1/credit-notes/{id}/einvoice", H_DOCUMENT_CII, NULL, "creditNotes",
		"The issued credit note's e-invoice: UN/CEFACT Cross Industry Invoice XML of the "
		"EN 16931 profile, type code 381, naming the invoice it credits (its number and "
		"issue date). 409 for a void note (credit_note_void), a seller or buyer without a "
		"country (einvoice_incomplete) or taxes EN 16931 cannot say "
		"(einvoice_unsupported). ETag is the document's content hash: If-None-Match "
		"answers 304."),
	ROUTE("POST", "/v1/credit-notes/{id}/void", H_OP_ACTION, "credit_notes.void", "creditNotes",
		NULL),
	ROUTE("GET", "/v1/payments", H_OP_LIST, "payments.list", "payments", NULL),
	ROUTE("GET", "/v1/payments/{id}", H_OP_GET, "payments.get", "payments", NULL),
	ROUTE("POST", "/v1/payments/{id}/refund", H_OP_ACTION, "payments.refund", "payments", NULL),
	ROUTE("POST", "/v1/payments/{id}/cancel", H_OP_ACTION, "payments.cancel", "payments", NULL),
	/* Usage (docs/usage.md): ingestion answers per event, so 200 with the
	 * answer rather than 201 with one object. */
	ROUTE("POST", "/v1/usage-events", H_OP_POST, "usage_events.create", "usage", NULL),
	ROUTE("POST", "/v1/usage-events/void", H_OP_POST, "usage_events.void", "usage", NULL),
	ROUTE("POST", "/v1/usage-events/prune", H_OP_POST, "usage_events.prune", "usage", NULL),
	ROUTE("GET", "/v1/subscriptions/{id}/usage", H_OP_GET, "subscriptions.usage", "usage", NULL),
	ROUTE("GET", "/v1/usage-aggregates", H_OP_QUERY, "usage.aggregate", "usage", NULL),
	ROUTE("GET", "/v1/usage-settings", H_OP_QUERY, "usage_settings.get", "usage", NULL),
	ROUTE("PUT", "/v1/usage-settings", H_OP_REPLACE, "usage_settings.set", "usage", NULL),
	ROUTE("GET", "/v1/tax-settings", H_OP_QUERY, "tax_settings.get", "taxes", NULL),
	ROUTE("PUT", "/v1/tax-settings", H_OP_REPLACE, "tax_settings.set", "taxes", NULL),
	ROUTE("GET", "/v1/invoice-settings", H_OP_QUERY, "invoice_settings.get", "invoices", NULL),
	ROUTE("PUT", "/v1/invoice-settings", H_OP_REPLACE, "invoice_settings.set", "invoices",
		NULL),
	/* The seller's block of the tenant's documents (issue #24). */
	ROUTE("GET", "/v1/branding", H_OP_QUERY, "branding.get", "documents", NULL),
	ROUTE("PUT", "/v1/branding", H_OP_REPLACE, "branding.set", "documents", NULL),
	/* Hosted invoice links (docs/http-api.md "Hosted invoice links"): the
	 * rotation kills every link the tenant gave before; the links
	 * themselves carry no bearer token, the {id} segment is the signed
	 * token (the access log shows the route's template, never it). */
	ROUTE("POST", "/v1/hosted-links/rotate", H_OP_POST, "hosted_links.rotate", "documents",
		NULL),
	ROUTE("GET", "/hosted/invoices/{id}", H_HOSTED_HTML, NULL, "hosted",
		"A hosted invoice link (hostedInvoiceUrl; {id} is its signed token): the invoice "
		"as HTML, with its status and amount due, without a bearer token. A malformed, "
		"forged, expired or rotated token, or one of a draft or of an invoice that is "
		"gone, is the same 404."),
	ROUTE("GET", "/hosted/invoices/{id}/pdf", H_HOSTED_PDF, NULL, "hosted",
		"The PDF of a hosted invoice link, without a bearer token; 404 as for its HTML."),
	ROUTE("GET", "/v1/dunning-policy", H_OP_QUERY, "dunning.get", "dunning", NULL),
	/* Revenue reports (docs/reports.md): reads with query parameters. */
	ROUTE("GET", "/v1/reports/mrr", H_OP_QUERY, "reports.mrr", "reports", NULL),
	ROUTE("GET", "/v1/reports/mrr-movements", H_OP_QUERY, "reports.mrr_movements", "reports",
		NULL),
	ROUTE("GET", "/v1/reports/receivables-aging", H_OP_QUERY, "reports.receivables_aging",
		"reports", NULL),
	ROUTE("GET", "/v1/reports/churn", H_OP_QUERY, "reports.churn", "reports", NULL),
	ROUTE("GET", "/v1/reports/arpa", H_OP_QUERY, "reports.arpa", "reports", NULL),
	ROUTE("GET", "/v1/reports/trial-conversion", H_OP_QUERY, "reports.trial_conversion",
		"reports", NULL),
	ROUTE("GET", "/v1/reports/revenue", H_OP_QUERY, "reports.revenue", "reports", NULL),
	ROUTE("GET", "/v1/reports/payment-recovery", H_OP_QUERY, "reports.payment_recovery",
		"reports", NULL),
	ROUTE("PUT", "/v1/dunning-policy", H_OP_REPLACE, "dunning.set", "dunning", NULL),
	/* The tenant's own provider account (docs/stripe.md): secrets go in,
	 * never out. */
	ROUTE("GET", "/v1/provider-account", H_OP_QUERY, "provider_account.get", "providerAccount",
		NULL),
	ROUTE("PUT", "/v1/provider-account", H_OP_REPLACE, "provider_account.set",
		"providerAccount", NULL),
	ROUTE("DELETE", "/v1/provider-account", H_OP_QUERY, "provider_account.delete",
		"providerAccount", NULL),
	ROUTE("GET", "/v1/events", H_OP_LIST, "events.list", "events", NULL),
	ROUTE("GET", "/v1/events/{id}", H_OP_GET, "events.get", "events", NULL),
	/* Outbound webhooks (docs/webhooks.md). Redelivery: one event to every
	 * endpoint that wants it, or every dead delivery since a time. */
	ROUTE("POST", "/v1/events/{id}/redeliver", H_OP_ACTION, "events.redeliver", "events", NULL),
	{ "POST", "/v1/events/redeliver", H_OP_POST, "events.redeliver", "events", NULL,
		NULL, NULL, "since" },
	ROUTE("POST", "/v1/webhook-endpoints", H_OP_CREATE, "webhook_endpoints.create",
		"webhookEndpoints", NULL),
	ROUTE("GET", "/v1/webhook-endpoints", H_OP_LIST, "webhook_endpoints.list", "webhookEndpoints",
		NULL),
	ROUTE("GET", "/v1/webhook-endpoints/{id}", H_OP_GET, "webhook_endpoints.get",
		"webhookEndpoints", NULL),
	ROUTE("PATCH", "/v1/webhook-endpoints/{id}", H_OP_UPDATE, "webhook_endpoints.update",
		"webhookEndpoints", NULL),
	ROUTE("DELETE", "/v1/webhook-endpoints/{id}", H_OP_DELETE, "webhook_endpoints.delete",
		"webhookEndpoints", NULL),
	ROUTE("POST", "/v1/webhook-endpoints/{id}/rotate-secret", H_OP_ACTION,
		"webhook_endpoints.rotate_secret", "webhookEndpoints", NULL),
	{ "GET", "/v1/webhook-endpoints/{id}/deliveries", H_OP_LIST, "webhook_deliveries.list",
		"webhookEndpoints", NULL, "endpointId", webhook_endpoint_exists, NULL },
	/* Deliveries by query (endpointId, eventId, status): also those of a
	 * deleted endpoint, which its path above no longer finds. */
	ROUTE("GET", "/v1/webhook-deliveries", H_OP_LIST, "webhook_deliveries.list",
		"webhookEndpoints", NULL),
	ROUTE("GET", "/v1/audit-log", H_OP_LIST, "audit.list", "audit", NULL),
	/* A customer's balance (docs/billing.md): its transactions, and a manual
	 * adjustment (the path names the customer). */
	{ "GET", "/v1/customers/{id}/balance-transactions", H_OP_LIST,
		"customer_balance_transactions.list", "customers", NULL, "customerId",
		customer_exists, NULL },
	{ "POST", "/v1/customers/{id}/balance-transactions", H_OP_CREATE,
		"customer_balance_transactions.create", "customers", NULL, "customerId",
		customer_exists, NULL },
	/* Stored payment methods: reads are the catalog's standard routes;
	 * these writes ask the provider first (docs/payments.md). */
	ROUTE("POST", "/v1/payment-methods", H_OP_CREATE, "payment_methods.create",
		"paymentMethods", NULL),
	ROUTE("DELETE", "/v1/payment-methods/{id}", H_OP_DELETE, "payment_methods.delete",
		"paymentMethods", NULL),
	ROUTE("POST", "/v1/setup-intents", H_OP_POST, "setup_intents.create", "setupIntents",
		NULL),
	/* Verified by the provider's signature, not a token; the tenant is the
	 * one the library finds in the event, never the request's. */
	ROUTE("POST", "/v1/webhooks/stripe", H_WEBHOOK_STRIPE, NULL, "webhooks",
		"Inbound Stripe events (Stripe-Signature over the raw body); no bearer token."),
	/* A tenant's own route: verified with its own webhook secret, applied to
	 * it alone (billing_provider_webhook_handle_tenant). {id}: the tenant. */
	ROUTE("POST", "/v1/webhooks/stripe/{id}", H_WEBHOOK_STRIPE, NULL, "webhooks",
		"Inbound Stripe events of one tenant's own Stripe account or webhook secret "
		"(Stripe-Signature with the tenant's secret); no bearer token."),
	ROUTE("GET", "/v1/test-clock", H_CLOCK_GET, NULL, "testClock",
		"The test clock's time (only with BILLING_TEST_CLOCK=1; ADMIN)."),
	ROUTE("POST", "/v1/test-clock/advance", H_CLOCK_ADVANCE, NULL, "testClock",
		"Move the test clock forward by seconds, or to a time, and run all the billing work "
		"due up to it before answering (only with BILLING_TEST_CLOCK=1; ADMIN)."),
	ROUTE("GET", "/healthz", H_HEALTHZ, NULL, "operations",
		"Liveness: always 200 while the process runs."),
	ROUTE("GET", "/readyz", H_READYZ, NULL, "operations",
		"Readiness: 200 when storage answers and its schema is current, else 503."),
	ROUTE("GET", "/metrics", H_METRICS, NULL, "operations", "Prometheus metrics (text format)."),
	ROUTE("GET", "/v1/openapi.json", H_OPENAPI, NULL, "operations", "This OpenAPI 3.1 document."),
	/* The web console (docs/console.md): its files, below one prefix. */
	ROUTE("GET", "/console/", H_CONSOLE, NULL, "console",
		"The web console (HTML, CSS, JavaScript modules; no token: it logs in through "
		"POST /v1/auth/login). Its files are below /console/."),
};

const route *routes = special;
size_t route_count = sizeof(special) / sizeof(special[0]);

/* The table router_init builds, and the strings its rows point to. */
static route *built;
static char **texts;
static size_t text_count;

/* a, b and c joined, kept until router_free; NULL when out of memory. */
static const char *keep(const char *a, const char *b, const char *c)
{
	char buf[256], **grown;
	char *copy;
	int n = snprintf(buf, sizeof(buf), "%s%s%s", a, b, c);
	if (n < 0 || (size_t)n >= sizeof(buf) || (copy = strdup(buf)) == NULL)
		return NULL;
	if ((grown = realloc(texts, (text_count + 1) * sizeof(*texts))) == NULL) {
		free(copy);
		return NULL;
	}
	texts = grown;
	texts[text_count++] = copy;
	return copy;
}

/* "tax_rates" -> "taxRates": the OpenAPI tag, as webhookEndpoints. */
static const char *tag_of(const char *plural)
{
	char buf[128];
	size_t i, k = 0;
	for (i = 0; plural[i] && k + 1 < sizeof(buf); i++) {
		if (plural[i] == '_' && plural[i + 1]) {
			buf[k++] = (char)(plural[++i] & ~0x20);
			continue;
		}
		buf[k++] = plural[i];
	}
	buf[k] = '\0';
	return keep(buf, "", "");
}

/* The standard routes of the verbs a catalog resource offers. */
static const struct {
	const char *verb, *method;
	int item;
	handler_kind kind;
} standard[] = {
	{ "create", "POST", 0, H_OP_CREATE },
	{ "list", "GET", 0, H_OP_LIST },
	{ "get", "GET", 1, H_OP_GET },
	{ "update", "PATCH", 1, H_OP_UPDATE },
	{ "delete", "DELETE", 1, H_OP_DELETE },
};

static int offers(const cJSON *res, const char *verb)
{
	const cJSON *v;
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(res, "operations"))
		if (cJSON_IsString(v) && strcmp(v->valuestring, verb) == 0)
			return 1;
	return 0;
}

/* Whether a hand-written row serves operation already. */
static int special_serves(const char *operation)
{
	size_t i;
	for (i = 0; i < sizeof(special) / sizeof(special[0]); i++)
		if (special[i].operation && strcmp(special[i].operation, operation) == 0)
			return 1;
	return 0;
}

int router_init(void)
{
	const cJSON *res, *list = catalog_resources();
	size_t n = sizeof(special) / sizeof(special[0]), k = 0, i;

	built = calloc(n + (size_t)cJSON_GetArraySize(list) *
		(sizeof(standard) / sizeof(standard[0])), sizeof(*built));
	if (!built)
		return -1;
	built[k++] = special[0];
	cJSON_ArrayForEach(res, list) {
		const char *plural = catalog_str(res, "plural"), *path = catalog_str(res, "path");
		const char *tag = tag_of(plural), *collection = keep("/v1/", path, ""),
			*item = keep("/v1/", path, "/{id}");
		if (!tag || !collection || !item)
			return -1;
		for (i = 0; i < sizeof(standard) / sizeof(standard[0]); i++) {
			route *rt = &built[k];
			if (!offers(res, standard[i].verb))
				continue;
			memset(rt, 0, sizeof(*rt));
			rt->method = standard[i].method;
			rt->path = standard[i].item ? item : collection;
			rt->kind = standard[i].kind;
			rt->operation = keep(plural, ".", standard[i].verb);
			rt->tag = tag;
			if (!rt->operation)
				return -1;
			if (special_serves(rt->operation))
				continue;
			k++;
		}
	}
	for (i = 1; i < n; i++)
		built[k++] = special[i];
	routes = built;
	route_count = k;
	return 0;
}

void router_free(void)
{
	size_t i;
	routes = special;
	route_count = sizeof(special) / sizeof(special[0]);
	free(built);
	built = NULL;
	for (i = 0; i < text_count; i++)
		free(texts[i]);
	free(texts);
	texts = NULL;
	text_count = 0;
}

int route_needs_token(handler_kind kind)
{
	return kind <= H_OP_ACTION || kind == H_DOCUMENT_HTML || kind == H_DOCUMENT_PDF ||
		kind == H_DOCUMENT_CII || kind == H_DOCUMENT_FACTURX ||
		route_is_test_clock(kind);
}

int route_is_test_clock(handler_kind kind)
{
	return kind == H_CLOCK_GET || kind == H_CLOCK_ADVANCE;
}

size_t router_body_limit(const request *r)
{
	return r->rt && r->rt->kind == H_WEBHOOK_STRIPE ? WEBHOOK_BODY_LIMIT : BODY_LIMIT;
}

int router_check_catalog(void)
{
	size_t i;
	int missing = 0;
	for (i = 0; i < route_count; i++)
		if (routes[i].operation && !catalog_op(routes[i].operation)) {
			fprintf(stderr, "billing-server: route %s %s needs operation %s, which this "
				"libbilling does not have\n", routes[i].method, routes[i].path,
				routes[i].operation);
			missing++;
		}
	return missing;
}

/* ------------------------------------------------------------ matching */

#define ID_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"

/* Matches a template against a path (query already stripped by MHD);
 * "{id}" takes one non-empty segment that could be an id: a segment with
 * anything else (%00 - see router_unescape -, "%20", ";x") names no
 * resource, so the path matches no route (404), rather than the id's
 * prefix reaching the resource. */
static int match_path(const char *tpl, const char *path, char *id, size_t id_size)
{
	while (*tpl && *path) {
		if (strncmp(tpl, "{id}", 4) == 0) {
			size_t n = strcspn(path, "/");
			if (n == 0 || n >= id_size || strspn(path, ID_CHARS) != n)
				return 0;
			memcpy(id, path, n);
			id[n] = '\0';
			path += n;
			tpl += 4;
			continue;
		}
		if (*tpl != *path)
			return 0;
		tpl++;
		path++;
	}
	return *tpl == '\0' && *path == '\0';
}

size_t router_unescape(void *cls, struct MHD_Connection *conn, char *s)
{
	char *r = s, *w = s;
	(void)cls;
	(void)conn;
	/* MHD's own decoding between the %00s; each %00 becomes two bytes in
	 * place of three (the overlong form of NUL, never valid UTF-8), so
	 * nothing downstream takes it for text and nothing after it is cut. */
	for (;;) {
		char *nul = strstr(r, "%00");
		size_t n;
		if (nul)
			*nul = '\0';
		n = MHD_http_unescape(r);
		memmove(w, r, n);
		w += n;
		if (!nul)
			break;
		*w++ = (char)0xC0;
		*w++ = (char)0x80;
		r = nul + 3;
	}
	*w = '\0';
	return (size_t)(w - s);
}

/* The console's route takes "/console" and every path below it. */
static int console_path(const char *path)
{
	return strncmp(path, "/console", 8) == 0 && (path[8] == '\0' || path[8] == '/');
}

static int method_listed(const char *allow, const char *method)
{
	size_t n = strlen(method);
	const char *p = allow;
	while ((p = strstr(p, method)) != NULL) {
		if ((p == allow || p[-1] == ' ') && (p[n] == '\0' || p[n] == ','))
			return 1;
		p += n;
	}
	return 0;
}

void router_match(request *r)
{
	char id[sizeof(r->id)];
	size_t i;

	r->rt = NULL;
	r->out.allow[0] = '\0';
	for (i = 0; i < route_count; i++) {
		if (route_is_test_clock(routes[i].kind) && !r->app->run.test_clock)
			continue;   /* without BILLING_TEST_CLOCK=1 these routes do not exist */
		if (routes[i].kind == H_CONSOLE ? !console_path(r->url) :
		    !match_path(routes[i].path, r->url, id, sizeof(id)))
			continue;
		if (strcmp(routes[i].method, r->method) == 0) {
			r->rt = &routes[i];
			memcpy(r->id, id, sizeof(id));
			return;
		}
		if (method_listed(r->out.allow, routes[i].method))
			continue;   /* /v1/invoices/preview matches two GET rows */
		if (r->out.allow[0])
			strncat(r->out.allow, ", ", sizeof(r->out.allow) - strlen(r->out.allow) - 1);
		strncat(r->out.allow, routes[i].method,
			sizeof(r->out.allow) - strlen(r->out.allow) - 1);
	}
}

/* ------------------------------------------------------------ replies */

/* Reply bodies are released with free(); library strings with
 * billing_free(), so they are copied. */
static char *dup_text(const char *s)
{
	size_t n = strlen(s);
	char *d = malloc(n + 1);
	if (d)
		memcpy(d, s, n + 1);
	return d;
}


static void reply_json(request *r, int status, char *body)
{
	r->out.status = status;
	r->out.body = body;
	r->out.content_type = "application/json";
}

static void reply_problem(request *r, int status, const char *code, const char *detail,
	const char *field)
{
	r->out.status = status;
	r->out.body = problem_make(status, code, detail, field, r->request_id);
	r->out.content_type = PROBLEM_CONTENT_TYPE;
}

static void reply_library_error(request *r, const char *error_json)
{
	int status = 500;
	r->out.body = problem_from_library(&status, error_json, r->request_id);
	r->out.status = status;
	r->out.content_type = PROBLEM_CONTENT_TYPE;
	if (status >= 500)
		log_msg(LOG_WARN, "library error", "requestId", r->request_id,
			"error", error_json ? error_json : "(out of memory)", LOG_END);
}

static const char *header(const request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

/* ------------------------------------------------------------ checks */

static int authenticate(request *r)
{
	const char *h = header(r, MHD_HTTP_HEADER_AUTHORIZATION);
	jwt_result res;

	r->out.www_authenticate = "Bearer";
	if (!h || !*h) {
		reply_problem(r, 401, "unauthenticated", "this route needs an Authorization: Bearer "
			"token (POST /v1/auth/login gives one)", NULL);
		return -1;
	}
	if (strncasecmp(h, "Bearer ", 7) != 0) {
		reply_problem(r, 401, "invalid_token", "the Authorization header must be "
			"\"Bearer <token>\"", NULL);
		return -1;
	}
	h += 7;
	while (*h == ' ')
		h++;
	res = jwt_verify(&r->claims, r->app->cfg, h, now_unix());
	if (res != JWT_OK) {
		r->out.www_authenticate = "Bearer error=\"invalid_token\"";
		reply_problem(r, 401, res == JWT_EXPIRED ? "token_expired" : "invalid_token",
			jwt_result_message(res), NULL);
		return -1;
	}
	if (login_user_exists(r) < 0)
		return -1;
	r->authenticated = 1;
	r->out.www_authenticate = NULL;
	return 0;
}

static int is_json_type(const char *ct)
{
	size_t n;
	const char *semi;
	if (!ct)
		return 0;
	while (*ct == ' ')
		ct++;
	semi = strchr(ct, ';');
	n = semi ? (size_t)(semi - ct) : strlen(ct);
	while (n > 0 && ct[n - 1] == ' ')
		n--;
	if (n == 16 && strncasecmp(ct, "application/json", 16) == 0)
		return 1;
	/* application/<anything>+json */
	return n > 17 && strncasecmp(ct, "application/", 12) == 0 &&
		strncasecmp(ct + n - 5, "+json", 5) == 0;
}

/* Parses the body as one JSON object (an empty body is {}), as strictly as
 * the library does (json_exact.c): a NUL or raw control character in any
 * string or key, or a key given twice, is 400 naming the field. */
static cJSON *body_object(request *r)
{
	billing__jx_error err;
	cJSON *in;

	if (r->body_len == 0)
		return cJSON_CreateObject();
	if (!is_json_type(header(r, MHD_HTTP_HEADER_CONTENT_TYPE))) {
		reply_problem(r, 415, "unsupported_media_type",
			"the body must be JSON (Content-Type: application/json)", NULL);
		return NULL;
	}
	if ((in = billing__jx_parse(r->body, r->body_len, &err)) == NULL) {
		if (strcmp(err.reason, "out_of_memory") == 0)
			reply_problem(r, 500, "internal", "the server failed to complete the request",
				NULL);
		else if (strcmp(err.reason, "malformed_json") == 0)
			reply_problem(r, 400, "malformed_json", "the body is not valid JSON", "body");
		else
			reply_problem(r, 400, err.reason, err.message,
				err.field[0] ? err.field : "body");
		return NULL;
	}
	if (!cJSON_IsObject(in)) {
		cJSON_Delete(in);
		reply_problem(r, 400, "invalid", "the body must be a JSON object", "body");
		return NULL;
	}
	return in;
}

/* If-Match: W/"n" or "n" (our ETags), or "*" (any version). */
static int if_match(request *r, cJSON *in)
{
	const char *h = header(r, MHD_HTTP_HEADER_IF_MATCH);
	char *end;
	long long v;

	if (!h)
		return 0;
	while (*h == ' ')
		h++;
	if (strcmp(h, "*") == 0)
		return 0;
	if (strncmp(h, "W/", 2) == 0)
		h += 2;
	if (*h == '"' && h[1] >= '0' && h[1] <= '9') {
		errno = 0;
		v = strtoll(h + 1, &end, 10);
		if (!errno && *end == '"' && (end[1] == '\0' || end[1] == ' ') && v >= 1) {
			cJSON *n = billing__jx_int_new(v);
			if (n && cJSON_AddItemToObject(in, "expectedVersion", n))
				return 0;
			cJSON_Delete(n);
			reply_problem(r, 500, "internal", "the server failed to complete the request",
				NULL);
			return -1;
		}
	}
	/* No representation has that tag (RFC 9110 13.1.1). */
	reply_problem(r, 412, "stale_version", "If-Match does not name a version of this "
		"resource (use the ETag of a response)", "If-Match");
	return -1;
}

struct query_ctx {
	request *r;
	const cJSON *op;     /* NULL: the route takes no query parameters */
	cJSON *in;
	int failed;
};

/* An integer query parameter, exactly, over the int64 range. */
static int parse_int(const char *s, int64_t *out)
{
	char *end;
	long long v;
	if (!*s || (*s != '-' && (*s < '0' || *s > '9')))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

static enum MHD_Result on_query(void *cls, enum MHD_ValueKind kind, const char *key,
	const char *value)
{
	struct query_ctx *q = cls;
	const cJSON *f = q->op ? catalog_field(q->op, key) : NULL;
	const char *type = catalog_str(f, "type");
	char msg[200];
	cJSON *v = NULL;
	int64_t d;

	(void)kind;
	if (!value)
		value = "";
	if (!f || strcmp(key, "id") == 0 || strcmp(key, "expectedVersion") == 0 ||
	    (q->r->rt->path_input && strcmp(key, q->r->rt->path_input) == 0)) {
		snprintf(msg, sizeof(msg), "%.60s is not a query parameter of this route", key);
		reply_problem(q->r, 400, "unknown_parameter", msg, key);
	} else if (strstr(key, "\xC0\x80") || strstr(value, "\xC0\x80")) {
		/* %00 (router_unescape): a value cut short there would be a
		 * different value. */
		snprintf(msg, sizeof(msg), "%.60s must not contain a NUL character (%%00)", key);
		reply_problem(q->r, 400, "nul_character", msg, key);
	} else if (cJSON_GetObjectItemCaseSensitive(q->in, key)) {
		snprintf(msg, sizeof(msg), "%.60s is given more than once", key);
		reply_problem(q->r, 400, "invalid", msg, key);
	} else if (strcmp(type, "integer") == 0) {
		if (parse_int(value, &d) == 0)
			v = billing__jx_int_new(d);
		else {
			snprintf(msg, sizeof(msg), "%.60s must be an integer", key);
			reply_problem(q->r, 400, "invalid", msg, key);
		}
	} else if (strcmp(type, "boolean") == 0) {
		if (strcmp(value, "true") == 0 || strcmp(value, "false") == 0)
			v = cJSON_CreateBool(value[0] == 't');
		else {
			snprintf(msg, sizeof(msg), "%.60s must be true or false", key);
			reply_problem(q->r, 400, "invalid", msg, key);
		}
	} else if (strcmp(type, "string") == 0 || strcmp(type, "decimal") == 0) {
		v = cJSON_CreateString(value);
	} else if (strcmp(type, "object[]") == 0) {
		/* An array of objects (a credit note preview's lines): its JSON
		 * text, read exactly as a body is; the operation checks the rest. */
		v = billing__jx_parse(value, strlen(value), NULL);
		if (!cJSON_IsArray(v)) {
			cJSON_Delete(v);
			v = NULL;
			snprintf(msg, sizeof(msg), "%.60s must be a JSON array", key);
			reply_problem(q->r, 400, "invalid", msg, key);
		}
	} else {
		snprintf(msg, sizeof(msg), "%.60s cannot be given as a query parameter", key);
		reply_problem(q->r, 400, "invalid", msg, key);
	}
	if (!v) {
		q->failed = 1;
		return MHD_NO;
	}
	cJSON_AddItemToObject(q->in, key, v);
	return MHD_YES;
}

/* Query parameters into in, typed by the catalog; any parameter on a route
 * whose operation declares none is 400. */
static int query_params(request *r, const cJSON *op, cJSON *in)
{
	struct query_ctx q = { r, op, in, 0 };
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, on_query, &q);
	return q.failed ? -1 : 0;
}

/* ------------------------------------------------------------ resources */

/* Reshapes the library's list to API-HTTP.md's envelope:
 * {"data","total","page","pageSize","totalPages","hasMore","nextCursor"};
 * total, page and totalPages only in page mode. */
static char *list_envelope(cJSON *lib)
{
	static const char *const order[] = {
		"data", "total", "page", "pageSize", "totalPages", "hasMore", "nextCursor"
	};
	cJSON *env = cJSON_CreateObject();
	char *text;
	size_t i;
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		cJSON *v = cJSON_DetachItemFromObjectCaseSensitive(lib, order[i]);
		if (v)
			cJSON_AddItemToObject(env, order[i], v);
	}
	text = billing__jx_print(env);
	cJSON_Delete(env);
	return text;
}

static void set_etag(request *r, const cJSON *resource)
{
	int64_t v;
	if (billing__jx_int(cJSON_GetObjectItemCaseSensitive(resource, "version"), &v) ==
	    BILLING__JX_INT_OK)
		snprintf(r->out.etag, sizeof(r->out.etag), "W/\"%lld\"", (long long)v);
}

/* Location of a resource made by an action (a payment made by paying an
 * invoice): the GET route of its kind, found by its "object" ("payment" ->
 * payments.get -> /v1/payments/{id}). */
static void set_location(request *r, const cJSON *resource)
{
	const char *object = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(resource,
		"object"));
	const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(resource, "id"));
	char op[64];
	size_t i, n;

	if (!object || !id)
		return;
	snprintf(op, sizeof(op), "%ss.get", object);
	for (i = 0; i < route_count; i++)
		if (routes[i].kind == H_OP_GET && strcmp(routes[i].operation, op) == 0) {
			n = strlen(routes[i].path) - strlen("{id}");
			snprintf(r->out.location, sizeof(r->out.location), "%.*s%s", (int)n,
				routes[i].path, id);
			return;
		}
}

static void principal_of(const request *r, billing_principal *who)
{
	who->tenant_id = r->claims.tenant_id;
	who->user_id = r->claims.sub;
	who->role = r->claims.role;
}

static void reply_billing_error(request *r, int rc);

/* For a list below an item: 0 when the tenant has the path's item, else
 * -1 with the reply made (404 for an id that names nothing). */
static int item_exists(request *r)
{
	billing_principal who = { NULL, NULL, BILLING_ROLE_NONE };
	int rc;
	principal_of(r, &who);
	rc = r->rt->item_exists(r->app->ctx, &who, r->id);
	if (rc < 0) {
		reply_billing_error(r, rc);
		return -1;
	}
	return 0;
}

/* The library's hostedInvoiceUrl is the link's path: the server's public
 * base URL goes in front of it (BILLING_PUBLIC_URL). 1 when one changed. */
static int prefix_one(const request *r, cJSON *inv)
{
	const char *path = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(inv,
		"hostedInvoiceUrl"));
	char *url;
	size_t n;

	if (!path || path[0] != '/' || !r->app->cfg->public_url)
		return 0;
	n = strlen(r->app->cfg->public_url) + strlen(path) + 1;
	if ((url = malloc(n)) == NULL)
		return 0;
	snprintf(url, n, "%s%s", r->app->cfg->public_url, path);
	cJSON_ReplaceItemInObjectCaseSensitive(inv, "hostedInvoiceUrl", cJSON_CreateString(url));
	free(url);
	return 1;
}

static int prefix_links(const request *r, cJSON *result)
{
	cJSON *data = cJSON_GetObjectItemCaseSensitive(result, "data"), *it;
	int changed = 0;
	if (!cJSON_IsArray(data))
		return prefix_one(r, result);
	cJSON_ArrayForEach(it, data)
		changed |= prefix_one(r, it);
	return changed;
}

static void handle_op(request *r)
{
	const route *rt = r->rt;
	const cJSON *op = catalog_op(rt->operation);
	billing_principal who = { NULL, NULL, BILLING_ROLE_NONE };
	billing_call_options opts = BILLING_CALL_OPTIONS_INIT;
	const char *key = NULL;
	int replayed = 0, rc, has_body, is_item;
	cJSON *in = NULL, *result = NULL;
	char *text = NULL, *out = NULL, *answer = NULL;

	if (authenticate(r) < 0)
		return;
	/* Roles before anything about the input, the body included. */
	if (!catalog_op_allows(op, r->claims.role)) {
		reply_problem(r, 403, "forbidden", "your role may not do this", NULL);
		return;
	}
	has_body = rt->kind == H_OP_CREATE || rt->kind == H_OP_UPDATE || rt->kind == H_OP_ACTION ||
		rt->kind == H_OP_ACTION_NEW || rt->kind == H_OP_REPLACE || rt->kind == H_OP_POST;
	is_item = rt->kind != H_OP_CREATE && rt->kind != H_OP_LIST && rt->kind != H_OP_QUERY &&
		rt->kind != H_OP_REPLACE && rt->kind != H_OP_POST;
	in = has_body ? body_object(r) : cJSON_CreateObject();
	if (!in)
		goto done;
	if (has_body && is_item && (cJSON_GetObjectItemCaseSensitive(in, "id") ||
	    cJSON_GetObjectItemCaseSensitive(in, "expectedVersion"))) {
		const char *f = cJSON_GetObjectItemCaseSensitive(in, "id") ? "id" : "expectedVersion";
		reply_problem(r, 400, "unknown_field", f[0] == 'i' ?
			"id is not a field of the body (the id is in the path)" :
			"expectedVersion is not a field of the body (send If-Match)", f);
		goto done;
	}
	/* A collection verb is not about one item: an id there belongs in the
	 * path of the item's route (POST /v1/events/{id}/redeliver). */
	if (rt->kind == H_OP_POST && cJSON_GetObjectItemCaseSensitive(in, "id")) {
		reply_problem(r, 400, "unknown_field", "id is not a field of this route's body",
			"id");
		goto done;
	}
	/* The path names it: the body may not name it again. */
	if (has_body && rt->path_input && cJSON_GetObjectItemCaseSensitive(in, rt->path_input)) {
		char msg[120];
		snprintf(msg, sizeof(msg), "%.60s is not a field of the body (it is the path's id)",
			rt->path_input);
		reply_problem(r, 400, "unknown_field", msg, rt->path_input);
		goto done;
	}
	if (rt->required_input && !cJSON_GetObjectItemCaseSensitive(in, rt->required_input)) {
		char msg[120];
		snprintf(msg, sizeof(msg), "%.60s is required", rt->required_input);
		reply_problem(r, 400, "invalid", msg, rt->required_input);
		goto done;
	}
	if (query_params(r, rt->kind == H_OP_LIST || rt->kind == H_OP_QUERY ? op : NULL, in) < 0)
		goto done;
	if (is_item)
		cJSON_AddStringToObject(in, "id", r->id);
	if (rt->path_input && item_exists(r) < 0)
		goto done;
	if (rt->path_input)
		cJSON_AddStringToObject(in, rt->path_input, r->id);
	if ((rt->kind == H_OP_UPDATE || rt->kind == H_OP_DELETE) && if_match(r, in) < 0)
		goto done;
	/* PUT replaces the whole object: repeating it is harmless by itself. */
	if (has_body && rt->kind != H_OP_REPLACE) {
		key = header(r, "Idempotency-Key");
		opts.idempotency_key = key;
		opts.replayed = &replayed;
	}
	/* Version 3: the library keeps it on the events and the audit-log row
	 * the call writes, so a delivery can be traced to its request. */
	opts.request_id = r->request_id;

	/* Exact: integers go on as they came (json_exact.c). */
	text = billing__jx_print(in);
	principal_of(r, &who);
	rc = billing_call_json(&out, r->app->ctx, &who, rt->operation, text, text ? strlen(text) : 0,
		&opts);
	if (rc < 0) {
		reply_library_error(r, out);
		goto done;
	}
	result = out ? billing__jx_parse(out, strlen(out), NULL) : NULL;
	if (!result) {
		reply_problem(r, 500, "internal", "the server failed to complete the request", NULL);
		goto done;
	}
	if (prefix_links(r, result)) {
		char *printed = billing__jx_print(result);
		char *copy = printed ? malloc(strlen(printed) + 1) : NULL;
		if (copy)
			memcpy(copy, printed, strlen(printed) + 1);
		cJSON_free(printed);
		if (!copy) {
			reply_problem(r, 500, "internal", "the server failed to complete the request",
				NULL);
			goto done;
		}
		billing_free(out);
		out = NULL;
		answer = copy;
	}
	r->out.replayed = key && replayed;
	/* A signing secret (webhook endpoint create, rotate-secret) is shown
	 * this once: no cache may keep it. */
	if (cJSON_GetObjectItemCaseSensitive(result, "secret"))
		r->out.no_store = 1;
	switch (rt->kind) {
	case H_OP_LIST:
		reply_json(r, 200, list_envelope(result));
		break;
	case H_OP_DELETE:
		r->out.status = 204;
		break;
	case H_OP_QUERY:
	case H_OP_POST:
		/* A computed object (a preview, a redelivery count): no id, no
		 * version, no ETag. */
		reply_json(r, 200, dup_text(answer ? answer : out));
		break;
	case H_OP_CREATE: {
		const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(result, "id"));
		/* Made below an item (a customer's balance transaction): no route
		 * of its own to name. */
		if (!rt->path_input)
			snprintf(r->out.location, sizeof(r->out.location), "%s/%s", rt->path,
				id ? id : "");
		set_etag(r, result);
		reply_json(r, 201, dup_text(answer ? answer : out));
		break;
	}
	case H_OP_ACTION_NEW:
		set_location(r, result);
		set_etag(r, result);
		reply_json(r, 201, dup_text(answer ? answer : out));
		break;
	default:                        /* H_OP_REPLACE and the other updates */
		set_etag(r, result);
		reply_json(r, 200, dup_text(answer ? answer : out));
		break;
	}
done:
	cJSON_Delete(in);
	cJSON_Delete(result);
	cJSON_free(text);
	billing_free(out);
	free(answer);
}

/* ------------------------------------------------------------ login */

static int email_ok(const char *e)
{
	const char *at = strchr(e, '@');
	size_t n = strlen(e), i;
	if (n < 3 || n > 190 || !at || at == e || !at[1] || strchr(at + 1, '@'))
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)e[i] <= ' ' || e[i] == 0x7f)
			return 0;
	return 1;
}

static void handle_login(request *r)
{
	const cJSON *it, *email, *password;
	const config *cfg = r->app->cfg;
	cJSON *in = body_object(r);
	size_t plen;

	if (!in)
		return;
	cJSON_ArrayForEach(it, in)
		if (strcmp(it->string, "email") != 0 && strcmp(it->string, "password") != 0) {
			char msg[120];
			snprintf(msg, sizeof(msg), "%.60s is not a field of this operation", it->string);
			reply_problem(r, 400, "unknown_field", msg, it->string);
			goto done;
		}
	email = cJSON_GetObjectItemCaseSensitive(in, "email");
	password = cJSON_GetObjectItemCaseSensitive(in, "password");
	if (!cJSON_IsString(email) || !email_ok(email->valuestring)) {
		reply_problem(r, 400, "invalid", "email must be a valid e-mail address", "email");
		goto done;
	}
	if (!cJSON_IsString(password) || (plen = strlen(password->valuestring)) < PASSWORD_MIN ||
	    plen > PASSWORD_MAX) {
		reply_problem(r, 400, "invalid", "password must be 8 to 1024 characters", "password");
		goto done;
	}
	if (!cfg->jwt_secret) {
		reply_problem(r, 501, "login_unavailable", "this server only verifies tokens from "
			"another issuer (BILLING_JWT_PUBLIC_KEY) and has no secret to sign its own", NULL);
		goto done;
	}
	login_begin(r, email->valuestring, password->valuestring, plen);
done:
	cJSON_Delete(in);
}

/* ------------------------------------------------------------ operations */

static void handle_readyz(request *r)
{
	/* A one-row read: storage reachable and the schema current (an
	 * outdated schema fails with reason "schema_outdated"). */
	billing_principal platform = { NULL, NULL, BILLING_ROLE_PLATFORM };
	const char *in = "{\"limit\":1}";
	char *out = NULL;
	int rc = billing_call_json(&out, r->app->ctx, &platform, "tenants.list", in, strlen(in),
		NULL);
	if (rc < 0) {
		const billing_error *e = billing_error_last();
		log_msg(LOG_WARN, "not ready", "requestId", r->request_id, "reason", e->reason, LOG_END);
		reply_problem(r, 503, e->reason, "storage is not ready", NULL);
	} else {
		/* The provider's health is reported, not judged: one tenant's
		 * revoked key must not take the whole server out of a load
		 * balancer (docs/http-api.md). */
		int64_t paused = 0;
		char body[128];
		if (billing_provider_health_unhealthy_count(r->app->ctx, &paused) < 0)
			paused = -1;
		if (paused < 0)
			snprintf(body, sizeof(body), "{\"status\":\"ready\",\"provider\":\"unknown\"}");
		else
			snprintf(body, sizeof(body), "{\"status\":\"ready\",\"provider\":\"%s\","
				"\"providerPausedTenants\":%lld}", paused ? "degraded" : "ok",
				(long long)paused);
		reply_json(r, 200, dup_text(body));
	}
	billing_free(out);
}

/* ------------------------------------------------------------ test clock */

static void format_time(char *buf, size_t size, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The value of n decimal digits (already checked to be digits). */
static int digits(const char *s, int n)
{
	int v = 0;
	while (n-- > 0)
		v = v * 10 + (*s++ - '0');
	return v;
}

/* RFC 3339 in UTC with whole seconds, as everywhere on the wire:
 * 2026-01-31T00:00:00Z (an offset of +00:00 is the same time). Years
 * 1970-9999; an impossible date (Feb 30) is refused. */
static int parse_time(const char *s, int64_t *out)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd";
	struct tm tm, back;
	time_t t;
	size_t i;
	int mday, mon;

	if (strlen(s) < 20)
		return -1;
	for (i = 0; i < sizeof(shape) - 1; i++)
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
			return -1;
	if (strcmp(s + 19, "Z") != 0 && strcmp(s + 19, "+00:00") != 0)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = digits(s, 4) - 1900;
	tm.tm_mon = digits(s + 5, 2) - 1;
	tm.tm_mday = digits(s + 8, 2);
	tm.tm_hour = digits(s + 11, 2);
	tm.tm_min = digits(s + 14, 2);
	tm.tm_sec = digits(s + 17, 2);
	if (tm.tm_year < 70 || tm.tm_mon > 11 || tm.tm_hour > 23 || tm.tm_min > 59 ||
	    tm.tm_sec > 59)
		return -1;
	mday = tm.tm_mday;
	mon = tm.tm_mon;
	t = timegm(&tm);   /* normalizes tm: Feb 30 becomes Mar 2 */
	if (t == (time_t)-1 || !gmtime_r(&t, &back) || back.tm_mday != mday || back.tm_mon != mon)
		return -1;
	*out = (int64_t)t;
	return 0;
}

/* An error of a typed library call (not billing_call_json). */
static void reply_billing_error(request *r, int rc)
{
	const billing_error *e = billing_error_last();
	int status = problem_http_status(rc);
	if (status >= 500)
		log_msg(LOG_WARN, "library error", "requestId", r->request_id,
			"reason", e->reason ? e->reason : "", "error", e->message ? e->message : "", LOG_END);
	reply_problem(r, status, e->reason && *e->reason ? e->reason : "internal",
		status >= 500 && status != 503 ? "the server failed to complete the request" :
		e->message, e->field);
}

static int require_admin(request *r)
{
	if (authenticate(r) < 0)
		return -1;
	if (r->claims.role != BILLING_ROLE_ADMIN) {
		reply_problem(r, 403, "forbidden", "your role may not do this (the test clock is "
			"ADMIN only)", NULL);
		return -1;
	}
	return 0;
}

static void reply_clock(request *r, int64_t now, const runner_totals *t)
{
	cJSON *o = cJSON_CreateObject();
	char when[32];
	format_time(when, sizeof(when), now);
	cJSON_AddStringToObject(o, "now", when);
	if (t) {
		cJSON_AddNumberToObject(o, "processed", (double)t->processed);
		cJSON_AddNumberToObject(o, "invoiced", (double)t->invoiced);
		cJSON_AddNumberToObject(o, "failed", (double)t->failed);
	}
	reply_json(r, 200, cJSON_PrintUnformatted(o));
	cJSON_Delete(o);
}

static void handle_clock_get(request *r)
{
	cJSON *none;
	if (require_admin(r) < 0)
		return;
	none = cJSON_CreateObject();
	if (query_params(r, NULL, none) == 0)
		reply_clock(r, runner_now(&r->app->run), NULL);
	cJSON_Delete(none);
}

static void handle_clock_advance(request *r)
{
	runner *run = &r->app->run;
	cJSON *in, *it;
	const cJSON *seconds, *to;
	int64_t now, target = 0;
	runner_totals totals;
	int rc;

	if (require_admin(r) < 0)
		return;
	if ((in = body_object(r)) == NULL)
		return;
	if (query_params(r, NULL, in) < 0)
		goto done;
	cJSON_ArrayForEach(it, in)
		if (strcmp(it->string, "seconds") != 0 && strcmp(it->string, "to") != 0) {
			char msg[120];
			snprintf(msg, sizeof(msg), "%.60s is not a field of this operation", it->string);
			reply_problem(r, 400, "unknown_field", msg, it->string);
			goto done;
		}
	seconds = cJSON_GetObjectItemCaseSensitive(in, "seconds");
	to = cJSON_GetObjectItemCaseSensitive(in, "to");
	if (!seconds == !to) {
		reply_problem(r, 400, "invalid", "give exactly one of seconds and to", "body");
		goto done;
	}
	now = runner_now(run);
	if (seconds) {
		double d = seconds->valuedouble;
		if (!cJSON_IsNumber(seconds) || d < 0 || d > (double)(RUNNER_TIME_MAX - now) ||
		    d != (double)(int64_t)d) {
			reply_problem(r, 400, "invalid", "seconds must be a whole number >= 0 that keeps "
				"the clock before the year 10000", "seconds");
			goto done;
		}
		target = now + (int64_t)d;
	} else if (!cJSON_IsString(to) || parse_time(to->valuestring, &target) < 0) {
		reply_problem(r, 400, "invalid", "to must be an RFC 3339 UTC time with whole seconds "
			"(2026-01-31T00:00:00Z)", "to");
		goto done;
	}
	if (target < now) {
		reply_problem(r, 400, "clock_backwards", "the test clock only moves forward: to is "
			"before its time (GET /v1/test-clock)", "to");
		goto done;
	}
	rc = runner_advance(run, target, &totals);
	if (rc == 1)   /* another advance moved it further meanwhile */
		reply_problem(r, 400, "clock_backwards", "the test clock only moves forward: to is "
			"before its time (GET /v1/test-clock)", seconds ? "seconds" : "to");
	else if (rc < 0)
		reply_billing_error(r, rc);
	else
		reply_clock(r, target, &totals);
done:
	cJSON_Delete(in);
}

/* ------------------------------------------------------------ inbound webhooks */

#define WEBHOOK_MAX_HEADERS 16

struct webhook_headers {
	billing_header h[WEBHOOK_MAX_HEADERS];
	size_t n;
	int too_many;
};

/* Only what a provider verifies with goes to the library: Stripe's own
 * headers (Stripe-Signature) and Content-Type; never Authorization or
 * cookies. Values are MHD's, valid for the request. */
static enum MHD_Result on_webhook_header(void *cls, enum MHD_ValueKind kind, const char *key,
	const char *value)
{
	struct webhook_headers *w = cls;
	(void)kind;
	if (!key || !value || (strncasecmp(key, "Stripe-", 7) != 0 &&
	    strcasecmp(key, MHD_HTTP_HEADER_CONTENT_TYPE) != 0))
		return MHD_YES;
	if (w->n == WEBHOOK_MAX_HEADERS) {
		w->too_many = 1;
		return MHD_NO;
	}
	w->h[w->n].name = key;
	w->h[w->n].value = value;
	w->n++;
	return MHD_YES;
}

static const char *webhook_outcome_name(billing_webhook_outcome o)
{
	switch (o) {
	case BILLING_WEBHOOK_APPLIED: return "applied";
	case BILLING_WEBHOOK_DUPLICATE: return "duplicate";
	case BILLING_WEBHOOK_IGNORED: return "ignored";
	}
	return "ignored";
}

/*
 * POST /v1/webhooks/stripe. The raw body and the provider's headers go to
 * billing_provider_webhook_handle(), which verifies the signature before it
 * reads anything. Statuses (docs/api.md): 200 for an event accepted,
 * already seen or of no interest; 400 for everything that is the sender's
 * fault (signature, malformed, an event that does not match its payment, a
 * payment that is not ours), so nothing is applied; 5xx only when our
 * storage failed, which Stripe retries.
 */
static void handle_webhook(request *r)
{
	struct webhook_headers w;
	billing_webhook_result res;
	const billing_error *e;
	cJSON *none, *o;
	int rc, status;

	none = cJSON_CreateObject();
	rc = none ? query_params(r, NULL, none) : -1;
	cJSON_Delete(none);
	if (rc < 0) {
		if (!r->out.body)
			reply_problem(r, 500, "internal", "out of memory", NULL);
		return;
	}
	memset(&w, 0, sizeof(w));
	MHD_get_connection_values(r->conn, MHD_HEADER_KIND, on_webhook_header, &w);
	if (w.too_many) {
		reply_problem(r, 400, "malformed", "too many Stripe-* headers", NULL);
		return;
	}
	memset(&res, 0, sizeof(res));
	if (strchr(r->rt->path, '{'))    /* /v1/webhooks/stripe/{id}: the tenant's own */
		rc = billing_provider_webhook_handle_tenant(r->app->ctx, r->id, w.h, w.n,
			r->body ? r->body : "", r->body_len, &res);
	else
		rc = billing_provider_webhook_handle(r->app->ctx, w.h, w.n, r->body ? r->body : "",
			r->body_len, &res);
	if (rc == BILLING_OK) {
		snprintf(r->webhook_tenant, sizeof(r->webhook_tenant), "%s", res.tenant_id);
		log_msg(LOG_INFO, "provider webhook", "requestId", r->request_id,
			"eventId", res.event_id, "outcome", webhook_outcome_name(res.outcome),
			"tenantId", res.tenant_id, "paymentId", res.payment_id, LOG_END);
		o = cJSON_CreateObject();
		cJSON_AddBoolToObject(o, "received", 1);
		cJSON_AddStringToObject(o, "outcome", webhook_outcome_name(res.outcome));
		reply_json(r, 200, cJSON_PrintUnformatted(o));
		cJSON_Delete(o);
		return;
	}
	e = billing_error_last();
	/* A payment that is not that tenant's is the sender's problem too:
	 * the event is not about anything we hold. */
	status = rc == BILLING_EINVALID || rc == BILLING_ENOTFOUND ? 400 : problem_http_status(rc);
	log_msg(status >= 500 ? LOG_WARN : LOG_INFO, "provider webhook refused",
		"requestId", r->request_id, "reason", e->reason ? e->reason : "",
		"error", e->message ? e->message : "", "eventId", res.event_id, LOG_END);
	reply_problem(r, status, e->reason && *e->reason ? e->reason : "internal",
		status >= 500 && status != 503 ? "the server failed to complete the request" :
		e->message, e->field);
}

/* ------------------------------------------------------------ documents */

struct document_query {
	request *r;
	const char *locale;
	int failed;
};

/* The one query parameter of a document: locale, once, without %00. */
static enum MHD_Result on_document_query(void *cls, enum MHD_ValueKind kind, const char *key,
	const char *value)
{
	struct document_query *q = cls;
	char msg[120];
	(void)kind;
	/* The e-invoice has no words of a language: no parameter at all. */
	if (strcmp(key, "locale") != 0 || q->r->rt->kind == H_DOCUMENT_CII) {
		snprintf(msg, sizeof(msg), "%.60s is not a query parameter of this route", key);
		reply_problem(q->r, 400, "unknown_parameter", msg, key);
	} else if (q->locale) {
		reply_problem(q->r, 400, "invalid", "locale is given more than once", "locale");
	} else if (!value || strstr(value, "\xC0\x80")) {
		reply_problem(q->r, 400, "invalid", "locale must be a locale such as de-DE",
			"locale");
	} else {
		q->locale = value;
		return MHD_YES;
	}
	q->failed = 1;
	return MHD_NO;
}

/* A rendered document as the reply, 200: the body is the server's
 * malloc'd copy with its length (a PDF holds NUL bytes); doc, the
 * library's buffer, is freed. Without memory the reply stays unset: 500.
 * content_type is a string of static storage. */
static void reply_document(request *r, char *doc, size_t len, const char *content_type)
{
	r->out.body = malloc(len + 1);
	if (r->out.body) {
		memcpy(r->out.body, doc, len);
		r->out.body[len] = '\0';
		r->out.body_len = len;
		r->out.status = 200;
		r->out.content_type = content_type;
	}
	billing_free(doc);
}

/* GET /v1/invoices/{id}/html, /pdf, /einvoice and /facturx, and
 * /v1/credit-notes/{id}/html, /pdf and /einvoice. The document can change after
 * the invoice is finalized (a payment, a credit note, the status), so a
 * client keeps it but asks again (no-cache): If-None-Match with its ETag
 * costs a render and answers 304. */
static void handle_document(request *r)
{
	struct document_query q = { r, NULL, 0 };
	billing_principal who = { NULL, NULL, BILLING_ROLE_NONE };
	int pdf = r->rt->kind == H_DOCUMENT_PDF, cii = r->rt->kind == H_DOCUMENT_CII;
	int facturx = r->rt->kind == H_DOCUMENT_FACTURX;
	char *doc = NULL;
	size_t len = 0;
	int rc;

	if (authenticate(r) < 0)
		return;
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, on_document_query, &q);
	if (q.failed)
		return;
	principal_of(r, &who);
	/* The two documents' routes differ only in what they render. */
	rc = (strcmp(r->rt->tag, "creditNotes") == 0 ? billing_credit_note_render :
		billing_invoice_render)(&doc, &len, r->app->ctx, &who, r->id,
		cii ? BILLING_DOCUMENT_CII : facturx ? BILLING_DOCUMENT_FACTURX :
		pdf ? BILLING_DOCUMENT_PDF : BILLING_DOCUMENT_HTML, q.locale);
	if (rc < 0) {
		reply_billing_error(r, rc);
		return;
	}
	r->out.cache_control = "private, no-cache";
	if (reply_unless_unchanged(r, doc, len)) {
		billing_free(doc);
		return;
	}
	reply_document(r, doc, len, cii ? "application/xml" : pdf || facturx ?
		"application/pdf" : "text/html; charset=utf-8");
}

/* GET /hosted/invoices/{id} and /pdf: no principal; the library checks
 * the token. Every refusal is one 404 body, so it says nothing about why;
 * the token is as good as a password for one invoice, so no cache keeps
 * the page and no Referer carries it on. */
static const char *const hosted_headers[][2] = {
	{ "Referrer-Policy", "no-referrer" },
	{ "X-Robots-Tag", "noindex" },
	{ NULL, NULL }
};

static void handle_hosted(request *r)
{
	int pdf = r->rt->kind == H_HOSTED_PDF;
	char *doc = NULL;
	size_t len = 0;
	int rc;

	r->out.headers = hosted_headers;
	r->out.no_store = 1;
	rc = billing_hosted_invoice_render(&doc, &len, r->app->ctx, r->id,
		pdf ? BILLING_DOCUMENT_PDF : BILLING_DOCUMENT_HTML);
	if (rc == BILLING_ENOTFOUND) {
		reply_problem(r, 404, "not_found", "no such hosted invoice", NULL);
		return;
	}
	if (rc < 0) {
		reply_billing_error(r, rc);
		return;
	}
	reply_document(r, doc, len, pdf ? "application/pdf" : "text/html; charset=utf-8");
}

void router_handle(request *r)
{
	if (!r->rt) {
		if (r->out.allow[0]) {
			char msg[160];
			snprintf(msg, sizeof(msg), "%s is not allowed here; allowed: %s", r->method,
				r->out.allow);
			reply_problem(r, 405, "method_not_allowed", msg, NULL);
		} else {
			reply_problem(r, 404, "route_not_found", "no such route", NULL);
		}
		return;
	}
	switch (r->rt->kind) {
	case H_HEALTHZ:
		reply_json(r, 200, dup_text("{\"status\":\"ok\"}"));
		break;
	case H_READYZ:
		handle_readyz(r);
		break;
	case H_METRICS:
		r->out.status = 200;
		r->out.body = metrics_render(r->app->ctx);
		r->out.content_type = "text/plain; version=0.0.4; charset=utf-8";
		break;
	case H_OPENAPI:
		reply_json(r, 200, dup_text(r->app->openapi));
		break;
	case H_LOGIN:
		handle_login(r);
		break;
	case H_CLOCK_GET:
		handle_clock_get(r);
		break;
	case H_CLOCK_ADVANCE:
		handle_clock_advance(r);
		break;
	case H_WEBHOOK_STRIPE:
		handle_webhook(r);
		break;
	case H_DOCUMENT_HTML:
	case H_DOCUMENT_PDF:
	case H_DOCUMENT_CII:
	case H_DOCUMENT_FACTURX:
		handle_document(r);
		break;
	case H_HOSTED_HTML:
	case H_HOSTED_PDF:
		handle_hosted(r);
		break;
	case H_CONSOLE:
		console_handle(r);
		break;
	default:
		handle_op(r);
		break;
	}
}

/*
 * bench_documents: invoice documents per second on one core (issue #24
 * item 6): billing_invoice_render of a one-line invoice and of a 300-line
 * one, as PDF and as HTML, on SQLite.
 *
 *   ./build/release/bench/bench_documents [SECONDS]
 *
 * Each figure renders the same invoice again and again on one thread for
 * SECONDS (default 3) and prints documents/s and the size of one. Each
 * render reads the invoice in its own read transaction, builds the layout
 * and draws it, as a host serving GET /v1/invoices/{id}/pdf does. The
 * resident memory before and after the PDF runs is printed too: fontconfig
 * and cairo fill their font caches on the first render, and rendering the
 * same documents again must not grow the process after that.
 *
 * SQLite: TMPDIR/bench_documents_PID.db, removed at the end. Exits 0 unless
 * a call fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "billing/billing.h"
#include "billing/document.h"
#include "support.h"

#define ID_LEN 64

static const char *prog = "bench_documents";

static long rss_kb(void)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "VmRSS:", 6) == 0)
			v = strtol(line + 6, NULL, 10);
	fclose(f);
	return v;
}

static void call(billing_ctx *ctx, const billing_principal *who, const char *op,
	const char *json, char id[ID_LEN])
{
	char *out = NULL;
	const char *p;
	if (billing_call_json(&out, ctx, who, op, json, strlen(json), NULL) < 0)
		bench_die_lib(op);
	if (id) {
		if ((p = strstr(out, "\"id\":\"")) == NULL)
			bench_die_lib("no id");
		snprintf(id, ID_LEN, "%.*s", (int)strcspn(p + 6, "\""), p + 6);
	}
	billing_free(out);
}

/* A finalized invoice of lines invoice items for a new customer. */
static void invoice(billing_ctx *ctx, const billing_principal *who, size_t lines, char id[ID_LEN])
{
	char cus[ID_LEN], json[512];
	size_t i;
	snprintf(json, sizeof(json), "{\"name\":\"Customer of %zu lines\",\"email\":"
		"\"c%zu@bench.example\",\"address\":{\"line1\":\"Hauptstra\xc3\x9f" "e 5\","
		"\"postalCode\":\"10115\",\"city\":\"Berlin\",\"country\":\"DE\"}}", lines, lines);
	call(ctx, who, "customers.create", json, cus);
	snprintf(json, sizeof(json), "{\"customerId\":\"%s\",\"currency\":\"EUR\","
		"\"collectionMethod\":\"send_invoice\",\"daysUntilDue\":14}", cus);
	call(ctx, who, "invoices.create", json, id);
	for (i = 0; i < lines; i++) {
		snprintf(json, sizeof(json), "{\"customerId\":\"%s\",\"invoiceId\":\"%s\","
			"\"currency\":\"EUR\",\"description\":\"Consulting, day %zu\","
			"\"unitAmount\":%zu,\"quantity\":%zu}", cus, id, i + 1, 10000 + 37 * i,
			1 + i % 3);
		call(ctx, who, "invoice_items.create", json, NULL);
	}
	snprintf(json, sizeof(json), "{\"id\":\"%s\"}", id);
	call(ctx, who, "invoices.finalize", json, NULL);
}

/* Renders id in format for seconds; prints documents/s. */
static void run(billing_ctx *ctx, const billing_principal *who, const char *id,
	billing_document_format format, const char *what, double seconds)
{
	double t0 = bench_now_s(), t;
	size_t n = 0, len = 0;
	do {
		char *doc = NULL;
		if (billing_invoice_render(&doc, &len, ctx, who, id, format, "de-DE") < 0)
			bench_die_lib("billing_invoice_render");
		billing_free(doc);
		n++;
		t = bench_now_s() - t0;
	} while (t < seconds);
	printf("%-24s %8.1f documents/s  (%zu in %.2f s, %zu bytes each)\n", what,
		(double)n / t, n, t, len);
}

int main(int argc, char **argv)
{
	billing_ctx_options opts = BILLING_CTX_OPTIONS_INIT;
	billing_principal platform = { NULL, NULL, BILLING_ROLE_PLATFORM };
	billing_principal who;
	billing_tenant_params tp = BILLING_TENANT_PARAMS_INIT;
	billing_tenant *tenant = NULL;
	billing_ctx *ctx = NULL;
	double seconds = argc > 1 ? strtod(argv[1], NULL) : 3.0;
	char url[600], path[512], tenant_id[ID_LEN], one[ID_LEN], many[ID_LEN];
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char *doc = NULL;
	size_t len;
	long rss0, rss1;

	snprintf(path, sizeof(path), "%s/bench_documents_%ld.db", dir, (long)getpid());
	snprintf(url, sizeof(url), "sqlite:%s", path);
	if (billing_ctx_open_url(&ctx, url, &opts) < 0 || billing_migrate(ctx) < 0)
		bench_die_lib("open / migrate");
	tp.name = "Werkstatt & S\xc3\xb6hne GmbH";
	if (billing_tenant_create(&tenant, ctx, &platform, &tp, NULL) < 0)
		bench_die_lib("billing_tenant_create");
	snprintf(tenant_id, sizeof(tenant_id), "%s", billing_tenant_id(tenant));
	billing_tenant_free(tenant);
	who.tenant_id = tenant_id;
	who.user_id = "bench";
	who.role = BILLING_ROLE_ADMIN;
	invoice(ctx, &who, 1, one);
	invoice(ctx, &who, 300, many);

	printf("%s: SQLite, one thread, de-DE, %.0f s a figure (%s)\n", prog, seconds,
		billing_version_string());
	run(ctx, &who, one, BILLING_DOCUMENT_HTML, "HTML, 1 line", seconds);
	run(ctx, &who, many, BILLING_DOCUMENT_HTML, "HTML, 300 lines", seconds);
	if (billing_invoice_render(&doc, &len, ctx, &who, one, BILLING_DOCUMENT_PDF, NULL) < 0) {
		printf("PDF: %s\n", billing_error_last()->message);
	} else {
		billing_free(doc);
		if (billing_invoice_render(&doc, &len, ctx, &who, many, BILLING_DOCUMENT_PDF,
			"de-DE") < 0)
			bench_die_lib("billing_invoice_render");
		billing_free(doc);
		rss0 = rss_kb();
		run(ctx, &who, one, BILLING_DOCUMENT_PDF, "PDF, 1 line (1 page)", seconds);
		run(ctx, &who, many, BILLING_DOCUMENT_PDF, "PDF, 300 lines", seconds);
		rss1 = rss_kb();
		printf("resident memory around the PDF runs: %ld KiB -> %ld KiB\n", rss0, rss1);
	}
	billing_ctx_close(ctx);
	unlink(path);
	return 0;
}

/*
 * bench_webhooks: what outbound webhooks cost, on SQLite and (when
 * BILLING_TEST_PG_HOST is set) PostgreSQL.
 *
 *   bench_webhooks [N [M]]
 *   BILLING_PG_FSYNC=on scripts/with-postgres.sh ./build/release/bench/bench_webhooks [N [M]]
 *
 * (a) The outbox on a domain write. Every event is queued, in the
 *     transaction that writes it, for each enabled endpoint of the tenant
 *     that wants its type: one webhook_deliveries row and one due_work row
 *     per endpoint. Three tenants in one database, with 0, 1 and 3 enabled
 *     endpoints (https URLs that are never called: nothing runs the
 *     deliveries in this part), each get N billing_customer_create calls
 *     (each writes customer.created), interleaved call by call with the
 *     tenant that goes first rotating, each call timed on its own. A
 *     tenant's rate is its creates over its total time; the ratios are
 *     against the tenant without endpoints.
 *
 * (b) Delivery. A minimal libmicrohttpd receiver on 127.0.0.1 (a thread
 *     pool of 4, answering 200 "ok" to every POST) and one endpoint on it,
 *     in a database of its own opened with webhook_allow_http and
 *     webhook_allow_private. M customers queue M deliveries (untimed), then
 *     billing_run_due delivers them: from one thread, then (after M more)
 *     from 4 threads on the same context. Each delivery is a claim
 *     transaction (with a lease), a signed POST over a new connection, and a
 *     transaction recording the attempt. For reference, the same POSTs (same
 *     body size and headers, a new connection each, as the library makes)
 *     with bare libcurl, no database. The program checks that the receiver
 *     got M requests per run and that every delivery is "succeeded".
 *
 * Durable settings: SQLite is the library's (WAL, synchronous=FULL) in
 * TMPDIR (the program says when that is tmpfs, where fsync is free);
 * PostgreSQL should run with BILLING_PG_FSYNC=on (scripts/with-postgres.sh
 * turns fsync off by default; the program warns then). On PostgreSQL the
 * schemas are made by billing_owner, migrated by billing_migrate, used as
 * billing_app (RLS on) and dropped at the end, also when the program fails.
 *
 * It reports; it exits 0 whatever the figures are (non-zero only when
 * something fails).
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "billing/ctx.h"
#include "billing/customer.h"
#include "billing/errors.h"
#include "billing/list.h"
#include "billing/principal.h"
#include "billing/run.h"
#include "billing/tenant.h"
#include "billing/webhook.h"
#include "support.h"

#define DEFAULT_N 1000
#define DEFAULT_M 1000
#define MAX_COUNT 1000000
#define WARMUP 16
#define RUN_THREADS 4
#define CONFIGS 3

static const char *prog = "bench_webhooks";
static const unsigned int endpoint_counts[CONFIGS] = { 0, 1, 3 };
static const billing_principal platform = { NULL, "bench", BILLING_ROLE_PLATFORM };

/* ------------------------------------------------------------ utilities */

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		(double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int is_tmpfs(const char *dir)
{
	struct statfs sf;
	return statfs(dir, &sf) == 0 && sf.f_type == 0x01021994; /* TMPFS_MAGIC */
}

/* A fresh tenant; its id into id. */
static void new_tenant(billing_ctx *ctx, const char *name, char id[64])
{
	billing_tenant_params tp = BILLING_TENANT_PARAMS_INIT;
	billing_tenant *t = NULL;
	tp.name = name;
	if (billing_tenant_create(&t, ctx, &platform, &tp, NULL) < 0)
		bench_die_lib("billing_tenant_create");
	snprintf(id, 64, "%s", billing_tenant_id(t));
	billing_tenant_free(t);
}

static void new_endpoint(billing_ctx *ctx, const billing_principal *who, const char *url)
{
	billing_webhook_endpoint_params p = BILLING_WEBHOOK_ENDPOINT_PARAMS_INIT;
	billing_webhook_endpoint *e = NULL;
	p.url = url;
	if (billing_webhook_endpoint_create(&e, ctx, who, &p, NULL) < 0)
		bench_die_lib("billing_webhook_endpoint_create");
	billing_webhook_endpoint_free(e);   /* its secret is wiped with it */
}

/* One customer with a unique e-mail; returns the seconds the call took
 * and adds the CPU seconds of this process to *cpu (may be NULL). */
static double new_customer(billing_ctx *ctx, const billing_principal *who, size_t n, double *cpu)
{
	billing_customer_params p = BILLING_CUSTOMER_PARAMS_INIT;
	billing_customer *c = NULL;
	char name[48], email[96];
	double t0, c0;
	snprintf(name, sizeof(name), "Bench %zu", n);
	snprintf(email, sizeof(email), "c%zu.%s@bench.test", n, who->tenant_id + 4);
	p.name = name;
	p.email = email;
	c0 = cpu ? cpu_s() : 0;
	t0 = bench_now_s();
	if (billing_customer_create(&c, ctx, who, &p, NULL) < 0)
		bench_die_lib("billing_customer_create");
	t0 = bench_now_s() - t0;
	if (cpu)
		*cpu += cpu_s() - c0;
	billing_customer_free(c);
	return t0;
}

/* Deliveries of the tenant with this status, counted in page mode. */
static int64_t count_deliveries(billing_ctx *ctx, const billing_principal *who,
	billing_delivery_status status)
{
	billing_delivery_list_params p = BILLING_DELIVERY_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	int64_t total;
	p.list.page = 1;
	p.list.limit = 1;
	p.status = status;
	if (billing_webhook_delivery_list(&page, ctx, who, &p) < 0)
		bench_die_lib("billing_webhook_delivery_list");
	total = billing_page_total(page);
	billing_page_free(page);
	return total;
}

/* ------------------------------------------------------------ backends */

enum backend { SQLITE, POSTGRES };

static char tmp_dir[512];
static char pg_host[512];
static char schemas[3][64];
static int schema_count;

static void quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

static PGconn *pg_owner(void)
{
	char ci[700];
	PGconn *pg;
	snprintf(ci, sizeof(ci), "host=%s dbname=billing user=billing_owner", pg_host);
	pg = PQconnectdb(ci);
	if (!pg || PQstatus(pg) != CONNECTION_OK) {
		fprintf(stderr, "%s: cannot connect as billing_owner: %s", prog,
			pg ? PQerrorMessage(pg) : "out of memory\n");
		PQfinish(pg);
		return NULL;
	}
	PQsetNoticeProcessor(pg, quiet, NULL);
	return pg;
}

static void pg_exec(PGconn *pg, const char *sql, char *out, size_t size)
{
	PGresult *r = PQexec(pg, sql);
	ExecStatusType st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		PQclear(r);
		bench_die(sql, PQerrorMessage(pg));
	}
	if (out)
		snprintf(out, size, "%s", PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
}

static void cleanup(void)
{
	int i;
	if (tmp_dir[0]) {
		char cmd[600];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_dir);
		if (system(cmd) != 0)
			fprintf(stderr, "%s: cannot remove %s\n", prog, tmp_dir);
		tmp_dir[0] = '\0';
	}
	if (schema_count) {
		PGconn *pg = pg_owner();
		for (i = 0; pg && i < schema_count; i++) {
			char sql[128];
			PGresult *r;
			snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE", schemas[i]);
			r = PQexec(pg, sql);
			if (PQresultStatus(r) != PGRES_COMMAND_OK)
				fprintf(stderr, "%s: cannot drop %s: %s", prog, schemas[i],
					PQerrorMessage(pg));
			PQclear(r);
		}
		PQfinish(pg);
		schema_count = 0;
	}
}

/* A fresh, migrated database for one part ("a" or "b"). */
static billing_ctx *open_part(enum backend be, const char *part, const billing_ctx_options *o)
{
	billing_ctx *ctx = NULL;
	char url[1200];

	if (be == SQLITE) {
		snprintf(url, sizeof(url), "sqlite:%s/%s.db", tmp_dir, part);
	} else {
		PGconn *pg = pg_owner();
		char sql[128], *schema = schemas[schema_count];
		if (!pg)
			exit(1);
		snprintf(schema, 64, "bench_hooks_%s_%ld", part, (long)getpid());
		snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", schema);
		pg_exec(pg, sql, NULL, 0);
		PQfinish(pg);
		schema_count++;
		/* The owner migrates; billing_app, which serves, could not. */
		snprintf(url, sizeof(url), "postgres:host=%s dbname=billing user=billing_owner "
			"options='-c search_path=%s'", pg_host, schema);
		if (billing_ctx_open_url(&ctx, url, NULL) < 0)
			bench_die_lib("billing_ctx_open_url (owner)");
		if (billing_migrate(ctx) < 0)
			bench_die_lib("billing_migrate");
		billing_ctx_close(ctx);
		ctx = NULL;
		snprintf(url, sizeof(url), "postgres:host=%s dbname=billing user=billing_app "
			"options='-c search_path=%s'", pg_host, schema);
	}
	if (billing_ctx_open_url(&ctx, url, o) < 0)
		bench_die_lib("billing_ctx_open_url");
	if (be == SQLITE && billing_migrate(ctx) < 0)
		bench_die_lib("billing_migrate");
	return ctx;
}

/* ------------------------------------------------------------ (a) the outbox */

static void part_a(enum backend be, size_t n)
{
	billing_ctx *ctx = open_part(be, "a", NULL);
	char tenants[CONFIGS][64];
	billing_principal who[CONFIGS];
	double secs[CONFIGS] = { 0, 0, 0 }, cpu[CONFIGS] = { 0, 0, 0 };
	size_t i, k, j;

	for (k = 0; k < CONFIGS; k++) {
		char name[32];
		snprintf(name, sizeof(name), "outbox %u", endpoint_counts[k]);
		new_tenant(ctx, name, tenants[k]);
		who[k].tenant_id = tenants[k];
		who[k].user_id = "bench";
		who[k].role = BILLING_ROLE_ADMIN;
		for (j = 0; j < endpoint_counts[k]; j++) {
			char url[96];
			snprintf(url, sizeof(url), "https://hooks.example.invalid/bench/%zu", j);
			new_endpoint(ctx, &who[k], url);
		}
		for (i = 0; i < WARMUP; i++)
			new_customer(ctx, &who[k], MAX_COUNT + i, NULL);
	}
	for (i = 0; i < n; i++)
		for (j = 0; j < CONFIGS; j++) {
			k = (i + j) % CONFIGS;
			secs[k] += new_customer(ctx, &who[k], i, &cpu[k]);
		}

	printf("\n(a) the outbox on a domain write: billing_customer_create, N=%zu per tenant, "
		"interleaved\n", n);
	printf("%-22s %10s %10s %14s %14s %10s\n", "tenant", "creates/s", "us/create",
		"ratio vs none", "CPU us/create", "queued");
	printf("%-22s %10s %10s %14s %14s %10s\n", "----------------------", "----------",
		"----------", "--------------", "--------------", "----------");
	for (k = 0; k < CONFIGS; k++) {
		char label[40];
		int64_t queued = count_deliveries(ctx, &who[k], BILLING_DELIVERY_PENDING);
		snprintf(label, sizeof(label), endpoint_counts[k] == 0 ? "no endpoint" :
			endpoint_counts[k] == 1 ? "%u enabled endpoint" : "%u enabled endpoints",
			endpoint_counts[k]);
		printf("%-22s %10.0f %10.1f %14.3f %14.1f %10" PRId64 "\n", label, (double)n / secs[k],
			secs[k] * 1e6 / (double)n, secs[0] / secs[k], cpu[k] * 1e6 / (double)n, queued);
	}
	billing_ctx_close(ctx);
}

/* ------------------------------------------------------------ (b) delivery */

static atomic_long received;
static atomic_long warnings;
/* (c): the signed requests to wait for, and when the last of them came. */
static atomic_long received_goal;
static double received_all_at;

/* The library's warnings during the delivery runs: counted, the first few
 * shown (a failed item is set aside for a minute and counted as failed). */
static void on_log(void *payload, billing_log_level level, const char *message)
{
	(void)payload;
	if (level <= BILLING_LOG_WARN && atomic_fetch_add(&warnings, 1) < 5)
		fprintf(stderr, "%s: library warning: %s\n", prog, message);
}

struct upload {
	int started;
};

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
	const char *method, const char *version, const char *data, size_t *size, void **state)
{
	static const char ok[] = "ok";
	struct upload *u = *state;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	(void)url;
	(void)method;
	(void)version;
	(void)data;

	if (!u) {
		*state = calloc(1, sizeof(struct upload));
		return *state ? MHD_YES : MHD_NO;
	}
	if (*size) {
		*size = 0;        /* the body is not looked at: a minimal receiver */
		return MHD_YES;
	}
	/* The slow receiver of (c) (cls: its delay) answers late. */
	if (cls)
		usleep((useconds_t)(uintptr_t)cls * 1000u);
	if (MHD_lookup_connection_value(c, MHD_HEADER_KIND, "webhook-signature") &&
	    atomic_fetch_add(&received, 1) + 1 == atomic_load(&received_goal))
		received_all_at = bench_now_s();
	resp = MHD_create_response_from_buffer(sizeof(ok) - 1, (void *)ok, MHD_RESPMEM_PERSISTENT);
	ret = MHD_queue_response(c, 200, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void on_done(void *cls, struct MHD_Connection *c, void **state,
	enum MHD_RequestTerminationCode code)
{
	(void)cls;
	(void)c;
	(void)code;
	free(*state);
	*state = NULL;
}

struct runner {
	billing_ctx *ctx;
	int64_t now;
	size_t max;
	int64_t processed, failed;
	int rc;
	const char *error;
};

static void *run_thread(void *arg)
{
	struct runner *r = arg;
	billing_run_limits limits = BILLING_RUN_LIMITS_INIT;
	limits.max_items = (unsigned int)r->max;
	for (;;) {
		billing_run_report rep;
		if ((r->rc = billing_run_due(r->ctx, r->now, &limits, &rep)) < 0) {
			r->error = billing_error_last()->message;
			break;
		}
		r->processed += rep.processed;
		r->failed += rep.failed;
		if (rep.processed == 0 && rep.failed == 0)
			break;
	}
	return NULL;
}

struct result {
	double secs, cpu;
	long got;
	int64_t processed, failed;
};

static struct result deliver(billing_ctx *ctx, size_t m, int threads)
{
	struct runner rs[RUN_THREADS];
	pthread_t tid[RUN_THREADS];
	struct result res = { 0, 0, 0, 0, 0 };
	double t0, c0;
	int i;

	atomic_store(&received, 0);
	c0 = cpu_s();
	t0 = bench_now_s();
	for (i = 0; i < threads; i++) {
		memset(&rs[i], 0, sizeof(rs[i]));
		rs[i].ctx = ctx;
		/* One time for every thread: the run refuses a time before the
		 * latest run's, which a thread reading the clock just before a
		 * second ticks over would hand it. */
		rs[i].now = billing_ctx_now(ctx);
		rs[i].max = m;
		if (pthread_create(&tid[i], NULL, run_thread, &rs[i]) != 0)
			bench_die("pthread_create", "failed");
	}
	for (i = 0; i < threads; i++) {
		pthread_join(tid[i], NULL);
		if (rs[i].rc < 0)
			bench_die("billing_run_due", rs[i].error);
		res.processed += rs[i].processed;
		res.failed += rs[i].failed;
	}
	res.secs = bench_now_s() - t0;
	res.cpu = cpu_s() - c0;
	res.got = atomic_load(&received);
	return res;
}

static size_t discard(char *data, size_t size, size_t n, void *payload)
{
	(void)data;
	(void)payload;
	return size * n;
}

/* The reference: m POSTs with bare libcurl, a new connection each (as the
 * library makes), a body of the size of a customer.created delivery and the
 * same kind of headers. */
static struct result bare_curl(const char *url, size_t m)
{
	struct result res = { 0, 0, 0, 0, 0 };
	struct curl_slist *h = NULL;
	char body[900];
	double t0, c0;
	size_t i;

	memset(body, 'x', sizeof(body) - 1);
	body[sizeof(body) - 1] = '\0';
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "webhook-id: evt_01kx0000000000000000000000");
	h = curl_slist_append(h, "webhook-timestamp: 1767225600");
	h = curl_slist_append(h, "webhook-signature: v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
	atomic_store(&received, 0);
	c0 = cpu_s();
	t0 = bench_now_s();
	for (i = 0; i < m; i++) {
		CURL *c = curl_easy_init();
		long status = 0;
		if (!c)
			bench_die("curl_easy_init", "failed");
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
		if (curl_easy_perform(c) != CURLE_OK ||
		    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status != 200)
			res.failed++;
		else
			res.processed++;
		curl_easy_cleanup(c);
	}
	res.secs = bench_now_s() - t0;
	res.cpu = cpu_s() - c0;
	res.got = atomic_load(&received);
	curl_slist_free_all(h);
	return res;
}

static void print_b(const char *label, size_t m, const struct result *r)
{
	printf("%-32s %9" PRId64 " %8.2f %12.0f %8.2f %11.0f %8ld %6" PRId64 "%s\n", label,
		r->processed, r->secs, (double)r->processed / r->secs,
		r->secs * 1e3 / (double)r->processed, r->cpu * 1e6 / (double)r->processed, r->got,
		r->failed, r->failed || (size_t)r->got != m ? "  (MISMATCH)" : "");
}

static void part_b(enum backend be, size_t m)
{
	billing_ctx_options o = BILLING_CTX_OPTIONS_INIT;
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *info;
	billing_principal who;
	billing_ctx *ctx;
	char tenant[64], url[96];
	struct result r1, r4, rc;
	double setup;
	size_t i;
	int64_t ok;

	o.webhook_allow_http = 1;
	o.webhook_allow_private = 1;
	o.logger = on_log;
	o.log_level = BILLING_LOG_WARN;
	atomic_store(&warnings, 0);
	ctx = open_part(be, "b", &o);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
		on_request, NULL, MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)RUN_THREADS,
		MHD_OPTION_LISTENING_ADDRESS_REUSE, 1U, MHD_OPTION_END);
	if (!d || !(info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)))
		bench_die("MHD_start_daemon", "cannot start the receiver");
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook", (unsigned int)info->port);
	new_tenant(ctx, "deliveries", tenant);
	who.tenant_id = tenant;
	who.user_id = "bench";
	who.role = BILLING_ROLE_ADMIN;
	new_endpoint(ctx, &who, url);

	/* Warm-up: a few deliveries, so that the first timed one pays for no
	 * lazy initialization (libcurl's, the statement cache). */
	for (i = 0; i < WARMUP; i++)
		new_customer(ctx, &who, MAX_COUNT + i, NULL);
	(void)deliver(ctx, WARMUP, 1);

	setup = bench_now_s();
	for (i = 0; i < m; i++)
		new_customer(ctx, &who, i, NULL);
	setup = bench_now_s() - setup;
	r1 = deliver(ctx, m, 1);
	for (i = 0; i < m; i++)
		new_customer(ctx, &who, m + i, NULL);
	r4 = deliver(ctx, m, RUN_THREADS);
	rc = bare_curl(url, m);
	ok = count_deliveries(ctx, &who, BILLING_DELIVERY_SUCCEEDED);

	printf("\n(b) delivery to a loopback receiver (libmicrohttpd, 4 threads, answers 200), "
		"M=%zu per run\n", m);
	printf("    queueing them (M customers, untimed): %.2f s; CPU includes the receiver's "
		"threads (same process)\n", setup);
	printf("%-32s %9s %8s %12s %8s %11s %8s %6s\n", "run", "delivered", "seconds",
		"deliveries/s", "ms each", "CPU us each", "received", "failed");
	printf("%-32s %9s %8s %12s %8s %11s %8s %6s\n", "--------------------------------",
		"---------", "--------", "------------", "--------", "-----------", "--------",
		"------");
	print_b("billing_run_due, 1 thread", m, &r1);
	print_b("billing_run_due, 4 threads", m, &r4);
	print_b("bare libcurl POST (reference)", m, &rc);
	printf("ratio billing_run_due 1 thread / bare libcurl: %.3f; 4 threads / 1 thread: %.2fx\n",
		((double)r1.processed / r1.secs) / ((double)rc.processed / rc.secs),
		((double)r4.processed / r4.secs) / ((double)r1.processed / r1.secs));
	printf("check: %" PRId64 " deliveries succeeded of %zu queued%s; library warnings: %ld\n",
		ok, 2 * m + WARMUP, ok == (int64_t)(2 * m + WARMUP) ? "" : "  (MISMATCH)",
		atomic_load(&warnings));
	MHD_stop_daemon(d);
	billing_ctx_close(ctx);
}

/* ------------------------------------------------------------ (c) a slow and a hanging receiver */

#define SLOW_MS 100           /* the slow receiver's answer time */
#define HANG_EVERY 100        /* one delivery to the hanging receiver per this many */
#define CREATE_THREADS 8

struct creator {
	billing_ctx *ctx;
	const billing_principal *who[2];   /* slow, hanging */
	size_t from, to;
};

static void *create_thread(void *arg)
{
	struct creator *cr = arg;
	size_t i;
	for (i = cr->from; i < cr->to; i++) {
		new_customer(cr->ctx, cr->who[0], 2 * MAX_COUNT + i, NULL);
		if (i % HANG_EVERY == 0)
			new_customer(cr->ctx, cr->who[1], 3 * MAX_COUNT + i, NULL);
	}
	return NULL;
}

/* A receiver that never answers: a socket that listens and accepts
 * nothing (connections wait in its backlog, then at connect). Its port
 * into *port; the socket is returned (closed by the caller). */
static int hanging_receiver(unsigned int *port)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 4096) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0)
		bench_die("hanging receiver", "cannot listen on 127.0.0.1");
	*port = ntohs(a.sin_port);
	return fd;
}

/*
 * Issue #19 item 5's webhook target: C deliveries to a receiver that answers
 * after 100 ms, in under 30 s, while another endpoint hangs throughout.
 * Tenant "slow" has one endpoint on the slow receiver and C customers
 * (C customer.created deliveries); tenant "hanging" has one endpoint on a
 * socket that never answers and a delivery for every HANG_EVERY of the
 * others, created among them (so they are due among them). The context's
 * webhook timeout is the default (15 s). Then RUN_THREADS threads call
 * billing_run_due until a call does nothing; timed: until the slow
 * receiver has had all C, and until the run returns.
 */
static void part_c(enum backend be, size_t c)
{
	billing_ctx_options o = BILLING_CTX_OPTIONS_INIT;
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *info;
	billing_principal who[2];
	struct creator cr[CREATE_THREADS];
	pthread_t tid[CREATE_THREADS];
	billing_ctx *ctx;
	char tenant[2][64], url[96];
	struct result r;
	double setup, t0;
	unsigned int hport;
	size_t i, hanging = (c + HANG_EVERY - 1) / HANG_EVERY;
	int64_t ok, ok_hanging;
	int hfd;

	o.webhook_allow_http = 1;
	o.webhook_allow_private = 1;
	o.logger = on_log;
	o.log_level = BILLING_LOG_WARN;
	atomic_store(&warnings, 0);
	ctx = open_part(be, "c", &o);
	/* A thread per connection: every request waits SLOW_MS on its own. */
	d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
		MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, (void *)(uintptr_t)SLOW_MS,
		MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL,
		MHD_OPTION_LISTENING_ADDRESS_REUSE, 1U, MHD_OPTION_END);
	if (!d || !(info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)))
		bench_die("MHD_start_daemon", "cannot start the slow receiver");
	hfd = hanging_receiver(&hport);
	new_tenant(ctx, "slow receiver", tenant[0]);
	new_tenant(ctx, "hanging receiver", tenant[1]);
	for (i = 0; i < 2; i++) {
		who[i].tenant_id = tenant[i];
		who[i].user_id = "bench";
		who[i].role = BILLING_ROLE_ADMIN;
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook", (unsigned int)info->port);
	new_endpoint(ctx, &who[0], url);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook", hport);
	new_endpoint(ctx, &who[1], url);

	setup = bench_now_s();
	for (i = 0; i < CREATE_THREADS; i++) {
		cr[i].ctx = ctx;
		cr[i].who[0] = &who[0];
		cr[i].who[1] = &who[1];
		cr[i].from = c * i / CREATE_THREADS;
		cr[i].to = c * (i + 1) / CREATE_THREADS;
		if (pthread_create(&tid[i], NULL, create_thread, &cr[i]) != 0)
			bench_die("pthread_create", "failed");
	}
	for (i = 0; i < CREATE_THREADS; i++)
		pthread_join(tid[i], NULL);
	setup = bench_now_s() - setup;

	received_all_at = 0;
	atomic_store(&received_goal, (long)c);
	t0 = bench_now_s();
	r = deliver(ctx, 2 * (c + hanging), RUN_THREADS);
	ok = count_deliveries(ctx, &who[0], BILLING_DELIVERY_SUCCEEDED);
	ok_hanging = count_deliveries(ctx, &who[1], BILLING_DELIVERY_SUCCEEDED);
	atomic_store(&received_goal, 0);

	printf("\n(c) C=%zu deliveries to a receiver answering after %d ms, %zu more to a "
		"receiver that never answers\n    (webhook timeout: the default), billing_run_due "
		"from %d threads; queueing them (untimed): %.1f s\n", c, SLOW_MS, hanging,
		RUN_THREADS, setup);
	printf("    all %zu at the slow receiver after %.2f s%s (target < 30 s); "
		"the run returned after %.2f s\n", c,
		received_all_at > 0 ? received_all_at - t0 : r.secs,
		received_all_at > 0 ? "" : " (NOT all received)", r.secs);
	printf("    %.0f deliveries/s to the slow receiver; run items %" PRId64 ", set aside %"
		PRId64 "; CPU %.0f us per delivery\n",
		(double)c / (received_all_at > 0 ? received_all_at - t0 : r.secs), r.processed,
		r.failed, r.cpu * 1e6 / (double)c);
	printf("check: %" PRId64 " of %zu succeeded at the slow receiver%s, %" PRId64
		" at the hanging one (0 expected); library warnings: %ld\n", ok, c,
		ok == (int64_t)c ? "" : "  (MISMATCH)", ok_hanging, atomic_load(&warnings));
	close(hfd);
	MHD_stop_daemon(d);
	billing_ctx_close(ctx);
}

/* ------------------------------------------------------------ main */

int main(int argc, char **argv)
{
	const char *base = getenv("TMPDIR"), *host = getenv("BILLING_TEST_PG_HOST");
	size_t n = DEFAULT_N, m = DEFAULT_M, c = 0;
	double t_start = bench_now_s();

	if (argc > 4 || (argc > 1 && ((n = strtoul(argv[1], NULL, 10)) < 1 || n > MAX_COUNT)) ||
	    (argc > 2 && ((m = strtoul(argv[2], NULL, 10)) < 1 || m > MAX_COUNT)) ||
	    (argc > 3 && (c = strtoul(argv[3], NULL, 10)) > MAX_COUNT)) {
		fprintf(stderr, "usage: %s [N [M [C]]]\n"
			"  N creates per tenant for the outbox (default %d), M deliveries per run "
			"(default %d),\n  C deliveries to a slow receiver beside a hanging one "
			"(default 0: not run; the issue's case: 10000);\n  PostgreSQL too when "
			"BILLING_TEST_PG_HOST is set (scripts/with-postgres.sh, with BILLING_PG_FSYNC=on)\n",
			argv[0], DEFAULT_N, DEFAULT_M);
		return 2;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		bench_die("curl_global_init", "failed");
	atexit(cleanup);
	if (!base || !*base)
		base = "/tmp";
	snprintf(tmp_dir, sizeof(tmp_dir), "%s/bench_webhooks.XXXXXX", base);
	if (!mkdtemp(tmp_dir)) {
		tmp_dir[0] = '\0';
		bench_die("mkdtemp", base);
	}

	printf("%s: SQLite, WAL + synchronous=FULL, in %s (%s)\n", prog, tmp_dir,
		is_tmpfs(tmp_dir) ? "tmpfs: fsync is a no-op, the numbers are NOT durable writes" :
		"disk-backed");
	fflush(stdout);
	part_a(SQLITE, n);
	fflush(stdout);
	part_b(SQLITE, m);
	fflush(stdout);
	if (c)
		part_c(SQLITE, c);
	fflush(stdout);

	if (host && *host) {
		char fsync_[16] = "", version[64] = "";
		PGconn *pg;
		snprintf(pg_host, sizeof(pg_host), "%s", host);
		if ((pg = pg_owner()) == NULL)
			return 1;
		pg_exec(pg, "SHOW fsync", fsync_, sizeof(fsync_));
		pg_exec(pg, "SHOW server_version", version, sizeof(version));
		PQfinish(pg);
		printf("\n%s: PostgreSQL %s on socket %s, fsync=%s, as billing_app (RLS on)\n", prog,
			version, pg_host, fsync_);
		if (strcmp(fsync_, "on") != 0)
			printf("WARNING: fsync is %s on this server: commits are NOT durable and the\n"
				"         numbers mean little. Run with BILLING_PG_FSYNC=on.\n", fsync_);
		fflush(stdout);
		part_a(POSTGRES, n);
		fflush(stdout);
		part_b(POSTGRES, m);
		fflush(stdout);
		if (c)
			part_c(POSTGRES, c);
	} else {
		printf("\n(PostgreSQL not run: BILLING_TEST_PG_HOST is not set; see bench/README.md)\n");
	}
	printf("\ntotal %.1f s\n", bench_now_s() - t_start);
	cleanup();
	curl_global_cleanup();
	return 0;
}

/*
 * bench_http_lib: the library side of bench/http/run.sh. The same operations
 * the HTTP benchmark sends to billing-server, made in-process through
 * billing_call_json on the same kind of database, so the two rates can be
 * set side by side (the HTTP overhead ratio).
 *
 *   bench_http_lib URL TENANT_ID get|create N THREADS
 *
 * URL and TENANT_ID as the server uses them (the schema must be current: the
 * script migrates it). THREADS threads share one context, as the server's
 * worker threads do, and make N calls in all:
 *   get     customers.get of one customer (created first, untimed), like
 *           wrk's GET /v1/customers/{id}
 *   create  customers.create with a unique e-mail per call, like the wrk
 *           script's POST /v1/customers
 * after a short untimed warm-up. Each call is timed. Prints one line:
 *   lib op=get threads=4 n=50000 seconds=0.812 ops_per_s=61576.4 p50_ms=0.052 p99_ms=0.210
 * Exits 1 if any call fails.
 */
#define _POSIX_C_SOURCE 200809L
#include <billing/billing.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WARMUP 200

static billing_ctx *ctx;
static billing_principal admin = { NULL, "usr_bench", BILLING_ROLE_ADMIN };
static int op_create;
static char customer_id[64];
static long run_nonce;

typedef struct {
	int index;
	long first, count;   /* call numbers [first, first + count) */
	double *lat;         /* seconds per call, count of them */
	int failed;
} worker;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One call; 0 or -1 after printing the library's error. */
static int one_call(long n, const char *tag)
{
	char in[256], *out = NULL;
	const char *op;
	int rc;

	if (op_create) {
		op = "customers.create";
		snprintf(in, sizeof(in), "{\"name\":\"Bench %ld\",\"email\":\"lib-%ld-%s-%ld@bench.test\"}",
			n, run_nonce, tag, n);
	} else {
		op = "customers.get";
		snprintf(in, sizeof(in), "{\"id\":\"%s\"}", customer_id);
	}
	rc = billing_call_json(&out, ctx, &admin, op, in, strlen(in), NULL);
	if (rc < 0)
		fprintf(stderr, "bench_http_lib: %s failed: %s\n", op, out ? out : "(no detail)");
	billing_free(out);
	return rc < 0 ? -1 : 0;
}

static void *run_worker(void *arg)
{
	worker *w = arg;
	long i;
	for (i = 0; i < w->count; i++) {
		double t0 = now_s();
		if (one_call(w->first + i, "m") < 0) {
			w->failed = 1;
			return NULL;
		}
		w->lat[i] = now_s() - t0;
	}
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	billing_ctx_options o = BILLING_CTX_OPTIONS_INIT;
	long n, i, off = 0;
	int threads, t, failed = 0;
	worker *w;
	pthread_t *tid;
	double *all, t0, secs;

	if (argc != 6 || (strcmp(argv[3], "get") != 0 && strcmp(argv[3], "create") != 0) ||
	    (n = atol(argv[4])) < 1 || (threads = atoi(argv[5])) < 1 || threads > 256) {
		fprintf(stderr, "usage: bench_http_lib URL TENANT_ID get|create N THREADS\n");
		return 2;
	}
	op_create = strcmp(argv[3], "create") == 0;
	admin.tenant_id = argv[2];
	run_nonce = (long)time(NULL) * 100000 + (long)getpid() % 100000;
	o.log_level = BILLING_LOG_ERROR;
	if (billing_ctx_open_url(&ctx, argv[1], &o) < 0) {
		fprintf(stderr, "bench_http_lib: cannot open the database: %s\n",
			billing_error_last()->message);
		return 1;
	}
	{
		/* The customer the gets read; also a check that the schema is current. */
		char in[160], *out = NULL;
		const char *p;
		snprintf(in, sizeof(in), "{\"name\":\"Bench target\",\"email\":\"lib-target-%ld@bench.test\"}",
			run_nonce);
		if (billing_call_json(&out, ctx, &admin, "customers.create", in, strlen(in), NULL) < 0 ||
		    !(p = strstr(out, "\"id\":\"")) || sscanf(p + 6, "%63[^\"]", customer_id) != 1) {
			fprintf(stderr, "bench_http_lib: cannot create a customer: %s\n",
				out ? out : billing_error_last()->message);
			billing_free(out);
			billing_ctx_close(ctx);
			return 1;
		}
		billing_free(out);
	}
	for (i = 0; i < WARMUP; i++)
		if (one_call(i, "w") < 0) {
			billing_ctx_close(ctx);
			return 1;
		}

	w = calloc((size_t)threads, sizeof(*w));
	tid = calloc((size_t)threads, sizeof(*tid));
	all = malloc((size_t)n * sizeof(*all));
	if (!w || !tid || !all) {
		fprintf(stderr, "bench_http_lib: out of memory\n");
		return 1;
	}
	for (t = 0; t < threads; t++) {
		w[t].index = t;
		w[t].first = off;
		w[t].count = n / threads + (t < n % threads);
		w[t].lat = all + off;
		off += w[t].count;
	}
	t0 = now_s();
	for (t = 0; t < threads; t++)
		if (pthread_create(&tid[t], NULL, run_worker, &w[t]) != 0) {
			fprintf(stderr, "bench_http_lib: cannot start a thread\n");
			return 1;
		}
	for (t = 0; t < threads; t++) {
		pthread_join(tid[t], NULL);
		failed |= w[t].failed;
	}
	secs = now_s() - t0;
	billing_ctx_close(ctx);
	if (failed) {
		free(all);
		free(w);
		free(tid);
		return 1;
	}
	qsort(all, (size_t)n, sizeof(*all), cmp_double);
	printf("lib op=%s threads=%d n=%ld seconds=%.3f ops_per_s=%.1f p50_ms=%.3f p99_ms=%.3f\n",
		argv[3], threads, n, secs, (double)n / secs, all[n / 2] * 1e3,
		all[(long)((double)n * 0.99)] * 1e3);
	free(all);
	free(w);
	free(tid);
	return 0;
}

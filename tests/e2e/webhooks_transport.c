/*
 * Webhook delivery through a host-supplied transport
 * (billing_ctx_options.transport), on the backend under test, with the
 * scripted transport of tests/support: no sockets. What the library hands
 * the transport (method, URL, headers and their signature, body, limits,
 * flags), and what it makes of each fault: a hang, a reset, a refused
 * connection, a TLS failure, a refused address, an oversized answer, a
 * send() that fails, the retry schedule to the dead state, and a 410 Gone
 * that disables the endpoint at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/webhook_internal.h"
#include "tb.h"
#include "tb_billing.h"
#include "scripted_transport.h"

typedef struct {
	tb_world *w;
	scripted_transport *st;
	const char *t;
	billing_principal admin;
	char endpoint_id[64];
	char secret[128];
} fx;

#define URL "https://hooks.example.com/billing"

static void fx_open_with(fx *f, int allow_http, int allow_private, long timeout_ms)
{
	billing_ctx_options o = BILLING_CTX_OPTIONS_INIT;
	memset(f, 0, sizeof(*f));
	f->st = st_new();
	o.transport = &f->st->base;
	o.webhook_allow_http = allow_http;
	o.webhook_allow_private = allow_private;
	o.webhook_timeout_ms = timeout_ms;
	f->w = tb_world_new_with(&o);
	f->t = tb_tenant(f->w, "Acme");
	f->admin = tb_admin(f->t);
}

static void fx_open(fx *f)
{
	fx_open_with(f, 0, 0, 0);
}

static void endpoint(fx *f, const char *url)
{
	billing_webhook_endpoint_params p = BILLING_WEBHOOK_ENDPOINT_PARAMS_INIT;
	billing_webhook_endpoint *e = NULL;
	p.url = url;
	tb_assert_rc(billing_webhook_endpoint_create(&e, f->w->ctx, &f->admin, &p, NULL), BILLING_OK);
	snprintf(f->endpoint_id, sizeof(f->endpoint_id), "%s", billing_webhook_endpoint_id(e));
	snprintf(f->secret, sizeof(f->secret), "%s", billing_webhook_endpoint_secret(e));
	billing_webhook_endpoint_free(e);
}

static void fx_close(fx *f)
{
	tb_world_free(f->w);
	/* every answer handed over was handed back */
	st_free(f->st);
}

static void event(fx *f)
{
	billing_customer *c = tb_customer(f->w, f->t, NULL);
	billing_customer_free(c);
}

static void run_at(fx *f, int64_t t)
{
	billing_run_report rep;
	f->w->now = t;
	tb_assert_rc(billing_run_due(f->w->ctx, t, NULL, &rep), BILLING_OK);
	assert_int_equal(rep.failed, 0);
}

/* The tenant's deliveries, newest first, as a page the caller frees. */
static billing_page *deliveries(fx *f, size_t *n)
{
	billing_delivery_list_params p = BILLING_DELIVERY_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	p.list.limit = 100;
	tb_assert_rc(billing_webhook_delivery_list(&page, f->w->ctx, &f->admin, &p), BILLING_OK);
	*n = billing_page_count(page);
	return page;
}

static billing_webhook_endpoint *endpoint_now(fx *f)
{
	billing_webhook_endpoint *e = NULL;
	tb_assert_rc(billing_webhook_endpoint_get(&e, f->w->ctx, &f->admin, f->endpoint_id),
		BILLING_OK);
	return e;
}

/* ------------------------------------------------------------ tests */

static void send__what_the_library_hands_the_transport(void **state)
{
	const st_request *r;
	billing_page *page;
	const billing_webhook_delivery *d;
	char sig[BILLING_WEBHOOK_SIGNATURE_SIZE], ts[32];
	size_t n;
	fx f;
	(void)state;
	fx_open(&f);
	endpoint(&f, URL);
	event(&f);
	run_at(&f, f.w->now);
	assert_int_equal(st_count(f.st), 1);
	r = st_seen(f.st, 0);
	assert_string_equal(r->method, "POST");
	assert_string_equal(r->url, URL);
	assert_string_equal(st_header(r, "Content-Type"), "application/json");
	page = deliveries(&f, &n);
	assert_int_equal(n, 1);
	d = billing_page_webhook_delivery(page, 0);
	assert_string_equal(st_header(r, "webhook-id"), billing_webhook_delivery_event_id(d));
	snprintf(ts, sizeof(ts), "%lld", (long long)f.w->now);
	assert_string_equal(st_header(r, "webhook-timestamp"), ts);
	/* the signature is the body's under the endpoint's secret */
	tb_assert_rc(billing_webhook_sign(sig, sizeof(sig), f.secret,
		billing_webhook_delivery_event_id(d), f.w->now, r->body, r->body_len), BILLING_OK);
	assert_string_equal(st_header(r, "webhook-signature"), sig);
	tb_assert_rc(billing_webhook_verify(f.secret, st_header(r, "webhook-id"),
		st_header(r, "webhook-timestamp"), st_header(r, "webhook-signature"), r->body,
		r->body_len, f.w->now, 300), BILLING_OK);
	assert_non_null(strstr(r->body, "\"type\":\"customer.created\""));
	/* the context's limits and safety flags: https only, public only */
	assert_int_equal(r->timeout_ms, 15000);
	assert_int_equal(r->connect_timeout_ms, 5000);
	assert_int_equal(r->max_response, 65536);
	assert_int_equal(r->flags, BILLING_TRANSPORT_PUBLIC_ONLY);
	assert_int_equal(billing_webhook_delivery_status_of(d), BILLING_DELIVERY_SUCCEEDED);
	assert_int_equal(billing_webhook_delivery_attempt_at(d, 0)->status_code, 200);
	assert_string_equal(billing_webhook_delivery_attempt_at(d, 0)->response, "ok");
	billing_page_free(page);
	assert_int_equal(f.st->released, 1);
	fx_close(&f);
}

static void send__the_contexts_options_become_flags_and_limits(void **state)
{
	const st_request *r;
	fx f;
	(void)state;
	fx_open_with(&f, 1, 1, 800);
	endpoint(&f, "http://10.0.0.7/hook");
	event(&f);
	run_at(&f, f.w->now);
	r = st_seen(f.st, 0);
	assert_non_null(r);
	assert_string_equal(r->url, "http://10.0.0.7/hook");
	assert_int_equal(r->flags, BILLING_TRANSPORT_ALLOW_HTTP);
	assert_int_equal(r->timeout_ms, 800);
	assert_int_equal(r->connect_timeout_ms, 800);
	fx_close(&f);
}

static void faults__each_is_an_attempt_tried_again_until_an_answer(void **state)
{
	static const struct { st_kind kind; const char *error; } faults[] = {
		{ ST_HANG, "timeout" },
		{ ST_RESET, "connection" },
		{ ST_CONNECT, "connect" },
		{ ST_TLS, "connection" },
		{ ST_REFUSED_ADDRESS, "refused_address" },
		{ ST_SEND_FAILS, "out_of_memory" },
	};
	const size_t nf = sizeof(faults) / sizeof(faults[0]);
	const billing_webhook_delivery *d;
	billing_page *page;
	size_t i, n;
	fx f;
	(void)state;
	fx_open(&f);
	endpoint(&f, URL);
	for (i = 0; i < nf; i++)
		st_push(f.st, (st_answer){ .kind = faults[i].kind });
	event(&f);
	for (i = 0; i <= nf; i++) {
		page = deliveries(&f, &n);
		d = billing_page_webhook_delivery(page, 0);
		run_at(&f, i ? billing_webhook_delivery_next_attempt_at(d) : f.w->now);
		billing_page_free(page);
	}
	assert_int_equal(st_count(f.st), nf + 1);
	page = deliveries(&f, &n);
	d = billing_page_webhook_delivery(page, 0);
	assert_int_equal(billing_webhook_delivery_attempts(d), nf + 1);
	for (i = 0; i < nf; i++) {
		const billing_delivery_attempt *a = billing_webhook_delivery_attempt_at(d, i);
		assert_string_equal(a->error, faults[i].error);
		assert_int_equal(a->status_code, 0);
		assert_null(a->response);
	}
	assert_int_equal(billing_webhook_delivery_status_of(d), BILLING_DELIVERY_SUCCEEDED);
	billing_page_free(page);
	/* the same signed request each time */
	for (i = 1; i <= nf; i++) {
		assert_string_equal(st_seen(f.st, i)->body, st_seen(f.st, 0)->body);
		assert_string_equal(st_header(st_seen(f.st, i), "webhook-id"),
			st_header(st_seen(f.st, 0), "webhook-id"));
	}
	/* released: every send that returned an outcome */
	assert_int_equal(f.st->released, nf);
	fx_close(&f);
}

static void faults__an_oversized_answer_is_an_answer_kept_in_part(void **state)
{
	const billing_webhook_delivery *d;
	const billing_delivery_attempt *a;
	billing_page *page;
	size_t n;
	fx f;
	(void)state;
	fx_open(&f);
	endpoint(&f, URL);
	st_push(f.st, (st_answer){ .kind = ST_TOO_LARGE, .status = 200 });
	event(&f);
	run_at(&f, f.w->now);
	page = deliveries(&f, &n);
	d = billing_page_webhook_delivery(page, 0);
	a = billing_webhook_delivery_attempt_at(d, 0);
	assert_null(a->error);
	assert_int_equal(a->status_code, 200);
	assert_int_equal(strlen(a->response), 1024);
	assert_int_equal(billing_webhook_delivery_status_of(d), BILLING_DELIVERY_SUCCEEDED);
	billing_page_free(page);
	fx_close(&f);
}

static void retry__errors_to_the_last_try_then_dead(void **state)
{
	const billing_webhook_delivery *d;
	billing_webhook_endpoint *e;
	billing_page *page;
	size_t i, n;
	fx f;
	(void)state;
	fx_open(&f);
	endpoint(&f, URL);
	int64_t first;
	st_otherwise(f.st, (st_answer){ .kind = ST_ANSWER, .status = 503, .body = "busy" });
	event(&f);
	first = f.w->now;
	/* 12 tries (the Standard Webhooks example schedule, continued) over
	 * about three days, then dead */
	for (i = 0; i < 12; i++) {
		page = deliveries(&f, &n);
		d = billing_page_webhook_delivery(page, 0);
		assert_int_equal(billing_webhook_delivery_status_of(d), BILLING_DELIVERY_PENDING);
		run_at(&f, i ? billing_webhook_delivery_next_attempt_at(d) : f.w->now);
		billing_page_free(page);
	}
	assert_true(f.w->now - first >= 72 * 3600);
	assert_true(f.w->now - first <= 82 * 3600);
	page = deliveries(&f, &n);
	d = billing_page_webhook_delivery(page, 0);
	assert_int_equal(billing_webhook_delivery_status_of(d), BILLING_DELIVERY_DEAD);
	assert_int_equal(billing_webhook_delivery_attempts(d), 12);
	assert_int_equal(billing_webhook_delivery_attempt_at(d, 11)->status_code, 503);
	assert_string_equal(billing_webhook_delivery_attempt_at(d, 11)->response, "busy");
	billing_page_free(page);
	run_at(&f, f.w->now + 30 * 86400);
	assert_int_equal(st_count(f.st), 12);
	/* one dead delivery does not disable */
	e = endpoint_now(&f);
	assert_true(billing_webhook_endpoint_enabled(e));
	billing_webhook_endpoint_free(e);
	fx_close(&f);
}

static void gone__a_410_disables_the_endpoint_at_once(void **state)
{
	billing_event_list_params ep = BILLING_EVENT_LIST_PARAMS_INIT;
	const billing_webhook_delivery *d;
	billing_webhook_endpoint *e;
	billing_page *page;
	size_t i, n;
	fx f;
	(void)state;
	fx_open(&f);
	endpoint(&f, URL);
	st_otherwise(f.st, (st_answer){ .kind = ST_ANSWER, .status = 410, .body = "gone" });
	event(&f);
	event(&f);
	/* the first answer is 410: no retry of it, and the other queued
	 * delivery dies without being sent */
	run_at(&f, f.w->now);
	run_at(&f, f.w->now + 86400);
	assert_int_equal(st_count(f.st), 1);
	e = endpoint_now(&f);
	assert_false(billing_webhook_endpoint_enabled(e));
	assert_string_equal(billing_webhook_endpoint_disabled_reason(e), "gone");
	billing_webhook_endpoint_free(e);
	page = deliveries(&f, &n);
	assert_int_equal(n, 2);
	for (i = 0; i < n; i++) {
		d = billing_page_webhook_delivery(page, i);
		assert_int_equal(billing_webhook_delivery_status_of(d), BILLING_DELIVERY_DEAD);
		assert_int_equal(billing_webhook_delivery_next_attempt_at(d), 0);
	}
	billing_page_free(page);
	ep.type = "webhook_endpoint.disabled";
	tb_assert_rc(billing_event_list(&page, f.w->ctx, &f.admin, &ep), BILLING_OK);
	assert_int_equal(billing_page_count(page), 1);
	billing_page_free(page);
	fx_close(&f);
}

/* The delivery's next attempt, in seconds after the world's now. */
static int64_t next_in(fx *f)
{
	const billing_webhook_delivery *d;
	billing_page *page;
	int64_t at;
	size_t n;
	page = deliveries(f, &n);
	d = billing_page_webhook_delivery(page, 0);
	at = billing_webhook_delivery_next_attempt_at(d);
	billing_page_free(page);
	return at - f->w->now;
}

static void signals__retry_after_on_429_and_503_delays_the_next_attempt(void **state)
{
	char date[64];
	time_t at;
	struct tm tm;
	int64_t wait;
	fx f;
	(void)state;
	fx_open(&f);
	endpoint(&f, URL);
	/* seconds, on a 429 */
	st_push(f.st, (st_answer){ .status = 429, .body = "slow down",
		.header_name = "Retry-After", .header_value = "3600" });
	event(&f);
	run_at(&f, f.w->now);
	assert_int_equal(next_in(&f), 3600);
	/* an HTTP date, on a 503 */
	at = (time_t)(f.w->now + 3600 + 7200);
	gmtime_r(&at, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	st_push(f.st, (st_answer){ .status = 503, .body = "maintenance",
		.header_name = "Retry-After", .header_value = date });
	run_at(&f, f.w->now + 3600);
	assert_int_equal(next_in(&f), 7200);
	/* capped at a day */
	st_push(f.st, (st_answer){ .status = 429, .header_name = "Retry-After",
		.header_value = "9999999999999" });
	run_at(&f, f.w->now + 7200);
	assert_int_equal(next_in(&f), 86400);
	/* shorter than the schedule's wait (2 h after the fourth try): the
	 * schedule's */
	st_push(f.st, (st_answer){ .status = 503, .header_name = "Retry-After",
		.header_value = "10" });
	run_at(&f, f.w->now + 86400);
	wait = next_in(&f);
	assert_true(wait >= 7200 && wait <= 7200 + 721);
	/* on another status, and an unreadable one: the schedule's */
	st_push(f.st, (st_answer){ .status = 500, .header_name = "Retry-After",
		.header_value = "40000" });
	run_at(&f, f.w->now + wait);
	wait = next_in(&f);
	assert_true(wait >= 18000 && wait <= 18000 + 1801);
	st_push(f.st, (st_answer){ .status = 429, .header_name = "Retry-After",
		.header_value = "soon" });
	run_at(&f, f.w->now + wait);
	wait = next_in(&f);
	assert_true(wait >= 36000 && wait <= 36000 + 3601);
	/* then delivered */
	run_at(&f, f.w->now + wait);
	assert_int_equal(next_in(&f), -f.w->now);
	assert_int_equal(st_count(f.st), 7);
	fx_close(&f);
}

static void deleted__a_deleted_endpoints_dead_deliveries_stay_listable(void **state)
{
	billing_delivery_list_params p = BILLING_DELIVERY_LIST_PARAMS_INIT;
	const billing_webhook_delivery *d;
	billing_page *page = NULL;
	fx f;
	(void)state;
	fx_open(&f);
	endpoint(&f, URL);
	event(&f);
	tb_assert_rc(billing_webhook_endpoint_delete(f.w->ctx, &f.admin, f.endpoint_id, 0),
		BILLING_OK);
	run_at(&f, f.w->now);
	assert_int_equal(st_count(f.st), 0);
	p.endpoint_id = f.endpoint_id;
	tb_assert_rc(billing_webhook_delivery_list(&page, f.w->ctx, &f.admin, &p), BILLING_OK);
	assert_int_equal(billing_page_count(page), 1);
	d = billing_page_webhook_delivery(page, 0);
	assert_string_equal(billing_webhook_delivery_endpoint_id(d), f.endpoint_id);
	assert_int_equal(billing_webhook_delivery_status_of(d), BILLING_DELIVERY_DEAD);
	assert_string_equal(billing_webhook_delivery_attempt_at(d, 0)->error, "endpoint_deleted");
	billing_page_free(page);
	page = NULL;
	p.status = BILLING_DELIVERY_DEAD;
	tb_assert_rc(billing_webhook_delivery_list(&page, f.w->ctx, &f.admin, &p), BILLING_OK);
	assert_int_equal(billing_page_count(page), 1);
	billing_page_free(page);
	page = NULL;
	/* an id that names no endpoint and no delivery is still refused */
	p.status = 0;
	p.endpoint_id = "we_01kgb7zk00zcz9gqmgm0g56ypn";
	tb_assert_rc(billing_webhook_delivery_list(&page, f.w->ctx, &f.admin, &p),
		BILLING_EINVALID);
	tb_assert_field("endpointId");
	assert_null(page);
	fx_close(&f);
}

/* ------------------------------------------------------------ many at once */

/* Another tenant with an endpoint at url and n events; its secret. Returns
 * the tenant's id (it lives as long as the world). */
static const char *tenant_with(fx *f, const char *name, const char *url, int n, char *secret,
	size_t size)
{
	billing_webhook_endpoint_params p = BILLING_WEBHOOK_ENDPOINT_PARAMS_INIT;
	billing_webhook_endpoint *e = NULL;
	const char *t = tb_tenant(f->w, name);
	billing_principal admin = tb_admin(t);
	int i;
	p.url = url;
	tb_assert_rc(billing_webhook_endpoint_create(&e, f->w->ctx, &admin, &p, NULL), BILLING_OK);
	snprintf(secret, size, "%s", billing_webhook_endpoint_secret(e));
	billing_webhook_endpoint_free(e);
	for (i = 0; i < n; i++) {
		billing_customer *c = tb_customer(f->w, t, NULL);
		billing_customer_free(c);
	}
	return t;
}

/* r verifies under secret as a receiver enforcing the 5-minute window
 * would check it at now. */
static int verifies(const st_request *r, const char *secret, int64_t now)
{
	return billing_webhook_verify(secret, st_header(r, "webhook-id"),
		st_header(r, "webhook-timestamp"), st_header(r, "webhook-signature"), r->body,
		r->body_len, now, 300) == BILLING_OK;
}

static long long world_now(void *payload)
{
	return ((fx *)payload)->w->now;
}

/* A hang stands for its timeout on the world's clock. */
static void world_hangs(void *payload, long timeout_ms)
{
	((fx *)payload)->w->now += timeout_ms / 1000;
}

static void timing__each_attempt_is_stamped_when_it_is_made(void **state)
{
	char slow[128], fast[128];
	int64_t start;
	size_t i, nfast = 0;
	fx f;
	(void)state;
	/* one after another (a transport with send() only), on a clock that
	 * moves 15 s with each hang; the third hang in a row opens the slow
	 * endpoint's circuit, and its 27 other deliveries wait, unsent */
	fx_open(&f);
	f.st->on_send = world_now;
	f.st->on_hang = world_hangs;
	f.st->hook_payload = &f;
	st_route(f.st, "slow.example", (st_answer){ .kind = ST_HANG });
	tenant_with(&f, "Slow", "https://slow.example.com/h", 30, slow, sizeof(slow));
	tenant_with(&f, "Fast", "https://fast.example.com/h", 3, fast, sizeof(fast));
	start = f.w->now;
	run_at(&f, f.w->now);
	assert_int_equal(st_count(f.st), BILLING__CIRCUIT_TIMEOUTS + 3);
	/* 3 hangs: the fast tenant's deliveries leave 45 s into the run,
	 * stamped then, and verify where the 5-minute window is kept */
	assert_true(f.w->now - start >= 15 * BILLING__CIRCUIT_TIMEOUTS);
	for (i = 0; i < st_count(f.st); i++) {
		const st_request *r = st_seen(f.st, i);
		int is_fast = strstr(r->url, "fast.example") != NULL;
		char ts[32];
		snprintf(ts, sizeof(ts), "%lld", r->clock_at_send);
		assert_string_equal(st_header(r, "webhook-timestamp"), ts);
		assert_true(verifies(r, is_fast ? fast : slow, (int64_t)r->clock_at_send));
		if (is_fast) {
			assert_true(r->clock_at_send >= start + 15 * BILLING__CIRCUIT_TIMEOUTS);
			nfast++;
		}
	}
	assert_int_equal(nfast, 3);
	fx_close(&f);
}

/* A second worker (another context on the same database, with a transport
 * of its own that answers 200) that runs the due work whenever the first
 * worker's transport sends. */
typedef struct {
	fx f;
	billing_ctx *other;
	scripted_transport *other_st;
	int other_rc;
	size_t other_failed;
} two_workers;

static int64_t two_workers_clock(void *payload)
{
	return ((two_workers *)payload)->f.w->now;
}

static long long second_worker_runs(void *payload)
{
	two_workers *tw = payload;
	billing_run_report rep;
	int rc = billing_run_due(tw->other, tw->f.w->now, NULL, &rep);
	if (rc != BILLING_OK && tw->other_rc == BILLING_OK)
		tw->other_rc = rc;
	tw->other_failed += rep.failed;
	return tw->f.w->now;
}

static void timing__the_lease_is_taken_per_attempt(void **state)
{
	billing_ctx_options o = BILLING_CTX_OPTIONS_INIT;
	billing_page *page;
	const billing_webhook_delivery *d;
	const char *fast_tenant;
	char slow[128], fast[128];
	int64_t start;
	size_t i, n;
	two_workers tw;
	(void)state;
	/* one slow receiver that hangs for 400 s (on the world's clock): the
	 * fast tenant's delivery, claimed with the slow one, is attempted
	 * 400 s into the run, past the 5-minute lease of the claim */
	memset(&tw, 0, sizeof(tw));
	fx_open_with(&tw.f, 0, 0, 400 * 1000);
	tw.other_st = st_new();
	o.transport = &tw.other_st->base;
	o.clock = two_workers_clock;
	o.clock_payload = &tw;
	tb_assert_rc(billing_ctx_open_url(&tw.other, tw.f.w->url, &o), BILLING_OK);
	tw.f.st->on_send = second_worker_runs;
	tw.f.st->on_hang = world_hangs;
	tw.f.st->hook_payload = &tw;
	st_route(tw.f.st, "slow.example", (st_answer){ .kind = ST_HANG });
	tenant_with(&tw.f, "Slow", "https://slow.example.com/h", 1, slow, sizeof(slow));
	tw.f.w->now++;
	fast_tenant = tenant_with(&tw.f, "Fast", "https://fast.example.com/h", 1, fast, sizeof(fast));
	start = tw.f.w->now;
	run_at(&tw.f, start);
	tb_assert_rc(tw.other_rc, BILLING_OK);
	assert_int_equal(tw.other_failed, 0);
	/* the slow one first, then the fast one 400 s later */
	assert_int_equal(st_count(tw.f.st), 2);
	assert_non_null(strstr(st_seen(tw.f.st, 0)->url, "slow.example"));
	assert_non_null(strstr(st_seen(tw.f.st, 1)->url, "fast.example"));
	assert_true(st_seen(tw.f.st, 1)->clock_at_send >= start + 400);
	/* As each attempt went out, the second worker ran what was due: the
	 * attempt's own lease (5 minutes from the attempt, not from the run's
	 * start) kept it from sending the fast delivery a second time. */
	for (i = 0; i < st_count(tw.other_st); i++)
		assert_null(strstr(st_seen(tw.other_st, i)->url, "fast.example"));
	tw.f.admin = tb_admin(fast_tenant);
	page = deliveries(&tw.f, &n);
	assert_int_equal(n, 1);
	d = billing_page_webhook_delivery(page, 0);
	assert_int_equal(billing_webhook_delivery_attempts(d), 1);
	assert_int_equal(billing_webhook_delivery_status_of(d), BILLING_DELIVERY_SUCCEEDED);
	billing_page_free(page);
	billing_ctx_close(tw.other);
	st_free(tw.other_st);
	fx_close(&tw.f);
}

static void concurrency__one_hanging_receiver_does_not_hold_up_the_others(void **state)
{
	static const char *const names[] = { "B", "C", "D", "E" };
	char slow[128], fast[4][128], url[64];
	long long slow_first_end = 0, fast_last_start = 0;
	size_t i, j, nslow = 0, nfast = 0;
	fx f;
	(void)state;
	fx_open_with(&f, 0, 0, 800);
	st_concurrent(f.st);
	st_route(f.st, "slow.example", (st_answer){ .kind = ST_HANG, .real_wait = 1 });
	/* more than its cap: the rest wait, then its circuit sets them aside */
	tenant_with(&f, "Slow", "https://slow.example.com/h", BILLING__DELIVERY_PER_ENDPOINT + 4,
		slow, sizeof(slow));
	for (i = 0; i < 4; i++) {
		snprintf(url, sizeof(url), "https://%s.example.com/h", names[i]);
		tenant_with(&f, names[i], url, 2, fast[i], sizeof(fast[i]));
	}
	run_at(&f, f.w->now);
	assert_int_equal(f.st->batches, 1);
	for (i = 0; i < st_count(f.st); i++) {
		const st_request *r = st_seen(f.st, i);
		if (strstr(r->url, "slow.example")) {
			assert_true(verifies(r, slow, f.w->now));
			if (!slow_first_end || r->ended_ms < slow_first_end)
				slow_first_end = r->ended_ms;
			nslow++;
			continue;
		}
		for (j = 0; j < 4; j++) {
			snprintf(url, sizeof(url), "https://%s.example.com/h", names[j]);
			if (strcmp(r->url, url) == 0)
				assert_true(verifies(r, fast[j], f.w->now));
		}
		if (r->started_ms > fast_last_start)
			fast_last_start = r->started_ms;
		nfast++;
	}
	/* its cap, all hanging together; as they ended, at most two more
	 * took a freed slot before the third timeout opened the circuit, and
	 * the others were not sent */
	assert_true(nslow >= BILLING__DELIVERY_PER_ENDPOINT);
	assert_true(nslow <= BILLING__DELIVERY_PER_ENDPOINT + BILLING__CIRCUIT_TIMEOUTS - 1);
	assert_int_equal(nfast, 8);
	/* every other tenant's delivery left before the first hang ended */
	assert_true(fast_last_start < slow_first_end);
	/* the hanging endpoint had its cap of slots, no more */
	assert_int_equal(f.st->route_max_in_flight[0], BILLING__DELIVERY_PER_ENDPOINT);
	assert_true(f.st->max_in_flight <= BILLING__DELIVERY_IN_FLIGHT);
	assert_true(f.st->max_in_flight > BILLING__DELIVERY_PER_ENDPOINT);
	assert_int_equal(f.st->released, nslow + 8);
	fx_close(&f);
}

static void concurrency__a_first_retry_is_made_in_the_same_run(void **state)
{
	const billing_webhook_delivery *d;
	billing_page *page;
	char slow[128];
	size_t n;
	fx f;
	(void)state;
	/* a hang of 7 s keeps the run going past the 5 s of the first retry */
	fx_open_with(&f, 0, 0, 7000);
	st_concurrent(f.st);
	st_route(f.st, "slow.example", (st_answer){ .kind = ST_HANG, .real_wait = 1 });
	endpoint(&f, URL);
	st_push(f.st, (st_answer){ .status = 503, .body = "busy" });
	event(&f);
	tenant_with(&f, "Slow", "https://slow.example.com/h", 1, slow, sizeof(slow));
	run_at(&f, f.w->now);
	page = deliveries(&f, &n);
	d = billing_page_webhook_delivery(page, 0);
	assert_int_equal(billing_webhook_delivery_attempts(d), 2);
	assert_int_equal(billing_webhook_delivery_attempt_at(d, 0)->status_code, 503);
	assert_int_equal(billing_webhook_delivery_attempt_at(d, 1)->status_code, 200);
	assert_int_equal(billing_webhook_delivery_status_of(d), BILLING_DELIVERY_SUCCEEDED);
	billing_page_free(page);
	assert_int_equal(st_count(f.st), 3);
	fx_close(&f);
}

static void signals__retry_after_holds_the_endpoints_other_deliveries(void **state)
{
	billing_page *page;
	size_t i, n;
	fx f;
	(void)state;
	fx_open(&f);
	endpoint(&f, URL);
	st_push(f.st, (st_answer){ .status = 429, .header_name = "Retry-After",
		.header_value = "3600" });
	event(&f);
	event(&f);
	event(&f);
	/* the first answer says an hour: the other two are not sent in this
	 * run, nor before the hour */
	run_at(&f, f.w->now);
	assert_int_equal(st_count(f.st), 1);
	run_at(&f, f.w->now + 3599);
	assert_int_equal(st_count(f.st), 1);
	run_at(&f, f.w->now + 1);
	assert_int_equal(st_count(f.st), 4);
	page = deliveries(&f, &n);
	assert_int_equal(n, 3);
	for (i = 0; i < n; i++)
		assert_int_equal(billing_webhook_delivery_status_of(
			billing_page_webhook_delivery(page, i)), BILLING_DELIVERY_SUCCEEDED);
	billing_page_free(page);
	fx_close(&f);
}

static void ctx__a_transport_it_does_not_know_is_refused(void **state)
{
	billing_ctx_options o = BILLING_CTX_OPTIONS_INIT;
	billing_transport bad = BILLING_TRANSPORT_INIT;
	scripted_transport *st = st_new();
	tb_world *w = tb_world_new();
	billing_ctx *ctx = NULL;
	(void)state;
	/* no methods */
	o.transport = &bad;
	assert_int_equal(billing_ctx_open_url(&ctx, w->url, &o), BILLING_EINVALID);
	assert_string_equal(billing_error_last()->field, "transport");
	assert_null(ctx);
	/* a newer version */
	st->base.version = BILLING_TRANSPORT_VERSION + 1;
	o.transport = &st->base;
	assert_int_equal(billing_ctx_open_url(&ctx, w->url, &o), BILLING_EINVALID);
	assert_null(ctx);
	st->base.version = BILLING_TRANSPORT_VERSION;
	tb_assert_rc(billing_ctx_open_url(&ctx, w->url, &o), BILLING_OK);
	billing_ctx_close(ctx);
	tb_world_free(w);
	st_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(send__what_the_library_hands_the_transport),
		cmocka_unit_test(send__the_contexts_options_become_flags_and_limits),
		cmocka_unit_test(faults__each_is_an_attempt_tried_again_until_an_answer),
		cmocka_unit_test(faults__an_oversized_answer_is_an_answer_kept_in_part),
		cmocka_unit_test(retry__errors_to_the_last_try_then_dead),
		cmocka_unit_test(gone__a_410_disables_the_endpoint_at_once),
		cmocka_unit_test(signals__retry_after_on_429_and_503_delays_the_next_attempt),
		cmocka_unit_test(signals__retry_after_holds_the_endpoints_other_deliveries),
		cmocka_unit_test(deleted__a_deleted_endpoints_dead_deliveries_stay_listable),
		cmocka_unit_test(timing__each_attempt_is_stamped_when_it_is_made),
		cmocka_unit_test(timing__the_lease_is_taken_per_attempt),
		cmocka_unit_test(concurrency__one_hanging_receiver_does_not_hold_up_the_others),
		cmocka_unit_test(concurrency__a_first_retry_is_made_in_the_same_run),
		cmocka_unit_test(ctx__a_transport_it_does_not_know_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

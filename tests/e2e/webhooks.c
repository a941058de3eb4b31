/*
 * Outbound webhooks end to end, on the backend under test, against a
 * receiver this test runs on loopback (libmicrohttpd): signatures checked
 * with OpenSSL's one-shot HMAC and base64 (not the library's code), the
 * retry schedule on a simulated clock to the dead state, endpoints disabled
 * when they keep failing, timeouts and dropped connections, a crash
 * between the claim and the POST, tenant isolation and event types, secret
 * rotation, redelivery, refused addresses and URLs; and beside them the
 * audit log, request ids on events, in-process subscribers after commit
 * only, and retention.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <microhttpd.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/webhook_internal.h"
#include "tb.h"
#include "tb_billing.h"

/* ------------------------------------------------------------ the receiver */

#define MAX_SEEN 64

typedef enum { ANSWER_OK = 0, ANSWER_500, ANSWER_SLOW, ANSWER_CLOSE } answer_kind;

typedef struct {
	char id[128], timestamp[32], signature[512];
	char body[8192];
	char url[64];
	long long at_ms;         /* monotonic, when it came */
} seen_request;

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct {
	struct MHD_Daemon *d;
	unsigned short port;
	pthread_mutex_t mu;
	seen_request seen[MAX_SEEN];
	int count;
	int total;               /* every request, also past MAX_SEEN */
	long long last_ms;       /* monotonic, when the latest came */
	answer_kind next;        /* for the next `times` requests */
	int times;
	answer_kind always;      /* after them */
} receiver;

typedef struct {
	char body[8192];
	size_t len;
} upload;

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
	const char *method, const char *version, const char *data, size_t *size, void **state)
{
	receiver *r = cls;
	upload *u = *state;
	struct MHD_Response *resp;
	answer_kind kind;
	enum MHD_Result ret;
	const char *v;
	(void)method;
	(void)version;

	if (!u) {
		*state = calloc(1, sizeof(upload));
		return *state ? MHD_YES : MHD_NO;
	}
	if (*size) {
		size_t take = *size < sizeof(u->body) - 1 - u->len ? *size : sizeof(u->body) - 1 - u->len;
		memcpy(u->body + u->len, data, take);
		u->len += take;
		*size = 0;
		return MHD_YES;
	}
	pthread_mutex_lock(&r->mu);
	r->total++;
	r->last_ms = mono_ms();
	if (r->count < MAX_SEEN) {
		seen_request *s = &r->seen[r->count++];
		memset(s, 0, sizeof(*s));
		if ((v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "webhook-id")))
			snprintf(s->id, sizeof(s->id), "%s", v);
		if ((v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "webhook-timestamp")))
			snprintf(s->timestamp, sizeof(s->timestamp), "%s", v);
		if ((v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "webhook-signature")))
			snprintf(s->signature, sizeof(s->signature), "%s", v);
		memcpy(s->body, u->body, u->len);
		snprintf(s->url, sizeof(s->url), "%s", url);
		s->at_ms = mono_ms();
	}
	if (strstr(url, "/slow")) {
		kind = ANSWER_SLOW;     /* this path always hangs past the timeout */
	} else if (r->times > 0) {
		kind = r->next;
		r->times--;
	} else {
		kind = r->always;
	}
	pthread_mutex_unlock(&r->mu);
	if (kind == ANSWER_CLOSE)
		return MHD_NO;
	if (kind == ANSWER_SLOW)
		usleep(1500 * 1000);
	resp = MHD_create_response_from_buffer(kind == ANSWER_500 ? 14 : 2,
		(void *)(kind == ANSWER_500 ? "receiver error" : "ok"), MHD_RESPMEM_PERSISTENT);
	ret = MHD_queue_response(c, kind == ANSWER_500 ? 500 : 200, resp);
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

static receiver *receiver_start(void)
{
	receiver *r = calloc(1, sizeof(*r));
	const union MHD_DaemonInfo *info;
	assert_non_null(r);
	pthread_mutex_init(&r->mu, NULL);
	r->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD,
		0, NULL, NULL, on_request, r, MHD_OPTION_NOTIFY_COMPLETED, on_done, r,
		MHD_OPTION_END);
	assert_non_null(r->d);
	info = MHD_get_daemon_info(r->d, MHD_DAEMON_INFO_BIND_PORT);
	r->port = info->port;
	return r;
}

static void receiver_stop(receiver *r)
{
	MHD_stop_daemon(r->d);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

static int received(receiver *r)
{
	int n;
	pthread_mutex_lock(&r->mu);
	n = r->count;
	pthread_mutex_unlock(&r->mu);
	return n;
}

static void script(receiver *r, answer_kind next, int times, answer_kind always)
{
	pthread_mutex_lock(&r->mu);
	r->next = next;
	r->times = times;
	r->always = always;
	pthread_mutex_unlock(&r->mu);
}

/* Standard Webhooks, written here from the specification with OpenSSL's
 * one-shot calls: base64(HMAC-SHA256(base64decode(secret after "whsec_"),
 * "id.timestamp.body")). True when one "v1,<sig>" of the header matches. */
static int signature_ok(const seen_request *s, const char *secret)
{
	unsigned char key[64], mac[32];
	char content[9000], want[64], header[512], *tok, *save = NULL;
	const char *b64 = secret + 6;
	unsigned int maclen = 0;
	int keylen = EVP_DecodeBlock(key, (const unsigned char *)b64, (int)strlen(b64));
	size_t n;

	keylen -= (int)(strlen(b64) - strcspn(b64, "="));
	n = (size_t)snprintf(content, sizeof(content), "%s.%s.%s", s->id, s->timestamp, s->body);
	HMAC(EVP_sha256(), key, keylen, (unsigned char *)content, n, mac, &maclen);
	EVP_EncodeBlock((unsigned char *)want, mac, (int)maclen);
	snprintf(header, sizeof(header), "%s", s->signature);
	for (tok = strtok_r(header, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		if (strncmp(tok, "v1,", 3) == 0 && strcmp(tok + 3, want) == 0)
			return 1;
	return 0;
}

/* ------------------------------------------------------------ fixture */

typedef struct {
	tb_world *w;
	receiver *r;
	const char *t;
	billing_principal admin;
	char url[128];
	char endpoint_id[64];
	char secret[128];
} fx;

static void fx_open_timeout(fx *f, int allow_private, int64_t retention, long timeout_ms)
{
	billing_ctx_options o = BILLING_CTX_OPTIONS_INIT;
	memset(f, 0, sizeof(*f));
	o.webhook_allow_http = 1;
	o.webhook_allow_private = allow_private;
	o.webhook_timeout_ms = timeout_ms;
	o.event_retention = retention;
	f->w = tb_world_new_with(&o);
	f->r = receiver_start();
	f->t = tb_tenant(f->w, "Acme");
	f->admin = tb_admin(f->t);
	snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%u/hooks", f->r->port);
}

static void fx_open(fx *f, int allow_private, int64_t retention)
{
	fx_open_timeout(f, allow_private, retention, 500);
}

static void endpoint(fx *f, const char *tenant, const char *const *types, size_t ntypes)
{
	billing_webhook_endpoint_params p = BILLING_WEBHOOK_ENDPOINT_PARAMS_INIT;
	billing_principal who = tb_admin(tenant);
	billing_webhook_endpoint *e = NULL;
	p.url = f->url;
	p.event_types = types;
	p.event_type_count = ntypes;
	tb_assert_rc(billing_webhook_endpoint_create(&e, f->w->ctx, &who, &p, NULL), BILLING_OK);
	snprintf(f->endpoint_id, sizeof(f->endpoint_id), "%s", billing_webhook_endpoint_id(e));
	assert_non_null(billing_webhook_endpoint_secret(e));
	assert_int_equal(strncmp(billing_webhook_endpoint_secret(e), "whsec_", 6), 0);
	snprintf(f->secret, sizeof(f->secret), "%s", billing_webhook_endpoint_secret(e));
	billing_webhook_endpoint_free(e);
}

static void fx_close(fx *f)
{
	tb_world_free(f->w);
	receiver_stop(f->r);
}

static void run_at(fx *f, int64_t t)
{
	billing_run_report rep;
	f->w->now = t;
	tb_assert_rc(billing_run_due(f->w->ctx, t, NULL, &rep), BILLING_OK);
	assert_int_equal(rep.failed, 0);
}

/* The only delivery of the tenant (asserted), as a page the caller frees. */
static billing_page *deliveries(fx *f, const char *tenant, size_t *n)
{
	billing_delivery_list_params p = BILLING_DELIVERY_LIST_PARAMS_INIT;
	billing_principal who = tb_admin(tenant);
	billing_page *page = NULL;
	p.list.limit = 100;
	tb_assert_rc(billing_webhook_delivery_list(&page, f->w->ctx, &who, &p), BILLING_OK);
	*n = billing_page_count(page);
	return page;
}

/* ------------------------------------------------------------ tests */

static void deliver__signed_as_standard_webhooks_say(void **state)
{
	billing_customer *c;
	const billing_webhook_delivery *d;
	billing_page *page;
	fx f;
	size_t n;
	char want[64];
	(void)state;
	fx_open(&f, 1, 0);
	endpoint(&f, f.t, NULL, 0);
	c = tb_customer(f.w, f.t, NULL);
	billing_customer_free(c);
	/* Queued with the change, sent by the run. */
	assert_int_equal(received(f.r), 0);
	page = deliveries(&f, f.t, &n);
	assert_int_equal(n, 1);
	assert_int_equal(billing_webhook_delivery_status_of(billing_page_webhook_delivery(page, 0)),
		BILLING_DELIVERY_PENDING);
	billing_page_free(page);
	run_at(&f, f.w->now);
	assert_int_equal(received(f.r), 1);
	page = deliveries(&f, f.t, &n);
	d = billing_page_webhook_delivery(page, 0);
	assert_int_equal(billing_webhook_delivery_status_of(d), BILLING_DELIVERY_SUCCEEDED);
	assert_int_equal(billing_webhook_delivery_attempts(d), 1);
	assert_int_equal(billing_webhook_delivery_attempt_at(d, 0)->status_code, 200);
	assert_string_equal(f.r->seen[0].id, billing_webhook_delivery_event_id(d));
	billing_page_free(page);
	snprintf(want, sizeof(want), "%lld", (long long)f.w->now);
	assert_string_equal(f.r->seen[0].timestamp, want);
	assert_true(signature_ok(&f.r->seen[0], f.secret));
	assert_non_null(strstr(f.r->seen[0].body, "\"type\":\"customer.created\""));
	assert_non_null(strstr(f.r->seen[0].body, "\"createdAt\":\"2026-01-01T00:00:00Z\""));
	assert_non_null(strstr(f.r->seen[0].body, "\"data\":{"));
	/* A tampered body does not verify. */
	f.r->seen[0].body[10] ^= 1;
	assert_false(signature_ok(&f.r->seen[0], f.secret));
	fx_close(&f);
}

static void deliver__only_the_tenants_events_of_wanted_types(void **state)
{
	const char *invoices[] = { "invoice.*" };
	const char *other;
	billing_customer *c;
	billing_page *page;
	size_t n;
	fx f;
	(void)state;
	fx_open(&f, 1, 0);
	other = tb_tenant(f.w, "Other");
	endpoint(&f, f.t, invoices, 1);          /* Acme: invoices only */
	endpoint(&f, other, NULL, 0);            /* Other: everything */
	c = tb_customer(f.w, f.t, NULL);         /* customer.created in Acme */
	billing_customer_free(c);
	run_at(&f, f.w->now);
	assert_int_equal(received(f.r), 0);
	billing_page_free(deliveries(&f, f.t, &n));
	assert_int_equal(n, 0);
	billing_page_free(deliveries(&f, other, &n));
	assert_int_equal(n, 0);
	c = tb_customer(f.w, other, NULL);
	billing_customer_free(c);
	run_at(&f, f.w->now);
	assert_int_equal(received(f.r), 1);
	page = deliveries(&f, other, &n);
	assert_int_equal(n, 1);
	billing_page_free(page);
	billing_page_free(deliveries(&f, f.t, &n));
	assert_int_equal(n, 0);
	fx_close(&f);
}

static void retry__the_whole_schedule_then_dead(void **state)
{
	/* the Standard Webhooks example schedule, continued to about three days */
	static const int64_t waits[] = {
		5, 300, 1800, 7200, 18000, 36000, 36000, 36000, 43200, 43200, 43200
	};
	const size_t nwaits = sizeof(waits) / sizeof(waits[0]);
	int64_t first;
	const billing_webhook_delivery *d;
	billing_customer *c;
	billing_page *page;
	int64_t at;
	size_t i, n;
	fx f;
	(void)state;
	fx_open(&f, 1, 0);
	endpoint(&f, f.t, NULL, 0);
	script(f.r, ANSWER_OK, 0, ANSWER_500);
	c = tb_customer(f.w, f.t, NULL);
	billing_customer_free(c);
	at = first = f.w->now;
	for (i = 0; i <= nwaits; i++) {
		run_at(&f, at);
		page = deliveries(&f, f.t, &n);
		d = billing_page_webhook_delivery(page, 0);
		assert_int_equal(billing_webhook_delivery_attempt_count(d), (int32_t)i + 1);
		if (i < nwaits) {
			int64_t next = billing_webhook_delivery_next_attempt_at(d);
			assert_int_equal(billing_webhook_delivery_status_of(d), BILLING_DELIVERY_PENDING);
			/* the wait, plus at most 10% jitter */
			assert_true(next >= at + waits[i]);
			assert_true(next <= at + waits[i] + waits[i] / 10 + 1);
			/* nothing happens a second before */
			billing_page_free(page);
			run_at(&f, next - 1);
			assert_int_equal(received(f.r), (int)i + 1);
			at = next;
		} else {
			assert_int_equal(billing_webhook_delivery_status_of(d), BILLING_DELIVERY_DEAD);
			assert_int_equal(billing_webhook_delivery_next_attempt_at(d), 0);
			assert_int_equal(billing_webhook_delivery_attempts(d), nwaits + 1);
			assert_int_equal(billing_webhook_delivery_attempt_at(d, nwaits)->status_code,
				500);
			assert_string_equal(billing_webhook_delivery_attempt_at(d, nwaits)->response,
				"receiver error");
			billing_page_free(page);
		}
	}
	/* the last try comes about three days after the first */
	assert_true(at - first >= 72 * 3600);
	run_at(&f, at + 30 * 86400);
	assert_int_equal(received(f.r), (int)nwaits + 1);
	fx_close(&f);
}

static void retry__a_failing_endpoint_is_disabled(void **state)
{
	billing_webhook_endpoint *e = NULL;
	billing_event_list_params ep = BILLING_EVENT_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	int64_t at;
	int i, j;
	fx f;
	(void)state;
	fx_open(&f, 1, 0);
	endpoint(&f, f.t, NULL, 0);
	script(f.r, ANSWER_OK, 0, ANSWER_500);
	for (i = 0; i < 5; i++) {
		billing_customer *c = tb_customer(f.w, f.t, NULL);
		billing_customer_free(c);
	}
	/* 12 tries each, all due by the end of three and a half days (no wait
	 * is longer than 12 h plus its jitter). */
	at = f.w->now;
	for (j = 0; j < 14; j++) {
		run_at(&f, at);
		at += 48000;
	}
	tb_assert_rc(billing_webhook_endpoint_get(&e, f.w->ctx, &f.admin, f.endpoint_id),
		BILLING_OK);
	assert_false(billing_webhook_endpoint_enabled(e));
	assert_string_equal(billing_webhook_endpoint_disabled_reason(e), "failing");
	assert_null(billing_webhook_endpoint_secret(e));   /* never on a read */
	billing_webhook_endpoint_free(e);
	ep.type = "webhook_endpoint.disabled";
	tb_assert_rc(billing_event_list(&page, f.w->ctx, &f.admin, &ep), BILLING_OK);
	assert_int_equal(billing_page_count(page), 1);
	billing_page_free(page);
	fx_close(&f);
}

static void retry__timeouts_and_dropped_connections_are_tried_again(void **state)
{
	const billing_webhook_delivery *d;
	billing_customer *c;
	billing_page *page;
	size_t n;
	fx f;
	(void)state;
	fx_open(&f, 1, 0);
	endpoint(&f, f.t, NULL, 0);
	script(f.r, ANSWER_SLOW, 1, ANSWER_OK);
	c = tb_customer(f.w, f.t, NULL);
	billing_customer_free(c);
	run_at(&f, f.w->now);
	page = deliveries(&f, f.t, &n);
	d = billing_page_webhook_delivery(page, 0);
	assert_string_equal(billing_webhook_delivery_attempt_at(d, 0)->error, "timeout");
	assert_int_equal(billing_webhook_delivery_status_of(d), BILLING_DELIVERY_PENDING);
	billing_page_free(page);
	script(f.r, ANSWER_CLOSE, 1, ANSWER_OK);
	run_at(&f, f.w->now + 6);
	page = deliveries(&f, f.t, &n);
	d = billing_page_webhook_delivery(page, 0);
	assert_int_equal(billing_webhook_delivery_attempts(d), 2);
	assert_non_null(billing_webhook_delivery_attempt_at(d, 1)->error);
	assert_int_equal(billing_webhook_delivery_attempt_at(d, 1)->status_code, 0);
	billing_page_free(page);
	run_at(&f, f.w->now + 400);
	page = deliveries(&f, f.t, &n);
	assert_int_equal(billing_webhook_delivery_status_of(billing_page_webhook_delivery(page, 0)),
		BILLING_DELIVERY_SUCCEEDED);
	billing_page_free(page);
	fx_close(&f);
}

static void crash__between_the_claim_and_the_post_the_delivery_is_sent_later(void **state)
{
	billing__delivery_job *job = NULL;
	billing_customer *c;
	billing_page *page;
	billing_txn *tx;
	size_t n;
	fx f;
	(void)state;
	fx_open(&f, 1, 0);
	endpoint(&f, f.t, NULL, 0);
	c = tb_customer(f.w, f.t, NULL);
	billing_customer_free(c);
	page = deliveries(&f, f.t, &n);
	tb_assert_rc(billing__begin(&tx, f.w->ctx, f.t, BILLING_TXN_WRITE), BILLING_OK);
	tb_assert_rc(billing__delivery_begin(f.w->ctx, tx, f.t,
		billing_webhook_delivery_id(billing_page_webhook_delivery(page, 0)), f.w->now, &job),
		BILLING_OK);
	billing_page_free(page);
	assert_non_null(job);
	tb_assert_rc(billing__end(f.w->ctx, tx, BILLING_OK), BILLING_OK);
	billing__delivery_job_free(job);     /* the process died here */
	run_at(&f, f.w->now + 299);
	assert_int_equal(received(f.r), 0);
	run_at(&f, f.w->now + 1);
	assert_int_equal(received(f.r), 1);
	fx_close(&f);
}

static void safety__private_addresses_and_plain_http_are_refused(void **state)
{
	billing_webhook_endpoint_params p = BILLING_WEBHOOK_ENDPOINT_PARAMS_INIT;
	billing_webhook_endpoint *e = NULL;
	const char *bad_types[] = { "Invoice.Paid" };
	const billing_webhook_delivery *d;
	billing_customer *c;
	billing_page *page;
	size_t n;
	fx f;
	(void)state;
	fx_open(&f, 0, 0);
	endpoint(&f, f.t, NULL, 0);
	c = tb_customer(f.w, f.t, NULL);
	billing_customer_free(c);
	run_at(&f, f.w->now);
	assert_int_equal(received(f.r), 0);
	page = deliveries(&f, f.t, &n);
	d = billing_page_webhook_delivery(page, 0);
	assert_string_equal(billing_webhook_delivery_attempt_at(d, 0)->error, "refused_address");
	billing_page_free(page);
	/* Bad input changes nothing and names the field. */
	p.url = "ftp://example.com/x";
	tb_assert_rc(billing_webhook_endpoint_create(&e, f.w->ctx, &f.admin, &p, NULL),
		BILLING_EINVALID);
	tb_assert_field("url");
	p.url = "https://user:pw@example.com/x";
	tb_assert_rc(billing_webhook_endpoint_create(&e, f.w->ctx, &f.admin, &p, NULL),
		BILLING_EINVALID);
	p.url = "https://example.com/x";
	p.event_types = bad_types;
	p.event_type_count = 1;
	tb_assert_rc(billing_webhook_endpoint_create(&e, f.w->ctx, &f.admin, &p, NULL),
		BILLING_EINVALID);
	tb_assert_field("events");
	fx_close(&f);
	/* Without webhook_allow_http, http is refused at registration. */
	{
		tb_world *w = tb_world_new();
		const char *t = tb_tenant(w, "T");
		billing_principal admin = tb_admin(t);
		billing_webhook_endpoint_params q = BILLING_WEBHOOK_ENDPOINT_PARAMS_INIT;
		q.url = "http://example.com/hooks";
		tb_assert_rc(billing_webhook_endpoint_create(&e, w->ctx, &admin, &q, NULL),
			BILLING_EINVALID);
		tb_assert_field("url");
		tb_world_free(w);
	}
}

static void tb_customer_free_new(fx *f)
{
	billing_customer *c = tb_customer(f->w, f->t, NULL);
	billing_customer_free(c);
}

static void secrets__rotation_signs_with_both_for_the_overlap(void **state)
{
	billing_webhook_endpoint *e = NULL;
	billing_customer *c;
	char old_secret[128];
	fx f;
	(void)state;
	fx_open(&f, 1, 0);
	endpoint(&f, f.t, NULL, 0);
	snprintf(old_secret, sizeof(old_secret), "%s", f.secret);
	tb_assert_rc(billing_webhook_endpoint_rotate_secret(&e, f.w->ctx, &f.admin, f.endpoint_id,
		3600, NULL), BILLING_OK);
	snprintf(f.secret, sizeof(f.secret), "%s", billing_webhook_endpoint_secret(e));
	assert_string_not_equal(f.secret, old_secret);
	billing_webhook_endpoint_free(e);
	c = tb_customer(f.w, f.t, NULL);
	billing_customer_free(c);
	run_at(&f, f.w->now);
	assert_true(signature_ok(&f.r->seen[0], f.secret));
	assert_true(signature_ok(&f.r->seen[0], old_secret));
	/* After the overlap, only the new secret signs. */
	c = tb_customer(f.w, f.t, NULL);
	billing_customer_free(c);
	run_at(&f, f.w->now + 3601);
	assert_int_equal(received(f.r), 2);
	assert_true(signature_ok(&f.r->seen[1], f.secret));
	assert_false(signature_ok(&f.r->seen[1], old_secret));
	fx_close(&f);
}

static void secrets__a_second_rotation_keeps_every_promised_overlap(void **state)
{
	billing_webhook_endpoint *e = NULL;
	char s0[128], s1[128], s2[128];
	int64_t t0;
	int i;
	fx f;
	(void)state;
	fx_open(&f, 1, 0);
	endpoint(&f, f.t, NULL, 0);
	snprintf(s0, sizeof(s0), "%s", f.secret);
	t0 = f.w->now;
	/* s0 promised until t0 + 3600; ten minutes later, s1 until t0 + 4200 */
	tb_assert_rc(billing_webhook_endpoint_rotate_secret(&e, f.w->ctx, &f.admin, f.endpoint_id,
		3600, NULL), BILLING_OK);
	snprintf(s1, sizeof(s1), "%s", billing_webhook_endpoint_secret(e));
	billing_webhook_endpoint_free(e);
	f.w->now = t0 + 600;
	tb_assert_rc(billing_webhook_endpoint_rotate_secret(&e, f.w->ctx, &f.admin, f.endpoint_id,
		3600, NULL), BILLING_OK);
	snprintf(s2, sizeof(s2), "%s", billing_webhook_endpoint_secret(e));
	billing_webhook_endpoint_free(e);
	/* inside both overlaps: all three sign */
	tb_customer_free_new(&f);
	run_at(&f, t0 + 900);
	assert_int_equal(received(f.r), 1);
	assert_true(signature_ok(&f.r->seen[0], s2));
	assert_true(signature_ok(&f.r->seen[0], s1));
	assert_true(signature_ok(&f.r->seen[0], s0));
	/* s0's overlap ended, s1's not */
	tb_customer_free_new(&f);
	run_at(&f, t0 + 3601);
	assert_true(signature_ok(&f.r->seen[1], s2));
	assert_true(signature_ok(&f.r->seen[1], s1));
	assert_false(signature_ok(&f.r->seen[1], s0));
	/* both ended */
	tb_customer_free_new(&f);
	run_at(&f, t0 + 4201);
	assert_true(signature_ok(&f.r->seen[2], s2));
	assert_false(signature_ok(&f.r->seen[2], s1));
	assert_false(signature_ok(&f.r->seen[2], s0));
	/* five old secrets live at once are refused, and change nothing */
	for (i = 0; i < 4; i++) {
		tb_assert_rc(billing_webhook_endpoint_rotate_secret(&e, f.w->ctx, &f.admin,
			f.endpoint_id, 3600, NULL), BILLING_OK);
		billing_webhook_endpoint_free(e);
		e = NULL;
	}
	tb_assert_rc(billing_webhook_endpoint_rotate_secret(&e, f.w->ctx, &f.admin, f.endpoint_id,
		3600, NULL), BILLING_ECONFLICT);
	assert_string_equal(billing_error_last()->reason, "too_many_secrets");
	assert_null(e);
	fx_close(&f);
}

static void redeliver__one_event_or_every_dead_delivery(void **state)
{
	billing_event_list_params ep = BILLING_EVENT_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	billing_customer *c;
	char event_id[64];
	int64_t count = 0, start;
	fx f;
	(void)state;
	fx_open(&f, 1, 0);
	endpoint(&f, f.t, NULL, 0);
	c = tb_customer(f.w, f.t, NULL);
	billing_customer_free(c);
	start = f.w->now;
	run_at(&f, f.w->now);
	tb_assert_rc(billing_event_list(&page, f.w->ctx, &f.admin, &ep), BILLING_OK);
	snprintf(event_id, sizeof(event_id), "%s", billing_event_id(billing_page_event(page, 0)));
	billing_page_free(page);
	tb_assert_rc(billing_webhook_redeliver(f.w->ctx, &f.admin, event_id, 0, &count),
		BILLING_OK);
	assert_int_equal(count, 1);
	run_at(&f, f.w->now);
	assert_int_equal(received(f.r), 2);
	/* Every dead delivery since a time. */
	script(f.r, ANSWER_OK, 0, ANSWER_500);
	c = tb_customer(f.w, f.t, NULL);
	billing_customer_free(c);
	{
		int64_t at = f.w->now;
		int i;
		/* to dead: 12 tries over about three days */
		for (i = 0; i < 14; i++, at += 48000)
			run_at(&f, at);
	}
	script(f.r, ANSWER_OK, 0, ANSWER_OK);
	tb_assert_rc(billing_webhook_redeliver(f.w->ctx, &f.admin, NULL, start, &count),
		BILLING_OK);
	assert_int_equal(count, 1);
	tb_assert_rc(billing_webhook_redeliver(f.w->ctx, &f.admin, "evt_01kgb7zk00zcz9gqmgm0g56ypn",
		0, &count), BILLING_ENOTFOUND);
	fx_close(&f);
}

static void concurrency__one_hanging_receiver_does_not_hold_up_the_others(void **state)
{
	static const char *const names[] = { "B", "C", "D", "E" };
	billing_webhook_endpoint_params p = BILLING_WEBHOOK_ENDPOINT_PARAMS_INIT;
	char secrets[5][128], urls[5][128];
	int i, j, k, nfast = 0, nslow = 0;
	fx f;
	(void)state;
	/* libcurl's multi interface, to loopback: one tenant's receiver hangs
	 * past the 500 ms timeout for each of its 6 deliveries; 4 other
	 * tenants' 8 deliveries do not wait for it */
	fx_open(&f, 1, 0);
	for (i = 0; i < 5; i++) {
		const char *t = tb_tenant(f.w, i ? names[i - 1] : "Slow");
		billing_principal who = tb_admin(t);
		billing_webhook_endpoint *e = NULL;
		snprintf(urls[i], sizeof(urls[i]), "http://127.0.0.1:%u/%s%d", f.r->port,
			i ? "fast" : "slow", i);
		p.url = urls[i];
		tb_assert_rc(billing_webhook_endpoint_create(&e, f.w->ctx, &who, &p, NULL),
			BILLING_OK);
		snprintf(secrets[i], sizeof(secrets[i]), "%s", billing_webhook_endpoint_secret(e));
		billing_webhook_endpoint_free(e);
		for (j = 0; j < (i ? 2 : 6); j++) {
			billing_customer *c = tb_customer(f.w, t, NULL);
			billing_customer_free(c);
		}
	}
	run_at(&f, f.w->now);
	assert_int_equal(received(f.r), 14);
	for (k = 0; k < received(f.r); k++) {
		seen_request *s = &f.r->seen[k];
		i = s->url[1] == 's' ? 0 : s->url[5] - '0';
		assert_true(i >= 0 && i < 5);
		assert_true(signature_ok(s, secrets[i]));
		assert_int_equal(strtoll(s->timestamp, NULL, 10), f.w->now);
		if (i == 0) {
			nslow++;
		} else {
			/* Before the first hang's timeout ended: the slow endpoint
			 * has two in flight at most, so its third request is sent
			 * only after a timeout. An order, not a time: a loaded
			 * machine may delay everything, but not reorder this. */
			assert_true(nslow <= BILLING__DELIVERY_PER_ENDPOINT);
			nfast++;
		}
	}
	assert_int_equal(nslow, 6);
	assert_int_equal(nfast, 8);
	fx_close(&f);
}

/* A receiver that never answers: a loopback server that accepts and
 * reads, and never writes a byte; it notes when the first exchange gave
 * up on it (the client closed: its timeout ended). */
typedef struct {
	int fd;
	unsigned short port;
	volatile int stop;
	pthread_t thread;
	pthread_mutex_t mu;
	long long first_end_ms;  /* 0: none ended yet */
} hang_server;

#define HANG_CONNS 32

static void *hang_serve(void *arg)
{
	hang_server *h = arg;
	struct pollfd p[HANG_CONNS + 1];
	nfds_t n = 1, i;
	char buf[4096];

	p[0].fd = h->fd;
	p[0].events = POLLIN;
	while (!h->stop) {
		if (poll(p, n, 20) <= 0)
			continue;
		if ((p[0].revents & POLLIN) && n < HANG_CONNS + 1) {
			int c = accept(h->fd, NULL, NULL);
			if (c >= 0) {
				p[n].fd = c;
				p[n].events = POLLIN;
				p[n++].revents = 0;
			}
		}
		for (i = 1; i < n; i++) {
			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (read(p[i].fd, buf, sizeof(buf)) > 0)
				continue;
			close(p[i].fd);         /* the client gave up */
			pthread_mutex_lock(&h->mu);
			if (!h->first_end_ms)
				h->first_end_ms = mono_ms();
			pthread_mutex_unlock(&h->mu);
			p[i--] = p[--n];
		}
	}
	for (i = 1; i < n; i++)
		close(p[i].fd);
	return NULL;
}

static void hang_start(hang_server *h)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	memset(h, 0, sizeof(*h));
	pthread_mutex_init(&h->mu, NULL);
	h->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(h->fd >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(h->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(h->fd, 64), 0);
	assert_int_equal(getsockname(h->fd, (struct sockaddr *)&a, &len), 0);
	h->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&h->thread, NULL, hang_serve, h), 0);
}

static long long hang_first_end(hang_server *h)
{
	long long v;
	pthread_mutex_lock(&h->mu);
	v = h->first_end_ms;
	pthread_mutex_unlock(&h->mu);
	return v;
}

static void hang_stop(hang_server *h)
{
	h->stop = 1;
	pthread_join(h->thread, NULL);
	close(h->fd);
	pthread_mutex_destroy(&h->mu);
}

/* The attempts of each of the tenant's deliveries, in *attempts[0..n). */
static size_t attempts_of(fx *f, const char *tenant, int32_t *attempts, size_t max)
{
	billing_page *page;
	size_t i, n;
	page = deliveries(f, tenant, &n);
	assert_true(n <= max);
	for (i = 0; i < n; i++)
		attempts[i] = (int32_t)billing_webhook_delivery_attempts(
			billing_page_webhook_delivery(page, i));
	billing_page_free(page);
	return n;
}

#define WINDOW_FAST 22   /* per fast tenant: 3 of them, more than a batch */
#define WINDOW_HANG 4
/* long enough for a few dozen deliveries on a loaded machine under ASan */
#define WINDOW_TIMEOUT_MS 5000

static void window__fast_tenants_are_delivered_while_a_receiver_hangs(void **state)
{
	static const char *const names[] = { "Fast1", "Fast2", "Fast3" };
	billing_webhook_endpoint_params p = BILLING_WEBHOOK_ENDPOINT_PARAMS_INIT;
	const char *fast[3], *hang;
	char hang_url[128], fast_url[3][128];
	int32_t attempts[WINDOW_HANG];
	hang_server hs;
	long long t0, took, last_fast;
	int64_t start;
	size_t i, j, n, twice;
	fx f;
	(void)state;
	/* Three tenants' receivers answer at once; a fourth tenant's never
	 * answers (the timeout made 5 s here). Its deliveries fall due among
	 * the others' (one every 16) in the first batch, and the others'
	 * are more than a batch holds. */
	fx_open_timeout(&f, 1, 0, WINDOW_TIMEOUT_MS);
	hang_start(&hs);
	hang = tb_tenant(f.w, "Hang");
	snprintf(hang_url, sizeof(hang_url), "http://127.0.0.1:%u/never", hs.port);
	p.url = hang_url;
	{
		billing_principal who = tb_admin(hang);
		billing_webhook_endpoint *e = NULL;
		tb_assert_rc(billing_webhook_endpoint_create(&e, f.w->ctx, &who, &p, NULL), BILLING_OK);
		billing_webhook_endpoint_free(e);
	}
	for (i = 0; i < 3; i++) {
		billing_principal who = tb_admin(fast[i] = tb_tenant(f.w, names[i]));
		billing_webhook_endpoint *e = NULL;
		snprintf(fast_url[i], sizeof(fast_url[i]), "http://127.0.0.1:%u/fast%zu",
			f.r->port, i);
		p.url = fast_url[i];
		tb_assert_rc(billing_webhook_endpoint_create(&e, f.w->ctx, &who, &p, NULL), BILLING_OK);
		billing_webhook_endpoint_free(e);
	}
	for (i = 0, n = 0; i < 3 * WINDOW_FAST; i++) {
		f.w->now++;             /* due one after another, in this order */
		billing_customer_free(tb_customer(f.w, fast[i % 3], NULL));
		if (i % 16 == 4 && n < WINDOW_HANG) {
			billing_customer_free(tb_customer(f.w, hang, NULL));
			n++;
		}
	}
	assert_int_equal(n, WINDOW_HANG);
	start = f.w->now;
	t0 = mono_ms();
	run_at(&f, start);
	took = mono_ms() - t0;
	/* Every fast delivery arrived before the first hanging exchange gave
	 * up: those claimed after the first batch went out while it hung. */
	pthread_mutex_lock(&f.r->mu);
	assert_int_equal(f.r->total, 3 * WINDOW_FAST);
	last_fast = f.r->last_ms;
	pthread_mutex_unlock(&f.r->mu);
	assert_true(hang_first_end(&hs) > 0);
	assert_true(last_fast < hang_first_end(&hs));
	for (i = 0; i < 3; i++) {
		billing_page *page = deliveries(&f, fast[i], &n);
		assert_int_equal(n, WINDOW_FAST);
		for (j = 0; j < n; j++)
			assert_int_equal(billing_webhook_delivery_status_of(
				billing_page_webhook_delivery(page, j)), BILLING_DELIVERY_SUCCEEDED);
		billing_page_free(page);
	}
	/* each hanging delivery had its one attempt (a timeout) in that run,
	 * which lasted about one timeout, not one per batch */
	assert_int_equal(attempts_of(&f, hang, attempts, WINDOW_HANG), WINDOW_HANG);
	for (i = 0; i < WINDOW_HANG; i++)
		assert_int_equal(attempts[i], 1);
	assert_true(took < 3 * WINDOW_TIMEOUT_MS);

	/* Its circuit is open (3 timeouts in a row): when their retries fall
	 * due, they wait without an attempt and the run does not wait. */
	t0 = mono_ms();
	run_at(&f, start + 30);
	assert_true(mono_ms() - t0 < WINDOW_TIMEOUT_MS);
	attempts_of(&f, hang, attempts, WINDOW_HANG);
	for (i = 0; i < WINDOW_HANG; i++)
		assert_int_equal(attempts[i], 1);
	/* Once it has been open for BILLING__CIRCUIT_OPEN s, one delivery is
	 * the trial (it hangs again), the others still wait. */
	run_at(&f, start + BILLING__CIRCUIT_OPEN + 1);
	attempts_of(&f, hang, attempts, WINDOW_HANG);
	for (i = 0, twice = 0; i < WINDOW_HANG; i++) {
		assert_true(attempts[i] == 1 || attempts[i] == 2);
		twice += attempts[i] == 2;
	}
	assert_int_equal(twice, 1);
	hang_stop(&hs);
	fx_close(&f);
}

/* ------------------------------------------------------------ workers at once */

struct claim_thread {
	billing_ctx *ctx;
	const char *tenant;
	const char *delivery_id;
	int64_t now;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done, rc;
};

static void *claim_other(void *arg)
{
	struct claim_thread *c = arg;
	billing__delivery_job *job = NULL;
	billing_txn *tx;
	int rc = billing__begin(&tx, c->ctx, c->tenant, BILLING_TXN_WRITE);
	if (rc == BILLING_OK) {
		rc = billing__delivery_begin(c->ctx, tx, c->tenant, c->delivery_id, c->now, &job);
		rc = billing__end(c->ctx, tx, rc);
	}
	billing__delivery_job_free(job);
	pthread_mutex_lock(&c->mu);
	c->done = 1;
	c->rc = rc;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

static void concurrency__claims_of_one_endpoint_do_not_wait_for_each_other(void **state)
{
	struct claim_thread c;
	billing__delivery_job *job = NULL;
	billing_page *page;
	billing_txn *tx;
	pthread_t thread;
	struct timespec until;
	size_t n;
	int waited = 0;
	fx f;
	(void)state;
	/* PostgreSQL only: SQLite's write transactions take turns on the
	 * database, so there a second claim waits for the first by design. */
	if (strcmp(tb_backend(), "postgres") != 0)
		skip();
	fx_open(&f, 1, 0);
	endpoint(&f, f.t, NULL, 0);
	billing_customer_free(tb_customer(f.w, f.t, NULL));
	billing_customer_free(tb_customer(f.w, f.t, NULL));
	page = deliveries(&f, f.t, &n);
	assert_int_equal(n, 2);
	/* One worker has claimed a delivery and not committed yet (its
	 * commit is a disk flush); another worker claims the endpoint's other
	 * delivery meanwhile, on a connection of its own. */
	tb_assert_rc(billing__begin(&tx, f.w->ctx, f.t, BILLING_TXN_WRITE), BILLING_OK);
	tb_assert_rc(billing__delivery_begin(f.w->ctx, tx, f.t,
		billing_webhook_delivery_id(billing_page_webhook_delivery(page, 0)), f.w->now, &job),
		BILLING_OK);
	assert_non_null(job);
	memset(&c, 0, sizeof(c));
	c.ctx = tb_world_open_again(f.w);
	c.tenant = f.t;
	c.delivery_id = billing_webhook_delivery_id(billing_page_webhook_delivery(page, 1));
	c.now = f.w->now;
	pthread_mutex_init(&c.mu, NULL);
	pthread_cond_init(&c.cv, NULL);
	assert_int_equal(pthread_create(&thread, NULL, claim_other, &c), 0);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	pthread_mutex_lock(&c.mu);
	while (!c.done && pthread_cond_timedwait(&c.cv, &c.mu, &until) == 0)
		;
	waited = !c.done;
	pthread_mutex_unlock(&c.mu);
	/* the first claim commits: a claim that waited for it ends now */
	tb_assert_rc(billing__end(f.w->ctx, tx, BILLING_OK), BILLING_OK);
	billing__delivery_job_free(job);
	pthread_join(thread, NULL);
	assert_false(waited);
	tb_assert_rc(c.rc, BILLING_OK);
	pthread_cond_destroy(&c.cv);
	pthread_mutex_destroy(&c.mu);
	billing_ctx_close(c.ctx);
	billing_page_free(page);
	/* both leased: the receiver gets them when the leases end, once each */
	run_at(&f, f.w->now + 300);
	assert_int_equal(received(f.r), 2);
	assert_int_equal(f.w->rolled_back, 0);
	fx_close(&f);
}

#define RACE_TENANTS 3
#define RACE_EACH 40            /* customers (deliveries) per tenant */
#define RACE_WORKERS 4

struct race_run {
	billing_ctx *ctx;
	int64_t now;
	billing_run_report rep;
	int rc;
};

static void *race_run(void *arg)
{
	struct race_run *r = arg;
	billing_run_limits lim = BILLING_RUN_LIMITS_INIT;
	lim.workers = RACE_WORKERS;
	r->rc = billing_run_due(r->ctx, r->now, &lim, &r->rep);
	return NULL;
}

static unsigned int other_rolled_back;

static int64_t world_now(void *payload)
{
	return ((tb_world *)payload)->now;
}

static void count_rolled_back(void *payload, billing_log_level level, const char *message)
{
	(void)payload;
	(void)level;
	if (strncmp(message, "transaction rolled back (", 25) == 0)
		__atomic_fetch_add(&other_rolled_back, 1, __ATOMIC_RELAXED);
}

static void concurrency__workers_in_two_processes_deliver_each_once(void **state)
{
	static const char *const names[RACE_TENANTS] = { "R1", "R2", "R3" };
	billing_ctx_options o = BILLING_CTX_OPTIONS_INIT;
	struct race_run runs[2];
	pthread_t threads[2];
	const char *t[RACE_TENANTS];
	size_t i, j, n;
	int k;
	fx f;
	(void)state;
	/* Two "processes" (contexts) with 4 workers each run the queue at
	 * once: three tenants' endpoints on one receiver; every delivery is
	 * sent once and recorded once, none is left, and no transaction
	 * deadlocked (each would be logged before its retry). A timeout of
	 * 5 s, not 500 ms: up to 8 x 16 connections at once to one loopback
	 * receiver on a loaded machine must not time out (a timed-out
	 * exchange is an attempt, retried). */
	fx_open_timeout(&f, 1, 0, 5000);
	for (i = 0; i < RACE_TENANTS; i++) {
		t[i] = tb_tenant(f.w, names[i]);
		endpoint(&f, t[i], NULL, 0);
	}
	for (j = 0; j < RACE_EACH; j++)
		for (i = 0; i < RACE_TENANTS; i++)
			billing_customer_free(tb_customer(f.w, t[i], NULL));
	o.webhook_allow_http = 1;
	o.webhook_allow_private = 1;
	o.webhook_timeout_ms = 5000;
	o.clock = world_now;
	o.clock_payload = f.w;
	o.logger = count_rolled_back;
	o.log_level = BILLING_LOG_WARN;
	other_rolled_back = 0;
	memset(runs, 0, sizeof(runs));
	runs[0].ctx = f.w->ctx;
	tb_assert_rc(billing_ctx_open_url(&runs[1].ctx, f.w->url, &o), BILLING_OK);
	for (k = 0; k < 2; k++) {
		runs[k].now = f.w->now;
		assert_int_equal(pthread_create(&threads[k], NULL, race_run, &runs[k]), 0);
	}
	for (k = 0; k < 2; k++)
		pthread_join(threads[k], NULL);
	billing_ctx_close(runs[1].ctx);
	for (k = 0; k < 2; k++) {
		tb_assert_rc(runs[k].rc, BILLING_OK);
		assert_int_equal(runs[k].rep.failed, 0);
	}
	/* the endpoints' own creation events go to no endpoint of theirs */
	assert_int_equal(runs[0].rep.processed + runs[1].rep.processed,
		RACE_TENANTS * RACE_EACH);
	pthread_mutex_lock(&f.r->mu);
	assert_int_equal(f.r->total, RACE_TENANTS * RACE_EACH);
	pthread_mutex_unlock(&f.r->mu);
	for (i = 0; i < RACE_TENANTS; i++) {
		billing_page *page = deliveries(&f, t[i], &n);
		assert_int_equal(n, RACE_EACH);
		for (j = 0; j < n; j++) {
			const billing_webhook_delivery *d = billing_page_webhook_delivery(page, j);
			assert_int_equal(billing_webhook_delivery_status_of(d),
				BILLING_DELIVERY_SUCCEEDED);
			assert_int_equal(billing_webhook_delivery_attempt_count(d), 1);
		}
		billing_page_free(page);
	}
	assert_int_equal(f.w->rolled_back, 0);
	assert_int_equal(other_rolled_back, 0);
	fx_close(&f);
}

/* ------------------------------------------------------------ beside them */

static void audit__every_mutating_call_with_its_request(void **state)
{
	billing_call_options o = BILLING_CALL_OPTIONS_INIT;
	billing_customer_params p = BILLING_CUSTOMER_PARAMS_INIT;
	billing_event_list_params ep = BILLING_EVENT_LIST_PARAMS_INIT;
	billing_customer *c = NULL;
	billing_page *page = NULL;
	const billing_audit_entry *a;
	fx f;
	(void)state;
	fx_open(&f, 1, 0);
	o.idempotency_key = "k-1";
	o.request_id = "req-42";
	p.name = "Ada";
	p.email = "ada@example.com";
	tb_assert_rc(billing_customer_create(&c, f.w->ctx, &f.admin, &p, &o), BILLING_OK);
	tb_assert_rc(billing_audit_list(&page, f.w->ctx, &f.admin, NULL), BILLING_OK);
	assert_int_equal(billing_page_count(page), 1);
	a = billing_page_audit_entry(page, 0);
	assert_string_equal(billing_audit_entry_operation(a), "customers.create");
	assert_string_equal(billing_audit_entry_user_id(a), f.admin.user_id);
	assert_int_equal(billing_audit_entry_role(a), BILLING_ROLE_ADMIN);
	assert_string_equal(billing_audit_entry_resource_id(a), billing_customer_id(c));
	assert_string_equal(billing_audit_entry_request_id(a), "req-42");
	assert_string_equal(billing_audit_entry_idempotency_key(a), "k-1");
	billing_page_free(page);
	tb_assert_rc(billing_event_list(&page, f.w->ctx, &f.admin, &ep), BILLING_OK);
	assert_string_equal(billing_event_request_id(billing_page_event(page, 0)), "req-42");
	assert_string_equal(billing_event_idempotency_key(billing_page_event(page, 0)), "k-1");
	billing_page_free(page);
	/* A refused call writes no row; a delete writes one; USER may not read. */
	tb_assert_rc(billing_customer_create(&c, f.w->ctx, &f.admin, &p, NULL), BILLING_EEXISTS);
	tb_assert_rc(billing_customer_delete(f.w->ctx, &f.admin, billing_customer_id(c), 0),
		BILLING_OK);
	billing_customer_free(c);
	tb_assert_rc(billing_audit_list(&page, f.w->ctx, &f.admin, NULL), BILLING_OK);
	assert_int_equal(billing_page_count(page), 2);
	assert_string_equal(billing_audit_entry_operation(billing_page_audit_entry(page, 1)),
		"customers.delete");
	billing_page_free(page);
	{
		billing_principal user = tb_user(f.t);
		tb_assert_rc(billing_audit_list(&page, f.w->ctx, &user, NULL), BILLING_EFORBIDDEN);
	}
	fx_close(&f);
}

struct seen_events {
	billing_ctx *ctx;
	const char *tenant;
	int count;
	int lookups_ok;
	char last_type[64];
};

static void on_event(void *user_data, const billing_event *e)
{
	struct seen_events *s = user_data;
	billing_principal who = tb_admin(s->tenant);
	billing_event *again = NULL;
	s->count++;
	snprintf(s->last_type, sizeof(s->last_type), "%s", billing_event_type(e));
	/* Called after the commit: the event is there to read, and the call
	 * does not wait on a transaction of its own thread. */
	if (billing_event_get(&again, s->ctx, &who, billing_event_id(e)) == BILLING_OK)
		s->lookups_ok++;
	billing_event_free(again);
}

static void subscribers__after_commit_only(void **state)
{
	struct seen_events s;
	billing_customer_params p = BILLING_CUSTOMER_PARAMS_INIT;
	billing_customer *c = NULL;
	fx f;
	(void)state;
	fx_open(&f, 1, 0);
	memset(&s, 0, sizeof(s));
	s.ctx = f.w->ctx;
	s.tenant = f.t;
	tb_assert_rc(billing_ctx_subscribe(f.w->ctx, on_event, &s), BILLING_OK);
	p.name = "Ada";
	p.email = "ada@example.com";
	tb_assert_rc(billing_customer_create(&c, f.w->ctx, &f.admin, &p, NULL), BILLING_OK);
	billing_customer_free(c);
	assert_int_equal(s.count, 1);
	assert_int_equal(s.lookups_ok, 1);
	assert_string_equal(s.last_type, "customer.created");
	/* A refused change emits nothing. */
	tb_assert_rc(billing_customer_create(&c, f.w->ctx, &f.admin, &p, NULL), BILLING_EEXISTS);
	assert_int_equal(s.count, 1);
	fx_close(&f);
}

static void retention__old_events_are_pruned_by_the_run(void **state)
{
	billing_page *page = NULL;
	billing_customer *c;
	size_t n;
	fx f;
	(void)state;
	fx_open(&f, 1, 3600);
	endpoint(&f, f.t, NULL, 0);
	c = tb_customer(f.w, f.t, NULL);
	billing_customer_free(c);
	run_at(&f, f.w->now);
	/* webhook_endpoint.created and customer.created */
	tb_assert_rc(billing_event_list(&page, f.w->ctx, &f.admin, NULL), BILLING_OK);
	assert_int_equal(billing_page_count(page), 2);
	billing_page_free(page);
	billing_page_free(deliveries(&f, f.t, &n));
	assert_int_equal(n, 1);
	run_at(&f, f.w->now + 7200);
	tb_assert_rc(billing_event_list(&page, f.w->ctx, &f.admin, NULL), BILLING_OK);
	assert_int_equal(billing_page_count(page), 0);
	billing_page_free(page);
	billing_page_free(deliveries(&f, f.t, &n));
	assert_int_equal(n, 0);
	fx_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(deliver__signed_as_standard_webhooks_say),
		cmocka_unit_test(deliver__only_the_tenants_events_of_wanted_types),
		cmocka_unit_test(retry__the_whole_schedule_then_dead),
		cmocka_unit_test(retry__a_failing_endpoint_is_disabled),
		cmocka_unit_test(retry__timeouts_and_dropped_connections_are_tried_again),
		cmocka_unit_test(crash__between_the_claim_and_the_post_the_delivery_is_sent_later),
		cmocka_unit_test(safety__private_addresses_and_plain_http_are_refused),
		cmocka_unit_test(secrets__rotation_signs_with_both_for_the_overlap),
		cmocka_unit_test(secrets__a_second_rotation_keeps_every_promised_overlap),
		cmocka_unit_test(redeliver__one_event_or_every_dead_delivery),
		cmocka_unit_test(concurrency__one_hanging_receiver_does_not_hold_up_the_others),
		cmocka_unit_test(window__fast_tenants_are_delivered_while_a_receiver_hangs),
		cmocka_unit_test(concurrency__claims_of_one_endpoint_do_not_wait_for_each_other),
		cmocka_unit_test(concurrency__workers_in_two_processes_deliver_each_once),
		cmocka_unit_test(audit__every_mutating_call_with_its_request),
		cmocka_unit_test(subscribers__after_commit_only),
		cmocka_unit_test(retention__old_events_are_pruned_by_the_run),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

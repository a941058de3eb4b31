/*
 * Webhook delivery: the due work of the billing run sends each pending
 * delivery (Standard Webhooks signatures, sent through the context's
 * transport, billing/sys/transport.h: libcurl unless the host supplies
 * one; private addresses refused unless allowed), records the attempt, retries with backoff
 * and jitter, lets a delivery die after the last retry and disables an
 * endpoint whose deliveries keep dying, or at once when it answers 410.
 * The deliveries as objects (their list and getters) are in
 * webhook_delivery_list.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "billing/sys/transport.h"
#include "core/calendar.h"
#include "core/entity.h"
#include "core/events.h"
#include "core/webhook_internal.h"

#define LEASE 300                  /* seconds a delivery being sent is held */
#define KEEP_RESPONSE 1024         /* bytes of an answer kept per attempt */
#define READ_RESPONSE 65536        /* bytes read before the answer is cut off */
#define DEAD_TO_DISABLE 5          /* dead deliveries in a row that disable */

#define RETRY_AFTER_MAX 86400      /* the longest a receiver's Retry-After delays */

/* Waits before each retry: the Standard Webhooks example schedule (5 s,
 * 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, 10 h), continued with three waits of
 * 12 h so that retries cover about three days (73.6 h before jitter), as
 * Stripe's do: a receiver down over a weekend still gets its events. */
static const int64_t retry_waits[] = {
	5, 300, 1800, 7200, 18000, 36000, 36000, 36000, 43200, 43200, 43200
};
#define RETRIES ((int32_t)(sizeof(retry_waits) / sizeof(retry_waits[0])))

/* ------------------------------------------------------------ delivering */

struct billing__delivery_job {
	char tenant_id[BILLING_ID_MAX];
	char delivery_id[BILLING_ID_MAX];
	char endpoint_id[BILLING_ID_MAX];
	char event_id[BILLING_ID_MAX];
	char url[BILLING__WEBHOOK_URL_MAX + 1];
	char secret[BILLING__WEBHOOK_SECRET_MAX];
	billing__webhook_old_secret previous[BILLING__WEBHOOK_OLD_SECRETS]; /* still signing */
	size_t nprevious;
	char *body;
	size_t body_len;
	int64_t timestamp;
};

void billing__delivery_job_free(billing__delivery_job *job)
{
	if (!job)
		return;
	OPENSSL_cleanse(job->secret, sizeof(job->secret));
	OPENSSL_cleanse(job->previous, sizeof(job->previous));
	billing__free(job->body);
	billing__free(job);
}

struct capture {
	billing_delivery_record d;
	char strs[4][BILLING_ID_MAX];
};

static int delivery_row(void *payload, const void *record)
{
	struct capture *c = payload;
	const billing_delivery_record *r = record;
	c->d = *r;
	snprintf(c->strs[0], BILLING_ID_MAX, "%s", r->tenant_id);
	snprintf(c->strs[1], BILLING_ID_MAX, "%s", r->id);
	snprintf(c->strs[2], BILLING_ID_MAX, "%s", r->endpoint_id);
	snprintf(c->strs[3], BILLING_ID_MAX, "%s", r->event_id);
	c->d.tenant_id = c->strs[0];
	c->d.id = c->strs[1];
	c->d.endpoint_id = c->strs[2];
	c->d.event_id = c->strs[3];
	return BILLING_OK;
}

struct event_capture {
	billing__delivery_job *job;
	int rc;
};

static int event_row(void *payload, const void *record)
{
	struct event_capture *c = payload;
	const billing_event_record *r = record;
	char created[BILLING_TIME_FORMAT_SIZE];
	size_t n;

	if (billing__time_format(created, sizeof(created), r->created_at) < 0)
		return billing__error_set(BILLING_ERROR, NULL, "event time out of range");
	/* {"id","type","createdAt","data"}: ids and types are plain ASCII made
	 * by the library; data is the event's stored JSON. */
	n = strlen(r->id) + strlen(r->type) + strlen(created) + strlen(r->data_json) + 64;
	if ((c->job->body = billing__malloc(n)) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	c->job->body_len = (size_t)snprintf(c->job->body, n,
		"{\"id\":\"%s\",\"type\":\"%s\",\"createdAt\":\"%s\",\"data\":%s}", r->id, r->type,
		created, r->data_json);
	return BILLING_OK;
}

/* Writes the delivery's new state. */
static int save_delivery(billing_ctx *ctx, billing_txn *tx, billing_delivery_record *d,
	int64_t now)
{
	int64_t old = d->version;
	d->updated_at = now;
	d->version++;
	return ctx->st->record_update(tx, &billing__res_delivery, d, old);
}

/* A delivery that dies without being sent: recorded as an attempt. */
static int die(billing_ctx *ctx, billing_txn *tx, billing_delivery_record *d, const char *why,
	int64_t now)
{
	billing_delivery_attempt_record a;
	int rc;
	memset(&a, 0, sizeof(a));
	a.tenant_id = d->tenant_id;
	a.delivery_id = d->id;
	a.attempt_no = ++d->attempt_count;
	a.attempted_at = now;
	a.error = why;
	d->status = BILLING_DELIVERY_DEAD;
	d->next_attempt_at = 0;
	if ((rc = ctx->st->record_insert(tx, &billing__res_delivery_attempt, &a)) < 0 ||
	    (rc = save_delivery(ctx, tx, d, now)) < 0)
		return rc;
	return ctx->st->due_clear(tx, d->tenant_id, BILLING__DUE_DELIVERY, d->id);
}

int billing__delivery_begin(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *delivery_id, int64_t now, billing__delivery_job **out)
{
	billing__capture ec = { billing__webhook_endpoint_from_record, NULL };
	struct capture c;
	struct event_capture evc;
	billing_webhook_endpoint *e;
	billing__delivery_job *job;
	int rc;

	*out = NULL;
	rc = ctx->st->record_read(tx, &billing__res_delivery, tenant_id, delivery_id, BILLING_LOCK_UPDATE, delivery_row, &c);
	if (rc == BILLING_ENOTFOUND)
		return ctx->st->due_clear(tx, tenant_id, BILLING__DUE_DELIVERY, delivery_id);
	if (rc < 0)
		return rc;
	if (c.d.status != BILLING_DELIVERY_PENDING)
		return ctx->st->due_clear(tx, tenant_id, BILLING__DUE_DELIVERY, delivery_id);
	/* The endpoint is read without a lock: its URL, secrets and state as
	 * committed now (the delivery's row, locked above, is what makes the
	 * claim this transaction's). Locking it made every claim of one
	 * endpoint wait for the last one's commit across all workers, and
	 * closed a cycle on PostgreSQL: a claim that keeps the lock of a due
	 * row SKIP LOCKED found and then saw leased waited for the endpoint,
	 * while the holder of the endpoint (the refresh of that very
	 * delivery) waited to move the row's lease. */
	rc = ctx->st->record_read(tx, &billing__res_webhook_endpoint, tenant_id, c.d.endpoint_id,
		BILLING_LOCK_NONE, billing__capture_row, &ec);
	if (rc == BILLING_ENOTFOUND)
		return die(ctx, tx, &c.d, "endpoint_deleted", now);
	if (rc < 0)
		return rc;
	if (!(e = ec.item))
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	if (!e->enabled) {
		rc = die(ctx, tx, &c.d, "endpoint_disabled", now);
		billing_webhook_endpoint_free(e);
		return rc;
	}
	if ((job = billing__calloc(1, sizeof(*job))) == NULL) {
		billing_webhook_endpoint_free(e);
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	}
	snprintf(job->tenant_id, sizeof(job->tenant_id), "%s", tenant_id);
	snprintf(job->delivery_id, sizeof(job->delivery_id), "%s", delivery_id);
	snprintf(job->endpoint_id, sizeof(job->endpoint_id), "%s", e->id);
	snprintf(job->event_id, sizeof(job->event_id), "%s", c.d.event_id);
	snprintf(job->url, sizeof(job->url), "%s", e->url);
	snprintf(job->secret, sizeof(job->secret), "%s", e->secret_stored);
	job->nprevious = billing__webhook_old_secrets(job->previous, e->previous_secret,
		e->previous_secret_until, now);
	job->timestamp = now;
	billing_webhook_endpoint_free(e);
	evc.job = job;
	evc.rc = 0;
	rc = ctx->st->record_read(tx, &billing__res_event, tenant_id, c.d.event_id, BILLING_LOCK_NONE, event_row, &evc);
	if (rc == BILLING_ENOTFOUND) {
		billing__delivery_job_free(job);
		return die(ctx, tx, &c.d, "event_pruned", now);
	}
	/* The lease: should this process die before the answer is recorded,
	 * the delivery is sent again when it falls due. */
	if (rc == BILLING_OK)
		rc = billing__webhook_due_at(ctx, tx, tenant_id, BILLING__DUE_DELIVERY, delivery_id, now + LEASE);
	if (rc < 0) {
		billing__delivery_job_free(job);
		return rc;
	}
	*out = job;
	return BILLING_OK;
}

/* Appends the signature of job under secret ("v1,<sig>", space-separated)
 * to out. */
static int sign(char *out, size_t size, const char *secret, const billing__delivery_job *job)
{
	char one[BILLING_WEBHOOK_SIGNATURE_SIZE];
	size_t used = strlen(out);
	int rc = billing_webhook_sign(one, sizeof(one), secret, job->event_id, job->timestamp,
		job->body, job->body_len);

	if (rc < 0) {
		/* The secret was made here: malformed, it was changed in storage. */
		return billing__error_set(rc == BILLING_EINVALID ? BILLING_ESTORAGE : rc,
			rc == BILLING_EINVALID ? "storage" : NULL, "cannot sign a delivery");
	}
	snprintf(out + used, size - used, "%s%s", used ? " " : "", one);
	OPENSSL_cleanse(one, sizeof(one));
	return BILLING_OK;
}

static int64_t jittered(int64_t wait)
{
	uint32_t r = 0;
	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = 0;
	return wait + (int64_t)((uint64_t)(wait / 10 + 1) * r / 0x100000000ULL);
}

/* Records the attempt's outcome in a transaction of its own. */
static int record_once(billing_ctx *ctx, const billing__delivery_job *job, int32_t status,
	const char *error, const char *response, int64_t duration_ms, int64_t retry_after,
	int64_t *next_at, int *endpoint_changed)
{
	billing__capture ec = { billing__webhook_endpoint_from_record, NULL };
	billing_delivery_attempt_record a;
	billing_webhook_endpoint *e = NULL;
	struct capture c;
	billing_txn *tx;
	int64_t now = billing__now(ctx);
	bool ok = status >= 200 && status < 300;
	/* 410 Gone: the receiver says the endpoint is no more (Standard
	 * Webhooks): no retry, and the endpoint is disabled at once. */
	bool gone = status == 410;
	int rc;

	if ((rc = billing__begin(&tx, ctx, job->tenant_id, BILLING_TXN_WRITE)) < 0)
		return rc;
	if ((rc = ctx->st->record_read(tx, &billing__res_delivery, job->tenant_id, job->delivery_id, BILLING_LOCK_UPDATE, delivery_row,
		&c)) < 0)
		goto out;
	memset(&a, 0, sizeof(a));
	a.tenant_id = job->tenant_id;
	a.delivery_id = job->delivery_id;
	a.attempt_no = ++c.d.attempt_count;
	a.attempted_at = now;
	a.status_code = status;
	a.error = error;
	a.response = response;
	a.duration_ms = duration_ms;
	/* The delivery's own due row first, the endpoint after: a claim in
	 * another transaction may hold that due row (PostgreSQL keeps the lock
	 * of a row SKIP LOCKED found and then saw leased) while it waits for the
	 * endpoint; taking the endpoint first would close the cycle. */
	if (ok || gone || c.d.attempt_count > RETRIES) {
		rc = ctx->st->due_clear(tx, job->tenant_id, BILLING__DUE_DELIVERY, job->delivery_id);
	} else {
		int64_t wait = jittered(retry_waits[c.d.attempt_count - 1]);
		/* A receiver that said when to come back (429, 503 with
		 * Retry-After) is not asked sooner; the schedule's own wait
		 * stands when it is the longer. */
		c.d.next_attempt_at = now + (retry_after > wait ? retry_after : wait);
		rc = billing__webhook_due_at(ctx, tx, job->tenant_id, BILLING__DUE_DELIVERY, job->delivery_id,
			c.d.next_attempt_at);
	}
	if (rc < 0 || (rc = ctx->st->record_insert(tx, &billing__res_delivery_attempt, &a)) < 0)
		goto out;
	/* The endpoint is locked only when this outcome changes it: a
	 * success after deaths, or a death. Read without a lock first, so
	 * that the outcomes of one endpoint's concurrent deliveries (every
	 * worker's window) do not wait for each other's commits. */
	rc = ctx->st->record_read(tx, &billing__res_webhook_endpoint, job->tenant_id,
		job->endpoint_id, BILLING_LOCK_NONE, billing__capture_row, &ec);
	if (rc == BILLING_OK && (e = ec.item) != NULL &&
	    (ok ? e->dead_in_row != 0 : gone || c.d.attempt_count > RETRIES)) {
		billing_webhook_endpoint_free(e);
		e = NULL;
		ec.item = NULL;
		rc = ctx->st->record_read(tx, &billing__res_webhook_endpoint, job->tenant_id,
			job->endpoint_id, BILLING_LOCK_UPDATE, billing__capture_row, &ec);
	}
	if (rc == BILLING_ENOTFOUND)
		rc = BILLING_OK;
	else if (rc == BILLING_OK && !(e = ec.item))
		rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
	if (rc < 0)
		goto out;
	if (ok) {
		c.d.status = BILLING_DELIVERY_SUCCEEDED;
		c.d.next_attempt_at = 0;
		if (e && e->dead_in_row) {
			billing_webhook_endpoint_record r;
			billing__webhook_endpoint_record(&r, e);
			r.dead_in_row = 0;
			r.updated_at = now;
			r.version++;
			rc = ctx->st->record_update(tx, &billing__res_webhook_endpoint, &r, e->version);
			*endpoint_changed = 1;
		}
	} else if (!gone && c.d.attempt_count <= RETRIES) {
		/* next_attempt_at and its due work are set above */
	} else {
		c.d.status = BILLING_DELIVERY_DEAD;
		c.d.next_attempt_at = 0;
		if (e) {
			billing_webhook_endpoint_record r;
			billing__webhook_endpoint_record(&r, e);
			r.dead_in_row = e->dead_in_row + 1;
			r.updated_at = now;
			r.version++;
			if ((gone || r.dead_in_row >= DEAD_TO_DISABLE) && r.enabled) {
				r.enabled = 0;
				r.disabled_reason = gone ? "gone" : "failing";
			}
			*endpoint_changed = 1;
			if ((rc = ctx->st->record_update(tx, &billing__res_webhook_endpoint, &r, e->version)) == BILLING_OK &&
			    !r.enabled && e->enabled) {
				billing_webhook_endpoint *now_e = billing__webhook_endpoint_from_record(&r);
				if (gone)
					billing__log(ctx, BILLING_LOG_WARN, "webhook endpoint %s "
						"disabled: it answered 410 Gone", e->id);
				else
					billing__log(ctx, BILLING_LOG_WARN, "webhook endpoint %s "
						"disabled: %d deliveries died in a row", e->id,
						r.dead_in_row);
				rc = now_e ? billing__event_emit(ctx, tx, job->tenant_id,
					"webhook_endpoint.disabled", "webhook_endpoint", e->id,
					billing__json_webhook_endpoint, now_e) :
					billing__error_set(BILLING_ENOMEM, NULL, NULL);
				billing_webhook_endpoint_free(now_e);
			}
		}
	}
	if (rc == BILLING_OK)
		rc = save_delivery(ctx, tx, &c.d, now);
	*next_at = c.d.status == BILLING_DELIVERY_PENDING ? c.d.next_attempt_at : 0;
out:
	billing_webhook_endpoint_free(e);
	return billing__end(ctx, tx, rc);
}

/* *endpoint_changed: the outcome changed the delivery's endpoint (its
 * deaths in a row, or it disabled it). */
static int record(billing_ctx *ctx, const billing__delivery_job *job, int32_t status,
	const char *error, const char *response, int64_t duration_ms, int64_t retry_after,
	int64_t *next_at, int *endpoint_changed)
{
	*next_at = 0;
	*endpoint_changed = 0;
	BILLING__RETRY(record_once(ctx, job, status, error, response, duration_ms, retry_after,
		next_at, endpoint_changed));
}

/* Seconds a 429 or 503 answer's Retry-After asks to wait (RFC 9110: a
 * number of seconds or an HTTP date), at most RETRY_AFTER_MAX; 0 for any
 * other answer, no header, or one that cannot be read. */
static int64_t retry_after_of(const billing_transport_response *res, int64_t now)
{
	const char *v = NULL;
	int64_t wait = 0;
	size_t i;

	if (res->status != 429 && res->status != 503)
		return 0;
	for (i = 0; i < res->nheaders; i++)
		if (strcasecmp(res->headers[i].name, "Retry-After") == 0)
			v = res->headers[i].value;
	if (!v || !*v)
		return 0;
	if (strspn(v, "0123456789") == strlen(v)) {
		/* more than 10 digits is past any cap: no overflow */
		wait = strlen(v) > 10 ? RETRY_AFTER_MAX : (int64_t)strtoll(v, NULL, 10);
	} else {
		time_t at = curl_getdate(v, NULL);
		if (at == (time_t)-1)
			return 0;
		wait = (int64_t)at - now;
	}
	if (wait < 0)
		return 0;
	return wait > RETRY_AFTER_MAX ? RETRY_AFTER_MAX : wait;
}

/* What an attempt records of the exchange: the error ("timeout",
 * "connect", "connection", "refused_address"), or NULL for an answer (one
 * cut at READ_RESPONSE bytes or broken after its status line too). */
static const char *attempt_error(const billing_transport_response *res)
{
	switch (res->error) {
	case BILLING_TRANSPORT_OK:
		return NULL;
	case BILLING_TRANSPORT_TIMEOUT:
		return "timeout";
	case BILLING_TRANSPORT_CONNECT:
		return "connect";
	case BILLING_TRANSPORT_REFUSED_ADDRESS:
		return "refused_address";
	default:
		/* cut short after the status line came: an answer */
		return res->status ? NULL : "connection";
	}
}

/* ------------------------------------------------------------ sending many */

/* One delivery of a batch, and the request it is being sent with. */
typedef struct {
	billing__delivery_job *job;     /* NULL once finished */
	int in_flight;
	int retry;                      /* a retry waiting for its time in this batch */
	int trial;                      /* the trial of its endpoint's half-open circuit */
	unsigned long gen;              /* the batch's gen when it was claimed */
	int64_t claimed_at;             /* the context's clock when it was claimed or read again */
	int64_t not_before_ms;          /* monotonic */
	char sig[512], id[BILLING_ID_MAX], ts[32];
	billing_header h[5];
	billing_transport_request req;
	struct timespec t0;
} batch_item;

/* An endpoint that answered 429 or 503 with Retry-After: until when. */
typedef struct {
	char endpoint_id[BILLING_ID_MAX];
	int64_t until;                  /* the context's clock */
} hold;

struct billing__delivery_batch {
	billing_transport_batch base;   /* first: the transport's view */
	billing_ctx *ctx;
	int64_t run_now;                /* the run's time: leases never end before it */
	batch_item items[BILLING__DELIVERY_WINDOW]; /* job NULL: a free slot */
	size_t n;                       /* slots [0, n) may be in use */
	size_t queued;                  /* slots in use */
	unsigned int in_flight;
	hold holds[BILLING__DELIVERY_WINDOW];
	size_t nholds;
	billing__delivery_refill_fn refill;
	void *refill_payload;
	int refill_over;                /* the refill found nothing: not asked again */
	unsigned long gen;              /* outcomes so far that changed an endpoint, or
	                                   could not be recorded */
};

static int64_t held_until(const billing__delivery_batch *b, const char *endpoint_id)
{
	size_t i;
	for (i = 0; i < b->nholds; i++)
		if (strcmp(b->holds[i].endpoint_id, endpoint_id) == 0)
			return b->holds[i].until;
	return 0;
}

static void hold_endpoint(billing__delivery_batch *b, const char *endpoint_id, int64_t until)
{
	size_t i;
	for (i = 0; i < b->nholds; i++)
		if (strcmp(b->holds[i].endpoint_id, endpoint_id) == 0)
			break;
	if (i == b->nholds) {
		/* an ended hold's entry is taken again */
		for (i = 0; i < b->nholds; i++)
			if (b->holds[i].until <= billing__now(b->ctx))
				break;
		if (i == b->nholds && b->nholds == BILLING__DELIVERY_WINDOW)
			return;
		if (i == b->nholds)
			b->nholds++;
		b->holds[i].until = 0;
	}
	snprintf(b->holds[i].endpoint_id, sizeof(b->holds[i].endpoint_id), "%s", endpoint_id);
	if (until > b->holds[i].until)
		b->holds[i].until = until;
}

static int defer_once(billing_ctx *ctx, const char *tenant_id, const char *delivery_id,
	int64_t when)
{
	billing_txn *tx;
	int rc;
	if ((rc = billing__begin(&tx, ctx, tenant_id, BILLING_TXN_WRITE)) < 0)
		return rc;
	return billing__end(ctx, tx, billing__webhook_due_at(ctx, tx, tenant_id,
		BILLING__DUE_DELIVERY, delivery_id, when));
}

/* A delivery of a held endpoint waits, without an attempt, until the hold
 * ends (its due work moved there). */
static int defer(billing_ctx *ctx, const char *tenant_id, const char *delivery_id, int64_t when)
{
	BILLING__RETRY(defer_once(ctx, tenant_id, delivery_id, when));
}

static int64_t mono_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static unsigned int endpoint_in_flight(const billing__delivery_batch *b, const char *endpoint_id)
{
	unsigned int n = 0;
	size_t i;
	for (i = 0; i < b->n; i++)
		if (b->items[i].in_flight && b->items[i].job &&
		    strcmp(b->items[i].job->endpoint_id, endpoint_id) == 0)
			n++;
	return n;
}

static void item_finish(billing__delivery_batch *b, batch_item *it)
{
	OPENSSL_cleanse(it->sig, sizeof(it->sig));
	if (it->job)
		b->queued--;
	billing__delivery_job_free(it->job);
	it->job = NULL;
	it->in_flight = 0;
	it->retry = 0;
}

static int refresh_once(billing_ctx *ctx, const char *tenant_id, const char *delivery_id,
	int64_t now, billing__delivery_job **out)
{
	billing_txn *tx;
	int rc;
	*out = NULL;
	if ((rc = billing__begin(&tx, ctx, tenant_id, BILLING_TXN_WRITE)) < 0)
		return rc;
	rc = billing__delivery_begin(ctx, tx, tenant_id, delivery_id, now, out);
	if ((rc = billing__end(ctx, tx, rc)) < 0) {
		billing__delivery_job_free(*out);
		*out = NULL;
	}
	return rc;
}

/* The delivery as it stands now, read again just before its attempt: still
 * pending, its endpoint still enabled, the secrets of this moment, a new
 * lease from now, and the timestamp of now. */
static int refresh(billing_ctx *ctx, const char *tenant_id, const char *delivery_id,
	int64_t now, billing__delivery_job **out)
{
	BILLING__RETRY(refresh_once(ctx, tenant_id, delivery_id, now, out));
}

/* Signs and builds the request of it's (fresh) job. */
static int item_request(billing_ctx *ctx, batch_item *it)
{
	static const char *const want[] = { "Retry-After" };
	billing__delivery_job *job = it->job;
	long timeout = ctx->webhook_timeout_ms > 0 ? ctx->webhook_timeout_ms : 15000;
	size_t i;
	int rc;

	/* the current secret's signature first, then each old one still
	 * inside its overlap (Standard Webhooks allows several) */
	it->sig[0] = '\0';
	if ((rc = sign(it->sig, sizeof(it->sig), job->secret, job)) < 0)
		return rc;
	for (i = 0; i < job->nprevious; i++)
		if ((rc = sign(it->sig, sizeof(it->sig), job->previous[i].secret, job)) < 0)
			return rc;
	snprintf(it->id, sizeof(it->id), "%s", job->event_id);
	snprintf(it->ts, sizeof(it->ts), "%lld", (long long)job->timestamp);
	it->h[0].name = "Content-Type";
	it->h[0].value = "application/json";
	it->h[1].name = "User-Agent";
	it->h[1].value = "libbilling-webhooks/1";
	it->h[2].name = "webhook-id";
	it->h[2].value = it->id;
	it->h[3].name = "webhook-timestamp";
	it->h[3].value = it->ts;
	it->h[4].name = "webhook-signature";
	it->h[4].value = it->sig;
	memset(&it->req, 0, sizeof(it->req));
	it->req.method = "POST";
	it->req.url = job->url;
	it->req.headers = it->h;
	it->req.nheaders = 5;
	it->req.body = job->body;
	it->req.body_len = job->body_len;
	it->req.connect_timeout_ms = timeout < 5000 ? timeout : 5000L;
	it->req.timeout_ms = timeout;
	it->req.max_response = READ_RESPONSE;
	it->req.flags = (ctx->webhook_allow_http ? BILLING_TRANSPORT_ALLOW_HTTP : 0) |
		(ctx->webhook_allow_private ? 0 : BILLING_TRANSPORT_PUBLIC_ONLY);
	it->req.want_headers = want;
	it->req.nwant_headers = 1;
	return BILLING_OK;
}

/* Takes job into a free slot of the window (there is one: the caller
 * checked). */
static void item_add(billing__delivery_batch *b, billing__delivery_job *job)
{
	size_t i;
	for (i = 0; i < BILLING__DELIVERY_WINDOW && b->items[i].job; i++)
		;
	memset(&b->items[i], 0, sizeof(b->items[i]));
	b->items[i].job = job;
	b->items[i].gen = b->gen;
	b->items[i].claimed_at = job->timestamp;
	b->queued++;
	if (i >= b->n)
		b->n = i + 1;
}

/* The time an attempt made now is stamped with: never before the run's. */
static int64_t attempt_now(const billing__delivery_batch *b)
{
	int64_t now = billing__now(b->ctx);
	return now < b->run_now ? b->run_now : now;
}

/*
 * The first queued delivery that may start now: its endpoint has fewer
 * than BILLING__DELIVERY_PER_ENDPOINT in flight and is neither held nor
 * set aside by its circuit, and its time has come. Read again (unless it
 * was claimed this very second with no exchange ended since), signed and
 * stamped now. 1 with it in
 * *out; 0 when none may start (*soonest: milliseconds until a waiting
 * retry's time, or -1).
 */
static int next_queued(billing__delivery_batch *b, batch_item **out, int64_t *soonest)
{
	billing_ctx *ctx = b->ctx;
	int64_t now_ms = mono_ms(), until;
	size_t i;
	int admit;

	*soonest = -1;
	for (i = 0; i < b->n; i++) {
		batch_item *it = &b->items[i];
		billing__delivery_job *fresh = NULL;
		int64_t now;
		int was_retry;
		char tenant_id[BILLING_ID_MAX], delivery_id[BILLING_ID_MAX];
		char endpoint_id[BILLING_ID_MAX];

		if (!it->job || it->in_flight)
			continue;
		if (endpoint_in_flight(b, it->job->endpoint_id) >= BILLING__DELIVERY_PER_ENDPOINT)
			continue;
		if (it->not_before_ms > now_ms) {
			if (*soonest < 0 || it->not_before_ms - now_ms < *soonest)
				*soonest = it->not_before_ms - now_ms;
			continue;
		}
		until = held_until(b, it->job->endpoint_id);
		admit = 0;
		if (until <= billing__now(ctx)) {
			until = 0;
			if ((admit = billing__circuit_admit(ctx, it->job->endpoint_id,
				attempt_now(b), &until)) == 0 && until <= billing__now(ctx))
				until = billing__now(ctx) + 1;
		}
		if (until) {
			/* its endpoint said when to come back, or keeps timing
			 * out: not sooner, for any of its deliveries */
			if (defer(ctx, it->job->tenant_id, it->job->delivery_id, until) < 0)
				billing__log(ctx, BILLING_LOG_WARN, "due work delivery %s: %s",
					it->job->delivery_id, billing_error_last()->message);
			item_finish(b, it);
			continue;
		}
		/* admitted (2: as the trial of a half-open circuit) */
		it->trial = admit == 2;
		now = attempt_now(b);
		snprintf(endpoint_id, sizeof(endpoint_id), "%s", it->job->endpoint_id);
		/* As claimed when no outcome of this batch has changed an
		 * endpoint since and the claim is recent (its lease far from
		 * its end, a secret rotated since still inside its overlap):
		 * stamped now and sent without reading it again, which would
		 * cost a commit per delivery. */
		if (it->retry || it->gen != b->gen || now - it->claimed_at > BILLING__DELIVERY_FRESH) {
			snprintf(tenant_id, sizeof(tenant_id), "%s", it->job->tenant_id);
			snprintf(delivery_id, sizeof(delivery_id), "%s", it->job->delivery_id);
			was_retry = it->retry;
			item_finish(b, it);
			if (refresh(ctx, tenant_id, delivery_id, now, &fresh) < 0) {
				/* its lease stands: sent when that ends */
				billing__log(ctx, BILLING_LOG_WARN, "due work delivery %s: %s",
					delivery_id, billing_error_last()->message);
				if (admit == 2)
					billing__circuit_cancel(ctx, endpoint_id);
				continue;
			}
			if (!fresh) {
				if (admit == 2)
					billing__circuit_cancel(ctx, endpoint_id);
				continue;       /* delivered, dead, or its endpoint gone */
			}
			it->job = fresh;
			it->gen = b->gen;
			it->claimed_at = fresh->timestamp;
			b->queued++;
			it->retry = was_retry;
			it->trial = admit == 2;
		}
		it->job->timestamp = now;
		if (item_request(ctx, it) < 0) {
			billing__log(ctx, BILLING_LOG_WARN, "due work delivery %s: %s",
				it->job->delivery_id, billing_error_last()->message);
			if (admit == 2)
				billing__circuit_cancel(ctx, endpoint_id);
			item_finish(b, it);
			continue;
		}
		*out = it;
		return 1;
	}
	return 0;
}

/*
 * The transport asks for the next exchange: a queued delivery that may
 * start (next_queued), else, while the window has room, the next due
 * delivery the refill claims.
 */
static int batch_next(billing_transport_batch *bb, const billing_transport_request **req,
	void **token, long *wait_ms)
{
	billing__delivery_batch *b = (billing__delivery_batch *)bb;
	batch_item *it = NULL;
	int64_t soonest = -1;

	for (;;) {
		billing__delivery_job *job = NULL;
		if (next_queued(b, &it, &soonest))
			break;
		if (!b->refill || b->refill_over || b->queued >= BILLING__DELIVERY_WINDOW ||
		    b->in_flight >= b->base.max_in_flight)
			break;
		if (b->refill(b->refill_payload, &job) != 1) {
			b->refill_over = 1;
			break;
		}
		if (job)
			item_add(b, job);
	}
	if (it) {
		it->in_flight = 1;
		b->in_flight++;
		clock_gettime(CLOCK_MONOTONIC, &it->t0);
		*req = &it->req;
		*token = it;
		return 1;
	}
	/* A retry waits for its time only while other exchanges are under way:
	 * the batch never lasts for the sake of a retry alone (its due work
	 * sends it later). */
	*wait_ms = b->in_flight ? (long)soonest : -1;
	return 0;
}

/* An exchange ended: its attempt is recorded, and a first retry whose
 * time comes within BILLING__DELIVERY_RETRY_IN_BATCH seconds waits in the
 * batch for it. */
static void batch_done(billing_transport_batch *bb, void *token, int rc,
	billing_transport_response *res)
{
	billing__delivery_batch *b = (billing__delivery_batch *)bb;
	billing_ctx *ctx = b->ctx;
	batch_item *it = token;
	char kept[KEEP_RESPONSE + 1];
	struct timespec t1;
	const char *error;
	int32_t status = 0;
	int64_t wait = 0, next_at = 0, now;
	size_t kept_len = 0;
	int changed = 0;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	OPENSSL_cleanse(it->sig, sizeof(it->sig));
	it->in_flight = 0;
	b->in_flight--;
	if (rc < 0) {
		/* Not sent (out of memory, a request the transport refused):
		 * an attempt like a dropped connection, tried again. */
		error = rc == BILLING_ENOMEM ? "out_of_memory" : "connection";
	} else {
		if ((error = attempt_error(res)) == NULL) {
			status = (int32_t)res->status;
			wait = retry_after_of(res, billing__now(ctx));
		}
		if (!error && res->body) {
			kept_len = res->body_len < KEEP_RESPONSE ? res->body_len : KEEP_RESPONSE;
			memcpy(kept, res->body, kept_len);
		}
	}
	kept[kept_len] = '\0';
	if (rc < 0 && it->trial)
		billing__circuit_cancel(ctx, it->job->endpoint_id);    /* never left */
	else if (rc == BILLING_OK)
		billing__circuit_outcome(ctx, it->job->endpoint_id,
			res->error == BILLING_TRANSPORT_TIMEOUT, billing__now(ctx));
	it->trial = 0;
	if (record(ctx, it->job, status, error, kept_len ? kept : NULL,
		(int64_t)(t1.tv_sec - it->t0.tv_sec) * 1000 +
		(t1.tv_nsec - it->t0.tv_nsec) / 1000000, wait, &next_at, &changed) < 0) {
		/* the lease stands: sent again when it ends */
		b->gen++;
		billing__log(ctx, BILLING_LOG_WARN, "due work delivery %s: %s",
			it->job->delivery_id, billing_error_last()->message);
		item_finish(b, it);
		return;
	}
	if (changed)
		b->gen++;       /* the queued deliveries are read again before they start */
	now = billing__now(ctx);
	if (wait > 0)
		hold_endpoint(b, it->job->endpoint_id, now + wait);
	if (next_at && !it->retry && next_at - now <= BILLING__DELIVERY_RETRY_IN_BATCH) {
		it->retry = 1;
		it->not_before_ms = mono_ms() + (next_at > now ? (next_at - now) * 1000 : 0);
		return;
	}
	item_finish(b, it);
}

billing__delivery_batch *billing__delivery_batch_new(billing_ctx *ctx, int64_t run_now,
	billing__delivery_refill_fn refill, void *refill_payload)
{
	billing__delivery_batch *b = billing__calloc(1, sizeof(*b));
	if (!b) {
		(void)billing__error_set(BILLING_ENOMEM, NULL, NULL);
		return NULL;
	}
	b->ctx = ctx;
	b->run_now = run_now;
	b->base.max_in_flight = BILLING__DELIVERY_IN_FLIGHT;
	b->base.next = batch_next;
	b->base.done = batch_done;
	b->base.payload = b;
	b->refill = refill;
	b->refill_payload = refill_payload;
	return b;
}

size_t billing__delivery_batch_add(billing__delivery_batch *b, billing__delivery_job *job)
{
	item_add(b, job);
	return b->queued;
}

/* A transport of version 1 (or without send_batch): one after another. */
static void send_one_by_one(billing_transport *t, billing_transport_batch *b)
{
	const billing_transport_request *req;
	billing_transport_response res;
	void *token;
	long wait_ms;
	int rc;

	for (;;) {
		wait_ms = -1;
		if (b->next(b, &req, &token, &wait_ms) != 1)
			break;       /* nothing in flight here: a wait is never asked */
		memset(&res, 0, sizeof(res));
		rc = t->send(t, req, &res);
		if (rc < 0)
			memset(&res, 0, sizeof(res));
		b->done(b, token, rc, &res);
		if (rc == BILLING_OK)
			t->release(t, &res);
	}
}

void billing__delivery_batch_send(billing__delivery_batch *b)
{
	billing_ctx *ctx = b->ctx;
	billing_transport *t = ctx->transport ? ctx->transport : billing_transport_default();
	size_t i;

	if (b->queued == 0)
		return;
	b->refill_over = 0;
	if (t->version < 2 || !t->send_batch || t->send_batch(t, &b->base) < 0) {
		if (t->version >= 2 && t->send_batch)
			billing__log(ctx, BILLING_LOG_WARN, "the transport's batch failed (%s): "
				"sending one by one", billing_error_last()->message);
		send_one_by_one(t, &b->base);
	}
	for (i = 0; i < b->n; i++)
		item_finish(b, &b->items[i]);
	b->n = 0;
	b->queued = 0;
	b->in_flight = 0;
}

void billing__delivery_batch_free(billing__delivery_batch *b)
{
	size_t i;
	if (!b)
		return;
	for (i = 0; i < b->n; i++)
		item_finish(b, &b->items[i]);
	billing__free(b);
}

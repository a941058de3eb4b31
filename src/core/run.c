/*
 * The billing run (see billing/run.h). Renewals go in batches: claim up to
 * RUN_BATCH items of due work in one platform transaction (due_claim_many:
 * FOR UPDATE SKIP LOCKED), and as long as they are subscriptions, move the
 * transaction to each item's tenant in turn and advance it; one commit for
 * the batch. The batch's new rows are written set-based at its end, and
 * what every renewal would read again is read once (store_deferred.c). When any item of a batch fails, the whole batch is rolled back
 * and its items are done again one per transaction (run_one), so a bad row
 * is set aside alone and nothing is done twice. Other work (collections,
 * payments, refunds, deliveries) is claimed one item per transaction, in
 * the queue's order, as it asks a provider or a receiver outside the
 * transaction. Deliveries of webhooks are leased as they are claimed and
 * sent together, concurrently: once BILLING__DELIVERY_BATCH are queued, a
 * sliding window (webhook_internal.h) sends them and, as exchanges end,
 * claims the next due deliveries (claim_delivery) until none is at the
 * queue's head.
 *
 * With limits->workers > 1 the calling thread and workers - 1 threads of
 * this call each run that loop on a connection of their own from the
 * context's pool; they share the item budget (max_items) and never take
 * one another's items (the claim skips rows another transaction holds).
 * Memory is constant in the amount of work: per worker one batch of
 * items, its events until the commit, and one batch of deliveries.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "core/events.h"
#include "core/invoice_internal.h"
#include "core/meter.h"
#include "core/payment_internal.h"
#include "core/payment_method.h"
#include "core/subscription_internal.h"
#include "core/webhook_internal.h"

#define RETRY_AFTER 60   /* seconds before a failed item is tried again */
#define RUN_BATCH 100    /* renewals per transaction */
#define RUN_SINGLES 16   /* items done alone after a batch found none */
#define MAX_WORKERS 64
#define DELIVERY_LOOK 16 /* due items the window's refill looks through */

struct claimed {
	char tenant_id[BILLING_ID_MAX];
	char kind[32];
	char resource_id[BILLING_ID_MAX];
	int64_t due_at;
};

static int claim_row(void *payload, const void *record)
{
	struct claimed *c = payload;
	const billing_due_record *r = record;
	if (strlen(r->tenant_id) >= sizeof(c->tenant_id) || strlen(r->kind) >= sizeof(c->kind) ||
	    strlen(r->resource_id) >= sizeof(c->resource_id))
		return billing__error_set(BILLING_ESTORAGE, "storage", "malformed due work row");
	strcpy(c->tenant_id, r->tenant_id);
	strcpy(c->kind, r->kind);
	strcpy(c->resource_id, r->resource_id);
	c->due_at = r->due_at;
	return BILLING_OK;
}

/*
 * One item, in its own transaction. BILLING_ENOTFOUND: nothing is due.
 * Work that asks the payment provider commits what it is about to ask (and
 * a lease on the item) first, then asks outside any transaction.
 */
static int run_one(billing_ctx *ctx, int64_t now, struct claimed *c, int *invoiced,
	billing__delivery_job **job_out)
{
	billing__delivery_job *job = NULL;
	billing__attempt a;
	billing_txn *tx;
	int rc;

	*invoiced = 0;
	memset(&a, 0, sizeof(a));
	if ((rc = billing__begin(&tx, ctx, NULL, BILLING_TXN_WRITE)) < 0)
		return rc;
	if ((rc = ctx->st->due_claim(tx, now, claim_row, c)) < 0 ||
	    (rc = ctx->st->set_tenant(tx, c->tenant_id)) < 0) {
		ctx->st->rollback(tx);
		return rc;
	}
	if (strcmp(c->kind, "subscription") == 0) {
		rc = billing__subscription_advance(ctx, tx, c->tenant_id, c->resource_id, now,
			invoiced);
	} else if (strcmp(c->kind, BILLING__DUE_COLLECT) == 0) {
		rc = billing__collect_begin(ctx, tx, c->tenant_id, c->resource_id, now, &a);
	} else if (strcmp(c->kind, BILLING__DUE_PAYMENT) == 0) {
		rc = billing__payment_resolve_begin(ctx, tx, c->tenant_id, c->resource_id, now, &a);
	} else if (strcmp(c->kind, BILLING__DUE_REFUND) == 0) {
		rc = billing__refund_resolve_begin(ctx, tx, c->tenant_id, c->resource_id, now, &a);
	} else if (strcmp(c->kind, BILLING__DUE_DELIVERY) == 0) {
		rc = billing__delivery_begin(ctx, tx, c->tenant_id, c->resource_id, now, &job);
	} else if (strcmp(c->kind, BILLING__DUE_THRESHOLD) == 0) {
		/* A spend threshold whose evaluation after an ingest failed. */
		char invoice_id[BILLING_ID_MAX];
		bool issued = false;
		rc = billing__usage_threshold_due(ctx, tx, c->tenant_id, c->resource_id, now,
			invoice_id, &issued);
		*invoiced = issued;
	} else if (strcmp(c->kind, BILLING__DUE_DRAFT) == 0) {
		rc = billing__invoice_draft_due(ctx, tx, c->tenant_id, c->resource_id, now);
	} else if (strcmp(c->kind, BILLING__DUE_CARD_EXPIRY) == 0) {
		rc = billing__payment_method_expiring(ctx, tx, c->tenant_id, c->resource_id, now);
	} else {
		/* Work of a kind this library does not know (a newer library
		 * wrote it): leave it for that library. */
		rc = billing__error_set(BILLING_ERROR, "unknown_work", "unknown due work kind %s",
			c->kind);
	}
	if ((rc = billing__end(ctx, tx, rc)) < 0) {
		billing__delivery_job_free(job);
		return rc;
	}
	/* A delivery goes to the run's batch, sent with others. */
	*job_out = job;
	if (a.what != BILLING__ATTEMPT_NONE && billing__attempt_run(ctx, &a, NULL) < 0)
		billing__log(ctx, BILLING_LOG_WARN, "due work %s %s: %s", c->kind, c->resource_id,
			billing_error_last()->message);
	return BILLING_OK;
}

/* A failed item is set aside for a while, so the run goes on with the rest
 * and tries it again later, instead of failing on it forever. */
static void postpone(billing_ctx *ctx, const struct claimed *c, int64_t now)
{
	billing_due_record d;
	billing_txn *tx;
	if (billing__begin(&tx, ctx, c->tenant_id, BILLING_TXN_WRITE) < 0)
		return;
	d.tenant_id = c->tenant_id;
	d.kind = c->kind;
	d.resource_id = c->resource_id;
	d.due_at = now + RETRY_AFTER;
	billing__end(ctx, tx, ctx->st->due_set(tx, &d));
}

/* The first delivery among the claimed rows; the others stay where they
 * are in the queue (their locks end with the claim's transaction). */
static int delivery_row(void *payload, const void *record)
{
	const billing_due_record *r = record;
	int rc;
	if (strcmp(r->kind, BILLING__DUE_DELIVERY) != 0)
		return BILLING_OK;
	return (rc = claim_row(payload, record)) < 0 ? rc : 1;
}

/*
 * The next due delivery among the first DELIVERY_LOOK due items, claimed
 * and leased in its own transaction as run_one does, stamped with stamp
 * (the time its attempt is made: now or just after). BILLING_ENOTFOUND:
 * none is due there.
 */
static int claim_delivery(billing_ctx *ctx, int64_t now, int64_t stamp, struct claimed *c,
	billing__delivery_job **job)
{
	billing_txn *tx;
	int rc;

	*job = NULL;
	if ((rc = billing__begin(&tx, ctx, NULL, BILLING_TXN_WRITE)) < 0)
		return rc;
	rc = ctx->st->due_claim_many(tx, now, DELIVERY_LOOK, delivery_row, c);
	if (rc == BILLING_OK && !c->tenant_id[0])
		rc = BILLING_ENOTFOUND;
	if (rc < 0) {
		ctx->st->rollback(tx);
		return rc;
	}
	if ((rc = ctx->st->set_tenant(tx, c->tenant_id)) == BILLING_OK)
		rc = billing__delivery_begin(ctx, tx, c->tenant_id, c->resource_id, stamp, job);
	if ((rc = billing__end(ctx, tx, rc)) < 0) {
		billing__delivery_job_free(*job);
		*job = NULL;
	}
	return rc;
}

/* The latest run's time is kept in the database, so a clock that goes
 * backwards is caught across processes too; it only ever moves forward. */
static int check_clock(billing_ctx *ctx, int64_t now)
{
	char text[32];
	billing_txn *tx;
	int rc;
	long long last = 0;

	if ((rc = billing__begin(&tx, ctx, NULL, BILLING_TXN_WRITE)) < 0)
		return rc;
	rc = ctx->st->meta_get(tx, "last_run_at", text, sizeof(text));
	if (rc == BILLING_OK)
		last = strtoll(text, NULL, 10);
	else if (rc == BILLING_ENOTFOUND)
		rc = BILLING_OK;
	if (rc == BILLING_OK && now < last)
		rc = billing__error_field(BILLING_EINVALID, "clock_backwards", "now",
			"the clock went backwards: %lld is before the last run at %lld",
			(long long)now, last);
	if (rc == BILLING_OK) {
		snprintf(text, sizeof(text), "%lld", (long long)now);
		rc = ctx->st->meta_set(tx, "last_run_at", text);
	}
	return billing__end(ctx, tx, rc);
}

/* ------------------------------------------------------------ batches */

struct batch {
	struct claimed item[RUN_BATCH];
	unsigned int n, cap;
};

/* Takes the leading subscriptions of the claimed rows: the batch ends at
 * the first item of another kind (it keeps its place in the queue). */
static int batch_row(void *payload, const void *record)
{
	struct batch *b = payload;
	const billing_due_record *r = record;
	int rc;

	if (strcmp(r->kind, BILLING__DUE_SUBSCRIPTION) != 0)
		return 1;
	if ((rc = claim_row(&b->item[b->n], record)) < 0)
		return rc;
	return ++b->n >= b->cap ? 1 : BILLING_OK;
}

/*
 * Up to cap renewals in one transaction. *taken receives how many items
 * the batch claimed (0: none due, or the first due item is not a
 * subscription: the caller takes it alone). BILLING_OK: all of them done
 * and committed; < 0: nothing of the batch was kept (the caller does its
 * items one at a time).
 */
static int run_batch(billing_ctx *ctx, int64_t now, unsigned int cap, unsigned int *taken,
	int64_t *invoiced)
{
	struct batch *b;
	billing_txn *tx;
	unsigned int i;
	int64_t inv = 0;
	int rc;

	*taken = 0;
	if (ctx->st->version < 9 || !ctx->st->due_claim_many)
		return BILLING_OK;      /* a backend without batches: one at a time */
	if ((b = billing__malloc(sizeof(*b))) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	b->n = 0;
	b->cap = cap < RUN_BATCH ? cap : RUN_BATCH;
	if ((rc = billing__begin(&tx, ctx, NULL, BILLING_TXN_WRITE)) < 0)
		goto out;
	rc = ctx->st->due_claim_many(tx, now, b->cap, batch_row, b);
	if (rc == BILLING_ENOTFOUND || (rc == BILLING_OK && b->n == 0)) {
		ctx->st->rollback(tx);
		rc = BILLING_OK;
		goto out;
	}
	*taken = b->n;
	/* Set-based: the batch's invoices, lines, events and deliveries are
	 * written at its end, one statement per table (txn.h). */
	billing__defer_begin(tx);
	for (i = 0; rc == BILLING_OK && i < b->n; i++) {
		int one = 0;
		/* Claimed in (due_at, tenant) order: the tenant changes seldom. */
		if (i == 0 || strcmp(b->item[i].tenant_id, b->item[i - 1].tenant_id) != 0)
			rc = ctx->st->set_tenant(tx, b->item[i].tenant_id);
		billing__batch_hold(tx, b->item[i].tenant_id, b->item[i].resource_id);
		if (rc == BILLING_OK)
			rc = billing__subscription_advance(ctx, tx, b->item[i].tenant_id,
				b->item[i].resource_id, now, &one);
		inv += one;
	}
	if (rc == BILLING_OK)
		rc = billing__defer_flush(ctx->st, tx);
	billing__defer_end();
	if ((rc = billing__end(ctx, tx, rc)) == BILLING_OK)
		*invoiced = inv;
out:
	billing__free(b);
	return rc;
}

/* ------------------------------------------------------------ workers */

/* What the workers of one call share. */
struct shared {
	pthread_mutex_t mu;
	unsigned int left;       /* items any worker may still take */
	int failed_rc;           /* the first worker's failure to read the queue */
	int failed_code;
	const char *failed_reason;
	char failed_message[256];
};

struct worker {
	billing_ctx *ctx;
	int64_t now;
	struct shared *sh;
	billing_run_report rep;
	pthread_t thread;
};

/* Up to want items of the budget, taken off it; 0 when it is spent or a
 * worker failed. */
static unsigned int budget_take(struct shared *sh, unsigned int want)
{
	unsigned int n;
	pthread_mutex_lock(&sh->mu);
	n = sh->failed_rc < 0 ? 0 : want < sh->left ? want : sh->left;
	sh->left -= n;
	pthread_mutex_unlock(&sh->mu);
	return n;
}

static void budget_return(struct shared *sh, unsigned int n)
{
	pthread_mutex_lock(&sh->mu);
	sh->left += n;
	pthread_mutex_unlock(&sh->mu);
}

/* The queue itself cannot be read: the call fails with this worker's
 * error (errors are per thread), and the other workers stop. */
static void worker_fail(struct shared *sh, int rc)
{
	const billing_error *e = billing_error_last();
	pthread_mutex_lock(&sh->mu);
	if (sh->failed_rc == 0) {
		sh->failed_rc = rc;
		sh->failed_code = e->code ? e->code : rc;
		sh->failed_reason = e->reason;
		snprintf(sh->failed_message, sizeof(sh->failed_message), "%s",
			e->message ? e->message : "");
	}
	pthread_mutex_unlock(&sh->mu);
}

/* One item by itself, as the run has always done it; BILLING_ENOTFOUND
 * when nothing is due, < 0 when the queue cannot be read. */
static int step_one(struct worker *w, billing__delivery_batch *batch)
{
	billing__delivery_job *job = NULL;
	struct claimed c;
	int invoiced = 0, rc;

	memset(&c, 0, sizeof(c));
	rc = run_one(w->ctx, w->now, &c, &invoiced, &job);
	if (rc == BILLING_ENOTFOUND)
		return rc;
	/* Deliveries leased so far go out together once the batch is full; a
	 * failure to record one leaves its lease: done later. */
	if (job && billing__delivery_batch_add(batch, job) == BILLING__DELIVERY_BATCH)
		billing__delivery_batch_send(batch);
	if (rc < 0) {
		if (!c.tenant_id[0])
			return rc;      /* the queue itself cannot be read */
		billing__log(w->ctx, BILLING_LOG_WARN, "due work %s %s failed: %s", c.kind,
			c.resource_id, billing_error_last()->message);
		w->rep.failed++;
		postpone(w->ctx, &c, w->now);
		return BILLING_OK;
	}
	w->rep.processed++;
	w->rep.invoiced += invoiced;
	return BILLING_OK;
}

/* The delivery window's refill (billing__delivery_refill_fn): one item of
 * the budget for the next due delivery. */
static int refill(void *payload, billing__delivery_job **job)
{
	struct worker *w = payload;
	struct claimed c;
	int64_t stamp = billing__now(w->ctx);
	int rc;

	*job = NULL;
	if (w->ctx->st->version < 9 || !w->ctx->st->due_claim_many ||
	    budget_take(w->sh, 1) == 0)
		return 0;
	memset(&c, 0, sizeof(c));
	rc = claim_delivery(w->ctx, w->now, stamp > w->now ? stamp : w->now, &c, job);
	if (rc == BILLING_ENOTFOUND || (rc < 0 && !c.tenant_id[0])) {
		/* nothing to send at the queue's head, or the queue cannot be
		 * read (the run's loop meets that again and reports it) */
		budget_return(w->sh, 1);
		return 0;
	}
	if (rc < 0) {
		billing__log(w->ctx, BILLING_LOG_WARN, "due work %s %s failed: %s", c.kind,
			c.resource_id, billing_error_last()->message);
		w->rep.failed++;
		postpone(w->ctx, &c, w->now);
		return 1;
	}
	w->rep.processed++;
	return 1;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	billing__delivery_batch *batch;
	unsigned int n, taken, i;
	int rc = BILLING_OK;

	billing__scope_clear();       /* the run acts for nobody */
	if ((batch = billing__delivery_batch_new(w->ctx, w->now, refill, w)) == NULL) {
		worker_fail(w->sh, BILLING_ENOMEM);
		return NULL;
	}
	while ((n = budget_take(w->sh, RUN_BATCH)) > 0) {
		int64_t invoiced = 0;
		rc = run_batch(w->ctx, w->now, n, &taken, &invoiced);
		if (rc == BILLING_OK && taken > 0) {
			w->rep.processed += taken;
			w->rep.invoiced += invoiced;
			budget_return(w->sh, n - taken);
			continue;
		}
		if (rc < 0 && taken > 0) {
			/* Nothing of the batch was kept: its items again, alone. */
			billing__log(w->ctx, BILLING_LOG_DEBUG,
				"a batch of %u renewals failed (%s); doing them one by one", taken,
				billing_error_last()->message);
			budget_return(w->sh, n - taken);
			n = taken;
		} else {
			/* Nothing claimed (the batch could not start, nothing is due,
			 * or the next item is not a renewal): the next few items
			 * alone, in the queue's order (whatever their kind), before
			 * trying a batch again. */
			unsigned int k = n < RUN_SINGLES ? n : RUN_SINGLES;
			budget_return(w->sh, n - k);
			n = k;
		}
		for (i = 0; i < n; i++) {
			if ((rc = step_one(w, batch)) < 0)
				break;
		}
		if (rc == BILLING_ENOTFOUND) {
			rc = BILLING_OK;
			break;
		}
		if (rc < 0)
			break;
		if (i < n)
			budget_return(w->sh, n - i);
	}
	if (rc < 0) {
		worker_fail(w->sh, rc);
		billing__delivery_batch_free(batch);   /* leased: sent later */
		return NULL;
	}
	billing__delivery_batch_send(batch);
	billing__delivery_batch_free(batch);
	return NULL;
}

int billing_run_due(billing_ctx *ctx, int64_t now, const billing_run_limits *limits,
	billing_run_report *report)
{
	billing_run_report rep = { 0, 0, 0, 0 };
	struct worker *w;
	struct shared sh;
	unsigned int nworkers = 1, started, i;
	billing_txn *tx;
	int rc;

	billing_error_clear();
	billing__scope_clear();       /* the run acts for nobody */
	BILLING__ASSERT_ARG(ctx, "ctx");
	if (limits && (limits->version == 0 || limits->version > BILLING_RUN_LIMITS_VERSION))
		return billing__error_field(BILLING_EINVALID, "invalid_version", "version",
			"unknown billing_run_limits version %u", limits->version);
	if (limits && limits->version >= 2 && limits->workers > MAX_WORKERS)
		return billing__error_field(BILLING_EINVALID, "invalid", "workers",
			"must be at most %d", MAX_WORKERS);
	if (now < 0)
		return billing__error_field(BILLING_EINVALID, "invalid", "now", "must not be negative");
	if (now == 0)
		now = billing__now(ctx);
	if ((rc = check_clock(ctx, now)) < 0)
		return rc;
	if (limits && limits->version >= 2 && limits->workers > 1)
		nworkers = limits->workers;

	memset(&sh, 0, sizeof(sh));
	sh.left = limits && limits->max_items ? limits->max_items : 1000;
	if ((w = billing__calloc(nworkers, sizeof(*w))) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	pthread_mutex_init(&sh.mu, NULL);
	for (i = 0; i < nworkers; i++) {
		w[i].ctx = ctx;
		w[i].now = now;
		w[i].sh = &sh;
	}
	/* The calling thread is worker 0; a thread that cannot be started
	 * leaves its share to the others. */
	for (started = 1; started < nworkers; started++) {
		if (pthread_create(&w[started].thread, NULL, work, &w[started]) != 0)
			break;
	}
	work(&w[0]);
	for (i = 1; i < started; i++)
		pthread_join(w[i].thread, NULL);
	for (i = 0; i < started; i++) {
		rep.processed += w[i].rep.processed;
		rep.invoiced += w[i].rep.invoiced;
		rep.failed += w[i].rep.failed;
	}
	billing__free(w);
	pthread_mutex_destroy(&sh.mu);
	if (sh.failed_rc < 0) {
		/* A worker thread's error, made the caller's. */
		billing__error_record(sh.failed_code, sh.failed_reason, "%s", sh.failed_message);
		return sh.failed_rc;
	}

	if (billing__prune_all(ctx, now) < 0)
		billing__log(ctx, BILLING_LOG_WARN, "pruning old events failed: %s",
			billing_error_last()->message);
	if ((rc = billing__begin(&tx, ctx, NULL, BILLING_TXN_READ)) < 0)
		return rc;
	if ((rc = billing__end(ctx, tx, ctx->st->due_count(tx, now, &rep.remaining))) < 0)
		return rc;
	if (report)
		*report = rep;
	billing_error_clear();
	return BILLING_OK;
}

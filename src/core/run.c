/*
 * The billing run (see billing/run.h): claim one item of due work in a
 * platform transaction, move the transaction to the item's tenant, do the
 * item, commit; repeat up to the limit. Deliveries of webhooks are leased
 * as they are claimed and sent together, concurrently, in batches of up to
 * BILLING__DELIVERY_BATCH (webhook_internal.h). Memory is constant in the
 * amount of work: one item at a time, and one batch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "core/events.h"
#include "core/payment_internal.h"
#include "core/payment_method.h"
#include "core/subscription_internal.h"
#include "core/webhook_internal.h"

#define RETRY_AFTER 60   /* seconds before a failed item is tried again */

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

int billing_run_due(billing_ctx *ctx, int64_t now, const billing_run_limits *limits,
	billing_run_report *report)
{
	billing_run_report rep = { 0, 0, 0, 0 };
	billing__delivery_batch *batch;
	unsigned int max, i;
	billing_txn *tx;
	int rc;

	billing_error_clear();
	billing__scope_clear();       /* the run acts for nobody */
	BILLING__ASSERT_ARG(ctx, "ctx");
	if (limits && (limits->version == 0 || limits->version > BILLING_RUN_LIMITS_VERSION))
		return billing__error_field(BILLING_EINVALID, "invalid_version", "version",
			"unknown billing_run_limits version %u", limits->version);
	if (now < 0)
		return billing__error_field(BILLING_EINVALID, "invalid", "now", "must not be negative");
	if (now == 0)
		now = billing__now(ctx);
	if ((rc = check_clock(ctx, now)) < 0)
		return rc;
	max = limits && limits->max_items ? limits->max_items : 1000;
	if ((batch = billing__delivery_batch_new(ctx, now)) == NULL)
		return BILLING_ENOMEM;

	for (i = 0; i < max; i++) {
		billing__delivery_job *job = NULL;
		struct claimed c;
		int invoiced = 0;
		memset(&c, 0, sizeof(c));
		rc = run_one(ctx, now, &c, &invoiced, &job);
		if (rc == BILLING_ENOTFOUND)
			break;
		/* Deliveries leased so far go out together once the batch is
		 * full; a failure to record one leaves its lease: done later. */
		if (job && billing__delivery_batch_add(batch, job) == BILLING__DELIVERY_BATCH)
			billing__delivery_batch_send(batch);
		if (rc < 0) {
			if (!c.tenant_id[0]) {
				billing__delivery_batch_free(batch);   /* leased: sent later */
				return rc;      /* the queue itself cannot be read */
			}
			billing__log(ctx, BILLING_LOG_WARN, "due work %s %s failed: %s", c.kind,
				c.resource_id, billing_error_last()->message);
			rep.failed++;
			postpone(ctx, &c, now);
			continue;
		}
		rep.processed++;
		rep.invoiced += invoiced;
	}
	billing__delivery_batch_send(batch);
	billing__delivery_batch_free(batch);
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

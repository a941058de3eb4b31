/*
 * Refunds: billing_payment_refund, the refund as the billing run's due work
 * when its answer is pending or lost, and recording what the provider said
 * of it. A refund is asked like a charge (payment_attempt.c), with the
 * refund's id as its idempotency key.
 */
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "core/payment_internal.h"

/* ------------------------------------------------------------ refunds */

struct refund_capture {
	billing_refund_record r;
	char id[BILLING_ID_MAX], payment_id[BILLING_ID_MAX];
};

static int refund_row(void *payload, const void *record)
{
	struct refund_capture *c = payload;
	c->r = *(const billing_refund_record *)record;
	snprintf(c->id, sizeof(c->id), "%s", c->r.id);
	snprintf(c->payment_id, sizeof(c->payment_id), "%s", c->r.payment_id);
	c->r.id = c->id;
	c->r.payment_id = c->payment_id;
	c->r.tenant_id = NULL;        /* the caller's: the row's strings die here */
	c->r.provider_ref = NULL;     /* not kept: set again when written */
	c->r.failure_code = NULL;
	return BILLING_OK;
}

int billing__refund_begin(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *payment_id, int64_t amount, int64_t now, billing__attempt *a)
{
	billing_payment *p = NULL;
	billing_refund_record r;
	char id[BILLING_ID_MAX];
	int64_t left;
	int rc;

	memset(a, 0, sizeof(*a));
	if ((rc = billing__payment_load(&p, ctx, tx, tenant_id, payment_id)) < 0)
		return rc;
	if (p->status != BILLING_PAYMENT_SUCCEEDED &&
	    p->status != BILLING_PAYMENT_PARTIALLY_REFUNDED) {
		rc = billing__error_set(BILLING_ECONFLICT, "invalid_transition",
			"only a succeeded payment is refunded; this one is %s",
			billing_payment_status_name(p->status));
		goto out;
	}
	if (p->amount_refunding) {
		rc = billing__error_set(BILLING_ECONFLICT, "refund_in_progress",
			"a refund of the payment is in progress");
		goto out;
	}
	left = p->amount - p->amount_refunded;
	if (amount == 0)
		amount = left;
	if (amount < 0 || amount > left) {
		rc = billing__error_field(BILLING_EINVALID, "invalid", "amount",
			"at most %lld is left to refund", (long long)left);
		goto out;
	}
	if (!p->provider_ref) {
		rc = billing__error_set(BILLING_ECONFLICT, "no_provider_ref",
			"the provider gave no reference for this payment");
		goto out;
	}
	if (billing__id_new(id, "re", now * 1000) < 0) {
		rc = billing__error_set(BILLING_ERROR, NULL, "cannot make an id");
		goto out;
	}
	memset(&r, 0, sizeof(r));
	r.tenant_id = tenant_id;
	r.id = id;
	r.payment_id = payment_id;
	r.amount = amount;
	r.status = BILLING_PAYMENT_PENDING;
	r.created_at = r.updated_at = now;
	r.version = 1;
	p->amount_refunding = amount;
	if ((rc = ctx->st->record_insert(tx, &billing__res_refund, &r)) < 0 ||
	    (rc = billing__payment_save(ctx, tx, p, NULL)) < 0 ||
	    (rc = billing__payment_due(ctx, tx, tenant_id, BILLING__DUE_REFUND, id,
		now + BILLING__PAYMENT_LEASE)) < 0)
		goto out;
	billing__attempt_fill(a, BILLING__ATTEMPT_REFUND, p, NULL, NULL);
	snprintf(a->refund_id, sizeof(a->refund_id), "%s", id);
	snprintf(a->key, sizeof(a->key), "%s", id);
	a->amount = amount;
out:
	billing_payment_free(p);
	return rc;
}

int billing__refund_resolve_begin(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *refund_id, int64_t now, billing__attempt *a)
{
	struct refund_capture c;
	billing_payment *p = NULL;
	int rc;

	memset(a, 0, sizeof(*a));
	rc = ctx->st->record_read(tx, &billing__res_refund, tenant_id, refund_id, BILLING_LOCK_UPDATE, refund_row, &c);
	if (rc == BILLING_ENOTFOUND || (rc == BILLING_OK && !billing__payment_in_flight(c.r.status)))
		return ctx->st->due_clear(tx, tenant_id, BILLING__DUE_REFUND, refund_id);
	if (rc < 0 || (rc = billing__payment_load(&p, ctx, tx, tenant_id, c.payment_id)) < 0)
		return rc;
	if (!ctx->provider || strcmp(ctx->provider->name, p->provider) != 0) {
		rc = billing__payment_due(ctx, tx, tenant_id, BILLING__DUE_REFUND, refund_id, now + 3600);
	} else if ((rc = billing__payment_due(ctx, tx, tenant_id, BILLING__DUE_REFUND, refund_id,
		now + BILLING__PAYMENT_LEASE)) == BILLING_OK) {
		billing__attempt_fill(a, BILLING__ATTEMPT_REFUND, p, NULL, NULL);
		snprintf(a->refund_id, sizeof(a->refund_id), "%s", refund_id);
		snprintf(a->key, sizeof(a->key), "%s", refund_id);
		a->amount = c.r.amount;
	}
	billing_payment_free(p);
	return rc;
}

/* Records what the provider said of a refund. */
int billing__refund_apply(billing_ctx *ctx, billing_txn *tx, const billing__attempt *a,
	const billing_provider_result *res, int64_t now)
{
	struct refund_capture c;
	billing_payment *p = NULL;
	int64_t old_version;
	int rc;

	if ((rc = ctx->st->record_read(tx, &billing__res_refund, a->tenant_id, a->refund_id, BILLING_LOCK_UPDATE, refund_row, &c)) < 0)
		return rc;
	if (!billing__payment_in_flight(c.r.status) || (int)res->status == c.r.status)
		return BILLING_OK;
	if ((rc = billing__payment_load(&p, ctx, tx, a->tenant_id, c.payment_id)) < 0)
		return rc;
	c.r.tenant_id = a->tenant_id;
	old_version = c.r.version;
	c.r.status = res->status;
	c.r.provider_ref = res->ref[0] ? res->ref : NULL;
	c.r.failure_code = res->status == BILLING_PAYMENT_FAILED ?
		(res->failure_code[0] ? res->failure_code : "failed") : NULL;
	c.r.updated_at = now;
	c.r.version++;
	if ((rc = ctx->st->record_update(tx, &billing__res_refund, &c.r, old_version)) < 0)
		goto out;
	if (res->status == BILLING_PAYMENT_SUCCEEDED || res->status == BILLING_PAYMENT_FAILED) {
		const char *event = "payment.refund_failed";
		p->amount_refunding -= c.r.amount;
		if (res->status == BILLING_PAYMENT_SUCCEEDED) {
			p->amount_refunded += c.r.amount;
			p->status = p->amount_refunded == p->amount ? BILLING_PAYMENT_REFUNDED :
				BILLING_PAYMENT_PARTIALLY_REFUNDED;
			event = "payment.refunded";
		}
		if ((rc = billing__payment_save(ctx, tx, p, event)) == BILLING_OK)
			rc = ctx->st->due_clear(tx, a->tenant_id, BILLING__DUE_REFUND, a->refund_id);
	} else {
		rc = billing__payment_due(ctx, tx, a->tenant_id, BILLING__DUE_REFUND, a->refund_id,
			billing__payment_ask_again_at(c.r.created_at, now));
	}
out:
	billing_payment_free(p);
	return rc;
}

/* ------------------------------------------------------------ calls */

static int refund_begin_once(billing__attempt *a, billing_ctx *ctx,
	const billing_principal *who, const char *id, int64_t amount, billing__idem *idem)
{
	billing_txn *tx;
	int rc;

	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_WRITE)) < 0)
		return rc;
	if ((rc = billing__idem_check(ctx, tx, who->tenant_id, idem)) == BILLING_OK &&
	    !idem->replay &&
	    (rc = billing__refund_begin(ctx, tx, who->tenant_id, id, amount, billing__now(ctx),
		a)) == BILLING_OK)
		rc = billing__idem_record(ctx, tx, who->tenant_id, idem, id);
	return billing__end(ctx, tx, rc);
}

static int refund_begin_retry(billing__attempt *a, billing_ctx *ctx,
	const billing_principal *who, const char *id, int64_t amount, billing__idem *idem)
{
	BILLING__RETRY(refund_begin_once(a, ctx, who, id, amount, idem));
}

int billing_payment_refund(billing_payment **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, int64_t amount,
	const billing_call_options *opts)
{
	billing__buf input = { 0 };
	billing_provider_result res;
	billing__idem idem;
	billing__attempt a = { 0 };
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_PAYMENTS_REFUND)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	*out = NULL;
	if (!billing__id_arg_ok(id, "pay"))
		return billing__not_found("payment");
	if (amount < 0)
		return billing__error_field(BILLING_EINVALID, "invalid", "amount",
			"must be > 0 (or 0 for all that is left)");
	if (!ctx->provider)
		return billing__payment_no_provider();
	billing__buf_add(&input, "id", id);
	billing__buf_add_i64(&input, "amount", amount);
	if ((rc = billing__idem_init_buf(&idem, opts, BILLING_OP_PAYMENTS_REFUND, &input)) < 0)
		return rc;
	if ((rc = refund_begin_retry(&a, ctx, who, id, amount, &idem)) < 0)
		return rc;
	memset(&res, 0, sizeof(res));
	res.status = BILLING_PAYMENT_SUCCEEDED;
	if (!idem.replay && billing__attempt_run(ctx, &a, &res) < 0)
		billing__log(ctx, BILLING_LOG_WARN, "refund %s: the answer is left to the billing "
			"run: %s", a.refund_id, billing_error_last()->message);
	if ((rc = billing__payment_read(out, ctx, who->tenant_id, id)) < 0)
		return rc;
	if (res.status == BILLING_PAYMENT_FAILED) {
		rc = billing__error_set(BILLING_EDECLINED, "declined", "the refund failed: %s",
			res.failure_message[0] ? res.failure_message : res.failure_code);
		billing__error_provider_code(res.failure_code);
		return rc;
	}
	if (res.status == BILLING_PAYMENT_UNKNOWN)
		return billing__error_set(BILLING_EUNKNOWN_OUTCOME, "unknown_outcome",
			"the provider's answer was lost; the billing run asks again");
	billing_error_clear();
	return BILLING_OK;
}

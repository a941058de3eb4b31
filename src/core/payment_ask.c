/*
 * Asking the provider about a payment attempt, and recording its answer
 * (payment_attempt.c writes the attempts and holds the calls that start them).
 *
 * The provider is never called inside a transaction: the attempt was written
 * (pending) and committed first, with a lease in the due-work queue. The
 * question carries the attempt's id as its idempotency key; the answer is
 * checked (amount, currency, our metadata), then recorded in a second
 * transaction, once: an answer the payment has moved past changes nothing.
 * A provider that refuses the merchant's own request (a revoked key, a
 * disabled account) pauses the tenant's collection instead of failing the
 * customer's payment.
 */
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "core/events.h"
#include "core/invoice_internal.h"
#include "core/payment_internal.h"
#include "core/provider_account.h"
#include "core/subscription_internal.h"

int billing__provider_can_find(const billing_provider *pv)
{
	return pv && pv->version >= 2 && pv->find != NULL;
}

/*
 * Issue #18 item 3: the provider's direct answer about a charge is checked
 * as a webhook is (payment_events.c): our metadata, the amount and the
 * currency must be those asked for. An answer that does not match is not
 * believed: the attempt stays unknown (code answer_mismatch, event
 * payment.answer_mismatch, a warning) and is asked again later; a person
 * looks at it. Returns 1 when res was turned into that, else 0.
 */
static int answer_mismatch(billing_ctx *ctx, const billing__attempt *a,
	billing_provider_result *res)
{
	char what[160];

	if (a->what == BILLING__ATTEMPT_REFUND || res->status == BILLING_PAYMENT_UNKNOWN)
		return 0;
	if (res->payment_id[0] && strcmp(res->payment_id, a->payment_id) != 0)
		snprintf(what, sizeof(what), "it is the provider's payment for %s",
			res->payment_id);
	else if (res->tenant_id[0] && strcmp(res->tenant_id, a->tenant_id) != 0)
		snprintf(what, sizeof(what), "it is another tenant's payment");
	else if (res->amount != a->amount &&
		 (res->amount != 0 || res->status == BILLING_PAYMENT_SUCCEEDED))
		snprintf(what, sizeof(what), "amount %lld, asked %lld", (long long)res->amount,
			(long long)a->amount);
	else if (res->currency[0] ? strcmp(res->currency, a->currency) != 0 :
		 res->status == BILLING_PAYMENT_SUCCEEDED)
		snprintf(what, sizeof(what), "currency %s, asked %s",
			res->currency[0] ? res->currency : "(none)", a->currency);
	else
		return 0;
	billing__log(ctx, BILLING_LOG_WARN, "payment %s: the provider answered %s for another "
		"payment than asked (%s); not recorded, the payment needs review", a->payment_id,
		billing_payment_status_name(res->status), what);
	if (res->payment_id[0] && strcmp(res->payment_id, a->payment_id) != 0)
		res->ref[0] = '\0';            /* not ours: do not keep its id */
	res->status = BILLING_PAYMENT_UNKNOWN;
	snprintf(res->failure_code, sizeof(res->failure_code), "answer_mismatch");
	snprintf(res->failure_message, sizeof(res->failure_message),
		"the provider's answer does not match the payment (%s)", what);
	return 1;
}

bool billing__payment_config_paused(const billing_payment *p)
{
	return p->status == BILLING_PAYMENT_PENDING && !p->provider_ref && p->failure_code &&
		*p->failure_code;
}

static bool config_error(const billing_provider_result *res)
{
	return res->status == BILLING_PAYMENT_FAILED &&
		res->failure_class == BILLING_PROVIDER_FAILURE_CONFIG;
}

/*
 * Issue #18 item 2: the provider refused the merchant's request (a revoked
 * key, a missing permission...), not the customer's card. The attempt was
 * never made there: it stays pending, with the provider's code, and is
 * asked again (same key) when the tenant's probe is due; the invoice, the
 * subscription and dunning are not touched; the tenant's collection pauses.
 */
static int config_paused(billing_ctx *ctx, billing_txn *tx, const billing__attempt *a,
	const billing_provider_result *res, int64_t now)
{
	char code[BILLING_PROVIDER_CODE_MAX], message[BILLING_PROVIDER_MESSAGE_MAX];
	billing_payment *p = NULL;
	int64_t next = 0;
	int rc;

	if ((rc = billing__payment_load(&p, ctx, tx, a->tenant_id, a->payment_id)) < 0)
		return rc;
	if (!billing__payment_in_flight(p->status)) {
		/* settled meanwhile (a webhook): the refusal changes nothing */
		billing_payment_free(p);
		return BILLING_OK;
	}
	if ((rc = billing__provider_health_failed(ctx, tx, a->tenant_id, res, now, &next)) < 0)
		goto out;
	if (p->status == BILLING_PAYMENT_PENDING && !p->provider_ref) {
		snprintf(code, sizeof(code), "%s", res->failure_code[0] ? res->failure_code :
			"provider_error");
		snprintf(message, sizeof(message), "%s", res->failure_message);
		p->failure_code = code;
		p->failure_message = message;
		if ((rc = billing__payment_save(ctx, tx, p, NULL)) < 0)
			goto out;
	}
	rc = billing__payment_due(ctx, tx, a->tenant_id, BILLING__DUE_PAYMENT, a->payment_id, next);
out:
	billing_payment_free(p);
	return rc;
}

/* Records res for the attempt; an answer the payment has moved past (a
 * webhook came first) changes nothing. answered: res is the provider's
 * (not an error of ours before asking). */
static int apply_once(billing_ctx *ctx, const billing__attempt *a,
	const billing_provider_result *res, int mismatch, int answered)
{
	billing_payment *p = NULL;
	billing_txn *tx;
	int64_t now = billing__now(ctx);
	int rc;

	if ((rc = billing__begin(&tx, ctx, a->tenant_id, BILLING_TXN_WRITE)) < 0)
		return rc;
	if (answered && config_error(res)) {
		rc = a->what == BILLING__ATTEMPT_REFUND ?
			billing__refund_apply(ctx, tx, a, res, now) :
			config_paused(ctx, tx, a, res, now);
		if (rc == BILLING_OK && a->what == BILLING__ATTEMPT_REFUND)
			rc = billing__provider_health_failed(ctx, tx, a->tenant_id, res, now,
				&(int64_t){ 0 });
		return billing__end(ctx, tx, rc);
	}
	if (answered && res->status != BILLING_PAYMENT_UNKNOWN &&
	    (rc = billing__provider_health_answered(ctx, tx, a->tenant_id, now)) < 0)
		return billing__end(ctx, tx, rc);
	if (a->what == BILLING__ATTEMPT_REFUND) {
		rc = billing__refund_apply(ctx, tx, a, res, now);
	} else if ((rc = billing__payment_load(&p, ctx, tx, a->tenant_id,
		a->payment_id)) == BILLING_OK) {
		rc = billing__payment_move(ctx, tx, p, res, now);
		if (rc == BILLING_OK && mismatch) {
			/* as saved: payment_move's strings live in its own frame */
			billing_payment_free(p);
			p = NULL;
			if ((rc = billing__payment_load(&p, ctx, tx, a->tenant_id,
				a->payment_id)) == BILLING_OK)
				rc = billing__event_emit(ctx, tx, a->tenant_id,
					"payment.answer_mismatch", "payment", p->id,
					billing__json_payment, p);
		}
		if (rc == BILLING_ECONFLICT && p) {
			billing__log(ctx, BILLING_LOG_INFO, "payment %s is %s already; the answer %s "
				"changes nothing", p->id, billing_payment_status_name(p->status),
				billing_payment_status_name(res->status));
			rc = BILLING_OK;
			billing_error_clear();
		}
	}
	billing_payment_free(p);
	return billing__end(ctx, tx, rc);
}

static int apply(billing_ctx *ctx, const billing__attempt *a, const billing_provider_result *res,
	int mismatch, int answered)
{
	BILLING__RETRY(apply_once(ctx, a, res, mismatch, answered));
}

static void charge_request(billing_provider_charge *req, const billing__attempt *a)
{
	req->tenant_id = a->tenant_id;
	req->payment_id = a->payment_id;
	req->invoice_id = a->invoice_id;
	req->customer_id = a->customer_id;
	req->customer_ref = a->customer_ref[0] ? a->customer_ref : NULL;
	req->payment_method = a->payment_method;
	req->amount = a->amount;
	req->currency = a->currency;
	req->idempotency_key = a->key;
	req->off_session = a->off_session;
	req->description = a->description[0] ? a->description : NULL;
}

static int attempt_run(billing_ctx *ctx, billing_provider *pv, const billing__attempt *a,
	billing_provider_result *res_out)
{
	billing_provider_result res;
	int64_t now = billing__now(ctx);
	int rc, mismatch, answered = 1;

	memset(&res, 0, sizeof(res));
	if (a->what == BILLING__ATTEMPT_NONE)
		return BILLING_OK;
	billing__log(ctx, BILLING_LOG_DEBUG, "%s: asking the provider (%s)", a->what ==
		BILLING__ATTEMPT_REFUND ? a->refund_id : a->payment_id,
		a->what == BILLING__ATTEMPT_CHARGE ? "charge" :
		a->what == BILLING__ATTEMPT_RETRIEVE ? "retrieve" :
		a->what == BILLING__ATTEMPT_FIND ? "find" :
		a->what == BILLING__ATTEMPT_CANCEL ? "cancel" : "refund");
	if (a->what == BILLING__ATTEMPT_REFUND) {
		billing_provider_refund req;
		req.tenant_id = a->tenant_id;
		req.payment_id = a->payment_id;
		req.refund_id = a->refund_id;
		req.payment_ref = a->ref;
		req.amount = a->amount;
		req.currency = a->currency;
		req.idempotency_key = a->key;
		rc = pv->refund(pv, &req, now, &res);
	} else if (a->what == BILLING__ATTEMPT_RETRIEVE) {
		rc = pv->retrieve(pv, a->ref, now, &res);
		if (rc < 0) {
			/* Asking moved nothing: the lease brings the question back. */
			billing__log(ctx, BILLING_LOG_WARN, "payment %s: the provider could not be "
				"asked: %s", a->payment_id, billing_error_last()->message);
			return rc;
		}
	} else if (a->what == BILLING__ATTEMPT_CANCEL) {
		rc = pv->cancel(pv, a->ref, a->key, now, &res);
		if (rc < 0) {
			/* Nothing is known to have changed: the attempt stays as it is. */
			billing__log(ctx, BILLING_LOG_WARN, "payment %s: the provider could not be "
				"asked to cancel it: %s", a->payment_id, billing_error_last()->message);
			return rc;
		}
		if (a->expire)
			billing__payment_action_expired_result(&res);
	} else if (a->what == BILLING__ATTEMPT_FIND) {
		billing_provider_charge req;
		charge_request(&req, a);
		rc = pv->find(pv, &req, now, &res);
		if (rc == BILLING_ENOTFOUND) {
			/* Past the safe window and nowhere at the provider: it was
			 * never made. A failure, so that dunning goes on. */
			memset(&res, 0, sizeof(res));
			res.status = BILLING_PAYMENT_FAILED;
			snprintf(res.failure_code, sizeof(res.failure_code), "not_at_provider");
			snprintf(res.failure_message, sizeof(res.failure_message), "the answer "
				"was lost and the provider holds no payment for this attempt: it "
				"was never made");
			rc = BILLING_OK;
		} else if (rc < 0) {
			billing__log(ctx, BILLING_LOG_WARN, "payment %s: the provider could not be "
				"searched: %s", a->payment_id, billing_error_last()->message);
			return rc;
		}
	} else {
		billing_provider_charge req;
		charge_request(&req, a);
		rc = pv->charge(pv, &req, now, &res);
	}
	if (rc < 0) {
		/* Certainly not made: a failure of this attempt. */
		const billing_error *e = billing_error_last();
		answered = 0;
		memset(&res, 0, sizeof(res));
		res.status = BILLING_PAYMENT_FAILED;
		snprintf(res.failure_code, sizeof(res.failure_code), "%s",
			e->reason ? e->reason : "provider_error");
		snprintf(res.failure_message, sizeof(res.failure_message), "%s", e->message);
	}
	if (pv->version < 3)
		res.failure_class = BILLING_PROVIDER_FAILURE_UNSPECIFIED;  /* not its to say */
	if (answered)
		billing__provider_count(ctx, &res);
	mismatch = answer_mismatch(ctx, a, &res);
	if (res_out)
		*res_out = res;
	billing__log(ctx, BILLING_LOG_DEBUG, "%s: the provider says %s",
		a->what == BILLING__ATTEMPT_REFUND ? a->refund_id : a->payment_id,
		billing_payment_status_name(res.status));
	if (res.status == BILLING_PAYMENT_FAILED && !config_error(&res))
		billing__log(ctx, BILLING_LOG_INFO, "%s %s failed: %s",
			a->what == BILLING__ATTEMPT_REFUND ? "refund" : "payment",
			a->what == BILLING__ATTEMPT_REFUND ? a->refund_id : a->payment_id,
			res.failure_code);
	return apply(ctx, a, &res, mismatch, answered);
}

/* The call goes to the tenant's own provider account when it has one
 * (core/provider_account.h); when that cannot be used, nothing is asked
 * and the attempt stays as it is (the lease brings it back). */
int billing__attempt_run(billing_ctx *ctx, const billing__attempt *a,
	billing_provider_result *res_out)
{
	billing_provider *pv, *owned;
	int rc;

	if (a->what == BILLING__ATTEMPT_NONE)
		return BILLING_OK;
	if ((rc = billing__provider_for(ctx, a->tenant_id, &pv, &owned)) < 0)
		return rc;
	rc = attempt_run(ctx, pv, a, res_out);
	billing__provider_release(owned);
	return rc;
}

void billing__collect_now(billing_ctx *ctx, const char *tenant_id, const char *invoice_id)
{
	billing__attempt a = { 0 };
	billing_txn *tx;
	int rc;

	if (!ctx->provider || !invoice_id)
		return;
	if (billing__begin(&tx, ctx, tenant_id, BILLING_TXN_WRITE) < 0)
		return;
	/* The collection work first, as the run takes it (txn.h); a run that
	 * holds it is collecting the invoice: nothing is left to do here. */
	rc = billing__due_lock(ctx->st, tx, tenant_id, BILLING__DUE_COLLECT, invoice_id, 1);
	if (rc == BILLING_ENOTFOUND) {
		(void)billing__end(ctx, tx, BILLING_OK);
		return;
	}
	if (rc == BILLING_OK)
		rc = billing__collect_begin(ctx, tx, tenant_id, invoice_id, billing__now(ctx), &a);
	if (billing__end(ctx, tx, rc) < 0) {
		/* The due work stays: the billing run collects it. */
		billing__log(ctx, BILLING_LOG_WARN, "invoice %s: collection left to the billing "
			"run: %s", invoice_id, billing_error_last()->message);
		return;
	}
	if (billing__attempt_run(ctx, &a, NULL) < 0)
		billing__log(ctx, BILLING_LOG_WARN, "invoice %s: the payment's outcome is left to "
			"the billing run: %s", invoice_id, billing_error_last()->message);
}

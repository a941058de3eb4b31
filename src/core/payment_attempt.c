/*
 * Payment attempts: charging an invoice, by hand (billing_invoice_pay) or as
 * the billing run's due work (collection, resolving an attempt whose answer
 * is pending or lost), and asking the provider.
 *
 * The provider is never called inside a transaction. An attempt is written
 * (pending) and committed first, with a lease in the due-work queue; the
 * provider is asked; the answer is recorded in a second transaction. Every
 * question that can move money carries the attempt's (or the refund's) id
 * as its idempotency key, so asking again after a crash or a lost answer
 * returns the first outcome instead of moving money twice.
 */
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "core/events.h"
#include "core/invoice_internal.h"
#include "core/payment_internal.h"
#include "core/provider_account.h"
#include "core/subscription_internal.h"

/* ------------------------------------------------------------ attempts */

static int in_flight_row(void *payload, const void *record)
{
	const billing_payment_record *r = record;
	billing__in_flight *f = payload;
	if (billing__payment_in_flight(r->status)) {
		f->count++;
		f->status = r->status;
		snprintf(f->id, sizeof(f->id), "%s", r->id);
	}
	return BILLING_OK;
}

int billing__invoice_in_flight(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *invoice_id, billing__in_flight *f)
{
	billing_list_query q;
	memset(&q, 0, sizeof(q));
	memset(f, 0, sizeof(*f));
	q.offset = -1;
	q.limit = 1000;
	q.invoice_id = invoice_id;
	return billing__list_records(ctx->st, tx, &billing__res_payment, tenant_id, &q, in_flight_row, f);
}

int billing__invoice_payments_settled(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *invoice_id)
{
	billing__in_flight f;
	int rc;
	if ((rc = billing__invoice_in_flight(ctx, tx, tenant_id, invoice_id, &f)) < 0)
		return rc;
	if (f.count)
		return billing__error_set(BILLING_ECONFLICT, "payment_in_progress",
			"a payment of the invoice is in progress");
	return ctx->st->due_clear(tx, tenant_id, BILLING__DUE_COLLECT, invoice_id);
}

struct customer_pm {
	char method[256];
	char ref[256];
};

static int customer_pm_row(void *payload, const void *record)
{
	const billing_customer_record *r = record;
	struct customer_pm *c = payload;
	billing__metadata m;
	const char *ref;

	snprintf(c->method, sizeof(c->method), "%s",
		r->default_payment_method ? r->default_payment_method : "");
	if (billing__metadata_decode(&m, r->metadata_json) < 0)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	ref = billing__metadata_get(&m, "provider_customer_id");
	snprintf(c->ref, sizeof(c->ref), "%s", ref ? ref : "");
	billing__metadata_free(&m);
	return BILLING_OK;
}

int billing__collection_plan(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *customer_id, const char *subscription_id, const char *invoice_id, int64_t now,
	int64_t *next_attempt_at)
{
	struct customer_pm c;
	int rc, status = 0;

	*next_attempt_at = 0;
	if (!ctx->provider)
		return BILLING_OK;
	/* An unpaid subscription's invoices wait to be paid by hand; so does
	 * the first invoice of one created incomplete (default_incomplete). */
	if (subscription_id && ((rc = billing__subscription_status_in(ctx, tx, tenant_id,
		subscription_id, &status)) < 0 || status == BILLING_SUB_UNPAID ||
		status == BILLING_SUB_INCOMPLETE))
		return rc;
	if ((rc = billing__read(ctx->st, tx, &billing__res_customer, tenant_id, customer_id, BILLING_LOCK_NONE,
		customer_pm_row, &c)) < 0)
		return rc;
	if (!c.method[0])
		return BILLING_OK;
	*next_attempt_at = now;
	return billing__payment_due(ctx, tx, tenant_id, BILLING__DUE_COLLECT, invoice_id, now);
}

/* What a charge of p asks, into a. */
void billing__attempt_fill(billing__attempt *a, billing__attempt_what what,
	const billing_payment *p, const char *customer_ref, const char *number)
{
	memset(a, 0, sizeof(*a));
	a->what = what;
	snprintf(a->tenant_id, sizeof(a->tenant_id), "%s", p->tenant_id);
	snprintf(a->payment_id, sizeof(a->payment_id), "%s", p->id);
	snprintf(a->invoice_id, sizeof(a->invoice_id), "%s", p->invoice_id);
	snprintf(a->customer_id, sizeof(a->customer_id), "%s", p->customer_id);
	snprintf(a->currency, sizeof(a->currency), "%s", p->currency);
	snprintf(a->payment_method, sizeof(a->payment_method), "%s",
		p->payment_method ? p->payment_method : "");
	snprintf(a->customer_ref, sizeof(a->customer_ref), "%s", customer_ref ? customer_ref : "");
	snprintf(a->ref, sizeof(a->ref), "%s", p->provider_ref ? p->provider_ref : "");
	/* The key is the attempt's id: every try of this attempt sends it. */
	snprintf(a->key, sizeof(a->key), "%s", p->id);
	if (number)
		snprintf(a->description, sizeof(a->description), "Invoice %s", number);
	a->amount = p->amount;
	a->off_session = p->off_session;
}

/*
 * Writes a new attempt for the invoice. Automatic (manual == false): only
 * when the invoice's next attempt is due, else a->what stays NONE. By hand:
 * every reason not to is an error.
 */
static int charge_begin(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *invoice_id, const billing_pay_params *manual, int64_t now, billing__attempt *a)
{
	billing_invoice *inv = NULL;
	billing_payment_record r;
	billing_payment *p = NULL;
	struct customer_pm c;
	billing__in_flight f;
	char id[BILLING_ID_MAX];
	const char *method;
	int rc;

	memset(a, 0, sizeof(*a));
	if ((rc = billing__invoice_load(&inv, ctx, tx, tenant_id, invoice_id)) < 0)
		return rc;
	/* An uncollectible invoice may still be paid by hand (Stripe's rule). */
	if (inv->status != BILLING_INVOICE_PENDING && inv->status != BILLING_INVOICE_FAILED &&
	    !(manual && inv->status == BILLING_INVOICE_UNCOLLECTIBLE)) {
		if (manual)
			rc = billing__error_set(BILLING_ECONFLICT, "invalid_transition",
				"the invoice is %s: only pending, failed or uncollectible invoices "
				"are paid",
				billing_invoice_status_name(inv->status));
		else
			rc = ctx->st->due_clear(tx, tenant_id, BILLING__DUE_COLLECT, invoice_id);
		goto out;
	}
	if (!manual && (inv->next_attempt_at == 0 || inv->next_attempt_at > now)) {
		/* Not due (paid by hand meanwhile, or rescheduled): keep the
		 * queue true to the invoice. */
		rc = inv->next_attempt_at ? billing__payment_due(ctx, tx, tenant_id,
			BILLING__DUE_COLLECT, invoice_id, inv->next_attempt_at) :
			ctx->st->due_clear(tx, tenant_id, BILLING__DUE_COLLECT, invoice_id);
		goto out;
	}
	if (manual) {
		if (manual->amount && manual->amount != inv->amount_due) {
			rc = billing__error_field(BILLING_EINVALID, "amount_mismatch", "amount",
				"the amount due is %lld", (long long)inv->amount_due);
			goto out;
		}
		if (manual->currency && strcmp(manual->currency, inv->currency) != 0) {
			rc = billing__error_field(BILLING_EINVALID, "currency_mismatch", "currency",
				"the invoice is in %s", inv->currency);
			goto out;
		}
	}
	if (inv->amount_due <= 0) {
		rc = manual ? billing__error_set(BILLING_ECONFLICT, "nothing_due",
			"the invoice has nothing to pay") : BILLING_OK;
		goto out;
	}
	if ((rc = billing__invoice_in_flight(ctx, tx, tenant_id, invoice_id, &f)) < 0)
		goto out;
	if (f.count) {
		/* The attempt in flight settles it; its resolution is due work.
		 * By hand, one that awaits the customer's action is superseded:
		 * the caller cancels it at the provider and begins again. */
		if (manual && f.count == 1 && f.status == BILLING_PAYMENT_REQUIRES_ACTION &&
		    billing__provider_can_cancel(ctx->provider))
			snprintf(a->supersede, sizeof(a->supersede), "%s", f.id);
		rc = manual ? billing__error_set(BILLING_ECONFLICT, "payment_in_progress",
			"a payment of the invoice is in progress") :
			ctx->st->due_clear(tx, tenant_id, BILLING__DUE_COLLECT, invoice_id);
		goto out;
	}
	if ((rc = billing__read(ctx->st, tx, &billing__res_customer, tenant_id, inv->customer_id,
		BILLING_LOCK_NONE, customer_pm_row, &c)) < 0)
		goto out;
	method = manual && manual->payment_method ? manual->payment_method : c.method;
	if (!*method) {
		if (manual) {
			rc = billing__error_field(BILLING_EINVALID, "required", "paymentMethod",
				"the customer has no default payment method; give one");
		} else {
			/* The method was removed since: the invoice waits to be paid by hand. */
			inv->next_attempt_at = 0;
			if ((rc = ctx->st->due_clear(tx, tenant_id, BILLING__DUE_COLLECT, invoice_id)) == 0)
				rc = billing__invoice_save(ctx, tx, inv, NULL);
		}
		goto out;
	}

	if (billing__id_new(id, "pay", now * 1000) < 0) {
		rc = billing__error_set(BILLING_ERROR, NULL, "cannot make an id");
		goto out;
	}
	memset(&r, 0, sizeof(r));
	r.tenant_id = tenant_id;
	r.id = id;
	r.invoice_id = invoice_id;
	r.customer_id = inv->customer_id;
	r.status = BILLING_PAYMENT_PENDING;
	r.amount = inv->amount_due;
	r.currency = inv->currency;
	r.provider = ctx->provider->name;
	r.payment_method = method;
	r.off_session = manual ? 0 : 1;
	r.created_at = r.updated_at = now;
	r.version = 1;
	if ((rc = ctx->st->record_insert(tx, &billing__res_payment, &r)) < 0) {
		if (rc == BILLING_EEXISTS)   /* the in-flight index: a race lost */
			rc = billing__error_set(BILLING_ECONFLICT, "payment_in_progress",
				"a payment of the invoice is in progress");
		goto out;
	}
	inv->attempt_count++;
	if (!manual) {
		/* This attempt is the one that was due. */
		inv->next_attempt_at = 0;
		if ((rc = ctx->st->due_clear(tx, tenant_id, BILLING__DUE_COLLECT, invoice_id)) < 0)
			goto out;
	}
	if ((rc = billing__invoice_save(ctx, tx, inv, NULL)) < 0 ||
	    (rc = billing__payment_due(ctx, tx, tenant_id, BILLING__DUE_PAYMENT, id,
		now + BILLING__PAYMENT_LEASE)) < 0)
		goto out;
	if ((p = billing__payment_from_record(&r)) == NULL) {
		rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
		goto out;
	}
	if ((rc = billing__event_emit(ctx, tx, tenant_id, "payment.created", "payment", id,
		billing__json_payment, p)) < 0)
		goto out;
	billing__attempt_fill(a, BILLING__ATTEMPT_CHARGE, p, c.ref, inv->number);
out:
	billing_payment_free(p);
	billing_invoice_free(inv);
	return rc;
}

int billing__collect_begin(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *invoice_id, int64_t now, billing__attempt *a)
{
	int64_t defer = 0;
	int rc;

	memset(a, 0, sizeof(*a));
	if (ctx->provider) {
		/* A tenant whose provider refused us (provider_health.c) waits
		 * for its probe: the invoice keeps its place in the queue. */
		if ((rc = billing__provider_health_gate(ctx, tx, tenant_id, now, &defer)) < 0)
			return rc;
		if (defer)
			return billing__payment_due(ctx, tx, tenant_id, BILLING__DUE_COLLECT,
				invoice_id, defer);
	}
	if (!ctx->provider) {
		/* Collection needs a provider: leave the work for a context
		 * that has one, a while from now. */
		billing__log(ctx, BILLING_LOG_WARN, "invoice %s is due for collection but no "
			"payment provider is configured", invoice_id);
		return billing__payment_due(ctx, tx, tenant_id, BILLING__DUE_COLLECT, invoice_id,
			now + 3600);
	}
	return charge_begin(ctx, tx, tenant_id, invoice_id, NULL, now, a);
}

static int number_row(void *payload, const void *record)
{
	const billing_invoice_record *r = record;
	snprintf(payload, 64, "%s", r->number ? r->number : "");
	return BILLING_OK;
}

int billing__payment_resolve_begin(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *payment_id, int64_t now, billing__attempt *a)
{
	billing_payment *p = NULL;
	struct customer_pm c;
	char number[64] = "";
	int rc;

	memset(a, 0, sizeof(*a));
	rc = billing__payment_load(&p, ctx, tx, tenant_id, payment_id);
	if (rc == BILLING_ENOTFOUND)
		return ctx->st->due_clear(tx, tenant_id, BILLING__DUE_PAYMENT, payment_id);
	if (rc < 0)
		return rc;
	if (!billing__payment_in_flight(p->status)) {
		rc = ctx->st->due_clear(tx, tenant_id, BILLING__DUE_PAYMENT, payment_id);
	} else if (!ctx->provider || strcmp(ctx->provider->name, p->provider) != 0) {
		billing__log(ctx, BILLING_LOG_WARN, "payment %s needs provider %s to be resolved",
			p->id, p->provider);
		rc = billing__payment_due(ctx, tx, tenant_id, BILLING__DUE_PAYMENT, payment_id, now + 3600);
	} else if ((rc = ctx->st->record_read(tx, &billing__res_customer, tenant_id, p->customer_id, BILLING_LOCK_UPDATE, customer_pm_row,
		&c)) == BILLING_OK &&
	    (rc = ctx->st->record_read(tx, &billing__res_invoice, tenant_id, p->invoice_id, BILLING_LOCK_UPDATE, number_row,
		number)) == BILLING_OK &&
	    (rc = billing__payment_due(ctx, tx, tenant_id, BILLING__DUE_PAYMENT, payment_id,
		now + BILLING__PAYMENT_LEASE)) == 0) {
		/* Never answered: ask the same question again, word for word
		 * (same key and parameters: the provider answers with the first
		 * outcome; other parameters under the same key are refused),
		 * while the provider still knows the key; after the safe window
		 * look it up instead (a key the provider forgot would charge
		 * again). Answered pending or needing action: ask for its state. */
		billing__attempt_what what = BILLING__ATTEMPT_RETRIEVE;
		int expire = 0, expired = 0;
		int64_t defer = 0;
		if (p->status != BILLING_PAYMENT_UNKNOWN && p->provider_ref &&
		    (expired = billing__payment_action_expired(ctx, tx, p, now)) < 0) {
			billing_payment_free(p);
			return expired;
		}
		if (p->status == BILLING_PAYMENT_UNKNOWN || !p->provider_ref)
			what = now - p->created_at < BILLING__PAYMENT_SAFE_WINDOW ?
				BILLING__ATTEMPT_CHARGE : BILLING__ATTEMPT_FIND;
		else if (expired)
			/* Waited too long for the customer: cancel it at the
			 * provider, and it fails (authentication_expired). */
			what = BILLING__ATTEMPT_CANCEL, expire = 1;
		if (billing__payment_config_paused(p)) {
			/* Every try so far was refused before the provider made
			 * anything (a refusal stores no key at Stripe): asking
			 * with the key again is safe however old the attempt is,
			 * once the tenant's probe is due. */
			what = BILLING__ATTEMPT_CHARGE;
			if ((rc = billing__provider_health_gate(ctx, tx, tenant_id, now,
				&defer)) == BILLING_OK && defer)
				rc = billing__payment_due(ctx, tx, tenant_id, BILLING__DUE_PAYMENT,
					payment_id, defer);
			if (rc < 0 || defer) {
				billing_payment_free(p);
				return rc;
			}
		}
		if (what == BILLING__ATTEMPT_FIND && !billing__provider_can_find(ctx->provider)) {
			/* Nothing safe to ask: a webhook or a person settles it. */
			billing__log(ctx, BILLING_LOG_WARN, "payment %s: the answer was lost more "
				"than 20 hours ago and provider %s cannot look it up; it stays "
				"unknown until a webhook or a person settles it", p->id, p->provider);
			rc = billing__payment_due(ctx, tx, tenant_id, BILLING__DUE_PAYMENT,
				payment_id, billing__payment_ask_again_at(p->created_at, now));
		} else {
			billing__attempt_fill(a, what, p, c.ref, number[0] ? number : NULL);
			if (what == BILLING__ATTEMPT_CANCEL)
				billing__attempt_cancel_key(a);
			a->expire = expire;
		}
	}
	billing_payment_free(p);
	return rc;
}

/* ------------------------------------------------------------ asking */

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

/* ------------------------------------------------------------ calls */

/* The code a finished attempt answers with, and its error. */
static int outcome_code(const billing_payment *p)
{
	if (billing__payment_config_paused(p)) {
		int rc = billing__error_set(BILLING_ECONFLICT, "provider_unhealthy",
			"the payment provider refused the merchant's request (%s): a configuration "
			"error; the attempt is tried again when the provider accepts requests",
			p->failure_code);
		billing__error_provider_code(p->failure_code);
		return rc;
	}
	if (p->status == BILLING_PAYMENT_FAILED) {
		int rc = billing__error_set(BILLING_EDECLINED, "declined", "the payment failed: %s",
			p->failure_message && *p->failure_message ? p->failure_message :
			(p->failure_code ? p->failure_code : "declined"));
		billing__error_provider_code(p->failure_code);
		return rc;
	}
	if (p->status == BILLING_PAYMENT_UNKNOWN)
		return billing__error_set(BILLING_EUNKNOWN_OUTCOME, "unknown_outcome",
			"the provider's answer was lost; the billing run asks again");
	billing_error_clear();
	return BILLING_OK;
}

static int pay_begin_once(billing__attempt *a, billing_ctx *ctx, const billing_principal *who,
	const char *invoice_id, const billing_pay_params *p, billing__idem *idem)
{
	billing_txn *tx;
	int rc;

	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_WRITE)) < 0)
		return rc;
	if ((rc = billing__idem_check(ctx, tx, who->tenant_id, idem)) == BILLING_OK &&
	    !idem->replay &&
	    (rc = charge_begin(ctx, tx, who->tenant_id, invoice_id, p, billing__now(ctx),
		a)) == BILLING_OK)
		rc = billing__idem_record(ctx, tx, who->tenant_id, idem, a->payment_id);
	return billing__end(ctx, tx, rc);
}

static int pay_begin(billing__attempt *a, billing_ctx *ctx, const billing_principal *who,
	const char *invoice_id, const billing_pay_params *p, billing__idem *idem)
{
	BILLING__RETRY(pay_begin_once(a, ctx, who, invoice_id, p, idem));
}

int billing_invoice_pay(billing_payment **out, billing_ctx *ctx,
	const billing_principal *who, const char *invoice_id, const billing_pay_params *params,
	const billing_call_options *opts)
{
	billing_pay_params none = BILLING_PAY_PARAMS_INIT;
	const billing_pay_params *p = params ? params : &none;
	billing__buf input = { 0 };
	billing__idem idem;
	billing__attempt a = { 0 };
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_INVOICES_PAY)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	*out = NULL;
	if (p->version == 0 || p->version > BILLING_PAY_PARAMS_VERSION)
		return billing__error_field(BILLING_EINVALID, "invalid_version", "version",
			"unknown billing_pay_params version %u", p->version);
	if (!billing__id_arg_ok(invoice_id, "in"))
		return billing__not_found("invoice");
	if (p->payment_method && (!*p->payment_method || strlen(p->payment_method) > 255))
		return billing__error_field(BILLING_EINVALID, "invalid", "paymentMethod",
			"1-255 characters");
	if (p->amount < 0)
		return billing__error_field(BILLING_EINVALID, "invalid", "amount", "must be > 0");
	if (!ctx->provider)
		return billing__payment_no_provider();
	billing__buf_add(&input, "id", invoice_id);
	billing__buf_add(&input, "paymentMethod", p->payment_method);
	billing__buf_add_i64(&input, "amount", p->amount);
	billing__buf_add(&input, "currency", p->currency);
	if ((rc = billing__idem_init_buf(&idem, opts, BILLING_OP_INVOICES_PAY, &input)) < 0)
		return rc;
	if ((rc = pay_begin(&a, ctx, who, invoice_id, p, &idem)) < 0) {
		char old[BILLING_ID_MAX];
		if (rc != BILLING_ECONFLICT || !a.supersede[0])
			return rc;
		/* The attempt in flight awaits the customer's action: this one
		 * supersedes it. Canceled at the provider first, then begun
		 * again; if it succeeded meanwhile, that is recorded and the
		 * invoice is paid: nothing new is made. */
		snprintf(old, sizeof(old), "%s", a.supersede);
		billing__log(ctx, BILLING_LOG_INFO, "invoice %s: a new attempt supersedes payment "
			"%s, which awaits the customer's action", invoice_id, old);
		if ((rc = billing__payment_cancel_run(ctx, who->tenant_id, old, NULL)) < 0 ||
		    (rc = pay_begin(&a, ctx, who, invoice_id, p, &idem)) < 0)
			return rc;
	}
	if (idem.replay) {
		/* The first call's attempt, as it is now. */
		if ((rc = billing__payment_read(out, ctx, who->tenant_id, idem.resource_id)) < 0)
			return rc;
		return outcome_code(*out);
	}
	/* The attempt is committed: from here on an error to record the answer
	 * leaves it to the billing run, and the caller sees it as it stands. */
	if (billing__attempt_run(ctx, &a, NULL) < 0)
		billing__log(ctx, BILLING_LOG_WARN, "payment %s: the answer is left to the billing "
			"run: %s", a.payment_id, billing_error_last()->message);
	if ((rc = billing__payment_read(out, ctx, who->tenant_id, a.payment_id)) < 0)
		return rc;
	return outcome_code(*out);
}

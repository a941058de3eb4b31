/*
 * Payment attempts: charging an invoice, by hand (billing_invoice_pay) or as
 * the billing run's due work (collection, resolving an attempt whose answer
 * is pending or lost). Asking the provider and recording its answer is
 * payment_ask.c.
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

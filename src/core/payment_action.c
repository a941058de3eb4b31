/*
 * Payments that await the customer's action (3-D Secure, issue #18 item
 * 4): when such an attempt expires, and canceling it at the provider - by
 * hand (billing_payment_cancel), by a newer attempt with another payment
 * method (billing_invoice_pay supersedes it, payment_attempt.c), by a void
 * (billing__invoice_cancel_action), or by the billing run when it expired.
 *
 * Never two live payments at the provider for one invoice: the new attempt
 * is made only after the old one is recorded canceled. When the provider
 * says it succeeded just before (the customer authenticated meanwhile),
 * that success is recorded instead and nothing new is made.
 */
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "core/invoice_internal.h"
#include "core/payment_internal.h"

/* ------------------------------------------------------------ expiry */

int billing__provider_can_cancel(const billing_provider *pv)
{
	return pv && pv->version >= 3 && pv->cancel != NULL;
}

/* The tenant's own time (its collection settings, dunning.c), else the
 * host's (billing_ctx_options), else 23 hours. */
int billing__payment_action_expiry(int64_t *out, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id)
{
	int rc = billing__dunning_action_expiry(out, ctx, tx, tenant_id);
	if (rc == BILLING_OK && *out <= 0)
		*out = ctx->payment_action_expiry > 0 ? ctx->payment_action_expiry :
			BILLING__PAYMENT_ACTION_EXPIRY;
	return rc;
}

int billing__payment_action_expired(billing_ctx *ctx, billing_txn *tx, const billing_payment *p,
	int64_t now)
{
	int64_t expiry = 0;
	int rc;

	if (p->status != BILLING_PAYMENT_REQUIRES_ACTION ||
	    !billing__provider_can_cancel(ctx->provider))
		return 0;
	if ((rc = billing__payment_action_expiry(&expiry, ctx, tx, p->tenant_id)) < 0)
		return rc;
	return now - p->created_at >= expiry;
}

/* Expired and canceled at the provider: a failure, so that dunning goes on
 * as for a decline. */
void billing__payment_action_expired_result(billing_provider_result *res)
{
	if (res->status != BILLING_PAYMENT_CANCELED)
		return;
	res->status = BILLING_PAYMENT_FAILED;
	snprintf(res->failure_code, sizeof(res->failure_code), "authentication_expired");
	snprintf(res->failure_message, sizeof(res->failure_message), "the customer did not "
		"complete the authentication in time; canceled at the provider");
}

/* ------------------------------------------------------------ the invoice's next action */

int billing__invoice_action_load(billing_ctx *ctx, billing_txn *tx, billing_invoice *inv)
{
	billing__in_flight f;
	int rc;

	billing_payment_free(inv->action);
	inv->action = NULL;
	/* Only an open invoice that was attempted can have one: no query for
	 * the others. */
	if ((inv->status != BILLING_INVOICE_PENDING && inv->status != BILLING_INVOICE_FAILED) ||
	    inv->attempt_count == 0)
		return BILLING_OK;
	if ((rc = billing__invoice_in_flight(ctx, tx, inv->tenant_id, inv->id, &f)) < 0)
		return rc;
	if (f.count != 1 || f.status != BILLING_PAYMENT_REQUIRES_ACTION)
		return BILLING_OK;
	return billing__payment_load(&inv->action, ctx, tx, inv->tenant_id, f.id);
}

/* ------------------------------------------------------------ canceling */

/* A cancellation's own idempotency key: the attempt's id, marked. */
void billing__attempt_cancel_key(billing__attempt *a)
{
	char key[sizeof(a->key)];
	snprintf(key, sizeof(key), "%s", a->payment_id);
	(void)snprintf(a->key, sizeof(a->key), "%.40s-cancel", key);
}

/* Inside the transaction: what canceling payment_id asks, into a. */
static int cancel_begin(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *payment_id, billing__attempt *a)
{
	billing_payment *p = NULL;
	int rc;

	memset(a, 0, sizeof(*a));
	if ((rc = billing__payment_load(&p, ctx, tx, tenant_id, payment_id)) < 0)
		return rc;
	if (p->status == BILLING_PAYMENT_CANCELED) {
		rc = BILLING_OK;               /* done already: nothing to ask */
	} else if (p->status != BILLING_PAYMENT_REQUIRES_ACTION || !p->provider_ref) {
		rc = billing__error_set(BILLING_ECONFLICT, "invalid_transition", "the payment is "
			"%s: only a payment awaiting the customer's action can be canceled",
			billing_payment_status_name(p->status));
	} else if (!ctx->provider || strcmp(ctx->provider->name, p->provider) != 0 ||
		   !billing__provider_can_cancel(ctx->provider)) {
		rc = billing__error_set(BILLING_ECONFLICT, "cancel_unsupported",
			"provider %s cannot cancel payments here", p->provider);
	} else {
		billing__attempt_fill(a, BILLING__ATTEMPT_CANCEL, p, NULL, NULL);
		billing__attempt_cancel_key(a);
	}
	billing_payment_free(p);
	return rc;
}

static int cancel_begin_once(billing__attempt *a, billing_ctx *ctx, const char *tenant_id,
	const char *payment_id, billing__idem *idem)
{
	billing_txn *tx;
	int rc;

	if ((rc = billing__begin(&tx, ctx, tenant_id, BILLING_TXN_WRITE)) < 0)
		return rc;
	/* A replay asks again what is still to ask: canceling is idempotent,
	 * and a first call whose provider could not be asked canceled nothing. */
	if ((!idem || (rc = billing__idem_check(ctx, tx, tenant_id, idem)) == BILLING_OK) &&
	    (rc = cancel_begin(ctx, tx, tenant_id, payment_id, a)) == BILLING_OK &&
	    idem && !idem->replay)
		rc = billing__idem_record(ctx, tx, tenant_id, idem, payment_id);
	return billing__end(ctx, tx, rc);
}

static int cancel_begin_retry(billing__attempt *a, billing_ctx *ctx, const char *tenant_id,
	const char *payment_id, billing__idem *idem)
{
	BILLING__RETRY(cancel_begin_once(a, ctx, tenant_id, payment_id, idem));
}

/* Cancels payment_id at the provider and records the outcome. */
int billing__payment_cancel_run(billing_ctx *ctx, const char *tenant_id, const char *payment_id,
	billing__idem *idem)
{
	billing__attempt a = { 0 };
	int rc;

	if ((rc = cancel_begin_retry(&a, ctx, tenant_id, payment_id, idem)) < 0)
		return rc;
	return billing__attempt_run(ctx, &a, NULL);
}

int billing__invoice_cancel_action(billing_ctx *ctx, const char *tenant_id,
	const char *invoice_id)
{
	billing__in_flight f;
	billing_txn *tx;
	int rc;

	if (!billing__provider_can_cancel(ctx->provider))
		return 0;
	if ((rc = billing__begin(&tx, ctx, tenant_id, BILLING_TXN_READ)) < 0)
		return rc;
	rc = billing__invoice_in_flight(ctx, tx, tenant_id, invoice_id, &f);
	if ((rc = billing__end(ctx, tx, rc)) < 0)
		return rc;
	if (f.count != 1 || f.status != BILLING_PAYMENT_REQUIRES_ACTION)
		return 0;
	billing__log(ctx, BILLING_LOG_INFO, "invoice %s: canceling payment %s, which awaits the "
		"customer's action, first", invoice_id, f.id);
	if ((rc = billing__payment_cancel_run(ctx, tenant_id, f.id, NULL)) < 0)
		return rc;
	return 1;
}

int billing_payment_cancel(billing_payment **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_call_options *opts)
{
	billing__buf input = { 0 };
	billing__idem idem;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_PAYMENTS_CANCEL)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	*out = NULL;
	if (!billing__id_arg_ok(id, "pay"))
		return billing__not_found("payment");
	if (!ctx->provider)
		return billing__payment_no_provider();
	billing__buf_add(&input, "id", id);
	if ((rc = billing__idem_init_buf(&idem, opts, BILLING_OP_PAYMENTS_CANCEL, &input)) < 0 ||
	    (rc = billing__payment_cancel_run(ctx, who->tenant_id, id, &idem)) < 0 ||
	    (rc = billing__payment_read(out, ctx, who->tenant_id, id)) < 0)
		return rc;
	if ((*out)->status != BILLING_PAYMENT_CANCELED) {
		/* It moved on at the provider first (succeeded): recorded. */
		rc = billing__error_set(BILLING_ECONFLICT, "invalid_transition", "the payment "
			"is %s at the provider: it could not be canceled",
			billing_payment_status_name((*out)->status));
		billing_payment_free(*out);
		*out = NULL;
		return rc;
	}
	billing_error_clear();
	return BILLING_OK;
}

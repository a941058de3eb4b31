/*
 * Inbound provider events: billing_provider_webhook_handle verifies and
 * parses a provider's webhook, deduplicates it by event id and applies it
 * to the payment it names (a late answer, a refund made at the provider, a
 * dispute), in one transaction.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "core/dispute.h"
#include "core/events.h"
#include "core/payment_internal.h"
#include "core/provider_account.h"

/* ------------------------------------------------------------ webhooks */

static int payment_for_event(billing_payment **out, billing_ctx *ctx, billing_txn *tx,
	const billing_provider_event *ev)
{
	billing__capture cap = { billing__payment_from_record, NULL };
	int rc;

	*out = NULL;
	if (ev->payment_id[0]) {
		if (!billing__id_arg_ok(ev->payment_id, "pay"))
			return billing__not_found("payment");
		rc = billing__payment_load(out, ctx, tx, ev->tenant_id, ev->payment_id);
	} else if (ev->ref[0]) {
		const billing_filter by_ref[] = {
			{ billing_resource_field(&billing__res_payment, "provider"), BILLING_FILTER_EQ,
			  ctx->provider->name, 0, NULL },
			{ billing_resource_field(&billing__res_payment, "provider_ref"), BILLING_FILTER_EQ,
			  ev->ref, 0, NULL },
		};
		rc = billing__find(ctx->st, tx, &billing__res_payment, ev->tenant_id, by_ref, 2,
			BILLING_LOCK_UPDATE, billing__capture_row, &cap);
		*out = cap.item;
		if (rc == BILLING_OK && !*out)
			rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
	} else {
		rc = BILLING_ENOTFOUND;
	}
	if (rc == BILLING_ENOTFOUND)
		return billing__not_found("payment");
	return rc;
}

/* The event must be about this payment as we asked for it. */
static int event_matches(const billing_payment *p, const billing_provider_event *ev)
{
	if (ev->invoice_id[0] && strcmp(ev->invoice_id, p->invoice_id) != 0)
		return billing__error_set(BILLING_EINVALID, "invoice_mismatch",
			"the event names another invoice than its payment's");
	if (ev->ref[0] && p->provider_ref && strcmp(ev->ref, p->provider_ref) != 0)
		return billing__error_set(BILLING_EINVALID, "payment_mismatch",
			"the event names another provider payment than ours");
	if (ev->type == BILLING_PROVIDER_EVENT_DISPUTE_CREATED ||
	    ev->type == BILLING_PROVIDER_EVENT_DISPUTE_UPDATED ||
	    ev->type == BILLING_PROVIDER_EVENT_DISPUTE_CLOSED)
		return BILLING_OK;      /* a dispute's amount may be part of the payment's */
	if (ev->amount != p->amount)
		return billing__error_set(BILLING_EINVALID, "amount_mismatch",
			"the event's amount %lld is not the payment's %lld", (long long)ev->amount,
			(long long)p->amount);
	if (ev->currency[0] && strcmp(ev->currency, p->currency) != 0)
		return billing__error_set(BILLING_EINVALID, "currency_mismatch",
			"the event's currency %s is not the payment's %s", ev->currency, p->currency);
	return BILLING_OK;
}

/* A refund made at the provider (its dashboard): what it says was
 * refunded beyond what we know of. */
static int external_refund(billing_ctx *ctx, billing_txn *tx, billing_payment *p,
	const billing_provider_event *ev, int *applied)
{
	int64_t known = p->amount_refunded + p->amount_refunding;
	if (ev->amount_refunded <= known || ev->amount_refunded > p->amount ||
	    (p->status != BILLING_PAYMENT_SUCCEEDED &&
	     p->status != BILLING_PAYMENT_PARTIALLY_REFUNDED))
		return BILLING_OK;
	p->amount_refunded = ev->amount_refunded - p->amount_refunding;
	p->status = ev->amount_refunded == p->amount ? BILLING_PAYMENT_REFUNDED :
		BILLING_PAYMENT_PARTIALLY_REFUNDED;
	*applied = 1;
	return billing__payment_save(ctx, tx, p, "payment.refunded");
}

static int webhook_apply(billing_ctx *ctx, billing_txn *tx, const billing_provider_event *ev,
	billing_webhook_result *result)
{
	billing_provider_result res;
	billing_payment *p = NULL;
	int64_t now = billing__now(ctx);
	int applied = 0, rc;

	rc = ctx->st->provider_event_insert(tx, ev->tenant_id, ctx->provider->name, ev->id,
		ev->type_name, now);
	if (rc == BILLING_EEXISTS) {
		result->outcome = BILLING_WEBHOOK_DUPLICATE;
		return BILLING_OK;
	}
	if (rc < 0 || (rc = payment_for_event(&p, ctx, tx, ev)) < 0 ||
	    (rc = event_matches(p, ev)) < 0)
		goto out;
	snprintf(result->payment_id, sizeof(result->payment_id), "%s", p->id);
	memset(&res, 0, sizeof(res));
	snprintf(res.ref, sizeof(res.ref), "%s", ev->ref);
	switch (ev->type) {
	case BILLING_PROVIDER_EVENT_PAYMENT_SUCCEEDED:
		res.status = BILLING_PAYMENT_SUCCEEDED;
		break;
	case BILLING_PROVIDER_EVENT_PAYMENT_FAILED:
	case BILLING_PROVIDER_EVENT_PAYMENT_CANCELED:
		res.status = BILLING_PAYMENT_FAILED;
		snprintf(res.failure_code, sizeof(res.failure_code), "%s", ev->failure_code[0] ?
			ev->failure_code : (ev->type == BILLING_PROVIDER_EVENT_PAYMENT_CANCELED ?
			"canceled" : "failed"));
		snprintf(res.failure_message, sizeof(res.failure_message), "%s",
			ev->failure_message);
		break;
	case BILLING_PROVIDER_EVENT_PAYMENT_PROCESSING:
		res.status = BILLING_PAYMENT_PENDING;
		break;
	case BILLING_PROVIDER_EVENT_PAYMENT_REQUIRES_ACTION:
		res.status = BILLING_PAYMENT_REQUIRES_ACTION;
		break;
	case BILLING_PROVIDER_EVENT_CHARGE_REFUNDED:
		rc = external_refund(ctx, tx, p, ev, &applied);
		goto out;
	case BILLING_PROVIDER_EVENT_DISPUTE_CREATED:
	case BILLING_PROVIDER_EVENT_DISPUTE_UPDATED:
	case BILLING_PROVIDER_EVENT_DISPUTE_CLOSED:
		rc = billing__dispute_apply(ctx, tx, p, ev, &applied);   /* dispute.c */
		goto out;
	default:
		goto out;
	}
	if (p->status == res.status) {
		rc = BILLING_OK;                 /* already known: nothing to do */
		goto out;
	}
	rc = billing__payment_move(ctx, tx, p, &res, now);
	if (rc == BILLING_ECONFLICT) {
		/* Older than what we know (out of order): acknowledged, ignored. */
		billing_error_clear();
		rc = BILLING_OK;
	} else if (rc == BILLING_OK) {
		applied = 1;
	}
out:
	if (rc == BILLING_OK)
		result->outcome = applied ? BILLING_WEBHOOK_APPLIED : BILLING_WEBHOOK_IGNORED;
	billing_payment_free(p);
	return rc;
}

static int webhook_once(billing_ctx *ctx, const billing_provider_event *ev,
	bool tenant_route, billing_webhook_result *result)
{
	billing_txn *tx;
	int rc;
	if ((rc = billing__begin(&tx, ctx, ev->tenant_id, BILLING_TXN_WRITE)) < 0)
		return rc;
	/* The tenant's provider account decides where its events may come
	 * from (provider_account.c) before anything is applied. */
	rc = billing__provider_account_matches(ctx, tx, ev->tenant_id, ev->account, tenant_route);
	if (rc == BILLING_OK)
		rc = webhook_apply(ctx, tx, ev, result);
	if (result->outcome == BILLING_WEBHOOK_DUPLICATE) {
		ctx->st->rollback(tx);
		return BILLING_OK;
	}
	return billing__end(ctx, tx, rc);
}

/*
 * A charge.* event (a refund, a dispute) carries the Charge's or the
 * Dispute's own metadata, not the PaymentIntent's where ours is: a real
 * Stripe dispute's metadata is empty. Such an event names the PaymentIntent
 * (ev->ref); asking the provider for it gives our tenant and payment ids,
 * and the event is routed as if it carried them (every check after that
 * is the same). The provider not answering is an error, so that the
 * provider delivers the event again later; a PaymentIntent without our
 * metadata is not ours and the event stays unrouted (ignored).
 */
static int route_by_payment(billing_ctx *ctx, billing_provider *pv, billing_provider_event *ev)
{
	billing_provider_result res;
	int rc;

	if (!ev->ref[0] || (ev->type != BILLING_PROVIDER_EVENT_CHARGE_REFUNDED &&
	    ev->type != BILLING_PROVIDER_EVENT_DISPUTE_CREATED &&
	    ev->type != BILLING_PROVIDER_EVENT_DISPUTE_UPDATED &&
	    ev->type != BILLING_PROVIDER_EVENT_DISPUTE_CLOSED))
		return BILLING_OK;
	memset(&res, 0, sizeof(res));
	rc = pv->retrieve(pv, ev->ref, billing__now(ctx), &res);
	if (rc == BILLING_ENOTFOUND) {
		billing_error_clear();
		return BILLING_OK;
	}
	if (rc < 0) {
		billing__log(ctx, BILLING_LOG_WARN, "provider event %s (%s): its payment %s could "
			"not be looked up to find its tenant: %s", ev->id, ev->type_name, ev->ref,
			billing_error_last()->message);
		return rc;
	}
	if (res.ref[0] && strcmp(res.ref, ev->ref) != 0)
		return BILLING_OK;    /* an answer about another payment: not believed */
	snprintf(ev->tenant_id, sizeof(ev->tenant_id), "%s", res.tenant_id);
	if (!ev->payment_id[0])
		snprintf(ev->payment_id, sizeof(ev->payment_id), "%s", res.payment_id);
	return BILLING_OK;
}

/* Verifies with pv and applies; route_tenant: the tenant the request's
 * route names (NULL: the server-wide route). */
static int webhook_handle(billing_ctx *ctx, billing_provider *pv, const char *route_tenant,
	const billing_header *headers, size_t nheaders, const char *body, size_t len,
	billing_webhook_result *result)
{
	billing_provider_event ev;
	int rc, n = 0;

	memset(&ev, 0, sizeof(ev));
	if ((rc = pv->webhook_parse(pv, headers, nheaders, body ? body : "",
		len, billing__now(ctx), &ev)) < 0)
		return rc;
	if (route_tenant && ev.tenant_id[0] && strcmp(ev.tenant_id, route_tenant) != 0)
		return billing__error_set(BILLING_EINVALID, "tenant_mismatch",
			"the event names another tenant than the route's");
	if (route_tenant && !ev.tenant_id[0])
		/* Verified with this tenant's secret: about nothing but its own. */
		snprintf(ev.tenant_id, sizeof(ev.tenant_id), "%s", route_tenant);
	snprintf(result->event_id, sizeof(result->event_id), "%s", ev.id);
	snprintf(result->tenant_id, sizeof(result->tenant_id), "%s", ev.tenant_id);
	if (ev.type == BILLING_PROVIDER_EVENT_IGNORED) {
		result->outcome = BILLING_WEBHOOK_IGNORED;
		return BILLING_OK;
	}
	if (!ev.tenant_id[0] && (rc = route_by_payment(ctx, pv, &ev)) < 0)
		return rc;
	snprintf(result->tenant_id, sizeof(result->tenant_id), "%s", ev.tenant_id);
	if (!ev.tenant_id[0] || !billing__id_arg_ok(ev.tenant_id, "ten")) {
		/* Not one of ours (no metadata): nothing to apply it to. */
		billing__log(ctx, BILLING_LOG_INFO, "provider event %s (%s) names no tenant: ignored",
			ev.id, ev.type_name);
		result->outcome = BILLING_WEBHOOK_IGNORED;
		return BILLING_OK;
	}
	do
		rc = webhook_once(ctx, &ev, route_tenant != NULL, result);
	while (billing__retryable(rc) && ++n < BILLING__RETRIES);
	return rc;
}

int billing_provider_webhook_handle(billing_ctx *ctx, const billing_header *headers,
	size_t nheaders, const char *body, size_t len, billing_webhook_result *result)
{
	billing_error_clear();
	billing__scope_clear();       /* acts for the provider, not for a principal */
	BILLING__ASSERT_ARG(ctx, "ctx");
	BILLING__ASSERT_ARG(result, "result");
	BILLING__ASSERT_ARG(body || len == 0, "body");
	memset(result, 0, sizeof(*result));
	if (!ctx->provider)
		return billing__payment_no_provider();
	return webhook_handle(ctx, ctx->provider, NULL, headers, nheaders, body, len, result);
}

int billing_provider_webhook_handle_tenant(billing_ctx *ctx, const char *tenant_id,
	const billing_header *headers, size_t nheaders, const char *body, size_t len,
	billing_webhook_result *result)
{
	billing_provider *pv, *owned = NULL;
	int rc;

	billing_error_clear();
	billing__scope_clear();
	BILLING__ASSERT_ARG(ctx, "ctx");
	BILLING__ASSERT_ARG(result, "result");
	BILLING__ASSERT_ARG(body || len == 0, "body");
	memset(result, 0, sizeof(*result));
	if (!ctx->provider)
		return billing__payment_no_provider();
	if (!billing__id_arg_ok(tenant_id, "ten"))
		return billing__not_found("tenant");
	if ((rc = billing__provider_for(ctx, tenant_id, &pv, &owned)) < 0)
		return rc;
	rc = webhook_handle(ctx, pv, tenant_id, headers, nheaders, body, len, result);
	billing__provider_release(owned);
	return rc;
}

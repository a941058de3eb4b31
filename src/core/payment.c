/*
 * Payments: the payment record (an attempt to collect an invoice through the
 * context's provider), its state machine, what the provider's answer means
 * for the payment and its invoice, and the reads (get, list, getters).
 *
 * The other parts of payments: payment_attempt.c charges invoices,
 * payment_ask.c asks the provider and records its answer, payment_action.c expires and cancels attempts awaiting the
 * customer's action, payment_refund.c refunds, payment_events.c applies inbound
 * provider webhooks, dunning.c holds the retry policy. What they share is in
 * payment_internal.h.
 */
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "core/entity.h"
#include "core/events.h"
#include "core/invoice_internal.h"
#include "core/payment_internal.h"
#include "core/resources.h"
#include "core/subscription_internal.h"

/* ------------------------------------------------------------ state table */

static const billing_payment_transition transitions[] = {
	{ BILLING_PAYMENT_PENDING, BILLING_PAYMENT_SUCCEEDED, "the provider captured it" },
	{ BILLING_PAYMENT_PENDING, BILLING_PAYMENT_FAILED, "declined or refused" },
	{ BILLING_PAYMENT_PENDING, BILLING_PAYMENT_REQUIRES_ACTION, "the customer must authenticate" },
	{ BILLING_PAYMENT_PENDING, BILLING_PAYMENT_UNKNOWN, "the answer was lost" },
	{ BILLING_PAYMENT_REQUIRES_ACTION, BILLING_PAYMENT_SUCCEEDED, "authenticated and captured" },
	{ BILLING_PAYMENT_REQUIRES_ACTION, BILLING_PAYMENT_FAILED, "authentication failed" },
	{ BILLING_PAYMENT_REQUIRES_ACTION, BILLING_PAYMENT_PENDING, "authenticated, processing" },
	{ BILLING_PAYMENT_REQUIRES_ACTION, BILLING_PAYMENT_CANCELED,
		"canceled at the provider: by hand, superseded by another attempt, or the invoice voided" },
	{ BILLING_PAYMENT_UNKNOWN, BILLING_PAYMENT_SUCCEEDED, "asked again: captured" },
	{ BILLING_PAYMENT_UNKNOWN, BILLING_PAYMENT_FAILED, "asked again: declined" },
	{ BILLING_PAYMENT_UNKNOWN, BILLING_PAYMENT_PENDING, "asked again: processing" },
	{ BILLING_PAYMENT_UNKNOWN, BILLING_PAYMENT_REQUIRES_ACTION, "asked again: needs action" },
	{ BILLING_PAYMENT_FAILED, BILLING_PAYMENT_SUCCEEDED, "confirmed again and captured" },
	{ BILLING_PAYMENT_SUCCEEDED, BILLING_PAYMENT_PARTIALLY_REFUNDED, "partly refunded" },
	{ BILLING_PAYMENT_SUCCEEDED, BILLING_PAYMENT_REFUNDED, "refunded" },
	{ BILLING_PAYMENT_PARTIALLY_REFUNDED, BILLING_PAYMENT_PARTIALLY_REFUNDED, "refunded more" },
	{ BILLING_PAYMENT_PARTIALLY_REFUNDED, BILLING_PAYMENT_REFUNDED, "refunded the rest" },
};

const billing_payment_transition *billing_payment_transitions(size_t *count)
{
	if (count)
		*count = sizeof(transitions) / sizeof(transitions[0]);
	return transitions;
}

const char *billing_payment_status_name(billing_payment_status s)
{
	switch (s) {
	case BILLING_PAYMENT_PENDING: return "pending";
	case BILLING_PAYMENT_REQUIRES_ACTION: return "requires_action";
	case BILLING_PAYMENT_SUCCEEDED: return "succeeded";
	case BILLING_PAYMENT_FAILED: return "failed";
	case BILLING_PAYMENT_REFUNDED: return "refunded";
	case BILLING_PAYMENT_PARTIALLY_REFUNDED: return "partially_refunded";
	case BILLING_PAYMENT_UNKNOWN: return "unknown";
	case BILLING_PAYMENT_CANCELED: return "canceled";
	default: return NULL;
	}
}

static bool allowed(billing_payment_status from, billing_payment_status to)
{
	size_t i;
	for (i = 0; i < sizeof(transitions) / sizeof(transitions[0]); i++)
		if (transitions[i].from == from && transitions[i].to == to)
			return true;
	return false;
}

bool billing__payment_in_flight(int status)
{
	/* The set storage's payments_in_flight index enforces (core/resources.c). */
	return billing__status_in(&billing__payment_in_flight_set, status);
}

/* ------------------------------------------------------------ objects */

void billing_payment_free(billing_payment *p)
{
	billing__free(p);
}

static void free_item(void *item)
{
	billing_payment_free(item);
}

void *billing__payment_from_record(const void *record)
{
	const billing_payment_record *r = record;
	billing_payment *p;
	billing__strpack sp;
	size_t strings = billing__strsize(r->tenant_id) + billing__strsize(r->id) +
		billing__strsize(r->invoice_id) + billing__strsize(r->customer_id) +
		billing__strsize(r->currency) + billing__strsize(r->provider) +
		billing__strsize(r->provider_ref) + billing__strsize(r->payment_method) +
		billing__strsize(r->failure_code) + billing__strsize(r->failure_message) +
		billing__strsize(r->next_action_type) + billing__strsize(r->next_action_url) +
		billing__strsize(r->client_secret);

	if ((p = billing__calloc(1, sizeof(*p) + strings)) == NULL)
		return NULL;
	sp.next = (char *)(p + 1);
	p->tenant_id = billing__strpack_put(&sp, r->tenant_id);
	p->id = billing__strpack_put(&sp, r->id);
	p->invoice_id = billing__strpack_put(&sp, r->invoice_id);
	p->customer_id = billing__strpack_put(&sp, r->customer_id);
	p->currency = billing__strpack_put(&sp, r->currency);
	p->provider = billing__strpack_put(&sp, r->provider);
	p->provider_ref = billing__strpack_put(&sp, r->provider_ref);
	p->payment_method = billing__strpack_put(&sp, r->payment_method);
	p->failure_code = billing__strpack_put(&sp, r->failure_code);
	p->failure_message = billing__strpack_put(&sp, r->failure_message);
	p->next_action_type = billing__strpack_put(&sp, r->next_action_type);
	p->next_action_url = billing__strpack_put(&sp, r->next_action_url);
	p->client_secret = billing__strpack_put(&sp, r->client_secret);
	p->status = (billing_payment_status)r->status;
	p->amount = r->amount;
	p->amount_refunded = r->amount_refunded;
	p->amount_refunding = r->amount_refunding;
	p->off_session = r->off_session;
	p->created_at = r->created_at;
	p->updated_at = r->updated_at;
	p->version = r->version;
	return p;
}

static void record_of(billing_payment_record *r, const billing_payment *p)
{
	memset(r, 0, sizeof(*r));
	r->tenant_id = p->tenant_id;
	r->id = p->id;
	r->invoice_id = p->invoice_id;
	r->customer_id = p->customer_id;
	r->status = p->status;
	r->amount = p->amount;
	r->currency = p->currency;
	r->amount_refunded = p->amount_refunded;
	r->amount_refunding = p->amount_refunding;
	r->provider = p->provider;
	r->provider_ref = p->provider_ref;
	r->payment_method = p->payment_method;
	r->off_session = p->off_session;
	r->failure_code = p->failure_code;
	r->failure_message = p->failure_message;
	r->next_action_type = p->next_action_type;
	r->next_action_url = p->next_action_url;
	r->client_secret = p->client_secret;
	r->created_at = p->created_at;
	r->updated_at = p->updated_at;
	r->version = p->version;
}

static int64_t version_of(const void *item)
{
	return ((const billing_payment *)item)->version;
}

static int st_get(billing_storage *st, billing_txn *tx, const char *tenant_id, const char *id,
	billing_row_cb cb, void *payload)
{
	return st->record_read(tx, &billing__res_payment, tenant_id, id, BILLING_LOCK_UPDATE, cb, payload);
}

static int st_list(billing_storage *st, billing_txn *tx, const char *tenant_id,
	const billing_list_query *q, billing_row_cb cb, void *payload)
{
	return billing__list_records(st, tx, &billing__res_payment, tenant_id, q, cb, payload);
}

/* Payments are written by their own steps here, never by the shared flows. */
static const billing__entity entity = {
	"payment", billing__payment_from_record, free_item, version_of, NULL,
	st_get, NULL, NULL, NULL, st_list,
	NULL, NULL, NULL, NULL
};

int billing__payment_no_provider(void)
{
	return billing__error_set(BILLING_ECONFLICT, "no_provider",
		"no payment provider is configured");
}

/* Writes p's new state (version + 1) and, when event is not NULL, its event. */
int billing__payment_save(billing_ctx *ctx, billing_txn *tx, billing_payment *p, const char *event)
{
	billing_payment_record r;
	int64_t old_version = p->version;
	int rc;

	p->updated_at = billing__now(ctx);
	p->version++;
	record_of(&r, p);
	if ((rc = ctx->st->record_update(tx, &billing__res_payment, &r, old_version)) < 0 || !event)
		return rc;
	return billing__event_emit(ctx, tx, p->tenant_id, event, "payment", p->id,
		billing__json_payment, p);
}

/* Replaces one of p's strings (they live in p's block: a new copy is kept
 * in buf, which outlives p's use). */
static void set_str(char **field, char *buf, size_t size, const char *value)
{
	if (!value || !*value) {
		*field = NULL;
		return;
	}
	snprintf(buf, size, "%s", value);
	*field = buf;
}

int billing__payment_load(billing_payment **out, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const char *id)
{
	return billing__entity_get_in((void **)out, &entity, ctx, tx, tenant_id, id);
}

/* Due work of kind for id at when. */
int billing__payment_due(billing_ctx *ctx, billing_txn *tx, const char *tenant_id, const char *kind,
	const char *id, int64_t when)
{
	billing_due_record d;
	d.tenant_id = tenant_id;
	d.kind = kind;
	d.resource_id = id;
	d.due_at = when;
	return ctx->st->due_set(tx, &d);
}

/* When to ask again about something unsettled since created: soon at
 * first, then less often (1 min .. 6 h, half the age). */
int64_t billing__payment_ask_again_at(int64_t created, int64_t now)
{
	int64_t age = now - created, wait = age / 2;
	if (wait < 60)
		wait = 60;
	if (wait > 6 * 3600)
		wait = 6 * 3600;
	return now + wait;
}

/* ------------------------------------------------------------ outcomes */

/* What a payment's new status means for its invoice and subscription. */
static int invoice_effects(billing_ctx *ctx, billing_txn *tx, const billing_payment *p,
	int64_t now)
{
	billing_invoice *inv = NULL;
	int rc;

	if ((rc = billing__invoice_load(&inv, ctx, tx, p->tenant_id, p->invoice_id)) < 0)
		return rc;
	switch (p->status) {
	case BILLING_PAYMENT_SUCCEEDED:
		if (inv->status != BILLING_INVOICE_PENDING && inv->status != BILLING_INVOICE_FAILED &&
		    inv->status != BILLING_INVOICE_UNCOLLECTIBLE) {
			/* Paid twice (an old attempt captured after another), or
			 * after a void: recorded and said, never hidden. */
			billing__log(ctx, BILLING_LOG_WARN, "invoice %s: payment %s captured while %s",
				inv->id, p->id, billing_invoice_status_name(inv->status));
			rc = billing__event_emit(ctx, tx, inv->tenant_id, "invoice.overpaid", "invoice",
				inv->id, billing__json_invoice, inv);
			break;
		}
		inv->status = BILLING_INVOICE_PAID;
		if (__builtin_add_overflow(inv->amount_paid, p->amount, &inv->amount_paid)) {
			rc = billing__error_set(BILLING_EOVERFLOW, "overflow", "amount paid overflows");
			break;
		}
		inv->amount_due = billing__invoice_remaining(inv);
		inv->paid_at = now;
		inv->next_attempt_at = 0;
		if ((rc = ctx->st->due_clear(tx, inv->tenant_id, BILLING__DUE_COLLECT, inv->id)) < 0 ||
		    (rc = billing__invoice_save(ctx, tx, inv, "invoice.paid")) < 0)
			break;
		if (inv->subscription_id)
			rc = billing__subscription_payment(ctx, tx, inv->tenant_id, inv->subscription_id,
				BILLING__SUB_PAYMENT_RECOVERED, now, now);
		break;
	case BILLING_PAYMENT_FAILED:
		if (inv->status != BILLING_INVOICE_PENDING && inv->status != BILLING_INVOICE_FAILED)
			break;
		inv->status = BILLING_INVOICE_FAILED;
		/* Only automatic attempts walk the retry schedule; a failed
		 * attempt by hand leaves the schedule as it was. */
		if (p->off_session && inv->subscription_id) {
			int sub_status = 0;
			if ((rc = billing__subscription_payment(ctx, tx, inv->tenant_id,
				inv->subscription_id, BILLING__SUB_PAYMENT_FAILED, now, now)) < 0 ||
			    (rc = billing__subscription_status_in(ctx, tx, inv->tenant_id,
				inv->subscription_id, &sub_status)) < 0)
				break;
			/* No dunning for an incomplete subscription's first invoice:
			 * paid by hand in time, or the run expires the subscription. */
			if (sub_status == BILLING_SUB_INCOMPLETE) {
				inv->next_attempt_at = 0;
				rc = ctx->st->due_clear(tx, inv->tenant_id, BILLING__DUE_COLLECT, inv->id);
			} else {
				rc = billing__dunning_next(ctx, tx, inv, now);
			}
			if (rc < 0)
				break;
		}
		rc = billing__invoice_save(ctx, tx, inv, "invoice.payment_failed");
		break;
	case BILLING_PAYMENT_REQUIRES_ACTION:
		rc = billing__event_emit(ctx, tx, inv->tenant_id, "invoice.payment_action_required",
			"invoice", inv->id, billing__json_invoice, inv);
		break;
	default:
		break;
	}
	billing_invoice_free(inv);
	return rc;
}

/* A version 3 provider's result that says what the next action is. */
static bool next_action_said(const billing_provider_result *res)
{
	return res->next_action_type[0] || res->client_secret[0] || res->redirect_url[0];
}

/*
 * Moves p to what the provider said (status, its id, failure code), with
 * the event, the next due work and the effects on the invoice. The same
 * status again only fills in what was missing. BILLING_ECONFLICT
 * "invalid_transition" when the table does not allow it (an answer older
 * than what is known): nothing changes.
 */
int billing__payment_move(billing_ctx *ctx, billing_txn *tx, billing_payment *p,
	const billing_provider_result *res, int64_t now)
{
	char ref[BILLING_PROVIDER_REF_MAX], code[BILLING_PROVIDER_CODE_MAX];
	char message[BILLING_PROVIDER_MESSAGE_MAX], event[48];
	char action[sizeof(res->next_action_type)], secret[sizeof(res->client_secret)];
	char url[sizeof(res->redirect_url)];
	const char *name = billing_payment_status_name(res->status);
	int rc;

	if (!name || res->status == BILLING_PAYMENT_REFUNDED ||
	    res->status == BILLING_PAYMENT_PARTIALLY_REFUNDED)
		return billing__error_set(BILLING_ERROR, "provider",
			"the provider answered with an impossible status %d", (int)res->status);
	if (res->ref[0] && (!p->provider_ref || strcmp(p->provider_ref, res->ref) != 0))
		set_str(&p->provider_ref, ref, sizeof(ref), res->ref);
	/* What the customer must do, while it is to be done: the provider's
	 * latest word (a version 1 or 2 provider says nothing). Never logged. */
	if (res->status == BILLING_PAYMENT_REQUIRES_ACTION) {
		if (next_action_said(res)) {
			set_str(&p->next_action_type, action, sizeof(action), res->next_action_type);
			set_str(&p->client_secret, secret, sizeof(secret), res->client_secret);
			set_str(&p->next_action_url, url, sizeof(url), res->redirect_url);
		}
	} else {
		p->next_action_type = p->next_action_url = p->client_secret = NULL;
	}
	if (res->status == p->status) {
		if ((rc = billing__payment_save(ctx, tx, p, NULL)) < 0)
			return rc;
	} else {
		if (!allowed(p->status, res->status))
			return billing__error_set(BILLING_ECONFLICT, "invalid_transition",
				"a payment cannot go from %s to %s",
				billing_payment_status_name(p->status), name);
		p->status = res->status;
		if (res->status == BILLING_PAYMENT_FAILED ||
		    (res->status == BILLING_PAYMENT_UNKNOWN && res->failure_code[0])) {
			/* A failure's reason; an unknown outcome's too (timeout,
			 * answer_mismatch: what a person reviewing it needs). */
			set_str(&p->failure_code, code, sizeof(code),
				res->failure_code[0] ? res->failure_code : "failed");
			set_str(&p->failure_message, message, sizeof(message), res->failure_message);
		} else {
			p->failure_code = p->failure_message = NULL;
		}
		snprintf(event, sizeof(event), "payment.%s", name);
		if ((rc = billing__payment_save(ctx, tx, p, event)) < 0 ||
		    (rc = invoice_effects(ctx, tx, p, now)) < 0)
			return rc;
	}
	if (billing__payment_in_flight(p->status)) {
		int64_t when = billing__payment_ask_again_at(p->created_at, now), expiry = 0;
		/* Awaiting action: asked again no later than when it expires. */
		if (p->status == BILLING_PAYMENT_REQUIRES_ACTION &&
		    billing__provider_can_cancel(ctx->provider)) {
			if ((rc = billing__payment_action_expiry(&expiry, ctx, tx, p->tenant_id)) < 0)
				return rc;
			if (p->created_at + expiry < when)
				when = p->created_at + expiry > now ? p->created_at + expiry : now;
		}
		return billing__payment_due(ctx, tx, p->tenant_id, BILLING__DUE_PAYMENT, p->id,
			when);
	}
	return ctx->st->due_clear(tx, p->tenant_id, BILLING__DUE_PAYMENT, p->id);
}

/* ------------------------------------------------------------ calls */

int billing__payment_read(billing_payment **out, billing_ctx *ctx, const char *tenant_id,
	const char *id)
{
	billing_txn *tx;
	int rc;
	*out = NULL;
	if ((rc = billing__begin(&tx, ctx, tenant_id, BILLING_TXN_READ)) < 0)
		return rc;
	return billing__end(ctx, tx, billing__payment_load(out, ctx, tx, tenant_id, id));
}

int billing_payment_get(billing_payment **out, billing_ctx *ctx,
	const billing_principal *who, const char *id)
{
	int rc;
	if ((rc = billing__authorize(ctx, who, BILLING_OP_PAYMENTS_GET)) < 0)
		return rc;
	return billing__entity_get((void **)out, &entity, ctx, who, BILLING_OP_PAYMENTS_GET,
		"pay", id);
}

static void sort_key(const void *item, const char **text, int64_t *num, const char **id)
{
	const billing_payment *p = item;
	*text = NULL;
	*num = p->created_at;
	*id = p->id;
}

static const billing__sort_spec sorts[] = {
	{ "createdAt", BILLING_SORT_CREATED, false },
	{ NULL, 0, false }
};

int billing_payment_list(billing_page **out, billing_ctx *ctx,
	const billing_principal *who, const billing_payment_list_params *params)
{
	billing_payment_list_params none = BILLING_PAYMENT_LIST_PARAMS_INIT;
	const billing_payment_list_params *p = params ? params : &none;
	billing__filter_ids ids = { 0 };
	char filters[120];
	billing__list l;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_PAYMENTS_LIST)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	if (p->version == 0 || p->version > BILLING_PAYMENT_LIST_PARAMS_VERSION)
		return billing__error_field(BILLING_EINVALID, "invalid_version", "version",
			"unknown billing_payment_list_params version %u", p->version);
	if (p->status && !billing_payment_status_name(p->status))
		return billing__error_field(BILLING_EINVALID, "invalid", "status",
			"not a payment status");
	if (p->invoice_id && !billing__id_arg_ok(p->invoice_id, "in"))
		return billing__error_field(BILLING_EINVALID, "resource_missing", "invoiceId",
			"no such invoice in this tenant");
	snprintf(filters, sizeof(filters), "payments|i=%s|st=%d",
		p->invoice_id ? p->invoice_id : "-", (int)p->status);
	if ((rc = billing__list_begin(&l, ctx, who->tenant_id, &p->list, sorts, filters,
		BILLING__PAGE_PAYMENT, free_item)) < 0)
		return rc;
	l.from_record = billing__payment_from_record;
	l.sort_key = sort_key;
	l.q.invoice_id = p->invoice_id;
	l.q.status = (int)p->status;
	/* An invoice id of another tenant is resource_missing, as for the other
	 * lists' filters. */
	ids.tenant_id = who->tenant_id;
	ids.invoice_id = p->invoice_id;
	l.check = billing__check_filter_ids_cb;
	l.check_payload = &ids;
	return billing__entity_list(out, &entity, &l, ctx, who->tenant_id);
}

const billing_payment *billing_page_payment(const billing_page *page, size_t i)
{
	return billing__page_item(page, BILLING__PAGE_PAYMENT, i);
}

/* ------------------------------------------------------------ getters */

const char *billing_payment_id(const billing_payment *p) { return p ? p->id : NULL; }
const char *billing_payment_invoice_id(const billing_payment *p)
{
	return p ? p->invoice_id : NULL;
}
const char *billing_payment_customer_id(const billing_payment *p)
{
	return p ? p->customer_id : NULL;
}
billing_payment_status billing_payment_status_of(const billing_payment *p)
{
	return p ? p->status : (billing_payment_status)0;
}
int64_t billing_payment_amount(const billing_payment *p) { return p ? p->amount : 0; }
const char *billing_payment_currency(const billing_payment *p) { return p ? p->currency : NULL; }
int64_t billing_payment_refunded_amount(const billing_payment *p)
{
	return p ? p->amount_refunded : 0;
}
const char *billing_payment_provider(const billing_payment *p) { return p ? p->provider : NULL; }
const char *billing_payment_provider_ref(const billing_payment *p)
{
	return p ? p->provider_ref : NULL;
}
const char *billing_payment_method(const billing_payment *p)
{
	return p ? p->payment_method : NULL;
}
const char *billing_payment_failure_code(const billing_payment *p)
{
	return p ? p->failure_code : NULL;
}
const char *billing_payment_failure_message(const billing_payment *p)
{
	return p ? p->failure_message : NULL;
}
int64_t billing_payment_created_at(const billing_payment *p) { return p ? p->created_at : 0; }
int64_t billing_payment_updated_at(const billing_payment *p) { return p ? p->updated_at : 0; }
int64_t billing_payment_version(const billing_payment *p) { return p ? p->version : 0; }
const char *billing_payment_next_action_type(const billing_payment *p)
{
	return p ? p->next_action_type : NULL;
}
const char *billing_payment_next_action_url(const billing_payment *p)
{
	return p ? p->next_action_url : NULL;
}
const char *billing_payment_client_secret(const billing_payment *p)
{
	return p ? p->client_secret : NULL;
}

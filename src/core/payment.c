/*
 * Payments: attempts to collect invoices through the context's provider,
 * their state machine, refunds, dunning and inbound provider webhooks.
 *
 * The provider is never called inside a transaction. An attempt is written
 * (pending) and committed first, with a lease in the due-work queue; the
 * provider is asked; the answer is recorded in a second transaction. Every
 * question that can move money carries the attempt's (or the refund's) id
 * as its idempotency key, so asking again after a crash or a lost answer
 * returns the first outcome instead of moving money twice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "core/entity.h"
#include "core/events.h"
#include "core/invoice_internal.h"
#include "core/payment_internal.h"
#include "core/subscription_internal.h"

#define LEASE 300               /* seconds an attempt being asked is held */
#define DAY 86400

struct billing_payment {
	char *tenant_id;
	char *id;
	char *invoice_id;
	char *customer_id;
	char *currency;
	char *provider;
	char *provider_ref;
	char *payment_method;
	char *failure_code;
	char *failure_message;
	billing_payment_status status;
	int64_t amount, amount_refunded, amount_refunding;
	int off_session;
	int64_t created_at, updated_at, version;
};

/* ------------------------------------------------------------ state table */

static const billing_payment_transition transitions[] = {
	{ BILLING_PAYMENT_PENDING, BILLING_PAYMENT_SUCCEEDED, "the provider captured it" },
	{ BILLING_PAYMENT_PENDING, BILLING_PAYMENT_FAILED, "declined or refused" },
	{ BILLING_PAYMENT_PENDING, BILLING_PAYMENT_REQUIRES_ACTION, "the customer must authenticate" },
	{ BILLING_PAYMENT_PENDING, BILLING_PAYMENT_UNKNOWN, "the answer was lost" },
	{ BILLING_PAYMENT_REQUIRES_ACTION, BILLING_PAYMENT_SUCCEEDED, "authenticated and captured" },
	{ BILLING_PAYMENT_REQUIRES_ACTION, BILLING_PAYMENT_FAILED, "authentication failed" },
	{ BILLING_PAYMENT_REQUIRES_ACTION, BILLING_PAYMENT_PENDING, "authenticated, processing" },
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

static bool in_flight(int status)
{
	return status == BILLING_PAYMENT_PENDING || status == BILLING_PAYMENT_REQUIRES_ACTION ||
		status == BILLING_PAYMENT_UNKNOWN;
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

static void *from_record(const void *record)
{
	const billing_payment_record *r = record;
	billing_payment *p;
	billing__strpack sp;
	size_t strings = billing__strsize(r->tenant_id) + billing__strsize(r->id) +
		billing__strsize(r->invoice_id) + billing__strsize(r->customer_id) +
		billing__strsize(r->currency) + billing__strsize(r->provider) +
		billing__strsize(r->provider_ref) + billing__strsize(r->payment_method) +
		billing__strsize(r->failure_code) + billing__strsize(r->failure_message);

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
	return st->payment_get(tx, tenant_id, id, cb, payload);
}

static int st_list(billing_storage *st, billing_txn *tx, const char *tenant_id,
	const billing_list_query *q, billing_row_cb cb, void *payload)
{
	return st->payment_list(tx, tenant_id, q, cb, payload);
}

/* Payments are written by their own steps here, never by the shared flows. */
static const billing__entity entity = {
	"payment", from_record, free_item, version_of, NULL,
	st_get, NULL, NULL, NULL, st_list,
	NULL, NULL, NULL, NULL
};

/* The payments part of the storage vtable is there (version 2). */
static int storage_ready(billing_ctx *ctx)
{
	if (ctx->st->version < 2)
		return billing__error_set(BILLING_ESTORAGE, "storage_version",
			"the storage backend does not store payments (vtable version %u)",
			ctx->st->version);
	return BILLING_OK;
}

static int no_provider(void)
{
	return billing__error_set(BILLING_ECONFLICT, "no_provider",
		"no payment provider is configured");
}

/* Writes p's new state (version + 1) and, when event is not NULL, its event. */
static int save(billing_ctx *ctx, billing_txn *tx, billing_payment *p, const char *event)
{
	billing_payment_record r;
	int64_t old_version = p->version;
	int rc;

	p->updated_at = billing__now(ctx);
	p->version++;
	record_of(&r, p);
	if ((rc = ctx->st->payment_update(tx, &r, old_version)) < 0 || !event)
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

static int load(billing_payment **out, billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *id)
{
	return billing__entity_get_in((void **)out, &entity, ctx, tx, tenant_id, id);
}

/* Due work of kind for id at when. */
static int due(billing_ctx *ctx, billing_txn *tx, const char *tenant_id, const char *kind,
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
static int64_t ask_again_at(int64_t created, int64_t now)
{
	int64_t age = now - created, wait = age / 2;
	if (wait < 60)
		wait = 60;
	if (wait > 6 * 3600)
		wait = 6 * 3600;
	return now + wait;
}

/* ------------------------------------------------------------ dunning */

static const billing_dunning_policy default_policy = {
	4, { 1, 3, 5, 7 }, BILLING_DUNNING_CANCEL
};

static int dunning_row(void *payload, const void *record)
{
	const billing_dunning_record *r = record;
	billing_dunning_policy *p = payload;
	const char *s = r->retry_days;
	char *end;

	memset(p, 0, sizeof(*p));
	p->final_action = (billing_dunning_action)r->final_action;
	while (*s && p->retry_count < BILLING_DUNNING_MAX_RETRIES) {
		long d = strtol(s, &end, 10);
		if (end == s)
			return billing__error_set(BILLING_ESTORAGE, "storage", "malformed dunning policy");
		p->retry_days[p->retry_count++] = (int32_t)d;
		s = *end == ',' ? end + 1 : end;
	}
	return BILLING_OK;
}

static int policy_get(billing_dunning_policy *out, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id)
{
	int rc = ctx->st->dunning_get(tx, tenant_id, dunning_row, out);
	if (rc == BILLING_ENOTFOUND) {
		*out = default_policy;
		rc = BILLING_OK;
	}
	return rc;
}

int billing_dunning_get(billing_dunning_policy *out, billing_ctx *ctx,
	const billing_principal *who)
{
	billing_txn *tx;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_DUNNING_GET)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	if ((rc = storage_ready(ctx)) < 0 ||
	    (rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_READ)) < 0)
		return rc;
	return billing__end(ctx, tx, policy_get(out, ctx, tx, who->tenant_id));
}

static int dunning_set_once(billing_ctx *ctx, const billing_principal *who,
	const billing_dunning_policy *policy)
{
	billing__checks c = BILLING__CHECKS_INIT;
	billing_dunning_record r;
	char days[BILLING_DUNNING_MAX_RETRIES * 5 + 1] = "";
	size_t i, j = 0;
	billing_txn *tx;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_DUNNING_SET)) < 0)
		return rc;
	BILLING__ASSERT_ARG(policy, "policy");
	if (policy->retry_count > BILLING_DUNNING_MAX_RETRIES)
		billing__check_fail(&c, "retryDays", "at most %d retries",
			BILLING_DUNNING_MAX_RETRIES);
	else
		for (i = 0; i < policy->retry_count; i++) {
			int32_t d = policy->retry_days[i];
			if (d < 1 || d > 365 || (i > 0 && d <= policy->retry_days[i - 1])) {
				billing__check_fail(&c, "retryDays",
					"days must increase, each from 1 to 365");
				break;
			}
			j += (size_t)snprintf(days + j, sizeof(days) - j, "%s%d", i ? "," : "", (int)d);
		}
	if (policy->final_action != BILLING_DUNNING_CANCEL &&
	    policy->final_action != BILLING_DUNNING_UNPAID &&
	    policy->final_action != BILLING_DUNNING_KEEP_PAST_DUE)
		billing__check_fail(&c, "finalAction", "must be cancel, unpaid or keep_past_due");
	if ((rc = billing__checks_finish(&c, "dunning policy")) < 0 ||
	    (rc = storage_ready(ctx)) < 0)
		return rc;
	r.tenant_id = who->tenant_id;
	r.retry_days = days;
	r.final_action = policy->final_action;
	r.updated_at = billing__now(ctx);
	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_WRITE)) < 0)
		return rc;
	if ((rc = ctx->st->dunning_set(tx, &r)) == BILLING_OK)
		rc = billing__audit_record(ctx, tx, who->tenant_id, NULL);
	return billing__end(ctx, tx, rc);
}

int billing_dunning_set(billing_ctx *ctx, const billing_principal *who,
	const billing_dunning_policy *policy)
{
	BILLING__RETRY(dunning_set_once(ctx, who, policy));
}

/*
 * After a failed automatic attempt: the next retry of the policy, counted
 * from the invoice's finalization (retry k after retry_days[k-1] days, k =
 * attempts made so far), or the policy's final action when none is left.
 */
static int dunning_next(billing_ctx *ctx, billing_txn *tx, billing_invoice *inv, int64_t now)
{
	billing_dunning_policy pol;
	int rc;
	size_t k = inv->attempt_count > 0 ? (size_t)inv->attempt_count - 1 : 0;
	int64_t due_then;

	if ((rc = policy_get(&pol, ctx, tx, inv->tenant_id)) < 0)
		return rc;
	/* When the attempt that just failed was due, by the same schedule (a
	 * late run made it later): what its failure decides took effect then. */
	due_then = k == 0 || k - 1 >= pol.retry_count ? now :
		inv->finalized_at + (int64_t)pol.retry_days[k - 1] * DAY;
	if (due_then > now || due_then < inv->finalized_at)
		due_then = now;
	if (k < pol.retry_count) {
		/* Due at its own time even when that has passed (a late run): the
		 * run takes it at once, in time order with the tenant's other due
		 * work, so a final retry due before a renewal ends the
		 * subscription before that renewal is billed. */
		inv->next_attempt_at = inv->finalized_at + (int64_t)pol.retry_days[k] * DAY;
		return due(ctx, tx, inv->tenant_id, BILLING__DUE_COLLECT, inv->id,
			inv->next_attempt_at);
	}
	inv->next_attempt_at = 0;
	if ((rc = ctx->st->due_clear(tx, inv->tenant_id, BILLING__DUE_COLLECT, inv->id)) < 0)
		return rc;
	billing__log(ctx, BILLING_LOG_INFO, "invoice %s: retries exhausted", inv->id);
	if (!inv->subscription_id || pol.final_action == BILLING_DUNNING_KEEP_PAST_DUE)
		return BILLING_OK;
	return billing__subscription_payment(ctx, tx, inv->tenant_id, inv->subscription_id,
		pol.final_action == BILLING_DUNNING_UNPAID ? BILLING__SUB_RETRIES_EXHAUSTED_UNPAID :
		BILLING__SUB_RETRIES_EXHAUSTED, due_then, now);
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
		if (inv->status != BILLING_INVOICE_PENDING && inv->status != BILLING_INVOICE_FAILED) {
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
		inv->amount_due = inv->total - inv->amount_paid;
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
			if ((rc = billing__subscription_payment(ctx, tx, inv->tenant_id,
				inv->subscription_id, BILLING__SUB_PAYMENT_FAILED, now, now)) < 0 ||
			    (rc = dunning_next(ctx, tx, inv, now)) < 0)
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

/*
 * Moves p to what the provider said (status, its id, failure code), with
 * the event, the next due work and the effects on the invoice. The same
 * status again only fills in what was missing. BILLING_ECONFLICT
 * "invalid_transition" when the table does not allow it (an answer older
 * than what is known): nothing changes.
 */
static int move(billing_ctx *ctx, billing_txn *tx, billing_payment *p,
	const billing_provider_result *res, int64_t now)
{
	char ref[BILLING_PROVIDER_REF_MAX], code[BILLING_PROVIDER_CODE_MAX];
	char message[BILLING_PROVIDER_MESSAGE_MAX], event[48];
	const char *name = billing_payment_status_name(res->status);
	int rc;

	if (!name || res->status == BILLING_PAYMENT_REFUNDED ||
	    res->status == BILLING_PAYMENT_PARTIALLY_REFUNDED)
		return billing__error_set(BILLING_ERROR, "provider",
			"the provider answered with an impossible status %d", (int)res->status);
	if (res->ref[0] && (!p->provider_ref || strcmp(p->provider_ref, res->ref) != 0))
		set_str(&p->provider_ref, ref, sizeof(ref), res->ref);
	if (res->status == p->status) {
		if ((rc = save(ctx, tx, p, NULL)) < 0)
			return rc;
	} else {
		if (!allowed(p->status, res->status))
			return billing__error_set(BILLING_ECONFLICT, "invalid_transition",
				"a payment cannot go from %s to %s",
				billing_payment_status_name(p->status), name);
		p->status = res->status;
		if (res->status == BILLING_PAYMENT_FAILED) {
			set_str(&p->failure_code, code, sizeof(code),
				res->failure_code[0] ? res->failure_code : "failed");
			set_str(&p->failure_message, message, sizeof(message), res->failure_message);
		} else {
			p->failure_code = p->failure_message = NULL;
		}
		snprintf(event, sizeof(event), "payment.%s", name);
		if ((rc = save(ctx, tx, p, event)) < 0 ||
		    (rc = invoice_effects(ctx, tx, p, now)) < 0)
			return rc;
	}
	if (in_flight(p->status))
		return due(ctx, tx, p->tenant_id, BILLING__DUE_PAYMENT, p->id,
			ask_again_at(p->created_at, now));
	return ctx->st->due_clear(tx, p->tenant_id, BILLING__DUE_PAYMENT, p->id);
}

/* ------------------------------------------------------------ attempts */

static int in_flight_row(void *payload, const void *record)
{
	const billing_payment_record *r = record;
	if (in_flight(r->status))
		(*(int *)payload)++;
	return BILLING_OK;
}

static int count_in_flight(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *invoice_id, int *count)
{
	billing_list_query q;
	memset(&q, 0, sizeof(q));
	q.offset = -1;
	q.limit = 1000;
	q.invoice_id = invoice_id;
	*count = 0;
	return ctx->st->payment_list(tx, tenant_id, &q, in_flight_row, count);
}

int billing__invoice_payments_settled(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *invoice_id)
{
	int n = 0, rc;
	if (ctx->st->version < 2)
		return BILLING_OK;
	if ((rc = count_in_flight(ctx, tx, tenant_id, invoice_id, &n)) < 0)
		return rc;
	if (n)
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
	if (!ctx->provider || ctx->st->version < 2)
		return BILLING_OK;
	/* An unpaid subscription's invoices wait to be paid by hand. */
	if (subscription_id && ((rc = billing__subscription_status_in(ctx, tx, tenant_id,
		subscription_id, &status)) < 0 || status == BILLING_SUB_UNPAID))
		return rc;
	if ((rc = billing__customer_read(ctx->st, tx, tenant_id, customer_id, BILLING_LOCK_NONE,
		customer_pm_row, &c)) < 0)
		return rc;
	if (!c.method[0])
		return BILLING_OK;
	*next_attempt_at = now;
	return due(ctx, tx, tenant_id, BILLING__DUE_COLLECT, invoice_id, now);
}

/* What a charge of p asks, into a. */
static void attempt_fill(billing__attempt *a, billing__attempt_what what, const billing_payment *p,
	const char *customer_ref, const char *number)
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
	char id[BILLING_ID_MAX];
	const char *method;
	int n = 0, rc;

	memset(a, 0, sizeof(*a));
	if ((rc = billing__invoice_load(&inv, ctx, tx, tenant_id, invoice_id)) < 0)
		return rc;
	if (inv->status != BILLING_INVOICE_PENDING && inv->status != BILLING_INVOICE_FAILED) {
		if (manual)
			rc = billing__error_set(BILLING_ECONFLICT, "invalid_transition",
				"the invoice is %s: only pending or failed invoices are paid",
				billing_invoice_status_name(inv->status));
		else
			rc = ctx->st->due_clear(tx, tenant_id, BILLING__DUE_COLLECT, invoice_id);
		goto out;
	}
	if (!manual && (inv->next_attempt_at == 0 || inv->next_attempt_at > now)) {
		/* Not due (paid by hand meanwhile, or rescheduled): keep the
		 * queue true to the invoice. */
		rc = inv->next_attempt_at ? due(ctx, tx, tenant_id, BILLING__DUE_COLLECT, invoice_id,
			inv->next_attempt_at) :
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
	if ((rc = count_in_flight(ctx, tx, tenant_id, invoice_id, &n)) < 0)
		goto out;
	if (n) {
		/* The attempt in flight settles it; its resolution is due work. */
		rc = manual ? billing__error_set(BILLING_ECONFLICT, "payment_in_progress",
			"a payment of the invoice is in progress") :
			ctx->st->due_clear(tx, tenant_id, BILLING__DUE_COLLECT, invoice_id);
		goto out;
	}
	if ((rc = billing__customer_read(ctx->st, tx, tenant_id, inv->customer_id,
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
	if ((rc = ctx->st->payment_insert(tx, &r)) < 0) {
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
	    (rc = due(ctx, tx, tenant_id, BILLING__DUE_PAYMENT, id, now + LEASE)) < 0)
		goto out;
	if ((p = from_record(&r)) == NULL) {
		rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
		goto out;
	}
	if ((rc = billing__event_emit(ctx, tx, tenant_id, "payment.created", "payment", id,
		billing__json_payment, p)) < 0)
		goto out;
	attempt_fill(a, BILLING__ATTEMPT_CHARGE, p, c.ref, inv->number);
out:
	billing_payment_free(p);
	billing_invoice_free(inv);
	return rc;
}

int billing__collect_begin(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *invoice_id, int64_t now, billing__attempt *a)
{
	memset(a, 0, sizeof(*a));
	if (!ctx->provider) {
		/* Collection needs a provider: leave the work for a context
		 * that has one, a while from now. */
		billing__log(ctx, BILLING_LOG_WARN, "invoice %s is due for collection but no "
			"payment provider is configured", invoice_id);
		return due(ctx, tx, tenant_id, BILLING__DUE_COLLECT, invoice_id, now + 3600);
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
	rc = load(&p, ctx, tx, tenant_id, payment_id);
	if (rc == BILLING_ENOTFOUND)
		return ctx->st->due_clear(tx, tenant_id, BILLING__DUE_PAYMENT, payment_id);
	if (rc < 0)
		return rc;
	if (!in_flight(p->status)) {
		rc = ctx->st->due_clear(tx, tenant_id, BILLING__DUE_PAYMENT, payment_id);
	} else if (!ctx->provider || strcmp(ctx->provider->name, p->provider) != 0) {
		billing__log(ctx, BILLING_LOG_WARN, "payment %s needs provider %s to be resolved",
			p->id, p->provider);
		rc = due(ctx, tx, tenant_id, BILLING__DUE_PAYMENT, payment_id, now + 3600);
	} else if ((rc = ctx->st->customer_get(tx, tenant_id, p->customer_id, customer_pm_row,
		&c)) == BILLING_OK &&
	    (rc = ctx->st->invoice_get(tx, tenant_id, p->invoice_id, number_row,
		number)) == BILLING_OK &&
	    (rc = due(ctx, tx, tenant_id, BILLING__DUE_PAYMENT, payment_id, now + LEASE)) == 0) {
		/* Never answered: ask the same question again, word for word
		 * (same key and parameters: the provider answers with the first
		 * outcome; other parameters under the same key are refused).
		 * Answered pending or needing action: ask for its state. */
		attempt_fill(a, p->status == BILLING_PAYMENT_UNKNOWN || !p->provider_ref ?
			BILLING__ATTEMPT_CHARGE : BILLING__ATTEMPT_RETRIEVE, p, c.ref,
			number[0] ? number : NULL);
	}
	billing_payment_free(p);
	return rc;
}

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

static int refund_begin(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *payment_id, int64_t amount, int64_t now, billing__attempt *a)
{
	billing_payment *p = NULL;
	billing_refund_record r;
	char id[BILLING_ID_MAX];
	int64_t left;
	int rc;

	memset(a, 0, sizeof(*a));
	if ((rc = load(&p, ctx, tx, tenant_id, payment_id)) < 0)
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
	if ((rc = ctx->st->refund_insert(tx, &r)) < 0 || (rc = save(ctx, tx, p, NULL)) < 0 ||
	    (rc = due(ctx, tx, tenant_id, BILLING__DUE_REFUND, id, now + LEASE)) < 0)
		goto out;
	attempt_fill(a, BILLING__ATTEMPT_REFUND, p, NULL, NULL);
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
	rc = ctx->st->refund_get(tx, tenant_id, refund_id, refund_row, &c);
	if (rc == BILLING_ENOTFOUND || (rc == BILLING_OK && !in_flight(c.r.status)))
		return ctx->st->due_clear(tx, tenant_id, BILLING__DUE_REFUND, refund_id);
	if (rc < 0 || (rc = load(&p, ctx, tx, tenant_id, c.payment_id)) < 0)
		return rc;
	if (!ctx->provider || strcmp(ctx->provider->name, p->provider) != 0) {
		rc = due(ctx, tx, tenant_id, BILLING__DUE_REFUND, refund_id, now + 3600);
	} else if ((rc = due(ctx, tx, tenant_id, BILLING__DUE_REFUND, refund_id,
		now + LEASE)) == BILLING_OK) {
		attempt_fill(a, BILLING__ATTEMPT_REFUND, p, NULL, NULL);
		snprintf(a->refund_id, sizeof(a->refund_id), "%s", refund_id);
		snprintf(a->key, sizeof(a->key), "%s", refund_id);
		a->amount = c.r.amount;
	}
	billing_payment_free(p);
	return rc;
}

/* Records what the provider said of a refund. */
static int refund_apply(billing_ctx *ctx, billing_txn *tx, const billing__attempt *a,
	const billing_provider_result *res, int64_t now)
{
	struct refund_capture c;
	billing_payment *p = NULL;
	int64_t old_version;
	int rc;

	if ((rc = ctx->st->refund_get(tx, a->tenant_id, a->refund_id, refund_row, &c)) < 0)
		return rc;
	if (!in_flight(c.r.status) || (int)res->status == c.r.status)
		return BILLING_OK;
	if ((rc = load(&p, ctx, tx, a->tenant_id, c.payment_id)) < 0)
		return rc;
	c.r.tenant_id = a->tenant_id;
	old_version = c.r.version;
	c.r.status = res->status;
	c.r.provider_ref = res->ref[0] ? res->ref : NULL;
	c.r.failure_code = res->status == BILLING_PAYMENT_FAILED ?
		(res->failure_code[0] ? res->failure_code : "failed") : NULL;
	c.r.updated_at = now;
	c.r.version++;
	if ((rc = ctx->st->refund_update(tx, &c.r, old_version)) < 0)
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
		if ((rc = save(ctx, tx, p, event)) == BILLING_OK)
			rc = ctx->st->due_clear(tx, a->tenant_id, BILLING__DUE_REFUND, a->refund_id);
	} else {
		rc = due(ctx, tx, a->tenant_id, BILLING__DUE_REFUND, a->refund_id,
			ask_again_at(c.r.created_at, now));
	}
out:
	billing_payment_free(p);
	return rc;
}

/* ------------------------------------------------------------ asking */

/* Records res for the attempt; an answer the payment has moved past (a
 * webhook came first) changes nothing. */
static int apply_once(billing_ctx *ctx, const billing__attempt *a,
	const billing_provider_result *res)
{
	billing_payment *p = NULL;
	billing_txn *tx;
	int64_t now = billing__now(ctx);
	int rc;

	if ((rc = billing__begin(&tx, ctx, a->tenant_id, BILLING_TXN_WRITE)) < 0)
		return rc;
	if (a->what == BILLING__ATTEMPT_REFUND) {
		rc = refund_apply(ctx, tx, a, res, now);
	} else if ((rc = load(&p, ctx, tx, a->tenant_id, a->payment_id)) == BILLING_OK) {
		rc = move(ctx, tx, p, res, now);
		if (rc == BILLING_ECONFLICT) {
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

static int apply(billing_ctx *ctx, const billing__attempt *a, const billing_provider_result *res)
{
	BILLING__RETRY(apply_once(ctx, a, res));
}

int billing__attempt_run(billing_ctx *ctx, const billing__attempt *a,
	billing_provider_result *res_out)
{
	billing_provider *pv = ctx->provider;
	billing_provider_result res;
	int64_t now = billing__now(ctx);
	int rc;

	memset(&res, 0, sizeof(res));
	if (a->what == BILLING__ATTEMPT_NONE)
		return BILLING_OK;
	billing__log(ctx, BILLING_LOG_DEBUG, "%s: asking the provider (%s)", a->what ==
		BILLING__ATTEMPT_REFUND ? a->refund_id : a->payment_id,
		a->what == BILLING__ATTEMPT_CHARGE ? "charge" :
		a->what == BILLING__ATTEMPT_RETRIEVE ? "retrieve" : "refund");
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
	} else {
		billing_provider_charge req;
		req.tenant_id = a->tenant_id;
		req.payment_id = a->payment_id;
		req.invoice_id = a->invoice_id;
		req.customer_id = a->customer_id;
		req.customer_ref = a->customer_ref[0] ? a->customer_ref : NULL;
		req.payment_method = a->payment_method;
		req.amount = a->amount;
		req.currency = a->currency;
		req.idempotency_key = a->key;
		req.off_session = a->off_session;
		req.description = a->description[0] ? a->description : NULL;
		rc = pv->charge(pv, &req, now, &res);
	}
	if (rc < 0) {
		/* Certainly not made: a failure of this attempt. */
		const billing_error *e = billing_error_last();
		memset(&res, 0, sizeof(res));
		res.status = BILLING_PAYMENT_FAILED;
		snprintf(res.failure_code, sizeof(res.failure_code), "%s",
			e->reason ? e->reason : "provider_error");
		snprintf(res.failure_message, sizeof(res.failure_message), "%s", e->message);
	}
	if (res_out)
		*res_out = res;
	billing__log(ctx, BILLING_LOG_DEBUG, "%s: the provider says %s",
		a->what == BILLING__ATTEMPT_REFUND ? a->refund_id : a->payment_id,
		billing_payment_status_name(res.status));
	if (res.status == BILLING_PAYMENT_FAILED)
		billing__log(ctx, BILLING_LOG_INFO, "%s %s failed: %s",
			a->what == BILLING__ATTEMPT_REFUND ? "refund" : "payment",
			a->what == BILLING__ATTEMPT_REFUND ? a->refund_id : a->payment_id,
			res.failure_code);
	return apply(ctx, a, &res);
}

void billing__collect_now(billing_ctx *ctx, const char *tenant_id, const char *invoice_id)
{
	billing__attempt a = { 0 };
	billing_txn *tx;
	int rc;

	if (!ctx->provider || !invoice_id || ctx->st->version < 2)
		return;
	if (billing__begin(&tx, ctx, tenant_id, BILLING_TXN_WRITE) < 0)
		return;
	/* The collection work first, as the run takes it (core.h); a run that
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

static int read_payment(billing_payment **out, billing_ctx *ctx, const char *tenant_id,
	const char *id)
{
	billing_txn *tx;
	int rc;
	*out = NULL;
	if ((rc = billing__begin(&tx, ctx, tenant_id, BILLING_TXN_READ)) < 0)
		return rc;
	return billing__end(ctx, tx, load(out, ctx, tx, tenant_id, id));
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
	if ((rc = storage_ready(ctx)) < 0)
		return rc;
	if (!ctx->provider)
		return no_provider();
	billing__buf_add(&input, "id", invoice_id);
	billing__buf_add(&input, "paymentMethod", p->payment_method);
	billing__buf_add_i64(&input, "amount", p->amount);
	billing__buf_add(&input, "currency", p->currency);
	if ((rc = billing__idem_init_buf(&idem, opts, BILLING_OP_INVOICES_PAY, &input)) < 0)
		return rc;
	if ((rc = pay_begin(&a, ctx, who, invoice_id, p, &idem)) < 0)
		return rc;
	if (idem.replay) {
		/* The first call's attempt, as it is now. */
		if ((rc = read_payment(out, ctx, who->tenant_id, idem.resource_id)) < 0)
			return rc;
		return outcome_code(*out);
	}
	/* The attempt is committed: from here on an error to record the answer
	 * leaves it to the billing run, and the caller sees it as it stands. */
	if (billing__attempt_run(ctx, &a, NULL) < 0)
		billing__log(ctx, BILLING_LOG_WARN, "payment %s: the answer is left to the billing "
			"run: %s", a.payment_id, billing_error_last()->message);
	if ((rc = read_payment(out, ctx, who->tenant_id, a.payment_id)) < 0)
		return rc;
	return outcome_code(*out);
}

int billing_payment_get(billing_payment **out, billing_ctx *ctx,
	const billing_principal *who, const char *id)
{
	int rc;
	if ((rc = billing__authorize(ctx, who, BILLING_OP_PAYMENTS_GET)) < 0 ||
	    (rc = storage_ready(ctx)) < 0)
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
	if ((rc = storage_ready(ctx)) < 0)
		return rc;
	snprintf(filters, sizeof(filters), "payments|i=%s|st=%d",
		p->invoice_id ? p->invoice_id : "-", (int)p->status);
	if ((rc = billing__list_begin(&l, ctx, who->tenant_id, &p->list, sorts, filters,
		BILLING__PAGE_PAYMENT, free_item)) < 0)
		return rc;
	l.from_record = from_record;
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

static int refund_begin_once(billing__attempt *a, billing_ctx *ctx,
	const billing_principal *who, const char *id, int64_t amount, billing__idem *idem)
{
	billing_txn *tx;
	int rc;

	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_WRITE)) < 0)
		return rc;
	if ((rc = billing__idem_check(ctx, tx, who->tenant_id, idem)) == BILLING_OK &&
	    !idem->replay &&
	    (rc = refund_begin(ctx, tx, who->tenant_id, id, amount, billing__now(ctx),
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
	if ((rc = storage_ready(ctx)) < 0)
		return rc;
	if (!ctx->provider)
		return no_provider();
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
	if ((rc = read_payment(out, ctx, who->tenant_id, id)) < 0)
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

/* ------------------------------------------------------------ webhooks */

static int payment_for_event(billing_payment **out, billing_ctx *ctx, billing_txn *tx,
	const billing_provider_event *ev)
{
	billing__capture cap = { from_record, NULL };
	int rc;

	*out = NULL;
	if (ev->payment_id[0]) {
		if (!billing__id_arg_ok(ev->payment_id, "pay"))
			return billing__not_found("payment");
		rc = load(out, ctx, tx, ev->tenant_id, ev->payment_id);
	} else if (ev->ref[0]) {
		rc = ctx->st->payment_get_by_ref(tx, ev->tenant_id, ctx->provider->name, ev->ref,
			billing__capture_row, &cap);
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
	if (ev->type == BILLING_PROVIDER_EVENT_DISPUTE_CREATED)
		return BILLING_OK;
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
	return save(ctx, tx, p, "payment.refunded");
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
		billing__log(ctx, BILLING_LOG_WARN, "payment %s is disputed (%s)", p->id,
			ev->dispute_reason);
		rc = billing__event_emit(ctx, tx, p->tenant_id, "payment.disputed", "payment", p->id,
			billing__json_payment, p);
		applied = 1;
		goto out;
	default:
		goto out;
	}
	if (p->status == res.status) {
		rc = BILLING_OK;                 /* already known: nothing to do */
		goto out;
	}
	rc = move(ctx, tx, p, &res, now);
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
	billing_webhook_result *result)
{
	billing_txn *tx;
	int rc;
	if ((rc = billing__begin(&tx, ctx, ev->tenant_id, BILLING_TXN_WRITE)) < 0)
		return rc;
	rc = webhook_apply(ctx, tx, ev, result);
	if (result->outcome == BILLING_WEBHOOK_DUPLICATE) {
		ctx->st->rollback(tx);
		return BILLING_OK;
	}
	return billing__end(ctx, tx, rc);
}

int billing_provider_webhook_handle(billing_ctx *ctx, const billing_header *headers,
	size_t nheaders, const char *body, size_t len, billing_webhook_result *result)
{
	billing_provider_event ev;
	int rc, n = 0;

	billing_error_clear();
	billing__scope_clear();       /* acts for the provider, not for a principal */
	BILLING__ASSERT_ARG(ctx, "ctx");
	BILLING__ASSERT_ARG(result, "result");
	BILLING__ASSERT_ARG(body || len == 0, "body");
	memset(result, 0, sizeof(*result));
	if ((rc = storage_ready(ctx)) < 0)
		return rc;
	if (!ctx->provider)
		return no_provider();
	memset(&ev, 0, sizeof(ev));
	if ((rc = ctx->provider->webhook_parse(ctx->provider, headers, nheaders, body ? body : "",
		len, billing__now(ctx), &ev)) < 0)
		return rc;
	snprintf(result->event_id, sizeof(result->event_id), "%s", ev.id);
	snprintf(result->tenant_id, sizeof(result->tenant_id), "%s", ev.tenant_id);
	if (ev.type == BILLING_PROVIDER_EVENT_IGNORED) {
		result->outcome = BILLING_WEBHOOK_IGNORED;
		return BILLING_OK;
	}
	if (!ev.tenant_id[0] || !billing__id_arg_ok(ev.tenant_id, "ten")) {
		/* Not one of ours (no metadata): nothing to apply it to. */
		billing__log(ctx, BILLING_LOG_INFO, "provider event %s (%s) names no tenant: ignored",
			ev.id, ev.type_name);
		result->outcome = BILLING_WEBHOOK_IGNORED;
		return BILLING_OK;
	}
	do
		rc = webhook_once(ctx, &ev, result);
	while (billing__retryable(rc) && ++n < BILLING__RETRIES);
	return rc;
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

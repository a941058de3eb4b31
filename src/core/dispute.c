/*
 * Disputes (billing/dispute.h): a descriptor object that the API only
 * reads (GET /v1/disputes, /v1/disputes/{id} from the descriptor, as tax
 * rates) and that only the provider's events write, through
 * billing__dispute_apply, called in the transaction of the inbound webhook
 * (payment_events.c).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "billing/dispute.h"
#include "core/dispute.h"
#include "core/events.h"
#include "core/payment_internal.h"
#include "core/resource.h"
#include "core/resources.h"

struct billing_dispute {
	const char *tenant_id;
	const char *id;
	const char *payment_id;
	const char *invoice_id;
	const char *customer_id;
	const char *provider;
	const char *provider_ref;
	int64_t amount;
	const char *currency;
	const char *reason;
	int status;                  /* billing_dispute_status */
	int64_t evidence_due_by;     /* 0: none */
	int64_t closed_at;           /* 0: open */
	int64_t provider_event_at;   /* the created time of the last provider event applied */
	const char *metadata_json;
	int64_t created_at;
	int64_t updated_at;
	int64_t version;
};

#define F(member) offsetof(struct billing_dispute, member)

/* Indexes into fields[]. */
enum {
	TENANT, ID, PAYMENT, INVOICE, CUSTOMER, PROVIDER, PROVIDER_REF, AMOUNT, CURRENCY, REASON,
	STATUS, EVIDENCE_DUE_BY, CLOSED_AT, PROVIDER_EVENT_AT, METADATA, CREATED_AT, UPDATED_AT,
	VERSION, FIELD_COUNT
};

/* billing_dispute_status by value; Stripe's names. */
static const char *const status_names[] = {
	"", "warning_needs_response", "warning_under_review", "warning_closed", "needs_response",
	"under_review", "won", "lost", NULL
};

#define STATUS_COUNT 8

#define FIXED_TEXT(col, member, json, desc) \
	{ col, BILLING_FIELD_TEXT, F(member), BILLING_FIELD_FIXED, json, BILLING_JSON_STRING, 0, \
	  NULL, 0, desc }

static const billing_field fields[FIELD_COUNT] = {
	[TENANT] = { "tenant_id", BILLING_FIELD_TEXT, F(tenant_id),
		BILLING_FIELD_TENANT | BILLING_FIELD_FIXED, NULL, BILLING_JSON_NONE, 0, NULL, 0,
		NULL },
	[ID] = { "id", BILLING_FIELD_TEXT, F(id), BILLING_FIELD_ID | BILLING_FIELD_FIXED,
		"id", BILLING_JSON_STRING, 0, NULL, 0, "The dispute's id (dp_...)." },
	[PAYMENT] = { "payment_id", BILLING_FIELD_TEXT, F(payment_id),
		BILLING_FIELD_FIXED | BILLING_FIELD_FILTER, "paymentId", BILLING_JSON_STRING, 0,
		NULL, 0, "The disputed payment." },
	[INVOICE] = { "invoice_id", BILLING_FIELD_TEXT, F(invoice_id),
		BILLING_FIELD_FIXED | BILLING_FIELD_FILTER, "invoiceId", BILLING_JSON_STRING, 0,
		NULL, 0, "The invoice the payment paid." },
	[CUSTOMER] = { "customer_id", BILLING_FIELD_TEXT, F(customer_id),
		BILLING_FIELD_FIXED | BILLING_FIELD_FILTER, "customerId", BILLING_JSON_STRING, 0,
		NULL, 0, "The customer who paid." },
	[PROVIDER] = FIXED_TEXT("provider", provider, "provider",
		"The payment provider (\"stripe\")."),
	[PROVIDER_REF] = { "provider_ref", BILLING_FIELD_TEXT, F(provider_ref),
		BILLING_FIELD_FIXED | BILLING_FIELD_UNIQUE | BILLING_FIELD_FILTER, "providerRef", BILLING_JSON_STRING, 0,
		NULL, 0, "The provider's id of the dispute (dp_... at Stripe)." },
	[AMOUNT] = { "amount", BILLING_FIELD_INT64, F(amount),
		BILLING_FIELD_SORT | BILLING_FIELD_RANGE | BILLING_FIELD_NONNEGATIVE, "amount", BILLING_JSON_INTEGER, 0, NULL, 0,
		"Minor units of currency disputed; once lost, taken back by the bank." },
	[CURRENCY] = { "currency", BILLING_FIELD_TEXT, F(currency), 0, "currency",
		BILLING_JSON_STRING, 0, NULL, 0, "ISO 4217, upper case." },
	[REASON] = { "reason", BILLING_FIELD_TEXT, F(reason), 0, "reason", BILLING_JSON_STRING,
		BILLING_API_NULLABLE, NULL, 0,
		"The provider's reason (\"fraudulent\", \"product_not_received\", ...)." },
	[STATUS] = { "status", BILLING_FIELD_INT, F(status), BILLING_FIELD_FILTER, "status",
		BILLING_JSON_ENUM, 0, status_names, 0,
		"Stripe's status; won, lost and warning_closed are final." },
	[EVIDENCE_DUE_BY] = { "evidence_due_by", BILLING_FIELD_INT64, F(evidence_due_by),
		BILLING_FIELD_ZERO_NULL | BILLING_FIELD_SORT, "evidenceDueBy", BILLING_JSON_TIME, 0,
		NULL, 0, "When evidence is due at the provider; null when none." },
	[CLOSED_AT] = { "closed_at", BILLING_FIELD_INT64, F(closed_at), BILLING_FIELD_ZERO_NULL,
		"closedAt", BILLING_JSON_TIME, 0, NULL, 0,
		"When it reached won, lost or warning_closed; null while open." },
	[PROVIDER_EVENT_AT] = { "provider_event_at", BILLING_FIELD_INT64, F(provider_event_at),
		0, NULL, BILLING_JSON_NONE, 0, NULL, 0, NULL },
	[METADATA] = { "metadata", BILLING_FIELD_TEXT, F(metadata_json), 0, "metadata",
		BILLING_JSON_METADATA, 0, NULL, 0, "Your own string keys and values." },
	[CREATED_AT] = { "created_at", BILLING_FIELD_INT64, F(created_at),
		BILLING_FIELD_FIXED | BILLING_FIELD_SORT | BILLING_FIELD_RANGE, "createdAt",
		BILLING_JSON_TIME, 0, NULL, 0, "When it was recorded." },
	[UPDATED_AT] = { "updated_at", BILLING_FIELD_INT64, F(updated_at), 0, "updatedAt",
		BILLING_JSON_TIME, 0, NULL, 0, "When it last changed." },
	[VERSION] = { "version", BILLING_FIELD_INT64, F(version), BILLING_FIELD_VERSION,
		"version", BILLING_JSON_INTEGER, 0, NULL, 0, "1 at creation, +1 on every change." },
};

/* What billing_check verifies: the ids name rows of the tenant. */
static const billing_reference references[] = {
	{ "payment_id", &billing__res_payment },
	{ "invoice_id", &billing__res_invoice },
	{ "customer_id", &billing__res_customer },
};

/* Read as payments are. */
#define R_READ ((1u << BILLING_ROLE_USER) | (1u << BILLING_ROLE_ADMIN))

static const billing_resource dispute = {
	"dispute", "disputes", "disputes", "Dispute",
	"A dispute (chargeback) of a payment, as the payment provider reports it; read-only.",
	"disputes", "dp", sizeof(struct billing_dispute), fields, FIELD_COUNT,
	NULL, NULL, 0, NULL, 0,
	BILLING_RESOURCE_OP_GET | BILLING_RESOURCE_OP_LIST,
	R_READ, 0, BILLING_RESOURCE_CREATE_EVENT, references,
	sizeof(references) / sizeof(references[0])
};

const billing__rules billing__dispute_rules = { &dispute, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL };

/* ------------------------------------------------------------ provider events */

static bool is_final(int status)
{
	return status == BILLING_DISPUTE_WON || status == BILLING_DISPUTE_LOST ||
		status == BILLING_DISPUTE_WARNING_CLOSED;
}

/* Stripe's status name as a billing_dispute_status; 0 when unknown. */
static int status_parse(const char *name)
{
	int i;
	for (i = 1; i < STATUS_COUNT; i++)
		if (strcmp(status_names[i], name) == 0)
			return i;
	return 0;
}

static cJSON *dispute_json(const void *item)
{
	return billing__record_json(&dispute, item);
}

static int first_row(void *payload, const void *record)
{
	void **out = payload;
	if (*out)
		return BILLING_OK;
	*out = billing__record_dup(&dispute, record);
	return *out ? BILLING_OK : billing__error_set(BILLING_ENOMEM, NULL, NULL);
}

/* The tenant's dispute the provider calls ref, held for update, or NULL. */
static int find(struct billing_dispute **out, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const char *ref)
{
	billing_filter by_ref = { &fields[PROVIDER_REF], BILLING_FILTER_EQ, ref, 0, NULL };
	billing_list_query q;
	void *row = NULL;
	int rc;

	*out = NULL;
	memset(&q, 0, sizeof(q));
	q.limit = 1;
	q.offset = -1;
	q.filters = &by_ref;
	q.filter_count = 1;
	if ((rc = ctx->st->record_list(tx, &dispute, tenant_id, &q, first_row, &row)) < 0 || !row) {
		billing__free(row);
		return rc;
	}
	/* Again by its key, now locked: the list took no lock. */
	rc = ctx->st->record_read(tx, &dispute, tenant_id, ((struct billing_dispute *)row)->id,
		BILLING_LOCK_UPDATE, first_row, out);
	billing__free(row);
	return rc;
}

static int emit(billing_ctx *ctx, billing_txn *tx, const struct billing_dispute *d,
	const char *what)
{
	char type[32];
	snprintf(type, sizeof(type), "dispute.%s", what);
	return billing__event_emit(ctx, tx, d->tenant_id, type, dispute.name, d->id, dispute_json,
		d);
}

/* A dispute first heard of: from whichever of its events came first. */
static int create(billing_ctx *ctx, billing_txn *tx, const struct billing_payment *p,
	const billing_provider_event *ev, int status, int64_t now)
{
	struct billing_dispute d;
	char id[BILLING_ID_MAX];
	int rc;

	if (billing__id_new(id, dispute.prefix, now * 1000) < 0)
		return billing__error_set(BILLING_ERROR, NULL, "cannot make an id");
	memset(&d, 0, sizeof(d));
	d.tenant_id = p->tenant_id;
	d.id = id;
	d.payment_id = p->id;
	d.invoice_id = p->invoice_id;
	d.customer_id = p->customer_id;
	d.provider = ctx->provider->name;
	d.provider_ref = ev->dispute_id;
	d.amount = ev->dispute_amount;
	d.currency = ev->currency[0] ? ev->currency : p->currency;
	d.reason = ev->dispute_reason[0] ? ev->dispute_reason : NULL;
	d.status = status ? status : BILLING_DISPUTE_NEEDS_RESPONSE;
	d.evidence_due_by = ev->dispute_evidence_due_by;
	d.closed_at = is_final(d.status) ? now : 0;
	d.provider_event_at = ev->created;
	d.metadata_json = "{}";
	d.created_at = d.updated_at = now;
	d.version = 1;
	if ((rc = ctx->st->record_insert(tx, &dispute, &d)) < 0 ||
	    (rc = emit(ctx, tx, &d, "created")) < 0 ||
	    (is_final(d.status) && (rc = emit(ctx, tx, &d, "closed")) < 0))
		return rc;
	billing__log(ctx, BILLING_LOG_WARN, "payment %s is disputed (%s, %s): dispute %s", p->id,
		ev->dispute_reason, status_names[d.status], id);
	return billing__event_emit(ctx, tx, p->tenant_id, "payment.disputed", "payment", p->id,
		billing__json_payment, p);
}

/* A later event of a dispute we know: applied unless it is older than what
 * we applied, a late "created", or would reopen a closed dispute. */
static int update(billing_ctx *ctx, billing_txn *tx, const struct billing_dispute *cur,
	const billing_provider_event *ev, int status, int64_t now, int *applied)
{
	struct billing_dispute d;
	int rc;

	if (ev->type == BILLING_PROVIDER_EVENT_DISPUTE_CREATED ||
	    ev->created < cur->provider_event_at || is_final(cur->status))
		return BILLING_OK;
	memcpy(&d, cur, sizeof(d));
	if (status)
		d.status = status;
	if (ev->dispute_reason[0])
		d.reason = ev->dispute_reason;
	if (ev->dispute_evidence_due_by)
		d.evidence_due_by = ev->dispute_evidence_due_by;
	if (ev->dispute_amount)
		d.amount = ev->dispute_amount;
	d.provider_event_at = ev->created;
	if (d.status == cur->status && d.evidence_due_by == cur->evidence_due_by &&
	    d.amount == cur->amount && (d.reason == cur->reason ||
	    (d.reason && cur->reason && strcmp(d.reason, cur->reason) == 0)))
		return BILLING_OK;      /* nothing the API shows changes */
	*applied = 1;
	if (is_final(d.status))
		d.closed_at = now;
	d.updated_at = now;
	d.version = cur->version + 1;
	if ((rc = ctx->st->record_update(tx, &dispute, &d, cur->version)) < 0)
		return rc;
	return emit(ctx, tx, &d, is_final(d.status) ? "closed" : "updated");
}

int billing__dispute_apply(billing_ctx *ctx, billing_txn *tx, const struct billing_payment *p,
	const billing_provider_event *ev, int *applied)
{
	struct billing_dispute *cur = NULL;
	int64_t now = billing__now(ctx);
	int status, rc;

	if (!ev->dispute_id[0])
		return billing__error_set(BILLING_EINVALID, "malformed",
			"the dispute event names no dispute");
	status = ev->dispute_status[0] ? status_parse(ev->dispute_status) : 0;
	if (ev->dispute_status[0] && !status)
		billing__log(ctx, BILLING_LOG_WARN, "dispute %s: unknown status %s kept as it was",
			ev->dispute_id, ev->dispute_status);
	if ((rc = find(&cur, ctx, tx, p->tenant_id, ev->dispute_id)) < 0)
		return rc;
	if (!cur) {
		*applied = 1;
		return create(ctx, tx, p, ev, status, now);
	}
	if (strcmp(cur->payment_id, p->id) != 0)
		rc = billing__error_set(BILLING_EINVALID, "payment_mismatch",
			"the dispute event names another payment than the dispute's");
	else
		rc = update(ctx, tx, cur, ev, status, now, applied);
	billing__free(cur);
	return rc;
}

/* ------------------------------------------------------------ the C API */

const char *billing_dispute_status_name(billing_dispute_status status)
{
	return status > 0 && status < STATUS_COUNT ? status_names[status] : NULL;
}

int billing_dispute_get(billing_dispute **out, billing_ctx *ctx, const billing_principal *who,
	const char *id)
{
	return billing__resource_get((void **)out, &billing__dispute_rules, ctx, who, id);
}

int billing_dispute_list(billing_page **out, billing_ctx *ctx, const billing_principal *who,
	const billing_dispute_list_params *params)
{
	billing_dispute_list_params none = BILLING_DISPUTE_LIST_PARAMS_INIT;
	const billing_dispute_list_params *p = params ? params : &none;
	billing_filter filters[3];
	size_t n = 0;
	int rc;

	if ((rc = billing__authorize_resource(ctx, who, &dispute, BILLING_RESOURCE_OP_LIST)) < 0)
		return rc;
	if (p->version == 0 || p->version > BILLING_DISPUTE_LIST_PARAMS_VERSION)
		return billing__error_field(BILLING_EINVALID, "invalid_version", "version",
			"unknown billing_dispute_list_params version %u", p->version);
	memset(filters, 0, sizeof(filters));
	if (p->payment_id) {
		filters[n].field = &fields[PAYMENT];
		filters[n].op = BILLING_FILTER_EQ;
		filters[n++].text = p->payment_id;
	}
	if (p->customer_id) {
		filters[n].field = &fields[CUSTOMER];
		filters[n].op = BILLING_FILTER_EQ;
		filters[n++].text = p->customer_id;
	}
	if (p->status) {
		filters[n].field = &fields[STATUS];
		filters[n].op = BILLING_FILTER_EQ;
		filters[n++].num = p->status;
	}
	return billing__resource_list(out, &billing__dispute_rules, ctx, who, &p->list, filters,
		n);
}

const billing_dispute *billing_page_dispute(const billing_page *page, size_t i)
{
	return billing__resource_page_item(page, &dispute, i);
}

void billing_dispute_free(billing_dispute *d)
{
	billing__free(d);
}

const char *billing_dispute_id(const billing_dispute *d) { return d ? d->id : NULL; }
const char *billing_dispute_tenant_id(const billing_dispute *d)
{
	return d ? d->tenant_id : NULL;
}
const char *billing_dispute_payment_id(const billing_dispute *d)
{
	return d ? d->payment_id : NULL;
}
const char *billing_dispute_invoice_id(const billing_dispute *d)
{
	return d ? d->invoice_id : NULL;
}
const char *billing_dispute_customer_id(const billing_dispute *d)
{
	return d ? d->customer_id : NULL;
}
const char *billing_dispute_provider(const billing_dispute *d) { return d ? d->provider : NULL; }
const char *billing_dispute_provider_ref(const billing_dispute *d)
{
	return d ? d->provider_ref : NULL;
}
int64_t billing_dispute_amount(const billing_dispute *d) { return d ? d->amount : 0; }
const char *billing_dispute_currency(const billing_dispute *d) { return d ? d->currency : NULL; }
const char *billing_dispute_reason(const billing_dispute *d) { return d ? d->reason : NULL; }
billing_dispute_status billing_dispute_status_of(const billing_dispute *d)
{
	return d ? (billing_dispute_status)d->status : 0;
}
int64_t billing_dispute_evidence_due_by(const billing_dispute *d)
{
	return d ? d->evidence_due_by : 0;
}
int64_t billing_dispute_closed_at(const billing_dispute *d) { return d ? d->closed_at : 0; }
const char *billing_dispute_metadata_json(const billing_dispute *d)
{
	return d ? d->metadata_json : NULL;
}
int64_t billing_dispute_created_at(const billing_dispute *d) { return d ? d->created_at : 0; }
int64_t billing_dispute_updated_at(const billing_dispute *d) { return d ? d->updated_at : 0; }
int64_t billing_dispute_version(const billing_dispute *d) { return d ? d->version : 0; }

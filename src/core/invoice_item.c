/*
 * Invoice items (ii_): one-off charges (a setup fee, an extra) on the
 * generic flow (resource.h). An item waits (no invoiceId) until an invoice
 * takes it: its subscription's next invoice when it names one, else the
 * customer's next draft (POST /v1/invoices). On a draft it may still
 * change or go, and the draft's lines follow; once its invoice is
 * finalized it is fixed. This file is its descriptor, its rules and what
 * invoices need of items (invoice_item.h).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/events.h"
#include "core/invoice_internal.h"
#include "core/invoice_item.h"
#include "core/resource.h"
#include "core/resources.h"
#include "core/subscription_internal.h"
#include "core/text.h"

struct invoice_item {
	const char *tenant_id;
	const char *id;
	const char *customer_id;
	const char *subscription_id;     /* NULL: none */
	const char *invoice_id;          /* NULL: waiting for an invoice */
	const char *description;
	const char *currency;
	int64_t amount;                  /* unit_amount x quantity */
	int64_t unit_amount;
	int32_t quantity;
	int64_t period_start;            /* 0: none */
	int64_t period_end;              /* 0: none */
	const char *metadata_json;
	const char *tax_rates_json;      /* JSON txr_ ids; NULL: the invoice's defaults */
	int64_t created_at;
	int64_t updated_at;
	int64_t version;
};

#define DESCRIPTION_MAX 500
#define QUANTITY_MAX 1000000

#define F(member) offsetof(struct invoice_item, member)

/* Indexes into fields[], the bits of a given mask. */
enum {
	TENANT, ID, CUSTOMER, SUBSCRIPTION, INVOICE, DESCRIPTION, CURRENCY, AMOUNT, UNIT_AMOUNT,
	QUANTITY, PERIOD_START, PERIOD_END, METADATA, CREATED_AT, UPDATED_AT, VERSION,
	TAX_RATES, FIELD_COUNT
};

#define CREATE BILLING_API_CREATE
#define UPDATE BILLING_API_UPDATE

static const billing_field fields[FIELD_COUNT] = {
	[TENANT] = { "tenant_id", BILLING_FIELD_TEXT, F(tenant_id),
		BILLING_FIELD_TENANT | BILLING_FIELD_FIXED, NULL, BILLING_JSON_NONE, 0, NULL, 0,
		NULL },
	[ID] = { "id", BILLING_FIELD_TEXT, F(id), BILLING_FIELD_ID | BILLING_FIELD_FIXED,
		"id", BILLING_JSON_STRING, 0, NULL, 0, "The invoice item's id (ii_...)." },
	[CUSTOMER] = { "customer_id", BILLING_FIELD_TEXT, F(customer_id),
		BILLING_FIELD_FIXED | BILLING_FIELD_FILTER, "customerId", BILLING_JSON_STRING,
		CREATE | BILLING_API_REQUIRED, NULL, 0, "The customer billed; fixed at creation." },
	[SUBSCRIPTION] = { "subscription_id", BILLING_FIELD_TEXT, F(subscription_id),
		BILLING_FIELD_FIXED | BILLING_FIELD_FILTER, "subscriptionId", BILLING_JSON_STRING,
		CREATE | BILLING_API_NULLABLE, NULL, 0,
		"A subscription of the customer: the item goes on its next invoice. Fixed at "
		"creation." },
	[INVOICE] = { "invoice_id", BILLING_FIELD_TEXT, F(invoice_id), BILLING_FIELD_FILTER,
		"invoiceId", BILLING_JSON_STRING, CREATE | UPDATE | BILLING_API_NULLABLE, NULL, 0,
		"The invoice it is on: a draft of the customer in its currency when set by you; "
		"null while it waits for one." },
	[DESCRIPTION] = { "description", BILLING_FIELD_TEXT, F(description),
		BILLING_FIELD_SEARCH, "description", BILLING_JSON_STRING,
		CREATE | BILLING_API_REQUIRED | UPDATE, NULL, 0,
		"The line's text on the invoice (1-500 characters)." },
	[CURRENCY] = { "currency", BILLING_FIELD_TEXT, F(currency),
		BILLING_FIELD_FIXED | BILLING_FIELD_FILTER, "currency", BILLING_JSON_STRING,
		CREATE | BILLING_API_REQUIRED, NULL, 0,
		"ISO 4217; the subscription's or draft's currency when it names one." },
	[AMOUNT] = { "amount", BILLING_FIELD_INT64, F(amount), BILLING_FIELD_SORT |
		BILLING_FIELD_RANGE, "amount", BILLING_JSON_INTEGER, CREATE | UPDATE, NULL, 0,
		"Minor units, before tax (negative: a credit). Give amount, or unitAmount and "
		"quantity." },
	[UNIT_AMOUNT] = { "unit_amount", BILLING_FIELD_INT64, F(unit_amount), 0, "unitAmount",
		BILLING_JSON_INTEGER, CREATE | UPDATE, NULL, 0,
		"Minor units per unit; amount = unitAmount x quantity." },
	[QUANTITY] = { "quantity", BILLING_FIELD_INT32, F(quantity), 0, "quantity",
		BILLING_JSON_INTEGER, CREATE | UPDATE, NULL, 0,
		"Units (1 to 1000000; default 1)." },
	[PERIOD_START] = { "period_start", BILLING_FIELD_INT64, F(period_start),
		BILLING_FIELD_ZERO_NULL, "periodStart", BILLING_JSON_TIME, CREATE | UPDATE, NULL, 0,
		"The period the charge is for (with periodEnd); null: none." },
	[PERIOD_END] = { "period_end", BILLING_FIELD_INT64, F(period_end),
		BILLING_FIELD_ZERO_NULL, "periodEnd", BILLING_JSON_TIME, CREATE | UPDATE, NULL, 0,
		"The end of that period (after periodStart)." },
	[METADATA] = { "metadata", BILLING_FIELD_TEXT, F(metadata_json), 0, "metadata",
		BILLING_JSON_METADATA, CREATE | UPDATE, NULL, 0, "Your own string keys and values." },
	[CREATED_AT] = { "created_at", BILLING_FIELD_INT64, F(created_at),
		BILLING_FIELD_FIXED | BILLING_FIELD_SORT | BILLING_FIELD_RANGE, "createdAt",
		BILLING_JSON_TIME, 0, NULL, 0, "When it was created." },
	[UPDATED_AT] = { "updated_at", BILLING_FIELD_INT64, F(updated_at), 0, "updatedAt",
		BILLING_JSON_TIME, 0, NULL, 0, "When it last changed." },
	[VERSION] = { "version", BILLING_FIELD_INT64, F(version), BILLING_FIELD_VERSION,
		"version", BILLING_JSON_INTEGER, 0, NULL, 0,
		"1 at creation, +1 on every change (If-Match / expectedVersion)." },
	/* Issue #22 (core/invoice_tax.c). */
	[TAX_RATES] = { "tax_rates", BILLING_FIELD_TEXT, F(tax_rates_json), 0, "taxRates",
		BILLING_JSON_STRINGS, CREATE | UPDATE | BILLING_API_NULLABLE, NULL, 0,
		"Up to 5 ids of the tenant's active tax rates (txr_...), at most one inclusive: "
		"the taxes of the item's line, in place of the draft invoice's, the "
		"subscription's or the plan's defaultTaxRates; [] or null: those apply." },
};

/* What billing_check verifies: the ids name rows of the tenant. */
static const billing_reference references[] = {
	{ "customer_id", &billing__res_customer },
	{ "subscription_id", &billing__res_subscription },
	{ "invoice_id", &billing__res_invoice },
};

#define R_READ ((1u << BILLING_ROLE_USER) | (1u << BILLING_ROLE_ADMIN))
#define R_WRITE (1u << BILLING_ROLE_ADMIN)

static const billing_resource invoice_item = {
	"invoice_item", "invoice_items", "invoice-items", "InvoiceItem",
	"A one-off charge for a customer (a setup fee): it waits for its subscription's next "
	"invoice or the customer's next draft invoice.",
	"invoice_items", "ii", sizeof(struct invoice_item), fields, FIELD_COUNT,
	NULL, NULL, 0, NULL, 0,
	BILLING_RESOURCE_OP_CRUD, R_READ, R_WRITE, BILLING_RESOURCE_CREATE_EVENT, references,
	sizeof(references) / sizeof(references[0])
};

#define BIT(i) (UINT64_C(1) << (i))

/* ------------------------------------------------------------ items as lines */

void billing__items_free(billing__items *it)
{
	size_t i;
	for (i = 0; i < it->n; i++)
		billing__free(it->items[i]);
	billing__free(it->items);
	billing__free(it->lines);
	memset(it, 0, sizeof(*it));
}

static void line_of(billing_invoice_line *l, const struct invoice_item *r)
{
	memset(l, 0, sizeof(*l));
	l->description = r->description;
	l->plan_id = NULL;
	/* A charge without a period is for the moment it was made. */
	l->period_start = r->period_start ? r->period_start : r->created_at;
	l->period_end = r->period_end ? r->period_end : l->period_start;
	l->quantity = r->quantity;
	l->unit_amount = r->unit_amount;
	l->amount = r->amount;
	/* Its own rates replace every default (invoice_tax.c). */
	l->tax_rates = r->tax_rates_json;
}

/* Appends a copy of the record r (or, with own, r itself) to it. */
static int items_push(billing__items *it, const struct invoice_item *r)
{
	struct invoice_item *copy;
	if (it->n == it->cap) {
		size_t cap = it->cap ? it->cap * 2 : 4;
		void **items = billing__realloc(it->items, cap * sizeof(*items));
		billing_invoice_line *lines;
		if (!items)
			return billing__error_set(BILLING_ENOMEM, NULL, NULL);
		it->items = items;
		if ((lines = billing__realloc(it->lines, cap * sizeof(*lines))) == NULL)
			return billing__error_set(BILLING_ENOMEM, NULL, NULL);
		it->lines = lines;
		it->cap = cap;
	}
	if ((copy = billing__record_dup(&invoice_item, r)) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	it->items[it->n] = copy;
	line_of(&it->lines[it->n], copy);
	it->n++;
	return BILLING_OK;
}

/* Removes the item id from it, if there. */
static void items_drop(billing__items *it, const char *id)
{
	size_t i;
	for (i = 0; i < it->n; i++) {
		if (strcmp(((struct invoice_item *)it->items[i])->id, id) != 0)
			continue;
		billing__free(it->items[i]);
		memmove(&it->items[i], &it->items[i + 1], (it->n - i - 1) * sizeof(*it->items));
		memmove(&it->lines[i], &it->lines[i + 1], (it->n - i - 1) * sizeof(*it->lines));
		it->n--;
		return;
	}
}

struct select {
	billing__items *out;
	const char *subscription_id;    /* pending: NULL = of no subscription */
	const char *currency;
	bool pending;
};

static int item_row(void *payload, const void *record)
{
	struct select *s = payload;
	const struct invoice_item *r = record;
	if (s->pending) {
		if (r->invoice_id || strcmp(r->currency, s->currency) != 0)
			return BILLING_OK;
		if (!s->subscription_id != !r->subscription_id)
			return BILLING_OK;
	}
	return items_push(s->out, r);
}

int billing__items_of_invoice(billing__items *out, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const char *invoice_id)
{
	billing_filter f = { &fields[INVOICE], BILLING_FILTER_EQ, invoice_id, 0, NULL };
	struct select s = { out, NULL, NULL, false };
	int rc;
	memset(out, 0, sizeof(*out));
	if ((rc = billing__list_all(ctx->st, tx, &invoice_item, tenant_id, &f, 1, item_row,
		&s)) < 0)
		billing__items_free(out);
	return rc;
}

int billing__items_pending(billing__items *out, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const char *customer_id, const char *subscription_id,
	const char *currency)
{
	billing_filter f = { subscription_id ? &fields[SUBSCRIPTION] : &fields[CUSTOMER],
		BILLING_FILTER_EQ, subscription_id ? subscription_id : customer_id, 0, NULL };
	struct select s = { out, subscription_id, currency, true };
	int rc;
	memset(out, 0, sizeof(*out));
	if ((rc = billing__list_all(ctx->st, tx, &invoice_item, tenant_id, &f, 1, item_row,
		&s)) < 0)
		billing__items_free(out);
	return rc;
}

static cJSON *item_json(const void *rec)
{
	return billing__record_json(&invoice_item, rec);
}

int billing__items_attach(billing_ctx *ctx, billing_txn *tx, billing__items *it,
	const char *invoice_id)
{
	int64_t now = billing__now(ctx);
	size_t i;
	int rc = BILLING_OK;

	for (i = 0; rc == BILLING_OK && i < it->n; i++) {
		struct invoice_item *r = it->items[i];
		int64_t old = r->version;
		r->invoice_id = invoice_id;
		r->updated_at = now;
		r->version++;
		/* In a batch of the billing run the invoice may still wait to be
		 * written: billing__update writes it first. */
		if ((rc = billing__update(ctx->st, tx, &invoice_item, r, old)) == BILLING_OK)
			rc = billing__event_emit(ctx, tx, r->tenant_id, "invoice_item.updated",
				invoice_item.name, r->id, item_json, r);
		/* The record's invoice id is borrowed for the call only. */
		r->invoice_id = NULL;
	}
	return rc;
}

struct waiting_scan {
	int (*cb)(void *payload, const char *subscription_id);
	void *payload;
};

static int waiting_row(void *payload, const void *record)
{
	struct waiting_scan *w = payload;
	return w->cb(w->payload, ((const struct invoice_item *)record)->subscription_id);
}

int billing__items_waiting_scan(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	unsigned int limit, int (*cb)(void *payload, const char *subscription_id),
	void *payload, int64_t *total)
{
	/* invoice_id IS NULL */
	billing_filter f = { &fields[INVOICE], BILLING_FILTER_EQ, NULL, 0, NULL };
	struct waiting_scan w = { cb, payload };
	billing_list_query q;

	memset(&q, 0, sizeof(q));
	q.filters = &f;
	q.filter_count = 1;
	q.limit = limit;
	q.total = total;
	return billing__list_records(ctx->st, tx, &invoice_item, tenant_id, &q, waiting_row, &w);
}

/* ------------------------------------------------------------ rules */

/* The flow's own copy of a string of the record (resource.h: check may
 * rewrite it in place as long as it gets no longer). */
static char *own(const char *s)
{
	return (char *)(uintptr_t)s;
}

struct sub_row {
	char customer_id[BILLING_ID_MAX];
	char currency[4];
	int status;
};

static int subscription_row(void *payload, const void *record)
{
	const billing_subscription_record *r = record;
	struct sub_row *s = payload;
	snprintf(s->customer_id, sizeof(s->customer_id), "%s", r->customer_id);
	snprintf(s->currency, sizeof(s->currency), "%s", r->currency ? r->currency : "");
	s->status = r->status;
	return BILLING_OK;
}

struct inv_row {
	char customer_id[BILLING_ID_MAX];
	char currency[4];
	int status;
};

static int invoice_row(void *payload, const void *record)
{
	const billing_invoice_record *r = record;
	struct inv_row *s = payload;
	snprintf(s->customer_id, sizeof(s->customer_id), "%s", r->customer_id);
	snprintf(s->currency, sizeof(s->currency), "%s", r->currency);
	s->status = r->status;
	return BILLING_OK;
}

static int none_row(void *payload, const void *record)
{
	(void)payload;
	(void)record;
	return BILLING_OK;
}

/* A read that found nothing: whether so (the error cleared), or rc. */
static int missing(int rc, bool *absent)
{
	*absent = rc == BILLING_ENOTFOUND;
	if (*absent) {
		billing_error_clear();
		return BILLING_OK;
	}
	return rc;
}

/* The invoice an item is on must still be a draft for it to change. */
static int on_draft_only(billing_ctx *ctx, billing_txn *tx, const struct invoice_item *cur)
{
	struct inv_row inv;
	int rc;
	if (!cur->invoice_id)
		return BILLING_OK;
	if ((rc = billing__get(ctx->st, tx, &billing__res_invoice, cur->tenant_id,
		cur->invoice_id, invoice_row, &inv)) < 0)
		return rc;
	if (inv.status != BILLING_INVOICE_DRAFT)
		return billing__error_set(BILLING_ECONFLICT, "invoice_item_invoiced",
			"the invoice item is on invoice %s, which is finalized", cur->invoice_id);
	return BILLING_OK;
}

/* The draft invoice_id's lines made again: its items, less the item id,
 * plus put when it is on the draft. */
static int refresh(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *invoice_id, const char *id, const struct invoice_item *put)
{
	billing__items it;
	int rc;
	if ((rc = billing__items_of_invoice(&it, ctx, tx, tenant_id, invoice_id)) < 0)
		return rc;
	items_drop(&it, id);
	if (put && put->invoice_id && strcmp(put->invoice_id, invoice_id) == 0)
		rc = items_push(&it, put);
	if (rc == BILLING_OK)
		rc = billing__invoice_draft_refresh(ctx, tx, tenant_id, invoice_id, &it);
	billing__items_free(&it);
	return rc;
}

/* amount, or unitAmount x quantity (quantity 1 unless given). */
static void check_amounts(billing__checks *ck, struct invoice_item *t, uint64_t given,
	bool create)
{
	bool amount = given & BIT(AMOUNT), per_unit = given & (BIT(UNIT_AMOUNT) | BIT(QUANTITY));

	if (amount && per_unit) {
		billing__check_fail(ck, "amount", "give amount, or unitAmount and quantity, not both");
		return;
	}
	if ((given & BIT(QUANTITY)) && (t->quantity < 1 || t->quantity > QUANTITY_MAX)) {
		billing__check_fail(ck, "quantity", "must be between 1 and 1000000");
		return;
	}
	if (amount) {
		t->unit_amount = t->amount;
		t->quantity = 1;
		return;
	}
	if (create && !(given & BIT(UNIT_AMOUNT))) {
		billing__check_fail(ck, "amount", "is required (or unitAmount and quantity)");
		return;
	}
	if (!per_unit)
		return;
	if (create && !(given & BIT(QUANTITY)))
		t->quantity = 1;
	if (__builtin_mul_overflow(t->unit_amount, (int64_t)t->quantity, &t->amount))
		billing__check_fail(ck, "unitAmount", "unitAmount x quantity does not fit an amount");
}

/* The subscription must be the customer's, live, in the item's currency. */
static int check_subscription(billing__checks *ck, billing_ctx *ctx, billing_txn *tx,
	const struct invoice_item *t)
{
	struct sub_row sub;
	bool absent;
	int rc = missing(billing__read(ctx->st, tx, &billing__res_subscription, t->tenant_id,
		t->subscription_id, BILLING_LOCK_SHARE, subscription_row, &sub), &absent);
	if (rc < 0)
		return rc;
	if (absent || strcmp(sub.customer_id, t->customer_id) != 0)
		billing__check_fail(ck, "subscriptionId", "no such subscription of this customer");
	else if (billing__status_in(&billing__sub_ended, sub.status))
		billing__check_fail(ck, "subscriptionId", "the subscription has ended");
	else if (strcmp(sub.currency, t->currency) != 0)
		billing__check_fail(ck, "currency", "must be the subscription's currency (%s)",
			sub.currency);
	return BILLING_OK;
}

/* The invoice must be a draft of the customer in the item's currency. */
static int check_invoice(billing__checks *ck, billing_ctx *ctx, billing_txn *tx,
	const struct invoice_item *t)
{
	struct inv_row inv;
	bool absent;
	int rc = missing(billing__get(ctx->st, tx, &billing__res_invoice, t->tenant_id,
		t->invoice_id, invoice_row, &inv), &absent);
	if (rc < 0)
		return rc;
	if (absent || strcmp(inv.customer_id, t->customer_id) != 0)
		billing__check_fail(ck, "invoiceId", "no such invoice of this customer");
	else if (inv.status != BILLING_INVOICE_DRAFT)
		billing__check_fail(ck, "invoiceId", "must be a draft invoice");
	else if (strcmp(inv.currency, t->currency) != 0)
		billing__check_fail(ck, "currency", "must be the invoice's currency (%s)",
			inv.currency);
	return BILLING_OK;
}

static int check(billing_ctx *ctx, billing_txn *tx, const void *current, void *rec,
	uint64_t given)
{
	const struct invoice_item *cur = current;
	struct invoice_item *t = rec;
	billing__checks ck = BILLING__CHECKS_INIT;
	bool absent;
	int rc;

	if (cur && (rc = on_draft_only(ctx, tx, cur)) < 0)
		return rc;
	if (given & BIT(DESCRIPTION)) {
		char *trimmed = NULL;
		if ((rc = billing__check_text(&ck, "description", t->description,
			BILLING__TEXT_REQUIRED, 1, DESCRIPTION_MAX, &trimmed)) < 0)
			return rc;
		if (trimmed)
			memmove(own(t->description), trimmed, strlen(trimmed) + 1);
		billing__free(trimmed);
	}
	if (given & BIT(CURRENCY)) {
		char code[4];
		if (billing_currency_normalize(code, t->currency) < 0) {
			billing_error_clear();
			billing__check_fail(&ck, "currency", "must be an ISO 4217 currency code");
		} else {
			memcpy(own(t->currency), code, sizeof(code));
		}
	}
	check_amounts(&ck, t, given, cur == NULL);
	if ((given & BIT(TAX_RATES)) && t->tax_rates_json) {
		/* The canonical ids: the record points at them until the call's
		 * write and answer, within this call on this thread. */
		static _Thread_local char rates[BILLING__TAX_RATES_TEXT];
		int empty;
		if ((rc = billing__tax_rates_check(rates, &empty, ctx, tx, t->tenant_id,
			t->tax_rates_json, "taxRates")) < 0)
			return rc;
		t->tax_rates_json = empty ? NULL : rates;
	}
	if ((given & (BIT(PERIOD_START) | BIT(PERIOD_END))) &&
	    (!t->period_start != !t->period_end || t->period_end < t->period_start))
		billing__check_fail(&ck, "periodEnd",
			"periodStart and periodEnd go together, the end not before the start");
	if (!cur) {
		/* An item of a subscription is added under the subscription's due
		 * work lock (txn.h, step 2), as a pending line is: a renewal under
		 * way (a batch of the billing run read the tenant's waiting items
		 * once) finishes first, and the item waits for the next invoice.
		 * The customer is read without a lock (txn.h: the foreign key keeps
		 * it; a share lock here would wait on an invoice's balance while
		 * holding what that invoice's finalization needs). */
		if (t->subscription_id && (rc = billing__due_lock(ctx->st, tx, t->tenant_id,
			BILLING__DUE_SUBSCRIPTION, t->subscription_id, 0)) < 0)
			return rc;
		rc = missing(billing__read(ctx->st, tx, &billing__res_customer, t->tenant_id,
			t->customer_id, BILLING_LOCK_NONE, none_row, NULL), &absent);
		if (rc < 0)
			return rc;
		if (absent)
			billing__check_fail(&ck, "customerId", "no such customer in this tenant");
		else if (t->subscription_id && (rc = check_subscription(&ck, ctx, tx, t)) < 0)
			return rc;
	}
	if (t->invoice_id && (given & BIT(INVOICE)) && !ck.count &&
	    (rc = check_invoice(&ck, ctx, tx, t)) < 0)
		return rc;
	if ((rc = billing__checks_finish(&ck, "invoice item")) < 0)
		return rc;
	/* The drafts it leaves and joins show it at once. */
	if (cur && cur->invoice_id &&
	    (rc = refresh(ctx, tx, t->tenant_id, cur->invoice_id, t->id, t)) < 0)
		return rc;
	if (t->invoice_id && (!cur || !cur->invoice_id || strcmp(cur->invoice_id, t->invoice_id) != 0))
		rc = refresh(ctx, tx, t->tenant_id, t->invoice_id, t->id, t);
	return rc;
}

static int before_delete(billing_ctx *ctx, billing_txn *tx, const void *current)
{
	const struct invoice_item *cur = current;
	int rc;
	if ((rc = on_draft_only(ctx, tx, cur)) < 0 || !cur->invoice_id)
		return rc;
	return refresh(ctx, tx, cur->tenant_id, cur->invoice_id, cur->id, NULL);
}

const billing__rules billing__invoice_item_rules = { &invoice_item, check, before_delete, NULL,
	NULL, NULL, NULL, NULL, NULL, NULL };

/* ------------------------------------------------------------ the C API */

/* The public object (billing/invoice_item.h): the record first, then its
 * metadata decoded for the getters (billing__record_publish). */
struct billing_invoice_item {
	struct invoice_item r;
	billing__metadata metadata;
};

#define ITEM_BITS_V1 0x7fu       /* the BILLING_INVOICE_ITEM_* bits of version 1 */
#define ITEM_BITS 0xffu          /* and of version 2 */

static int decode_obj(void *obj)
{
	struct billing_invoice_item *t = obj;
	memset(&t->metadata, 0, sizeof(t->metadata));
	return billing__metadata_decode(&t->metadata, t->r.metadata_json ? t->r.metadata_json :
		"{}");
}

static void item_free(void *item)
{
	billing_invoice_item_free(item);
}

static int publish(billing_invoice_item **out, int rc)
{
	if (rc < 0)
		return rc;
	return billing__record_publish((void **)out, &invoice_item, sizeof(**out), decode_obj,
		item_free);
}

static int check_version(unsigned int version, unsigned int known, const char *what)
{
	if (version == 0 || version > known)
		return billing__error_field(BILLING_EINVALID, "invalid_version", "version",
			"unknown %s version %u", what, version);
	return BILLING_OK;
}

/* The record and mask of params for the BILLING_INVOICE_ITEM_* bits;
 * *metadata is new (or NULL). */
static int to_record(const billing_invoice_item_params *p, unsigned int bits,
	struct invoice_item *r, uint64_t *given, char **metadata,
	char rates[BILLING__TAX_RATES_TEXT])
{
	billing__checks ck = BILLING__CHECKS_INIT;
	int rc;

	*given = 0;
	*metadata = NULL;
	if (bits & ~(p->version >= 2 ? ITEM_BITS : ITEM_BITS_V1))
		return billing__error_field(BILLING_EINVALID, "invalid", "fields",
			"unknown field bits");
	/* Version 2: the ids as the JSON array the record holds (checked by
	 * the rules in the call's transaction). */
	if (bits & BILLING_INVOICE_ITEM_TAX_RATES) {
		if ((rc = billing__tax_rate_ids_json(rates, p->tax_rates, p->tax_rate_count,
			"taxRates")) < 0)
			return rc;
		r->tax_rates_json = rates;
		*given |= BIT(TAX_RATES);
	}
	if (bits & BILLING_INVOICE_ITEM_INVOICE) {
		r->invoice_id = p->invoice_id;
		*given |= BIT(INVOICE);
	}
	if (bits & BILLING_INVOICE_ITEM_DESCRIPTION) {
		r->description = p->description;
		*given |= BIT(DESCRIPTION);
	}
	if (bits & BILLING_INVOICE_ITEM_AMOUNT) {
		r->amount = p->amount;
		*given |= BIT(AMOUNT);
	}
	if (bits & BILLING_INVOICE_ITEM_UNIT_AMOUNT) {
		r->unit_amount = p->unit_amount;
		*given |= BIT(UNIT_AMOUNT);
	}
	if (bits & BILLING_INVOICE_ITEM_QUANTITY) {
		r->quantity = p->quantity;
		*given |= BIT(QUANTITY);
	}
	if (bits & BILLING_INVOICE_ITEM_PERIOD) {
		r->period_start = p->period_start;
		r->period_end = p->period_end;
		*given |= BIT(PERIOD_START) | BIT(PERIOD_END);
	}
	if (bits & BILLING_INVOICE_ITEM_METADATA) {
		if ((rc = billing__metadata_encode(&ck, p->metadata, p->metadata_count,
			metadata)) < 0)
			return rc;
		r->metadata_json = *metadata;
		*given |= BIT(METADATA);
	}
	if ((rc = billing__checks_finish(&ck, "invoice item")) < 0) {
		billing__free(*metadata);
		*metadata = NULL;
	}
	return rc;
}

int billing_invoice_item_create(billing_invoice_item **out, billing_ctx *ctx,
	const billing_principal *who, const billing_invoice_item_params *p,
	const billing_call_options *opts)
{
	struct invoice_item r;
	unsigned int bits;
	char *metadata = NULL, rates[BILLING__TAX_RATES_TEXT];
	uint64_t given;
	int rc;

	if ((rc = billing__authorize_resource(ctx, who, &invoice_item,
		BILLING_RESOURCE_OP_CREATE)) < 0)
		return rc;
	BILLING__ASSERT_ARG(p, "params");
	if ((rc = check_version(p->version, BILLING_INVOICE_ITEM_PARAMS_VERSION,
		"billing_invoice_item_params")) < 0)
		return rc;
	/* What is given: the bits named, and every member that is set. */
	bits = p->fields | BILLING_INVOICE_ITEM_DESCRIPTION;
	if (p->invoice_id)
		bits |= BILLING_INVOICE_ITEM_INVOICE;
	if (p->amount)
		bits |= BILLING_INVOICE_ITEM_AMOUNT;
	if (p->unit_amount)
		bits |= BILLING_INVOICE_ITEM_UNIT_AMOUNT;
	if (p->quantity)
		bits |= BILLING_INVOICE_ITEM_QUANTITY;
	/* None of them: an amount of 0 (the rules decide). */
	if (!(bits & (BILLING_INVOICE_ITEM_AMOUNT | BILLING_INVOICE_ITEM_UNIT_AMOUNT |
	    BILLING_INVOICE_ITEM_QUANTITY)))
		bits |= BILLING_INVOICE_ITEM_AMOUNT;
	if (p->period_start || p->period_end)
		bits |= BILLING_INVOICE_ITEM_PERIOD;
	if (p->metadata_count)
		bits |= BILLING_INVOICE_ITEM_METADATA;
	if (p->version >= 2 && p->tax_rate_count)
		bits |= BILLING_INVOICE_ITEM_TAX_RATES;
	memset(&r, 0, sizeof(r));
	if ((rc = to_record(p, bits, &r, &given, &metadata, rates)) < 0)
		return rc;
	r.customer_id = p->customer_id;
	r.subscription_id = p->subscription_id;
	r.currency = p->currency;
	given |= BIT(CUSTOMER) | BIT(CURRENCY) | (p->subscription_id ? BIT(SUBSCRIPTION) : 0);
	rc = publish(out, billing__resource_create((void **)out, &billing__invoice_item_rules, ctx,
		who, &r, given, opts));
	billing__free(metadata);
	return rc;
}

int billing_invoice_item_get(billing_invoice_item **out, billing_ctx *ctx,
	const billing_principal *who, const char *id)
{
	return publish(out, billing__resource_get((void **)out, &billing__invoice_item_rules, ctx,
		who, id));
}

int billing_invoice_item_update(billing_invoice_item **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_invoice_item_params *p,
	const billing_call_options *opts)
{
	struct invoice_item r;
	char *metadata = NULL, rates[BILLING__TAX_RATES_TEXT];
	uint64_t given;
	int rc;

	if ((rc = billing__authorize_resource(ctx, who, &invoice_item,
		BILLING_RESOURCE_OP_UPDATE)) < 0)
		return rc;
	BILLING__ASSERT_ARG(p, "params");
	if ((rc = check_version(p->version, BILLING_INVOICE_ITEM_PARAMS_VERSION,
		"billing_invoice_item_params")) < 0)
		return rc;
	if (!(p->fields & ITEM_BITS))
		return billing__error_field(BILLING_EINVALID, "invalid", "fields",
			"give at least one field to change");
	memset(&r, 0, sizeof(r));
	if ((rc = to_record(p, p->fields, &r, &given, &metadata, rates)) < 0)
		return rc;
	rc = publish(out, billing__resource_update((void **)out, &billing__invoice_item_rules, ctx,
		who, id, &r, given, p->expected_version, opts));
	billing__free(metadata);
	return rc;
}

int billing_invoice_item_delete(billing_ctx *ctx, const billing_principal *who, const char *id,
	int64_t expected_version)
{
	return billing__resource_delete(&billing__invoice_item_rules, ctx, who, id,
		expected_version);
}

int billing_invoice_item_list(billing_page **out, billing_ctx *ctx, const billing_principal *who,
	const billing_invoice_item_list_params *params)
{
	billing_invoice_item_list_params none = BILLING_INVOICE_ITEM_LIST_PARAMS_INIT;
	const billing_invoice_item_list_params *p = params ? params : &none;
	const char *text[4];
	static const int which[4] = { CUSTOMER, SUBSCRIPTION, INVOICE, CURRENCY };
	billing_filter filters[4];
	size_t i, n = 0;
	int rc;

	if ((rc = billing__authorize_resource(ctx, who, &invoice_item,
		BILLING_RESOURCE_OP_LIST)) < 0 ||
	    (rc = check_version(p->version, BILLING_INVOICE_ITEM_LIST_PARAMS_VERSION,
		"billing_invoice_item_list_params")) < 0)
		return rc;
	text[0] = p->customer_id;
	text[1] = p->subscription_id;
	text[2] = p->invoice_id;
	text[3] = p->currency;
	memset(filters, 0, sizeof(filters));
	for (i = 0; i < 4; i++) {
		if (!text[i])
			continue;
		filters[n].field = &fields[which[i]];
		filters[n].op = BILLING_FILTER_EQ;
		filters[n++].text = text[i];
	}
	if ((rc = billing__resource_list(out, &billing__invoice_item_rules, ctx, who, &p->list,
		filters, n)) < 0)
		return rc;
	if ((rc = billing__page_publish(*out, &invoice_item, sizeof(struct billing_invoice_item),
		decode_obj, item_free)) < 0) {
		billing_page_free(*out);
		*out = NULL;
	}
	return rc;
}

const billing_invoice_item *billing_page_invoice_item(const billing_page *page, size_t i)
{
	return billing__resource_page_item(page, &invoice_item, i);
}

void billing_invoice_item_free(billing_invoice_item *t)
{
	if (t)
		billing__metadata_free(&t->metadata);
	billing__free(t);
}

size_t billing_invoice_item_metadata_count(const billing_invoice_item *t)
{
	return t ? t->metadata.count : 0;
}

const billing_metadata_entry *billing_invoice_item_metadata_at(const billing_invoice_item *t,
	size_t i)
{
	return t && i < t->metadata.count ? &t->metadata.entries[i] : NULL;
}

const char *billing_invoice_item_metadata_get(const billing_invoice_item *t, const char *key)
{
	return t ? billing__metadata_get(&t->metadata, key) : NULL;
}

#define STR_GETTER(name, member) \
	const char *billing_invoice_item_##name(const billing_invoice_item *t) \
	{ \
		return t ? t->r.member : NULL; \
	}
#define NUM_GETTER(type, name, member) \
	type billing_invoice_item_##name(const billing_invoice_item *t) \
	{ \
		return t ? t->r.member : 0; \
	}

STR_GETTER(id, id)
STR_GETTER(tenant_id, tenant_id)
STR_GETTER(customer_id, customer_id)
STR_GETTER(subscription_id, subscription_id)
STR_GETTER(invoice_id, invoice_id)
STR_GETTER(description, description)
STR_GETTER(currency, currency)
STR_GETTER(metadata_json, metadata_json)
STR_GETTER(tax_rates, tax_rates_json)
NUM_GETTER(int64_t, amount, amount)
NUM_GETTER(int64_t, unit_amount, unit_amount)
NUM_GETTER(int32_t, quantity, quantity)
NUM_GETTER(int64_t, period_start, period_start)
NUM_GETTER(int64_t, period_end, period_end)
NUM_GETTER(int64_t, created_at, created_at)
NUM_GETTER(int64_t, updated_at, updated_at)
NUM_GETTER(int64_t, version, version)

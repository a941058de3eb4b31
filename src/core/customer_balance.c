/*
 * Customer balances (billing/customer_balance.h): the balance transaction
 * ("cbtxn_...") is an object on the generic flow, append-only (create and
 * list; a manual create is an adjustment), and this file holds its
 * descriptor and rules, the balances the customer row carries, and what
 * invoicing calls to apply a balance (core/customer_balance.h).
 *
 * Where the balance lives: the customer's row has a column "balances", a
 * JSON object {"EUR": -1189} of exact integers, which the customer's own
 * writes never touch (FIXED in its descriptor) and which only this file
 * writes, through a descriptor of its own over the same row (tenant, id,
 * balances; no version, so a balance change leaves the customer's version
 * and ETag alone). Every change reads that row FOR UPDATE first, so
 * concurrent changes of one customer's balance queue behind each other and
 * none is lost; the transaction written with the change records the
 * balance after it (endingBalance), and billing_check verifies that each
 * balance is the sum of its transactions.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "core/customer_balance.h"
#include "core/events.h"
#include "core/json_exact.h"
#include "core/resource.h"
#include "core/resources.h"
#include "core/text.h"

struct billing_balance_transaction {
	const char *tenant_id;
	const char *id;
	const char *customer_id;
	int type;                    /* billing_balance_transaction_type */
	int64_t amount;
	const char *currency;
	const char *description;     /* NULL: none */
	const char *invoice_id;      /* NULL: none */
	const char *credit_note_id;  /* NULL: none */
	int64_t ending_balance;
	const char *metadata_json;
	int64_t created_at;
	int64_t updated_at;
	int64_t version;
};

#define DESCRIPTION_MAX 500

#define F(member) offsetof(struct billing_balance_transaction, member)

/* Indexes into fields[]. */
enum {
	TENANT, ID, CUSTOMER, TYPE, AMOUNT, CURRENCY, DESCRIPTION, INVOICE, CREDIT_NOTE, ENDING,
	METADATA, CREATED_AT, UPDATED_AT, VERSION, FIELD_COUNT
};

/* billing_balance_transaction_type by value; Stripe's names. */
static const char *const type_names[] = {
	"", "adjustment", "applied_to_invoice", "credit_note", "proration_credit",
	"invoice_overpaid", "unapplied_from_invoice", NULL
};

#define TYPE_COUNT 7

static const billing_field fields[FIELD_COUNT] = {
	[TENANT] = { "tenant_id", BILLING_FIELD_TEXT, F(tenant_id),
		BILLING_FIELD_TENANT | BILLING_FIELD_FIXED, NULL, BILLING_JSON_NONE, 0, NULL, 0,
		NULL },
	[ID] = { "id", BILLING_FIELD_TEXT, F(id), BILLING_FIELD_ID | BILLING_FIELD_FIXED,
		"id", BILLING_JSON_STRING, 0, NULL, 0,
		"The balance transaction's id (cbtxn_...)." },
	[CUSTOMER] = { "customer_id", BILLING_FIELD_TEXT, F(customer_id),
		BILLING_FIELD_FIXED | BILLING_FIELD_FILTER, "customerId", BILLING_JSON_STRING,
		BILLING_API_CREATE | BILLING_API_REQUIRED, NULL, 0,
		"The customer whose balance it changes (the path's id)." },
	[TYPE] = { "type", BILLING_FIELD_INT, F(type), BILLING_FIELD_FIXED | BILLING_FIELD_FILTER,
		"type", BILLING_JSON_ENUM, 0, type_names, 0,
		"adjustment (by hand), applied_to_invoice, unapplied_from_invoice (a voided "
		"invoice), proration_credit, credit_note or invoice_overpaid." },
	[AMOUNT] = { "amount", BILLING_FIELD_INT64, F(amount),
		BILLING_FIELD_FIXED | BILLING_FIELD_SORT | BILLING_FIELD_RANGE, "amount",
		BILLING_JSON_INTEGER, BILLING_API_CREATE | BILLING_API_REQUIRED, NULL, 0,
		"Minor units, not 0: negative is credit to the customer, positive a debit." },
	[CURRENCY] = { "currency", BILLING_FIELD_TEXT, F(currency),
		BILLING_FIELD_FIXED | BILLING_FIELD_FILTER, "currency", BILLING_JSON_STRING,
		BILLING_API_CREATE | BILLING_API_REQUIRED, NULL, 0, "ISO 4217 (\"EUR\")." },
	[DESCRIPTION] = { "description", BILLING_FIELD_TEXT, F(description),
		BILLING_FIELD_FIXED | BILLING_FIELD_SEARCH, "description", BILLING_JSON_STRING,
		/* null on what invoicing writes; an adjustment's rules require it */
		BILLING_API_CREATE | BILLING_API_REQUIRED | BILLING_API_NULLABLE, NULL, 0,
		"Why (1-500 characters); required for an adjustment, null on the others." },
	[INVOICE] = { "invoice_id", BILLING_FIELD_TEXT, F(invoice_id),
		BILLING_FIELD_FIXED | BILLING_FIELD_FILTER, "invoiceId", BILLING_JSON_STRING,
		BILLING_API_NULLABLE, NULL, 0,
		"The invoice it was applied to or unapplied from; null for none." },
	[CREDIT_NOTE] = { "credit_note_id", BILLING_FIELD_TEXT, F(credit_note_id),
		BILLING_FIELD_FIXED, "creditNoteId", BILLING_JSON_STRING, BILLING_API_NULLABLE, NULL,
		0, "The credit note it came from; null for none." },
	[ENDING] = { "ending_balance", BILLING_FIELD_INT64, F(ending_balance),
		BILLING_FIELD_FIXED, "endingBalance", BILLING_JSON_INTEGER, 0, NULL, 0,
		"The customer's balance in the currency after it." },
	[METADATA] = { "metadata", BILLING_FIELD_TEXT, F(metadata_json), BILLING_FIELD_FIXED,
		"metadata", BILLING_JSON_METADATA, BILLING_API_CREATE, NULL, 0,
		"Your own string keys and values." },
	[CREATED_AT] = { "created_at", BILLING_FIELD_INT64, F(created_at),
		BILLING_FIELD_FIXED | BILLING_FIELD_SORT | BILLING_FIELD_RANGE, "createdAt",
		BILLING_JSON_TIME, 0, NULL, 0, "When it was written." },
	[UPDATED_AT] = { "updated_at", BILLING_FIELD_INT64, F(updated_at), 0, "updatedAt",
		BILLING_JSON_TIME, 0, NULL, 0, "The same as createdAt: it never changes." },
	[VERSION] = { "version", BILLING_FIELD_INT64, F(version), BILLING_FIELD_VERSION,
		"version", BILLING_JSON_INTEGER, 0, NULL, 0, "Always 1." },
};

static const billing_reference references[] = {
	{ "customer_id", &billing__res_customer },
	{ "invoice_id", &billing__res_invoice },
};

#define R_READ ((1u << BILLING_ROLE_USER) | (1u << BILLING_ROLE_ADMIN))
#define R_WRITE (1u << BILLING_ROLE_ADMIN)

static const billing_resource balance_transaction = {
	"customer_balance_transaction", "customer_balance_transactions",
	"customer-balance-transactions", "CustomerBalanceTransaction",
	"A change of a customer's balance in one currency; append-only. Served below the "
	"customer: GET and POST /v1/customers/{id}/balance-transactions.",
	"customer_balance_transactions", "cbtxn", sizeof(struct billing_balance_transaction),
	fields, FIELD_COUNT, NULL, NULL, 0, NULL, 0,
	BILLING_RESOURCE_OP_CREATE | BILLING_RESOURCE_OP_LIST,
	R_READ, R_WRITE, BILLING_RESOURCE_CREATE_EVENT, references,
	sizeof(references) / sizeof(references[0])
};

#define BIT(i) (UINT64_C(1) << (i))

/* ------------------------------------------------------------ the balances row */

/* The customer's row as this file sees it: only its balances. No version
 * field: writing it leaves the customer's version alone. */
struct balances_row {
	const char *tenant_id;
	const char *id;
	const char *balances_json;   /* NULL or "{}": none */
};

static const billing_field balances_fields[] = {
	{ "tenant_id", BILLING_FIELD_TEXT, offsetof(struct balances_row, tenant_id),
		BILLING_FIELD_TENANT, NULL, BILLING_JSON_NONE, 0, NULL, 0, NULL },
	{ "id", BILLING_FIELD_TEXT, offsetof(struct balances_row, id), BILLING_FIELD_ID, "id",
		BILLING_JSON_STRING, 0, NULL, 0, NULL },
	{ "balances", BILLING_FIELD_TEXT, offsetof(struct balances_row, balances_json), 0,
		"balances", BILLING_JSON_OBJECT, 0, NULL, 0, NULL },
};

static const billing_resource balances_res = {
	.name = "customer_balances", .plural = "customer_balances", .table = "customers",
	.prefix = "cus", .record_size = sizeof(struct balances_row), .fields = balances_fields,
	.field_count = sizeof(balances_fields) / sizeof(balances_fields[0]),
};

/* The balances of a customer, parsed. */
struct balances {
	cJSON *obj;                  /* {"EUR": -1189}, owned */
};

static int balances_row_cb(void *payload, const void *record)
{
	struct balances *b = payload;
	const char *text = ((const struct balances_row *)record)->balances_json;
	if (!text || !*text)
		text = "{}";
	cJSON_Delete(b->obj);
	if ((b->obj = billing__jx_parse(text, strlen(text), NULL)) == NULL || !cJSON_IsObject(b->obj))
		return billing__error_set(BILLING_ERROR, "corrupt",
			"a customer's balances are not a JSON object");
	return BILLING_OK;
}

/* The customer's balances, the row held as lock says (BILLING_LOCK_UPDATE
 * but for a preview's read-only transaction). */
static int balances_read_locked(struct balances *b, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const char *customer_id, unsigned int lock)
{
	b->obj = NULL;
	if (!billing__id_arg_ok(customer_id, "cus"))
		return billing__not_found("customer");
	return ctx->st->record_read(tx, &balances_res, tenant_id, customer_id, lock,
		balances_row_cb, b);
}

/* The customer's balances, the row held for update. */
static int balances_read(struct balances *b, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const char *customer_id)
{
	return balances_read_locked(b, ctx, tx, tenant_id, customer_id, BILLING_LOCK_UPDATE);
}

static int64_t balance_of(const struct balances *b, const char *currency)
{
	int64_t v = 0;
	if (billing__jx_int(cJSON_GetObjectItemCaseSensitive(b->obj, currency), &v) !=
	    BILLING__JX_INT_OK)
		v = 0;
	return v;
}

/* Sets currency's balance to v and writes the row. */
static int balances_write(struct balances *b, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const char *customer_id, const char *currency, int64_t v)
{
	struct balances_row row;
	cJSON *n = billing__jx_int_new(v);
	char *text;
	int rc;

	if (!n)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	if (cJSON_GetObjectItemCaseSensitive(b->obj, currency))
		cJSON_ReplaceItemInObjectCaseSensitive(b->obj, currency, n);
	else
		cJSON_AddItemToObject(b->obj, currency, n);
	if ((text = billing__jx_print(b->obj)) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	row.tenant_id = tenant_id;
	row.id = customer_id;
	row.balances_json = text;
	rc = ctx->st->record_update(tx, &balances_res, &row, 0);
	cJSON_free(text);
	return rc;
}

/* Moves the customer's balance in currency by amount: *ending receives it. */
static int balance_move(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *customer_id, const char *currency, int64_t amount, int64_t *ending)
{
	struct balances b;
	int rc;

	if ((rc = balances_read(&b, ctx, tx, tenant_id, customer_id)) == BILLING_OK) {
		if (__builtin_add_overflow(balance_of(&b, currency), amount, ending))
			rc = billing__error_set(BILLING_EOVERFLOW, "overflow",
				"the customer's balance would not fit an amount");
		else
			rc = balances_write(&b, ctx, tx, tenant_id, customer_id, currency, *ending);
	}
	cJSON_Delete(b.obj);
	return rc;
}

int billing__balance_get(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *customer_id, const char *currency, int64_t *balance)
{
	struct balances b;
	int rc = balances_read(&b, ctx, tx, tenant_id, customer_id);
	*balance = rc == BILLING_OK ? balance_of(&b, currency) : 0;
	cJSON_Delete(b.obj);
	return rc;
}

int billing__balance_peek(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *customer_id, const char *currency, int64_t *balance)
{
	struct balances b;
	int rc = balances_read_locked(&b, ctx, tx, tenant_id, customer_id, BILLING_LOCK_NONE);
	*balance = rc == BILLING_OK ? balance_of(&b, currency) : 0;
	cJSON_Delete(b.obj);
	return rc;
}

int billing__balance_split(int64_t total, int64_t starting, int64_t *amount_due,
	int64_t *ending)
{
	int64_t sum;
	if (__builtin_add_overflow(total, starting, &sum))
		return billing__error_set(BILLING_EOVERFLOW, "overflow",
			"the invoice's total and the customer's balance do not fit an amount");
	*amount_due = sum > 0 ? sum : 0;
	*ending = sum < 0 ? sum : 0;
	return BILLING_OK;
}

/* ------------------------------------------------------------ events */

static cJSON *txn_json(const void *item)
{
	return billing__record_json(&balance_transaction, item);
}

/* "customer.balance_changed" about the customer, with the transaction. */
static int emit_changed(billing_ctx *ctx, billing_txn *tx,
	const struct billing_balance_transaction *t)
{
	return billing__event_emit(ctx, tx, t->tenant_id, "customer.balance_changed", "customer",
		t->customer_id, txn_json, t);
}

static int record(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *customer_id, const char *currency, billing_balance_transaction_type type,
	int64_t amount, const char *invoice_id, const char *credit_note_id,
	const char *description, int64_t *ending)
{
	struct billing_balance_transaction t;
	char id[BILLING_ID_MAX];
	int64_t now = billing__now(ctx), after = 0;
	int rc;

	if ((rc = balance_move(ctx, tx, tenant_id, customer_id, currency, amount, &after)) < 0)
		return rc;
	if (billing__id_new(id, balance_transaction.prefix, now * 1000) < 0)
		return billing__error_set(BILLING_ERROR, NULL, "cannot make an id");
	memset(&t, 0, sizeof(t));
	t.tenant_id = tenant_id;
	t.id = id;
	t.customer_id = customer_id;
	t.type = (int)type;
	t.amount = amount;
	t.currency = currency;
	t.description = description;
	t.invoice_id = invoice_id;
	t.credit_note_id = credit_note_id;
	t.ending_balance = after;
	t.metadata_json = "{}";
	t.created_at = t.updated_at = now;
	t.version = 1;
	if ((rc = billing__insert(ctx->st, tx, &balance_transaction, &t)) < 0 ||
	    (rc = billing__event_emit(ctx, tx, tenant_id, "customer_balance_transaction.created",
		balance_transaction.name, id, txn_json, &t)) < 0 ||
	    (rc = emit_changed(ctx, tx, &t)) < 0)
		return rc;
	if (ending)
		*ending = after;
	return BILLING_OK;
}

int billing__balance_record(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *customer_id, const char *currency, billing_balance_transaction_type type,
	int64_t amount, const char *invoice_id, const char *description, int64_t *ending)
{
	return record(ctx, tx, tenant_id, customer_id, currency, type, amount, invoice_id, NULL,
		description, ending);
}

int billing__balance_record_credit_note(billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const char *customer_id, const char *currency, int64_t amount,
	const char *invoice_id, const char *credit_note_id)
{
	return record(ctx, tx, tenant_id, customer_id, currency, BILLING_BALANCE_CREDIT_NOTE,
		amount, invoice_id, credit_note_id, NULL, NULL);
}

int billing__balance_apply_to_invoice(billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const char *customer_id, const char *currency,
	const char *invoice_id, int64_t total, int64_t *starting, int64_t *ending,
	int64_t *amount_due)
{
	int rc;
	if ((rc = billing__balance_get(ctx, tx, tenant_id, customer_id, currency, starting)) < 0 ||
	    (rc = billing__balance_split(total, *starting, amount_due, ending)) < 0)
		return rc;
	if (*ending == *starting)
		return BILLING_OK;
	return billing__balance_record(ctx, tx, tenant_id, customer_id, currency,
		BILLING_BALANCE_APPLIED_TO_INVOICE, *ending - *starting, invoice_id, NULL, NULL);
}

/* ------------------------------------------------------------ rules */

/* The flow's own copy of a string of the record (resource.h). */
static char *own(const char *s)
{
	return (char *)(uintptr_t)s;
}

/* A manual adjustment: the customer, amount and currency checked, the type
 * and the balance after it set, the balance moved (in the call's
 * transaction: the flow inserts the transaction next). */
static int check(billing_ctx *ctx, billing_txn *tx, const void *current, void *rec,
	uint64_t given)
{
	struct billing_balance_transaction *t = rec;
	billing__checks ck = BILLING__CHECKS_INIT;
	char code[4], *trimmed = NULL;
	int rc;
	(void)current;

	t->type = BILLING_BALANCE_ADJUSTMENT;
	if ((given & BIT(AMOUNT)) && t->amount == 0)
		billing__check_fail(&ck, "amount", "must not be 0");
	if (given & BIT(CURRENCY)) {
		if (!t->currency || billing_currency_normalize(code, t->currency) < 0) {
			billing_error_clear();
			billing__check_fail(&ck, "currency", "must be an ISO 4217 currency code");
		} else {
			memcpy(own(t->currency), code, sizeof(code));
		}
	}
	if (given & BIT(DESCRIPTION)) {
		if ((rc = billing__check_text(&ck, "description", t->description,
			BILLING__TEXT_REQUIRED | BILLING__TEXT_MULTILINE, 1, DESCRIPTION_MAX,
			&trimmed)) < 0)
			return rc;
		if (trimmed)
			memmove(own(t->description), trimmed, strlen(trimmed) + 1);
		billing__free(trimmed);
	}
	if ((given & BIT(CUSTOMER)) && !billing__id_arg_ok(t->customer_id, "cus"))
		billing__check_fail(&ck, "customerId", "names no customer");
	if (ck.count || (given & (BIT(CUSTOMER) | BIT(AMOUNT) | BIT(CURRENCY))) !=
	    (BIT(CUSTOMER) | BIT(AMOUNT) | BIT(CURRENCY)))
		return billing__checks_finish(&ck, "balance transaction");
	rc = balance_move(ctx, tx, t->tenant_id, t->customer_id, t->currency, t->amount,
		&t->ending_balance);
	if (rc == BILLING_ENOTFOUND) {
		billing_error_clear();
		billing__check_fail(&ck, "customerId", "names no customer");
		return billing__checks_finish(&ck, "balance transaction");
	}
	if (rc < 0)
		return rc;
	return emit_changed(ctx, tx, t);
}

const billing__rules billing__balance_transaction_rules = { &balance_transaction, check, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL };

/* ------------------------------------------------------------ the C API */

const char *billing_balance_transaction_type_name(billing_balance_transaction_type type)
{
	return type > 0 && type < TYPE_COUNT ? type_names[type] : NULL;
}

int billing_customer_balance_adjust(billing_balance_transaction **out, billing_ctx *ctx,
	const billing_principal *who, const billing_balance_adjustment_params *p,
	const billing_call_options *opts)
{
	struct billing_balance_transaction r;
	uint64_t given = BIT(CUSTOMER) | BIT(AMOUNT) | BIT(CURRENCY) | BIT(DESCRIPTION);
	int rc;

	if ((rc = billing__authorize_resource(ctx, who, &balance_transaction,
		BILLING_RESOURCE_OP_CREATE)) < 0)
		return rc;
	BILLING__ASSERT_ARG(p, "params");
	if (p->version == 0 || p->version > BILLING_BALANCE_ADJUSTMENT_PARAMS_VERSION)
		return billing__error_field(BILLING_EINVALID, "invalid_version", "version",
			"unknown billing_balance_adjustment_params version %u", p->version);
	memset(&r, 0, sizeof(r));
	r.customer_id = p->customer_id;
	r.amount = p->amount;
	r.currency = p->currency;
	r.description = p->description;
	if (p->metadata_json) {
		r.metadata_json = p->metadata_json;
		given |= BIT(METADATA);
	}
	return billing__resource_create((void **)out, &billing__balance_transaction_rules, ctx,
		who, &r, given, opts);
}

int billing_customer_balance_transaction_list(billing_page **out, billing_ctx *ctx,
	const billing_principal *who, const char *customer_id, const billing_list_params *params)
{
	billing_list_params none = BILLING_LIST_PARAMS_INIT;
	billing_filter by_customer;
	int rc;

	if ((rc = billing__authorize_resource(ctx, who, &balance_transaction,
		BILLING_RESOURCE_OP_LIST)) < 0)
		return rc;
	if (!customer_id)
		return billing__error_field(BILLING_EINVALID, "invalid", "customerId",
			"is required");
	memset(&by_customer, 0, sizeof(by_customer));
	by_customer.field = &fields[CUSTOMER];
	by_customer.op = BILLING_FILTER_EQ;
	by_customer.text = customer_id;
	return billing__resource_list(out, &billing__balance_transaction_rules, ctx, who,
		params ? params : &none, &by_customer, 1);
}

const billing_balance_transaction *billing_page_balance_transaction(const billing_page *page,
	size_t i)
{
	return billing__resource_page_item(page, &balance_transaction, i);
}

void billing_balance_transaction_free(billing_balance_transaction *t)
{
	billing__free(t);
}

const char *billing_balance_transaction_id(const billing_balance_transaction *t)
{
	return t ? t->id : NULL;
}
const char *billing_balance_transaction_customer_id(const billing_balance_transaction *t)
{
	return t ? t->customer_id : NULL;
}
billing_balance_transaction_type billing_balance_transaction_type_of(
	const billing_balance_transaction *t)
{
	return t ? (billing_balance_transaction_type)t->type : 0;
}
int64_t billing_balance_transaction_amount(const billing_balance_transaction *t)
{
	return t ? t->amount : 0;
}
const char *billing_balance_transaction_currency(const billing_balance_transaction *t)
{
	return t ? t->currency : NULL;
}
const char *billing_balance_transaction_description(const billing_balance_transaction *t)
{
	return t ? t->description : NULL;
}
const char *billing_balance_transaction_invoice_id(const billing_balance_transaction *t)
{
	return t ? t->invoice_id : NULL;
}
int64_t billing_balance_transaction_ending_balance(const billing_balance_transaction *t)
{
	return t ? t->ending_balance : 0;
}
int64_t billing_balance_transaction_created_at(const billing_balance_transaction *t)
{
	return t ? t->created_at : 0;
}

/* ------------------------------------------------------------ billing_check */

struct sum_row {
	char customer[BILLING_ID_MAX];
	char currency[4];
	int64_t sum;
	bool seen;
};

struct sums {
	struct sum_row *v;
	size_t n, cap;
	int overflow;
};

static int sum_cmp(const void *a, const void *b)
{
	const struct sum_row *x = a, *y = b;
	int c = strcmp(x->customer, y->customer);
	return c ? c : strcmp(x->currency, y->currency);
}

static int sum_txn(void *payload, const void *record)
{
	const struct billing_balance_transaction *t = record;
	struct sums *s = payload;
	struct sum_row *r;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct sum_row *v = billing__realloc(s->v, cap * sizeof(*v));
		if (!v)
			return billing__error_set(BILLING_ENOMEM, NULL, NULL);
		s->v = v;
		s->cap = cap;
	}
	r = &s->v[s->n++];
	memset(r, 0, sizeof(*r));
	snprintf(r->customer, sizeof(r->customer), "%s", t->customer_id);
	snprintf(r->currency, sizeof(r->currency), "%s", t->currency);
	r->sum = t->amount;
	return BILLING_OK;
}

struct check_run {
	struct sums *sums;
	billing__balance_report_fn report;
	void *payload;
};

static int check_customer(void *payload, const void *record)
{
	const billing_customer_record *c = record;
	struct check_run *run = payload;
	const char *text = c->balances_json && *c->balances_json ? c->balances_json : "{}";
	cJSON *obj = billing__jx_parse(text, strlen(text), NULL), *v;

	if (!obj || !cJSON_IsObject(obj)) {
		cJSON_Delete(obj);
		run->report(run->payload, c->id, "", 0, 0, "balances are not a JSON object");
		return BILLING_OK;
	}
	cJSON_ArrayForEach(v, obj) {
		struct sum_row key, *found;
		int64_t balance;
		memset(&key, 0, sizeof(key));
		snprintf(key.customer, sizeof(key.customer), "%s", c->id);
		snprintf(key.currency, sizeof(key.currency), "%s", v->string);
		found = run->sums->n ? bsearch(&key, run->sums->v, run->sums->n,
			sizeof(key), sum_cmp) : NULL;
		if (billing__jx_int(v, &balance) != BILLING__JX_INT_OK) {
			run->report(run->payload, c->id, key.currency, 0, 0,
				"a balance is not an integer");
			continue;
		}
		if (found)
			found->seen = true;
		if (balance != (found ? found->sum : 0))
			run->report(run->payload, c->id, key.currency, balance,
				found ? found->sum : 0, NULL);
	}
	cJSON_Delete(obj);
	return BILLING_OK;
}

int billing__balance_check(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	billing__balance_report_fn report, void *payload)
{
	struct sums s = { NULL, 0, 0, 0 };
	struct check_run run = { &s, report, payload };
	size_t i, k = 0;
	int rc;

	if ((rc = billing__list_all(ctx->st, tx, &balance_transaction, tenant_id, NULL, 0,
		sum_txn, &s)) < 0)
		goto out;
	if (s.n)
		qsort(s.v, s.n, sizeof(*s.v), sum_cmp);
	/* One row per (customer, currency), summed. */
	for (i = 0; i < s.n; i++) {
		if (k && sum_cmp(&s.v[k - 1], &s.v[i]) == 0) {
			if (__builtin_add_overflow(s.v[k - 1].sum, s.v[i].sum, &s.v[k - 1].sum))
				report(payload, s.v[i].customer, s.v[i].currency, 0, 0,
					"the transactions' sum overflows");
			continue;
		}
		s.v[k++] = s.v[i];
	}
	s.n = k;
	if ((rc = billing__list_all(ctx->st, tx, &billing__res_customer, tenant_id, NULL, 0,
		check_customer, &run)) < 0)
		goto out;
	for (i = 0; i < s.n; i++)
		if (!s.v[i].seen && s.v[i].sum != 0)
			report(payload, s.v[i].customer, s.v[i].currency, 0, s.v[i].sum, NULL);
out:
	billing__free(s.v);
	return rc;
}

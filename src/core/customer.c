/*
 * Customers: validation, uniqueness of e-mail ignoring case, partial
 * updates with optimistic concurrency, hard delete while unreferenced.
 */
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "core/entity.h"
#include "core/json_out.h"
#include "core/payment_method.h"
#include "core/text.h"

struct billing_customer {
	char *tenant_id;
	char *id;
	char *name;
	char *email;
	char *default_payment_method;
	char *metadata_json;
	billing__metadata metadata;
	int64_t created_at;
	int64_t updated_at;
	int64_t version;
	char *balances_json;         /* customer_balance.c writes it; "{}" when none */
};

#define CUSTOMER_FIELDS (BILLING_CUSTOMER_NAME | BILLING_CUSTOMER_EMAIL | \
	BILLING_CUSTOMER_DEFAULT_PAYMENT_METHOD | BILLING_CUSTOMER_METADATA)

void billing_customer_free(billing_customer *c)
{
	if (!c)
		return;
	billing__metadata_free(&c->metadata);
	billing__free(c);
}

static void free_item(void *item)
{
	billing_customer_free(item);
}

static void *from_record(const void *record)
{
	const billing_customer_record *r = record;
	billing_customer *c;
	billing__strpack sp;
	size_t strings = billing__strsize(r->tenant_id) +
		billing__strsize(r->id) +
		billing__strsize(r->name) +
		billing__strsize(r->email) +
		billing__strsize(r->default_payment_method) +
		billing__strsize(r->metadata_json ? r->metadata_json : "{}") +
		billing__strsize(r->balances_json ? r->balances_json : "{}");

	if ((c = billing__calloc(1, sizeof(*c) + strings)) == NULL)
		return NULL;
	sp.next = (char *)(c + 1);
	c->tenant_id = billing__strpack_put(&sp, r->tenant_id);
	c->id = billing__strpack_put(&sp, r->id);
	c->name = billing__strpack_put(&sp, r->name);
	c->email = billing__strpack_put(&sp, r->email);
	c->default_payment_method = billing__strpack_put(&sp, r->default_payment_method);
	c->metadata_json = billing__strpack_put(&sp, r->metadata_json ? r->metadata_json : "{}");
	c->balances_json = billing__strpack_put(&sp, r->balances_json ? r->balances_json : "{}");
	c->created_at = r->created_at;
	c->updated_at = r->updated_at;
	c->version = r->version;
	if (billing__metadata_decode(&c->metadata, c->metadata_json) < 0) {
		billing_customer_free(c);
		return NULL;
	}
	return c;
}

static void sort_key(const void *item, const char **text, int64_t *num, const char **id)
{
	const billing_customer *c = item;
	*id = c->id;
	*num = c->created_at;
	*text = c->name;
}

/* The e-mail sort key is the lower-cased address; sort_key is per sort. */
static void sort_key_email(const void *item, const char **text, int64_t *num, const char **id)
{
	const billing_customer *c = item;
	static _Thread_local char key[256];
	snprintf(key, sizeof(key), "%s", c->email);
	billing__ascii_lower(key);
	*id = c->id;
	*num = c->created_at;
	*text = key;
}

/* Inputs after validation and normalization; all owned. */
struct norm {
	char *name;
	char *email;
	char *email_key;
	char *payment_method;
	char *metadata_json;
};

static void norm_free(struct norm *n)
{
	billing__free(n->name);
	billing__free(n->email);
	billing__free(n->email_key);
	billing__free(n->payment_method);
	billing__free(n->metadata_json);
}

static int check_payment_method(billing__checks *c, const char *pm, char **out)
{
	size_t len, i;
	*out = NULL;
	if (!pm)
		return BILLING_OK;
	len = strlen(pm);
	for (i = 0; i < len; i++)
		if ((unsigned char)pm[i] < 0x21 || (unsigned char)pm[i] > 0x7e)
			break;
	if (len == 0 || len > 255 || i < len) {
		billing__check_fail(c, "defaultPaymentMethod",
			"must be 1 to 255 printable ASCII characters");
		return BILLING_OK;
	}
	if ((*out = billing__strdup(pm)) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	return BILLING_OK;
}

/* Validates the members named by fields into n. */
static int validate(const billing_customer_params *p, unsigned int fields, struct norm *n)
{
	billing__checks c = BILLING__CHECKS_INIT;
	int rc = BILLING_OK;

	memset(n, 0, sizeof(*n));
	if ((fields & BILLING_CUSTOMER_NAME) &&
	    (rc = billing__check_text(&c, "name", p->name, BILLING__TEXT_REQUIRED, 1, 120,
		&n->name)) < 0)
		goto fail;
	if (fields & BILLING_CUSTOMER_EMAIL) {
		if ((rc = billing__check_text(&c, "email", p->email, BILLING__TEXT_REQUIRED, 1, 190,
			&n->email)) < 0)
			goto fail;
		if (n->email && !billing__email_valid(n->email, strlen(n->email)))
			billing__check_fail(&c, "email", "must be a valid e-mail address");
		if (n->email) {
			if ((n->email_key = billing__strdup(n->email)) == NULL)
				goto nomem;
			billing__ascii_lower(n->email_key);
		}
	}
	if ((fields & BILLING_CUSTOMER_DEFAULT_PAYMENT_METHOD) &&
	    (rc = check_payment_method(&c, p->default_payment_method, &n->payment_method)) < 0)
		goto fail;
	if ((fields & BILLING_CUSTOMER_METADATA) &&
	    (rc = billing__metadata_encode(&c, p->metadata, p->metadata_count,
		&n->metadata_json)) < 0)
		goto fail;
	if ((rc = billing__checks_finish(&c, "customer")) < 0)
		goto fail;
	return BILLING_OK;
nomem:
	rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
fail:
	norm_free(n);
	return rc;
}

static int check_params(const billing_customer_params *p)
{
	BILLING__ASSERT_ARG(p, "params");
	if (p->version == 0 || p->version > BILLING_CUSTOMER_PARAMS_VERSION)
		return billing__error_field(BILLING_EINVALID, "invalid_version", "version",
			"unknown billing_customer_params version %u", p->version);
	return BILLING_OK;
}

/* The digest input of an idempotent call: its normalized fields. */
static void hash_input(billing__buf *b, unsigned int fields, const struct norm *n,
	const char *id, int64_t expected_version)
{
	billing__buf_add(b, "id", id);
	billing__buf_add_i64(b, "fields", fields);
	billing__buf_add(b, "name", n->name);
	billing__buf_add(b, "email", n->email);
	billing__buf_add(b, "pm", n->payment_method);
	billing__buf_add(b, "metadata", n->metadata_json);
	billing__buf_add_i64(b, "expectedVersion", expected_version);
}

static int64_t version_of(const void *item)
{
	return ((const billing_customer *)item)->version;
}

static int st_get(billing_storage *st, billing_txn *tx, const char *tenant_id, const char *id,
	billing_row_cb cb, void *payload)
{
	return st->record_read(tx, &billing__res_customer, tenant_id, id, BILLING_LOCK_UPDATE, cb, payload);
}

static int st_insert(billing_storage *st, billing_txn *tx, const void *record)
{
	return st->record_insert(tx, &billing__res_customer, record);
}

static int st_update(billing_storage *st, billing_txn *tx, const void *record,
	int64_t old_version)
{
	return st->record_update(tx, &billing__res_customer, record, old_version);
}

static int st_remove(billing_storage *st, billing_txn *tx, const char *tenant_id,
	const char *id)
{
	return st->record_delete(tx, &billing__res_customer, tenant_id, id);
}

static int st_list(billing_storage *st, billing_txn *tx, const char *tenant_id,
	const billing_list_query *q, billing_row_cb cb, void *payload)
{
	return billing__list_records(st, tx, &billing__res_customer, tenant_id, q, cb, payload);
}

static const char *id_of(const void *item)
{
	return billing_customer_id(item);
}

static const billing__entity entity = {
	"customer", from_record, free_item, version_of, NULL,
	st_get, st_insert, st_update, st_remove, st_list,
	billing__json_customer, id_of, NULL, NULL
};

static int customer_create_once(billing_customer **out, billing_ctx *ctx,
	const billing_principal *who, const billing_customer_params *p,
	const billing_call_options *opts)
{
	billing_customer_record r;
	billing__buf input = { 0 };
	billing__idem idem;
	struct norm n;
	char id[BILLING_ID_MAX];
	int64_t now;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_CUSTOMERS_CREATE)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	if ((rc = check_params(p)) < 0 || (rc = validate(p, CUSTOMER_FIELDS, &n)) < 0)
		return rc;
	hash_input(&input, CUSTOMER_FIELDS, &n, NULL, 0);
	if ((rc = billing__idem_init_buf(&idem, opts, BILLING_OP_CUSTOMERS_CREATE, &input)) < 0)
		goto out;
	now = billing__now(ctx);
	if (billing__id_new(id, "cus", now * 1000) < 0) {
		rc = billing__error_set(BILLING_ERROR, NULL, "cannot make an id");
		goto out;
	}
	memset(&r, 0, sizeof(r));
	r.tenant_id = who->tenant_id;
	r.id = id;
	r.name = n.name;
	r.email = n.email;
	r.email_key = n.email_key;
	r.default_payment_method = n.payment_method;
	r.metadata_json = n.metadata_json ? n.metadata_json : "{}";
	r.balances_json = "{}";
	r.created_at = r.updated_at = now;
	r.version = 1;
	rc = billing__entity_create((void **)out, &entity, ctx, who->tenant_id, &idem, &r, id,
		NULL, NULL, NULL);
out:
	norm_free(&n);
	return rc;
}

int billing_customer_create(billing_customer **out, billing_ctx *ctx,
	const billing_principal *who, const billing_customer_params *p,
	const billing_call_options *opts)
{
	BILLING__RETRY(customer_create_once(out, ctx, who, p, opts));
}

int billing_customer_get(billing_customer **out, billing_ctx *ctx,
	const billing_principal *who, const char *id)
{
	return billing__entity_get((void **)out, &entity, ctx, who, BILLING_OP_CUSTOMERS_GET,
		"cus", id);
}

/* What an update changes, for the step that builds its record. */
struct change {
	const billing_customer_params *p;
	const struct norm *n;
	char email_key[256];
	char payment_method[256];   /* the provider's id a "cpm_..." stands for */
};

static int build_update(void *payload, billing_ctx *ctx, billing_txn *tx,
	const void *current, void *record)
{
	const struct change *ch = payload;
	const billing_customer *cur = current;
	billing_customer_record *r = record;
	unsigned int f = ch->p->fields;

	memset(r, 0, sizeof(*r));
	r->tenant_id = cur->tenant_id;
	r->id = cur->id;
	r->created_at = cur->created_at;
	r->updated_at = billing__now(ctx);
	r->version = cur->version + 1;
	r->balances_json = cur->balances_json;  /* FIXED: only balance changes write it */
	r->name = (f & BILLING_CUSTOMER_NAME) ? ch->n->name : cur->name;
	r->email = (f & BILLING_CUSTOMER_EMAIL) ? ch->n->email : cur->email;
	if (f & BILLING_CUSTOMER_EMAIL) {
		r->email_key = ch->n->email_key;
	} else {
		struct change *mut = payload;
		snprintf(mut->email_key, sizeof(mut->email_key), "%s", cur->email);
		billing__ascii_lower(mut->email_key);
		r->email_key = mut->email_key;
	}
	r->default_payment_method = (f & BILLING_CUSTOMER_DEFAULT_PAYMENT_METHOD) ?
		ch->n->payment_method : cur->default_payment_method;
	if ((f & BILLING_CUSTOMER_DEFAULT_PAYMENT_METHOD) && ch->n->payment_method) {
		/* A stored payment method's id stands for the provider's. */
		struct change *mut = payload;
		int rc = billing__payment_method_default(ctx, tx, cur->tenant_id, cur->id,
			ch->n->payment_method, mut->payment_method, sizeof(mut->payment_method));
		if (rc < 0)
			return rc;
		r->default_payment_method = mut->payment_method;
	}
	r->metadata_json = (f & BILLING_CUSTOMER_METADATA) ?
		(ch->n->metadata_json ? ch->n->metadata_json : "{}") : cur->metadata_json;
	return BILLING_OK;
}

static int customer_update_once(billing_customer **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_customer_params *p,
	const billing_call_options *opts)
{
	billing_customer_record r;
	billing__buf input = { 0 };
	billing__idem idem;
	struct change ch;
	struct norm n;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_CUSTOMERS_UPDATE)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	if ((rc = check_params(p)) < 0)
		return rc;
	if ((rc = billing__check_update(p->fields, CUSTOMER_FIELDS, p->expected_version)) < 0 ||
	    (rc = validate(p, p->fields, &n)) < 0)
		return rc;
	if (!billing__id_arg_ok(id, "cus")) {
		rc = billing__not_found("customer");
		goto out;
	}
	hash_input(&input, p->fields, &n, id, p->expected_version);
	if ((rc = billing__idem_init_buf(&idem, opts, BILLING_OP_CUSTOMERS_UPDATE, &input)) < 0)
		goto out;
	ch.p = p;
	ch.n = &n;
	rc = billing__entity_update((void **)out, &entity, ctx, who->tenant_id, id, &idem,
		p->expected_version, &r, build_update, &ch);
out:
	norm_free(&n);
	return rc;
}

int billing_customer_update(billing_customer **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_customer_params *p,
	const billing_call_options *opts)
{
	BILLING__RETRY(customer_update_once(out, ctx, who, id, p, opts));
}

static int customer_delete_once(billing_ctx *ctx, const billing_principal *who,
	const char *id, int64_t expected_version)
{
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_CUSTOMERS_DELETE)) < 0 ||
	    (rc = billing__check_expected_version(expected_version)) < 0)
		return rc;
	if (!billing__id_arg_ok(id, "cus"))
		return billing__not_found("customer");
	/* Rows that reference a customer hold a foreign key to it: the delete
	 * then fails with BILLING_ECONFLICT "referenced" and changes nothing. */
	return billing__entity_delete(&entity, ctx, who->tenant_id, id, expected_version, NULL,
		NULL, NULL);
}

int billing_customer_delete(billing_ctx *ctx, const billing_principal *who,
	const char *id, int64_t expected_version)
{
	BILLING__RETRY(customer_delete_once(ctx, who, id, expected_version));
}

static const billing__sort_spec sorts[] = {
	{ "createdAt", BILLING_SORT_CREATED, false },
	{ "name", BILLING_SORT_NAME, true },
	{ "email", BILLING_SORT_EMAIL, true },
	{ NULL, 0, false }
};

int billing_customer_list(billing_page **out, billing_ctx *ctx,
	const billing_principal *who, const billing_list_params *params)
{
	billing__list l;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_CUSTOMERS_LIST)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	if ((rc = billing__list_begin(&l, ctx, who->tenant_id, params, sorts, "customers",
		BILLING__PAGE_CUSTOMER, free_item)) < 0)
		return rc;
	l.from_record = from_record;
	l.sort_key = l.sort->column == BILLING_SORT_EMAIL ? sort_key_email : sort_key;
	return billing__entity_list(out, &entity, &l, ctx, who->tenant_id);
}

const billing_customer *billing_page_customer(const billing_page *page, size_t i)
{
	return billing__page_item(page, BILLING__PAGE_CUSTOMER, i);
}

const char *billing_customer_id(const billing_customer *c) { return c ? c->id : NULL; }
const char *billing_customer_tenant_id(const billing_customer *c) { return c ? c->tenant_id : NULL; }
const char *billing_customer_name(const billing_customer *c) { return c ? c->name : NULL; }
const char *billing_customer_email(const billing_customer *c) { return c ? c->email : NULL; }
const char *billing_customer_default_payment_method(const billing_customer *c)
{
	return c ? c->default_payment_method : NULL;
}
size_t billing_customer_metadata_count(const billing_customer *c)
{
	return c ? c->metadata.count : 0;
}
const billing_metadata_entry *billing_customer_metadata_at(const billing_customer *c, size_t i)
{
	return c && i < c->metadata.count ? &c->metadata.entries[i] : NULL;
}
const char *billing_customer_metadata_get(const billing_customer *c, const char *key)
{
	return c ? billing__metadata_get(&c->metadata, key) : NULL;
}
int64_t billing_customer_created_at(const billing_customer *c) { return c ? c->created_at : 0; }
int64_t billing_customer_updated_at(const billing_customer *c) { return c ? c->updated_at : 0; }
int64_t billing_customer_version(const billing_customer *c) { return c ? c->version : 0; }

/* The balances (billing/customer_balance.h): written by balance changes
 * only, read here. */
const char *billing_customer_balances_json(const billing_customer *c)
{
	return c ? c->balances_json : NULL;
}


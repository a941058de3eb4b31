/*
 * Customers: validation, uniqueness of e-mail ignoring case, partial
 * updates with optimistic concurrency, hard delete while unreferenced.
 */
#include <stdio.h>
#include <string.h>

#include "core/core.h"
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
		billing__strsize(r->metadata_json ? r->metadata_json : "{}");

	if ((c = billing__calloc(1, sizeof(*c) + strings)) == NULL)
		return NULL;
	sp.next = (char *)(c + 1);
	c->tenant_id = billing__strpack_put(&sp, r->tenant_id);
	c->id = billing__strpack_put(&sp, r->id);
	c->name = billing__strpack_put(&sp, r->name);
	c->email = billing__strpack_put(&sp, r->email);
	c->default_payment_method = billing__strpack_put(&sp, r->default_payment_method);
	c->metadata_json = billing__strpack_put(&sp, r->metadata_json ? r->metadata_json : "{}");
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

static int get_in(billing_customer **out, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const char *id)
{
	billing__capture cap = { from_record, NULL };
	int rc = ctx->st->customer_get(tx, tenant_id, id, billing__capture_row, &cap);
	if (rc == BILLING_ENOTFOUND)
		return billing__not_found("customer");
	if (rc < 0) {
		billing_customer_free(cap.item);
		return rc;
	}
	*out = cap.item;
	return BILLING_OK;
}

static int customer_create_once(billing_customer **out, billing_ctx *ctx,
	const billing_principal *who, const billing_customer_params *p,
	const billing_call_options *opts)
{
	billing_customer_record r;
	billing__buf input = { 0 };
	billing__idem idem;
	struct norm n;
	char id[BILLING_ID_MAX];
	billing_txn *tx;
	int64_t now;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_CUSTOMERS_CREATE)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	if ((rc = check_params(p)) < 0 || (rc = validate(p, CUSTOMER_FIELDS, &n)) < 0)
		return rc;
	hash_input(&input, CUSTOMER_FIELDS, &n, NULL, 0);
	rc = input.failed ? billing__error_set(BILLING_ENOMEM, NULL, NULL) :
		billing__idem_init(&idem, opts, BILLING_OP_CUSTOMERS_CREATE, input.s, input.len);
	billing__buf_free(&input);
	if (rc < 0)
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
	r.created_at = r.updated_at = now;
	r.version = 1;

	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_WRITE)) < 0)
		goto out;
	rc = billing__idem_check(ctx, tx, who->tenant_id, &idem);
	if (rc == BILLING_OK && idem.replay) {
		billing_customer *first = NULL;
		rc = billing__end(ctx, tx, get_in(&first, ctx, tx, who->tenant_id, idem.resource_id));
		if (rc < 0)
			billing_customer_free(first);
		else
			*out = first;
		goto out;
	}
	if (rc == BILLING_OK)
		rc = ctx->st->customer_insert(tx, &r);
	if (rc == BILLING_OK)
		rc = billing__idem_record(ctx, tx, who->tenant_id, &idem, id);
	if ((rc = billing__end(ctx, tx, rc)) < 0)
		goto out;
	if ((*out = from_record(&r)) == NULL)
		rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
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
	billing_txn *tx;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_CUSTOMERS_GET)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	if (!billing__id_arg_ok(id, "cus"))
		return billing__not_found("customer");
	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_READ)) < 0)
		return rc;
	return billing__end(ctx, tx, get_in(out, ctx, tx, who->tenant_id, id));
}

static int customer_update_once(billing_customer **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_customer_params *p,
	const billing_call_options *opts)
{
	billing_customer *cur = NULL, *res = NULL;
	billing_customer_record r;
	billing__buf input = { 0 };
	billing__idem idem;
	struct norm n;
	billing_txn *tx;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_CUSTOMERS_UPDATE)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	if ((rc = check_params(p)) < 0)
		return rc;
	if (p->fields == 0 || (p->fields & ~(unsigned int)CUSTOMER_FIELDS))
		return billing__error_field(BILLING_EINVALID, "invalid", "fields",
			p->fields ? "unknown field bits" : "no field to update");
	if (p->expected_version < 0)
		return billing__error_field(BILLING_EINVALID, "invalid", "expectedVersion",
			"must be positive");
	if ((rc = validate(p, p->fields, &n)) < 0)
		return rc;
	if (!billing__id_arg_ok(id, "cus")) {
		rc = billing__not_found("customer");
		goto out;
	}
	hash_input(&input, p->fields, &n, id, p->expected_version);
	rc = input.failed ? billing__error_set(BILLING_ENOMEM, NULL, NULL) :
		billing__idem_init(&idem, opts, BILLING_OP_CUSTOMERS_UPDATE, input.s, input.len);
	billing__buf_free(&input);
	if (rc < 0)
		goto out;

	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_WRITE)) < 0)
		goto out;
	if ((rc = billing__idem_check(ctx, tx, who->tenant_id, &idem)) < 0 ||
	    (rc = get_in(&cur, ctx, tx, who->tenant_id, id)) < 0)
		goto end;
	if (idem.replay) {
		res = cur;
		cur = NULL;
		goto end;
	}
	if (p->expected_version && p->expected_version != cur->version) {
		rc = billing__error_field(BILLING_ESTALE, "stale_version", "expectedVersion",
			"the customer is at version %lld, not %lld", (long long)cur->version,
			(long long)p->expected_version);
		goto end;
	}
	memset(&r, 0, sizeof(r));
	r.tenant_id = who->tenant_id;
	r.id = cur->id;
	r.created_at = cur->created_at;
	r.updated_at = billing__now(ctx);
	r.version = cur->version + 1;
	r.name = (p->fields & BILLING_CUSTOMER_NAME) ? n.name : cur->name;
	r.email = (p->fields & BILLING_CUSTOMER_EMAIL) ? n.email : cur->email;
	if (p->fields & BILLING_CUSTOMER_EMAIL) {
		r.email_key = n.email_key;
	} else {
		static _Thread_local char key[256];
		snprintf(key, sizeof(key), "%s", cur->email);
		billing__ascii_lower(key);
		r.email_key = key;
	}
	r.default_payment_method = (p->fields & BILLING_CUSTOMER_DEFAULT_PAYMENT_METHOD) ?
		n.payment_method : cur->default_payment_method;
	r.metadata_json = (p->fields & BILLING_CUSTOMER_METADATA) ?
		(n.metadata_json ? n.metadata_json : "{}") : cur->metadata_json;
	if ((rc = ctx->st->customer_update(tx, &r, cur->version)) == BILLING_OK &&
	    (rc = billing__idem_record(ctx, tx, who->tenant_id, &idem, cur->id)) == BILLING_OK &&
	    (res = from_record(&r)) == NULL)
		rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
end:
	if ((rc = billing__end(ctx, tx, rc)) < 0)
		billing_customer_free(res);
	else
		*out = res;
out:
	billing_customer_free(cur);
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
	billing_customer *cur = NULL;
	billing_txn *tx;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_CUSTOMERS_DELETE)) < 0)
		return rc;
	if (expected_version < 0)
		return billing__error_field(BILLING_EINVALID, "invalid", "expectedVersion",
			"must be positive");
	if (!billing__id_arg_ok(id, "cus"))
		return billing__not_found("customer");
	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_WRITE)) < 0)
		return rc;
	if ((rc = get_in(&cur, ctx, tx, who->tenant_id, id)) == BILLING_OK) {
		if (expected_version && expected_version != cur->version)
			rc = billing__error_field(BILLING_ESTALE, "stale_version", "expectedVersion",
				"the customer is at version %lld, not %lld", (long long)cur->version,
				(long long)expected_version);
		else
			rc = ctx->st->customer_delete(tx, who->tenant_id, id);
		if (rc == BILLING_ENOTFOUND)
			rc = billing__not_found("customer");
	}
	billing_customer_free(cur);
	return billing__end(ctx, tx, rc);
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
	billing_txn *tx;
	int64_t total = 0;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_CUSTOMERS_LIST)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	if ((rc = billing__list_begin(&l, ctx, who->tenant_id, params, sorts, "customers",
		BILLING__PAGE_CUSTOMER, free_item)) < 0)
		return rc;
	l.from_record = from_record;
	l.sort_key = l.sort->column == BILLING_SORT_EMAIL ? sort_key_email : sort_key;
	if (l.q.offset >= 0)
		l.q.total = &total;
	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_READ)) == BILLING_OK) {
		rc = ctx->st->customer_list(tx, who->tenant_id, &l.q, billing__list_row, &l);
		rc = billing__end(ctx, tx, rc);
	}
	return billing__list_end(&l, rc, out);
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

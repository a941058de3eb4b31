/*
 * The generic flow of a descriptor object (see resource.h): the checks a
 * descriptor can state (which fields an operation takes, required, null,
 * booleans, enums, metadata), the record the call writes (ids, tenant,
 * timestamps, versions), and the shared entity flows (entity.c) over the
 * storage's record_* methods. An object's own rules come from its
 * billing__rules.
 *
 * Why one file of about 900 lines: the five verbs share one call state
 * (struct call: the given fields, their canonical copies, the pending
 * field errors) and the checks that fill it; split by verb, that state
 * and its helpers would become an internal header read by every part.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "core/entity.h"
#include "core/json_exact.h"
#include "core/resource.h"
#include "core/text.h"

/* ------------------------------------------------------------ registry */

/* The objects on the generic flow: a new one adds its rules here. */
extern const billing__rules billing__tax_rate_rules;
extern const billing__rules billing__dispute_rules;
extern const billing__rules billing__payment_method_rules;
extern const billing__rules billing__balance_transaction_rules;
extern const billing__rules billing__product_rules;
extern const billing__rules billing__plan_rules;
extern const billing__rules billing__customer_rules;
extern const billing__rules billing__invoice_item_rules;
extern const billing__rules billing__credit_note_rules;
extern const billing__rules billing__coupon_rules;
extern const billing__rules billing__promotion_code_rules;
extern const billing__rules billing__meter_rules;
extern const billing__rules billing__subscription_item_rules;

static const billing__rules *const all_rules[] = {
	&billing__tax_rate_rules,
	&billing__dispute_rules,
	&billing__payment_method_rules,
	&billing__balance_transaction_rules,
	&billing__product_rules,
	&billing__plan_rules,
	&billing__customer_rules,
	&billing__invoice_item_rules,
	&billing__credit_note_rules,
	&billing__coupon_rules,
	&billing__promotion_code_rules,
	&billing__meter_rules,
	&billing__subscription_item_rules,
	NULL
};

#define RULES_COUNT (sizeof(all_rules) / sizeof(all_rules[0]) - 1)

const billing__rules *const *billing__rules_all(size_t *count)
{
	*count = RULES_COUNT;
	return all_rules;
}

const billing__rules *billing__rules_find(const char *name)
{
	size_t i;
	for (i = 0; name && all_rules[i]; i++)
		if (strcmp(all_rules[i]->res->plural, name) == 0 ||
		    strcmp(all_rules[i]->res->path, name) == 0)
			return all_rules[i];
	return NULL;
}

const billing__rules_op *billing__rules_op_of(const billing__rules *rules, unsigned int op)
{
	size_t i;
	for (i = 0; rules->ops && i < 5; i++)
		if (op == (1u << i))
			return rules->ops[i].description ? &rules->ops[i] : NULL;
	return NULL;
}

int billing__authorize_rules(billing_ctx *ctx, const billing_principal *who,
	const billing__rules *rules, unsigned int op)
{
	const billing__rules_op *link = billing__rules_op_of(rules, op);
	/* An operation the descriptor does not offer stays refused to all. */
	if (link && (rules->res->ops & op))
		return billing__authorize(ctx, who, link->op);
	return billing__authorize_resource(ctx, who, rules->res, op);
}

static int none_row(void *payload, const void *record)
{
	(void)payload;
	(void)record;
	return BILLING_OK;
}

int billing__record_exists(billing_ctx *ctx, billing_txn *tx, const billing_resource *res,
	const char *tenant_id, const char *id, bool *found)
{
	int rc;
	*found = false;
	if (!billing__id_arg_ok(id, res->prefix))
		return BILLING_OK;
	rc = billing__read(ctx->st, tx, res, tenant_id, id, BILLING_LOCK_NONE, none_row, NULL);
	if (rc == BILLING_ENOTFOUND) {
		billing_error_clear();
		return BILLING_OK;
	}
	*found = rc == BILLING_OK;
	return rc;
}

int billing__check_text_in_place(billing__checks *ck, const char *field, const char *s,
	unsigned int flags, size_t min, size_t max)
{
	char *trimmed = NULL;
	int rc = billing__check_text(ck, field, s, flags, min, max, &trimmed);
	/* The flow's own copy (resource.h: check may rewrite it in place). */
	if (rc == BILLING_OK && trimmed)
		memmove((char *)(uintptr_t)s, trimmed, strlen(trimmed) + 1);
	billing__free(trimmed);
	return rc;
}

/* ------------------------------------------------------------ records */

static const char **text_at(const billing_field *f, const void *rec)
{
	return (const char **)(void *)((char *)(uintptr_t)rec + f->offset);
}

const char *billing__record_text(const billing_field *f, const void *rec)
{
	return f && f->type == BILLING_FIELD_TEXT ? *text_at(f, rec) : NULL;
}

int64_t billing__record_int(const billing_field *f, const void *rec)
{
	const char *p = (const char *)rec + (f ? f->offset : 0);
	int32_t i32;
	int64_t i64;
	int i;

	switch (f ? f->type : BILLING_FIELD_TEXT) {
	case BILLING_FIELD_INT64:
		memcpy(&i64, p, sizeof(i64));
		return i64;
	case BILLING_FIELD_INT32:
		memcpy(&i32, p, sizeof(i32));
		return i32;
	case BILLING_FIELD_INT:
		memcpy(&i, p, sizeof(i));
		return i;
	default:
		return 0;
	}
}

void billing__record_set_text(const billing_field *f, void *rec, const char *s)
{
	BILLING_ASSERT(f->type == BILLING_FIELD_TEXT);
	*text_at(f, rec) = s;
}

void billing__record_set_int(const billing_field *f, void *rec, int64_t v)
{
	char *p = (char *)rec + f->offset;
	int32_t i32 = (int32_t)v;
	int i = (int)v;

	BILLING_ASSERT(f->type != BILLING_FIELD_TEXT);
	if (f->type == BILLING_FIELD_INT64)
		memcpy(p, &v, sizeof(v));
	else if (f->type == BILLING_FIELD_INT32)
		memcpy(p, &i32, sizeof(i32));
	else
		memcpy(p, &i, sizeof(i));
}

const billing_field *billing__field_with(const billing_resource *res, unsigned int flag)
{
	size_t i;
	for (i = 0; i < res->field_count; i++)
		if (res->fields[i].flags & flag)
			return &res->fields[i];
	return NULL;
}

const billing_field *billing__field_by_json(const billing_resource *res, const char *json)
{
	size_t i;
	for (i = 0; json && i < res->field_count; i++)
		if (res->fields[i].json && res->fields[i].json_kind != BILLING_JSON_NONE &&
		    strcmp(res->fields[i].json, json) == 0)
			return &res->fields[i];
	return NULL;
}

const billing_field *billing__key_source(const billing_resource *res, const billing_field *f)
{
	const billing_field *src;
	if (!f->json || f->json_kind != BILLING_JSON_NONE || f->type != BILLING_FIELD_TEXT)
		return NULL;
	src = billing__field_by_json(res, f->json);
	return src && src->type == BILLING_FIELD_TEXT ? src : NULL;
}

/* The keys of the fields given (see billing/sys/resource.h): the given
 * value written over each, for record_dup to copy and the rules to
 * normalize. */
static void keys_fill(const billing_resource *res, void *rec, const void *from, uint64_t given)
{
	size_t i;
	for (i = 0; i < res->field_count; i++) {
		const billing_field *src = billing__key_source(res, &res->fields[i]);
		if (src && (given & BILLING__FIELD_BIT(res, src)))
			billing__record_set_text(&res->fields[i], rec, billing__record_text(src, from));
	}
}

/* rec copied into one allocation of size bytes (at least the record's)
 * plus its strings; the bytes past the record are zeroed. */
static void *record_copy(const billing_resource *res, const void *rec, size_t size)
{
	billing__strpack sp;
	size_t strings = 0, i;
	char *copy;

	BILLING_ASSERT(size >= res->record_size);
	for (i = 0; i < res->field_count; i++)
		if (res->fields[i].type == BILLING_FIELD_TEXT)
			strings += billing__strsize(*text_at(&res->fields[i], rec));
	if ((copy = billing__malloc(size + strings)) == NULL)
		return NULL;
	memcpy(copy, rec, res->record_size);
	memset(copy + res->record_size, 0, size - res->record_size);
	sp.next = copy + size;
	for (i = 0; i < res->field_count; i++)
		if (res->fields[i].type == BILLING_FIELD_TEXT)
			*text_at(&res->fields[i], copy) =
				billing__strpack_put(&sp, *text_at(&res->fields[i], rec));
	return copy;
}

void *billing__record_dup(const billing_resource *res, const void *rec)
{
	return record_copy(res, rec, res->record_size);
}

int billing__record_publish(void **obj, const billing_resource *res, size_t size,
	int (*init)(void *obj), void (*free_obj)(void *obj))
{
	void *rec = *obj;
	int rc = BILLING_OK;

	*obj = record_copy(res, rec, size);
	billing__free(rec);
	if (!*obj)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	if (init && (rc = init(*obj)) < 0) {
		free_obj(*obj);
		*obj = NULL;
	}
	return rc;
}

int billing__page_publish(billing_page *page, const billing_resource *res, size_t size,
	int (*init)(void *obj), void (*free_obj)(void *obj))
{
	size_t i;
	int rc = BILLING_OK;

	BILLING_ASSERT(page->res == res);
	for (i = 0; i < page->count && rc == BILLING_OK; i++)
		rc = billing__record_publish(&page->items[i], res, size, init, free_obj);
	if (rc < 0) {
		/* items[0, i - 1) are objects; items[i - 1] is gone; the rest
		 * are still records. */
		size_t j;
		for (j = 0; j + 1 < i; j++)
			free_obj(page->items[j]);
		for (j = i; j < page->count; j++)
			billing__free(page->items[j]);
		page->count = 0;
	}
	page->free_item = free_obj;
	return rc;
}

/* ------------------------------------------------------------ a call */

#define MAX_FIELDS 64

struct call {
	const billing__rules *rules;
	const billing_resource *res;
	billing__entity e;
	char noun[64];            /* "tax rate", for messages */
	uint64_t given;
	void *work;               /* the given fields, checked (strings borrowed) */
	char *canon[MAX_FIELDS];  /* field i's text in canonical form (a trimmed STRING,
	                             METADATA / OBJECT text) when it differs */
	void *merged;             /* the record the rules check (owned) */
	void *out_rec;            /* the buffer the entity flow writes */
	int64_t now;
	/* Step 1's field errors, reported with the rules' in one answer, and
	 * the fields they name (the rules do not see those as given). */
	billing__checks pending;
	uint64_t failed;
	const char *const *extras;  /* an update's rules->update_extras values, or NULL */
	bool extra_given;           /* one of them is not NULL */
	char *extra_keep;           /* update_extra's string, freed with the call */
};

static void call_init(struct call *c, const billing__rules *rules, billing_ctx *ctx)
{
	char *p;
	memset(c, 0, sizeof(*c));
	c->rules = rules;
	c->res = rules->res;
	BILLING_ASSERT(c->res->field_count <= MAX_FIELDS);
	snprintf(c->noun, sizeof(c->noun), "%s", c->res->name);
	for (p = c->noun; *p; p++)
		if (*p == '_')
			*p = ' ';
	c->e.noun = c->noun;
	c->e.res = c->res;
	c->now = billing__now(ctx);
}

static void call_free(struct call *c)
{
	size_t i;
	for (i = 0; i < MAX_FIELDS; i++)
		billing__free(c->canon[i]);
	billing__free(c->work);
	billing__free(c->merged);
	billing__free(c->out_rec);
	billing__free(c->extra_keep);
}

static const char *field_name(const billing_field *f)
{
	return f->json ? f->json : f->column;
}

static size_t name_count(const char *const *names)
{
	size_t n = 0;
	while (names && names[n])
		n++;
	return n;
}

/* A METADATA field's text: a JSON object of strings, within the limits
 * of metadata everywhere (billing__metadata_encode), made canonical. */
static int check_metadata(billing__checks *ck, const billing_field *f, const char *text,
	char **out)
{
	billing_metadata_entry *entries = NULL;
	cJSON *obj = cJSON_Parse(text), *it;
	size_t n = 0;
	int rc = BILLING_OK;

	if (!obj || !cJSON_IsObject(obj)) {
		billing__check_fail(ck, field_name(f), "must be an object of strings");
		goto out;
	}
	if ((entries = billing__calloc((size_t)cJSON_GetArraySize(obj) + 1,
		sizeof(*entries))) == NULL) {
		rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
		goto out;
	}
	cJSON_ArrayForEach(it, obj) {
		if (!cJSON_IsString(it)) {
			billing__check_fail(ck, field_name(f), "must be an object of strings");
			goto out;
		}
		entries[n].key = it->string;
		entries[n++].value = it->valuestring;
	}
	rc = billing__metadata_encode(ck, entries, n, out);
out:
	billing__free(entries);
	cJSON_Delete(obj);
	return rc;
}

/* An OBJECT field's text: one JSON object, printed canonically. */
static int check_object(billing__checks *ck, const billing_field *f, const char *text,
	char **out)
{
	cJSON *obj = billing__jx_parse(text, strlen(text), NULL);
	bool array = f->json_kind == BILLING_JSON_ARRAY || f->json_kind == BILLING_JSON_STRINGS;
	char *printed;

	if (!obj || (array ? !cJSON_IsArray(obj) : !cJSON_IsObject(obj))) {
		cJSON_Delete(obj);
		billing__check_fail(ck, field_name(f), "must be a JSON %s",
			array ? "array" : "object");
		return BILLING_OK;
	}
	printed = billing__jx_print(obj);
	cJSON_Delete(obj);
	if (!printed || (*out = billing__strdup(printed)) == NULL) {
		cJSON_free(printed);
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	}
	cJSON_free(printed);
	return BILLING_OK;
}

/* A STRING's text without surrounding white space, as the library stores
 * every text (validate.h), but for a BILLING_API_VERBATIM one; with
 * BILLING_API_UPPER upper-cased. The idempotency hash and the rules see
 * that form, so a retry that differs only there is the same request. */
static int trim_value(struct call *c, size_t i, const char *s)
{
	const billing_field *f = &c->res->fields[i];
	const char *t = s;
	size_t n = strlen(s), len = n, k;
	bool upper = false;

	if (!(f->api & BILLING_API_VERBATIM))
		billing__trim(&t, &len);
	for (k = 0; (f->api & BILLING_API_UPPER) && k < len; k++)
		upper |= t[k] >= 'a' && t[k] <= 'z';
	if (len == n && !upper)
		return BILLING_OK;
	if ((c->canon[i] = billing__strndup(t, len)) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	/* BILLING_API_UPPER: ASCII letters only, a UTF-8 sequence stays. */
	for (k = 0; upper && k < len; k++)
		if (c->canon[i][k] >= 'a' && c->canon[i][k] <= 'z')
			c->canon[i][k] = (char)(c->canon[i][k] - 'a' + 'A');
	return BILLING_OK;
}

/* One given field's value, as the descriptor can check it. */
static int check_value(struct call *c, billing__checks *ck, size_t i, const void *rec)
{
	const billing_field *f = &c->res->fields[i];
	const char *s;
	int64_t v;

	if (f->type == BILLING_FIELD_TEXT) {
		if ((s = billing__record_text(f, rec)) == NULL) {
			if (!(f->api & BILLING_API_NULLABLE))
				billing__check_fail(ck, field_name(f), "must not be null");
			/* Nullable metadata: null clears it. */
			else if (f->json_kind == BILLING_JSON_METADATA &&
			    (c->canon[i] = billing__strdup("{}")) == NULL)
				return billing__error_set(BILLING_ENOMEM, NULL, NULL);
			return BILLING_OK;
		}
		if (f->json_kind == BILLING_JSON_METADATA)
			return check_metadata(ck, f, s, &c->canon[i]);
		if (f->json_kind == BILLING_JSON_OBJECT || f->json_kind == BILLING_JSON_ARRAY ||
		    f->json_kind == BILLING_JSON_STRINGS)
			return check_object(ck, f, s, &c->canon[i]);
		if (f->json_kind == BILLING_JSON_STRING)
			return trim_value(c, i, s);
		return BILLING_OK;
	}
	v = billing__record_int(f, rec);
	if (f->json_kind == BILLING_JSON_BOOLEAN && v != 0 && v != 1)
		billing__check_fail(ck, field_name(f), "must be true or false");
	else if (f->json_kind == BILLING_JSON_ENUM &&
	    (v < 0 || (size_t)v >= name_count(f->names) || !*f->names[v]))
		billing__check_fail(ck, field_name(f), "is not one of the allowed values");
	return BILLING_OK;
}

static void copy_field(const billing_field *f, void *dst, const void *src)
{
	if (f->type == BILLING_FIELD_TEXT)
		billing__record_set_text(f, dst, billing__record_text(f, src));
	else
		billing__record_set_int(f, dst, billing__record_int(f, src));
}

/*
 * Step 1 of resource.h's validation: the given fields, into c->work
 * (create: with the defaults of the fields not given).
 */
static int check_given(struct call *c, const void *rec, uint64_t given, bool create)
{
	const billing_resource *res = c->res;
	billing__checks ck = BILLING__CHECKS_INIT;
	unsigned int takes = create ? BILLING_API_CREATE : BILLING_API_UPDATE;
	size_t i, before;
	int rc;

	c->given = given;
	if (res->field_count < MAX_FIELDS && given >> res->field_count)
		return billing__error_field(BILLING_EINVALID, "invalid", "fields",
			"unknown field bits");
	if (!create && given == 0 && !c->extra_given)
		return billing__error_field(BILLING_EINVALID, "invalid", "fields",
			"no field to update");
	if (given && !rec)
		return billing__error_field(BILLING_EINVALID, "invalid_argument", "record",
			"record must not be NULL");
	if ((c->work = billing__calloc(1, res->record_size)) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	for (i = 0; i < res->field_count; i++) {
		const billing_field *f = &res->fields[i];
		if (!(given & (UINT64_C(1) << i))) {
			if (create && (f->api & BILLING_API_REQUIRED))
				billing__check_fail(&ck, field_name(f), "is required");
			/* A nullable OBJECT (customers' discount) starts null. */
			else if (create && (f->json_kind == BILLING_JSON_METADATA ||
			    (f->json_kind == BILLING_JSON_OBJECT &&
			     !(f->api & BILLING_API_NULLABLE))))
				billing__record_set_text(f, c->work, "{}");
			continue;
		}
		if (!(f->api & takes)) {
			billing__check_fail(&ck, field_name(f),
				create ? "cannot be set" : "cannot be changed");
			c->failed |= UINT64_C(1) << i;
			continue;
		}
		before = ck.count;
		if ((rc = check_value(c, &ck, i, rec)) < 0)
			return rc;
		if (ck.count != before)
			c->failed |= UINT64_C(1) << i;
		copy_field(f, c->work, rec);
		if (c->canon[i])
			billing__record_set_text(f, c->work, c->canon[i]);
	}
	/* Without rules these are all the errors there are; with rules, the
	 * rules' check runs too and one answer names every bad field. */
	if (!c->rules->check || ck.count == 0)
		return billing__checks_finish(&ck, c->noun);
	c->pending = ck;
	return BILLING_OK;
}

/* The digest input of an idempotent call: its given fields, checked. */
static int idem_init(struct call *c, billing__idem *idem, const billing_call_options *opts,
	const char *verb, const char *id, int64_t expected_version)
{
	billing__buf b = { 0 };
	char name[64];
	size_t i;

	billing__buf_add(&b, "id", id);
	for (i = 0; i < c->res->field_count; i++) {
		const billing_field *f = &c->res->fields[i];
		if (!(c->given & (UINT64_C(1) << i)))
			continue;
		if (f->type == BILLING_FIELD_TEXT)
			billing__buf_add(&b, f->column, billing__record_text(f, c->work));
		else
			billing__buf_add_i64(&b, f->column, billing__record_int(f, c->work));
	}
	billing__buf_add_i64(&b, "expectedVersion", expected_version);
	for (i = 0; c->extras && c->rules->update_extras[i].name; i++)
		billing__buf_add(&b, c->rules->update_extras[i].name, c->extras[i]);
	snprintf(name, sizeof(name), "%s.%s", c->res->plural, verb);
	return billing__idem_init_named(idem, opts, name, &b);
}

/* The field errors of the thread's error (a failed check) after those of
 * step 1, as one answer. The field names are copied first: finishing
 * resets the thread's error they live in. */
static int merge_errors(struct call *c, int rc)
{
	const billing_error *e = billing_error_last();
	char names[BILLING__MAX_FIELD_ERRORS][64];
	billing__checks *ck = &c->pending;
	size_t i;

	if (rc == BILLING_EINVALID && e->field_error_count == 0 && e->field &&
	    ck->count < BILLING__MAX_FIELD_ERRORS) {
		snprintf(names[ck->count], sizeof(names[0]), "%s", e->field);
		billing__check_fail(ck, names[ck->count], "%s", e->message);
	}
	for (i = 0; rc == BILLING_EINVALID && i < e->field_error_count &&
	    ck->count < BILLING__MAX_FIELD_ERRORS; i++) {
		snprintf(names[ck->count], sizeof(names[0]), "%s", e->field_errors[i].field);
		billing__check_fail(ck, names[ck->count], "%s", e->field_errors[i].message);
	}
	return billing__checks_finish(ck, c->noun);
}

static int run_check(struct call *c, billing_ctx *ctx, billing_txn *tx, const void *current,
	void *rec)
{
	int rc;

	if (!c->rules->check)
		return BILLING_OK;
	rc = c->rules->check(ctx, tx, current, rec, c->given & ~c->failed);
	if (c->pending.count && (rc == BILLING_OK || rc == BILLING_EINVALID))
		return merge_errors(c, rc);
	return rc;
}

/* ------------------------------------------------------------ create */

static int create_step(void *payload, billing_ctx *ctx, billing_txn *tx, const void *current,
	void *record)
{
	return run_check(payload, ctx, tx, current, record);
}

/*
 * The new object's id: the tenant's own when the descriptor's ID field
 * takes one on create (BILLING_API_CREATE) and it was given, in the form
 * billing__id_chosen says (else a field error, joined to the others when
 * the object has rules, and a made id so that the rules still run); a
 * new one otherwise. A chosen id already taken is the insert's
 * BILLING_EEXISTS naming "id".
 */
static int id_of_create(struct call *c, char id[BILLING_ID_MAX])
{
	const billing_resource *res = c->res;
	const billing_field *idf = billing__field_with(res, BILLING_FIELD_ID);
	const char *chosen = NULL;

	if ((c->given & ~c->failed) & BILLING__FIELD_BIT(res, idf))
		chosen = billing__record_text(idf, c->work);
	if (chosen && billing__id_chosen(chosen, res->prefix)) {
		snprintf(id, BILLING_ID_MAX, "%s", chosen);
		return BILLING_OK;
	}
	if (chosen || ((c->given & ~c->failed) & BILLING__FIELD_BIT(res, idf))) {
		if (!c->rules->check)
			return billing__error_field(BILLING_EINVALID, "invalid", "id",
				"must be %s_ followed by letters, digits, - or _ (%d characters "
				"at most)", res->prefix, BILLING_ID_MAX - 1);
		billing__check_fail(&c->pending, "id", "must be %s_ followed by letters, digits, "
			"- or _ (%d characters at most)", res->prefix, BILLING_ID_MAX - 1);
		c->failed |= BILLING__FIELD_BIT(res, idf);
	}
	if (billing__id_new(id, res->prefix, c->now * 1000) < 0)
		return billing__error_set(BILLING_ERROR, NULL, "cannot make an id");
	return BILLING_OK;
}

static int create_once(void **out, const billing__rules *rules, billing_ctx *ctx,
	const billing_principal *who, const void *rec, uint64_t given,
	const billing_call_options *opts)
{
	const billing_resource *res = rules->res;
	char id[BILLING_ID_MAX];
	billing__idem idem;
	struct call c;
	int rc;

	if ((rc = billing__authorize_rules(ctx, who, rules, BILLING_RESOURCE_OP_CREATE)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	call_init(&c, rules, ctx);
	if ((rc = check_given(&c, rec, given, true)) < 0 ||
	    (rc = idem_init(&c, &idem, opts, "create", NULL, 0)) < 0)
		goto out;
	if ((rc = id_of_create(&c, id)) < 0)
		goto out;
	billing__record_set_text(billing__field_with(res, BILLING_FIELD_TENANT), c.work,
		who->tenant_id);
	billing__record_set_text(billing__field_with(res, BILLING_FIELD_ID), c.work, id);
	billing__record_set_int(billing__field_with(res, BILLING_FIELD_VERSION), c.work, 1);
	billing__record_set_int(billing_resource_field(res, "created_at"), c.work, c.now);
	billing__record_set_int(billing_resource_field(res, "updated_at"), c.work, c.now);
	keys_fill(res, c.work, c.work, c.given & ~c.failed);
	/* The rules may rewrite the strings of their record: the flow's copy. */
	if ((c.merged = billing__record_dup(res, c.work)) == NULL) {
		rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
		goto out;
	}
	rc = billing__entity_create(out, &c.e, ctx, who->tenant_id, &idem, c.merged, id,
		create_step, NULL, &c);
out:
	call_free(&c);
	return rc;
}

int billing__resource_create(void **out, const billing__rules *rules, billing_ctx *ctx,
	const billing_principal *who, const void *rec, uint64_t given,
	const billing_call_options *opts)
{
	BILLING__RETRY(create_once(out, rules, ctx, who, rec, given, opts));
}

/* ------------------------------------------------------------ get */

int billing__resource_get(void **out, const billing__rules *rules, billing_ctx *ctx,
	const billing_principal *who, const char *id)
{
	struct call c;
	int rc;

	if ((rc = billing__authorize_rules(ctx, who, rules, BILLING_RESOURCE_OP_GET)) < 0)
		return rc;
	call_init(&c, rules, ctx);
	return billing__entity_read(out, &c.e, ctx, who->tenant_id, rules->res->prefix, id);
}

/* ------------------------------------------------------------ update */

/* The record an update writes: current with the given fields replaced. */
static int update_step(void *payload, billing_ctx *ctx, billing_txn *tx, const void *current,
	void *record)
{
	struct call *c = payload;
	const billing_resource *res = c->res;
	const billing_field *ver = billing__field_with(res, BILLING_FIELD_VERSION);
	size_t i;
	int rc;

	memcpy(record, current, res->record_size);
	for (i = 0; i < res->field_count; i++)
		if (c->given & (UINT64_C(1) << i))
			copy_field(&res->fields[i], record, c->work);
	keys_fill(res, record, c->work, c->given & ~c->failed);
	billing__record_set_int(billing_resource_field(res, "updated_at"), record, c->now);
	billing__record_set_int(ver, record, billing__record_int(ver, current) + 1);
	if ((c->merged = billing__record_dup(res, record)) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	if ((rc = run_check(c, ctx, tx, current, c->merged)) < 0)
		return rc;
	if (c->rules->update_extra &&
	    (rc = c->rules->update_extra(ctx, tx, current, c->merged, c->extras,
		&c->extra_keep)) < 0)
		return rc;
	memcpy(record, c->merged, res->record_size);
	return BILLING_OK;
}

static int update_once(void **out, const billing__rules *rules, billing_ctx *ctx,
	const billing_principal *who, const char *id, const void *rec, uint64_t given,
	int64_t expected_version, const char *const *extras, const billing_call_options *opts)
{
	static const char *const none[BILLING__EXTRAS_MAX] = { NULL };
	const billing_resource *res = rules->res;
	billing__idem idem;
	struct call c;
	size_t i;
	int rc;

	if ((rc = billing__authorize_rules(ctx, who, rules, BILLING_RESOURCE_OP_UPDATE)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	if ((rc = billing__check_expected_version(expected_version)) < 0)
		return rc;
	call_init(&c, rules, ctx);
	if (rules->update_extras) {
		c.extras = extras ? extras : none;
		for (i = 0; rules->update_extras[i].name; i++)
			c.extra_given |= c.extras[i] != NULL;
	}
	if ((rc = check_given(&c, rec, given, false)) < 0)
		goto out;
	if (!billing__id_arg_ok(id, res->prefix)) {
		rc = billing__not_found(c.noun);
		goto out;
	}
	if ((rc = idem_init(&c, &idem, opts, "update", id, expected_version)) < 0)
		goto out;
	if ((c.out_rec = billing__calloc(1, res->record_size)) == NULL) {
		rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
		goto out;
	}
	rc = billing__entity_update(out, &c.e, ctx, who->tenant_id, id, &idem, expected_version,
		c.out_rec, update_step, &c);
out:
	call_free(&c);
	return rc;
}

int billing__resource_update(void **out, const billing__rules *rules, billing_ctx *ctx,
	const billing_principal *who, const char *id, const void *rec, uint64_t given,
	int64_t expected_version, const billing_call_options *opts)
{
	BILLING__RETRY(update_once(out, rules, ctx, who, id, rec, given, expected_version, NULL,
		opts));
}

int billing__resource_update_extra(void **out, const billing__rules *rules, billing_ctx *ctx,
	const billing_principal *who, const char *id, const void *rec, uint64_t given,
	int64_t expected_version, const char *const *values, const billing_call_options *opts)
{
	BILLING__RETRY(update_once(out, rules, ctx, who, id, rec, given, expected_version, values,
		opts));
}

/* ------------------------------------------------------------ delete */

static int delete_step(void *payload, billing_ctx *ctx, billing_txn *tx, const void *current,
	void *record)
{
	struct call *c = payload;
	const billing_resource *res = c->res;
	const billing_field *del = billing__field_with(res, BILLING_FIELD_DELETED);
	const billing_field *ver = billing__field_with(res, BILLING_FIELD_VERSION);
	int rc;

	if (c->rules->before_delete && (rc = c->rules->before_delete(ctx, tx, current)) < 0)
		return rc;
	if (!del)
		return BILLING_OK;
	/* A soft delete: the row stays, marked, and is then found nowhere. */
	memcpy(record, current, res->record_size);
	billing__record_set_int(del, record, c->now);
	billing__record_set_int(billing_resource_field(res, "updated_at"), record, c->now);
	billing__record_set_int(ver, record, billing__record_int(ver, current) + 1);
	if (c->rules->deleting)
		c->rules->deleting(record);
	return BILLING_OK;
}

static int delete_once(const billing__rules *rules, billing_ctx *ctx,
	const billing_principal *who, const char *id, int64_t expected_version)
{
	const billing_resource *res = rules->res;
	struct call c;
	int rc;

	if ((rc = billing__authorize_rules(ctx, who, rules, BILLING_RESOURCE_OP_DELETE)) < 0 ||
	    (rc = billing__check_expected_version(expected_version)) < 0)
		return rc;
	call_init(&c, rules, ctx);
	if (!billing__id_arg_ok(id, res->prefix))
		rc = billing__not_found(c.noun);
	else if ((c.out_rec = billing__calloc(1, res->record_size)) == NULL)
		rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
	else
		rc = billing__entity_delete(&c.e, ctx, who->tenant_id, id, expected_version,
			c.out_rec, delete_step, &c);
	call_free(&c);
	return rc;
}

int billing__resource_delete(const billing__rules *rules, billing_ctx *ctx,
	const billing_principal *who, const char *id, int64_t expected_version)
{
	BILLING__RETRY(delete_once(rules, ctx, who, id, expected_version));
}

/* ------------------------------------------------------------ list */

static bool is_field_of(const billing_resource *res, const billing_field *f)
{
	size_t i;
	for (i = 0; i < res->field_count; i++)
		if (f == &res->fields[i])
			return true;
	return false;
}

static bool is_set_of(const billing_resource *res, const billing_status_set *set)
{
	size_t i;
	for (i = 0; i < res->status_set_count; i++)
		if (set == &res->status_sets[i])
			return true;
	return false;
}

/* One filter: a condition the descriptor allows, with a value of its
 * field's kind. Adds it to the filters' signature b. */
static void check_filter(billing__checks *ck, const billing_resource *res,
	const billing_filter *flt, billing__buf *b)
{
	const billing_field *f = flt->field;
	char key[80];

	if (!f || !is_field_of(res, f)) {
		billing__check_fail(ck, "filters", "a filter names a field of another object");
		return;
	}
	snprintf(key, sizeof(key), "%s/%d", f->column, (int)flt->op);
	switch (flt->op) {
	case BILLING_FILTER_EQ:
		if (!(f->flags & BILLING_FIELD_FILTER))
			billing__check_fail(ck, field_name(f), "is not a filter of this list");
		else if (f->type == BILLING_FIELD_TEXT && !flt->text)
			billing__check_fail(ck, field_name(f), "must not be null");
		else if (f->json_kind == BILLING_JSON_BOOLEAN && flt->num != 0 && flt->num != 1)
			billing__check_fail(ck, field_name(f), "must be true or false");
		else if (f->json_kind == BILLING_JSON_ENUM &&
		    (flt->num < 0 || (size_t)flt->num >= name_count(f->names)))
			billing__check_fail(ck, field_name(f), "is not one of the allowed values");
		break;
	case BILLING_FILTER_GE:
	case BILLING_FILTER_LE:
	case BILLING_FILTER_GT:
	case BILLING_FILTER_LT:
		if (!(f->flags & BILLING_FIELD_RANGE) || f->type == BILLING_FIELD_TEXT)
			billing__check_fail(ck, field_name(f), "is not a range filter of this list");
		break;
	case BILLING_FILTER_IN_SET:
	case BILLING_FILTER_NOT_IN_SET:
		if (f != res->status || !(f->flags & BILLING_FIELD_FILTER) || !flt->set ||
		    !is_set_of(res, flt->set))
			billing__check_fail(ck, field_name(f), "is not a status set of this list");
		else
			billing__buf_add(b, key, flt->set->name);
		return;
	default:
		billing__check_fail(ck, field_name(f), "unknown comparison");
		return;
	}
	if (f->type == BILLING_FIELD_TEXT)
		billing__buf_add(b, key, flt->text);
	else
		billing__buf_add_i64(b, key, flt->num);
}

/* The list's check in its transaction (billing__rules.check_list_rows). */
struct list_rows {
	const billing__rules *rules;
	const char *tenant_id;
	const billing_filter *filters;
	size_t count;
};

static int list_rows_check(const void *payload, billing_ctx *ctx, billing_txn *tx)
{
	const struct list_rows *lr = payload;
	return lr->rules->check_list_rows(ctx, tx, lr->tenant_id, lr->filters, lr->count);
}

int billing__resource_list(billing_page **out, const billing__rules *rules, billing_ctx *ctx,
	const billing_principal *who, const billing_list_params *params,
	const billing_filter *filters, size_t filter_count)
{
	const billing_resource *res = rules->res;
	billing__checks ck = BILLING__CHECKS_INIT;
	billing__sort_spec *sorts = NULL;
	const billing_field **sort_fields = NULL;
	const billing_field *created;
	billing__buf sig = { 0 };
	billing__list l;
	struct list_rows rows = { rules, NULL, filters, filter_count };
	struct call c;
	size_t i, n = 0;
	int rc;

	if ((rc = billing__authorize_rules(ctx, who, rules, BILLING_RESOURCE_OP_LIST)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	if (filter_count)
		BILLING__ASSERT_ARG(filters, "filters");
	billing__buf_add(&sig, "list", res->plural);
	for (i = 0; i < filter_count; i++)
		check_filter(&ck, res, &filters[i], &sig);
	if (params && params->search && *params->search &&
	    !billing__field_with(res, BILLING_FIELD_SEARCH))
		billing__check_fail(&ck, "search", "this list has no searchable field");
	if ((rc = billing__checks_finish(&ck, "list")) < 0 ||
	    (rules->check_list && (rc = rules->check_list(filters, filter_count)) < 0))
		goto out;
	if (sig.failed) {
		rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
		goto out;
	}

	/* The sorts: createdAt first (the default), then the other SORT
	 * fields, each by its JSON name. */
	sorts = billing__calloc(res->field_count + 1, sizeof(*sorts));
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	sort_fields = billing__calloc(res->field_count + 1, sizeof(*sort_fields));
	if (!sorts || !sort_fields) {
		rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
		goto out;
	}
	created = billing_resource_field(res, "created_at");
	if (created && (created->flags & BILLING_FIELD_SORT))
		sort_fields[n++] = created;
	for (i = 0; i < res->field_count; i++)
		if ((res->fields[i].flags & BILLING_FIELD_SORT) && &res->fields[i] != created &&
		    res->fields[i].json)
			sort_fields[n++] = &res->fields[i];
	BILLING_ASSERT(n > 0);
	for (i = 0; i < n; i++) {
		sorts[i].name = sort_fields[i]->json;
		sorts[i].is_text = sort_fields[i]->type == BILLING_FIELD_TEXT;
	}

	call_init(&c, rules, ctx);
	if ((rc = billing__list_begin(&l, ctx, who->tenant_id, params, sorts, sig.s,
		BILLING__PAGE_RECORD, billing__free)) < 0)
		goto out;
	l.res = res;
	l.page->res = res;
	l.q.filters = filters;
	l.q.filter_count = filter_count;
	l.q.sort_field = sort_fields[l.sort - sorts];
	if (rules->check_list_rows) {
		rows.tenant_id = who->tenant_id;
		l.check = list_rows_check;
		l.check_payload = &rows;
	}
	rc = billing__entity_list(out, &c.e, &l, ctx, who->tenant_id);
out:
	billing__buf_free(&sig);
	billing__free(sorts);
	billing__free(sort_fields);
	return rc;
}

const void *billing__resource_page_item(const billing_page *page, const billing_resource *res,
	size_t i)
{
	if (!page || page->res != res)
		return NULL;
	return billing__page_item(page, BILLING__PAGE_RECORD, i);
}

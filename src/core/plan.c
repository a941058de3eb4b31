/*
 * Plans: what a subscription pays, how often, for which product. The
 * product, code, currency, interval, interval count and term are fixed at
 * creation; delete is soft, and a deleted plan's code stays taken (the
 * unique constraint covers deleted rows).
 */
#include <stdio.h>
#include <string.h>

#include "billing/money.h"
#include "core/core.h"
#include "core/entity.h"
#include "core/json_out.h"
#include "core/text.h"

struct billing_plan {
	char *tenant_id;
	char *id;
	char *product_id;
	char *code;
	char *name;
	char *description;
	int64_t amount;
	char currency[4];
	billing_interval interval;
	int32_t interval_count;
	int32_t trial_days;
	int32_t term_count;
	int active;
	int64_t deleted_at;
	char *metadata_json;
	billing__metadata metadata;
	int64_t created_at;
	int64_t updated_at;
	int64_t version;
};

#define PLAN_FIXED_FIELDS (BILLING_PLAN_PRODUCT | BILLING_PLAN_CODE | BILLING_PLAN_CURRENCY | \
	BILLING_PLAN_INTERVAL | BILLING_PLAN_INTERVAL_COUNT | BILLING_PLAN_TERM_COUNT)
#define PLAN_MUTABLE_FIELDS (BILLING_PLAN_NAME | BILLING_PLAN_DESCRIPTION | \
	BILLING_PLAN_AMOUNT | BILLING_PLAN_TRIAL_DAYS | BILLING_PLAN_ACTIVE | \
	BILLING_PLAN_METADATA)
#define PLAN_FIELDS (PLAN_FIXED_FIELDS | PLAN_MUTABLE_FIELDS)

#define TRIAL_DAYS_MAX 730
#define TERM_COUNT_MAX 1000

const char *billing_interval_name(billing_interval interval)
{
	switch (interval) {
	case BILLING_DAY: return "DAY";
	case BILLING_WEEK: return "WEEK";
	case BILLING_MONTH: return "MONTH";
	case BILLING_YEAR: return "YEAR";
	default: return NULL;
	}
}

int billing_interval_parse(billing_interval *out, const char *name)
{
	BILLING__ASSERT_ARG(out, "out");
	if (name && strcmp(name, "DAY") == 0)
		*out = BILLING_DAY;
	else if (name && strcmp(name, "WEEK") == 0)
		*out = BILLING_WEEK;
	else if (name && strcmp(name, "MONTH") == 0)
		*out = BILLING_MONTH;
	else if (name && strcmp(name, "YEAR") == 0)
		*out = BILLING_YEAR;
	else
		return billing__error_field(BILLING_EINVALID, "invalid", "interval",
			"interval must be DAY, WEEK, MONTH or YEAR");
	return BILLING_OK;
}

/* The most intervals of each kind that stay within three years. */
static int32_t interval_count_max(billing_interval interval)
{
	switch (interval) {
	case BILLING_DAY: return 1095;
	case BILLING_WEEK: return 156;
	case BILLING_MONTH: return 36;
	case BILLING_YEAR: return 3;
	default: return 0;
	}
}

void billing_plan_free(billing_plan *p)
{
	if (!p)
		return;
	billing__metadata_free(&p->metadata);
	billing__free(p);
}

static void free_item(void *item)
{
	billing_plan_free(item);
}

static void *from_record(const void *record)
{
	const billing_plan_record *r = record;
	billing_plan *p;
	billing__strpack sp;
	size_t strings = billing__strsize(r->tenant_id) +
		billing__strsize(r->id) +
		billing__strsize(r->product_id) +
		billing__strsize(r->code) +
		billing__strsize(r->name) +
		billing__strsize(r->description) +
		billing__strsize(r->metadata_json ? r->metadata_json : "{}");

	if ((p = billing__calloc(1, sizeof(*p) + strings)) == NULL)
		return NULL;
	sp.next = (char *)(p + 1);
	p->tenant_id = billing__strpack_put(&sp, r->tenant_id);
	p->id = billing__strpack_put(&sp, r->id);
	p->product_id = billing__strpack_put(&sp, r->product_id);
	p->code = billing__strpack_put(&sp, r->code);
	p->name = billing__strpack_put(&sp, r->name);
	p->description = billing__strpack_put(&sp, r->description);
	p->amount = r->amount;
	snprintf(p->currency, sizeof(p->currency), "%s", r->currency ? r->currency : "");
	p->interval = (billing_interval)r->interval;
	p->interval_count = r->interval_count;
	p->trial_days = r->trial_days;
	p->term_count = r->term_count;
	p->active = r->active ? 1 : 0;
	p->deleted_at = r->deleted_at;
	p->metadata_json = billing__strpack_put(&sp, r->metadata_json ? r->metadata_json : "{}");
	p->created_at = r->created_at;
	p->updated_at = r->updated_at;
	p->version = r->version;
	if (billing__metadata_decode(&p->metadata, p->metadata_json) < 0) {
		billing_plan_free(p);
		return NULL;
	}
	return p;
}

/* One sort_key per sort: the list cursor reads back the column it sorts. */
static void sort_key(const void *item, const char **text, int64_t *num, const char **id)
{
	const billing_plan *p = item;
	*id = p->id;
	*num = p->created_at;
	*text = p->name;
}

static void sort_key_code(const void *item, const char **text, int64_t *num, const char **id)
{
	const billing_plan *p = item;
	*id = p->id;
	*num = p->created_at;
	*text = p->code;
}

static void sort_key_amount(const void *item, const char **text, int64_t *num, const char **id)
{
	const billing_plan *p = item;
	*id = p->id;
	*num = p->amount;
	*text = NULL;
}

/* Inputs after validation and normalization; strings owned. */
struct norm {
	char *code;
	char *name;
	char *description;
	char currency[4];         /* "" on create: the product's */
	int32_t interval_count;
	int active;
	char *metadata_json;
};

static void norm_free(struct norm *n)
{
	billing__free(n->code);
	billing__free(n->name);
	billing__free(n->description);
	billing__free(n->metadata_json);
}

/*
 * Validates the members named by fields into n. On create every field is
 * named and zero values take their defaults. On update a fixed field is an
 * error, and a tristate bit asks for a value, so UNSET is an error. The
 * product id is checked against storage later, in the transaction.
 */
static int validate(const billing_plan_params *p, unsigned int fields, bool creating,
	struct norm *n)
{
	billing__checks c = BILLING__CHECKS_INIT;
	int rc = BILLING_OK;

	memset(n, 0, sizeof(*n));
	if (!creating) {
		static const struct { unsigned int bit; const char *field; } fixed[] = {
			{ BILLING_PLAN_PRODUCT, "productId" },
			{ BILLING_PLAN_CODE, "code" },
			{ BILLING_PLAN_CURRENCY, "currency" },
			{ BILLING_PLAN_INTERVAL, "interval" },
			{ BILLING_PLAN_INTERVAL_COUNT, "intervalCount" },
			{ BILLING_PLAN_TERM_COUNT, "termCount" },
		};
		size_t i;
		for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
			if (fields & fixed[i].bit)
				billing__check_fail(&c, fixed[i].field,
					"cannot be changed after creation");
	}
	if (creating && !p->product_id)
		billing__check_fail(&c, "productId", "is required");
	if (creating) {
		if (!p->code)
			billing__check_fail(&c, "code", "is required");
		else if (!billing__plan_code_valid(p->code, strlen(p->code)))
			billing__check_fail(&c, "code", "must be 3 to 64 of A-Z 0-9 _ -");
		else if ((n->code = billing__strdup(p->code)) == NULL)
			goto nomem;
	}
	if ((fields & BILLING_PLAN_NAME) &&
	    (rc = billing__check_text(&c, "name", p->name, BILLING__TEXT_REQUIRED, 2, 100,
		&n->name)) < 0)
		goto fail;
	if ((fields & BILLING_PLAN_DESCRIPTION) &&
	    (rc = billing__check_text(&c, "description", p->description,
		BILLING__TEXT_MULTILINE, 0, 2000, &n->description)) < 0)
		goto fail;
	if ((fields & BILLING_PLAN_AMOUNT) && (p->amount < 1 || p->amount > BILLING_AMOUNT_MAX))
		billing__check_fail(&c, "amount", "must be between 1 and %lld",
			(long long)BILLING_AMOUNT_MAX);
	if (creating && p->currency &&
	    billing_currency_normalize(n->currency, p->currency) < 0)
		billing__check_fail(&c, "currency", "must be an ISO 4217 currency code");
	if (creating) {
		int32_t max = interval_count_max(p->interval);
		n->interval_count = p->interval_count ? p->interval_count : 1;
		if (max == 0)
			billing__check_fail(&c, "interval", "must be DAY, WEEK, MONTH or YEAR");
		else if (n->interval_count < 1 || n->interval_count > max)
			billing__check_fail(&c, "intervalCount",
				"must be between 1 and %d for %s (three years at most)", (int)max,
				billing_interval_name(p->interval));
	}
	if ((fields & BILLING_PLAN_TRIAL_DAYS) &&
	    (p->trial_days < 0 || p->trial_days > TRIAL_DAYS_MAX))
		billing__check_fail(&c, "trialDays", "must be between 0 and %d", TRIAL_DAYS_MAX);
	if (creating && (p->term_count < 0 || p->term_count > TERM_COUNT_MAX))
		billing__check_fail(&c, "termCount", "must be 0 (no term) or between 1 and %d",
			TERM_COUNT_MAX);
	if (fields & BILLING_PLAN_ACTIVE) {
		if (p->active == BILLING_TRUE || (creating && p->active == BILLING_UNSET))
			n->active = 1;
		else if (p->active == BILLING_FALSE)
			n->active = 0;
		else
			billing__check_fail(&c, "active", "must be true or false");
	}
	if ((fields & BILLING_PLAN_METADATA) &&
	    (rc = billing__metadata_encode(&c, p->metadata, p->metadata_count,
		&n->metadata_json)) < 0)
		goto fail;
	if ((rc = billing__checks_finish(&c, "plan")) < 0)
		goto fail;
	return BILLING_OK;
nomem:
	rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
fail:
	norm_free(n);
	return rc;
}

static int check_params(const billing_plan_params *p)
{
	BILLING__ASSERT_ARG(p, "params");
	if (p->version == 0 || p->version > BILLING_PLAN_PARAMS_VERSION)
		return billing__error_field(BILLING_EINVALID, "invalid_version", "version",
			"unknown billing_plan_params version %u", p->version);
	return BILLING_OK;
}

static int product_missing(void)
{
	return billing__error_field(BILLING_EINVALID, "resource_missing", "productId",
		"no such product in this tenant");
}

/* The digest input of an idempotent call: its normalized fields. */
static void hash_input(billing__buf *b, unsigned int fields, const billing_plan_params *p,
	const struct norm *n, const char *id, int64_t expected_version)
{
	billing__buf_add(b, "id", id);
	billing__buf_add_i64(b, "fields", fields);
	billing__buf_add(b, "productId", (fields & BILLING_PLAN_PRODUCT) ? p->product_id : NULL);
	billing__buf_add(b, "code", n->code);
	billing__buf_add(b, "name", n->name);
	billing__buf_add(b, "description", n->description);
	if (fields & BILLING_PLAN_AMOUNT)
		billing__buf_add_i64(b, "amount", p->amount);
	billing__buf_add(b, "currency", n->currency[0] ? n->currency : NULL);
	if (fields & BILLING_PLAN_INTERVAL)
		billing__buf_add_i64(b, "interval", p->interval);
	if (fields & BILLING_PLAN_INTERVAL_COUNT)
		billing__buf_add_i64(b, "intervalCount", n->interval_count);
	if (fields & BILLING_PLAN_TRIAL_DAYS)
		billing__buf_add_i64(b, "trialDays", p->trial_days);
	if (fields & BILLING_PLAN_TERM_COUNT)
		billing__buf_add_i64(b, "termCount", p->term_count);
	if (fields & BILLING_PLAN_ACTIVE)
		billing__buf_add_i64(b, "active", n->active);
	billing__buf_add(b, "metadata", n->metadata_json);
	billing__buf_add_i64(b, "expectedVersion", expected_version);
}

static int64_t version_of(const void *item)
{
	return ((const billing_plan *)item)->version;
}

/* A soft-deleted plan is not found, as everywhere. */
static bool visible(const void *item)
{
	return ((const billing_plan *)item)->deleted_at == 0;
}

static int st_get(billing_storage *st, billing_txn *tx, const char *tenant_id, const char *id,
	billing_row_cb cb, void *payload)
{
	return st->record_read(tx, &billing__res_plan, tenant_id, id, BILLING_LOCK_UPDATE, cb, payload);
}

static int st_insert(billing_storage *st, billing_txn *tx, const void *record)
{
	return st->record_insert(tx, &billing__res_plan, record);
}

static int st_update(billing_storage *st, billing_txn *tx, const void *record,
	int64_t old_version)
{
	return st->record_update(tx, &billing__res_plan, record, old_version);
}

static int st_list(billing_storage *st, billing_txn *tx, const char *tenant_id,
	const billing_list_query *q, billing_row_cb cb, void *payload)
{
	return billing__list_records(st, tx, &billing__res_plan, tenant_id, q, cb, payload);
}

/* Plans are never removed: delete marks them (remove is NULL). */
static const char *id_of(const void *item)
{
	return billing_plan_id(item);
}

static const billing__entity entity = {
	"plan", from_record, free_item, version_of, visible,
	st_get, st_insert, st_update, NULL, st_list,
	billing__json_plan, id_of, NULL, NULL
};

/* Receives the product row of a plan's product: its currency, or nothing
 * when only its existence matters. */
static int product_row(void *payload, const void *record)
{
	const billing_product_record *r = record;
	char *currency = payload;
	if (currency)
		snprintf(currency, 4, "%s", r->currency ? r->currency : "");
	return BILLING_OK;
}

/* Inside the transaction: the product named by a plan's input must exist
 * in the tenant; anything else is the caller's input naming nothing. */
static int product_in(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *product_id, char currency[4])
{
	int rc = ctx->st->record_read(tx, &billing__res_product, tenant_id, product_id, BILLING_LOCK_UPDATE, product_row, currency);
	return rc == BILLING_ENOTFOUND ? product_missing() : rc;
}

/* The record of an existing plan, for plan_update. */
static void record_of(billing_plan_record *r, const billing_plan *cur)
{
	memset(r, 0, sizeof(*r));
	r->tenant_id = cur->tenant_id;
	r->id = cur->id;
	r->product_id = cur->product_id;
	r->code = cur->code;
	r->name = cur->name;
	r->description = cur->description;
	r->amount = cur->amount;
	r->currency = cur->currency;
	r->interval = cur->interval;
	r->interval_count = cur->interval_count;
	r->trial_days = cur->trial_days;
	r->term_count = cur->term_count;
	r->active = cur->active;
	r->deleted_at = cur->deleted_at;
	r->metadata_json = cur->metadata_json;
	r->created_at = cur->created_at;
	r->updated_at = cur->updated_at;
	r->version = cur->version;
}

/* Create's step in the transaction: the product exists in the tenant, and
 * its currency is the plan's unless the input named one. */
struct creating {
	char product_currency[4];
};

static int check_product(void *payload, billing_ctx *ctx, billing_txn *tx,
	const void *current, void *record)
{
	struct creating *cr = payload;
	billing_plan_record *r = record;
	int rc;
	(void)current;

	if ((rc = product_in(ctx, tx, r->tenant_id, r->product_id, cr->product_currency)) < 0)
		return rc;
	if (!r->currency || !r->currency[0])
		r->currency = cr->product_currency;
	return BILLING_OK;
}

static int plan_create_once(billing_plan **out, billing_ctx *ctx,
	const billing_principal *who, const billing_plan_params *p,
	const billing_call_options *opts)
{
	billing_plan_record r;
	billing__buf input = { 0 };
	billing__idem idem;
	struct creating cr = { "" };
	struct norm n;
	char id[BILLING_ID_MAX];
	int64_t now;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_PLANS_CREATE)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	if ((rc = check_params(p)) < 0 || (rc = validate(p, PLAN_FIELDS, true, &n)) < 0)
		return rc;
	/* An ill-formed id names nothing, like a well-formed one that is not
	 * there: same answer, without asking storage. */
	if (!billing__id_arg_ok(p->product_id, "prod")) {
		rc = product_missing();
		goto out;
	}
	hash_input(&input, PLAN_FIELDS, p, &n, NULL, 0);
	if ((rc = billing__idem_init_buf(&idem, opts, BILLING_OP_PLANS_CREATE, &input)) < 0)
		goto out;
	now = billing__now(ctx);
	if (billing__id_new(id, "plan", now * 1000) < 0) {
		rc = billing__error_set(BILLING_ERROR, NULL, "cannot make an id");
		goto out;
	}
	memset(&r, 0, sizeof(r));
	r.tenant_id = who->tenant_id;
	r.id = id;
	r.product_id = p->product_id;
	r.code = n.code;
	r.name = n.name;
	r.description = n.description;
	r.amount = p->amount;
	r.currency = n.currency;      /* "" until check_product fills the default */
	r.interval = p->interval;
	r.interval_count = n.interval_count;
	r.trial_days = p->trial_days;
	r.term_count = p->term_count;
	r.active = n.active;
	r.deleted_at = 0;
	r.metadata_json = n.metadata_json ? n.metadata_json : "{}";
	r.created_at = r.updated_at = now;
	r.version = 1;
	rc = billing__entity_create((void **)out, &entity, ctx, who->tenant_id, &idem, &r, id,
		check_product, NULL, &cr);
out:
	norm_free(&n);
	return rc;
}

int billing_plan_create(billing_plan **out, billing_ctx *ctx,
	const billing_principal *who, const billing_plan_params *p,
	const billing_call_options *opts)
{
	BILLING__RETRY(plan_create_once(out, ctx, who, p, opts));
}

int billing_plan_get(billing_plan **out, billing_ctx *ctx,
	const billing_principal *who, const char *id)
{
	return billing__entity_get((void **)out, &entity, ctx, who, BILLING_OP_PLANS_GET,
		"plan", id);
}

/* What an update changes, for the step that builds its record. */
struct change {
	const billing_plan_params *p;
	const struct norm *n;
};

static int build_update(void *payload, billing_ctx *ctx, billing_txn *tx,
	const void *current, void *record)
{
	const struct change *ch = payload;
	const billing_plan_params *p = ch->p;
	unsigned int f = p->fields;
	billing_plan_record *r = record;
	(void)tx;

	record_of(r, current);
	r->updated_at = billing__now(ctx);
	r->version++;
	if (f & BILLING_PLAN_NAME)
		r->name = ch->n->name;
	if (f & BILLING_PLAN_DESCRIPTION)
		r->description = ch->n->description;
	if (f & BILLING_PLAN_AMOUNT)
		r->amount = p->amount;
	if (f & BILLING_PLAN_TRIAL_DAYS)
		r->trial_days = p->trial_days;
	if (f & BILLING_PLAN_ACTIVE)
		r->active = ch->n->active;
	if (f & BILLING_PLAN_METADATA)
		r->metadata_json = ch->n->metadata_json ? ch->n->metadata_json : "{}";
	return BILLING_OK;
}

static int plan_update_once(billing_plan **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_plan_params *p,
	const billing_call_options *opts)
{
	billing_plan_record r;
	billing__buf input = { 0 };
	billing__idem idem;
	struct change ch;
	struct norm n;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_PLANS_UPDATE)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	if ((rc = check_params(p)) < 0)
		return rc;
	if ((rc = billing__check_update(p->fields, PLAN_FIELDS, p->expected_version)) < 0 ||
	    (rc = validate(p, p->fields, false, &n)) < 0)
		return rc;
	if (!billing__id_arg_ok(id, "plan")) {
		rc = billing__not_found("plan");
		goto out;
	}
	hash_input(&input, p->fields, p, &n, id, p->expected_version);
	if ((rc = billing__idem_init_buf(&idem, opts, BILLING_OP_PLANS_UPDATE, &input)) < 0)
		goto out;
	ch.p = p;
	ch.n = &n;
	rc = billing__entity_update((void **)out, &entity, ctx, who->tenant_id, id, &idem,
		p->expected_version, &r, build_update, &ch);
out:
	norm_free(&n);
	return rc;
}

int billing_plan_update(billing_plan **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_plan_params *p,
	const billing_call_options *opts)
{
	BILLING__RETRY(plan_update_once(out, ctx, who, id, p, opts));
}

/* Subscriptions that have not ended on the plan or about to move to it (a
 * pending change never names the plan a subscription is on already). */
static int live_subscriptions(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *plan_id, int64_t *live)
{
	static const char *const columns[] = { "plan_id", "pending_plan_id" };
	const billing_resource *res = &billing__res_subscription;
	int64_t n = 0;
	size_t i;
	int rc = BILLING_OK;

	*live = 0;
	for (i = 0; rc == BILLING_OK && i < 2; i++) {
		const billing_filter f[] = {
			{ billing_resource_field(res, columns[i]), BILLING_FILTER_EQ, plan_id, 0, NULL },
			{ billing_resource_field(res, "status"), BILLING_FILTER_NOT_IN_SET, NULL, 0, &billing__sub_ended },
		};
		if ((rc = billing__count_records(ctx->st, tx, res, tenant_id, f, 2, 0, &n)) == BILLING_OK)
			*live += n;
	}
	return rc;
}

/* Delete's step: refused while subscriptions that have not ended use the
 * plan; else mark it deleted and inactive (its code stays taken). */
static int mark_deleted(void *payload, billing_ctx *ctx, billing_txn *tx,
	const void *current, void *record)
{
	const billing_plan *cur = current;
	billing_plan_record *r = record;
	int64_t live = 0;
	int rc;
	(void)payload;

	if ((rc = live_subscriptions(ctx, tx, cur->tenant_id, cur->id, &live)) < 0)
		return rc;
	if (live > 0)
		return billing__error_set(BILLING_ECONFLICT, "referenced",
			"%lld live subscription%s use the plan", (long long)live, live == 1 ? "" : "s");
	record_of(r, current);
	r->active = 0;
	r->deleted_at = r->updated_at = billing__now(ctx);
	r->version++;
	return BILLING_OK;
}

static int plan_delete_once(billing_ctx *ctx, const billing_principal *who,
	const char *id, int64_t expected_version)
{
	billing_plan_record r;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_PLANS_DELETE)) < 0 ||
	    (rc = billing__check_expected_version(expected_version)) < 0)
		return rc;
	if (!billing__id_arg_ok(id, "plan"))
		return billing__not_found("plan");
	return billing__entity_delete(&entity, ctx, who->tenant_id, id, expected_version, &r,
		mark_deleted, NULL);
}

int billing_plan_delete(billing_ctx *ctx, const billing_principal *who,
	const char *id, int64_t expected_version)
{
	BILLING__RETRY(plan_delete_once(ctx, who, id, expected_version));
}

static const billing__sort_spec sorts[] = {
	{ "createdAt", BILLING_SORT_CREATED, false },
	{ "name", BILLING_SORT_NAME, true },
	{ "code", BILLING_SORT_CODE, true },
	{ "amount", BILLING_SORT_AMOUNT, false },
	{ NULL, 0, false }
};

int billing_plan_list(billing_page **out, billing_ctx *ctx,
	const billing_principal *who, const billing_plan_list_params *params)
{
	billing_plan_list_params none = BILLING_PLAN_LIST_PARAMS_INIT;
	const billing_plan_list_params *p = params ? params : &none;
	billing__checks c = BILLING__CHECKS_INIT;
	char currency[4] = "", filters[160];
	billing__list l;
	billing_txn *tx;
	int64_t total = 0;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_PLANS_LIST)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	if (p->version == 0 || p->version > BILLING_PLAN_LIST_PARAMS_VERSION)
		return billing__error_field(BILLING_EINVALID, "invalid_version", "version",
			"unknown billing_plan_list_params version %u", p->version);
	if (p->active != BILLING_UNSET && p->active != BILLING_TRUE && p->active != BILLING_FALSE)
		billing__check_fail(&c, "active", "must be true, false or unset");
	if (p->currency && billing_currency_normalize(currency, p->currency) < 0)
		billing__check_fail(&c, "currency", "must be an ISO 4217 currency code");
	if ((rc = billing__checks_finish(&c, "plan list")) < 0)
		return rc;
	/* API-HTTP.md: an id in a filter that names nothing in the tenant,
	 * well-formed or not, is resource_missing. */
	if (p->product_id && !billing__id_arg_ok(p->product_id, "prod"))
		return product_missing();
	/* The filters in force, so that a cursor only works with them. */
	snprintf(filters, sizeof(filters), "plans|active=%d|currency=%s|product=%s",
		(int)p->active, currency[0] ? currency : "-", p->product_id ? p->product_id : "-");
	if ((rc = billing__list_begin(&l, ctx, who->tenant_id, &p->list, sorts, filters,
		BILLING__PAGE_PLAN, free_item)) < 0)
		return rc;
	l.from_record = from_record;
	l.sort_key = l.sort->column == BILLING_SORT_CODE ? sort_key_code :
		l.sort->column == BILLING_SORT_AMOUNT ? sort_key_amount : sort_key;
	l.q.active = p->active == BILLING_TRUE ? 1 : p->active == BILLING_FALSE ? 2 : 0;
	l.q.currency = currency[0] ? currency : NULL;
	l.q.product_id = p->product_id;
	if (l.q.offset >= 0)
		l.q.total = &total;
	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_READ)) == BILLING_OK) {
		if (p->product_id)
			rc = product_in(ctx, tx, who->tenant_id, p->product_id, NULL);
		if (rc == BILLING_OK)
			rc = billing__list_records(ctx->st, tx, &billing__res_plan, who->tenant_id, &l.q, billing__list_row, &l);
		rc = billing__end(ctx, tx, rc);
	}
	return billing__list_end(&l, rc, out);
}

const billing_plan *billing_page_plan(const billing_page *page, size_t i)
{
	return billing__page_item(page, BILLING__PAGE_PLAN, i);
}

const char *billing_plan_id(const billing_plan *p) { return p ? p->id : NULL; }
const char *billing_plan_tenant_id(const billing_plan *p) { return p ? p->tenant_id : NULL; }
const char *billing_plan_product_id(const billing_plan *p) { return p ? p->product_id : NULL; }
const char *billing_plan_code(const billing_plan *p) { return p ? p->code : NULL; }
const char *billing_plan_name(const billing_plan *p) { return p ? p->name : NULL; }
const char *billing_plan_description(const billing_plan *p) { return p ? p->description : NULL; }
int64_t billing_plan_amount(const billing_plan *p) { return p ? p->amount : 0; }
const char *billing_plan_currency(const billing_plan *p) { return p ? p->currency : NULL; }
billing_interval billing_plan_interval(const billing_plan *p)
{
	return p ? p->interval : BILLING_INTERVAL_NONE;
}
int32_t billing_plan_interval_count(const billing_plan *p) { return p ? p->interval_count : 0; }
int32_t billing_plan_trial_days(const billing_plan *p) { return p ? p->trial_days : 0; }
int32_t billing_plan_term_count(const billing_plan *p) { return p ? p->term_count : 0; }
int billing_plan_active(const billing_plan *p) { return p ? p->active : 0; }
size_t billing_plan_metadata_count(const billing_plan *p) { return p ? p->metadata.count : 0; }
const billing_metadata_entry *billing_plan_metadata_at(const billing_plan *p, size_t i)
{
	return p && i < p->metadata.count ? &p->metadata.entries[i] : NULL;
}
const char *billing_plan_metadata_get(const billing_plan *p, const char *key)
{
	return p ? billing__metadata_get(&p->metadata, key) : NULL;
}
int64_t billing_plan_created_at(const billing_plan *p) { return p ? p->created_at : 0; }
int64_t billing_plan_updated_at(const billing_plan *p) { return p ? p->updated_at : 0; }
int64_t billing_plan_version(const billing_plan *p) { return p ? p->version : 0; }

/*
 * Stored payment methods (billing/payment_method.h): a descriptor object
 * that the API reads through the generic flow (GET /v1/payment-methods,
 * /v1/payment-methods/{id}) and that only this file writes, because both
 * writes ask the payment provider first, outside any transaction:
 * attaching reads the card's details from the provider (and attaches the
 * provider's payment method to the provider's customer), detaching
 * detaches it there. The write itself then runs through the shared flows
 * of entity.c (one transaction, idempotency, event, audit row).
 *
 * The provider's customer ("cus_..." at Stripe) is the one the charges
 * already send: the customer's metadata provider_customer_id. When a
 * customer has none, the first setup or attach makes it at the provider
 * and writes it there through billing_customer_update (event
 * "customer.updated").
 *
 * Expiring cards: each stored card has one due-work item (kind
 * BILLING__DUE_CARD_EXPIRY) at the first second (UTC) of its expiry month,
 * a month before the card stops working; the billing run writes
 * "payment_method.expiring" and clears the item in one transaction, so the
 * event is written once across runs and restarts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "billing/customer.h"
#include "billing/payment_method.h"
#include "billing/sys/provider.h"
#include "core/calendar.h"
#include "core/entity.h"
#include "core/events.h"
#include "core/metadata.h"
#include "core/payment_internal.h"
#include "core/payment_method.h"
#include "core/provider_account.h"
#include "core/resource.h"
#include "core/resources.h"

struct billing_payment_method {
	const char *tenant_id;
	const char *id;
	const char *customer_id;
	const char *provider;
	const char *provider_ref;
	const char *type;
	const char *card_json;       /* {"brand","last4","expMonth","expYear"}: the API's card */
	const char *brand;
	const char *last4;
	int64_t exp_month;
	int64_t exp_year;
	int64_t created_at;
	int64_t updated_at;
	int64_t version;
};

#define F(member) offsetof(struct billing_payment_method, member)

enum {
	TENANT, ID, CUSTOMER, PROVIDER, PROVIDER_REF, TYPE, CARD, BRAND, LAST4, EXP_MONTH, EXP_YEAR,
	CREATED_AT, UPDATED_AT, VERSION, FIELD_COUNT
};

#define HIDDEN(col, type, member) \
	{ col, BILLING_FIELD_##type, F(member), BILLING_FIELD_FIXED, NULL, BILLING_JSON_NONE, 0, \
	  NULL, 0, NULL }

static const billing_field fields[FIELD_COUNT] = {
	[TENANT] = { "tenant_id", BILLING_FIELD_TEXT, F(tenant_id),
		BILLING_FIELD_TENANT | BILLING_FIELD_FIXED, NULL, BILLING_JSON_NONE, 0, NULL, 0,
		NULL },
	[ID] = { "id", BILLING_FIELD_TEXT, F(id), BILLING_FIELD_ID | BILLING_FIELD_FIXED,
		"id", BILLING_JSON_STRING, 0, NULL, 0,
		"The stored payment method's id (cpm_...; the provider's own is "
		"providerPaymentMethodId)." },
	[CUSTOMER] = { "customer_id", BILLING_FIELD_TEXT, F(customer_id),
		BILLING_FIELD_FIXED | BILLING_FIELD_FILTER, "customerId", BILLING_JSON_STRING, 0,
		NULL, 0, "The customer whose payment method it is." },
	[PROVIDER] = { "provider", BILLING_FIELD_TEXT, F(provider), BILLING_FIELD_FIXED,
		"provider", BILLING_JSON_STRING, 0, NULL, 0,
		"The payment provider that holds it (\"stripe\", \"test\")." },
	[PROVIDER_REF] = { "provider_ref", BILLING_FIELD_TEXT, F(provider_ref),
		BILLING_FIELD_FIXED | BILLING_FIELD_UNIQUE | BILLING_FIELD_FILTER,
		"providerPaymentMethodId", BILLING_JSON_STRING, 0, NULL, 0,
		"The provider's id of the payment method (pm_... at Stripe): what charges send, "
		"and what a customer's defaultPaymentMethod holds." },
	[TYPE] = { "type", BILLING_FIELD_TEXT, F(type), BILLING_FIELD_FIXED, "type",
		BILLING_JSON_STRING, 0, NULL, 0, "\"card\"." },
	[CARD] = { "card", BILLING_FIELD_TEXT, F(card_json), 0, "card", BILLING_JSON_OBJECT, 0,
		NULL, 0,
		"What the provider reports of the card: brand, last4, expMonth, expYear; never "
		"the number." },
	[BRAND] = HIDDEN("brand", TEXT, brand),
	[LAST4] = HIDDEN("last4", TEXT, last4),
	[EXP_MONTH] = HIDDEN("exp_month", INT64, exp_month),
	[EXP_YEAR] = HIDDEN("exp_year", INT64, exp_year),
	[CREATED_AT] = { "created_at", BILLING_FIELD_INT64, F(created_at),
		BILLING_FIELD_FIXED | BILLING_FIELD_SORT | BILLING_FIELD_RANGE, "createdAt",
		BILLING_JSON_TIME, 0, NULL, 0, "When it was attached." },
	[UPDATED_AT] = { "updated_at", BILLING_FIELD_INT64, F(updated_at), 0, "updatedAt",
		BILLING_JSON_TIME, 0, NULL, 0, "When it last changed." },
	[VERSION] = { "version", BILLING_FIELD_INT64, F(version), BILLING_FIELD_VERSION,
		"version", BILLING_JSON_INTEGER, 0, NULL, 0, "1 at creation, +1 on every change." },
};

static const billing_reference references[] = {
	{ "customer_id", &billing__res_customer },
};

#define R_READ ((1u << BILLING_ROLE_USER) | (1u << BILLING_ROLE_ADMIN))

/*
 * Our prefix is "cpm" (customer payment method), not Stripe's "pm": a
 * stored method's id and the provider's id it stands for are both accepted
 * where a customer's default is set, and must never be mistaken for each
 * other (a "pm_..." is sent to the provider as it is; a "cpm_..." is looked
 * up here).
 */
static const billing_resource payment_method = {
	"payment_method", "payment_methods", "payment-methods", "PaymentMethod",
	"A customer's payment method stored at the provider, by reference; attached with "
	"POST /v1/payment-methods, detached with DELETE.",
	"payment_methods", "cpm", sizeof(struct billing_payment_method), fields, FIELD_COUNT,
	NULL, NULL, 0, NULL, 0,
	BILLING_RESOURCE_OP_GET | BILLING_RESOURCE_OP_LIST,
	R_READ, 0, BILLING_RESOURCE_CREATE_EVENT, references,
	sizeof(references) / sizeof(references[0])
};

const billing__rules billing__payment_method_rules = { &payment_method, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL };

static const billing__entity entity = { .noun = "payment method", .res = &payment_method };

#define PREFIX "cpm_"
#define TOKEN_MAX 255

/* ------------------------------------------------------------ helpers */

/* 1..max printable ASCII without spaces: what a provider's id is. */
static bool token_ok(const char *s, size_t max)
{
	size_t i;
	if (!s || !*s)
		return false;
	for (i = 0; s[i]; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e || i >= max)
			return false;
	return true;
}

/* The provider's payment-method methods (version 3), or BILLING_ECONFLICT
 * (no_provider, as paying without one; provider_unsupported). */
static int provider_ok(billing_ctx *ctx)
{
	const billing_provider *p = ctx->provider;
	if (!p)
		return billing__payment_no_provider();
	if (p->version < 3 || !p->customer_create || !p->setup_intent_create ||
	    !p->payment_method_attach || !p->payment_method_detach)
		return billing__error_set(BILLING_ECONFLICT, "provider_unsupported",
			"the payment provider does not store payment methods");
	return BILLING_OK;
}

/* The first second after the card's expiry month: when it stops working. */
static int64_t card_end(int64_t year, int64_t month)
{
	return month == 12 ? billing__month_start(year + 1, 1) :
		billing__month_start(year, (int)month + 1);
}

/* What this file reads of a customer. */
struct customer_info {
	bool found;
	char email[256];
	char ref[BILLING_PROVIDER_REF_MAX];     /* metadata provider_customer_id */
	char default_pm[256];
};

static int customer_row(void *payload, const void *record)
{
	const billing_customer_record *r = record;
	struct customer_info *c = payload;
	billing__metadata m;
	const char *ref;

	c->found = true;
	snprintf(c->email, sizeof(c->email), "%s", r->email ? r->email : "");
	snprintf(c->default_pm, sizeof(c->default_pm), "%s",
		r->default_payment_method ? r->default_payment_method : "");
	if (billing__metadata_decode(&m, r->metadata_json) < 0)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	ref = billing__metadata_get(&m, "provider_customer_id");
	snprintf(c->ref, sizeof(c->ref), "%s", ref ? ref : "");
	billing__metadata_free(&m);
	return BILLING_OK;
}

static int customer_read_in(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *customer_id, struct customer_info *c)
{
	int rc;
	memset(c, 0, sizeof(*c));
	rc = billing__read(ctx->st, tx, &billing__res_customer, tenant_id, customer_id,
		BILLING_LOCK_SHARE, customer_row, c);
	return rc == BILLING_ENOTFOUND ? BILLING_OK : rc;
}

/* The customer, in a read transaction of its own; customerId
 * resource_missing when the tenant has no such customer. */
static int customer_read(billing_ctx *ctx, const char *tenant_id, const char *customer_id,
	struct customer_info *c)
{
	billing_txn *tx;
	int rc;

	memset(c, 0, sizeof(*c));
	if (billing__id_arg_ok(customer_id, "cus")) {
		if ((rc = billing__begin(&tx, ctx, tenant_id, BILLING_TXN_READ)) < 0)
			return rc;
		if ((rc = billing__end(ctx, tx, customer_read_in(ctx, tx, tenant_id, customer_id,
			c))) < 0)
			return rc;
	}
	if (!c->found)
		return billing__error_field(BILLING_EINVALID, "resource_missing", "customerId",
			"no such customer in this tenant");
	return BILLING_OK;
}

/* Writes ref as the customer's metadata provider_customer_id, unless one
 * is there already (a concurrent setup made it): *ref then becomes that. */
static int customer_ref_store(billing_ctx *ctx, const billing_principal *who,
	const char *customer_id, char *ref, size_t size)
{
	billing_customer_params p = BILLING_CUSTOMER_PARAMS_INIT;
	billing_metadata_entry items[BILLING_METADATA_MAX_KEYS + 1];
	billing_customer *c = NULL, *updated = NULL;
	const char *have;
	size_t i, n;
	int rc, tries;

	for (tries = 0; tries < 3; tries++) {
		if ((rc = billing_customer_get(&c, ctx, who, customer_id)) < 0)
			return rc;
		if ((have = billing_customer_metadata_get(c, "provider_customer_id")) != NULL) {
			snprintf(ref, size, "%s", have);
			billing_customer_free(c);
			return BILLING_OK;
		}
		n = billing_customer_metadata_count(c);
		if (n >= BILLING_METADATA_MAX_KEYS) {
			billing_customer_free(c);
			return billing__error_field(BILLING_EINVALID, "metadata_full", "customerId",
				"the customer's metadata has no room for provider_customer_id");
		}
		for (i = 0; i < n; i++)
			items[i] = *billing_customer_metadata_at(c, i);
		items[n].key = "provider_customer_id";
		items[n].value = ref;
		p.fields = BILLING_CUSTOMER_METADATA;
		p.metadata = items;
		p.metadata_count = n + 1;
		p.expected_version = billing_customer_version(c);
		rc = billing_customer_update(&updated, ctx, who, customer_id, &p, NULL);
		billing_customer_free(c);
		billing_customer_free(updated);
		c = updated = NULL;
		if (rc != BILLING_ESTALE)
			return rc;
	}
	return rc;
}

/*
 * The provider's customer of ours: c->ref, made at the provider (and
 * stored) when the customer has none. The key is the customer's own, so
 * two setups at once make one provider customer while the provider keeps
 * keys. op: the call in progress, whose scope the nested update replaces.
 */
static int customer_ref_ensure(billing_ctx *ctx, const billing_principal *who, billing__op op,
	const char *customer_id, struct customer_info *c, int64_t now)
{
	billing_provider_customer req;
	billing_provider *pv, *owned;
	char key[96];
	int rc;

	if (c->ref[0])
		return BILLING_OK;
	snprintf(key, sizeof(key), "customer-%s", customer_id);
	memset(&req, 0, sizeof(req));
	req.tenant_id = who->tenant_id;
	req.customer_id = customer_id;
	req.email = c->email[0] ? c->email : NULL;
	req.idempotency_key = key;
	if ((rc = billing__provider_for(ctx, who->tenant_id, &pv, &owned)) < 0)
		return rc;
	rc = pv->customer_create(pv, &req, now, c->ref);
	billing__provider_release(owned);
	if (rc < 0)
		return rc;
	if (!token_ok(c->ref, BILLING_PROVIDER_REF_MAX - 1))
		return billing__error_set(BILLING_ERROR, "bad_response",
			"the provider answered with no customer id");
	rc = customer_ref_store(ctx, who, customer_id, c->ref, sizeof(c->ref));
	billing__scope_call(who, op);
	return rc;
}

/* ------------------------------------------------------------ setup intents */

int billing_setup_intent_create(billing_setup_intent *out, billing_ctx *ctx,
	const billing_principal *who, const char *customer_id, const billing_call_options *opts)
{
	billing_provider_setup_intent si;
	billing_provider_customer req;
	billing_provider *pv, *owned;
	struct customer_info c;
	char key[BILLING_ID_MAX + 300];
	int64_t now;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_SETUP_INTENTS_CREATE)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	memset(out, 0, sizeof(*out));
	now = billing__now(ctx);
	if ((rc = provider_ok(ctx)) < 0 ||
	    (rc = customer_read(ctx, who->tenant_id, customer_id, &c)) < 0 ||
	    (rc = customer_ref_ensure(ctx, who, BILLING_OP_SETUP_INTENTS_CREATE, customer_id, &c,
		now)) < 0)
		return rc;
	/* The caller's key makes a retry return the same SetupIntent; without
	 * one every call makes a new one. */
	if (opts && opts->idempotency_key && opts->idempotency_key[0]) {
		snprintf(key, sizeof(key), "seti-%s-%s", who->tenant_id, opts->idempotency_key);
	} else {
		char id[BILLING_ID_MAX];
		if (billing__id_new(id, "seti", now * 1000) < 0)
			return billing__error_set(BILLING_ERROR, NULL, "cannot make an id");
		snprintf(key, sizeof(key), "%s", id);
	}
	memset(&req, 0, sizeof(req));
	memset(&si, 0, sizeof(si));
	req.tenant_id = who->tenant_id;
	req.customer_id = customer_id;
	req.customer_ref = c.ref;
	req.email = c.email[0] ? c.email : NULL;
	req.idempotency_key = key;
	if ((rc = billing__provider_for(ctx, who->tenant_id, &pv, &owned)) < 0)
		return rc;
	rc = pv->setup_intent_create(pv, &req, now, &si);
	billing__provider_release(owned);
	if (rc < 0)
		return rc;
	if (!si.ref[0] || !si.client_secret[0])
		return billing__error_set(BILLING_ERROR, "bad_response",
			"the provider's SetupIntent has no id or client secret");
	snprintf(out->id, sizeof(out->id), "%s", si.ref);
	snprintf(out->client_secret, sizeof(out->client_secret), "%s", si.client_secret);
	snprintf(out->status, sizeof(out->status), "%s", si.status);
	OPENSSL_cleanse(&si, sizeof(si));
	return BILLING_OK;
}

/* ------------------------------------------------------------ attach */

struct attach {
	int64_t due_at;
};

/* After the insert: the card's expiry reminder. */
static int attach_after(void *payload, billing_ctx *ctx, billing_txn *tx, const void *current,
	void *record)
{
	const struct attach *a = payload;
	const struct billing_payment_method *pm = record;
	billing_due_record d;
	(void)current;
	d.tenant_id = pm->tenant_id;
	d.kind = BILLING__DUE_CARD_EXPIRY;
	d.resource_id = pm->id;
	d.due_at = a->due_at;
	return ctx->st->due_set(tx, &d);
}

static bool digits(const char *s, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return s[n] == '\0';
}

/* Stripe's brand names: "visa", "mastercard", "amex", "diners", "eftpos_au", ... */
static bool brand_ok(const char *s)
{
	size_t i;
	for (i = 0; s[i]; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return i > 0 && i <= 32;
}

/* What the provider said of the card, checked before it is stored. */
static int answer_check(const billing_provider_payment_method *pm)
{
	if (strcmp(pm->type, "card") != 0)
		return billing__error_field(BILLING_EINVALID, "unsupported_type",
			"providerPaymentMethodId", "only cards are stored (this one is \"%.40s\")",
			pm->type);
	if (!brand_ok(pm->brand) || !digits(pm->last4, 4) || pm->exp_month < 1 || pm->exp_month > 12 ||
	    pm->exp_year < 1970 || pm->exp_year > 9998)
		return billing__error_set(BILLING_ERROR, "bad_response",
			"the provider's payment method has no brand, last four digits or expiry");
	return BILLING_OK;
}

static int attach_once(billing_stored_payment_method **out, billing_ctx *ctx,
	const billing_principal *who, const billing_payment_method_params *p,
	const billing_call_options *opts)
{
	billing__checks ck = BILLING__CHECKS_INIT;
	billing_provider *pv, *owned;
	billing_provider_payment_method pm;
	billing_provider_customer req;
	struct billing_payment_method r;
	struct customer_info c;
	struct attach a;
	billing__buf input = { 0 };
	billing__idem idem;
	char id[BILLING_ID_MAX], card[192], key[BILLING_ID_MAX + 300];
	int64_t now;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_PAYMENT_METHODS_CREATE)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	*out = NULL;
	BILLING__ASSERT_ARG(p, "params");
	if (p->version == 0 || p->version > BILLING_PAYMENT_METHOD_PARAMS_VERSION)
		return billing__error_field(BILLING_EINVALID, "invalid_version", "version",
			"unknown billing_payment_method_params version %u", p->version);
	if (!p->customer_id || !*p->customer_id)
		billing__check_fail(&ck, "customerId", "is required");
	if (!p->provider_ref || !*p->provider_ref)
		billing__check_fail(&ck, "providerPaymentMethodId", "is required");
	else if (!token_ok(p->provider_ref, TOKEN_MAX))
		billing__check_fail(&ck, "providerPaymentMethodId",
			"must be 1 to 255 printable ASCII characters");
	else if (strncmp(p->provider_ref, PREFIX, strlen(PREFIX)) == 0)
		billing__check_fail(&ck, "providerPaymentMethodId",
			"is the provider's id (pm_...), not a stored payment method's");
	if ((rc = billing__checks_finish(&ck, "payment method")) < 0 ||
	    (rc = provider_ok(ctx)) < 0)
		return rc;
	now = billing__now(ctx);
	if ((rc = customer_read(ctx, who->tenant_id, p->customer_id, &c)) < 0 ||
	    (rc = customer_ref_ensure(ctx, who, BILLING_OP_PAYMENT_METHODS_CREATE,
		p->customer_id, &c, now)) < 0)
		return rc;
	/* After the nested customer update: the call's options are this call's. */
	billing__buf_add(&input, "customerId", p->customer_id);
	billing__buf_add(&input, "providerPaymentMethodId", p->provider_ref);
	if ((rc = billing__idem_init_buf(&idem, opts, BILLING_OP_PAYMENT_METHODS_CREATE,
		&input)) < 0)
		return rc;

	snprintf(key, sizeof(key), "attach-%s-%s", c.ref, p->provider_ref);
	memset(&req, 0, sizeof(req));
	memset(&pm, 0, sizeof(pm));
	req.tenant_id = who->tenant_id;
	req.customer_id = p->customer_id;
	req.customer_ref = c.ref;
	req.idempotency_key = key;
	if ((rc = billing__provider_for(ctx, who->tenant_id, &pv, &owned)) < 0)
		return rc;
	rc = pv->payment_method_attach(pv, &req, p->provider_ref, now, &pm);
	billing__provider_release(owned);
	if (rc == BILLING_ENOTFOUND)
		rc = billing__error_field(BILLING_EINVALID, "resource_missing",
			"providerPaymentMethodId", "the provider has no such payment method");
	if (rc < 0 || (rc = answer_check(&pm)) < 0)
		return rc;
	if (card_end(pm.exp_year, pm.exp_month) <= now)
		return billing__error_field(BILLING_EINVALID, "expired_card",
			"providerPaymentMethodId", "the card expired at the end of %02d/%04d",
			pm.exp_month, pm.exp_year);
	snprintf(card, sizeof(card),
		"{\"brand\":\"%s\",\"expMonth\":%d,\"expYear\":%d,\"last4\":\"%s\"}",
		pm.brand, pm.exp_month, pm.exp_year, pm.last4);
	if (billing__id_new(id, payment_method.prefix, now * 1000) < 0)
		return billing__error_set(BILLING_ERROR, NULL, "cannot make an id");
	memset(&r, 0, sizeof(r));
	r.tenant_id = who->tenant_id;
	r.id = id;
	r.customer_id = p->customer_id;
	r.provider = ctx->provider->name;
	r.provider_ref = p->provider_ref;
	r.type = "card";
	r.card_json = card;
	r.brand = pm.brand;
	r.last4 = pm.last4;
	r.exp_month = pm.exp_month;
	r.exp_year = pm.exp_year;
	r.created_at = r.updated_at = now;
	r.version = 1;
	a.due_at = billing__month_start(pm.exp_year, pm.exp_month);
	return billing__entity_create((void **)out, &entity, ctx, who->tenant_id, &idem, &r, id,
		NULL, attach_after, &a);
}

int billing_payment_method_attach(billing_stored_payment_method **out, billing_ctx *ctx,
	const billing_principal *who, const billing_payment_method_params *params,
	const billing_call_options *opts)
{
	BILLING__RETRY(attach_once(out, ctx, who, params, opts));
}

/* ------------------------------------------------------------ detach */

struct detach {
	const char *tenant_id;
};

static int pm_row(void *payload, const void *record)
{
	void **out = payload;
	if (*out)
		return BILLING_OK;
	*out = billing__record_dup(&payment_method, record);
	return *out ? BILLING_OK : billing__error_set(BILLING_ENOMEM, NULL, NULL);
}

/* The customer's default is refused: renewals would lose their card. */
static int not_default(billing_ctx *ctx, billing_txn *tx, const struct billing_payment_method *pm)
{
	struct customer_info c;
	int rc;
	if ((rc = customer_read_in(ctx, tx, pm->tenant_id, pm->customer_id, &c)) < 0)
		return rc;
	if (c.found && strcmp(c.default_pm, pm->provider_ref) == 0)
		return billing__error_field(BILLING_ECONFLICT, "payment_method_is_default", "id",
			"the payment method is the customer's default; set another default (or none) "
			"first");
	return BILLING_OK;
}

static int detach_step(void *payload, billing_ctx *ctx, billing_txn *tx, const void *current,
	void *record)
{
	const struct billing_payment_method *pm = current;
	int rc;
	(void)payload;
	(void)record;
	if ((rc = not_default(ctx, tx, pm)) < 0)
		return rc;
	return ctx->st->due_clear(tx, pm->tenant_id, BILLING__DUE_CARD_EXPIRY, pm->id);
}

static int detach_once(billing_ctx *ctx, const billing_principal *who, const char *id)
{
	struct billing_payment_method *pm = NULL;
	billing_txn *tx;
	void *record = NULL;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_PAYMENT_METHODS_DELETE)) < 0)
		return rc;
	if (!billing__id_arg_ok(id, payment_method.prefix))
		return billing__not_found(entity.noun);
	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_READ)) < 0)
		return rc;
	rc = billing__read(ctx->st, tx, &payment_method, who->tenant_id, id, BILLING_LOCK_NONE,
		pm_row, &pm);
	if (rc == BILLING_OK && !pm)
		rc = BILLING_ENOTFOUND;
	if (rc == BILLING_OK)
		rc = not_default(ctx, tx, pm);
	if ((rc = billing__end(ctx, tx, rc)) < 0) {
		billing__free(pm);
		return rc == BILLING_ENOTFOUND ? billing__not_found(entity.noun) : rc;
	}
	/* At the provider first: when that fails, nothing changed here and
	 * the caller tries again; a retry after a failed delete below finds
	 * it detached, which the provider answers as done. The key is the
	 * stored method's: a later attach of the same card is another id. */
	if (strcmp(pm->provider, ctx->provider ? ctx->provider->name : "") == 0 &&
	    (rc = provider_ok(ctx)) == BILLING_OK) {
		billing_provider_customer req;
		struct customer_info c;
		char key[BILLING_ID_MAX + 16];
		memset(&req, 0, sizeof(req));
		snprintf(key, sizeof(key), "detach-%s", pm->id);
		req.tenant_id = pm->tenant_id;
		req.customer_id = pm->customer_id;
		req.idempotency_key = key;
		billing_provider *pv, *owned;
		if ((rc = customer_read(ctx, pm->tenant_id, pm->customer_id, &c)) == BILLING_OK &&
		    (rc = billing__provider_for(ctx, pm->tenant_id, &pv, &owned)) == BILLING_OK) {
			req.customer_ref = c.ref[0] ? c.ref : NULL;
			rc = pv->payment_method_detach(pv, &req, pm->provider_ref,
				billing__now(ctx));
			billing__provider_release(owned);
		}
	}
	else if (rc == BILLING_OK)
		billing__log(ctx, BILLING_LOG_WARN, "payment method %s is held by provider %s, not "
			"this context's: deleted here only", pm->id, pm->provider);
	billing__free(pm);
	if (rc < 0)
		return rc;
	if ((record = billing__calloc(1, payment_method.record_size)) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	rc = billing__entity_delete(&entity, ctx, who->tenant_id, id, 0, record, detach_step,
		NULL);
	billing__free(record);
	return rc;
}

int billing_payment_method_detach(billing_ctx *ctx, const billing_principal *who, const char *id)
{
	BILLING__RETRY(detach_once(ctx, who, id));
}

/* ------------------------------------------------------------ inside the library */

int billing__payment_method_default(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *customer_id, const char *given, char *out, size_t size)
{
	struct billing_payment_method *pm = NULL;
	int rc;

	snprintf(out, size, "%s", given);
	if (strncmp(given, PREFIX, strlen(PREFIX)) != 0)
		return BILLING_OK;
	rc = billing__id_arg_ok(given, payment_method.prefix) ?
		billing__read(ctx->st, tx, &payment_method, tenant_id, given, BILLING_LOCK_SHARE,
			pm_row, &pm) : BILLING_ENOTFOUND;
	if (rc < 0 && rc != BILLING_ENOTFOUND)
		return rc;
	if (!pm || strcmp(pm->customer_id, customer_id) != 0) {
		billing__free(pm);
		return billing__error_field(BILLING_EINVALID, "resource_missing",
			"defaultPaymentMethod", "the customer has no such stored payment method");
	}
	snprintf(out, size, "%s", pm->provider_ref);
	billing__free(pm);
	return BILLING_OK;
}

static cJSON *pm_json(const void *item)
{
	return billing__record_json(&payment_method, item);
}

int billing__payment_method_expiring(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *id, int64_t now)
{
	struct billing_payment_method *pm = NULL;
	int rc;

	rc = billing__read(ctx->st, tx, &payment_method, tenant_id, id, BILLING_LOCK_UPDATE,
		pm_row, &pm);
	if (rc < 0 && rc != BILLING_ENOTFOUND)
		return rc;
	if (pm && now < card_end(pm->exp_year, pm->exp_month))
		rc = billing__event_emit(ctx, tx, tenant_id, "payment_method.expiring",
			payment_method.name, pm->id, pm_json, pm);
	else if (pm)       /* expired already (the run was not running): nothing to warn of */
		billing__log(ctx, BILLING_LOG_INFO, "payment method %s expired before its reminder",
			pm->id);
	billing__free(pm);
	if (rc < 0 && rc != BILLING_ENOTFOUND)
		return rc;
	return ctx->st->due_clear(tx, tenant_id, BILLING__DUE_CARD_EXPIRY, id);
}

/* ------------------------------------------------------------ the C API */

int billing_payment_method_get(billing_stored_payment_method **out, billing_ctx *ctx,
	const billing_principal *who, const char *id)
{
	return billing__resource_get((void **)out, &billing__payment_method_rules, ctx, who, id);
}

int billing_payment_method_list(billing_page **out, billing_ctx *ctx,
	const billing_principal *who, const char *customer_id, const billing_list_params *params)
{
	billing_list_params none = BILLING_LIST_PARAMS_INIT;
	billing_filter by_customer = { &fields[CUSTOMER], BILLING_FILTER_EQ, customer_id, 0, NULL };
	return billing__resource_list(out, &billing__payment_method_rules, ctx, who,
		params ? params : &none, customer_id ? &by_customer : NULL, customer_id ? 1 : 0);
}

const billing_stored_payment_method *billing_page_payment_method(const billing_page *page, size_t i)
{
	return billing__resource_page_item(page, &payment_method, i);
}

void billing_payment_method_free(billing_stored_payment_method *pm)
{
	billing__free(pm);
}

const char *billing_payment_method_id(const billing_stored_payment_method *pm)
{
	return pm ? pm->id : NULL;
}
const char *billing_payment_method_customer_id(const billing_stored_payment_method *pm)
{
	return pm ? pm->customer_id : NULL;
}
const char *billing_payment_method_provider_ref(const billing_stored_payment_method *pm)
{
	return pm ? pm->provider_ref : NULL;
}
const char *billing_payment_method_brand(const billing_stored_payment_method *pm)
{
	return pm ? pm->brand : NULL;
}
const char *billing_payment_method_last4(const billing_stored_payment_method *pm)
{
	return pm ? pm->last4 : NULL;
}
int billing_payment_method_exp_month(const billing_stored_payment_method *pm)
{
	return pm ? (int)pm->exp_month : 0;
}
int billing_payment_method_exp_year(const billing_stored_payment_method *pm)
{
	return pm ? (int)pm->exp_year : 0;
}

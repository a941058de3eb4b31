/*
 * The test provider: in-process, deterministic, driven by the context's
 * clock. Payments are remembered by idempotency key, as a real provider
 * does, so that asking again never moves money twice; the payment method
 * token scripts the outcome (billing/providers.h has the table). Inbound
 * webhooks use Stripe's signature scheme and event format.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "billing/providers.h"
#include "billing/sys/provider.h"
#include "core/core.h"
#include "providers/stripe/stripe_webhook.h"

#define PROCESSING_SECONDS 3600
/* Idempotency keys are kept this long, as Stripe keeps them (about 24 h):
 * after that the same key makes a new payment. */
#define KEY_SECONDS (24 * 3600)

typedef struct {
	char key[BILLING_ID_MAX];       /* the idempotency key it was made with */
	char ref[BILLING_PROVIDER_REF_MAX];
	char method[64];
	int64_t amount;
	char currency[4];
	billing_payment_status status;
	char failure_code[BILLING_PROVIDER_CODE_MAX];
	char payment_id[64];            /* our metadata */
	char tenant_id[64];
	int64_t created;
	int64_t refunded;
	int is_refund;                  /* a refund of ref_of */
	char ref_of[BILLING_PROVIDER_REF_MAX];
} test_payment;

/* A customer, a SetupIntent or an attachment of a payment method. */
typedef struct {
	char key[BILLING_ID_MAX + 64];       /* customers, SetupIntents: the idempotency key */
	char ref[BILLING_PROVIDER_REF_MAX];  /* cus_test_, seti_test_, or the pm_ token */
	char customer_ref[BILLING_PROVIDER_REF_MAX]; /* SetupIntents, attachments */
} test_object;

#define MAX_REFUSALS 16

/* A tenant whose requests the provider refuses, as a revoked key would
 * (billing_test_provider_refuse). */
typedef struct {
	char tenant_id[64];             /* "" : every tenant */
	int http_status;
	char code[BILLING_PROVIDER_CODE_MAX];
} test_refusal;

typedef struct {
	billing_provider base;
	pthread_mutex_t lock;
	test_refusal refusals[MAX_REFUSALS];
	size_t nrefusals;
	char *webhook_secret;
	test_payment *items;
	size_t count, cap;
	size_t seq;
	test_object *objects;
	size_t object_count, object_cap;
} test_provider;

static void result_of(billing_provider_result *out, const test_payment *t)
{
	memset(out, 0, sizeof(*out));
	out->status = t->status;
	snprintf(out->ref, sizeof(out->ref), "%s", t->ref);
	snprintf(out->failure_code, sizeof(out->failure_code), "%s", t->failure_code);
	if (t->failure_code[0])
		snprintf(out->failure_message, sizeof(out->failure_message),
			"the test provider declined it (%s)", t->failure_code);
	out->amount = t->amount;
	snprintf(out->currency, sizeof(out->currency), "%s", t->currency);
	snprintf(out->payment_id, sizeof(out->payment_id), "%s", t->payment_id);
	snprintf(out->tenant_id, sizeof(out->tenant_id), "%s", t->tenant_id);
	if (t->status == BILLING_PAYMENT_REQUIRES_ACTION) {
		/* as Stripe's use_stripe_sdk: the client secret of this payment */
		snprintf(out->next_action_type, sizeof(out->next_action_type), "use_stripe_sdk");
		snprintf(out->client_secret, sizeof(out->client_secret), "%s_secret_test", t->ref);
	}
}

/* Under the lock. A key older than KEY_SECONDS at now is forgotten (now
 * 0: never, for refunds' lookups by ref). */
static test_payment *find_at(test_provider *tp, const char *key, const char *ref, int64_t now)
{
	size_t i;
	for (i = 0; i < tp->count; i++)
		if ((key && strcmp(tp->items[i].key, key) == 0 &&
		     (now == 0 || now - tp->items[i].created < KEY_SECONDS)) ||
		    (ref && strcmp(tp->items[i].ref, ref) == 0))
			return &tp->items[i];
	return NULL;
}

static test_payment *find(test_provider *tp, const char *key, const char *ref)
{
	return find_at(tp, key, ref, 0);
}

/* Under the lock: 1 with out filled when the tenant's requests are
 * refused (nothing is made or remembered, as at Stripe). */
static int refused(test_provider *tp, const char *tenant_id, billing_provider_result *out)
{
	size_t i;

	for (i = 0; i < tp->nrefusals; i++) {
		const test_refusal *r = &tp->refusals[i];
		if (r->tenant_id[0] && (!tenant_id || strcmp(r->tenant_id, tenant_id) != 0))
			continue;
		memset(out, 0, sizeof(*out));
		out->status = BILLING_PAYMENT_FAILED;
		out->failure_class = BILLING_PROVIDER_FAILURE_CONFIG;
		out->http_status = r->http_status;
		snprintf(out->failure_code, sizeof(out->failure_code), "%s", r->code);
		snprintf(out->failure_message, sizeof(out->failure_message),
			"the test provider refuses this tenant's requests (HTTP %d)", r->http_status);
		return 1;
	}
	return 0;
}

static test_payment *add(test_provider *tp)
{
	if (tp->count == tp->cap) {
		size_t cap = tp->cap ? tp->cap * 2 : 16;
		test_payment *items = billing__realloc(tp->items, cap * sizeof(*items));
		if (!items)
			return NULL;
		tp->items = items;
		tp->cap = cap;
	}
	memset(&tp->items[tp->count], 0, sizeof(tp->items[0]));
	return &tp->items[tp->count++];
}

/* Processing payments settle an hour (of the clock) after they began. */
static void settle(test_payment *t, int64_t now)
{
	if (t->status == BILLING_PAYMENT_PENDING && !t->is_refund &&
	    now >= t->created + PROCESSING_SECONDS)
		t->status = BILLING_PAYMENT_SUCCEEDED;
}

static int tp_charge(billing_provider *p, const billing_provider_charge *req, int64_t now,
	billing_provider_result *out)
{
	test_provider *tp = (test_provider *)p;
	const char *m = req->payment_method ? req->payment_method : "";
	test_payment *t;
	int lost = 0;

	if (!req->idempotency_key || !*req->idempotency_key || req->amount <= 0 || !req->currency)
		return billing__error_set(BILLING_EINVALID, "invalid_request",
			"a charge needs a key, an amount and a currency");
	pthread_mutex_lock(&tp->lock);
	if (refused(tp, req->tenant_id, out)) {
		pthread_mutex_unlock(&tp->lock);
		return BILLING_OK;
	}
	if ((t = find_at(tp, req->idempotency_key, NULL, now)) != NULL) {
		/* The same question again: the first answer, as it stands now. */
		settle(t, now);
		result_of(out, t);
		pthread_mutex_unlock(&tp->lock);
		return BILLING_OK;
	}
	if ((t = add(tp)) == NULL) {
		pthread_mutex_unlock(&tp->lock);
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	}
	snprintf(t->key, sizeof(t->key), "%s", req->idempotency_key);
	snprintf(t->ref, sizeof(t->ref), "pi_test_%06zu", ++tp->seq);
	snprintf(t->method, sizeof(t->method), "%s", m);
	snprintf(t->currency, sizeof(t->currency), "%s", req->currency);
	snprintf(t->payment_id, sizeof(t->payment_id), "%s",
		req->payment_id ? req->payment_id : "");
	snprintf(t->tenant_id, sizeof(t->tenant_id), "%s", req->tenant_id ? req->tenant_id : "");
	t->amount = req->amount;
	t->created = now;
	if (strncmp(m, "pm_", 3) != 0) {
		t->status = BILLING_PAYMENT_FAILED;
		snprintf(t->failure_code, sizeof(t->failure_code), "invalid_payment_method");
	} else if (strcmp(m, "pm_card_chargeDeclined") == 0) {
		t->status = BILLING_PAYMENT_FAILED;
		snprintf(t->failure_code, sizeof(t->failure_code), "card_declined");
	} else if (strcmp(m, "pm_card_insufficientFunds") == 0) {
		t->status = BILLING_PAYMENT_FAILED;
		snprintf(t->failure_code, sizeof(t->failure_code), "insufficient_funds");
	} else if (strcmp(m, "pm_card_authenticationRequired") == 0) {
		t->status = BILLING_PAYMENT_REQUIRES_ACTION;
	} else if (strcmp(m, "pm_card_processing") == 0) {
		t->status = BILLING_PAYMENT_PENDING;
	} else {
		/* pm_card_timeout: the payment is made, but the answer is lost. */
		lost = strcmp(m, "pm_card_timeout") == 0;
		t->status = BILLING_PAYMENT_SUCCEEDED;
	}
	if (lost) {
		memset(out, 0, sizeof(*out));
		out->status = BILLING_PAYMENT_UNKNOWN;
		snprintf(out->failure_code, sizeof(out->failure_code), "timeout");
	} else {
		result_of(out, t);
	}
	pthread_mutex_unlock(&tp->lock);
	return BILLING_OK;
}

static int tp_retrieve(billing_provider *p, const char *ref, int64_t now,
	billing_provider_result *out)
{
	test_provider *tp = (test_provider *)p;
	test_payment *t;
	int rc = BILLING_OK;

	pthread_mutex_lock(&tp->lock);
	if ((t = find(tp, NULL, ref ? ref : "")) == NULL || t->is_refund) {
		rc = billing__error_set(BILLING_ENOTFOUND, "resource_missing",
			"the test provider has no such payment");
	} else {
		settle(t, now);
		result_of(out, t);
	}
	pthread_mutex_unlock(&tp->lock);
	return rc;
}

/* The latest payment made for our attempt req->payment_id. */
static int tp_find(billing_provider *p, const billing_provider_charge *req, int64_t now,
	billing_provider_result *out)
{
	test_provider *tp = (test_provider *)p;
	test_payment *t = NULL;
	size_t i;

	if (!req || !req->payment_id || !*req->payment_id)
		return billing__error_set(BILLING_EINVALID, "invalid_request",
			"find needs our payment id");
	pthread_mutex_lock(&tp->lock);
	for (i = 0; i < tp->count; i++)
		if (!tp->items[i].is_refund && strcmp(tp->items[i].payment_id, req->payment_id) == 0)
			t = &tp->items[i];
	if (t) {
		settle(t, now);
		result_of(out, t);
	}
	pthread_mutex_unlock(&tp->lock);
	if (!t)
		return billing__error_set(BILLING_ENOTFOUND, "resource_missing",
			"the test provider holds no payment for %s", req->payment_id);
	return BILLING_OK;
}

static int tp_refund(billing_provider *p, const billing_provider_refund *req, int64_t now,
	billing_provider_result *out)
{
	test_provider *tp = (test_provider *)p;
	test_payment *t, *r;
	int rc = BILLING_OK;

	pthread_mutex_lock(&tp->lock);
	if (refused(tp, req->tenant_id, out))
		goto out;
	if ((r = find(tp, req->idempotency_key, NULL)) != NULL) {
		result_of(out, r);
		goto out;
	}
	t = find(tp, NULL, req->payment_ref ? req->payment_ref : "");
	memset(out, 0, sizeof(*out));
	if (!t || t->is_refund || t->status != BILLING_PAYMENT_SUCCEEDED) {
		out->status = BILLING_PAYMENT_FAILED;
		snprintf(out->failure_code, sizeof(out->failure_code), "charge_not_refundable");
		goto out;
	}
	if (req->amount <= 0 || req->amount > t->amount - t->refunded) {
		out->status = BILLING_PAYMENT_FAILED;
		snprintf(out->failure_code, sizeof(out->failure_code), "amount_too_large");
		goto out;
	}
	if ((r = add(tp)) == NULL) {
		rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
		goto out;
	}
	t = find(tp, NULL, req->payment_ref);    /* add() may have moved it */
	t->refunded += req->amount;
	r->is_refund = 1;
	snprintf(r->key, sizeof(r->key), "%s", req->idempotency_key);
	snprintf(r->ref, sizeof(r->ref), "re_test_%06zu", ++tp->seq);
	snprintf(r->ref_of, sizeof(r->ref_of), "%s", t->ref);
	snprintf(r->currency, sizeof(r->currency), "%s", t->currency);
	r->amount = req->amount;
	r->created = now;
	r->status = BILLING_PAYMENT_SUCCEEDED;
	result_of(out, r);
out:
	pthread_mutex_unlock(&tp->lock);
	return rc;
}

/* Cancels a payment awaiting action (key: a repeated cancel is answered
 * the same); one that moved on answers as it stands. */
static int tp_cancel(billing_provider *p, const char *ref, const char *key, int64_t now,
	billing_provider_result *out)
{
	test_provider *tp = (test_provider *)p;
	test_payment *t;
	int rc = BILLING_OK;

	(void)key;
	pthread_mutex_lock(&tp->lock);
	if ((t = find(tp, NULL, ref ? ref : "")) == NULL || t->is_refund) {
		rc = billing__error_set(BILLING_ENOTFOUND, "resource_missing",
			"the test provider has no such payment");
	} else {
		settle(t, now);
		if (t->status == BILLING_PAYMENT_REQUIRES_ACTION)
			t->status = BILLING_PAYMENT_CANCELED;
		result_of(out, t);
	}
	pthread_mutex_unlock(&tp->lock);
	return rc;
}

/* ------------------------------------------------------------ payment methods */

/* Under the lock: the object made with key (by_key) or named ref. */
static test_object *object_find(test_provider *tp, const char *s, bool by_key)
{
	size_t i;
	for (i = 0; i < tp->object_count; i++)
		if (strcmp(by_key ? tp->objects[i].key : tp->objects[i].ref, s) == 0)
			return &tp->objects[i];
	return NULL;
}

static test_object *object_add(test_provider *tp)
{
	if (tp->object_count == tp->object_cap) {
		size_t cap = tp->object_cap ? tp->object_cap * 2 : 16;
		test_object *o = billing__realloc(tp->objects, cap * sizeof(*o));
		if (!o)
			return NULL;
		tp->objects = o;
		tp->object_cap = cap;
	}
	memset(&tp->objects[tp->object_count], 0, sizeof(tp->objects[0]));
	return &tp->objects[tp->object_count++];
}

/* The object made with key, or a new one named "<prefix>_<seq>". */
static int object_make(test_provider *tp, const char *key, const char *prefix,
	const char *customer_ref, test_object *out)
{
	test_object *o;
	int rc = BILLING_OK;
	if (!key || !*key || strlen(key) >= sizeof(o->key))
		return billing__error_set(BILLING_EINVALID, "invalid_request",
			"the test provider needs an idempotency key");
	pthread_mutex_lock(&tp->lock);
	if ((o = object_find(tp, key, true)) == NULL) {
		if ((o = object_add(tp)) == NULL) {
			rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
			goto out;
		}
		snprintf(o->key, sizeof(o->key), "%s", key);
		snprintf(o->ref, sizeof(o->ref), "%s_%06zu", prefix, ++tp->seq);
		snprintf(o->customer_ref, sizeof(o->customer_ref), "%s",
			customer_ref ? customer_ref : "");
	}
	*out = *o;
out:
	pthread_mutex_unlock(&tp->lock);
	return rc;
}

static int tp_customer_create(billing_provider *p, const billing_provider_customer *req,
	int64_t now, char *ref)
{
	test_object o;
	int rc;
	(void)now;
	if ((rc = object_make((test_provider *)p, req->idempotency_key, "cus_test", NULL, &o)) < 0)
		return rc;
	snprintf(ref, BILLING_PROVIDER_REF_MAX, "%s", o.ref);
	return BILLING_OK;
}

static int tp_setup_intent_create(billing_provider *p, const billing_provider_customer *req,
	int64_t now, billing_provider_setup_intent *out)
{
	test_object o;
	int rc;
	(void)now;
	memset(out, 0, sizeof(*out));
	if (!req->customer_ref || strncmp(req->customer_ref, "cus_test_", 9) != 0)
		return billing__error_set(BILLING_EINVALID, "invalid_request",
			"a SetupIntent needs a customer of the test provider");
	if ((rc = object_make((test_provider *)p, req->idempotency_key, "seti_test",
		req->customer_ref, &o)) < 0)
		return rc;
	snprintf(out->ref, sizeof(out->ref), "%s", o.ref);
	snprintf(out->client_secret, sizeof(out->client_secret), "%s_secret_test", o.ref);
	snprintf(out->status, sizeof(out->status), "requires_payment_method");
	return BILLING_OK;
}

/* The cards the test provider knows (billing/providers.h). */
static const struct {
	const char *token, *brand, *last4;
} cards[] = {
	{ "pm_card_visa", "visa", "4242" },
	{ "pm_card_mastercard", "mastercard", "4444" },
	{ "pm_card_amex", "amex", "8431" },
	{ "pm_card_chargeDeclined", "visa", "0002" },
	{ "pm_card_insufficientFunds", "visa", "9995" },
	{ "pm_card_authenticationRequired", "visa", "3184" },
	{ "pm_card_processing", "visa", "0077" },
	{ "pm_card_timeout", "visa", "0119" },
};

#define TEST_CARD_EXP_YEAR 2099

/* Digits s[0..n) as a number, or -1. */
static int digits_at(const char *s, size_t n)
{
	size_t i;
	int v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* The card a token stands for: one of cards[], optionally followed by
 * "_exp_YYYY_MM" (that expiry; else 12/2099). */
static bool card_of(const char *token, billing_provider_payment_method *out)
{
	size_t i, n;
	for (i = 0; i < sizeof(cards) / sizeof(cards[0]); i++) {
		const char *rest;
		int y = TEST_CARD_EXP_YEAR, m = 12;
		n = strlen(cards[i].token);
		if (strncmp(token, cards[i].token, n) != 0)
			continue;
		rest = token + n;
		if (*rest != '\0') {
			/* "_exp_YYYY_MM" */
			if (strlen(rest) != 12 || strncmp(rest, "_exp_", 5) != 0 || rest[9] != '_')
				continue;
			y = digits_at(rest + 5, 4);
			m = digits_at(rest + 10, 2);
			if (y < 1970 || m < 1 || m > 12)
				continue;
		}
		out->exp_year = y;
		out->exp_month = m;
		snprintf(out->ref, sizeof(out->ref), "%s", token);
		snprintf(out->type, sizeof(out->type), "card");
		snprintf(out->brand, sizeof(out->brand), "%s", cards[i].brand);
		snprintf(out->last4, sizeof(out->last4), "%s", cards[i].last4);
		return true;
	}
	return false;
}

static int tp_payment_method_attach(billing_provider *p, const billing_provider_customer *req,
	const char *ref, int64_t now, billing_provider_payment_method *out)
{
	test_provider *tp = (test_provider *)p;
	test_object *o;
	char name[BILLING_PROVIDER_REF_MAX];
	int rc = BILLING_OK;
	(void)now;
	memset(out, 0, sizeof(*out));
	if (!req->customer_ref || !*req->customer_ref)
		return billing__error_set(BILLING_EINVALID, "invalid_request",
			"attaching needs the provider's customer");
	if (!ref || !card_of(ref, out))
		return billing__error_set(BILLING_ENOTFOUND, "resource_missing",
			"the test provider has no payment method %.64s", ref ? ref : "");
	/* Attachments are the tenant's (as if each had an account of its own):
	 * the same token serves every tenant of a test server. */
	snprintf(name, sizeof(name), "%s/%s", req->tenant_id ? req->tenant_id : "", ref);
	pthread_mutex_lock(&tp->lock);
	if ((o = object_find(tp, name, false)) == NULL) {
		if ((o = object_add(tp)) == NULL)
			rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
		else {
			snprintf(o->ref, sizeof(o->ref), "%s", name);
			snprintf(o->customer_ref, sizeof(o->customer_ref), "%s", req->customer_ref);
		}
	} else if (strcmp(o->customer_ref, req->customer_ref) != 0) {
		rc = billing__error_field(BILLING_ECONFLICT, "attached_elsewhere",
			"providerPaymentMethodId",
			"the payment method is attached to another customer at the provider");
	}
	pthread_mutex_unlock(&tp->lock);
	if (rc == BILLING_OK)
		snprintf(out->customer_ref, sizeof(out->customer_ref), "%s", req->customer_ref);
	return rc;
}

static int tp_payment_method_detach(billing_provider *p, const billing_provider_customer *req,
	const char *ref, int64_t now)
{
	test_provider *tp = (test_provider *)p;
	test_object *o;
	char name[BILLING_PROVIDER_REF_MAX];
	(void)now;
	snprintf(name, sizeof(name), "%s/%s", req && req->tenant_id ? req->tenant_id : "",
		ref ? ref : "");
	pthread_mutex_lock(&tp->lock);
	if ((o = object_find(tp, name, false)) != NULL && !o->key[0])
		*o = tp->objects[--tp->object_count];
	pthread_mutex_unlock(&tp->lock);
	return BILLING_OK;
}

static int tp_webhook_parse(billing_provider *p, const billing_header *headers, size_t nheaders,
	const char *body, size_t len, int64_t now, billing_provider_event *out)
{
	test_provider *tp = (test_provider *)p;
	const char *secrets[1];
	if (!tp->webhook_secret)
		return billing__error_set(BILLING_EINVALID, "signature",
			"the test provider has no webhook secret");
	secrets[0] = tp->webhook_secret;
	return billing__stripe_webhook_parse(secrets, 1, 300, headers, nheaders, body, len, now,
		out);
}

static void tp_free(billing_provider *p)
{
	test_provider *tp = (test_provider *)p;
	if (!tp)
		return;
	if (tp->webhook_secret) {
		OPENSSL_cleanse(tp->webhook_secret, strlen(tp->webhook_secret));
		billing__free(tp->webhook_secret);
	}
	pthread_mutex_destroy(&tp->lock);
	billing__free(tp->items);
	billing__free(tp->objects);
	billing__free(tp);
}

int billing_test_provider_new(billing_provider **out, const billing_test_provider_options *opts)
{
	test_provider *tp;

	BILLING__ASSERT_ARG(out, "out");
	if (opts && (opts->version == 0 || opts->version > BILLING_TEST_PROVIDER_OPTIONS_VERSION))
		return billing__error_field(BILLING_EINVALID, "invalid_version", "version",
			"unknown billing_test_provider_options version %u", opts->version);
	if ((tp = billing__calloc(1, sizeof(*tp))) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	if (opts && opts->webhook_secret &&
	    (tp->webhook_secret = billing__strdup(opts->webhook_secret)) == NULL) {
		billing__free(tp);
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	}
	pthread_mutex_init(&tp->lock, NULL);
	tp->base.version = BILLING_PROVIDER_VERSION;
	tp->base.name = "test";
	tp->base.free = tp_free;
	tp->base.charge = tp_charge;
	tp->base.retrieve = tp_retrieve;
	tp->base.refund = tp_refund;
	tp->base.webhook_parse = tp_webhook_parse;
	tp->base.find = tp_find;
	tp->base.cancel = tp_cancel;
	tp->base.customer_create = tp_customer_create;
	tp->base.setup_intent_create = tp_setup_intent_create;
	tp->base.payment_method_attach = tp_payment_method_attach;
	tp->base.payment_method_detach = tp_payment_method_detach;
	*out = &tp->base;
	return BILLING_OK;
}

int billing_test_provider_complete_action(billing_provider *p, const char *ref, int succeed)
{
	test_provider *tp = (test_provider *)p;
	test_payment *t;
	int rc = BILLING_OK;

	BILLING__ASSERT_ARG(p && strcmp(p->name, "test") == 0, "provider");
	pthread_mutex_lock(&tp->lock);
	if ((t = find(tp, NULL, ref ? ref : "")) == NULL ||
	    t->status != BILLING_PAYMENT_REQUIRES_ACTION) {
		rc = billing__error_set(BILLING_ENOTFOUND, "resource_missing",
			"no payment awaiting action with that reference");
	} else if (succeed) {
		t->status = BILLING_PAYMENT_SUCCEEDED;
	} else {
		t->status = BILLING_PAYMENT_FAILED;
		snprintf(t->failure_code, sizeof(t->failure_code), "authentication_failed");
	}
	pthread_mutex_unlock(&tp->lock);
	return rc;
}

size_t billing_test_provider_charge_count(billing_provider *p)
{
	test_provider *tp = (test_provider *)p;
	size_t i, n = 0;
	if (!p || strcmp(p->name, "test") != 0)
		return 0;
	pthread_mutex_lock(&tp->lock);
	for (i = 0; i < tp->count; i++)
		n += !tp->items[i].is_refund;
	pthread_mutex_unlock(&tp->lock);
	return n;
}

int64_t billing_test_provider_refunds(billing_provider *p, size_t *count)
{
	test_provider *tp = (test_provider *)p;
	size_t i, n = 0;
	int64_t sum = 0;
	if (p && strcmp(p->name, "test") == 0) {
		pthread_mutex_lock(&tp->lock);
		for (i = 0; i < tp->count; i++)
			if (tp->items[i].is_refund) {
				n++;
				sum += tp->items[i].amount;
			}
		pthread_mutex_unlock(&tp->lock);
	}
	if (count)
		*count = n;
	return sum;
}

static const char *refusal_code(int status)
{
	switch (status) {
	case 401: return "authentication_error";
	case 403: return "permission_error";
	case 404: return "resource_missing";
	default: return "invalid_request_error";
	}
}

int billing_test_provider_refuse(billing_provider *p, const char *tenant_id, int http_status)
{
	test_provider *tp = (test_provider *)p;
	size_t i;
	int rc = BILLING_OK;

	BILLING__ASSERT_ARG(p && strcmp(p->name, "test") == 0, "provider");
	if (http_status != 0 && http_status != 400 && http_status != 401 && http_status != 403 &&
	    http_status != 404)
		return billing__error_field(BILLING_EINVALID, "invalid", "httpStatus",
			"0, 400, 401, 403 or 404");
	if (tenant_id && (!*tenant_id || strlen(tenant_id) >= sizeof(tp->refusals[0].tenant_id)))
		return billing__error_field(BILLING_EINVALID, "invalid", "tenantId",
			"a tenant id, or NULL for every tenant");
	pthread_mutex_lock(&tp->lock);
	for (i = 0; i < tp->nrefusals; i++)
		if (strcmp(tp->refusals[i].tenant_id, tenant_id ? tenant_id : "") == 0)
			break;
	if (http_status == 0) {
		if (i < tp->nrefusals)
			tp->refusals[i] = tp->refusals[--tp->nrefusals];
	} else if (i == tp->nrefusals && tp->nrefusals == MAX_REFUSALS) {
		rc = billing__error_set(BILLING_EINVALID, "too_many",
			"the test provider refuses at most %d tenants", MAX_REFUSALS);
	} else {
		test_refusal *r = &tp->refusals[i];
		if (i == tp->nrefusals)
			tp->nrefusals++;
		snprintf(r->tenant_id, sizeof(r->tenant_id), "%s", tenant_id ? tenant_id : "");
		r->http_status = http_status;
		snprintf(r->code, sizeof(r->code), "%s", refusal_code(http_status));
	}
	pthread_mutex_unlock(&tp->lock);
	return rc;
}

/*
 * The fake Stripe API (see fake_stripe.h). libmicrohttpd calls the access
 * handler several times per request: once with the headers, once per body
 * chunk, once at the end; the request is handled at the end, under the
 * fake's mutex. Faults are taken from a queue when a request arrives.
 */
#include "fake_stripe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "billing/errors.h"
#include "billing/providers.h"
#include "providers/stripe/stripe_webhook.h"

#define MAX_BODY (64 * 1024)
#define MAX_FIELDS 64
#define MAX_HEADERS 64

typedef struct {
	char *name;
	char *value;
} pair;

typedef struct {
	size_t n;
	pair items[MAX_FIELDS];
} pairs;

typedef struct {
	char id[40];
	int64_t amount;
	int64_t refunded;
	char currency[4];
	char status[40];
	char *customer;
	char *payment_method;
	char *description;
	pairs metadata;
	char fail_code[64];
	char decline_code[64];
	char fail_message[128];
	char cancellation_reason[32];
	int64_t created;
	char owner[256];               /* "<key>|<Stripe-Account>" that made it */
} payment_intent;

typedef struct {
	char *key;
	char *fingerprint;
	int status;
	char *body;
	int64_t at;                    /* the fake's clock when it was stored */
	char *owner;                   /* keys are per account, as at Stripe */
} idem_entry;

typedef struct {
	fake_stripe_fault fault;
	char *body;
} queued_fault;

struct fake_stripe {
	struct MHD_Daemon *daemon;
	char url[64];
	char *api_key;
	char **more_keys;              /* fake_stripe_add_key: other accounts' keys */
	size_t nmore_keys;
	char owner[256];               /* the request being handled: "<key>|<account>" */
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stopping;
	int64_t now;                   /* the settable clock; 0: time(NULL) */

	size_t requests;
	char **keys;                   /* each request's Idempotency-Key ("" if none) */
	char **auth_keys;              /* each request's bearer key ("" if none) */
	char **accounts;               /* each request's Stripe-Account ("" if none) */
	size_t cap_keys;
	size_t refunds;
	size_t events;
	size_t searches;
	size_t cancels;

	payment_intent *pis;
	size_t npis, cap_pis;
	idem_entry *idem;
	size_t nidem, cap_idem;
	queued_fault *faults;
	size_t nfaults, cap_faults, fault_head;

	/* Customers, SetupIntents and PaymentMethods: ids of the customers
	 * made, how many SetupIntents, and each attached PaymentMethod with
	 * its customer (name: pm id, value: customer id). */
	pairs customers;
	size_t setup_intents;
	pairs attached;

	/* the last request */
	char *last_method;
	char *last_path;
	char *last_body;
	pairs last_headers;
	pairs last_form;
};

/* One request in flight. */
typedef struct {
	bool has_fault;
	queued_fault fault;
	char *body;
	size_t len;
	bool too_big;
	pairs headers;
	char *query;                   /* the "query" URL argument, decoded */
} request;

/* ------------------------------------------------------------ small helpers */

static char *xstrdup(const char *s)
{
	char *d = strdup(s ? s : "");
	if (d == NULL)
		abort();
	return d;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (p == NULL)
		abort();
	return p;
}

static void pairs_clear(pairs *p)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		free(p->items[i].name);
		free(p->items[i].value);
	}
	p->n = 0;
}

static void pairs_add(pairs *p, const char *name, const char *value)
{
	if (p->n == MAX_FIELDS)
		return;
	p->items[p->n].name = xstrdup(name);
	p->items[p->n].value = xstrdup(value);
	p->n++;
}

static void pairs_copy(pairs *dst, const pairs *src)
{
	size_t i;

	pairs_clear(dst);
	for (i = 0; i < src->n; i++)
		pairs_add(dst, src->items[i].name, src->items[i].value);
}

static const char *pairs_get(const pairs *p, const char *name, bool nocase)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (nocase ? strcasecmp(p->items[i].name, name) == 0
			: strcmp(p->items[i].name, name) == 0)
			return p->items[i].value;
	return NULL;
}

static int copy_out(char *out, size_t size, const char *s)
{
	if (s == NULL) {
		if (size)
			out[0] = '\0';
		return 0;
	}
	snprintf(out, size, "%s", s);
	return 1;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes [s, s + n) ('+' is a space). NULL when ill-formed. */
static char *url_decode(const char *s, size_t n)
{
	char *out = xrealloc(NULL, n + 1), *o = out;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '+') {
			*o++ = ' ';
		} else if (s[i] == '%') {
			int hi, lo;
			if (i + 2 >= n) {
				free(out);
				return NULL;
			}
			hi = hexval(s[i + 1]);
			lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
				free(out);
				return NULL;
			}
			*o++ = (char)(hi << 4 | lo);
			i += 2;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

/* Parses an x-www-form-urlencoded body. -1 when ill-formed. */
static int form_parse(pairs *out, const char *body, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t start = i, eq;
		char *k, *v;

		while (i < len && body[i] != '&')
			i++;
		for (eq = start; eq < i && body[eq] != '='; eq++)
			;
		if (eq == i || eq == start)
			return -1;
		k = url_decode(body + start, eq - start);
		v = url_decode(body + eq + 1, i - eq - 1);
		if (k == NULL || v == NULL) {
			free(k);
			free(v);
			return -1;
		}
		pairs_add(out, k, v);
		free(k);
		free(v);
		i++;
	}
	return 0;
}

static int cmp_pair(const void *a, const void *b)
{
	const pair *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->value, y->value);
}

/* method, path and the parameters in a canonical order */
static char *fingerprint(const char *method, const char *path, const pairs *form)
{
	pair sorted[MAX_FIELDS];
	size_t i, n = strlen(method) + strlen(path) + 2;
	char *fp;

	memcpy(sorted, form->items, form->n * sizeof(pair));
	qsort(sorted, form->n, sizeof(pair), cmp_pair);
	for (i = 0; i < form->n; i++)
		n += strlen(sorted[i].name) + strlen(sorted[i].value) + 2;
	fp = xrealloc(NULL, n + 1);
	snprintf(fp, n + 1, "%s %s\n", method, path);
	for (i = 0; i < form->n; i++) {
		strcat(fp, sorted[i].name);
		strcat(fp, "=");
		strcat(fp, sorted[i].value);
		strcat(fp, "\n");
	}
	return fp;
}

static bool all_digits(const char *s)
{
	if (s == NULL || *s == '\0' || strlen(s) > 15)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* ------------------------------------------------------------ answers */

typedef struct {
	int status;
	char *body;                    /* new */
	bool replayed;
} answer;

static void answer_json(answer *a, int status, cJSON *json)
{
	a->status = status;
	a->body = cJSON_PrintUnformatted(json);
	if (a->body == NULL)
		abort();
	cJSON_Delete(json);
}

static void answer_error(answer *a, int status, const char *type, const char *code,
	const char *param, const char *message)
{
	cJSON *root = cJSON_CreateObject(), *err = cJSON_AddObjectToObject(root, "error");

	cJSON_AddStringToObject(err, "type", type);
	if (code)
		cJSON_AddStringToObject(err, "code", code);
	if (param)
		cJSON_AddStringToObject(err, "param", param);
	cJSON_AddStringToObject(err, "message", message);
	answer_json(a, status, root);
}

static cJSON *pi_json(const fake_stripe *fs, const payment_intent *pi)
{
	cJSON *o = cJSON_CreateObject(), *md;
	size_t i;

	(void)fs;
	cJSON_AddStringToObject(o, "id", pi->id);
	cJSON_AddStringToObject(o, "object", "payment_intent");
	cJSON_AddNumberToObject(o, "amount", (double)pi->amount);
	cJSON_AddNumberToObject(o, "amount_received",
		strcmp(pi->status, "succeeded") == 0 ? (double)pi->amount : 0);
	cJSON_AddStringToObject(o, "currency", pi->currency);
	cJSON_AddStringToObject(o, "status", pi->status);
	cJSON_AddNumberToObject(o, "created", (double)pi->created);
	cJSON_AddBoolToObject(o, "livemode", 0);
	if (pi->customer)
		cJSON_AddStringToObject(o, "customer", pi->customer);
	else
		cJSON_AddNullToObject(o, "customer");
	cJSON_AddStringToObject(o, "payment_method", pi->payment_method);
	if (pi->description)
		cJSON_AddStringToObject(o, "description", pi->description);
	else
		cJSON_AddNullToObject(o, "description");
	md = cJSON_AddObjectToObject(o, "metadata");
	for (i = 0; i < pi->metadata.n; i++)
		cJSON_AddStringToObject(md, pi->metadata.items[i].name,
			pi->metadata.items[i].value);
	if (pi->fail_code[0]) {
		cJSON *e = cJSON_AddObjectToObject(o, "last_payment_error");
		cJSON_AddStringToObject(e, "type", "card_error");
		cJSON_AddStringToObject(e, "code", pi->fail_code);
		if (pi->decline_code[0])
			cJSON_AddStringToObject(e, "decline_code", pi->decline_code);
		cJSON_AddStringToObject(e, "message", pi->fail_message);
	} else {
		cJSON_AddNullToObject(o, "last_payment_error");
	}
	/* As Stripe: the PaymentIntent's client secret, and what the front end
	 * does next while it awaits the customer's action. */
	{
		char secret[160];
		snprintf(secret, sizeof(secret), "%s_secret_fake%.8s", pi->id, pi->id + 3);
		cJSON_AddStringToObject(o, "client_secret", secret);
	}
	if (pi->cancellation_reason[0])
		cJSON_AddStringToObject(o, "cancellation_reason", pi->cancellation_reason);
	else
		cJSON_AddNullToObject(o, "cancellation_reason");
	if (strcmp(pi->status, "requires_action") == 0) {
		cJSON *na = cJSON_AddObjectToObject(o, "next_action");
		if (strcmp(pi->payment_method, "pm_card_threeDSecureRedirect") == 0) {
			char url[200];
			cJSON *r = cJSON_AddObjectToObject(na, "redirect_to_url");
			snprintf(url, sizeof(url), "https://hooks.stripe.test/3d_secure/%s", pi->id);
			cJSON_AddStringToObject(na, "type", "redirect_to_url");
			cJSON_AddStringToObject(r, "url", url);
			cJSON_AddNullToObject(r, "return_url");
		} else {
			cJSON_AddStringToObject(na, "type", "use_stripe_sdk");
			cJSON_AddObjectToObject(na, "use_stripe_sdk");
		}
	} else {
		cJSON_AddNullToObject(o, "next_action");
	}
	return o;
}

static int64_t clock_now(const fake_stripe *fs)
{
	return fs->now ? fs->now : (int64_t)time(NULL);
}

/* GET /v1/payment_intents/search: only metadata['payment_id']:'...' (what
 * the provider sends), as a search_result. */
static void search_payment_intents(fake_stripe *fs, const char *query, answer *a)
{
	static const char prefix[] = "metadata['payment_id']:'";
	cJSON *root, *data;
	char want[128];
	size_t i, n;

	n = query ? strlen(query) : 0;
	if (n <= sizeof(prefix) || strncmp(query, prefix, sizeof(prefix) - 1) != 0 ||
	    query[n - 1] != '\'' || n - sizeof(prefix) >= sizeof(want) ||
	    strchr(query + sizeof(prefix) - 1, '\'') != query + n - 1) {
		answer_error(a, 400, "invalid_request_error", "parameter_invalid_string", "query",
			"the fake searches metadata['payment_id']:'...' only");
		return;
	}
	snprintf(want, sizeof(want), "%.*s", (int)(n - sizeof(prefix)), query + sizeof(prefix) - 1);
	fs->searches++;
	root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "object", "search_result");
	cJSON_AddStringToObject(root, "url", "/v1/payment_intents/search");
	cJSON_AddBoolToObject(root, "has_more", 0);
	cJSON_AddNullToObject(root, "next_page");
	data = cJSON_AddArrayToObject(root, "data");
	for (i = 0; i < fs->npis; i++) {
		const char *v = pairs_get(&fs->pis[i].metadata, "payment_id", false);
		if (v && strcmp(v, want) == 0 && strcmp(fs->pis[i].owner, fs->owner) == 0)
			cJSON_AddItemToArray(data, pi_json(fs, &fs->pis[i]));
	}
	answer_json(a, 200, root);
}

static payment_intent *pi_find(fake_stripe *fs, const char *id)
{
	size_t i;

	for (i = 0; i < fs->npis; i++)
		if (strcmp(fs->pis[i].id, id) == 0)
			return &fs->pis[i];
	return NULL;
}

/* A PaymentIntent the caller's account holds (another account's is
 * "No such payment_intent", as at Stripe), or NULL. */
static payment_intent *pi_find_own(fake_stripe *fs, const char *id)
{
	payment_intent *pi = pi_find(fs, id);

	return pi && strcmp(pi->owner, fs->owner) == 0 ? pi : NULL;
}

static bool key_accepted(fake_stripe *fs, const char *key)
{
	size_t i;

	if (strcmp(key, fs->api_key) == 0)
		return true;
	for (i = 0; i < fs->nmore_keys; i++)
		if (strcmp(key, fs->more_keys[i]) == 0)
			return true;
	return false;
}

static bool lower3(const char *c)
{
	return c && strlen(c) == 3 && c[0] >= 'a' && c[0] <= 'z' && c[1] >= 'a' && c[1] <= 'z' &&
		c[2] >= 'a' && c[2] <= 'z';
}

static void create_payment_intent(fake_stripe *fs, const pairs *form, answer *a)
{
	static const char *const allowed[] = { "amount", "currency", "customer",
		"payment_method", "confirm", "off_session", "description", NULL };
	const char *amount = pairs_get(form, "amount", false);
	const char *currency = pairs_get(form, "currency", false);
	const char *pm = pairs_get(form, "payment_method", false);
	const char *confirm = pairs_get(form, "confirm", false);
	const char *off = pairs_get(form, "off_session", false);
	payment_intent *pi;
	size_t i, j;

	for (i = 0; i < form->n; i++) {
		const char *k = form->items[i].name;
		bool ok = strncmp(k, "metadata[", 9) == 0 && k[strlen(k) - 1] == ']';
		for (j = 0; !ok && allowed[j]; j++)
			ok = strcmp(k, allowed[j]) == 0;
		if (!ok) {
			answer_error(a, 400, "invalid_request_error", "parameter_unknown", k,
				"Received unknown parameter");
			return;
		}
	}
	if (!all_digits(amount) || atoll(amount) <= 0) {
		answer_error(a, 400, "invalid_request_error", "parameter_invalid_integer",
			"amount", "Invalid integer");
		return;
	}
	if (!lower3(currency)) {
		answer_error(a, 400, "invalid_request_error", "parameter_invalid_string",
			"currency", "Invalid currency (the fake wants three lower-case letters)");
		return;
	}
	/* Stripe's special currencies (docs.stripe.com/currencies) */
	if ((strcmp(currency, "bhd") == 0 || strcmp(currency, "jod") == 0 ||
	     strcmp(currency, "kwd") == 0 || strcmp(currency, "omr") == 0 ||
	     strcmp(currency, "tnd") == 0) && atoll(amount) % 10 != 0) {
		answer_error(a, 400, "invalid_request_error", "amount_invalid", "amount",
			"Invalid amount: three-decimal currencies need amounts ending in 0");
		return;
	}
	if (strcmp(currency, "isk") == 0 && atoll(amount) % 100 != 0) {
		answer_error(a, 400, "invalid_request_error",
			"invalid_charge_amount_no_decimal_compatible", "amount",
			"Invalid amount. Currency ISK has become effectively zero-decimal and "
			"charged amounts must be evenly divisible by 100.");
		return;
	}
	if (pm == NULL || confirm == NULL || strcmp(confirm, "true") != 0) {
		answer_error(a, 400, "invalid_request_error", "parameter_missing",
			pm ? "confirm" : "payment_method", "Missing required param");
		return;
	}
	if (off && strcmp(off, "true") != 0) {
		answer_error(a, 400, "invalid_request_error", "parameter_invalid_string",
			"off_session", "off_session must be true when given");
		return;
	}
	if (strncmp(pm, "pm_", 3) != 0) {
		answer_error(a, 400, "invalid_request_error", "resource_missing",
			"payment_method", "No such PaymentMethod");
		return;
	}
	/* As Stripe: a PaymentMethod attached to a Customer is charged for
	 * that Customer only (and off_session needs it). */
	if (pairs_get(&fs->attached, pm, false) && (!pairs_get(form, "customer", false) ||
	    strcmp(pairs_get(form, "customer", false), pairs_get(&fs->attached, pm, false)) != 0)) {
		answer_error(a, 400, "invalid_request_error", "parameter_missing", "customer",
			"The provided PaymentMethod belongs to a Customer: pass that customer");
		return;
	}

	if (fs->npis == fs->cap_pis) {
		fs->cap_pis = fs->cap_pis ? 2 * fs->cap_pis : 8;
		fs->pis = xrealloc(fs->pis, fs->cap_pis * sizeof(*fs->pis));
	}
	pi = &fs->pis[fs->npis++];
	memset(pi, 0, sizeof(*pi));
	snprintf(pi->id, sizeof(pi->id), "pi_fake_%06zu", fs->npis);
	pi->amount = atoll(amount);
	memcpy(pi->currency, currency, 4);
	pi->customer = pairs_get(form, "customer", false)
		? xstrdup(pairs_get(form, "customer", false)) : NULL;
	pi->payment_method = xstrdup(pm);
	pi->description = pairs_get(form, "description", false)
		? xstrdup(pairs_get(form, "description", false)) : NULL;
	for (i = 0; i < form->n; i++)
		if (strncmp(form->items[i].name, "metadata[", 9) == 0) {
			char key[128];
			size_t n = strlen(form->items[i].name) - 10;
			snprintf(key, sizeof(key), "%.*s", (int)n, form->items[i].name + 9);
			pairs_add(&pi->metadata, key, form->items[i].value);
		}
	pi->created = clock_now(fs);
	snprintf(pi->owner, sizeof(pi->owner), "%s", fs->owner);

	if (strcmp(pm, "pm_card_chargeDeclined") == 0 ||
	    strcmp(pm, "pm_card_insufficientFunds") == 0) {
		cJSON *root = cJSON_CreateObject(), *err = cJSON_AddObjectToObject(root, "error");
		bool funds = strcmp(pm, "pm_card_insufficientFunds") == 0;
		snprintf(pi->status, sizeof(pi->status), "requires_payment_method");
		snprintf(pi->fail_code, sizeof(pi->fail_code), "card_declined");
		snprintf(pi->decline_code, sizeof(pi->decline_code), "%s",
			funds ? "insufficient_funds" : "card_declined");
		snprintf(pi->fail_message, sizeof(pi->fail_message), "%s",
			funds ? "Your card has insufficient funds." : "Your card was declined.");
		cJSON_AddStringToObject(err, "type", "card_error");
		cJSON_AddStringToObject(err, "code", pi->fail_code);
		cJSON_AddStringToObject(err, "decline_code", pi->decline_code);
		cJSON_AddStringToObject(err, "message", pi->fail_message);
		cJSON_AddItemToObject(err, "payment_intent", pi_json(fs, pi));
		answer_json(a, 402, root);
		return;
	}
	if (strcmp(pm, "pm_card_authenticationRequired") == 0 ||
	    strcmp(pm, "pm_card_threeDSecureRedirect") == 0)
		snprintf(pi->status, sizeof(pi->status), "requires_action");
	else if (strcmp(pm, "pm_card_processing") == 0)
		snprintf(pi->status, sizeof(pi->status), "processing");
	else
		snprintf(pi->status, sizeof(pi->status), "succeeded");
	answer_json(a, 200, pi_json(fs, pi));
}

static void create_refund(fake_stripe *fs, const pairs *form, answer *a)
{
	const char *pi_id = pairs_get(form, "payment_intent", false);
	const char *amount = pairs_get(form, "amount", false);
	payment_intent *pi;
	int64_t amt, left;
	cJSON *o, *md;
	size_t i;

	for (i = 0; i < form->n; i++) {
		const char *k = form->items[i].name;
		if (strcmp(k, "payment_intent") != 0 && strcmp(k, "amount") != 0 &&
		    !(strncmp(k, "metadata[", 9) == 0 && k[strlen(k) - 1] == ']')) {
			answer_error(a, 400, "invalid_request_error", "parameter_unknown", k,
				"Received unknown parameter");
			return;
		}
	}
	if (pi_id == NULL) {
		answer_error(a, 400, "invalid_request_error", "parameter_missing",
			"payment_intent", "Missing required param");
		return;
	}
	pi = pi_find_own(fs, pi_id);
	if (pi == NULL) {
		answer_error(a, 400, "invalid_request_error", "resource_missing",
			"payment_intent", "No such payment_intent");
		return;
	}
	if (strcmp(pi->status, "succeeded") != 0) {
		answer_error(a, 400, "invalid_request_error", "charge_not_refundable",
			"payment_intent", "This PaymentIntent has no successful charge to refund");
		return;
	}
	left = pi->amount - pi->refunded;
	if (amount && !all_digits(amount)) {
		answer_error(a, 400, "invalid_request_error", "parameter_invalid_integer",
			"amount", "Invalid integer");
		return;
	}
	amt = amount ? atoll(amount) : left;
	if (left == 0) {
		answer_error(a, 400, "invalid_request_error", "charge_already_refunded",
			"payment_intent", "Charge has already been refunded.");
		return;
	}
	if (amt <= 0 || amt > left) {
		char msg[160];
		snprintf(msg, sizeof(msg), "Refund amount (%lld) is greater than unrefunded "
			"amount on charge (%lld)", (long long)amt, (long long)left);
		answer_error(a, 400, "invalid_request_error", NULL, "amount", msg);
		return;
	}
	pi->refunded += amt;
	fs->refunds++;
	o = cJSON_CreateObject();
	{
		char id[40];
		snprintf(id, sizeof(id), "re_fake_%06zu", fs->refunds);
		cJSON_AddStringToObject(o, "id", id);
	}
	cJSON_AddStringToObject(o, "object", "refund");
	cJSON_AddNumberToObject(o, "amount", (double)amt);
	cJSON_AddStringToObject(o, "currency", pi->currency);
	cJSON_AddStringToObject(o, "payment_intent", pi->id);
	cJSON_AddStringToObject(o, "status", "succeeded");
	md = cJSON_AddObjectToObject(o, "metadata");
	for (i = 0; i < form->n; i++)
		if (strncmp(form->items[i].name, "metadata[", 9) == 0) {
			char key[128];
			size_t n = strlen(form->items[i].name) - 10;
			snprintf(key, sizeof(key), "%.*s", (int)n, form->items[i].name + 9);
			cJSON_AddStringToObject(md, key, form->items[i].value);
		}
	answer_json(a, 200, o);
}

/* POST /v1/payment_intents/{id}/cancel: as Stripe, a PaymentIntent that
 * has not succeeded or been canceled is canceled (cancellation_reason
 * optional, nothing else); otherwise 400 payment_intent_unexpected_state
 * with the PaymentIntent in the error. */
static void cancel_payment_intent(fake_stripe *fs, const char *id, const pairs *form, answer *a)
{
	payment_intent *pi = pi_find(fs, id);
	const char *reason = pairs_get(form, "cancellation_reason", false);
	size_t i;

	for (i = 0; i < form->n; i++)
		if (strcmp(form->items[i].name, "cancellation_reason") != 0) {
			answer_error(a, 400, "invalid_request_error", "parameter_unknown",
				form->items[i].name, "Received unknown parameter");
			return;
		}
	if (reason && strcmp(reason, "duplicate") != 0 && strcmp(reason, "fraudulent") != 0 &&
	    strcmp(reason, "requested_by_customer") != 0 && strcmp(reason, "abandoned") != 0) {
		answer_error(a, 400, "invalid_request_error", "parameter_invalid_string",
			"cancellation_reason", "Invalid cancellation_reason");
		return;
	}
	if (pi == NULL) {
		answer_error(a, 404, "invalid_request_error", "resource_missing", "intent",
			"No such payment_intent");
		return;
	}
	if (strcmp(pi->status, "succeeded") == 0 || strcmp(pi->status, "canceled") == 0) {
		char msg[200];
		cJSON *root = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(root, "error");
		snprintf(msg, sizeof(msg), "You cannot cancel this PaymentIntent because it has a "
			"status of %s.", pi->status);
		cJSON_AddStringToObject(e, "type", "invalid_request_error");
		cJSON_AddStringToObject(e, "code", "payment_intent_unexpected_state");
		cJSON_AddStringToObject(e, "message", msg);
		cJSON_AddItemToObject(e, "payment_intent", pi_json(fs, pi));
		answer_json(a, 400, root);
		return;
	}
	snprintf(pi->status, sizeof(pi->status), "canceled");
	snprintf(pi->cancellation_reason, sizeof(pi->cancellation_reason), "%s",
		reason ? reason : "");
	fs->cancels++;
	answer_json(a, 200, pi_json(fs, pi));
}

/* ------------------------------------------------------------ payment methods */

/* Every form key is one of allowed or metadata[...]; else answers 400. */
static bool form_allowed(const pairs *form, const char *const *allowed, answer *a)
{
	size_t i, j;
	for (i = 0; i < form->n; i++) {
		const char *k = form->items[i].name;
		bool ok = strncmp(k, "metadata[", 9) == 0 && k[strlen(k) - 1] == ']';
		for (j = 0; !ok && allowed[j]; j++)
			ok = strcmp(k, allowed[j]) == 0;
		if (!ok) {
			answer_error(a, 400, "invalid_request_error", "parameter_unknown", k,
				"Received unknown parameter");
			return false;
		}
	}
	return true;
}

static void create_customer(fake_stripe *fs, const pairs *form, answer *a)
{
	static const char *const allowed[] = { "email", NULL };
	cJSON *o;
	char id[40];
	if (!form_allowed(form, allowed, a))
		return;
	snprintf(id, sizeof(id), "cus_fake_%06zu", fs->customers.n + 1);
	pairs_add(&fs->customers, id, "");
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "object", "customer");
	answer_json(a, 200, o);
}

static bool customer_known(fake_stripe *fs, const char *id)
{
	return id && pairs_get(&fs->customers, id, false) != NULL;
}

static void create_setup_intent(fake_stripe *fs, const pairs *form, answer *a)
{
	static const char *const allowed[] = { "customer", "usage", "payment_method_types[]", NULL };
	const char *customer = pairs_get(form, "customer", false);
	const char *usage = pairs_get(form, "usage", false);
	const char *types = pairs_get(form, "payment_method_types[]", false);
	char id[40], secret[80];
	cJSON *o;
	if (!form_allowed(form, allowed, a))
		return;
	if (!customer_known(fs, customer)) {
		answer_error(a, 400, "invalid_request_error", "resource_missing", "customer",
			"No such customer");
		return;
	}
	if (usage && strcmp(usage, "off_session") != 0 && strcmp(usage, "on_session") != 0) {
		answer_error(a, 400, "invalid_request_error", "parameter_invalid_string", "usage",
			"Invalid usage");
		return;
	}
	if (types && strcmp(types, "card") != 0) {
		answer_error(a, 400, "invalid_request_error", "payment_method_type_invalid",
			"payment_method_types", "The fake knows only card");
		return;
	}
	snprintf(id, sizeof(id), "seti_fake_%06zu", ++fs->setup_intents);
	snprintf(secret, sizeof(secret), "%s_secret_fake%06zu", id, fs->setup_intents);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "object", "setup_intent");
	cJSON_AddStringToObject(o, "client_secret", secret);
	cJSON_AddStringToObject(o, "customer", customer);
	cJSON_AddStringToObject(o, "status", "requires_payment_method");
	cJSON_AddStringToObject(o, "usage", usage ? usage : "off_session");
	answer_json(a, 200, o);
}

/* The cards the fake knows: Stripe's test PaymentMethods, and any of the
 * first three followed by "_exp_YYYY_MM" (that expiry; else 12/2099). */
static bool pm_card(const char *id, const char **brand, const char **last4, int *month,
	int *year)
{
	static const struct { const char *id, *brand, *last4; } cards[] = {
		{ "pm_card_visa", "visa", "4242" }, { "pm_card_mastercard", "mastercard", "4444" },
		{ "pm_card_amex", "amex", "8431" }, { "pm_card_chargeDeclined", "visa", "0002" },
		{ "pm_card_insufficientFunds", "visa", "9995" },
		{ "pm_card_authenticationRequired", "visa", "3184" },
		{ "pm_card_processing", "visa", "0077" },
	};
	size_t i, n;
	for (i = 0; i < sizeof(cards) / sizeof(cards[0]); i++) {
		n = strlen(cards[i].id);
		if (strncmp(id, cards[i].id, n) != 0)
			continue;
		*brand = cards[i].brand;
		*last4 = cards[i].last4;
		*month = 12;
		*year = 2099;
		if (id[n] == '\0')
			return true;
		if (strlen(id + n) == 12 && sscanf(id + n, "_exp_%4d_%2d", year, month) == 2 &&
		    *month >= 1 && *month <= 12)
			return true;
	}
	return false;
}

static cJSON *pm_json(fake_stripe *fs, const char *id)
{
	const char *brand, *last4, *customer = pairs_get(&fs->attached, id, false);
	int month, year;
	cJSON *o = cJSON_CreateObject(), *card;
	(void)pm_card(id, &brand, &last4, &month, &year);
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "object", "payment_method");
	cJSON_AddStringToObject(o, "type", "card");
	card = cJSON_AddObjectToObject(o, "card");
	cJSON_AddStringToObject(card, "brand", brand);
	cJSON_AddStringToObject(card, "last4", last4);
	cJSON_AddNumberToObject(card, "exp_month", month);
	cJSON_AddNumberToObject(card, "exp_year", year);
	if (customer)
		cJSON_AddStringToObject(o, "customer", customer);
	else
		cJSON_AddNullToObject(o, "customer");
	return o;
}

static void pairs_remove(pairs *p, const char *name)
{
	size_t i;
	for (i = 0; i < p->n; i++)
		if (strcmp(p->items[i].name, name) == 0) {
			free(p->items[i].name);
			free(p->items[i].value);
			p->items[i] = p->items[--p->n];
			return;
		}
}

/* GET /v1/payment_methods/{id}, POST .../attach and .../detach. */
static void payment_method_call(fake_stripe *fs, bool post, const char *rest, const pairs *form,
	answer *a)
{
	static const char *const allowed[] = { "customer", NULL };
	static const char *const none[] = { NULL };
	const char *brand, *last4, *slash = strchr(rest, '/'), *customer, *had;
	char id[128];
	int month, year;

	snprintf(id, sizeof(id), "%.*s", (int)(slash ? (size_t)(slash - rest) : strlen(rest)), rest);
	if ((!post && slash) || (post && (!slash || (strcmp(slash, "/attach") != 0 &&
	    strcmp(slash, "/detach") != 0)))) {
		answer_error(a, 404, "invalid_request_error", NULL, NULL, "Unrecognized request URL");
		return;
	}
	if (!pm_card(id, &brand, &last4, &month, &year)) {
		answer_error(a, 404, "invalid_request_error", "resource_missing", "payment_method",
			"No such PaymentMethod");
		return;
	}
	had = pairs_get(&fs->attached, id, false);
	if (post && strcmp(slash, "/attach") == 0) {
		if (!form_allowed(form, allowed, a))
			return;
		customer = pairs_get(form, "customer", false);
		if (!customer_known(fs, customer)) {
			answer_error(a, 400, "invalid_request_error", "resource_missing", "customer",
				"No such customer");
			return;
		}
		if (had && strcmp(had, customer) != 0) {
			answer_error(a, 400, "invalid_request_error", "payment_method_unexpected_state",
				NULL, "The payment method you provided has already been attached to "
				"a customer.");
			return;
		}
		if (!had)
			pairs_add(&fs->attached, id, customer);
	} else if (post) {
		if (!form_allowed(form, none, a))
			return;
		if (!had) {
			answer_error(a, 400, "invalid_request_error", "payment_method_unexpected_state",
				NULL, "The payment method you provided is not attached to a customer "
				"so detachment is impossible.");
			return;
		}
		pairs_remove(&fs->attached, id);
	}
	answer_json(a, 200, pm_json(fs, id));
}

/* Handles a complete request under the lock. */
static void handle(fake_stripe *fs, const char *method, const char *path,
	const request *rq, const pairs *form, bool form_ok, answer *a)
{
	const char *auth = pairs_get(&rq->headers, "Authorization", true);
	const char *version = pairs_get(&rq->headers, "Stripe-Version", true);
	const char *key = pairs_get(&rq->headers, "Idempotency-Key", true);
	const char *ctype = pairs_get(&rq->headers, "Content-Type", true);
	bool post = strcmp(method, "POST") == 0;
	char *fp;
	size_t i;

	if (auth == NULL || strncmp(auth, "Bearer ", 7) != 0 || !key_accepted(fs, auth + 7)) {
		/* Stripe's message masks all but the last four characters. */
		char msg[160];
		const char *given = auth && strlen(auth) > 7 ? auth + 7 : "";
		size_t n = strlen(given);
		snprintf(msg, sizeof(msg), "Invalid API Key provided: %.8s****%s", given,
			n > 4 ? given + n - 4 : "");
		answer_error(a, 401, "invalid_request_error", NULL, NULL, msg);
		return;
	}
	{
		const char *acct = pairs_get(&rq->headers, "Stripe-Account", true);
		snprintf(fs->owner, sizeof(fs->owner), "%s|%s", auth + 7, acct ? acct : "");
	}
	if (version == NULL || version[0] == '\0') {
		answer_error(a, 400, "invalid_request_error", NULL, NULL,
			"the fake wants a Stripe-Version header");
		return;
	}
	if (post && (key == NULL || key[0] == '\0')) {
		answer_error(a, 400, "invalid_request_error", NULL, NULL,
			"the fake wants an Idempotency-Key on every POST");
		return;
	}
	if (post && (ctype == NULL ||
	    strncasecmp(ctype, "application/x-www-form-urlencoded", 33) != 0)) {
		answer_error(a, 400, "invalid_request_error", NULL, NULL,
			"the body must be application/x-www-form-urlencoded");
		return;
	}
	if (!form_ok || rq->too_big) {
		answer_error(a, 400, "invalid_request_error", NULL, NULL,
			"the body is not well-formed x-www-form-urlencoded");
		return;
	}

	if (strcmp(method, "GET") == 0 && strcmp(path, "/v1/payment_intents/search") == 0) {
		search_payment_intents(fs, rq->query, a);
		return;
	}
	if (strcmp(method, "GET") == 0 && strncmp(path, "/v1/payment_intents/", 20) == 0) {
		payment_intent *pi = pi_find_own(fs, path + 20);
		if (pi == NULL)
			answer_error(a, 404, "invalid_request_error", "resource_missing", "intent",
				"No such payment_intent");
		else
			answer_json(a, 200, pi_json(fs, pi));
		return;
	}
	bool cancel = post && strncmp(path, "/v1/payment_intents/", 20) == 0 &&
		strlen(path) > 27 && strcmp(path + strlen(path) - 7, "/cancel") == 0;
	if (strcmp(method, "GET") == 0 && strncmp(path, "/v1/payment_methods/", 20) == 0) {
		payment_method_call(fs, false, path + 20, form, a);
		return;
	}
	if (!cancel && (!post || (strcmp(path, "/v1/payment_intents") != 0 &&
	    strcmp(path, "/v1/refunds") != 0 && strcmp(path, "/v1/customers") != 0 &&
	    strcmp(path, "/v1/setup_intents") != 0 &&
	    strncmp(path, "/v1/payment_methods/", 20) != 0))) {
		answer_error(a, 404, "invalid_request_error", NULL, NULL, "Unrecognized request URL");
		return;
	}

	fp = fingerprint(method, path, form);
	for (i = 0; i < fs->nidem; i++)
		if (strcmp(fs->idem[i].key, key) == 0 && strcmp(fs->idem[i].owner, fs->owner) == 0 &&
		    clock_now(fs) - fs->idem[i].at < FAKE_STRIPE_KEY_SECONDS) {
			if (strcmp(fs->idem[i].fingerprint, fp) == 0) {
				a->status = fs->idem[i].status;
				a->body = xstrdup(fs->idem[i].body);
				a->replayed = true;
			} else {
				answer_error(a, 400, "idempotency_error", NULL, NULL,
					"Keys for idempotent requests can only be used with the same "
					"parameters they were first used with.");
			}
			free(fp);
			return;
		}
	if (cancel) {
		char id[128];
		snprintf(id, sizeof(id), "%.*s", (int)(strlen(path) - 27), path + 20);
		cancel_payment_intent(fs, id, form, a);
	} else if (strcmp(path, "/v1/payment_intents") == 0) {
		create_payment_intent(fs, form, a);
	} else if (strcmp(path, "/v1/customers") == 0) {
		create_customer(fs, form, a);
	} else if (strcmp(path, "/v1/setup_intents") == 0) {
		create_setup_intent(fs, form, a);
	} else if (strncmp(path, "/v1/payment_methods/", 20) == 0) {
		payment_method_call(fs, true, path + 20, form, a);
	} else {
		create_refund(fs, form, a);
	}
	/* Stripe saves the result once the endpoint ran: successes and declines */
	if ((a->status >= 200 && a->status < 300) || a->status == 402) {
		if (fs->nidem == fs->cap_idem) {
			fs->cap_idem = fs->cap_idem ? 2 * fs->cap_idem : 8;
			fs->idem = xrealloc(fs->idem, fs->cap_idem * sizeof(*fs->idem));
		}
		fs->idem[fs->nidem].key = xstrdup(key);
		fs->idem[fs->nidem].fingerprint = fp;
		fs->idem[fs->nidem].status = a->status;
		fs->idem[fs->nidem].body = xstrdup(a->body);
		fs->idem[fs->nidem].at = clock_now(fs);
		fs->idem[fs->nidem].owner = xstrdup(fs->owner);
		fs->nidem++;
	} else {
		free(fp);
	}
}

/* ------------------------------------------------------------ the server */

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
	const char *value)
{
	request *rq = cls;

	(void)kind;
	if (rq->headers.n < MAX_HEADERS)
		pairs_add(&rq->headers, key, value ? value : "");
	return MHD_YES;
}

static enum MHD_Result respond(struct MHD_Connection *conn, const answer *a,
	const char *should_retry)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(a->body), a->body,
		MHD_RESPMEM_MUST_COPY);
	enum MHD_Result rc;

	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "application/json");
	MHD_add_response_header(r, "Request-Id", "req_fake");
	MHD_add_response_header(r, "Connection", "close");
	if (a->replayed)
		MHD_add_response_header(r, "Idempotent-Replayed", "true");
	if (should_retry)
		MHD_add_response_header(r, "Stripe-Should-Retry", should_retry);
	rc = MHD_queue_response(conn, (unsigned int)a->status, r);
	MHD_destroy_response(r);
	return rc;
}

static const char *retry_header(fake_stripe_should_retry s)
{
	return s == FAKE_STRIPE_RETRY_TRUE ? "true" : s == FAKE_STRIPE_RETRY_FALSE ? "false" : NULL;
}

/* Waits ms, or until the server stops. Called with the lock held. */
static void wait_ms(fake_stripe *fs, long ms)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (!fs->stopping &&
	       pthread_cond_timedwait(&fs->wake, &fs->lock, &until) != ETIMEDOUT)
		;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
	const char *method, const char *version, const char *upload_data,
	size_t *upload_data_size, void **con_cls)
{
	fake_stripe *fs = cls;
	request *rq = *con_cls;
	pairs form = { 0 };
	answer a = { 0 };
	bool form_ok;
	enum MHD_Result rc;
	fake_stripe_fault_kind kind;

	(void)version;
	if (rq == NULL) {
		rq = calloc(1, sizeof(*rq));
		if (rq == NULL)
			return MHD_NO;
		MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_header, rq);
		{
			const char *q = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND,
				"query");
			rq->query = q ? xstrdup(q) : NULL;
		}
		pthread_mutex_lock(&fs->lock);
		if (fs->requests == fs->cap_keys) {
			fs->cap_keys = fs->cap_keys ? 2 * fs->cap_keys : 16;
			fs->keys = xrealloc(fs->keys, fs->cap_keys * sizeof(*fs->keys));
			fs->auth_keys = xrealloc(fs->auth_keys, fs->cap_keys * sizeof(char *));
			fs->accounts = xrealloc(fs->accounts, fs->cap_keys * sizeof(char *));
		}
		fs->keys[fs->requests] = xstrdup(pairs_get(&rq->headers, "Idempotency-Key", true));
		{
			const char *auth = pairs_get(&rq->headers, "Authorization", true);
			fs->auth_keys[fs->requests] = xstrdup(auth && strncmp(auth, "Bearer ", 7) == 0
				? auth + 7 : "");
		}
		fs->accounts[fs->requests] = xstrdup(pairs_get(&rq->headers, "Stripe-Account",
			true));
		fs->requests++;
		if (fs->fault_head < fs->nfaults) {
			rq->has_fault = true;
			rq->fault = fs->faults[fs->fault_head++];
			rq->fault.body = rq->fault.body ? xstrdup(rq->fault.body) : NULL;
		}
		pthread_mutex_unlock(&fs->lock);
		*con_cls = rq;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		if (rq->len + *upload_data_size > MAX_BODY) {
			rq->too_big = true;
		} else {
			rq->body = xrealloc(rq->body, rq->len + *upload_data_size + 1);
			memcpy(rq->body + rq->len, upload_data, *upload_data_size);
			rq->len += *upload_data_size;
			rq->body[rq->len] = '\0';
		}
		*upload_data_size = 0;
		return MHD_YES;
	}

	form_ok = form_parse(&form, rq->body ? rq->body : "", rq->len) == 0;
	kind = rq->has_fault ? rq->fault.fault.kind : 0;
	pthread_mutex_lock(&fs->lock);
	free(fs->last_method);
	free(fs->last_path);
	free(fs->last_body);
	fs->last_method = xstrdup(method);
	fs->last_path = xstrdup(url);
	fs->last_body = xstrdup(rq->body ? rq->body : "");
	pairs_copy(&fs->last_headers, &rq->headers);
	pairs_copy(&fs->last_form, &form);

	switch (kind) {
	case FAKE_STRIPE_DROP_BEFORE:
		pthread_mutex_unlock(&fs->lock);
		pairs_clear(&form);
		return MHD_NO;
	case FAKE_STRIPE_RATE_LIMIT:
		answer_error(&a, 429, "rate_limit_error", "rate_limit", NULL,
			"Too many requests hit the API too quickly.");
		break;
	case FAKE_STRIPE_SERVER_ERROR:
		answer_error(&a, 500, "api_error", NULL, NULL, "An unknown error occurred");
		break;
	case FAKE_STRIPE_LOCK_TIMEOUT:
		answer_error(&a, 409, "invalid_request_error", "lock_timeout", NULL,
			"This object cannot be accessed right now because another API request "
			"or Stripe process is currently accessing it.");
		break;
	case FAKE_STRIPE_RAW:
		a.status = rq->fault.fault.status;
		a.body = xstrdup(rq->fault.body ? rq->fault.body : "{}");
		break;
	default:
		handle(fs, method, url, rq, &form, form_ok, &a);
		break;
	}
	if (kind == FAKE_STRIPE_SLOW)
		wait_ms(fs, rq->fault.fault.delay_ms);
	pthread_mutex_unlock(&fs->lock);
	pairs_clear(&form);

	if (kind == FAKE_STRIPE_DROP_AFTER) {
		free(a.body);
		return MHD_NO;
	}
	rc = respond(conn, &a, rq->has_fault ? retry_header(rq->fault.fault.should_retry) : NULL);
	free(a.body);
	return rc;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
	enum MHD_RequestTerminationCode toe)
{
	request *rq = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (rq == NULL)
		return;
	free(rq->body);
	free(rq->fault.body);
	free(rq->query);
	pairs_clear(&rq->headers);
	free(rq);
	*con_cls = NULL;
}

fake_stripe *fake_stripe_start(const char *api_key)
{
	fake_stripe *fs = calloc(1, sizeof(*fs));
	struct sockaddr_in addr;
	const union MHD_DaemonInfo *info;

	if (fs == NULL)
		return NULL;
	fs->api_key = xstrdup(api_key);
	pthread_mutex_init(&fs->lock, NULL);
	pthread_cond_init(&fs->wake, NULL);
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = 0;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fs->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
		MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL, on_request, fs,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, fs,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
		MHD_OPTION_END);
	if (fs->daemon == NULL)
		goto fail;
	info = MHD_get_daemon_info(fs->daemon, MHD_DAEMON_INFO_BIND_PORT);
	if (info == NULL || info->port == 0)
		goto fail;
	snprintf(fs->url, sizeof(fs->url), "http://127.0.0.1:%u", (unsigned int)info->port);
	return fs;
fail:
	fake_stripe_stop(fs);
	return NULL;
}

void fake_stripe_stop(fake_stripe *fs)
{
	size_t i;

	if (fs == NULL)
		return;
	pthread_mutex_lock(&fs->lock);
	fs->stopping = true;
	pthread_cond_broadcast(&fs->wake);
	pthread_mutex_unlock(&fs->lock);
	if (fs->daemon)
		MHD_stop_daemon(fs->daemon);
	for (i = 0; i < fs->npis; i++) {
		free(fs->pis[i].customer);
		free(fs->pis[i].payment_method);
		free(fs->pis[i].description);
		pairs_clear(&fs->pis[i].metadata);
	}
	free(fs->pis);
	pairs_clear(&fs->customers);
	pairs_clear(&fs->attached);
	for (i = 0; i < fs->nidem; i++) {
		free(fs->idem[i].key);
		free(fs->idem[i].fingerprint);
		free(fs->idem[i].body);
		free(fs->idem[i].owner);
	}
	free(fs->idem);
	for (i = 0; i < fs->nfaults; i++)
		free(fs->faults[i].body);
	free(fs->faults);
	for (i = 0; i < fs->requests; i++) {
		free(fs->keys[i]);
		free(fs->auth_keys[i]);
		free(fs->accounts[i]);
	}
	free(fs->keys);
	free(fs->auth_keys);
	free(fs->accounts);
	for (i = 0; i < fs->nmore_keys; i++)
		free(fs->more_keys[i]);
	free(fs->more_keys);
	free(fs->last_method);
	free(fs->last_path);
	free(fs->last_body);
	pairs_clear(&fs->last_headers);
	pairs_clear(&fs->last_form);
	free(fs->api_key);
	pthread_cond_destroy(&fs->wake);
	pthread_mutex_destroy(&fs->lock);
	free(fs);
}

const char *fake_stripe_url(const fake_stripe *fs)
{
	return fs->url;
}

/* ------------------------------------------------------------ faults */

void fake_stripe_fail_next(fake_stripe *fs, unsigned int n, const fake_stripe_fault *fault)
{
	unsigned int i;

	pthread_mutex_lock(&fs->lock);
	for (i = 0; i < n; i++) {
		if (fs->nfaults == fs->cap_faults) {
			fs->cap_faults = fs->cap_faults ? 2 * fs->cap_faults : 8;
			fs->faults = xrealloc(fs->faults, fs->cap_faults * sizeof(*fs->faults));
		}
		fs->faults[fs->nfaults].fault = *fault;
		fs->faults[fs->nfaults].body = fault->body ? xstrdup(fault->body) : NULL;
		fs->faults[fs->nfaults].fault.body = NULL;
		fs->nfaults++;
	}
	pthread_mutex_unlock(&fs->lock);
}

void fake_stripe_clear_faults(fake_stripe *fs)
{
	pthread_mutex_lock(&fs->lock);
	fs->fault_head = fs->nfaults;
	pthread_mutex_unlock(&fs->lock);
}

/* ------------------------------------------------------------ accessors */

size_t fake_stripe_request_count(fake_stripe *fs)
{
	size_t n;

	pthread_mutex_lock(&fs->lock);
	n = fs->requests;
	pthread_mutex_unlock(&fs->lock);
	return n;
}

size_t fake_stripe_payment_intent_count(fake_stripe *fs)
{
	size_t n;

	pthread_mutex_lock(&fs->lock);
	n = fs->npis;
	pthread_mutex_unlock(&fs->lock);
	return n;
}

size_t fake_stripe_refund_count(fake_stripe *fs)
{
	size_t n;

	pthread_mutex_lock(&fs->lock);
	n = fs->refunds;
	pthread_mutex_unlock(&fs->lock);
	return n;
}

int fake_stripe_request_idempotency_key(fake_stripe *fs, size_t n, char *out, size_t size)
{
	int rc = 0;

	pthread_mutex_lock(&fs->lock);
	if (n < fs->requests)
		rc = copy_out(out, size, fs->keys[n]);
	pthread_mutex_unlock(&fs->lock);
	return rc;
}

void fake_stripe_add_key(fake_stripe *fs, const char *api_key)
{
	pthread_mutex_lock(&fs->lock);
	fs->more_keys = xrealloc(fs->more_keys, (fs->nmore_keys + 1) * sizeof(char *));
	fs->more_keys[fs->nmore_keys++] = xstrdup(api_key);
	pthread_mutex_unlock(&fs->lock);
}

int fake_stripe_request_auth(fake_stripe *fs, size_t n, char *key, size_t key_size,
	char *account, size_t account_size)
{
	int rc = 0;

	pthread_mutex_lock(&fs->lock);
	if (n < fs->requests) {
		copy_out(key, key_size, fs->auth_keys[n]);
		copy_out(account, account_size, fs->accounts[n]);
		rc = 1;
	}
	pthread_mutex_unlock(&fs->lock);
	return rc;
}

int fake_stripe_payment_intent_owner(fake_stripe *fs, const char *pi_id, char *out,
	size_t size)
{
	payment_intent *pi;
	int rc = 0;

	pthread_mutex_lock(&fs->lock);
	if ((pi = pi_find(fs, pi_id)) != NULL)
		rc = copy_out(out, size, pi->owner);
	pthread_mutex_unlock(&fs->lock);
	return rc;
}

int fake_stripe_last_method(fake_stripe *fs, char *out, size_t size)
{
	int rc;

	pthread_mutex_lock(&fs->lock);
	rc = copy_out(out, size, fs->last_method);
	pthread_mutex_unlock(&fs->lock);
	return rc;
}

int fake_stripe_last_path(fake_stripe *fs, char *out, size_t size)
{
	int rc;

	pthread_mutex_lock(&fs->lock);
	rc = copy_out(out, size, fs->last_path);
	pthread_mutex_unlock(&fs->lock);
	return rc;
}

int fake_stripe_last_body(fake_stripe *fs, char *out, size_t size)
{
	int rc;

	pthread_mutex_lock(&fs->lock);
	rc = copy_out(out, size, fs->last_body);
	pthread_mutex_unlock(&fs->lock);
	return rc;
}

int fake_stripe_last_header(fake_stripe *fs, const char *name, char *out, size_t size)
{
	int rc;

	pthread_mutex_lock(&fs->lock);
	rc = copy_out(out, size, pairs_get(&fs->last_headers, name, true));
	pthread_mutex_unlock(&fs->lock);
	return rc;
}

int fake_stripe_last_form(fake_stripe *fs, const char *name, char *out, size_t size)
{
	int rc;

	pthread_mutex_lock(&fs->lock);
	rc = copy_out(out, size, pairs_get(&fs->last_form, name, false));
	pthread_mutex_unlock(&fs->lock);
	return rc;
}

size_t fake_stripe_last_form_count(fake_stripe *fs)
{
	size_t n;

	pthread_mutex_lock(&fs->lock);
	n = fs->last_form.n;
	pthread_mutex_unlock(&fs->lock);
	return n;
}

int fake_stripe_set_status(fake_stripe *fs, const char *pi_id, const char *status,
	const char *failure_code)
{
	payment_intent *pi;
	int rc = 0;

	pthread_mutex_lock(&fs->lock);
	pi = pi_find(fs, pi_id);
	if (pi) {
		snprintf(pi->status, sizeof(pi->status), "%s", status);
		if (failure_code) {
			snprintf(pi->fail_code, sizeof(pi->fail_code), "%s", failure_code);
			snprintf(pi->decline_code, sizeof(pi->decline_code), "%s", failure_code);
			snprintf(pi->fail_message, sizeof(pi->fail_message), "The payment failed.");
		}
		rc = 1;
	}
	pthread_mutex_unlock(&fs->lock);
	return rc;
}

int fake_stripe_payment_intent(fake_stripe *fs, const char *pi_id, char *status,
	size_t size, int64_t *amount, int64_t *amount_refunded)
{
	payment_intent *pi;
	int rc = 0;

	pthread_mutex_lock(&fs->lock);
	pi = pi_find(fs, pi_id);
	if (pi) {
		if (status)
			copy_out(status, size, pi->status);
		if (amount)
			*amount = pi->amount;
		if (amount_refunded)
			*amount_refunded = pi->refunded;
		rc = 1;
	}
	pthread_mutex_unlock(&fs->lock);
	return rc;
}

int fake_stripe_payment_intent_id(fake_stripe *fs, size_t n, char *out, size_t size)
{
	int rc = 0;

	pthread_mutex_lock(&fs->lock);
	if (n < fs->npis)
		rc = copy_out(out, size, fs->pis[n].id);
	pthread_mutex_unlock(&fs->lock);
	return rc;
}

/* ------------------------------------------------------------ webhooks */

static void add_metadata(cJSON *obj, const fake_stripe_event *ev, const payment_intent *pi)
{
	cJSON *md = cJSON_AddObjectToObject(obj, "metadata");
	const char *tenant = ev->tenant_id, *payment = ev->payment_id, *invoice = ev->invoice_id;
	size_t i;

	if (pi)
		for (i = 0; i < pi->metadata.n; i++) {
			const char *k = pi->metadata.items[i].name;
			if ((strcmp(k, "tenant_id") == 0 && tenant) ||
			    (strcmp(k, "payment_id") == 0 && payment) ||
			    (strcmp(k, "invoice_id") == 0 && invoice))
				continue;
			cJSON_AddStringToObject(md, k, pi->metadata.items[i].value);
		}
	if (tenant)
		cJSON_AddStringToObject(md, "tenant_id", tenant);
	if (payment)
		cJSON_AddStringToObject(md, "payment_id", payment);
	if (invoice)
		cJSON_AddStringToObject(md, "invoice_id", invoice);
}

char *fake_stripe_event_json(fake_stripe *fs, const fake_stripe_event *ev)
{
	static pthread_mutex_t counter_lock = PTHREAD_MUTEX_INITIALIZER;
	static size_t counter;
	const payment_intent *pi = NULL;
	cJSON *root, *obj, *due;
	char id[64], cur[4] = "usd";
	int64_t amount = ev->amount, refunded = ev->amount_refunded;
	const char *status = NULL;
	char *out;
	size_t i;

	if (fs)
		pthread_mutex_lock(&fs->lock);
	if (fs && ev->payment_intent)
		pi = pi_find(fs, ev->payment_intent);
	if (pi) {
		if (amount == 0)
			amount = pi->amount;
		if (refunded == 0)
			refunded = pi->refunded;
		memcpy(cur, pi->currency, 4);
	}
	if (ev->currency && strlen(ev->currency) == 3)
		for (i = 0; i < 4; i++)
			cur[i] = (char)((ev->currency[i] >= 'A' && ev->currency[i] <= 'Z')
				? ev->currency[i] - 'A' + 'a' : ev->currency[i]);

	root = cJSON_CreateObject();
	if (ev->event_id) {
		snprintf(id, sizeof(id), "%s", ev->event_id);
	} else {
		pthread_mutex_lock(&counter_lock);
		snprintf(id, sizeof(id), "evt_fake_%06zu", ++counter);
		pthread_mutex_unlock(&counter_lock);
	}
	cJSON_AddStringToObject(root, "id", id);
	cJSON_AddStringToObject(root, "object", "event");
	cJSON_AddStringToObject(root, "api_version", "2024-06-20");
	cJSON_AddNumberToObject(root, "created", (double)ev->created);
	cJSON_AddBoolToObject(root, "livemode", 0);
	cJSON_AddStringToObject(root, "type", ev->type);
	if (ev->account)
		cJSON_AddStringToObject(root, "account", ev->account);
	obj = cJSON_AddObjectToObject(cJSON_AddObjectToObject(root, "data"), "object");

	if (strcmp(ev->type, "charge.refunded") == 0) {
		snprintf(id, sizeof(id), "ch_%s", ev->payment_intent ? ev->payment_intent + 3 : "x");
		cJSON_AddStringToObject(obj, "id", id);
		cJSON_AddStringToObject(obj, "object", "charge");
		cJSON_AddStringToObject(obj, "payment_intent", ev->payment_intent);
		cJSON_AddNumberToObject(obj, "amount", (double)amount);
		cJSON_AddNumberToObject(obj, "amount_refunded", (double)refunded);
		cJSON_AddBoolToObject(obj, "refunded", refunded == amount);
		cJSON_AddStringToObject(obj, "currency", cur);
		add_metadata(obj, ev, pi);
	} else if (strncmp(ev->type, "charge.dispute.", 15) == 0) {
		snprintf(id, sizeof(id), "dp_%s", ev->payment_intent ? ev->payment_intent + 3 : "x");
		cJSON_AddStringToObject(obj, "id", id);
		cJSON_AddStringToObject(obj, "object", "dispute");
		snprintf(id, sizeof(id), "ch_%s", ev->payment_intent ? ev->payment_intent + 3 : "x");
		cJSON_AddStringToObject(obj, "charge", id);
		cJSON_AddStringToObject(obj, "payment_intent", ev->payment_intent);
		cJSON_AddNumberToObject(obj, "amount", (double)amount);
		cJSON_AddStringToObject(obj, "currency", cur);
		cJSON_AddStringToObject(obj, "reason",
			ev->dispute_reason ? ev->dispute_reason : "fraudulent");
		cJSON_AddStringToObject(obj, "status",
			ev->dispute_status ? ev->dispute_status : "needs_response");
		due = cJSON_AddObjectToObject(obj, "evidence_details");
		if (ev->dispute_due_by)
			cJSON_AddNumberToObject(due, "due_by", (double)ev->dispute_due_by);
		else
			cJSON_AddNullToObject(due, "due_by");
		/* Stripe's own metadata of the dispute: not the PaymentIntent's. */
		cJSON_AddObjectToObject(obj, "metadata");
	} else {
		if (strcmp(ev->type, "payment_intent.succeeded") == 0)
			status = "succeeded";
		else if (strcmp(ev->type, "payment_intent.payment_failed") == 0)
			status = "requires_payment_method";
		else if (strcmp(ev->type, "payment_intent.processing") == 0)
			status = "processing";
		else if (strcmp(ev->type, "payment_intent.requires_action") == 0)
			status = "requires_action";
		else if (strcmp(ev->type, "payment_intent.canceled") == 0)
			status = "canceled";
		else
			status = pi ? pi->status : "succeeded";
		cJSON_AddStringToObject(obj, "id", ev->payment_intent ? ev->payment_intent : "pi_x");
		cJSON_AddStringToObject(obj, "object", "payment_intent");
		cJSON_AddNumberToObject(obj, "amount", (double)amount);
		cJSON_AddStringToObject(obj, "currency", cur);
		cJSON_AddStringToObject(obj, "status", status);
		add_metadata(obj, ev, pi);
		if (strcmp(status, "requires_payment_method") == 0 || ev->failure_code) {
			cJSON *e = cJSON_AddObjectToObject(obj, "last_payment_error");
			const char *code = ev->failure_code ? ev->failure_code
				: pi && pi->decline_code[0] ? pi->decline_code : "card_declined";
			cJSON_AddStringToObject(e, "type", "card_error");
			cJSON_AddStringToObject(e, "code", "card_declined");
			cJSON_AddStringToObject(e, "decline_code", code);
			cJSON_AddStringToObject(e, "message", ev->failure_message
				? ev->failure_message : "Your card was declined.");
		}
	}
	if (fs)
		pthread_mutex_unlock(&fs->lock);
	out = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return out;
}

int fake_stripe_event_sign(char *out, size_t size, const char *secret, int64_t t,
	const char *body)
{
	return billing__stripe_webhook_sign(out, size, secret, t, body, strlen(body)) == BILLING_OK
		? 0 : -1;
}

void fake_stripe_set_now(fake_stripe *fs, int64_t now)
{
	pthread_mutex_lock(&fs->lock);
	fs->now = now;
	pthread_mutex_unlock(&fs->lock);
}

size_t fake_stripe_cancel_count(fake_stripe *fs)
{
	size_t n;
	pthread_mutex_lock(&fs->lock);
	n = fs->cancels;
	pthread_mutex_unlock(&fs->lock);
	return n;
}

size_t fake_stripe_search_count(fake_stripe *fs)
{
	size_t n;
	pthread_mutex_lock(&fs->lock);
	n = fs->searches;
	pthread_mutex_unlock(&fs->lock);
	return n;
}

size_t fake_stripe_customer_count(fake_stripe *fs)
{
	size_t n;

	pthread_mutex_lock(&fs->lock);
	n = fs->customers.n;
	pthread_mutex_unlock(&fs->lock);
	return n;
}

int fake_stripe_payment_method_customer(fake_stripe *fs, const char *pm, char *out, size_t size)
{
	int rc;

	pthread_mutex_lock(&fs->lock);
	rc = copy_out(out, size, pairs_get(&fs->attached, pm, false));
	pthread_mutex_unlock(&fs->lock);
	return rc;
}

void fake_stripe_set_api_key(fake_stripe *fs, const char *api_key)
{
	char *key = xstrdup(api_key);

	pthread_mutex_lock(&fs->lock);
	free(fs->api_key);
	fs->api_key = key;
	pthread_mutex_unlock(&fs->lock);
}

int fake_stripe_provider(billing_provider **out, const fake_stripe *fs,
	const char *api_key, const char *webhook_secret)
{
	billing_stripe_options o = BILLING_STRIPE_OPTIONS_INIT;
	const char *secrets[1] = { webhook_secret };

	o.api_key = api_key;
	o.api_base = fake_stripe_url(fs);
	if (webhook_secret) {
		o.webhook_secrets = secrets;
		o.webhook_secret_count = 1;
	}
	o.timeout_ms = 2000;
	o.max_retries = 2;
	o.retry_base_ms = 1;
	return billing_stripe_provider_new(out, &o);
}

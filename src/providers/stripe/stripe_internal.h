/*
 * What the Stripe provider's files share: the provider's struct, the form
 * and exchange types, and the request (stripe_request.c) and answer
 * (stripe_answer.c) helpers that stripe.c's vtable is built from. Internal:
 * nothing here is part of the library's API.
 */
#ifndef BILLING_PROVIDERS_STRIPE_INTERNAL_H
#define BILLING_PROVIDERS_STRIPE_INTERNAL_H

#include "billing/sys/provider.h"
#include "billing/sys/transport.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#define MAX_RETRY_DELAY_MS 60000L
#define MAX_RESPONSE (1024 * 1024)
#define MAX_HEADER_VALUE 255
/* cJSON reads numbers as doubles: integers are taken within +-2^53 only. */
#define JSON_INT_MAX 9007199254740992.0

typedef struct {
	billing_provider base;         /* first: the core sees a billing_provider */
	char *api_key;
	char *auth_value;              /* "Bearer <key>" */
	char *stripe_version;          /* the Stripe-Version header */
	billing_transport *transport;  /* borrowed */
	char *api_base;                /* no trailing slash */
	bool loopback_http;            /* http:// to this machine: tests only */
	char **secrets;
	size_t nsecrets;
	long connect_timeout_ms;
	long timeout_ms;
	unsigned int max_retries;
	long retry_base_ms;
	long tolerance;
	char *account;                 /* Stripe-Account (a connected account), or NULL */
} stripe_provider;

/* An application/x-www-form-urlencoded body being built. */
typedef struct {
	CURL *curl;
	char *buf;
	size_t len, cap;
	bool failed;
} form;

/* One HTTP exchange with Stripe. */
typedef struct {
	billing_transport_response res;
	bool sent;                     /* res holds an answer to release */
	int should_retry;              /* Stripe-Should-Retry: -1 absent, 0, 1 */
} exchange;

/* Reads an object of a 2xx answer into out. */
typedef void (*object_reader)(const cJSON *obj, billing_provider_result *out);

/* Reads the root of a 2xx answer to a GET into out (want: what to look
 * for, or NULL); BILLING_OK or an error code with the error set. */
typedef int (*answer_reader)(const cJSON *root, const char *want, billing_provider_result *out);

/* ---- stripe_request.c */

/* Copies s (NULL: "") into out, cut at a UTF-8 character boundary. */
void billing__stripe_copy_text(char *out, size_t size, const char *s);
/* Printable ASCII, no space, 1..max bytes: safe inside a header or a URL. */
bool billing__stripe_token_ok(const char *s, size_t max);
/* Appends key=value (value escaped; a NULL value is left out). */
void billing__stripe_form_add(form *f, const char *key, const char *value);
void billing__stripe_form_add_int(form *f, const char *key, int64_t v);
/* Releases x's answer and clears it. */
void billing__stripe_exchange_reset(stripe_provider *sp, exchange *x);
/* The exchange ended with a whole HTTP answer. */
bool billing__stripe_answered(const exchange *x);
/* 409, 429 and 5xx: says nothing about the request; try again. */
bool billing__stripe_status_retryable(long status);
/* Sends (post NULL: a GET) with retries; x holds the last exchange. */
int billing__stripe_send_request(stripe_provider *sp, const char *url, const char *post,
	const char *idempotency_key, exchange *x, bool *retries_exhausted);
/* api_base + path, new (billing__free), NULL when out of memory. */
char *billing__stripe_url_for(stripe_provider *sp, const char *path);
/* POSTs f to path with the idempotency key and reads the outcome. */
int billing__stripe_post_form(stripe_provider *sp, const char *path, form *f, const char *key,
	object_reader read, billing_provider_result *out);

/* ---- stripe_answer.c */

const cJSON *billing__stripe_member(const cJSON *obj, const char *name);
const char *billing__stripe_member_str(const cJSON *obj, const char *name);
/* A non-negative integer member within +-2^53, else 0. */
int64_t billing__stripe_member_amount(const cJSON *obj, const char *name);
/* Three letters upper-cased into out, else "". */
void billing__stripe_currency_upper(char out[4], const char *s);
/* The error object of a non-2xx answer (NULL when the body is not one). */
const cJSON *billing__stripe_error_object(const cJSON *root);
/* The code to report for an error answer: decline_code, code, then type. */
const char *billing__stripe_error_code(const cJSON *err, long status);
/* The code of a refused request (key errors get a fixed code). */
/* Whose fault a refusal is: a decline, or a configuration error. */
billing_provider_failure billing__stripe_failure_class(const cJSON *err, long status);
const char *billing__stripe_refusal_code(const cJSON *err, long status);
/* Stripe's message into out, unless it could hold key material. */
void billing__stripe_set_message(stripe_provider *sp, billing_provider_result *out, long status,
	const char *msg);
void billing__stripe_result_unknown(billing_provider_result *out, const char *code,
	const char *msg);
/* The UNKNOWN outcome of an exchange that did not end with an answer. */
void billing__stripe_unknown_from(const exchange *x, const cJSON *root,
	billing_provider_result *out);
/* metadata[payment_id] and metadata[tenant_id] of obj into out ("" when absent). */
void billing__stripe_metadata(const cJSON *obj, billing_provider_result *out);
void billing__stripe_payment_intent_result(const cJSON *pi, billing_provider_result *out);
void billing__stripe_refund_result(const cJSON *re, billing_provider_result *out);
/* The result of a money-moving call's last exchange; always BILLING_OK. */
int billing__stripe_outcome(stripe_provider *sp, const exchange *x, bool exhausted,
	object_reader read, billing_provider_result *out);
/* GETs path; a 2xx answer is read with read, anything else is an error. */
int billing__stripe_get(stripe_provider *sp, const char *path, answer_reader read,
	const char *want, billing_provider_result *out);

/* ---- stripe_account.c */

/* The vtable's with_account: a copy of p acting for one tenant's account. */
int billing__stripe_with_account(billing_provider *p, const billing_provider_account *acct,
	billing_provider **out);

/* ---- stripe_next_action.c: a requires_action PaymentIntent's next_action
 * and client_secret into out (cleared for any other status). */
void billing__stripe_next_action(const cJSON *pi, billing_provider_result *out);

/* ---- stripe_cancel.c: the vtable's cancel (provider.h, version 3). */

int billing__stripe_cancel(billing_provider *p, const char *ref, const char *key, int64_t now,
	billing_provider_result *out);

/* ---- stripe_setup.c: the vtable's stored payment methods (version 3) */

int billing__stripe_customer_create(billing_provider *p, const billing_provider_customer *req,
	int64_t now, char *ref);
int billing__stripe_setup_intent_create(billing_provider *p,
	const billing_provider_customer *req, int64_t now, billing_provider_setup_intent *out);
int billing__stripe_payment_method_attach(billing_provider *p,
	const billing_provider_customer *req, const char *ref, int64_t now,
	billing_provider_payment_method *out);
int billing__stripe_payment_method_detach(billing_provider *p,
	const billing_provider_customer *req, const char *ref, int64_t now);

/* ---- stripe_currency.c */

/* The library's amount (ISO 4217 minor units) of currency in Stripe's
 * units into out; BILLING_EINVALID (reason currency_unsupported,
 * amount_not_allowed or amount_too_large, with the field) when Stripe
 * cannot take it. */
int billing__stripe_amount_out(int64_t *out, const char *currency, int64_t amount);
/* Stripe's amount of currency in the library's units (-1 when it cannot
 * be one: never equal to a real amount). */
int64_t billing__stripe_amount_in(const char *currency, int64_t amount);

#endif

/*
 * Outbound webhooks (billing/webhook.h): endpoints, the delivery outbox
 * written with each event, delivery by the billing run (Standard Webhooks
 * signatures over libcurl, with a check of every address connected to),
 * retries, dead deliveries, endpoints disabled when they keep failing,
 * redelivery, and the pruning of old events.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "core/calendar.h"
#include "core/encode.h"
#include "core/entity.h"
#include "core/events.h"
#include "core/text.h"
#include "core/webhook_internal.h"

#define URL_MAX 2048
#define TYPES_MAX 4096             /* the stored type list */
#define DESCRIPTION_MAX 500
#define SECRET_BYTES 32
#define SECRET_MAX 64              /* "whsec_" + base64 of 32 bytes + NUL */
#define LEASE 300                  /* seconds a delivery being sent is held */
#define KEEP_RESPONSE 1024         /* bytes of an answer kept per attempt */
#define READ_RESPONSE 65536        /* bytes read before the answer is cut off */
#define DEAD_TO_DISABLE 5          /* dead deliveries in a row that disable */
#define PRUNE_BATCH 1000

/* Waits before each retry: 37.6 hours in all (the example schedule). */
static const int64_t retry_waits[] = { 5, 300, 1800, 7200, 18000, 36000, 36000, 36000 };
#define RETRIES ((int32_t)(sizeof(retry_waits) / sizeof(retry_waits[0])))

struct billing_webhook_endpoint {
	char *tenant_id;
	char *id;
	char *url;
	char *event_types;           /* ",a,b," */
	char *description;
	char *disabled_reason;
	char *secret_stored;         /* never shown through the getters */
	char *previous_secret;
	int64_t previous_secret_until;
	int32_t dead_in_row;
	int enabled;
	int64_t created_at, updated_at, version;
	char **types;                /* split event_types */
	size_t type_count;
	char *shown_secret;          /* owned: set by create and rotate only */
};

/* ------------------------------------------------------------ endpoints */

void billing_webhook_endpoint_free(billing_webhook_endpoint *e)
{
	if (!e)
		return;
	if (e->shown_secret) {
		OPENSSL_cleanse(e->shown_secret, strlen(e->shown_secret));
		billing__free(e->shown_secret);
	}
	billing__free(e->types);
	billing__free(e);
}

static void free_endpoint(void *item)
{
	billing_webhook_endpoint_free(item);
}

static void *endpoint_from_record(const void *record)
{
	const billing_webhook_endpoint_record *r = record;
	billing_webhook_endpoint *e;
	billing__strpack sp;
	size_t n = 0, strings = billing__strsize(r->tenant_id) + billing__strsize(r->id) +
		billing__strsize(r->url) + 2 * billing__strsize(r->event_types) +
		billing__strsize(r->description) + billing__strsize(r->disabled_reason) +
		billing__strsize(r->secret) + billing__strsize(r->previous_secret);
	const char *p;
	char *split;

	if ((e = billing__calloc(1, sizeof(*e) + strings)) == NULL)
		return NULL;
	sp.next = (char *)(e + 1);
	e->tenant_id = billing__strpack_put(&sp, r->tenant_id);
	e->id = billing__strpack_put(&sp, r->id);
	e->url = billing__strpack_put(&sp, r->url);
	e->event_types = billing__strpack_put(&sp, r->event_types);
	e->description = billing__strpack_put(&sp, r->description);
	e->disabled_reason = billing__strpack_put(&sp, r->disabled_reason);
	e->secret_stored = billing__strpack_put(&sp, r->secret);
	e->previous_secret = billing__strpack_put(&sp, r->previous_secret);
	e->previous_secret_until = r->previous_secret_until;
	e->dead_in_row = r->dead_in_row;
	e->enabled = r->enabled;
	e->created_at = r->created_at;
	e->updated_at = r->updated_at;
	e->version = r->version;
	/* ",a,b," -> { "a", "b" } in a second copy */
	split = billing__strpack_put(&sp, r->event_types);
	for (p = split; p && *p; p++)
		n += *p == ',';
	if ((e->types = billing__calloc(n ? n : 1, sizeof(char *))) == NULL) {
		billing_webhook_endpoint_free(e);
		return NULL;
	}
	if (split) {
		char *save = NULL, *tok;
		for (tok = strtok_r(split, ",", &save); tok && e->type_count < n;
		     tok = strtok_r(NULL, ",", &save))
			e->types[e->type_count++] = tok;
	}
	return e;
}

static void endpoint_record(billing_webhook_endpoint_record *r, const billing_webhook_endpoint *e)
{
	memset(r, 0, sizeof(*r));
	r->tenant_id = e->tenant_id;
	r->id = e->id;
	r->url = e->url;
	r->event_types = e->event_types;
	r->enabled = e->enabled;
	r->description = e->description;
	r->secret = e->secret_stored;
	r->previous_secret = e->previous_secret;
	r->previous_secret_until = e->previous_secret_until;
	r->dead_in_row = e->dead_in_row;
	r->disabled_reason = e->disabled_reason;
	r->created_at = e->created_at;
	r->updated_at = e->updated_at;
	r->version = e->version;
}

static int64_t endpoint_version(const void *item)
{
	return ((const billing_webhook_endpoint *)item)->version;
}

static int st_get(billing_storage *st, billing_txn *tx, const char *tenant_id, const char *id,
	billing_row_cb cb, void *payload)
{
	return st->webhook_endpoint_get(tx, tenant_id, id, cb, payload);
}

static int st_insert(billing_storage *st, billing_txn *tx, const void *record)
{
	return st->webhook_endpoint_insert(tx, record);
}

static int st_update(billing_storage *st, billing_txn *tx, const void *record,
	int64_t old_version)
{
	return st->webhook_endpoint_update(tx, record, old_version);
}

static int st_remove(billing_storage *st, billing_txn *tx, const char *tenant_id, const char *id)
{
	return st->webhook_endpoint_delete(tx, tenant_id, id);
}

static int st_list(billing_storage *st, billing_txn *tx, const char *tenant_id,
	const billing_list_query *q, billing_row_cb cb, void *payload)
{
	return st->webhook_endpoint_list(tx, tenant_id, q, cb, payload);
}

static const char *endpoint_id_of(const void *item)
{
	return ((const billing_webhook_endpoint *)item)->id;
}

static const billing__entity entity = {
	/* The noun names the events too: webhook_endpoint.created, ... */
	"webhook_endpoint", endpoint_from_record, free_endpoint, endpoint_version, NULL,
	st_get, st_insert, st_update, st_remove, st_list,
	billing__json_webhook_endpoint, endpoint_id_of, NULL
};

static int ready(billing_ctx *ctx)
{
	if (ctx->st->version < 3)
		return billing__error_set(BILLING_ESTORAGE, "storage_version",
			"the storage backend does not store webhooks (vtable version %u)",
			ctx->st->version);
	return BILLING_OK;
}

/* "whsec_" + base64 of 32 random bytes. */
static int new_secret(char out[SECRET_MAX])
{
	uint8_t raw[SECRET_BYTES];
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return billing__error_set(BILLING_ERROR, NULL, "no randomness for a secret");
	strcpy(out, "whsec_");
	billing__b64_encode(out + 6, raw, sizeof(raw));
	OPENSSL_cleanse(raw, sizeof(raw));
	return BILLING_OK;
}

/* Validated input of create and update. */
struct norm {
	char *url;
	char types[TYPES_MAX];
	char *description;
};

static void norm_free(struct norm *n)
{
	billing__free(n->url);
	billing__free(n->description);
}

static bool type_ok(const char *t)
{
	size_t i, n = strlen(t);
	if (strcmp(t, "*") == 0)
		return true;
	if (n == 0 || n > 64)
		return false;
	for (i = 0; i < n; i++) {
		char c = t[i];
		if (c == '*')
			return i == n - 1 && i > 0 && t[i - 1] == '.';
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.'))
			return false;
	}
	return t[0] != '.' && t[n - 1] != '.';
}

static void check_url(billing__checks *c, billing_ctx *ctx, const char *url, char **out)
{
	CURLU *u;
	char *scheme = NULL, *host = NULL;
	const char *p;

	*out = NULL;
	if (!url || !*url) {
		billing__check_fail(c, "url", "url is required");
		return;
	}
	if (strlen(url) > URL_MAX) {
		billing__check_fail(c, "url", "at most %d characters", URL_MAX);
		return;
	}
	for (p = url; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p == 0x7f) {
			billing__check_fail(c, "url", "url must not contain spaces or controls");
			return;
		}
	if ((u = curl_url()) == NULL) {
		billing__check_fail(c, "url", "cannot parse the url (out of memory)");
		return;
	}
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host || !*host) {
		billing__check_fail(c, "url", "not an absolute URL with a host");
	} else if (strcmp(scheme, "https") != 0 &&
		   !(strcmp(scheme, "http") == 0 && ctx->webhook_allow_http)) {
		billing__check_fail(c, "url", "url must be https%s",
			ctx->webhook_allow_http ? " or http" : "");
	} else if (strchr(url, '@')) {
		billing__check_fail(c, "url", "url must not carry credentials");
	} else if ((*out = billing__strdup(url)) == NULL) {
		billing__check_fail(c, "url", "out of memory");
	}
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
}

static void check_types(billing__checks *c, const char *const *types, size_t n, char *out)
{
	size_t i, j = 0;
	if (n > BILLING_WEBHOOK_MAX_EVENT_TYPES) {
		billing__check_fail(c, "events", "at most %d event types",
			BILLING_WEBHOOK_MAX_EVENT_TYPES);
		return;
	}
	if (n == 0) {
		strcpy(out, ",*,");
		return;
	}
	out[j++] = ',';
	for (i = 0; i < n; i++) {
		if (!types[i] || !type_ok(types[i])) {
			billing__check_fail(c, "events",
				"event types are like invoice.paid, invoice.* or *");
			return;
		}
		j += (size_t)snprintf(out + j, TYPES_MAX - j, "%s,", types[i]);
	}
}

static int validate(billing_ctx *ctx, const billing_webhook_endpoint_params *p, unsigned int fields,
	struct norm *n)
{
	billing__checks c = BILLING__CHECKS_INIT;
	int rc;

	memset(n, 0, sizeof(*n));
	if (fields & BILLING_WEBHOOK_URL)
		check_url(&c, ctx, p->url, &n->url);
	if (fields & BILLING_WEBHOOK_EVENT_TYPES)
		check_types(&c, p->event_types, p->event_type_count, n->types);
	if (fields & BILLING_WEBHOOK_DESCRIPTION &&
	    (rc = billing__check_text(&c, "description", p->description, BILLING__TEXT_MULTILINE,
		0, DESCRIPTION_MAX, &n->description)) < 0)
		return rc;
	if ((fields & BILLING_WEBHOOK_ENABLED) && p->enabled != BILLING_UNSET &&
	    p->enabled != BILLING_TRUE && p->enabled != BILLING_FALSE)
		billing__check_fail(&c, "enabled", "enabled must be true or false");
	if ((rc = billing__checks_finish(&c, "webhook endpoint")) < 0)
		norm_free(n);
	return rc;
}

static int check_params(const billing_webhook_endpoint_params *p)
{
	BILLING__ASSERT_ARG(p, "params");
	if (p->version == 0 || p->version > BILLING_WEBHOOK_ENDPOINT_PARAMS_VERSION)
		return billing__error_field(BILLING_EINVALID, "invalid_version", "version",
			"unknown billing_webhook_endpoint_params version %u", p->version);
	return BILLING_OK;
}

static void hash_input(billing__buf *b, const struct norm *n, const billing_webhook_endpoint_params *p,
	unsigned int fields, const char *id)
{
	billing__buf_add(b, "id", id);
	billing__buf_add_i64(b, "fields", fields);
	billing__buf_add(b, "url", n->url);
	billing__buf_add(b, "types", n->types);
	billing__buf_add(b, "description", n->description);
	billing__buf_add_i64(b, "enabled", p->enabled);
	billing__buf_add_i64(b, "expected", p->expected_version);
}

#define ALL_FIELDS (BILLING_WEBHOOK_URL | BILLING_WEBHOOK_EVENT_TYPES | \
	BILLING_WEBHOOK_ENABLED | BILLING_WEBHOOK_DESCRIPTION)

static int endpoint_create_once(billing_webhook_endpoint **out, billing_ctx *ctx,
	const billing_principal *who, const billing_webhook_endpoint_params *p,
	const billing_call_options *opts)
{
	billing_webhook_endpoint_record r;
	billing__buf input = { 0 };
	billing__idem idem;
	struct norm n;
	char id[BILLING_ID_MAX], secret[SECRET_MAX];
	int64_t now;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_WEBHOOK_ENDPOINTS_CREATE)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	if ((rc = check_params(p)) < 0 || (rc = ready(ctx)) < 0 ||
	    (rc = validate(ctx, p, ALL_FIELDS, &n)) < 0)
		return rc;
	hash_input(&input, &n, p, ALL_FIELDS, NULL);
	if ((rc = billing__idem_init_buf(&idem, opts, BILLING_OP_WEBHOOK_ENDPOINTS_CREATE,
		&input)) < 0)
		goto out;
	now = billing__now(ctx);
	if (billing__id_new(id, "we", now * 1000) < 0) {
		rc = billing__error_set(BILLING_ERROR, NULL, "cannot make an id");
		goto out;
	}
	if ((rc = new_secret(secret)) < 0)
		goto out;
	memset(&r, 0, sizeof(r));
	r.tenant_id = who->tenant_id;
	r.id = id;
	r.url = n.url;
	r.event_types = n.types;
	r.enabled = p->enabled != BILLING_FALSE;
	r.description = n.description;
	r.secret = secret;
	r.created_at = r.updated_at = now;
	r.version = 1;
	rc = billing__entity_create((void **)out, &entity, ctx, who->tenant_id, &idem, &r, id,
		NULL, NULL, NULL);
	/* The secret is shown this once (not on an idempotent replay). */
	if (rc == BILLING_OK && !idem.replay &&
	    ((*out)->shown_secret = billing__strdup(secret)) == NULL) {
		billing_webhook_endpoint_free(*out);
		*out = NULL;
		rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
	}
	OPENSSL_cleanse(secret, sizeof(secret));
out:
	norm_free(&n);
	return rc;
}

int billing_webhook_endpoint_create(billing_webhook_endpoint **out, billing_ctx *ctx,
	const billing_principal *who, const billing_webhook_endpoint_params *params,
	const billing_call_options *opts)
{
	BILLING__RETRY(endpoint_create_once(out, ctx, who, params, opts));
}

int billing_webhook_endpoint_get(billing_webhook_endpoint **out, billing_ctx *ctx,
	const billing_principal *who, const char *id)
{
	int rc;
	if ((rc = billing__authorize(ctx, who, BILLING_OP_WEBHOOK_ENDPOINTS_GET)) < 0 ||
	    (rc = ready(ctx)) < 0)
		return rc;
	return billing__entity_get((void **)out, &entity, ctx, who,
		BILLING_OP_WEBHOOK_ENDPOINTS_GET, "we", id);
}

struct change {
	const billing_webhook_endpoint_params *p;
	const struct norm *n;
	unsigned int fields;
	int64_t overlap;                 /* rotate: > 0 */
	char secret[SECRET_MAX];         /* rotate: the new secret */
};

static int build_update(void *payload, billing_ctx *ctx, billing_txn *tx, const void *current,
	void *record)
{
	struct change *ch = payload;
	const billing_webhook_endpoint *cur = current;
	billing_webhook_endpoint_record *r = record;
	(void)tx;

	endpoint_record(r, cur);
	r->updated_at = billing__now(ctx);
	r->version = cur->version + 1;
	if (ch->overlap > 0) {
		r->previous_secret = cur->secret_stored;
		r->previous_secret_until = r->updated_at + ch->overlap;
		r->secret = ch->secret;
		return BILLING_OK;
	}
	if (ch->fields & BILLING_WEBHOOK_URL)
		r->url = ch->n->url;
	if (ch->fields & BILLING_WEBHOOK_EVENT_TYPES)
		r->event_types = ch->n->types;
	if (ch->fields & BILLING_WEBHOOK_DESCRIPTION)
		r->description = ch->n->description;
	if ((ch->fields & BILLING_WEBHOOK_ENABLED) && ch->p->enabled != BILLING_UNSET) {
		r->enabled = ch->p->enabled == BILLING_TRUE;
		if (r->enabled) {
			/* Enabled again: a fresh start. */
			r->dead_in_row = 0;
			r->disabled_reason = NULL;
		}
	}
	return BILLING_OK;
}

static int endpoint_update_once(billing_webhook_endpoint **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_webhook_endpoint_params *p,
	const billing_call_options *opts)
{
	billing_webhook_endpoint_record r;
	billing__buf input = { 0 };
	billing__idem idem;
	struct change ch;
	struct norm n;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_WEBHOOK_ENDPOINTS_UPDATE)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	if ((rc = check_params(p)) < 0 || (rc = ready(ctx)) < 0 ||
	    (rc = billing__check_update(p->fields, ALL_FIELDS, p->expected_version)) < 0)
		return rc;
	if (!billing__id_arg_ok(id, "we"))
		return billing__not_found("webhook endpoint");
	if ((rc = validate(ctx, p, p->fields, &n)) < 0)
		return rc;
	hash_input(&input, &n, p, p->fields, id);
	if ((rc = billing__idem_init_buf(&idem, opts, BILLING_OP_WEBHOOK_ENDPOINTS_UPDATE,
		&input)) < 0)
		goto out;
	memset(&ch, 0, sizeof(ch));
	ch.p = p;
	ch.n = &n;
	ch.fields = p->fields;
	rc = billing__entity_update((void **)out, &entity, ctx, who->tenant_id, id, &idem,
		p->expected_version, &r, build_update, &ch);
out:
	norm_free(&n);
	return rc;
}

int billing_webhook_endpoint_update(billing_webhook_endpoint **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_webhook_endpoint_params *params,
	const billing_call_options *opts)
{
	BILLING__RETRY(endpoint_update_once(out, ctx, who, id, params, opts));
}

static int rotate_once(billing_webhook_endpoint **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, int64_t overlap,
	const billing_call_options *opts)
{
	billing_webhook_endpoint_record r;
	billing__buf input = { 0 };
	billing__idem idem;
	struct change ch;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_WEBHOOK_ENDPOINTS_ROTATE)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	if ((rc = ready(ctx)) < 0)
		return rc;
	if (overlap < 0 || overlap > 7 * 86400)
		return billing__error_field(BILLING_EINVALID, "invalid", "overlapSeconds",
			"from 0 to 604800 (7 days)");
	if (!billing__id_arg_ok(id, "we"))
		return billing__not_found("webhook endpoint");
	billing__buf_add(&input, "id", id);
	billing__buf_add_i64(&input, "overlap", overlap);
	if ((rc = billing__idem_init_buf(&idem, opts, BILLING_OP_WEBHOOK_ENDPOINTS_ROTATE,
		&input)) < 0)
		return rc;
	memset(&ch, 0, sizeof(ch));
	ch.overlap = overlap ? overlap : 86400;
	if ((rc = new_secret(ch.secret)) < 0)
		return rc;
	rc = billing__entity_update((void **)out, &entity, ctx, who->tenant_id, id, &idem, 0, &r,
		build_update, &ch);
	if (rc == BILLING_OK && !idem.replay &&
	    ((*out)->shown_secret = billing__strdup(ch.secret)) == NULL) {
		billing_webhook_endpoint_free(*out);
		*out = NULL;
		rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
	}
	OPENSSL_cleanse(ch.secret, sizeof(ch.secret));
	return rc;
}

int billing_webhook_endpoint_rotate_secret(billing_webhook_endpoint **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, int64_t overlap_seconds,
	const billing_call_options *opts)
{
	BILLING__RETRY(rotate_once(out, ctx, who, id, overlap_seconds, opts));
}

int billing_webhook_endpoint_delete(billing_ctx *ctx, const billing_principal *who,
	const char *id, int64_t expected_version)
{
	int rc;
	if ((rc = billing__authorize(ctx, who, BILLING_OP_WEBHOOK_ENDPOINTS_DELETE)) < 0 ||
	    (rc = ready(ctx)) < 0 ||
	    (rc = billing__check_expected_version(expected_version)) < 0)
		return rc;
	if (!billing__id_arg_ok(id, "we"))
		return billing__not_found("webhook endpoint");
	/* Its queued deliveries die when they come due (endpoint_deleted). */
	BILLING__RETRY(billing__entity_delete(&entity, ctx, who->tenant_id, id, expected_version,
		NULL, NULL, NULL));
}

static void endpoint_sort_key(const void *item, const char **text, int64_t *num, const char **id)
{
	const billing_webhook_endpoint *e = item;
	*text = NULL;
	*num = e->created_at;
	*id = e->id;
}

static const billing__sort_spec sorts[] = {
	{ "createdAt", BILLING_SORT_CREATED, false },
	{ NULL, 0, false }
};

int billing_webhook_endpoint_list(billing_page **out, billing_ctx *ctx,
	const billing_principal *who, const billing_list_params *params)
{
	billing_list_params none = BILLING_LIST_PARAMS_INIT;
	billing__list l;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_WEBHOOK_ENDPOINTS_LIST)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	if ((rc = ready(ctx)) < 0 ||
	    (rc = billing__list_begin(&l, ctx, who->tenant_id, params ? params : &none, sorts,
		"webhook_endpoints", BILLING__PAGE_WEBHOOK_ENDPOINT, free_endpoint)) < 0)
		return rc;
	l.from_record = endpoint_from_record;
	l.sort_key = endpoint_sort_key;
	return billing__entity_list(out, &entity, &l, ctx, who->tenant_id);
}

const billing_webhook_endpoint *billing_page_webhook_endpoint(const billing_page *page, size_t i)
{
	return billing__page_item(page, BILLING__PAGE_WEBHOOK_ENDPOINT, i);
}

const char *billing_webhook_endpoint_id(const billing_webhook_endpoint *e)
{
	return e ? e->id : NULL;
}
const char *billing_webhook_endpoint_url(const billing_webhook_endpoint *e)
{
	return e ? e->url : NULL;
}
size_t billing_webhook_endpoint_event_type_count(const billing_webhook_endpoint *e)
{
	return e ? e->type_count : 0;
}
const char *billing_webhook_endpoint_event_type_at(const billing_webhook_endpoint *e, size_t i)
{
	return e && i < e->type_count ? e->types[i] : NULL;
}
int billing_webhook_endpoint_enabled(const billing_webhook_endpoint *e)
{
	return e ? e->enabled : 0;
}
const char *billing_webhook_endpoint_description(const billing_webhook_endpoint *e)
{
	return e ? e->description : NULL;
}
const char *billing_webhook_endpoint_secret(const billing_webhook_endpoint *e)
{
	return e ? e->shown_secret : NULL;
}
const char *billing_webhook_endpoint_disabled_reason(const billing_webhook_endpoint *e)
{
	return e ? e->disabled_reason : NULL;
}
int64_t billing_webhook_endpoint_created_at(const billing_webhook_endpoint *e)
{
	return e ? e->created_at : 0;
}
int64_t billing_webhook_endpoint_updated_at(const billing_webhook_endpoint *e)
{
	return e ? e->updated_at : 0;
}
int64_t billing_webhook_endpoint_version(const billing_webhook_endpoint *e)
{
	return e ? e->version : 0;
}

/* ------------------------------------------------------------ the outbox */

/* ",a,b," wants type: "*", the type itself, or "prefix.*". */
static bool wants(const char *types, const char *type)
{
	char probe[80];
	const char *dot;
	if (strstr(types, ",*,"))
		return true;
	snprintf(probe, sizeof(probe), ",%s,", type);
	if (strstr(types, probe))
		return true;
	if ((dot = strchr(type, '.')) != NULL) {
		snprintf(probe, sizeof(probe), ",%.*s.*,", (int)(dot - type), type);
		return strstr(types, probe) != NULL;
	}
	return false;
}

struct fanout {
	billing_ctx *ctx;
	billing_txn *tx;
	const char *event_id;
	const char *type;
	const char *resource_id;
	int64_t now;
};

static int due_at(billing_ctx *ctx, billing_txn *tx, const char *tenant_id, const char *kind,
	const char *id, int64_t when)
{
	billing_due_record d;
	d.tenant_id = tenant_id;
	d.kind = kind;
	d.resource_id = id;
	d.due_at = when;
	return ctx->st->due_set(tx, &d);
}

static int new_delivery(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *endpoint_id, const char *event_id, int64_t now)
{
	billing_delivery_record d;
	char id[BILLING_ID_MAX];
	int rc;
	if (billing__id_new(id, "whd", now * 1000) < 0)
		return billing__error_set(BILLING_ERROR, NULL, "cannot make an id");
	memset(&d, 0, sizeof(d));
	d.tenant_id = tenant_id;
	d.id = id;
	d.endpoint_id = endpoint_id;
	d.event_id = event_id;
	d.status = BILLING_DELIVERY_PENDING;
	d.next_attempt_at = now;
	d.created_at = d.updated_at = now;
	d.version = 1;
	if ((rc = ctx->st->delivery_insert(tx, &d)) < 0)
		return rc;
	return due_at(ctx, tx, tenant_id, BILLING__DUE_DELIVERY, id, now);
}

static int fanout_row(void *payload, const void *record)
{
	struct fanout *f = payload;
	const billing_webhook_endpoint_record *r = record;
	if (!wants(r->event_types, f->type) || strcmp(r->id, f->resource_id) == 0)
		return BILLING_OK;
	return new_delivery(f->ctx, f->tx, r->tenant_id, r->id, f->event_id, f->now);
}

int billing__webhook_fanout(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *event_id, const char *type, const char *resource_id, int64_t now)
{
	struct fanout f = { ctx, tx, event_id, type, resource_id, now };
	return ctx->st->webhook_endpoints_enabled(tx, tenant_id, fanout_row, &f);
}

/* ------------------------------------------------------------ delivering */

struct billing__delivery_job {
	char tenant_id[BILLING_ID_MAX];
	char delivery_id[BILLING_ID_MAX];
	char endpoint_id[BILLING_ID_MAX];
	char event_id[BILLING_ID_MAX];
	char url[URL_MAX + 1];
	char secret[SECRET_MAX];
	char previous_secret[SECRET_MAX];     /* "" when none signs any more */
	char *body;
	size_t body_len;
	int64_t timestamp;
};

void billing__delivery_job_free(billing__delivery_job *job)
{
	if (!job)
		return;
	OPENSSL_cleanse(job->secret, sizeof(job->secret));
	OPENSSL_cleanse(job->previous_secret, sizeof(job->previous_secret));
	billing__free(job->body);
	billing__free(job);
}

struct capture {
	billing_delivery_record d;
	char strs[4][BILLING_ID_MAX];
};

static int delivery_row(void *payload, const void *record)
{
	struct capture *c = payload;
	const billing_delivery_record *r = record;
	c->d = *r;
	snprintf(c->strs[0], BILLING_ID_MAX, "%s", r->tenant_id);
	snprintf(c->strs[1], BILLING_ID_MAX, "%s", r->id);
	snprintf(c->strs[2], BILLING_ID_MAX, "%s", r->endpoint_id);
	snprintf(c->strs[3], BILLING_ID_MAX, "%s", r->event_id);
	c->d.tenant_id = c->strs[0];
	c->d.id = c->strs[1];
	c->d.endpoint_id = c->strs[2];
	c->d.event_id = c->strs[3];
	return BILLING_OK;
}

struct event_capture {
	billing__delivery_job *job;
	int rc;
};

static int event_row(void *payload, const void *record)
{
	struct event_capture *c = payload;
	const billing_event_record *r = record;
	char created[BILLING_TIME_FORMAT_SIZE];
	size_t n;

	if (billing__time_format(created, sizeof(created), r->created_at) < 0)
		return billing__error_set(BILLING_ERROR, NULL, "event time out of range");
	/* {"id","type","createdAt","data"}: ids and types are plain ASCII made
	 * by the library; data is the event's stored JSON. */
	n = strlen(r->id) + strlen(r->type) + strlen(created) + strlen(r->data_json) + 64;
	if ((c->job->body = billing__malloc(n)) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	c->job->body_len = (size_t)snprintf(c->job->body, n,
		"{\"id\":\"%s\",\"type\":\"%s\",\"createdAt\":\"%s\",\"data\":%s}", r->id, r->type,
		created, r->data_json);
	return BILLING_OK;
}

static int endpoint_row(void *payload, const void *record)
{
	billing__capture *c = payload;
	return billing__capture_row(c, record);
}

/* Writes the delivery's new state. */
static int save_delivery(billing_ctx *ctx, billing_txn *tx, billing_delivery_record *d,
	int64_t now)
{
	int64_t old = d->version;
	d->updated_at = now;
	d->version++;
	return ctx->st->delivery_update(tx, d, old);
}

/* A delivery that dies without being sent: recorded as an attempt. */
static int die(billing_ctx *ctx, billing_txn *tx, billing_delivery_record *d, const char *why,
	int64_t now)
{
	billing_delivery_attempt_record a;
	int rc;
	memset(&a, 0, sizeof(a));
	a.tenant_id = d->tenant_id;
	a.delivery_id = d->id;
	a.attempt_no = ++d->attempt_count;
	a.attempted_at = now;
	a.error = why;
	d->status = BILLING_DELIVERY_DEAD;
	d->next_attempt_at = 0;
	if ((rc = ctx->st->delivery_attempt_insert(tx, &a)) < 0 ||
	    (rc = save_delivery(ctx, tx, d, now)) < 0)
		return rc;
	return ctx->st->due_clear(tx, d->tenant_id, BILLING__DUE_DELIVERY, d->id);
}

int billing__delivery_begin(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *delivery_id, int64_t now, billing__delivery_job **out)
{
	billing__capture ec = { endpoint_from_record, NULL };
	struct capture c;
	struct event_capture evc;
	billing_webhook_endpoint *e;
	billing__delivery_job *job;
	int rc;

	*out = NULL;
	rc = ctx->st->delivery_get(tx, tenant_id, delivery_id, delivery_row, &c);
	if (rc == BILLING_ENOTFOUND)
		return ctx->st->due_clear(tx, tenant_id, BILLING__DUE_DELIVERY, delivery_id);
	if (rc < 0)
		return rc;
	if (c.d.status != BILLING_DELIVERY_PENDING)
		return ctx->st->due_clear(tx, tenant_id, BILLING__DUE_DELIVERY, delivery_id);
	rc = ctx->st->webhook_endpoint_get(tx, tenant_id, c.d.endpoint_id, endpoint_row, &ec);
	if (rc == BILLING_ENOTFOUND)
		return die(ctx, tx, &c.d, "endpoint_deleted", now);
	if (rc < 0)
		return rc;
	if (!(e = ec.item))
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	if (!e->enabled) {
		rc = die(ctx, tx, &c.d, "endpoint_disabled", now);
		billing_webhook_endpoint_free(e);
		return rc;
	}
	if ((job = billing__calloc(1, sizeof(*job))) == NULL) {
		billing_webhook_endpoint_free(e);
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	}
	snprintf(job->tenant_id, sizeof(job->tenant_id), "%s", tenant_id);
	snprintf(job->delivery_id, sizeof(job->delivery_id), "%s", delivery_id);
	snprintf(job->endpoint_id, sizeof(job->endpoint_id), "%s", e->id);
	snprintf(job->event_id, sizeof(job->event_id), "%s", c.d.event_id);
	snprintf(job->url, sizeof(job->url), "%s", e->url);
	snprintf(job->secret, sizeof(job->secret), "%s", e->secret_stored);
	if (e->previous_secret && e->previous_secret_until > now)
		snprintf(job->previous_secret, sizeof(job->previous_secret), "%s",
			e->previous_secret);
	job->timestamp = now;
	billing_webhook_endpoint_free(e);
	evc.job = job;
	evc.rc = 0;
	rc = ctx->st->event_get(tx, tenant_id, c.d.event_id, event_row, &evc);
	if (rc == BILLING_ENOTFOUND) {
		billing__delivery_job_free(job);
		return die(ctx, tx, &c.d, "event_pruned", now);
	}
	/* The lease: should this process die before the answer is recorded,
	 * the delivery is sent again when it falls due. */
	if (rc == BILLING_OK)
		rc = due_at(ctx, tx, tenant_id, BILLING__DUE_DELIVERY, delivery_id, now + LEASE);
	if (rc < 0) {
		billing__delivery_job_free(job);
		return rc;
	}
	*out = job;
	return BILLING_OK;
}

/* Appends the signature of job under secret ("v1,<sig>", space-separated)
 * to out. */
static int sign(char *out, size_t size, const char *secret, const billing__delivery_job *job)
{
	char one[BILLING_WEBHOOK_SIGNATURE_SIZE];
	size_t used = strlen(out);
	int rc = billing_webhook_sign(one, sizeof(one), secret, job->event_id, job->timestamp,
		job->body, job->body_len);

	if (rc < 0) {
		/* The secret was made here: malformed, it was changed in storage. */
		return billing__error_set(rc == BILLING_EINVALID ? BILLING_ESTORAGE : rc,
			rc == BILLING_EINVALID ? "storage" : NULL, "cannot sign a delivery");
	}
	snprintf(out + used, size - used, "%s%s", used ? " " : "", one);
	OPENSSL_cleanse(one, sizeof(one));
	return BILLING_OK;
}

struct answer {
	char kept[KEEP_RESPONSE + 1];
	size_t kept_len, read;
	int refused;                  /* an address the context does not allow */
	const billing_ctx *ctx;
};

static size_t on_body(char *data, size_t size, size_t n, void *payload)
{
	struct answer *a = payload;
	size_t len = size * n, take;
	if (a->read + len > READ_RESPONSE)
		return 0;               /* enough: the transfer stops here */
	take = KEEP_RESPONSE - a->kept_len;
	if (take > len)
		take = len;
	memcpy(a->kept + a->kept_len, data, take);
	a->kept_len += take;
	a->read += len;
	return len;
}

static bool v4_forbidden(uint32_t ip)
{
	uint8_t a = (uint8_t)(ip >> 24), b = (uint8_t)(ip >> 16);
	return a == 0 || a == 10 || a == 127 || (a == 100 && (b & 0xc0) == 64) ||
		(a == 169 && b == 254) || (a == 172 && (b & 0xf0) == 16) ||
		(a == 192 && b == 168) || (a == 192 && b == 0 && (uint8_t)(ip >> 8) == 0) ||
		(a == 198 && (b & 0xfe) == 18) || a >= 224;
}

/* Loopback, private, link-local, multicast, metadata and other
 * non-public addresses. */
static bool address_forbidden(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		return v4_forbidden(ntohl(in->sin_addr.s_addr));
	}
	if (sa->sa_family == AF_INET6) {
		const uint8_t *x = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		static const uint8_t zero[16];
		uint32_t v4;
		if (memcmp(x, zero, 15) == 0 && (x[15] == 0 || x[15] == 1))
			return true;                           /* :: and ::1 */
		if (memcmp(x, zero, 10) == 0 && x[10] == 0xff && x[11] == 0xff) {
			memcpy(&v4, x + 12, 4);                /* ::ffff:a.b.c.d */
			return v4_forbidden(ntohl(v4));
		}
		return (x[0] & 0xfe) == 0xfc ||                /* fc00::/7 unique local */
			(x[0] == 0xfe && (x[1] & 0xc0) == 0x80) || /* fe80::/10 link-local */
			x[0] == 0xff;                              /* multicast */
	}
	return true;
}

static curl_socket_t open_socket(void *payload, curlsocktype purpose,
	struct curl_sockaddr *address)
{
	struct answer *a = payload;
	(void)purpose;
	/* The address actually connected to is the one checked, so a name
	 * that resolves differently later (DNS rebinding) changes nothing. */
	if (!a->ctx->webhook_allow_private && address_forbidden(&address->addr)) {
		a->refused = 1;
		return CURL_SOCKET_BAD;
	}
	return socket(address->family, address->socktype, address->protocol);
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int64_t jittered(int64_t wait)
{
	uint32_t r = 0;
	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = 0;
	return wait + (int64_t)((uint64_t)(wait / 10 + 1) * r / 0x100000000ULL);
}

/* Records the attempt's outcome in a transaction of its own. */
static int record_once(billing_ctx *ctx, const billing__delivery_job *job, int32_t status,
	const char *error, const char *response, int64_t duration_ms)
{
	billing__capture ec = { endpoint_from_record, NULL };
	billing_delivery_attempt_record a;
	billing_webhook_endpoint *e = NULL;
	struct capture c;
	billing_txn *tx;
	int64_t now = billing__now(ctx);
	bool ok = status >= 200 && status < 300;
	int rc;

	if ((rc = billing__begin(&tx, ctx, job->tenant_id, BILLING_TXN_WRITE)) < 0)
		return rc;
	if ((rc = ctx->st->delivery_get(tx, job->tenant_id, job->delivery_id, delivery_row,
		&c)) < 0)
		goto out;
	memset(&a, 0, sizeof(a));
	a.tenant_id = job->tenant_id;
	a.delivery_id = job->delivery_id;
	a.attempt_no = ++c.d.attempt_count;
	a.attempted_at = now;
	a.status_code = status;
	a.error = error;
	a.response = response;
	a.duration_ms = duration_ms;
	/* The delivery's own due row first, the endpoint after: a claim in
	 * another transaction may hold that due row (PostgreSQL keeps the lock
	 * of a row SKIP LOCKED found and then saw leased) while it waits for the
	 * endpoint; taking the endpoint first would close the cycle. */
	if (ok || c.d.attempt_count > RETRIES) {
		rc = ctx->st->due_clear(tx, job->tenant_id, BILLING__DUE_DELIVERY, job->delivery_id);
	} else {
		c.d.next_attempt_at = now + jittered(retry_waits[c.d.attempt_count - 1]);
		rc = due_at(ctx, tx, job->tenant_id, BILLING__DUE_DELIVERY, job->delivery_id,
			c.d.next_attempt_at);
	}
	if (rc < 0 || (rc = ctx->st->delivery_attempt_insert(tx, &a)) < 0)
		goto out;
	rc = ctx->st->webhook_endpoint_get(tx, job->tenant_id, job->endpoint_id, endpoint_row, &ec);
	if (rc == BILLING_ENOTFOUND)
		rc = BILLING_OK;
	else if (rc == BILLING_OK && !(e = ec.item))
		rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
	if (rc < 0)
		goto out;
	if (ok) {
		c.d.status = BILLING_DELIVERY_SUCCEEDED;
		c.d.next_attempt_at = 0;
		if (e && e->dead_in_row) {
			billing_webhook_endpoint_record r;
			endpoint_record(&r, e);
			r.dead_in_row = 0;
			r.updated_at = now;
			r.version++;
			rc = ctx->st->webhook_endpoint_update(tx, &r, e->version);
		}
	} else if (c.d.attempt_count <= RETRIES) {
		/* next_attempt_at and its due work are set above */
	} else {
		c.d.status = BILLING_DELIVERY_DEAD;
		c.d.next_attempt_at = 0;
		if (e) {
			billing_webhook_endpoint_record r;
			endpoint_record(&r, e);
			r.dead_in_row = e->dead_in_row + 1;
			r.updated_at = now;
			r.version++;
			if (r.dead_in_row >= DEAD_TO_DISABLE && r.enabled) {
				r.enabled = 0;
				r.disabled_reason = "failing";
			}
			if ((rc = ctx->st->webhook_endpoint_update(tx, &r, e->version)) == BILLING_OK &&
			    !r.enabled && e->enabled) {
				billing_webhook_endpoint *now_e = endpoint_from_record(&r);
				billing__log(ctx, BILLING_LOG_WARN, "webhook endpoint %s disabled: %d "
					"deliveries died in a row", e->id, r.dead_in_row);
				rc = now_e ? billing__event_emit(ctx, tx, job->tenant_id,
					"webhook_endpoint.disabled", "webhook_endpoint", e->id,
					billing__json_webhook_endpoint, now_e) :
					billing__error_set(BILLING_ENOMEM, NULL, NULL);
				billing_webhook_endpoint_free(now_e);
			}
		}
	}
	if (rc == BILLING_OK)
		rc = save_delivery(ctx, tx, &c.d, now);
out:
	billing_webhook_endpoint_free(e);
	return billing__end(ctx, tx, rc);
}

static int record(billing_ctx *ctx, const billing__delivery_job *job, int32_t status,
	const char *error, const char *response, int64_t duration_ms)
{
	BILLING__RETRY(record_once(ctx, job, status, error, response, duration_ms));
}

int billing__delivery_run(billing_ctx *ctx, billing__delivery_job *job)
{
	char sig[256] = "", h_id[128], h_ts[64], h_sig[300];
	struct curl_slist *headers = NULL;
	struct answer ans;
	struct timespec t0, t1;
	long status = 0, timeout = ctx->webhook_timeout_ms > 0 ? ctx->webhook_timeout_ms : 15000;
	const char *error = NULL;
	CURLcode cc;
	CURL *curl;
	int rc;

	if ((rc = sign(sig, sizeof(sig), job->secret, job)) < 0 ||
	    (job->previous_secret[0] && (rc = sign(sig, sizeof(sig), job->previous_secret,
		job)) < 0)) {
		billing__delivery_job_free(job);
		return rc;
	}
	pthread_once(&curl_once, curl_init);
	memset(&ans, 0, sizeof(ans));
	ans.ctx = ctx;
	snprintf(h_id, sizeof(h_id), "webhook-id: %s", job->event_id);
	snprintf(h_ts, sizeof(h_ts), "webhook-timestamp: %lld", (long long)job->timestamp);
	snprintf(h_sig, sizeof(h_sig), "webhook-signature: %s", sig);
	OPENSSL_cleanse(sig, sizeof(sig));
	headers = curl_slist_append(headers, "Content-Type: application/json");
	headers = curl_slist_append(headers, "User-Agent: libbilling-webhooks/1");
	headers = curl_slist_append(headers, h_id);
	headers = curl_slist_append(headers, h_ts);
	headers = curl_slist_append(headers, h_sig);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (!headers || (curl = curl_easy_init()) == NULL) {
		error = "out_of_memory";
	} else {
		curl_easy_setopt(curl, CURLOPT_URL, job->url);
		curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR,
			ctx->webhook_allow_http ? "http,https" : "https");
		curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
		curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout < 5000 ? timeout : 5000L);
		curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout);
		curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, job->body);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)job->body_len);
		curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(curl, CURLOPT_WRITEDATA, &ans);
		curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, open_socket);
		curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, &ans);
		cc = curl_easy_perform(curl);
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
		if (ans.refused)
			error = "refused_address";
		else if (cc == CURLE_OPERATION_TIMEDOUT)
			error = "timeout";
		else if (cc == CURLE_WRITE_ERROR && status)
			error = NULL;         /* answered; we stopped reading a long body */
		else if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST)
			error = "connect";
		else if (cc != CURLE_OK)
			error = status ? NULL : "connection";
		curl_easy_cleanup(curl);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	curl_slist_free_all(headers);
	OPENSSL_cleanse(h_sig, sizeof(h_sig));
	ans.kept[ans.kept_len] = '\0';
	if (error)
		status = 0;
	rc = record(ctx, job, (int32_t)status, error, ans.kept_len ? ans.kept : NULL,
		(int64_t)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
	billing__delivery_job_free(job);
	return rc;
}

/* ------------------------------------------------------------ deliveries */

struct billing_webhook_delivery {
	char *tenant_id;
	char *id;
	char *endpoint_id;
	char *event_id;
	billing_delivery_status status;
	int32_t attempt_count;
	int64_t next_attempt_at, created_at, version;
	billing_delivery_attempt *attempts;
	char **attempt_strings;
	size_t attempt_n;
};

const char *billing_delivery_status_name(billing_delivery_status s)
{
	switch (s) {
	case BILLING_DELIVERY_PENDING: return "pending";
	case BILLING_DELIVERY_SUCCEEDED: return "succeeded";
	case BILLING_DELIVERY_DEAD: return "dead";
	default: return NULL;
	}
}

static void free_delivery(void *item)
{
	billing_webhook_delivery *d = item;
	size_t i;
	if (!d)
		return;
	for (i = 0; i < d->attempt_n * 2; i++)
		billing__free(d->attempt_strings[i]);
	billing__free(d->attempt_strings);
	billing__free(d->attempts);
	billing__free(d);
}

static void *delivery_from_record(const void *record)
{
	const billing_delivery_record *r = record;
	billing_webhook_delivery *d;
	billing__strpack sp;
	size_t strings = billing__strsize(r->tenant_id) + billing__strsize(r->id) +
		billing__strsize(r->endpoint_id) + billing__strsize(r->event_id);
	if ((d = billing__calloc(1, sizeof(*d) + strings)) == NULL)
		return NULL;
	sp.next = (char *)(d + 1);
	d->tenant_id = billing__strpack_put(&sp, r->tenant_id);
	d->id = billing__strpack_put(&sp, r->id);
	d->endpoint_id = billing__strpack_put(&sp, r->endpoint_id);
	d->event_id = billing__strpack_put(&sp, r->event_id);
	d->status = (billing_delivery_status)r->status;
	d->attempt_count = r->attempt_count;
	d->next_attempt_at = r->next_attempt_at;
	d->created_at = r->created_at;
	d->version = r->version;
	return d;
}

static int attempt_row(void *payload, const void *record)
{
	billing_webhook_delivery *d = payload;
	const billing_delivery_attempt_record *r = record;
	billing_delivery_attempt *a;
	char **s;
	size_t n = d->attempt_n + 1;

	if ((a = billing__realloc(d->attempts, n * sizeof(*a))) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	d->attempts = a;
	if ((s = billing__realloc(d->attempt_strings, n * 2 * sizeof(*s))) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	d->attempt_strings = s;
	s[2 * d->attempt_n] = r->error ? billing__strdup(r->error) : NULL;
	s[2 * d->attempt_n + 1] = r->response ? billing__strdup(r->response) : NULL;
	a = &d->attempts[d->attempt_n];
	a->at = r->attempted_at;
	a->status_code = r->status_code;
	a->error = s[2 * d->attempt_n];
	a->response = s[2 * d->attempt_n + 1];
	a->duration_ms = r->duration_ms;
	d->attempt_n = n;
	if ((r->error && !a->error) || (r->response && !a->response))
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	return BILLING_OK;
}

static int64_t delivery_version(const void *item)
{
	return ((const billing_webhook_delivery *)item)->version;
}

static int st_delivery_list(billing_storage *st, billing_txn *tx, const char *tenant_id,
	const billing_list_query *q, billing_row_cb cb, void *payload)
{
	return st->delivery_list(tx, tenant_id, q, cb, payload);
}

static const billing__entity delivery_entity = {
	"delivery", delivery_from_record, free_delivery, delivery_version, NULL,
	NULL, NULL, NULL, NULL, st_delivery_list,
	NULL, NULL, NULL
};

static void delivery_sort_key(const void *item, const char **text, int64_t *num, const char **id)
{
	const billing_webhook_delivery *d = item;
	*text = NULL;
	*num = d->created_at;
	*id = d->id;
}

int billing_webhook_delivery_list(billing_page **out, billing_ctx *ctx,
	const billing_principal *who, const billing_delivery_list_params *params)
{
	billing_delivery_list_params none = BILLING_DELIVERY_LIST_PARAMS_INIT;
	const billing_delivery_list_params *p = params ? params : &none;
	billing__filter_ids ids = { 0 };
	billing_page *page = NULL;
	billing_txn *tx;
	char filters[160];
	billing__list l;
	size_t i;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_WEBHOOK_DELIVERIES_LIST)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	if (p->version == 0 || p->version > BILLING_DELIVERY_LIST_PARAMS_VERSION)
		return billing__error_field(BILLING_EINVALID, "invalid_version", "version",
			"unknown billing_delivery_list_params version %u", p->version);
	if (p->status && !billing_delivery_status_name(p->status))
		return billing__error_field(BILLING_EINVALID, "invalid", "status",
			"status must be pending, succeeded or dead");
	if (p->endpoint_id && !billing__id_arg_ok(p->endpoint_id, "we"))
		return billing__error_field(BILLING_EINVALID, "resource_missing", "endpointId",
			"no such webhook endpoint in this tenant");
	if (p->event_id && !billing__id_arg_ok(p->event_id, "evt"))
		return billing__error_field(BILLING_EINVALID, "resource_missing", "eventId",
			"no such event in this tenant");
	if ((rc = ready(ctx)) < 0)
		return rc;
	snprintf(filters, sizeof(filters), "deliveries|w=%s|e=%s|st=%d",
		p->endpoint_id ? p->endpoint_id : "-", p->event_id ? p->event_id : "-",
		(int)p->status);
	if ((rc = billing__list_begin(&l, ctx, who->tenant_id, &p->list, sorts, filters,
		BILLING__PAGE_WEBHOOK_DELIVERY, free_delivery)) < 0)
		return rc;
	l.from_record = delivery_from_record;
	l.sort_key = delivery_sort_key;
	l.q.endpoint_id = p->endpoint_id;
	l.q.event_id = p->event_id;
	l.q.status = (int)p->status;
	ids.tenant_id = who->tenant_id;
	ids.endpoint_id = p->endpoint_id;
	ids.event_id = p->event_id;
	l.check = billing__check_filter_ids_cb;
	l.check_payload = &ids;
	if ((rc = billing__entity_list(&page, &delivery_entity, &l, ctx, who->tenant_id)) < 0)
		return rc;
	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_READ)) == BILLING_OK) {
		for (i = 0; rc == BILLING_OK && i < page->count; i++) {
			billing_webhook_delivery *d = page->items[i];
			rc = ctx->st->delivery_attempts(tx, who->tenant_id, d->id, attempt_row, d);
		}
		rc = billing__end(ctx, tx, rc);
	}
	if (rc < 0) {
		billing_page_free(page);
		return rc;
	}
	*out = page;
	return BILLING_OK;
}

const billing_webhook_delivery *billing_page_webhook_delivery(const billing_page *page, size_t i)
{
	return billing__page_item(page, BILLING__PAGE_WEBHOOK_DELIVERY, i);
}

const char *billing_webhook_delivery_id(const billing_webhook_delivery *d)
{
	return d ? d->id : NULL;
}
const char *billing_webhook_delivery_endpoint_id(const billing_webhook_delivery *d)
{
	return d ? d->endpoint_id : NULL;
}
const char *billing_webhook_delivery_event_id(const billing_webhook_delivery *d)
{
	return d ? d->event_id : NULL;
}
billing_delivery_status billing_webhook_delivery_status_of(const billing_webhook_delivery *d)
{
	return d ? d->status : (billing_delivery_status)0;
}
int32_t billing_webhook_delivery_attempt_count(const billing_webhook_delivery *d)
{
	return d ? d->attempt_count : 0;
}
int64_t billing_webhook_delivery_next_attempt_at(const billing_webhook_delivery *d)
{
	return d ? d->next_attempt_at : 0;
}
int64_t billing_webhook_delivery_created_at(const billing_webhook_delivery *d)
{
	return d ? d->created_at : 0;
}
size_t billing_webhook_delivery_attempts(const billing_webhook_delivery *d)
{
	return d ? d->attempt_n : 0;
}
const billing_delivery_attempt *billing_webhook_delivery_attempt_at(
	const billing_webhook_delivery *d, size_t i)
{
	return d && i < d->attempt_n ? &d->attempts[i] : NULL;
}

/* ------------------------------------------------------------ redelivery */

struct redeliver {
	billing_ctx *ctx;
	billing_txn *tx;
	const char *type;             /* one event: its type */
	const char *event_id;
	int64_t now;
	int64_t count;
};

static int redeliver_endpoint(void *payload, const void *record)
{
	struct redeliver *r = payload;
	const billing_webhook_endpoint_record *e = record;
	int rc;
	if (!wants(e->event_types, r->type))
		return BILLING_OK;
	if ((rc = new_delivery(r->ctx, r->tx, e->tenant_id, e->id, r->event_id, r->now)) == 0)
		r->count++;
	return rc;
}

static int event_type_row(void *payload, const void *record)
{
	snprintf(payload, 128, "%s", ((const billing_event_record *)record)->type);
	return BILLING_OK;
}

struct dead_list {
	size_t n, cap;
	struct { char endpoint_id[BILLING_ID_MAX], event_id[BILLING_ID_MAX]; } *v;
	int64_t since;
};

static int dead_row(void *payload, const void *record)
{
	struct dead_list *l = payload;
	const billing_delivery_record *r = record;
	if (r->created_at < l->since)
		return BILLING_OK;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		void *v = billing__realloc(l->v, cap * sizeof(*l->v));
		if (!v)
			return billing__error_set(BILLING_ENOMEM, NULL, NULL);
		l->v = v;
		l->cap = cap;
	}
	snprintf(l->v[l->n].endpoint_id, BILLING_ID_MAX, "%s", r->endpoint_id);
	snprintf(l->v[l->n].event_id, BILLING_ID_MAX, "%s", r->event_id);
	l->n++;
	return BILLING_OK;
}

static int redeliver_once(billing_ctx *ctx, const billing_principal *who, const char *event_id,
	int64_t since, int64_t *count)
{
	struct redeliver r;
	char type[128] = "";
	billing_txn *tx;
	int rc;

	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_WRITE)) < 0)
		return rc;
	memset(&r, 0, sizeof(r));
	r.ctx = ctx;
	r.tx = tx;
	r.now = billing__now(ctx);
	if (event_id) {
		rc = ctx->st->event_get(tx, who->tenant_id, event_id, event_type_row, type);
		if (rc == BILLING_ENOTFOUND)
			rc = billing__not_found("event");
		r.type = type;
		r.event_id = event_id;
		if (rc == BILLING_OK)
			rc = ctx->st->webhook_endpoints_enabled(tx, who->tenant_id, redeliver_endpoint,
				&r);
	} else {
		struct dead_list l = { 0, 0, NULL, since };
		billing_list_query q;
		size_t i;
		memset(&q, 0, sizeof(q));
		q.offset = -1;
		q.limit = 1000;
		q.status = BILLING_DELIVERY_DEAD;
		q.has_created_after = 1;
		q.created_after = since - 1;
		rc = ctx->st->delivery_list(tx, who->tenant_id, &q, dead_row, &l);
		for (i = 0; rc == BILLING_OK && i < l.n; i++) {
			billing__capture ec = { endpoint_from_record, NULL };
			int erc = ctx->st->webhook_endpoint_get(tx, who->tenant_id, l.v[i].endpoint_id,
				endpoint_row, &ec);
			billing_webhook_endpoint *e = ec.item;
			if (erc == BILLING_ENOTFOUND)
				continue;
			if (erc < 0) {
				rc = erc;
			} else if (e && e->enabled) {
				if ((rc = new_delivery(ctx, tx, who->tenant_id, e->id, l.v[i].event_id,
					r.now)) == BILLING_OK)
					r.count++;
			}
			billing_webhook_endpoint_free(e);
		}
		billing__free(l.v);
	}
	if (rc == BILLING_OK)
		rc = billing__audit_record(ctx, tx, who->tenant_id, event_id);
	if ((rc = billing__end(ctx, tx, rc)) == BILLING_OK && count)
		*count = r.count;
	return rc;
}

int billing_webhook_redeliver(billing_ctx *ctx, const billing_principal *who,
	const char *event_id, int64_t since, int64_t *count)
{
	int rc;
	if ((rc = billing__authorize(ctx, who, BILLING_OP_EVENTS_REDELIVER)) < 0 ||
	    (rc = ready(ctx)) < 0)
		return rc;
	if (event_id && !billing__id_arg_ok(event_id, "evt"))
		return billing__not_found("event");
	BILLING__RETRY(redeliver_once(ctx, who, event_id, since, count));
}

/* ------------------------------------------------------------ retention */

struct tenant_ids {
	size_t n, cap;
	char (*v)[BILLING_ID_MAX];
};

static int tenant_row(void *payload, const void *record)
{
	struct tenant_ids *t = payload;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		void *v = billing__realloc(t->v, cap * sizeof(*t->v));
		if (!v)
			return billing__error_set(BILLING_ENOMEM, NULL, NULL);
		t->v = v;
		t->cap = cap;
	}
	snprintf(t->v[t->n++], BILLING_ID_MAX, "%s", ((const billing_tenant_record *)record)->id);
	return BILLING_OK;
}

int billing__prune_all(billing_ctx *ctx, int64_t now)
{
	struct tenant_ids t = { 0, 0, NULL };
	billing_list_query q;
	billing_txn *tx;
	int64_t page = 0;
	size_t i;
	int rc = BILLING_OK;

	if (ctx->event_retention <= 0 || ctx->st->version < 3)
		return BILLING_OK;
	{
		/* At most hourly, across every process sharing the database. */
		char text[32];
		long long last = 0;
		if ((rc = billing__begin(&tx, ctx, NULL, BILLING_TXN_WRITE)) < 0)
			return rc;
		rc = ctx->st->meta_get(tx, "last_prune_at", text, sizeof(text));
		if (rc == BILLING_OK)
			last = strtoll(text, NULL, 10);
		else if (rc == BILLING_ENOTFOUND)
			rc = BILLING_OK;
		if (rc == BILLING_OK && now - last < 3600) {
			ctx->st->rollback(tx);
			return BILLING_OK;
		}
		snprintf(text, sizeof(text), "%lld", (long long)now);
		if (rc == BILLING_OK)
			rc = ctx->st->meta_set(tx, "last_prune_at", text);
		if ((rc = billing__end(ctx, tx, rc)) < 0)
			return rc;
	}
	memset(&q, 0, sizeof(q));
	q.limit = 1000;
	do {
		/* The tenants, a page at a time, in platform transactions. */
		size_t before = t.n;
		q.offset = page * 1000;
		if ((rc = billing__begin(&tx, ctx, NULL, BILLING_TXN_READ)) < 0 ||
		    (rc = billing__end(ctx, tx, ctx->st->tenant_list(tx, &q, tenant_row, &t))) < 0)
			break;
		if (t.n - before < 1000)
			break;
		page++;
	} while (1);
	for (i = 0; rc == BILLING_OK && i < t.n; i++) {
		int64_t deleted;
		do {
			/* A batch per transaction: short locks, bounded memory. */
			if ((rc = billing__begin(&tx, ctx, t.v[i], BILLING_TXN_WRITE)) < 0)
				break;
			deleted = 0;
			rc = billing__end(ctx, tx, ctx->st->events_prune(tx, t.v[i],
				now - ctx->event_retention, PRUNE_BATCH, &deleted));
			if (rc == BILLING_OK && deleted)
				billing__log(ctx, BILLING_LOG_INFO, "pruned %lld event(s) of tenant %s",
					(long long)deleted, t.v[i]);
		} while (rc == BILLING_OK && deleted == PRUNE_BATCH);
	}
	billing__free(t.v);
	return rc;
}

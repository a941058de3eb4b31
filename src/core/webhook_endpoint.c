/*
 * Webhook endpoints (billing/webhook.h): create, read, update, delete and
 * list, their signing secrets and the rotation that keeps the previous
 * secret signing for a while. The outbox is webhook_outbox.c, delivery
 * webhook_delivery.c, the signature scheme webhook_sign.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "core/encode.h"
#include "core/entity.h"
#include "core/events.h"
#include "core/text.h"
#include "core/webhook_internal.h"

#define TYPES_MAX 4096             /* the stored type list */
#define DESCRIPTION_MAX 500
#define SECRET_BYTES 32

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

void *billing__webhook_endpoint_from_record(const void *record)
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

void billing__webhook_endpoint_record(billing_webhook_endpoint_record *r, const billing_webhook_endpoint *e)
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
	return st->record_read(tx, &billing__res_webhook_endpoint, tenant_id, id, BILLING_LOCK_UPDATE, cb, payload);
}

static int st_insert(billing_storage *st, billing_txn *tx, const void *record)
{
	return st->record_insert(tx, &billing__res_webhook_endpoint, record);
}

static int st_update(billing_storage *st, billing_txn *tx, const void *record,
	int64_t old_version)
{
	return st->record_update(tx, &billing__res_webhook_endpoint, record, old_version);
}

static int st_remove(billing_storage *st, billing_txn *tx, const char *tenant_id, const char *id)
{
	return st->record_delete(tx, &billing__res_webhook_endpoint, tenant_id, id);
}

static int st_list(billing_storage *st, billing_txn *tx, const char *tenant_id,
	const billing_list_query *q, billing_row_cb cb, void *payload)
{
	return billing__list_records(st, tx, &billing__res_webhook_endpoint, tenant_id, q, cb, payload);
}

static const char *endpoint_id_of(const void *item)
{
	return ((const billing_webhook_endpoint *)item)->id;
}

static const billing__entity entity = {
	/* The noun names the events too: webhook_endpoint.created, ... */
	"webhook_endpoint", billing__webhook_endpoint_from_record, free_endpoint, endpoint_version, NULL,
	st_get, st_insert, st_update, st_remove, st_list,
	billing__json_webhook_endpoint, endpoint_id_of, NULL, NULL
};

/* "whsec_" + base64 of 32 random bytes. */
static int new_secret(char out[BILLING__WEBHOOK_SECRET_MAX])
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
	if (strlen(url) > BILLING__WEBHOOK_URL_MAX) {
		billing__check_fail(c, "url", "at most %d characters", BILLING__WEBHOOK_URL_MAX);
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
	char id[BILLING_ID_MAX], secret[BILLING__WEBHOOK_SECRET_MAX];
	int64_t now;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_WEBHOOK_ENDPOINTS_CREATE)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	if ((rc = check_params(p)) < 0 || (rc = validate(ctx, p, ALL_FIELDS, &n)) < 0)
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
	if ((rc = billing__authorize(ctx, who, BILLING_OP_WEBHOOK_ENDPOINTS_GET)) < 0)
		return rc;
	return billing__entity_get((void **)out, &entity, ctx, who,
		BILLING_OP_WEBHOOK_ENDPOINTS_GET, "we", id);
}

size_t billing__webhook_old_secrets(billing__webhook_old_secret *out, const char *packed,
	int64_t legacy_until, int64_t now)
{
	size_t n = 0;
	const char *p = packed;

	while (p && *p && n < BILLING__WEBHOOK_OLD_SECRETS) {
		size_t len = strcspn(p, " "), slen = strcspn(p, ": ");
		int64_t until = legacy_until;
		if (slen < len)
			until = (int64_t)strtoll(p + slen + 1, NULL, 10);
		if (until > now && slen > 0 && slen < sizeof(out[n].secret)) {
			memcpy(out[n].secret, p, slen);
			out[n].secret[slen] = '\0';
			out[n++].until = until;
		}
		p += len;
		p += strspn(p, " ");
	}
	return n;
}

struct change {
	const billing_webhook_endpoint_params *p;
	const struct norm *n;
	unsigned int fields;
	int64_t overlap;                 /* rotate: > 0 */
	char secret[BILLING__WEBHOOK_SECRET_MAX];         /* rotate: the new secret */
	/* rotate: every old secret still promised, packed */
	char previous[(BILLING__WEBHOOK_SECRET_MAX + 24) * BILLING__WEBHOOK_OLD_SECRETS];
	int64_t previous_until;          /* the latest end of their overlaps */
};

/* The old secrets after a rotation at now: the current one for overlap,
 * then those of earlier rotations whose overlap has not ended. */
static int pack_previous(struct change *ch, const billing_webhook_endpoint *cur, int64_t now)
{
	billing__webhook_old_secret old[BILLING__WEBHOOK_OLD_SECRETS];
	size_t i, n = billing__webhook_old_secrets(old, cur->previous_secret,
		cur->previous_secret_until, now), used;
	int64_t latest = now + ch->overlap;

	if (n >= BILLING__WEBHOOK_OLD_SECRETS) {
		OPENSSL_cleanse(old, sizeof(old));
		return billing__error_field(BILLING_ECONFLICT, "too_many_secrets",
			"overlapSeconds", "%d earlier secrets are still inside their overlap: "
			"rotate again once one has ended", BILLING__WEBHOOK_OLD_SECRETS);
	}
	used = (size_t)snprintf(ch->previous, sizeof(ch->previous), "%s:%lld",
		cur->secret_stored, (long long)latest);
	for (i = 0; i < n; i++) {
		used += (size_t)snprintf(ch->previous + used, sizeof(ch->previous) - used,
			" %s:%lld", old[i].secret, (long long)old[i].until);
		if (old[i].until > latest)
			latest = old[i].until;
	}
	OPENSSL_cleanse(old, sizeof(old));
	ch->previous_until = latest;
	return BILLING_OK;
}

static int build_update(void *payload, billing_ctx *ctx, billing_txn *tx, const void *current,
	void *record)
{
	struct change *ch = payload;
	const billing_webhook_endpoint *cur = current;
	billing_webhook_endpoint_record *r = record;
	(void)tx;

	billing__webhook_endpoint_record(r, cur);
	r->updated_at = billing__now(ctx);
	r->version = cur->version + 1;
	if (ch->overlap > 0) {
		int rc;
		if ((rc = pack_previous(ch, cur, r->updated_at)) < 0)
			return rc;
		r->previous_secret = ch->previous;
		r->previous_secret_until = ch->previous_until;
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
	if ((rc = check_params(p)) < 0 ||
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
	OPENSSL_cleanse(ch.previous, sizeof(ch.previous));
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

const billing__sort_spec billing__webhook_sorts[] = {
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
	if ((rc = billing__list_begin(&l, ctx, who->tenant_id, params ? params : &none,
		billing__webhook_sorts, "webhook_endpoints", BILLING__PAGE_WEBHOOK_ENDPOINT, free_endpoint)) < 0)
		return rc;
	l.from_record = billing__webhook_endpoint_from_record;
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

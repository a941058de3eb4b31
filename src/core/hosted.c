/*
 * Hosted invoice links (billing/document.h, issue #24): an unguessable
 * signed path that shows a finalized invoice without a login.
 *
 * The token is base64url of
 *
 *     tenant id, NUL, invoice id, NUL, expiry (8 bytes, big-endian), MAC
 *
 * where MAC is HMAC-SHA256 over everything before it, keyed by the
 * tenant's own 32-byte secret (table hosted_link_secrets, made on first
 * use, replaced by a rotation). The tenant id is in the token because every
 * storage read takes the tenant: the secret and the invoice are read in the
 * tenant the token names, and the MAC covers it, so a token of one tenant
 * with another's invoice id fails its MAC. Every refusal (a malformed, forged,
 * expired or rotated token, a draft, an invoice that is gone) is the same
 * BILLING_ENOTFOUND, and the MAC is compared in constant time.
 *
 * The secret lives in a table of its own rather than a settings record:
 * a settings put writes the whole record to the audit log.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "billing/document.h"
#include "billing/invoice.h"
#include "core/core.h"
#include "core/encode.h"
#include "core/events.h"
#include "core/hosted.h"
#include "core/json_out.h"

#define SECRET_LEN 32
#define MAC_LEN 32
/* tenant id, NUL, invoice id, NUL, expiry, MAC */
#define RAW_MAX (BILLING_ID_MAX + 1 + BILLING_ID_MAX + 1 + 8 + MAC_LEN)
#define DAY 86400

typedef struct {
	const char *tenant_id;
	const char *secret;        /* base64url of the 32 bytes */
	int64_t created_at;
} secret_record;

static const billing_field fields[] = {
	{ "tenant_id", BILLING_FIELD_TEXT, offsetof(secret_record, tenant_id),
	  BILLING_FIELD_ID | BILLING_FIELD_TENANT, NULL, BILLING_JSON_NONE, 0, NULL, 0, NULL },
	{ "secret", BILLING_FIELD_TEXT, offsetof(secret_record, secret), 0, NULL,
	  BILLING_JSON_NONE, 0, NULL, 0, NULL },
	{ "created_at", BILLING_FIELD_INT64, offsetof(secret_record, created_at), 0, NULL,
	  BILLING_JSON_NONE, 0, NULL, 0, NULL },
};

static const billing_resource secrets = {
	.name = "hosted_link_secret", .plural = "hosted_link_secrets",
	.table = "hosted_link_secrets", .record_size = sizeof(secret_record), .fields = fields,
	.field_count = sizeof(fields) / sizeof(fields[0])
};

/* ------------------------------------------------------------ the secret */

static int secret_row(void *payload, const void *record)
{
	const secret_record *r = record;
	uint8_t *key = payload;
	if (!r->secret || billing__b64url_decode(key, SECRET_LEN, r->secret,
		strlen(r->secret)) != SECRET_LEN)
		return billing__error_set(BILLING_ERROR, NULL, "a hosted-link secret is damaged");
	return BILLING_OK;
}

/* Writes a new random secret for the tenant: an insert, or (replace) an
 * update of the row there is. */
static int secret_write(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	uint8_t key[SECRET_LEN], bool replace)
{
	char text[64];
	secret_record r;

	if (billing__random_bytes(key, SECRET_LEN) < 0)
		return billing__error_set(BILLING_ERROR, NULL, "no random bytes for a secret");
	billing__b64url_encode(text, key, SECRET_LEN);
	r.tenant_id = tenant_id;
	r.secret = text;
	r.created_at = billing__now(ctx);
	return replace ? billing__record_put(ctx->st, tx, &secrets, &r) :
		ctx->st->record_insert(tx, &secrets, &r);
}

static int secret_create_once(billing_ctx *ctx, const char *tenant_id,
	uint8_t key[SECRET_LEN])
{
	billing_txn *tx;
	int rc;

	if ((rc = billing__begin(&tx, ctx, tenant_id, BILLING_TXN_WRITE)) < 0)
		return rc;
	rc = ctx->st->record_read(tx, &secrets, tenant_id, tenant_id, BILLING_LOCK_UPDATE,
		secret_row, key);
	if (rc == BILLING_ENOTFOUND)
		rc = secret_write(ctx, tx, tenant_id, key, false);
	return billing__end(ctx, tx, rc);
}

/* The tenant's secret as stored; BILLING_ENOTFOUND when it has none. */
static int secret_read(billing_ctx *ctx, const char *tenant_id, uint8_t key[SECRET_LEN])
{
	billing_txn *tx;
	int rc;

	if ((rc = billing__begin(&tx, ctx, tenant_id, BILLING_TXN_READ)) < 0)
		return rc;
	return billing__end(ctx, tx, ctx->st->record_read(tx, &secrets, tenant_id, tenant_id,
		BILLING_LOCK_NONE, secret_row, key));
}

/* The tenant's secret; made on first use, in a write transaction of its
 * own (never inside the caller's). Two first uses at once: the loser's
 * insert fails as taken, and its next try reads the winner's. */
static int secret_get(billing_ctx *ctx, const char *tenant_id, uint8_t key[SECRET_LEN])
{
	int rc = secret_read(ctx, tenant_id, key), n;

	for (n = 0; n < BILLING__RETRIES && (rc == BILLING_ENOTFOUND || rc == BILLING_EEXISTS ||
	     (n > 0 && billing__retryable(rc))); n++)
		rc = secret_create_once(ctx, tenant_id, key);
	return rc;
}

/* ------------------------------------------------------------ tokens */

/* The signed part of a token into raw; its length, or 0 when an id is
 * too long to be one. */
static size_t payload(uint8_t raw[RAW_MAX], const char *tenant_id, const char *invoice_id,
	int64_t expiry)
{
	size_t t = strlen(tenant_id), i = strlen(invoice_id), n = 0, k;

	if (t == 0 || t >= BILLING_ID_MAX || i == 0 || i >= BILLING_ID_MAX)
		return 0;
	memcpy(raw, tenant_id, t + 1);
	n = t + 1;
	memcpy(raw + n, invoice_id, i + 1);
	n += i + 1;
	for (k = 0; k < 8; k++)
		raw[n + k] = (uint8_t)((uint64_t)expiry >> (56 - 8 * k));
	return n + 8;
}

static int mac(uint8_t out[MAC_LEN], const uint8_t key[SECRET_LEN], const uint8_t *data,
	size_t n)
{
	billing__hmac_key *k = billing__hmac_key_new(key, SECRET_LEN);
	int rc = k ? billing__hmac_sha256_keyed(out, k, data, n) : -1;
	billing__hmac_key_free(k);
	return rc < 0 ? billing__error_set(BILLING_ENOMEM, NULL, NULL) : BILLING_OK;
}

/* A link read on a UTC day expires 31 days after that day began: at least
 * 30 days after any read, and every read of one day gives the same link. */
static int64_t expiry_of(int64_t now)
{
	int64_t day = now >= 0 ? now / DAY : (now - DAY + 1) / DAY;
	return (day + BILLING_HOSTED_LINK_DAYS + 1) * DAY;
}

static int path_of(char **out, const uint8_t key[SECRET_LEN], const char *tenant_id,
	const char *invoice_id, int64_t now)
{
	static const char prefix[] = "/hosted/invoices/";
	uint8_t raw[RAW_MAX];
	size_t n = payload(raw, tenant_id, invoice_id, expiry_of(now));
	int rc;

	if (n == 0)
		return billing__not_found("invoice");
	if ((rc = mac(raw + n, key, raw, n)) < 0)
		return rc;
	n += MAC_LEN;
	if ((*out = billing__malloc(sizeof(prefix) + billing__b64url_len(n))) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	memcpy(*out, prefix, sizeof(prefix) - 1);
	billing__b64url_encode(*out + sizeof(prefix) - 1, raw, n);
	return BILLING_OK;
}

/* ------------------------------------------------------------ the C API */

int billing_invoice_hosted_path(char **out, billing_ctx *ctx, const billing_principal *who,
	const char *id)
{
	billing_invoice *inv = NULL;
	uint8_t key[SECRET_LEN];
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_INVOICES_GET)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	*out = NULL;
	if ((rc = billing_invoice_get(&inv, ctx, who, id)) < 0)
		return rc;
	if (billing_invoice_status_of(inv) == BILLING_INVOICE_DRAFT)
		rc = billing__error_set(BILLING_ECONFLICT, "draft",
			"a draft invoice has no hosted link; finalize it first");
	else if ((rc = secret_get(ctx, who->tenant_id, key)) == BILLING_OK)
		rc = path_of(out, key, who->tenant_id, billing_invoice_id(inv), billing__now(ctx));
	billing_invoice_free(inv);
	return rc;
}

/* The id of an invoice object that gets a link: one that is not a draft. */
static const char *linked_id(const cJSON *inv)
{
	const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(inv, "id"));
	const char *status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(inv, "status"));

	return id && status && strcmp(status, "draft") != 0 ? id : NULL;
}

/* Sets hostedInvoiceUrl of one invoice object that is not a draft. */
static int add_one(cJSON *inv, const uint8_t key[SECRET_LEN], const char *tenant_id,
	int64_t now)
{
	const char *id = linked_id(inv);
	cJSON *v;
	char *path = NULL;
	int rc;

	if (!id)
		return BILLING_OK;
	if ((rc = path_of(&path, key, tenant_id, id, now)) < 0)
		return rc;
	v = cJSON_CreateString(path);
	billing__free(path);
	if (!v || !cJSON_ReplaceItemInObjectCaseSensitive(inv, "hostedInvoiceUrl", v)) {
		cJSON_Delete(v);
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	}
	return BILLING_OK;
}

int billing__hosted_add(cJSON *invoices, billing_ctx *ctx, const char *tenant_id)
{
	uint8_t key[SECRET_LEN];
	int64_t now = billing__now(ctx);
	cJSON *inv;
	bool any = false;
	int rc;

	/* Only drafts, or none: no secret is read (nor made, a write). */
	if (!cJSON_IsArray(invoices))
		any = linked_id(invoices) != NULL;
	else
		cJSON_ArrayForEach(inv, invoices)
			any = any || linked_id(inv) != NULL;
	if (!any)
		return BILLING_OK;
	if ((rc = secret_get(ctx, tenant_id, key)) < 0)
		return rc;
	if (!cJSON_IsArray(invoices))
		return add_one(invoices, key, tenant_id, now);
	cJSON_ArrayForEach(inv, invoices)
		if ((rc = add_one(inv, key, tenant_id, now)) < 0)
			return rc;
	return BILLING_OK;
}

int billing__hosted_answer(cJSON **res, int rc, billing_ctx *ctx, const char *tenant_id)
{
	cJSON *data;

	if (rc < 0)
		return rc;
	data = cJSON_GetObjectItemCaseSensitive(*res, "data");
	if ((rc = billing__hosted_add(cJSON_IsArray(data) ? data : *res, ctx, tenant_id)) < 0) {
		cJSON_Delete(*res);
		*res = NULL;
	}
	return rc;
}

/* An id of the form ids have: letters, digits, '_' and '-'. */
static bool id_chars(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
			return false;
	return true;
}

/* The same refusal for every way a token can fail. */
static int gone(void)
{
	return billing__error_set(BILLING_ENOTFOUND, "not_found", "no such hosted invoice");
}

int billing_hosted_invoice_render(char **out, size_t *len, billing_ctx *ctx,
	const char *token, billing_document_format format)
{
	uint8_t raw[RAW_MAX + 1], key[SECRET_LEN], want[MAC_LEN];
	billing_principal who = { NULL, NULL, BILLING_ROLE_USER };
	billing_invoice *inv = NULL;
	const char *invoice_id;
	size_t t, i, n;
	long got;
	int64_t expiry = 0;
	int rc, k;

	BILLING__ASSERT_ARG(out, "out");
	BILLING__ASSERT_ARG(len, "len");
	*out = NULL;
	*len = 0;
	if (!token || (got = billing__b64url_decode(raw, sizeof(raw), token, strlen(token))) < 0 ||
	    (size_t)got <= MAC_LEN + 8 + 4)
		return gone();
	n = (size_t)got - MAC_LEN;
	t = strnlen((const char *)raw, n);
	if (t == 0 || t >= BILLING_ID_MAX || t + 1 >= n)
		return gone();
	invoice_id = (const char *)raw + t + 1;
	i = strnlen(invoice_id, n - t - 1);
	if (i == 0 || i >= BILLING_ID_MAX || t + 1 + i + 1 + 8 != n)
		return gone();
	for (k = 0; k < 8; k++)
		expiry = (int64_t)(((uint64_t)expiry << 8) | raw[t + 1 + i + 1 + (size_t)k]);
	who.tenant_id = (const char *)raw;
	if (!id_chars(who.tenant_id) || !billing__id_arg_ok(invoice_id, "in"))
		return gone();
	/* Only read: a tenant that never made a link has no secret, and
	 * nothing to forge. */
	if ((rc = secret_read(ctx, who.tenant_id, key)) < 0)
		return rc == BILLING_ENOTFOUND ? gone() : rc;
	if ((rc = mac(want, key, raw, n)) < 0)
		return rc;
	if (!billing__ct_equal(want, raw + n, MAC_LEN) || expiry <= billing__now(ctx))
		return gone();
	if ((rc = billing_invoice_get(&inv, ctx, &who, invoice_id)) < 0)
		return rc == BILLING_ENOTFOUND ? gone() : rc;
	rc = billing_invoice_status_of(inv) == BILLING_INVOICE_DRAFT ? gone() :
		billing_invoice_render(out, len, ctx, &who, invoice_id, format, NULL);
	billing_invoice_free(inv);
	return rc == BILLING_ENOTFOUND ? gone() : rc;
}

static cJSON *rotation_json(const void *item)
{
	cJSON *o = cJSON_CreateObject();
	if (o && (!cJSON_AddStringToObject(o, "object", "hosted_links") ||
	    !cJSON_AddItemToObject(o, "rotatedAt", billing__json_time(*(const int64_t *)item)))) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static int rotate_once(billing_ctx *ctx, const billing_principal *who)
{
	uint8_t key[SECRET_LEN];
	int64_t now = billing__now(ctx);
	billing_txn *tx;
	int rc;

	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_WRITE)) < 0)
		return rc;
	if ((rc = secret_write(ctx, tx, who->tenant_id, key, true)) == BILLING_OK &&
	    (rc = billing__audit_record(ctx, tx, who->tenant_id, NULL)) == BILLING_OK)
		rc = billing__event_emit(ctx, tx, who->tenant_id, "hosted_links.rotated",
			"tenant", who->tenant_id, rotation_json, &now);
	return billing__end(ctx, tx, rc);
}

int billing_hosted_links_rotate(billing_ctx *ctx, const billing_principal *who)
{
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_HOSTED_LINKS_ROTATE)) < 0)
		return rc;
	BILLING__RETRY(rotate_once(ctx, who));
}

/*
 * Users: login identities stored for the host. The library keeps the
 * host's password hash and never sees a password.
 */
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "core/text.h"

struct billing_user {
	char *tenant_id;
	char *id;
	char *email;
	char *password_hash;
	billing_role role;
	int64_t created_at;
};

void billing_user_free(billing_user *u)
{
	billing__free(u);
}

static void *from_record(const void *record)
{
	const billing_user_record *r = record;
	billing_user *u;
	billing__strpack sp;
	size_t strings = billing__strsize(r->tenant_id) + billing__strsize(r->id) +
		billing__strsize(r->email) + billing__strsize(r->password_hash);

	if ((u = billing__calloc(1, sizeof(*u) + strings)) == NULL)
		return NULL;
	sp.next = (char *)(u + 1);
	u->tenant_id = billing__strpack_put(&sp, r->tenant_id);
	u->id = billing__strpack_put(&sp, r->id);
	u->email = billing__strpack_put(&sp, r->email);
	u->password_hash = billing__strpack_put(&sp, r->password_hash);
	u->role = (billing_role)r->role;
	u->created_at = r->created_at;
	return u;
}

static bool hash_ok(const char *h)
{
	size_t len = strlen(h), i;
	for (i = 0; i < len; i++)
		if ((unsigned char)h[i] < 0x21 || (unsigned char)h[i] > 0x7e)
			return false;
	return len > 0 && len <= 512;
}

static int user_create_once(billing_user **out, billing_ctx *ctx, const billing_principal *who,
	const billing_user_params *p)
{
	billing__checks c = BILLING__CHECKS_INIT;
	billing_user_record r;
	char id[BILLING_ID_MAX], *email = NULL, *key = NULL;
	billing_txn *tx;
	int64_t now;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_USERS_CREATE)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	BILLING__ASSERT_ARG(p, "params");
	if (p->version == 0 || p->version > BILLING_USER_PARAMS_VERSION)
		return billing__error_field(BILLING_EINVALID, "invalid_version", "version",
			"unknown billing_user_params version %u", p->version);
	if (!billing__id_arg_ok(p->tenant_id, "ten"))
		billing__check_fail(&c, "tenantId", "must be a tenant id");
	if ((rc = billing__check_text(&c, "email", p->email, BILLING__TEXT_REQUIRED, 1, 190,
		&email)) < 0)
		return rc;
	if (email && !billing__email_valid(email, strlen(email)))
		billing__check_fail(&c, "email", "must be a valid e-mail address");
	if (p->role != BILLING_ROLE_ADMIN && p->role != BILLING_ROLE_USER)
		billing__check_fail(&c, "role", "must be ADMIN or USER");
	if (!p->password_hash || !hash_ok(p->password_hash))
		billing__check_fail(&c, "passwordHash", "must be 1 to 512 printable characters");
	if ((rc = billing__checks_finish(&c, "user")) < 0)
		goto out;
	if ((key = billing__strdup(email)) == NULL) {
		rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
		goto out;
	}
	billing__ascii_lower(key);

	now = billing__now(ctx);
	if (billing__id_new(id, "usr", now * 1000) < 0) {
		rc = billing__error_set(BILLING_ERROR, NULL, "cannot make an id");
		goto out;
	}
	r.tenant_id = p->tenant_id;
	r.id = id;
	r.email = email;
	r.email_key = key;
	r.role = (int)p->role;
	r.password_hash = p->password_hash;
	r.created_at = r.updated_at = now;
	r.version = 1;
	if ((rc = billing__begin(&tx, ctx, NULL, BILLING_TXN_WRITE)) < 0)
		goto out;
	rc = ctx->st->record_insert(tx, &billing__res_user, &r);
	if (rc == BILLING_EINVALID && strcmp(billing_error_last()->reason, "resource_missing") == 0)
		rc = billing__error_field(BILLING_EINVALID, "resource_missing", "tenantId",
			"no such tenant");
	if ((rc = billing__end(ctx, tx, rc)) < 0)
		goto out;
	if ((*out = from_record(&r)) == NULL)
		rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
out:
	billing__free(email);
	billing__free(key);
	return rc;
}

int billing_user_create(billing_user **out, billing_ctx *ctx, const billing_principal *who,
	const billing_user_params *p)
{
	BILLING__RETRY(user_create_once(out, ctx, who, p));
}

/* Ends the read transaction of a lookup of one user: *out receives it, or
 * rc (BILLING_ENOTFOUND "no such user" when no row matched). */
static int read_end(billing_user **out, billing_ctx *ctx, billing_txn *tx, int rc,
	billing__capture *cap)
{
	if (rc == BILLING_ENOTFOUND)
		rc = billing__error_set(BILLING_ENOTFOUND, "not_found", "no such user");
	if ((rc = billing__end(ctx, tx, rc)) < 0) {
		billing_user_free(cap->item);
		return rc;
	}
	*out = cap->item;
	return BILLING_OK;
}

int billing_user_find_by_email(billing_user **out, billing_ctx *ctx,
	const billing_principal *who, const char *email)
{
	billing__capture cap = { from_record, NULL };
	char key[256];
	billing_txn *tx;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_USERS_FIND)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	if (!email || strlen(email) >= sizeof(key))
		return billing__not_found("user");
	snprintf(key, sizeof(key), "%s", email);
	billing__ascii_lower(key);
	if ((rc = billing__begin(&tx, ctx, NULL, BILLING_TXN_READ)) < 0)
		return rc;
	{
		const billing_filter by_email = { billing_resource_field(&billing__res_user,
			"email_key"), BILLING_FILTER_EQ, key, 0, NULL };
		rc = billing__find(ctx->st, tx, &billing__res_user, NULL, &by_email, 1,
			BILLING_LOCK_NONE, billing__capture_row, &cap);
	}
	return read_end(out, ctx, tx, rc, &cap);
}

int billing_user_get(billing_user **out, billing_ctx *ctx, const billing_principal *who,
	const char *tenant_id, const char *id)
{
	billing__capture cap = { from_record, NULL };
	billing_txn *tx;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_USERS_GET)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	if (!billing__id_arg_ok(tenant_id, "ten") || !billing__id_arg_ok(id, "usr"))
		return billing__error_set(BILLING_ENOTFOUND, "not_found", "no such user");
	if ((rc = billing__begin(&tx, ctx, NULL, BILLING_TXN_READ)) < 0)
		return rc;
	rc = ctx->st->record_read(tx, &billing__res_user, tenant_id, id, BILLING_LOCK_NONE, billing__capture_row, &cap);
	return read_end(out, ctx, tx, rc, &cap);
}

static int user_delete_once(billing_ctx *ctx, const billing_principal *who,
	const char *tenant_id, const char *id)
{
	billing_txn *tx;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_USERS_DELETE)) < 0)
		return rc;
	if (!billing__id_arg_ok(tenant_id, "ten") || !billing__id_arg_ok(id, "usr"))
		return billing__error_set(BILLING_ENOTFOUND, "not_found", "no such user");
	if ((rc = billing__begin(&tx, ctx, NULL, BILLING_TXN_WRITE)) < 0)
		return rc;
	rc = ctx->st->record_delete(tx, &billing__res_user, tenant_id, id);
	if (rc == BILLING_ENOTFOUND)
		rc = billing__error_set(BILLING_ENOTFOUND, "not_found", "no such user");
	return billing__end(ctx, tx, rc);
}

int billing_user_delete(billing_ctx *ctx, const billing_principal *who, const char *tenant_id,
	const char *id)
{
	BILLING__RETRY(user_delete_once(ctx, who, tenant_id, id));
}

const char *billing_user_id(const billing_user *u) { return u ? u->id : NULL; }
const char *billing_user_tenant_id(const billing_user *u) { return u ? u->tenant_id : NULL; }
const char *billing_user_email(const billing_user *u) { return u ? u->email : NULL; }
billing_role billing_user_role(const billing_user *u) { return u ? u->role : BILLING_ROLE_NONE; }
const char *billing_user_password_hash(const billing_user *u) { return u ? u->password_hash : NULL; }
int64_t billing_user_created_at(const billing_user *u) { return u ? u->created_at : 0; }

/**
 * @file billing/user.h
 * @brief Login identities that a host authenticates (the example server's
 *        users). The library stores them; it never sees a password.
 *
 * A user belongs to one tenant and has a role there. The host hashes the
 * password with a slow, salted hash of its choice (the server uses
 * argon2id) and stores only the encoded hash; logging in is the host
 * finding the user by e-mail and verifying the hash. E-mail addresses
 * identify a login across the whole platform, so they are unique across
 * tenants, ignoring case.
 *
 * Users are platform operations: the principal must be PLATFORM. They are
 * not in the JSON operation layer, so hashes never travel through it.
 */
#ifndef BILLING_USER_H
#define BILLING_USER_H

#include "common.h"
#include "principal.h"

BILLING_BEGIN_DECL

typedef struct billing_user billing_user;

#define BILLING_USER_PARAMS_VERSION 1

typedef struct {
	unsigned int version;          /**< BILLING_USER_PARAMS_VERSION */
	const char *tenant_id;         /**< required: an existing tenant */
	const char *email;             /**< required, valid, at most 190 characters */
	billing_role role;             /**< ADMIN or USER */
	const char *password_hash;     /**< required: the host's encoded hash, 1-512
	                                    printable ASCII characters */
} billing_user_params;

#define BILLING_USER_PARAMS_INIT { BILLING_USER_PARAMS_VERSION, 0, 0, BILLING_ROLE_NONE, 0 }

/**
 * Creates a user.
 * @param out receives the new user (caller frees)
 * @return BILLING_OK; BILLING_EFORBIDDEN unless PLATFORM; BILLING_EINVALID
 *         (a tenant id naming no tenant: field "tenantId", reason
 *         "resource_missing"); BILLING_EEXISTS (field "email") when the
 *         address is taken anywhere on the platform; BILLING_ESTORAGE
 */
BILLING_EXTERN(int) billing_user_create(billing_user **out, billing_ctx *ctx,
	const billing_principal *who, const billing_user_params *params);

/**
 * Finds a user by e-mail (ignoring case), for logging in.
 * @return BILLING_OK; BILLING_ENOTFOUND; BILLING_EFORBIDDEN unless PLATFORM
 */
BILLING_EXTERN(int) billing_user_find_by_email(billing_user **out, billing_ctx *ctx,
	const billing_principal *who, const char *email);

/**
 * Finds a user by tenant and id: a host that issued a token to a user checks
 * with it that the user still exists (one primary-key read).
 * @param out receives the user (caller frees)
 * @return BILLING_OK; BILLING_ENOTFOUND (also for ids of the wrong form);
 *         BILLING_EFORBIDDEN unless PLATFORM; BILLING_ESTORAGE (also from a
 *         backend older than storage version 6)
 */
BILLING_EXTERN(int) billing_user_get(billing_user **out, billing_ctx *ctx,
	const billing_principal *who, const char *tenant_id, const char *id);

/**
 * Deletes a user. Its e-mail is free again; tokens naming it stop working
 * at a host that checks billing_user_get on each request (the server does).
 * @return BILLING_OK; BILLING_ENOTFOUND; BILLING_EFORBIDDEN unless PLATFORM;
 *         BILLING_ESTORAGE
 */
BILLING_EXTERN(int) billing_user_delete(billing_ctx *ctx, const billing_principal *who,
	const char *tenant_id, const char *id);

BILLING_EXTERN(const char *) billing_user_id(const billing_user *u);
BILLING_EXTERN(const char *) billing_user_tenant_id(const billing_user *u);
BILLING_EXTERN(const char *) billing_user_email(const billing_user *u);
BILLING_EXTERN(billing_role) billing_user_role(const billing_user *u);
/** The stored hash. Borrowed; never log it. */
BILLING_EXTERN(const char *) billing_user_password_hash(const billing_user *u);
BILLING_EXTERN(int64_t) billing_user_created_at(const billing_user *u);
BILLING_EXTERN(void) billing_user_free(billing_user *u);

BILLING_END_DECL

#endif

/**
 * @file billing/principal.h
 * @brief Who is calling: tenant, user and role, passed to every domain call.
 *
 * The library trusts the principal it is given: authenticating the caller
 * is the host's job (the example server takes it from a verified JWT).
 * What each role may do is decided in one table in the core.
 */
#ifndef BILLING_PRINCIPAL_H
#define BILLING_PRINCIPAL_H

#include "common.h"

BILLING_BEGIN_DECL

typedef enum {
	BILLING_ROLE_NONE = 0,
	BILLING_ROLE_USER = 1,     /**< reads its tenant's data */
	BILLING_ROLE_ADMIN = 2,    /**< reads and writes its tenant's data */
	BILLING_ROLE_PLATFORM = 3  /**< the platform operator: creates and lists tenants;
	                                reads or writes no tenant's billing data */
} billing_role;

/** The caller of a domain call. Strings are borrowed for the call only. */
typedef struct {
	const char *tenant_id; /**< required for USER and ADMIN; ignored for PLATFORM */
	const char *user_id;   /**< optional; recorded with changes */
	billing_role role;
} billing_principal;

/** "ADMIN", "USER", "PLATFORM"; NULL for anything else. */
BILLING_EXTERN(const char *) billing_role_name(billing_role role);

/**
 * Parses "ADMIN", "USER" or "PLATFORM" (exact case).
 * @return BILLING_OK or BILLING_EINVALID
 */
BILLING_EXTERN(int) billing_role_parse(billing_role *out, const char *name);

BILLING_END_DECL

#endif

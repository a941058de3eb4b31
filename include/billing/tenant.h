/**
 * @file billing/tenant.h
 * @brief Tenants: the accounts everything else belongs to.
 *
 * Tenants are created by the platform operator (a principal with
 * BILLING_ROLE_PLATFORM). A tenant's own principals may read their tenant.
 */
#ifndef BILLING_TENANT_H
#define BILLING_TENANT_H

#include "common.h"
#include "list.h"
#include "principal.h"

BILLING_BEGIN_DECL

typedef struct billing_tenant billing_tenant;

#define BILLING_TENANT_PARAMS_VERSION 3

typedef struct {
	unsigned int version;          /**< BILLING_TENANT_PARAMS_VERSION */
	const char *name;              /**< required, 1..120 characters, trimmed */
	/** NULL: "INV-"; 1..16 of [A-Za-z0-9._-], and "{YYYY}", which becomes
	 *  the year an invoice is finalized ("INV-{YYYY}-" gives INV-2026-000042;
	 *  the counter itself never resets). */
	const char *invoice_prefix;
	/** Version 2. NULL: "CN-"; the same rules: the prefix of credit notes'
	 *  own numbers (billing/credit_note.h). */
	const char *credit_note_prefix;
	/** Version 3. Seconds a renewal's invoice stays a draft before the
	 *  billing run finalizes it (Stripe keeps it an hour), so invoice items
	 *  can be added to it or removed; 0 to 2592000 (30 days). 0 (the
	 *  default): a renewal's invoice is finalized at once. */
	int64_t renewal_draft_delay;
} billing_tenant_params;

#define BILLING_TENANT_PARAMS_INIT { BILLING_TENANT_PARAMS_VERSION, 0, 0, 0, 0 }

/**
 * Creates a tenant.
 * @param out receives the new tenant (caller frees)
 * @return BILLING_OK; BILLING_EFORBIDDEN unless the principal is PLATFORM;
 *         BILLING_EINVALID with field errors; BILLING_ESTORAGE
 */
BILLING_EXTERN(int) billing_tenant_create(billing_tenant **out, billing_ctx *ctx,
	const billing_principal *who, const billing_tenant_params *params,
	const billing_call_options *opts);

/**
 * Fetches a tenant. PLATFORM may read any tenant; USER and ADMIN only
 * their own (another id is BILLING_ENOTFOUND).
 */
BILLING_EXTERN(int) billing_tenant_get(billing_tenant **out, billing_ctx *ctx,
	const billing_principal *who, const char *tenant_id);

/** Lists tenants (PLATFORM only); sort_by "createdAt" or "name". Items via
 *  billing_page_tenant(). */
BILLING_EXTERN(int) billing_tenant_list(billing_page **out, billing_ctx *ctx,
	const billing_principal *who, const billing_list_params *params);

BILLING_EXTERN(const billing_tenant *) billing_page_tenant(const billing_page *page, size_t i);

BILLING_EXTERN(const char *) billing_tenant_id(const billing_tenant *t);
BILLING_EXTERN(const char *) billing_tenant_name(const billing_tenant *t);
BILLING_EXTERN(const char *) billing_tenant_invoice_prefix(const billing_tenant *t);
BILLING_EXTERN(const char *) billing_tenant_credit_note_prefix(const billing_tenant *t);
/** Seconds a renewal's invoice stays a draft (billing_tenant_params). */
BILLING_EXTERN(int64_t) billing_tenant_renewal_draft_delay(const billing_tenant *t);
BILLING_EXTERN(int64_t) billing_tenant_created_at(const billing_tenant *t);
BILLING_EXTERN(void) billing_tenant_free(billing_tenant *t);

BILLING_END_DECL

#endif

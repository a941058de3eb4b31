/*
 * The permission table: every operation of the library, the roles that may
 * run it, and the check that opens every domain call (permissions.c).
 */
#ifndef BILLING_CORE_PERMISSIONS_H
#define BILLING_CORE_PERMISSIONS_H

#include <stdbool.h>

#include "billing/billing.h"
#include "billing/sys/resource.h"

/* Every operation of the library. Its name, the roles that may run it and
 * whether it writes come from one table in permissions.c. */
typedef enum {
	BILLING_OP_TENANTS_CREATE,
	BILLING_OP_TENANTS_GET,
	BILLING_OP_TENANTS_LIST,
	BILLING_OP_CUSTOMERS_CREATE,
	BILLING_OP_CUSTOMERS_GET,
	BILLING_OP_CUSTOMERS_UPDATE,
	BILLING_OP_CUSTOMERS_DELETE,
	BILLING_OP_CUSTOMERS_LIST,
	BILLING_OP_PRODUCTS_CREATE,
	BILLING_OP_PRODUCTS_GET,
	BILLING_OP_PRODUCTS_UPDATE,
	BILLING_OP_PRODUCTS_DELETE,
	BILLING_OP_PRODUCTS_LIST,
	BILLING_OP_PLANS_CREATE,
	BILLING_OP_PLANS_GET,
	BILLING_OP_PLANS_UPDATE,
	BILLING_OP_PLANS_DELETE,
	BILLING_OP_PLANS_LIST,
	BILLING_OP_SUBSCRIPTIONS_CREATE,
	BILLING_OP_SUBSCRIPTIONS_GET,
	BILLING_OP_SUBSCRIPTIONS_LIST,
	BILLING_OP_SUBSCRIPTIONS_CANCEL,
	BILLING_OP_SUBSCRIPTIONS_UPDATE,
	BILLING_OP_SUBSCRIPTIONS_CHANGE_PLAN,
	BILLING_OP_SUBSCRIPTIONS_PAUSE,
	BILLING_OP_SUBSCRIPTIONS_RESUME,
	BILLING_OP_INVOICES_GET,
	BILLING_OP_INVOICES_LIST,
	BILLING_OP_INVOICES_VOID,
	BILLING_OP_INVOICES_PREVIEW,
	BILLING_OP_EVENTS_GET,
	BILLING_OP_EVENTS_LIST,
	BILLING_OP_INVOICES_PAY,
	BILLING_OP_PAYMENTS_GET,
	BILLING_OP_PAYMENTS_LIST,
	BILLING_OP_PAYMENTS_REFUND,
	BILLING_OP_PAYMENTS_CANCEL,
	BILLING_OP_DUNNING_GET,
	BILLING_OP_DUNNING_SET,
	BILLING_OP_WEBHOOK_ENDPOINTS_CREATE,
	BILLING_OP_WEBHOOK_ENDPOINTS_GET,
	BILLING_OP_WEBHOOK_ENDPOINTS_UPDATE,
	BILLING_OP_WEBHOOK_ENDPOINTS_DELETE,
	BILLING_OP_WEBHOOK_ENDPOINTS_LIST,
	BILLING_OP_WEBHOOK_ENDPOINTS_ROTATE,
	BILLING_OP_WEBHOOK_DELIVERIES_LIST,
	BILLING_OP_EVENTS_REDELIVER,
	BILLING_OP_AUDIT_LIST,
	BILLING_OP_PAYMENT_METHODS_CREATE,
	BILLING_OP_PAYMENT_METHODS_DELETE,
	BILLING_OP_SETUP_INTENTS_CREATE,
	BILLING_OP_PROVIDER_ACCOUNT_GET,
	BILLING_OP_PROVIDER_ACCOUNT_SET,
	BILLING_OP_PROVIDER_ACCOUNT_DELETE,
	BILLING_OP_INVOICES_CREATE,
	BILLING_OP_INVOICES_UPDATE,
	BILLING_OP_INVOICES_DELETE,
	BILLING_OP_INVOICES_FINALIZE,
	BILLING_OP_INVOICES_MARK_UNCOLLECTIBLE,
	BILLING_OP_CREDIT_NOTES_CREATE,
	BILLING_OP_CREDIT_NOTES_VOID,
	BILLING_OP_CREDIT_NOTES_PREVIEW,
	BILLING_OP_USAGE_INGEST,
	BILLING_OP_USAGE_VOID,
	BILLING_OP_USAGE_AGGREGATE,
	BILLING_OP_USAGE_SUMMARY,
	BILLING_OP_USAGE_GRACE_GET,
	BILLING_OP_USAGE_GRACE_SET,
	/* The operations above are in the JSON layer; those below are the
	 * host's own (users carry password hashes). */
	BILLING_OP__JSON_COUNT,
	BILLING_OP_USERS_CREATE = BILLING_OP__JSON_COUNT,
	BILLING_OP_USERS_FIND,
	BILLING_OP_USERS_GET,
	BILLING_OP_USERS_DELETE,
	BILLING_OP__COUNT
} billing__op;

#define BILLING__ROLE_BIT(r) (1u << (r))

typedef struct {
	billing__op op;
	const char *name;        /* "customers.create" */
	unsigned int roles;      /* BILLING__ROLE_BIT(...) of the roles allowed */
	bool mutating;
} billing__op_info;

const billing__op_info *billing__op_get(billing__op op);

/*
 * Checks the principal (well-formed, a tenant id for tenant roles) and that
 * its role may run op. Called first in every domain call, before any input
 * is validated or storage touched. Returns BILLING_OK, BILLING_EINVALID or
 * BILLING_EFORBIDDEN.
 */
int billing__authorize(billing_ctx *ctx, const billing_principal *who, billing__op op);

/* The same for a generic operation of a descriptor object (op: one
 * BILLING_RESOURCE_OP_* bit): it must be in res->ops, and the role in
 * res->read_roles (get, list) or res->write_roles (the others). */
int billing__authorize_resource(billing_ctx *ctx, const billing_principal *who,
	const billing_resource *res, unsigned int op);

#endif

/*
 * The permission table: every operation, the roles that may run it, and
 * whether it writes. The only place a role is compared.
 */
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "core/events.h"

#define R_USER     BILLING__ROLE_BIT(BILLING_ROLE_USER)
#define R_ADMIN    BILLING__ROLE_BIT(BILLING_ROLE_ADMIN)
#define R_PLATFORM BILLING__ROLE_BIT(BILLING_ROLE_PLATFORM)
#define R_READ     (R_USER | R_ADMIN)

static const billing__op_info ops[BILLING_OP__COUNT] = {
	{ BILLING_OP_TENANTS_CREATE,   "tenants.create",   R_PLATFORM, true },
	{ BILLING_OP_TENANTS_GET,      "tenants.get",      R_PLATFORM | R_READ, false },
	{ BILLING_OP_TENANTS_LIST,     "tenants.list",     R_PLATFORM, false },
	{ BILLING_OP_CUSTOMERS_CREATE, "customers.create", R_ADMIN, true },
	{ BILLING_OP_CUSTOMERS_GET,    "customers.get",    R_READ, false },
	{ BILLING_OP_CUSTOMERS_UPDATE, "customers.update", R_ADMIN, true },
	{ BILLING_OP_CUSTOMERS_DELETE, "customers.delete", R_ADMIN, true },
	{ BILLING_OP_CUSTOMERS_LIST,   "customers.list",   R_READ, false },
	{ BILLING_OP_PRODUCTS_CREATE,  "products.create",  R_ADMIN, true },
	{ BILLING_OP_PRODUCTS_GET,     "products.get",     R_READ, false },
	{ BILLING_OP_PRODUCTS_UPDATE,  "products.update",  R_ADMIN, true },
	{ BILLING_OP_PRODUCTS_DELETE,  "products.delete",  R_ADMIN, true },
	{ BILLING_OP_PRODUCTS_LIST,    "products.list",    R_READ, false },
	{ BILLING_OP_PLANS_CREATE,     "plans.create",     R_ADMIN, true },
	{ BILLING_OP_PLANS_GET,        "plans.get",        R_READ, false },
	{ BILLING_OP_PLANS_UPDATE,     "plans.update",     R_ADMIN, true },
	{ BILLING_OP_PLANS_DELETE,     "plans.delete",     R_ADMIN, true },
	{ BILLING_OP_PLANS_LIST,       "plans.list",       R_READ, false },
	{ BILLING_OP_SUBSCRIPTIONS_CREATE, "subscriptions.create", R_ADMIN, true },
	{ BILLING_OP_SUBSCRIPTIONS_GET, "subscriptions.get", R_READ, false },
	{ BILLING_OP_SUBSCRIPTIONS_LIST, "subscriptions.list", R_READ, false },
	{ BILLING_OP_SUBSCRIPTIONS_CANCEL, "subscriptions.cancel", R_ADMIN, true },
	{ BILLING_OP_SUBSCRIPTIONS_UPDATE, "subscriptions.update", R_ADMIN, true },
	{ BILLING_OP_SUBSCRIPTIONS_CHANGE_PLAN, "subscriptions.change_plan", R_ADMIN, true },
	{ BILLING_OP_SUBSCRIPTIONS_PAUSE, "subscriptions.pause", R_ADMIN, true },
	{ BILLING_OP_SUBSCRIPTIONS_RESUME, "subscriptions.resume", R_ADMIN, true },
	{ BILLING_OP_INVOICES_GET,     "invoices.get",     R_READ, false },
	{ BILLING_OP_INVOICES_LIST,    "invoices.list",    R_READ, false },
	{ BILLING_OP_INVOICES_VOID,    "invoices.void",    R_ADMIN, true },
	{ BILLING_OP_INVOICES_PREVIEW, "invoices.preview", R_READ, false },
	{ BILLING_OP_EVENTS_GET,       "events.get",       R_READ, false },
	{ BILLING_OP_EVENTS_LIST,      "events.list",      R_READ, false },
	{ BILLING_OP_INVOICES_PAY,     "invoices.pay",     R_ADMIN, true },
	{ BILLING_OP_PAYMENTS_GET,     "payments.get",     R_READ, false },
	{ BILLING_OP_PAYMENTS_LIST,    "payments.list",    R_READ, false },
	{ BILLING_OP_PAYMENTS_REFUND,  "payments.refund",  R_ADMIN, true },
	{ BILLING_OP_PAYMENTS_CANCEL,  "payments.cancel",  R_ADMIN, true },
	{ BILLING_OP_DUNNING_GET,      "dunning.get",      R_READ, false },
	{ BILLING_OP_DUNNING_SET,      "dunning.set",      R_ADMIN, true },
	{ BILLING_OP_WEBHOOK_ENDPOINTS_CREATE, "webhook_endpoints.create", R_ADMIN, true },
	{ BILLING_OP_WEBHOOK_ENDPOINTS_GET, "webhook_endpoints.get", R_READ, false },
	{ BILLING_OP_WEBHOOK_ENDPOINTS_UPDATE, "webhook_endpoints.update", R_ADMIN, true },
	{ BILLING_OP_WEBHOOK_ENDPOINTS_DELETE, "webhook_endpoints.delete", R_ADMIN, true },
	{ BILLING_OP_WEBHOOK_ENDPOINTS_LIST, "webhook_endpoints.list", R_READ, false },
	{ BILLING_OP_WEBHOOK_ENDPOINTS_ROTATE, "webhook_endpoints.rotate_secret", R_ADMIN, true },
	{ BILLING_OP_WEBHOOK_DELIVERIES_LIST, "webhook_deliveries.list", R_READ, false },
	{ BILLING_OP_EVENTS_REDELIVER, "events.redeliver", R_ADMIN, true },
	{ BILLING_OP_AUDIT_LIST,       "audit.list",       R_ADMIN, false },
	{ BILLING_OP_PAYMENT_METHODS_CREATE, "payment_methods.create", R_ADMIN, true },
	{ BILLING_OP_PAYMENT_METHODS_DELETE, "payment_methods.delete", R_ADMIN, true },
	{ BILLING_OP_SETUP_INTENTS_CREATE, "setup_intents.create", R_ADMIN, true },
	{ BILLING_OP_PROVIDER_ACCOUNT_GET, "provider_account.get", R_ADMIN, false },
	{ BILLING_OP_PROVIDER_ACCOUNT_SET, "provider_account.set", R_ADMIN, true },
	{ BILLING_OP_PROVIDER_ACCOUNT_DELETE, "provider_account.delete", R_ADMIN, true },
	{ BILLING_OP_INVOICES_CREATE,  "invoices.create",  R_ADMIN, true },
	{ BILLING_OP_INVOICES_UPDATE,  "invoices.update",  R_ADMIN, true },
	{ BILLING_OP_INVOICES_DELETE,  "invoices.delete",  R_ADMIN, true },
	{ BILLING_OP_INVOICES_FINALIZE, "invoices.finalize", R_ADMIN, true },
	{ BILLING_OP_INVOICES_MARK_UNCOLLECTIBLE, "invoices.mark_uncollectible", R_ADMIN, true },
	{ BILLING_OP_CREDIT_NOTES_CREATE, "credit_notes.create", R_ADMIN, true },
	{ BILLING_OP_CREDIT_NOTES_VOID, "credit_notes.void", R_ADMIN, true },
	{ BILLING_OP_CREDIT_NOTES_PREVIEW, "credit_notes.preview", R_READ, false },
	{ BILLING_OP_USAGE_INGEST, "usage_events.create", R_ADMIN, true },
	{ BILLING_OP_USAGE_VOID, "usage_events.void", R_ADMIN, true },
	{ BILLING_OP_USAGE_AGGREGATE, "usage.aggregate", R_READ, false },
	{ BILLING_OP_USAGE_SUMMARY, "subscriptions.usage", R_READ, false },
	{ BILLING_OP_USAGE_GRACE_GET, "usage_settings.get", R_READ, false },
	{ BILLING_OP_USAGE_GRACE_SET, "usage_settings.set", R_ADMIN, true },
	{ BILLING_OP_SUBSCRIPTION_ITEMS_CREATE, "subscription_items.create", R_ADMIN, true },
	{ BILLING_OP_SUBSCRIPTION_ITEMS_UPDATE, "subscription_items.update", R_ADMIN, true },
	{ BILLING_OP_SUBSCRIPTION_ITEMS_DELETE, "subscription_items.delete", R_ADMIN, true },
	{ BILLING_OP_SUBSCRIPTION_ITEMS_PREVIEW, "subscription_items.preview", R_READ, false },
	{ BILLING_OP_TAX_SETTINGS_GET, "tax_settings.get", R_READ, false },
	{ BILLING_OP_TAX_SETTINGS_SET, "tax_settings.set", R_ADMIN, true },
	{ BILLING_OP_SUBSCRIPTIONS_DELETE_DISCOUNT, "subscriptions.delete_discount", R_ADMIN, true },
	{ BILLING_OP_CUSTOMERS_DELETE_DISCOUNT, "customers.delete_discount", R_ADMIN, true },
	{ BILLING_OP_USAGE_PRUNE, "usage_events.prune", R_ADMIN, true },
	{ BILLING_OP_REPORTS_MRR, "reports.mrr", R_READ, false },
	{ BILLING_OP_REPORTS_MRR_MOVEMENTS, "reports.mrr_movements", R_READ, false },
	{ BILLING_OP_REPORTS_RECEIVABLES_AGING, "reports.receivables_aging", R_READ, false },
	{ BILLING_OP_REPORTS_CHURN, "reports.churn", R_READ, false },
	{ BILLING_OP_REPORTS_ARPA, "reports.arpa", R_READ, false },
	{ BILLING_OP_REPORTS_TRIAL_CONVERSION, "reports.trial_conversion", R_READ, false },
	{ BILLING_OP_REPORTS_REVENUE, "reports.revenue", R_READ, false },
	{ BILLING_OP_REPORTS_PAYMENT_RECOVERY, "reports.payment_recovery", R_READ, false },
	{ BILLING_OP_INVOICE_SETTINGS_GET, "invoice_settings.get", R_READ, false },
	{ BILLING_OP_INVOICE_SETTINGS_SET, "invoice_settings.set", R_ADMIN, true },
	{ BILLING_OP_BRANDING_GET, "branding.get", R_READ, false },
	{ BILLING_OP_BRANDING_SET, "branding.set", R_ADMIN, true },
	{ BILLING_OP_INVOICES_DELETE_DISCOUNT, "invoices.delete_discount", R_ADMIN, true },
	{ BILLING_OP_HOSTED_LINKS_ROTATE, "hosted_links.rotate", R_ADMIN, true },
	{ BILLING_OP_USERS_CREATE,     "users.create",     R_PLATFORM, true },
	{ BILLING_OP_USERS_FIND,       "users.find",       R_PLATFORM, false },
	{ BILLING_OP_USERS_GET,        "users.get",        R_PLATFORM, false },
	{ BILLING_OP_USERS_DELETE,     "users.delete",     R_PLATFORM, true },
};

const billing__op_info *billing__op_get(billing__op op)
{
	return op < BILLING_OP__COUNT ? &ops[op] : NULL;
}

const char *billing_role_name(billing_role role)
{
	switch (role) {
	case BILLING_ROLE_USER: return "USER";
	case BILLING_ROLE_ADMIN: return "ADMIN";
	case BILLING_ROLE_PLATFORM: return "PLATFORM";
	default: return NULL;
	}
}

int billing_role_parse(billing_role *out, const char *name)
{
	BILLING__ASSERT_ARG(out, "out");
	if (name && strcmp(name, "USER") == 0)
		*out = BILLING_ROLE_USER;
	else if (name && strcmp(name, "ADMIN") == 0)
		*out = BILLING_ROLE_ADMIN;
	else if (name && strcmp(name, "PLATFORM") == 0)
		*out = BILLING_ROLE_PLATFORM;
	else
		return billing__error_field(BILLING_EINVALID, "invalid", "role",
			"role must be ADMIN, USER or PLATFORM");
	return BILLING_OK;
}

/* The principal is well-formed and its role is in roles. */
static int check_role(billing_ctx *ctx, const billing_principal *who, unsigned int roles,
	const char *name)
{
	BILLING__ASSERT_ARG(ctx, "ctx");
	BILLING__ASSERT_ARG(who, "principal");
	if (!billing_role_name(who->role))
		return billing__error_field(BILLING_EINVALID, "invalid", "role",
			"the principal has no valid role");
	if (who->role != BILLING_ROLE_PLATFORM &&
	    (!who->tenant_id || !billing__id_valid(who->tenant_id, "ten")))
		return billing__error_field(BILLING_EINVALID, "invalid", "tenantId",
			"the principal needs a well-formed tenant id");
	if (!(roles & BILLING__ROLE_BIT(who->role)))
		return billing__error_set(BILLING_EFORBIDDEN, "forbidden",
			"role %s may not run %s", billing_role_name(who->role),
			name ? name : "this operation");
	return BILLING_OK;
}

int billing__authorize(billing_ctx *ctx, const billing_principal *who, billing__op op)
{
	const billing__op_info *info = billing__op_get(op);
	billing_error_clear();
	billing__scope_call(who, op);
	return check_role(ctx, who, info ? info->roles : 0, info ? info->name : NULL);
}

int billing__authorize_resource(billing_ctx *ctx, const billing_principal *who,
	const billing_resource *res, unsigned int op)
{
	const char *verb;
	bool write = true;
	char name[64];

	billing_error_clear();
	switch (op) {
	case BILLING_RESOURCE_OP_CREATE: verb = "create"; break;
	case BILLING_RESOURCE_OP_GET: verb = "get"; write = false; break;
	case BILLING_RESOURCE_OP_UPDATE: verb = "update"; break;
	case BILLING_RESOURCE_OP_DELETE: verb = "delete"; break;
	case BILLING_RESOURCE_OP_LIST: verb = "list"; write = false; break;
	default: verb = "?"; break;
	}
	snprintf(name, sizeof(name), "%s.%s", res->plural, verb);
	billing__scope_call_named(who, name, write);
	/* An operation the descriptor does not offer (a tax rate has no
	 * delete) is refused to every role, as an operation nobody may run. */
	return check_role(ctx, who, (res->ops & op) ?
		(write ? res->write_roles : res->read_roles) : 0, name);
}

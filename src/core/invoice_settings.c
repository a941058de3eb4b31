/*
 * The tenant's invoice settings (GET/PUT /v1/invoice-settings): the delay a
 * subscription's renewal invoice stays a draft before the billing run
 * finalizes it (core/invoice_draft.c). It lives on the tenant's row
 * (tenants.renewal_draft_delay, set at creation by billing_tenant_params
 * version 3) and nowhere else: this descriptor reads and writes that
 * column through the tenant-settings helper (core/settings.h), so the
 * tenant, its JSON and the billing run all see one value. The row always
 * exists, so a put updates it (billing__record_put); on PostgreSQL a
 * tenant may update its own row (schema step 33).
 */
#include <stddef.h>
#include <stdint.h>

#include "billing/invoice.h"
#include "core/core.h"
#include "core/invoice_internal.h"
#include "core/settings.h"

typedef struct {
	const char *tenant_id;
	int64_t renewal_draft_delay;
	int64_t updated_at;
} settings_record;

static const billing_field settings_fields[] = {
	{ "tenant_id", BILLING_FIELD_TEXT, offsetof(settings_record, tenant_id),
	  BILLING_FIELD_ID | BILLING_FIELD_TENANT, NULL, BILLING_JSON_NONE, 0, NULL, 0, NULL },
	{ "renewal_draft_delay", BILLING_FIELD_INT64, offsetof(settings_record, renewal_draft_delay),
	  0, "renewalDraftDelay", BILLING_JSON_INTEGER, 0, NULL, 0, NULL },
	{ "updated_at", BILLING_FIELD_INT64, offsetof(settings_record, updated_at), 0,
	  "updatedAt", BILLING_JSON_TIME, 0, NULL, 0, NULL },
};

static const billing_resource settings_res = {
	.name = "invoice_settings", .plural = "invoice_settings", .table = "tenants",
	.record_size = sizeof(settings_record), .fields = settings_fields,
	.field_count = sizeof(settings_fields) / sizeof(settings_fields[0])
};

static int delay_check(const void *rec)
{
	int64_t delay = ((const settings_record *)rec)->renewal_draft_delay;
	if (delay < 0 || delay > BILLING_RENEWAL_DRAFT_DELAY_MAX)
		return billing__error_field(BILLING_EINVALID, "invalid", "renewalDraftDelay",
			"must be 0 to %d seconds (30 days)", BILLING_RENEWAL_DRAFT_DELAY_MAX);
	return BILLING_OK;
}

/* A tenant always has its row: the default is never read, but the helper
 * starts from it. */
static const settings_record settings_default = { NULL, 0, 0 };

static const billing__settings invoice_settings = {
	&settings_res, offsetof(settings_record, updated_at), &settings_default,
	BILLING_OP_INVOICE_SETTINGS_GET, BILLING_OP_INVOICE_SETTINGS_SET, delay_check
};

int billing_invoice_settings_set(billing_ctx *ctx, const billing_principal *who,
	int64_t renewal_draft_delay)
{
	settings_record r = settings_default;
	r.renewal_draft_delay = renewal_draft_delay;
	return billing__settings_put(&r, &invoice_settings, ctx, who);
}

int billing_invoice_settings_get(int64_t *renewal_draft_delay, billing_ctx *ctx,
	const billing_principal *who)
{
	settings_record r;
	int rc = billing__settings_get(&r, &invoice_settings, ctx, who, renewal_draft_delay,
		"renewal_draft_delay");
	if (rc == BILLING_OK)
		*renewal_draft_delay = r.renewal_draft_delay;
	return rc;
}

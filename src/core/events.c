/*
 * Writing domain events with the change that causes them (see events.h).
 */
#include "core/events.h"

int billing__event_emit(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *type, const char *resource_type, const char *resource_id,
	cJSON *(*to_json)(const void *item), const void *item)
{
	billing_event_record r;
	char id[BILLING_ID_MAX];
	char *data;
	int rc;

	if ((data = billing__json_text(to_json, item)) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	r.created_at = billing__now(ctx);
	if (billing__id_new(id, "evt", r.created_at * 1000) < 0) {
		billing__free(data);
		return billing__error_set(BILLING_ERROR, NULL, "cannot make an id");
	}
	r.tenant_id = tenant_id;
	r.id = id;
	r.type = type;
	r.resource_type = resource_type;
	r.resource_id = resource_id;
	r.data_json = data;
	rc = ctx->st->event_insert(tx, &r);
	billing__free(data);
	return rc;
}

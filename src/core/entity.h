/*
 * The flows every stored entity shares: get, create, update and delete
 * inside one transaction, with idempotent replays, optimistic versions and
 * the per-entity steps as hooks. An entity module describes itself once
 * (billing__entity) and keeps only its own rules: validation, how a record
 * is built, what must hold before a delete.
 */
#ifndef BILLING_CORE_ENTITY_H
#define BILLING_CORE_ENTITY_H

#include <cJSON.h>

#include "core/core.h"

typedef struct {
	const char *noun;                /* "customer", for messages */
	void *(*from_record)(const void *record);
	void (*free)(void *item);
	int64_t (*version)(const void *item);
	/* NULL, or false for an item that no longer counts as existing (a
	 * soft-deleted plan): it is then not found. */
	bool (*visible)(const void *item);
	int (*get)(billing_storage *st, billing_txn *tx, const char *tenant_id, const char *id,
		billing_row_cb cb, void *payload);
	int (*insert)(billing_storage *st, billing_txn *tx, const void *record);
	int (*update)(billing_storage *st, billing_txn *tx, const void *record, int64_t old_version);
	/* NULL: delete goes through update (a soft delete built by the hook). */
	int (*remove)(billing_storage *st, billing_txn *tx, const char *tenant_id, const char *id);
	int (*list)(billing_storage *st, billing_txn *tx, const char *tenant_id,
		const billing_list_query *q, billing_row_cb cb, void *payload);
	/* The JSON form for the "<noun>.created/.updated/.deleted" events the
	 * shared flows write with each change; NULL when the entity's own
	 * steps write its events (subscriptions) or it has none. */
	cJSON *(*to_json)(const void *item);
	const char *(*id_of)(const void *item);
	/* NULL, or what applies the item's own work due at or before the
	 * context's now (a subscription's renewals), inside an update's
	 * transaction before its step reads the item, so that a call acts on
	 * the item as it stands now even when the billing run is late. current
	 * is the item as just read (nothing due: no statement at all). Sets
	 * *changed when it wrote. */
	int (*catch_up)(billing_ctx *ctx, billing_txn *tx, const void *current, bool *changed);
	/* A descriptor object (core/resource.h): when set, get / insert /
	 * update / remove / list go through storage's record_* methods with
	 * it, and the item functions above come from the descriptor (items
	 * are owned records; to_json is billing__record_json; visible is
	 * "its DELETED field is 0"; remove is a soft delete when it has one). */
	const billing_resource *res;
} billing__entity;

/*
 * A call's own step inside the shared transaction. For create it completes
 * record (current is NULL); for update it builds record from current; for
 * delete it checks that current may go and, for a soft delete, builds the
 * record that marks it.
 */
typedef int (*billing__step_fn)(void *payload, billing_ctx *ctx, billing_txn *tx,
	const void *current, void *record);

/* The item id names in the tenant, inside tx. */
int billing__entity_get_in(void **out, const billing__entity *e, billing_ctx *ctx,
	billing_txn *tx, const char *tenant_id, const char *id);

/* A whole get call: authorize, check the id's form, read. */
int billing__entity_get(void **out, const billing__entity *e, billing_ctx *ctx,
	const billing_principal *who, billing__op op, const char *prefix, const char *id);

/* The same, authorized already: check the id's form, read. */
int billing__entity_read(void **out, const billing__entity *e, billing_ctx *ctx,
	const char *tenant_id, const char *prefix, const char *id);

/* Create: replays an idempotent retry, else runs before (may be NULL),
 * inserts record, runs after (may be NULL: work that needs the row, such
 * as rows referencing it) and records the key named by id. */
int billing__entity_create(void **out, const billing__entity *e, billing_ctx *ctx,
	const char *tenant_id, billing__idem *idem, void *record, const char *id,
	billing__step_fn before, billing__step_fn after, void *payload);

/* Update: replays an idempotent retry, else reads the item, checks the
 * expected version (0: any), runs step to build record, and writes it. */
int billing__entity_update(void **out, const billing__entity *e, billing_ctx *ctx,
	const char *tenant_id, const char *id, billing__idem *idem, int64_t expected_version,
	void *record, billing__step_fn step, void *payload);

/* Delete: reads the item, checks the expected version, runs step (may be
 * NULL), then removes it, or writes record when e->remove is NULL. */
int billing__entity_delete(const billing__entity *e, billing_ctx *ctx, const char *tenant_id,
	const char *id, int64_t expected_version, void *record, billing__step_fn step,
	void *payload);

/* Runs a prepared list (billing__list_begin done, hooks set). */
int billing__entity_list(billing_page **out, const billing__entity *e, billing__list *l,
	billing_ctx *ctx, const char *tenant_id);

/* Ids a list filters on: each one given must name something in the
 * tenant (API-HTTP.md: else 400 resource_missing naming the field). */
typedef struct {
	const char *tenant_id;
	const char *customer_id;
	const char *plan_id;
	const char *subscription_id;
	const char *invoice_id;
	const char *endpoint_id;
	const char *event_id;
} billing__filter_ids;

int billing__check_filter_ids(const billing__filter_ids *f, billing_ctx *ctx, billing_txn *tx);
/* The same, as a billing__list check. */
int billing__check_filter_ids_cb(const void *payload, billing_ctx *ctx, billing_txn *tx);

/* The update and delete preamble: the expected version is >= 0. */
int billing__check_expected_version(int64_t expected_version);

/* The update preamble: some field bits, only known ones, and a valid
 * expected version. */
int billing__check_update(unsigned int fields, unsigned int known, int64_t expected_version);

#endif

/**
 * @file billing/event.h
 * @brief Domain events: the log of every change, written with the change.
 *
 * Each state change writes one event in the same transaction (a rolled-back
 * change leaves none): "subscription.created", "invoice.finalized", ... The
 * event carries the resource as the JSON layer showed it right after the
 * change, and the request id and idempotency key of the call that made it.
 * Events are read here, handed to in-process subscribers after their
 * transaction commits (billing_ctx_subscribe), and delivered to webhook
 * endpoints (billing/webhook.h). With billing_ctx_options.event_retention
 * set, events older than that are pruned by billing_run_due().
 */
#ifndef BILLING_EVENT_H
#define BILLING_EVENT_H

#include "common.h"
#include "ctx.h"
#include "list.h"
#include "principal.h"

BILLING_BEGIN_DECL



/** BILLING_ENOTFOUND when the id names no event of the principal's tenant. */
BILLING_EXTERN(int) billing_event_get(billing_event **out, billing_ctx *ctx,
	const billing_principal *who, const char *id);

#define BILLING_EVENT_LIST_PARAMS_VERSION 2

typedef struct {
	unsigned int version;          /**< BILLING_EVENT_LIST_PARAMS_VERSION */
	billing_list_params list;      /**< sort_by "createdAt" (the default) */
	const char *type;              /**< NULL: any; else an exact type */
	int has_created_after;
	int64_t created_after;         /**< only events created after this time */
	/** Version 2. NULL: any; else only the events about this customer of
	 *  the principal's tenant: its own (customer.*) and those of every
	 *  resource that names it as its customerId (its subscriptions,
	 *  invoices, payments, credit notes, payment methods, discounts,
	 *  balance transactions, invoice items, disputes). An id that names no
	 *  customer of the tenant (a deleted one too) is BILLING_EINVALID
	 *  "resource_missing" on customerId, as the other lists' filters. */
	const char *customer_id;
} billing_event_list_params;

#define BILLING_EVENT_LIST_PARAMS_INIT { BILLING_EVENT_LIST_PARAMS_VERSION, \
	BILLING_LIST_PARAMS_INIT, 0, 0, 0, 0 }

/** Lists events, oldest first by default; items via billing_page_event(). */
BILLING_EXTERN(int) billing_event_list(billing_page **out, billing_ctx *ctx,
	const billing_principal *who, const billing_event_list_params *params);

BILLING_EXTERN(const billing_event *) billing_page_event(const billing_page *page, size_t i);

BILLING_EXTERN(const char *) billing_event_id(const billing_event *e);
BILLING_EXTERN(const char *) billing_event_type(const billing_event *e);
BILLING_EXTERN(const char *) billing_event_resource_type(const billing_event *e);
BILLING_EXTERN(const char *) billing_event_resource_id(const billing_event *e);
/** The resource as JSON text. Borrowed. */
BILLING_EXTERN(const char *) billing_event_data_json(const billing_event *e);
BILLING_EXTERN(int64_t) billing_event_created_at(const billing_event *e);
BILLING_EXTERN(const char *) billing_event_tenant_id(const billing_event *e);
/** The request id (billing_call_options.request_id) of the call that made
 *  it; NULL when none (the billing run, or none given). */
BILLING_EXTERN(const char *) billing_event_request_id(const billing_event *e);
BILLING_EXTERN(const char *) billing_event_idempotency_key(const billing_event *e);
BILLING_EXTERN(void) billing_event_free(billing_event *e);

/**
 * Registers an in-process subscriber: fn is called with every event of
 * every tenant after the transaction that wrote it commits — never inside
 * a transaction, never for a change that was rolled back — on the thread
 * that made the change, in the order written. The event is borrowed for
 * the call. fn may call the library. At most 16 subscribers; register them
 * before the context is shared between threads.
 * @return BILLING_OK; BILLING_EINVALID; BILLING_ECONFLICT when full
 */
BILLING_EXTERN(int) billing_ctx_subscribe(billing_ctx *ctx, billing_event_fn fn, void *user_data);

BILLING_END_DECL

#endif

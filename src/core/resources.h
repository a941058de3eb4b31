/*
 * The descriptors of the objects the library stored before descriptors
 * existed (tenants, customers, products, plans, users, subscriptions,
 * invoices, payments, refunds, webhook endpoints and deliveries, events,
 * audit entries): their tables, columns, C types and offsets in the
 * storage records, their roles in keys, updates and lists, and their
 * JSON names where the JSON layer shows them (json_out.c).
 *
 * Storage builds these objects' SQL from them (src/storage/sql/records.c);
 * the status sets below are the one definition of "ended" and "in flight"
 * that both the core's rules and the SQL read.
 */
#ifndef BILLING_CORE_RESOURCES_H
#define BILLING_CORE_RESOURCES_H

#include <stdbool.h>

#include "billing/sys/resource.h"

extern const billing_resource billing__res_tenant;
extern const billing_resource billing__res_customer;
extern const billing_resource billing__res_product;
extern const billing_resource billing__res_plan;
extern const billing_resource billing__res_user;
extern const billing_resource billing__res_subscription;
extern const billing_resource billing__res_invoice;
extern const billing_resource billing__res_payment;
extern const billing_resource billing__res_refund;
extern const billing_resource billing__res_webhook_endpoint;
extern const billing_resource billing__res_delivery;
extern const billing_resource billing__res_event;
extern const billing_resource billing__res_audit;
/* Rows without an id of their own, keyed by their owner's (see resources.c). */
extern const billing_resource billing__res_invoice_line;
extern const billing_resource billing__res_pending_line;
extern const billing_resource billing__res_delivery_attempt;
extern const billing_resource billing__res_dunning;

/* Subscriptions that have ended: canceled, expired, incomplete_expired. Nothing moves them
 * again; a plan they are on may be deleted. */
extern const billing_status_set billing__sub_ended;
/* Payments whose outcome is not known yet: pending, requires action,
 * unknown. An invoice has at most one (the payments_in_flight index). */
extern const billing_status_set billing__payment_in_flight_set;

/* Whether status is in set. */
static inline bool billing__status_in(const billing_status_set *set, int status)
{
	return status >= 0 && status < 64 && (set->values >> status) & 1u;
}

#endif

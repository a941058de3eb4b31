/**
 * @file billing/audit.h
 * @brief The audit log: who changed what, when, in which request.
 *
 * Every mutating call of a tenant's principal writes one row in the same
 * transaction as its change (a rolled-back call leaves none): the principal
 * (user id and role), the operation ("customers.create"), the resource id,
 * the request id and idempotency key of billing_call_options, and the time.
 * The billing run and inbound provider webhooks act for nobody and write
 * events but no audit rows. Listable by ADMIN.
 */
#ifndef BILLING_AUDIT_H
#define BILLING_AUDIT_H

#include "common.h"
#include "list.h"
#include "principal.h"

BILLING_BEGIN_DECL

typedef struct billing_audit_entry billing_audit_entry;

/** The tenant's audit log, oldest first by default (sort_by "createdAt"). */
BILLING_EXTERN(int) billing_audit_list(billing_page **out, billing_ctx *ctx,
	const billing_principal *who, const billing_list_params *params);

BILLING_EXTERN(const billing_audit_entry *) billing_page_audit_entry(const billing_page *page,
	size_t i);

BILLING_EXTERN(const char *) billing_audit_entry_id(const billing_audit_entry *a);
BILLING_EXTERN(int64_t) billing_audit_entry_at(const billing_audit_entry *a);
BILLING_EXTERN(const char *) billing_audit_entry_user_id(const billing_audit_entry *a);
BILLING_EXTERN(billing_role) billing_audit_entry_role(const billing_audit_entry *a);
BILLING_EXTERN(const char *) billing_audit_entry_operation(const billing_audit_entry *a);
BILLING_EXTERN(const char *) billing_audit_entry_resource_id(const billing_audit_entry *a);
BILLING_EXTERN(const char *) billing_audit_entry_request_id(const billing_audit_entry *a);
BILLING_EXTERN(const char *) billing_audit_entry_idempotency_key(const billing_audit_entry *a);

BILLING_END_DECL

#endif

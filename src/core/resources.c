/*
 * The descriptors of the stored objects (see resources.h): one table per
 * object, in the order of its record struct. Flags say what storage does
 * with a column (key, FIXED after insert, ZERO_NULL, lists' FILTER / RANGE
 * / SORT / SEARCH as the lists filter today); json is the wire name that
 * json_out.c shows (NULL: not shown). These objects keep hand-written
 * operations (ops 0); the generic JSON flow serves objects that set ops.
 */
#include <stddef.h>

#include "billing/subscription.h"
#include "billing/sys/storage.h"
#include "core/resources.h"

#define TENANT BILLING_FIELD_TENANT
#define ID BILLING_FIELD_ID
#define VERSION BILLING_FIELD_VERSION
#define FIXED BILLING_FIELD_FIXED
#define ZNULL BILLING_FIELD_ZERO_NULL
#define FILTER BILLING_FIELD_FILTER
#define RANGE BILLING_FIELD_RANGE
#define SORT BILLING_FIELD_SORT
#define SEARCH BILLING_FIELD_SEARCH
#define UNIQUE BILLING_FIELD_UNIQUE
#define DELETED BILLING_FIELD_DELETED
#define NONNEG BILLING_FIELD_NONNEGATIVE

/* One field of record struct S: column, C type, member, flags, JSON name
 * and kind. */
#define F(S, col, type, member, flags, json, kind) \
	{ col, BILLING_FIELD_##type, offsetof(S, member), (flags), json, BILLING_JSON_##kind, \
	  0, NULL, 0, NULL }

#define RESOURCE(var, nm, pl, tbl, pfx, S, list) \
	const billing_resource var = { /* NOLINT(bugprone-macro-parentheses): a declarator */ \
		.name = (nm), .plural = (pl), .table = (tbl), .prefix = (pfx), \
		.record_size = sizeof(S), .fields = (list), \
		.field_count = sizeof(list) / sizeof((list)[0]) }

/* The same with billing_check's traits and the fields that name other
 * objects (billing_reference). */
#define RESOURCE_REFS(var, nm, pl, tbl, pfx, S, list, trt, refs, nrefs) \
	const billing_resource var = { /* NOLINT(bugprone-macro-parentheses): a declarator */ \
		.name = (nm), .plural = (pl), .table = (tbl), .prefix = (pfx), \
		.record_size = sizeof(S), .fields = (list), \
		.field_count = sizeof(list) / sizeof((list)[0]), .traits = (trt), \
		.references = (refs), .reference_count = (nrefs) }
#define EVENT BILLING_RESOURCE_CREATE_EVENT

/* A field of kind ENUM: F with the names of its values (billing_field.names). */
#define FE(S, col, type, member, flags, json, names) \
	{ col, BILLING_FIELD_##type, offsetof(S, member), (flags), json, BILLING_JSON_ENUM, \
	  0, names, 0, NULL }

/* The common tail of versioned records. */
#define STAMPS(S) \
	F(S, "created_at", INT64, created_at, FIXED | SORT | RANGE, "createdAt", TIME), \
	F(S, "updated_at", INT64, updated_at, 0, "updatedAt", TIME), \
	F(S, "version", INT64, version, VERSION, "version", INTEGER)

/* ------------------------------------------------------------ status sets */

const billing_status_set billing__sub_ended = {
	"ended", (1u << BILLING_SUB_CANCELED) | (1u << BILLING_SUB_EXPIRED) |
		(1u << BILLING_SUB_INCOMPLETE_EXPIRED)
};

const billing_status_set billing__payment_in_flight_set = {
	"in_flight", (1u << BILLING_PAYMENT_PENDING) | (1u << BILLING_PAYMENT_REQUIRES_ACTION) |
		(1u << BILLING_PAYMENT_UNKNOWN)
};

/* ------------------------------------------------------------ enum names */

/* The JSON names of enum values, by value ("" for a value that is none),
 * as the typed API's *_name functions and the answers spell them
 * (tests/unit/resource.c compares the two). */
static const char *const role_names[] = { "", "USER", "ADMIN", "PLATFORM", NULL };
static const char *const subscription_status_names[] = {
	"", "incomplete", "trialing", "active", "past_due", "paused", "canceled", "expired",
	"unpaid", "incomplete_expired", NULL
};
static const char *const invoice_status_names[] = {
	"", "draft", "pending", "paid", "failed", "void", "uncollectible", NULL
};
static const char *const collection_method_names[] = {
	"", "charge_automatically", "send_invoice", NULL
};
static const char *const payment_status_names[] = {
	"", "pending", "requires_action", "succeeded", "failed", "refunded",
	"partially_refunded", "unknown", "canceled", NULL
};
static const char *const delivery_status_names[] = {
	"", "pending", "succeeded", "dead", NULL
};

/* ------------------------------------------------------------ tenants */

#define T billing_tenant_record
static const billing_field tenant_fields[] = {
	F(T, "tenant_id", TEXT, id, ID | TENANT, "id", STRING),
	F(T, "name", TEXT, name, SORT | SEARCH, "name", STRING),
	F(T, "invoice_prefix", TEXT, invoice_prefix, 0, "invoicePrefix", STRING),
	STAMPS(T),
	/* schema step 18 (core/credit_note.c) */
	F(T, "credit_note_prefix", TEXT, credit_note_prefix, 0, "creditNotePrefix", STRING),
	/* schema step 21 (renewal drafts, core/invoice_draft.c) */
	F(T, "renewal_draft_delay", INT64, renewal_draft_delay, 0, "renewalDraftDelay", INTEGER),
};
RESOURCE(billing__res_tenant, "tenant", "tenants", "tenants", "ten", T, tenant_fields);
#undef T

/* ------------------------------------------------------------ customers */

/* On the generic flow: billing__res_customer is in core/customer.c. */

/* ------------------------------------------------------------ products */

/* On the generic flow: billing__res_product is in core/product.c. */

/* ------------------------------------------------------------ plans */

/* On the generic flow: billing__res_plan is in core/plan.c. */

/* ------------------------------------------------------------ users */

#define U billing_user_record
static const billing_field user_fields[] = {
	F(U, "tenant_id", TEXT, tenant_id, TENANT, NULL, NONE),
	F(U, "id", TEXT, id, ID, "id", STRING),
	F(U, "email", TEXT, email, 0, "email", STRING),
	F(U, "email_key", TEXT, email_key, UNIQUE | FILTER, NULL, NONE), /* sign-in: by e-mail */
	FE(U, "role", INT, role, FIXED, "role", role_names),
	F(U, "password_hash", TEXT, password_hash, 0, NULL, NONE), /* never shown */
	STAMPS(U),
};
RESOURCE(billing__res_user, "user", "users", "users", "usr", U, user_fields);
#undef U

/* ------------------------------------------------------------ subscriptions */

/* The customer and the start are fixed; everything that moves with the
 * calendar or a change of plan is written. */
#define S billing_subscription_record
static const billing_field subscription_fields[] = {
	F(S, "tenant_id", TEXT, tenant_id, TENANT, NULL, NONE),
	F(S, "id", TEXT, id, ID | SEARCH, "id", STRING),
	F(S, "customer_id", TEXT, customer_id, FIXED | FILTER, "customerId", STRING),
	F(S, "plan_id", TEXT, plan_id, FILTER, "planId", STRING),
	FE(S, "status", INT, status, FILTER, "status", subscription_status_names),
	/* The first item's; 0 (NULL) when it is a metered plan's (step 36). */
	F(S, "quantity", INT32, quantity, ZNULL, "quantity", INTEGER),
	F(S, "currency", TEXT, currency, 0, "currency", STRING),
	F(S, "anchor", INT64, anchor, 0, "billingCycleAnchor", TIME),
	F(S, "period_index", INT64, period_index, 0, NULL, NONE),
	F(S, "current_period_start", INT64, current_period_start, 0, "currentPeriodStart", TIME),
	F(S, "current_period_end", INT64, current_period_end, SORT, "currentPeriodEnd", TIME),
	F(S, "trial_end", INT64, trial_end, ZNULL, "trialEnd", TIME),
	F(S, "cancel_at_period_end", INT, cancel_at_period_end, 0, "cancelAtPeriodEnd", BOOLEAN),
	F(S, "canceled_at", INT64, canceled_at, ZNULL, "canceledAt", TIME),
	F(S, "ended_at", INT64, ended_at, ZNULL, "endedAt", TIME),
	F(S, "latest_invoice_id", TEXT, latest_invoice_id, 0, "latestInvoiceId", STRING),
	F(S, "pending_plan_id", TEXT, pending_plan_id, FILTER, "pendingPlanId", STRING),
	F(S, "metadata", TEXT, metadata_json, 0, "metadata", METADATA),
	STAMPS(S),
	/* schema step 24 (core/subscription_item.c): a copy of the items */
	F(S, "items", TEXT, items_json, 0, NULL, NONE),
	/* schema step 27 (core/invoice_tax.c) */
	F(S, "default_tax_rates", TEXT, default_tax_rates_json, 0, "defaultTaxRates", STRINGS),
	/* schema step 32 (core/discount_object.c): the discount shown, written
	 * only with a change of the discount, never by an update of the row
	 * (APART: a renewal's record read before the discount ended still
	 * writes) */
	F(S, "discount", TEXT, discount_json, BILLING_FIELD_APART, NULL, NONE),
	/* schema step 38 (issue #23): the spend threshold; NULL: none */
	F(S, "threshold_amount_gte", INT64, threshold_amount_gte, ZNULL, NULL, NONE),
};
static const billing_reference subscription_refs[] = {
	{ "customer_id", &billing__res_customer },
	{ "plan_id", &billing__res_plan },
	{ "latest_invoice_id", &billing__res_invoice },
	{ "pending_plan_id", &billing__res_plan },
};
RESOURCE_REFS(billing__res_subscription, "subscription", "subscriptions", "subscriptions", "sub",
	S, subscription_fields, EVENT, subscription_refs, 4);
#undef S

/* ------------------------------------------------------------ invoices */

/* Customer, subscription and currency never change after creation;
 * amounts, period and lines (which storage keeps apart) change only while
 * the invoice is a draft (invoice_draft.c), never once it is finalized. */
#define I billing_invoice_record
static const billing_field invoice_fields[] = {
	F(I, "tenant_id", TEXT, tenant_id, TENANT, NULL, NONE),
	F(I, "id", TEXT, id, ID, "id", STRING),
	F(I, "customer_id", TEXT, customer_id, FIXED | FILTER, "customerId", STRING),
	F(I, "subscription_id", TEXT, subscription_id, FIXED | FILTER, "subscriptionId", STRING),
	F(I, "number", TEXT, number, SEARCH, "number", STRING),
	FE(I, "status", INT, status, FILTER, "status", invoice_status_names),
	F(I, "currency", TEXT, currency, FIXED, "currency", STRING),
	F(I, "subtotal", INT64, subtotal, 0, "subtotal", INTEGER),
	F(I, "tax", INT64, tax, 0, "tax", INTEGER),
	F(I, "total", INT64, total, 0, "total", INTEGER),
	F(I, "amount_paid", INT64, amount_paid, NONNEG, "amountPaid", INTEGER),
	F(I, "amount_due", INT64, amount_due, 0, "amountDue", INTEGER),
	F(I, "period_start", INT64, period_start, RANGE, "periodStart", TIME),
	F(I, "period_end", INT64, period_end, 0, "periodEnd", TIME),
	F(I, "finalized_at", INT64, finalized_at, ZNULL, "finalizedAt", TIME),
	F(I, "paid_at", INT64, paid_at, ZNULL, "paidAt", TIME),
	F(I, "voided_at", INT64, voided_at, ZNULL, "voidedAt", TIME),
	F(I, "attempt_count", INT32, attempt_count, NONNEG, "attemptCount", INTEGER),
	F(I, "next_attempt_at", INT64, next_attempt_at, ZNULL, "nextAttemptAt", TIME),
	STAMPS(I),
	/* the customer's balance applied at finalization (core/customer_balance.c) */
	F(I, "starting_balance", INT64, starting_balance, 0, "startingBalance", INTEGER),
	F(I, "ending_balance", INT64, ending_balance, 0, "endingBalance", INTEGER),
	/* Draft invoices (schema step 17). */
	FE(I, "collection_method", INT, collection_method, 0, "collectionMethod",
		collection_method_names),
	F(I, "days_until_due", INT32, days_until_due, ZNULL | NONNEG, "daysUntilDue", INTEGER),
	F(I, "due_date", INT64, due_date, ZNULL, "dueDate", TIME),
	F(I, "memo", TEXT, memo, 0, "memo", STRING),
	F(I, "footer", TEXT, footer, 0, "footer", STRING),
	F(I, "paid_out_of_band", INT, paid_out_of_band, 0, "paidOutOfBand", BOOLEAN),
	/* Credit notes (schema step 18; core/credit_note.c). */
	F(I, "pre_payment_credit_notes_amount", INT64, pre_payment_credit_notes_amount, NONNEG,
		"preCreditNotesAmount", INTEGER),
	F(I, "post_payment_credit_notes_amount", INT64, post_payment_credit_notes_amount, NONNEG,
		"postPaymentCreditNotesAmount", INTEGER),
	/* Discounts (schema step 27; core/invoice_discount.c), shown as
	 * totalDiscountAmounts by json_out.c. */
	F(I, "discount_id", TEXT, discount_id, 0, NULL, NONE),
	F(I, "total_discount", INT64, total_discount, 0, NULL, NONE),
	/* Taxes (schema step 27; core/invoice_tax.c). */
	F(I, "total_tax_amounts", TEXT, total_tax_amounts_json, 0, "totalTaxAmounts", ARRAY),
	F(I, "customer_tax_exempt", INT, customer_tax_exempt, 0, "customerTaxExempt", INTEGER),
	F(I, "default_tax_rates", TEXT, default_tax_rates_json, 0, "defaultTaxRates", STRINGS),
	/* Spend thresholds (schema step 41, issue #23): NULL, or
	 * "subscription_threshold". */
	F(I, "billing_reason", TEXT, billing_reason, FIXED, "billingReason", STRING),
};
static const billing_reference invoice_refs[] = {
	{ "customer_id", &billing__res_customer },
	{ "subscription_id", &billing__res_subscription },
};
RESOURCE_REFS(billing__res_invoice, "invoice", "invoices", "invoices", "in", I, invoice_fields,
	EVENT, invoice_refs, 2);
#undef I

/* ------------------------------------------------------------ payments */

/* What was asked for (invoice, customer, amount, currency, provider,
 * off-session) never changes. */
#define Y billing_payment_record
static const billing_field payment_fields[] = {
	F(Y, "tenant_id", TEXT, tenant_id, TENANT, NULL, NONE),
	F(Y, "id", TEXT, id, ID, "id", STRING),
	F(Y, "invoice_id", TEXT, invoice_id, FIXED | FILTER, "invoiceId", STRING),
	F(Y, "customer_id", TEXT, customer_id, FIXED | FILTER, "customerId", STRING),
	FE(Y, "status", INT, status, FILTER, "status", payment_status_names),
	F(Y, "amount", INT64, amount, FIXED | NONNEG, "amount", INTEGER),
	F(Y, "currency", TEXT, currency, FIXED, "currency", STRING),
	F(Y, "amount_refunded", INT64, amount_refunded, NONNEG, "refundedAmount", INTEGER),
	F(Y, "amount_refunding", INT64, amount_refunding, NONNEG, NULL, NONE),
	F(Y, "provider", TEXT, provider, FIXED | FILTER, "provider", STRING),
	F(Y, "provider_ref", TEXT, provider_ref, SEARCH | FILTER, "providerRef", STRING),
	F(Y, "payment_method", TEXT, payment_method, 0, "paymentMethod", STRING),
	F(Y, "off_session", INT, off_session, FIXED, NULL, BOOLEAN),
	F(Y, "failure_code", TEXT, failure_code, 0, "failureCode", STRING),
	F(Y, "failure_message", TEXT, failure_message, 0, "failureMessage", STRING),
	STAMPS(Y),
	/* nextAction in the payment's JSON (core/json_out.c) */
	F(Y, "next_action_type", TEXT, next_action_type, 0, NULL, NONE),
	F(Y, "next_action_url", TEXT, next_action_url, 0, NULL, NONE),
	F(Y, "client_secret", TEXT, client_secret, 0, NULL, NONE),
};
static const billing_reference payment_refs[] = {
	{ "invoice_id", &billing__res_invoice },
	{ "customer_id", &billing__res_customer },
};
RESOURCE_REFS(billing__res_payment, "payment", "payments", "payments", "pay", Y, payment_fields,
	EVENT, payment_refs, 2);
#undef Y

/* ------------------------------------------------------------ refunds */

#define R billing_refund_record
static const billing_field refund_fields[] = {
	F(R, "tenant_id", TEXT, tenant_id, TENANT, NULL, NONE),
	F(R, "id", TEXT, id, ID, "id", STRING),
	F(R, "payment_id", TEXT, payment_id, FIXED | FILTER, "paymentId", STRING),
	F(R, "amount", INT64, amount, FIXED | NONNEG, "amount", INTEGER),
	F(R, "status", INT, status, FILTER, "status", ENUM),
	F(R, "provider_ref", TEXT, provider_ref, 0, "providerRef", STRING),
	F(R, "failure_code", TEXT, failure_code, 0, "failureCode", STRING),
	STAMPS(R),
};
static const billing_reference refund_refs[] = {
	{ "payment_id", &billing__res_payment },
};
RESOURCE_REFS(billing__res_refund, "refund", "refunds", "refunds", "re", R, refund_fields, 0,
	refund_refs, 1);
#undef R

/* ------------------------------------------------------------ webhook endpoints */

#define E billing_webhook_endpoint_record
static const billing_field endpoint_fields[] = {
	F(E, "tenant_id", TEXT, tenant_id, TENANT, NULL, NONE),
	F(E, "id", TEXT, id, ID, "id", STRING),
	F(E, "url", TEXT, url, SEARCH, "url", STRING),
	F(E, "event_types", TEXT, event_types, 0, NULL, NONE), /* shown as "events", a list */
	F(E, "enabled", INT, enabled, FILTER, "enabled", BOOLEAN),
	F(E, "description", TEXT, description, 0, "description", STRING),
	F(E, "secret", TEXT, secret, 0, NULL, NONE),              /* never shown */
	F(E, "previous_secret", TEXT, previous_secret, 0, NULL, NONE),
	F(E, "previous_secret_until", INT64, previous_secret_until, ZNULL, NULL, NONE),
	F(E, "dead_in_row", INT32, dead_in_row, NONNEG, NULL, NONE),
	F(E, "disabled_reason", TEXT, disabled_reason, 0, "disabledReason", STRING),
	STAMPS(E),
};
RESOURCE(billing__res_webhook_endpoint, "webhook_endpoint", "webhook_endpoints",
	"webhook_endpoints", "we", E, endpoint_fields);
#undef E

/* ------------------------------------------------------------ deliveries */

#define D billing_delivery_record
static const billing_field delivery_fields[] = {
	F(D, "tenant_id", TEXT, tenant_id, TENANT, NULL, NONE),
	F(D, "id", TEXT, id, ID, "id", STRING),
	F(D, "endpoint_id", TEXT, endpoint_id, FIXED | FILTER, "endpointId", STRING),
	F(D, "event_id", TEXT, event_id, FIXED | FILTER | SEARCH, "eventId", STRING),
	FE(D, "status", INT, status, FILTER, "status", delivery_status_names),
	F(D, "attempt_count", INT32, attempt_count, NONNEG, "attemptCount", INTEGER),
	F(D, "next_attempt_at", INT64, next_attempt_at, ZNULL, "nextAttemptAt", TIME),
	STAMPS(D),
};
/* No references: its event may be pruned by retention before it, and
 * its endpoint may be deleted while it stays (listable, by design). */
RESOURCE(billing__res_delivery, "webhook_delivery", "webhook_deliveries",
	"webhook_deliveries", "whd", D, delivery_fields);
#undef D

/* ------------------------------------------------------------ lines */

/*
 * Invoice lines and pending lines have no id of their own: their owner's id
 * (the invoice, the subscription) is the ID field, shared by all of the
 * owner's lines, so a list filtered by it reads them in line_no order and a
 * delete by it removes them all. Written once, never updated.
 */
#define N billing_line_record
#define LINE_FIELDS \
	F(N, "description", TEXT, line.description, 0, "description", STRING), \
	F(N, "plan_id", TEXT, line.plan_id, 0, "planId", STRING), \
	F(N, "period_start", INT64, line.period_start, 0, "periodStart", TIME), \
	F(N, "period_end", INT64, line.period_end, 0, "periodEnd", TIME), \
	F(N, "quantity", INT32, line.quantity, 0, "quantity", INTEGER), \
	F(N, "unit_amount", INT64, line.unit_amount, 0, "unitAmount", INTEGER), \
	F(N, "amount", INT64, line.amount, 0, "amount", INTEGER), \
	F(N, "tax_rate_bp", INT32, line.tax_rate_bp, 0, NULL, NONE), \
	F(N, "subscription_item_id", TEXT, line.subscription_item_id, 0, "subscriptionItemId", \
		STRING), \
	F(N, "tiers", TEXT, line.tiers, 0, "tiers", ARRAY)
static const billing_field invoice_line_fields[] = {
	F(N, "tenant_id", TEXT, tenant_id, TENANT, NULL, NONE),
	F(N, "invoice_id", TEXT, owner_id, ID | FILTER, "invoiceId", STRING),
	F(N, "line_no", INT32, line_no, FIXED | SORT, NULL, NONE),
	LINE_FIELDS,
	F(N, "tax_amount", INT64, line.tax_amount, 0, "taxAmount", INTEGER),
	F(N, "proration", INT, line.proration, 0, "proration", BOOLEAN),
	/* The discount the line took (schema step 27), shown as discountAmounts. */
	F(N, "discount_id", TEXT, line.discount_id, 0, NULL, NONE),
	F(N, "discount_amount", INT64, line.discount_amount, 0, NULL, NONE),
	/* schema step 27 (core/invoice_tax.c) */
	F(N, "taxable_amount", INT64, line.taxable_amount, 0, "amountExcludingTax", INTEGER),
	F(N, "tax_amounts", TEXT, line.tax_amounts, 0, "taxAmounts", ARRAY),
};
RESOURCE(billing__res_invoice_line, "invoice_line", "invoice_lines", "invoice_lines", NULL, N,
	invoice_line_fields);

static const billing_field pending_line_fields[] = {
	F(N, "tenant_id", TEXT, tenant_id, TENANT, NULL, NONE),
	F(N, "subscription_id", TEXT, owner_id, ID | FILTER, "subscriptionId", STRING),
	F(N, "line_no", INT32, line_no, FIXED | SORT, NULL, NONE),
	LINE_FIELDS,
	F(N, "proration", INT, line.proration, 0, "proration", BOOLEAN),
};
RESOURCE(billing__res_pending_line, "pending_line", "pending_lines", "pending_lines", NULL, N,
	pending_line_fields);
#undef LINE_FIELDS
#undef N

/* A delivery's attempts: keyed by the delivery, as lines by their owner. */
#define W billing_delivery_attempt_record
static const billing_field attempt_fields[] = {
	F(W, "tenant_id", TEXT, tenant_id, TENANT, NULL, NONE),
	F(W, "delivery_id", TEXT, delivery_id, ID | FILTER, "deliveryId", STRING),
	F(W, "attempt_no", INT32, attempt_no, FIXED | SORT, "attemptNo", INTEGER),
	F(W, "attempted_at", INT64, attempted_at, 0, "attemptedAt", TIME),
	F(W, "status_code", INT32, status_code, 0, "statusCode", INTEGER),
	F(W, "error", TEXT, error, 0, "error", STRING),
	F(W, "response", TEXT, response, 0, "response", STRING),
	F(W, "duration_ms", INT64, duration_ms, 0, "durationMs", INTEGER),
};
RESOURCE(billing__res_delivery_attempt, "webhook_attempt", "webhook_attempts",
	"webhook_attempts", NULL, W, attempt_fields);
#undef W

/* ------------------------------------------------------------ dunning */

/* One row per tenant: the tenant is the key (as for tenants). No version:
 * the last write wins. */
#define G billing_dunning_record
static const billing_field dunning_fields[] = {
	F(G, "tenant_id", TEXT, tenant_id, ID | TENANT, NULL, NONE),
	F(G, "retry_days", TEXT, retry_days, 0, "retryDays", STRING),
	F(G, "final_action", INT, final_action, 0, "finalAction", INTEGER),
	F(G, "updated_at", INT64, updated_at, 0, "updatedAt", TIME),
	F(G, "action_expiry", INT64, action_expiry, 0, "actionExpirySeconds", INTEGER),
};
RESOURCE(billing__res_dunning, "dunning_policy", "dunning_policies", "dunning_policies", NULL,
	G, dunning_fields);
#undef G

/* ------------------------------------------------------------ events, audit */

/* Written once, never updated (no VERSION field). */
#define V billing_event_record
static const billing_field event_fields[] = {
	F(V, "tenant_id", TEXT, tenant_id, TENANT, NULL, NONE),
	F(V, "id", TEXT, id, ID, "id", STRING),
	F(V, "type", TEXT, type, FILTER | SEARCH, "type", STRING),
	F(V, "resource_type", TEXT, resource_type, FILTER, NULL, NONE), /* the reports */
	F(V, "resource_id", TEXT, resource_id, 0, NULL, NONE),
	F(V, "data", TEXT, data_json, 0, "data", OBJECT),
	F(V, "created_at", INT64, created_at, FIXED | SORT | RANGE, "createdAt", TIME),
	F(V, "request_id", TEXT, request_id, 0, "requestId", STRING),
	F(V, "idempotency_key", TEXT, idempotency_key, 0, "idempotencyKey", STRING),
	F(V, "customer_id", TEXT, customer_id, FILTER, NULL, NONE), /* the customer's events */
};
RESOURCE(billing__res_event, "event", "events", "events", "evt", V, event_fields);
#undef V

#define A billing_audit_record
static const billing_field audit_fields[] = {
	F(A, "tenant_id", TEXT, tenant_id, TENANT, NULL, NONE),
	F(A, "id", TEXT, id, ID, "id", STRING),
	F(A, "created_at", INT64, at, FIXED | SORT | RANGE, "at", TIME),
	F(A, "user_id", TEXT, user_id, 0, "userId", STRING),
	FE(A, "role", INT, role, 0, "role", role_names),
	F(A, "operation", TEXT, operation, SEARCH, "operation", STRING),
	F(A, "resource_id", TEXT, resource_id, 0, "resourceId", STRING),
	F(A, "request_id", TEXT, request_id, 0, "requestId", STRING),
	F(A, "idempotency_key", TEXT, idempotency_key, 0, "idempotencyKey", STRING),
};
RESOURCE(billing__res_audit, "audit_entry", "audit_entries", "audit_log", "aud", A,
	audit_fields);
#undef A

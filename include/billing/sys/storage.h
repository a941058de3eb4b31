/**
 * @file billing/sys/storage.h
 * @brief The storage vtable, for authors of storage backends.
 *
 * A backend persists plain records; it knows no domain rule. The core opens
 * one transaction per domain call, passes the tenant to every method, and
 * commits or rolls back. Every key a backend writes starts with the tenant.
 *
 * Versioning: the vtable starts with its version and only grows at its end;
 * the core checks the version before calling a method appended later.
 *
 * Records: strings are borrowed. On input, for the duration of the call.
 * On output, a backend hands each row to a callback; the row's strings are
 * valid only during that callback (the core copies what it keeps), so a
 * backend can point straight into its driver's buffers.
 *
 * Failure contract: a method that fails sets the thread's error (through
 * the helpers below) and returns a negative billing_status; the core then
 * rolls the transaction back, so a backend never needs to undo a
 * half-applied call itself. Unique violations are BILLING_EEXISTS naming
 * the field; a row another row still references is BILLING_ECONFLICT with
 * reason "referenced"; a lock or busy timeout is BILLING_EBUSY; anything
 * else from the driver is BILLING_ESTORAGE with the driver's message (never
 * a connection password).
 */
#ifndef BILLING_SYS_STORAGE_H
#define BILLING_SYS_STORAGE_H

#include "../common.h"
#include "../ctx.h"
#include "../invoice.h"
#include "../payment.h"
#include "resource.h"

BILLING_BEGIN_DECL

#define BILLING_STORAGE_VERSION 14

/** A backend's transaction handle (its own struct). */
typedef struct billing_txn billing_txn;

/** Transaction kinds for begin(). */
#define BILLING_TXN_READ  0u
#define BILLING_TXN_WRITE 1u
/** Version 5: a READ transaction whose statements all see one snapshot of
 *  the database, taken at its first statement, so rows read by different
 *  statements agree (PostgreSQL: REPEATABLE READ READ ONLY; plain READ is
 *  READ COMMITTED there, a snapshot per statement; SQLite's READ is one
 *  snapshot already). The core asks for it only from a backend of version
 *  5 or later; an older backend is given BILLING_TXN_READ. */
#define BILLING_TXN_SNAPSHOT 2u

/** How record_read holds the row it reads in a WRITE
 *  transaction (in a READ transaction nothing is ever locked). */
#define BILLING_LOCK_NONE   0u /* read as of the statement; nothing held */
#define BILLING_LOCK_SHARE  1u /* nobody may change or delete the row until the
                                  transaction ends; other transactions may share
                                  it (PostgreSQL: FOR SHARE) */
#define BILLING_LOCK_UPDATE 2u /* as the *_get methods: the row is the
                                  transaction's to change (PostgreSQL: FOR UPDATE) */

/** Receives one row; return 0 for the next row, 1 to stop without error
 *  (the method then returns BILLING_OK), negative to stop with that code. */
typedef int (*billing_row_cb)(void *payload, const void *record);

typedef struct {
	const char *id;
	const char *name;
	const char *invoice_prefix;
	int64_t created_at;
	int64_t updated_at;
	int64_t version;
	const char *credit_note_prefix; /* schema step 18; NULL reads as "CN-" */
	int64_t renewal_draft_delay;    /* schema step 21; seconds, 0: none */
} billing_tenant_record;

typedef struct {
	const char *tenant_id;
	const char *id;
	const char *name;
	const char *email;
	const char *email_key;          /* lower-cased email: the unique key */
	const char *default_payment_method; /* NULL: none */
	const char *metadata_json;      /* canonical JSON object, "{}" when empty */
	int64_t created_at;
	int64_t updated_at;
	int64_t version;
	/* The balance per currency, a JSON object of integers ({"EUR": -1189};
	 * "{}" or NULL when none): written on insert, then only by the core's balance
	 * changes (core/customer_balance.c), never by an update of the
	 * customer (migration 13). */
	const char *balances_json;
	/* Taxes (schema step 26, issue #22): 0 none, 1 exempt, 2 reverse
	 * (reverse charge); the tax ids, a JSON array of {type, value} with
	 * normalized values (core/tax_id.h), "[]" when none. */
	int tax_exempt;
	const char *tax_ids_json;
	/* Documents (schema step 31, issue #24): the billing address, a JSON
	 * object of strings {line1, line2, city, postalCode, region, country}
	 * (only those given; country ISO 3166-1 alpha-2, upper case), NULL
	 * when none; the documents' default locale ("de-DE"), NULL when none. */
	const char *address_json;
	const char *preferred_locale;
	/* Schema step 32 (issue #22): the customer's live discount as the API
	 * shows it, JSON {id, couponId, promotionCodeId, start, end}; NULL:
	 * none. Written only by the core's discount changes
	 * (core/discount_object.c), never by an update of the customer. */
	const char *discount_json;
} billing_customer_record;

typedef struct {
	const char *tenant_id;
	const char *id;
	const char *name;
	const char *sku;
	const char *description;        /* NULL: none */
	int64_t price_cents;
	const char *currency;
	int32_t tax_rate_bp;
	int is_active;
	int64_t stock;
	int64_t low_stock_threshold;
	const char *metadata_json;
	int64_t created_at;
	int64_t updated_at;
	int64_t version;
} billing_product_record;

typedef struct {
	const char *tenant_id;
	const char *id;
	const char *product_id;
	const char *code;
	const char *name;
	const char *description;        /* NULL: none */
	int64_t amount;
	const char *currency;
	int interval;                   /* billing_interval */
	int32_t interval_count;
	int32_t trial_days;
	int32_t term_count;             /* 0: none */
	int active;
	int64_t deleted_at;             /* 0: not deleted */
	const char *metadata_json;
	int64_t created_at;
	int64_t updated_at;
	int64_t version;
	/* Price models (issue #21; schema step 19). */
	int billing_scheme;             /* 0 perUnit, 1 tiered */
	int tiers_mode;                 /* 0: none (perUnit), 1 graduated, 2 volume */
	const char *tiers;              /* canonical JSON array; NULL: none */
	const char *transform_quantity; /* canonical JSON {divideBy, round}; NULL: none */
	int usage_type;                 /* 0 licensed, 1 metered */
	const char *meter_id;           /* NULL: none (licensed) */
	/* Schema step 27 (issue #22): the plan's default tax rates, a JSON
	 * array of txr_ ids; NULL when none. */
	const char *default_tax_rates_json;
} billing_plan_record;

typedef struct {
	const char *tenant_id;
	const char *key;
	const char *operation;
	const char *request_hash;       /* hex SHA-256 of the normalized input */
	const char *resource_id;
	int64_t created_at;
} billing_idempotency_record;

typedef struct {
	const char *tenant_id;
	const char *id;
	const char *email;
	const char *email_key;          /* lower-cased: unique across the platform */
	int role;                       /* billing_role */
	const char *password_hash;
	int64_t created_at;
	int64_t updated_at;
	int64_t version;
} billing_user_record;

typedef struct {
	const char *tenant_id;
	const char *id;
	const char *customer_id;
	const char *plan_id;
	int status;                     /* billing_subscription_status */
	int32_t quantity;
	const char *currency;
	int64_t anchor;                 /* billing-cycle anchor */
	int64_t period_index;           /* period n of the anchor; -1 in a trial */
	int64_t current_period_start;
	int64_t current_period_end;
	int64_t trial_end;              /* 0: none */
	int cancel_at_period_end;
	int64_t canceled_at;            /* 0: none */
	int64_t ended_at;               /* 0: none */
	const char *latest_invoice_id;  /* NULL: none */
	const char *pending_plan_id;    /* a plan change due at the period end; NULL: none */
	const char *metadata_json;
	int64_t created_at;
	int64_t updated_at;
	int64_t version;
	/* Migration 22: the subscription's items as canonical JSON
	 * ([{"id","planId","quantity"}] in item order), written with every
	 * change of an item; NULL on a row written before (read as []). */
	const char *items_json;
	/* Schema step 27 (issue #22): the subscription's default tax rates (a
	 * JSON array of txr_ ids; NULL: the plans' apply). */
	const char *default_tax_rates_json;
	/* Schema step 32 (issue #22): the subscription's own live discount,
	 * as billing_customer_record's discount_json. */
	const char *discount_json;
	/* Schema step 38 (issue #23): the spend threshold, minor units of the
	 * currency; 0 (NULL): none. */
	int64_t threshold_amount_gte;
} billing_subscription_record;

typedef struct {
	const char *tenant_id;
	const char *id;
	const char *customer_id;
	const char *subscription_id;    /* NULL: none */
	const char *number;             /* NULL until finalized */
	int status;                     /* billing_invoice_status */
	const char *currency;
	int64_t subtotal;
	int64_t tax;
	int64_t total;
	int64_t amount_paid;
	int64_t amount_due;
	int64_t period_start;
	int64_t period_end;
	int64_t created_at;
	int64_t finalized_at;           /* 0: none */
	int64_t paid_at;
	int64_t voided_at;
	int64_t updated_at;
	int64_t version;
	/* On insert: the lines, written with the invoice. On read: not set
	 * (read them with invoice_lines). */
	size_t line_count;
	const billing_invoice_line *lines;
	/* Storage version 2: collection. */
	int32_t attempt_count;          /* payment attempts made */
	int64_t next_attempt_at;        /* 0: none scheduled */
	/* The customer's balance applied when it was finalized (migration 13):
	 * before and after it. amount_due = total + starting_balance -
	 * ending_balance - amount_paid. */
	int64_t starting_balance;
	int64_t ending_balance;
	/* Draft invoices (schema step 17). */
	int collection_method;          /* billing_collection_method; 0 reads as 1 */
	int32_t days_until_due;         /* send_invoice: days from finalization; 0: none */
	int64_t due_date;               /* send_invoice: when payment is due; 0: none */
	const char *memo;               /* NULL: none */
	const char *footer;             /* NULL: none */
	int paid_out_of_band;           /* 1: marked paid without a payment */
	/* Credit notes (schema step 18): the totals of the invoice's non-void
	 * credit notes issued before payment (in the sums: amount_due = total +
	 * starting_balance - ending_balance - amount_paid - pre_payment_...) and
	 * after it. */
	int64_t pre_payment_credit_notes_amount;
	int64_t post_payment_credit_notes_amount;
	/* Discounts (schema step 27): the discount the invoice's lines took
	 * (NULL: none) and the sum they took; total = subtotal -
	 * total_discount + tax. */
	const char *discount_id;
	int64_t total_discount;
	/* Taxes (schema step 27, issue #22; core/invoice_tax.c): the breakdown
	 * per rate, JSON [{taxRateId, amount, inclusive, taxableAmount}] (NULL:
	 * untaxed), the customer's taxExempt when it was computed (0 none, 1
	 * exempt, 2 reverse), a draft's default tax rates (JSON ids; NULL:
	 * none). */
	const char *total_tax_amounts_json;
	int customer_tax_exempt;
	const char *default_tax_rates_json;
	/* Schema step 41 (issue #23): why the invoice was made, Stripe's
	 * billing_reason; NULL: a period's, or one made by hand;
	 * "subscription_threshold": a spend threshold's early invoice. */
	const char *billing_reason;
} billing_invoice_record;

typedef struct {
	const char *tenant_id;
	const char *id;
	const char *invoice_id;
	const char *customer_id;
	int status;                     /* billing_payment_status */
	int64_t amount;
	const char *currency;
	int64_t amount_refunded;        /* refunds that succeeded */
	int64_t amount_refunding;       /* refunds in flight */
	const char *provider;
	const char *provider_ref;       /* NULL until the provider gave one */
	const char *payment_method;
	int off_session;
	const char *failure_code;       /* NULL unless failed */
	const char *failure_message;
	int64_t created_at;
	int64_t updated_at;
	int64_t version;
	/* Awaiting the customer's action (requires_action), else NULL: what the
	 * provider said the front end must do (migration 12). */
	const char *next_action_type;
	const char *next_action_url;
	const char *client_secret;
} billing_payment_record;

typedef struct {
	const char *tenant_id;
	const char *id;
	const char *payment_id;
	int64_t amount;
	int status;                     /* billing_payment_status: pending, succeeded, failed, unknown */
	const char *provider_ref;
	const char *failure_code;
	int64_t created_at;
	int64_t updated_at;
	int64_t version;
} billing_refund_record;

typedef struct {
	const char *tenant_id;
	const char *retry_days;         /* "1,3,5,7" */
	int final_action;               /* billing_dunning_action */
	int64_t updated_at;
	int64_t action_expiry;          /* seconds; 0: the host's default (migration 15) */
} billing_dunning_record;

/* Time-driven work: one row per (kind, resource), due at a time. */
typedef struct {
	const char *tenant_id;
	const char *kind;               /* "subscription", ... */
	const char *resource_id;
	int64_t due_at;
} billing_due_record;

typedef struct {
	const char *tenant_id;
	const char *id;
	const char *type;               /* "subscription.created" */
	const char *resource_type;      /* "subscription" */
	const char *resource_id;
	const char *data_json;          /* the resource as the JSON layer shows it */
	int64_t created_at;
	/* Storage version 3: the call that made it, when known (else NULL). */
	const char *request_id;
	const char *idempotency_key;
	/* Schema step 40: the customer the event is about (the customer's own
	 * events, and those of a resource whose data names its customerId),
	 * else NULL. A column of the descriptor like the others: backends
	 * read and write it with no code of their own. */
	const char *customer_id;
} billing_event_record;

typedef struct {
	const char *tenant_id;
	const char *id;
	const char *url;
	const char *event_types;        /* ",type,type," ("*" for all, "prefix.*") */
	int enabled;
	const char *description;        /* NULL: none */
	const char *secret;
	const char *previous_secret;    /* NULL: none */
	int64_t previous_secret_until;  /* 0: none */
	int32_t dead_in_row;            /* deliveries dead since the last success */
	const char *disabled_reason;    /* NULL unless the library disabled it */
	int64_t created_at;
	int64_t updated_at;
	int64_t version;
} billing_webhook_endpoint_record;

typedef struct {
	const char *tenant_id;
	const char *id;
	const char *endpoint_id;
	const char *event_id;
	int status;                     /* billing_delivery_status */
	int32_t attempt_count;
	int64_t next_attempt_at;        /* 0: none */
	int64_t created_at;
	int64_t updated_at;
	int64_t version;
} billing_delivery_record;

typedef struct {
	const char *tenant_id;
	const char *delivery_id;
	int32_t attempt_no;
	int64_t attempted_at;
	int32_t status_code;            /* 0: no answer */
	const char *error;
	const char *response;
	int64_t duration_ms;
} billing_delivery_attempt_record;

typedef struct {
	const char *tenant_id;
	const char *id;
	int64_t at;
	const char *user_id;
	int role;
	const char *operation;
	const char *resource_id;
	const char *request_id;
	const char *idempotency_key;
} billing_audit_record;

/** Version 8: a line of an invoice (table invoice_lines) or one waiting
 *  for a subscription's next invoice (pending_lines, which keep no tax
 *  amount: it is computed when they go on an invoice). The line comes
 *  first, so a row callback may read the record as a billing_invoice_line. */
typedef struct {
	billing_invoice_line line;
	const char *tenant_id;
	const char *owner_id;           /* the invoice, or the subscription */
	int32_t line_no;                /* 1, 2, ... within the owner */
} billing_line_record;

/** Version 8: provider_events, the inbound provider events seen (see
 *  provider_event_insert). */
typedef struct {
	const char *tenant_id;
	const char *provider;
	const char *event_id;
	const char *type;
	int64_t received_at;
} billing_provider_event_record;

/** Sort columns of list queries. */
typedef enum {
	BILLING_SORT_CREATED = 0,  /* created_at, then id */
	BILLING_SORT_NAME,
	BILLING_SORT_EMAIL,        /* customers: email_key */
	BILLING_SORT_SKU,
	BILLING_SORT_PRICE,        /* products: price_cents */
	BILLING_SORT_CODE,
	BILLING_SORT_AMOUNT,       /* plans */
	BILLING_SORT_PERIOD_END    /* subscriptions: current_period_end */
} billing_sort_column;

/** Comparisons of a generic list filter (billing_filter.op). */
typedef enum {
	BILLING_FILTER_EQ = 1,      /* field = value */
	BILLING_FILTER_GE,          /* field >= value (integers) */
	BILLING_FILTER_LE,
	BILLING_FILTER_GT,
	BILLING_FILTER_LT,
	BILLING_FILTER_IN_SET,      /* status field in the set (billing_filter.set) */
	BILLING_FILTER_NOT_IN_SET
} billing_filter_op;

/** One condition of a generic list: field op value. */
typedef struct {
	const billing_field *field;    /* a field of the resource listed */
	billing_filter_op op;
	const char *text;              /* text fields */
	int64_t num;                   /* integer fields */
	const billing_status_set *set; /* IN_SET / NOT_IN_SET */
} billing_filter;

/**
 * A list query, already validated by the core. Rows are ordered by
 * sort_field (NULL: created_at, or the id where there is none), then by
 * id, both ascending or both descending. In keyset
 * mode (offset < 0) with has_after set, only rows strictly after
 * (after_text or after_int, after_id) in that order are returned.
 */
typedef struct {
	billing_sort_column sort;
	int descending;
	int has_after;
	const char *after_text;     /* text sort columns */
	int64_t after_int;          /* integer sort columns (created, price, amount) */
	const char *after_id;
	unsigned int limit;         /* return at most this many rows */
	int64_t offset;             /* >= 0: page mode; -1: keyset mode */
	int64_t *total;             /* non-NULL: receives the count of all matches */
	const char *search;         /* ASCII case-insensitive substring, or NULL */
	/* The named filters and sort above: the core's, which it turns into
	 * filters and sort_field below (src/core/list_filters.c) before the
	 * query reaches storage; a backend reads neither. */
	int active;                 /* 0 any, 1 active only, 2 inactive only */
	int has_min_amount;
	int64_t min_amount;
	int has_max_amount;
	int64_t max_amount;
	const char *currency;
	const char *product_id;
	const char *customer_id;
	const char *plan_id;
	const char *subscription_id;
	int status;                 /* 0: any */
	int has_period_from;        /* invoices: period_start >= period_from */
	int64_t period_from;
	int has_period_to;          /* invoices: period_start < period_to */
	int64_t period_to;
	const char *type;           /* events: exact type, or NULL */
	int has_created_after;      /* events: created_at > created_after */
	int64_t created_after;
	const char *invoice_id;     /* payments: of this invoice, or NULL (version 2) */
	const char *endpoint_id;    /* deliveries (version 3) */
	const char *event_id;       /* deliveries (version 3) */
	/* What storage reads: the conditions (all must hold) and the sort
	 * field. */
	const billing_filter *filters;
	size_t filter_count;
	const billing_field *sort_field;
	/* with_deleted: soft-deleted rows count and
	 * come back too (a count of every row that still refers to something).
	 * all_tenants: with tenant_id NULL, the rows of every tenant (a platform
	 * transaction: users by e-mail); else tenant_id NULL is refused. */
	int with_deleted;
	int all_tenants;
} billing_list_query;

/** A usage event (version 12; src/core/usage.c), as usage_insert writes
 *  it. The key is (tenant_id, transaction_id). */
typedef struct {
	const char *tenant_id;
	const char *transaction_id;  /* the client's, unique in the tenant */
	const char *event_name;
	const char *customer_id;
	const char *subscription_id; /* NULL: the customer had none */
	int64_t timestamp;           /* when the usage happened (UTC seconds) */
	const char *properties;      /* canonical JSON object text */
	int64_t received_at;
	int64_t voided_at;           /* 0: not voided */
	int64_t version;             /* 1 at insert, 2 once voided */
} billing_usage_event_record;

/** What usage_aggregate adds up (version 12): the events of one customer
 *  named event_name with timestamp in [from, to), not voided, whose
 *  properties hold every filter as a JSON string. */
typedef struct {
	const char *event_name;
	const char *customer_id;
	int64_t from;
	int64_t to;
	int aggregation;             /* 1 count, 2 sum, 3 max, 4 uniqueCount, 5 last */
	const char *value_property;  /* the property aggregated; NULL for count. The core
	                                checks it is 1-100 of [A-Za-z0-9._:-] */
	const char *const *filter_keys;   /* property names, as value_property */
	const char *const *filter_values;
	size_t filter_count;         /* at most 5 */
} billing_usage_query;

/** One resource as of a time (version 14; events_latest): the data of the
 *  latest of its events at or before that time. Strings are borrowed for
 *  the callback. */
typedef struct {
	const char *resource_id;
	const char *type;            /* the event's type ("subscription.updated") */
	const char *data;            /* the event's data: the object's JSON after the change */
	int64_t created_at;          /* when the event was written */
} billing_event_state_record;

/**
 * The storage vtable (version 14). Embed it as the first member of the
 * backend's struct. 32 methods (endpoints_version, version 10, and
 * events_latest, version 14, are optional), in four groups:
 *
 *  - lifecycle (3): free, schema_status, migrate;
 *  - transactions (4): begin, commit, rollback, set_tenant;
 *  - records (6): record_insert, record_update, record_read, record_delete,
 *    record_list and (version 11) record_insert_many: every stored billing
 *    object, described by its resource descriptor
 *    (billing/sys/resource.h), goes through these; a backend
 *    makes its statements from the descriptor and knows no object by name;
 *  - special (18), each for a reason a generic record cannot serve it:
 *    meta_get / meta_put / meta_set: platform settings (the cursor key, the
 *    last prune), outside every tenant and every descriptor;
 *    idempotency_get / idempotency_insert: the replay store, keyed by the
 *    caller's text key rather than an id;
 *    invoice_number_next: a gap-free counter, an atomic increment whose row
 *    stays locked until the transaction ends;
 *    due_set / due_clear / due_lock / due_claim / due_count /
 *    due_claim_many: the work queue of the billing run, an upsert, a lock
 *    that may skip a held row, a claim across tenants that skips what other
 *    workers hold, a count, and (version 9) the claim of a batch;
 *    provider_event_insert: an insert that reports a duplicate without
 *    failing the transaction (a unique violation aborts a PostgreSQL one);
 *    events_prune: a bounded delete of old events with their deliveries and
 *    attempts, one statement per table;
 *    usage_insert / usage_aggregate (version 12): usage events at volume,
 *    a bulk insert that reports duplicates rather than failing, and one
 *    set-based aggregate over JSON properties (the dialects differ);
 *    usage_prune (version 13): a bounded delete of old usage events, as
 *    events_prune;
 *    events_latest (version 14): each resource's state as of a time, the
 *    latest of its events, in one set-based statement (the reports).
 *
 * Version 8 is the floor: the ctx refuses an older vtable (the per-object
 * methods of versions 1 to 7 are gone; their objects are records now).
 */
struct billing_storage {
	unsigned int version;        /* BILLING_STORAGE_VERSION the backend was built for */
	const char *name;            /* "sqlite" */

	/* ---- lifecycle */

	/** Releases everything. Called by billing_ctx_close(). */
	void (*free)(billing_storage *st);
	/**
	 * Reports how many embedded migrations are not applied yet, verifying
	 * the checksum of every applied one (a mismatch is BILLING_ESTORAGE
	 * with reason "migration_checksum").
	 */
	int (*schema_status)(billing_storage *st, int *pending);
	/** Applies pending migrations in one transaction under a lock. */
	int (*migrate)(billing_storage *st, int *applied, int64_t now);

	/* ---- transactions */

	/**
	 * Starts a transaction for tenant_id (NULL for platform-level work).
	 * kind is BILLING_TXN_READ, BILLING_TXN_WRITE or BILLING_TXN_SNAPSHOT,
	 * a READ transaction that sees one snapshot. A WRITE transaction takes
	 * the write lock up front, so reads in it see the rows it will change
	 * (SQLite: BEGIN IMMEDIATE; PostgreSQL: rows read with FOR UPDATE).
	 */
	int (*begin)(billing_storage *st, billing_txn **out, const char *tenant_id,
		unsigned int kind);
	/** Commits; on failure the transaction is rolled back and ended. */
	int (*commit)(billing_txn *tx);
	/** Rolls back and ends the transaction. Cannot fail. */
	void (*rollback)(billing_txn *tx);
	/** Moves the transaction to tenant_id (after a platform claim). */
	int (*set_tenant)(billing_txn *tx, const char *tenant_id);

	/* ---- records over a resource descriptor (billing/sys/resource.h).
	 * rec points to the resource's record struct; rows reach cb as that
	 * struct, filled at the fields' offsets. The built-in backends make
	 * every statement from the descriptor (src/storage/sql/builder.c): an
	 * integer ZERO_NULL field of 0 is stored as NULL; a malformed
	 * descriptor is BILLING_ERROR "invalid_resource"; a filter or sort on a
	 * field the descriptor does not flag for it (FILTER, RANGE, SORT;
	 * IN_SET needs FILTER) is BILLING_EINVALID "invalid_filter" /
	 * "invalid_sort". A few tables have no id of their own (invoice lines,
	 * a delivery's attempts): their ID field is their owner's id, shared by
	 * the owner's rows; a list filters on it, a delete removes them all. */

	/** Inserts rec. A unique field taken: BILLING_EEXISTS naming it. */
	int (*record_insert)(billing_txn *tx, const billing_resource *res, const void *rec);
	/** Replaces the row (tenant, id) whose version is old_version and whose
	 *  FIXED fields match (a resource without a VERSION field: whatever its
	 *  version); BILLING_ESTALE when there is no such row. */
	int (*record_update)(billing_txn *tx, const billing_resource *res, const void *rec,
		int64_t old_version);
	/** The row (tenant, id), held as lock says (BILLING_LOCK_*);
	 *  BILLING_ENOTFOUND when there is none. */
	int (*record_read)(billing_txn *tx, const billing_resource *res, const char *tenant_id,
		const char *id, unsigned int lock, billing_row_cb cb, void *payload);
	/** Deletes the row (tenant, id) (an owner-keyed resource: all the
	 *  owner's rows); BILLING_ENOTFOUND when there is none;
	 *  BILLING_ECONFLICT "referenced" when another row still points at it. */
	int (*record_delete)(billing_txn *tx, const billing_resource *res, const char *tenant_id,
		const char *id);
	/** The rows of the tenant that meet q (filters, search, sort, keyset
	 *  or page; never soft-deleted ones unless q->with_deleted; every
	 *  tenant's with q->all_tenants); *q->total receives the count, and a
	 *  limit of 0 with a total reads no row. The named filters of q are
	 *  the core's: a backend ignores them. */
	int (*record_list)(billing_txn *tx, const billing_resource *res, const char *tenant_id,
		const billing_list_query *q, billing_row_cb cb, void *payload);

	/* ---- special operations */

	/** Platform metadata: a value for key, or BILLING_ENOTFOUND. */
	int (*meta_get)(billing_txn *tx, const char *key, char *buf, size_t size);
	/** Inserts key = value unless key exists (then leaves it). */
	int (*meta_put)(billing_txn *tx, const char *key, const char *value);
	/** Sets key = value, replacing any value. */
	int (*meta_set)(billing_txn *tx, const char *key, const char *value);

	/** BILLING_ENOTFOUND when (tenant, key) is unused. */
	int (*idempotency_get)(billing_txn *tx, const char *tenant_id, const char *key,
		billing_row_cb cb, void *payload);
	/** A key used already: BILLING_EEXISTS naming "idempotencyKey", from
	 *  this call or, where the backend sends the insert with the commit
	 *  (PostgreSQL), from commit. The core writes the key with the result
	 *  of a create and looks it up only when that fails (core/entity.c). */
	int (*idempotency_insert)(billing_txn *tx, const billing_idempotency_record *rec);

	/** The tenant's next invoice number (1, 2, ...), taken in tx: the counter
	 *  row stays locked until tx ends, so numbers have no gaps. */
	int (*invoice_number_next)(billing_txn *tx, const char *tenant_id, int64_t *number);

	/** Sets (inserts or moves) the due time of a resource's work. */
	int (*due_set)(billing_txn *tx, const billing_due_record *rec);
	/** Removes it; no error when there is none. */
	int (*due_clear)(billing_txn *tx, const char *tenant_id, const char *kind,
		const char *resource_id);
	/**
	 * In a WRITE transaction, locks the row of due work (tenant, kind,
	 * resource) until the transaction ends, waiting for a transaction that
	 * holds it (due_claim holds the row it claims): BILLING_OK, or
	 * BILLING_ENOTFOUND when there is no such row. With skip_locked, a row
	 * another transaction holds counts as none, without waiting (PostgreSQL:
	 * FOR UPDATE SKIP LOCKED). In a READ transaction: BILLING_OK, nothing
	 * read or locked.
	 */
	int (*due_lock)(billing_txn *tx, const char *tenant_id, const char *kind,
		const char *resource_id, int skip_locked);
	/**
	 * In a platform transaction: the earliest work due at or before now that
	 * no other transaction holds, locked for this one (PostgreSQL: FOR UPDATE
	 * SKIP LOCKED). BILLING_ENOTFOUND when there is none.
	 */
	int (*due_claim)(billing_txn *tx, int64_t now, billing_row_cb cb, void *payload);
	/** How much work is due at or before now. */
	int (*due_count)(billing_txn *tx, int64_t now, int64_t *count);

	/** Records an inbound provider event; BILLING_EEXISTS when it was seen,
	 *  without failing the transaction (PostgreSQL would abort it on a
	 *  unique violation: ON CONFLICT DO NOTHING). */
	int (*provider_event_insert)(billing_txn *tx, const char *tenant_id, const char *provider,
		const char *event_id, const char *type, int64_t received_at);

	/** Deletes up to limit of the tenant's events created before before, with
	 *  their deliveries and attempts; *deleted receives how many events. */
	int (*events_prune)(billing_txn *tx, const char *tenant_id, int64_t before,
		unsigned int limit, int64_t *deleted);

	/**
	 * Version 9. As due_claim, up to limit items at once (limit >= 1), in
	 * the order due_claim takes them (due_at, tenant, kind, resource), all
	 * locked for this transaction (PostgreSQL: FOR UPDATE SKIP LOCKED, one
	 * statement). cb may stop the rows early by returning > 0; the rows
	 * already read stay locked all the same. BILLING_ENOTFOUND when nothing
	 * is due. The billing run renews a batch of subscriptions in one
	 * transaction with it (src/core/run.c).
	 */
	int (*due_claim_many)(billing_txn *tx, int64_t now, unsigned int limit,
		billing_row_cb cb, void *payload);

	/**
	 * Version 10, optional (NULL: the outbox reads the tenant's enabled
	 * endpoints for every event). The tenant's endpoints version as this
	 * transaction sees it: a number that changes whenever any of the
	 * tenant's webhook endpoints changes, committed by any process, so the
	 * outbox may keep the enabled endpoints it read under it. *version -1:
	 * do not cache (this transaction changed an endpoint itself). The
	 * PostgreSQL backend reads it with a write transaction's BEGIN.
	 */
	int (*endpoints_version)(billing_txn *tx, const char *tenant_id, int64_t *version);

	/**
	 * Version 11. Inserts the count records recs[0..count) of res, as
	 * record_insert would one by one, in as few statements as the backend
	 * can (the built-in ones: one statement per 500 rows). All or nothing
	 * within the transaction: on failure none of them is kept once the
	 * transaction rolls back (the caller rolls it back; a PostgreSQL
	 * transaction is aborted anyway). A unique field taken: BILLING_EEXISTS
	 * naming it; a NULL record: BILLING_EINVALID; count 0: BILLING_OK, nothing
	 * done. The billing run writes the invoices, lines, events and webhook
	 * deliveries of a batch of renewals with it (src/core/store.c).
	 */
	int (*record_insert_many)(billing_txn *tx, const billing_resource *res,
		const void *const *recs, size_t count);

	/**
	 * Version 12. Inserts the usage events recs[0..count) (all of one
	 * tenant, transaction ids distinct) in as few statements as the backend
	 * can: a bulk path, not record_insert_many, because a transaction id
	 * already stored is no error but a duplicate to report, and a unique
	 * violation would abort a PostgreSQL transaction (the built-in
	 * backends: multi-row INSERT ... ON CONFLICT DO NOTHING RETURNING, 500
	 * rows a statement). inserted[i] receives 1 when recs[i] was written,
	 * 0 when its transaction id was stored already. On failure nothing is
	 * kept once the caller rolls the transaction back.
	 */
	int (*usage_insert)(billing_txn *tx, const billing_usage_event_record *recs, size_t count,
		unsigned char *inserted);

	/**
	 * Version 12. The aggregate of q over the tenant's usage events, in one
	 * set-based statement: *value (count: the events; sum, max, last: of
	 * the integer property, events whose property is not a JSON integer
	 * left out; uniqueCount: distinct values of it, as text) and *events
	 * (the events counted). No events: both 0.
	 */
	int (*usage_aggregate)(billing_txn *tx, const char *tenant_id, const billing_usage_query *q,
		int64_t *value, int64_t *events);

	/**
	 * Version 13. Deletes up to limit (>= 1) of the tenant's usage events
	 * whose timestamp is before before, oldest first; *deleted receives how
	 * many. On failure nothing is deleted once the caller rolls the
	 * transaction back. billing_usage_prune calls it until it deletes fewer
	 * than limit (src/core/usage.c).
	 */
	int (*usage_prune)(billing_txn *tx, const char *tenant_id, int64_t before,
		unsigned int limit, int64_t *deleted);

	/**
	 * Version 14, optional (NULL: the reports are BILLING_EINVALID
	 * "not_supported"). For every resource of resource_type ("subscription",
	 * "plan") of the tenant that has an event created at or before at, the
	 * latest such event (by created_at, then id: ids of one second are in
	 * the order they were made), one row each as a
	 * billing_event_state_record, in resource id order. One set-based
	 * statement (the built-in backends: ROW_NUMBER() over the events of
	 * the tenant and type). Nothing read: BILLING_OK. The reports rebuild
	 * subscriptions and plans as they were at a past time from it
	 * (src/core/report.c, docs/reports.md).
	 */
	int (*events_latest)(billing_txn *tx, const char *tenant_id, const char *resource_type,
		int64_t at, billing_row_cb cb, void *payload);

	/* later versions append methods here */
};

/* Error helpers for backends: set the thread's error and return code. */
BILLING_EXTERN(int) billing_storage_error(int code, const char *reason, const char *message);
BILLING_EXTERN(int) billing_storage_error_field(int code, const char *reason,
	const char *field, const char *message);

BILLING_END_DECL

#endif

/*
 * What the core's modules share: the context, the permission table, the
 * transaction helpers, field validation, metadata, pages and idempotency.
 */
#ifndef BILLING_CORE_CORE_H
#define BILLING_CORE_CORE_H

#include <stdbool.h>
#include <stdint.h>

#include "billing/billing.h"
#include "billing/sys/storage.h"
#include "billing/sys/transport.h"
#include "core/alloc.h"
#include "core/errors.h"
#include "core/ids.h"

/* ------------------------------------------------------------ context */

#include <pthread.h>

#define BILLING__MAX_SUBSCRIBERS 16

typedef struct {
	billing_event_fn fn;
	void *user_data;
} billing__subscriber;

struct billing_ctx {
	billing_storage *st;
	billing_clock_fn clock;
	void *clock_payload;
	billing_log_fn logger;
	void *logger_payload;
	billing_log_level log_level;
	unsigned int default_page_size;
	unsigned int max_page_size;
	struct billing__hmac_key *cursor_mac; /* signs list cursors; key kept in the database */
	int schema_current;         /* no pending migrations */
	billing_provider *provider; /* NULL: no collection */
	/* version 3 options */
	int webhook_allow_http;
	int webhook_allow_private;
	long webhook_timeout_ms;
	int64_t event_retention;    /* seconds; 0: kept for ever */
	billing_transport *transport; /* version 4; NULL: billing_transport_default() */
	pthread_mutex_t subscribers_mu;
	billing__subscriber subscribers[BILLING__MAX_SUBSCRIBERS];
	size_t subscriber_count;    /* read without the lock: it only grows */
};

int64_t billing__now(billing_ctx *ctx);

/* billing_check() of one tenant (the fault-injection tests). */
int billing__check_tenant(billing_ctx *ctx, const char *tenant_id, billing_check_fn fn,
	void *user_data, int64_t *problems);
void billing__log(billing_ctx *ctx, billing_log_level level, const char *fmt, ...)
	BILLING__PRINTF(3, 4);

/* BILLING_OK when the schema is current, else BILLING_ESTORAGE. */
int billing__ready(billing_ctx *ctx);

/* Starts a transaction; sets the error on failure. */
int billing__begin(billing_txn **tx, billing_ctx *ctx, const char *tenant_id, unsigned int kind);

/* Ends tx: commits when rc >= 0, else rolls back. Returns rc or the commit's
 * failure. Inline, so that "a failure stays a failure" is visible to static
 * analysis of the calling file (see billing__error_set). */
int billing__end_txn(billing_ctx *ctx, billing_txn *tx, int rc);
static inline int billing__end(billing_ctx *ctx, billing_txn *tx, int rc)
{
	int ended = billing__end_txn(ctx, tx, rc);
	return rc < 0 ? rc : ended;
}

/*
 * A write that PostgreSQL aborted for a serialization failure or a deadlock
 * did nothing and may simply run again: the public write calls run their
 * body through BILLING__RETRY, up to BILLING__RETRIES times in all.
 */
#define BILLING__RETRIES 3
bool billing__retryable(int rc);
#define BILLING__RETRY(call) do { \
		int rc_, n_ = 0; \
		do \
			rc_ = (call); \
		while (billing__retryable(rc_) && ++n_ < BILLING__RETRIES); \
		return rc_; \
	} while (0)

/* ------------------------------------------------------------ lock order */

/*
 * On PostgreSQL a get in a write transaction locks its row (FOR UPDATE)
 * until the transaction ends; two transactions that take the same rows in
 * different orders deadlock, one of them is rolled back after the server's
 * deadlock timeout (a second) and BILLING__RETRY runs it again. SQLite's
 * write transaction holds the database lock, so none of this arises there.
 * Every write takes the rows it locks in this order:
 *
 *  1. The due work the billing run claims (due_claim: FOR UPDATE SKIP
 *     LOCKED, so the claim itself never waits).
 *  2. For each resource it changes, the resource's own due work before the
 *     resource: a subscription's "subscription" row, an invoice's "collect"
 *     row (billing__due_lock, called by the subscription and invoice
 *     entities' gets). The run holds the row it claimed while it reads the
 *     resource; a call that changes the resource and then reschedules it
 *     would otherwise hold the resource while waiting for that row. A call
 *     that only offers to do the run's work (the collection right after a
 *     call) skips a row the run holds instead of waiting for it.
 *  3. Resources along the chain payment -> invoice -> subscription (the
 *     answer to a payment moves its invoice, which moves its subscription),
 *     each with its due work first (2). Paths that start from a
 *     subscription only ever lock the invoices they insert.
 *  4. The tenant's invoice counter (invoice_number_next), which every new
 *     invoice takes and holds to the end: after it, only new rows and rows
 *     read without a lock.
 *
 * Rows a write depends on but does not change are not locked for update
 * (the *_read helpers below): a plan is read FOR SHARE, which keeps a plan
 * delete (which counts the plan's live subscriptions under its own lock)
 * and a plan update waiting until the subscription is written, while any
 * number of subscription writes share the plan. Products and customers are
 * read without a lock: a product cannot be deleted while a plan uses it, a
 * customer not while a subscription or invoice refers to it (the foreign
 * keys refuse it), and what a write copies from them (a tax rate, a payment
 * method) is a snapshot the write may take from either side of a
 * concurrent update.
 */

/* Storage before version 4 has no *_read methods: its gets lock for update. */
static inline int billing__customer_read(billing_storage *st, billing_txn *tx,
	const char *tenant_id, const char *id, unsigned int lock, billing_row_cb cb, void *payload)
{
	return st->version >= 4 ? st->customer_read(tx, tenant_id, id, lock, cb, payload) :
		st->customer_get(tx, tenant_id, id, cb, payload);
}

static inline int billing__product_read(billing_storage *st, billing_txn *tx,
	const char *tenant_id, const char *id, unsigned int lock, billing_row_cb cb, void *payload)
{
	return st->version >= 4 ? st->product_read(tx, tenant_id, id, lock, cb, payload) :
		st->product_get(tx, tenant_id, id, cb, payload);
}

static inline int billing__plan_read(billing_storage *st, billing_txn *tx,
	const char *tenant_id, const char *id, unsigned int lock, billing_row_cb cb, void *payload)
{
	return st->version >= 4 ? st->plan_read(tx, tenant_id, id, lock, cb, payload) :
		st->plan_get(tx, tenant_id, id, cb, payload);
}

/* Locks the due work (kind, resource) of the transaction's tenant, step 2
 * above: BILLING_OK also when there is none. With skip_locked,
 * BILLING_ENOTFOUND when there is none or another transaction holds it. */
static inline int billing__due_lock(billing_storage *st, billing_txn *tx, const char *tenant_id,
	const char *kind, const char *resource_id, int skip_locked)
{
	int rc;
	if (st->version < 4)
		return BILLING_OK;
	rc = st->due_lock(tx, tenant_id, kind, resource_id, skip_locked);
	return rc == BILLING_ENOTFOUND && !skip_locked ? BILLING_OK : rc;
}

/* ------------------------------------------------------------ permissions */

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

/* ------------------------------------------------------------ validation */

enum {
	BILLING__TEXT_REQUIRED = 1 << 0, /* NULL is an error */
	BILLING__TEXT_MULTILINE = 1 << 1 /* \n \r \t allowed (descriptions) */
};

/*
 * Validates a text field: UTF-8, no control characters, trimmed, between
 * min and max characters. On success *out is a new trimmed copy (NULL when
 * value is NULL and not required). A failure is recorded in c. Returns
 * BILLING_ENOMEM only when a copy cannot be made.
 */
int billing__check_text(billing__checks *c, const char *field, const char *value,
	unsigned int flags, size_t min, size_t max, char **out);

/* An id from the caller: well-formed for its prefix. Ill-formed ids are
 * treated as naming nothing (the caller decides what that means). */
bool billing__id_arg_ok(const char *id, const char *prefix);

/* ------------------------------------------------------------ metadata */

typedef struct {
	size_t count;
	billing_metadata_entry *entries; /* keys in byte order */
	char *storage;                   /* the strings, one block */
} billing__metadata;

/* Validates entries (limits in common.h) into canonical JSON (keys sorted,
 * duplicates an error). *json is new; "{}" when n == 0. */
int billing__metadata_encode(billing__checks *c, const billing_metadata_entry *entries,
	size_t n, char **json);

/* Loads canonical JSON (from storage) for the getters. */
int billing__metadata_decode(billing__metadata *m, const char *json);
void billing__metadata_free(billing__metadata *m);
const char *billing__metadata_get(const billing__metadata *m, const char *key);

/* ------------------------------------------------------------ pages */

typedef enum {
	BILLING__PAGE_TENANT = 1,
	BILLING__PAGE_CUSTOMER,
	BILLING__PAGE_PRODUCT,
	BILLING__PAGE_PLAN,
	BILLING__PAGE_SUBSCRIPTION,
	BILLING__PAGE_INVOICE,
	BILLING__PAGE_EVENT,
	BILLING__PAGE_PAYMENT,
	BILLING__PAGE_WEBHOOK_ENDPOINT,
	BILLING__PAGE_WEBHOOK_DELIVERY,
	BILLING__PAGE_AUDIT,
	BILLING__PAGE_RECORD         /* owned records of page->res */
} billing__page_kind;

struct billing_page {
	billing__page_kind kind;
	size_t count;
	size_t cap;
	void **items;
	void (*free_item)(void *item);
	int has_more;
	char *next_cursor;
	int64_t total;
	unsigned int limit;
	unsigned int number;
	const billing_resource *res; /* BILLING__PAGE_RECORD: whose records */
};

/* A sort the list allows: the public name and the storage column. */
typedef struct {
	const char *name;            /* "createdAt" */
	billing_sort_column column;
	bool is_text;
} billing__sort_spec;

/* The state of one list call between validation and the page. */
typedef struct {
	billing_ctx *ctx;
	billing_page *page;
	billing_list_query q;
	const billing__sort_spec *sort;
	const char *tenant_id;
	char filter_sig[17];
	char after_id[BILLING_ID_MAX];
	char *after_text;
	char *search;
	unsigned int limit;
	/* optional: runs first in the list's transaction (a filter's id must
	 * name something in the tenant) */
	int (*check)(const void *payload, billing_ctx *ctx, billing_txn *tx);
	const void *check_payload;
	/* turn a record into an item, and read its sort key back */
	void *(*from_record)(const void *record);
	void (*sort_key)(const void *item, const char **text, int64_t *num, const char **id);
	/* Instead of the two above, for a descriptor object: items are owned
	 * records of res (billing__record_dup), sorted by q.sort_field. */
	const billing_resource *res;
} billing__list;

/*
 * Validates params and fills l->q. filters is a text that identifies the
 * filters in force (a cursor only works with the same filters).
 * sorts ends with a { NULL } entry; its first entry is the default.
 */
int billing__list_begin(billing__list *l, billing_ctx *ctx, const char *tenant_id,
	const billing_list_params *params, const billing__sort_spec *sorts,
	const char *filters, billing__page_kind kind, void (*free_item)(void *));

/* The row callback that storage calls; appends to l->page. */
int billing__list_row(void *payload, const void *record);

/* Trims the extra row, sets has_more, the cursor and page numbers; on rc < 0
 * frees everything. Hands the page to *out on success. */
int billing__list_end(billing__list *l, int rc, billing_page **out);

/* Checks a page item's kind for the typed accessors. */
const void *billing__page_item(const billing_page *page, billing__page_kind kind, size_t i);

/* ------------------------------------------------------------ idempotency */

typedef struct {
	const char *key;        /* NULL: none */
	billing__op op;
	char hash[65];          /* of the normalized input */
	char op_name[64];       /* the operation's name, stored with the key */
	bool replay;            /* set by check: the key was used before */
	int *replayed_out;      /* the caller's billing_call_options.replayed */
	char resource_id[BILLING_ID_MAX];
} billing__idem;

/* Validates opts and prepares i (input hash from the digest of text). */
int billing__idem_init(billing__idem *i, const billing_call_options *opts, billing__op op,
	const char *input_text, size_t input_len);

/* Inside the transaction: looks the key up. A match sets i->replay and
 * i->resource_id; a key used with other input is BILLING_ECONFLICT. */
int billing__idem_check(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	billing__idem *i);

/* Inside the transaction, after the change: records the key. */
int billing__idem_record(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	billing__idem *i, const char *resource_id);

/* A growable text that collects a call's normalized input for the hash. */
typedef struct {
	char *s;
	size_t len, cap;
	bool failed;
} billing__buf;

void billing__buf_add(billing__buf *b, const char *field, const char *value);
void billing__buf_add_i64(billing__buf *b, const char *field, int64_t value);
void billing__buf_free(billing__buf *b);

/* As billing__idem_init, with the input gathered in b (freed here). */
int billing__idem_init_buf(billing__idem *i, const billing_call_options *opts, billing__op op,
	billing__buf *b);

/* As billing__idem_init_buf, for an operation outside the billing__op
 * table (a descriptor's "tax_rates.create"): name is its name. */
int billing__idem_init_named(billing__idem *i, const billing_call_options *opts,
	const char *name, billing__buf *b);

/* ------------------------------------------------------------ copying */

/* Captures the one row of a get as an item made by from_record. */
typedef struct {
	void *(*from_record)(const void *record);
	void *item;
} billing__capture;

int billing__capture_row(void *payload, const void *record);

/* "no such <what>" as BILLING_ENOTFOUND (a macro for the reason given at
 * billing__error_set). */
#define billing__not_found(what) \
	billing__error_set(BILLING_ENOTFOUND, "not_found", "no such %s in this tenant", (what))

/*
 * An entity and its strings in one allocation: size the strings with
 * billing__strsize, allocate sizeof(entity) + the sum, then copy each with
 * billing__strpack_put into the space after the struct. NULL stays NULL.
 */
typedef struct {
	char *next;
} billing__strpack;

size_t billing__strsize(const char *s);
char *billing__strpack_put(billing__strpack *p, const char *s);

#endif

/**
 * @file billing/ctx.h
 * @brief Opening a library context on a storage backend.
 *
 * A context is one database, a clock and a logger. It is thread-safe: any
 * number of threads may make domain calls on one context at once.
 *
 * @code
 * billing_ctx *ctx = NULL;
 * if (billing_ctx_open_url(&ctx, "sqlite:billing.db", NULL) < 0 ||
 *     billing_migrate(ctx) < 0)
 *         fprintf(stderr, "%s\n", billing_error_last()->message);
 * ...
 * billing_ctx_close(ctx);
 * @endcode
 */
#ifndef BILLING_CTX_H
#define BILLING_CTX_H

#include "common.h"

BILLING_BEGIN_DECL

typedef struct billing_storage billing_storage;

/** Returns the current time as UTC seconds since the epoch. */
typedef int64_t (*billing_clock_fn)(void *payload);

typedef enum {
	BILLING_LOG_ERROR = 1,
	BILLING_LOG_WARN = 2,
	BILLING_LOG_INFO = 3,
	BILLING_LOG_DEBUG = 4
} billing_log_level;

/** Receives the library's log lines. Never passed secrets. May be called
 *  from any thread that calls into the context. */
typedef void (*billing_log_fn)(void *payload, billing_log_level level, const char *message);

typedef struct billing_provider billing_provider;
typedef struct billing_event billing_event;

/** An in-process event subscriber (billing_ctx_subscribe in billing/event.h). */
typedef void (*billing_event_fn)(void *user_data, const billing_event *event);

#define BILLING_CTX_OPTIONS_VERSION 6

/** Options for billing_ctx_open(). Zero means default. */
typedef struct {
	unsigned int version;        /**< BILLING_CTX_OPTIONS_VERSION */
	/** Required by billing_ctx_open(); the context owns it once the open
	 *  succeeds (on failure it stays the caller's). Must be NULL for
	 *  billing_ctx_open_url(), which makes its own. */
	billing_storage *storage;
	billing_clock_fn clock;      /**< NULL: the system's UTC clock */
	void *clock_payload;
	billing_log_fn logger;       /**< NULL: no logging */
	void *logger_payload;
	billing_log_level log_level; /**< 0: BILLING_LOG_INFO */
	unsigned int default_page_size; /**< 0: 20 */
	unsigned int max_page_size;     /**< 0: 100 (also the upper bound) */
	/** Version 2. The payment provider (billing/providers.h), or NULL: then
	 *  invoices are not collected and billing_invoice_pay() is
	 *  BILLING_ECONFLICT "no_provider". The context owns it once the open
	 *  succeeds (on failure it stays the caller's). */
	billing_provider *provider;
	/** Version 3. Webhook endpoints may use http:// URLs (development). */
	int webhook_allow_http;
	/** Version 3. Webhook deliveries may go to loopback, private, link-local
	 *  and metadata addresses (tests, private networks). */
	int webhook_allow_private;
	/** Version 3. A delivery's whole time limit; 0: 15000 (connect: 5000). */
	long webhook_timeout_ms;
	/** Version 3. Seconds events are kept; 0: for ever. Older ones are pruned
	 *  by billing_run_due(), with their deliveries. */
	int64_t event_retention;
	/** Version 4. How webhook deliveries are sent (billing/sys/transport.h),
	 *  or NULL: libcurl, billing_transport_default(). Borrowed: it must
	 *  outlive the context. The Stripe provider takes its own
	 *  (billing_stripe_options.transport). */
	struct billing_transport *transport;
	/** Version 5. Seconds a payment may await the customer's action (3-D
	 *  Secure, status requires_action) before the billing run cancels it
	 *  at the provider and records it failed, authentication_expired, so
	 *  that dunning goes on; 0: 23 hours (Stripe's own limit for an
	 *  incomplete subscription's first invoice). At least 60. A tenant's
	 *  own time overrides it (billing_dunning_set_action_expiry). */
	int64_t payment_action_expiry;
	/** Version 6. The host's key (32 bytes, copied) that seals tenants'
	 *  provider secrets at rest (billing/provider_account.h), or NULL: a
	 *  tenant's own keys and webhook secrets are then refused. */
	const unsigned char *secrets_key;
	/** Version 6. The previous key while rotating (32 bytes, copied), or
	 *  NULL: still opens what it sealed; every write seals with secrets_key. */
	const unsigned char *secrets_key_old;
	/* later versions append fields here, never between */
} billing_ctx_options;

#define BILLING_CTX_OPTIONS_INIT { BILLING_CTX_OPTIONS_VERSION, 0, 0, 0, 0, 0, 0, 0, 0, 0, \
	0, 0, 0, 0, 0, 0, 0, 0 }

/**
 * Opens a context on a storage backend. Does not change the schema: call
 * billing_migrate() to bring the database up to date (domain calls on an
 * outdated schema fail with BILLING_ESTORAGE, reason "schema_outdated").
 * The checksums of already applied migrations are verified here.
 *
 * @param out  receives the new context (caller closes it)
 * @return BILLING_OK; BILLING_EINVALID for a NULL/unknown options version
 *         or missing storage; BILLING_ESTORAGE if the storage cannot be read
 *         or an applied migration was changed (reason "migration_checksum")
 */
BILLING_EXTERN(int) billing_ctx_open(billing_ctx **out, const billing_ctx_options *opts);

/**
 * Opens a context from a URL: "sqlite:PATH" (a file, created if missing),
 * "sqlite::memory:" (a private in-memory database), "postgres://..." or
 * "postgresql://..." (a libpq URI), or "postgres:" followed by a libpq
 * key=value conninfo ("postgres:host=/run/pg dbname=billing").
 *
 * @param opts NULL for defaults, or options whose storage is NULL
 * @return as billing_ctx_open(); BILLING_EINVALID for an unknown scheme
 */
BILLING_EXTERN(int) billing_ctx_open_url(billing_ctx **out, const char *url,
	const billing_ctx_options *opts);

/** Closes the context and its storage. Accepts NULL. No call may be in
 *  progress on the context. */
BILLING_EXTERN(void) billing_ctx_close(billing_ctx *ctx);

/** Frees a storage that no context owns: one made by a backend's
 *  constructor (billing_sqlite_storage_new() in billing/sqlite.h,
 *  billing_postgres_storage_new() in billing/postgres.h) that was never
 *  handed to billing_ctx_open(), or whose open failed. Accepts NULL. */
BILLING_EXTERN(void) billing_storage_free(billing_storage *storage);

/**
 * Applies the embedded migrations the database has not seen yet, in order,
 * in one transaction, under the backend's lock so that two processes
 * starting together migrate once.
 *
 * @return BILLING_OK (also when nothing was pending); BILLING_ESTORAGE
 */
BILLING_EXTERN(int) billing_migrate(billing_ctx *ctx);

/** The context's current time (its clock), UTC seconds. */
BILLING_EXTERN(int64_t) billing_ctx_now(billing_ctx *ctx);

BILLING_END_DECL

#endif

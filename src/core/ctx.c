/*
 * Opening and closing a context, migrations, logging and the transaction
 * helpers every domain call goes through.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core/core.h"
#include "billing/sys/provider.h"
#include "core/encode.h"
#include "core/events.h"
#include "core/webhook_internal.h"

void billing__log(billing_ctx *ctx, billing_log_level level, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	if (!ctx->logger || level > ctx->log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	ctx->logger(ctx->logger_payload, level, line);
}

int billing__ready(billing_ctx *ctx)
{
	if (__atomic_load_n(&ctx->schema_current, __ATOMIC_ACQUIRE))
		return BILLING_OK;
	return billing__error_set(BILLING_ESTORAGE, "schema_outdated",
		"the database schema is not current; call billing_migrate()");
}

int billing__begin(billing_txn **tx, billing_ctx *ctx, const char *tenant_id, unsigned int kind)
{
	int rc = billing__ready(ctx);
	if (rc < 0)
		return rc;
	billing__events_txn_begin();   /* nothing of an earlier transaction is left */
	return ctx->st->begin(ctx->st, tx, tenant_id, kind);
}

bool billing__retryable(int rc)
{
	const char *reason;
	if (rc != BILLING_EBUSY)
		return false;
	reason = billing_error_last()->reason;
	return strcmp(reason, "serialization_failure") == 0 || strcmp(reason, "deadlock") == 0;
}

/* A deadlock or a serialization failure is logged even when a retry then
 * succeeds: it means two paths took the same rows in different orders
 * (see the lock order in txn.h), which costs the database's deadlock
 * timeout each time. */
static void log_retryable(billing_ctx *ctx, int rc)
{
	if (billing__retryable(rc))
		billing__log(ctx, BILLING_LOG_WARN, "transaction rolled back (%s): %s",
			billing_error_last()->reason, billing_error_last()->message);
}

int billing__end_txn(billing_ctx *ctx, billing_txn *tx, int rc)
{
	if (rc < 0) {
		/* Keep the error the call failed with: rollback sets none. */
		ctx->st->rollback(tx);
		billing__events_txn_end(ctx, 0);
		log_retryable(ctx, rc);
		return rc;
	}
	if (billing__storage_fault()) {
		/* An injected commit failure: the backend's own failure path. */
		ctx->st->rollback(tx);
		billing__events_txn_end(ctx, 0);
		return billing__error_set(BILLING_ESTORAGE, "injected", "injected commit failure");
	}
	rc = ctx->st->commit(tx);
	billing__events_txn_end(ctx, rc == BILLING_OK);
	log_retryable(ctx, rc);
	return rc;
}

/* 0 to 15 for a lower-case hex digit (as billing__hex_encode writes), else -1. */
static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The key that signs list cursors lives in the database, so cursors from
 * one process work in another sharing it. Made once, by whoever is first. */

static int load_cursor_key(billing_ctx *ctx)
{
	char hex[65];
	uint8_t key[32];
	billing_txn *tx;
	int rc, i;
	billing__hmac_key *mac;

	if ((rc = ctx->st->begin(ctx->st, &tx, NULL, BILLING_TXN_WRITE)) < 0)
		return rc;
	rc = ctx->st->meta_get(tx, "cursor_key", hex, sizeof(hex));
	if (rc == BILLING_ENOTFOUND) {
		if (billing__random_bytes(key, sizeof(key)) < 0) {
			ctx->st->rollback(tx);
			return billing__error_set(BILLING_ERROR, NULL, "no randomness for the cursor key");
		}
		billing__hex_encode(hex, key, sizeof(key));
		if ((rc = ctx->st->meta_put(tx, "cursor_key", hex)) == BILLING_OK)
			rc = ctx->st->meta_get(tx, "cursor_key", hex, sizeof(hex));
	}
	if ((rc = billing__end(ctx, tx, rc)) < 0)
		return rc;
	if (strlen(hex) != 64)
		return billing__error_set(BILLING_ESTORAGE, "storage", "malformed cursor key in database");
	for (i = 0; i < 32; i++) {
		int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return billing__error_set(BILLING_ESTORAGE, "storage",
				"malformed cursor key in database");
		key[i] = (uint8_t)(hi << 4 | lo);
	}
	if ((mac = billing__hmac_key_new(key, sizeof(key))) == NULL)
		return billing__error_set(BILLING_ERROR, NULL, "cannot prepare the cursor key");
	billing__hmac_key_free(ctx->cursor_mac);
	ctx->cursor_mac = mac;
	return BILLING_OK;
}

static int after_schema_current(billing_ctx *ctx)
{
	int rc = load_cursor_key(ctx);
	if (rc == BILLING_OK)
		__atomic_store_n(&ctx->schema_current, 1, __ATOMIC_RELEASE);
	return rc;
}

int billing_ctx_open(billing_ctx **out, const billing_ctx_options *opts)
{
	billing_ctx *ctx;
	int rc, pending = 0;

	BILLING__ASSERT_ARG(out, "out");
	BILLING__ASSERT_ARG(opts, "opts");
	if (opts->version == 0 || opts->version > BILLING_CTX_OPTIONS_VERSION)
		return billing__error_field(BILLING_EINVALID, "invalid_version", "version",
			"unknown billing_ctx_options version %u", opts->version);
	if (!opts->storage)
		return billing__error_field(BILLING_EINVALID, "invalid", "storage",
			"a storage backend is required");
	if (opts->storage->version == 0 || opts->storage->version > BILLING_STORAGE_VERSION)
		return billing__error_field(BILLING_EINVALID, "invalid_version", "storage",
			"storage vtable version %u is not supported", opts->storage->version);
	if (opts->storage->version < BILLING__STORAGE_VERSION_MIN)
		return billing__error_field(BILLING_EINVALID, "invalid_version", "storage",
			"storage vtable version %u is older than %u, the oldest this library "
			"supports (the narrow vtable of records and special operations)", opts->storage->version,
			BILLING__STORAGE_VERSION_MIN);
	if (opts->max_page_size > 100 || opts->default_page_size > 100 ||
	    (opts->max_page_size && opts->default_page_size > opts->max_page_size))
		return billing__error_field(BILLING_EINVALID, "invalid", "maxPageSize",
			"page sizes must be at most 100 and default <= max");
	if (opts->log_level > BILLING_LOG_DEBUG)
		return billing__error_field(BILLING_EINVALID, "invalid", "logLevel",
			"unknown log level %d", (int)opts->log_level);

	if ((ctx = billing__calloc(1, sizeof(*ctx))) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	ctx->st = opts->storage;
	ctx->clock = opts->clock;
	ctx->clock_payload = opts->clock_payload;
	ctx->logger = opts->logger;
	ctx->logger_payload = opts->logger_payload;
	ctx->log_level = opts->log_level ? opts->log_level : BILLING_LOG_INFO;
	ctx->max_page_size = opts->max_page_size ? opts->max_page_size : 100;
	ctx->default_page_size = opts->default_page_size ? opts->default_page_size :
		(ctx->max_page_size < 20 ? ctx->max_page_size : 20);
	ctx->provider = opts->version >= 2 ? opts->provider : NULL;
	if (opts->version >= 3) {
		if (opts->webhook_timeout_ms < 0 || opts->event_retention < 0) {
			billing__free(ctx);
			return billing__error_field(BILLING_EINVALID, "invalid",
				opts->event_retention < 0 ? "eventRetention" : "webhookTimeoutMs",
				"must not be negative");
		}
		ctx->webhook_allow_http = opts->webhook_allow_http != 0;
		ctx->webhook_allow_private = opts->webhook_allow_private != 0;
		ctx->webhook_timeout_ms = opts->webhook_timeout_ms;
		ctx->event_retention = opts->event_retention;
	}
	if (opts->version >= 4 && opts->transport &&
	    (opts->transport->version == 0 || opts->transport->version > BILLING_TRANSPORT_VERSION ||
	     !opts->transport->send || !opts->transport->release)) {
		billing__free(ctx);
		return billing__error_field(BILLING_EINVALID, "invalid", "transport",
			"transport vtable version %u is not supported, or a method is missing",
			opts->transport->version);
	}
	ctx->transport = opts->version >= 4 ? opts->transport : NULL;
	if (opts->version >= 5) {
		if (opts->payment_action_expiry != 0 && opts->payment_action_expiry < 60) {
			billing__free(ctx);
			return billing__error_field(BILLING_EINVALID, "invalid",
				"paymentActionExpiry", "at least 60 seconds, or 0 for 23 hours");
		}
		ctx->payment_action_expiry = opts->payment_action_expiry;
	}
	if (opts->version >= 6 && opts->secrets_key) {
		memcpy(ctx->secrets_key, opts->secrets_key, sizeof(ctx->secrets_key));
		ctx->has_secrets_key = 1;
	}
	if (opts->version >= 6 && opts->secrets_key_old) {
		memcpy(ctx->secrets_key_old, opts->secrets_key_old, sizeof(ctx->secrets_key_old));
		ctx->has_secrets_key_old = 1;
	}
	pthread_mutex_init(&ctx->subscribers_mu, NULL);
	pthread_mutex_init(&ctx->circuit_mu, NULL);

	if ((rc = ctx->st->schema_status(ctx->st, &pending)) < 0)
		goto fail;
	if (pending == 0 && (rc = after_schema_current(ctx)) < 0)
		goto fail;
	if (pending)
		billing__log(ctx, BILLING_LOG_INFO, "%d migration(s) pending; call billing_migrate()",
			pending);
	ctx->endpoint_cache = billing__endpoint_cache_new();
	*out = ctx;
	return BILLING_OK;
fail:
	/* Ownership moves only on success: the storage stays the caller's. */
	billing__hmac_key_free(ctx->cursor_mac);
	OPENSSL_cleanse(ctx, sizeof(*ctx));
	billing__free(ctx);
	return rc;
}

int billing_ctx_open_url(billing_ctx **out, const char *url, const billing_ctx_options *opts)
{
	billing_ctx_options o = BILLING_CTX_OPTIONS_INIT;
	billing_storage *st = NULL;
	int rc;

	BILLING__ASSERT_ARG(out, "out");
	BILLING__ASSERT_ARG(url, "url");
	if (opts) {
		if (opts->version == 0 || opts->version > BILLING_CTX_OPTIONS_VERSION)
			return billing__error_field(BILLING_EINVALID, "invalid_version", "version",
				"unknown billing_ctx_options version %u", opts->version);
		if (opts->storage)
			return billing__error_field(BILLING_EINVALID, "invalid", "storage",
				"billing_ctx_open_url makes its own storage; pass storage = NULL");
		/* Only as much as the caller's version has. */
		memcpy(&o, opts, opts->version >= 5 ? sizeof(o) : opts->version == 4 ?
			offsetof(billing_ctx_options, payment_action_expiry) : opts->version == 3 ?
			offsetof(billing_ctx_options, transport) : opts->version == 2 ?
			offsetof(billing_ctx_options, webhook_allow_http) :
			offsetof(billing_ctx_options, provider));
	}
	if (strncmp(url, "sqlite:", 7) == 0) {
		const char *path = url + 7;
		if (strncmp(path, "//", 2) == 0)
			path += 2;
		rc = billing_sqlite_storage_new(&st, path, NULL);
	} else if (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0) {
		rc = billing_postgres_storage_new(&st, url, NULL);
	} else if (strncmp(url, "postgres:", 9) == 0) {
		rc = billing_postgres_storage_new(&st, url + 9, NULL); /* key=value conninfo */
	} else {
		/* Never echo the URL: it may carry a password. */
		return billing__error_field(BILLING_EINVALID, "invalid", "url",
			"unsupported database URL scheme (expected sqlite:PATH, postgres://... "
			"or postgres:key=value...)");
	}
	if (rc < 0)
		return rc;
	o.storage = st;
	if ((rc = billing_ctx_open(out, &o)) < 0)
		billing_storage_free(st);
	return rc;
}

void billing_ctx_close(billing_ctx *ctx)
{
	if (!ctx)
		return;
	billing_storage_free(ctx->st);
	if (ctx->provider)
		ctx->provider->free(ctx->provider);
	billing__hmac_key_free(ctx->cursor_mac);
	billing__endpoint_cache_free(ctx->endpoint_cache);
	pthread_mutex_destroy(&ctx->subscribers_mu);
	pthread_mutex_destroy(&ctx->circuit_mu);
	OPENSSL_cleanse(ctx->secrets_key, sizeof(ctx->secrets_key));
	OPENSSL_cleanse(ctx->secrets_key_old, sizeof(ctx->secrets_key_old));
	billing__free(ctx);
}

int billing_ctx_subscribe(billing_ctx *ctx, billing_event_fn fn, void *user_data)
{
	int rc = BILLING_OK;
	billing_error_clear();
	BILLING__ASSERT_ARG(ctx, "ctx");
	BILLING__ASSERT_ARG(fn, "fn");
	pthread_mutex_lock(&ctx->subscribers_mu);
	if (ctx->subscriber_count == BILLING__MAX_SUBSCRIBERS) {
		rc = billing__error_set(BILLING_ECONFLICT, "full", "at most %d subscribers",
			BILLING__MAX_SUBSCRIBERS);
	} else {
		ctx->subscribers[ctx->subscriber_count].fn = fn;
		ctx->subscribers[ctx->subscriber_count].user_data = user_data;
		__atomic_store_n(&ctx->subscriber_count, ctx->subscriber_count + 1,
			__ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&ctx->subscribers_mu);
	return rc;
}

int billing_migrate(billing_ctx *ctx)
{
	int rc, applied = 0, pending = 0;
	BILLING__ASSERT_ARG(ctx, "ctx");
	/* Nothing pending: no DDL at all, so a runtime role that may not change
	 * the schema can call this on a current database. */
	if ((rc = ctx->st->schema_status(ctx->st, &pending)) < 0)
		return rc;
	if (pending > 0 && (rc = ctx->st->migrate(ctx->st, &applied, billing__now(ctx))) < 0)
		return rc;
	if (applied)
		billing__log(ctx, BILLING_LOG_INFO, "applied %d migration(s)", applied);
	billing_error_clear();
	if (!ctx->schema_current && (rc = after_schema_current(ctx)) < 0)
		return rc;
	return BILLING_OK;
}

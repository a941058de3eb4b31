/*
 * Idempotency keys: the hash of a call's normalized input, looking a key up
 * and recording it inside the call's transaction (idempotency.c).
 */
#ifndef BILLING_CORE_IDEMPOTENCY_H
#define BILLING_CORE_IDEMPOTENCY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "billing/billing.h"
#include "billing/sys/storage.h"
#include "core/ids.h"
#include "core/permissions.h"

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

#endif

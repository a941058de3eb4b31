/*
 * The tenant's branding inside the library (branding.c): its record, the
 * read the documents make in their own transaction, and the logo's
 * encodings.
 */
#ifndef BILLING_CORE_BRANDING_H
#define BILLING_CORE_BRANDING_H

#include <stddef.h>
#include <stdint.h>

#include "billing/branding.h"
#include "core/core.h"

/* The row (NULL: not set); strings owned by whoever filled it. */
typedef struct {
	const char *tenant_id;
	const char *legal_name;
	const char *address_json;   /* as a customer's address */
	const char *tax_id;
	const char *logo_b64;       /* the file in standard base64 */
	const char *accent_color;   /* "#rrggbb" */
	const char *footer;
	const char *locale;         /* a document locale's tag; NULL: en-US */
	int64_t updated_at;
} billing__branding;

/* The tenant's branding read in tx (no lock) into *b, its strings new
 * (billing__branding_clear); all NULL when it has none. */
int billing__branding_read(billing__branding *b, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id);
void billing__branding_clear(billing__branding *b);

/* "image/png" or "image/jpeg" by the file's first bytes, or NULL. */
const char *billing__logo_type(const unsigned char *file, size_t len);

/* The record of a public branding (borrowed). */
const billing__branding *billing__branding_record(const billing_branding *b);

#endif

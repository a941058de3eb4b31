/**
 * @file billing/branding.h
 * @brief The tenant's branding: the seller's block of its documents (issue #24).
 *
 * One per tenant (a tenant-settings record). Documents (billing/document.h)
 * show the legal name (else the tenant's name), the address, the tax id,
 * the logo, the footer, and draw their rules and headings in the accent
 * colour. ADMIN sets it, USER reads it; every set is in the audit log.
 *
 * Rules: legal_name 1..200 characters, tax_id 1..60, footer 1..1000 (line
 * breaks allowed), each trimmed, no control characters; the address as a
 * customer's (billing_address); accent_color "#rrggbb" (hex digits in any
 * case, kept lower case); the logo a PNG or JPEG file of at most 256 KiB
 * (BILLING_BRANDING_LOGO_MAX), its type read from its first bytes. The
 * PDF draws the logo at the top of the seller's block, at 96 pixels to the
 * inch or smaller to fit 180 x 48 points, its aspect kept; a logo whose
 * file cannot be read (only its first bytes were checked), or larger than
 * 4096 pixels on a side, is left out of the PDF, which is drawn without it.
 *
 * The locale (params version 2) is the tenant's: one of the document
 * locales (en-US, en-GB, de-DE, fr-FR, es-ES, ja-JP; any case, kept in the
 * table's spelling), en-US when not set. A document whose customer has no
 * preferred locale is written in it (billing/document.h), and the console
 * formats amounts in it.
 */
#ifndef BILLING_BRANDING_H
#define BILLING_BRANDING_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "customer.h"
#include "principal.h"

BILLING_BEGIN_DECL

typedef struct billing_branding billing_branding;

/** The largest logo, in bytes. */
#define BILLING_BRANDING_LOGO_MAX (256u * 1024u)

/** 2 added locale; a version 1 struct has no locale (en-US). */
#define BILLING_BRANDING_PARAMS_VERSION 2

/**
 * The whole branding: a set replaces all of it (NULL / 0: not set).
 * Inputs are copied.
 */
typedef struct {
	unsigned int version;             /**< BILLING_BRANDING_PARAMS_VERSION */
	const char *legal_name;           /**< NULL: the tenant's name is shown */
	const billing_address *address;   /**< NULL: none */
	const char *tax_id;
	const unsigned char *logo;        /**< the PNG or JPEG file; NULL: none */
	size_t logo_len;
	const char *accent_color;         /**< "#rrggbb"; NULL: #1f4e79 */
	const char *footer;
	/* version 2 */
	const char *locale;               /**< a document locale; NULL: en-US */
} billing_branding_params;

#define BILLING_BRANDING_PARAMS_INIT { BILLING_BRANDING_PARAMS_VERSION, 0, 0, 0, 0, 0, 0, 0, 0 }

/**
 * Replaces the principal's tenant's branding (ADMIN; audited).
 * @param out receives the branding as stored (new; billing_branding_free);
 *            may be NULL
 * @return BILLING_OK; BILLING_EFORBIDDEN (not ADMIN); BILLING_EINVALID with
 *         the field errors of legalName, address.<member>, taxId, logo (not
 *         a PNG or JPEG file, or larger than BILLING_BRANDING_LOGO_MAX),
 *         accentColor, footer, locale (not a document locale) (nothing
 *         written); BILLING_ENOMEM; a storage error
 */
BILLING_EXTERN(int) billing_branding_set(billing_branding **out, billing_ctx *ctx,
	const billing_principal *who, const billing_branding_params *params);

/**
 * The principal's tenant's branding; one with nothing set when it has none.
 * @param out receives it (new; billing_branding_free)
 * @return BILLING_OK; BILLING_EFORBIDDEN; BILLING_ENOMEM; a storage error
 */
BILLING_EXTERN(int) billing_branding_get(billing_branding **out, billing_ctx *ctx,
	const billing_principal *who);

/** Borrowed; NULL when not set. */
BILLING_EXTERN(const char *) billing_branding_legal_name(const billing_branding *b);
/** Borrowed; NULL when none. */
BILLING_EXTERN(const billing_address *) billing_branding_address(const billing_branding *b);
BILLING_EXTERN(const char *) billing_branding_tax_id(const billing_branding *b);
/** The logo's file (borrowed), *len its size; NULL (and 0) when none. */
BILLING_EXTERN(const unsigned char *) billing_branding_logo(const billing_branding *b,
	size_t *len);
/** "image/png" or "image/jpeg"; NULL when there is no logo. */
BILLING_EXTERN(const char *) billing_branding_logo_type(const billing_branding *b);
/** "#rrggbb" as set, NULL when not set (documents then use #1f4e79). */
BILLING_EXTERN(const char *) billing_branding_accent_color(const billing_branding *b);
BILLING_EXTERN(const char *) billing_branding_footer(const billing_branding *b);
/** The tenant's locale: the tag as stored, "en-US" when not set (never
 *  NULL but for a NULL b). Borrowed. */
BILLING_EXTERN(const char *) billing_branding_locale(const billing_branding *b);
/** When it was last set; 0 when never. */
BILLING_EXTERN(int64_t) billing_branding_updated_at(const billing_branding *b);
/** Accepts NULL. */
BILLING_EXTERN(void) billing_branding_free(billing_branding *b);

BILLING_END_DECL

#endif

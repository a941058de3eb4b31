/**
 * @file billing/customer.h
 * @brief Customers of a tenant.
 *
 * Rules: name 1..120 characters after trimming, no control characters;
 * email a valid address of at most 190 characters, unique in the tenant
 * ignoring case; metadata a string map (see billing_metadata_entry);
 * a billing address (billing_address: each part optional, 1..200
 * characters trimmed; country an ISO 3166-1 alpha-2 code in any case,
 * kept in upper case) and a preferred locale (en-US, en-GB, de-DE, fr-FR,
 * es-ES or ja-JP in any case, kept as written here), which the
 * customer's documents show and use (billing/document.h).
 * A customer is deleted for good, and only while nothing references it.
 */
#ifndef BILLING_CUSTOMER_H
#define BILLING_CUSTOMER_H

#include "common.h"
#include "list.h"
#include "principal.h"

BILLING_BEGIN_DECL

typedef struct billing_customer billing_customer;

/** Field bits for billing_customer_params.fields (updates). */
enum {
	BILLING_CUSTOMER_NAME = 1u << 0,
	BILLING_CUSTOMER_EMAIL = 1u << 1,
	BILLING_CUSTOMER_DEFAULT_PAYMENT_METHOD = 1u << 2,
	BILLING_CUSTOMER_METADATA = 1u << 3,
	BILLING_CUSTOMER_ADDRESS = 1u << 4,           /**< params version 3 */
	BILLING_CUSTOMER_PREFERRED_LOCALE = 1u << 5   /**< params version 3 */
};

/**
 * A postal address, as a customer's billing address (documents show it).
 * Every member is optional (NULL: absent). This struct is fixed: a later
 * part would come as a new struct, not as a member appended here.
 */
typedef struct {
	const char *line1;
	const char *line2;
	const char *city;
	const char *postal_code;
	const char *region;        /**< state, province, county */
	const char *country;       /**< ISO 3166-1 alpha-2, "DE" */
} billing_address;

#define BILLING_CUSTOMER_PARAMS_VERSION 3

/**
 * Input of create and update. On create every member is used (NULL/0 means
 * absent). On update only the members whose bit is set in fields change,
 * so a bit with a NULL value clears an optional field. Version 2 adds
 * coupon and promotion_code (update only, no bit: given, they make the
 * customer's discount; billing/discount.h). Version 3 adds address and
 * preferred_locale (bits BILLING_CUSTOMER_ADDRESS and
 * BILLING_CUSTOMER_PREFERRED_LOCALE on update; a bit with NULL clears).
 */
typedef struct {
	unsigned int version;                  /**< BILLING_CUSTOMER_PARAMS_VERSION */
	unsigned int fields;                   /**< update: BILLING_CUSTOMER_* bits */
	const char *name;                      /**< required on create */
	const char *email;                     /**< required on create */
	const char *default_payment_method;    /**< optional, 1..255 printable ASCII */
	const billing_metadata_entry *metadata;
	size_t metadata_count;
	int64_t expected_version;              /**< update: 0 = any; else must match */
	/** Version 2, update only: a coupon's id, or the text of an active
	 *  promotion code (any case), not both. The customer's discount
	 *  (billing_discount_create() with no subscription) is replaced by one
	 *  made from it, in the update's transaction, with the same checks; an
	 *  update that gives one needs no field bit. NULL: unchanged. */
	const char *coupon;
	const char *promotion_code;
	/** Version 3: the billing address (copied; NULL: none), an address
	 *  with no part is none. Refused with BILLING_EINVALID naming
	 *  "address.<part>" (address.postalCode, address.country, ...). */
	const billing_address *address;
	/** Version 3: the documents' default locale; NULL: none (en-US).
	 *  Another is BILLING_EINVALID naming "preferredLocale". */
	const char *preferred_locale;
} billing_customer_params;

#define BILLING_CUSTOMER_PARAMS_INIT { BILLING_CUSTOMER_PARAMS_VERSION, 0, 0, 0, 0, 0, 0, 0, 0, 0, \
	0, 0 }

/**
 * Creates a customer.
 * @param out receives the new customer (caller frees with billing_customer_free)
 * @return BILLING_OK; BILLING_EFORBIDDEN (not ADMIN); BILLING_EINVALID with
 *         field errors (a coupon or promotion code: field "coupon", reason
 *         "update_only": a discount is made on an existing customer); BILLING_EEXISTS (field "email") when the address is
 *         taken in the tenant; BILLING_ECONFLICT on an idempotency mismatch;
 *         BILLING_ESTORAGE / BILLING_EBUSY
 */
BILLING_EXTERN(int) billing_customer_create(billing_customer **out, billing_ctx *ctx,
	const billing_principal *who, const billing_customer_params *params,
	const billing_call_options *opts);

/** Fetches a customer; BILLING_ENOTFOUND when the id names nothing in the
 *  principal's tenant (another tenant's id included). */
BILLING_EXTERN(int) billing_customer_get(billing_customer **out, billing_ctx *ctx,
	const billing_principal *who, const char *id);

/**
 * Changes the fields named in params->fields, and (version 2) the
 * customer's discount when params->coupon or promotion_code is given.
 * @return as create, plus BILLING_ENOTFOUND; BILLING_ESTALE when
 *         params->expected_version is set and differs; BILLING_EINVALID when
 *         no field bit is set and no coupon or promotion code given, or
 *         naming "coupon" / "promotionCode" with the reasons of
 *         billing_discount_create() (both given: "coupon", reason "invalid")
 */
BILLING_EXTERN(int) billing_customer_update(billing_customer **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_customer_params *params,
	const billing_call_options *opts);

/**
 * Deletes a customer for good.
 * @param expected_version 0 = any
 * @return BILLING_OK; BILLING_ENOTFOUND; BILLING_ESTALE; BILLING_ECONFLICT
 *         (reason "referenced") while subscriptions or invoices reference it
 */
BILLING_EXTERN(int) billing_customer_delete(billing_ctx *ctx, const billing_principal *who,
	const char *id, int64_t expected_version);

/** Lists customers. search matches name or email; sort_by "createdAt",
 *  "name" or "email". Items via billing_page_customer(). */
BILLING_EXTERN(int) billing_customer_list(billing_page **out, billing_ctx *ctx,
	const billing_principal *who, const billing_list_params *params);

/** Item i of a customer page (borrowed); NULL when out of range or the page
 *  holds something else. */
BILLING_EXTERN(const billing_customer *) billing_page_customer(const billing_page *page, size_t i);

BILLING_EXTERN(const char *) billing_customer_id(const billing_customer *c);
BILLING_EXTERN(const char *) billing_customer_tenant_id(const billing_customer *c);
BILLING_EXTERN(const char *) billing_customer_name(const billing_customer *c);
BILLING_EXTERN(const char *) billing_customer_email(const billing_customer *c);
/** NULL when none is set. */
BILLING_EXTERN(const char *) billing_customer_default_payment_method(const billing_customer *c);
BILLING_EXTERN(size_t) billing_customer_metadata_count(const billing_customer *c);
/** Entry i, keys in byte order. Borrowed. */
BILLING_EXTERN(const billing_metadata_entry *) billing_customer_metadata_at(const billing_customer *c, size_t i);
/** The value for key, or NULL. Borrowed. */
BILLING_EXTERN(const char *) billing_customer_metadata_get(const billing_customer *c, const char *key);
BILLING_EXTERN(int64_t) billing_customer_created_at(const billing_customer *c);
BILLING_EXTERN(int64_t) billing_customer_updated_at(const billing_customer *c);
/** Starts at 1, +1 on every update. */
BILLING_EXTERN(int64_t) billing_customer_version(const billing_customer *c);
/** The customer's balance per currency (billing/customer_balance.h) as a
 *  JSON object of integers, {"EUR": -1189}: negative is credit owed to the
 *  customer; "{}" when it has none. Borrowed. */
BILLING_EXTERN(const char *) billing_customer_balances_json(const billing_customer *c);
/** The billing address (borrowed, its parts NULL when absent), or NULL
 *  when the customer has none. */
BILLING_EXTERN(const billing_address *) billing_customer_address(const billing_customer *c);
/** The documents' default locale ("de-DE"; borrowed), or NULL when none. */
BILLING_EXTERN(const char *) billing_customer_preferred_locale(const billing_customer *c);
/** The customer's own discount (billing/discount.h; issue #22) as of this
 *  read, as JSON {"id", "couponId", "promotionCodeId", "start", "end"}
 *  (billing_subscription_discount_json says what each holds). Borrowed;
 *  NULL when the customer has none. Its subscriptions' own discounts are
 *  on them. */
BILLING_EXTERN(const char *) billing_customer_discount_json(const billing_customer *c);
/** Accepts NULL. */
BILLING_EXTERN(void) billing_customer_free(billing_customer *c);

BILLING_END_DECL

#endif

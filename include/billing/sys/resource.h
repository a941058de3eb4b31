/**
 * @file billing/sys/resource.h
 * @brief Resource descriptors: a billing object described once, as data.
 *
 * Every stored billing object (customer, plan, tax rate, ...) is described
 * by one billing_resource: its table and id prefix, and per field its
 * column, C type and place in the record struct, its role in keys, lists
 * (filter, range, sort, search) and updates, and how the JSON layer shows
 * it. Storage backends build their SQL from the descriptor (one builder
 * serves SQLite and PostgreSQL); the JSON layer, the operation catalog and,
 * through the catalog, the HTTP router, the OpenAPI document and the
 * bindings read it too, and so does billing_check (billing/check.h: ids,
 * versions, enums, booleans, JSON fields, non-negative integers,
 * references and creation events, from the flags, kinds, traits and
 * references below), so a new object is one descriptor and one rules
 * file rather than an edit in every layer.
 *
 * Records stay plain C structs (billing_customer_record, ...): a field's
 * offset says where its value lives. Strings are borrowed as everywhere
 * in storage (see billing/sys/storage.h).
 *
 * Descriptors are static data of the library: a backend reads them and
 * may cache what it builds from one by its address.
 */
#ifndef BILLING_SYS_RESOURCE_H
#define BILLING_SYS_RESOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "../common.h"

BILLING_BEGIN_DECL

/** The C type of a field's value in the record struct. */
typedef enum {
	BILLING_FIELD_TEXT = 1, /**< const char *; NULL is SQL NULL */
	BILLING_FIELD_INT64,    /**< int64_t */
	BILLING_FIELD_INT32,    /**< int32_t */
	BILLING_FIELD_INT       /**< int: enums, statuses and booleans */
} billing_field_type;

/* ---- a field's roles in storage (billing_field.flags) */

/** The tenant column: the first key column of every tenant-owned table. */
#define BILLING_FIELD_TENANT   (1u << 0)
/** The id column: with the tenant, the primary key. */
#define BILLING_FIELD_ID       (1u << 1)
/** The optimistic version: an update writes the record's version where
 *  the stored row still has the caller's old version (else BILLING_ESTALE). */
#define BILLING_FIELD_VERSION  (1u << 2)
/** Written on insert, never changed by an update (created_at, owner ids). */
#define BILLING_FIELD_FIXED    (1u << 3)
/** An integer 0 is stored as SQL NULL and read back as 0 ("none"). */
#define BILLING_FIELD_ZERO_NULL (1u << 4)
/** Lists may filter on equality with this field. */
#define BILLING_FIELD_FILTER   (1u << 5)
/** Lists may filter on a range (>=, <=, <, >) of this integer field. */
#define BILLING_FIELD_RANGE    (1u << 6)
/** Lists may sort by this field (then by id). */
#define BILLING_FIELD_SORT     (1u << 7)
/** Lists' search matches a case-insensitive substring of this field. */
#define BILLING_FIELD_SEARCH   (1u << 8)
/** Unique in the tenant: a duplicate is BILLING_EEXISTS naming the field. */
#define BILLING_FIELD_UNIQUE   (1u << 9)
/** A soft delete: a row where this integer is not 0 is deleted; lists
 *  never return it, reads do (the core decides). */
#define BILLING_FIELD_DELETED  (1u << 10)
/** An integer that is never negative (amounts in minor units, counts):
 *  billing_check reports a stored negative value. */
#define BILLING_FIELD_NONNEGATIVE (1u << 11)
/** Written on insert and then only by writes of its own (another
 *  descriptor over the same table): an update of the row neither writes
 *  nor matches it, so a record read before such a write still updates the
 *  row (customers' and subscriptions' discount, schema step 32). */
#define BILLING_FIELD_APART (1u << 12)

/** How the JSON layer shows a field (and reads it in create / update). */
typedef enum {
	BILLING_JSON_NONE = 0,  /**< not shown (keys, secrets, lookup columns) */
	BILLING_JSON_STRING,
	BILLING_JSON_INTEGER,
	BILLING_JSON_BOOLEAN,   /**< an int 0 / 1 */
	BILLING_JSON_TIME,      /**< int64 UTC seconds, shown as RFC 3339 text; 0 with
	                             ZERO_NULL shows as null */
	BILLING_JSON_ENUM,      /**< an int shown by name (billing_field.names) */
	BILLING_JSON_DECIMAL,   /**< an integer scaled by 10^scale, shown as an exact
	                             decimal string ("7.25" for 72500 at scale 4), read
	                             from such a string or a JSON number, at most scale
	                             places */
	BILLING_JSON_OBJECT,    /**< canonical JSON object text */
	BILLING_JSON_METADATA,  /**< canonical JSON object text of string values */
	BILLING_JSON_ARRAY,     /**< canonical JSON text of an array of objects (plans'
	                             tiers); NULL shows as null */
	BILLING_JSON_STRINGS    /**< canonical JSON text of an array of strings (ids:
	                             defaultTaxRates); NULL shows as [] */
} billing_json_kind;

/* ---- a field's roles in the API (billing_field.api) */

/** A create may set it. On the ID field: a create may choose the id
 *  ("<prefix>_" and letters, digits, '-' or '_'; coupons). */
#define BILLING_API_CREATE     (1u << 0)
/** A create must set it. */
#define BILLING_API_REQUIRED   (1u << 1)
/** An update may change it. */
#define BILLING_API_UPDATE     (1u << 2)
/** The value may be null (cleared). */
#define BILLING_API_NULLABLE   (1u << 3)
/** A BILLING_JSON_DECIMAL shown as a JSON number rather than a string:
 *  the same exact decimal text ("0.0825", "0"), written as a number
 *  literal, never through a double (products' taxRate). */
#define BILLING_API_NUMBER     (1u << 4)
/** A STRING taken as given: the flow does not trim its white space (codes
 *  such as a SKU or a currency, where a space is an error, not noise). */
#define BILLING_API_VERBATIM   (1u << 5)
/** A STRING whose ASCII letters the flow upper-cases before the
 *  idempotency hash and the rules ("usd" and "USD" are one request). */
#define BILLING_API_UPPER      (1u << 6)
/** Set at creation only (with BILLING_API_CREATE, without _UPDATE), yet
 *  an update's input names it: an update that gives it is refused naming
 *  it ("cannot be changed") rather than as an unknown field (plans' code,
 *  whose update listed it before the generic flow). */
#define BILLING_API_FIXED      (1u << 7)
/** Computed by the library, never an input of create or update (with
 *  BILLING_FIELD_FIXED so that an update never writes it back): the
 *  value other operations keep (customers' balances, written by balance
 *  changes). An OBJECT one is never null: a row without a value shows
 *  {}. */
#define BILLING_API_COMPUTED   (1u << 8)

/** One field of a resource. */
typedef struct {
	const char *column;          /**< SQL column name */
	billing_field_type type;     /**< C type at offset */
	size_t offset;               /**< offsetof(record struct, member) */
	unsigned int flags;          /**< BILLING_FIELD_* */
	const char *json;            /**< API name ("displayName"); NULL: not shown */
	billing_json_kind json_kind;
	unsigned int api;            /**< BILLING_API_* */
	const char *const *names;    /**< BILLING_JSON_ENUM: name of value i, NULL-ended */
	int scale;                   /**< BILLING_JSON_DECIMAL: decimal places */
	const char *description;     /**< one line for the catalog and OpenAPI */
} billing_field;

/*
 * A field's key. A TEXT field of json_kind BILLING_JSON_NONE whose json is
 * the JSON name of a shown TEXT field is that field's key (customers'
 * email_key, the lower-cased e-mail): the API neither shows nor reads it;
 * the generic flow writes the field's value into it whenever the field is
 * given, for the object's rules to normalize in place (lower-case it);
 * lists sort by it under that JSON name when it has BILLING_FIELD_SORT
 * (the shown field then has none), and a BILLING_FIELD_UNIQUE key that is
 * taken names that JSON name.
 */

/**
 * A named set of values of the status field, for rules storage must apply
 * (a list of "live" subscriptions): the SQL builder turns it into
 * `status IN (...)` from the same table the core's rules use.
 */
typedef struct {
	const char *name;            /**< "ended" */
	uint64_t values;             /**< bit v set: status value v is in the set */
} billing_status_set;

/**
 * A field that holds the id of another object of the same tenant: a
 * value that is not NULL names a row of target (soft-deleted rows count).
 * billing_check reports one that names nothing ("dangling_reference").
 */
typedef struct {
	const char *column;          /**< the TEXT field of this resource */
	const struct billing_resource *target;
} billing_reference;

/* Traits of a resource (billing_resource.traits). */
/** Creating one writes an event about it (its resource_id is the new id):
 *  billing_check reports one without ("missing_event") unless event
 *  retention may have pruned it. Objects on the generic flow (ops with
 *  BILLING_RESOURCE_OP_CREATE) always do, with or without this bit. */
#define BILLING_RESOURCE_CREATE_EVENT (1u << 0)

/** A billing object. */
typedef struct billing_resource {
	const char *name;            /**< singular: "tax_rate" (the JSON "object", events
	                                  "tax_rate.created") */
	const char *plural;          /**< operations: "tax_rates.create" */
	const char *path;            /**< HTTP collection: "tax-rates" (/v1/tax-rates) */
	const char *title;           /**< type name in docs and bindings: "TaxRate" */
	const char *description;     /**< one sentence for docs and OpenAPI */
	const char *table;           /**< SQL table */
	const char *prefix;          /**< id prefix without "_": "txr" */
	size_t record_size;          /**< sizeof the record struct */
	const billing_field *fields;
	size_t field_count;
	/* The status field and its sets and transitions; NULL / 0 if none.
	 * next[s] has bit t set when status s may move to status t. */
	const billing_field *status;
	const billing_status_set *status_sets;
	size_t status_set_count;
	const uint64_t *next;
	size_t status_count;
	/* The API: which generic operations the JSON layer offers for it
	 * (BILLING_RESOURCE_OP_*; 0 for objects with hand-written operations)
	 * and who may run them, as bits (1u << billing_role). */
	unsigned int ops;
	unsigned int read_roles;     /**< get, list */
	unsigned int write_roles;    /**< create, update, delete */
	/* What billing_check verifies beyond each field's own flags and kind. */
	unsigned int traits;         /**< BILLING_RESOURCE_CREATE_EVENT */
	const billing_reference *references;
	size_t reference_count;
} billing_resource;

/* Generic operations (billing_resource.ops). */
#define BILLING_RESOURCE_OP_CREATE (1u << 0)
#define BILLING_RESOURCE_OP_GET    (1u << 1)
#define BILLING_RESOURCE_OP_UPDATE (1u << 2)
#define BILLING_RESOURCE_OP_DELETE (1u << 3)
#define BILLING_RESOURCE_OP_LIST   (1u << 4)
#define BILLING_RESOURCE_OP_CRUD   0x1fu

/** The field named column, or NULL. */
BILLING_EXTERN(const billing_field *) billing_resource_field(const billing_resource *res,
	const char *column);

BILLING_END_DECL

#endif

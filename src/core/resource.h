/*
 * The generic flow of a billing object described by a descriptor
 * (billing/sys/resource.h): create, get, update, delete and list over the
 * storage's version-7 record_* methods, with everything the hand-written
 * objects do around a change: authorization from the descriptor's roles,
 * ids, tenant, timestamps and versions set by the flow, idempotent
 * replays, expected versions, one transaction per call, the event
 * "<name>.created/.updated/.deleted" with the record's JSON, and the audit
 * row. An object adds a descriptor and its rules (billing__rules: what
 * the descriptor cannot say) and registers them in billing__rules_all();
 * the JSON layer, the catalog, the HTTP router and the bindings then
 * offer it without further code.
 *
 * Records. A record is the object's plain C struct (billing_tax_rate,
 * ...), laid out as the descriptor's fields say. What a call gives the
 * flow is such a struct with the caller's values and a mask of which
 * fields were given: bit i stands for res->fields[i] (BILLING__FIELD_BIT).
 * Strings in it are borrowed for the call. What the flow hands back (a
 * created, read or updated object, a page's items) is an owned record: one
 * allocation holding the struct and its strings (billing__record_dup),
 * freed with billing__free.
 *
 * Validation, in this order; each failure is BILLING_EINVALID naming the
 * field by its JSON name and changes nothing:
 *  1. given (before any storage): a bit for a field the operation does not
 *     take (create: BILLING_API_CREATE; update: BILLING_API_UPDATE) is
 *     "cannot be set" / "cannot be changed"; a REQUIRED field not given on
 *     create is "is required"; NULL for a TEXT field without
 *     BILLING_API_NULLABLE is "must not be null"; a BOOLEAN other than 0 / 1,
 *     an ENUM outside its names, METADATA or OBJECT text that is not a JSON
 *     object (of strings, for METADATA) are refused. A STRING's text (but for
 *     BILLING_API_VERBATIM) loses its surrounding white space here, before the idempotency hash and
 *     the rules (a retry differing only there is a replay). Fields not given take
 *     0 / NULL on create (METADATA and OBJECT: "{}"), and keep the current
 *     value on update. An update with no bit set is refused (field
 *     "fields").
 *  2. rules->check (inside the call's transaction, after the flow set the
 *     id, tenant, timestamps and version): the object's own rules.
 * One answer names every bad field: when the object has rules, step 1's
 * field errors (other than a bad mask or a NULL record) do not stop the
 * call there; the rules' check runs too, without the fields step 1
 * refused in its given mask, and its field errors follow step 1's in the
 * one BILLING_EINVALID. (So such a call reaches the transaction: an
 * unknown id or a reused idempotency key is reported before bad input.)
 */
#ifndef BILLING_CORE_RESOURCE_H
#define BILLING_CORE_RESOURCE_H

#include <cJSON.h>
#include <stdint.h>

#include "core/core.h"

/* The mask bit of field f (a pointer into res->fields). */
#define BILLING__FIELD_BIT(res, f) (UINT64_C(1) << (size_t)((f) - (res)->fields))

/*
 * The entry of one generic operation in the permission table and the
 * catalog, for an object whose operations were hand-written before it
 * moved onto the generic flow: the operation keeps its BILLING_OP_* (its
 * roles, its place in the catalog, its audit name) and its catalog text.
 */
typedef struct {
	billing__op op;              /* BILLING_OP_PRODUCTS_CREATE, ... */
	const char *description;     /* the catalog's line for it; NULL: not linked */
	const char *id_description;  /* NULL: "the resource id" */
} billing__rules_op;

/*
 * A list filter under a name of its own (products' "minPriceCents": >= on
 * priceCents). An object that gives these offers exactly them, in this
 * order, instead of the filters its FILTER / RANGE fields imply.
 */
typedef struct {
	const char *name;            /* the input name */
	const char *column;          /* the field's column */
	billing_filter_op op;        /* EQ, GE, LE, GT, LT */
	const char *description;     /* the catalog's line */
} billing__list_filter;

/*
 * An update's input that is not a field of the record (customers'
 * "coupon": what the update does beside writing the row). A string.
 */
typedef struct {
	const char *name;            /* the input name */
	const char *description;     /* the catalog's line */
} billing__rules_extra;

/* At most this many extras an object takes. */
#define BILLING__EXTRAS_MAX 4

/* What an object's rules file supplies beside its descriptor. */
typedef struct billing__rules {
	const billing_resource *res;
	/*
	 * The object's rules for a create (current NULL) or an update (current:
	 * the stored record, read for update in this transaction). rec is the
	 * record the call will write, complete: on create the caller's fields
	 * and zeros / defaults, on update the current record with the given
	 * fields replaced; id, tenant, timestamps and version are set already.
	 * given is the caller's mask less the fields step 1 refused. rec's
	 * strings are the flow's own copies: check may rewrite one in place
	 * as long as it gets no longer (trim, change case), point a field at
	 * a string that outlives the call (a literal, or a string of current)
	 * or set integers. It reports bad
	 * input with billing__check_fail / billing__checks_finish (BILLING_EINVALID
	 * naming the fields); any failure rolls the call back. NULL: no rules.
	 */
	int (*check)(billing_ctx *ctx, billing_txn *tx, const void *current, void *rec,
		uint64_t given);
	/*
	 * NULL, or what must hold before current is deleted (in the delete's
	 * transaction, before the row goes): BILLING_ECONFLICT with a reason
	 * to refuse. A row another row references is refused by storage
	 * anyway (BILLING_ECONFLICT "referenced").
	 */
	int (*before_delete)(billing_ctx *ctx, billing_txn *tx, const void *current);
	/*
	 * NULL, or the operations' entries, by verb: ops[i] for the
	 * BILLING_RESOURCE_OP_* bit i. A linked verb is authorized by its
	 * BILLING_OP_* and listed in the catalog at that operation's place;
	 * the others as resource.h says.
	 */
	const billing__rules_op *ops;
	/* NULL, or the list's filters (ending with { NULL }). */
	const billing__list_filter *filters;
	/*
	 * NULL, or what the list's filters must satisfy together beyond each
	 * one's own check (a lower bound not above the upper one), before any
	 * storage: BILLING_EINVALID naming the filters.
	 */
	int (*check_list)(const billing_filter *filters, size_t count);
	/*
	 * NULL, or what the list's filters must satisfy against storage, in
	 * the list's transaction before any row is read (a filter's id that
	 * names nothing in the tenant: BILLING_EINVALID "resource_missing").
	 */
	int (*check_list_rows)(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
		const billing_filter *filters, size_t count);
	/*
	 * NULL, or what else a soft delete writes into the record besides
	 * the deleted field, updated_at and version (plans: inactive).
	 */
	void (*deleting)(void *rec);
	/*
	 * NULL, or the update's extra inputs (ending with { NULL }, at most
	 * BILLING__EXTRAS_MAX): strings the JSON layer takes after the fields
	 * and hands over as values[i] (NULL: not given). An update that gives
	 * an extra needs no field. They are part of the idempotency input.
	 */
	const billing__rules_extra *update_extras;
	/*
	 * With update_extras: what they do, in the update's transaction after
	 * check, given rec (the record written, complete; current: the
	 * stored one) and values; called whether or not one is given. Its
	 * failure rolls the call back. It may point a FIXED text field of rec
	 * (not written by the update) at a string it allocated into *keep, to
	 * show in the answer and the event what it wrote itself (customers: the
	 * discount); the flow frees *keep after the call.
	 */
	int (*update_extra)(billing_ctx *ctx, billing_txn *tx, const void *current,
		void *rec, const char *const *values, char **keep);
} billing__rules;

/* The entry of the generic verb op (BILLING_RESOURCE_OP_*) of rules, or
 * NULL when it has none. */
const billing__rules_op *billing__rules_op_of(const billing__rules *rules, unsigned int op);

/* The principal's authorization for the generic verb op of rules: by its
 * BILLING_OP_* when linked, else by the descriptor's roles
 * (billing__authorize_resource). */
int billing__authorize_rules(billing_ctx *ctx, const billing_principal *who,
	const billing__rules *rules, unsigned int op);

/* Every object on the generic flow, for the JSON layer and the catalog:
 * *count receives how many. */
const billing__rules *const *billing__rules_all(size_t *count);

/* For a rules' check: billing__check_text of s, a string of the flow's
 * record, then its trimmed form written over it (it gets no longer). */
int billing__check_text_in_place(billing__checks *ck, const char *field, const char *s,
	unsigned int flags, size_t min, size_t max);

/* For a rules' check: whether id names a row of res in the tenant
 * (*found; a soft-deleted one too), read in tx without a lock. An
 * ill-formed id names nothing. Returns BILLING_OK or a storage failure. */
int billing__record_exists(billing_ctx *ctx, billing_txn *tx, const billing_resource *res,
	const char *tenant_id, const char *id, bool *found);

/* The rules of the object whose plural ("tax_rates") or HTTP path
 * ("tax-rates") is name, or NULL. */
const billing__rules *billing__rules_find(const char *name);

/*
 * All calls below start with the principal's authorization: the
 * operation must be in res->ops and the principal's role in
 * res->read_roles (get, list) or res->write_roles (create, update,
 * delete); else BILLING_EFORBIDDEN, before any input is looked at. Write
 * calls run again on a retryable storage failure (BILLING__RETRY), each
 * in one transaction. Errors a caller should expect besides those named:
 * BILLING_EINVALID (the principal, params), BILLING_ESTORAGE,
 * BILLING_EBUSY, BILLING_ENOMEM.
 */

/*
 * Creates the object from the caller's fields (rec, given). The flow sets
 * the tenant, a new id "<prefix>_..." (or the caller's own where the ID
 * field takes one: BILLING_API_CREATE, billing__id_chosen's form; taken:
 * BILLING_EEXISTS naming "id"), created_at = updated_at = now and
 * version 1. opts: the idempotency key (operation "<plural>.create"; the
 * input hash covers the given fields' values) and request id; NULL for
 * none. *out receives the new record (owned).
 * Returns BILLING_OK; BILLING_EINVALID; BILLING_EEXISTS (a UNIQUE field
 * taken, naming it); BILLING_ECONFLICT (idempotency key used for another
 * request). Writes the event "<name>.created" and an audit row.
 */
int billing__resource_create(void **out, const billing__rules *rules, billing_ctx *ctx,
	const billing_principal *who, const void *rec, uint64_t given,
	const billing_call_options *opts);

/* The object id names in the principal's tenant (owned record).
 * BILLING_ENOTFOUND when it names nothing there: another tenant's, a
 * soft-deleted one (BILLING_FIELD_DELETED set), or an ill-formed id. */
int billing__resource_get(void **out, const billing__rules *rules, billing_ctx *ctx,
	const billing_principal *who, const char *id);

/*
 * Changes the given fields of the object id names. expected_version: 0
 * any, else the version the caller last saw. The flow sets updated_at =
 * now and version + 1. opts as for create (operation "<plural>.update").
 * Returns as create, plus BILLING_ENOTFOUND; BILLING_ESTALE (field
 * "expectedVersion") when expected_version is set and differs. Writes the
 * event "<name>.updated" and an audit row.
 */
int billing__resource_update(void **out, const billing__rules *rules, billing_ctx *ctx,
	const billing_principal *who, const char *id, const void *rec, uint64_t given,
	int64_t expected_version, const billing_call_options *opts);

/* billing__resource_update with the values of rules->update_extras
 * (values[i] for extra i; NULL values: none given). */
int billing__resource_update_extra(void **out, const billing__rules *rules, billing_ctx *ctx,
	const billing_principal *who, const char *id, const void *rec, uint64_t given,
	int64_t expected_version, const char *const *values, const billing_call_options *opts);

/*
 * Deletes the object id names: runs rules->before_delete, then removes
 * the row, or, when the descriptor has a BILLING_FIELD_DELETED field,
 * writes it with that field = now (and version + 1; a soft-deleted object
 * is then not found anywhere). Returns BILLING_OK; BILLING_ENOTFOUND;
 * BILLING_ESTALE; BILLING_ECONFLICT (before_delete, or "referenced").
 * Writes the event "<name>.deleted" (the object as it was) and an audit
 * row.
 */
int billing__resource_delete(const billing__rules *rules, billing_ctx *ctx,
	const billing_principal *who, const char *id, int64_t expected_version);

/*
 * Lists the tenant's objects. params: paging, search (over SEARCH fields),
 * sort_by (the JSON name of a SORT field; NULL: "createdAt") and order, as
 * everywhere (billing/list.h). filters: conditions that must all hold, on
 * fields of res (EQ on a FILTER field, GE/LE/GT/LT on a RANGE field,
 * IN_SET / NOT_IN_SET on the status field with one of res->status_sets);
 * anything else is BILLING_EINVALID naming the field. Text values are
 * borrowed for the call. Cursors are bound to the filters. Items: owned
 * records, read with billing__resource_page_item.
 */
int billing__resource_list(billing_page **out, const billing__rules *rules, billing_ctx *ctx,
	const billing_principal *who, const billing_list_params *params,
	const billing_filter *filters, size_t filter_count);

/* Item i of a page from billing__resource_list of res (borrowed), or NULL
 * when out of range or the page holds something else. */
const void *billing__resource_page_item(const billing_page *page, const billing_resource *res,
	size_t i);

/* A copy of rec in one allocation (struct and strings), or NULL when out
 * of memory. Free with billing__free. */
void *billing__record_dup(const billing_resource *res, const void *rec);

/*
 * The public C objects of a descriptor object (billing_product, ...): a
 * struct of size bytes whose first member is the record, followed by
 * what the typed API decodes (metadata). billing__record_publish makes
 * one from an owned record the flow returned (*obj: the record, replaced
 * by the object; the record is freed either way), its own members past
 * the record zeroed, then runs init (NULL: none) on it. On failure *obj
 * is NULL, and what init did is undone by free_obj.
 */
int billing__record_publish(void **obj, const billing_resource *res, size_t size,
	int (*init)(void *obj), void (*free_obj)(void *obj));

/* The same for every item of a page from billing__resource_list; the page
 * then frees its items with free_obj. On failure the page holds no items
 * (the caller still frees it). */
int billing__page_publish(billing_page *page, const billing_resource *res, size_t size,
	int (*init)(void *obj), void (*free_obj)(void *obj));

/*
 * The JSON object of a record (new; NULL when out of memory): "id" first,
 * then "object": res->name, then every field with a JSON name in the
 * descriptor's order, by json_kind (ENUM by name, DECIMAL as an exact
 * decimal string, TIME as RFC 3339, METADATA / OBJECT parsed from their
 * text, a ZERO_NULL 0 and a NULL string as null). The one writer of a
 * descriptor object's JSON: events, answers and the bindings show this.
 */
cJSON *billing__record_json(const billing_resource *res, const void *rec);

/* The field's value in rec: a TEXT field's string, an integer field's
 * value (0 for a TEXT field and for NULL f). */
const char *billing__record_text(const billing_field *f, const void *rec);
int64_t billing__record_int(const billing_field *f, const void *rec);

/* Sets the field's value in rec (a TEXT field borrows s). */
void billing__record_set_text(const billing_field *f, void *rec, const char *s);
void billing__record_set_int(const billing_field *f, void *rec, int64_t v);

/* The first field of res with flag (BILLING_FIELD_*), or NULL. */
const billing_field *billing__field_with(const billing_resource *res, unsigned int flag);

/* The shown field of res (json_kind not NONE) whose JSON name is json, or
 * NULL. */
const billing_field *billing__field_by_json(const billing_resource *res, const char *json);

/* The field f is the key of (billing/sys/resource.h: a TEXT field of kind
 * NONE with the JSON name of a shown TEXT field), or NULL. */
const billing_field *billing__key_source(const billing_resource *res, const billing_field *f);

#endif

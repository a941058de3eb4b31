/*
 * The JSON operation layer's core: the catalog and the dispatch. Every
 * operation is mapped once, from its catalog entry (name, roles, input
 * fields, answer) to the typed call and back to JSON. The hand-written
 * operations live by area (json_ops_customer.c, _product.c,
 * _subscription.c, _invoice.c, _payment.c, _webhook.c, _event.c), each
 * with its table of entries; the objects on the generic flow get theirs
 * from their descriptors (json_record.c). The HTTP server and the bindings
 * are thin wrappers over this layer, so field names are the wire names of
 * API-HTTP.md.
 *
 * Input checking is driven by the catalog (json_ops_io.c): a field the
 * operation does not declare, or of the wrong JSON type, is
 * BILLING_EINVALID naming it, before the typed call sees anything. The
 * input is parsed by json_exact.c: a NUL or raw control character in any
 * string or key, or a key given twice, is BILLING_EINVALID naming the
 * field. Integers are read from their literal, exactly, over the whole
 * int64_t range (out of it: BILLING_EINVALID); the output prints them
 * exactly too.
 */
#include <cJSON.h>
#include <stdio.h>
#include <string.h>

#include "billing/sys/resource.h"
#include "core/assert.h"
#include "core/core.h"
#include "core/events.h"
#include "core/json_exact.h"
#include "core/json_ops.h"
#include "core/json_out.h"

/* ------------------------------------------------------------ catalog */

/* The generic operations' verbs, bit i of BILLING_RESOURCE_OP_* each. */
static const char *const op_verbs[] = { "create", "get", "update", "delete", "list" };

static const char *type_name(field_type t)
{
	switch (t) {
	case T_STRING: return "string";
	case T_INTEGER: return "integer";
	case T_BOOLEAN: return "boolean";
	case T_OBJECT: return "object";
	case T_RATE: return "decimal";
	case T_INT_ARRAY: return "integer[]";
	case T_STR_ARRAY: return "string[]";
	case T_OBJ_ARRAY: return "object[]";
	}
	return "?";
}

const field_spec billing__json_f_id_only[] = {
	{ "id", T_STRING, true, false, "the resource id" },
	{ NULL, 0, false, false, NULL }
};
const field_spec billing__json_f_delete[] = {
	{ "id", T_STRING, true, false, "the resource id" },
	{ "expectedVersion", T_INTEGER, false, false, "refuse (stale) unless at this version" },
	{ NULL, 0, false, false, NULL }
};
const field_spec billing__json_f_list_only[] = {
	LIST_FIELDS,
	{ NULL, 0, false, false, NULL }
};
const field_spec billing__json_f_none[] = {
	{ NULL, 0, false, false, NULL }
};

/* ------------------------------------------------------------ dispatch */

/* The hand-written operations by area, in the catalog's order. */
static const struct {
	const op_entry *entries;
	const size_t *count;
} areas[] = {
	{ billing__json_ops_customer, &billing__json_ops_customer_count },
	{ billing__json_ops_subscription, &billing__json_ops_subscription_count },
	{ billing__json_ops_invoice, &billing__json_ops_invoice_count },
	{ billing__json_ops_event, &billing__json_ops_event_count },
	{ billing__json_ops_payment, &billing__json_ops_payment_count },
	{ billing__json_ops_webhook, &billing__json_ops_webhook_count },
	{ billing__json_ops_audit, &billing__json_ops_audit_count },
	{ billing__json_ops_payment_method, &billing__json_ops_payment_method_count },
	{ billing__json_ops_provider_account, &billing__json_ops_provider_account_count },
	{ billing__json_ops_credit_note, &billing__json_ops_credit_note_count },
	{ billing__json_ops_usage, &billing__json_ops_usage_count },
	{ billing__json_ops_subscription_item, &billing__json_ops_subscription_item_count },
	{ billing__json_ops_report, &billing__json_ops_report_count },
	{ billing__json_ops_document, &billing__json_ops_document_count },
};

#define AREA_COUNT (sizeof(areas) / sizeof(areas[0]))

/* How many generic verbs are linked to a billing__op (billing__rules.ops). */
static size_t linked_count(void)
{
	const billing__rules *const *all;
	size_t n, i, v, count = 0;

	all = billing__rules_all(&n);
	for (i = 0; i < n; i++)
		for (v = 0; v < sizeof(op_verbs) / sizeof(op_verbs[0]); v++)
			count += billing__rules_op_of(all[i], 1u << v) != NULL;
	return count;
}

/* The entry of the hand-written operation named operation, or NULL. Every
 * operation of billing__op has exactly one entry here or one generic verb
 * linked to it (asserted once). */
static const op_entry *entry_find(const char *operation)
{
	const op_entry *found = NULL;
	size_t a, i, total = 0;

	for (a = 0; a < AREA_COUNT; a++)
		for (i = 0; i < *areas[a].count; i++, total++)
			if (operation && strcmp(billing__op_get(areas[a].entries[i].op)->name,
				operation) == 0)
				found = &areas[a].entries[i];
	BILLING_ASSERT(total + linked_count() == BILLING_OP__JSON_COUNT);
	return found;
}

/* The hand-written entry of op, or NULL. */
static const op_entry *entry_of(billing__op op)
{
	size_t a, i;
	for (a = 0; a < AREA_COUNT; a++)
		for (i = 0; i < *areas[a].count; i++)
			if (areas[a].entries[i].op == op)
				return &areas[a].entries[i];
	return NULL;
}

/* The object on the generic flow and its verb (*verb) linked to op, or
 * NULL. */
static const billing__rules *linked_to(billing__op op, unsigned int *verb)
{
	const billing__rules *const *all;
	const billing__rules_op *link;
	size_t n, i, v;

	all = billing__rules_all(&n);
	for (i = 0; i < n; i++)
		for (v = 0; v < sizeof(op_verbs) / sizeof(op_verbs[0]); v++)
			if ((link = billing__rules_op_of(all[i], 1u << v)) != NULL && link->op == op) {
				*verb = 1u << v;
				return all[i];
			}
	return NULL;
}

static char *error_json(void)
{
	const billing_error *e = billing_error_last();
	cJSON *root = cJSON_CreateObject(), *err = cJSON_CreateObject(), *list;
	char *text;
	size_t i;

	if (!root || !err || !cJSON_AddItemToObject(root, "error", err)) {
		cJSON_Delete(root);
		cJSON_Delete(err);
		return NULL;
	}
	cJSON_AddNumberToObject(err, "status", e->code);
	cJSON_AddStringToObject(err, "name", e->name);
	cJSON_AddStringToObject(err, "code", e->reason);
	cJSON_AddStringToObject(err, "message", e->message);
	if (e->field)
		cJSON_AddStringToObject(err, "field", e->field);
	else
		cJSON_AddNullToObject(err, "field");
	if ((list = cJSON_AddArrayToObject(err, "errors")) != NULL) {
		for (i = 0; i < e->field_error_count; i++) {
			cJSON *fe = cJSON_CreateObject();
			cJSON_AddStringToObject(fe, "field", e->field_errors[i].field);
			cJSON_AddStringToObject(fe, "message", e->field_errors[i].message);
			cJSON_AddItemToArray(list, fe);
		}
	}
	if (e->provider_code)
		cJSON_AddStringToObject(err, "providerCode", e->provider_code);
	if (e->resource_id)
		cJSON_AddStringToObject(err, "resourceId", e->resource_id);
	text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return text;
}

static char *dup_json(cJSON *v)
{
	char *text = billing__jx_print(v);
	char *copy = text ? billing__strdup(text) : NULL;
	cJSON_free(text);
	return copy;
}

static char *dup_error_json(void)
{
	char *text = error_json();
	char *copy = text ? billing__strdup(text) : NULL;
	cJSON_free(text);
	return copy;
}

/* The object on the generic flow and the operation (BILLING_RESOURCE_OP_*)
 * a name "<plural>.<verb>" stands for, where the object offers it; NULL
 * for any other name. */
static const billing__rules *generic_find(const char *operation, unsigned int *op)
{
	const char *dot = strrchr(operation, '.');
	const billing__rules *rules;
	char plural[64];
	size_t i;

	if (!dot || (size_t)(dot - operation) >= sizeof(plural))
		return NULL;
	snprintf(plural, sizeof(plural), "%.*s", (int)(dot - operation), operation);
	if ((rules = billing__rules_find(plural)) == NULL || strcmp(rules->res->plural, plural) != 0)
		return NULL;
	for (i = 0; i < sizeof(op_verbs) / sizeof(op_verbs[0]); i++)
		if (strcmp(dot + 1, op_verbs[i]) == 0 && (rules->res->ops & (1u << i))) {
			*op = 1u << i;
			return rules;
		}
	return NULL;
}

int billing_call_json(char **out, billing_ctx *ctx, const billing_principal *who,
	const char *operation, const char *json, size_t len, const billing_call_options *opts)
{
	const op_entry *e = NULL;
	const billing__rules *rules = NULL;
	field_spec *spec = NULL;
	unsigned int gop = 0;
	cJSON *in = NULL, *result = NULL;
	int rc;

	billing_error_clear();
	if (!out)
		return billing__error_field(BILLING_EINVALID, "invalid_argument", "out",
			"out must not be NULL");
	*out = NULL;
	e = entry_find(operation);
	if (!e && operation)
		rules = generic_find(operation, &gop);
	if (!e && !rules) {
		rc = billing__error_set(BILLING_ENOTFOUND, "unknown_operation",
			"no operation named \"%.60s\"", operation ? operation : "(null)");
		goto done;
	}
	/* The call's request id and key reach every write it makes, also those
	 * of C calls that take no options (deletes, dunning.set, redelivery). */
	if (opts && opts->version >= 1 && opts->version <= BILLING_CALL_OPTIONS_VERSION)
		billing__scope_pin(opts->idempotency_key,
			opts->version >= 3 ? opts->request_id : NULL);
	/* Roles first: a forbidden caller learns nothing about its input. */
	if ((rc = e ? billing__authorize(ctx, who, e->op) :
	    billing__authorize_rules(ctx, who, rules, gop)) < 0)
		goto done;
	if (json && len > 0) {
		billing__jx_error jerr;
		if ((in = billing__jx_parse(json, len, &jerr)) == NULL) {
			if (strcmp(jerr.reason, "out_of_memory") == 0)
				rc = nomem();
			else
				rc = billing__error_field(BILLING_EINVALID, jerr.reason,
					jerr.field[0] ? jerr.field : "body", "%s", jerr.message);
			goto done;
		}
	} else if ((in = cJSON_CreateObject()) == NULL) {
		rc = nomem();
		goto done;
	}
	if (!e && (spec = billing__json_rules_spec(rules, gop)) == NULL) {
		rc = nomem();
		goto done;
	}
	if ((rc = check_fields(in, e ? e->fields : spec)) < 0)
		goto done;
	rc = e ? e->run(&result, ctx, who, in, opts) :
		billing__json_record_call(&result, rules, gop, ctx, who, in, opts);
done:
	billing__free(spec);
	billing__scope_unpin();
	cJSON_Delete(in);
	if (rc < 0) {
		cJSON_Delete(result);
		*out = dup_error_json();
		return rc;
	}
	*out = dup_json(result);
	cJSON_Delete(result);
	if (!*out)
		return nomem();
	return BILLING_OK;
}

/* The shape an operation answers with when its input asks for it instead
 * of its own: invoices.pay {paidOutOfBand: true} answers the invoice. */
static const char *or_shape(billing__op op)
{
	return op == BILLING_OP_INVOICES_PAY ? "Invoice" : NULL;
}

/* op's "output": {"kind": "object" | "page", "shape": name, "orShape":
 * another name when the input can ask for that one instead}. */
static bool output_json(cJSON *op, const char *kind, const char *shape, const char *or_shape)
{
	cJSON *o = cJSON_AddObjectToObject(op, "output");
	return o && cJSON_AddStringToObject(o, "kind", kind) &&
		cJSON_AddStringToObject(o, "shape", shape) &&
		(!or_shape || cJSON_AddStringToObject(o, "orShape", or_shape));
}

static bool shape_json(cJSON *list, const billing__shape *sh)
{
	cJSON *o = cJSON_CreateObject(), *fields;
	const billing__shape_field *f;

	if (!o || !cJSON_AddItemToArray(list, o)) {
		cJSON_Delete(o);
		return false;
	}
	if (!cJSON_AddStringToObject(o, "name", sh->name) ||
	    !cJSON_AddStringToObject(o, "doc", sh->doc) ||
	    (sh->extends && !cJSON_AddStringToObject(o, "extends", sh->extends)) ||
	    (fields = cJSON_AddArrayToObject(o, "fields")) == NULL)
		return false;
	for (f = sh->fields; f->name; f++) {
		cJSON *fo = cJSON_CreateObject();
		if (!fo || !cJSON_AddItemToArray(fields, fo)) {
			cJSON_Delete(fo);
			return false;
		}
		if (!cJSON_AddStringToObject(fo, "name", f->name) ||
		    !cJSON_AddStringToObject(fo, "type", f->type) ||
		    (f->optional && !cJSON_AddTrueToObject(fo, "optional")))
			return false;
	}
	return true;
}

/*
 * The objects whose operations follow the standard shapes (create, get,
 * update, delete and list under one plural), for the catalog's
 * "resources": the HTTP server adds their routes from it. These come
 * first, in this order: those with hand-written operations from this
 * table, those that moved onto the generic flow (rules found by plural)
 * from their descriptors. The other objects on the generic flow
 * (billing__rules_all) follow them.
 */
static const struct {
	const char *name, *plural, *path, *title, *description;
	unsigned int ops;
} crud_objects[] = {
	{ "customer", "customers", NULL, "Customer", NULL, 0 },
	{ "product", "products", NULL, "Product", NULL, 0 },
	{ "plan", "plans", NULL, "Plan", NULL, 0 },
};

#define CRUD_COUNT (sizeof(crud_objects) / sizeof(crud_objects[0]))

/* Whether res is one of crud_objects (listed in their order). */
static bool crud_listed(const billing_resource *res)
{
	size_t i;
	for (i = 0; i < CRUD_COUNT; i++)
		if (strcmp(crud_objects[i].plural, res->plural) == 0)
			return true;
	return false;
}


/* One entry of "resources": {"name","plural","path","title","description",
 * "operations":["create",...]} (the verbs in ops, BILLING_RESOURCE_OP_*). */
static bool resource_json(cJSON *list, const char *name, const char *plural, const char *path,
	const char *title, const char *description, unsigned int ops)
{
	cJSON *o = cJSON_CreateObject(), *verbs;
	size_t i;

	if (!o || !cJSON_AddItemToArray(list, o)) {
		cJSON_Delete(o);
		return false;
	}
	if (!cJSON_AddStringToObject(o, "name", name) ||
	    !cJSON_AddStringToObject(o, "plural", plural) ||
	    !cJSON_AddStringToObject(o, "path", path) ||
	    !cJSON_AddStringToObject(o, "title", title) ||
	    !cJSON_AddStringToObject(o, "description", description) ||
	    (verbs = cJSON_AddArrayToObject(o, "operations")) == NULL)
		return false;
	for (i = 0; i < sizeof(op_verbs) / sizeof(op_verbs[0]); i++)
		if ((ops & (1u << i)) && !cJSON_AddItemToArray(verbs, cJSON_CreateString(op_verbs[i])))
			return false;
	return true;
}

/* root's "resources": the objects whose operations are the standard ones. */
static bool resources_json(cJSON *root)
{
	cJSON *list = cJSON_AddArrayToObject(root, "resources");
	size_t i;

	const billing__rules *const *all;
	size_t n;

	for (i = 0; list && i < CRUD_COUNT; i++) {
		const billing__rules *rules = billing__rules_find(crud_objects[i].plural);
		const billing_resource *res = rules ? rules->res : NULL;
		if (!resource_json(list, crud_objects[i].name, crud_objects[i].plural,
			res ? res->path : crud_objects[i].path,
			res ? res->title : crud_objects[i].title,
			res ? res->description : crud_objects[i].description,
			res ? res->ops : crud_objects[i].ops))
			return false;
	}
	all = billing__rules_all(&n);
	for (i = 0; list && i < n; i++)
		if (!crud_listed(all[i]->res) &&
		    !resource_json(list, all[i]->res->name, all[i]->res->plural, all[i]->res->path,
			all[i]->res->title, all[i]->res->description, all[i]->res->ops))
			return false;
	return list != NULL;
}

/* After the shape named name: the shapes of the crud_objects on the
 * generic flow that follow it in crud_objects' order (the first follows
 * "Tenant"), so that the shapes keep that order whichever flow serves
 * each object. */
static bool crud_shapes_after(cJSON *list, const char *name)
{
	size_t k;
	for (k = 0; k < CRUD_COUNT; k++) {
		const billing__rules *rules;
		if (strcmp(k ? crud_objects[k - 1].title : "Tenant", name) != 0 ||
		    (rules = billing__rules_find(crud_objects[k].plural)) == NULL)
			continue;
		if (!billing__json_record_shape(list, rules->res))
			return false;
		name = rules->res->title;
	}
	return true;
}

/* root's "shapes": every object an operation answers with (json_out.h). */
static bool shapes_json(cJSON *root)
{
	cJSON *list = cJSON_AddArrayToObject(root, "shapes");
	size_t i, n;
	const billing__shape *sh = billing__json_shapes(&n);

	const billing__rules *const *all;

	for (i = 0; list && i < n; i++)
		if (!shape_json(list, &sh[i]) || !crud_shapes_after(list, sh[i].name))
			return false;
	all = billing__rules_all(&n);
	for (i = 0; list && i < n; i++)
		if (!crud_listed(all[i]->res) && !billing__json_record_shape(list, all[i]->res))
			return false;
	return list != NULL;
}

/* One operation of the catalog into ops. */
static bool op_json(cJSON *ops, const char *name, bool mutating, const char *description,
	unsigned int role_bits, const field_spec *fields, const char *kind, const char *shape,
	const char *or_shape)
{
	cJSON *op = cJSON_CreateObject(), *roles, *input;
	const field_spec *f;
	billing_role r;

	if (!op || !cJSON_AddItemToArray(ops, op)) {
		cJSON_Delete(op);
		return false;
	}
	if (!cJSON_AddStringToObject(op, "name", name) ||
	    !cJSON_AddBoolToObject(op, "mutating", mutating) ||
	    !cJSON_AddStringToObject(op, "description", description) ||
	    (roles = cJSON_AddArrayToObject(op, "roles")) == NULL)
		return false;
	for (r = BILLING_ROLE_USER; r <= BILLING_ROLE_PLATFORM; r++)
		if ((role_bits & BILLING__ROLE_BIT(r)) &&
		    !cJSON_AddItemToArray(roles, cJSON_CreateString(billing_role_name(r))))
			return false;
	if ((input = cJSON_AddArrayToObject(op, "input")) == NULL)
		return false;
	for (f = fields; f->name; f++) {
		cJSON *fo = cJSON_CreateObject();
		if (!fo || !cJSON_AddItemToArray(input, fo)) {
			cJSON_Delete(fo);
			return false;
		}
		if (!cJSON_AddStringToObject(fo, "name", f->name) ||
		    !cJSON_AddStringToObject(fo, "type", type_name(f->type)) ||
		    !cJSON_AddBoolToObject(fo, "required", f->required) ||
		    !cJSON_AddBoolToObject(fo, "nullable", f->nullable) ||
		    !cJSON_AddStringToObject(fo, "description", f->description))
			return false;
	}
	return output_json(op, kind, shape, or_shape);
}

/* One generic operation (verb bit) of rules' object into ops: linked to a
 * billing__op, as that operation; else named and described from the
 * descriptor. */
static bool generic_op_json(cJSON *ops, const billing__rules *rules, unsigned int bit,
	const char *generic_description)
{
	const billing_resource *res = rules->res;
	const billing__rules_op *link = billing__rules_op_of(rules, bit);
	const billing__op_info *info = link ? billing__op_get(link->op) : NULL;
	bool reads = bit == BILLING_RESOURCE_OP_GET || bit == BILLING_RESOURCE_OP_LIST;
	char name[96];
	field_spec *spec;
	size_t v = 0;
	bool ok;

	while ((1u << v) != bit)
		v++;
	snprintf(name, sizeof(name), "%s.%s", res->plural, op_verbs[v]);
	if ((spec = billing__json_rules_spec(rules, bit)) == NULL)
		return false;
	ok = op_json(ops, info ? info->name : name, info ? info->mutating : !reads,
		info ? link->description : generic_description,
		info ? info->roles : reads ? res->read_roles : res->write_roles, spec,
		bit == BILLING_RESOURCE_OP_LIST ? "page" : "object",
		bit == BILLING_RESOURCE_OP_DELETE ? "Deleted" : res->title, NULL);
	billing__free(spec);
	return ok;
}

/* The generic operations of a descriptor object (json_record.c) that are
 * not linked to a billing__op (those are listed at that op's place). */
static bool generic_ops_json(cJSON *ops, const billing__rules *rules)
{
	const billing_resource *res = rules->res;
	static const char *const what[][2] = {
		{ "Create a ", "." }, { "Fetch a ", "." },
		{ "Change the fields given of a ", "; the others stay." }, { "Delete a ", "." },
		{ "List the ", "; search, filters and sortBy as its fields say." }
	};
	size_t i;

	for (i = 0; i < sizeof(op_verbs) / sizeof(op_verbs[0]); i++) {
		unsigned int bit = 1u << i;
		char description[300];

		if (!(res->ops & bit) || billing__rules_op_of(rules, bit))
			continue;
		snprintf(description, sizeof(description), "%s%s%s", what[i][0],
			bit == BILLING_RESOURCE_OP_LIST ? res->plural : res->name, what[i][1]);
		if (!generic_op_json(ops, rules, bit, description))
			return false;
	}
	return true;
}

int billing_catalog_json(char **out)
{
	const billing__rules *const *all;
	cJSON *root, *ops;
	size_t a, i, n;
	bool failed;

	/* Before allocating: an early return must not leak root. */
	BILLING__ASSERT_ARG(out, "out");
	root = cJSON_CreateObject();
	failed = root == NULL;
	ops = cJSON_AddArrayToObject(root, "operations");
	failed |= !cJSON_AddNumberToObject(root, "version", 1) || !ops;
	/* The operations of billing__op in its order, each hand-written or
	 * a linked generic verb; then the other generic ones. */
	for (a = 0; !failed && a < BILLING_OP__JSON_COUNT; a++) {
		const op_entry *e = entry_of((billing__op)a);
		const billing__op_info *info = billing__op_get((billing__op)a);
		const billing__rules *rules;
		unsigned int verb = 0;
		if (e)
			failed = !op_json(ops, info->name, info->mutating, e->description,
				info->roles, e->fields, e->out == OUT_PAGE ? "page" : "object",
				e->shape, or_shape(e->op));
		else if ((rules = linked_to((billing__op)a, &verb)) != NULL)
			failed = !generic_op_json(ops, rules, verb, NULL);
		else
			failed = true;
	}
	all = billing__rules_all(&n);
	for (i = 0; !failed && i < n; i++)
		failed = !generic_ops_json(ops, all[i]);
	failed |= !failed && (!shapes_json(root) || !resources_json(root));
	*out = failed ? NULL : dup_json(root);
	cJSON_Delete(root);
	return *out ? BILLING_OK : nomem();
}

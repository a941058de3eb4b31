/*
 * The library's operation catalog (billing_catalog_json), parsed once at
 * start and read-only afterwards, so worker threads share it freely. The
 * server learns roles and input field types from it instead of knowing
 * them itself.
 */
#ifndef BS_CATALOG_H
#define BS_CATALOG_H

#include <billing/billing.h>
#include <cJSON.h>

int catalog_load(void);
void catalog_free(void);

/* The operation object {"name","roles","mutating","description","input"}, or NULL. */
const cJSON *catalog_op(const char *name);

/* 1 when the catalog lists role among the operation's roles. */
int catalog_op_allows(const cJSON *op, billing_role role);

/* The input field object {"name","type","required","nullable","description"}, or NULL. */
const cJSON *catalog_field(const cJSON *op, const char *name);

/* The shape {"name","doc","extends","fields":[{"name","type"}]} of that
 * name (what an operation's "output" names), or NULL. */
const cJSON *catalog_shape(const char *name);

/* The "resources" array: objects with the standard operations
 * {"name","plural","path","title","description","operations":[verbs]}. */
const cJSON *catalog_resources(void);

/* Shorthand for a string member of a catalog object ("" when absent). */
const char *catalog_str(const cJSON *obj, const char *member);

#endif

/* The parsed operation catalog. */
#include "catalog.h"

#include <string.h>

static cJSON *root;

int catalog_load(void)
{
	char *text = NULL;
	if (billing_catalog_json(&text) < 0)
		return -1;
	root = cJSON_Parse(text);
	billing_free(text);
	return root ? 0 : -1;
}

void catalog_free(void)
{
	cJSON_Delete(root);
	root = NULL;
}

const char *catalog_str(const cJSON *obj, const char *member)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, member));
	return s ? s : "";
}

const cJSON *catalog_op(const char *name)
{
	const cJSON *op;
	cJSON_ArrayForEach(op, cJSON_GetObjectItemCaseSensitive(root, "operations"))
		if (strcmp(catalog_str(op, "name"), name) == 0)
			return op;
	return NULL;
}

const cJSON *catalog_resources(void)
{
	return cJSON_GetObjectItemCaseSensitive(root, "resources");
}

const cJSON *catalog_shape(const char *name)
{
	const cJSON *sh;
	cJSON_ArrayForEach(sh, cJSON_GetObjectItemCaseSensitive(root, "shapes"))
		if (strcmp(catalog_str(sh, "name"), name) == 0)
			return sh;
	return NULL;
}

int catalog_op_allows(const cJSON *op, billing_role role)
{
	const char *want = billing_role_name(role);
	const cJSON *r;
	if (!want)
		return 0;
	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(op, "roles"))
		if (cJSON_IsString(r) && strcmp(r->valuestring, want) == 0)
			return 1;
	return 0;
}

const cJSON *catalog_field(const cJSON *op, const char *name)
{
	const cJSON *f;
	cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(op, "input"))
		if (strcmp(catalog_str(f, "name"), name) == 0)
			return f;
	return NULL;
}

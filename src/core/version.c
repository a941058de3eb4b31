/*
 * The loaded library's version, for hosts to compare with the headers they
 * were built against.
 */
#include <stdlib.h>

#include "billing/common.h"
#include "billing/version.h"
#include "core/alloc.h"
#include "core/assert.h"

int billing_version(void)
{
	return BILLING_VERSION_NUMBER;
}

const char *billing_version_string(void)
{
	return BILLING_VERSION_STRING;
}

void billing_free(void *ptr)
{
	billing__free(ptr);
}

int billing__asserts_enabled(void)
{
	return BILLING_ASSERTS_ENABLED;
}

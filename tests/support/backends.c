/*
 * The backends a suite can run on. BILLING_TEST_BACKEND picks one; a
 * backend that cannot be reached fails the suite (it never skips).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb.h"

const char *tb_backend(void)
{
	const char *b = getenv("BILLING_TEST_BACKEND");
	return b && *b ? b : "sqlite";
}

void tb_database_new(char *url, size_t size, char *dir, size_t dirsize)
{
	const char *tmp = getenv("TMPDIR");
	const char *backend = tb_backend();

	snprintf(dir, dirsize, "%s/billing-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	if (strcmp(backend, "sqlite") == 0) {
		snprintf(url, size, "sqlite:%s/test.db", dir);
		return;
	}
	print_error("unknown BILLING_TEST_BACKEND \"%s\"\n", backend);
	fail();
}

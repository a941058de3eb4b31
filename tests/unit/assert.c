/*
 * BILLING_ASSERT (src/core/assert.h): on in the builds that hunt bugs (Debug,
 * which the sanitize preset is; tsan; fuzz; -DBILLING_ASSERTS=ON), compiled
 * out of release builds, and when on, a false one aborts with file:line and
 * the condition. The expected state comes from the build's settings, passed
 * by tests/CMakeLists.txt, not from the macro under test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/assert.h"
#include "storage/pool.h"

#ifndef BILLING_TEST_BUILD_TYPE
# error "tests/CMakeLists.txt passes the build type"
#endif

/* What the build's settings promise: 1 on, 0 off. */
static int expected(void)
{
	if (BILLING_TEST_ASSERTS_OPTION || BILLING_TEST_TSAN || BILLING_TEST_FUZZ)
		return 1;
	return strcmp(BILLING_TEST_BUILD_TYPE, "Debug") == 0;
}

static void macro__matches_the_build_settings(void **state)
{
	(void)state;
	assert_int_equal(BILLING_ASSERTS_ENABLED, expected());
}

static void library__was_built_with_the_same_setting(void **state)
{
	(void)state;
	assert_int_equal(billing__asserts_enabled(), expected());
}

static void sanitize_build__has_asserts_on(void **state)
{
	(void)state;
	if (strcmp(BILLING_TEST_BUILD_TYPE, "Debug") != 0)
		skip();
	assert_int_equal(BILLING_ASSERTS_ENABLED, 1);
	assert_int_equal(billing__asserts_enabled(), 1);
}

static int evaluations;

static int counted(int v)
{
	evaluations++;
	return v;
}

static void assert__evaluates_its_condition_only_when_on(void **state)
{
	(void)state;
	evaluations = 0;
	BILLING_ASSERT(counted(1) == 1);
	assert_int_equal(evaluations, BILLING_ASSERTS_ENABLED ? 1 : 0);
}

static void assert__false_is_a_no_op_when_off(void **state)
{
	int one = 1;
	(void)state;
	if (BILLING_ASSERTS_ENABLED)
		skip();
	BILLING_ASSERT(one == 2);
	assert_int_equal(one, 1);
}

/* Runs fn in a child with stderr captured; returns its wait status and what
 * it wrote. */
static int in_child(void (*fn)(void), char *err, size_t errsize)
{
	int fds[2], status = 0;
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], 2);
		fn();
		_exit(0);
	}
	close(fds[1]);
	while (len + 1 < errsize && (n = read(fds[0], err + len, errsize - 1 - len)) > 0)
		len += (size_t)n;
	err[len] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void false_in_test(void)
{
	volatile int one = 1;
	BILLING_ASSERT(one == 2);
}

static void assert__false_aborts_with_file_line_and_condition(void **state)
{
	char err[1024];
	int status;
	(void)state;
	if (!BILLING_ASSERTS_ENABLED)
		skip();
	status = in_child(false_in_test, err, sizeof(err));
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
	assert_non_null(strstr(err, "assert.c:"));
	assert_non_null(strstr(err, "one == 2"));
}

static void close_item(billing__pool_item *item)
{
	(void)item;
}

/* A connection handed back that the pool never handed out: its count of
 * open connections would wrap below zero. */
static void pool_release_unowned(void)
{
	billing__pool p;
	billing__pool_item item = { NULL };
	billing__pool_init(&p, 1, NULL, close_item, NULL);
	billing__pool_release(&p, &item, true);
}

static void library_assert__aborts_on_broken_pool_bookkeeping(void **state)
{
	char err[1024];
	int status;
	(void)state;
	if (!billing__asserts_enabled())
		skip();
	status = in_child(pool_release_unowned, err, sizeof(err));
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
	assert_non_null(strstr(err, "pool.c:"));
	assert_non_null(strstr(err, "p->open > 0"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(macro__matches_the_build_settings),
		cmocka_unit_test(library__was_built_with_the_same_setting),
		cmocka_unit_test(sanitize_build__has_asserts_on),
		cmocka_unit_test(assert__evaluates_its_condition_only_when_on),
		cmocka_unit_test(assert__false_is_a_no_op_when_off),
		cmocka_unit_test(assert__false_aborts_with_file_line_and_condition),
		cmocka_unit_test(library_assert__aborts_on_broken_pool_bookkeeping),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

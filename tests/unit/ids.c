/*
 * Unit tests for src/core/ids.c: the id format, ordering within and across
 * milliseconds, thread and fork safety, and id validation.
 *
 * The generator keeps its last id per process, so the tests share that
 * state: each test takes a fresh, larger millisecond from fresh_ms(), and
 * the tests that need a particular time run first (or last, for the
 * largest time).
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/ids.h"

#define ALPHABET "0123456789abcdefghjkmnpqrstvwxyz"
#define TIME_MAX ((int64_t)0xFFFFFFFFFFFF)
#define MANY 10000

static int64_t fresh_ms(void)
{
	static int64_t next = 1700000000000; /* 2023-11-14, after the fixed vectors */
	next += 10000000000; /* about 116 days: more than any test adds to it */
	return next;
}

/* Decodes the 10 timestamp characters of an id body. */
static int64_t body_time(const char *body)
{
	int64_t t = 0;
	int i;

	for (i = 0; i < 10; i++)
		t = t * 32 + (int64_t)(strchr(ALPHABET, body[i]) - ALPHABET);
	return t;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

/* ---- format ---- */

static void id_new__encodes_time_in_the_first_ten_characters(void **state)
{
	char id[BILLING_ID_MAX];

	(void)state;
	assert_int_equal(billing__id_new(id, "cus", 0), 0);
	assert_memory_equal(id, "cus_0000000000", 14);

	/* The example timestamp of the ULID specification, lower-cased. */
	assert_int_equal(billing__id_new(id, "cus", 1469918176385), 0);
	assert_memory_equal(id, "cus_01aryz6s41", 14);
	assert_int_equal(body_time(id + 4), 1469918176385);
}

static void id_new__writes_prefix_underscore_and_26_base32_characters(void **state)
{
	char id[BILLING_ID_MAX];
	size_t i;

	(void)state;
	assert_int_equal(billing__id_new(id, "sub", fresh_ms()), 0);
	assert_int_equal(strlen(id), 4 + BILLING_ID_BODY_LEN);
	assert_memory_equal(id, "sub_", 4);
	for (i = 4; i < strlen(id); i++)
		assert_non_null(strchr(ALPHABET, id[i]));
	assert_true(id[4] <= '7');
	assert_true(billing__id_valid(id, "sub"));
}

static void id_new__accepts_the_longest_prefix_and_refuses_longer(void **state)
{
	char id[BILLING_ID_MAX + 8];
	const char *p20 = "abcdefghijklmnopqrst";   /* 20 + '_' + 26 + NUL = 48 */
	const char *p21 = "abcdefghijklmnopqrstu";

	(void)state;
	memset(id, 'X', sizeof(id));
	assert_int_equal(billing__id_new(id, p20, fresh_ms()), 0);
	assert_int_equal(strlen(id), BILLING_ID_MAX - 1);
	assert_int_equal(id[BILLING_ID_MAX], 'X');        /* nothing written past the array */
	assert_true(billing__id_valid(id, p20));

	assert_int_equal(billing__id_new(id, p21, fresh_ms()), -1);
	assert_int_equal(billing__id_new(id, NULL, fresh_ms()), -1);
}

static void id_new__accepts_an_empty_prefix(void **state)
{
	char id[BILLING_ID_MAX];

	(void)state;
	assert_int_equal(billing__id_new(id, "", fresh_ms()), 0);
	assert_int_equal(id[0], '_');
	assert_int_equal(strlen(id), 1 + BILLING_ID_BODY_LEN);
	assert_true(billing__id_valid(id, ""));
}

static void id_new__refuses_times_outside_48_bits(void **state)
{
	char id[BILLING_ID_MAX];

	(void)state;
	assert_int_equal(billing__id_new(id, "cus", -1), -1);
	assert_int_equal(billing__id_new(id, "cus", INT64_MIN), -1);
	assert_int_equal(billing__id_new(id, "cus", TIME_MAX + 1), -1);
	assert_int_equal(billing__id_new(id, "cus", INT64_MAX), -1);
}

/* ---- ordering ---- */

static void id_new__strictly_increasing_within_one_millisecond(void **state)
{
	char (*ids)[BILLING_ID_MAX] = calloc(MANY, BILLING_ID_MAX);
	int64_t now = fresh_ms();
	int i;

	(void)state;
	assert_non_null(ids);
	for (i = 0; i < MANY; i++) {
		assert_int_equal(billing__id_new(ids[i], "evt", now), 0);
		assert_int_equal(body_time(ids[i] + 4), now);
		if (i > 0)
			assert_true(strcmp(ids[i - 1], ids[i]) < 0);
	}
	free(ids);
}

static void id_new__later_milliseconds_sort_after(void **state)
{
	char a[BILLING_ID_MAX], b[BILLING_ID_MAX], c[BILLING_ID_MAX];
	int64_t now = fresh_ms();

	(void)state;
	assert_int_equal(billing__id_new(a, "in", now), 0);
	assert_int_equal(billing__id_new(b, "in", now + 1), 0);
	assert_int_equal(billing__id_new(c, "in", now + 86400000), 0);
	assert_true(strcmp(a, b) < 0);
	assert_true(strcmp(b, c) < 0);
	assert_int_equal(body_time(b + 3), now + 1);
	assert_int_equal(body_time(c + 3), now + 86400000);
}

static void id_new__draws_fresh_randomness_each_millisecond(void **state)
{
	char a[BILLING_ID_MAX], b[BILLING_ID_MAX];
	int64_t now = fresh_ms();

	(void)state;
	assert_int_equal(billing__id_new(a, "pay", now), 0);
	assert_int_equal(billing__id_new(b, "pay", now + 1), 0);
	/* Not merely the previous random part plus one (chance 2^-80 of a
	 * false failure on the first 10 characters of 16). */
	assert_memory_not_equal(a + 14, b + 14, 10);
}

static void id_new__keeps_order_when_the_clock_goes_backwards(void **state)
{
	char a[BILLING_ID_MAX], b[BILLING_ID_MAX], c[BILLING_ID_MAX];
	int64_t now = fresh_ms();

	(void)state;
	assert_int_equal(billing__id_new(a, "cus", now), 0);
	assert_int_equal(billing__id_new(b, "cus", now - 5000), 0);
	assert_int_equal(billing__id_new(c, "cus", 0), 0);
	assert_true(strcmp(a, b) < 0);
	assert_true(strcmp(b, c) < 0);
	/* The last timestamp is kept rather than the earlier one. */
	assert_int_equal(body_time(b + 4), now);
	assert_int_equal(body_time(c + 4), now);
}

static void id_new__ids_of_different_prefixes_share_one_sequence(void **state)
{
	char a[BILLING_ID_MAX], b[BILLING_ID_MAX];
	int64_t now = fresh_ms();

	(void)state;
	assert_int_equal(billing__id_new(a, "cus", now), 0);
	assert_int_equal(billing__id_new(b, "sub", now), 0);
	assert_true(strcmp(a + 4, b + 4) < 0);
}

/* ---- concurrency ---- */

struct worker {
	int64_t now;
	char (*ids)[BILLING_ID_MAX];
	int failures;
	int out_of_order;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	int i;

	for (i = 0; i < MANY; i++) {
		if (billing__id_new(w->ids[i], "evt", w->now) != 0)
			w->failures++;
		else if (i > 0 && strcmp(w->ids[i - 1], w->ids[i]) >= 0)
			w->out_of_order++;
	}
	return NULL;
}

static void id_new__two_threads_produce_no_duplicates(void **state)
{
	char (*ids)[BILLING_ID_MAX] = calloc(2 * MANY, BILLING_ID_MAX);
	struct worker w[2];
	pthread_t t[2];
	int64_t now = fresh_ms();
	int i;

	(void)state;
	assert_non_null(ids);
	for (i = 0; i < 2; i++) {
		w[i] = (struct worker){ .now = now, .ids = ids + i * MANY };
		assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
	}
	for (i = 0; i < 2; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(w[i].failures, 0);
		assert_int_equal(w[i].out_of_order, 0);
	}

	qsort(ids, 2 * MANY, BILLING_ID_MAX, cmp_str);
	for (i = 1; i < 2 * MANY; i++)
		assert_true(strcmp(ids[i - 1], ids[i]) < 0);
	free(ids);
}

static void id_new__forked_child_does_not_repeat_the_parents_ids(void **state)
{
	char parent_id[BILLING_ID_MAX], child_id[BILLING_ID_MAX] = "";
	int64_t now = fresh_ms();
	int fds[2], status;
	pid_t pid;

	(void)state;
	assert_int_equal(billing__id_new(parent_id, "cus", now), 0);
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* No cmocka asserts in the child: report through the pipe only. */
		char id[BILLING_ID_MAX] = "";
		close(fds[0]);
		if (billing__id_new(id, "cus", now) != 0)
			_exit(1);
		_exit(write(fds[1], id, sizeof(id)) == (ssize_t)sizeof(id) ? 0 : 1);
	}
	close(fds[1]);
	/* Without a reset both would now be "the first id plus one". */
	assert_int_equal(billing__id_new(parent_id, "cus", now), 0);
	assert_int_equal(read(fds[0], child_id, sizeof(child_id)), (ssize_t)sizeof(child_id));
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_true(billing__id_valid(child_id, "cus"));
	assert_string_not_equal(parent_id, child_id);
}

/* ---- validation ---- */

static void id_valid__accepts_generated_ids(void **state)
{
	char id[BILLING_ID_MAX];
	int i;

	(void)state;
	for (i = 0; i < 100; i++) {
		assert_int_equal(billing__id_new(id, "plan", fresh_ms()), 0);
		assert_true(billing__id_valid(id, "plan"));
	}
	assert_true(billing__id_valid("cus_01aryz6s41tsv4rrffq69g5fav", "cus"));
	assert_true(billing__id_valid("cus_7zzzzzzzzzzzzzzzzzzzzzzzzz", "cus"));
	assert_true(billing__id_valid("cus_00000000000000000000000000", "cus"));
}

static void id_valid__rejects_a_wrong_prefix(void **state)
{
	const char *id = "cus_01aryz6s41tsv4rrffq69g5fav";

	(void)state;
	assert_false(billing__id_valid(id, "sub"));
	assert_false(billing__id_valid(id, "cu"));        /* prefix of the prefix */
	assert_false(billing__id_valid(id, "cust"));
	assert_false(billing__id_valid(id, "CUS"));
	assert_false(billing__id_valid(id, ""));
	assert_false(billing__id_valid("cus01aryz6s41tsv4rrffq69g5fav", "cus"));  /* no '_' */
	assert_false(billing__id_valid("cus-01aryz6s41tsv4rrffq69g5fav", "cus"));
	assert_false(billing__id_valid("01aryz6s41tsv4rrffq69g5fav", "cus"));
}

static void id_valid__rejects_a_wrong_length(void **state)
{
	(void)state;
	assert_false(billing__id_valid("cus_", "cus"));
	assert_false(billing__id_valid("cus_01aryz6s41tsv4rrffq69g5fa", "cus"));   /* 25 */
	assert_false(billing__id_valid("cus_01aryz6s41tsv4rrffq69g5fav0", "cus")); /* 27 */
	assert_false(billing__id_valid("", "cus"));
	assert_false(billing__id_valid("cus", "cus"));
}

static void id_valid__rejects_characters_outside_the_alphabet(void **state)
{
	static const char bad[] = "ilouIOLUABZ-_.+= \xc3";
	char id[] = "cus_01aryz6s41tsv4rrffq69g5fav";
	size_t i, pos;

	(void)state;
	for (i = 0; i < sizeof(bad) - 1; i++) {
		for (pos = 4; pos < sizeof(id) - 1; pos += 7) {
			char saved = id[pos];
			id[pos] = bad[i];
			assert_false(billing__id_valid(id, "cus"));
			id[pos] = saved;
		}
	}
	assert_true(billing__id_valid(id, "cus"));
	assert_false(billing__id_valid("cus_01ARYZ6S41TSV4RRFFQ69G5FAV", "cus"));
}

static void id_valid__rejects_a_body_above_128_bits(void **state)
{
	(void)state;
	assert_false(billing__id_valid("cus_80000000000000000000000000", "cus"));
	assert_false(billing__id_valid("cus_zzzzzzzzzzzzzzzzzzzzzzzzzz", "cus"));
}

static void id_valid__rejects_null(void **state)
{
	(void)state;
	assert_false(billing__id_valid(NULL, "cus"));
	assert_false(billing__id_valid("cus_01aryz6s41tsv4rrffq69g5fav", NULL));
}

/* ---- random bytes ---- */

static void random_bytes__fills_the_buffer(void **state)
{
	uint8_t a[64], b[64], zero[64] = { 0 };
	static uint8_t big[1 << 20];

	(void)state;
	memset(a, 0, sizeof(a));
	assert_int_equal(billing__random_bytes(a, sizeof(a)), 0);
	assert_int_equal(billing__random_bytes(b, sizeof(b)), 0);
	assert_memory_not_equal(a, zero, sizeof(a));
	assert_memory_not_equal(a, b, sizeof(a));
	assert_int_equal(billing__random_bytes(a, 0), 0);
	assert_int_equal(billing__random_bytes(big, sizeof(big)), 0);
	assert_memory_not_equal(big + sizeof(big) - 64, zero, 64);
}

/* Runs last: after it, the generator's timestamp is pinned at the maximum. */
static void id_new__accepts_the_largest_48_bit_time(void **state)
{
	char a[BILLING_ID_MAX], b[BILLING_ID_MAX];

	(void)state;
	assert_int_equal(billing__id_new(a, "cus", TIME_MAX), 0);
	assert_memory_equal(a, "cus_7zzzzzzzzz", 14);
	assert_int_equal(billing__id_new(b, "cus", TIME_MAX), 0);
	assert_true(strcmp(a, b) < 0);
	assert_true(billing__id_valid(b, "cus"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(id_new__encodes_time_in_the_first_ten_characters),
		cmocka_unit_test(id_new__writes_prefix_underscore_and_26_base32_characters),
		cmocka_unit_test(id_new__accepts_the_longest_prefix_and_refuses_longer),
		cmocka_unit_test(id_new__accepts_an_empty_prefix),
		cmocka_unit_test(id_new__refuses_times_outside_48_bits),
		cmocka_unit_test(id_new__strictly_increasing_within_one_millisecond),
		cmocka_unit_test(id_new__later_milliseconds_sort_after),
		cmocka_unit_test(id_new__draws_fresh_randomness_each_millisecond),
		cmocka_unit_test(id_new__keeps_order_when_the_clock_goes_backwards),
		cmocka_unit_test(id_new__ids_of_different_prefixes_share_one_sequence),
		cmocka_unit_test(id_new__two_threads_produce_no_duplicates),
		cmocka_unit_test(id_new__forked_child_does_not_repeat_the_parents_ids),
		cmocka_unit_test(id_valid__accepts_generated_ids),
		cmocka_unit_test(id_valid__rejects_a_wrong_prefix),
		cmocka_unit_test(id_valid__rejects_a_wrong_length),
		cmocka_unit_test(id_valid__rejects_characters_outside_the_alphabet),
		cmocka_unit_test(id_valid__rejects_a_body_above_128_bits),
		cmocka_unit_test(id_valid__rejects_null),
		cmocka_unit_test(random_bytes__fills_the_buffer),
		cmocka_unit_test(id_new__accepts_the_largest_48_bit_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

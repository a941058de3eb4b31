/*
 * Unit tests for src/core/ids.c: the id format, ordering within and across
 * milliseconds, thread and fork safety, and id validation.
 *
 * The generator keeps its last id per process, so the tests share that
 * state: each test takes a fresh, larger millisecond from fresh_ms(), and
 * the tests that need a particular time run first (or last, for the
 * largest time). fresh_ms() is never a whole second: a whole second gets
 * the system clock's milliseconds (fresh_second() is for those tests).
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
#include <time.h>
#include <unistd.h>

#include "core/ids.h"

#define ALPHABET "0123456789abcdefghjkmnpqrstvwxyz"
#define TIME_MAX ((int64_t)0xFFFFFFFFFFFF)
#define MANY 10000

static int64_t fresh_second(void)
{
	static int64_t next = 1700000000000; /* 2023-11-14, after the fixed vectors */
	next += 10000000000; /* about 116 days: more than any test adds to it */
	return next;
}

static int64_t fresh_ms(void)
{
	return fresh_second() + 123;
}

/* The system clock in milliseconds. */
static int64_t system_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef unsigned __int128 u128;

/* The 128 bits of an id body (26 characters, 130 bits, the top 2 zero). */
static u128 body_bits(const char *body)
{
	u128 v = 0;
	int i;

	for (i = 0; i < BILLING_ID_BODY_LEN; i++)
		v = v * 32 + (u128)(strchr(ALPHABET, body[i]) - ALPHABET);
	return v;
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
	assert_int_equal(billing__id_new(id, "cus", 7), 0);
	assert_memory_equal(id, "cus_0000000007", 14);

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
	assert_int_equal(billing__id_new(c, "cus", 8), 0);
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
	/* Without a reset both would now step from the same first id. */
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

/* ---- unpredictability (issue #16) ---- */

#define SMALL ((u128)1 << 32)

/*
 * 10 000 ids in one millisecond: each step of the 128-bit value is a fresh
 * random number of up to 2^48 (a counter would step by one). A step below
 * 2^32 has a chance of 2^-16, so more than five in 10 000 (expected 0.15)
 * has a chance below 10^-8; equal neighbouring steps, below 10^-9.
 */
static void id_new__steps_within_one_millisecond_are_large_and_random(void **state)
{
	char (*ids)[BILLING_ID_MAX] = calloc(MANY, BILLING_ID_MAX);
	int64_t now = fresh_ms();
	u128 prev_step = 0;
	int i, small = 0, repeated = 0;

	(void)state;
	assert_non_null(ids);
	for (i = 0; i < MANY; i++)
		assert_int_equal(billing__id_new(ids[i], "evt", now), 0);
	for (i = 1; i < MANY; i++) {
		u128 a = body_bits(ids[i - 1] + 4), b = body_bits(ids[i] + 4);
		assert_true(a < b);
		if (b - a < SMALL)
			small++;
		if (b - a == prev_step)
			repeated++;
		prev_step = b - a;
	}
	assert_true(small <= 5);
	assert_int_equal(repeated, 0);
	free(ids);
}

/*
 * Two tenants share the generator: tenant A makes an id, tenant B makes k
 * = i % 4 ids, and so on, all in one millisecond. With a counter A's step
 * would be k + 1: A could count B's writes. Here A's step never is k + 1,
 * and a step over one of B's ids is often smaller than a step over none
 * (for uniform steps, 1 in 6 of such pairs; asserted: 1 in 50), so the
 * size of a step does not even rank how many ids lie between.
 */
static void id_new__interleaved_tenants_cannot_count_each_others_ids(void **state)
{
	enum { ROUNDS = 4000 };
	u128 *steps = calloc(ROUNDS, sizeof(*steps));
	char a[BILLING_ID_MAX], prev[BILLING_ID_MAX], b[BILLING_ID_MAX];
	int64_t now = fresh_ms();
	int i, j, exact = 0, inversions = 0, pairs = 0;

	(void)state;
	assert_non_null(steps);
	assert_int_equal(billing__id_new(prev, "cus", now), 0);
	for (i = 0; i < ROUNDS; i++) {
		for (j = 0; j < i % 4; j++)
			assert_int_equal(billing__id_new(b, "cus", now), 0);
		assert_int_equal(billing__id_new(a, "cus", now), 0);
		steps[i] = body_bits(a + 4) - body_bits(prev + 4);
		assert_true(steps[i] > 0);
		if (steps[i] == (u128)(i % 4 + 1))
			exact++;
		memcpy(prev, a, sizeof(prev));
	}
	/* Rounds 4m (no id of B between) against rounds 4m + 1 (one id). */
	for (i = 0; i + 1 < ROUNDS; i += 4) {
		pairs++;
		if (steps[i + 1] < steps[i])
			inversions++;
	}
	assert_int_equal(exact, 0);
	assert_true(inversions * 50 >= pairs);
	free(steps);
}

/* The core's clock has whole seconds: the id's milliseconds within that
 * second are the system clock's, read while the id was made. */
static void id_new__a_whole_second_gets_the_system_clocks_milliseconds(void **state)
{
	char id[BILLING_ID_MAX];
	int64_t before, after, got;
	int tries;

	(void)state;
	for (tries = 0; tries < 100; tries++) {
		int64_t now = fresh_second();
		before = system_ms();
		assert_int_equal(billing__id_new(id, "cus", now), 0);
		after = system_ms();
		got = body_time(id + 4) - now;
		assert_true(got >= 0 && got < 1000);
		if (before / 1000 == after / 1000)      /* not across a second */
			break;
	}
	assert_true(before / 1000 == after / 1000);
	assert_true(got >= before % 1000 && got <= after % 1000);
}

/*
 * A test clock that stands still on one second: ids made over a few real
 * milliseconds carry several milliseconds of that second, in order; set
 * back a second, the clock cannot make ids go backwards.
 */
static void id_new__a_clock_standing_still_gives_ordered_ids_within_its_second(void **state)
{
	char a[BILLING_ID_MAX], b[BILLING_ID_MAX];
	int64_t now = 0, start, end, t, first, last = 0;
	int tries;

	(void)state;
	/* A try the scheduler stalls into the next real second proves nothing
	 * about resolution (its ids stay on the last millisecond): try again. */
	for (tries = 0; tries < 10; tries++) {
		now = fresh_second();
		while (system_ms() % 1000 >= 900)       /* room for 20 ms in this second */
			usleep(1000);
		start = system_ms();
		assert_int_equal(billing__id_new(a, "cus", now), 0);
		first = body_time(a + 4);
		do {
			assert_int_equal(billing__id_new(b, "cus", now), 0);
			assert_true(strcmp(a, b) < 0);
			t = body_time(b + 4);
			assert_true(t >= now && t < now + 1000);
			memcpy(a, b, sizeof(a));
		} while ((end = system_ms()) - start < 20);
		last = body_time(a + 4);
		if (start / 1000 == end / 1000) {
			assert_true(last > first);      /* real millisecond resolution */
			break;
		}
	}
	assert_true(tries < 10);

	assert_int_equal(billing__id_new(b, "cus", now - 1000), 0);
	assert_true(strcmp(a, b) < 0);
	assert_int_equal(body_time(b + 4), last);
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
		cmocka_unit_test(id_new__steps_within_one_millisecond_are_large_and_random),
		cmocka_unit_test(id_new__interleaved_tenants_cannot_count_each_others_ids),
		cmocka_unit_test(id_new__a_whole_second_gets_the_system_clocks_milliseconds),
		cmocka_unit_test(id_new__a_clock_standing_still_gives_ordered_ids_within_its_second),
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

/*
 * Resource ids, ULID-style: a 48-bit millisecond timestamp then 80 random
 * bits, in lower-case Crockford base32 after a type prefix. The timestamp
 * first makes ids roughly creation-ordered, so keyset paging by id follows
 * creation order and B-tree inserts stay at the right edge.
 *
 * The time part: the core's clock (billing_ctx_options.clock) has whole
 * seconds, so when the caller's time is a whole second the milliseconds
 * within it come from the system's clock. The id's second stays the
 * injected clock's (its created_at), and ids a second holds are ordered by
 * when they were made.
 *
 * The last id's 128 bits are kept per process. Within one millisecond, or
 * when the time goes backwards (a test clock that stands still or is set
 * back, an NTP step), the next id keeps the last timestamp and adds a fresh
 * random increment of 1 to 2^48 to the random part, so ids of one process
 * never go backwards and never collide, and the distance between two ids
 * does not count the ids made in between (as +1 would: any tenant could
 * count every other tenant's writes).
 */

#include "core/ids.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define TIME_MAX ((int64_t)0xFFFFFFFFFFFF) /* 48 bits */
#define STEP_BYTES 6 /* the random increment: 48 bits, plus one */
#define PREFIX_MAX (BILLING_ID_MAX - BILLING_ID_BODY_LEN - 2) /* '_' and NUL */

static const char alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static bool atfork_failed;

/* Guarded by lock. */
static bool seeded;
static int64_t last_ms;
static uint8_t last_rand[10];

int billing__random_bytes(void *buf, size_t n)
{
	unsigned char *p = buf;

	while (n > 0) {
		/* getrandom returns at most 32 MiB per call, and may be interrupted
		 * by a signal before returning anything. */
		ssize_t got = getrandom(p, n, 0);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += got;
		n -= (size_t)got;
	}
	return 0;
}

/*
 * A forked child inherits the last id; without a reset, parent and child
 * would both step from it within the same millisecond. The prepare
 * and parent handlers also keep the child from inheriting a lock that some
 * other thread of the parent held at fork time.
 */
static void atfork_prepare(void)
{
	pthread_mutex_lock(&lock);
}

static void atfork_parent(void)
{
	pthread_mutex_unlock(&lock);
}

static void atfork_child(void)
{
	seeded = false;
	pthread_mutex_unlock(&lock);
}

static void atfork_register(void)
{
	if (pthread_atfork(atfork_prepare, atfork_parent, atfork_child) != 0)
		atfork_failed = true;
}

/* Adds 1 + a fresh 48-bit random number to the 80-bit random part.
 * Returns 1 when it wraps, 0, or -1 when the random source failed. */
static int step(uint8_t r[10])
{
	uint8_t inc[STEP_BYTES];
	unsigned int carry = 1;
	int i, j;

	if (billing__random_bytes(inc, sizeof(inc)) < 0)
		return -1;
	for (i = 9, j = STEP_BYTES - 1; i >= 0; i--, j--) {
		unsigned int sum = r[i] + carry + (j >= 0 ? inc[j] : 0u);
		r[i] = (uint8_t)sum;
		carry = sum >> 8;
	}
	return (int)carry;
}

/* The milliseconds past the second of the system's clock. */
static int64_t system_subsecond_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return 0;
	return (int64_t)(ts.tv_nsec / 1000000);
}

/* Five bytes become eight base32 characters. */
static void encode40(char *out, const uint8_t *in)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 5; i++)
		v = (v << 8) | in[i];
	for (i = 7; i >= 0; i--) {
		out[i] = alphabet[v & 31];
		v >>= 5;
	}
}

static void encode(char out[BILLING_ID_BODY_LEN], int64_t ms, const uint8_t r[10])
{
	uint64_t t = (uint64_t)ms;
	int i;

	/* 48 bits in 10 characters: the first holds the top 3 bits (0-7). */
	for (i = 9; i >= 0; i--) {
		out[i] = alphabet[t & 31];
		t >>= 5;
	}
	encode40(out + 10, r);
	encode40(out + 18, r + 5);
}

int billing__id_new(char out[BILLING_ID_MAX], const char *prefix, int64_t now_ms)
{
	uint8_t r[10];
	int64_t ms;
	size_t plen;
	int wrapped;

	if (prefix == NULL || (plen = strlen(prefix)) > PREFIX_MAX)
		return -1;
	if (now_ms < 0 || now_ms > TIME_MAX)
		return -1;

	pthread_once(&atfork_once, atfork_register);
	if (atfork_failed)
		return -1;

	ms = now_ms;
	if (ms % 1000 == 0) {
		ms += system_subsecond_ms();
		if (ms > TIME_MAX)
			ms = TIME_MAX;
	}

	pthread_mutex_lock(&lock);
	if (!seeded || ms > last_ms) {
		if (billing__random_bytes(last_rand, sizeof(last_rand)) < 0) {
			pthread_mutex_unlock(&lock);
			return -1;
		}
		last_ms = ms;
		seeded = true;
	} else if ((wrapped = step(last_rand)) != 0) {
		/* Rare (n ids in one millisecond wrap with a chance of about
		 * n * 2^-33); a carry into the timestamp keeps the order. */
		if (wrapped < 0 || last_ms == TIME_MAX) {
			pthread_mutex_unlock(&lock);
			return -1;
		}
		last_ms++;
	}
	ms = last_ms;
	memcpy(r, last_rand, sizeof(r));
	pthread_mutex_unlock(&lock);

	memcpy(out, prefix, plen);
	out[plen] = '_';
	encode(out + plen + 1, ms, r);
	out[plen + 1 + BILLING_ID_BODY_LEN] = '\0';
	return 0;
}

/* Membership in the lower-case Crockford alphabet: every get checks one
 * or two ids, so this is a range test, not a search of the alphabet. */
static bool is_base32(char ch)
{
	return (ch >= '0' && ch <= '9') ||
		(ch >= 'a' && ch <= 'z' && ch != 'i' && ch != 'l' && ch != 'o' && ch != 'u');
}

bool billing__id_valid(const char *id, const char *prefix)
{
	size_t plen, i;

	if (id == NULL || prefix == NULL)
		return false;
	plen = strlen(prefix);
	if (strncmp(id, prefix, plen) != 0 || id[plen] != '_')
		return false;
	id += plen + 1;
	for (i = 0; i < BILLING_ID_BODY_LEN; i++)
		if (!is_base32(id[i]))
			return false;
	/* 26 characters hold 130 bits; a first character above '7' would
	 * encode more than 128 and could not have come from billing__id_new. */
	return id[0] <= '7' && id[BILLING_ID_BODY_LEN] == '\0';
}

/* The prefixes whose objects take a tenant-chosen id (their descriptors'
 * ID field has BILLING_API_CREATE; tests/unit/coupon.c checks they agree). */
static const char *const chosen_prefixes[] = { "coupon" };

bool billing__id_chosen(const char *id, const char *prefix)
{
	size_t plen, i, n;
	bool known = false;

	if (id == NULL || prefix == NULL)
		return false;
	for (i = 0; i < sizeof(chosen_prefixes) / sizeof(chosen_prefixes[0]); i++)
		known = known || strcmp(chosen_prefixes[i], prefix) == 0;
	plen = strlen(prefix);
	if (!known || strncmp(id, prefix, plen) != 0 || id[plen] != '_')
		return false;
	n = strlen(id);
	if (n <= plen + 1 || n >= BILLING_ID_MAX)
		return false;
	for (i = plen + 1; i < n; i++) {
		char ch = id[i];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
			return false;
	}
	return true;
}

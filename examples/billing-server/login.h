/*
 * Logging in without holding up the HTTP workers: password hashing runs on
 * a small pool of its own threads with a bounded queue, while the
 * connection that asked waits suspended (MHD_suspend_connection), so its
 * HTTP worker goes back to serving other requests; and failed logins are
 * throttled per e-mail and per client address.
 */
#ifndef BS_LOGIN_H
#define BS_LOGIN_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct MHD_Connection;

/* One password check. The submitter fills hash (NULL: the dummy hash, for
 * an unknown e-mail), password and plen; the pool sets ok, then resumes
 * conn. */
typedef struct login_job {
	struct login_job *next;
	struct MHD_Connection *conn;
	char *hash;              /* malloc'd copy of the stored hash, or NULL */
	char *password;          /* malloc'd; the submitter cleanses and frees it */
	size_t plen;
	int ok;                  /* set by the pool: 1 when the password matched */
	void *user;              /* the submitter's (a billing_user), freed by it */
} login_job;

typedef struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t *threads;
	unsigned int thread_count;
	unsigned int queue_limit;
	unsigned int queued;
	login_job *head, *tail;
	int stopping;
} login_pool;

/* Starts threads hashing threads with room for queue jobs waiting.
 * Returns 0 or -1. */
int login_pool_start(login_pool *p, unsigned int threads, unsigned int queue);

/* Finishes the jobs queued (resuming their connections), then stops the
 * threads; later submissions are refused. Call it while the daemon still
 * runs: a job resumes its connection. */
void login_pool_stop(login_pool *p);

/* Stops the pool if it runs, and releases it. */
void login_pool_free(login_pool *p);

/* Suspends job->conn and queues the job; its connection is resumed when
 * job->ok is set. Returns 0, or -1 (nothing suspended, nothing queued)
 * when the queue is full: the caller answers 503. */
int login_pool_submit(login_pool *p, login_job *job);

/* Failed-login counters: a fixed table of fixed windows, keyed by a
 * keyed hash of "e:<email>" or "a:<address>". When the table is full the
 * oldest window is reused. */
#define THROTTLE_SLOTS 4096

typedef struct {
	uint64_t key;            /* 0: free */
	int64_t window_start;
	unsigned int failures;
} throttle_slot;

typedef struct {
	pthread_mutex_t lock;
	uint64_t seed[2];
	throttle_slot slots[THROTTLE_SLOTS];
} throttle;

int throttle_init(throttle *t);
void throttle_free(throttle *t);

/* 0 when key may try now; else the seconds until it may (>= 1). */
unsigned int throttle_wait(throttle *t, const char *key, int64_t now, unsigned int limit,
	unsigned int window_s);

/* Counts one failure of key. */
void throttle_fail(throttle *t, const char *key, int64_t now, unsigned int window_s);

/* Forgets key's failures (a successful login of that e-mail). */
void throttle_clear(throttle *t, const char *key);

struct request;

/* POST /v1/auth/login after its input is checked (email valid, password
 * 8-1024 characters, a secret to sign with): refuses a throttled e-mail or
 * address (429 + Retry-After), finds the user, and hands the password
 * check to the pool, suspending the connection (r->resume set); the
 * resumed callback answers 201 with a token or 401, and counts the
 * failure. A full queue is 503 + Retry-After. */
void login_begin(struct request *r, const char *email, const char *password, size_t plen);

/* For a verified token whose sub has the form of a user id (tokens from
 * login, or `billing-server token` for a stored user): 0 while that user
 * exists in the token's tenant; else -1 with the answer made (401
 * invalid_token for a deleted user, 503 when storage fails). Tokens of
 * other subjects (another issuer's, development tokens for made-up users)
 * are not checked. One primary-key read per request, no cache: a deleted
 * user's token stops working at once. */
int login_user_exists(struct request *r);

#endif

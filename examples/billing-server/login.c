/*
 * The password-hashing pool and the failed-login throttle (login.h).
 *
 * argon2id costs about a second of CPU per check on a busy machine
 * (passwords.c: t=3, m=64 MiB); run on the HTTP workers, a handful of
 * clients sending wrong passwords held every worker and every other
 * request waited behind them. The pool bounds both the threads spent on
 * hashing and the logins waiting for them; past the bound a login is
 * refused at once (503) rather than queued without end.
 */
#include "login.h"

#include <arpa/inet.h>
#include <billing/billing.h>
#include <cJSON.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jwt.h"
#include "log.h"
#include "passwords.h"
#include "problem.h"
#include "server.h"

static void *worker(void *arg)
{
	login_pool *p = arg;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		login_job *job;
		while (!p->head && !p->stopping)
			pthread_cond_wait(&p->wake, &p->lock);
		if (!p->head)
			break;   /* stopping, and nothing left to do */
		job = p->head;
		p->head = job->next;
		if (!p->head)
			p->tail = NULL;
		p->queued--;
		pthread_mutex_unlock(&p->lock);

		if (job->hash) {
			job->ok = password_verify(job->hash, job->password, job->plen);
		} else {
			/* An unknown e-mail: the same work as a wrong password. */
			password_verify_dummy(job->password, job->plen);
			job->ok = 0;
		}
		/* The connection's next callback reads job->ok; MHD's own lock
		 * orders the write before it. */
		MHD_resume_connection(job->conn);

		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int login_pool_start(login_pool *p, unsigned int threads, unsigned int queue)
{
	unsigned int i;

	memset(p, 0, sizeof(*p));
	if ((p->threads = calloc(threads, sizeof(*p->threads))) == NULL)
		return -1;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	p->queue_limit = queue;
	for (i = 0; i < threads; i++) {
		if (pthread_create(&p->threads[i], NULL, worker, p) != 0) {
			p->thread_count = i;
			login_pool_free(p);
			return -1;
		}
	}
	p->thread_count = threads;
	return 0;
}

void login_pool_stop(login_pool *p)
{
	unsigned int i;

	if (!p->threads)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = 1;
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < p->thread_count; i++)
		pthread_join(p->threads[i], NULL);
	free(p->threads);
	p->threads = NULL;
}

void login_pool_free(login_pool *p)
{
	login_pool_stop(p);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
}

int login_pool_submit(login_pool *p, login_job *job)
{
	pthread_mutex_lock(&p->lock);
	if (p->stopping || p->queued >= p->queue_limit) {
		pthread_mutex_unlock(&p->lock);
		return -1;
	}
	/* Suspended before it is queued: a worker may resume it at once, and
	 * MHD resumes only a connection already suspended. */
	MHD_suspend_connection(job->conn);
	job->next = NULL;
	if (p->tail)
		p->tail->next = job;
	else
		p->head = job;
	p->tail = job;
	p->queued++;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

/* ------------------------------------------------------------ throttle */

int throttle_init(throttle *t)
{
	memset(t, 0, sizeof(*t));
	if (RAND_bytes((unsigned char *)t->seed, sizeof(t->seed)) != 1)
		return -1;
	pthread_mutex_init(&t->lock, NULL);
	return 0;
}

void throttle_free(throttle *t)
{
	pthread_mutex_destroy(&t->lock);
}

/* A keyed hash, so that a client cannot choose e-mails that collide. */
static uint64_t key_of(const throttle *t, const char *key)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	uint64_t k = 0;

	if (!HMAC(EVP_sha256(), t->seed, (int)sizeof(t->seed), (const unsigned char *)key,
		strlen(key), mac, &len) || len < sizeof(k))
		return 1;
	memcpy(&k, mac, sizeof(k));
	return k ? k : 1;
}

#define PROBES 8

/* The slot of k (or NULL when absent and create is 0); called locked. */
static throttle_slot *slot_of(throttle *t, uint64_t k, int create)
{
	size_t i, first = (size_t)(k % THROTTLE_SLOTS);
	throttle_slot *oldest = NULL;

	for (i = 0; i < PROBES; i++) {
		throttle_slot *s = &t->slots[(first + i) % THROTTLE_SLOTS];
		if (s->key == k)
			return s;
		if (!oldest || s->key == 0 || (oldest->key != 0 && s->window_start <
			oldest->window_start))
			oldest = s;
	}
	if (!create)
		return NULL;
	oldest->key = k;
	oldest->window_start = 0;
	oldest->failures = 0;
	return oldest;
}

unsigned int throttle_wait(throttle *t, const char *key, int64_t now, unsigned int limit,
	unsigned int window_s)
{
	uint64_t k = key_of(t, key);
	unsigned int wait = 0;
	throttle_slot *s;

	pthread_mutex_lock(&t->lock);
	s = slot_of(t, k, 0);
	if (s && s->failures >= limit && now < s->window_start + (int64_t)window_s)
		wait = (unsigned int)(s->window_start + (int64_t)window_s - now);
	pthread_mutex_unlock(&t->lock);
	return wait;
}

void throttle_fail(throttle *t, const char *key, int64_t now, unsigned int window_s)
{
	uint64_t k = key_of(t, key);
	throttle_slot *s;

	pthread_mutex_lock(&t->lock);
	s = slot_of(t, k, 1);
	if (now >= s->window_start + (int64_t)window_s) {
		s->window_start = now;
		s->failures = 0;
	}
	s->failures++;
	pthread_mutex_unlock(&t->lock);
}

void throttle_clear(throttle *t, const char *key)
{
	uint64_t k = key_of(t, key);
	throttle_slot *s;

	pthread_mutex_lock(&t->lock);
	if ((s = slot_of(t, k, 0)) != NULL)
		s->failures = 0;
	pthread_mutex_unlock(&t->lock);
}

/* ------------------------------------------------------------ the login */

typedef struct {
	login_job job;
	char email_key[208];     /* "e:" + the e-mail, lower case */
	char addr_key[64];       /* "a:" + the client's address */
} login_state;

static void answer(struct request *r, int status, const char *code, const char *detail)
{
	r->out.status = status;
	r->out.content_type = PROBLEM_CONTENT_TYPE;
	r->out.body = problem_make(status, code, detail, NULL, r->request_id);
}

static void state_free(void *pending)
{
	login_state *st = pending;
	if (!st)
		return;
	billing_user_free(st->job.user);
	st->job.user = NULL;
	if (st->job.password) {
		OPENSSL_cleanse(st->job.password, st->job.plen);
		free(st->job.password);
	}
	free(st->job.hash);
	free(st);
}

static void client_addr_key(struct request *r, char *out, size_t size)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->conn,
		MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	char text[INET6_ADDRSTRLEN] = "unknown";
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, text,
			sizeof(text));
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, text,
			sizeof(text));
	snprintf(out, size, "a:%s", text);
}

static void throttled(struct request *r, unsigned int wait, const char *what)
{
	char detail[160];
	snprintf(detail, sizeof(detail), "too many failed logins %s; try again in %u s", what, wait);
	answer(r, 429, "too_many_login_attempts", detail);
	r->out.retry_after = wait;
}

static void finish(struct request *r)
{
	login_state *st = r->pending;
	app *a = r->app;
	const config *cfg = a->cfg;
	billing_user *u = st->job.user;
	int64_t now = now_unix();
	cJSON *res;
	char *tok;

	if (!st->job.ok) {
		throttle_fail(&a->failures, st->email_key, now, cfg->login_window_s);
		throttle_fail(&a->failures, st->addr_key, now, cfg->login_window_s);
		answer(r, 401, "invalid_credentials", "wrong e-mail or password");
		goto done;
	}
	throttle_clear(&a->failures, st->email_key);
	tok = jwt_sign_hs256(cfg, billing_user_id(u), billing_user_tenant_id(u),
		billing_role_name(billing_user_role(u)), now, now + cfg->token_ttl_s);
	if (!tok) {
		answer(r, 500, "internal", "cannot sign a token");
		goto done;
	}
	res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "accessToken", tok);
	cJSON_AddStringToObject(res, "tokenType", "Bearer");
	cJSON_AddNumberToObject(res, "expiresIn", cfg->token_ttl_s);
	OPENSSL_cleanse(tok, strlen(tok));
	free(tok);
	r->out.status = 201;
	r->out.content_type = "application/json";
	r->out.body = cJSON_PrintUnformatted(res);
	r->out.no_store = 1;
	cJSON_Delete(res);
done:
	state_free(st);
	r->pending = NULL;
	r->pending_free = NULL;
}

void login_begin(struct request *r, const char *email, const char *password, size_t plen)
{
	billing_principal platform = { NULL, NULL, BILLING_ROLE_PLATFORM };
	app *a = r->app;
	const config *cfg = a->cfg;
	int64_t now = now_unix();
	login_state *st;
	billing_user *u = NULL;
	unsigned int wait;
	size_t i;
	int rc;

	if ((st = calloc(1, sizeof(*st))) == NULL) {
		answer(r, 500, "internal", "out of memory");
		return;
	}
	snprintf(st->email_key, sizeof(st->email_key), "e:%s", email);
	for (i = 2; st->email_key[i]; i++)
		if (st->email_key[i] >= 'A' && st->email_key[i] <= 'Z')
			st->email_key[i] = (char)(st->email_key[i] - 'A' + 'a');
	client_addr_key(r, st->addr_key, sizeof(st->addr_key));

	/* Before any work: a throttled attempt costs nothing, and a right
	 * password is refused too (else guessing would go on). */
	if ((wait = throttle_wait(&a->failures, st->email_key, now, cfg->login_max_failures,
		cfg->login_window_s)) > 0) {
		throttled(r, wait, "for this e-mail");
		goto fail;
	}
	if ((wait = throttle_wait(&a->failures, st->addr_key, now, cfg->login_max_failures_ip,
		cfg->login_window_s)) > 0) {
		throttled(r, wait, "from this address");
		goto fail;
	}

	rc = billing_user_find_by_email(&u, a->ctx, &platform, email);
	if (rc < 0 && rc != BILLING_ENOTFOUND) {
		const billing_error *e = billing_error_last();
		int status = problem_http_status(rc);
		log_msg(LOG_WARN, "user lookup failed", "requestId", r->request_id,
			"error", e->message, LOG_END);
		answer(r, status, e->reason, status >= 500 && status != 503 ?
			"the server failed to complete the request" : e->message);
		goto fail;
	}
	/* An unknown e-mail (no hash) is checked against the dummy hash: the
	 * same time as a wrong password, no oracle for who has an account. */
	st->job.user = u;
	if (u && (st->job.hash = strdup(billing_user_password_hash(u))) == NULL)
		goto oom;
	if ((st->job.password = malloc(plen + 1)) == NULL)
		goto oom;
	memcpy(st->job.password, password, plen + 1);
	st->job.plen = plen;
	st->job.conn = r->conn;

	r->pending = st;
	r->pending_free = state_free;
	r->resume = finish;
	if (login_pool_submit(&a->logins, &st->job) < 0) {
		r->pending = NULL;
		r->pending_free = NULL;
		r->resume = NULL;
		log_msg(LOG_WARN, "login refused: the password-check queue is full",
			"requestId", r->request_id, LOG_END);
		answer(r, 503, "login_busy", "too many logins in progress; try again shortly");
		r->out.retry_after = 1;
		goto fail;
	}
	return;
oom:
	answer(r, 500, "internal", "out of memory");
fail:
	state_free(st);
}

int login_user_exists(struct request *r)
{
	billing_principal platform = { NULL, NULL, BILLING_ROLE_PLATFORM };
	billing_user *u = NULL;
	int rc;

	if (!jwt_id_ok(r->claims.sub, "usr_"))
		return 0;
	rc = billing_user_get(&u, r->app->ctx, &platform, r->claims.tenant_id, r->claims.sub);
	billing_user_free(u);
	if (rc == BILLING_OK)
		return 0;
	if (rc == BILLING_ENOTFOUND) {
		r->out.www_authenticate = "Bearer error=\"invalid_token\"";
		answer(r, 401, "invalid_token", "the token's user no longer exists");
	} else {
		const billing_error *e = billing_error_last();
		int status = problem_http_status(rc);
		r->out.www_authenticate = NULL;
		log_msg(LOG_WARN, "user check failed", "requestId", r->request_id,
			"error", e->message, LOG_END);
		answer(r, status, e->reason && *e->reason ? e->reason : "internal",
			status >= 500 && status != 503 ? "the server failed to complete the request" :
			e->message);
	}
	return -1;
}

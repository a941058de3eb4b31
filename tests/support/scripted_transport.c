/*
 * The scripted transport of scripted_transport.h.
 */
#include "scripted_transport.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "billing/errors.h"

static char *dup_n(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	if (!d)
		abort();
	if (n)
		memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

static void keep(st_request *r, const billing_transport_request *req)
{
	size_t i;
	r->method = dup_n(req->method, strlen(req->method));
	r->url = dup_n(req->url, strlen(req->url));
	r->body = req->body ? dup_n(req->body, req->body_len) : NULL;
	r->body_len = req->body ? req->body_len : 0;
	for (i = 0; i < req->nheaders && i < ST_MAX_HEADERS; i++) {
		r->names[i] = dup_n(req->headers[i].name, strlen(req->headers[i].name));
		r->values[i] = dup_n(req->headers[i].value, strlen(req->headers[i].value));
	}
	r->nheaders = i;
	r->connect_timeout_ms = req->connect_timeout_ms;
	r->timeout_ms = req->timeout_ms;
	r->max_response = req->max_response;
	r->flags = req->flags;
}

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0)
		;
}

static int st_send(billing_transport *bt, const billing_transport_request *req,
	billing_transport_response *res)
{
	scripted_transport *t = (scripted_transport *)bt;
	long long clock = t->on_send ? t->on_send(t->hook_payload) : 0;
	st_answer a;
	st_request *r = NULL;
	size_t i, route = ST_MAX_ROUTES;

	pthread_mutex_lock(&t->mu);
	for (i = 0; i < t->nroutes && route == ST_MAX_ROUTES; i++)
		if (strstr(req->url, t->routes[i]))
			route = i;
	if (route < ST_MAX_ROUTES) {
		a = t->route_answers[route];
		if (++t->route_in_flight[route] > t->route_max_in_flight[route])
			t->route_max_in_flight[route] = t->route_in_flight[route];
	} else {
		a = t->next < t->nscript ? t->script[t->next++] : t->otherwise;
	}
	if (t->nseen < sizeof(t->seen) / sizeof(t->seen[0]))
		r = &t->seen[t->nseen++];
	if (r) {
		keep(r, req);
		r->sent = a.kind != ST_SEND_FAILS;
		r->started_ms = mono_ms();
		r->clock_at_send = clock;
	}
	pthread_mutex_unlock(&t->mu);

	if (a.kind == ST_HANG && a.real_wait)
		sleep_ms(req->timeout_ms);
	else if (a.kind == ST_HANG && t->on_hang)
		t->on_hang(t->hook_payload, req->timeout_ms);
	else if (a.delay_ms > 0)
		sleep_ms(a.delay_ms);
	pthread_mutex_lock(&t->mu);
	if (r)
		r->ended_ms = mono_ms();
	if (route < ST_MAX_ROUTES)
		t->route_in_flight[route]--;
	pthread_mutex_unlock(&t->mu);

	if (a.kind == ST_SEND_FAILS)
		return BILLING_ENOMEM;
	memset(res, 0, sizeof(*res));
	switch (a.kind) {
	case ST_HANG: res->error = BILLING_TRANSPORT_TIMEOUT; return BILLING_OK;
	case ST_RESET: res->error = BILLING_TRANSPORT_RESET; return BILLING_OK;
	case ST_CONNECT: res->error = BILLING_TRANSPORT_CONNECT; return BILLING_OK;
	case ST_TLS: res->error = BILLING_TRANSPORT_TLS; return BILLING_OK;
	case ST_REFUSED_ADDRESS: res->error = BILLING_TRANSPORT_REFUSED_ADDRESS; return BILLING_OK;
	default: break;
	}
	res->status = a.status;
	if (a.kind == ST_TOO_LARGE) {
		/* the first max_response bytes of a longer body */
		res->error = BILLING_TRANSPORT_TOO_LARGE;
		res->body = malloc(req->max_response + 1);
		if (!res->body)
			abort();
		memset(res->body, 'x', req->max_response);
		res->body[req->max_response] = '\0';
		res->body_len = req->max_response;
	} else if (a.body) {
		res->body = dup_n(a.body, strlen(a.body));
		res->body_len = strlen(a.body);
	}
	/* Only headers the caller asked for come back, as a real transport may. */
	for (i = 0; a.header_name && i < req->nwant_headers; i++) {
		if (strcasecmp(req->want_headers[i], a.header_name) != 0)
			continue;
		res->headers = calloc(1, sizeof(*res->headers));
		if (!res->headers)
			abort();
		res->headers[0].name = req->want_headers[i];
		res->headers[0].value = dup_n(a.header_value, strlen(a.header_value));
		res->nheaders = 1;
		break;
	}
	return BILLING_OK;
}

static void st_release(billing_transport *bt, billing_transport_response *res)
{
	scripted_transport *t = (scripted_transport *)bt;
	if (res->nheaders)
		free((void *)res->headers[0].value);
	free(res->headers);
	free(res->body);
	memset(res, 0, sizeof(*res));
	pthread_mutex_lock(&t->mu);
	t->released++;
	pthread_mutex_unlock(&t->mu);
}

/* ------------------------------------------------------------ send_batch */

typedef struct {
	scripted_transport *t;
	const billing_transport_request *req;
	billing_transport_response res;
	void *token;
	int rc;
	int busy, finished;
	pthread_t thread;
} st_slot;

typedef struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
} st_signal;

static st_signal batch_signal = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER };

static void *st_worker(void *p)
{
	st_slot *s = p;
	int rc = st_send(&s->t->base, s->req, &s->res);
	pthread_mutex_lock(&batch_signal.mu);
	s->rc = rc;
	s->finished = 1;
	pthread_cond_broadcast(&batch_signal.cv);
	pthread_mutex_unlock(&batch_signal.mu);
	return NULL;
}

#define ST_MAX_SLOTS 64

static int st_send_batch(billing_transport *bt, billing_transport_batch *b)
{
	scripted_transport *t = (scripted_transport *)bt;
	st_slot slots[ST_MAX_SLOTS];
	unsigned int max = b->max_in_flight < ST_MAX_SLOTS ? b->max_in_flight : ST_MAX_SLOTS;
	unsigned int i, in_flight = 0;

	memset(slots, 0, sizeof(slots));
	pthread_mutex_lock(&t->mu);
	t->batches++;
	pthread_mutex_unlock(&t->mu);
	for (;;) {
		long wait_ms = -1;
		int ended = 0;
		for (i = 0; i < max && in_flight < max; i++) {
			st_slot *s = &slots[i];
			if (s->busy)
				continue;
			if (b->next(b, &s->req, &s->token, &wait_ms) != 1)
				break;
			wait_ms = -1;
			s->t = t;
			s->busy = 1;
			s->finished = 0;
			memset(&s->res, 0, sizeof(s->res));
			in_flight++;
			pthread_mutex_lock(&t->mu);
			if (++t->in_flight > t->max_in_flight)
				t->max_in_flight = t->in_flight;
			pthread_mutex_unlock(&t->mu);
			if (pthread_create(&s->thread, NULL, st_worker, s) != 0)
				abort();
		}
		if (in_flight == 0) {
			if (wait_ms < 0)
				break;
			sleep_ms(wait_ms);
			continue;
		}
		for (i = 0; i < max; i++) {
			st_slot *s = &slots[i];
			int fin;
			if (!s->busy)
				continue;
			pthread_mutex_lock(&batch_signal.mu);
			fin = s->finished;
			pthread_mutex_unlock(&batch_signal.mu);
			if (!fin)
				continue;
			pthread_join(s->thread, NULL);
			s->busy = 0;
			in_flight--;
			pthread_mutex_lock(&t->mu);
			t->in_flight--;
			pthread_mutex_unlock(&t->mu);
			if (s->rc < 0)
				memset(&s->res, 0, sizeof(s->res));
			b->done(b, s->token, s->rc, &s->res);
			if (s->rc == 0)
				st_release(bt, &s->res);
			ended = 1;
		}
		if (!ended) {
			struct timespec until;
			long ms = wait_ms >= 0 && wait_ms < 20 ? wait_ms : 20;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += ms * 1000000L;
			until.tv_sec += until.tv_nsec / 1000000000L;
			until.tv_nsec %= 1000000000L;
			pthread_mutex_lock(&batch_signal.mu);
			pthread_cond_timedwait(&batch_signal.cv, &batch_signal.mu, &until);
			pthread_mutex_unlock(&batch_signal.mu);
		}
	}
	return 0;
}

void st_concurrent(scripted_transport *t)
{
	t->base.version = 2;
	t->base.send_batch = st_send_batch;
}

void st_route(scripted_transport *t, const char *url_part, st_answer a)
{
	pthread_mutex_lock(&t->mu);
	if (t->nroutes >= ST_MAX_ROUTES)
		abort();
	t->routes[t->nroutes] = url_part;
	t->route_answers[t->nroutes++] = a;
	pthread_mutex_unlock(&t->mu);
}

scripted_transport *st_new(void)
{
	scripted_transport *t = calloc(1, sizeof(*t));
	if (!t)
		abort();
	t->base.version = 1;     /* send() only, until st_concurrent() */
	t->base.send = st_send;
	t->base.release = st_release;
	pthread_mutex_init(&t->mu, NULL);
	t->otherwise.kind = ST_ANSWER;
	t->otherwise.status = 200;
	t->otherwise.body = "ok";
	return t;
}

void st_free(scripted_transport *t)
{
	size_t i, j;
	if (!t)
		return;
	for (i = 0; i < t->nseen; i++) {
		st_request *r = &t->seen[i];
		free(r->method);
		free(r->url);
		free(r->body);
		for (j = 0; j < r->nheaders; j++) {
			free(r->names[j]);
			free(r->values[j]);
		}
	}
	pthread_mutex_destroy(&t->mu);
	free(t);
}

void st_push(scripted_transport *t, st_answer a)
{
	pthread_mutex_lock(&t->mu);
	if (t->nscript < sizeof(t->script) / sizeof(t->script[0]))
		t->script[t->nscript++] = a;
	else
		abort();
	pthread_mutex_unlock(&t->mu);
}

void st_otherwise(scripted_transport *t, st_answer a)
{
	pthread_mutex_lock(&t->mu);
	t->otherwise = a;
	pthread_mutex_unlock(&t->mu);
}

size_t st_count(scripted_transport *t)
{
	size_t n;
	pthread_mutex_lock(&t->mu);
	n = t->nseen;
	pthread_mutex_unlock(&t->mu);
	return n;
}

const st_request *st_seen(scripted_transport *t, size_t i)
{
	const st_request *r;
	pthread_mutex_lock(&t->mu);
	r = i < t->nseen ? &t->seen[i] : NULL;
	pthread_mutex_unlock(&t->mu);
	return r;
}

const char *st_header(const st_request *r, const char *name)
{
	size_t i;
	for (i = 0; r && i < r->nheaders; i++)
		if (strcasecmp(r->names[i], name) == 0)
			return r->values[i];
	return NULL;
}

/*
 * A scripted outbound transport (billing/sys/transport.h) for tests: no
 * sockets. Each call takes the next scripted answer (then the "otherwise"
 * answer): a status with a body and one header, a hang (the transport's
 * timeout), a reset, a refused connection, a TLS failure, an address
 * refused, an oversized body, or a send() that fails outright; answers
 * by URL (routes), with real waits when asked. Every request is kept
 * (method, URL, headers, body, limits, flags, when) for the test to check
 * what the library sent. Version 1 (send only) unless st_concurrent()
 * gives it send_batch, one thread per exchange. Thread-safe.
 */
#ifndef BILLING_TESTS_SCRIPTED_TRANSPORT_H
#define BILLING_TESTS_SCRIPTED_TRANSPORT_H

#include <pthread.h>
#include <stddef.h>

#include "billing/sys/transport.h"

typedef enum {
	ST_ANSWER = 0,      /* status, body, header */
	ST_HANG,            /* no answer in time: BILLING_TRANSPORT_TIMEOUT */
	ST_RESET,           /* BILLING_TRANSPORT_RESET, no status */
	ST_CONNECT,         /* BILLING_TRANSPORT_CONNECT */
	ST_TLS,             /* BILLING_TRANSPORT_TLS */
	ST_REFUSED_ADDRESS, /* BILLING_TRANSPORT_REFUSED_ADDRESS */
	ST_TOO_LARGE,       /* status, then a body past the request's cap */
	ST_SEND_FAILS       /* send() returns BILLING_ENOMEM: nothing sent */
} st_kind;

typedef struct {
	st_kind kind;
	long status;
	const char *body;          /* copied when answered */
	const char *header_name;   /* one answer header, or NULL */
	const char *header_value;
	/* ST_HANG: really waits for the request's timeout_ms first when set
	 * (concurrency tests); others: waits delay_ms first */
	int real_wait;
	long delay_ms;
} st_answer;

#define ST_MAX_HEADERS 16

typedef struct {
	char *method, *url, *body;
	size_t body_len;
	char *names[ST_MAX_HEADERS], *values[ST_MAX_HEADERS];
	size_t nheaders;
	long connect_timeout_ms, timeout_ms;
	size_t max_response;
	unsigned int flags;
	int sent;                  /* 0: the script said ST_SEND_FAILS */
	long long started_ms;      /* monotonic, when send() began */
	long long ended_ms;        /* monotonic, when it returned */
	long long clock_at_send;   /* the on_send hook's answer, or 0 */
} st_request;

#define ST_MAX_ROUTES 8

typedef struct {
	billing_transport base;    /* first: the library sees a billing_transport */
	pthread_mutex_t mu;
	st_answer script[64];
	size_t nscript, next;
	st_answer otherwise;       /* after the script: 200 "ok" unless set */
	st_request seen[256];
	size_t nseen;
	size_t released;           /* release() calls */
	/* Requests whose URL contains routes[i] get route_answers[i] (before
	 * the script). */
	const char *routes[ST_MAX_ROUTES];
	st_answer route_answers[ST_MAX_ROUTES];
	size_t nroutes;
	/* Called (under no lock) as each request is sent: returns the test's
	 * clock, kept as clock_at_send. on_hang is called for each ST_HANG
	 * that does not really wait, with the timeout it stands for
	 * (simulated time). */
	long long (*on_send)(void *payload);
	void (*on_hang)(void *payload, long timeout_ms);
	void *hook_payload;
	/* concurrency seen by send_batch (st_concurrent) */
	unsigned int in_flight, max_in_flight;
	unsigned int route_in_flight[ST_MAX_ROUTES], route_max_in_flight[ST_MAX_ROUTES];
	size_t batches;            /* send_batch calls */
} scripted_transport;

scripted_transport *st_new(void);
void st_free(scripted_transport *t);
/* The next answers, in order. */
void st_push(scripted_transport *t, st_answer a);
void st_otherwise(scripted_transport *t, st_answer a);
/* Answers a for every request whose URL contains url_part. */
void st_route(scripted_transport *t, const char *url_part, st_answer a);
/* Makes t a version 2 transport with send_batch: each exchange on a thread
 * of its own, max_in_flight at once. */
void st_concurrent(scripted_transport *t);
size_t st_count(scripted_transport *t);
/* The i-th request (0-based); the pointer stays valid until st_free. */
const st_request *st_seen(scripted_transport *t, size_t i);
/* The value of a request header (case-insensitive name), or NULL. */
const char *st_header(const st_request *r, const char *name);

#endif

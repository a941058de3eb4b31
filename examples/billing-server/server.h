/*
 * The HTTP front: libmicrohttpd with a thread pool, one request object per
 * HTTP request, and the reply that handlers fill in.
 */
#ifndef BS_SERVER_H
#define BS_SERVER_H

#include <billing/billing.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "config.h"
#include "jwt.h"
#include "login.h"
#include "runner.h"

#define BODY_LIMIT (1024u * 1024u)
/* The request line and headers together; over it: 431 problem+json. MHD's
 * own limit (its per-connection memory, HEADER_MEMORY below) is above it,
 * so the server's answer comes first; past MHD's limit MHD answers 431
 * itself, in HTML (README.md, "Errors libmicrohttpd answers itself"). */
#define HEADERS_LIMIT (16u * 1024u)
#define HEADER_MEMORY (96u * 1024u)

struct conn_track;

struct MHD_Connection;
struct route;

typedef struct {
	billing_ctx *ctx;
	config *cfg;
	char *openapi;           /* the OpenAPI document, built at start */
	atomic_int shutting_down;
	atomic_int active;       /* requests begun and not completed */
	runner run;              /* the billing-run worker and the test clock */
	login_pool logins;       /* password hashing off the HTTP workers */
	throttle failures;       /* failed logins per e-mail and per address */
	/* Connections, for the total request-read deadline (server.c). */
	pthread_mutex_t conns_lock;
	struct conn_track *conns;
} app;

typedef struct {
	int status;
	char *body;              /* malloc'd, or NULL for an empty body */
	size_t body_len;         /* the body's bytes (a binary body: a PDF); 0: strlen(body) */
	const char *content_type;
	char location[320];
	char etag[48];
	char allow[64];
	int replayed;            /* Idempotent-Replayed: true */
	const char *www_authenticate;
	int no_store;            /* Cache-Control: no-store */
	unsigned int retry_after; /* Retry-After: seconds, 0 for none */
	const char *cache_control; /* Cache-Control when no_store is not set; NULL: none */
	/* More headers: static {name, value} pairs ending with {NULL, NULL}
	 * (the console's Content-Security-Policy, console.c); NULL: none. */
	const char *const (*headers)[2];
} reply;

typedef struct request {
	app *app;
	struct MHD_Connection *conn;
	const char *method;
	const char *url;
	const struct route *rt;  /* NULL when no route matched */
	char id[256];            /* the {id} path segment */
	char *body;
	size_t body_len, body_cap;
	int too_large;
	int responded;
	uint64_t start_us;
	char request_id[136];
	jwt_claims claims;
	int authenticated;
	char webhook_tenant[64]; /* for the log line: the tenant a webhook event applied to */
	int head;                /* a HEAD request, routed as GET; MHD sends no body */
	struct conn_track *track;
	/* A handler that suspended the connection (a login waiting for its
	 * password check) sets resume: the next callback calls it to make the
	 * answer. pending is its state, freed by it (or by pending_free when
	 * the connection ends first). */
	void (*resume)(struct request *r);
	void *pending;
	void (*pending_free)(void *pending);
	reply out;
} request;

/* A conditional GET of content made per request (a document, a console
 * file): sets r->out.etag to a strong ETag of body (the first 128 bits of
 * its SHA-256, so it changes when the content does) and, when the
 * request's If-None-Match names that tag or is "*", makes the reply a 304
 * and returns 1: the caller then sends no body. Returns 0 otherwise (and
 * when the digest fails: no ETag, a full answer). */
int reply_unless_unchanged(request *r, const char *body, size_t len);

/* Runs the server until SIGTERM or SIGINT; returns the exit status. */
int server_run(app *a);

#endif

/*
 * The HTTP front: libmicrohttpd with a thread pool, one request object per
 * HTTP request, and the reply that handlers fill in.
 */
#ifndef BS_SERVER_H
#define BS_SERVER_H

#include <billing/billing.h>
#include <stdatomic.h>
#include <stdint.h>

#include "config.h"
#include "jwt.h"
#include "runner.h"

#define BODY_LIMIT (1024u * 1024u)

struct MHD_Connection;
struct route;

typedef struct {
	billing_ctx *ctx;
	config *cfg;
	char *openapi;           /* the OpenAPI document, built at start */
	atomic_int shutting_down;
	atomic_int active;       /* requests begun and not completed */
	runner run;              /* the billing-run worker and the test clock */
} app;

typedef struct {
	int status;
	char *body;              /* malloc'd, or NULL for an empty body */
	const char *content_type;
	char location[320];
	char etag[48];
	char allow[64];
	int replayed;            /* Idempotent-Replayed: true */
	const char *www_authenticate;
	int no_store;            /* Cache-Control: no-store */
} reply;

typedef struct {
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
	reply out;
} request;

/* Runs the server until SIGTERM or SIGINT; returns the exit status. */
int server_run(app *a);

#endif

/*
 * The routing table: every route the server answers, with the library
 * operation behind it. The standard routes of the catalog's resources are
 * made at start (router_init); the others are rows in router.c.
 */
#ifndef BS_ROUTER_H
#define BS_ROUTER_H

#include <stddef.h>

#include "server.h"

typedef enum {
	H_OP_CREATE,   /* POST collection: body -> op, 201 + Location + ETag */
	H_OP_LIST,     /* GET collection: query -> op input, list envelope */
	H_OP_GET,      /* GET item: {id} -> "id", 200 + ETag */
	H_OP_UPDATE,   /* PATCH item: body + {id} + If-Match, 200 + ETag */
	H_OP_DELETE,   /* DELETE item: {id} + If-Match, 204 */
	H_OP_QUERY,    /* GET: query -> op input, 200 with one object (invoices/preview) */
	H_OP_REPLACE,  /* PUT singleton: body -> op input, 200 with the object (dunning-policy) */
	H_OP_ACTION_NEW, /* POST item/verb that makes another resource: body + {id}, 201 +
	                  * Location of what it made (invoices/{id}/pay -> a payment) */
	H_OP_POST,     /* POST collection/verb: body -> op input, 200 with the op's answer
	                * (events/redeliver {since}) */
	H_OP_ACTION,   /* POST item/verb: body + {id}, 200 + ETag (subscriptions/{id}/cancel, ...) */
	/* the kinds above are library operations with a bearer token; keep
	 * H_OP_ACTION last of them (route_needs_token, openapi.c) */
	H_LOGIN,
	H_HEALTHZ,
	H_READYZ,
	H_METRICS,
	H_OPENAPI,
	H_CLOCK_GET,     /* GET /v1/test-clock: only with BILLING_TEST_CLOCK=1, ADMIN */
	H_CLOCK_ADVANCE, /* POST /v1/test-clock/advance: likewise */
	H_WEBHOOK_STRIPE, /* POST /v1/webhooks/stripe: no token; raw body to the provider */
	H_DOCUMENT_HTML, /* GET /v1/invoices/{id}/html?locale=: billing_invoice_render (tag
	                  * creditNotes: /v1/credit-notes/{id}/html, billing_credit_note_render),
	                  * a strong ETag of the content, If-None-Match -> 304 */
	H_CONSOLE,       /* GET /console/ and every path below it: the console's files
	                  * (console.c), no token; the path template is a prefix */
	H_DOCUMENT_PDF,  /* GET /v1/invoices/{id}/pdf?locale= and /v1/credit-notes/{id}/pdf:
	                  * likewise, application/pdf */
	H_HOSTED_HTML,   /* GET /hosted/invoices/{id}: a hosted invoice link ({id}: its token),
	                  * no bearer token; billing_hosted_invoice_render */
	H_HOSTED_PDF,    /* GET /hosted/invoices/{id}/pdf: likewise, application/pdf */
	H_DOCUMENT_CII,  /* GET /v1/invoices/{id}/einvoice: the CII XML of EN 16931
	                  * (BILLING_DOCUMENT_CII), application/xml, ETag as the PDF's; no
	                  * query parameter */
	H_DOCUMENT_FACTURX /* GET /v1/invoices/{id}/facturx?locale=: the Factur-X PDF/A-3
	                  * with the CII XML attached (BILLING_DOCUMENT_FACTURX),
	                  * application/pdf, ETag as the PDF's */
} handler_kind;

/* Inbound provider webhooks are small (Stripe's events are a few KiB). */
#define WEBHOOK_BODY_LIMIT (256u * 1024u)

typedef struct route {
	const char *method;
	const char *path;        /* template: "/v1/customers/{id}" */
	handler_kind kind;
	const char *operation;   /* catalog name for H_OP_*, else NULL */
	const char *tag;         /* OpenAPI tag */
	const char *summary;     /* for routes without an operation */
	/* H_OP_LIST below an item (/v1/webhook-endpoints/{id}/deliveries): the
	 * operation input the path {id} fills ("endpointId"), and a check that
	 * the item exists in the caller's tenant (BILLING_OK or the library's
	 * error), so that an id naming nothing is 404 as for every path id (the
	 * list alone would be empty, or 400 for a query filter). NULL for other
	 * routes. */
	const char *path_input;
	int (*item_exists)(billing_ctx *ctx, const billing_principal *who, const char *id);
	/* H_OP_POST: the body field the route requires ("since"); NULL: none. */
	const char *required_input;
} route;

/* 1 for routes that need a bearer token. */
int route_needs_token(handler_kind kind);

/* 1 for the test-clock routes, which exist only with BILLING_TEST_CLOCK=1. */
int route_is_test_clock(handler_kind kind);

/* The table: the hand-written rows until router_init, then with the
 * catalog resources' standard routes; read-only once the server runs. */
extern const route *routes;
extern size_t route_count;

/* Builds the table from the catalog (catalog_load first): 0, or -1 when
 * out of memory. router_free releases it. */
int router_init(void);
void router_free(void);

/* Checks at start that every operation in the table is in the catalog.
 * Prints the missing ones; returns their number. */
int router_check_catalog(void);

/* The largest body the matched route accepts (BODY_LIMIT, or
 * WEBHOOK_BODY_LIMIT for the inbound webhook). */
size_t router_body_limit(const request *r);

/* Finds the route for method and path, fills r->rt and r->id, or leaves
 * r->rt NULL and fills r->out.allow when the path exists under other
 * methods. */
void router_match(request *r);

/* Answers the request into r->out. */
void router_handle(request *r);

/* MHD_OPTION_UNESCAPE_CALLBACK: percent-decoding of the path and of query
 * arguments, as MHD's own except that %00 becomes the bytes C0 80 (an
 * overlong NUL, never valid UTF-8) instead of a terminator that would cut
 * "cus_1%00x" down to the id "cus_1". Path segments holding it match no
 * route; query values holding it are 400. */
struct MHD_Connection;
size_t router_unescape(void *cls, struct MHD_Connection *conn, char *s);

#endif

/**
 * @file billing/sys/transport.h
 * @brief The outbound HTTP transport, for hosts that send HTTP their own way.
 *
 * Everything the library sends over HTTP goes through one call of this
 * vtable: webhook deliveries (billing_ctx_options.transport) and the Stripe
 * provider's requests (billing_stripe_options.transport). The default,
 * billing_transport_default(), is libcurl configured in one place: no
 * redirects, http and https only, the request's timeouts and size cap, the
 * address check of BILLING_TRANSPORT_PUBLIC_ONLY on every address it
 * connects to, and never a proxy from the environment (http_proxy,
 * https_proxy, ALL_PROXY: the address check would see only the proxy). A host supplies its own to use its HTTP client, proxy,
 * tracing or connection pool, or a test double that fails on cue.
 *
 * One exchange, no retries: the library decides whether to try again
 * (Stripe's idempotent retries, the webhook schedule). A transport does not
 * follow redirects (a 3xx is an answer), does not log the headers or the
 * body (they carry API keys and signatures), and honours the request's
 * flags; a transport that cannot honour BILLING_TRANSPORT_PUBLIC_ONLY
 * answers BILLING_TRANSPORT_REFUSED_ADDRESS rather than send.
 *
 * Outcomes, not errors: send() returns BILLING_OK whenever the request may
 * have left (an answer came, or a timeout, a reset...), with the outcome in
 * the response. A negative return means it certainly did not leave (out of
 * memory, a request the transport cannot express); the library then treats
 * it as a failure of its own.
 *
 * Many at once (version 2): send_batch() makes a set of exchanges
 * concurrently, at most a given number in flight, asking the library for
 * each next request when a slot is free, so the library can build (sign,
 * stamp) each one at the moment it starts. A transport without it (version
 * 1, or send_batch NULL) still works: the library then sends one exchange
 * after another through send().
 *
 * Versioning: the vtable starts with its version and only grows at its end.
 */
#ifndef BILLING_SYS_TRANSPORT_H
#define BILLING_SYS_TRANSPORT_H

#include "../common.h"
#include "../payment.h"

BILLING_BEGIN_DECL

#define BILLING_TRANSPORT_VERSION 2

typedef struct billing_transport billing_transport;

/** Request flags. */
#define BILLING_TRANSPORT_ALLOW_HTTP  (1u << 0) /**< http:// as well as https:// */
/** Connect only to public addresses: loopback, private, link-local,
 *  multicast, metadata and other non-public ones are refused
 *  (BILLING_TRANSPORT_REFUSED_ADDRESS), and so are IPv6 addresses carrying
 *  such an IPv4 one (::ffff:a.b.c.d, ::a.b.c.d, NAT64 64:ff9b::/96, 6to4
 *  2002::/16). Checked on the address actually connected to, so a name
 *  that resolves differently later changes nothing. */
#define BILLING_TRANSPORT_PUBLIC_ONLY (1u << 1)
/** Connect directly, ignoring proxy settings (loopback test servers).
 *  The default transport always connects directly; a host transport that
 *  uses a proxy must not use it for such a request. */
#define BILLING_TRANSPORT_NO_PROXY    (1u << 2)

/** What became of an exchange. */
typedef enum {
	BILLING_TRANSPORT_OK = 0,          /**< an HTTP answer came, any status */
	BILLING_TRANSPORT_TIMEOUT,         /**< no whole answer within the time limit */
	BILLING_TRANSPORT_CONNECT,         /**< no connection: refused, unreachable, unknown name */
	BILLING_TRANSPORT_RESET,           /**< the connection broke before the whole answer */
	BILLING_TRANSPORT_TLS,             /**< the TLS handshake or the certificate failed */
	BILLING_TRANSPORT_TOO_LARGE,       /**< the body went past max_response: status, headers
	                                        and the first max_response bytes are set */
	BILLING_TRANSPORT_REFUSED_ADDRESS, /**< BILLING_TRANSPORT_PUBLIC_ONLY refused the address */
	BILLING_TRANSPORT_FAILED           /**< any other failure of the transport */
} billing_transport_error;

/** One request. Everything is borrowed for the call. */
typedef struct {
	const char *method;             /**< "GET", "POST" */
	const char *url;                /**< absolute http(s) URL */
	const billing_header *headers;  /**< sent as given (no Content-Length: the body's) */
	size_t nheaders;
	const char *body;               /**< NULL: none */
	size_t body_len;
	long connect_timeout_ms;        /**< > 0 */
	long timeout_ms;                /**< the whole exchange, > 0 */
	size_t max_response;            /**< body bytes read at most, > 0 */
	unsigned int flags;             /**< BILLING_TRANSPORT_* flags */
	/** Names of the answer's headers the caller reads (case-insensitive);
	 *  others need not be returned. */
	const char *const *want_headers;
	size_t nwant_headers;
} billing_transport_request;

/** One answer. The library zeroes it before send() and, after send()
 *  returned BILLING_OK, hands it back to release(). */
typedef struct {
	billing_transport_error error;  /**< BILLING_TRANSPORT_OK when an answer came */
	long status;                    /**< the HTTP status; 0 when none came (it may come
	                                     with an error: a reset after the status line) */
	char *body;                     /**< NUL-terminated, or NULL; owned by the transport */
	size_t body_len;
	billing_header *headers;        /**< the wanted headers that came; owned by the transport */
	size_t nheaders;
	void *transport_data;           /**< for the transport's own use */
} billing_transport_response;

typedef struct billing_transport_batch billing_transport_batch;

/**
 * A set of exchanges made by send_batch() (version 2). The library fills
 * it and the transport calls its callbacks, always from the thread that
 * called send_batch(), never two at once.
 */
struct billing_transport_batch {
	/** Exchanges in flight at most (> 0). */
	unsigned int max_in_flight;

	/**
	 * Asked whenever fewer than max_in_flight are in flight. Returns 1
	 * with *req set to the next exchange to start now and *token naming it
	 * in done(); req and all it points to stay valid until done() for it
	 * returns. Returns 0 when none is to start now, with *wait_ms set to
	 * when to ask again (>= 0), or to -1: ask again only after an exchange
	 * in flight ends. When it returns 0 with -1 and nothing is in flight,
	 * the batch is over.
	 */
	int (*next)(billing_transport_batch *b, const billing_transport_request **req,
		void **token, long *wait_ms);

	/**
	 * An exchange ended: rc and res as send() would have returned and
	 * filled them (res zeroed when rc is negative). The transport frees
	 * what res holds after done() returns.
	 */
	void (*done)(billing_transport_batch *b, void *token, int rc,
		billing_transport_response *res);

	void *payload;                  /**< the library's */
};

/** The transport vtable. Embed it as the first member of the transport's
 *  struct. send() may be called from several threads at once. The host
 *  owns the transport: it must outlive every context and provider given
 *  it, and the library never frees it. */
struct billing_transport {
	unsigned int version;           /**< BILLING_TRANSPORT_VERSION it was built for */

	/**
	 * Makes one exchange. On BILLING_OK, res holds the outcome, and the
	 * library calls release() once it has read it. On a negative return
	 * (the request was certainly not sent) res must hold nothing to free,
	 * and an error should be set with the reason.
	 */
	int (*send)(billing_transport *t, const billing_transport_request *req,
		billing_transport_response *res);

	/** Frees what send() put in res. */
	void (*release)(billing_transport *t, billing_transport_response *res);

	/**
	 * Version 2, optional (NULL: the library sends one after another
	 * through send()). Makes every exchange next() hands over, at most
	 * b->max_in_flight at once, each as send() would (its own timeouts,
	 * flags and caps), calling done() exactly once for each, as it ends,
	 * and returns BILLING_OK once next() has no more and none is in flight.
	 * A negative return means it could not run the batch at all: next()
	 * was not called.
	 */
	int (*send_batch)(billing_transport *t, billing_transport_batch *b);

	/* later versions append methods here */
};

#define BILLING_TRANSPORT_INIT { BILLING_TRANSPORT_VERSION, 0, 0, 0 }

/**
 * The library's libcurl transport (a process-wide instance, borrowed: do
 * not free). A host's transport may wrap it, adding to what it does.
 */
BILLING_EXTERN(billing_transport *) billing_transport_default(void);

/** "ok", "timeout", "connect", "reset", "tls", "too_large",
 *  "refused_address", "failed"; NULL for a value it does not know. */
BILLING_EXTERN(const char *) billing_transport_error_name(billing_transport_error e);

BILLING_END_DECL

#endif

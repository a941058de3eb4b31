/*
 * The default outbound HTTP transport (billing/sys/transport.h): libcurl,
 * configured here and nowhere else. One easy handle per exchange (handles
 * are not shared across threads); curl_global_init runs once. No redirects,
 * http and https only (http only with BILLING_TRANSPORT_ALLOW_HTTP), the
 * request's timeouts, the body read up to the request's cap, and with
 * BILLING_TRANSPORT_PUBLIC_ONLY every address connected to checked.
 */
#include "billing/sys/transport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "billing/version.h"
#include "core/alloc.h"
#include "core/errors.h"
#include "transport/curl_transport.h"

#define MAX_HEADER_LINE 8192

typedef struct {
	const billing_transport_request *req;
	billing_transport_response *res;
	size_t cap;
	bool too_large;
	bool refused;                  /* an address PUBLIC_ONLY does not allow */
	bool no_memory;
} exchange;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* The library's one curl_global_init (curl_transport.h). */
int billing__curl_init(void)
{
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK)
		return billing__error_set(BILLING_ERROR, NULL, "libcurl failed to initialize");
	return BILLING_OK;
}

static size_t on_body(char *data, size_t size, size_t n, void *payload)
{
	exchange *x = payload;
	billing_transport_response *res = x->res;
	size_t len = size * n, take = len;

	if (res->body_len + take > x->req->max_response) {
		take = x->req->max_response - res->body_len;
		x->too_large = true;
	}
	if (res->body_len + take + 1 > x->cap) {
		size_t cap = x->cap ? x->cap : 4096;
		char *p;
		while (cap < res->body_len + take + 1)
			cap *= 2;
		if ((p = billing__realloc(res->body, cap)) == NULL) {
			x->no_memory = true;
			return 0;
		}
		res->body = p;
		x->cap = cap;
	}
	memcpy(res->body + res->body_len, data, take);
	res->body_len += take;
	res->body[res->body_len] = '\0';
	return x->too_large ? 0 : len;   /* 0: curl stops with CURLE_WRITE_ERROR */
}

/* Keeps the first of each wanted header (of the last answer: a 100
 * Continue's headers are dropped when the next status line comes). */
static size_t on_header(char *data, size_t size, size_t n, void *payload)
{
	exchange *x = payload;
	billing_transport_response *res = x->res;
	size_t len = size * n, i, k;
	const char *v, *end = data + len;

	if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		for (i = 0; i < res->nheaders; i++)
			billing__free((void *)res->headers[i].value);
		res->nheaders = 0;
		return len;
	}
	for (i = 0; i < x->req->nwant_headers; i++) {
		const char *name = x->req->want_headers[i];
		size_t j;
		k = strlen(name);
		if (len <= k || data[k] != ':' || strncasecmp(data, name, k) != 0)
			continue;
		for (j = 0; j < res->nheaders; j++)
			if (strcasecmp(res->headers[j].name, name) == 0)
				return len;
		v = data + k + 1;
		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' ||
		       end[-1] == '\t'))
			end--;
		if ((size_t)(end - v) > MAX_HEADER_LINE)
			return len;
		if (!res->headers &&
		    !(res->headers = billing__calloc(x->req->nwant_headers, sizeof(billing_header)))) {
			x->no_memory = true;
			return 0;
		}
		res->headers[res->nheaders].name = name;
		if ((res->headers[res->nheaders].value = billing__strndup(v, (size_t)(end - v)))
		    == NULL) {
			x->no_memory = true;
			return 0;
		}
		res->nheaders++;
		return len;
	}
	return len;
}

static bool v4_forbidden(uint32_t ip)
{
	uint8_t a = (uint8_t)(ip >> 24), b = (uint8_t)(ip >> 16);
	return a == 0 || a == 10 || a == 127 || (a == 100 && (b & 0xc0) == 64) ||
		(a == 169 && b == 254) || (a == 172 && (b & 0xf0) == 16) ||
		(a == 192 && b == 168) || (a == 192 && b == 0 && (uint8_t)(ip >> 8) == 0) ||
		(a == 198 && (b & 0xfe) == 18) || a >= 224;
}

static uint32_t v4_at(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Loopback, private, link-local, multicast, metadata and other
 * non-public addresses. An IPv6 address that carries an IPv4 one (mapped,
 * the old "compatible" form, NAT64, 6to4) is judged by the address it
 * carries: ::ffff:127.0.0.1 and 64:ff9b::a9fe:a9fe reach what their IPv4
 * address reaches. */
static bool address_forbidden(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		return v4_forbidden(ntohl(in->sin_addr.s_addr));
	}
	if (sa->sa_family == AF_INET6) {
		const uint8_t *x = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		static const uint8_t zero[16];
		static const uint8_t nat64[12] = { 0x00, 0x64, 0xff, 0x9b };
		if (memcmp(x, zero, 12) == 0)                  /* ::, ::1, ::a.b.c.d */
			return true;
		if (memcmp(x, zero, 10) == 0 && x[10] == 0xff && x[11] == 0xff)
			return v4_forbidden(v4_at(x + 12));    /* ::ffff:a.b.c.d */
		if (memcmp(x, nat64, 12) == 0)                 /* 64:ff9b::a.b.c.d */
			return v4_forbidden(v4_at(x + 12));
		if (x[0] == 0x20 && x[1] == 0x02)              /* 2002:AABB:CCDD::/48 6to4 */
			return v4_forbidden(v4_at(x + 2));
		return (x[0] == 0x00 && x[1] == 0x64 && x[2] == 0xff && x[3] == 0x9b &&
			x[4] == 0x00 && x[5] == 0x01) ||       /* 64:ff9b:1::/48 local NAT64 */
			(x[0] == 0x20 && x[1] == 0x01 && x[2] == 0 && x[3] == 0) || /* Teredo */
			(x[0] & 0xfe) == 0xfc ||               /* fc00::/7 unique local */
			(x[0] == 0xfe && (x[1] & 0xc0) == 0x80) || /* fe80::/10 link-local */
			(x[0] == 0xfe && (x[1] & 0xc0) == 0xc0) || /* fec0::/10 site-local */
			x[0] == 0xff;                          /* multicast */
	}
	return true;
}

static curl_socket_t open_socket(void *payload, curlsocktype purpose,
	struct curl_sockaddr *address)
{
	exchange *x = payload;
	(void)purpose;
	/* The address actually connected to is the one checked, so a name
	 * that resolves differently later (DNS rebinding) changes nothing. */
	if ((x->req->flags & BILLING_TRANSPORT_PUBLIC_ONLY) && address_forbidden(&address->addr)) {
		x->refused = true;
		return CURL_SOCKET_BAD;
	}
	return socket(address->family, address->socktype, address->protocol);
}

static billing_transport_error error_of(CURLcode cc, const exchange *x)
{
	if (x->refused)
		return BILLING_TRANSPORT_REFUSED_ADDRESS;
	if (x->too_large)
		return BILLING_TRANSPORT_TOO_LARGE;
	switch (cc) {
	case CURLE_OK:
		return BILLING_TRANSPORT_OK;
	case CURLE_OPERATION_TIMEDOUT:
		return BILLING_TRANSPORT_TIMEOUT;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return BILLING_TRANSPORT_CONNECT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
		return BILLING_TRANSPORT_TLS;
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
		return BILLING_TRANSPORT_RESET;
	default:
		return BILLING_TRANSPORT_FAILED;
	}
}

static void curl_release(billing_transport *t, billing_transport_response *res)
{
	size_t i;
	(void)t;
	for (i = 0; i < res->nheaders; i++)
		billing__free((void *)res->headers[i].value);
	billing__free(res->headers);
	billing__free(res->body);
	memset(res, 0, sizeof(*res));
}

/* The request's headers as curl_slist nodes on the heap, each line wiped
 * when freed: they carry API keys and signatures. */
static void lines_free(struct curl_slist *h, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++) {
		if (h[i].data) {
			OPENSSL_cleanse(h[i].data, strlen(h[i].data));
			billing__free(h[i].data);
		}
	}
	billing__free(h);
}

static struct curl_slist *lines_new(const billing_transport_request *req, size_t *n)
{
	struct curl_slist *h;
	size_t i, len;

	/* + "Expect:" (no 100-continue round trip) + "Accept-Encoding" none */
	*n = req->nheaders + 1;
	if ((h = billing__calloc(*n, sizeof(*h))) == NULL)
		return NULL;
	for (i = 0; i < req->nheaders; i++) {
		len = strlen(req->headers[i].name) + strlen(req->headers[i].value) + 3;
		if ((h[i].data = billing__malloc(len)) == NULL) {
			lines_free(h, *n);
			return NULL;
		}
		snprintf(h[i].data, len, "%s: %s", req->headers[i].name, req->headers[i].value);
	}
	if ((h[i].data = billing__strdup("Expect:")) == NULL) {
		lines_free(h, *n);
		return NULL;
	}
	for (i = 0; i < *n; i++)
		h[i].next = i + 1 < *n ? &h[i + 1] : NULL;
	return h;
}

/* One exchange being made: its easy handle, its header lines, and what
 * the callbacks fill. */
typedef struct {
	exchange x;
	CURL *curl;
	struct curl_slist *lines;
	size_t nlines;
	void *token;                   /* the batch's name for it */
} transfer;

static void transfer_free(transfer *tr)
{
	if (!tr)
		return;
	if (tr->curl)
		curl_easy_cleanup(tr->curl);
	if (tr->lines)
		lines_free(tr->lines, tr->nlines);
	billing__free(tr);
}

/* A new transfer for req, its answer into res, ready to perform; NULL with
 * an error set when it cannot be made (nothing was sent). */
static transfer *transfer_new(const billing_transport_request *req,
	billing_transport_response *res)
{
	transfer *tr;
	CURL *curl;
	bool ok;

	if (!req || !res || !req->method || !req->url || req->max_response == 0 ||
	    req->timeout_ms <= 0 || req->connect_timeout_ms <= 0 ||
	    (req->nheaders && !req->headers) || (req->nwant_headers && !req->want_headers)) {
		(void)billing__error_set(BILLING_EINVALID, "invalid_argument",
			"transport: an incomplete request");
		return NULL;
	}
	if (billing__curl_init() < 0)
		return NULL;
	memset(res, 0, sizeof(*res));
	if ((tr = billing__calloc(1, sizeof(*tr))) == NULL ||
	    (tr->lines = lines_new(req, &tr->nlines)) == NULL ||
	    (tr->curl = curl = curl_easy_init()) == NULL) {
		transfer_free(tr);
		(void)billing__error_set(BILLING_ENOMEM, NULL, "no memory for a request");
		return NULL;
	}
	tr->x.req = req;
	tr->x.res = res;
	ok = curl_easy_setopt(curl, CURLOPT_URL, req->url) == CURLE_OK &&
		curl_easy_setopt(curl, CURLOPT_HTTPHEADER, tr->lines) == CURLE_OK &&
		curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
		curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK &&
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK &&
#if LIBCURL_VERSION_NUM >= 0x075500
		curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR,
			req->flags & BILLING_TRANSPORT_ALLOW_HTTP ? "http,https" : "https") == CURLE_OK &&
#else
		curl_easy_setopt(curl, CURLOPT_PROTOCOLS,
			req->flags & BILLING_TRANSPORT_ALLOW_HTTP ?
			(long)(CURLPROTO_HTTP | CURLPROTO_HTTPS) : (long)CURLPROTO_HTTPS) == CURLE_OK &&
#endif
		curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms)
			== CURLE_OK &&
		curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, req->timeout_ms) == CURLE_OK &&
		curl_easy_setopt(curl, CURLOPT_USERAGENT, "libbilling/" BILLING_VERSION_STRING)
			== CURLE_OK &&
		curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK &&
		curl_easy_setopt(curl, CURLOPT_WRITEDATA, &tr->x) == CURLE_OK &&
		curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header) == CURLE_OK &&
		curl_easy_setopt(curl, CURLOPT_HEADERDATA, &tr->x) == CURLE_OK &&
		curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, open_socket) == CURLE_OK &&
		curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, &tr->x) == CURLE_OK &&
		curl_easy_setopt(curl, CURLOPT_PRIVATE, (void *)tr) == CURLE_OK;
	/* Always direct: libcurl would otherwise take a proxy from the
	 * environment (http_proxy, https_proxy, ALL_PROXY), and the address
	 * check would then see only the proxy's address. "" turns them off. */
	if (ok)
		ok = curl_easy_setopt(curl, CURLOPT_PROXY, "") == CURLE_OK;
	if (ok && (req->body || strcmp(req->method, "POST") == 0))
		ok = curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body ? req->body : "")
			== CURLE_OK && curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
			(curl_off_t)(req->body ? req->body_len : 0)) == CURLE_OK;
	if (ok && strcmp(req->method, "GET") != 0 && strcmp(req->method, "POST") != 0)
		ok = curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req->method) == CURLE_OK;
	if (!ok) {
		transfer_free(tr);
		(void)billing__error_set(BILLING_ERROR, NULL, "transport: cannot set up the request");
		return NULL;
	}
	return tr;
}

/* The outcome of a performed transfer into its response; frees it. */
static void transfer_finish(transfer *tr, CURLcode cc)
{
	billing_transport_response *res = tr->x.res;
	/* Out of memory reading the answer: the request may have arrived, so
	 * it is an outcome (failed), not an error. */
	res->error = tr->x.no_memory ? BILLING_TRANSPORT_FAILED : error_of(cc, &tr->x);
	if (curl_easy_getinfo(tr->curl, CURLINFO_RESPONSE_CODE, &res->status) != CURLE_OK)
		res->status = 0;
	transfer_free(tr);
}

static int curl_send(billing_transport *t, const billing_transport_request *req,
	billing_transport_response *res)
{
	transfer *tr;
	CURLcode cc;

	(void)t;
	if ((tr = transfer_new(req, res)) == NULL)
		return billing_error_last()->code;
	cc = curl_easy_perform(tr->curl);
	transfer_finish(tr, cc);
	return BILLING_OK;
}

/* One slot of a batch: the transfer and the answer it fills. */
typedef struct {
	transfer *tr;
	billing_transport_response res;
} slot;

/* Starts req in slot s on multi; false (with done() called: certainly not
 * sent) when it cannot be. */
static bool slot_start(CURLM *multi, billing_transport_batch *b, slot *s,
	const billing_transport_request *req, void *token)
{
	int rc;
	if ((s->tr = transfer_new(req, &s->res)) != NULL) {
		s->tr->token = token;
		if (curl_multi_add_handle(multi, s->tr->curl) == CURLM_OK)
			return true;
		transfer_free(s->tr);
		s->tr = NULL;
		(void)billing__error_set(BILLING_ENOMEM, NULL, "no memory for a request");
	}
	rc = billing_error_last()->code < 0 ? billing_error_last()->code : BILLING_ERROR;
	memset(&s->res, 0, sizeof(s->res));
	b->done(b, token, rc, &s->res);
	return false;
}

/*
 * The batch on one libcurl multi handle, driven from the calling thread:
 * start what next() hands over while slots are free, wait for the sockets
 * (or until next() said to ask again), and hand each ended exchange to
 * done(). Each exchange keeps its own easy handle, timeouts and address
 * check, made exactly as curl_send() makes it.
 */
static int curl_send_batch(billing_transport *t, billing_transport_batch *b)
{
	slot *slots;
	CURLM *multi;
	unsigned int i, max, in_flight = 0;

	(void)t;
	if (!b || !b->next || !b->done || b->max_in_flight == 0)
		return billing__error_set(BILLING_EINVALID, "invalid_argument",
			"transport: an incomplete batch");
	if (billing__curl_init() < 0)
		return BILLING_ERROR;
	max = b->max_in_flight > 1024 ? 1024 : b->max_in_flight;
	if ((slots = billing__calloc(max, sizeof(*slots))) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, "no memory for a batch");
	if ((multi = curl_multi_init()) == NULL) {
		billing__free(slots);
		return billing__error_set(BILLING_ENOMEM, NULL, "no memory for a batch");
	}
	for (;;) {
		long wait_ms = -1;
		bool ended = false;
		CURLMsg *msg;
		int running, queued;

		/* Fill the free slots. */
		for (i = 0; i < max && in_flight < max; i++) {
			const billing_transport_request *req = NULL;
			void *token = NULL;
			if (slots[i].tr)
				continue;
			if (b->next(b, &req, &token, &wait_ms) != 1)
				break;
			wait_ms = -1;
			if (slot_start(multi, b, &slots[i], req, token))
				in_flight++;
			else
				i--;    /* the slot is free again */
		}
		if (in_flight == 0) {
			if (wait_ms < 0)
				break;          /* nothing in flight, nothing to come */
			/* With no transfer the poll is a sleep until next() has one. */
			curl_multi_poll(multi, NULL, 0, (int)(wait_ms > 60000 ? 60000 : wait_ms), NULL);
			continue;
		}
		if (curl_multi_perform(multi, &running) != CURLM_OK)
			break;          /* out of memory in libcurl: ended below */
		while ((msg = curl_multi_info_read(multi, &queued)) != NULL) {
			char *priv = NULL;
			transfer *tr;
			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
			tr = (transfer *)(void *)priv;
			for (i = 0; tr && i < max; i++) {
				void *token;
				if (slots[i].tr != tr)
					continue;
				token = tr->token;
				curl_multi_remove_handle(multi, tr->curl);
				transfer_finish(tr, msg->data.result);
				slots[i].tr = NULL;
				b->done(b, token, BILLING_OK, &slots[i].res);
				curl_release(NULL, &slots[i].res);
				in_flight--;
				ended = true;
				break;
			}
		}
		if (!ended)
			curl_multi_poll(multi, NULL, 0, wait_ms >= 0 && wait_ms < 1000 ?
				(int)wait_ms : 1000, NULL);
	}
	/* Only when libcurl itself failed: what is still in flight ends as a
	 * failure of the transport (it may have left). */
	for (i = 0; i < max; i++) {
		transfer *tr = slots[i].tr;
		void *token;
		if (!tr)
			continue;
		token = tr->token;
		curl_multi_remove_handle(multi, tr->curl);
		transfer_finish(tr, CURLE_OUT_OF_MEMORY);
		slots[i].res.error = BILLING_TRANSPORT_FAILED;
		b->done(b, token, BILLING_OK, &slots[i].res);
		curl_release(NULL, &slots[i].res);
	}
	curl_multi_cleanup(multi);
	billing__free(slots);
	return BILLING_OK;
}

static billing_transport curl_transport = {
	BILLING_TRANSPORT_VERSION, curl_send, curl_release, curl_send_batch
};

billing_transport *billing_transport_default(void)
{
	return &curl_transport;
}

const char *billing_transport_error_name(billing_transport_error e)
{
	switch (e) {
	case BILLING_TRANSPORT_OK: return "ok";
	case BILLING_TRANSPORT_TIMEOUT: return "timeout";
	case BILLING_TRANSPORT_CONNECT: return "connect";
	case BILLING_TRANSPORT_RESET: return "reset";
	case BILLING_TRANSPORT_TLS: return "tls";
	case BILLING_TRANSPORT_TOO_LARGE: return "too_large";
	case BILLING_TRANSPORT_REFUSED_ADDRESS: return "refused_address";
	case BILLING_TRANSPORT_FAILED: return "failed";
	default: return NULL;
	}
}

/*
 * libmicrohttpd glue: a thread pool of BILLING_WORKERS threads, per-request
 * state from the first callback to the completion notice, the body limit
 * (1 MiB; 256 KiB for the inbound webhook), X-Request-Id on every response,
 * one log line and one metrics observation per answer, and the graceful
 * stop: on SIGTERM or SIGINT the listening socket closes, requests already
 * begun finish, then the daemon stops and the caller closes the library
 * context. The billing-run worker (runner.c) starts with the daemon and
 * stops at the signal, after the run in progress, if any.
 */
#include "server.h"

#include <microhttpd.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "problem.h"
#include "router.h"

static int request_id_ok(const char *s)
{
	size_t n = strlen(s), i;
	if (n == 0 || n > 128)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.' || c == ':'))
			return 0;
	}
	return 1;
}

static void request_id_new(char *out, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[12];
	size_t i;
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		memset(raw, 0, sizeof(raw));
	if (size < 4 + 2 * sizeof(raw) + 1)
		return;
	memcpy(out, "req_", 4);
	for (i = 0; i < sizeof(raw); i++) {
		out[4 + 2 * i] = hex[raw[i] >> 4];
		out[5 + 2 * i] = hex[raw[i] & 15];
	}
	out[4 + 2 * sizeof(raw)] = '\0';
}

static void add(struct MHD_Response *resp, const char *name, const char *value)
{
	if (value && *value)
		MHD_add_response_header(resp, name, value);
}

static enum MHD_Result send_reply(request *r)
{
	reply *o = &r->out;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	log_request line;
	size_t len = o->body ? strlen(o->body) : 0;

	if (o->status == 0 || (o->status != 204 && !o->body)) {
		/* A handler ran out of memory building its answer. */
		free(o->body);
		o->body = NULL;
		o->status = 500;
	}
	resp = MHD_create_response_from_buffer(o->status == 204 ? 0 : len,
		o->status == 204 || !o->body ? (void *)"" : o->body, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	if (o->status != 204)
		add(resp, MHD_HTTP_HEADER_CONTENT_TYPE, o->content_type ? o->content_type :
			"application/json");
	add(resp, "X-Request-Id", r->request_id);
	add(resp, MHD_HTTP_HEADER_LOCATION, o->location);
	add(resp, MHD_HTTP_HEADER_ETAG, o->etag);
	if (o->status == 405)
		add(resp, MHD_HTTP_HEADER_ALLOW, o->allow);
	if (o->replayed)
		add(resp, "Idempotent-Replayed", "true");
	add(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, o->www_authenticate);
	if (o->no_store)
		add(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (atomic_load(&r->app->shutting_down) || r->too_large)
		add(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	ret = MHD_queue_response(r->conn, (unsigned int)o->status, resp);
	MHD_destroy_response(resp);
	r->responded = 1;

	line.request_id = r->request_id;
	line.method = r->method;
	line.route = r->rt ? r->rt->path : "unmatched";
	line.status = o->status;
	line.duration_us = now_monotonic_us() - r->start_us;
	line.tenant_id = r->authenticated ? r->claims.tenant_id :
		(r->webhook_tenant[0] ? r->webhook_tenant : NULL);
	line.note = NULL;
	log_request_line(&line);
	metrics_observe(r->method, line.route, o->status, line.duration_us);
	return ret;
}

static void reply_too_large(request *r)
{
	char detail[64];
	size_t limit = router_body_limit(r);
	if (limit % (1024u * 1024u) == 0)
		snprintf(detail, sizeof(detail), "the body is over %zu MiB", limit / (1024u * 1024u));
	else
		snprintf(detail, sizeof(detail), "the body is over %zu KiB", limit / 1024u);
	r->out.status = 413;
	r->out.content_type = PROBLEM_CONTENT_TYPE;
	r->out.body = problem_make(413, "body_too_large", detail, NULL, r->request_id);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
	const char *method, const char *version, const char *upload_data, size_t *upload_size,
	void **con_cls)
{
	app *a = cls;
	request *r = *con_cls;
	(void)version;

	if (!r) {
		const char *id, *cl;
		r = calloc(1, sizeof(*r));
		if (!r)
			return MHD_NO;
		r->app = a;
		r->conn = conn;
		r->method = method;
		r->url = url;
		r->start_us = now_monotonic_us();
		id = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
		if (id && request_id_ok(id))
			snprintf(r->request_id, sizeof(r->request_id), "%s", id);
		else
			request_id_new(r->request_id, sizeof(r->request_id));
		*con_cls = r;
		atomic_fetch_add(&a->active, 1);
		metrics_in_flight(1);
		router_match(r);
		/* A declared length over the limit is refused before it is sent. */
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > router_body_limit(r)) {
			r->too_large = 1;
			reply_too_large(r);
			return send_reply(r);
		}
		return MHD_YES;
	}
	if (*upload_size) {
		/* Past the limit (chunked bodies): keep reading, keep nothing. */
		if (!r->too_large && r->body_len + *upload_size > router_body_limit(r)) {
			r->too_large = 1;
			free(r->body);
			r->body = NULL;
			r->body_len = r->body_cap = 0;
		}
		if (!r->too_large) {
			if (r->body_len + *upload_size + 1 > r->body_cap) {
				size_t cap = r->body_cap ? r->body_cap * 2 : 4096;
				char *b;
				while (cap < r->body_len + *upload_size + 1)
					cap *= 2;
				if ((b = realloc(r->body, cap)) == NULL)
					return MHD_NO;
				r->body = b;
				r->body_cap = cap;
			}
			memcpy(r->body + r->body_len, upload_data, *upload_size);
			r->body_len += *upload_size;
			r->body[r->body_len] = '\0';
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->responded)
		return MHD_YES;
	if (r->too_large)
		reply_too_large(r);
	else
		router_handle(r);
	return send_reply(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
	enum MHD_RequestTerminationCode toe)
{
	app *a = cls;
	request *r = *con_cls;
	(void)conn;
	if (!r)
		return;
	if (!r->responded) {
		log_request line = { r->request_id, r->method, r->rt ? r->rt->path : "unmatched", 0,
			now_monotonic_us() - r->start_us, NULL,
			toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? "timed out before a response" :
			"connection closed before a response" };
		log_request_line(&line);
	}
	free(r->body);
	free(r->out.body);
	free(r);
	*con_cls = NULL;
	metrics_in_flight(-1);
	atomic_fetch_sub(&a->active, 1);
}

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;
	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_msg(LOG_DEBUG, "libmicrohttpd", "detail", msg, LOG_END);
}

int server_run(app *a)
{
	const config *c = a->cfg;
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *info;
	sigset_t stop;
	unsigned int flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
	int sig = 0;
	uint64_t deadline;
	char port[16], workers[16];

	if (c->listen_addr.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* Worker threads inherit this mask: only sigwait below sees the signals. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);

	d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, a,
		MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&c->listen_addr,
		MHD_OPTION_THREAD_POOL_SIZE, c->workers,
		MHD_OPTION_CONNECTION_TIMEOUT, c->timeout_s,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, a,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		MHD_OPTION_UNESCAPE_CALLBACK, router_unescape, NULL,
		MHD_OPTION_END);
	if (!d) {
		log_msg(LOG_ERROR, "cannot listen", "listen", c->listen, LOG_END);
		return 1;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	snprintf(port, sizeof(port), "%u", info ? (unsigned int)info->port : 0u);
	snprintf(workers, sizeof(workers), "%u", c->workers);
	log_msg(LOG_INFO, "listening", "listen", c->listen, "port", port, "workers", workers, LOG_END);
	if (runner_start(&a->run, a->ctx) < 0) {
		log_msg(LOG_ERROR, "cannot start the billing-run worker thread", LOG_END);
		MHD_stop_daemon(d);
		return 1;
	}

	while (sigwait(&stop, &sig) != 0)
		;
	log_msg(LOG_INFO, "stopping: no new connections; finishing requests in flight",
		"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT", LOG_END);
	atomic_store(&a->shutting_down, 1);
	{
		MHD_socket lsock = MHD_quiesce_daemon(d);
		if (lsock != MHD_INVALID_SOCKET)
			close(lsock);   /* quiesce hands the listening socket to us */
	}
	/* No new billing run starts; one in progress finishes first. */
	runner_stop(&a->run);
	/* Requests already begun finish; a stalled one is bounded by the
	 * connection timeout. */
	deadline = now_monotonic_us() + ((uint64_t)c->timeout_s + 2) * 1000000u;
	while (atomic_load(&a->active) > 0 && now_monotonic_us() < deadline) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	MHD_stop_daemon(d);
	log_msg(LOG_INFO, "stopped", LOG_END);
	return 0;
}

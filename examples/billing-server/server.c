/*
 * libmicrohttpd glue: a thread pool of BILLING_WORKERS threads, per-request
 * state from the first callback to the completion notice, the body limit
 * (1 MiB; 256 KiB for the inbound webhook), X-Request-Id on every response,
 * one log line and one metrics observation per answer, and the graceful
 * stop: on SIGTERM or SIGINT the listening socket closes, requests already
 * begun finish, then the daemon stops and the caller closes the library
 * context. The billing-run worker (runner.c) starts with the daemon and
 * stops at the signal, after the run in progress, if any.
 *
 * Slow clients: MHD's timeout (BILLING_HTTP_TIMEOUT) counts inactivity, so
 * a client sending one byte a second would hold a connection for ever. The
 * watchdog below bounds the whole time a request takes to arrive
 * (BILLING_REQUEST_READ_TIMEOUT, from the connection's start or the end of
 * its previous answer to the last byte of the body) and
 * BILLING_MAX_CONNECTIONS_PER_IP bounds connections per client address.
 */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

int reply_unless_unchanged(request *r, const char *body, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;
	char *out = r->out.etag;
	const char *inm;

	out[0] = '\0';
	if (!EVP_Digest(body, len, md, &n, EVP_sha256(), NULL) || n < 16)
		return 0;
	/* '"' + 32 hex digits + '"' + NUL: 35 of etag's 48 bytes. */
	out[0] = '"';
	for (i = 0; i < 16; i++)
		snprintf(out + 1 + 2 * i, sizeof(r->out.etag) - 1 - 2 * i, "%02x", md[i]);
	snprintf(out + 33, sizeof(r->out.etag) - 33, "\"");
	inm = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
	if (!inm || (strstr(inm, out) == NULL && strcmp(inm, "*") != 0))
		return 0;
	r->out.status = 304;
	return 1;
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
	/* A binary body (a PDF) carries its length; a text one is a string. */
	size_t len = o->body ? (o->body_len ? o->body_len : strlen(o->body)) : 0;
	/* 204 and 304 (a document's If-None-Match) carry no body. */
	int empty = o->status == 204 || o->status == 304;

	if (o->status == 0 || (!empty && !o->body)) {
		/* A handler ran out of memory building its answer. */
		free(o->body);
		o->body = NULL;
		o->status = 500;
	}
	resp = MHD_create_response_from_buffer(empty ? 0 : len,
		empty || !o->body ? (void *)"" : o->body, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	if (!empty)
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
	else
		add(resp, MHD_HTTP_HEADER_CACHE_CONTROL, o->cache_control);
	if (o->headers) {
		const char *const (*h)[2];
		for (h = o->headers; (*h)[0]; h++)
			add(resp, (*h)[0], (*h)[1]);
	}
	if (o->retry_after) {
		char s[16];
		snprintf(s, sizeof(s), "%u", o->retry_after);
		add(resp, MHD_HTTP_HEADER_RETRY_AFTER, s);
	}
	if (atomic_load(&r->app->shutting_down) || r->too_large)
		add(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	ret = MHD_queue_response(r->conn, (unsigned int)o->status, resp);
	MHD_destroy_response(resp);
	r->responded = 1;

	line.request_id = r->request_id;
	line.method = r->head ? MHD_HTTP_METHOD_HEAD : r->method;
	line.route = r->rt ? r->rt->path : "unmatched";
	line.status = o->status;
	line.duration_us = now_monotonic_us() - r->start_us;
	line.tenant_id = r->authenticated ? r->claims.tenant_id :
		(r->webhook_tenant[0] ? r->webhook_tenant : NULL);
	line.note = NULL;
	log_request_line(&line);
	metrics_observe(line.method, line.route, o->status, line.duration_us);
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

/* ------------------------------------------------------------ slow clients */

struct conn_track {
	struct conn_track *prev, *next;
	MHD_socket fd;
	uint64_t since_us;       /* when the request being read began to arrive */
	int reading;             /* 1 until the request is whole and handed over */
	int cut;                 /* the watchdog shut the socket down */
};

static struct {
	pthread_t thread;
	pthread_cond_t wake;
	int stop;
	int started;
} watchdog;

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
	enum MHD_ConnectionNotificationCode toe)
{
	app *a = cls;
	struct conn_track *t = *socket_context;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn,
			MHD_CONNECTION_INFO_CONNECTION_FD);
		if (!ci || (t = calloc(1, sizeof(*t))) == NULL)
			return;   /* untracked: only MHD's inactivity timeout applies */
		t->fd = ci->connect_fd;
		t->since_us = now_monotonic_us();
		t->reading = 1;
		pthread_mutex_lock(&a->conns_lock);
		t->next = a->conns;
		if (a->conns)
			a->conns->prev = t;
		a->conns = t;
		pthread_mutex_unlock(&a->conns_lock);
		*socket_context = t;
		return;
	}
	if (!t)
		return;
	/* Unlinked before MHD closes the socket: the watchdog never shuts
	 * down a descriptor number that has been reused. */
	pthread_mutex_lock(&a->conns_lock);
	if (t->prev)
		t->prev->next = t->next;
	else
		a->conns = t->next;
	if (t->next)
		t->next->prev = t->prev;
	pthread_mutex_unlock(&a->conns_lock);
	free(t);
	*socket_context = NULL;
}

static void *watchdog_main(void *arg)
{
	app *a = arg;
	uint64_t limit = (uint64_t)a->cfg->read_timeout_s * 1000000u;

	pthread_mutex_lock(&a->conns_lock);
	while (!watchdog.stop) {
		struct timespec until;
		struct conn_track *t;
		uint64_t now = now_monotonic_us();

		for (t = a->conns; t; t = t->next)
			if (t->reading && !t->cut && now - t->since_us > limit) {
				/* MHD sees the end of the stream and closes it. */
				shutdown(t->fd, SHUT_RDWR);
				t->cut = 1;
			}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 200 * 1000 * 1000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&watchdog.wake, &a->conns_lock, &until);
	}
	pthread_mutex_unlock(&a->conns_lock);
	return NULL;
}

/* 1 when the request has taken longer to arrive than the deadline. */
static int read_too_slow(request *r)
{
	int late;
	if (!r->track)
		return 0;
	pthread_mutex_lock(&r->app->conns_lock);
	late = now_monotonic_us() - r->track->since_us >
		(uint64_t)r->app->cfg->read_timeout_s * 1000000u;
	pthread_mutex_unlock(&r->app->conns_lock);
	return late;
}

/* The request is whole: its handling and answer are not the client's
 * reading time. */
static void track_reading(request *r, int reading)
{
	if (!r->track)
		return;
	pthread_mutex_lock(&r->app->conns_lock);
	r->track->reading = reading;
	if (reading)
		r->track->since_us = now_monotonic_us();
	pthread_mutex_unlock(&r->app->conns_lock);
}

static void reply_too_slow(request *r)
{
	char detail[96];
	snprintf(detail, sizeof(detail), "the request took over %u s to arrive "
		"(BILLING_REQUEST_READ_TIMEOUT)", r->app->cfg->read_timeout_s);
	r->too_large = 1;   /* close the connection after the answer */
	r->out.status = 408;
	r->out.content_type = PROBLEM_CONTENT_TYPE;
	r->out.body = problem_make(408, "request_timeout", detail, NULL, r->request_id);
}

struct header_size {
	size_t total;
};

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind, const char *key,
	const char *value)
{
	struct header_size *hs = cls;
	(void)kind;
	hs->total += strlen(key) + (value ? strlen(value) : 0) + 4;   /* ": " and CRLF */
	return MHD_YES;
}

/* ------------------------------------------------------------ requests */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
	const char *method, const char *version, const char *upload_data, size_t *upload_size,
	void **con_cls)
{
	app *a = cls;
	request *r = *con_cls;
	(void)version;

	if (!r) {
		const char *id, *cl;
		const union MHD_ConnectionInfo *ci;
		struct header_size hs = { 0 };
		r = calloc(1, sizeof(*r));
		if (!r)
			return MHD_NO;
		r->app = a;
		r->conn = conn;
		/* HEAD answers as GET does; MHD leaves the body out. */
		r->head = strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
		r->method = r->head ? MHD_HTTP_METHOD_GET : method;
		r->url = url;
		r->start_us = now_monotonic_us();
		ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
		r->track = ci ? ci->socket_context : NULL;
		id = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
		if (id && request_id_ok(id))
			snprintf(r->request_id, sizeof(r->request_id), "%s", id);
		else
			request_id_new(r->request_id, sizeof(r->request_id));
		*con_cls = r;
		atomic_fetch_add(&a->active, 1);
		metrics_in_flight(1);
		router_match(r);
		MHD_get_connection_values(conn, MHD_HEADER_KIND, count_header, &hs);
		if (strlen(url) + strlen(method) + hs.total > HEADERS_LIMIT) {
			char detail[96];
			snprintf(detail, sizeof(detail), "the request line and headers are over %u KiB",
				HEADERS_LIMIT / 1024u);
			r->too_large = 1;
			r->out.status = 431;
			r->out.content_type = PROBLEM_CONTENT_TYPE;
			r->out.body = problem_make(431, "headers_too_large", detail, NULL, r->request_id);
			return send_reply(r);
		}
		/* A declared length over the limit is refused before it is sent. */
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > router_body_limit(r)) {
			r->too_large = 1;
			reply_too_large(r);
			return send_reply(r);
		}
		return MHD_YES;
	}
	if (r->resume) {
		/* Resumed: the suspended handler's work is done. */
		void (*resume)(request *) = r->resume;
		r->resume = NULL;
		resume(r);
		return send_reply(r);
	}
	if (*upload_size) {
		if (!r->responded && read_too_slow(r)) {
			reply_too_slow(r);
			*upload_size = 0;
			return send_reply(r);
		}
		if (r->responded) {
			*upload_size = 0;
			return MHD_YES;
		}
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
	track_reading(r, 0);
	if (r->too_large) {
		reply_too_large(r);
	} else {
		router_handle(r);
		if (r->resume)
			return MHD_YES;   /* suspended until its work is done */
	}
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
	/* A keep-alive connection's next request starts arriving now. */
	track_reading(r, 1);
	if (r->pending && r->pending_free)
		r->pending_free(r->pending);
	free(r->body);
	free(r->out.body);
	free(r);
	*con_cls = NULL;
	metrics_in_flight(-1);
	atomic_fetch_sub(&a->active, 1);
}

/* The listening socket, made here rather than by MHD so that a failure
 * names its cause (MHD only says it failed). Returns the socket, or -1
 * after logging why. */
static int listen_socket(const config *c)
{
	int fd, one = 1, err;
	const char *step;

	fd = socket(c->listen_addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		step = "socket";
		goto fail;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) {
		step = "setsockopt";
		goto fail;
	}
	if (bind(fd, (const struct sockaddr *)&c->listen_addr, c->listen_addr_len) < 0) {
		step = "bind";
		goto fail;
	}
	if (listen(fd, 128) < 0) {
		step = "listen";
		goto fail;
	}
	return fd;
fail:
	err = errno;
	if (fd >= 0)
		close(fd);
	log_msg(LOG_ERROR, "cannot listen on BILLING_LISTEN", "listen", c->listen, "step", step,
		"error", strerror(err), "hint", err == EADDRINUSE ?
		"another process listens on that address: stop it or set BILLING_LISTEN to a free "
		"host:port" : "set BILLING_LISTEN to a host:port this process may listen on",
		LOG_END);
	return -1;
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
	/* poll(), not epoll: libmicrohttpd 0.9.75 quiesces an epoll daemon by
	 * removing the listening socket from each worker's epoll set while the
	 * worker may be removing it too, and the loser aborts the process
	 * ("Failed to remove listen FD from epoll set"; http_transport's
	 * Shutdown test). With poll() a quiesced worker just stops polling the
	 * socket. poll() walks a worker's connections on each wake-up; at the
	 * per-address limits this server keeps, bench/http measured it no
	 * slower than epoll (bench/README.md). */
	unsigned int flags = MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG |
		MHD_ALLOW_SUSPEND_RESUME;
	int sig = 0, lfd, rc = 1;
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

	if ((lfd = listen_socket(c)) < 0)
		return 1;
	if (throttle_init(&a->failures) < 0) {
		log_msg(LOG_ERROR, "cannot seed the login throttle", LOG_END);
		close(lfd);
		return 1;
	}
	if (login_pool_start(&a->logins, c->login_workers, c->login_queue) < 0) {
		log_msg(LOG_ERROR, "cannot start the password-hashing threads", LOG_END);
		throttle_free(&a->failures);
		close(lfd);
		return 1;
	}
	pthread_mutex_init(&a->conns_lock, NULL);
	pthread_cond_init(&watchdog.wake, NULL);
	watchdog.stop = 0;
	watchdog.started = pthread_create(&watchdog.thread, NULL, watchdog_main, a) == 0;
	d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, a,
		MHD_OPTION_LISTEN_SOCKET, (MHD_socket)lfd,
		MHD_OPTION_THREAD_POOL_SIZE, c->workers,
		MHD_OPTION_CONNECTION_TIMEOUT, c->timeout_s,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HEADER_MEMORY,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, c->per_ip_limit,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, a,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, a,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		MHD_OPTION_UNESCAPE_CALLBACK, router_unescape, NULL,
		MHD_OPTION_END);
	if (!d) {
		log_msg(LOG_ERROR, "cannot start the HTTP server", "listen", c->listen, LOG_END);
		close(lfd);
		goto out;
	}
	if (!watchdog.started) {
		log_msg(LOG_ERROR, "cannot start the request-deadline thread", LOG_END);
		MHD_stop_daemon(d);
		goto out;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	snprintf(port, sizeof(port), "%u", info ? (unsigned int)info->port : 0u);
	snprintf(workers, sizeof(workers), "%u", c->workers);
	log_msg(LOG_INFO, "listening", "listen", c->listen, "port", port, "workers", workers, LOG_END);
	if (runner_start(&a->run, a->ctx) < 0) {
		log_msg(LOG_ERROR, "cannot start the billing-run worker thread", LOG_END);
		MHD_stop_daemon(d);
		goto out;
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
	/* Logins waiting for their password check are answered before the
	 * daemon, which owns their connections, stops. */
	login_pool_stop(&a->logins);
	MHD_stop_daemon(d);
	log_msg(LOG_INFO, "stopped", LOG_END);
	rc = 0;
out:
	if (watchdog.started) {
		pthread_mutex_lock(&a->conns_lock);
		watchdog.stop = 1;
		pthread_cond_signal(&watchdog.wake);
		pthread_mutex_unlock(&a->conns_lock);
		pthread_join(watchdog.thread, NULL);
	}
	pthread_cond_destroy(&watchdog.wake);
	login_pool_free(&a->logins);
	throttle_free(&a->failures);
	pthread_mutex_destroy(&a->conns_lock);
	return rc;
}

/*
 * The default transport (libcurl, src/transport/curl_transport.c) on
 * loopback: the address check of BILLING_TRANSPORT_PUBLIC_ONLY on IPv6
 * addresses that carry an IPv4 one (judged like the address they carry),
 * and proxy variables of the environment, which it never follows (the
 * address check would otherwise see only the proxy's address). No network
 * beyond loopback: a refused address is refused before any connection.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "tb.h"
#include "billing/sys/transport.h"

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
	const char *method, const char *version, const char *data, size_t *size, void **state)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	(void)data;
	if (!*state) {
		*state = (void *)1;
		return MHD_YES;
	}
	if (*size) {
		*size = 0;
		return MHD_YES;
	}
	resp = MHD_create_response_from_buffer(6, (void *)"direct", MHD_RESPMEM_PERSISTENT);
	ret = MHD_queue_response(c, 200, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* One exchange through the default transport. */
static billing_transport_response exchange(const char *url, unsigned int flags)
{
	billing_transport *t = billing_transport_default();
	billing_transport_request req;
	billing_transport_response res;
	memset(&req, 0, sizeof(req));
	memset(&res, 0, sizeof(res));
	req.method = "POST";
	req.url = url;
	req.body = "{}";
	req.body_len = 2;
	req.connect_timeout_ms = 400;
	req.timeout_ms = 800;
	req.max_response = 1024;
	req.flags = flags;
	tb_assert_rc(t->send(t, &req, &res), BILLING_OK);
	return res;
}

static void release(billing_transport_response *res)
{
	billing_transport *t = billing_transport_default();
	t->release(t, res);
}

static void address__ipv4_inside_ipv6_is_judged_like_the_ipv4(void **state)
{
	static const char *const refused[] = {
		"http://[::ffff:127.0.0.1]:9/x",      /* mapped */
		"http://[::127.0.0.1]:9/x",           /* IPv4-compatible */
		"http://[::a9fe:a9fe]:9/x",           /* ::169.254.169.254 */
		"http://[64:ff9b::7f00:1]:9/x",       /* NAT64 of 127.0.0.1 */
		"http://[64:ff9b::a9fe:a9fe]:9/x",    /* NAT64 of the metadata address */
		"http://[64:ff9b::c0a8:101]:9/x",     /* NAT64 of 192.168.1.1 */
		"http://[2002:7f00:1::1]:9/x",        /* 6to4 of 127.0.0.1 */
		"http://[2002:a00:1::1]:9/x",         /* 6to4 of 10.0.0.1 */
		"http://[2002:a9fe:a9fe::]:9/x",      /* 6to4 of 169.254.169.254 */
		"http://[64:ff9b:1::1]:9/x",          /* local-use NAT64 */
		"http://[::]:9/x",
		"http://[::1]:9/x",
	};
	static const char *const carried_public[] = {
		"http://[64:ff9b::808:808]:9/x",      /* NAT64 of 8.8.8.8 */
		"http://[2002:808:808::1]:9/x",       /* 6to4 of 8.8.8.8 */
	};
	size_t i;
	(void)state;
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		billing_transport_response res = exchange(refused[i],
			BILLING_TRANSPORT_ALLOW_HTTP | BILLING_TRANSPORT_PUBLIC_ONLY);
		if (res.error != BILLING_TRANSPORT_REFUSED_ADDRESS)
			fail_msg("%s: %s, not refused_address", refused[i],
				billing_transport_error_name(res.error));
		release(&res);
	}
	/* what a public IPv4 address carries is not refused (no network here:
	 * the connection fails, which is not the check) */
	for (i = 0; i < sizeof(carried_public) / sizeof(carried_public[0]); i++) {
		billing_transport_response res = exchange(carried_public[i],
			BILLING_TRANSPORT_ALLOW_HTTP | BILLING_TRANSPORT_PUBLIC_ONLY);
		if (res.error == BILLING_TRANSPORT_REFUSED_ADDRESS)
			fail_msg("%s refused", carried_public[i]);
		release(&res);
	}
}

/* A listening socket standing in for a proxy: true when something
 * connected to it. */
static int proxy_listen(unsigned short *port)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static int proxy_was_used(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };
	return poll(&p, 1, 0) > 0;
}

static void proxy__the_environments_proxy_is_never_used(void **state)
{
	static const char *const vars[] = {
		"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "ALL_PROXY", "all_proxy",
	};
	struct MHD_Daemon *d;
	billing_transport_response res;
	unsigned short proxy_port, port;
	char proxy[64], url[64];
	size_t i;
	int fd;
	(void)state;
	fd = proxy_listen(&proxy_port);
	snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%u", proxy_port);
	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		assert_int_equal(setenv(vars[i], proxy, 1), 0);
	unsetenv("NO_PROXY");
	unsetenv("no_proxy");
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
		NULL, NULL, on_request, NULL, MHD_OPTION_END);
	assert_non_null(d);
	port = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port;
	/* http: straight to the server */
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook", port);
	res = exchange(url, BILLING_TRANSPORT_ALLOW_HTTP);
	assert_int_equal(res.error, BILLING_TRANSPORT_OK);
	assert_int_equal(res.status, 200);
	assert_string_equal(res.body, "direct");
	release(&res);
	/* https: straight to the (plain) server, so TLS fails there; a proxy
	 * would have been asked to CONNECT */
	snprintf(url, sizeof(url), "https://127.0.0.1:%u/hook", port);
	res = exchange(url, 0);
	assert_int_not_equal(res.error, BILLING_TRANSPORT_OK);
	release(&res);
	assert_false(proxy_was_used(fd));
	MHD_stop_daemon(d);
	close(fd);
	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(address__ipv4_inside_ipv6_is_judged_like_the_ipv4),
		cmocka_unit_test(proxy__the_environments_proxy_is_never_used),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

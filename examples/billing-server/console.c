/*
 * The web console's files (console.h). A request names a file by its path
 * below /console/; MHD has already decoded it (router_unescape), so "%2e%2e"
 * and "%2f" arrive as ".." and "/". The path is accepted only when every
 * segment is a plain name (letters, digits, '.', '_', '-', not starting
 * with '.'), which leaves no "..", no absolute path, no empty segment and no
 * NUL; the file must then resolve (realpath, symbolic links followed) to a
 * regular file inside the directory, and have a type from the table below.
 * Anything else is 404, with the same security headers as a page.
 */
#include "console.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "problem.h"

#ifndef BS_CONSOLE_INSTALL_REL
#define BS_CONSOLE_INSTALL_REL "share/libbilling/console"
#endif

/* The largest file served: the chart library is about 50 KiB. */
#define CONSOLE_FILE_MAX (2u * 1024u * 1024u)
#define CONSOLE_PATH_MAX 200

static char root[PATH_MAX];

/* On every console answer. The policy allows only the console's own files
 * and its own origin's API: no inline script, no inline style attribute,
 * no framing, no plugins; fetch() only to the same origin. */
static const char *const security_headers[][2] = {
	{ "Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; "
		"img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; "
		"base-uri 'none'; form-action 'self'; frame-ancestors 'none'" },
	{ "X-Content-Type-Options", "nosniff" },
	{ "Referrer-Policy", "no-referrer" },
	{ "X-Frame-Options", "DENY" },
	{ NULL, NULL },
};

/* The same with the Stripe provider and a publishable key: Stripe.js
 * (loaded from https://js.stripe.com/v3/ only by the page that adds a card)
 * may run, frame its card field and its 3-D Secure pages, and reach
 * Stripe's API, as Stripe's CSP list asks (docs/console.md); nothing else
 * changes. */
static const char *const stripe_headers[][2] = {
	{ "Content-Security-Policy", "default-src 'self'; script-src 'self' https://js.stripe.com; "
		"style-src 'self'; img-src 'self' data:; connect-src 'self' https://api.stripe.com; "
		"frame-src https://js.stripe.com https://hooks.stripe.com; font-src 'self'; "
		"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'" },
	{ "X-Content-Type-Options", "nosniff" },
	{ "Referrer-Policy", "no-referrer" },
	{ "X-Frame-Options", "DENY" },
	{ NULL, NULL },
};

/* GET /console/config.json: what the page needs to add a card. */
static char page_config[CONFIG_PUBLISHABLE_KEY_MAX + 96];
static int with_stripe;

static const struct {
	const char *ext, *type;
} types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".mjs", "text/javascript; charset=utf-8" },
	{ ".json", "application/json" },
	{ ".svg", "image/svg+xml" },
	{ ".txt", "text/plain; charset=utf-8" },
};

const char *console_dir(void)
{
	return root;
}

/* 1 when path is a directory; its real path in out. */
static int dir_at(char out[PATH_MAX], const char *path)
{
	struct stat st;
	char real[PATH_MAX];
	if (!realpath(path, real) || stat(real, &st) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	memcpy(out, real, sizeof(real));
	return 1;
}

int console_init(const config *c)
{
	char exe[PATH_MAX], path[PATH_MAX + 64];
	ssize_t n;
	char *slash;

	root[0] = '\0';
	with_stripe = c->provider_kind == PROVIDER_STRIPE && c->stripe_publishable_key[0];
	if (with_stripe)
		snprintf(page_config, sizeof(page_config),
			"{\"provider\":\"stripe\",\"stripePublishableKey\":\"%s\"}\n",
			c->stripe_publishable_key);
	else
		snprintf(page_config, sizeof(page_config),
			"{\"provider\":\"%s\",\"stripePublishableKey\":null}\n",
			c->provider_kind == PROVIDER_STRIPE ? "stripe" : "test");
	if (c->console_dir) {
		if (!dir_at(root, c->console_dir)) {
			fprintf(stderr, "billing-server: configuration: BILLING_CONSOLE_DIR: %s is not a "
				"directory\n", c->console_dir);
			return -1;
		}
		return 0;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return 0;
	exe[n] = '\0';
	if ((slash = strrchr(exe, '/')) == NULL)
		return 0;
	*slash = '\0';
	snprintf(path, sizeof(path), "%s/console", exe);
	if (dir_at(root, path))
		return 0;
	snprintf(path, sizeof(path), "%s/../%s", exe, BS_CONSOLE_INSTALL_REL);
	(void)dir_at(root, path);
	return 0;
}

/* 1 when rel names a file the way the header comment says. */
static int plain_path(const char *rel)
{
	size_t n = strlen(rel), i;
	int start = 1;
	if (n == 0 || n > CONSOLE_PATH_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char ch = rel[i];
		if (ch == '/') {
			if (start)
				return 0;   /* empty segment: "//", or a leading "/" */
			start = 1;
			continue;
		}
		if (start && ch == '.')
			return 0;       /* ".", "..", hidden files */
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '.' || ch == '_' || ch == '-'))
			return 0;
		start = 0;
	}
	return !start;          /* not ending in "/" */
}

static const char *type_of(const char *rel)
{
	size_t n = strlen(rel), i;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		size_t e = strlen(types[i].ext);
		if (n > e && strcmp(rel + n - e, types[i].ext) == 0)
			return types[i].type;
	}
	return NULL;
}

static void not_found(request *r, const char *code, const char *detail)
{
	r->out.status = 404;
	r->out.content_type = PROBLEM_CONTENT_TYPE;
	r->out.body = problem_make(404, code, detail, NULL, r->request_id);
	r->out.cache_control = "no-store";
}

/* The file's bytes, NUL-terminated; NULL when it is not a regular file
 * inside the root, is too large, or holds a NUL (the reply is text). */
static char *read_inside(const char *rel, size_t *len)
{
	char path[PATH_MAX + CONSOLE_PATH_MAX + 2], real[PATH_MAX];
	size_t rootlen = strlen(root), got = 0;
	struct stat st;
	char *buf;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	if (!realpath(path, real) || strncmp(real, root, rootlen) != 0 || real[rootlen] != '/')
		return NULL;
	if ((fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (off_t)CONSOLE_FILE_MAX ||
	    (buf = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return NULL;
	}
	while (got < (size_t)st.st_size) {
		ssize_t k = read(fd, buf + got, (size_t)st.st_size - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	close(fd);
	buf[got] = '\0';
	if (got != (size_t)st.st_size || memchr(buf, '\0', got)) {
		free(buf);
		return NULL;
	}
	*len = got;
	return buf;
}

void console_handle(request *r)
{
	const char *rel = r->url + strlen("/console"), *type;
	size_t len = 0;
	char *body;

	r->out.headers = with_stripe ? stripe_headers : security_headers;
	if (*rel == '\0') {
		/* "/console": the page's relative links need the slash. */
		r->out.status = 308;
		snprintf(r->out.location, sizeof(r->out.location), "/console/");
		r->out.content_type = "text/plain; charset=utf-8";
		r->out.body = strdup("/console/\n");
		return;
	}
	rel++;   /* past the "/" */
	if (*rel == '\0')
		rel = "index.html";
	if (strcmp(rel, "config.json") == 0) {
		/* The server's, not a file: which provider adds cards, and its
		 * publishable key (public by design; never the secret key). */
		r->out.cache_control = "no-cache";
		if (reply_unless_unchanged(r, page_config, strlen(page_config)))
			return;
		r->out.status = 200;
		r->out.content_type = "application/json";
		r->out.body = strdup(page_config);
		return;
	}
	if (!root[0]) {
		not_found(r, "console_not_installed", "the console's files are not installed "
			"(BILLING_CONSOLE_DIR, docs/console.md)");
		return;
	}
	if (!plain_path(rel) || (type = type_of(rel)) == NULL ||
	    (body = read_inside(rel, &len)) == NULL) {
		not_found(r, "not_found", "no such console file");
		return;
	}
	/* No build step, so no content hashes in the names: the browser asks
	 * again each time and gets 304 while the file is unchanged. */
	r->out.cache_control = "no-cache";
	if (reply_unless_unchanged(r, body, len)) {
		free(body);
		return;
	}
	r->out.status = 200;
	r->out.content_type = type;
	r->out.body = body;
}

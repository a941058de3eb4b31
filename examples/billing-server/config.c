/*
 * Environment configuration. Secrets are read from VAR or VAR_FILE, are
 * never printed, and the generated JWT secret is written atomically (a
 * temporary file linked into place) so that two servers starting together
 * agree on one secret. The payment provider is built here too, so that its
 * settings are checked in the same pass as the others.
 */
#include "config.h"

#include <billing/billing.h>
#include <billing/providers.h>
#include <billing/sys/provider.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdarg.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>

#include "log.h"

#define SECRET_MIN_BYTES 32
#define SECRET_FILE_MAX 65536

static int problem(const char *var, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One line per problem; returns 1 so that callers can count them. */
static int problem(const char *var, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "billing-server: configuration: %s: ", var);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

/* Reads a whole small file; strips one trailing newline. NULL on error
 * (errno set). */
static char *read_small_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;

	if (!f)
		return NULL;
	buf = malloc(SECRET_FILE_MAX + 1);
	if (!buf) {
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, SECRET_FILE_MAX + 1, f);
	fclose(f);
	if (n > SECRET_FILE_MAX) {
		free(buf);
		errno = EFBIG;
		return NULL;
	}
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* VAR or VAR_FILE. Returns problems found; *out NULL when neither set. */
static int secret_var(const char *name, char **out, size_t *len)
{
	char file_var[96];
	const char *direct = env(name), *file;

	snprintf(file_var, sizeof(file_var), "%s_FILE", name);
	file = env(file_var);
	*out = NULL;
	*len = 0;
	if (direct && file)
		return problem(name, "set either %s or its _FILE variant, not both", name);
	if (direct) {
		*len = strlen(direct);
		*out = malloc(*len + 1);
		if (*out)
			memcpy(*out, direct, *len + 1);
		return *out ? 0 : problem(name, "out of memory");
	}
	if (file) {
		*out = read_small_file(file, len);
		if (!*out)
			return problem(file_var, "cannot read %s", file);
	}
	return 0;
}

static int parse_uint(const char *name, unsigned int *out, unsigned int def, unsigned int lo,
	unsigned int hi)
{
	const char *v = env(name);
	char *end;
	unsigned long n;
	char range[64];

	*out = def;
	if (!v)
		return 0;
	errno = 0;
	n = strtoul(v, &end, 10);
	snprintf(range, sizeof(range), "%u to %u", lo, hi);
	if (errno || *end || v[0] == '-' || n < lo || n > hi)
		return problem(name, "must be a whole number from %s", range);
	*out = (unsigned int)n;
	return 0;
}

/* A development switch: 1 on, 0 or unset off, anything else a problem. */
static int parse_flag(const char *name, int *out, const char *what)
{
	const char *v = env(name);
	*out = 0;
	if (!v || strcmp(v, "0") == 0)
		return 0;
	if (strcmp(v, "1") == 0) {
		*out = 1;
		return 0;
	}
	return problem(name, "must be 1 (development and tests: %s) or 0, got %s", what, v);
}

static int parse_listen(config *c)
{
	char host[256];
	const char *v = c->listen, *colon, *port;
	struct addrinfo hints, *res = NULL;
	char *end;
	long p;
	size_t hlen;

	if (v[0] == '[') {
		const char *close = strchr(v, ']');
		if (!close || close[1] != ':')
			return problem("BILLING_LISTEN", "expected HOST:PORT or [IPv6]:PORT, got %s", v);
		hlen = (size_t)(close - v - 1);
		if (hlen >= sizeof(host))
			return problem("BILLING_LISTEN", "host too long in %s", v);
		memcpy(host, v + 1, hlen);
		port = close + 2;
	} else {
		colon = strrchr(v, ':');
		if (!colon || colon == v)
			return problem("BILLING_LISTEN", "expected HOST:PORT, got %s", v);
		hlen = (size_t)(colon - v);
		if (hlen >= sizeof(host))
			return problem("BILLING_LISTEN", "host too long in %s", v);
		memcpy(host, v, hlen);
		port = colon + 1;
	}
	host[hlen] = '\0';
	errno = 0;
	p = strtol(port, &end, 10);
	if (!*port || *end || errno || p < 0 || p > 65535)
		return problem("BILLING_LISTEN", "port must be 0 to 65535 in %s", v);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	if (getaddrinfo(host, port, &hints, &res) != 0 || !res)
		return problem("BILLING_LISTEN", "cannot resolve the host of %s", v);
	memcpy(&c->listen_addr, res->ai_addr, res->ai_addrlen);
	c->listen_addr_len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static int load_keys(config *c)
{
	char *pem;
	size_t len;
	BIO *bio;
	EVP_PKEY *k;
	int bad = secret_var("BILLING_JWT_PUBLIC_KEY", &pem, &len);

	if (bad || !pem)
		return bad;
	bio = BIO_new_mem_buf(pem, (int)len);
	while (bio && (k = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL)) != NULL) {
		int id = EVP_PKEY_get_base_id(k);
		char group[64] = "";
		size_t glen = 0;
		jwt_alg alg = 0;

		if (id == EVP_PKEY_RSA && EVP_PKEY_get_bits(k) >= 2048)
			alg = JWT_RS256;
		else if (id == EVP_PKEY_EC &&
		         EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group,
				sizeof(group), &glen) == 1 &&
		         (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0))
			alg = JWT_ES256;
		if (!alg || c->key_count == CONFIG_MAX_KEYS) {
			EVP_PKEY_free(k);
			bad += problem("BILLING_JWT_PUBLIC_KEY", "%s", !alg ?
				"each key must be RSA of at least 2048 bits (RS256) or EC P-256 (ES256)" :
				"at most 4 keys");
			continue;
		}
		c->keys[c->key_count].key = k;
		c->keys[c->key_count].alg = alg;
		c->key_count++;
	}
	BIO_free(bio);
	OPENSSL_cleanse(pem, len);
	free(pem);
	if (!bad && c->key_count == 0)
		bad += problem("BILLING_JWT_PUBLIC_KEY", "no PEM public key (-----BEGIN PUBLIC KEY-----) found");
	return bad;
}

/* STRIPE_WEBHOOK_SECRET: one secret, or several separated by commas (or
 * newlines, in a _FILE) while rotating. Splits text in place. */
static int split_secrets(char *text, char **secrets, size_t *count)
{
	char *p = text;

	*count = 0;
	for (;;) {
		size_t n = strcspn(p, ",\n");
		int last = p[n] == '\0';
		char *s = p, *e = p + n;

		*e = '\0';
		while (*s == ' ' || *s == '\t' || *s == '\r')
			s++;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
			*--e = '\0';
		if (!*s)
			return problem("STRIPE_WEBHOOK_SECRET", "holds an empty entry (separate "
				"secrets with single commas)");
		if (*count == CONFIG_MAX_WEBHOOK_SECRETS)
			return problem("STRIPE_WEBHOOK_SECRET", "at most %d secrets",
				CONFIG_MAX_WEBHOOK_SECRETS);
		secrets[(*count)++] = s;
		if (last)
			return 0;
		p += n + 1;
	}
}

/* The environment variable behind a field of billing_stripe_options. */
static const char *stripe_var(const char *field)
{
	if (field && strcmp(field, "apiKey") == 0)
		return "STRIPE_API_KEY";
	if (field && strcmp(field, "apiBase") == 0)
		return "STRIPE_API_BASE";
	if (field && strcmp(field, "webhookSecrets") == 0)
		return "STRIPE_WEBHOOK_SECRET";
	return "BILLING_PROVIDER";
}

/* One line per field the provider refused; the library's messages never
 * hold the values. */
static int provider_problems(void)
{
	const billing_error *e = billing_error_last();
	size_t i;
	int bad = 0;

	for (i = 0; i < e->field_error_count; i++)
		bad += problem(stripe_var(e->field_errors[i].field), "%s",
			e->field_errors[i].message);
	return bad ? bad : problem("BILLING_PROVIDER", "%s", e->message);
}

/* "test-mode key" from the key's prefix, never more of it. */
static const char *key_mode(const char *key)
{
	if (strncmp(key, "sk_live_", 8) == 0 || strncmp(key, "rk_live_", 8) == 0)
		return "live-mode key";
	if (strncmp(key, "sk_test_", 8) == 0 || strncmp(key, "rk_test_", 8) == 0)
		return "test-mode key";
	return "key";
}

static void wipe(char *s, size_t len)
{
	if (s) {
		OPENSSL_cleanse(s, len);
		free(s);
	}
}

/* STRIPE_PUBLISHABLE_KEY: pk_test_... or pk_live_..., letters, digits and
 * '_' only (it goes into the console's JSON as it is). A secret or
 * restricted key given by mistake is refused without being repeated. */
static int load_publishable_key(config *c)
{
	const char *pk = env("STRIPE_PUBLISHABLE_KEY");
	size_t i, n;

	c->stripe_publishable_key[0] = '\0';
	if (!pk)
		return 0;
	n = strlen(pk);
	if (strncmp(pk, "sk_", 3) == 0 || strncmp(pk, "rk_", 3) == 0)
		return problem("STRIPE_PUBLISHABLE_KEY", "holds a secret or restricted key: give "
			"the publishable key (pk_test_... or pk_live_...), which the browser may see");
	if ((strncmp(pk, "pk_test_", 8) != 0 && strncmp(pk, "pk_live_", 8) != 0) || n == 8 ||
	    n >= sizeof(c->stripe_publishable_key))
		return problem("STRIPE_PUBLISHABLE_KEY", "must be a publishable key pk_test_... or "
			"pk_live_... of at most %zu characters",
			sizeof(c->stripe_publishable_key) - 1);
	for (i = 8; i < n; i++) {
		char ch = pk[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_'))
			return problem("STRIPE_PUBLISHABLE_KEY", "holds a character other than "
				"letters, digits and '_'");
	}
	memcpy(c->stripe_publishable_key, pk, n + 1);
	return 0;
}

/* BILLING_PROVIDER and the STRIPE_* variables: builds c->provider. */
static int load_provider(config *c)
{
	const char *kind = env("BILLING_PROVIDER"), *base = env("STRIPE_API_BASE");
	char *key = NULL, *hooks = NULL, *secrets[CONFIG_MAX_WEBHOOK_SECRETS];
	size_t key_len = 0, hooks_len = 0, nsecrets = 0;
	int key_bad, hooks_bad, bad = 0;

	if (!kind || strcmp(kind, "test") == 0)
		c->provider_kind = PROVIDER_TEST;
	else if (strcmp(kind, "stripe") == 0)
		c->provider_kind = PROVIDER_STRIPE;
	else
		return problem("BILLING_PROVIDER", "must be test or stripe, got %s", kind);

	key_bad = secret_var("STRIPE_API_KEY", &key, &key_len);
	hooks_bad = secret_var("STRIPE_WEBHOOK_SECRET", &hooks, &hooks_len);
	if (hooks && !hooks_bad)
		hooks_bad = split_secrets(hooks, secrets, &nsecrets);
	bad = key_bad + hooks_bad;
	if (c->provider_kind == PROVIDER_TEST) {
		/* Development: webhooks can be exercised with the test provider,
		 * which checks one secret (the first of a list; main warns). */
		billing_test_provider_options to = BILLING_TEST_PROVIDER_OPTIONS_INIT;
		to.webhook_secret = nsecrets > 0 ? secrets[0] : NULL;
		if (!bad && billing_test_provider_new(&c->provider, &to) < 0)
			bad += problem("BILLING_PROVIDER", "%s", billing_error_last()->message);
		snprintf(c->provider_desc, sizeof(c->provider_desc), "test payment provider");
	} else {
		billing_stripe_options so = BILLING_STRIPE_OPTIONS_INIT;
		if (!key && !key_bad)
			bad += problem("STRIPE_API_KEY", "required with BILLING_PROVIDER=stripe (a "
				"secret key sk_... or a restricted key rk_...; or STRIPE_API_KEY_FILE)");
		if (!hooks && !hooks_bad)
			bad += problem("STRIPE_WEBHOOK_SECRET", "required with BILLING_PROVIDER=stripe "
				"(the endpoint's signing secret whsec_..., several separated by commas "
				"while rotating; or STRIPE_WEBHOOK_SECRET_FILE)");
		so.api_key = key;
		so.webhook_secrets = (const char *const *)secrets;
		so.webhook_secret_count = nsecrets;
		so.api_base = base;
		/* Built even when something else is missing, so that a bad key
		 * or base is reported in the same pass. */
		if (key && billing_stripe_provider_new(&c->provider, &so) < 0)
			bad += provider_problems();
		if (bad && c->provider) {
			c->provider->free(c->provider);
			c->provider = NULL;
		}
		if (!bad && key)
			snprintf(c->provider_desc, sizeof(c->provider_desc),
				"Stripe payment provider (%s) at %.100s", key_mode(key),
				base ? base : "https://api.stripe.com");
	}
	c->webhook_secret_count = nsecrets;
	wipe(key, key_len);
	wipe(hooks, hooks_len);
	return bad;
}

/* 32 bytes from text of 64 hex digits or 44 characters of base64. */
/* 0-15 for a hexadecimal digit, else -1. */
static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int key_decode(unsigned char out[32], const char *s, size_t n)
{
	unsigned char buf[36];
	size_t i;

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		n--;
	if (n == 64) {
		for (i = 0; i < 64; i++) {
			int v = hex_value(s[i]);
			if (v < 0)
				return -1;
			if (i % 2 == 0)
				out[i / 2] = (unsigned char)(v << 4);
			else
				out[i / 2] |= (unsigned char)v;
		}
		return 0;
	}
	if (n == 44 && s[43] == '=' && s[42] != '=' &&
	    EVP_DecodeBlock(buf, (const unsigned char *)s, 44) == 33) {
		memcpy(out, buf, 32);
		OPENSSL_cleanse(buf, sizeof(buf));
		return 0;
	}
	return -1;
}

/* BILLING_SECRETS_KEY and BILLING_SECRETS_KEY_OLD (or their _FILE). */
static int load_secrets_keys(config *c)
{
	static const char *const names[] = { "BILLING_SECRETS_KEY", "BILLING_SECRETS_KEY_OLD" };
	unsigned char *keys[] = { c->secrets_key, c->secrets_key_old };
	int *has[] = { &c->has_secrets_key, &c->has_secrets_key_old };
	int bad = 0, i;

	for (i = 0; i < 2; i++) {
		char *text = NULL;
		size_t len = 0;
		int b = secret_var(names[i], &text, &len);
		if (!b && text && key_decode(keys[i], text, len) < 0)
			b = problem(names[i], "must be 32 bytes as 64 hex digits or 44 characters "
				"of base64 (for example: openssl rand -hex 32)");
		else if (!b && text)
			*has[i] = 1;
		bad += b;
		wipe(text, len);
	}
	if (!c->has_secrets_key && c->has_secrets_key_old)
		bad += problem("BILLING_SECRETS_KEY_OLD", "is only read beside BILLING_SECRETS_KEY "
			"(the new key while rotating)");
	return bad;
}

int config_load(config *c)
{
	const char *v;
	char *secret = NULL;
	size_t secret_len = 0;
	int bad = 0;

	memset(c, 0, sizeof(*c));
	c->log_level = LOG_INFO;
	v = env("BILLING_DATABASE_URL");
	c->database_url = strdup(v ? v : "sqlite:billing.db");
	v = env("BILLING_LISTEN");
	c->listen = strdup(v ? v : "127.0.0.1:8080");
	if (!c->database_url || !c->listen)
		return problem("environment", "out of memory");
	bad += parse_listen(c);

	bad += secret_var("BILLING_JWT_SECRET", &secret, &secret_len);
	if (secret && secret_len < SECRET_MIN_BYTES) {
		bad += problem("BILLING_JWT_SECRET",
			"must be at least 32 bytes (for example: openssl rand -hex 32)");
		OPENSSL_cleanse(secret, secret_len);
		free(secret);
		secret = NULL;
	}
	c->jwt_secret = (unsigned char *)secret;
	c->jwt_secret_len = secret_len;
	bad += load_keys(c);

	bad += load_provider(c);
	bad += load_publishable_key(c);
	bad += load_secrets_keys(c);

	v = env("BILLING_PUBLIC_URL");
	if (v) {
		size_t n = strlen(v), i;
		int ok = (strncmp(v, "http://", 7) == 0 && n > 7) ||
			(strncmp(v, "https://", 8) == 0 && n > 8);
		for (i = 0; ok && i < n; i++)
			if ((unsigned char)v[i] <= ' ' || v[i] == 0x7f || v[i] == '?' || v[i] == '#')
				ok = 0;
		if (!ok || n > 400)
			bad += problem("BILLING_PUBLIC_URL", "expected an http:// or https:// URL "
				"without query or fragment (the hosted invoice links' base), got %.80s",
				v);
		else if ((c->public_url = strdup(v)) != NULL && c->public_url[n - 1] == '/')
			c->public_url[n - 1] = '\0';
	} else if ((c->public_url = malloc(strlen(c->listen) + 8)) != NULL) {
		snprintf(c->public_url, strlen(c->listen) + 8, "http://%s", c->listen);
	}
	if (!c->public_url && !bad)
		bad += problem("BILLING_PUBLIC_URL", "out of memory");

	v = env("BILLING_CONSOLE_DIR");
	if (v && (c->console_dir = strdup(v)) == NULL)
		bad += problem("BILLING_CONSOLE_DIR", "out of memory");
	v = env("BILLING_LOG_LEVEL");
	if (v && (c->log_level = log_level_parse(v)) < 0)
		bad += problem("BILLING_LOG_LEVEL", "must be error, warn, info or debug, got %s", v);

	v = env("BILLING_TEST_CLOCK");
	if (v && strcmp(v, "1") == 0)
		c->test_clock = 1;
	else if (v && strcmp(v, "0") != 0)
		bad += problem("BILLING_TEST_CLOCK", "must be 1 (development only: a clock that moves "
			"only when advanced) or 0, got %s", v);

	bad += parse_flag("BILLING_WEBHOOK_ALLOW_HTTP", &c->webhook_allow_http,
		"webhook endpoints may use http:// URLs");
	bad += parse_flag("BILLING_WEBHOOK_ALLOW_PRIVATE", &c->webhook_allow_private,
		"webhook deliveries may go to loopback and private addresses");
	bad += parse_uint("BILLING_WEBHOOK_TIMEOUT_MS", &c->webhook_timeout_ms, 15000, 100, 60000);
	bad += parse_uint("BILLING_EVENT_RETENTION_DAYS", &c->event_retention_days, 0, 0, 36500);

	bad += parse_uint("BILLING_WORKERS", &c->workers, 4, 1, 256);
	bad += parse_uint("BILLING_HTTP_TIMEOUT", &c->timeout_s, 30, 1, 3600);
	bad += parse_uint("BILLING_REQUEST_READ_TIMEOUT", &c->read_timeout_s, 30, 1, 3600);
	bad += parse_uint("BILLING_MAX_CONNECTIONS_PER_IP", &c->per_ip_limit, 32, 1, 100000);
	bad += parse_uint("BILLING_LOGIN_WORKERS", &c->login_workers, 2, 1, 64);
	bad += parse_uint("BILLING_LOGIN_QUEUE", &c->login_queue, 32, 1, 100000);
	bad += parse_uint("BILLING_LOGIN_MAX_FAILURES", &c->login_max_failures, 5, 1, 1000000);
	bad += parse_uint("BILLING_LOGIN_MAX_FAILURES_PER_IP", &c->login_max_failures_ip, 50, 1,
		1000000);
	bad += parse_uint("BILLING_LOGIN_WINDOW", &c->login_window_s, 300, 1, 86400);
	bad += parse_uint("BILLING_TOKEN_TTL", &c->token_ttl_s, 3600, 60, 86400 * 7);
	bad += parse_uint("BILLING_RUN_INTERVAL", &c->run_interval_s, 10, 1, 3600);
	return bad;
}

static int secret_path(const config *c, char *buf, size_t size)
{
	const char *url = c->database_url;
	if (strncmp(url, "sqlite:", 7) != 0 || strcmp(url + 7, ":memory:") == 0 || !url[7])
		return -1;
	return snprintf(buf, size, "%s.jwt-secret", url + 7) < (int)size ? 0 : -1;
}

static int use_stored(config *c, const char *path)
{
	struct stat st;
	size_t len = 0;
	char *text;

	if (stat(path, &st) == 0 && (st.st_mode & 077)) {
		fprintf(stderr, "billing-server: %s is readable by other users; "
			"chmod 600 it (or remove it to make a new secret)\n", path);
		return -1;
	}
	text = read_small_file(path, &len);
	if (!text) {
		fprintf(stderr, "billing-server: cannot read the JWT secret in %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	if (len < SECRET_MIN_BYTES) {
		fprintf(stderr, "billing-server: the JWT secret in %s is too short\n", path);
		OPENSSL_cleanse(text, len);
		free(text);
		return -1;
	}
	c->jwt_secret = (unsigned char *)text;
	c->jwt_secret_len = len;
	return 0;
}

int config_ensure_secret(config *c)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[32];
	char path[4096], tmp[4200], text[65];
	size_t i;
	int fd, ok;

	if (c->jwt_secret || c->key_count > 0)
		return 0;
	if (secret_path(c, path, sizeof(path)) < 0) {
		fprintf(stderr, "billing-server: configuration: BILLING_JWT_SECRET: required for a "
			"database that is not a SQLite file (there is nowhere to keep a generated secret)\n");
		return -1;
	}
	if (access(path, F_OK) == 0)
		return use_stored(c, path);

	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		fprintf(stderr, "billing-server: no randomness for a JWT secret\n");
		return -1;
	}
	for (i = 0; i < sizeof(raw); i++) {
		text[2 * i] = hex[raw[i] >> 4];
		text[2 * i + 1] = hex[raw[i] & 15];
	}
	text[64] = '\0';
	OPENSSL_cleanse(raw, sizeof(raw));
	snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "billing-server: cannot create %s: %s\n", tmp, strerror(errno));
		return -1;
	}
	ok = fchmod(fd, 0600) == 0 && write(fd, text, 64) == 64 && write(fd, "\n", 1) == 1 &&
		fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	OPENSSL_cleanse(text, sizeof(text));
	/* link() fails with EEXIST when another process won the race: use its. */
	if (ok && link(tmp, path) != 0 && errno != EEXIST)
		ok = 0;
	unlink(tmp);
	if (!ok) {
		fprintf(stderr, "billing-server: cannot store the JWT secret in %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	if (use_stored(c, path) < 0)
		return -1;
	log_msg(LOG_INFO, "generated a random JWT signing secret and stored it beside the database "
		"(set BILLING_JWT_SECRET or BILLING_JWT_SECRET_FILE to choose your own)",
		"file", path, "mode", "0600", LOG_END);
	return 0;
}

void config_describe_database(const config *c, char *buf, size_t size)
{
	const char *url = c->database_url, *colon = strchr(url, ':');
	if (strncmp(url, "sqlite:", 7) == 0) {
		if (strcmp(url + 7, ":memory:") == 0)
			snprintf(buf, size, "SQLite in memory");
		else
			snprintf(buf, size, "SQLite file %s", url + 7);
		return;
	}
	snprintf(buf, size, "database scheme %.*s", colon ? (int)(colon - url) : 0, url);
}

struct billing_provider *config_take_provider(config *c)
{
	billing_provider *p = c->provider;
	c->provider = NULL;
	return p;
}

void config_free(config *c)
{
	size_t i;
	if (c->provider)
		c->provider->free(c->provider);
	OPENSSL_cleanse(c->secrets_key, sizeof(c->secrets_key));
	OPENSSL_cleanse(c->secrets_key_old, sizeof(c->secrets_key_old));
	if (c->jwt_secret) {
		OPENSSL_cleanse(c->jwt_secret, c->jwt_secret_len);
		free(c->jwt_secret);
	}
	for (i = 0; i < c->key_count; i++)
		EVP_PKEY_free(c->keys[i].key);
	free(c->database_url);
	free(c->listen);
	free(c->public_url);
	free(c->console_dir);
	memset(c, 0, sizeof(*c));
}

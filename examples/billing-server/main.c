/*
 * billing-server: the example HTTP server over libbilling, and its command
 * line (serve, migrate, tenant create, user create, token) in one binary so
 * that scripts and the server share configuration. Commands print only the
 * new id or token on stdout (--json: the object); everything else goes to
 * stderr.
 */
#include <billing/billing.h>
#include <cJSON.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "catalog.h"
#include "config.h"
#include "console.h"
#include "jwt.h"
#include "log.h"
#include "metrics.h"
#include "openapi.h"
#include "passwords.h"
#include "router.h"
#include "runner.h"
#include "server.h"

#define EXIT_USAGE 2

static const char usage_main[] =
"usage: billing-server [COMMAND] [OPTIONS]\n"
"\n"
"commands:\n"
"  serve                 run the HTTP server (the default)\n"
"  migrate               bring the database schema up to date\n"
"  check                 look for half-written state (billing_check); exit 1 if any\n"
"  tenant create         create a tenant; prints its id\n"
"  user create           create a login user; reads the password from stdin\n"
"  user delete           delete a login user; its tokens stop working at once\n"
"  token                 mint a development bearer token (HS256)\n"
"\n"
"Run 'billing-server COMMAND --help' for a command's options.\n"
"Configuration comes from the environment: BILLING_DATABASE_URL (default\n"
"sqlite:billing.db), BILLING_LISTEN (default 127.0.0.1:8080), BILLING_JWT_SECRET\n"
"or BILLING_JWT_SECRET_FILE, BILLING_JWT_PUBLIC_KEY or BILLING_JWT_PUBLIC_KEY_FILE,\n"
"BILLING_PROVIDER (test|stripe; stripe needs STRIPE_API_KEY and STRIPE_WEBHOOK_SECRET,\n"
"each also as _FILE, and takes STRIPE_API_BASE), BILLING_LOG_LEVEL (error|warn|info|debug),\n"
"BILLING_WORKERS (default 4), BILLING_HTTP_TIMEOUT (seconds, default 30),\n"
"BILLING_TOKEN_TTL (seconds, default 3600), BILLING_RUN_INTERVAL (seconds between\n"
"billing runs, default 10), BILLING_TEST_CLOCK=1 (development: a clock moved by\n"
"POST /v1/test-clock/advance), BILLING_WEBHOOK_TIMEOUT_MS (default 15000),\n"
"BILLING_EVENT_RETENTION_DAYS (default 0: keep events for ever), and for development\n"
"BILLING_WEBHOOK_ALLOW_HTTP=1 and BILLING_WEBHOOK_ALLOW_PRIVATE=1 (webhook endpoints\n"
"on http:// and on loopback or private addresses). See examples/billing-server/README.md.\n";

static const char usage_serve[] =
"usage: billing-server serve\n"
"Applies pending migrations, then serves HTTP on BILLING_LISTEN until SIGTERM or\n"
"SIGINT (requests in flight and a billing run in progress finish first). A worker\n"
"thread runs the due billing work every BILLING_RUN_INTERVAL seconds.\n";

static const char usage_migrate[] =
"usage: billing-server migrate\n"
"Applies the pending migrations to BILLING_DATABASE_URL and exits.\n";

static const char usage_check[] =
"usage: billing-server check\n"
"Reads every tenant and prints each problem billing_check() finds, one per\n"
"line: tenant, kind, resource, detail. Exits 0 when there is none, 1 when\n"
"there are, 2 when the database cannot be read.\n";

static const char usage_tenant[] =
"usage: billing-server tenant create --name NAME [--json]\n"
"Creates a tenant and prints its id (--json: the tenant object).\n";

static const char usage_user[] =
"usage: billing-server user create --tenant ID --email EMAIL --role ADMIN|USER [--json]\n"
"Creates a login user in tenant ID. The password (8 to 1024 characters) is read\n"
"from standard input, never from the command line:\n"
"  printf '%%s' \"$PASSWORD\" | billing-server user create --tenant ten_... --email a@b.c --role ADMIN\n"
"Prints the user's id (--json: the user object, without the hash).\n"
"E-mails of login users are unique across all tenants, ignoring case.\n"
"\n"
"usage: billing-server user delete --tenant ID --user ID\n"
"Deletes the user; the tokens it holds are refused from the next request on.\n";

static const char usage_token[] =
"usage: billing-server token --tenant ID --user ID --role ADMIN|USER [--ttl SECONDS]\n"
"Prints a bearer token signed with the server's HS256 secret (BILLING_JWT_SECRET,\n"
"or the one stored beside the database). For development; --ttl defaults to 3600.\n";

static void usage(const char *text)
{
	fputs(text, stdout);
}

static void library_log(void *payload, billing_log_level level, const char *message)
{
	(void)payload;
	log_msg((log_level)level, message, "source", "libbilling", LOG_END);
}

/* Loads configuration; on problems prints them and returns -1. */
static int load_config(config *c, int need_secret)
{
	int problems = config_load(c);
	if (problems > 0) {
		fprintf(stderr, "billing-server: %d configuration problem%s; not starting\n",
			problems, problems == 1 ? "" : "s");
		return -1;
	}
	log_set_level((log_level)c->log_level);
	if (need_secret && config_ensure_secret(c) < 0)
		return -1;
	return 0;
}

/* 1 when the schema is current: a one-row read works (an outdated schema
 * fails it with reason "schema_outdated" without touching storage). */
static int schema_current(billing_ctx *ctx)
{
	billing_principal platform = { NULL, NULL, BILLING_ROLE_PLATFORM };
	const char *in = "{\"limit\":1}";
	char *out = NULL;
	int rc = billing_call_json(&out, ctx, &platform, "tenants.list", in, strlen(in), NULL);
	billing_free(out);
	return rc >= 0;
}

/* Opens the context (with the configured payment provider when
 * with_provider is set: the server; the commands move no money); with
 * migrate, applies pending migrations first. A
 * current schema is left alone: billing_migrate() needs the right to create
 * tables (on PostgreSQL the owner's), which the runtime role that serves
 * (billing_app, docs/postgres.md) does not have. */
static int open_ctx(billing_ctx **ctx, config *c, int migrate, runner *clock, int with_provider)
{
	billing_ctx_options o = BILLING_CTX_OPTIONS_INIT;
	int rc;

	if (clock) {
		o.clock = runner_clock;
		o.clock_payload = clock;
	}
	o.logger = library_log;
	o.log_level = (billing_log_level)c->log_level;
	/* Version 3: outbound webhooks (delivered by the billing run) and how
	 * long events are kept (pruned by the billing run). */
	o.webhook_allow_http = c->webhook_allow_http;
	o.webhook_allow_private = c->webhook_allow_private;
	o.webhook_timeout_ms = (long)c->webhook_timeout_ms;
	o.event_retention = (int64_t)c->event_retention_days * 86400;
	/* The context owns the provider once the open succeeds; after a
	 * failed open it is still the configuration's, which frees it. */
	if (with_provider)
		o.provider = c->provider;
	/* Version 6: the keys that seal tenants' own provider secrets. */
	o.secrets_key = c->has_secrets_key ? c->secrets_key : NULL;
	o.secrets_key_old = c->has_secrets_key_old ? c->secrets_key_old : NULL;
	rc = billing_ctx_open_url(ctx, c->database_url, &o);
	if (rc < 0) {
		fprintf(stderr, "billing-server: BILLING_DATABASE_URL: %s\n",
			billing_error_last()->message);
		return rc == BILLING_EINVALID ? EXIT_USAGE : 1;
	}
	if (with_provider)
		config_take_provider(c);
	if (migrate && !schema_current(*ctx) && billing_migrate(*ctx) < 0) {
		fprintf(stderr, "billing-server: migration failed: %s\n", billing_error_last()->message);
		billing_ctx_close(*ctx);
		*ctx = NULL;
		return 1;
	}
	return 0;
}

/* --name VALUE style options. Returns 0, or EXIT_USAGE after a message. */
typedef struct {
	const char *name;
	const char **value;   /* NULL: a flag */
	int *flag;
} opt;

static int parse_opts(int argc, char **argv, const opt *opts, const char *help, int *want_help)
{
	int i;
	const opt *o;
	*want_help = 0;
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			*want_help = 1;
			usage(help);
			return 0;
		}
		for (o = opts; o->name && strcmp(o->name, argv[i]) != 0; o++)
			;
		if (!o->name) {
			fprintf(stderr, "billing-server: unknown option %s\n%s", argv[i], help);
			return EXIT_USAGE;
		}
		if (o->flag) {
			*o->flag = 1;
			continue;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "billing-server: %s needs a value\n", argv[i]);
			return EXIT_USAGE;
		}
		*o->value = argv[++i];
	}
	return 0;
}

static int require(const char *value, const char *name, const char *help)
{
	if (value)
		return 0;
	fprintf(stderr, "billing-server: %s is required\n%s", name, help);
	return EXIT_USAGE;
}

/* ------------------------------------------------------------ commands */

static int cmd_serve(void)
{
	config c;
	app a;
	char db[512], *openapi = NULL;
	int rc = 1;

	memset(&a, 0, sizeof(a));
	if (load_config(&c, 1) < 0) {
		config_free(&c);
		return EXIT_USAGE;
	}
	if (runner_init(&a.run, c.run_interval_s, c.test_clock) < 0) {
		fprintf(stderr, "billing-server: cannot set up the billing-run worker\n");
		config_free(&c);
		return 1;
	}
	if (catalog_load() < 0 || router_init() < 0 || router_check_catalog() > 0) {
		fprintf(stderr, "billing-server: the routing table does not match the library\n");
		goto out;
	}
	if (console_init(&c) < 0) {
		rc = EXIT_USAGE;
		goto out;
	}
	if ((rc = open_ctx(&a.ctx, &c, 1, c.test_clock ? &a.run : NULL, 1)) != 0)
		goto out;
	rc = 1;
	if (password_init_dummy() < 0 || (openapi = openapi_build(c.test_clock)) == NULL) {
		fprintf(stderr, "billing-server: out of memory at start\n");
		goto out;
	}
	config_describe_database(&c, db, sizeof(db));
	{
		char what[800], hooks[64];
		snprintf(what, sizeof(what), "%s, %s", db, c.provider_desc);
		if (c.webhook_secret_count > 0)
			snprintf(hooks, sizeof(hooks), "signed (%zu secret%s)", c.webhook_secret_count,
				c.webhook_secret_count == 1 ? "" : "s");
		else
			snprintf(hooks, sizeof(hooks), "refused (no STRIPE_WEBHOOK_SECRET)");
		log_msg(LOG_INFO, "starting", "using", what, "version", billing_version_string(),
			"auth", c.jwt_secret ? (c.key_count ? "HS256 secret and public keys" :
			"HS256 secret") : "public keys", "webhooks", hooks, LOG_END);
	}
	log_msg(LOG_INFO, "console", "at", "/console/", "files", console_dir()[0] ? console_dir() :
		"not found (/console/ answers 404; BILLING_CONSOLE_DIR)", LOG_END);
	if (c.provider_kind == PROVIDER_TEST && (getenv("STRIPE_API_KEY") ||
	    getenv("STRIPE_API_KEY_FILE") || getenv("STRIPE_API_BASE")))
		log_msg(LOG_WARN, "STRIPE_API_KEY and STRIPE_API_BASE are ignored with the test "
			"payment provider (BILLING_PROVIDER=stripe uses them)", LOG_END);
	if (c.provider_kind == PROVIDER_TEST && c.webhook_secret_count > 1)
		log_msg(LOG_WARN, "the test payment provider verifies webhooks with the first secret "
			"of STRIPE_WEBHOOK_SECRET only", LOG_END);
	if (c.test_clock)
		log_msg(LOG_WARN, "BILLING_TEST_CLOCK=1: the library's clock starts at real time and "
			"moves only with POST /v1/test-clock/advance (development only; tokens are still "
			"checked against real time)", LOG_END);
	{
		char interval[16], timeout[16], keep[32];
		snprintf(interval, sizeof(interval), "%u", c.run_interval_s);
		log_msg(LOG_INFO, "billing-run worker", "everySeconds", interval, LOG_END);
		snprintf(timeout, sizeof(timeout), "%u", c.webhook_timeout_ms);
		if (c.event_retention_days)
			snprintf(keep, sizeof(keep), "%u days", c.event_retention_days);
		else
			snprintf(keep, sizeof(keep), "for ever");
		log_msg(LOG_INFO, "outbound webhooks are delivered by the billing run",
			"timeoutMs", timeout, "eventRetention", keep, LOG_END);
	}
	if (c.webhook_allow_http)
		log_msg(LOG_WARN, "BILLING_WEBHOOK_ALLOW_HTTP=1: webhook endpoints may use http:// "
			"URLs, so deliveries and their signatures travel unencrypted (development and "
			"tests only)", LOG_END);
	if (c.webhook_allow_private)
		log_msg(LOG_WARN, "BILLING_WEBHOOK_ALLOW_PRIVATE=1: webhook deliveries may go to "
			"loopback, private, link-local and cloud metadata addresses (development and "
			"tests only)", LOG_END);
	metrics_init(now_unix());
	a.cfg = &c;
	a.openapi = openapi;
	rc = server_run(&a);
out:
	billing_ctx_close(a.ctx);
	runner_destroy(&a.run);
	free(openapi);
	password_free_dummy();
	router_free();
	catalog_free();
	config_free(&c);
	return rc;
}

static int cmd_migrate(int argc, char **argv)
{
	config c;
	billing_ctx *ctx = NULL;
	int help, rc = parse_opts(argc, argv, (const opt[]){ { NULL, NULL, NULL } }, usage_migrate,
		&help);
	if (rc || help)
		return rc;
	if (load_config(&c, 0) < 0) {
		config_free(&c);
		return EXIT_USAGE;
	}
	rc = open_ctx(&ctx, &c, 1, NULL, 0);
	if (rc == 0) {
		char db[512];
		config_describe_database(&c, db, sizeof(db));
		log_msg(LOG_INFO, "database schema is up to date", "using", db, LOG_END);
	}
	billing_ctx_close(ctx);
	config_free(&c);
	return rc;
}

static void print_problem(void *user_data, const billing_check_problem *p)
{
	(void)user_data;
	printf("%s\t%s\t%s\t%s\n", p->tenant_id ? p->tenant_id : "-", p->kind,
		p->resource_id ? p->resource_id : "-", p->detail);
}

static int cmd_check(int argc, char **argv)
{
	config c;
	billing_ctx *ctx = NULL;
	int64_t problems = 0;
	int help, rc = parse_opts(argc, argv, (const opt[]){ { NULL, NULL, NULL } }, usage_check,
		&help);
	if (rc || help)
		return rc;
	if (load_config(&c, 0) < 0) {
		config_free(&c);
		return EXIT_USAGE;
	}
	rc = open_ctx(&ctx, &c, 0, NULL, 0);
	if (rc == 0 && billing_check(ctx, print_problem, NULL, &problems) < 0) {
		fprintf(stderr, "billing-server: check failed: %s\n", billing_error_last()->message);
		rc = 2;
	} else if (rc == 0) {
		fprintf(stderr, "billing-server: %lld problem(s)\n", (long long)problems);
		rc = problems ? 1 : 0;
	}
	billing_ctx_close(ctx);
	config_free(&c);
	return rc;
}

static int cmd_tenant(int argc, char **argv)
{
	const char *name = NULL;
	int json = 0, help, rc;
	config c;
	billing_ctx *ctx = NULL;
	billing_principal platform = { NULL, NULL, BILLING_ROLE_PLATFORM };
	cJSON *in, *res;
	char *text, *out = NULL;

	if (argc < 1 || strcmp(argv[0], "create") != 0) {
		if (argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
			usage(usage_tenant);
			return 0;
		}
		fprintf(stderr, "%s", usage_tenant);
		return EXIT_USAGE;
	}
	rc = parse_opts(argc - 1, argv + 1, (const opt[]){ { "--name", &name, NULL },
		{ "--json", NULL, &json }, { NULL, NULL, NULL } }, usage_tenant, &help);
	if (rc || help || (rc = require(name, "--name", usage_tenant)) != 0)
		return rc;
	if (load_config(&c, 0) < 0) {
		config_free(&c);
		return EXIT_USAGE;
	}
	if ((rc = open_ctx(&ctx, &c, 1, NULL, 0)) != 0)
		goto out;
	in = cJSON_CreateObject();
	cJSON_AddStringToObject(in, "name", name);
	text = cJSON_PrintUnformatted(in);
	cJSON_Delete(in);
	rc = billing_call_json(&out, ctx, &platform, "tenants.create", text, text ? strlen(text) : 0,
		NULL);
	cJSON_free(text);
	if (rc < 0) {
		fprintf(stderr, "billing-server: tenant create: %s\n", billing_error_last()->message);
		rc = rc == BILLING_EINVALID ? EXIT_USAGE : 1;
		goto out;
	}
	res = cJSON_Parse(out);
	if (json)
		puts(out);
	else
		puts(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(res, "id")));
	cJSON_Delete(res);
	rc = 0;
out:
	billing_free(out);
	billing_ctx_close(ctx);
	config_free(&c);
	return rc;
}

/* Reads the password from stdin (no echo on a terminal). */
static int read_password(char *buf, size_t size, size_t *len)
{
	struct termios old, quiet;
	int tty = isatty(STDIN_FILENO), restored = 0;
	size_t n;

	if (tty) {
		fprintf(stderr, "Password: ");
		fflush(stderr);
		if (tcgetattr(STDIN_FILENO, &old) == 0) {
			quiet = old;
			quiet.c_lflag &= ~(tcflag_t)ECHO;
			restored = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
		}
	}
	n = 0;
	if (tty) {
		if (fgets(buf, (int)size, stdin))
			n = strlen(buf);
	} else {
		n = fread(buf, 1, size - 1, stdin);
	}
	if (restored) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (n > 0 && buf[n - 1] == '\r')
		buf[--n] = '\0';
	if (memchr(buf, '\0', n)) {
		fprintf(stderr, "billing-server: the password must not contain NUL bytes\n");
		return -1;
	}
	if (n < PASSWORD_MIN || n > PASSWORD_MAX) {
		fprintf(stderr, "billing-server: the password (from standard input) must be 8 to "
			"1024 characters\n");
		return -1;
	}
	*len = n;
	return 0;
}

static int cmd_user_delete(int argc, char **argv)
{
	const char *tenant = NULL, *user = NULL;
	int help, rc;
	config c;
	billing_ctx *ctx = NULL;
	billing_principal platform = { NULL, NULL, BILLING_ROLE_PLATFORM };

	rc = parse_opts(argc, argv, (const opt[]){ { "--tenant", &tenant, NULL },
		{ "--user", &user, NULL }, { NULL, NULL, NULL } }, usage_user, &help);
	if (rc || help)
		return rc;
	if ((rc = require(tenant, "--tenant", usage_user)) != 0 ||
	    (rc = require(user, "--user", usage_user)) != 0)
		return rc;
	if (load_config(&c, 0) < 0) {
		config_free(&c);
		return EXIT_USAGE;
	}
	if ((rc = open_ctx(&ctx, &c, 1, NULL, 0)) != 0)
		goto out;
	rc = billing_user_delete(ctx, &platform, tenant, user);
	if (rc < 0) {
		fprintf(stderr, "billing-server: user delete: %s\n", rc == BILLING_ENOTFOUND ?
			"no such user in that tenant" : billing_error_last()->message);
		rc = rc == BILLING_ENOTFOUND ? EXIT_USAGE : 1;
		goto out;
	}
	rc = 0;
out:
	billing_ctx_close(ctx);
	config_free(&c);
	return rc;
}

static int cmd_user(int argc, char **argv)
{
	const char *tenant = NULL, *email = NULL, *role_name = NULL;
	int json = 0, help, rc;
	char password[PASSWORD_MAX + 2];
	size_t plen = 0;
	billing_role role;
	config c;
	billing_ctx *ctx = NULL;
	billing_principal platform = { NULL, NULL, BILLING_ROLE_PLATFORM };
	billing_user_params p = BILLING_USER_PARAMS_INIT;
	billing_user *u = NULL;
	char *hash = NULL;

	if (argc >= 1 && strcmp(argv[0], "delete") == 0)
		return cmd_user_delete(argc - 1, argv + 1);
	if (argc < 1 || strcmp(argv[0], "create") != 0) {
		if (argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
			usage(usage_user);
			return 0;
		}
		fprintf(stderr, "%s", usage_user);
		return EXIT_USAGE;
	}
	rc = parse_opts(argc - 1, argv + 1, (const opt[]){ { "--tenant", &tenant, NULL },
		{ "--email", &email, NULL }, { "--role", &role_name, NULL }, { "--json", NULL, &json },
		{ NULL, NULL, NULL } }, usage_user, &help);
	if (rc || help)
		return rc;
	if ((rc = require(tenant, "--tenant", usage_user)) != 0 ||
	    (rc = require(email, "--email", usage_user)) != 0 ||
	    (rc = require(role_name, "--role", usage_user)) != 0)
		return rc;
	if (billing_role_parse(&role, role_name) < 0 ||
	    (role != BILLING_ROLE_ADMIN && role != BILLING_ROLE_USER)) {
		fprintf(stderr, "billing-server: --role must be ADMIN or USER\n");
		return EXIT_USAGE;
	}
	if (read_password(password, sizeof(password), &plen) < 0)
		return EXIT_USAGE;
	if (load_config(&c, 0) < 0) {
		config_free(&c);
		OPENSSL_cleanse(password, sizeof(password));
		return EXIT_USAGE;
	}
	hash = password_hash(password, plen);
	OPENSSL_cleanse(password, sizeof(password));
	if (!hash) {
		fprintf(stderr, "billing-server: cannot hash the password\n");
		rc = 1;
		goto out;
	}
	if ((rc = open_ctx(&ctx, &c, 1, NULL, 0)) != 0)
		goto out;
	p.tenant_id = tenant;
	p.email = email;
	p.role = role;
	p.password_hash = hash;
	rc = billing_user_create(&u, ctx, &platform, &p);
	if (rc == BILLING_EEXISTS) {
		/* Log-in e-mails identify a user across the whole platform. */
		fprintf(stderr, "billing-server: user create: email: %s is already taken by a user "
			"(e-mails of login users are unique across all tenants, ignoring case)\n", email);
		rc = EXIT_USAGE;
		goto out;
	}
	if (rc < 0) {
		const billing_error *e = billing_error_last();
		fprintf(stderr, "billing-server: user create: %s%s%s\n", e->field ? e->field : "",
			e->field ? ": " : "", e->message);
		rc = rc == BILLING_EINVALID || rc == BILLING_EEXISTS ? EXIT_USAGE : 1;
		goto out;
	}
	if (json) {
		cJSON *o = cJSON_CreateObject();
		char when[32], *text;
		time_t t = (time_t)billing_user_created_at(u);
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		cJSON_AddStringToObject(o, "id", billing_user_id(u));
		cJSON_AddStringToObject(o, "object", "user");
		cJSON_AddStringToObject(o, "tenantId", billing_user_tenant_id(u));
		cJSON_AddStringToObject(o, "email", billing_user_email(u));
		cJSON_AddStringToObject(o, "role", billing_role_name(billing_user_role(u)));
		cJSON_AddStringToObject(o, "createdAt", when);
		text = cJSON_PrintUnformatted(o);
		puts(text ? text : "{}");
		cJSON_free(text);
		cJSON_Delete(o);
	} else {
		puts(billing_user_id(u));
	}
	rc = 0;
out:
	billing_user_free(u);
	free(hash);
	billing_ctx_close(ctx);
	config_free(&c);
	return rc;
}

static int cmd_token(int argc, char **argv)
{
	const char *tenant = NULL, *user = NULL, *role = NULL, *ttl_s = NULL;
	int help, rc;
	long ttl = 3600;
	config c;
	char *tok, *end;
	int64_t now;

	rc = parse_opts(argc, argv, (const opt[]){ { "--tenant", &tenant, NULL },
		{ "--user", &user, NULL }, { "--role", &role, NULL }, { "--ttl", &ttl_s, NULL },
		{ NULL, NULL, NULL } }, usage_token, &help);
	if (rc || help)
		return rc;
	if ((rc = require(tenant, "--tenant", usage_token)) != 0 ||
	    (rc = require(user, "--user", usage_token)) != 0 ||
	    (rc = require(role, "--role", usage_token)) != 0)
		return rc;
	if (strcmp(role, "ADMIN") != 0 && strcmp(role, "USER") != 0) {
		fprintf(stderr, "billing-server: --role must be ADMIN or USER\n");
		return EXIT_USAGE;
	}
	if (!jwt_tenant_id_ok(tenant)) {
		fprintf(stderr, "billing-server: --tenant must be a tenant id (ten_...)\n");
		return EXIT_USAGE;
	}
	if (ttl_s) {
		errno = 0;
		ttl = strtol(ttl_s, &end, 10);
		if (errno || *end || ttl < 1 || ttl > 31536000) {
			fprintf(stderr, "billing-server: --ttl must be 1 to 31536000 seconds\n");
			return EXIT_USAGE;
		}
	}
	if (load_config(&c, 1) < 0) {
		config_free(&c);
		return EXIT_USAGE;
	}
	if (!c.jwt_secret) {
		fprintf(stderr, "billing-server: token: no HS256 secret (only public keys are "
			"configured); tokens come from your issuer\n");
		config_free(&c);
		return EXIT_USAGE;
	}
	now = now_unix();
	tok = jwt_sign_hs256(&c, user, tenant, role, now, now + ttl);
	config_free(&c);
	if (!tok) {
		fprintf(stderr, "billing-server: cannot sign a token\n");
		return 1;
	}
	puts(tok);
	OPENSSL_cleanse(tok, strlen(tok));
	free(tok);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "serve";

	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
		usage(usage_main);
		return 0;
	}
	if (strcmp(cmd, "--version") == 0) {
		printf("billing-server (libbilling %s)\n", billing_version_string());
		return 0;
	}
	if (strcmp(cmd, "serve") == 0) {
		if (argc > 2 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
			usage(usage_serve);
			return 0;
		}
		if (argc > 2) {
			fprintf(stderr, "billing-server: serve takes no options (configure it with "
				"the environment)\n%s", usage_serve);
			return EXIT_USAGE;
		}
		return cmd_serve();
	}
	if (strcmp(cmd, "migrate") == 0)
		return cmd_migrate(argc - 2, argv + 2);
	if (strcmp(cmd, "check") == 0)
		return cmd_check(argc - 2, argv + 2);
	if (strcmp(cmd, "tenant") == 0)
		return cmd_tenant(argc - 2, argv + 2);
	if (strcmp(cmd, "user") == 0)
		return cmd_user(argc - 2, argv + 2);
	if (strcmp(cmd, "token") == 0)
		return cmd_token(argc - 2, argv + 2);
	fprintf(stderr, "billing-server: unknown command %s\n%s", cmd, usage_main);
	return EXIT_USAGE;
}

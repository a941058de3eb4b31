/*
 * Configuration from the environment (API-HTTP.md "Configuration"),
 * validated in one pass that reports every problem, one line each.
 */
#ifndef BS_CONFIG_H
#define BS_CONFIG_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define CONFIG_MAX_KEYS 4
#define CONFIG_MAX_WEBHOOK_SECRETS 8

struct billing_provider;

typedef enum { JWT_HS256 = 1, JWT_RS256 = 2, JWT_ES256 = 3 } jwt_alg;

typedef enum { PROVIDER_TEST = 1, PROVIDER_STRIPE = 2 } provider_kind;

/* The longest STRIPE_PUBLISHABLE_KEY taken, its NUL included. */
#define CONFIG_PUBLISHABLE_KEY_MAX 256

typedef struct {
	EVP_PKEY *key;
	jwt_alg alg;    /* fixed by the key's type: the token never chooses */
} config_public_key;

typedef struct {
	char *database_url;          /* BILLING_DATABASE_URL */
	char *listen;                /* BILLING_LISTEN, as given */
	char *public_url;            /* BILLING_PUBLIC_URL without a trailing '/'; default
	                              * "http://" + BILLING_LISTEN: prefixed to the hosted
	                              * invoice links (hostedInvoiceUrl) */
	struct sockaddr_storage listen_addr;
	socklen_t listen_addr_len;
	unsigned char *jwt_secret;   /* NULL until configured, loaded or generated */
	size_t jwt_secret_len;
	config_public_key keys[CONFIG_MAX_KEYS];
	size_t key_count;
	int log_level;
	unsigned int workers;        /* BILLING_WORKERS, default 4 */
	unsigned int timeout_s;      /* BILLING_HTTP_TIMEOUT, default 30 */
	unsigned int read_timeout_s; /* BILLING_REQUEST_READ_TIMEOUT, default 30: a whole
	                              * request (line, headers, body) arrives within it */
	unsigned int per_ip_limit;   /* BILLING_MAX_CONNECTIONS_PER_IP, default 32 */
	unsigned int login_workers;  /* BILLING_LOGIN_WORKERS, default 2: password hashing */
	unsigned int login_queue;    /* BILLING_LOGIN_QUEUE, default 32: logins waiting */
	unsigned int login_max_failures;       /* BILLING_LOGIN_MAX_FAILURES, default 5 */
	unsigned int login_max_failures_ip;    /* BILLING_LOGIN_MAX_FAILURES_PER_IP, default 50 */
	unsigned int login_window_s; /* BILLING_LOGIN_WINDOW, default 300 */
	unsigned int token_ttl_s;    /* BILLING_TOKEN_TTL, default 3600 */
	unsigned int run_interval_s; /* BILLING_RUN_INTERVAL, default 10 */
	int test_clock;              /* BILLING_TEST_CLOCK=1: development test clock */
	char *console_dir;           /* BILLING_CONSOLE_DIR; NULL: found beside the server
	                              * or where it is installed (console.h) */
	provider_kind provider_kind; /* BILLING_PROVIDER, default test */
	/* The payment provider built from BILLING_PROVIDER and STRIPE_*: the
	 * configuration owns it until config_take_provider() hands it over. */
	struct billing_provider *provider;
	size_t webhook_secret_count; /* STRIPE_WEBHOOK_SECRET entries (0: webhooks refused) */
	/* STRIPE_PUBLISHABLE_KEY: the pk_test_/pk_live_ key the console hands
	 * to Stripe.js to add a card (public by design; "" when unset). */
	char stripe_publishable_key[CONFIG_PUBLISHABLE_KEY_MAX];
	/* Outbound webhooks and events (billing_ctx_options version 3). */
	int webhook_allow_http;      /* BILLING_WEBHOOK_ALLOW_HTTP=1: http:// endpoints */
	int webhook_allow_private;   /* BILLING_WEBHOOK_ALLOW_PRIVATE=1: loopback, private... */
	unsigned int webhook_timeout_ms; /* BILLING_WEBHOOK_TIMEOUT_MS, default 15000 */
	unsigned int event_retention_days; /* BILLING_EVENT_RETENTION_DAYS, 0: for ever */
	char provider_desc[160];     /* "test payment provider", never a key */
	/* BILLING_SECRETS_KEY(_FILE) and BILLING_SECRETS_KEY_OLD(_FILE): 32 bytes
	 * each (hex or base64), sealing tenants' provider secrets at rest. */
	int has_secrets_key, has_secrets_key_old;
	unsigned char secrets_key[32], secrets_key_old[32];
} config;

/* Reads and checks the environment. Prints one line per problem on stderr
 * and returns their number (0: all good). */
int config_load(config *c);

/* Makes sure an HS256 secret exists when neither a secret nor a public
 * key is configured: reads the one stored beside the SQLite database, or
 * creates it (32 random bytes, hex, mode 0600) and logs that it did.
 * With only public keys configured it does nothing. Returns 0 or -1
 * after printing the problem. */
int config_ensure_secret(config *c);

/* "SQLite file billing.db", "SQLite in memory", or "database scheme X";
 * never the URL itself, which may hold a password. */
void config_describe_database(const config *c, char *buf, size_t size);

/* Hands the payment provider over (for billing_ctx_options.provider): the
 * configuration no longer frees it. NULL once taken. */
struct billing_provider *config_take_provider(config *c);

void config_free(config *c);

#endif

/*
 * A provider account per tenant (issue #18 item 8): with_account makes a
 * copy of the server-wide Stripe provider that acts with one tenant's own
 * settings. Its own secret key replaces the server's in the Authorization
 * header; its own webhook secrets replace the server's when its events
 * are verified; a connected account id (Connect) goes out as the
 * Stripe-Account header on every request, so the platform's key acts on
 * that account. Everything else (API base, transport, version, timeouts,
 * retries) is the server's. The copy owns its strings and wipes the
 * secret ones on free, as the provider it was made from does.
 */
#include "providers/stripe/stripe_internal.h"

#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/errors.h"

/* acct_ and letters or digits: Stripe's connected account ids. */
static bool account_ok(const char *s)
{
	size_t n;

	if (s == NULL || strncmp(s, "acct_", 5) != 0)
		return false;
	n = strlen(s);
	if (n == 5 || n > 64)
		return false;
	for (s += 5; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9')))
			return false;
	return true;
}

static int check(const billing_provider_account *acct)
{
	billing__checks c = BILLING__CHECKS_INIT;
	size_t i;

	if (acct->api_key && (!billing__stripe_token_ok(acct->api_key, 512) ||
	    !(strncmp(acct->api_key, "sk_", 3) == 0 || strncmp(acct->api_key, "rk_", 3) == 0)))
		billing__check_fail(&c, "apiKey",
			"must be a secret (sk_...) or restricted (rk_...) key, printable, no spaces");
	if (acct->account && !account_ok(acct->account))
		billing__check_fail(&c, "account",
			"must be a connected account id (acct_ and letters or digits)");
	if (acct->webhook_secret_count > 0 && acct->webhook_secrets == NULL)
		billing__check_fail(&c, "webhookSecret", "is NULL with a count");
	for (i = 0; acct->webhook_secrets && i < acct->webhook_secret_count; i++)
		if (!billing__stripe_token_ok(acct->webhook_secrets[i], 512)) {
			billing__check_fail(&c, "webhookSecret",
				"must be printable ASCII without spaces (whsec_...)");
			break;
		}
	return billing__checks_finish(&c, "Stripe account");
}

static char *bearer(const char *key)
{
	size_t n = strlen(key) + sizeof("Bearer ");
	char *s = billing__malloc(n);

	if (s)
		snprintf(s, n, "Bearer %s", key);
	return s;
}

int billing__stripe_with_account(billing_provider *p, const billing_provider_account *acct,
	billing_provider **out)
{
	stripe_provider *sp = (stripe_provider *)p, *cp;
	const char *const *secrets;
	size_t i, n;
	int rc;

	BILLING__ASSERT_ARG(out, "out");
	*out = NULL;
	BILLING__ASSERT_ARG(p, "p");
	BILLING__ASSERT_ARG(acct, "acct");
	if (acct->version == 0 || acct->version > BILLING_PROVIDER_ACCOUNT_VERSION)
		return billing__error_field(BILLING_EINVALID, "invalid", "version",
			"billing_provider_account.version %u is not one this library knows",
			acct->version);
	if ((rc = check(acct)) < 0)
		return rc;

	cp = billing__calloc(1, sizeof(*cp));
	if (cp == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	cp->base = sp->base;            /* the same vtable, free() included */
	cp->transport = sp->transport;
	cp->loopback_http = sp->loopback_http;
	cp->connect_timeout_ms = sp->connect_timeout_ms;
	cp->timeout_ms = sp->timeout_ms;
	cp->max_retries = sp->max_retries;
	cp->retry_base_ms = sp->retry_base_ms;
	cp->tolerance = sp->tolerance;
	cp->api_key = billing__strdup(acct->api_key ? acct->api_key : sp->api_key);
	cp->auth_value = cp->api_key ? bearer(cp->api_key) : NULL;
	cp->stripe_version = billing__strdup(sp->stripe_version);
	cp->api_base = billing__strdup(sp->api_base);
	if (acct->account)
		cp->account = billing__strdup(acct->account);
	if (!cp->api_key || !cp->auth_value || !cp->stripe_version || !cp->api_base ||
	    (acct->account && !cp->account))
		goto oom;
	if (acct->webhook_secret_count > 0) {
		secrets = acct->webhook_secrets;
		n = acct->webhook_secret_count;
	} else {
		secrets = (const char *const *)sp->secrets;
		n = sp->nsecrets;
	}
	if (n > 0 && (cp->secrets = billing__calloc(n, sizeof(char *))) == NULL)
		goto oom;
	for (i = 0; i < n; i++) {
		if ((cp->secrets[i] = billing__strdup(secrets[i])) == NULL)
			goto oom;
		cp->nsecrets = i + 1;
	}
	*out = &cp->base;
	return BILLING_OK;
oom:
	cp->base.free(&cp->base);
	return billing__error_set(BILLING_ENOMEM, NULL, NULL);
}

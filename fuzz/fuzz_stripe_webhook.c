/*
 * The Stripe webhook verifier and event parser
 * (billing__stripe_webhook_parse), and the signer round trip.
 *
 *   byte 0   bits 0-1: mode — 0 and 3: the rest is "<Stripe-Signature
 *              value>\n<body>"; 1: the rest is a body, signed with
 *              billing__stripe_webhook_sign (the round trip); 2: the rest is
 *              "<extra items>\n<body>", the body signed and the extra items
 *              put before the real signature in the header
 *            bit 2: sign with the second (rotated) secret
 *            bit 3: send the header twice; bit 4: add unrelated headers
 *   byte 1   the signature's age, (int8_t) * 4 seconds (mode 1 and 2)
 *
 * Properties: the call never reads past the body (it is given an exact
 * buffer); a parsed event's strings are terminated; in the round trip the
 * signature is accepted exactly when its age is within the tolerance, so
 * the only failure left is a malformed body; a duplicated header is
 * refused.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing/billing.h"
#include "providers/stripe/stripe_webhook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW ((int64_t)1700000000)
#define TOLERANCE 300

/* An empty and a NULL entry: both are skipped, never used as a key. */
static const char *const secrets[] = { "whsec_fuzz_current", "", NULL, "whsec_fuzz_old" };

#define TERMINATED(a) (memchr((a), '\0', sizeof(a)) != NULL)

static void check_event(const billing_provider_event *ev)
{
	if (!TERMINATED(ev->id) || !TERMINATED(ev->type_name) || !TERMINATED(ev->ref) ||
	    !TERMINATED(ev->tenant_id) || !TERMINATED(ev->payment_id) ||
	    !TERMINATED(ev->invoice_id) || !TERMINATED(ev->currency) ||
	    !TERMINATED(ev->failure_code) || !TERMINATED(ev->failure_message) ||
	    !TERMINATED(ev->dispute_id) || !TERMINATED(ev->dispute_reason)) {
		fprintf(stderr, "an event field is not terminated\n");
		abort();
	}
	if (ev->type > BILLING_PROVIDER_EVENT_DISPUTE_CREATED || ev->id[0] == '\0' ||
	    ev->amount < 0 || ev->amount_refunded < 0 || ev->dispute_amount < 0) {
		fprintf(stderr, "an accepted event is out of range (type %d)\n", (int)ev->type);
		abort();
	}
}

static int is_signature_error(int rc)
{
	const char *reason = billing_error_last()->reason;
	return rc == BILLING_EINVALID && reason && strcmp(reason, "signature") == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	billing_header headers[4];
	billing_provider_event ev;
	const uint8_t *rest, *nl;
	char *header = NULL, *body;
	size_t nheaders = 0, rest_len, body_len, head_len = 0;
	int mode, rc;
	int64_t age = 0;

	if (size < 2)
		return 0;
	mode = data[0] & 3;
	rest = data + 2;
	rest_len = size - 2;
	nl = memchr(rest, '\n', rest_len);
	if (mode == 1 || nl == NULL) {
		body_len = rest_len;
		nl = rest - 1;
		head_len = 0;
	} else {
		head_len = (size_t)(nl - rest);
		body_len = rest_len - head_len - 1;
	}
	/* An exact copy: ASan reports a read past the body's end. */
	body = malloc(body_len ? body_len : 1);
	if (body == NULL)
		abort();
	memcpy(body, nl + 1, body_len);

	if (mode == 1 || mode == 2) {
		char sig[160];
		const char *secret = secrets[data[0] & 4 ? 3 : 0];
		age = (int64_t)(int8_t)data[1] * 4;
		if (billing__stripe_webhook_sign(sig, sizeof(sig), secret, NOW - age, body,
			body_len) < 0) {
			fprintf(stderr, "sign failed: %s\n", billing_error_last()->message);
			abort();
		}
		header = malloc(head_len + 1 + strlen(sig) + 1);
		if (header == NULL)
			abort();
		if (mode == 2 && head_len > 0)
			sprintf(header, "%.*s,%s", (int)head_len, (const char *)rest, sig);
		else
			strcpy(header, sig);
	} else {
		header = strndup((const char *)rest, head_len);
		if (header == NULL)
			abort();
	}

	if (data[0] & 16)
		headers[nheaders++] = (billing_header){ "Content-Type", "application/json" };
	headers[nheaders++] = (billing_header){ "Stripe-Signature", header };
	if (data[0] & 8)
		headers[nheaders++] = (billing_header){ "stripe-signature", header };
	if (data[0] & 16)
		headers[nheaders++] = (billing_header){ NULL, NULL };

	rc = billing__stripe_webhook_parse(secrets, sizeof(secrets) / sizeof(secrets[0]),
		TOLERANCE, headers, nheaders, body, body_len, NOW, &ev);
	if (getenv("FUZZ_VERBOSE"))
		fprintf(stderr, "mode %d -> %d %s type %d\n", mode, rc,
			rc < 0 ? billing_error_last()->message : ev.type_name, (int)ev.type);
	if (rc == BILLING_OK)
		check_event(&ev);
	else if (rc != BILLING_EINVALID) {
		fprintf(stderr, "unexpected code %d: %s\n", rc, billing_error_last()->message);
		abort();
	}
	if (data[0] & 8 && !is_signature_error(rc)) {
		fprintf(stderr, "two Stripe-Signature headers were accepted\n");
		abort();
	}
	if (mode == 1 && !(data[0] & 8)) {
		int in_tolerance = age <= TOLERANCE && age >= -TOLERANCE;
		if (is_signature_error(rc) == in_tolerance) {
			fprintf(stderr, "round trip: signature %s at age %lld: %s\n",
				in_tolerance ? "refused" : "accepted", (long long)age,
				billing_error_last()->message);
			abort();
		}
	}
	free(header);
	free(body);
	return 0;
}

/*
 * Unit tests for the public Standard Webhooks signer and verifier
 * (billing_webhook_sign / billing_webhook_verify, src/core/webhook_sign.c):
 * the specification's published vector, the replay window, every way a
 * delivery can be altered, rotation (two signatures in one header), and
 * refusal of malformed secrets and headers without quoting the secret.
 * tests/e2e/webhooks.c checks real deliveries with an independent verifier.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "billing/billing.h"

/* From the Standard Webhooks specification's examples. */
#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define MSG_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define TS_TEXT "1614265330"
#define TS 1614265330
#define BODY "{\"test\": 2432232314}"
#define SIG "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
#define OTHER "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

static int verify(const char *secret, const char *id, const char *ts, const char *sig,
	const char *body, int64_t now)
{
	return billing_webhook_verify(secret, id, ts, sig, body, strlen(body), now, 300);
}

static void assert_refused(int rc, const char *field)
{
	assert_int_equal(rc, BILLING_EINVALID);
	assert_non_null(billing_error_last()->field);
	assert_string_equal(billing_error_last()->field, field);
	assert_null(strstr(billing_error_last()->message, "MfKQ9r8G"));
}

static void published_vector(void **state)
{
	char out[BILLING_WEBHOOK_SIGNATURE_SIZE];
	(void)state;

	assert_int_equal(billing_webhook_sign(out, sizeof(out), SECRET, MSG_ID, TS, BODY,
		strlen(BODY)), BILLING_OK);
	assert_string_equal(out, SIG);
	/* The prefix is optional: the bare base64 is the same key. */
	assert_int_equal(billing_webhook_sign(out, sizeof(out), &SECRET[6], MSG_ID, TS, BODY,
		strlen(BODY)), BILLING_OK);
	assert_string_equal(out, SIG);
	assert_int_equal(verify(SECRET, MSG_ID, TS_TEXT, SIG, BODY, TS), BILLING_OK);
}

static void replay_window(void **state)
{
	(void)state;
	assert_int_equal(verify(SECRET, MSG_ID, TS_TEXT, SIG, BODY, TS + 300), BILLING_OK);
	assert_int_equal(verify(SECRET, MSG_ID, TS_TEXT, SIG, BODY, TS - 300), BILLING_OK);
	assert_refused(verify(SECRET, MSG_ID, TS_TEXT, SIG, BODY, TS + 301), "webhook-timestamp");
	assert_refused(verify(SECRET, MSG_ID, TS_TEXT, SIG, BODY, TS - 301), "webhook-timestamp");
	assert_string_equal(billing_error_last()->reason, "signature");
	/* No window is no tolerance, not an unlimited one. */
	assert_int_equal(billing_webhook_verify(SECRET, MSG_ID, TS_TEXT, SIG, BODY,
		strlen(BODY), TS, 0), BILLING_OK);
	assert_refused(billing_webhook_verify(SECRET, MSG_ID, TS_TEXT, SIG, BODY,
		strlen(BODY), TS + 1, 0), "webhook-timestamp");
	assert_refused(billing_webhook_verify(SECRET, MSG_ID, TS_TEXT, SIG, BODY,
		strlen(BODY), TS, -1), "webhook-timestamp");
	assert_refused(billing_webhook_verify(SECRET, MSG_ID, TS_TEXT, SIG, BODY,
		strlen(BODY), INT64_MIN, 300), "webhook-timestamp");
}

static void every_alteration_is_refused(void **state)
{
	char body[] = BODY, sig[] = SIG;
	size_t i;
	(void)state;

	assert_refused(verify(SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJeK", TS_TEXT, SIG, BODY, TS),
		"webhook-signature");
	/* The timestamp is signed: moved by a second, the signature fails. */
	assert_refused(verify(SECRET, MSG_ID, "1614265331", SIG, BODY, TS), "webhook-signature");
	assert_refused(verify(OTHER, MSG_ID, TS_TEXT, SIG, BODY, TS), "webhook-signature");
	for (i = 0; i < strlen(body); i++) {
		body[i] ^= 1;
		assert_refused(verify(SECRET, MSG_ID, TS_TEXT, SIG, body, TS), "webhook-signature");
		body[i] ^= 1;
	}
	for (i = 3; i < strlen(sig) - 1; i++) {
		char c = sig[i];
		sig[i] = c == 'A' ? 'B' : 'A';
		assert_refused(verify(SECRET, MSG_ID, TS_TEXT, sig, BODY, TS), "webhook-signature");
		sig[i] = c;
	}
	/* The body is bytes, not a string: one trailing byte more is another body. */
	assert_refused(billing_webhook_verify(SECRET, MSG_ID, TS_TEXT, SIG, BODY "\0",
		strlen(BODY) + 1, TS, 300), "webhook-signature");
}

static void signature_lists(void **state)
{
	(void)state;
	/* During a rotation a delivery carries one signature per secret. */
	assert_int_equal(verify(SECRET, MSG_ID, TS_TEXT,
		"v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= " SIG, BODY, TS), BILLING_OK);
	assert_int_equal(verify(SECRET, MSG_ID, TS_TEXT, SIG " v1,xyz", BODY, TS), BILLING_OK);
	assert_int_equal(verify(SECRET, MSG_ID, TS_TEXT, "  " SIG "  ", BODY, TS), BILLING_OK);
	/* Other versions are not v1, even with the right bytes. */
	assert_refused(verify(SECRET, MSG_ID, TS_TEXT,
		"v1a,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", BODY, TS), "webhook-signature");
	assert_refused(verify(SECRET, MSG_ID, TS_TEXT,
		"v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", BODY, TS), "webhook-signature");
	assert_refused(verify(SECRET, MSG_ID, TS_TEXT, SIG "x", BODY, TS), "webhook-signature");
	assert_refused(verify(SECRET, MSG_ID, TS_TEXT, "", BODY, TS), "webhook-signature");
	assert_refused(billing_webhook_verify(SECRET, MSG_ID, TS_TEXT, NULL, BODY, strlen(BODY),
		TS, 300), "webhook-signature");
}

static void malformed_input(void **state)
{
	char out[BILLING_WEBHOOK_SIGNATURE_SIZE], small[BILLING_WEBHOOK_SIGNATURE_SIZE - 1];
	char long_id[300];
	(void)state;

	memset(long_id, 'm', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	assert_refused(billing_webhook_sign(small, sizeof(small), SECRET, MSG_ID, TS, BODY,
		strlen(BODY)), "size");
	assert_refused(billing_webhook_sign(out, sizeof(out), "whsec_", MSG_ID, TS, BODY,
		strlen(BODY)), "secret");
	assert_string_equal(out, "");
	assert_refused(billing_webhook_sign(out, sizeof(out), NULL, MSG_ID, TS, BODY,
		strlen(BODY)), "secret");
	/* 18 bytes is under the specification's 24. */
	assert_refused(billing_webhook_sign(out, sizeof(out), "whsec_AAAAAAAAAAAAAAAAAAAAAAAA",
		MSG_ID, TS, BODY, strlen(BODY)), "secret");
	/* Not base64: a character outside the alphabet, padding inside. */
	assert_refused(billing_webhook_sign(out, sizeof(out),
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS!", MSG_ID, TS, BODY, strlen(BODY)), "secret");
	assert_refused(billing_webhook_sign(out, sizeof(out),
		"whsec_MfKQ9r8GKYqrTwjU=D8ILPZIo2LaLaSw", MSG_ID, TS, BODY, strlen(BODY)), "secret");
	assert_refused(billing_webhook_sign(out, sizeof(out),
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS", MSG_ID, TS, BODY, strlen(BODY)), "secret");
	assert_refused(billing_webhook_sign(out, sizeof(out), SECRET, "", TS, BODY,
		strlen(BODY)), "msgId");
	assert_refused(billing_webhook_sign(out, sizeof(out), SECRET, long_id, TS, BODY,
		strlen(BODY)), "msgId");
	assert_refused(billing_webhook_sign(out, sizeof(out), SECRET, MSG_ID, -1, BODY,
		strlen(BODY)), "timestamp");
	assert_refused(billing_webhook_sign(out, sizeof(out), SECRET, MSG_ID, TS, NULL, 1),
		"body");
	/* An empty body is a body. */
	assert_int_equal(billing_webhook_sign(out, sizeof(out), SECRET, MSG_ID, TS, NULL, 0),
		BILLING_OK);
	assert_int_equal(billing_webhook_verify(SECRET, MSG_ID, TS_TEXT, out, "", 0, TS, 300),
		BILLING_OK);

	assert_refused(verify(SECRET, MSG_ID, "+1614265330", SIG, BODY, TS), "webhook-timestamp");
	assert_refused(verify(SECRET, MSG_ID, "1614265330 ", SIG, BODY, TS), "webhook-timestamp");
	assert_refused(verify(SECRET, MSG_ID, "", SIG, BODY, TS), "webhook-timestamp");
	assert_refused(verify(SECRET, MSG_ID, "9999999999999999999", SIG, BODY, TS),
		"webhook-timestamp");
	assert_refused(billing_webhook_verify(SECRET, MSG_ID, NULL, SIG, BODY, strlen(BODY), TS,
		300), "webhook-timestamp");
	assert_refused(verify(SECRET, "", TS_TEXT, SIG, BODY, TS), "webhook-id");
	assert_refused(verify("whsec_!!!!", MSG_ID, TS_TEXT, SIG, BODY, TS), "secret");
}

/* What deliveries are signed with: secrets the library makes (whsec_ and
 * 32 random bytes) sign and verify, at any time and for any body. */
static void round_trip(void **state)
{
	char out[BILLING_WEBHOOK_SIGNATURE_SIZE], ts[24], body[256];
	const char *secret = "whsec_3q2+7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
	size_t n;
	(void)state;

	for (n = 0; n < sizeof(body); n++) {
		int64_t t = (int64_t)n * 7919 * 86400;
		body[n] = (char)(n * 31);
		snprintf(ts, sizeof(ts), "%lld", (long long)t);
		assert_int_equal(billing_webhook_sign(out, sizeof(out), secret, "evt_x", t, body,
			n), BILLING_OK);
		assert_int_equal(strlen(out), BILLING_WEBHOOK_SIGNATURE_SIZE - 1);
		assert_int_equal(billing_webhook_verify(secret, "evt_x", ts, out, body, n, t, 300),
			BILLING_OK);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(published_vector),
		cmocka_unit_test(replay_window),
		cmocka_unit_test(every_alteration_is_refused),
		cmocka_unit_test(signature_lists),
		cmocka_unit_test(malformed_input),
		cmocka_unit_test(round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

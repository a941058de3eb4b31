/*
 * Unit tests for customer.c: every validation rule (exact code and field),
 * normalization (trimming, case of e-mail kept), uniqueness of e-mail
 * ignoring case, partial updates with versions, and hard delete. Each
 * refused call is followed by proof that nothing changed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tb.h"

/* ------------------------------------------------------------ helpers */

typedef tb_fx fx;   /* a world with tenant "Acme" and its ADMIN (tb.h) */

static int64_t customer_count(fx *f)
{
	billing_list_params lp = BILLING_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	int64_t total;
	lp.page = 1;
	tb_assert_rc(billing_customer_list(&page, f->w->ctx, &f->admin, &lp), BILLING_OK);
	total = billing_page_total(page);
	billing_page_free(page);
	return total;
}

/* Tries to create with p; expects EINVALID naming field and no new row. */
static void create_refused(fx *f, const billing_customer_params *p, int want, const char *field)
{
	billing_customer *c = NULL;
	int64_t before = customer_count(f);
	tb_assert_rc(billing_customer_create(&c, f->w->ctx, &f->admin, p, NULL), want);
	if (field)
		tb_assert_field(field);
	assert_null(c);
	assert_int_equal(customer_count(f), before);
}

static billing_customer_params valid_params(void)
{
	billing_customer_params p = BILLING_CUSTOMER_PARAMS_INIT;
	p.name = "Ada Lovelace";
	p.email = "ada@example.com";
	return p;
}

/* n copies of the UTF-8 text unit, in a new string. */
static char *repeat(const char *unit, size_t n)
{
	size_t ul = strlen(unit), i;
	char *s = malloc(ul * n + 1);
	assert_non_null(s);
	for (i = 0; i < n; i++)
		memcpy(s + i * ul, unit, ul);
	s[ul * n] = '\0';
	return s;
}

/* A syntactically valid address of exactly n characters (n in 70..190+). */
static char *email_of_length(size_t n)
{
	/* 60 'a' + '@' + 63 'b' + '.' + k 'c' + ".com" */
	size_t k = n - 60 - 1 - 63 - 1 - 4;
	char *s = malloc(n + 1), *p = s;
	assert_non_null(s);
	assert_true(k >= 1 && k <= 63);
	memset(p, 'a', 60); p += 60;
	*p++ = '@';
	memset(p, 'b', 63); p += 63;
	*p++ = '.';
	memset(p, 'c', k); p += k;
	memcpy(p, ".com", 5);
	assert_int_equal(strlen(s), n);
	return s;
}

/* Asserts the stored customer still has this name, email and version. */
static void assert_customer_is(fx *f, const char *id, const char *name, const char *email,
	int64_t version)
{
	billing_customer *c = NULL;
	tb_assert_rc(billing_customer_get(&c, f->w->ctx, &f->admin, id), BILLING_OK);
	assert_string_equal(billing_customer_name(c), name);
	assert_string_equal(billing_customer_email(c), email);
	assert_int_equal(billing_customer_version(c), version);
	billing_customer_free(c);
}

/* ------------------------------------------------------------ arguments */

static void customer_create__rejects_null_arguments(void **state)
{
	fx *f = *state;
	billing_customer_params p = valid_params();
	billing_customer *c = NULL;

	tb_assert_rc(billing_customer_create(NULL, f->w->ctx, &f->admin, &p, NULL), BILLING_EINVALID);
	tb_assert_field("out");
	tb_assert_rc(billing_customer_create(&c, NULL, &f->admin, &p, NULL), BILLING_EINVALID);
	tb_assert_field("ctx");
	tb_assert_rc(billing_customer_create(&c, f->w->ctx, NULL, &p, NULL), BILLING_EINVALID);
	tb_assert_field("principal");
	tb_assert_rc(billing_customer_create(&c, f->w->ctx, &f->admin, NULL, NULL), BILLING_EINVALID);
	tb_assert_field("params");
	assert_null(c);
	assert_int_equal(customer_count(f), 0);
}

static void customer_create__rejects_params_version_0(void **state)
{
	fx *f = *state;
	billing_customer_params p = valid_params();
	p.version = 0;
	create_refused(f, &p, BILLING_EINVALID, "version");
	p.version = BILLING_CUSTOMER_PARAMS_VERSION + 1;
	create_refused(f, &p, BILLING_EINVALID, "version");
}

static void customer_create__forbidden_for_user_role(void **state)
{
	fx *f = *state;
	billing_customer_params p = valid_params();
	billing_principal user = tb_user(f->tenant);
	billing_customer *c = NULL;
	tb_assert_rc(billing_customer_create(&c, f->w->ctx, &user, &p, NULL), BILLING_EFORBIDDEN);
	assert_null(c);
	assert_int_equal(customer_count(f), 0);
}

/* ------------------------------------------------------------ name */

static void customer_create__rejects_blank_name(void **state)
{
	fx *f = *state;
	billing_customer_params p = valid_params();
	p.name = NULL;
	create_refused(f, &p, BILLING_EINVALID, "name");
	p.name = "";
	create_refused(f, &p, BILLING_EINVALID, "name");
	p.name = "   \t  ";
	create_refused(f, &p, BILLING_EINVALID, "name");
	p.name = "\xc2\xa0\xc2\xa0"; /* no-break spaces only */
	create_refused(f, &p, BILLING_EINVALID, "name");
}

static void customer_create__counts_name_length_in_characters(void **state)
{
	fx *f = *state;
	billing_customer_params p = valid_params();
	billing_customer *c = NULL;
	char *ok = repeat("\xc3\xa9", 120), *bad = repeat("\xc3\xa9", 121);

	p.name = bad;
	create_refused(f, &p, BILLING_EINVALID, "name");
	p.name = ok; /* 240 bytes, 120 characters */
	tb_assert_rc(billing_customer_create(&c, f->w->ctx, &f->admin, &p, NULL), BILLING_OK);
	assert_string_equal(billing_customer_name(c), ok);
	billing_customer_free(c);
	free(ok);
	free(bad);
}

static void customer_create__rejects_invalid_utf8_name(void **state)
{
	fx *f = *state;
	billing_customer_params p = valid_params();
	p.name = "Ada \xff";
	create_refused(f, &p, BILLING_EINVALID, "name");
	p.name = "Ada \xc0\xaf"; /* overlong '/' */
	create_refused(f, &p, BILLING_EINVALID, "name");
	p.name = "Ada \xed\xa0\x80"; /* surrogate */
	create_refused(f, &p, BILLING_EINVALID, "name");
}

static void customer_create__rejects_control_characters_in_name(void **state)
{
	fx *f = *state;
	billing_customer_params p = valid_params();
	p.name = "Ada\tLovelace";
	create_refused(f, &p, BILLING_EINVALID, "name");
	p.name = "Ada\xc2\x85Lovelace"; /* U+0085 NEXT LINE, a C1 control */
	create_refused(f, &p, BILLING_EINVALID, "name");
	p.name = "Ada\x7f";
	create_refused(f, &p, BILLING_EINVALID, "name");
	p.name = "Ada\nLovelace";
	create_refused(f, &p, BILLING_EINVALID, "name");
}

static void customer_create__stores_trimmed_name(void **state)
{
	fx *f = *state;
	billing_customer_params p = valid_params();
	billing_customer *c = NULL, *got = NULL;
	p.name = "  Ada  ";
	tb_assert_rc(billing_customer_create(&c, f->w->ctx, &f->admin, &p, NULL), BILLING_OK);
	assert_string_equal(billing_customer_name(c), "Ada");
	tb_assert_rc(billing_customer_get(&got, f->w->ctx, &f->admin, billing_customer_id(c)),
		BILLING_OK);
	assert_string_equal(billing_customer_name(got), "Ada");
	billing_customer_free(c);
	billing_customer_free(got);
}

/* ------------------------------------------------------------ email */

static void customer_create__rejects_invalid_email(void **state)
{
	fx *f = *state;
	billing_customer_params p = valid_params();
	const char *bad[] = { NULL, "", "   ", "ada", "ada@", "@example.com", "ada@example",
		"ada..x@example.com", "ada @example.com", "ad\xc3\xa9@example.com" };
	size_t i;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p.email = bad[i];
		create_refused(f, &p, BILLING_EINVALID, "email");
	}
}

static void customer_create__rejects_email_over_190_characters(void **state)
{
	fx *f = *state;
	billing_customer_params p = valid_params();
	billing_customer *c = NULL;
	char *e190 = email_of_length(190), *e191 = email_of_length(191);

	p.email = e191;
	create_refused(f, &p, BILLING_EINVALID, "email");
	p.email = e190;
	tb_assert_rc(billing_customer_create(&c, f->w->ctx, &f->admin, &p, NULL), BILLING_OK);
	assert_string_equal(billing_customer_email(c), e190);
	billing_customer_free(c);
	free(e190);
	free(e191);
}

static void customer_create__rejects_email_taken_ignoring_case(void **state)
{
	fx *f = *state;
	billing_customer_params p = valid_params();
	billing_customer *first = NULL;

	p.email = "Ada@Example.com";
	tb_assert_rc(billing_customer_create(&first, f->w->ctx, &f->admin, &p, NULL), BILLING_OK);
	p.name = "Someone Else";
	p.email = "ada@example.com";
	create_refused(f, &p, BILLING_EEXISTS, "email");
	p.email = "ADA@EXAMPLE.COM";
	create_refused(f, &p, BILLING_EEXISTS, "email");
	assert_int_equal(customer_count(f), 1);
	/* the first keeps its case */
	assert_customer_is(f, billing_customer_id(first), "Ada Lovelace", "Ada@Example.com", 1);
	billing_customer_free(first);
}

static void customer_create__same_email_allowed_in_another_tenant(void **state)
{
	fx *f = *state;
	const char *other = tb_tenant(f->w, "Other");
	billing_customer *a = tb_customer(f->w, f->tenant, &(tb_customer_spec){ .email = "x@example.com" });
	billing_customer *b = tb_customer(f->w, other, &(tb_customer_spec){ .email = "X@example.com" });
	assert_string_not_equal(billing_customer_id(a), billing_customer_id(b));
	billing_customer_free(a);
	billing_customer_free(b);
}

static void customer_create__preserves_email_case(void **state)
{
	fx *f = *state;
	billing_customer *c = tb_customer(f->w, f->tenant,
		&(tb_customer_spec){ .email = "Grace.Hopper@Navy.MIL" });
	assert_customer_is(f, billing_customer_id(c), billing_customer_name(c),
		"Grace.Hopper@Navy.MIL", 1);
	billing_customer_free(c);
}

static void customer_update__rejects_email_of_another_customer_ignoring_case(void **state)
{
	fx *f = *state;
	billing_customer *a = tb_customer(f->w, f->tenant, &(tb_customer_spec){ .email = "a@example.com" });
	billing_customer *b = tb_customer(f->w, f->tenant, &(tb_customer_spec){ .email = "b@example.com" });
	billing_customer_params p = BILLING_CUSTOMER_PARAMS_INIT;
	billing_customer *res = NULL;

	p.fields = BILLING_CUSTOMER_EMAIL;
	p.email = "A@EXAMPLE.com";
	tb_assert_rc(billing_customer_update(&res, f->w->ctx, &f->admin, billing_customer_id(b), &p,
		NULL), BILLING_EEXISTS);
	tb_assert_field("email");
	assert_null(res);
	assert_customer_is(f, billing_customer_id(b), billing_customer_name(b), "b@example.com", 1);
	/* changing the case of one's own address is allowed and kept */
	tb_assert_rc(billing_customer_update(&res, f->w->ctx, &f->admin, billing_customer_id(a), &p,
		NULL), BILLING_OK);
	assert_string_equal(billing_customer_email(res), "A@EXAMPLE.com");
	billing_customer_free(res);
	billing_customer_free(a);
	billing_customer_free(b);
}

/* ------------------------------------------------------------ payment method */

static void customer_create__rejects_bad_default_payment_method(void **state)
{
	fx *f = *state;
	billing_customer_params p = valid_params();
	char *long_pm = repeat("x", 256);
	p.default_payment_method = "";
	create_refused(f, &p, BILLING_EINVALID, "defaultPaymentMethod");
	p.default_payment_method = "pm card";
	create_refused(f, &p, BILLING_EINVALID, "defaultPaymentMethod");
	p.default_payment_method = long_pm;
	create_refused(f, &p, BILLING_EINVALID, "defaultPaymentMethod");
	free(long_pm);
}

/* ------------------------------------------------------------ metadata */

static void metadata_refused(fx *f, const billing_metadata_entry *md, size_t n)
{
	billing_customer_params p = valid_params();
	p.metadata = md;
	p.metadata_count = n;
	create_refused(f, &p, BILLING_EINVALID, "metadata");
}

static void metadata_accepted(fx *f, const billing_metadata_entry *md, size_t n)
{
	billing_customer_params p = valid_params();
	billing_customer *c = NULL;
	char email[64];
	snprintf(email, sizeof(email), "md%zu.%u@example.com", n, ++f->w->seq);
	p.email = email;
	p.metadata = md;
	p.metadata_count = n;
	tb_assert_rc(billing_customer_create(&c, f->w->ctx, &f->admin, &p, NULL), BILLING_OK);
	assert_int_equal(billing_customer_metadata_count(c), n);
	billing_customer_free(c);
}

static void customer_create__enforces_metadata_key_count(void **state)
{
	fx *f = *state;
	billing_metadata_entry md[51];
	char keys[51][8];
	size_t i;
	for (i = 0; i < 51; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%02zu", i);
		md[i].key = keys[i];
		md[i].value = "v";
	}
	metadata_refused(f, md, 51);
	metadata_accepted(f, md, 50);
}

static void customer_create__enforces_metadata_key_and_value_length(void **state)
{
	fx *f = *state;
	char *k40 = repeat("k", 40), *k41 = repeat("k", 41);
	char *v500 = repeat("\xc3\xa9", 500), *v501 = repeat("v", 501);
	billing_metadata_entry md;

	md.key = k41; md.value = "v";
	metadata_refused(f, &md, 1);
	md.key = ""; md.value = "v";
	metadata_refused(f, &md, 1);
	md.key = "k"; md.value = v501;
	metadata_refused(f, &md, 1);
	md.key = "k"; md.value = NULL;
	metadata_refused(f, &md, 1);
	md.key = k40; md.value = v500; /* 500 characters, 1000 bytes */
	metadata_accepted(f, &md, 1);
	md.key = "k"; md.value = "";
	metadata_accepted(f, &md, 1);
	free(k40); free(k41); free(v500); free(v501);
}

static void customer_create__rejects_duplicate_metadata_key(void **state)
{
	fx *f = *state;
	billing_metadata_entry md[3] = { { "a", "1" }, { "b", "2" }, { "a", "3" } };
	metadata_refused(f, md, 3);
}

static void customer_create__rejects_control_characters_in_metadata(void **state)
{
	fx *f = *state;
	billing_metadata_entry md;
	md.key = "note"; md.value = "line1\nline2";
	metadata_refused(f, &md, 1);
	md.key = "no\tte"; md.value = "x";
	metadata_refused(f, &md, 1);
	md.key = "note"; md.value = "\xc2\x9f";
	metadata_refused(f, &md, 1);
	md.key = "note"; md.value = "\xff";
	metadata_refused(f, &md, 1);
}

static void customer_create__returns_metadata_sorted_by_key(void **state)
{
	fx *f = *state;
	billing_metadata_entry md[3] = { { "zeta", "3" }, { "alpha", "1" }, { "mid", "2" } };
	billing_customer_params p = valid_params();
	billing_customer *c = NULL, *got = NULL;
	p.metadata = md;
	p.metadata_count = 3;
	tb_assert_rc(billing_customer_create(&c, f->w->ctx, &f->admin, &p, NULL), BILLING_OK);
	tb_assert_rc(billing_customer_get(&got, f->w->ctx, &f->admin, billing_customer_id(c)),
		BILLING_OK);
	assert_int_equal(billing_customer_metadata_count(got), 3);
	assert_string_equal(billing_customer_metadata_at(got, 0)->key, "alpha");
	assert_string_equal(billing_customer_metadata_at(got, 2)->key, "zeta");
	assert_string_equal(billing_customer_metadata_get(got, "mid"), "2");
	assert_null(billing_customer_metadata_get(got, "nope"));
	billing_customer_free(c);
	billing_customer_free(got);
}

/* ------------------------------------------------------------ get */

static void customer_get__not_found_for_unknown_malformed_or_foreign_id(void **state)
{
	fx *f = *state;
	const char *other = tb_tenant(f->w, "Other");
	billing_customer *theirs = tb_customer(f->w, other, NULL);
	billing_customer *c = NULL;

	tb_assert_rc(billing_customer_get(&c, f->w->ctx, &f->admin, billing_customer_id(theirs)),
		BILLING_ENOTFOUND);
	tb_assert_rc(billing_customer_get(&c, f->w->ctx, &f->admin, "cus_nope"), BILLING_ENOTFOUND);
	tb_assert_rc(billing_customer_get(&c, f->w->ctx, &f->admin, NULL), BILLING_ENOTFOUND);
	tb_assert_rc(billing_customer_get(&c, f->w->ctx, &f->admin, "prod_x"), BILLING_ENOTFOUND);
	assert_null(c);
	billing_customer_free(theirs);
}

/* ------------------------------------------------------------ update */

static void customer_update__changes_only_fields_given_and_bumps_version(void **state)
{
	fx *f = *state;
	billing_metadata_entry md[1] = { { "plan", "gold" } };
	billing_customer_params p = valid_params();
	billing_customer *c = NULL, *res = NULL, *got = NULL;
	p.default_payment_method = "pm_card_visa";
	p.metadata = md;
	p.metadata_count = 1;
	tb_assert_rc(billing_customer_create(&c, f->w->ctx, &f->admin, &p, NULL), BILLING_OK);
	f->w->now += 60;

	memset(&p, 0, sizeof(p));
	p.version = BILLING_CUSTOMER_PARAMS_VERSION;
	p.fields = BILLING_CUSTOMER_NAME;
	p.name = "Countess Ada";
	p.email = "ignored@example.com";       /* bit not set: must not apply */
	p.default_payment_method = NULL;        /* bit not set: must not clear */
	tb_assert_rc(billing_customer_update(&res, f->w->ctx, &f->admin, billing_customer_id(c), &p,
		NULL), BILLING_OK);
	assert_string_equal(billing_customer_name(res), "Countess Ada");
	assert_int_equal(billing_customer_version(res), 2);
	assert_int_equal(billing_customer_updated_at(res), f->w->now);

	tb_assert_rc(billing_customer_get(&got, f->w->ctx, &f->admin, billing_customer_id(c)),
		BILLING_OK);
	assert_string_equal(billing_customer_name(got), "Countess Ada");
	assert_string_equal(billing_customer_email(got), "ada@example.com");
	assert_string_equal(billing_customer_default_payment_method(got), "pm_card_visa");
	assert_string_equal(billing_customer_metadata_get(got, "plan"), "gold");
	assert_int_equal(billing_customer_version(got), 2);
	assert_int_equal(billing_customer_created_at(got), billing_customer_created_at(c));
	assert_int_equal(billing_customer_updated_at(got), f->w->now);
	billing_customer_free(c);
	billing_customer_free(res);
	billing_customer_free(got);
}

static void customer_update__bit_with_null_clears_optional_field(void **state)
{
	fx *f = *state;
	billing_metadata_entry md[1] = { { "plan", "gold" } };
	billing_customer_params p = valid_params();
	billing_customer *c = NULL, *res = NULL;
	p.default_payment_method = "pm_card_visa";
	p.metadata = md;
	p.metadata_count = 1;
	tb_assert_rc(billing_customer_create(&c, f->w->ctx, &f->admin, &p, NULL), BILLING_OK);
	memset(&p, 0, sizeof(p));
	p.version = BILLING_CUSTOMER_PARAMS_VERSION;
	p.fields = BILLING_CUSTOMER_DEFAULT_PAYMENT_METHOD | BILLING_CUSTOMER_METADATA;
	tb_assert_rc(billing_customer_update(&res, f->w->ctx, &f->admin, billing_customer_id(c), &p,
		NULL), BILLING_OK);
	assert_null(billing_customer_default_payment_method(res));
	assert_int_equal(billing_customer_metadata_count(res), 0);
	assert_string_equal(billing_customer_name(res), "Ada Lovelace");
	billing_customer_free(c);
	billing_customer_free(res);
}

static void customer_update__rejects_invalid_values_and_changes_nothing(void **state)
{
	fx *f = *state;
	billing_customer *c = tb_customer(f->w, f->tenant,
		&(tb_customer_spec){ .name = "Ada", .email = "ada@example.com" });
	billing_customer_params p = BILLING_CUSTOMER_PARAMS_INIT;
	billing_customer *res = NULL;
	const char *id = billing_customer_id(c);

	p.fields = BILLING_CUSTOMER_NAME;
	p.name = "   ";
	tb_assert_rc(billing_customer_update(&res, f->w->ctx, &f->admin, id, &p, NULL),
		BILLING_EINVALID);
	tb_assert_field("name");
	p.fields = BILLING_CUSTOMER_NAME; /* bit set, NULL value: required */
	p.name = NULL;
	tb_assert_rc(billing_customer_update(&res, f->w->ctx, &f->admin, id, &p, NULL),
		BILLING_EINVALID);
	tb_assert_field("name");
	p.fields = BILLING_CUSTOMER_EMAIL;
	p.email = "not-an-address";
	tb_assert_rc(billing_customer_update(&res, f->w->ctx, &f->admin, id, &p, NULL),
		BILLING_EINVALID);
	tb_assert_field("email");
	assert_null(res);
	assert_customer_is(f, id, "Ada", "ada@example.com", 1);
	billing_customer_free(c);
}

static void customer_update__rejects_no_fields(void **state)
{
	fx *f = *state;
	billing_customer *c = tb_customer(f->w, f->tenant, &(tb_customer_spec){ .name = "Ada" });
	billing_customer_params p = BILLING_CUSTOMER_PARAMS_INIT;
	billing_customer *res = NULL;
	p.name = "Other";
	tb_assert_rc(billing_customer_update(&res, f->w->ctx, &f->admin, billing_customer_id(c), &p,
		NULL), BILLING_EINVALID);
	tb_assert_field("fields");
	p.fields = 1u << 20; /* unknown bit */
	tb_assert_rc(billing_customer_update(&res, f->w->ctx, &f->admin, billing_customer_id(c), &p,
		NULL), BILLING_EINVALID);
	tb_assert_field("fields");
	assert_null(res);
	assert_customer_is(f, billing_customer_id(c), "Ada", billing_customer_email(c), 1);
	billing_customer_free(c);
}

static void customer_update__stale_expected_version_changes_nothing(void **state)
{
	fx *f = *state;
	billing_customer *c = tb_customer(f->w, f->tenant, &(tb_customer_spec){ .name = "Ada" });
	billing_customer_params p = BILLING_CUSTOMER_PARAMS_INIT;
	billing_customer *res = NULL;
	const char *id = billing_customer_id(c);

	p.fields = BILLING_CUSTOMER_NAME;
	p.name = "Second";
	p.expected_version = 1;
	tb_assert_rc(billing_customer_update(&res, f->w->ctx, &f->admin, id, &p, NULL), BILLING_OK);
	assert_int_equal(billing_customer_version(res), 2);
	billing_customer_free(res);
	res = NULL;

	p.name = "Third";
	p.expected_version = 1; /* stale now */
	tb_assert_rc(billing_customer_update(&res, f->w->ctx, &f->admin, id, &p, NULL),
		BILLING_ESTALE);
	assert_string_equal(billing_error_last()->reason, "stale_version");
	assert_null(res);
	assert_customer_is(f, id, "Second", billing_customer_email(c), 2);

	p.expected_version = 2;
	tb_assert_rc(billing_customer_update(&res, f->w->ctx, &f->admin, id, &p, NULL), BILLING_OK);
	assert_int_equal(billing_customer_version(res), 3);
	billing_customer_free(res);
	billing_customer_free(c);
}

static void customer_update__not_found_for_unknown_id(void **state)
{
	fx *f = *state;
	billing_customer_params p = BILLING_CUSTOMER_PARAMS_INIT;
	billing_customer *res = NULL, *c = tb_customer(f->w, tb_tenant(f->w, "Other"), NULL);
	p.fields = BILLING_CUSTOMER_NAME;
	p.name = "X";
	tb_assert_rc(billing_customer_update(&res, f->w->ctx, &f->admin, "cus_nope", &p, NULL),
		BILLING_ENOTFOUND);
	tb_assert_rc(billing_customer_update(&res, f->w->ctx, &f->admin, billing_customer_id(c), &p,
		NULL), BILLING_ENOTFOUND);
	assert_null(res);
	billing_customer_free(c);
}

/* ------------------------------------------------------------ delete */

static void customer_delete__removes_the_customer(void **state)
{
	fx *f = *state;
	billing_customer *c = tb_customer(f->w, f->tenant, NULL), *got = NULL;
	billing_customer *keep = tb_customer(f->w, f->tenant, NULL);
	const char *id = billing_customer_id(c);

	assert_int_equal(customer_count(f), 2);
	tb_assert_rc(billing_customer_delete(f->w->ctx, &f->admin, id, 0), BILLING_OK);
	tb_assert_rc(billing_customer_get(&got, f->w->ctx, &f->admin, id), BILLING_ENOTFOUND);
	assert_null(got);
	assert_int_equal(customer_count(f), 1);
	tb_assert_rc(billing_customer_delete(f->w->ctx, &f->admin, id, 0), BILLING_ENOTFOUND);
	/* the e-mail is free again */
	got = tb_customer(f->w, f->tenant, &(tb_customer_spec){ .email = billing_customer_email(c) });
	billing_customer_free(got);
	billing_customer_free(c);
	billing_customer_free(keep);
}

static void customer_delete__stale_version_keeps_the_customer(void **state)
{
	fx *f = *state;
	billing_customer *c = tb_customer(f->w, f->tenant, &(tb_customer_spec){ .name = "Ada" });
	billing_principal user = tb_user(f->tenant);
	tb_assert_rc(billing_customer_delete(f->w->ctx, &f->admin, billing_customer_id(c), 7),
		BILLING_ESTALE);
	tb_assert_rc(billing_customer_delete(f->w->ctx, &user, billing_customer_id(c), 0),
		BILLING_EFORBIDDEN);
	tb_assert_rc(billing_customer_delete(f->w->ctx, &f->admin, billing_customer_id(c), -1),
		BILLING_EINVALID);
	tb_assert_field("expectedVersion");
	assert_customer_is(f, billing_customer_id(c), "Ada", billing_customer_email(c), 1);
	tb_assert_rc(billing_customer_delete(f->w->ctx, &f->admin, billing_customer_id(c), 1),
		BILLING_OK);
	billing_customer_free(c);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, tb_fx_setup, tb_fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(customer_create__rejects_null_arguments),
		T(customer_create__rejects_params_version_0),
		T(customer_create__forbidden_for_user_role),
		T(customer_create__rejects_blank_name),
		T(customer_create__counts_name_length_in_characters),
		T(customer_create__rejects_invalid_utf8_name),
		T(customer_create__rejects_control_characters_in_name),
		T(customer_create__stores_trimmed_name),
		T(customer_create__rejects_invalid_email),
		T(customer_create__rejects_email_over_190_characters),
		T(customer_create__rejects_email_taken_ignoring_case),
		T(customer_create__same_email_allowed_in_another_tenant),
		T(customer_create__preserves_email_case),
		T(customer_update__rejects_email_of_another_customer_ignoring_case),
		T(customer_create__rejects_bad_default_payment_method),
		T(customer_create__enforces_metadata_key_count),
		T(customer_create__enforces_metadata_key_and_value_length),
		T(customer_create__rejects_duplicate_metadata_key),
		T(customer_create__rejects_control_characters_in_metadata),
		T(customer_create__returns_metadata_sorted_by_key),
		T(customer_get__not_found_for_unknown_malformed_or_foreign_id),
		T(customer_update__changes_only_fields_given_and_bumps_version),
		T(customer_update__bit_with_null_clears_optional_field),
		T(customer_update__rejects_invalid_values_and_changes_nothing),
		T(customer_update__rejects_no_fields),
		T(customer_update__stale_expected_version_changes_nothing),
		T(customer_update__not_found_for_unknown_id),
		T(customer_delete__removes_the_customer),
		T(customer_delete__stale_version_keeps_the_customer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

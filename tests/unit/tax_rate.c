/*
 * Unit tests for tax_rate.c, the first object on the generic flow
 * (resource.c): every rule (exact code and field, nothing changed after a
 * refusal), normalization, partial updates with versions, fixed fields,
 * tenant isolation, list filters / sorts / search / pages, idempotent
 * calls, events and audit rows, and roles. Both backends.
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

typedef tb_fx fx;

/* ------------------------------------------------------------ helpers */

static billing_tax_rate_params vat(void)
{
	billing_tax_rate_params p = BILLING_TAX_RATE_PARAMS_INIT;
	p.display_name = "VAT";
	p.percentage = 190000;                /* 19 % */
	p.inclusive = BILLING_FALSE;
	p.country = "DE";
	return p;
}

static billing_tax_rate *create_ok(fx *f, const billing_tax_rate_params *p)
{
	billing_tax_rate *t = NULL;
	tb_assert_rc(billing_tax_rate_create(&t, f->w->ctx, &f->admin, p, NULL), BILLING_OK);
	assert_non_null(t);
	return t;
}

static int64_t count_in(tb_world *w, const char *tenant)
{
	billing_tax_rate_list_params lp = BILLING_TAX_RATE_LIST_PARAMS_INIT;
	billing_principal who = tb_user(tenant);
	billing_page *page = NULL;
	int64_t total;
	lp.list.page = 1;
	tb_assert_rc(billing_tax_rate_list(&page, w->ctx, &who, &lp), BILLING_OK);
	total = billing_page_total(page);
	billing_page_free(page);
	return total;
}

static void create_refused(fx *f, const billing_tax_rate_params *p, int want, const char *field)
{
	billing_tax_rate *t = NULL;
	int64_t before = count_in(f->w, f->tenant);
	tb_assert_rc(billing_tax_rate_create(&t, f->w->ctx, &f->admin, p, NULL), want);
	if (field)
		tb_assert_field(field);
	assert_null(t);
	assert_int_equal(count_in(f->w, f->tenant), before);
}

/* The tax rate id names, read back. */
static billing_tax_rate *reread(fx *f, const char *id)
{
	billing_tax_rate *t = NULL;
	tb_assert_rc(billing_tax_rate_get(&t, f->w->ctx, &f->admin, id), BILLING_OK);
	return t;
}

static size_t events_of(tb_world *w, const char *tenant, const char *type, char *data,
	size_t size)
{
	billing_event_list_params p = BILLING_EVENT_LIST_PARAMS_INIT;
	billing_principal who = tb_user(tenant);
	billing_page *page = NULL;
	size_t n;
	p.type = type;
	p.list.limit = 100;
	tb_assert_rc(billing_event_list(&page, w->ctx, &who, &p), BILLING_OK);
	n = billing_page_count(page);
	if (n && data)
		snprintf(data, size, "%s", billing_event_data_json(billing_page_event(page, n - 1)));
	billing_page_free(page);
	return n;
}

/* ------------------------------------------------------------ create */

static void create__stores_every_field_normalized(void **state)
{
	fx *f = *state;
	billing_metadata_entry md[] = { { "k", "v" } };
	billing_tax_rate_params p = vat();
	billing_tax_rate *t, *again;

	p.display_name = "  VAT  ";
	p.description = "Germany, standard rate";
	p.country = "de";
	p.region = " BY ";
	p.percentage = 72500;
	p.inclusive = BILLING_TRUE;
	p.metadata = md;
	p.metadata_count = 1;
	t = create_ok(f, &p);
	assert_int_equal(strncmp(billing_tax_rate_id(t), "txr_", 4), 0);
	assert_string_equal(billing_tax_rate_tenant_id(t), f->tenant);
	assert_string_equal(billing_tax_rate_display_name(t), "VAT");
	assert_string_equal(billing_tax_rate_description(t), "Germany, standard rate");
	assert_string_equal(billing_tax_rate_country(t), "DE");
	assert_string_equal(billing_tax_rate_region(t), "BY");
	assert_int_equal(billing_tax_rate_percentage(t), 72500);
	assert_int_equal(billing_tax_rate_inclusive(t), 1);
	assert_int_equal(billing_tax_rate_active(t), 1);          /* the default */
	assert_string_equal(billing_tax_rate_metadata_json(t), "{\"k\":\"v\"}");
	assert_int_equal(billing_tax_rate_version(t), 1);
	assert_int_equal(billing_tax_rate_created_at(t), f->w->now);
	assert_int_equal(billing_tax_rate_updated_at(t), f->w->now);

	again = reread(f, billing_tax_rate_id(t));
	assert_string_equal(billing_tax_rate_display_name(again), "VAT");
	assert_string_equal(billing_tax_rate_region(again), "BY");
	assert_int_equal(billing_tax_rate_percentage(again), 72500);
	assert_int_equal(billing_tax_rate_inclusive(again), 1);
	assert_string_equal(billing_tax_rate_metadata_json(again), "{\"k\":\"v\"}");
	billing_tax_rate_free(again);
	billing_tax_rate_free(t);
}

static void create__optional_fields_absent_and_bounds_accepted(void **state)
{
	fx *f = *state;
	billing_tax_rate_params p = BILLING_TAX_RATE_PARAMS_INIT;
	char name[51];
	billing_tax_rate *t;

	memset(name, 'n', 50);
	name[50] = '\0';
	p.display_name = name;
	p.percentage = 0;
	p.inclusive = BILLING_FALSE;
	p.active = BILLING_FALSE;
	t = create_ok(f, &p);
	assert_null(billing_tax_rate_description(t));
	assert_null(billing_tax_rate_country(t));
	assert_null(billing_tax_rate_region(t));
	assert_int_equal(billing_tax_rate_active(t), 0);
	assert_int_equal(billing_tax_rate_percentage(t), 0);
	assert_string_equal(billing_tax_rate_metadata_json(t), "{}");
	billing_tax_rate_free(t);
	p.percentage = 1000000;                  /* 100 % */
	billing_tax_rate_free(create_ok(f, &p));
}

static void create__bad_input_names_the_field_and_changes_nothing(void **state)
{
	fx *f = *state;
	billing_metadata_entry dup[] = { { "a", "1" }, { "a", "2" } };
	billing_tax_rate_params p;
	char long_name[52], long_desc[502];

	memset(long_name, 'n', 51);
	long_name[51] = '\0';
	memset(long_desc, 'd', 501);
	long_desc[501] = '\0';

	p = vat(); p.display_name = NULL;
	create_refused(f, &p, BILLING_EINVALID, "displayName");
	p = vat(); p.display_name = "   ";
	create_refused(f, &p, BILLING_EINVALID, "displayName");
	p = vat(); p.display_name = long_name;
	create_refused(f, &p, BILLING_EINVALID, "displayName");
	p = vat(); p.display_name = "VAT\x01";
	create_refused(f, &p, BILLING_EINVALID, "displayName");
	p = vat(); p.percentage = -1;
	create_refused(f, &p, BILLING_EINVALID, "percentage");
	p = vat(); p.percentage = 1000001;
	create_refused(f, &p, BILLING_EINVALID, "percentage");
	p = vat(); p.inclusive = BILLING_UNSET;
	create_refused(f, &p, BILLING_EINVALID, "inclusive");
	p = vat(); p.inclusive = (billing_tristate)7;
	create_refused(f, &p, BILLING_EINVALID, "inclusive");
	p = vat(); p.active = (billing_tristate)7;
	create_refused(f, &p, BILLING_EINVALID, "active");
	p = vat(); p.country = "XX";
	create_refused(f, &p, BILLING_EINVALID, "country");
	p = vat(); p.country = "DEU";
	create_refused(f, &p, BILLING_EINVALID, "country");
	p = vat(); p.country = "";
	create_refused(f, &p, BILLING_EINVALID, "country");
	p = vat(); p.country = NULL; p.region = "BY";
	create_refused(f, &p, BILLING_EINVALID, "region");
	p = vat(); p.region = "";
	create_refused(f, &p, BILLING_EINVALID, "region");
	p = vat(); p.description = long_desc;
	create_refused(f, &p, BILLING_EINVALID, "description");
	p = vat(); p.metadata = dup; p.metadata_count = 2;
	create_refused(f, &p, BILLING_EINVALID, "metadata");
	p = vat(); p.version = 0;
	create_refused(f, &p, BILLING_EINVALID, "version");
	create_refused(f, NULL, BILLING_EINVALID, "params");
	/* One answer names every bad field: the flow's (a null name) and the
	 * tax rate's own (the percentage, the country). */
	p = vat(); p.display_name = NULL; p.percentage = 1000001; p.country = "XX";
	{
		billing_tax_rate *t = NULL;
		const billing_error *e = billing_error_last();
		tb_assert_rc(billing_tax_rate_create(&t, f->w->ctx, &f->admin, &p, NULL),
			BILLING_EINVALID);
		assert_null(t);
		assert_int_equal(e->field_error_count, 3);
		assert_string_equal(e->field_errors[0].field, "displayName");
		assert_string_equal(e->field_errors[1].field, "percentage");
		assert_string_equal(e->field_errors[2].field, "country");
		create_refused(f, &p, BILLING_EINVALID, "displayName");
	}
}

/* ------------------------------------------------------------ update */

static void update__changes_only_the_fields_given(void **state)
{
	fx *f = *state;
	billing_tax_rate_params p = vat(), u = BILLING_TAX_RATE_PARAMS_INIT;
	billing_tax_rate *t, *v, *again;

	p.description = "old";
	p.region = "BY";
	t = create_ok(f, &p);
	f->w->now += 60;
	u.fields = BILLING_TAX_RATE_DISPLAY_NAME | BILLING_TAX_RATE_DESCRIPTION |
		BILLING_TAX_RATE_ACTIVE;
	u.display_name = " Umsatzsteuer ";
	u.description = NULL;                     /* cleared */
	u.active = BILLING_FALSE;                 /* archived */
	tb_assert_rc(billing_tax_rate_update(&v, f->w->ctx, &f->admin, billing_tax_rate_id(t), &u,
		NULL), BILLING_OK);
	assert_string_equal(billing_tax_rate_display_name(v), "Umsatzsteuer");
	assert_null(billing_tax_rate_description(v));
	assert_int_equal(billing_tax_rate_active(v), 0);
	assert_string_equal(billing_tax_rate_country(v), "DE");
	assert_string_equal(billing_tax_rate_region(v), "BY");
	assert_int_equal(billing_tax_rate_percentage(v), 190000);
	assert_int_equal(billing_tax_rate_version(v), 2);
	assert_int_equal(billing_tax_rate_created_at(v), billing_tax_rate_created_at(t));
	assert_int_equal(billing_tax_rate_updated_at(v), f->w->now);

	again = reread(f, billing_tax_rate_id(t));
	assert_string_equal(billing_tax_rate_display_name(again), "Umsatzsteuer");
	assert_null(billing_tax_rate_description(again));
	assert_int_equal(billing_tax_rate_active(again), 0);
	assert_int_equal(billing_tax_rate_version(again), 2);
	billing_tax_rate_free(again);

	/* Back to active; the country can move, the region goes with it. */
	u = (billing_tax_rate_params)BILLING_TAX_RATE_PARAMS_INIT;
	u.fields = BILLING_TAX_RATE_ACTIVE | BILLING_TAX_RATE_COUNTRY | BILLING_TAX_RATE_REGION;
	u.active = BILLING_TRUE;
	u.country = "at";
	u.region = NULL;
	billing_tax_rate_free(v);
	tb_assert_rc(billing_tax_rate_update(&v, f->w->ctx, &f->admin, billing_tax_rate_id(t), &u,
		NULL), BILLING_OK);
	assert_int_equal(billing_tax_rate_active(v), 1);
	assert_string_equal(billing_tax_rate_country(v), "AT");
	assert_null(billing_tax_rate_region(v));
	assert_int_equal(billing_tax_rate_version(v), 3);
	billing_tax_rate_free(v);
	billing_tax_rate_free(t);
}

static void update_refused(fx *f, const billing_tax_rate *t, const billing_tax_rate_params *u,
	int want, const char *field)
{
	billing_tax_rate *v = NULL, *again;
	tb_assert_rc(billing_tax_rate_update(&v, f->w->ctx, &f->admin, billing_tax_rate_id(t), u,
		NULL), want);
	if (field)
		tb_assert_field(field);
	assert_null(v);
	again = reread(f, billing_tax_rate_id(t));
	assert_int_equal(billing_tax_rate_version(again), billing_tax_rate_version(t));
	assert_string_equal(billing_tax_rate_display_name(again), billing_tax_rate_display_name(t));
	assert_int_equal(billing_tax_rate_percentage(again), billing_tax_rate_percentage(t));
	assert_int_equal(billing_tax_rate_inclusive(again), billing_tax_rate_inclusive(t));
	billing_tax_rate_free(again);
}

static void update__percentage_and_inclusive_are_fixed(void **state)
{
	fx *f = *state;
	billing_tax_rate_params p = vat(), u = BILLING_TAX_RATE_PARAMS_INIT;
	billing_tax_rate *t = create_ok(f, &p);

	u.fields = BILLING_TAX_RATE_PERCENTAGE;
	u.percentage = 70000;
	update_refused(f, t, &u, BILLING_EINVALID, "percentage");
	u.fields = BILLING_TAX_RATE_INCLUSIVE;
	u.inclusive = BILLING_TRUE;
	update_refused(f, t, &u, BILLING_EINVALID, "inclusive");
	/* ... even beside a change that alone would go through. */
	u.fields = BILLING_TAX_RATE_DISPLAY_NAME | BILLING_TAX_RATE_PERCENTAGE;
	u.display_name = "Other";
	update_refused(f, t, &u, BILLING_EINVALID, "percentage");
	billing_tax_rate_free(t);
}

static void update__bad_input_names_the_field_and_changes_nothing(void **state)
{
	fx *f = *state;
	billing_tax_rate_params p = vat(), u = BILLING_TAX_RATE_PARAMS_INIT;
	billing_tax_rate *t = create_ok(f, &p);

	u.fields = 0;
	update_refused(f, t, &u, BILLING_EINVALID, "fields");
	u.fields = 1u << 12;
	update_refused(f, t, &u, BILLING_EINVALID, "fields");
	u.fields = BILLING_TAX_RATE_DISPLAY_NAME;
	u.display_name = NULL;
	update_refused(f, t, &u, BILLING_EINVALID, "displayName");
	u.display_name = "";
	update_refused(f, t, &u, BILLING_EINVALID, "displayName");
	u.fields = BILLING_TAX_RATE_COUNTRY;
	u.country = "ZZ";
	update_refused(f, t, &u, BILLING_EINVALID, "country");
	/* Clearing the country while a region stays is refused. */
	u.fields = BILLING_TAX_RATE_REGION;
	u.region = "BY";
	{
		billing_tax_rate *v = NULL;
		tb_assert_rc(billing_tax_rate_update(&v, f->w->ctx, &f->admin,
			billing_tax_rate_id(t), &u, NULL), BILLING_OK);
		billing_tax_rate_free(t);
		t = v;
	}
	u.fields = BILLING_TAX_RATE_COUNTRY;
	u.country = NULL;
	update_refused(f, t, &u, BILLING_EINVALID, "region");
	u.fields = BILLING_TAX_RATE_ACTIVE;
	u.active = BILLING_UNSET;
	update_refused(f, t, &u, BILLING_EINVALID, "active");
	u.fields = BILLING_TAX_RATE_DISPLAY_NAME;
	u.display_name = "ok";
	u.expected_version = -1;
	update_refused(f, t, &u, BILLING_EINVALID, "expectedVersion");
	u.expected_version = 0;
	u.version = 9;
	update_refused(f, t, &u, BILLING_EINVALID, "version");
	billing_tax_rate_free(t);
}

static void update__expected_version_guards_against_lost_updates(void **state)
{
	fx *f = *state;
	billing_tax_rate_params p = vat(), u = BILLING_TAX_RATE_PARAMS_INIT;
	billing_tax_rate *t = create_ok(f, &p), *v = NULL;

	u.fields = BILLING_TAX_RATE_DISPLAY_NAME;
	u.display_name = "First";
	u.expected_version = 1;
	tb_assert_rc(billing_tax_rate_update(&v, f->w->ctx, &f->admin, billing_tax_rate_id(t), &u,
		NULL), BILLING_OK);
	assert_int_equal(billing_tax_rate_version(v), 2);
	billing_tax_rate_free(v);
	v = NULL;
	u.display_name = "Second";                /* still expects version 1 */
	tb_assert_rc(billing_tax_rate_update(&v, f->w->ctx, &f->admin, billing_tax_rate_id(t), &u,
		NULL), BILLING_ESTALE);
	tb_assert_field("expectedVersion");
	assert_null(v);
	v = reread(f, billing_tax_rate_id(t));
	assert_string_equal(billing_tax_rate_display_name(v), "First");
	billing_tax_rate_free(v);
	billing_tax_rate_free(t);
}

/* ------------------------------------------------------------ tenants */

static void tenants__never_see_or_change_each_others_tax_rates(void **state)
{
	fx *f = *state;
	const char *other = tb_tenant(f->w, "Globex");
	billing_principal them = tb_admin(other);
	billing_tax_rate_params p = vat(), u = BILLING_TAX_RATE_PARAMS_INIT;
	billing_tax_rate *mine = create_ok(f, &p), *got = NULL;
	billing_tax_rate_list_params lp = BILLING_TAX_RATE_LIST_PARAMS_INIT;
	billing_page *page = NULL;

	tb_assert_rc(billing_tax_rate_get(&got, f->w->ctx, &them, billing_tax_rate_id(mine)),
		BILLING_ENOTFOUND);
	assert_null(got);
	u.fields = BILLING_TAX_RATE_DISPLAY_NAME;
	u.display_name = "Hijacked";
	tb_assert_rc(billing_tax_rate_update(&got, f->w->ctx, &them, billing_tax_rate_id(mine), &u,
		NULL), BILLING_ENOTFOUND);
	assert_null(got);
	tb_assert_rc(billing_tax_rate_list(&page, f->w->ctx, &them, &lp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 0);
	billing_page_free(page);
	assert_int_equal(count_in(f->w, f->tenant), 1);

	got = reread(f, billing_tax_rate_id(mine));
	assert_string_equal(billing_tax_rate_display_name(got), "VAT");
	billing_tax_rate_free(got);
	billing_tax_rate_free(mine);
}

static void get__unknown_or_ill_formed_ids_are_not_found(void **state)
{
	fx *f = *state;
	billing_tax_rate *t = NULL;
	tb_assert_rc(billing_tax_rate_get(&t, f->w->ctx, &f->admin,
		"txr_00000000000000000000000000"), BILLING_ENOTFOUND);
	tb_assert_rc(billing_tax_rate_get(&t, f->w->ctx, &f->admin, "cus_x"), BILLING_ENOTFOUND);
	tb_assert_rc(billing_tax_rate_get(&t, f->w->ctx, &f->admin, NULL), BILLING_ENOTFOUND);
	assert_null(t);
}

/* ------------------------------------------------------------ lists */

static billing_page *list(fx *f, const billing_tax_rate_list_params *lp)
{
	billing_page *page = NULL;
	tb_assert_rc(billing_tax_rate_list(&page, f->w->ctx, &f->admin, lp), BILLING_OK);
	return page;
}

static const char *name_at(const billing_page *page, size_t i)
{
	return billing_tax_rate_display_name(billing_page_tax_rate(page, i));
}

static void seed(fx *f)
{
	static const struct {
		const char *name, *country, *description;
		int64_t pct;
		billing_tristate inclusive, active;
	} rows[] = {
		{ "Bravo", "DE", "standard", 190000, BILLING_FALSE, BILLING_TRUE },
		{ "Alpha", "DE", "reduced", 70000, BILLING_FALSE, BILLING_TRUE },
		{ "Delta", "AT", "standard", 200000, BILLING_TRUE, BILLING_TRUE },
		{ "Charlie", "FR", "old", 196000, BILLING_FALSE, BILLING_FALSE },
		{ "Echo", "US", "state", 72500, BILLING_FALSE, BILLING_TRUE },
	};
	size_t i;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		billing_tax_rate_params p = BILLING_TAX_RATE_PARAMS_INIT;
		p.display_name = rows[i].name;
		p.country = rows[i].country;
		p.description = rows[i].description;
		p.percentage = rows[i].pct;
		p.inclusive = rows[i].inclusive;
		p.active = rows[i].active;
		billing_tax_rate_free(create_ok(f, &p));
		f->w->now += 1;
	}
}

static void list__filters_sorts_and_searches(void **state)
{
	fx *f = *state;
	billing_tax_rate_list_params lp = BILLING_TAX_RATE_LIST_PARAMS_INIT;
	billing_page *page;

	seed(f);
	page = list(f, &lp);                      /* createdAt, oldest first */
	assert_int_equal(billing_page_count(page), 5);
	assert_string_equal(name_at(page, 0), "Bravo");
	assert_string_equal(name_at(page, 4), "Echo");
	billing_page_free(page);

	lp.active = BILLING_TRUE;
	page = list(f, &lp);
	assert_int_equal(billing_page_count(page), 4);
	billing_page_free(page);
	lp.active = BILLING_FALSE;
	page = list(f, &lp);
	assert_int_equal(billing_page_count(page), 1);
	assert_string_equal(name_at(page, 0), "Charlie");
	billing_page_free(page);

	lp.active = BILLING_UNSET;
	lp.inclusive = BILLING_TRUE;
	page = list(f, &lp);
	assert_int_equal(billing_page_count(page), 1);
	assert_string_equal(name_at(page, 0), "Delta");
	billing_page_free(page);

	lp.inclusive = BILLING_UNSET;
	lp.country = "DE";
	lp.list.sort_by = "displayName";
	page = list(f, &lp);
	assert_int_equal(billing_page_count(page), 2);
	assert_string_equal(name_at(page, 0), "Alpha");
	assert_string_equal(name_at(page, 1), "Bravo");
	billing_page_free(page);

	lp.country = NULL;
	lp.list.sort_by = "percentage";
	lp.list.order = BILLING_ORDER_DESC;
	page = list(f, &lp);
	assert_string_equal(name_at(page, 0), "Delta");
	assert_string_equal(name_at(page, 1), "Charlie");
	assert_string_equal(name_at(page, 4), "Alpha");
	billing_page_free(page);

	lp.list.sort_by = NULL;
	lp.list.order = BILLING_ORDER_DEFAULT;
	lp.list.search = "STANDARD";              /* description, any case */
	page = list(f, &lp);
	assert_int_equal(billing_page_count(page), 2);
	billing_page_free(page);
	lp.list.search = "lph";                   /* displayName */
	page = list(f, &lp);
	assert_int_equal(billing_page_count(page), 1);
	assert_string_equal(name_at(page, 0), "Alpha");
	billing_page_free(page);
}

static void list__pages_and_cursors_walk_everything_once(void **state)
{
	fx *f = *state;
	billing_tax_rate_list_params lp = BILLING_TAX_RATE_LIST_PARAMS_INIT;
	billing_page *page;
	char cursor[512];
	size_t seen = 0;

	seed(f);
	lp.list.page = 1;
	lp.list.limit = 2;
	lp.list.sort_by = "percentage";
	page = list(f, &lp);
	assert_int_equal(billing_page_total(page), 5);
	assert_int_equal(billing_page_count(page), 2);
	assert_string_equal(name_at(page, 0), "Alpha");
	assert_string_equal(name_at(page, 1), "Echo");
	assert_true(billing_page_has_more(page));
	snprintf(cursor, sizeof(cursor), "%s", billing_page_next_cursor(page));
	billing_page_free(page);
	seen = 2;

	lp.list.page = 0;
	for (;;) {
		lp.list.starting_after = cursor;
		page = list(f, &lp);
		seen += billing_page_count(page);
		if (seen == 4)
			assert_string_equal(name_at(page, 1), "Charlie");
		if (!billing_page_has_more(page)) {
			assert_string_equal(name_at(page, billing_page_count(page) - 1), "Delta");
			billing_page_free(page);
			break;
		}
		snprintf(cursor, sizeof(cursor), "%s", billing_page_next_cursor(page));
		billing_page_free(page);
	}
	assert_int_equal(seen, 5);

	/* A cursor is bound to its filters. */
	lp.list.page = 1;
	lp.list.starting_after = NULL;
	page = list(f, &lp);
	snprintf(cursor, sizeof(cursor), "%s", billing_page_next_cursor(page));
	billing_page_free(page);
	lp.list.page = 0;
	lp.list.starting_after = cursor;
	lp.active = BILLING_TRUE;
	page = NULL;
	tb_assert_rc(billing_tax_rate_list(&page, f->w->ctx, &f->admin, &lp), BILLING_EINVALID);
	tb_assert_field("startingAfter");
	assert_null(page);
}

static void list__bad_parameters_are_refused(void **state)
{
	fx *f = *state;
	billing_tax_rate_list_params lp = BILLING_TAX_RATE_LIST_PARAMS_INIT;
	billing_page *page = NULL;

	lp.list.sort_by = "country";              /* not a sort of tax rates */
	tb_assert_rc(billing_tax_rate_list(&page, f->w->ctx, &f->admin, &lp), BILLING_EINVALID);
	tb_assert_field("sortBy");
	lp.list.sort_by = NULL;
	lp.active = (billing_tristate)5;
	tb_assert_rc(billing_tax_rate_list(&page, f->w->ctx, &f->admin, &lp), BILLING_EINVALID);
	tb_assert_field("active");
	lp.active = BILLING_UNSET;
	lp.version = 0;
	tb_assert_rc(billing_tax_rate_list(&page, f->w->ctx, &f->admin, &lp), BILLING_EINVALID);
	tb_assert_field("version");
	assert_null(page);
	/* NULL params: the first page, everything. */
	tb_assert_rc(billing_tax_rate_list(&page, f->w->ctx, &f->admin, NULL), BILLING_OK);
	assert_int_equal(billing_page_count(page), 0);
	assert_null(billing_page_tax_rate(page, 0));
	billing_page_free(page);
}

/* ------------------------------------------------------------ idempotency */

static void idempotency__a_retry_returns_the_first_result(void **state)
{
	fx *f = *state;
	billing_call_options o = BILLING_CALL_OPTIONS_INIT;
	billing_tax_rate_params p = vat(), u = BILLING_TAX_RATE_PARAMS_INIT;
	billing_tax_rate *a = NULL, *b = NULL, *c = NULL;
	int replayed = -1;

	o.idempotency_key = "txr-create-1";
	o.replayed = &replayed;
	tb_assert_rc(billing_tax_rate_create(&a, f->w->ctx, &f->admin, &p, &o), BILLING_OK);
	assert_int_equal(replayed, 0);
	f->w->now += 5;
	tb_assert_rc(billing_tax_rate_create(&b, f->w->ctx, &f->admin, &p, &o), BILLING_OK);
	assert_int_equal(replayed, 1);
	assert_string_equal(billing_tax_rate_id(a), billing_tax_rate_id(b));
	assert_int_equal(count_in(f->w, f->tenant), 1);

	p.percentage = 70000;                     /* same key, other request */
	tb_assert_rc(billing_tax_rate_create(&c, f->w->ctx, &f->admin, &p, &o), BILLING_ECONFLICT);
	tb_assert_field("idempotencyKey");
	assert_null(c);
	assert_int_equal(count_in(f->w, f->tenant), 1);

	/* The key belongs to tax_rates.create: an update reusing it conflicts. */
	u.fields = BILLING_TAX_RATE_DISPLAY_NAME;
	u.display_name = "Renamed";
	tb_assert_rc(billing_tax_rate_update(&c, f->w->ctx, &f->admin, billing_tax_rate_id(a), &u,
		&o), BILLING_ECONFLICT);
	o.idempotency_key = "txr-update-1";
	tb_assert_rc(billing_tax_rate_update(&c, f->w->ctx, &f->admin, billing_tax_rate_id(a), &u,
		&o), BILLING_OK);
	assert_int_equal(billing_tax_rate_version(c), 2);
	billing_tax_rate_free(c);
	c = NULL;
	tb_assert_rc(billing_tax_rate_update(&c, f->w->ctx, &f->admin, billing_tax_rate_id(a), &u,
		&o), BILLING_OK);
	assert_int_equal(replayed, 1);
	assert_int_equal(billing_tax_rate_version(c), 2);        /* not updated twice */
	billing_tax_rate_free(c);
	billing_tax_rate_free(b);
	billing_tax_rate_free(a);
}

/* The hash covers what is stored: a retry whose text differs only in the
 * white space the rules trim away is the same request. */
static void idempotency__a_retry_differing_in_surrounding_spaces_is_a_replay(void **state)
{
	fx *f = *state;
	billing_call_options o = BILLING_CALL_OPTIONS_INIT;
	billing_tax_rate_params p = vat(), q = vat(), u = BILLING_TAX_RATE_PARAMS_INIT;
	billing_tax_rate *a = NULL, *b = NULL, *c = NULL;
	int replayed = -1;

	p.description = "Germany";
	p.region = "BY";
	q.display_name = "  VAT\t";
	q.description = " Germany  ";
	q.region = "BY ";
	o.idempotency_key = "txr-create-spaces";
	o.replayed = &replayed;
	tb_assert_rc(billing_tax_rate_create(&a, f->w->ctx, &f->admin, &p, &o), BILLING_OK);
	assert_int_equal(replayed, 0);
	tb_assert_rc(billing_tax_rate_create(&b, f->w->ctx, &f->admin, &q, &o), BILLING_OK);
	assert_int_equal(replayed, 1);
	assert_string_equal(billing_tax_rate_id(a), billing_tax_rate_id(b));
	assert_string_equal(billing_tax_rate_display_name(b), "VAT");
	assert_int_equal(count_in(f->w, f->tenant), 1);

	/* The same for an update; and another value is still another request. */
	u.fields = BILLING_TAX_RATE_DISPLAY_NAME;
	u.display_name = "Umsatzsteuer";
	o.idempotency_key = "txr-update-spaces";
	tb_assert_rc(billing_tax_rate_update(&c, f->w->ctx, &f->admin, billing_tax_rate_id(a), &u,
		&o), BILLING_OK);
	billing_tax_rate_free(c);
	c = NULL;
	u.display_name = " Umsatzsteuer ";
	tb_assert_rc(billing_tax_rate_update(&c, f->w->ctx, &f->admin, billing_tax_rate_id(a), &u,
		&o), BILLING_OK);
	assert_int_equal(replayed, 1);
	assert_int_equal(billing_tax_rate_version(c), 2);
	billing_tax_rate_free(c);
	c = NULL;
	u.display_name = "USt";
	tb_assert_rc(billing_tax_rate_update(&c, f->w->ctx, &f->admin, billing_tax_rate_id(a), &u,
		&o), BILLING_ECONFLICT);
	tb_assert_field("idempotencyKey");
	assert_null(c);
	billing_tax_rate_free(b);
	billing_tax_rate_free(a);
}

/* The metadata as entries, like a customer's: on the created, the read,
 * the updated tax rate and on a page's items. */
static void metadata__read_by_index_and_by_key(void **state)
{
	fx *f = *state;
	billing_metadata_entry md[] = { { "zone", "eu" }, { "code", "S" } };
	billing_tax_rate_list_params lp = BILLING_TAX_RATE_LIST_PARAMS_INIT;
	billing_tax_rate_params p = vat(), u = BILLING_TAX_RATE_PARAMS_INIT;
	billing_tax_rate *t, *again, *changed = NULL;
	billing_page *page = NULL;
	const billing_tax_rate *item;
	const billing_tax_rate *each[3];
	size_t i;

	p.metadata = md;
	p.metadata_count = 2;
	t = create_ok(f, &p);
	again = reread(f, billing_tax_rate_id(t));
	u.fields = BILLING_TAX_RATE_METADATA;
	u.metadata = md;
	u.metadata_count = 1;
	tb_assert_rc(billing_tax_rate_update(&changed, f->w->ctx, &f->admin, billing_tax_rate_id(t),
		&u, NULL), BILLING_OK);
	tb_assert_rc(billing_tax_rate_list(&page, f->w->ctx, &f->admin, &lp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 1);
	item = billing_page_tax_rate(page, 0);
	each[0] = t;
	each[1] = again;
	each[2] = item;
	for (i = 0; i < 3; i++) {
		assert_int_equal(billing_tax_rate_metadata_count(each[i]), i == 2 ? 1 : 2);
		assert_null(billing_tax_rate_metadata_at(each[i], 2));
		assert_null(billing_tax_rate_metadata_get(each[i], "nope"));
		assert_null(billing_tax_rate_metadata_get(each[i], NULL));
		assert_string_equal(billing_tax_rate_metadata_get(each[i], "zone"), "eu");
	}
	/* keys in byte order */
	assert_string_equal(billing_tax_rate_metadata_at(t, 0)->key, "code");
	assert_string_equal(billing_tax_rate_metadata_at(t, 0)->value, "S");
	assert_string_equal(billing_tax_rate_metadata_at(again, 1)->key, "zone");
	assert_string_equal(billing_tax_rate_metadata_get(t, "code"), "S");
	assert_int_equal(billing_tax_rate_metadata_count(changed), 1);
	assert_string_equal(billing_tax_rate_metadata_at(changed, 0)->key, "zone");
	assert_null(billing_tax_rate_metadata_get(changed, "code"));
	billing_page_free(page);
	billing_tax_rate_free(changed);
	billing_tax_rate_free(again);
	billing_tax_rate_free(t);
}

/* ------------------------------------------------------------ events, audit */

static void events__every_change_writes_its_event_and_audit_row(void **state)
{
	fx *f = *state;
	billing_call_options o = BILLING_CALL_OPTIONS_INIT;
	billing_tax_rate_params p = vat(), u = BILLING_TAX_RATE_PARAMS_INIT;
	billing_tax_rate *t = NULL, *v = NULL;
	billing_list_params lp = BILLING_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	char data[2048];

	p.percentage = 72500;
	o.request_id = "req-txr-1";
	tb_assert_rc(billing_tax_rate_create(&t, f->w->ctx, &f->admin, &p, &o), BILLING_OK);
	assert_int_equal(events_of(f->w, f->tenant, "tax_rate.created", data, sizeof(data)), 1);
	assert_non_null(strstr(data, "\"object\":\"tax_rate\""));
	assert_non_null(strstr(data, "\"percentage\":\"7.25\""));
	assert_non_null(strstr(data, "\"inclusive\":false"));
	assert_non_null(strstr(data, "\"displayName\":\"VAT\""));
	assert_non_null(strstr(data, billing_tax_rate_id(t)));
	assert_int_equal(strncmp(data, "{\"id\":\"txr_", 11), 0);

	u.fields = BILLING_TAX_RATE_ACTIVE;
	u.active = BILLING_FALSE;
	tb_assert_rc(billing_tax_rate_update(&v, f->w->ctx, &f->admin, billing_tax_rate_id(t), &u,
		NULL), BILLING_OK);
	assert_int_equal(events_of(f->w, f->tenant, "tax_rate.updated", data, sizeof(data)), 1);
	assert_non_null(strstr(data, "\"active\":false"));
	assert_non_null(strstr(data, "\"version\":2"));

	/* A refused change writes neither. */
	u.fields = BILLING_TAX_RATE_PERCENTAGE;
	billing_tax_rate_free(v);
	v = NULL;
	tb_assert_rc(billing_tax_rate_update(&v, f->w->ctx, &f->admin, billing_tax_rate_id(t), &u,
		NULL), BILLING_EINVALID);
	assert_int_equal(events_of(f->w, f->tenant, "tax_rate.updated", NULL, 0), 1);

	lp.limit = 100;
	tb_assert_rc(billing_audit_list(&page, f->w->ctx, &f->admin, &lp), BILLING_OK);
	{
		size_t i, creates = 0, updates = 0;
		for (i = 0; i < billing_page_count(page); i++) {
			const billing_audit_entry *a = billing_page_audit_entry(page, i);
			const char *op = billing_audit_entry_operation(a);
			if (strcmp(billing_audit_entry_resource_id(a), billing_tax_rate_id(t)) != 0)
				continue;
			if (strcmp(op, "tax_rates.create") == 0) {
				creates++;
				assert_string_equal(billing_audit_entry_request_id(a), "req-txr-1");
			}
			updates += strcmp(op, "tax_rates.update") == 0;
			assert_int_equal(billing_audit_entry_role(a), BILLING_ROLE_ADMIN);
		}
		assert_int_equal(creates, 1);
		assert_int_equal(updates, 1);
	}
	billing_page_free(page);
	billing_tax_rate_free(t);
}

/* ------------------------------------------------------------ roles */

static void roles__user_reads_but_never_writes(void **state)
{
	fx *f = *state;
	billing_principal user = tb_user(f->tenant);
	billing_tax_rate_params p = vat(), bad = vat(), u = BILLING_TAX_RATE_PARAMS_INIT;
	billing_tax_rate *t = create_ok(f, &p), *got = NULL;
	billing_page *page = NULL;

	tb_assert_rc(billing_tax_rate_get(&got, f->w->ctx, &user, billing_tax_rate_id(t)),
		BILLING_OK);
	billing_tax_rate_free(got);
	got = NULL;
	tb_assert_rc(billing_tax_rate_list(&page, f->w->ctx, &user, NULL), BILLING_OK);
	assert_int_equal(billing_page_count(page), 1);
	billing_page_free(page);

	tb_assert_rc(billing_tax_rate_create(&got, f->w->ctx, &user, &p, NULL), BILLING_EFORBIDDEN);
	/* The role is checked before the input. */
	bad.percentage = -5;
	tb_assert_rc(billing_tax_rate_create(&got, f->w->ctx, &user, &bad, NULL),
		BILLING_EFORBIDDEN);
	tb_assert_rc(billing_tax_rate_create(&got, f->w->ctx, &user, NULL, NULL),
		BILLING_EFORBIDDEN);
	u.fields = BILLING_TAX_RATE_ACTIVE;
	u.active = BILLING_FALSE;
	tb_assert_rc(billing_tax_rate_update(&got, f->w->ctx, &user, billing_tax_rate_id(t), &u,
		NULL), BILLING_EFORBIDDEN);
	assert_null(got);
	assert_int_equal(count_in(f->w, f->tenant), 1);
	got = reread(f, billing_tax_rate_id(t));
	assert_int_equal(billing_tax_rate_active(got), 1);
	billing_tax_rate_free(got);
	billing_tax_rate_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(create__stores_every_field_normalized,
			tb_fx_setup, tb_fx_teardown),
		cmocka_unit_test_setup_teardown(create__optional_fields_absent_and_bounds_accepted,
			tb_fx_setup, tb_fx_teardown),
		cmocka_unit_test_setup_teardown(create__bad_input_names_the_field_and_changes_nothing,
			tb_fx_setup, tb_fx_teardown),
		cmocka_unit_test_setup_teardown(update__changes_only_the_fields_given,
			tb_fx_setup, tb_fx_teardown),
		cmocka_unit_test_setup_teardown(update__percentage_and_inclusive_are_fixed,
			tb_fx_setup, tb_fx_teardown),
		cmocka_unit_test_setup_teardown(update__bad_input_names_the_field_and_changes_nothing,
			tb_fx_setup, tb_fx_teardown),
		cmocka_unit_test_setup_teardown(update__expected_version_guards_against_lost_updates,
			tb_fx_setup, tb_fx_teardown),
		cmocka_unit_test_setup_teardown(tenants__never_see_or_change_each_others_tax_rates,
			tb_fx_setup, tb_fx_teardown),
		cmocka_unit_test_setup_teardown(get__unknown_or_ill_formed_ids_are_not_found,
			tb_fx_setup, tb_fx_teardown),
		cmocka_unit_test_setup_teardown(list__filters_sorts_and_searches,
			tb_fx_setup, tb_fx_teardown),
		cmocka_unit_test_setup_teardown(list__pages_and_cursors_walk_everything_once,
			tb_fx_setup, tb_fx_teardown),
		cmocka_unit_test_setup_teardown(list__bad_parameters_are_refused,
			tb_fx_setup, tb_fx_teardown),
		cmocka_unit_test_setup_teardown(idempotency__a_retry_returns_the_first_result,
			tb_fx_setup, tb_fx_teardown),
		cmocka_unit_test_setup_teardown(
			idempotency__a_retry_differing_in_surrounding_spaces_is_a_replay,
			tb_fx_setup, tb_fx_teardown),
		cmocka_unit_test_setup_teardown(metadata__read_by_index_and_by_key,
			tb_fx_setup, tb_fx_teardown),
		cmocka_unit_test_setup_teardown(events__every_change_writes_its_event_and_audit_row,
			tb_fx_setup, tb_fx_teardown),
		cmocka_unit_test_setup_teardown(roles__user_reads_but_never_writes,
			tb_fx_setup, tb_fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

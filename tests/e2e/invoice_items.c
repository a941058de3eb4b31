/*
 * The typed C API of invoice items (billing/invoice_item.h), end to end on
 * both backends: create (amount, or unit amount x quantity), get, list
 * with its filters, update, delete; an item on a draft moves the draft's
 * lines and totals and is fixed once the draft is finalized; bad input is
 * refused naming the field and writes nothing; USER may read, not write.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb.h"
#include "tb_billing.h"

typedef struct {
	tb_world *w;
	const char *t;
	billing_principal admin;
	billing_customer *cus;
	const char *cus_id;
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->w = tb_world_new();
	f->w->now = tbb_ts(2025, 1, 1, 0, 0, 0);
	f->t = tb_tenant(f->w, "Acme");
	f->admin = tb_admin(f->t);
	f->cus = tb_customer(f->w, f->t, NULL);
	f->cus_id = billing_customer_id(f->cus);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	billing_customer_free(f->cus);
	tb_world_free(f->w);
	free(f);
	return 0;
}

static int64_t rows(fx *f, const char *sql)
{
	return tb_raw_count(f->w->url, sql);
}

static billing_invoice_item *item(fx *f, const char *description, int64_t amount,
	const char *invoice_id)
{
	billing_invoice_item_params p = BILLING_INVOICE_ITEM_PARAMS_INIT;
	billing_invoice_item *it = NULL;
	p.customer_id = f->cus_id;
	p.currency = "eur";
	p.description = description;
	p.amount = amount;
	p.invoice_id = invoice_id;
	tb_assert_rc(billing_invoice_item_create(&it, f->w->ctx, &f->admin, &p, NULL), BILLING_OK);
	return it;
}

/* Create by amount and by unit amount x quantity, with metadata and a
 * period; get; list by customer and invoice; update; delete; one event
 * each. */
static void invoice_item__create_get_list_update_delete(void **state)
{
	fx *f = *state;
	billing_invoice_item_params p = BILLING_INVOICE_ITEM_PARAMS_INIT;
	billing_invoice_item_list_params lp = BILLING_INVOICE_ITEM_LIST_PARAMS_INIT;
	billing_metadata_entry md[] = { { "order", "42" } };
	billing_invoice_item *a, *b = NULL, *got = NULL, *up = NULL;
	billing_page *page = NULL;

	a = item(f, "  Setup fee ", 5000, NULL);
	assert_true(strncmp(billing_invoice_item_id(a), "ii_", 3) == 0);
	assert_string_equal(billing_invoice_item_description(a), "Setup fee");
	assert_string_equal(billing_invoice_item_currency(a), "EUR");
	assert_string_equal(billing_invoice_item_customer_id(a), f->cus_id);
	assert_string_equal(billing_invoice_item_tenant_id(a), f->t);
	assert_null(billing_invoice_item_invoice_id(a));
	assert_null(billing_invoice_item_subscription_id(a));
	assert_int_equal(billing_invoice_item_amount(a), 5000);
	assert_int_equal(billing_invoice_item_unit_amount(a), 5000);
	assert_int_equal(billing_invoice_item_quantity(a), 1);
	assert_int_equal(billing_invoice_item_version(a), 1);
	assert_int_equal(billing_invoice_item_created_at(a), f->w->now);

	p.customer_id = f->cus_id;
	p.currency = "EUR";
	p.description = "Seats";
	p.unit_amount = 250;
	p.quantity = 3;
	p.period_start = tbb_ts(2025, 1, 1, 0, 0, 0);
	p.period_end = tbb_ts(2025, 2, 1, 0, 0, 0);
	p.metadata = md;
	p.metadata_count = 1;
	tb_assert_rc(billing_invoice_item_create(&b, f->w->ctx, &f->admin, &p, NULL), BILLING_OK);
	assert_int_equal(billing_invoice_item_amount(b), 750);
	assert_int_equal(billing_invoice_item_quantity(b), 3);
	assert_int_equal(billing_invoice_item_period_start(b), tbb_ts(2025, 1, 1, 0, 0, 0));
	assert_int_equal(billing_invoice_item_period_end(b), tbb_ts(2025, 2, 1, 0, 0, 0));
	assert_int_equal(billing_invoice_item_metadata_count(b), 1);
	assert_string_equal(billing_invoice_item_metadata_at(b, 0)->key, "order");
	assert_string_equal(billing_invoice_item_metadata_get(b, "order"), "42");
	assert_string_equal(billing_invoice_item_metadata_json(b), "{\"order\":\"42\"}");

	tb_assert_rc(billing_invoice_item_get(&got, f->w->ctx, &f->admin,
		billing_invoice_item_id(b)), BILLING_OK);
	assert_int_equal(billing_invoice_item_amount(got), 750);
	assert_string_equal(billing_invoice_item_metadata_get(got, "order"), "42");
	billing_invoice_item_free(got);
	got = NULL;
	assert_int_equal(billing_invoice_item_get(&got, f->w->ctx, &f->admin, "ii_nothing"),
		BILLING_ENOTFOUND);

	lp.customer_id = f->cus_id;
	lp.list.sort_by = "amount";
	tb_assert_rc(billing_invoice_item_list(&page, f->w->ctx, &f->admin, &lp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 2);
	assert_non_null(billing_page_invoice_item(page, 0));
	assert_null(billing_page_invoice_item(page, 2));
	billing_page_free(page);
	page = NULL;
	lp.customer_id = "cus_other";
	tb_assert_rc(billing_invoice_item_list(&page, f->w->ctx, &f->admin, &lp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 0);
	billing_page_free(page);

	/* update: the per-unit amount and the description; the amount follows */
	memset(&p, 0, sizeof(p));
	p.version = BILLING_INVOICE_ITEM_PARAMS_VERSION;
	p.fields = BILLING_INVOICE_ITEM_QUANTITY | BILLING_INVOICE_ITEM_DESCRIPTION;
	p.quantity = 4;
	p.description = "More seats";
	p.expected_version = 1;
	tb_assert_rc(billing_invoice_item_update(&up, f->w->ctx, &f->admin,
		billing_invoice_item_id(b), &p, NULL), BILLING_OK);
	assert_int_equal(billing_invoice_item_quantity(up), 4);
	assert_int_equal(billing_invoice_item_amount(up), 1000);
	assert_string_equal(billing_invoice_item_description(up), "More seats");
	assert_int_equal(billing_invoice_item_version(up), 2);
	billing_invoice_item_free(up);
	up = NULL;
	/* a stale version changes nothing */
	assert_int_equal(billing_invoice_item_update(&up, f->w->ctx, &f->admin,
		billing_invoice_item_id(b), &p, NULL), BILLING_ESTALE);

	assert_int_equal(billing_invoice_item_delete(f->w->ctx, &f->admin, billing_invoice_item_id(a),
		0), BILLING_OK);
	assert_int_equal(billing_invoice_item_delete(f->w->ctx, &f->admin, billing_invoice_item_id(a),
		0), BILLING_ENOTFOUND);
	assert_int_equal(rows(f, "SELECT count(*) FROM invoice_items"), 1);
	assert_int_equal(rows(f, "SELECT count(*) FROM events WHERE type = 'invoice_item.created'"),
		2);
	assert_int_equal(rows(f, "SELECT count(*) FROM events WHERE type = 'invoice_item.updated'"),
		1);
	assert_int_equal(rows(f, "SELECT count(*) FROM events WHERE type = 'invoice_item.deleted'"),
		1);
	billing_invoice_item_free(a);
	billing_invoice_item_free(b);
}

/* An item put on a draft through the C API moves its lines; once the
 * draft is finalized the item is fixed. */
static void invoice_item__on_a_draft_moves_its_total_and_is_fixed_once_finalized(void **state)
{
	fx *f = *state;
	billing_invoice_params ip = BILLING_INVOICE_PARAMS_INIT;
	billing_invoice_item_params p = BILLING_INVOICE_ITEM_PARAMS_INIT;
	billing_invoice *draft = NULL, *inv = NULL, *done = NULL;
	billing_invoice_item *a, *b, *up = NULL;

	ip.customer_id = f->cus_id;
	ip.currency = "EUR";
	tb_assert_rc(billing_invoice_create(&draft, f->w->ctx, &f->admin, &ip, NULL), BILLING_OK);
	a = item(f, "Consulting", 30000, billing_invoice_id(draft));
	b = item(f, "Travel", 4250, billing_invoice_id(draft));
	assert_string_equal(billing_invoice_item_invoice_id(a), billing_invoice_id(draft));
	tb_assert_rc(billing_invoice_get(&inv, f->w->ctx, &f->admin, billing_invoice_id(draft)),
		BILLING_OK);
	assert_int_equal(billing_invoice_line_count(inv), 2);
	assert_int_equal(billing_invoice_total(inv), 34250);
	billing_invoice_free(inv);
	inv = NULL;

	/* taken off the draft: it waits again, the draft follows */
	p.version = BILLING_INVOICE_ITEM_PARAMS_VERSION;
	p.fields = BILLING_INVOICE_ITEM_INVOICE;
	p.invoice_id = NULL;
	tb_assert_rc(billing_invoice_item_update(&up, f->w->ctx, &f->admin,
		billing_invoice_item_id(b), &p, NULL), BILLING_OK);
	assert_null(billing_invoice_item_invoice_id(up));
	billing_invoice_item_free(up);
	up = NULL;
	tb_assert_rc(billing_invoice_finalize(&done, f->w->ctx, &f->admin, billing_invoice_id(draft),
		NULL), BILLING_OK);
	assert_int_equal(billing_invoice_total(done), 30000);
	assert_int_equal(billing_invoice_line_count(done), 1);

	p.fields = BILLING_INVOICE_ITEM_AMOUNT;
	p.amount = 1;
	assert_int_equal(billing_invoice_item_update(&up, f->w->ctx, &f->admin,
		billing_invoice_item_id(a), &p, NULL), BILLING_ECONFLICT);
	tbb_assert_reason("invoice_item_invoiced");
	assert_int_equal(billing_invoice_item_delete(f->w->ctx, &f->admin,
		billing_invoice_item_id(a), 0), BILLING_ECONFLICT);
	billing_invoice_free(done);
	billing_invoice_free(draft);
	billing_invoice_item_free(a);
	billing_invoice_item_free(b);
}

static void assert_field(const char *field)
{
	const billing_error *e = billing_error_last();
	size_t i;
	for (i = 0; i < e->field_error_count; i++)
		if (strcmp(e->field_errors[i].field, field) == 0)
			return;
	fail_msg("no field error on %s (%s)", field, e->message ? e->message : "");
}

/* Bad input names its field and writes nothing; USER reads, never
 * writes; an unknown params version is refused. */
static void invoice_item__bad_input_refused_naming_the_field(void **state)
{
	fx *f = *state;
	billing_principal user = tb_user(f->t);
	billing_invoice_item_params p = BILLING_INVOICE_ITEM_PARAMS_INIT;
	billing_invoice_item *it = NULL;
	billing_page *page = NULL;

	p.customer_id = "cus_nobody";
	p.currency = "EUR";
	p.description = "Fee";
	p.amount = 100;
	assert_int_equal(billing_invoice_item_create(&it, f->w->ctx, &f->admin, &p, NULL),
		BILLING_EINVALID);
	assert_field("customerId");
	p.customer_id = f->cus_id;
	p.currency = "EURO";
	assert_int_equal(billing_invoice_item_create(&it, f->w->ctx, &f->admin, &p, NULL),
		BILLING_EINVALID);
	assert_field("currency");
	p.currency = "EUR";
	p.description = "   ";
	assert_int_equal(billing_invoice_item_create(&it, f->w->ctx, &f->admin, &p, NULL),
		BILLING_EINVALID);
	assert_field("description");
	p.description = "Fee";
	p.fields = BILLING_INVOICE_ITEM_UNIT_AMOUNT;
	p.unit_amount = 5;
	assert_int_equal(billing_invoice_item_create(&it, f->w->ctx, &f->admin, &p, NULL),
		BILLING_EINVALID);
	assert_field("amount");
	p.fields = 0;
	p.unit_amount = 10;
	p.quantity = 2000000;
	p.amount = 0;
	assert_int_equal(billing_invoice_item_create(&it, f->w->ctx, &f->admin, &p, NULL),
		BILLING_EINVALID);
	assert_field("quantity");
	p.quantity = 0;
	p.unit_amount = 0;
	p.amount = 100;
	p.fields = 1u << 12;
	assert_int_equal(billing_invoice_item_create(&it, f->w->ctx, &f->admin, &p, NULL),
		BILLING_EINVALID);
	assert_field("fields");
	p.fields = 0;
	p.version = 99;
	assert_int_equal(billing_invoice_item_create(&it, f->w->ctx, &f->admin, &p, NULL),
		BILLING_EINVALID);
	assert_field("version");
	p.version = BILLING_INVOICE_ITEM_PARAMS_VERSION;
	assert_int_equal(billing_invoice_item_create(&it, f->w->ctx, &user, &p, NULL),
		BILLING_EFORBIDDEN);
	assert_null(it);
	assert_int_equal(rows(f, "SELECT count(*) FROM invoice_items"), 0);

	it = item(f, "Fee", 100, NULL);
	p.fields = 0;
	assert_int_equal(billing_invoice_item_update(&it, f->w->ctx, &f->admin,
		billing_invoice_item_id(it), &p, NULL), BILLING_EINVALID);
	assert_field("fields");
	assert_int_equal(billing_invoice_item_delete(f->w->ctx, &user, billing_invoice_item_id(it),
		0), BILLING_EFORBIDDEN);
	tb_assert_rc(billing_invoice_item_list(&page, f->w->ctx, &user, NULL), BILLING_OK);
	assert_int_equal(billing_page_count(page), 1);
	billing_page_free(page);
	billing_invoice_item_free(it);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(invoice_item__create_get_list_update_delete),
		T(invoice_item__on_a_draft_moves_its_total_and_is_fixed_once_finalized),
		T(invoice_item__bad_input_refused_naming_the_field),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

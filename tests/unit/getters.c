/*
 * The NULL promise of the getters (docs/api.md, billing/common.h): every
 * exported getter and accessor, given a NULL object, returns NULL or its
 * documented "none" value and does not crash; a page or array accessor
 * given an index out of range (or a page of another kind) returns NULL.
 *
 * GETTERS below lists every one of them. tests/abi/check_getters.sh fails
 * when the shared library exports a getter that is not listed here, so a
 * new getter cannot ship without its NULL case. SQLite only: nothing here
 * depends on the backend.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb.h"

/*
 * One line per getter, by signature:
 *   PTR(fn)       fn(NULL) is NULL                 (a string or an object)
 *   INT(fn, v)    fn(NULL) == v                    (an integer, enum or flag)
 *   AT(fn)        fn(NULL, i) is NULL for every i  (an item of an array)
 *   KEY(fn)       fn(NULL, key) is NULL            (a lookup by key)
 *   PAGE(fn)      as AT, and also run on real pages below
 *   IAT(fn, v)    fn(NULL, i) == v for every i   (an integer of an item)
 * check_getters.sh reads the names from these lines: keep one per line.
 */
#define GETTERS(PTR, INT, AT, KEY, PAGE, IAT) \
	PAGE(billing_page_audit_entry) \
	PTR(billing_audit_entry_id) \
	INT(billing_audit_entry_at, 0) \
	PTR(billing_audit_entry_user_id) \
	INT(billing_audit_entry_role, BILLING_ROLE_NONE) \
	PTR(billing_audit_entry_operation) \
	PTR(billing_audit_entry_resource_id) \
	PTR(billing_audit_entry_request_id) \
	PTR(billing_audit_entry_idempotency_key) \
	\
	PAGE(billing_page_customer) \
	PTR(billing_customer_id) \
	PTR(billing_customer_tenant_id) \
	PTR(billing_customer_name) \
	PTR(billing_customer_email) \
	PTR(billing_customer_default_payment_method) \
	PTR(billing_customer_address) \
	PTR(billing_branding_legal_name) \
	PTR(billing_branding_address) \
	PTR(billing_branding_tax_id) \
	PTR(billing_branding_logo_type) \
	PTR(billing_branding_accent_color) \
	PTR(billing_branding_footer) \
	PTR(billing_branding_locale) \
	INT(billing_branding_updated_at, 0) \
	PTR(billing_customer_preferred_locale) \
	INT(billing_customer_metadata_count, 0) \
	AT(billing_customer_metadata_at) \
	KEY(billing_customer_metadata_get) \
	INT(billing_customer_created_at, 0) \
	INT(billing_customer_updated_at, 0) \
	INT(billing_customer_version, 0) \
	\
	PAGE(billing_page_event) \
	PTR(billing_event_id) \
	PTR(billing_event_type) \
	PTR(billing_event_resource_type) \
	PTR(billing_event_resource_id) \
	PTR(billing_event_data_json) \
	INT(billing_event_created_at, 0) \
	PTR(billing_event_tenant_id) \
	PTR(billing_event_request_id) \
	PTR(billing_event_idempotency_key) \
	\
	PAGE(billing_page_invoice) \
	PTR(billing_invoice_id) \
	PTR(billing_invoice_number) \
	INT(billing_invoice_status_of, 0) \
	PTR(billing_invoice_customer_id) \
	PTR(billing_invoice_subscription_id) \
	PTR(billing_invoice_currency) \
	INT(billing_invoice_subtotal, 0) \
	INT(billing_invoice_tax, 0) \
	INT(billing_invoice_total_discount, 0) \
	PTR(billing_invoice_discount_id) \
	INT(billing_invoice_total, 0) \
	INT(billing_invoice_amount_paid, 0) \
	INT(billing_invoice_amount_due, 0) \
	INT(billing_invoice_period_start, 0) \
	INT(billing_invoice_period_end, 0) \
	INT(billing_invoice_line_count, 0) \
	AT(billing_invoice_line_at) \
	INT(billing_invoice_created_at, 0) \
	INT(billing_invoice_finalized_at, 0) \
	INT(billing_invoice_paid_at, 0) \
	INT(billing_invoice_voided_at, 0) \
	INT(billing_invoice_version, 0) \
	INT(billing_invoice_attempt_count, 0) \
	INT(billing_invoice_next_attempt_at, 0) \
	PTR(billing_invoice_action_payment) \
	INT(billing_invoice_collection_method, 0) \
	INT(billing_invoice_days_until_due, 0) \
	INT(billing_invoice_due_date, 0) \
	PTR(billing_invoice_memo) \
	PTR(billing_invoice_footer) \
	INT(billing_invoice_paid_out_of_band, 0) \
	PTR(billing_invoice_total_tax_amounts) \
	INT(billing_invoice_customer_tax_exempt, 0) \
	PTR(billing_invoice_tax_note) \
	PTR(billing_invoice_default_tax_rates) \
	PTR(billing_invoice_billing_reason) \
	\
	INT(billing_page_count, 0) \
	INT(billing_page_has_more, 0) \
	PTR(billing_page_next_cursor) \
	INT(billing_page_total, -1) \
	INT(billing_page_limit, 0) \
	INT(billing_page_number, 0) \
	\
	PAGE(billing_page_payment) \
	PTR(billing_payment_id) \
	PTR(billing_payment_invoice_id) \
	PTR(billing_payment_customer_id) \
	INT(billing_payment_status_of, 0) \
	INT(billing_payment_amount, 0) \
	PTR(billing_payment_currency) \
	INT(billing_payment_refunded_amount, 0) \
	PTR(billing_payment_provider) \
	PTR(billing_payment_provider_ref) \
	PTR(billing_payment_method) \
	PTR(billing_payment_failure_code) \
	PTR(billing_payment_failure_message) \
	INT(billing_payment_created_at, 0) \
	INT(billing_payment_updated_at, 0) \
	INT(billing_payment_version, 0) \
	PTR(billing_payment_next_action_type) \
	PTR(billing_payment_next_action_url) \
	PTR(billing_payment_client_secret) \
	\
	PAGE(billing_page_plan) \
	PTR(billing_plan_id) \
	PTR(billing_plan_tenant_id) \
	PTR(billing_plan_product_id) \
	PTR(billing_plan_code) \
	PTR(billing_plan_name) \
	PTR(billing_plan_description) \
	INT(billing_plan_amount, 0) \
	PTR(billing_plan_currency) \
	INT(billing_plan_interval, BILLING_INTERVAL_NONE) \
	INT(billing_plan_interval_count, 0) \
	INT(billing_plan_trial_days, 0) \
	INT(billing_plan_term_count, 0) \
	INT(billing_plan_active, 0) \
	INT(billing_plan_metadata_count, 0) \
	AT(billing_plan_metadata_at) \
	KEY(billing_plan_metadata_get) \
	INT(billing_plan_created_at, 0) \
	INT(billing_plan_updated_at, 0) \
	INT(billing_plan_version, 0) \
	INT(billing_plan_billing_scheme, BILLING_SCHEME_PER_UNIT) \
	INT(billing_plan_tiers_mode, BILLING_TIERS_NONE) \
	INT(billing_plan_tier_count, 0) \
	AT(billing_plan_tier_at) \
	INT(billing_plan_transform_divide_by, 0) \
	INT(billing_plan_transform_round, BILLING_PACKAGE_ROUND_UP) \
	INT(billing_plan_usage_type, BILLING_USAGE_LICENSED) \
	PTR(billing_plan_meter_id) \
	PTR(billing_plan_default_tax_rates) \
	\
	PAGE(billing_page_product) \
	PTR(billing_product_id) \
	PTR(billing_product_tenant_id) \
	PTR(billing_product_name) \
	PTR(billing_product_sku) \
	PTR(billing_product_description) \
	INT(billing_product_price_cents, 0) \
	PTR(billing_product_currency) \
	INT(billing_product_tax_rate_bp, 0) \
	INT(billing_product_is_active, 0) \
	INT(billing_product_stock, 0) \
	INT(billing_product_low_stock_threshold, 0) \
	INT(billing_product_metadata_count, 0) \
	AT(billing_product_metadata_at) \
	KEY(billing_product_metadata_get) \
	INT(billing_product_created_at, 0) \
	INT(billing_product_updated_at, 0) \
	INT(billing_product_version, 0) \
	\
	PAGE(billing_page_subscription) \
	PTR(billing_subscription_id) \
	PTR(billing_subscription_customer_id) \
	PTR(billing_subscription_plan_id) \
	INT(billing_subscription_status_of, 0) \
	INT(billing_subscription_quantity, 0) \
	PTR(billing_subscription_currency) \
	INT(billing_subscription_anchor, 0) \
	INT(billing_subscription_current_period_start, 0) \
	INT(billing_subscription_current_period_end, 0) \
	INT(billing_subscription_trial_end, 0) \
	INT(billing_subscription_cancel_at_period_end, 0) \
	INT(billing_subscription_canceled_at, 0) \
	INT(billing_subscription_ended_at, 0) \
	PTR(billing_subscription_latest_invoice_id) \
	PTR(billing_subscription_pending_plan_id) \
	INT(billing_subscription_metadata_count, 0) \
	AT(billing_subscription_metadata_at) \
	INT(billing_subscription_created_at, 0) \
	INT(billing_subscription_version, 0) \
	PTR(billing_subscription_items_json) \
	PTR(billing_subscription_default_tax_rates) \
	PTR(billing_subscription_discount_json) \
	INT(billing_subscription_threshold_amount_gte, 0) \
	\
	PAGE(billing_page_subscription_item) \
	PTR(billing_subscription_item_id) \
	PTR(billing_subscription_item_subscription_id) \
	PTR(billing_subscription_item_plan_id) \
	INT(billing_subscription_item_quantity, 0) \
	INT(billing_subscription_item_created_at, 0) \
	INT(billing_subscription_item_version, 0) \
	\
	KEY(billing_resource_field) \
	\
	PAGE(billing_page_tax_rate) \
	PTR(billing_tax_rate_id) \
	PTR(billing_tax_rate_tenant_id) \
	PTR(billing_tax_rate_display_name) \
	PTR(billing_tax_rate_description) \
	INT(billing_tax_rate_percentage, 0) \
	INT(billing_tax_rate_inclusive, 0) \
	PTR(billing_tax_rate_country) \
	PTR(billing_tax_rate_region) \
	INT(billing_tax_rate_active, 0) \
	PTR(billing_tax_rate_metadata_json) \
	INT(billing_tax_rate_metadata_count, 0) \
	AT(billing_tax_rate_metadata_at) \
	KEY(billing_tax_rate_metadata_get) \
	INT(billing_tax_rate_created_at, 0) \
	INT(billing_tax_rate_updated_at, 0) \
	INT(billing_tax_rate_version, 0) \
	\
	PAGE(billing_page_invoice_item) \
	PTR(billing_invoice_item_id) \
	PTR(billing_invoice_item_tenant_id) \
	PTR(billing_invoice_item_customer_id) \
	PTR(billing_invoice_item_subscription_id) \
	PTR(billing_invoice_item_invoice_id) \
	PTR(billing_invoice_item_description) \
	PTR(billing_invoice_item_currency) \
	PTR(billing_invoice_item_tax_rates) \
	INT(billing_invoice_item_amount, 0) \
	INT(billing_invoice_item_unit_amount, 0) \
	INT(billing_invoice_item_quantity, 0) \
	INT(billing_invoice_item_period_start, 0) \
	INT(billing_invoice_item_period_end, 0) \
	PTR(billing_invoice_item_metadata_json) \
	INT(billing_invoice_item_metadata_count, 0) \
	AT(billing_invoice_item_metadata_at) \
	KEY(billing_invoice_item_metadata_get) \
	INT(billing_invoice_item_created_at, 0) \
	INT(billing_invoice_item_updated_at, 0) \
	INT(billing_invoice_item_version, 0) \
	\
	PTR(billing_customer_balances_json) \
	PTR(billing_customer_discount_json) \
	PAGE(billing_page_balance_transaction) \
	PTR(billing_balance_transaction_id) \
	PTR(billing_balance_transaction_customer_id) \
	INT(billing_balance_transaction_type_of, 0) \
	INT(billing_balance_transaction_amount, 0) \
	PTR(billing_balance_transaction_currency) \
	PTR(billing_balance_transaction_description) \
	PTR(billing_balance_transaction_invoice_id) \
	INT(billing_balance_transaction_ending_balance, 0) \
	INT(billing_balance_transaction_created_at, 0) \
	INT(billing_invoice_starting_balance, 0) \
	INT(billing_invoice_ending_balance, 0) \
	INT(billing_invoice_pre_credit_notes_amount, 0) \
	INT(billing_invoice_post_payment_credit_notes_amount, 0) \
	\
	PAGE(billing_page_credit_note) \
	PTR(billing_credit_note_id) \
	PTR(billing_credit_note_number) \
	PTR(billing_credit_note_invoice_id) \
	PTR(billing_credit_note_customer_id) \
	PTR(billing_credit_note_currency) \
	INT(billing_credit_note_status_of, 0) \
	INT(billing_credit_note_type_of, 0) \
	INT(billing_credit_note_subtotal, 0) \
	INT(billing_credit_note_tax, 0) \
	INT(billing_credit_note_total, 0) \
	INT(billing_credit_note_refund_amount, 0) \
	INT(billing_credit_note_credit_amount, 0) \
	INT(billing_credit_note_out_of_band_amount, 0) \
	PTR(billing_credit_note_refund_id) \
	PTR(billing_credit_note_lines_json) \
	PTR(billing_credit_note_metadata_json) \
	PAGE(billing_page_dispute) \
	PTR(billing_dispute_id) \
	PTR(billing_discount_id) \
	PTR(billing_discount_customer_id) \
	PTR(billing_discount_subscription_id) \
	PTR(billing_discount_coupon_id) \
	PTR(billing_discount_promotion_code_id) \
	INT(billing_discount_start, 0) \
	INT(billing_discount_end, 0) \
	PTR(billing_dispute_tenant_id) \
	PTR(billing_dispute_payment_id) \
	PTR(billing_dispute_invoice_id) \
	PTR(billing_dispute_customer_id) \
	PTR(billing_dispute_provider) \
	PTR(billing_dispute_provider_ref) \
	INT(billing_dispute_amount, 0) \
	PTR(billing_dispute_currency) \
	PTR(billing_dispute_reason) \
	INT(billing_dispute_status_of, 0) \
	INT(billing_dispute_evidence_due_by, 0) \
	INT(billing_dispute_closed_at, 0) \
	PTR(billing_dispute_metadata_json) \
	INT(billing_dispute_created_at, 0) \
	INT(billing_dispute_updated_at, 0) \
	INT(billing_dispute_version, 0) \
	\
	PAGE(billing_page_payment_method) \
	PTR(billing_payment_method_id) \
	PTR(billing_payment_method_customer_id) \
	PTR(billing_payment_method_provider_ref) \
	PTR(billing_payment_method_brand) \
	PTR(billing_payment_method_last4) \
	INT(billing_payment_method_exp_month, 0) \
	INT(billing_payment_method_exp_year, 0) \
	\
	PAGE(billing_page_tenant) \
	PTR(billing_tenant_id) \
	PTR(billing_tenant_name) \
	PTR(billing_tenant_invoice_prefix) \
	PTR(billing_tenant_credit_note_prefix) \
	INT(billing_tenant_created_at, 0) \
	INT(billing_tenant_renewal_draft_delay, 0) \
	\
	PTR(billing_user_id) \
	PTR(billing_user_tenant_id) \
	PTR(billing_user_email) \
	INT(billing_user_role, BILLING_ROLE_NONE) \
	PTR(billing_user_password_hash) \
	INT(billing_user_created_at, 0) \
	\
	PAGE(billing_page_webhook_endpoint) \
	PTR(billing_webhook_endpoint_id) \
	PTR(billing_webhook_endpoint_url) \
	INT(billing_webhook_endpoint_event_type_count, 0) \
	AT(billing_webhook_endpoint_event_type_at) \
	INT(billing_webhook_endpoint_enabled, 0) \
	PTR(billing_webhook_endpoint_description) \
	PTR(billing_webhook_endpoint_secret) \
	PTR(billing_webhook_endpoint_disabled_reason) \
	INT(billing_webhook_endpoint_created_at, 0) \
	INT(billing_webhook_endpoint_updated_at, 0) \
	INT(billing_webhook_endpoint_version, 0) \
	\
	PAGE(billing_page_webhook_delivery) \
	PTR(billing_webhook_delivery_id) \
	PTR(billing_webhook_delivery_endpoint_id) \
	PTR(billing_webhook_delivery_event_id) \
	INT(billing_webhook_delivery_status_of, 0) \
	INT(billing_webhook_delivery_attempt_count, 0) \
	INT(billing_webhook_delivery_next_attempt_at, 0) \
	INT(billing_webhook_delivery_created_at, 0) \
	INT(billing_webhook_delivery_attempts, 0) \
	AT(billing_webhook_delivery_attempt_at) \
	\
	INT(billing_usage_result_count, 0) \
	IAT(billing_usage_result_status, 0) \
	AT(billing_usage_result_transaction_id) \
	AT(billing_usage_result_code) \
	AT(billing_usage_result_field) \
	AT(billing_usage_result_message) \
	AT(billing_usage_result_subscription_id) \
	PTR(billing_usage_summary_subscription_id) \
	INT(billing_usage_summary_period_start, 0) \
	INT(billing_usage_summary_period_end, 0) \
	INT(billing_usage_summary_count, 0) \
	AT(billing_usage_summary_meter_id) \
	IAT(billing_usage_summary_value, 0) \
	IAT(billing_usage_summary_events, 0) \
	IAT(billing_usage_summary_amount, 0) \
	IAT(billing_usage_summary_billed_amount, 0)

/* One thunk per getter, called with a NULL object. The integer thunks
 * convert implicitly, so listing a pointer getter under INT does not
 * compile (-Wint-conversion), nor an integer getter under PTR. */
#define T_PTR(fn) static const void *t_##fn(void) { return fn(NULL); }
#define T_INT(fn, v) static int64_t t_##fn(void) { int64_t r = fn(NULL); return r; }
#define T_AT(fn) static const void *t_##fn(size_t i) { return fn(NULL, i); }
#define T_KEY(fn) static const void *t_##fn(const char *k) { return fn(NULL, k); }
#define T_PAGE(fn) \
	static const void *t_##fn(const billing_page *p, size_t i) { return fn(p, i); }
#define T_IAT(fn, v) static int64_t t_##fn(size_t i) { int64_t r = fn(NULL, i); return r; }
GETTERS(T_PTR, T_INT, T_AT, T_KEY, T_PAGE, T_IAT)

typedef enum { G_PTR, G_INT, G_AT, G_KEY, G_PAGE, G_IAT } g_kind;

typedef struct {
	const char *name;
	g_kind kind;
	int64_t want;                                       /* G_INT */
	const void *(*ptr)(void);                           /* G_PTR */
	int64_t (*num)(void);                               /* G_INT */
	const void *(*at)(size_t i);                        /* G_AT */
	const void *(*key)(const char *key);                /* G_KEY */
	const void *(*page)(const billing_page *p, size_t i); /* G_PAGE */
	int64_t (*inum)(size_t i);                          /* G_IAT */
} getter;

#define R_PTR(fn) { #fn, G_PTR, 0, .ptr = t_##fn },
#define R_INT(fn, v) { #fn, G_INT, (v), .num = t_##fn },
#define R_AT(fn) { #fn, G_AT, 0, .at = t_##fn },
#define R_KEY(fn) { #fn, G_KEY, 0, .key = t_##fn },
#define R_PAGE(fn) { #fn, G_PAGE, 0, .page = t_##fn },
#define R_IAT(fn, v) { #fn, G_IAT, (v), .inum = t_##fn },
static const getter getters[] = { GETTERS(R_PTR, R_INT, R_AT, R_KEY, R_PAGE, R_IAT) };
#define NGETTERS (sizeof(getters) / sizeof(getters[0]))

static const size_t indexes[] = { 0, 1, 2, SIZE_MAX };
#define NINDEXES (sizeof(indexes) / sizeof(indexes[0]))

/* ------------------------------------------------------------ NULL */

static void getters__null_object_gives_null_or_the_none_value(void **state)
{
	size_t g, k, bad = 0;
	(void)state;
	for (g = 0; g < NGETTERS; g++) {
		const getter *x = &getters[g];
		switch (x->kind) {
		case G_PTR:
			if (x->ptr() != NULL) {
				print_error("%s(NULL) is not NULL\n", x->name);
				bad++;
			}
			break;
		case G_INT: {
			int64_t got = x->num();
			if (got != x->want) {
				print_error("%s(NULL) = %lld, want %lld\n", x->name,
					(long long)got, (long long)x->want);
				bad++;
			}
			break;
		}
		case G_AT:
			for (k = 0; k < NINDEXES; k++)
				if (x->at(indexes[k]) != NULL) {
					print_error("%s(NULL, %zu) is not NULL\n", x->name, indexes[k]);
					bad++;
				}
			break;
		case G_KEY:
			if (x->key("k") != NULL || x->key(NULL) != NULL) {
				print_error("%s(NULL, key) is not NULL\n", x->name);
				bad++;
			}
			break;
		case G_PAGE:
			for (k = 0; k < NINDEXES; k++)
				if (x->page(NULL, indexes[k]) != NULL) {
					print_error("%s(NULL, %zu) is not NULL\n", x->name, indexes[k]);
					bad++;
				}
			break;
		case G_IAT:
			for (k = 0; k < NINDEXES; k++)
				if (x->inum(indexes[k]) != x->want) {
					print_error("%s(NULL, %zu) is not %lld\n", x->name, indexes[k],
						(long long)x->want);
					bad++;
				}
			break;
		}
	}
	assert_int_equal(bad, 0);
}

/* ------------------------------------------------------------ real objects */

typedef tb_fx fx;   /* a world with tenant "Acme" and its ADMIN (tb.h) */

/* A customer with two metadata entries. */
static billing_customer *customer_with_metadata(fx *f, const char *email)
{
	static const billing_metadata_entry md[] = { { "a", "1" }, { "b", "2" } };
	billing_customer_params p = BILLING_CUSTOMER_PARAMS_INIT;
	billing_customer *c = NULL;
	p.name = "Ada";
	p.email = email;
	p.metadata = md;
	p.metadata_count = 2;
	tb_assert_rc(billing_customer_create(&c, f->w->ctx, &f->admin, &p, NULL), BILLING_OK);
	assert_non_null(c);
	return c;
}

/* On a page of two customers: billing_page_customer gives items 0 and 1
 * and NULL past them; every other page accessor gives NULL for every
 * index, since the page holds customers. */
static void page_accessors__out_of_range_or_other_kind_give_null(void **state)
{
	fx *f = *state;
	billing_list_params lp = BILLING_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	size_t g, k, pages = 0;
	billing_customer_free(customer_with_metadata(f, "a@example.com"));
	billing_customer_free(customer_with_metadata(f, "b@example.com"));
	tb_assert_rc(billing_customer_list(&page, f->w->ctx, &f->admin, &lp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 2);

	assert_non_null(billing_page_customer(page, 0));
	assert_non_null(billing_page_customer(page, 1));
	assert_null(billing_page_customer(page, 2));
	assert_null(billing_page_customer(page, SIZE_MAX));

	for (g = 0; g < NGETTERS; g++) {
		const getter *x = &getters[g];
		int mine = strcmp(x->name, "billing_page_customer") == 0;
		if (x->kind != G_PAGE)
			continue;
		pages++;
		for (k = 0; k < NINDEXES; k++) {
			if (mine && indexes[k] < 2)
				continue;
			if (x->page(page, indexes[k]) != NULL)
				fail_msg("%s(customer page, %zu) is not NULL", x->name, indexes[k]);
		}
	}
	assert_true(pages >= 11);
	billing_page_free(page);
}

static void metadata_at__out_of_range_gives_null(void **state)
{
	fx *f = *state;
	billing_customer *c = customer_with_metadata(f, "m@example.com");
	assert_int_equal(billing_customer_metadata_count(c), 2);
	assert_non_null(billing_customer_metadata_at(c, 1));
	assert_null(billing_customer_metadata_at(c, 2));
	assert_null(billing_customer_metadata_at(c, SIZE_MAX));
	assert_string_equal(billing_customer_metadata_get(c, "b"), "2");
	assert_null(billing_customer_metadata_get(c, "c"));
	assert_null(billing_customer_metadata_get(c, NULL));
	billing_customer_free(c);
}

static void event_type_at__out_of_range_gives_null(void **state)
{
	fx *f = *state;
	static const char *const types[] = { "invoice.paid", "invoice.*" };
	billing_webhook_endpoint_params p = BILLING_WEBHOOK_ENDPOINT_PARAMS_INIT;
	billing_webhook_endpoint *e = NULL;
	p.url = "https://example.com/hooks";
	p.event_types = types;
	p.event_type_count = 2;
	tb_assert_rc(billing_webhook_endpoint_create(&e, f->w->ctx, &f->admin, &p, NULL),
		BILLING_OK);
	assert_int_equal(billing_webhook_endpoint_event_type_count(e), 2);
	assert_non_null(billing_webhook_endpoint_event_type_at(e, 1));
	assert_null(billing_webhook_endpoint_event_type_at(e, 2));
	assert_null(billing_webhook_endpoint_event_type_at(e, SIZE_MAX));
	billing_webhook_endpoint_free(e);
}

static void invoice_line_at__out_of_range_gives_null(void **state)
{
	fx *f = *state;
	billing_customer *c = customer_with_metadata(f, "i@example.com");
	billing_plan *plan = tb_plan(f->w, f->tenant, &(tb_plan_spec){ .amount = 1000 });
	billing_subscription_params sp = BILLING_SUBSCRIPTION_PARAMS_INIT;
	billing_subscription *s = NULL;
	billing_invoice *inv = NULL;
	size_t n;
	sp.customer_id = billing_customer_id(c);
	sp.plan_id = billing_plan_id(plan);
	sp.quantity = 1;
	tb_assert_rc(billing_subscription_create(&s, f->w->ctx, &f->admin, &sp, NULL), BILLING_OK);
	assert_non_null(billing_subscription_latest_invoice_id(s));
	assert_null(billing_subscription_metadata_at(s, billing_subscription_metadata_count(s)));
	assert_null(billing_subscription_metadata_at(s, SIZE_MAX));
	tb_assert_rc(billing_invoice_get(&inv, f->w->ctx, &f->admin,
		billing_subscription_latest_invoice_id(s)), BILLING_OK);
	n = billing_invoice_line_count(inv);
	assert_true(n >= 1);
	assert_non_null(billing_invoice_line_at(inv, n - 1));
	assert_null(billing_invoice_line_at(inv, n));
	assert_null(billing_invoice_line_at(inv, SIZE_MAX));
	billing_invoice_free(inv);
	billing_subscription_free(s);
	billing_plan_free(plan);
	billing_customer_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(getters__null_object_gives_null_or_the_none_value),
		cmocka_unit_test_setup_teardown(page_accessors__out_of_range_or_other_kind_give_null,
			tb_fx_setup, tb_fx_teardown),
		cmocka_unit_test_setup_teardown(metadata_at__out_of_range_gives_null, tb_fx_setup, tb_fx_teardown),
		cmocka_unit_test_setup_teardown(event_type_at__out_of_range_gives_null, tb_fx_setup,
			tb_fx_teardown),
		cmocka_unit_test_setup_teardown(invoice_line_at__out_of_range_gives_null, tb_fx_setup,
			tb_fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

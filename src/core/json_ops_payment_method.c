/*
 * The JSON operations of stored payment methods that the generic adapter
 * cannot serve (json_ops.h): attaching and detaching ask the payment
 * provider outside any transaction (payment_method.c), and a SetupIntent
 * is the provider's object, not a stored one. Reads (payment_methods.get,
 * .list) come from the descriptor (json_record.c).
 */
#include <cJSON.h>
#include <string.h>

#include "billing/payment_method.h"
#include "core/core.h"
#include "core/json_ops.h"
#include "core/json_out.h"

static const field_spec f_pm_create[] = {
	{ "customerId", T_STRING, true, false, "the customer (cus_...)" },
	{ "providerPaymentMethodId", T_STRING, true, false,
		"the provider's payment method (pm_...), after the front end confirmed a SetupIntent" },
	{ NULL, 0, false, false, NULL }
};
static const field_spec f_setup_create[] = {
	{ "customerId", T_STRING, true, false, "the customer (cus_...)" },
	{ NULL, 0, false, false, NULL }
};

static cJSON *pm_json(const void *item)
{
	return billing__record_json(billing__rules_find("payment_methods")->res, item);
}

static void free_pm(void *pm) { billing_payment_method_free(pm); }

static int op_pm_create(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_payment_method_params p = BILLING_PAYMENT_METHOD_PARAMS_INIT;
	billing_stored_payment_method *pm = NULL;
	int rc;
	p.customer_id = jstr(in, "customerId");
	p.provider_ref = jstr(in, "providerPaymentMethodId");
	rc = billing_payment_method_attach(&pm, ctx, who, &p, opts);
	return item_out(res, rc, pm, pm_json, free_pm);
}

static int op_pm_delete(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	(void)opts;
	return deleted_out(res, billing_payment_method_detach(ctx, who, jstr(in, "id")),
		jstr(in, "id"));
}

static int op_setup_create(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_setup_intent si;
	billing__jb b = { NULL, false };
	int rc;
	if ((rc = billing_setup_intent_create(&si, ctx, who, jstr(in, "customerId"), opts)) < 0)
		return rc;
	b.obj = cJSON_CreateObject();
	billing__jb_add(&b, "id", cJSON_CreateString(si.id));
	billing__jb_add(&b, "object", cJSON_CreateString("setup_intent"));
	billing__jb_add(&b, "clientSecret", cJSON_CreateString(si.client_secret));
	billing__jb_add(&b, "status", cJSON_CreateString(si.status));
	billing__jb_add(&b, "customerId", cJSON_CreateString(jstr(in, "customerId")));
	memset(&si, 0, sizeof(si));
	return (*res = billing__jb_done(&b)) ? BILLING_OK : nomem();
}

const op_entry billing__json_ops_payment_method[] = {
	{ BILLING_OP_PAYMENT_METHODS_CREATE, op_pm_create,
		"Store a customer's payment method from the provider (after its SetupIntent was "
		"confirmed): the provider reports brand, last4 and expiry.", f_pm_create,
		OUT_OBJECT, "PaymentMethod" },
	{ BILLING_OP_PAYMENT_METHODS_DELETE, op_pm_delete,
		"Detach a stored payment method at the provider and delete it; the customer's "
		"default is refused (409 payment_method_is_default).", f_id_only,
		OUT_OBJECT, "Deleted" },
	{ BILLING_OP_SETUP_INTENTS_CREATE, op_setup_create,
		"Make a SetupIntent (off-session use) for the customer at the provider; the front "
		"end confirms it with clientSecret.", f_setup_create,
		OUT_OBJECT, "SetupIntent" },
};
BILLING__JSON_AREA_END(payment_method);

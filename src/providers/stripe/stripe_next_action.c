/*
 * What a PaymentIntent awaiting the customer's action asks the front end to
 * do (issue #18 item 4): next_action.type ("use_stripe_sdk": Stripe.js
 * handleNextAction with the client secret; "redirect_to_url": send the
 * customer to next_action.redirect_to_url.url) and the PaymentIntent's
 * client_secret. The secret is a credential of this PaymentIntent only: it
 * goes to the core, which stores it on the payment, and is never logged.
 */
#include <string.h>

#include "providers/stripe/stripe_internal.h"

void billing__stripe_next_action(const cJSON *pi, billing_provider_result *out)
{
	const cJSON *na = billing__stripe_member(pi, "next_action");
	const char *type = billing__stripe_member_str(na, "type");

	out->next_action_type[0] = out->client_secret[0] = out->redirect_url[0] = '\0';
	if (out->status != BILLING_PAYMENT_REQUIRES_ACTION)
		return;
	billing__stripe_copy_text(out->next_action_type, sizeof(out->next_action_type), type);
	billing__stripe_copy_text(out->client_secret, sizeof(out->client_secret),
		billing__stripe_member_str(pi, "client_secret"));
	if (type && strcmp(type, "redirect_to_url") == 0)
		billing__stripe_copy_text(out->redirect_url, sizeof(out->redirect_url),
			billing__stripe_member_str(billing__stripe_member(na, "redirect_to_url"),
				"url"));
}

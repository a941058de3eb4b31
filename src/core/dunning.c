/*
 * Dunning: the tenant's retry policy for failed automatic payments (get and
 * set), and what a failed attempt schedules next under it: the next retry,
 * or the policy's final action on the subscription when none is left.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "core/events.h"
#include "core/invoice_internal.h"
#include "core/payment_internal.h"
#include "core/subscription_internal.h"

#define DAY 86400

static const billing_dunning_policy default_policy = {
	4, { 1, 3, 5, 7 }, BILLING_DUNNING_CANCEL
};

/* The stored row: the policy and the tenant's expiry of payments awaiting
 * action (billing_dunning_set_action_expiry; 0: the host's). */
struct stored {
	billing_dunning_policy pol;
	int64_t action_expiry;
};

static int dunning_row(void *payload, const void *record)
{
	const billing_dunning_record *r = record;
	struct stored *st = payload;
	billing_dunning_policy *p = &st->pol;
	const char *s = r->retry_days;
	char *end;

	memset(st, 0, sizeof(*st));
	st->action_expiry = r->action_expiry;
	p->final_action = (billing_dunning_action)r->final_action;
	while (*s && p->retry_count < BILLING_DUNNING_MAX_RETRIES) {
		long d = strtol(s, &end, 10);
		if (end == s)
			return billing__error_set(BILLING_ESTORAGE, "storage", "malformed dunning policy");
		p->retry_days[p->retry_count++] = (int32_t)d;
		s = *end == ',' ? end + 1 : end;
	}
	return BILLING_OK;
}

static int stored_get(struct stored *out, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id)
{
	int rc = ctx->st->record_read(tx, &billing__res_dunning, NULL, tenant_id, BILLING_LOCK_NONE,
		dunning_row, out);
	if (rc == BILLING_ENOTFOUND) {
		out->pol = default_policy;
		out->action_expiry = 0;
		rc = BILLING_OK;
	}
	return rc;
}

static int policy_get(billing_dunning_policy *out, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id)
{
	struct stored st;
	int rc = stored_get(&st, ctx, tx, tenant_id);
	*out = st.pol;
	return rc;
}

int billing__dunning_action_expiry(int64_t *out, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id)
{
	struct stored st;
	int rc = stored_get(&st, ctx, tx, tenant_id);
	*out = rc == BILLING_OK ? st.action_expiry : 0;
	return rc;
}

int billing_dunning_get(billing_dunning_policy *out, billing_ctx *ctx,
	const billing_principal *who)
{
	billing_txn *tx;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_DUNNING_GET)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_READ)) < 0)
		return rc;
	return billing__end(ctx, tx, policy_get(out, ctx, tx, who->tenant_id));
}

int billing_dunning_action_expiry(int64_t *out, billing_ctx *ctx,
	const billing_principal *who)
{
	billing_txn *tx;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_DUNNING_GET)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_READ)) < 0)
		return rc;
	return billing__end(ctx, tx, billing__dunning_action_expiry(out, ctx, tx,
		who->tenant_id));
}

/* Writes the policy (NULL: keep the stored one) and the expiry (< 0: keep
 * the stored one) in one transaction. */
static int dunning_put_once(billing_ctx *ctx, const billing_principal *who,
	const billing_dunning_policy *policy, int64_t action_expiry)
{
	billing__checks c = BILLING__CHECKS_INIT;
	billing_dunning_record r;
	char days[BILLING_DUNNING_MAX_RETRIES * 5 + 1] = "";
	struct stored st;
	size_t i, j = 0;
	billing_txn *tx;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_DUNNING_SET)) < 0)
		return rc;
	if (action_expiry > 0 && (action_expiry < 60 ||
	    action_expiry > BILLING_DUNNING_ACTION_EXPIRY_MAX))
		billing__check_fail(&c, "actionExpirySeconds", "from 60 to %d seconds, or 0 for the "
			"host's default", BILLING_DUNNING_ACTION_EXPIRY_MAX);
	if (!policy) {
		if ((rc = billing__checks_finish(&c, "dunning policy")) < 0)
			return rc;
		goto write;
	}
	if (policy->retry_count > BILLING_DUNNING_MAX_RETRIES)
		billing__check_fail(&c, "retryDays", "at most %d retries",
			BILLING_DUNNING_MAX_RETRIES);
	else
		for (i = 0; i < policy->retry_count; i++) {
			int32_t d = policy->retry_days[i];
			if (d < 1 || d > 365 || (i > 0 && d <= policy->retry_days[i - 1])) {
				billing__check_fail(&c, "retryDays",
					"days must increase, each from 1 to 365");
				break;
			}
			j += (size_t)snprintf(days + j, sizeof(days) - j, "%s%d", i ? "," : "", (int)d);
		}
	if (policy->final_action != BILLING_DUNNING_CANCEL &&
	    policy->final_action != BILLING_DUNNING_UNPAID &&
	    policy->final_action != BILLING_DUNNING_KEEP_PAST_DUE)
		billing__check_fail(&c, "finalAction", "must be cancel, unpaid or keep_past_due");
	if ((rc = billing__checks_finish(&c, "dunning policy")) < 0)
		return rc;
write:
	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_WRITE)) < 0)
		return rc;
	if ((rc = stored_get(&st, ctx, tx, who->tenant_id)) < 0)
		return billing__end(ctx, tx, rc);
	if (!policy) {
		/* the stored policy, as it was written */
		for (i = 0; i < st.pol.retry_count; i++)
			j += (size_t)snprintf(days + j, sizeof(days) - j, "%s%d", i ? "," : "",
				(int)st.pol.retry_days[i]);
		policy = &st.pol;
	}
	memset(&r, 0, sizeof(r));
	r.tenant_id = who->tenant_id;
	r.retry_days = days;
	r.final_action = policy->final_action;
	r.updated_at = billing__now(ctx);
	r.action_expiry = action_expiry >= 0 ? action_expiry : st.action_expiry;
	if ((rc = billing__record_put(ctx->st, tx, &billing__res_dunning, &r)) == BILLING_OK)
		rc = billing__audit_record(ctx, tx, who->tenant_id, NULL);
	return billing__end(ctx, tx, rc);
}

int billing__dunning_put(billing_ctx *ctx, const billing_principal *who,
	const billing_dunning_policy *policy, int64_t action_expiry)
{
	BILLING__RETRY(dunning_put_once(ctx, who, policy, action_expiry));
}

int billing_dunning_set(billing_ctx *ctx, const billing_principal *who,
	const billing_dunning_policy *policy)
{
	int rc;
	if ((rc = billing__authorize(ctx, who, BILLING_OP_DUNNING_SET)) < 0)
		return rc;
	BILLING__ASSERT_ARG(policy, "policy");
	return billing__dunning_put(ctx, who, policy, -1);
}

int billing_dunning_set_action_expiry(billing_ctx *ctx, const billing_principal *who,
	int64_t seconds)
{
	int rc;
	if ((rc = billing__authorize(ctx, who, BILLING_OP_DUNNING_SET)) < 0)
		return rc;
	if (seconds < 0)
		return billing__error_field(BILLING_EINVALID, "invalid", "actionExpirySeconds",
			"from 60 to %d seconds, or 0 for the host's default",
			BILLING_DUNNING_ACTION_EXPIRY_MAX);
	return billing__dunning_put(ctx, who, NULL, seconds);
}

/*
 * After a failed automatic attempt: the next retry of the policy, counted
 * from the invoice's finalization (retry k after retry_days[k-1] days, k =
 * attempts made so far), or the policy's final action when none is left.
 */
int billing__dunning_next(billing_ctx *ctx, billing_txn *tx, billing_invoice *inv, int64_t now)
{
	billing_dunning_policy pol;
	int rc;
	size_t k = inv->attempt_count > 0 ? (size_t)inv->attempt_count - 1 : 0;
	int64_t due_then;

	if ((rc = policy_get(&pol, ctx, tx, inv->tenant_id)) < 0)
		return rc;
	/* When the attempt that just failed was due, by the same schedule (a
	 * late run made it later): what its failure decides took effect then. */
	due_then = k == 0 || k - 1 >= pol.retry_count ? now :
		inv->finalized_at + (int64_t)pol.retry_days[k - 1] * DAY;
	if (due_then > now || due_then < inv->finalized_at)
		due_then = now;
	if (k < pol.retry_count) {
		/* Due at its own time even when that has passed (a late run): the
		 * run takes it at once, in time order with the tenant's other due
		 * work, so a final retry due before a renewal ends the
		 * subscription before that renewal is billed. */
		inv->next_attempt_at = inv->finalized_at + (int64_t)pol.retry_days[k] * DAY;
		return billing__payment_due(ctx, tx, inv->tenant_id, BILLING__DUE_COLLECT, inv->id,
			inv->next_attempt_at);
	}
	inv->next_attempt_at = 0;
	if ((rc = ctx->st->due_clear(tx, inv->tenant_id, BILLING__DUE_COLLECT, inv->id)) < 0)
		return rc;
	billing__log(ctx, BILLING_LOG_INFO, "invoice %s: retries exhausted", inv->id);
	if (!inv->subscription_id || pol.final_action == BILLING_DUNNING_KEEP_PAST_DUE)
		return BILLING_OK;
	return billing__subscription_payment(ctx, tx, inv->tenant_id, inv->subscription_id,
		pol.final_action == BILLING_DUNNING_UNPAID ? BILLING__SUB_RETRIES_EXHAUSTED_UNPAID :
		BILLING__SUB_RETRIES_EXHAUSTED, due_then, now);
}

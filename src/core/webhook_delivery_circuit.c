/*
 * The circuit of each webhook endpoint, per context (webhook_internal.h):
 * an endpoint whose exchanges keep timing out is set aside, so that one
 * tenant's hanging receiver does not hold slots that other tenants'
 * deliveries need, run after run. After BILLING__CIRCUIT_TIMEOUTS timeouts
 * in a row (no answer in between) the circuit opens for
 * BILLING__CIRCUIT_OPEN seconds: its deliveries wait, without an attempt,
 * until then. Then one delivery is let through as a trial: an answer (of
 * any status) or any other outcome closes the circuit, another timeout
 * opens it again for twice as long (at most BILLING__CIRCUIT_OPEN_MAX).
 * Kept in memory: another process keeps its own, and a restart starts
 * with every circuit closed.
 */
#include <string.h>

#include "core/webhook_internal.h"

/* The slot of endpoint_id, or NULL; with make, a free one taken for it
 * (NULL when none is free: the endpoint is then not tracked). */
static billing__circuit *slot_of(billing_ctx *ctx, const char *endpoint_id, int make)
{
	billing__circuit *free_slot = NULL;
	size_t i;
	for (i = 0; i < BILLING__CIRCUITS; i++) {
		billing__circuit *c = &ctx->circuits[i];
		if (c->endpoint_id[0] == '\0') {
			if (!free_slot)
				free_slot = c;
			continue;
		}
		if (strcmp(c->endpoint_id, endpoint_id) == 0)
			return c;
	}
	if (!make || !free_slot || strlen(endpoint_id) >= sizeof(free_slot->endpoint_id))
		return NULL;
	memset(free_slot, 0, sizeof(*free_slot));
	memcpy(free_slot->endpoint_id, endpoint_id, strlen(endpoint_id) + 1);
	return free_slot;
}

int billing__circuit_admit(billing_ctx *ctx, const char *endpoint_id, int64_t now,
	int64_t *until)
{
	billing__circuit *c;
	int admit = 1;

	*until = 0;
	pthread_mutex_lock(&ctx->circuit_mu);
	if ((c = slot_of(ctx, endpoint_id, 0)) != NULL && c->open_until) {
		if (now < c->open_until || c->trial) {
			/* open, or its trial under way: wait until the circuit
			 * would next let one through */
			*until = now < c->open_until ? c->open_until : now + c->open_for;
			admit = 0;
		} else {
			c->trial = 1;   /* half open: this one alone */
			admit = 2;
		}
	}
	pthread_mutex_unlock(&ctx->circuit_mu);
	return admit;
}

void billing__circuit_outcome(billing_ctx *ctx, const char *endpoint_id, int timed_out,
	int64_t now)
{
	billing__circuit *c;
	int opened = 0;

	pthread_mutex_lock(&ctx->circuit_mu);
	c = slot_of(ctx, endpoint_id, timed_out);
	if (c && !timed_out) {
		memset(c, 0, sizeof(*c));       /* it answers: closed */
	} else if (c && c->trial) {
		c->trial = 0;
		c->open_for = c->open_for * 2 < BILLING__CIRCUIT_OPEN_MAX ? c->open_for * 2 :
			BILLING__CIRCUIT_OPEN_MAX;
		c->open_until = now + c->open_for;
	} else if (c && !c->open_until && ++c->timeouts >= BILLING__CIRCUIT_TIMEOUTS) {
		c->open_for = BILLING__CIRCUIT_OPEN;
		c->open_until = now + c->open_for;
		opened = 1;
	}
	pthread_mutex_unlock(&ctx->circuit_mu);
	if (opened)
		billing__log(ctx, BILLING_LOG_WARN, "webhook endpoint %s set aside for %d s: "
			"%d timeouts in a row", endpoint_id, BILLING__CIRCUIT_OPEN,
			BILLING__CIRCUIT_TIMEOUTS);
}

void billing__circuit_cancel(billing_ctx *ctx, const char *endpoint_id)
{
	billing__circuit *c;
	pthread_mutex_lock(&ctx->circuit_mu);
	if ((c = slot_of(ctx, endpoint_id, 0)) != NULL)
		c->trial = 0;
	pthread_mutex_unlock(&ctx->circuit_mu);
}

/*
 * The small world the library's fuzz targets run in: an in-memory SQLite
 * context with the test provider, one tenant, its ADMIN principal, and one
 * of each resource (customer, product, plan, subscription, invoice,
 * payment, webhook endpoint, event) so that operations taking an id can reach
 * past the lookup.
 *
 * Inputs may name those resources with placeholders that are replaced
 * before the call: $ten $cus $prd $pln $sub $inv $pay $whe $evt. The world is rebuilt
 * every WORLD_CALLS calls so that state a long run piles up (customers,
 * idempotency keys) stays small and an input's effect stays close to what
 * a fresh world would do with it.
 */
#ifndef BILLING_FUZZ_WORLD_H
#define BILLING_FUZZ_WORLD_H

#include <stddef.h>

#include <billing/billing.h>

#define WORLD_CALLS 2000

typedef struct {
	billing_ctx *ctx;
	billing_principal admin;
	char tenant[64], customer[64], product[64], plan[64], subscription[64], invoice[64],
		payment[64], endpoint[64], event[64];
	unsigned long calls;
	unsigned long generation;    /* counts rebuilds, for caches of ids and cursors */
} world;

/* Builds the world (aborts on failure: a fuzz target cannot run without
 * it), or rebuilds it when it has served WORLD_CALLS calls. */
world *world_get(void);

/* data with the placeholders replaced: a new NUL-terminated string (free()),
 * its length in *len. */
char *world_expand(const world *w, const char *data, size_t size, size_t *len);

/* Aborts unless out is a JSON object that cJSON parses whole, holding
 * "error" exactly when rc < 0 (billing_call_json's contract). With
 * FUZZ_VERBOSE set in the environment it prints each call (to check what
 * a corpus reaches). */
void world_check_json(const char *out, int rc, const char *operation);

#endif

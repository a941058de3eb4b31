/*
 * Resource ids: "<prefix>_" followed by 26 characters of lower-case
 * Crockford base32 encoding 128 bits: 48 bits of milliseconds since the
 * epoch (the injected clock's second, the system clock's milliseconds
 * within it), then 80 random bits. Ids made later sort after earlier ones;
 * within one millisecond of one process (or when the clock stands still or
 * goes back) the random part grows by a fresh random step of up to 2^48, so
 * ids from one process are strictly increasing and say nothing of how many
 * were made in between.
 */
#ifndef BILLING_CORE_IDS_H
#define BILLING_CORE_IDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BILLING_ID_BODY_LEN 26
#define BILLING_ID_MAX 48 /* room for the longest prefix, '_', body and NUL */

/* Writes a new id into out. now_ms: milliseconds since the epoch (>= 0);
 * a whole second (the core's clock ticks in seconds) gets the system
 * clock's milliseconds within its second added. Returns 0, or -1 if the
 * system's random source failed or prefix is too long. Thread-safe. */
int billing__id_new(char out[BILLING_ID_MAX], const char *prefix, int64_t now_ms);

/* True when id is "<prefix>_" plus 26 valid base32 characters. */
bool billing__id_valid(const char *id, const char *prefix);

/*
 * Objects whose create may take the tenant's own id (coupons: a
 * descriptor's ID field with BILLING_API_CREATE): such an id is
 * "<prefix>_" plus 1 or more letters, digits, '-' or '_', at most
 * BILLING_ID_MAX - 1 characters in all ("coupon_SPRING-25"). True when
 * prefix is one of them and id has that form.
 */
bool billing__id_chosen(const char *id, const char *prefix);

/* Fills buf with n cryptographically random bytes; 0 or -1. */
int billing__random_bytes(void *buf, size_t n);

#endif

/*
 * Exact, strict JSON on top of cJSON, shared by the library (the JSON
 * operation layer, resource output) and the example server (request bodies,
 * the library's answers, JWT payloads): one implementation of "what JSON we
 * accept" and "how integers are printed", compiled into both.
 *
 * cJSON alone is not enough at these edges: it turns a \u0000 escape (or a
 * raw NUL byte) into a C string terminator and silently drops the rest of
 * the string, accepts raw control characters, keeps the first of two equal
 * keys, and reads and prints every number through a double, which is not
 * exact above 2^53. billing__jx_parse refuses the first three, naming the
 * field, and keeps each number's literal text so integers are read exactly;
 * billing__jx_print prints those literals (and billing__jx_int_new's) as
 * they are.
 *
 * Depends only on cJSON and the C library, so that the server can compile it.
 */
#ifndef BILLING_CORE_JSON_EXACT_H
#define BILLING_CORE_JSON_EXACT_H

#include <cJSON.h>
#include <stddef.h>
#include <stdint.h>

/* Why a text was refused: reason is a stable code ("malformed_json",
 * "nul_character", "control_character", "duplicate_key", "too_deep",
 * "out_of_memory"), field the path of the offending value ("name",
 * "metadata.foo", "events[1]"; "" for the text as a whole). */
typedef struct {
	const char *reason;
	char field[128];
	char message[200];
} billing__jx_error;

/* Parses exactly one JSON value from text[0, len) (white space around it
 * allowed). Every number node keeps its literal in valuestring (freed by
 * cJSON_Delete) besides the usual valuedouble. Returns a new tree, or NULL
 * with *err filled in (err may be NULL). Linear in len (duplicate keys are
 * found by sorting each object's keys). */
cJSON *billing__jx_parse(const char *text, size_t len, billing__jx_error *err);

/* Results of billing__jx_int. */
#define BILLING__JX_INT_OK 0
#define BILLING__JX_INT_NOT_INTEGER (-1) /* not a number, or 1.5, 1e3, 1.0 */
#define BILLING__JX_INT_RANGE (-2)       /* an integer outside int64_t */

/* Reads v as an exact int64_t: a number node whose literal is an integer
 * (-?(0|[1-9][0-9]*)). A number node without a literal (made by
 * cJSON_CreateNumber) counts when its double is an integer within +-2^53. */
int billing__jx_int(const cJSON *v, int64_t *out);

/* A number node for v that billing__jx_print prints exactly; NULL when out
 * of memory. */
cJSON *billing__jx_int_new(int64_t v);

/* cJSON_PrintUnformatted, except that number nodes carrying their literal
 * are printed as that literal. Returns text to free with cJSON_free, or
 * NULL. The tree is unchanged afterwards. */
char *billing__jx_print(cJSON *v);

#endif

/*
 * Pages: the keyset-paginated (or offset) lists every module offers, from
 * the caller's params through storage's rows to a billing_page (list.c).
 */
#ifndef BILLING_CORE_LIST_H
#define BILLING_CORE_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "billing/billing.h"
#include "billing/sys/storage.h"
#include "core/ids.h"

typedef enum {
	BILLING__PAGE_TENANT = 1,
	BILLING__PAGE_SUBSCRIPTION,
	BILLING__PAGE_INVOICE,
	BILLING__PAGE_EVENT,
	BILLING__PAGE_PAYMENT,
	BILLING__PAGE_WEBHOOK_ENDPOINT,
	BILLING__PAGE_WEBHOOK_DELIVERY,
	BILLING__PAGE_AUDIT,
	BILLING__PAGE_RECORD         /* owned records of page->res */
} billing__page_kind;

struct billing_page {
	billing__page_kind kind;
	size_t count;
	size_t cap;
	void **items;
	void (*free_item)(void *item);
	int has_more;
	char *next_cursor;
	int64_t total;
	unsigned int limit;
	unsigned int number;
	const billing_resource *res; /* BILLING__PAGE_RECORD: whose records */
};

/* A sort the list allows: the public name and the storage column. */
typedef struct {
	const char *name;            /* "createdAt" */
	billing_sort_column column;
	bool is_text;
} billing__sort_spec;

/* The state of one list call between validation and the page. */
typedef struct {
	billing_ctx *ctx;
	billing_page *page;
	billing_list_query q;
	const billing__sort_spec *sort;
	const char *tenant_id;
	char filter_sig[17];
	char after_id[BILLING_ID_MAX];
	char *after_text;
	char *search;
	unsigned int limit;
	/* optional: runs first in the list's transaction (a filter's id must
	 * name something in the tenant) */
	int (*check)(const void *payload, billing_ctx *ctx, billing_txn *tx);
	const void *check_payload;
	/* turn a record into an item, and read its sort key back */
	void *(*from_record)(const void *record);
	void (*sort_key)(const void *item, const char **text, int64_t *num, const char **id);
	/* Instead of the two above, for a descriptor object: items are owned
	 * records of res (billing__record_dup), sorted by q.sort_field. */
	const billing_resource *res;
} billing__list;

/*
 * Validates params and fills l->q. filters is a text that identifies the
 * filters in force (a cursor only works with the same filters).
 * sorts ends with a { NULL } entry; its first entry is the default.
 */
int billing__list_begin(billing__list *l, billing_ctx *ctx, const char *tenant_id,
	const billing_list_params *params, const billing__sort_spec *sorts,
	const char *filters, billing__page_kind kind, void (*free_item)(void *));

/* The row callback that storage calls; appends to l->page. */
int billing__list_row(void *payload, const void *record);

/* Trims the extra row, sets has_more, the cursor and page numbers; on rc < 0
 * frees everything. Hands the page to *out on success. */
int billing__list_end(billing__list *l, int rc, billing_page **out);

/* Checks a page item's kind for the typed accessors. */
const void *billing__page_item(const billing_page *page, billing__page_kind kind, size_t i);

#endif

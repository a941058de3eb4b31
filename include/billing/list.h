/**
 * @file billing/list.h
 * @brief Paged lists: keyset cursors (O(page)) or page numbers with a total.
 *
 * Cursor mode (page == 0): pass the previous page's next cursor as
 * starting_after. Cursors are opaque, bound to the tenant, the sort and the
 * filters they were made for, and signed: a cursor from another tenant, from
 * another query or altered is BILLING_EINVALID (field "startingAfter").
 *
 * Page mode (page >= 1): OFFSET paging with a total count, for clients that
 * show page numbers. It costs O(offset) and a count. Its page also carries a
 * next cursor, which goes on in cursor mode right after it.
 *
 * page == 0 with no starting_after is cursor mode here (no count); the JSON
 * layer (billing_call_json) reads a list without startingAfter as page 1,
 * so its first page has the totals. page with starting_after is
 * BILLING_EINVALID (field "startingAfter") in both.
 */
#ifndef BILLING_LIST_H
#define BILLING_LIST_H

#include "common.h"

BILLING_BEGIN_DECL

typedef enum {
	BILLING_ORDER_DEFAULT = 0,  /**< ascending */
	BILLING_ORDER_ASC = 1,
	BILLING_ORDER_DESC = 2
} billing_order;

/** A three-state flag: a boolean field or filter that may be left unset. */
typedef enum {
	BILLING_UNSET = 0,
	BILLING_TRUE = 1,
	BILLING_FALSE = 2
} billing_tristate;

#define BILLING_LIST_PARAMS_VERSION 1

/** Paging, search and sort shared by every list call. */
typedef struct {
	unsigned int version;        /**< BILLING_LIST_PARAMS_VERSION */
	unsigned int limit;          /**< 1..100; 0: the context's default (20) */
	const char *starting_after;  /**< cursor from billing_page_next_cursor() */
	unsigned int page;           /**< >= 1: page mode; 0: cursor mode */
	const char *search;          /**< case-insensitive substring (ASCII folding) */
	const char *sort_by;         /**< camelCase field name; NULL: "createdAt" */
	billing_order order;
} billing_list_params;

#define BILLING_LIST_PARAMS_INIT { BILLING_LIST_PARAMS_VERSION, 0, 0, 0, 0, 0, 0 }

/** One page of results. Items are borrowed from the page. */
typedef struct billing_page billing_page;

BILLING_EXTERN(size_t) billing_page_count(const billing_page *page);

/** 1 when more rows follow this page, else 0. */
BILLING_EXTERN(int) billing_page_has_more(const billing_page *page);

/** Cursor for the next page (in either mode); NULL when there is none.
 *  Borrowed. */
BILLING_EXTERN(const char *) billing_page_next_cursor(const billing_page *page);

/** Total matching rows in page mode; -1 in cursor mode (and for NULL). */
BILLING_EXTERN(int64_t) billing_page_total(const billing_page *page);

/** The page size that was applied. */
BILLING_EXTERN(unsigned int) billing_page_limit(const billing_page *page);

/** The page number in page mode; 0 in cursor mode. */
BILLING_EXTERN(unsigned int) billing_page_number(const billing_page *page);

BILLING_EXTERN(void) billing_page_free(billing_page *page);

BILLING_END_DECL

#endif

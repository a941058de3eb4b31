/*
 * The billing run's batches (see txn.h): deferred inserts, the set-based
 * writes, and what a batch reads once instead of once per renewal.
 *
 * Deferred inserts. Between billing__defer_begin(tx) and billing__defer_end(), the
 * rows a renewal inserts into the invoices, invoice lines, events and
 * webhook deliveries of tx are copied here instead of written, and
 * billing__defer_flush writes each table's rows with one record_insert_many
 * (parents before children: lines and deliveries have foreign keys to
 * invoices and events). Nothing in a renewal reads those rows back before
 * the flush, which is what makes deferring them safe; any other table, and
 * any other transaction of the thread, is written at once as always, and
 * a row written at once whose descriptor refers to a deferred table (the
 * balance transaction of customer_balance.c names its invoice) first has
 * the rows waiting so far written.
 *
 * Reads. Rows read without a lock or shared (a plan, its product, the
 * tenant) are kept for the batch and handed out again: a shared lock,
 * once taken, is held to the commit, and what a renewal copies from a row
 * it does not lock is a snapshot from either side of a concurrent change
 * anyway (txn.h). A row read with billing__read_settled (a tenant's
 * settings, which no renewal writes) is remembered as missing too. The due
 * work of the renewal in hand was locked by the batch's claim, so its lock
 * is not asked for again. Whether any of the
 * tenant's subscriptions have pending lines is read once: a renewal whose
 * subscription has none skips reading and deleting them (a pending line is
 * added under the subscription's due work lock, which the claim holds, so
 * none can appear during the batch). So are the subscriptions with invoice
 * items waiting (invoice_item.c takes the same lock to add one); a renewal
 * puts its items on its invoice with billing__update, which first writes
 * the rows deferred so far, as a balance transaction's insert does. So are
 * the customers whose taxExempt is not "none" (invoice_tax.c): a renewal
 * of any other customer is taxed without reading its customer (a change
 * of taxExempt during the batch is seen by the next one, as a snapshot
 * read would).
 *
 * All of it lives on the thread that runs the batch: memory is bounded by
 * the batch (its renewals' rows until the flush, a few cached rows).
 */
#include <stdio.h>
#include <string.h>

#include "core/assert.h"
#include "core/core.h"
#include "core/discount.h"
#include "core/invoice_item.h"
#include "core/subscription_internal.h"

/* The tables deferred, in the order they are written. */
static const billing_resource *const deferred[] = {
	&billing__res_invoice,
	&billing__res_invoice_line,
	&billing__res_event,
	&billing__res_delivery,
};
#define NDEFERRED (sizeof(deferred) / sizeof(deferred[0]))

struct rows {
	void **v;
	size_t n, cap;
};

#define CACHE_SLOTS 16
#define PENDING_SCAN 256        /* pending lines a tenant may have to be scanned */

/* The tenant whose rows waiting for an invoice were scanned, and the
 * subscriptions that have any (known: the scan found them all). */
struct waiting {
	char tenant[BILLING_ID_MAX];
	bool known;
	size_t n;
	char (*ids)[BILLING_ID_MAX];
};

struct cached {
	const billing_resource *res;
	char tenant_id[BILLING_ID_MAX];
	char id[BILLING_ID_MAX];
	void *rec;                  /* copy_record's; NULL with absent */
	bool absent;                /* read and not there (billing__read_settled) */
};

static _Thread_local struct {
	billing_txn *tx;            /* NULL: nothing is deferred */
	struct rows rows[NDEFERRED];
	struct cached cache[CACHE_SLOTS];
	unsigned int next_slot;
	/* The renewal in hand, whose due work the claim holds. */
	char held_tenant[BILLING_ID_MAX], held_id[BILLING_ID_MAX];
	/* What waits for a subscription's next invoice: its pending lines and
	 * its invoice items; and the customers that have a live discount. */
	struct waiting pending, items, discounts, exempt;
} defer;

static size_t field_size(billing_field_type t)
{
	switch (t) {
	case BILLING_FIELD_TEXT:
		return sizeof(const char *);
	case BILLING_FIELD_INT64:
		return sizeof(int64_t);
	case BILLING_FIELD_INT32:
		return sizeof(int32_t);
	case BILLING_FIELD_INT:
	default:
		return sizeof(int);
	}
}

/* A copy of rec's fields (and only those: storage reads nothing else) in
 * one allocation, its strings after the record. */
static void *copy_record(const billing_resource *res, const void *rec)
{
	size_t size = res->record_size, i;
	char *copy, *next;

	for (i = 0; i < res->field_count; i++) {
		const char *t;
		if (res->fields[i].type != BILLING_FIELD_TEXT)
			continue;
		memcpy(&t, (const char *)rec + res->fields[i].offset, sizeof(t));
		if (t)
			size += strlen(t) + 1;
	}
	if ((copy = billing__calloc(1, size)) == NULL)
		return NULL;
	next = copy + res->record_size;
	for (i = 0; i < res->field_count; i++) {
		const billing_field *f = &res->fields[i];
		const char *t;
		if (f->type != BILLING_FIELD_TEXT) {
			memcpy(copy + f->offset, (const char *)rec + f->offset, field_size(f->type));
			continue;
		}
		memcpy(&t, (const char *)rec + f->offset, sizeof(t));
		if (t) {
			size_t len = strlen(t) + 1;
			memcpy(next, t, len);
			t = next;
			next += len;
		}
		memcpy(copy + f->offset, &t, sizeof(t));
	}
	return copy;
}

void billing__defer_begin(billing_txn *tx)
{
	billing__defer_end();
	defer.tx = tx;
}

void billing__defer_end(void)
{
	size_t k, i;
	for (k = 0; k < NDEFERRED; k++) {
		for (i = 0; i < defer.rows[k].n; i++)
			billing__free(defer.rows[k].v[i]);
		billing__free(defer.rows[k].v);
	}
	for (k = 0; k < CACHE_SLOTS; k++)
		billing__free(defer.cache[k].rec);
	billing__free(defer.pending.ids);
	billing__free(defer.items.ids);
	billing__free(defer.discounts.ids);
	billing__free(defer.exempt.ids);
	memset(&defer, 0, sizeof(defer));
}

/* ------------------------------------------------------------ reads */

struct capture {
	const billing_resource *res;
	billing_row_cb cb;
	void *payload;
	void *copy;
};

static int capture_row(void *payload, const void *record)
{
	struct capture *c = payload;
	if (!c->copy)
		c->copy = copy_record(c->res, record);  /* NULL: not kept, no harm */
	return c->cb(c->payload, record);
}

/* billing__read_batch's, and billing__read_settled's with absent_too: a
 * row found missing is remembered as missing. */
static int read_cached(billing_storage *st, billing_txn *tx, const billing_resource *res,
	const char *tenant_id, const char *id, unsigned int lock, billing_row_cb cb,
	void *payload, bool absent_too)
{
	struct capture c = { res, cb, payload, NULL };
	struct cached *slot;
	const char *t = tenant_id ? tenant_id : "";
	size_t i;
	int rc;

	if (!tx || defer.tx != tx || lock == BILLING_LOCK_UPDATE || !id ||
	    strlen(t) >= BILLING_ID_MAX || strlen(id) >= BILLING_ID_MAX)
		return st->record_read(tx, res, tenant_id, id, lock, cb, payload);
	for (i = 0; i < CACHE_SLOTS; i++) {
		slot = &defer.cache[i];
		if ((slot->rec || slot->absent) && slot->res == res &&
		    strcmp(slot->id, id) == 0 && strcmp(slot->tenant_id, t) == 0)
			return slot->absent ? billing__error_set(BILLING_ENOTFOUND, NULL,
				"no such %s", res->name ? res->name : res->table) :
				cb(payload, slot->rec);
	}
	rc = st->record_read(tx, res, tenant_id, id, lock, capture_row, &c);
	if (!(rc == BILLING_OK && c.copy) && !(rc == BILLING_ENOTFOUND && absent_too)) {
		billing__free(c.copy);
		return rc;
	}
	slot = &defer.cache[defer.next_slot++ % CACHE_SLOTS];
	billing__free(slot->rec);
	slot->res = res;
	strcpy(slot->tenant_id, t);
	strcpy(slot->id, id);
	slot->rec = c.copy;
	slot->absent = rc == BILLING_ENOTFOUND;
	return rc;
}

int billing__read_batch(billing_storage *st, billing_txn *tx, const billing_resource *res,
	const char *tenant_id, const char *id, unsigned int lock, billing_row_cb cb,
	void *payload)
{
	return read_cached(st, tx, res, tenant_id, id, lock, cb, payload, false);
}

int billing__read_settled(billing_storage *st, billing_txn *tx, const billing_resource *res,
	const char *tenant_id, const char *id, billing_row_cb cb, void *payload)
{
	return read_cached(st, tx, res, tenant_id, id, BILLING_LOCK_NONE, cb, payload, true);
}

void billing__batch_hold(billing_txn *tx, const char *tenant_id, const char *id)
{
	if (!tx || defer.tx != tx)
		return;
	snprintf(defer.held_tenant, sizeof(defer.held_tenant), "%s", tenant_id);
	snprintf(defer.held_id, sizeof(defer.held_id), "%s", id);
}

bool billing__batch_holds(billing_txn *tx, const char *tenant_id, const char *kind,
	const char *id)
{
	return tx && defer.tx == tx && defer.held_id[0] &&
		strcmp(kind, BILLING__DUE_SUBSCRIPTION) == 0 && strcmp(defer.held_id, id) == 0 &&
		strcmp(defer.held_tenant, tenant_id) == 0;
}

/* Notes a subscription that has rows waiting (once). */
static int waiting_add(struct waiting *w, const char *subscription_id)
{
	size_t i;
	for (i = 0; i < w->n; i++)
		if (strcmp(w->ids[i], subscription_id) == 0)
			return BILLING_OK;
	if (strlen(subscription_id) >= BILLING_ID_MAX || w->n >= PENDING_SCAN)
		return billing__error_set(BILLING_ESTORAGE, "storage", "malformed waiting row");
	strcpy(w->ids[w->n++], subscription_id);
	return BILLING_OK;
}

static int pending_row(void *payload, const void *record)
{
	return waiting_add(payload, ((const billing_line_record *)record)->owner_id);
}

static int item_row(void *payload, const char *subscription_id)
{
	/* An item of the customer for its next draft waits for no renewal. */
	return subscription_id ? waiting_add(payload, subscription_id) : BILLING_OK;
}

/* *none: the subscription surely has no rows waiting in w, read once per
 * tenant by scan (which sets *total to every match). */
static int batch_none(struct waiting *w, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const char *subscription_id, bool *none,
	int (*scan)(billing_ctx *, billing_txn *, const char *, struct waiting *, int64_t *))
{
	int64_t total = 0;
	size_t i;
	int rc;

	*none = false;
	if (!tx || defer.tx != tx || strlen(tenant_id) >= BILLING_ID_MAX)
		return BILLING_OK;
	if (strcmp(w->tenant, tenant_id) != 0) {
		/* One read (at most PENDING_SCAN rows) for the renewals of this
		 * tenant in the batch. */
		w->known = false;
		w->n = 0;
		strcpy(w->tenant, tenant_id);
		if (!w->ids && (w->ids = billing__calloc(PENDING_SCAN, sizeof(*w->ids))) == NULL)
			return billing__error_set(BILLING_ENOMEM, NULL, NULL);
		if ((rc = scan(ctx, tx, tenant_id, w, &total)) < 0)
			return rc;
		w->known = total <= PENDING_SCAN;
	}
	if (!w->known)
		return BILLING_OK;
	for (i = 0; i < w->n; i++)
		if (strcmp(w->ids[i], subscription_id) == 0)
			return BILLING_OK;
	*none = true;
	return BILLING_OK;
}

static int scan_pending(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	struct waiting *w, int64_t *total)
{
	billing_list_query q;
	memset(&q, 0, sizeof(q));
	q.limit = PENDING_SCAN;
	q.total = total;
	return billing__list_records(ctx->st, tx, &billing__res_pending_line, tenant_id, &q,
		pending_row, w);
}

static int scan_items(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	struct waiting *w, int64_t *total)
{
	return billing__items_waiting_scan(ctx, tx, tenant_id, PENDING_SCAN, item_row, w, total);
}

static int discount_row(void *payload, const void *record)
{
	return waiting_add(payload, ((const struct billing__discount_rec *)record)->customer_id);
}

/* The tenant's live discounts, at either level, by customer. */
static int scan_discounts(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	struct waiting *w, int64_t *total)
{
	billing_list_query q;
	memset(&q, 0, sizeof(q));
	q.limit = PENDING_SCAN;
	q.total = total;
	return billing__list_records(ctx->st, tx, &billing__res_discount, tenant_id, &q,
		discount_row, w);
}

int billing__batch_no_discount(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *customer_id, bool *none)
{
	return batch_none(&defer.discounts, ctx, tx, tenant_id, customer_id, none,
		scan_discounts);
}

static int exempt_row(void *payload, const char *customer_id)
{
	return waiting_add(payload, customer_id);
}

/* The tenant's customers that are not taxed as usual (taxExempt). */
static int scan_exempt(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	struct waiting *w, int64_t *total)
{
	return billing__customers_exempt_scan(ctx, tx, tenant_id, PENDING_SCAN, exempt_row, w,
		total);
}

int billing__batch_not_exempt(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *customer_id, bool *none)
{
	return batch_none(&defer.exempt, ctx, tx, tenant_id, customer_id, none, scan_exempt);
}

int billing__batch_no_pending(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *subscription_id, bool *none)
{
	return batch_none(&defer.pending, ctx, tx, tenant_id, subscription_id, none,
		scan_pending);
}

int billing__batch_no_items(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *subscription_id, bool *none)
{
	return batch_none(&defer.items, ctx, tx, tenant_id, subscription_id, none, scan_items);
}

/* Writes the rows deferred so far, one record_insert_many per table,
 * parents first; the deferral goes on. */
static int write_rows(billing_storage *st, billing_txn *tx)
{
	size_t k, i;
	int rc = BILLING_OK;

	for (k = 0; rc == BILLING_OK && k < NDEFERRED; k++) {
		struct rows *r = &defer.rows[k];
		if (st->version >= 11 && st->record_insert_many) {
			rc = st->record_insert_many(tx, deferred[k], (const void *const *)r->v, r->n);
		} else {
			/* An older backend: the same rows one by one. */
			for (i = 0; rc == BILLING_OK && i < r->n; i++)
				rc = st->record_insert(tx, deferred[k], r->v[i]);
		}
		for (i = 0; i < r->n; i++)
			billing__free(r->v[i]);
		r->n = 0;
	}
	return rc;
}

/* Before res is inserted at once: when it refers to a deferred table and
 * rows are waiting, they are written now. */
static int sync_for(billing_storage *st, billing_txn *tx, const billing_resource *res)
{
	size_t i, k;
	bool waiting = false;

	for (k = 0; k < NDEFERRED; k++)
		waiting = waiting || defer.rows[k].n > 0;
	if (!waiting)
		return BILLING_OK;
	for (i = 0; i < res->reference_count; i++)
		for (k = 0; k < NDEFERRED; k++)
			if (res->references[i].target == deferred[k])
				return write_rows(st, tx);
	return BILLING_OK;
}

int billing__insert(billing_storage *st, billing_txn *tx, const billing_resource *res,
	const void *rec)
{
	struct rows *r = NULL;
	size_t k;
	void *copy;
	int rc;

	if (defer.tx == tx && tx) {
		for (k = 0; k < NDEFERRED; k++)
			if (deferred[k] == res)
				r = &defer.rows[k];
	}
	if (!r) {
		/* A row that may point at a deferred one (a balance transaction at
		 * the invoice it was applied to): what is deferred so far is
		 * written first, so its foreign key finds it. */
		if (defer.tx == tx && tx && (rc = sync_for(st, tx, res)) < 0)
			return rc;
		return st->record_insert(tx, res, rec);
	}
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
		void **v = billing__realloc(r->v, cap * sizeof(*v));
		if (!v)
			return billing__error_set(BILLING_ENOMEM, NULL, NULL);
		r->v = v;
		r->cap = cap;
	}
	if ((copy = copy_record(res, rec)) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	r->v[r->n++] = copy;
	return BILLING_OK;
}

int billing__update(billing_storage *st, billing_txn *tx, const billing_resource *res,
	const void *rec, int64_t old_version)
{
	int rc;
	/* As an insert written at once (above): an invoice item put on a
	 * renewal invoice that waits to be written. */
	if (defer.tx == tx && tx && (rc = sync_for(st, tx, res)) < 0)
		return rc;
	return st->record_update(tx, res, rec, old_version);
}

int billing__defer_flush(billing_storage *st, billing_txn *tx)
{
	int rc;

	BILLING_ASSERT(defer.tx == tx);
	rc = write_rows(st, tx);
	billing__defer_end();
	return rc;
}

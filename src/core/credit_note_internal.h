/*
 * What the three files of credit notes share, and nobody else: the record
 * (struct billing_credit_note, the descriptor's memory), the indexes into
 * its fields, and a filter on one of them. credit_note.c is the object
 * (descriptor, reads, getters, billing_check's part); credit_note_issue.c
 * writes notes (create, preview), credit_note_void.c voids them. The one
 * reader outside them is document.c, which lays a note out from its record
 * (its reason, memo and tax per rate have no public getter).
 */
#ifndef BILLING_CORE_CREDIT_NOTE_INTERNAL_H
#define BILLING_CORE_CREDIT_NOTE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "billing/invoice.h"
#include "billing/sys/storage.h"
#include "core/core.h"

struct billing_credit_note {
	const char *tenant_id;
	const char *id;
	const char *number;
	int64_t seq;                 /* the counter behind number */
	const char *invoice_id;
	const char *customer_id;
	const char *currency;
	int type;                    /* billing_credit_note_type */
	int status;                  /* billing_credit_note_status */
	int reason;                  /* billing_credit_note_reason; 0: none */
	const char *memo;            /* NULL: none */
	const char *lines_json;      /* {"object":"list","data":[...]} */
	int64_t subtotal, tax, total;
	const char *total_tax_amounts_json;        /* [{taxRateId, amount, inclusive,
	                                              taxableAmount}] */
	const char *total_discount_amounts_json;   /* [{discountId, amount}] */
	int64_t refund_amount, credit_amount, out_of_band_amount;
	const char *refund_id;       /* NULL: none */
	int64_t voided_at;           /* 0: issued */
	const char *metadata_json;
	int64_t created_at;
	int64_t updated_at;
	int64_t version;
};

#define MEMO_MAX 5000
#define REASON_COUNT 5

/* Indexes into fields[]. */
enum {
	TENANT, ID, NUMBER, SEQ, INVOICE, CUSTOMER, CURRENCY, TYPE, STATUS, REASON, MEMO, LINES,
	SUBTOTAL, TAX, TOTAL, TOTAL_TAX_AMOUNTS, TOTAL_DISCOUNT_AMOUNTS, REFUND, CREDIT, OUT_OF_BAND, REFUND_ID, VOIDED_AT, METADATA,
	CREATED_AT, UPDATED_AT, VERSION, FIELD_COUNT
};

/* An invoice a note lowers rather than refunds or credits: not paid
 * (open, failed or uncollectible). */
bool billing__credit_note_unpaid(billing_invoice_status s);

/* The tenant's next credit-note number, taken (its counter row held to the
 * end of tx: a rollback gives it back, so numbers have no gap). */
int billing__credit_note_counter_next(billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, int64_t *seq);

/* An equality filter on field (an index above) for value. */
billing_filter billing__credit_note_by(int field, const char *value);

#endif

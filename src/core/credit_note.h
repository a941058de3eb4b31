/*
 * Credit notes inside the library (the public API is
 * billing/credit_note.h): the descriptor, the ids of invoice lines that
 * notes name, and billing_check's part.
 */
#ifndef BILLING_CORE_CREDIT_NOTE_H
#define BILLING_CORE_CREDIT_NOTE_H

#include "billing/credit_note.h"
#include <cJSON.h>

#include "core/core.h"

extern const billing_resource billing__res_credit_note;

/* The JSON of a credit note (new; NULL when out of memory); a preview's
 * id is null. */
cJSON *billing__credit_note_json(const void *item);

/* The id of line i (from 0) of an invoice, as its JSON shows it and credit
 * notes name it: "il_<the invoice id's body>_<i + 1>". */
int billing__invoice_line_id(char *out, size_t size, const char *invoice_id, size_t i);

/* The field names of line i of a note's input, for errors: [0] the line,
 * [1] its invoiceLineId, [2] its amount, [3] its quantity. */
extern const char *const
	billing__credit_note_line_fields[BILLING_CREDIT_NOTE_LINES_MAX][4];

/* The tenant's last credit-note number (0: none yet), its row held for
 * update in a write transaction. */
int billing__credit_note_counter(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	int64_t *last);

/* For billing_check: a problem of kind about resource_id (NULL: the
 * tenant). */
typedef void (*billing__credit_note_report_fn)(void *payload, const char *kind,
	const char *resource_id, const char *detail);

/* Compares every invoice's credit-note sums with its issued notes (and
 * its total), and the credit-note numbers with the counter (gapless from
 * 1), calling report for each that differs. */
int billing__credit_note_check(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	billing__credit_note_report_fn report, void *payload);

#endif

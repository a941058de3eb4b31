/*
 * Voiding a credit note (billing_credit_note_void): the note goes void and
 * what it moved goes back, in one transaction: its invoice's credit-note
 * sums (a pre-payment note's invoice is due that much again), and its
 * credit to the customer's balance. Refused for a note that refunded
 * through the provider (money that left cannot be un-refunded by a void)
 * and for a pre-payment note whose invoice was paid since.
 *
 * Lock order (txn.h): the invoice (its due work first), then the customer's
 * balance.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "billing/credit_note.h"
#include "core/calendar.h"
#include "core/credit_note.h"
#include "core/credit_note_internal.h"
#include "core/customer_balance.h"
#include "core/events.h"
#include "core/invoice_internal.h"
#include "core/json_exact.h"
#include "core/payment_internal.h"
#include "core/resource.h"
#include "core/resources.h"
#include "core/subscription_internal.h"
#include "core/txn.h"

/* ------------------------------------------------------------ void */

static int note_row(void *payload, const void *record)
{
	struct billing_credit_note **n = payload;
	billing__free(*n);
	*n = billing__record_dup(&billing__res_credit_note, record);
	return *n ? BILLING_OK : billing__error_set(BILLING_ENOMEM, NULL, NULL);
}

static int void_once(billing_credit_note **out, billing_ctx *ctx, const billing_principal *who,
	const char *id, billing__idem *idem)
{
	struct billing_credit_note *n = NULL;
	billing_invoice *inv = NULL;
	billing_txn *tx;
	int64_t now = billing__now(ctx), old_version;
	int rc;

	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_WRITE)) < 0)
		return rc;
	if ((rc = billing__idem_check(ctx, tx, who->tenant_id, idem)) < 0 || idem->replay)
		goto end;
	/* The note's invoice first (txn.h), then the note held. */
	if ((rc = billing__read(ctx->st, tx, &billing__res_credit_note, who->tenant_id, id,
		BILLING_LOCK_NONE, note_row, &n)) < 0 ||
	    (rc = billing__invoice_load(&inv, ctx, tx, who->tenant_id, n->invoice_id)) < 0 ||
	    (rc = ctx->st->record_read(tx, &billing__res_credit_note, who->tenant_id, id,
		BILLING_LOCK_UPDATE, note_row, &n)) < 0)
		goto end;
	if (n->status != BILLING_CREDIT_NOTE_ISSUED) {
		rc = billing__error_set(BILLING_ECONFLICT, "invalid_transition",
			"the credit note is void already");
		goto end;
	}
	if (n->refund_amount > 0) {
		rc = billing__error_set(BILLING_ECONFLICT, "credit_note_refunded",
			"the credit note refunded %lld through the payment provider; a refund is not "
			"taken back", (long long)n->refund_amount);
		goto end;
	}
	if (n->type == BILLING_CREDIT_NOTE_PRE_PAYMENT) {
		if (!billing__credit_note_unpaid(inv->status)) {
			rc = billing__error_set(BILLING_ECONFLICT, "invoice_paid",
				"the credit note's invoice is %s: only an unpaid invoice's amount due "
				"can go back up", billing_invoice_status_name(inv->status));
			goto end;
		}
		inv->pre_credit_notes -= n->total;
		inv->amount_due = billing__invoice_remaining(inv);
	} else {
		inv->post_credit_notes -= n->total;
	}
	if (n->credit_amount > 0 &&
	    (rc = billing__balance_record_credit_note(ctx, tx, who->tenant_id, n->customer_id,
		n->currency, n->credit_amount, n->invoice_id, n->id)) < 0)
		goto end;
	old_version = n->version;
	n->status = BILLING_CREDIT_NOTE_VOID;
	n->voided_at = n->updated_at = now;
	n->version++;
	if ((rc = ctx->st->record_update(tx, &billing__res_credit_note, n, old_version)) < 0 ||
	    (rc = billing__invoice_save(ctx, tx, inv, "invoice.updated")) < 0 ||
	    (rc = billing__event_emit(ctx, tx, who->tenant_id, "credit_note.voided",
		billing__res_credit_note.name, id, billing__credit_note_json, n)) < 0 ||
	    (rc = billing__idem_record(ctx, tx, who->tenant_id, idem, id)) < 0)
		goto end;
	*out = n;
	n = NULL;
end:
	billing__free(n);
	billing_invoice_free(inv);
	rc = billing__end(ctx, tx, rc);
	if (rc < 0) {
		billing__free(*out);
		*out = NULL;
	}
	return rc;
}

static int void_retry(billing_credit_note **out, billing_ctx *ctx, const billing_principal *who,
	const char *id, billing__idem *idem)
{
	BILLING__RETRY(void_once(out, ctx, who, id, idem));
}

int billing_credit_note_void(billing_credit_note **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_call_options *opts)
{
	billing__buf input = { 0 };
	billing__idem idem;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_CREDIT_NOTES_VOID)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	*out = NULL;
	if (!billing__id_arg_ok(id, billing__res_credit_note.prefix))
		return billing__not_found("credit note");
	billing__buf_add(&input, "id", id);
	if ((rc = billing__idem_init_buf(&idem, opts, BILLING_OP_CREDIT_NOTES_VOID, &input)) < 0 ||
	    (rc = void_retry(out, ctx, who, id, &idem)) < 0)
		return rc;
	if (idem.replay)
		return billing_credit_note_get(out, ctx, who, idem.resource_id);
	return BILLING_OK;
}

/*
 * Hosted invoice links (core/hosted.c) for the JSON layer.
 */
#ifndef BILLING_CORE_HOSTED_H
#define BILLING_CORE_HOSTED_H

#include <cJSON.h>

#include "billing/billing.h"

/* Sets "hostedInvoiceUrl" (the link's path, "/hosted/invoices/<token>")
 * on an invoice object, or on each of an array of them, that is not a
 * draft; a draft keeps null. The tenant's secret is read (or made, on
 * first use) in a transaction of its own. BILLING_OK, BILLING_ENOMEM or a
 * storage error. */
int billing__hosted_add(cJSON *invoices, billing_ctx *ctx, const char *tenant_id);

/* A JSON operation's answer (rc from item_out or page_out) with the links
 * added to the invoice, or to a page's data; on a failure *res is deleted
 * and NULL. */
int billing__hosted_answer(cJSON **res, int rc, billing_ctx *ctx, const char *tenant_id);

#endif

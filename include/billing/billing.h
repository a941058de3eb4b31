/**
 * @file billing/billing.h
 * @brief libbilling: multi-tenant subscription billing. Includes every
 *        public header.
 */
#ifndef BILLING_H
#define BILLING_H

#include "common.h"
#include "version.h"
#include "errors.h"
#include "money.h"
#include "principal.h"
#include "ctx.h"
#include "list.h"
#include "tenant.h"
#include "customer.h"
#include "product.h"
#include "plan.h"
#include "user.h"
#include "subscription.h"
#include "subscription_item.h"
#include "invoice.h"
#include "invoice_item.h"
#include "payment.h"
#include "providers.h"
#include "run.h"
#include "event.h"
#include "webhook.h"
#include "audit.h"
#include "tax_rate.h"
#include "customer_balance.h"
#include "credit_note.h"
#include "dispute.h"
#include "discount.h"
#include "payment_method.h"
#include "usage.h"
#include "report.h"
#include "provider_health.h"
#include "provider_account.h"
#include "check.h"
#include "document.h"
#include "branding.h"
#include "json.h"
#include "sqlite.h"
#include "postgres.h"

#endif

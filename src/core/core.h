/*
 * What the core's modules share, one header per concern; core.h includes
 * them all for the modules that use most of them:
 *
 *   ctx.h          the context, its clock and logger
 *   txn.h          transactions, retries, the lock order
 *   permissions.h  the operations and who may run them
 *   validate.h     text and id fields
 *   metadata.h     metadata
 *   list.h         pages
 *   idempotency.h  idempotency keys
 *   copy.h         rows into objects
 */
#ifndef BILLING_CORE_CORE_H
#define BILLING_CORE_CORE_H

#include <stdbool.h>
#include <stdint.h>

#include "billing/billing.h"
#include "billing/sys/storage.h"
#include "billing/sys/transport.h"
#include "core/alloc.h"
#include "core/errors.h"
#include "core/ids.h"

#include "core/ctx.h"
#include "core/txn.h"
#include "core/permissions.h"
#include "core/validate.h"
#include "core/metadata.h"
#include "core/list.h"
#include "core/idempotency.h"
#include "core/copy.h"

#endif

/**
 * @file billing/version.h
 * @brief The version of the headers, and of the library that was loaded.
 */
#ifndef BILLING_VERSION_H
#define BILLING_VERSION_H

#include "common.h"

BILLING_BEGIN_DECL

#define BILLING_VERSION_MAJOR 0
#define BILLING_VERSION_MINOR 1
#define BILLING_VERSION_PATCH 0
#define BILLING_VERSION_STRING "0.1.0"
/** MAJOR * 10000 + MINOR * 100 + PATCH: compare with billing_version(). */
#define BILLING_VERSION_NUMBER \
	(BILLING_VERSION_MAJOR * 10000 + BILLING_VERSION_MINOR * 100 + BILLING_VERSION_PATCH)

/**
 * The version of the library actually loaded, as BILLING_VERSION_NUMBER.
 * A host built against newer headers than the library it loads should
 * refuse to run.
 */
BILLING_EXTERN(int) billing_version(void);

/** The loaded library's version as "MAJOR.MINOR.PATCH" (static storage). */
BILLING_EXTERN(const char *) billing_version_string(void);

BILLING_END_DECL

#endif

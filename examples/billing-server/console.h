/*
 * The web console (docs/console.md): static files under GET /console/,
 * served from one directory and nothing outside it, with a strict
 * Content-Security-Policy on every answer (widened for Stripe.js only with
 * BILLING_PROVIDER=stripe and STRIPE_PUBLISHABLE_KEY). Everything the console
 * does goes through the /v1 API with the user's bearer token; these files
 * carry no data. One answer is not a file: /console/config.json, the
 * provider that adds cards and its publishable key (never a secret).
 */
#ifndef BS_CONSOLE_H
#define BS_CONSOLE_H

#include "server.h"

/* Finds the console's directory: BILLING_CONSOLE_DIR when set (it must be
 * a directory: else -1 after printing the problem), else the assets beside
 * the executable (the build tree: <dir of billing-server>/console), else
 * the installed ones (<dir of billing-server>/../share/libbilling/console).
 * With none found the server starts and /console/ answers 404
 * (console_not_installed). */
int console_init(const config *c);

/* Where the console is served from ("" when not found). */
const char *console_dir(void);

/* GET/HEAD /console and everything below it. */
void console_handle(request *r);

#endif

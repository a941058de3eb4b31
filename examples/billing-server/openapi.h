/*
 * The OpenAPI 3.1 document, generated at start from the routing table and
 * the library's catalog, so it names every route the server answers.
 */
#ifndef BS_OPENAPI_H
#define BS_OPENAPI_H

/* A new JSON text (free()), or NULL. The test-clock routes are in it only
 * when test_clock is set (without BILLING_TEST_CLOCK=1 they are 404). */
char *openapi_build(int test_clock);

#endif

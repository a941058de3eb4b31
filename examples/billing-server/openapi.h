/*
 * The OpenAPI 3.1 document, generated at start from the routing table and
 * the library's catalog, so it names every route the server answers.
 */
#ifndef BS_OPENAPI_H
#define BS_OPENAPI_H

/* A new JSON text (free()), or NULL. */
char *openapi_build(void);

#endif

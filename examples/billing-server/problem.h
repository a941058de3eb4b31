/*
 * RFC 9457 problem details: the one table from library status codes to
 * HTTP statuses, and the problem+json bodies built from the library's
 * error JSON or from the server's own checks.
 */
#ifndef BS_PROBLEM_H
#define BS_PROBLEM_H

#define PROBLEM_CONTENT_TYPE "application/problem+json"

/* The HTTP status of a billing_status code (500 for codes it does not know). */
int problem_http_status(int billing_code);

/* "Not Found" for 404. */
const char *http_reason(int status);

/* A problem+json body (free()) from billing_call_json's error output
 * {"error":{...}}; *status receives the HTTP status. */
char *problem_from_library(int *status, const char *error_json, const char *request_id);

/* A problem+json body (free()) for the server's own checks; field may be
 * NULL. */
char *problem_make(int status, const char *code, const char *detail, const char *field,
	const char *request_id);

#endif

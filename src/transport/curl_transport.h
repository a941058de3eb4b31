/*
 * Internal to the library: the one place curl_global_init is called.
 */
#ifndef BILLING_TRANSPORT_CURL_TRANSPORT_H
#define BILLING_TRANSPORT_CURL_TRANSPORT_H

/*
 * Runs curl_global_init once per process (thread-safe). Every user of
 * libcurl in the library calls it before its first easy handle.
 * BILLING_OK, or BILLING_ERROR (error set) when libcurl failed to start.
 */
int billing__curl_init(void);

#endif

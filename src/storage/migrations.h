/*
 * The schema, as numbered forward-only steps embedded in the library.
 * Backends apply them in order and record each step with the SHA-256 of its
 * text, so a step edited after it shipped is caught at open.
 */
#ifndef BILLING_STORAGE_MIGRATIONS_H
#define BILLING_STORAGE_MIGRATIONS_H

#include <stddef.h>

typedef struct {
	int version;
	const char *name;
	const char *sql;   /* written in the SQL that SQLite and PostgreSQL share */
	const char *postgres_sql; /* then, on PostgreSQL only: row-level security,
	                             grants (NULL: none) */
	const char *sqlite_sql;   /* then, on SQLite only: what SQLite cannot say
	                             in shared SQL, such as a table rebuilt to change
	                             a constraint (NULL: none). Runs with foreign
	                             keys off, checked before the commit. */
} billing__migration;

/* The steps in order, versions 1..n. */
const billing__migration *billing__migrations(size_t *count);

/* For tests of a step on the data of the schema before it (e2e_migrations):
 * when not 0, billing__migrations reports only the first
 * billing__migrations_upto steps, so a database is built, filled and used
 * at that schema, then migrated further once it is set back to 0. Not
 * thread-safe; a host never sets it. */
extern size_t billing__migrations_upto;

/* Lower-case hex SHA-256 of the step's SQL (both parts); 0 or -1. The same
 * on every backend. */
int billing__migration_checksum(char out[65], const billing__migration *m);

#endif

#!/bin/sh
# Run once by the postgres image on an empty data volume (compose.yaml): the
# roles and database of docs/postgres.md. Passwords come from the
# environment and reach psql as variables, never on a command line.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
	-v owner_pw="$BILLING_OWNER_PASSWORD" -v app_pw="$BILLING_APP_PASSWORD" <<'SQL'
CREATE ROLE billing_owner LOGIN PASSWORD :'owner_pw';
CREATE ROLE billing_runtime NOLOGIN;
CREATE ROLE billing_app LOGIN PASSWORD :'app_pw' IN ROLE billing_runtime;
CREATE DATABASE billing OWNER billing_owner;
SQL

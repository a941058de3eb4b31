/*
 * Usage events end to end (issue #23), on both backends:
 *  - every aggregation (count, sum, max, uniqueCount, last, and a filtered
 *    sum) against a model kept in this file, over random event streams:
 *    out of order, resent (duplicates, in a batch and across batches),
 *    voided, across period boundaries, in batches at several clock times;
 *  - closed periods: stored once, then late events and voids in them are
 *    refused and the stored aggregate does not move;
 *  - a subscription's periods and the grace window: events of the previous
 *    period are taken until its end plus the grace, then refused;
 *  - refusals per event (code and field) that leave the others alone;
 *  - a batch whose last row fails in the database writes nothing, and the
 *    same batch sent again is taken whole;
 *  - one domain event and one audit row per batch; roles;
 *  - a storage vtable older than usage events refuses them clearly;
 *  - PostgreSQL only: usage_events partitioned by month (schema step 42),
 *    the dedupe key in usage_event_keys, partitions made through
 *    billing_usage_partition and nothing else for the runtime role.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cJSON.h>
#include <cmocka.h>
#include <libpq-fe.h>

#include "tb.h"
#include "tb_billing.h"

typedef struct {
	tb_world *w;
	const char *tenant;
	billing_principal admin;
	char customer[64];
	char other[64];
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	billing_customer *c;
	assert_non_null(f);
	f->w = tb_world_new();
	f->tenant = tb_tenant(f->w, "Acme");
	f->admin = tb_admin(f->tenant);
	c = tb_customer(f->w, f->tenant, NULL);
	snprintf(f->customer, sizeof(f->customer), "%s", billing_customer_id(c));
	billing_customer_free(c);
	c = tb_customer(f->w, f->tenant, NULL);
	snprintf(f->other, sizeof(f->other), "%s", billing_customer_id(c));
	billing_customer_free(c);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	tb_world_free(f->w);
	free(f);
	return 0;
}

/* A meter from its JSON; its id into id. */
static void meter(fx *f, const char *json, char *id, size_t size)
{
	char *out = NULL;
	cJSON *m;
	tb_assert_rc(billing_call_json(&out, f->w->ctx, &f->admin, "meters.create", json,
		strlen(json), NULL), BILLING_OK);
	m = cJSON_Parse(out);
	snprintf(id, size, "%s", cJSON_GetObjectItemCaseSensitive(m, "id")->valuestring);
	cJSON_Delete(m);
	billing_free(out);
}

static int64_t events_of_type(fx *f, const char *type)
{
	billing_event_list_params p = BILLING_EVENT_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	int64_t n;
	p.type = type;
	p.list.page = 1;
	tb_assert_rc(billing_event_list(&page, f->w->ctx, &f->admin, &p), BILLING_OK);
	n = billing_page_total(page);
	billing_page_free(page);
	return n;
}

static int64_t stored_events(fx *f)
{
	return tb_raw_count(f->w->owner_url, "SELECT COUNT(*) FROM usage_events");
}

/* ------------------------------------------------------------ the model */

#define MAXEV 600

struct mev {
	char tid[32];
	const char *customer;
	int64_t ts, received;
	int64_t v;                   /* the "v" property */
	int u;                       /* the "u" property: "u<u>" */
	int eu;                      /* region "eu" (else "us") */
	int stored, voided;
};

struct model {
	struct mev ev[MAXEV];
	size_t n;
};

enum { M_COUNT, M_SUM, M_MAX, M_UNIQUE, M_LAST, M_SUM_EU, M_N };

static int64_t expect(const struct model *m, int kind, const char *customer, int64_t from,
	int64_t to, int64_t *events)
{
	int64_t value = 0, best_ts = 0, best_rcv = 0;
	const char *best_tid = NULL;
	char seen[64];
	size_t i;
	memset(seen, 0, sizeof(seen));
	*events = 0;
	for (i = 0; i < m->n; i++) {
		const struct mev *e = &m->ev[i];
		if (!e->stored || e->voided || strcmp(e->customer, customer) != 0 || e->ts < from ||
		    e->ts >= to || (kind == M_SUM_EU && !e->eu))
			continue;
		++*events;
		switch (kind) {
		case M_COUNT: value++; break;
		case M_SUM: case M_SUM_EU: value += e->v; break;
		case M_MAX: if (*events == 1 || e->v > value) value = e->v; break;
		case M_UNIQUE: if (!seen[e->u]) { seen[e->u] = 1; value++; } break;
		default:
			if (!best_tid || e->ts > best_ts || (e->ts == best_ts && (e->received > best_rcv ||
			    (e->received == best_rcv && strcmp(e->tid, best_tid) > 0)))) {
				best_ts = e->ts;
				best_rcv = e->received;
				best_tid = e->tid;
				value = e->v;
			}
		}
	}
	return value;
}

/* Sends model events [from, from + n) as one batch (plus resends of
 * earlier ones, which must come back duplicate). */
static void send(fx *f, struct model *m, size_t from, size_t n, size_t resend)
{
	billing_usage_event evs[64];
	char props[64][96];
	billing_usage_result *r = NULL;
	size_t i, k = 0;

	for (i = 0; i < n + resend; i++) {
		const struct mev *e = i < n ? &m->ev[from + i] : &m->ev[(size_t)rand() % (from ? from : 1)];
		billing_usage_event ev = BILLING_USAGE_EVENT_INIT;
		if (i >= n && !from)
			break;
		snprintf(props[k], sizeof(props[k]), "{\"v\":%lld,\"u\":\"u%d\",\"region\":\"%s\"}",
			(long long)e->v, e->u, e->eu ? "eu" : "us");
		ev.transaction_id = e->tid;
		ev.event_name = "api.call";
		ev.customer_id = e->customer;
		ev.timestamp = e->ts;
		ev.properties_json = props[k];
		evs[k++] = ev;
	}
	tb_assert_rc(billing_usage_ingest(&r, f->w->ctx, &f->admin, evs, k), BILLING_OK);
	assert_int_equal(billing_usage_result_count(r), k);
	for (i = 0; i < k; i++) {
		billing_usage_status st = billing_usage_result_status(r, i);
		if (i < n) {
			/* A transaction id stored before, or earlier in this batch, is
			 * a duplicate. */
			struct mev *e = &m->ev[from + i];
			size_t j;
			int dup = 0;
			for (j = 0; j < from + i; j++)
				dup |= m->ev[j].stored && strcmp(m->ev[j].tid, e->tid) == 0;
			assert_int_equal(st, dup ? BILLING_USAGE_DUPLICATE : BILLING_USAGE_ACCEPTED);
			if (!dup) {
				e->stored = 1;
				e->received = f->w->now;
				assert_string_equal(billing_usage_result_code(r, i), "no_subscription");
			}
		} else {
			assert_int_equal(st, BILLING_USAGE_DUPLICATE);
			assert_string_equal(billing_usage_result_code(r, i), "duplicate");
		}
	}
	billing_usage_result_free(r);
}

static void check_all(fx *f, const struct model *m, char ids[M_N][64], int64_t from, int64_t to)
{
	const char *custs[2] = { f->customer, f->other };
	int k, c;
	for (c = 0; c < 2; c++)
		for (k = 0; k < M_N; k++) {
			int64_t v = -1, n = -1, want_n;
			int64_t want = expect(m, k, custs[c], from, to, &want_n);
			tb_assert_rc(billing_usage_aggregate(&v, &n, f->w->ctx, &f->admin, ids[k],
				custs[c], from, to), BILLING_OK);
			if (v != want || n != want_n)
				fail_msg("meter %d customer %d [%lld, %lld): %lld/%lld events, model "
					"%lld/%lld", k, c, (long long)from, (long long)to, (long long)v,
					(long long)n, (long long)want, (long long)want_n);
		}
}

static void meters_all(fx *f, char ids[M_N][64])
{
	meter(f, "{\"eventName\":\"api.call\",\"aggregation\":\"count\"}", ids[M_COUNT], 64);
	meter(f, "{\"eventName\":\"api.call\",\"aggregation\":\"sum\",\"valueProperty\":\"v\"}",
		ids[M_SUM], 64);
	meter(f, "{\"eventName\":\"api.call\",\"aggregation\":\"max\",\"valueProperty\":\"v\"}",
		ids[M_MAX], 64);
	meter(f, "{\"eventName\":\"api.call\",\"aggregation\":\"uniqueCount\","
		"\"valueProperty\":\"u\"}", ids[M_UNIQUE], 64);
	meter(f, "{\"eventName\":\"api.call\",\"aggregation\":\"last\",\"valueProperty\":\"v\"}",
		ids[M_LAST], 64);
	meter(f, "{\"eventName\":\"api.call\",\"aggregation\":\"sum\",\"valueProperty\":\"v\","
		"\"filters\":{\"region\":\"eu\"}}", ids[M_SUM_EU], 64);
}

static void aggregations__match_the_model_over_random_streams(void **state)
{
	fx *f = *state;
	static struct model m;
	char ids[M_N][64];
	/* Every period asked for stays open (its end plus the day of grace is
	 * after now): computed from the events each time. */
	int64_t t0 = f->w->now - 2 * TBB_DAY, mid = t0 + 30 * 3600, end = f->w->now;
	size_t i, sent = 0;
	int round;

	srand(23);
	memset(&m, 0, sizeof(m));
	meters_all(f, ids);
	tb_assert_rc(billing_usage_grace_set(f->w->ctx, &f->admin, TBB_DAY), BILLING_OK);
	for (round = 0; round < 3; round++) {
		size_t n = 150;
		for (i = 0; i < n; i++) {
			struct mev *e = &m.ev[m.n++];
			/* Out of order, on both sides of mid, some at the same second. */
			e->ts = t0 + (int64_t)(rand() % 40) * 3600;
			e->customer = rand() % 4 ? f->customer : f->other;
			e->v = rand() % 1000 - 100;
			e->u = rand() % 20;
			e->eu = rand() % 2;
			snprintf(e->tid, sizeof(e->tid), "t-%d-%zu", round, i);
			if (i % 17 == 5) /* a resend inside the batch */
				snprintf(e->tid, sizeof(e->tid), "t-%d-%zu", round, i - 1);
		}
		for (i = 0; i < n; i += 50) {
			send(f, &m, sent + i, 50, 5);
			f->w->now += 1;
		}
		sent += n;
		/* Void some stored events, some twice. */
		{
			const char *tids[8];
			billing_usage_result *r = NULL;
			size_t k;
			for (k = 0; k < 8; k++) {
				struct mev *e = &m.ev[(size_t)rand() % m.n];
				tids[k] = e->tid;
			}
			tb_assert_rc(billing_usage_void(&r, f->w->ctx, &f->admin, tids, 8), BILLING_OK);
			for (k = 0; k < 8; k++) {
				assert_int_equal(billing_usage_result_status(r, k), BILLING_USAGE_VOIDED);
				for (i = 0; i < m.n; i++)
					if (m.ev[i].stored && strcmp(m.ev[i].tid, tids[k]) == 0)
						m.ev[i].voided = 1;
			}
			billing_usage_result_free(r);
		}
		check_all(f, &m, ids, t0, mid);
		check_all(f, &m, ids, mid, end + TBB_DAY);
		check_all(f, &m, ids, t0 - TBB_DAY, end + TBB_DAY);
	}
	assert_int_equal(events_of_type(f, "usage.ingested"), 9);
	assert_int_equal(events_of_type(f, "usage.voided"), 3);
}

static void closed_period__stored_once_then_late_events_and_voids_are_refused(void **state)
{
	fx *f = *state;
	static struct model m;
	char ids[M_N][64];
	int64_t from = f->w->now - 10 * TBB_DAY, to = f->w->now - 5 * TBB_DAY;
	billing_usage_result *r = NULL;
	billing_usage_event late = BILLING_USAGE_EVENT_INIT;
	const char *tid;
	int64_t v = 0, n = 0;
	size_t i;

	memset(&m, 0, sizeof(m));
	meters_all(f, ids);
	for (i = 0; i < 40; i++) {
		struct mev *e = &m.ev[m.n++];
		e->ts = from + (int64_t)i * 3600 * 3;   /* some before to, some after */
		e->customer = i % 2 ? f->customer : f->other;
		e->v = (int64_t)i;
		e->u = (int)(i % 7);
		e->eu = (int)(i % 3 == 0);
		snprintf(e->tid, sizeof(e->tid), "c-%zu", i);
	}
	send(f, &m, 0, 40, 0);
	/* The period ended days ago (past the default hour of grace): closed. */
	check_all(f, &m, ids, from, to);
	assert_int_equal(tb_raw_count(f->w->owner_url, "SELECT COUNT(*) FROM usage_aggregates"),
		2 * M_N);
	/* Asked again: read back, not stored twice. */
	check_all(f, &m, ids, from, to);
	assert_int_equal(tb_raw_count(f->w->owner_url, "SELECT COUNT(*) FROM usage_aggregates"),
		2 * M_N);
	/* A void in the closed period is refused; one after it is taken. */
	tid = m.ev[1].tid;
	tb_assert_rc(billing_usage_void(&r, f->w->ctx, &f->admin, &tid, 1), BILLING_OK);
	assert_int_equal(billing_usage_result_status(r, 0), BILLING_USAGE_REFUSED);
	assert_string_equal(billing_usage_result_code(r, 0), "period_closed");
	billing_usage_result_free(r);
	/* A new event in it is late; the stored aggregate does not move. */
	late.transaction_id = "late-1";
	late.event_name = "api.call";
	late.customer_id = f->customer;
	late.timestamp = from + 60;
	late.properties_json = "{\"v\":5,\"u\":\"x\",\"region\":\"eu\"}";
	tb_assert_rc(billing_usage_ingest(&r, f->w->ctx, &f->admin, &late, 1), BILLING_OK);
	assert_int_equal(billing_usage_result_status(r, 0), BILLING_USAGE_REFUSED);
	assert_string_equal(billing_usage_result_code(r, 0), "late_event");
	assert_string_equal(billing_usage_result_field(r, 0), "timestamp");
	billing_usage_result_free(r);
	check_all(f, &m, ids, from, to);
	/* A span of the same start with another end is another span: computed
	 * once and stored beside it (the first is read back unmoved). */
	tb_assert_rc(billing_usage_aggregate(&v, &n, f->w->ctx, &f->admin, ids[M_SUM], f->customer,
		from, to + 3600), BILLING_OK);
	{
		int64_t en = 0;
		assert_int_equal(v, expect(&m, M_SUM, f->customer, from, to + 3600, &en));
		assert_int_equal(n, en);
	}
	assert_int_equal(tb_raw_count(f->w->owner_url, "SELECT COUNT(*) FROM usage_aggregates"),
		2 * M_N + 1);
	check_all(f, &m, ids, from, to);
}

static void subscription__previous_period_taken_within_the_grace_window(void **state)
{
	fx *f = *state;
	billing_subscription_params sp = BILLING_SUBSCRIPTION_PARAMS_INIT;
	billing_subscription *sub = NULL;
	billing_plan *plan = tb_plan(f->w, f->tenant, &(tb_plan_spec){ .interval = BILLING_MONTH });
	billing_usage_summary *s = NULL;
	billing_usage_result *r = NULL;
	billing_usage_event ev = BILLING_USAGE_EVENT_INIT;
	char count_id[64];
	int64_t start, end, grace = 0;

	meter(f, "{\"eventName\":\"api.call\",\"aggregation\":\"count\"}", count_id,
		sizeof(count_id));
	sp.customer_id = f->customer;
	sp.plan_id = billing_plan_id(plan);
	tb_assert_rc(billing_subscription_create(&sub, f->w->ctx, &f->admin, &sp, NULL), BILLING_OK);
	start = billing_subscription_current_period_start(sub);
	end = billing_subscription_current_period_end(sub);
	ev.event_name = "api.call";
	ev.customer_id = f->customer;
	ev.transaction_id = "s-1";
	tb_assert_rc(billing_usage_ingest(&r, f->w->ctx, &f->admin, &ev, 1), BILLING_OK);
	assert_int_equal(billing_usage_result_status(r, 0), BILLING_USAGE_ACCEPTED);
	assert_null(billing_usage_result_code(r, 0));
	assert_string_equal(billing_usage_result_subscription_id(r, 0), billing_subscription_id(sub));
	billing_usage_result_free(r);
	/* Before the subscription's first period: nothing to count it in. */
	ev.transaction_id = "s-0";
	ev.timestamp = start - 10;
	tb_assert_rc(billing_usage_ingest(&r, f->w->ctx, &f->admin, &ev, 1), BILLING_OK);
	assert_string_equal(billing_usage_result_code(r, 0), "late_event");
	billing_usage_result_free(r);

	/* The period ends and renews; within the hour of grace an event of the
	 * old period is taken. */
	f->w->now = end + 60;
	tb_assert_rc(billing_run_due(f->w->ctx, f->w->now, NULL, NULL), BILLING_OK);
	ev.transaction_id = "s-2";
	ev.timestamp = end - 30;
	tb_assert_rc(billing_usage_ingest(&r, f->w->ctx, &f->admin, &ev, 1), BILLING_OK);
	assert_int_equal(billing_usage_result_status(r, 0), BILLING_USAGE_ACCEPTED);
	billing_usage_result_free(r);
	/* After the grace window: refused. A shorter window set by the tenant. */
	tb_assert_rc(billing_usage_grace_set(f->w->ctx, &f->admin, 30), BILLING_OK);
	tb_assert_rc(billing_usage_grace_get(&grace, f->w->ctx, &f->admin), BILLING_OK);
	assert_int_equal(grace, 30);
	ev.transaction_id = "s-3";
	tb_assert_rc(billing_usage_ingest(&r, f->w->ctx, &f->admin, &ev, 1), BILLING_OK);
	assert_int_equal(billing_usage_result_status(r, 0), BILLING_USAGE_REFUSED);
	assert_string_equal(billing_usage_result_code(r, 0), "late_event");
	billing_usage_result_free(r);
	tb_assert_rc(billing_usage_grace_set(f->w->ctx, &f->admin, 86401), BILLING_EINVALID);
	tb_assert_field("usageGraceSeconds");

	/* The running usage of the new period: one event in it so far. */
	ev.transaction_id = "s-4";
	ev.timestamp = 0;
	tb_assert_rc(billing_usage_ingest(&r, f->w->ctx, &f->admin, &ev, 1), BILLING_OK);
	billing_usage_result_free(r);
	tb_assert_rc(billing_usage_summary_get(&s, f->w->ctx, &f->admin, billing_subscription_id(sub)),
		BILLING_OK);
	assert_int_equal(billing_usage_summary_period_start(s), end);
	assert_int_equal(billing_usage_summary_count(s), 1);
	assert_string_equal(billing_usage_summary_meter_id(s, 0), count_id);
	assert_int_equal(billing_usage_summary_value(s, 0), 1);
	assert_int_equal(billing_usage_summary_events(s, 0), 1);
	billing_usage_summary_free(s);
	/* The old period has both of its events. */
	{
		int64_t v = 0;
		tb_assert_rc(billing_usage_aggregate(&v, NULL, f->w->ctx, &f->admin, count_id,
			f->customer, start, end), BILLING_OK);
		assert_int_equal(v, 2);
	}
	billing_subscription_free(sub);
	billing_plan_free(plan);
}

static void refusals__name_the_field_and_leave_the_others(void **state)
{
	fx *f = *state;
	billing_usage_event evs[9];
	billing_usage_result *r = NULL;
	billing_principal user = tb_user(f->tenant);
	char sum_id[64], stranger_customer[64];
	const char *other = tb_tenant(f->w, "Other");
	billing_principal stranger = tb_admin(other);
	billing_customer *sc = tb_customer(f->w, other, NULL);
	size_t i;
	static const struct { const char *code, *field; } want[9] = {
		{ "no_subscription", NULL }, { "invalid", "transactionId" }, { "invalid", "eventName" },
		{ "invalid", "customerId" }, { "resource_missing", "customerId" },
		{ "invalid", "properties" }, { "invalid", "timestamp" },
		{ "invalid_value", "properties" }, { "duplicate", NULL },
	};

	snprintf(stranger_customer, sizeof(stranger_customer), "%s", billing_customer_id(sc));
	billing_customer_free(sc);
	meter(f, "{\"eventName\":\"gb\",\"aggregation\":\"sum\",\"valueProperty\":\"gb\"}", sum_id,
		sizeof(sum_id));
	for (i = 0; i < 9; i++) {
		billing_usage_event e = BILLING_USAGE_EVENT_INIT;
		e.transaction_id = "ok-1";
		e.event_name = "gb";
		e.customer_id = f->customer;
		e.properties_json = "{\"gb\":3}";
		evs[i] = e;
	}
	evs[1].transaction_id = "has space";
	evs[2].event_name = "bad name";
	evs[3].customer_id = "not-an-id";
	evs[4].customer_id = stranger_customer;
	evs[5].properties_json = "[1]";
	evs[6].timestamp = f->w->now + 3600;
	evs[7].properties_json = "{\"gb\":1.5}";
	for (i = 1; i < 8; i++) {
		static char tids[9][16];
		if (i == 1)
			continue;
		snprintf(tids[i], sizeof(tids[i]), "bad-%zu", i);
		evs[i].transaction_id = tids[i];
	}
	/* evs[8] resends evs[0]'s transaction id. */
	tb_assert_rc(billing_usage_ingest(&r, f->w->ctx, &user, evs, 9), BILLING_EFORBIDDEN);
	tb_assert_rc(billing_usage_ingest(&r, f->w->ctx, &f->admin, evs, 9), BILLING_OK);
	for (i = 0; i < 9; i++) {
		const char *code = billing_usage_result_code(r, i);
		const char *field = billing_usage_result_field(r, i);
		if (want[i].code)
			assert_string_equal(code, want[i].code);
		else
			assert_null(code);
		if (want[i].field)
			assert_string_equal(field, want[i].field);
		else
			assert_null(field);
		assert_int_equal(billing_usage_result_status(r, i), i == 0 ? BILLING_USAGE_ACCEPTED :
			i == 8 ? BILLING_USAGE_DUPLICATE : BILLING_USAGE_REFUSED);
	}
	billing_usage_result_free(r);
	assert_int_equal(stored_events(f), 1);
	/* Nothing accepted: no event, no audit row. */
	tb_assert_rc(billing_usage_ingest(&r, f->w->ctx, &f->admin, evs + 1, 7), BILLING_OK);
	assert_int_equal(billing_usage_result_tally(r, BILLING_USAGE_REFUSED), 7);
	billing_usage_result_free(r);
	assert_int_equal(events_of_type(f, "usage.ingested"), 1);
	assert_int_equal(tb_raw_count(f->w->owner_url, "SELECT COUNT(*) FROM audit_log WHERE "
		"operation = 'usage_events.create'"), 1);
	/* The call itself: an empty batch, one too many. */
	tb_assert_rc(billing_usage_ingest(&r, f->w->ctx, &f->admin, evs, 0), BILLING_EINVALID);
	tb_assert_field("events");
	tb_assert_rc(billing_usage_ingest(&r, f->w->ctx, &f->admin, evs, 1001), BILLING_EINVALID);
	tb_assert_field("events");
	/* Another tenant sees none of it. */
	{
		int64_t v = 0;
		tb_assert_rc(billing_usage_aggregate(&v, NULL, f->w->ctx, &stranger, sum_id,
			f->customer, 0, f->w->now + 1), BILLING_ENOTFOUND);
	}
}

static void batch__a_failing_last_row_writes_nothing_and_a_resend_takes_all(void **state)
{
	fx *f = *state;
	static billing_usage_event evs[1000];
	static char tids[1000][16];
	billing_usage_result *r = NULL;
	size_t i;

	if (strcmp(tb_backend(), "sqlite") == 0)
		tb_raw_exec(f->w->owner_url, "CREATE TRIGGER usage_poison BEFORE INSERT ON usage_events "
			"WHEN NEW.transaction_id = 'b-999' BEGIN SELECT RAISE(ABORT, 'poison'); END;");
	else
		tb_raw_exec(f->w->owner_url, "CREATE FUNCTION usage_poison() RETURNS trigger "
			"LANGUAGE plpgsql AS $$ BEGIN IF NEW.transaction_id = 'b-999' THEN "
			"RAISE EXCEPTION 'poison'; END IF; RETURN NEW; END $$; "
			"CREATE TRIGGER usage_poison BEFORE INSERT ON usage_events FOR EACH ROW "
			"EXECUTE FUNCTION usage_poison();");
	for (i = 0; i < 1000; i++) {
		billing_usage_event e = BILLING_USAGE_EVENT_INIT;
		snprintf(tids[i], sizeof(tids[i]), "b-%zu", i);
		e.transaction_id = tids[i];
		e.event_name = "api.call";
		e.customer_id = i % 2 ? f->customer : f->other;
		e.timestamp = f->w->now - (int64_t)i;
		evs[i] = e;
	}
	assert_true(billing_usage_ingest(&r, f->w->ctx, &f->admin, evs, 1000) < 0);
	assert_null(r);
	assert_int_equal(stored_events(f), 0);
	assert_int_equal(events_of_type(f, "usage.ingested"), 0);
	if (strcmp(tb_backend(), "sqlite") == 0)
		tb_raw_exec(f->w->owner_url, "DROP TRIGGER usage_poison;");
	else
		tb_raw_exec(f->w->owner_url, "DROP TRIGGER usage_poison ON usage_events;");
	tb_assert_rc(billing_usage_ingest(&r, f->w->ctx, &f->admin, evs, 1000), BILLING_OK);
	assert_int_equal(billing_usage_result_tally(r, BILLING_USAGE_ACCEPTED), 1000);
	billing_usage_result_free(r);
	assert_int_equal(stored_events(f), 1000);
	/* Sent once more: all duplicates, nothing written, no event. */
	tb_assert_rc(billing_usage_ingest(&r, f->w->ctx, &f->admin, evs, 1000), BILLING_OK);
	assert_int_equal(billing_usage_result_tally(r, BILLING_USAGE_DUPLICATE), 1000);
	billing_usage_result_free(r);
	assert_int_equal(stored_events(f), 1000);
	assert_int_equal(events_of_type(f, "usage.ingested"), 1);
}

/* A storage vtable built before usage events (version 11) has no usage
 * methods: ingestion, aggregation and the prune are refused, naming the
 * storage, and nothing is called past the vtable's end. */
static void storage__an_older_vtable_is_refused_clearly(void **state)
{
	fx *f = *state;
	billing_ctx_options o = BILLING_CTX_OPTIONS_INIT;
	billing_usage_event e = BILLING_USAGE_EVENT_INIT;
	billing_usage_result *r = NULL;
	billing_storage *st = tb_storage_open(f->w->url, 1000);
	billing_ctx *ctx = NULL;
	int64_t value = -1, events = -1, deleted = -1, cutoff = -1;
	char m[64];

	meter(f, "{\"eventName\":\"api.call\",\"aggregation\":\"count\"}", m, sizeof(m));
	st->version = 11;
	o.storage = st;
	tb_assert_rc(billing_ctx_open(&ctx, &o), BILLING_OK);
	e.transaction_id = "old-1";
	e.event_name = "api.call";
	e.customer_id = f->customer;
	e.timestamp = f->w->now;
	tb_assert_rc(billing_usage_ingest(&r, ctx, &f->admin, &e, 1), BILLING_ECONFLICT);
	assert_string_equal(billing_error_last()->reason, "storage_unsupported");
	tb_assert_field("storage");
	assert_null(r);
	tb_assert_rc(billing_usage_aggregate(&value, &events, ctx, &f->admin, m, f->customer,
		f->w->now - 3600, f->w->now), BILLING_ECONFLICT);
	assert_string_equal(billing_error_last()->reason, "storage_unsupported");
	st->version = 12;
	tb_assert_rc(billing_usage_prune(&deleted, &cutoff, ctx, &f->admin), BILLING_ECONFLICT);
	assert_non_null(strstr(billing_error_last()->message, "version 12"));
	assert_int_equal(deleted, 0);
	billing_ctx_close(ctx);
	assert_int_equal(stored_events(f), 0);
}

/* ------------------------------------------------------------ PostgreSQL partitions */

/* Schema step 42 (docs/usage.md "Monthly partitions"): usage_events is
 * partitioned by UTC month, the dedupe key lives in usage_event_keys,
 * partitions are made through billing_usage_partition. The world's clock
 * is 2026-01-01: its months before have no partition until an event
 * needs one. */

#define DAY 86400
#define OCT_2025 INT64_C(1759276800)   /* 2025-10-01T00:00:00Z */
#define NOV_2025 INT64_C(1761955200)
#define DEC_2025 INT64_C(1764547200)
#define MAR_2020 INT64_C(1583020800)

/* One event of customer at ts, ingested by who; its status. */
static billing_usage_status one(fx *f, const billing_principal *who, const char *customer,
	const char *tid, int64_t ts)
{
	billing_usage_event e = BILLING_USAGE_EVENT_INIT;
	billing_usage_result *r = NULL;
	billing_usage_status st;
	e.transaction_id = tid;
	e.event_name = "api.call";
	e.customer_id = customer;
	e.timestamp = ts;
	tb_assert_rc(billing_usage_ingest(&r, f->w->ctx, who, &e, 1), BILLING_OK);
	st = billing_usage_result_status(r, 0);
	billing_usage_result_free(r);
	return st;
}

static int64_t raw(fx *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int64_t raw(fx *f, const char *fmt, ...)
{
	char sql[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	return tb_raw_count(f->w->owner_url, sql);
}

/* 1 when tid's event is in the partition part, else 0. */
static int64_t in_partition(fx *f, const char *tid, const char *part)
{
	return raw(f, "SELECT COUNT(*) FROM usage_events WHERE transaction_id = '%s' AND "
		"tableoid::regclass::text = '%s'", tid, part);
}

static void partitions__three_months_land_in_three_partitions(void **state)
{
	fx *f = *state;
	billing_usage_event evs[4];
	billing_usage_result *r = NULL;
	const char *tids[4] = { "p-oct", "p-nov", "p-dec", "p-dec2" };
	int64_t ts[4] = { OCT_2025 + 5 * DAY, NOV_2025 + 3600, DEC_2025 + 20 * DAY,
		DEC_2025 + 21 * DAY };
	size_t i;

	assert_int_equal(raw(f, "SELECT COUNT(*) FROM pg_class WHERE relname LIKE "
		"'usage_events_2025_%%'"), 0);
	for (i = 0; i < 4; i++) {
		billing_usage_event e = BILLING_USAGE_EVENT_INIT;
		e.transaction_id = tids[i];
		e.event_name = "api.call";
		e.customer_id = f->customer;
		e.timestamp = ts[i];
		evs[i] = e;
	}
	/* One batch of three months: each made, each row in its month. */
	tb_assert_rc(billing_usage_ingest(&r, f->w->ctx, &f->admin, evs, 4), BILLING_OK);
	assert_int_equal(billing_usage_result_tally(r, BILLING_USAGE_ACCEPTED), 4);
	billing_usage_result_free(r);
	assert_int_equal(in_partition(f, "p-oct", "usage_events_2025_10"), 1);
	assert_int_equal(in_partition(f, "p-nov", "usage_events_2025_11"), 1);
	assert_int_equal(in_partition(f, "p-dec", "usage_events_2025_12"), 1);
	assert_int_equal(in_partition(f, "p-dec2", "usage_events_2025_12"), 1);
	assert_int_equal(raw(f, "SELECT COUNT(*) FROM pg_inherits WHERE inhparent = "
		"'usage_events'::regclass AND inhrelid::regclass::text LIKE 'usage_events_2025_%%'"), 3);
	assert_int_equal(raw(f, "SELECT COUNT(*) FROM usage_events_default"), 0);
	assert_int_equal(raw(f, "SELECT COUNT(*) FROM usage_event_keys"), 4);
	/* Every partition has the parent's indexes. */
	assert_int_equal(raw(f, "SELECT COUNT(*) FROM pg_indexes WHERE tablename = "
		"'usage_events_2025_11'"), 2);
	/* The aggregate of a month reads that month's partition only. */
	assert_int_equal(raw(f, "SELECT COUNT(*) FROM usage_events WHERE tenant_id = '%s' AND "
		"occurred_at >= %lld AND occurred_at < %lld", f->tenant, (long long)NOV_2025,
		(long long)DEC_2025), 1);
}

static void partitions__a_resend_across_a_month_boundary_is_a_duplicate(void **state)
{
	fx *f = *state;
	billing_principal b_admin;
	const char *b = tb_tenant(f->w, "Other");
	billing_customer *c = tb_customer(f->w, b, NULL);

	assert_int_equal(one(f, &f->admin, f->customer, "edge", DEC_2025 - 1),
		BILLING_USAGE_ACCEPTED);
	/* The same id, a second later: another month, still the same event. */
	assert_int_equal(one(f, &f->admin, f->customer, "edge", DEC_2025),
		BILLING_USAGE_DUPLICATE);
	assert_int_equal(one(f, &f->admin, f->other, "edge", DEC_2025 + 10 * DAY),
		BILLING_USAGE_DUPLICATE);
	assert_int_equal(stored_events(f), 1);
	assert_int_equal(in_partition(f, "edge", "usage_events_2025_11"), 1);
	/* Another tenant's same id is its own event. */
	b_admin = tb_admin(b);
	assert_int_equal(one(f, &b_admin, billing_customer_id(c), "edge", DEC_2025),
		BILLING_USAGE_ACCEPTED);
	billing_customer_free(c);
	assert_int_equal(stored_events(f), 2);
	assert_int_equal(raw(f, "SELECT COUNT(*) FROM usage_event_keys WHERE transaction_id = "
		"'edge'"), 2);
	assert_int_equal(in_partition(f, "edge", "usage_events_2025_12"), 1);
}

/* A month with no partition gets one at its first event; rows of that
 * month waiting in DEFAULT (written where no partition was) move into it. */
static void partitions__a_new_month_is_made_and_default_rows_move_in(void **state)
{
	fx *f = *state;

	assert_int_equal(raw(f, "SELECT COUNT(*) FROM pg_class WHERE relname = "
		"'usage_events_2020_03'"), 0);
	/* Behind the library's back: an event of March 2020 with no partition. */
	{
		char sql[1024];
		snprintf(sql, sizeof(sql), "INSERT INTO usage_event_keys VALUES ('%s', 'old-1', %lld); "
			"INSERT INTO usage_events (tenant_id, transaction_id, event_name, customer_id, "
			"occurred_at, properties, received_at, version) VALUES ('%s', 'old-1', "
			"'api.call', '%s', %lld, '{}', %lld, 1)", f->tenant, (long long)(MAR_2020 + DAY),
			f->tenant, f->customer, (long long)(MAR_2020 + DAY), (long long)f->w->now);
		tb_raw_exec(f->w->owner_url, sql);
	}
	assert_int_equal(in_partition(f, "old-1", "usage_events_default"), 1);
	assert_int_equal(one(f, &f->admin, f->customer, "new-1", MAR_2020 + 2 * DAY),
		BILLING_USAGE_ACCEPTED);
	assert_int_equal(in_partition(f, "new-1", "usage_events_2020_03"), 1);
	assert_int_equal(in_partition(f, "old-1", "usage_events_2020_03"), 1);
	assert_int_equal(raw(f, "SELECT COUNT(*) FROM usage_events_default"), 0);
	/* The moved row is still the tenant's event: a resend is a duplicate,
	 * a void finds it. */
	assert_int_equal(one(f, &f->admin, f->customer, "old-1", MAR_2020 + DAY),
		BILLING_USAGE_DUPLICATE);
	{
		const char *tid = "old-1";
		billing_usage_result *r = NULL;
		tb_assert_rc(billing_usage_void(&r, f->w->ctx, &f->admin, &tid, 1), BILLING_OK);
		assert_int_equal(billing_usage_result_status(r, 0), BILLING_USAGE_VOIDED);
		billing_usage_result_free(r);
	}
	assert_int_equal(raw(f, "SELECT COUNT(*) FROM usage_events_2020_03 WHERE "
		"transaction_id = 'old-1' AND voided_at IS NOT NULL"), 1);
	/* A partition that went away (dropped by an operator while this
	 * context remembers it): the event still lands, in DEFAULT. */
	tb_raw_exec(f->w->owner_url, "DROP TABLE usage_events_2020_03");
	assert_int_equal(one(f, &f->admin, f->customer, "new-2", MAR_2020 + 3 * DAY),
		BILLING_USAGE_ACCEPTED);
	assert_int_equal(in_partition(f, "new-2", "usage_events_default"), 1);
}

/* Voids find their event through its key's month; the prune deletes the
 * keys with the events, and a pruned event sent again is refused, not
 * taken as new nor as a duplicate. */
static void partitions__void_and_prune_keep_keys_and_events_together(void **state)
{
	fx *f = *state;
	const char *tid = "v-1";
	billing_usage_result *r = NULL;
	int64_t deleted = 0, cutoff = 0;

	assert_int_equal(one(f, &f->admin, f->customer, "v-1", OCT_2025 + DAY),
		BILLING_USAGE_ACCEPTED);
	assert_int_equal(one(f, &f->admin, f->customer, "v-2", NOV_2025 + DAY),
		BILLING_USAGE_ACCEPTED);
	assert_int_equal(one(f, &f->admin, f->customer, "v-3", f->w->now - 3600),
		BILLING_USAGE_ACCEPTED);
	tb_assert_rc(billing_usage_void(&r, f->w->ctx, &f->admin, &tid, 1), BILLING_OK);
	assert_int_equal(billing_usage_result_status(r, 0), BILLING_USAGE_VOIDED);
	billing_usage_result_free(r);
	assert_int_equal(raw(f, "SELECT COUNT(*) FROM usage_events_2025_10 WHERE "
		"transaction_id = 'v-1' AND voided_at IS NOT NULL"), 1);
	/* Retention 30 days at 2026-01-01: October and November go. */
	tb_assert_rc(billing_usage_retention_set(f->w->ctx, &f->admin, 30), BILLING_OK);
	tb_assert_rc(billing_usage_prune(&deleted, &cutoff, f->w->ctx, &f->admin), BILLING_OK);
	assert_int_equal(deleted, 2);
	assert_int_equal(stored_events(f), 1);
	assert_int_equal(raw(f, "SELECT COUNT(*) FROM usage_event_keys"), 1);
	assert_int_equal(raw(f, "SELECT COUNT(*) FROM usage_event_keys WHERE "
		"transaction_id = 'v-3'"), 1);
	/* Refused before the dedupe: the pruned period. */
	{
		billing_usage_event e = BILLING_USAGE_EVENT_INIT;
		e.transaction_id = "v-2";
		e.event_name = "api.call";
		e.customer_id = f->customer;
		e.timestamp = NOV_2025 + DAY;
		tb_assert_rc(billing_usage_ingest(&r, f->w->ctx, &f->admin, &e, 1), BILLING_OK);
		assert_int_equal(billing_usage_result_status(r, 0), BILLING_USAGE_REFUSED);
		assert_string_equal(billing_usage_result_code(r, 0), "period_pruned");
		billing_usage_result_free(r);
	}
	assert_int_equal(raw(f, "SELECT COUNT(*) FROM usage_event_keys"), 1);
	/* The operator's recipe of docs/usage.md ("Dropping old months"):
	 * the emptied October and November go, December (v-3) stays. */
	assert_int_equal(raw(f, "SELECT COUNT(*) FROM usage_events_2025_10"), 0);
	tb_raw_exec(f->w->owner_url, "DO $drop$\n"
		"DECLARE part TEXT; empty BOOLEAN;\n"
		"BEGIN\n"
		"  LOCK TABLE usage_events IN ACCESS EXCLUSIVE MODE;\n"
		"  FOR part IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid\n"
		"      WHERE i.inhparent = 'usage_events'::regclass\n"
		"        AND c.relname ~ '^usage_events_[0-9]{4}_[0-9]{2}$'\n"
		"        AND c.relname < 'usage_events_2025_12' ORDER BY c.relname\n"
		"  LOOP\n"
		"    EXECUTE format('SELECT NOT EXISTS (SELECT 1 FROM %I)', part) INTO empty;\n"
		"    IF empty THEN\n"
		"      EXECUTE format('DROP TABLE %I', part);\n"
		"    END IF;\n"
		"  END LOOP;\n"
		"END $drop$;");
	assert_int_equal(raw(f, "SELECT COUNT(*) FROM pg_class WHERE relname IN "
		"('usage_events_2025_10', 'usage_events_2025_11')"), 0);
	assert_int_equal(in_partition(f, "v-3", "usage_events_2025_12"), 1);
	assert_int_equal(one(f, &f->admin, f->customer, "v-4", f->w->now - 60),
		BILLING_USAGE_ACCEPTED);
	assert_int_equal(stored_events(f), 2);
}

/* The runtime role (what the world runs as) can neither make nor drop a
 * partition, nor detach one, nor touch one directly; it may call the
 * function, which makes a missing month once. */
static void partitions__only_the_function_makes_them_for_the_runtime_role(void **state)
{
	fx *f = *state;
	char conninfo[600];
	const char *bad[] = {
		"CREATE TABLE usage_events_2031_01 PARTITION OF usage_events "
			"FOR VALUES FROM (1924992000) TO (1927670400)",
		"CREATE TABLE usage_events_x (LIKE usage_events)",
		"DROP TABLE usage_events_default",
		"ALTER TABLE usage_events DETACH PARTITION usage_events_default",
		"SELECT COUNT(*) FROM usage_events_default",
		"CREATE OR REPLACE FUNCTION billing_usage_partition(at BIGINT) RETURNS BOOLEAN "
			"LANGUAGE sql AS 'SELECT true'",
	};
	PGconn *pg;
	PGresult *res;
	size_t i;

	tb_pg_conninfo(conninfo, sizeof(conninfo), f->w->url, "billing_app");
	pg = PQconnectdb(conninfo);
	assert_int_equal(PQstatus(pg), CONNECTION_OK);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		res = PQexec(pg, bad[i]);
		if (PQresultStatus(res) != PGRES_FATAL_ERROR)
			fail_msg("the runtime role could: %s", bad[i]);
		assert_string_equal(PQresultErrorField(res, PG_DIAG_SQLSTATE), "42501");
		PQclear(res);
	}
	/* 2031-01: made the first time, found the second. */
	res = PQexec(pg, "SELECT billing_usage_partition(1925000000), "
		"billing_usage_partition(1925000001)");
	assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
	assert_string_equal(PQgetvalue(res, 0, 0), "t");
	assert_string_equal(PQgetvalue(res, 0, 1), "f");
	PQclear(res);
	PQfinish(pg);
	assert_int_equal(raw(f, "SELECT COUNT(*) FROM pg_inherits WHERE inhrelid = "
		"'usage_events_2031_01'::regclass"), 1);
	assert_int_equal(raw(f, "SELECT COUNT(*) FROM pg_class WHERE relname = "
		"'usage_events_2031_01' AND relowner = (SELECT relowner FROM pg_class "
		"WHERE relname = 'usage_events')"), 1);
	/* The function runs as its owner, with its own search_path, and
	 * PUBLIC may not call it. */
	assert_int_equal(raw(f, "SELECT COUNT(*) FROM pg_proc WHERE proname = "
		"'billing_usage_partition' AND prosecdef AND array_to_string(proconfig, ',') "
		"LIKE 'search_path=%%'"), 1);
	assert_int_equal(raw(f, "SELECT COUNT(*) FROM pg_proc, aclexplode(proacl) a WHERE "
		"proname = 'billing_usage_partition' AND a.grantee = 0"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(aggregations__match_the_model_over_random_streams,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			closed_period__stored_once_then_late_events_and_voids_are_refused, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			subscription__previous_period_taken_within_the_grace_window, setup, teardown),
		cmocka_unit_test_setup_teardown(refusals__name_the_field_and_leave_the_others, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			batch__a_failing_last_row_writes_nothing_and_a_resend_takes_all, setup, teardown),
		cmocka_unit_test_setup_teardown(storage__an_older_vtable_is_refused_clearly, setup,
			teardown),
	};
	const struct CMUnitTest pg_tests[] = {
		cmocka_unit_test_setup_teardown(partitions__three_months_land_in_three_partitions,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			partitions__a_resend_across_a_month_boundary_is_a_duplicate, setup, teardown),
		cmocka_unit_test_setup_teardown(
			partitions__a_new_month_is_made_and_default_rows_move_in, setup, teardown),
		cmocka_unit_test_setup_teardown(
			partitions__void_and_prune_keep_keys_and_events_together, setup, teardown),
		cmocka_unit_test_setup_teardown(
			partitions__only_the_function_makes_them_for_the_runtime_role, setup, teardown),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	/* Partitions are PostgreSQL's alone (schema step 42). */
	if (strcmp(tb_backend(), "sqlite") != 0)
		failed += cmocka_run_group_tests_name("postgres partitions", pg_tests, NULL, NULL);
	return failed;
}

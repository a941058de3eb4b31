/*
 * Lists: parameter checks, signed keyset cursors, and pages.
 *
 * A cursor is base64url(payload) "." base64url(tag). The payload holds the
 * tenant, the sort, a digest of the filters and the last row's sort key and
 * id, separated by newlines (which no validated value contains); the tag is
 * the first 16 bytes of HMAC-SHA256 under the database's cursor key. So a
 * cursor cannot be forged, nor replayed in another tenant or query.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "core/encode.h"
#include "core/resource.h"

#define CURSOR_TAG_LEN 16
#define CURSOR_PAYLOAD_MAX 1024

size_t billing_page_count(const billing_page *page)
{
	return page ? page->count : 0;
}

int billing_page_has_more(const billing_page *page)
{
	return page ? page->has_more : 0;
}

const char *billing_page_next_cursor(const billing_page *page)
{
	return page ? page->next_cursor : NULL;
}

int64_t billing_page_total(const billing_page *page)
{
	return page ? page->total : -1;
}

unsigned int billing_page_limit(const billing_page *page)
{
	return page ? page->limit : 0;
}

unsigned int billing_page_number(const billing_page *page)
{
	return page ? page->number : 0;
}

void billing_page_free(billing_page *page)
{
	size_t i;
	if (!page)
		return;
	for (i = 0; i < page->count; i++)
		page->free_item(page->items[i]);
	billing__free(page->items);
	billing__free(page->next_cursor);
	billing__free(page);
}

const void *billing__page_item(const billing_page *page, billing__page_kind kind, size_t i)
{
	if (!page || page->kind != kind || i >= page->count)
		return NULL;
	return page->items[i];
}

#define FNV_BASIS 1469598103934665603ull

static uint64_t fnv1a(uint64_t h, const char *s)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	h ^= 0xff; /* a separator, so ("ab","c") and ("a","bc") differ */
	return h * 1099511628211ull;
}

static int cursor_invalid(void)
{
	return billing__error_field(BILLING_EINVALID, "invalid_cursor", "startingAfter",
		"the cursor is not valid for this list");
}

static int cursor_tag(billing_ctx *ctx, uint8_t tag[32], const char *payload, size_t len)
{
	return billing__hmac_sha256_keyed(tag, ctx->cursor_mac, payload, len);
}

/* Splits payload at newlines into at most n fields (in place). */
static size_t split_fields(char *payload, char **fields, size_t n)
{
	size_t k = 0;
	char *p = payload;
	while (k < n) {
		char *nl = strchr(p, '\n');
		fields[k++] = p;
		if (!nl)
			break;
		*nl = '\0';
		p = nl + 1;
	}
	return k;
}

static int cursor_decode(billing__list *l, const char *cursor)
{
	char payload[CURSOR_PAYLOAD_MAX + 1];
	uint8_t tag[CURSOR_TAG_LEN + 1], want[32];
	const char *dot = strchr(cursor, '.');
	char *f[8], *end;
	long plen, tlen;
	long long num;

	if (!dot)
		return cursor_invalid();
	plen = billing__b64url_decode((uint8_t *)payload, CURSOR_PAYLOAD_MAX, cursor,
		(size_t)(dot - cursor));
	tlen = billing__b64url_decode(tag, sizeof(tag), dot + 1, strlen(dot + 1));
	if (plen <= 0 || tlen != CURSOR_TAG_LEN)
		return cursor_invalid();
	if (cursor_tag(l->ctx, want, payload, (size_t)plen) < 0 ||
	    !billing__ct_equal(want, tag, CURSOR_TAG_LEN))
		return cursor_invalid();
	payload[plen] = '\0';
	if (memchr(payload, '\0', (size_t)plen))
		return cursor_invalid();
	/* version, tenant, sort, order, filters, key, id */
	if (split_fields(payload, f, 8) != 7 || strcmp(f[0], "c1") != 0)
		return cursor_invalid();
	if (strcmp(f[1], l->tenant_id ? l->tenant_id : "-") != 0 ||
	    strcmp(f[2], l->sort->name) != 0 ||
	    strcmp(f[3], l->q.descending ? "desc" : "asc") != 0 ||
	    strcmp(f[4], l->filter_sig) != 0 ||
	    strlen(f[6]) >= sizeof(l->after_id))
		return cursor_invalid();
	if (l->sort->is_text) {
		if ((l->after_text = billing__strdup(f[5])) == NULL)
			return billing__error_set(BILLING_ENOMEM, NULL, NULL);
		l->q.after_text = l->after_text;
	} else {
		num = strtoll(f[5], &end, 10);
		if (*f[5] == '\0' || *end != '\0')
			return cursor_invalid();
		l->q.after_int = (int64_t)num;
	}
	snprintf(l->after_id, sizeof(l->after_id), "%s", f[6]);
	l->q.after_id = l->after_id;
	l->q.has_after = 1;
	return BILLING_OK;
}

/* The sort key of an owned record of l->res. */
static void record_key(const billing__list *l, const void *item, const char **text,
	int64_t *num, const char **id)
{
	const billing_field *f = l->q.sort_field;
	size_t i;
	for (i = 0; i < l->res->field_count; i++)
		if (l->res->fields[i].flags & BILLING_FIELD_ID)
			*id = billing__record_text(&l->res->fields[i], item);
	if (f->type == BILLING_FIELD_TEXT)
		*text = billing__record_text(f, item);
	else
		*num = billing__record_int(f, item);
}

static char *cursor_encode(billing__list *l, const void *item)
{
	char payload[CURSOR_PAYLOAD_MAX + 1], num[24];
	const char *text = NULL, *id = NULL;
	int64_t n = 0;
	uint8_t tag[32];
	char *out;
	int len;

	if (l->res)
		record_key(l, item, &text, &n, &id);
	else
		l->sort_key(item, &text, &n, &id);
	if (!l->sort->is_text) {
		snprintf(num, sizeof(num), "%lld", (long long)n);
		text = num;
	}
	len = snprintf(payload, sizeof(payload), "c1\n%s\n%s\n%s\n%s\n%s\n%s",
		l->tenant_id ? l->tenant_id : "-", l->sort->name,
		l->q.descending ? "desc" : "asc", l->filter_sig, text ? text : "", id);
	if (len < 0 || len > CURSOR_PAYLOAD_MAX)
		return NULL;
	if (cursor_tag(l->ctx, tag, payload, (size_t)len) < 0)
		return NULL;
	out = billing__malloc(billing__b64url_len((size_t)len) + 1 +
		billing__b64url_len(CURSOR_TAG_LEN) + 1);
	if (!out)
		return NULL;
	billing__b64url_encode(out, (const uint8_t *)payload, (size_t)len);
	strcat(out, ".");
	billing__b64url_encode(out + strlen(out), tag, CURSOR_TAG_LEN);
	return out;
}

int billing__list_begin(billing__list *l, billing_ctx *ctx, const char *tenant_id,
	const billing_list_params *params, const billing__sort_spec *sorts,
	const char *filters, billing__page_kind kind, void (*free_item)(void *))
{
	billing_list_params none = BILLING_LIST_PARAMS_INIT;
	const billing_list_params *p = params ? params : &none;
	billing__checks c = BILLING__CHECKS_INIT;
	int rc;

	memset(l, 0, sizeof(*l));
	l->ctx = ctx;
	l->tenant_id = tenant_id;
	l->q.offset = -1;

	if (p->version == 0 || p->version > BILLING_LIST_PARAMS_VERSION)
		return billing__error_field(BILLING_EINVALID, "invalid_version", "version",
			"unknown billing_list_params version %u", p->version);
	if (p->limit > ctx->max_page_size)
		billing__check_fail(&c, "limit", "must be between 1 and %u", ctx->max_page_size);
	l->limit = p->limit ? p->limit : ctx->default_page_size;
	if (p->page > 0 && p->starting_after)
		billing__check_fail(&c, "startingAfter", "cannot be combined with page");
	if (p->page > 0 && (uint64_t)(p->page - 1) * l->limit > INT64_MAX / 2)
		billing__check_fail(&c, "page", "is too large");
	l->sort = &sorts[0];
	if (p->sort_by) {
		const billing__sort_spec *s;
		for (s = sorts; s->name && strcmp(s->name, p->sort_by) != 0; s++)
			;
		if (s->name)
			l->sort = s;
		else
			billing__check_fail(&c, "sortBy", "is not a sortable field of this list");
	}
	if (p->order != BILLING_ORDER_DEFAULT && p->order != BILLING_ORDER_ASC &&
	    p->order != BILLING_ORDER_DESC)
		billing__check_fail(&c, "order", "must be asc or desc");
	if ((rc = billing__check_text(&c, "search", p->search, 0, 0, 200, &l->search)) < 0)
		return rc;
	if ((rc = billing__checks_finish(&c, "list")) < 0) {
		billing__free(l->search);
		l->search = NULL;
		return rc;
	}

	l->q.sort = l->sort->column;
	l->q.descending = p->order == BILLING_ORDER_DESC;
	l->q.limit = l->limit + 1; /* one more row tells whether more follow */
	l->q.search = l->search && *l->search ? l->search : NULL;
	if (p->page > 0)
		l->q.offset = (int64_t)(p->page - 1) * l->limit;

	/* The filters' digest binds a cursor to the query it came from. The
	 * cursor is signed, so the digest need only tell queries apart. */
	snprintf(l->filter_sig, sizeof(l->filter_sig), "%016llx",
		(unsigned long long)fnv1a(fnv1a(FNV_BASIS, filters ? filters : ""),
			l->q.search ? l->q.search : ""));
	if (p->starting_after && (rc = cursor_decode(l, p->starting_after)) < 0)
		goto fail;

	if ((l->page = billing__calloc(1, sizeof(*l->page))) == NULL) {
		rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
		goto fail;
	}
	l->page->kind = kind;
	l->page->free_item = free_item;
	l->page->total = -1;
	l->page->limit = l->limit;
	l->page->number = p->page;
	return BILLING_OK;
fail:
	billing__free(l->search);
	billing__free(l->after_text);
	l->search = l->after_text = NULL;
	return rc;
}

int billing__list_row(void *payload, const void *record)
{
	billing__list *l = payload;
	billing_page *page = l->page;
	void *item;

	if (page->count == l->limit) {
		/* The look-ahead row only says that more follow: no need to build it. */
		page->has_more = 1;
		return 1;
	}
	if (page->count == page->cap) {
		size_t cap = page->cap ? page->cap * 2 : 16;
		void **items = billing__realloc(page->items, cap * sizeof(*items));
		if (!items)
			return billing__error_set(BILLING_ENOMEM, NULL, NULL);
		page->items = items;
		page->cap = cap;
	}
	item = l->res ? billing__record_dup(l->res, record) : l->from_record(record);
	if (item == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	page->items[page->count++] = item;
	return BILLING_OK;
}

int billing__list_end(billing__list *l, int rc, billing_page **out)
{
	billing_page *page = l->page;

	billing__free(l->search);
	billing__free(l->after_text);
	l->search = l->after_text = NULL;
	if (rc < 0) {
		billing_page_free(page);
		return rc;
	}
	if (l->q.offset >= 0)
		page->total = *l->q.total;
	/* Page mode too: its cursor goes on in cursor mode right after the
	 * page, so a client can show a total on the first page and then walk
	 * the rest by keyset (what the JSON layer's lists do by default). */
	if (page->has_more) {
		if ((page->next_cursor = cursor_encode(l, page->items[page->count - 1])) == NULL) {
			billing_page_free(page);
			return billing__error_set(BILLING_ENOMEM, NULL, NULL);
		}
	}
	*out = page;
	return BILLING_OK;
}

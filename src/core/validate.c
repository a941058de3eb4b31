/*
 * Field validation shared by the domain modules, and small copying helpers.
 */
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "core/text.h"

/* As billing__has_control, but line breaks and tabs are text here. */
static bool has_control_multiline(const char *s, size_t len)
{
	size_t i;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if ((ch < 0x20 && ch != '\n' && ch != '\r' && ch != '\t') || ch == 0x7f)
			return true;
		/* C1 controls U+0080..U+009F are encoded C2 80..C2 9F */
		if (ch == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] <= 0x9f)
			return true;
	}
	return false;
}

int billing__check_text(billing__checks *c, const char *field, const char *value,
	unsigned int flags, size_t min, size_t max, char **out)
{
	const char *s = value;
	size_t len, chars;

	*out = NULL;
	if (!value) {
		if (flags & BILLING__TEXT_REQUIRED)
			billing__check_fail(c, field, "is required");
		return BILLING_OK;
	}
	len = strlen(value);
	if (!billing__utf8_valid(value, len)) {
		billing__check_fail(c, field, "must be valid UTF-8");
		return BILLING_OK;
	}
	billing__trim(&s, &len);
	if ((flags & BILLING__TEXT_MULTILINE) ? has_control_multiline(s, len) :
	    billing__has_control(s, len)) {
		billing__check_fail(c, field, "must not contain control characters");
		return BILLING_OK;
	}
	chars = billing__utf8_count(s, len);
	if (chars < min) {
		billing__check_fail(c, field, min == 1 ? "must not be blank" :
			"must be at least %zu characters", min);
		return BILLING_OK;
	}
	if (chars > max) {
		billing__check_fail(c, field, "must be at most %zu characters", max);
		return BILLING_OK;
	}
	if ((*out = billing__strndup(s, len)) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	return BILLING_OK;
}

bool billing__id_arg_ok(const char *id, const char *prefix)
{
	return id && (billing__id_valid(id, prefix) || billing__id_chosen(id, prefix));
}

size_t billing__strsize(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

char *billing__strpack_put(billing__strpack *p, const char *s)
{
	char *copy = p->next;
	size_t n;
	if (!s)
		return NULL;
	n = strlen(s) + 1;
	memcpy(copy, s, n);
	p->next += n;
	return copy;
}

void billing__buf_add(billing__buf *b, const char *field, const char *value)
{
	size_t need = strlen(field) + (value ? strlen(value) : 1) + 3;
	if (b->failed)
		return;
	if (b->len + need + 1 > b->cap) {
		size_t cap = (b->cap ? b->cap * 2 : 256);
		char *p;
		while (cap < b->len + need + 1)
			cap *= 2;
		if ((p = billing__realloc(b->s, cap)) == NULL) {
			b->failed = true;
			return;
		}
		b->s = p;
		b->cap = cap;
	}
	/* field, '=', then 'v' + value or '-' for NULL, then a unit separator:
	 * NULL and "" hash differently, and no value can forge a boundary. */
	b->len += (size_t)sprintf(b->s + b->len, "%s=%s%s\x1f", field, value ? "v" : "-",
		value ? value : "");
}

void billing__buf_add_i64(billing__buf *b, const char *field, int64_t value)
{
	char num[24];
	snprintf(num, sizeof(num), "%lld", (long long)value);
	billing__buf_add(b, field, num);
}

void billing__buf_free(billing__buf *b)
{
	billing__free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}

int billing__capture_row(void *payload, const void *record)
{
	billing__capture *cap = payload;
	if ((cap->item = cap->from_record(record)) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	return BILLING_OK;
}


/*
 * Exact, strict JSON (see json_exact.h): a small RFC 8259 parser that
 * builds cJSON trees, so the rest of the code keeps cJSON's accessors, but
 * refuses what cJSON would silently mangle (NUL, raw control characters,
 * repeated keys, lone surrogates) and keeps each number's literal for exact
 * integers. Compiled into the library and into the example server.
 */
#include "core/json_exact.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* cJSON's own CJSON_NESTING_LIMIT: what was accepted before stays accepted. */
#define DEPTH_MAX 1000
/* Marks, during billing__jx_print only, a number node turned into a raw one. */
#define EXACT_FLAG 0x4000
#define JSON_SAFE_MAX 9007199254740992.0 /* 2^53 */

typedef struct {
	const unsigned char *p, *end;
	billing__jx_error *err;
	bool failed;
	int depth;
	char path[sizeof(((billing__jx_error *)0)->field)];
	size_t path_len;
	char *buf;   /* scratch for decoding one string */
	size_t cap;
} parser;

static cJSON *fail(parser *ps, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Records the first failure; fmt's only argument is the field's name. */
static cJSON *fail(parser *ps, const char *reason, const char *fmt, ...)
{
	va_list ap;
	if (ps->failed)
		return NULL;
	ps->failed = true;
	if (!ps->err)
		return NULL;
	ps->err->reason = reason;
	memcpy(ps->err->field, ps->path, ps->path_len + 1);
	va_start(ap, fmt);
	vsnprintf(ps->err->message, sizeof(ps->err->message), fmt, ap);
	va_end(ap);
	return NULL;
}

static cJSON *malformed(parser *ps)
{
	ps->path_len = 0;
	ps->path[0] = '\0';
	return fail(ps, "malformed_json", "the input is not valid JSON");
}

static const char *field_name(const parser *ps)
{
	return ps->path_len ? ps->path : "the input";
}

static size_t path_push(parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends to the path (truncating when long) and returns the old length. */
static size_t path_push(parser *ps, const char *fmt, ...)
{
	size_t old = ps->path_len, room = sizeof(ps->path) - old;
	va_list ap;
	int n;
	va_start(ap, fmt);
	n = vsnprintf(ps->path + old, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		ps->path_len = (size_t)n < room ? old + (size_t)n : sizeof(ps->path) - 1;
	return old;
}

static void path_pop(parser *ps, size_t old)
{
	ps->path_len = old;
	ps->path[old] = '\0';
}

static size_t path_push_key(parser *ps, const char *key)
{
	return path_push(ps, "%s%s", ps->path_len ? "." : "", key);
}

static void skip_ws(parser *ps)
{
	while (ps->p < ps->end &&
	       (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

/* Room for n more bytes after len in the scratch buffer. */
static bool reserve(parser *ps, size_t len, size_t n)
{
	char *b;
	size_t cap;
	if (len + n <= ps->cap)
		return true;
	cap = ps->cap ? ps->cap : 64;
	while (cap < len + n)
		cap *= 2;
	if ((b = realloc(ps->buf, cap)) == NULL)
		return false;
	ps->buf = b;
	ps->cap = cap;
	return true;
}

static bool hex4(parser *ps, uint32_t *out)
{
	uint32_t v = 0;
	int i;
	if (ps->end - ps->p < 4)
		return false;
	for (i = 0; i < 4; i++) {
		unsigned char c = *ps->p++;
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return false;
	}
	*out = v;
	return true;
}

static size_t utf8_put(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xC0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xE0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* A refused character in a string: a key names itself as far as it was
 * read, a value the path that leads to it. */
static cJSON *bad_char(parser *ps, size_t n, bool is_key, bool nul)
{
	if (is_key) {
		ps->buf[n] = '\0';
		path_push_key(ps, ps->buf);
	}
	/* ps->buf is not lost here: billing__jx_parse frees it on every path
	 * (the analyzer loses it across the variadic fail()). */
	/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc) */
	if (nul)
		return fail(ps, "nul_character",
			"%.100s must not contain a NUL character (\\u0000)", field_name(ps));
	return fail(ps, "control_character",
		"%.100s holds a raw control character (JSON strings must escape it)",
		field_name(ps));
}

/* Decodes the string at ps->p (its opening quote) into ps->buf, NUL-
 * terminated; *len its length. false on failure (recorded). */
static bool parse_string(parser *ps, size_t *len, bool is_key)
{
	size_t n = 0;
	ps->p++;
	for (;;) {
		unsigned char c;
		uint32_t cp, lo;
		/* One escape writes at most 4 bytes; keep one more for the NUL. */
		if (!reserve(ps, n, 5)) {
			fail(ps, "out_of_memory", "out of memory");
			return false;
		}
		if (ps->p >= ps->end) {
			malformed(ps);
			return false;
		}
		c = *ps->p++;
		if (c == '"')
			break;
		if (c < 0x20) {
			bad_char(ps, n, is_key, c == 0);
			return false;
		}
		if (c != '\\') {
			ps->buf[n++] = (char)c;
			continue;
		}
		if (ps->p >= ps->end) {
			malformed(ps);
			return false;
		}
		switch (c = *ps->p++) {
		case '"': case '\\': case '/': ps->buf[n++] = (char)c; break;
		case 'b': ps->buf[n++] = '\b'; break;
		case 'f': ps->buf[n++] = '\f'; break;
		case 'n': ps->buf[n++] = '\n'; break;
		case 'r': ps->buf[n++] = '\r'; break;
		case 't': ps->buf[n++] = '\t'; break;
		case 'u':
			if (!hex4(ps, &cp))
				goto bad;
			if (cp == 0) {
				bad_char(ps, n, is_key, true);
				return false;
			}
			if (cp >= 0xDC00 && cp <= 0xDFFF)
				goto bad;    /* a low surrogate alone */
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				if (ps->end - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u')
					goto bad;
				ps->p += 2;
				if (!hex4(ps, &lo) || lo < 0xDC00 || lo > 0xDFFF)
					goto bad;
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			}
			n += utf8_put(ps->buf + n, cp);
			break;
		default:
			goto bad;
		}
	}
	ps->buf[n] = '\0';
	*len = n;
	return true;
bad:
	malformed(ps);
	return false;
}

static bool is_digit(const parser *ps)
{
	return ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9';
}

static cJSON *parse_number(parser *ps)
{
	const unsigned char *start = ps->p;
	size_t n;
	char *lit;
	cJSON *v;

	if (*ps->p == '-')
		ps->p++;
	if (!is_digit(ps))
		return malformed(ps);
	if (*ps->p == '0')
		ps->p++;
	else
		while (is_digit(ps))
			ps->p++;
	if (ps->p < ps->end && *ps->p == '.') {
		ps->p++;
		if (!is_digit(ps))
			return malformed(ps);
		while (is_digit(ps))
			ps->p++;
	}
	if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
		ps->p++;
		if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
			ps->p++;
		if (!is_digit(ps))
			return malformed(ps);
		while (is_digit(ps))
			ps->p++;
	}
	n = (size_t)(ps->p - start);
	if ((lit = cJSON_malloc(n + 1)) == NULL)
		return fail(ps, "out_of_memory", "out of memory");
	memcpy(lit, start, n);
	lit[n] = '\0';
	/* cJSON reads the double (locale-independently); the literal is what
	 * integers are read from and what is printed back. */
	if ((v = cJSON_ParseWithLength(lit, n)) == NULL || !cJSON_IsNumber(v)) {
		cJSON_Delete(v);
		cJSON_free(lit);
		return fail(ps, "out_of_memory", "out of memory");
	}
	v->valuestring = lit;
	return v;
}

static bool literal(parser *ps, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
		return false;
	ps->p += n;
	return true;
}

static void append(cJSON *parent, cJSON *item)
{
	if (!parent->child) {
		parent->child = item;
		item->prev = item;
	} else {
		cJSON *last = parent->child->prev;
		last->next = item;
		item->prev = last;
		parent->child->prev = item;
	}
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Two members with one key: sorting makes it O(n log n), not O(n^2). */
static bool check_unique(parser *ps, const cJSON *obj, size_t count)
{
	const char **keys;
	const cJSON *it;
	size_t i = 0;

	if (count < 2)
		return true;
	if ((keys = malloc(count * sizeof(*keys))) == NULL) {
		fail(ps, "out_of_memory", "out of memory");
		return false;
	}
	for (it = obj->child; it; it = it->next)
		keys[i++] = it->string;
	qsort(keys, count, sizeof(*keys), cmp_key);
	for (i = 1; i < count; i++)
		if (strcmp(keys[i - 1], keys[i]) == 0) {
			path_push_key(ps, keys[i]);
			fail(ps, "duplicate_key", "%.100s is given more than once", field_name(ps));
			free(keys);
			return false;
		}
	free(keys);
	return true;
}

static cJSON *parse_value(parser *ps);

static cJSON *parse_object(parser *ps)
{
	cJSON *obj = cJSON_CreateObject();
	size_t count = 0;

	if (!obj)
		return fail(ps, "out_of_memory", "out of memory");
	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == '}') {
		ps->p++;
		return obj;
	}
	for (;;) {
		size_t klen, old;
		char *key;
		cJSON *v;

		skip_ws(ps);
		if (ps->p >= ps->end || *ps->p != '"') {
			malformed(ps);
			goto fail;
		}
		if (!parse_string(ps, &klen, true))
			goto fail;
		if ((key = cJSON_malloc(klen + 1)) == NULL) {
			fail(ps, "out_of_memory", "out of memory");
			goto fail;
		}
		memcpy(key, ps->buf, klen + 1);
		old = path_push_key(ps, key);
		skip_ws(ps);
		if (ps->p >= ps->end || *ps->p != ':') {
			cJSON_free(key);
			malformed(ps);
			goto fail;
		}
		ps->p++;
		if ((v = parse_value(ps)) == NULL) {
			cJSON_free(key);
			goto fail;
		}
		v->string = key;
		append(obj, v);
		count++;
		path_pop(ps, old);
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == '}') {
			ps->p++;
			break;
		}
		malformed(ps);
		goto fail;
	}
	if (!check_unique(ps, obj, count))
		goto fail;
	return obj;
fail:
	cJSON_Delete(obj);
	return NULL;
}

static cJSON *parse_array(parser *ps)
{
	cJSON *arr = cJSON_CreateArray();
	size_t i;

	if (!arr)
		return fail(ps, "out_of_memory", "out of memory");
	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == ']') {
		ps->p++;
		return arr;
	}
	for (i = 0;; i++) {
		size_t old = path_push(ps, "[%zu]", i);
		cJSON *v = parse_value(ps);
		if (!v) {
			cJSON_Delete(arr);
			return NULL;
		}
		append(arr, v);
		path_pop(ps, old);
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == ']') {
			ps->p++;
			return arr;
		}
		cJSON_Delete(arr);
		return malformed(ps);
	}
}

static cJSON *parse_value(parser *ps)
{
	cJSON *v;
	size_t n;

	skip_ws(ps);
	if (ps->p >= ps->end)
		return malformed(ps);
	switch (*ps->p) {
	case '{':
	case '[':
		if (++ps->depth > DEPTH_MAX)
			return malformed(ps);
		v = *ps->p == '{' ? parse_object(ps) : parse_array(ps);
		ps->depth--;
		return v;
	case '"':
		if (!parse_string(ps, &n, false))
			return NULL;
		if ((v = cJSON_CreateString(ps->buf)) == NULL)
			return fail(ps, "out_of_memory", "out of memory");
		return v;
	case 't':
		return literal(ps, "true") ? cJSON_CreateTrue() : malformed(ps);
	case 'f':
		return literal(ps, "false") ? cJSON_CreateFalse() : malformed(ps);
	case 'n':
		return literal(ps, "null") ? cJSON_CreateNull() : malformed(ps);
	default:
		return parse_number(ps);
	}
}

cJSON *billing__jx_parse(const char *text, size_t len, billing__jx_error *err)
{
	parser ps;
	cJSON *v;

	memset(&ps, 0, sizeof(ps));
	ps.p = (const unsigned char *)(text ? text : "");
	ps.end = ps.p + (text ? len : 0);
	ps.err = err;
	if (err) {
		err->reason = NULL;
		err->field[0] = '\0';
		err->message[0] = '\0';
	}
	v = parse_value(&ps);
	if (v) {
		skip_ws(&ps);
		if (ps.p != ps.end) {
			cJSON_Delete(v);
			v = malformed(&ps);
		}
	}
	/* A true, false or null node that failed to allocate. */
	if (!v && !ps.failed)
		fail(&ps, "out_of_memory", "out of memory");
	free(ps.buf);
	return v;
}

int billing__jx_int(const cJSON *v, int64_t *out)
{
	const char *s;
	uint64_t acc = 0, limit;
	bool neg;

	if (!cJSON_IsNumber(v))
		return BILLING__JX_INT_NOT_INTEGER;
	if (!v->valuestring) {
		double d = v->valuedouble;
		if (!(d >= -JSON_SAFE_MAX && d <= JSON_SAFE_MAX) || d != (double)(int64_t)d)
			return BILLING__JX_INT_NOT_INTEGER;
		*out = (int64_t)d;
		return BILLING__JX_INT_OK;
	}
	s = v->valuestring;
	if ((neg = *s == '-'))
		s++;
	if (!*s || s[strspn(s, "0123456789")] != '\0')
		return BILLING__JX_INT_NOT_INTEGER;
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; *s; s++) {
		uint64_t d = (uint64_t)(*s - '0');
		if (acc > (limit - d) / 10)
			return BILLING__JX_INT_RANGE;
		acc = acc * 10 + d;
	}
	if (!neg)
		*out = (int64_t)acc;
	else
		*out = acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc;
	return BILLING__JX_INT_OK;
}

cJSON *billing__jx_int_new(int64_t v)
{
	char lit[24];
	int n = snprintf(lit, sizeof(lit), "%" PRId64, v);
	/* The double is only for cJSON's own accessors; nothing that reads
	 * money reads it (billing__jx_int reads the literal). */
	cJSON *node = cJSON_CreateNumber((double)v);
	char *copy = node && n > 0 ? cJSON_malloc((size_t)n + 1) : NULL;

	if (!copy) {
		cJSON_Delete(node);
		return NULL;
	}
	memcpy(copy, lit, (size_t)n + 1);
	node->valuestring = copy;
	return node;
}

/* Turns literal-carrying numbers into raw nodes (on) or back (off). */
static void mark(cJSON *v, bool on)
{
	cJSON *c;
	if (on && (v->type & 0xFF) == cJSON_Number && v->valuestring)
		v->type = (v->type & ~0xFF) | cJSON_Raw | EXACT_FLAG;
	else if (!on && (v->type & EXACT_FLAG))
		v->type = (v->type & ~(0xFF | EXACT_FLAG)) | cJSON_Number;
	for (c = v->child; c; c = c->next)
		mark(c, on);
}

char *billing__jx_print(cJSON *v)
{
	char *text;
	if (!v)
		return NULL;
	mark(v, true);
	text = cJSON_PrintUnformatted(v);
	mark(v, false);
	return text;
}

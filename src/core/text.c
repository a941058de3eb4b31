/*
 * Text rules shared by the validators. Everything here works on explicit
 * (pointer, length) pairs because request bodies arrive as JSON strings that
 * may hold an escaped NUL; a check that stopped at the first NUL would let
 * "ada@example.com\0<script>" through as a valid address.
 */

#include "core/text.h"

#include <string.h>

/*
 * Length of the UTF-8 sequence starting at s[0], or 0 when it is not a
 * well-formed sequence. The second-byte ranges follow the table in
 * RFC 3629 section 4: they are what excludes overlong forms (C0, C1, E0 80,
 * F0 80), surrogates (ED A0-BF) and code points above U+10FFFF (F4 90, F5+).
 */
static size_t seq_len(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xBF;
	size_t n, i;

	if (c < 0x80)
		return c != 0 ? 1 : 0;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		n = 4;
	else
		return 0; /* continuation byte, C0/C1 overlong lead, or F5-FF */

	if (c == 0xE0)
		lo = 0xA0;
	else if (c == 0xED)
		hi = 0x9F;
	else if (c == 0xF0)
		lo = 0x90;
	else if (c == 0xF4)
		hi = 0x8F;

	if (avail < n)
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	return n;
}

bool billing__utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		size_t n = seq_len(p + i, len - i);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

size_t billing__utf8_count(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i, count = 0;

	/* In valid UTF-8 every byte that is not a continuation starts a code point. */
	for (i = 0; i < len; i++)
		if ((p[i] & 0xC0) != 0x80)
			count++;
	return count;
}

bool billing__has_control(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] < 0x20 || p[i] == 0x7F)
			return true;
		/* C1 controls are U+0080-U+009F, encoded C2 80 - C2 9F. */
		if (p[i] == 0xC2 && i + 1 < len && p[i + 1] <= 0x9F)
			return true;
	}
	return false;
}

static bool ascii_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

void billing__trim(const char **s, size_t *len)
{
	const unsigned char *p = (const unsigned char *)*s;
	size_t n = *len;

	for (;;) {
		if (n >= 1 && ascii_space(p[0])) {
			p++;
			n--;
		} else if (n >= 2 && p[0] == 0xC2 && p[1] == 0xA0) {
			p += 2;
			n -= 2;
		} else {
			break;
		}
	}
	for (;;) {
		if (n >= 1 && ascii_space(p[n - 1]))
			n--;
		else if (n >= 2 && p[n - 2] == 0xC2 && p[n - 1] == 0xA0)
			n -= 2;
		else
			break;
	}
	*s = (const char *)p;
	*len = n;
}

static bool ascii_alnum(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		(c >= '0' && c <= '9');
}

static bool local_char(unsigned char c)
{
	return ascii_alnum(c) || (c != 0 && strchr(".!#$%&'*+/=?^_`{|}~-", c) != NULL);
}

static bool local_valid(const unsigned char *p, size_t n)
{
	size_t i;

	if (n < 1 || n > 64 || p[0] == '.' || p[n - 1] == '.')
		return false;
	for (i = 0; i < n; i++) {
		if (!local_char(p[i]))
			return false;
		if (p[i] == '.' && p[i + 1] == '.')
			return false; /* i + 1 < n: the last byte is not a dot */
	}
	return true;
}

static bool domain_valid(const unsigned char *p, size_t n)
{
	size_t i = 0, labels = 0;
	bool all_digits = false;

	if (n < 1 || n > 253)
		return false;
	while (i <= n) {
		size_t start = i;

		all_digits = true;
		while (i < n && p[i] != '.') {
			if (!ascii_alnum(p[i]) && p[i] != '-')
				return false;
			if (p[i] < '0' || p[i] > '9')
				all_digits = false;
			i++;
		}
		if (i - start < 1 || i - start > 63)
			return false;
		if (p[start] == '-' || p[i - 1] == '-')
			return false;
		labels++;
		i++; /* past the dot, or past the end to leave the loop */
	}
	/* A numeric last label would make "a@1.2.3.4" look like an IP literal. */
	return labels >= 2 && !all_digits;
}

bool billing__email_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *at;

	/* 254: the RFC 5321 path limit (256) less the angle brackets. */
	if (len < 3 || len > 254)
		return false;
	at = memchr(p, '@', len);
	if (at == NULL)
		return false;
	/* A second '@' is rejected by the domain's character set. */
	return local_valid(p, (size_t)(at - p)) &&
		domain_valid(at + 1, len - (size_t)(at - p) - 1);
}

void billing__ascii_lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

bool billing__ascii_upper(char *out, size_t n, const char *s)
{
	size_t len = strlen(s), i;

	if (len >= n) {
		if (n > 0)
			out[0] = '\0';
		return false;
	}
	for (i = 0; i < len; i++)
		out[i] = (s[i] >= 'a' && s[i] <= 'z') ? (char)(s[i] - 'a' + 'A') : s[i];
	out[len] = '\0';
	return true;
}

bool billing__sku_valid(const char *s, size_t len)
{
	size_t i;

	if (len < 1 || len > 64)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!ascii_alnum(c) && c != '.' && c != '_' && c != '-')
			return false;
	}
	return true;
}

bool billing__plan_code_valid(const char *s, size_t len)
{
	size_t i;

	if (len < 3 || len > 64)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!(c >= 'A' && c <= 'Z') && !(c >= '0' && c <= '9') &&
		    c != '_' && c != '-')
			return false;
	}
	return true;
}

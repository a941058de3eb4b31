/*
 * The HTML renderer of invoice documents (issue #24): one self-contained
 * page (inline CSS, no scripts, no external resources) from the layout
 * description of core/document.h. Every text of the document goes through
 * billing__html_escape, the one escape function; the only unescaped text
 * written here is this file's own markup and the accent colour, which the
 * builder checked to be "#rrggbb".
 */
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "core/document.h"

typedef struct {
	char *buf;
	size_t len, cap;
	int failed;
} out_buf;

static int grow(char **buf, size_t *cap, size_t need)
{
	size_t cap2 = *cap ? *cap : 4096;
	char *p;
	while (cap2 < need)
		cap2 *= 2;
	if (cap2 == *cap)
		return BILLING_OK;
	if ((p = billing__realloc(*buf, cap2)) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	*buf = p;
	*cap = cap2;
	return BILLING_OK;
}

static int append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	int rc;
	if ((rc = grow(buf, cap, *len + n + 1)) < 0)
		return rc;
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
	return BILLING_OK;
}

int billing__html_escape(char **buf, size_t *len, size_t *cap, const char *s)
{
	size_t start = 0, i;
	int rc = BILLING_OK;
	for (i = 0; s && s[i] && rc == BILLING_OK; i++) {
		const char *e;
		switch (s[i]) {
		case '&': e = "&amp;"; break;
		case '<': e = "&lt;"; break;
		case '>': e = "&gt;"; break;
		case '"': e = "&quot;"; break;
		case '\'': e = "&#39;"; break;
		default: continue;
		}
		if ((rc = append(buf, len, cap, s + start, i - start)) == BILLING_OK)
			rc = append(buf, len, cap, e, strlen(e));
		start = i + 1;
	}
	if (rc == BILLING_OK && s)
		rc = append(buf, len, cap, s + start, i - start);
	return rc;
}

/* Markup of this file (never a text of the document). */
static void raw(out_buf *o, const char *s)
{
	if (!o->failed && append(&o->buf, &o->len, &o->cap, s, strlen(s)) < 0)
		o->failed = 1;
}

/* A text of the document. */
static void text(out_buf *o, const char *s)
{
	if (!o->failed && billing__html_escape(&o->buf, &o->len, &o->cap, s) < 0)
		o->failed = 1;
}

/* <tag class="cls">text</tag> */
static void cell(out_buf *o, const char *open, const char *s, const char *close)
{
	raw(o, open);
	text(o, s);
	raw(o, close);
}

static const char style[] =
	"body{font-family:'Noto Sans','Noto Sans CJK JP',Arial,sans-serif;color:#222;"
	"margin:2em auto;max-width:52em;font-size:14px}"
	"h1{margin:0;font-size:28px}"
	".logo{max-height:64px;max-width:240px;float:right}.accent{color:ACCENT}.bar{border-top:4px solid ACCENT;margin:.5em 0 1.5em}"
	".draft{display:inline-block;margin-left:1em;padding:.1em .6em;border:2px solid #c00;"
	"color:#c00;font-weight:bold;letter-spacing:.1em}"
	".parties{display:flex;gap:3em;margin:1em 0}.party h2{font-size:12px;color:#666;"
	"text-transform:uppercase;margin:0 0 .3em}.party p{margin:0}"
	"dl.fields{display:grid;grid-template-columns:max-content auto;gap:.2em 1.5em;margin:1em 0}"
	"dl.fields dt{color:#666}dl.fields dd{margin:0}"
	"table{border-collapse:collapse;width:100%;margin:1em 0}"
	"th{text-align:left;border-bottom:2px solid ACCENT;padding:.4em}"
	"td{padding:.4em;border-bottom:1px solid #eee;vertical-align:top}"
	"td.n,th.n{text-align:right;white-space:nowrap}"
	"tr.detail td{color:#666;font-size:12px;border-bottom:none;padding-top:0}"
	"tr.detail td:first-child{padding-left:1.5em}"
	"table.sums{width:auto;margin-left:auto}table.sums td{border:none;padding:.2em .4em}"
	"table.sums tr.strong td{font-weight:bold;border-top:2px solid ACCENT;font-size:16px}"
	".note{margin:1em 0}.note h2{font-size:12px;color:#666;text-transform:uppercase;"
	"margin:0 0 .3em}.note p{margin:0;white-space:pre-wrap}";

/* The style with the accent colour (checked "#rrggbb") put in. */
static void styles(out_buf *o, const char *accent)
{
	const char *s = style, *at;
	while ((at = strstr(s, "ACCENT")) != NULL) {
		if (!o->failed && append(&o->buf, &o->len, &o->cap, s, (size_t)(at - s)) < 0)
			o->failed = 1;
		raw(o, accent);
		s = at + strlen("ACCENT");
	}
	raw(o, s);
}

typedef enum { IN_NONE, IN_PARTIES, IN_FIELDS, IN_TABLE, IN_SUMS } block;

static void close_block(out_buf *o, block *b, block next)
{
	static const char *const closes[] = { "", "</div>", "</dl>", "</tbody></table>",
		"</table>" };
	static const char *const opens[] = { "", "<div class=\"parties\">",
		"<dl class=\"fields\">", "", "<table class=\"sums\">" };
	if (*b == next)
		return;
	raw(o, closes[*b]);
	raw(o, opens[next]);
	*b = next;
}

int billing__doc_html(char **out, size_t *len, const billing__doc *d)
{
	out_buf o = { NULL, 0, 0, 0 };
	block b = IN_NONE;
	size_t i, k;

	raw(&o, "<!DOCTYPE html>\n<html lang=\"");
	text(&o, d->locale->tag);
	raw(&o, "\"><head><meta charset=\"utf-8\"><title>");
	text(&o, d->title);
	raw(&o, "</title><style>");
	styles(&o, d->accent);
	raw(&o, "</style></head><body>\n");
	for (i = 0; i < d->count; i++) {
		const billing__doc_node *n = &d->nodes[i];
		switch (n->kind) {
		case BILLING__DOC_TITLE:
			close_block(&o, &b, IN_NONE);
			if (n->text[2])
				cell(&o, "<img class=\"logo\" alt=\"\" src=\"", n->text[2], "\">\n");
			cell(&o, "<h1 class=\"accent\">", n->text[0], "");
			if (n->text[1])
				cell(&o, "<span class=\"draft\">", n->text[1], "</span>");
			raw(&o, "</h1><div class=\"bar\"></div>\n");
			break;
		case BILLING__DOC_PARTY:
			close_block(&o, &b, IN_PARTIES);
			cell(&o, "<div class=\"party\"><h2>", n->text[0], "</h2>");
			for (k = 1; k < BILLING__DOC_TEXTS && n->text[k]; k++)
				cell(&o, "<p>", n->text[k], "</p>");
			raw(&o, "</div>\n");
			break;
		case BILLING__DOC_FIELD:
			close_block(&o, &b, IN_FIELDS);
			cell(&o, "<dt>", n->text[0], "</dt>");
			cell(&o, "<dd>", n->text[1], "</dd>\n");
			break;
		case BILLING__DOC_HEAD:
			close_block(&o, &b, IN_TABLE);
			raw(&o, "<table class=\"lines\"><thead><tr>");
			cell(&o, "<th>", n->text[0], "</th>");
			for (k = 1; k < 5; k++)
				cell(&o, "<th class=\"n\">", n->text[k], "</th>");
			raw(&o, "</tr></thead><tbody>\n");
			break;
		case BILLING__DOC_ROW:
		case BILLING__DOC_DETAIL:
			raw(&o, n->kind == BILLING__DOC_ROW ? "<tr>" : "<tr class=\"detail\">");
			cell(&o, "<td>", n->text[0], "</td>");
			for (k = 1; k < 5; k++)
				cell(&o, "<td class=\"n\">", n->text[k], "</td>");
			raw(&o, "</tr>\n");
			break;
		case BILLING__DOC_SUM:
			close_block(&o, &b, IN_SUMS);
			raw(&o, n->strong ? "<tr class=\"strong\">" : "<tr>");
			cell(&o, "<td>", n->text[0], "</td>");
			cell(&o, "<td class=\"n\">", n->text[1], "</td></tr>\n");
			break;
		case BILLING__DOC_NOTE:
			close_block(&o, &b, IN_NONE);
			cell(&o, "<div class=\"note\"><h2>", n->text[0], "</h2>");
			cell(&o, "<p>", n->text[1], "</p></div>\n");
			break;
		}
	}
	close_block(&o, &b, IN_NONE);
	raw(&o, "</body></html>\n");
	if (o.failed) {
		billing__free(o.buf);
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	}
	*out = o.buf;
	*len = o.len;
	return BILLING_OK;
}

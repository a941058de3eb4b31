/*
 * The PDF renderer of invoice documents (issue #24): the layout
 * description of core/document.h drawn on A4 by cairo, every text shaped
 * by pango (so Cyrillic, Greek, CJK and right-to-left names come out as
 * they should) in Debian's Noto fonts, which cairo embeds as subsets.
 *
 * The list is walked twice with the same code: the first pass only
 * measures, to learn where the pages break and how many there are; the
 * second draws, so every page says "Page n of m". A node that does not fit
 * on what is left of a page starts the next one; inside the lines' table
 * the new page starts with the table's header again.
 *
 * Font maps: pango's default one (pango_cairo_create_layout) is per
 * thread and leaves a thread-exit destructor behind in every thread that
 * rendered; a host that unloads the library (Node's koffi at exit) and then
 * ends such a thread crashed in it, pango's code being gone. So the library
 * keeps its own: a render takes a font map from a small process-wide pool
 * (or makes one) and gives it back, so no two threads use one at once and
 * nothing is left in the host's threads. Making a font map per render
 * instead halved the one-page rate (fonts are loaded again each time).
 * The pool is emptied when the library is unloaded or the process ends.
 *
 * The tenant's logo (the title node's data: URI) is drawn at the top of
 * the seller's block, as the HTML page's <img> shows it: 96 pixels to the
 * inch, made smaller to fit 180 x 48 points (the page's 240 x 64 CSS
 * pixels), never larger, its aspect kept. A PNG is decoded by cairo; a
 * JPEG is not decoded at all: cairo's PDF surface embeds the file as it is
 * (DCTDecode) from the surface's JPEG mime data, so no JPEG library is
 * linked; only its frame header is read here, for its size. A file that
 * cannot be read is left out: the upload was checked to be a PNG or JPEG,
 * and a document is better without the logo than not at all.
 *
 * The PDF is written to memory through cairo's stream surface (never a
 * file), and its creation date is the document's issue date, so one
 * document always gives the same bytes (the HTTP ETag is their hash).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cairo-pdf.h>
#include <cairo.h>
#include <pango/pangocairo.h>

#include "core/core.h"
#include "core/document.h"
#include "core/encode.h"

/* A4 in points, 15 mm margins. */
#define PAGE_W 595.276
#define PAGE_H 841.89
#define MARGIN 42.52
#define CONTENT_W (PAGE_W - 2 * MARGIN)
#define BOTTOM (PAGE_H - MARGIN - 18.0)   /* the footer's line below */

/* The lines' table: description, then four numeric columns. */
static const double col_w[5] = { 0, 48, 84, 72, 84 };
#define CELL_PAD 4.0

#define FONT "Noto Sans"

/* The logo's box (points), the gap under it, and the largest side (pixels)
 * of a logo drawn: a 256 KiB file can say it is 65535 pixels wide, and its
 * surface would be gigabytes. */
#define LOGO_W 180.0
#define LOGO_H 48.0
#define LOGO_GAP 8.0
#define LOGO_PX_PT 0.75             /* 96 pixels to the inch */
#define LOGO_MAX_PX 4096u

typedef struct {
	cairo_t *cr;
	PangoLayout *lay;
	PangoFontMap *fonts;         /* from the pool, for this render alone (see the top) */
	PangoContext *pc;
	PangoFontDescription *regular, *bold, *small, *heading, *title;
	const billing__doc *d;
	int draw;                        /* 0: the measuring pass */
	int page, pages;
	double y;
	const billing__doc_node *head;   /* inside the table: its header */
	double accent[3];
	cairo_surface_t *logo;           /* NULL: none (or one that could not be read) */
	double logo_scale, logo_h;       /* points per pixel; its height in points */
	size_t seller;                   /* the seller's block: the first party node */
} pdf;

/* ------------------------------------------------------------ the stream */

/* failed: a write found no memory. cairo does not always carry a write
 * error of its stream into the surface's status (a write during
 * cairo_surface_finish can be lost), and a PDF cut short must never be
 * handed out as a document. */
typedef struct {
	char *buf;
	size_t len, cap;
	int failed;
} sink;

static cairo_status_t on_write(void *closure, const unsigned char *data, unsigned int n)
{
	sink *s = closure;
	if (s->len + n > s->cap) {
		size_t cap = s->cap ? s->cap : 64 * 1024;
		char *grown;
		while (cap < s->len + n)
			cap *= 2;
		if ((grown = billing__realloc(s->buf, cap)) == NULL) {
			s->failed = 1;
			return CAIRO_STATUS_WRITE_ERROR;
		}
		s->buf = grown;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, data, n);
	s->len += n;
	return CAIRO_STATUS_SUCCESS;
}

/* ------------------------------------------------------------ text */

static void colour(pdf *p, double r, double g, double b)
{
	if (p->draw)
		cairo_set_source_rgb(p->cr, r, g, b);
}

/* The layout holds text in font, wrapped at width (0: one line); its
 * height in points. */
static double measure(pdf *p, const PangoFontDescription *font, const char *text, double width,
	PangoAlignment align)
{
	int w = 0, h = 0;
	pango_layout_set_font_description(p->lay, font);
	pango_layout_set_width(p->lay, width > 0 ? (int)(width * PANGO_SCALE) : -1);
	pango_layout_set_alignment(p->lay, align);
	pango_layout_set_text(p->lay, text ? text : "", -1);
	pango_layout_get_size(p->lay, &w, &h);
	return (double)h / PANGO_SCALE;
}

/* text at (x, y) in a box of width (right-aligned numbers: ALIGN_RIGHT);
 * its height. */
static double show(pdf *p, double x, double y, const PangoFontDescription *font,
	const char *text, double width, PangoAlignment align)
{
	double h = measure(p, font, text, width, align);
	if (p->draw && text && *text) {
		cairo_move_to(p->cr, x, y);
		pango_cairo_show_layout(p->cr, p->lay);
	}
	return h;
}

static void rule(pdf *p, double x, double y, double w, double width)
{
	if (!p->draw)
		return;
	cairo_set_line_width(p->cr, width);
	cairo_move_to(p->cr, x, y);
	cairo_line_to(p->cr, x + w, y);
	cairo_stroke(p->cr);
}

/* ------------------------------------------------------------ pages */

/* "Page {n} of {m}" with the numbers put in. */
static void page_of(char *out, size_t size, const char *pattern, int n, int m)
{
	size_t at = 0;
	const char *s;
	out[0] = '\0';
	for (s = pattern; *s && at + 12 < size; s++) {
		if (strncmp(s, "{n}", 3) == 0 || strncmp(s, "{m}", 3) == 0) {
			at += (size_t)snprintf(out + at, size - at, "%d", s[1] == 'n' ? n : m);
			s += 2;
		} else {
			out[at++] = *s;
			out[at] = '\0';
		}
	}
}

static void footer(pdf *p)
{
	char text[96];
	page_of(text, sizeof(text), p->d->locale->labels[BILLING__L_PAGE_OF], p->page, p->pages);
	colour(p, 0.45, 0.45, 0.45);
	show(p, MARGIN, PAGE_H - MARGIN - 10, p->small, p->d->title, CONTENT_W * 0.7,
		PANGO_ALIGN_LEFT);
	show(p, MARGIN, PAGE_H - MARGIN - 10, p->small, text, CONTENT_W, PANGO_ALIGN_RIGHT);
	colour(p, 0.13, 0.13, 0.13);
}

static double table_head(pdf *p, const billing__doc_node *n, int draw_it);

static void new_page(pdf *p)
{
	if (p->draw) {
		footer(p);
		cairo_show_page(p->cr);
	}
	p->page++;
	p->y = MARGIN;
	if (p->head)
		p->y += table_head(p, p->head, 1);
}

/* Room for h more points on this page, else the next one. */
static void need(pdf *p, double h)
{
	if (p->y + h > BOTTOM && p->y > MARGIN + 1)
		new_page(p);
}

/* ------------------------------------------------------------ the nodes */

static void title(pdf *p, const billing__doc_node *n)
{
	double h = measure(p, p->title, n->text[0], 0, PANGO_ALIGN_LEFT), w;
	int iw = 0;
	colour(p, p->accent[0], p->accent[1], p->accent[2]);
	show(p, MARGIN, p->y, p->title, n->text[0], 0, PANGO_ALIGN_LEFT);
	pango_layout_get_size(p->lay, &iw, NULL);
	w = (double)iw / PANGO_SCALE;
	if (n->text[1]) {
		/* The DRAFT mark: red letters in a red box after the title. */
		double mh = measure(p, p->heading, n->text[1], 0, PANGO_ALIGN_LEFT);
		int mw = 0;
		pango_layout_get_size(p->lay, &mw, NULL);
		colour(p, 0.8, 0, 0);
		show(p, MARGIN + w + 18, p->y + (h - mh) / 2, p->heading, n->text[1], 0,
			PANGO_ALIGN_LEFT);
		if (p->draw) {
			cairo_set_line_width(p->cr, 1.5);
			cairo_rectangle(p->cr, MARGIN + w + 12, p->y + (h - mh) / 2 - 3,
				(double)mw / PANGO_SCALE + 12, mh + 6);
			cairo_stroke(p->cr);
		}
	}
	p->y += h + 4;
	colour(p, p->accent[0], p->accent[1], p->accent[2]);
	rule(p, MARGIN, p->y, CONTENT_W, 3);
	colour(p, 0.13, 0.13, 0.13);
	p->y += 16;
}

/* One party's block (the logo when seller, heading, then its lines) at x,
 * width w; its height. */
static double party(pdf *p, const billing__doc_node *n, double x, double w, int seller)
{
	double y = p->y;
	size_t k;
	if (seller && p->logo) {
		if (p->draw) {
			cairo_save(p->cr);
			cairo_translate(p->cr, x, y);
			cairo_scale(p->cr, p->logo_scale, p->logo_scale);
			cairo_set_source_surface(p->cr, p->logo, 0, 0);
			cairo_paint(p->cr);
			cairo_restore(p->cr);
		}
		y += p->logo_h + LOGO_GAP;
	}
	colour(p, 0.4, 0.4, 0.4);
	y += show(p, x, y, p->heading, n->text[0], w, PANGO_ALIGN_LEFT) + 2;
	colour(p, 0.13, 0.13, 0.13);
	for (k = 1; k < BILLING__DOC_TEXTS && n->text[k]; k++)
		y += show(p, x, y, k == 1 ? p->bold : p->regular, n->text[k], w, PANGO_ALIGN_LEFT);
	return y - p->y;
}

/* The parties side by side (at most three); returns how many nodes it
 * drew. */
static size_t parties(pdf *p, size_t i)
{
	size_t count = 0, k;
	double w, h = 0;
	int draw = p->draw;
	while (i + count < p->d->count && count < 3 &&
	       p->d->nodes[i + count].kind == BILLING__DOC_PARTY)
		count++;
	w = (CONTENT_W - 24.0 * (double)(count - 1)) / (double)count;
	p->draw = 0;
	for (k = 0; k < count; k++) {
		double hk = party(p, &p->d->nodes[i + k], MARGIN + (double)k * (w + 24), w,
			i + k == p->seller);
		h = hk > h ? hk : h;
	}
	p->draw = draw;
	need(p, h);
	for (k = 0; k < count; k++)
		party(p, &p->d->nodes[i + k], MARGIN + (double)k * (w + 24), w, i + k == p->seller);
	p->y += h + 14;
	return count;
}

static void field(pdf *p, const billing__doc_node *n)
{
	const double label_w = 130;
	double h1 = measure(p, p->regular, n->text[0], label_w - 8, PANGO_ALIGN_LEFT);
	double h2 = measure(p, p->regular, n->text[1], CONTENT_W - label_w, PANGO_ALIGN_LEFT);
	double h = h1 > h2 ? h1 : h2;
	need(p, h);
	colour(p, 0.4, 0.4, 0.4);
	show(p, MARGIN, p->y, p->regular, n->text[0], label_w - 8, PANGO_ALIGN_LEFT);
	colour(p, 0.13, 0.13, 0.13);
	show(p, MARGIN + label_w, p->y, p->regular, n->text[1], CONTENT_W - label_w,
		PANGO_ALIGN_LEFT);
	p->y += h + 2;
}

/* The x of column k of the lines' table and its width. */
static double col_x(size_t k, double *w)
{
	double x = MARGIN, desc = CONTENT_W - col_w[1] - col_w[2] - col_w[3] - col_w[4];
	size_t i;
	for (i = 0; i < k; i++)
		x += i == 0 ? desc : col_w[i];
	*w = k == 0 ? desc : col_w[k];
	return x;
}

/* A row of the table (a line, a detail under it, the header) at p->y:
 * the texts 0..4 in font, the description indented by indent; its height,
 * drawn only when draw_it and the pass draws. */
static double cells(pdf *p, const billing__doc_node *n, const PangoFontDescription *font,
	double indent, int draw_it)
{
	double h = 0, w, x;
	int draw = p->draw;
	size_t k;
	p->draw = draw && draw_it;
	for (k = 0; k < 5; k++) {
		double hk;
		x = col_x(k, &w);
		hk = k == 0 ? show(p, x + indent, p->y + CELL_PAD, font, n->text[0],
				w - indent - CELL_PAD, PANGO_ALIGN_LEFT) :
			show(p, x, p->y + CELL_PAD, font, n->text[k], w - CELL_PAD, PANGO_ALIGN_RIGHT);
		h = hk > h ? hk : h;
	}
	p->draw = draw;
	return h + 2 * CELL_PAD;
}

static double table_head(pdf *p, const billing__doc_node *n, int draw_it)
{
	double h;
	colour(p, 0.13, 0.13, 0.13);
	h = cells(p, n, p->bold, 0, draw_it);
	if (draw_it) {
		colour(p, p->accent[0], p->accent[1], p->accent[2]);
		rule(p, MARGIN, p->y + h, CONTENT_W, 1.5);
		colour(p, 0.13, 0.13, 0.13);
	}
	return h + 1;
}

/* The table's header, with the first row under it on the same page. */
static void head(pdf *p, const billing__doc_node *n, const billing__doc_node *first)
{
	double h = table_head(p, n, 0);
	p->head = NULL;
	need(p, h + (first ? cells(p, first, p->regular, 0, 0) : 0));
	p->y += table_head(p, n, 1);
	p->head = n;
}

static void row(pdf *p, const billing__doc_node *n)
{
	int detail = n->kind == BILLING__DOC_DETAIL;
	double h = cells(p, n, detail ? p->small : p->regular, detail ? 14 : 0, 0);
	if (detail)
		h -= CELL_PAD;
	need(p, h);
	if (!detail && p->y > MARGIN + 1) {
		colour(p, 0.88, 0.88, 0.88);
		rule(p, MARGIN, p->y, CONTENT_W, 0.5);
	}
	colour(p, detail ? 0.4 : 0.13, detail ? 0.4 : 0.13, detail ? 0.4 : 0.13);
	if (detail)
		p->y -= CELL_PAD;
	cells(p, n, detail ? p->small : p->regular, detail ? 14 : 0, 1);
	if (detail)
		p->y += CELL_PAD;
	colour(p, 0.13, 0.13, 0.13);
	p->y += h;
}

/* The thin rule that closes the lines' table. */
static void end_table(pdf *p)
{
	if (!p->head)
		return;
	p->head = NULL;
	colour(p, 0.8, 0.8, 0.8);
	rule(p, MARGIN, p->y, CONTENT_W, 0.5);
	colour(p, 0.13, 0.13, 0.13);
	p->y += 10;
}

static void sum(pdf *p, const billing__doc_node *n)
{
	const double amount_w = 110, label_w = 200;
	const PangoFontDescription *font = n->strong ? p->bold : p->regular;
	double x = MARGIN + CONTENT_W - amount_w - label_w;
	double h1 = measure(p, font, n->text[0], label_w - 8, PANGO_ALIGN_LEFT);
	double h2 = measure(p, font, n->text[1], amount_w, PANGO_ALIGN_RIGHT);
	double h = (h1 > h2 ? h1 : h2) + (n->strong ? 8 : 3);
	need(p, h);
	if (n->strong) {
		colour(p, p->accent[0], p->accent[1], p->accent[2]);
		rule(p, x, p->y + 1, amount_w + label_w, 1.5);
		colour(p, 0.13, 0.13, 0.13);
		p->y += 5;
	}
	show(p, x, p->y, font, n->text[0], label_w - 8, PANGO_ALIGN_LEFT);
	show(p, x + label_w, p->y, font, n->text[1], amount_w - CELL_PAD, PANGO_ALIGN_RIGHT);
	p->y += h - (n->strong ? 5 : 0);
}

static void note(pdf *p, const billing__doc_node *n)
{
	int has_heading = n->text[0] && n->text[0][0];
	double h1 = has_heading ? measure(p, p->heading, n->text[0], CONTENT_W, PANGO_ALIGN_LEFT) +
		2 : 0;
	double h2 = measure(p, p->regular, n->text[1], CONTENT_W, PANGO_ALIGN_LEFT);
	p->y += 8;
	need(p, h1 + h2);
	colour(p, 0.4, 0.4, 0.4);
	if (has_heading)
		show(p, MARGIN, p->y, p->heading, n->text[0], CONTENT_W, PANGO_ALIGN_LEFT);
	colour(p, 0.13, 0.13, 0.13);
	show(p, MARGIN, p->y + h1, p->regular, n->text[1], CONTENT_W, PANGO_ALIGN_LEFT);
	p->y += h1 + h2;
}

/* One pass over the document: measuring (p->draw 0) or drawing. */
static void walk(pdf *p)
{
	size_t i = 0;
	p->page = 1;
	p->y = MARGIN;
	p->head = NULL;
	while (i < p->d->count) {
		const billing__doc_node *n = &p->d->nodes[i];
		if (n->kind != BILLING__DOC_ROW && n->kind != BILLING__DOC_DETAIL)
			end_table(p);
		switch (n->kind) {
		case BILLING__DOC_TITLE:
			title(p, n);
			break;
		case BILLING__DOC_PARTY:
			i += parties(p, i);
			continue;
		case BILLING__DOC_FIELD:
			field(p, n);
			if (i + 1 < p->d->count && p->d->nodes[i + 1].kind != BILLING__DOC_FIELD)
				p->y += 12;
			break;
		case BILLING__DOC_HEAD:
			head(p, n, i + 1 < p->d->count && p->d->nodes[i + 1].kind == BILLING__DOC_ROW ?
				&p->d->nodes[i + 1] : NULL);
			break;
		case BILLING__DOC_ROW:
		case BILLING__DOC_DETAIL:
			row(p, n);
			break;
		case BILLING__DOC_SUM:
			sum(p, n);
			break;
		case BILLING__DOC_NOTE:
			note(p, n);
			break;
		}
		i++;
	}
	end_table(p);
	if (p->draw)
		footer(p);
}

/* "#rrggbb" (checked by the builder) as three fractions. */
static void parse_accent(double rgb[3], const char *hex)
{
	size_t i;
	for (i = 0; i < 3; i++) {
		unsigned v = 0;
		size_t k;
		for (k = 0; k < 2; k++) {
			char c = hex[1 + 2 * i + k];
			v = v * 16 + (unsigned)(c >= 'a' ? c - 'a' + 10 : c >= 'A' ? c - 'A' + 10 :
				c - '0');
		}
		rgb[i] = v / 255.0;
	}
}

static PangoFontDescription *font(const char *spec)
{
	return pango_font_description_from_string(spec);
}

/* The document's date as PDF metadata wants it ("2026-01-31T00:00:00Z"). */
static void iso_date(char *out, size_t size, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm) || strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, size, "1970-01-01T00:00:00Z");
}

/* ------------------------------------------------------------ the logo */

typedef struct {
	const unsigned char *at;
	size_t left;
} png_reader;

static cairo_status_t on_read(void *closure, unsigned char *data, unsigned int n)
{
	png_reader *r = closure;
	if (n > r->left)
		return CAIRO_STATUS_READ_ERROR;
	memcpy(data, r->at, n);
	r->at += n;
	r->left -= n;
	return CAIRO_STATUS_SUCCESS;
}

static uint32_t be(const unsigned char *b, int bytes)
{
	uint32_t v = 0;
	int i;
	for (i = 0; i < bytes; i++)
		v = v << 8 | b[i];
	return v;
}

/* A JPEG's size in pixels from its frame header (SOF0..SOF15, which are
 * 0xc0..0xcf but for DHT, JPG and DAC), found as cairo's PDF surface finds
 * it: the segments after SOI skipped by their lengths. 0 when there is
 * none, or it has a number of components cairo does not embed (1, 3, 4). */
static int jpeg_size(const unsigned char *f, size_t n, uint32_t *w, uint32_t *h)
{
	size_t i = 2;                      /* after SOI (checked when it was set) */
	while (i + 10 <= n && f[i] == 0xff) {
		unsigned m = f[i + 1];
		if (m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc) {
			*h = be(f + i + 5, 2);
			*w = be(f + i + 7, 2);
			return f[i + 9] == 1 || f[i + 9] == 3 || f[i + 9] == 4;
		}
		i += 2 + be(f + i + 2, 2);
	}
	return 0;
}

/* The file as a surface: a PNG decoded by cairo, a JPEG an empty surface
 * of its size carrying the file as its JPEG mime data (which cairo's PDF
 * surface embeds instead of the pixels; it takes file then). NULL when it
 * cannot be read or is too large. */
static cairo_surface_t *logo_surface(unsigned char **file, size_t n, int jpeg)
{
	cairo_surface_t *s = NULL;
	uint32_t w = 0, h = 0;

	if (jpeg) {
		if (jpeg_size(*file, n, &w, &h) && w > 0 && h > 0 && w <= LOGO_MAX_PX &&
		    h <= LOGO_MAX_PX) {
			s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)w, (int)h);
			if (cairo_surface_set_mime_data(s, CAIRO_MIME_TYPE_JPEG, *file, (unsigned long)n,
				billing__free, *file) == CAIRO_STATUS_SUCCESS)
				*file = NULL;
		}
	} else if (n >= 24 && be(*file + 16, 4) <= LOGO_MAX_PX && be(*file + 20, 4) <= LOGO_MAX_PX) {
		/* IHDR's width and height, read before cairo makes room for them */
		png_reader r = { *file, n };
		s = cairo_image_surface_create_from_png_stream(on_read, &r);
	}
	if (s && cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
		cairo_surface_destroy(s);
		s = NULL;
	}
	return s;
}

/* The logo of uri ("data:image/png;base64,..." or image/jpeg, the title
 * node's text[2]; NULL: none) into p->logo, with its scale: 96 pixels to
 * the inch, smaller to fit the box. A file that cannot be read leaves
 * p->logo NULL; BILLING_ENOMEM when its bytes cannot be held. */
static int logo_load(pdf *p, const char *uri)
{
	const char *b64 = uri ? strchr(uri, ',') : NULL;
	unsigned char *file;
	size_t len;
	long n;
	double pw, ph, scale = LOGO_PX_PT;

	if (!b64)
		return BILLING_OK;
	b64++;
	len = strlen(b64);
	if ((file = billing__malloc(len / 4 * 3 + 1)) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	n = billing__b64_decode(file, len / 4 * 3 + 1, b64, len);
	if (n > 0)
		p->logo = logo_surface(&file, (size_t)n, strncmp(uri, "data:image/jpeg", 15) == 0);
	billing__free(file);
	if (!p->logo)
		return BILLING_OK;
	pw = cairo_image_surface_get_width(p->logo);
	ph = cairo_image_surface_get_height(p->logo);
	if (pw * scale > LOGO_W)
		scale = LOGO_W / pw;
	if (ph * scale > LOGO_H)
		scale = LOGO_H / ph;
	p->logo_scale = scale;
	p->logo_h = ph * scale;
	return BILLING_OK;
}

/* ------------------------------------------------------------ font maps */

/* More renders at once than this make font maps of their own and drop them
 * after: the pool's memory stays bounded. */
#define FONT_MAPS_KEPT 8

static pthread_mutex_t font_maps_mu = PTHREAD_MUTEX_INITIALIZER;
static PangoFontMap *font_maps[FONT_MAPS_KEPT];
static size_t font_maps_kept;

static PangoFontMap *font_map_take(void)
{
	PangoFontMap *m = NULL;

	pthread_mutex_lock(&font_maps_mu);
	if (font_maps_kept > 0)
		m = font_maps[--font_maps_kept];
	pthread_mutex_unlock(&font_maps_mu);
	return m ? m : pango_cairo_font_map_new();
}

static void font_map_give(PangoFontMap *m)
{
	pthread_mutex_lock(&font_maps_mu);
	if (font_maps_kept < FONT_MAPS_KEPT) {
		font_maps[font_maps_kept++] = m;
		m = NULL;
	}
	pthread_mutex_unlock(&font_maps_mu);
	if (m)
		g_object_unref(m);
}

/* At dlclose or exit, while pango is still loaded. */
__attribute__((destructor)) static void font_maps_release(void)
{
	pthread_mutex_lock(&font_maps_mu);
	while (font_maps_kept > 0)
		g_object_unref(font_maps[--font_maps_kept]);
	pthread_mutex_unlock(&font_maps_mu);
}

int billing__doc_pdf(char **out, size_t *len, const billing__doc *d)
{
	sink s = { NULL, 0, 0, 0 };
	cairo_surface_t *surface;
	cairo_status_t status;
	pdf p;
	char when[32];
	size_t i;
	int rc;

	memset(&p, 0, sizeof(p));
	p.d = d;
	parse_accent(p.accent, d->accent);
	p.seller = d->count;
	for (i = 0; i < d->count; i++) {
		if (d->nodes[i].kind == BILLING__DOC_TITLE && !p.logo &&
		    (rc = logo_load(&p, d->nodes[i].text[2])) < 0)
			return rc;
		if (d->nodes[i].kind == BILLING__DOC_PARTY && p.seller == d->count)
			p.seller = i;
	}
	surface = cairo_pdf_surface_create_for_stream(on_write, &s, PAGE_W, PAGE_H);
	iso_date(when, sizeof(when), d->issued_at);
	cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE, d->title);
	cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR, "libbilling");
	cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATE_DATE, when);
	cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_MOD_DATE, when);
	p.cr = cairo_create(surface);
	p.fonts = font_map_take();
	p.pc = pango_font_map_create_context(p.fonts);
	pango_cairo_update_context(p.cr, p.pc);
	p.lay = pango_layout_new(p.pc);
	pango_context_set_language(pango_layout_get_context(p.lay),
		pango_language_from_string(d->locale->tag));
	pango_layout_set_wrap(p.lay, PANGO_WRAP_WORD_CHAR);
	/* Left-aligned like the HTML page (no dir="auto"): a right-to-left name
	 * reads right to left, at the left of its block. */
	pango_layout_set_auto_dir(p.lay, FALSE);
	p.regular = font(FONT " 9");
	p.bold = font(FONT " Bold 9");
	p.small = font(FONT " 7.5");
	p.heading = font(FONT " Bold 7.5");
	p.title = font(FONT " Bold 22");

	/* Measure (how many pages), then draw. */
	walk(&p);
	p.pages = p.page;
	p.draw = 1;
	walk(&p);

	pango_font_description_free(p.regular);
	pango_font_description_free(p.bold);
	pango_font_description_free(p.small);
	pango_font_description_free(p.heading);
	pango_font_description_free(p.title);
	g_object_unref(p.lay);
	g_object_unref(p.pc);
	font_map_give(p.fonts);
	cairo_destroy(p.cr);
	cairo_surface_finish(surface);
	if (p.logo)
		cairo_surface_destroy(p.logo);
	status = cairo_surface_status(surface);
	cairo_surface_destroy(surface);
	if (status != CAIRO_STATUS_SUCCESS || s.failed) {
		billing__free(s.buf);
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	}
	*out = s.buf;
	*len = s.len;
	return BILLING_OK;
}

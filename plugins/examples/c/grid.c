/*
 * grid.c — an Entmoot strategy plugin in plain C99, built against the public header
 * plugins/sdk/include/entmoot_strategy.h the way a third party would (see README.md here).
 *
 * Strategy "example-c-grid": assets are taken largest first and each is put at the first
 * free position of a grid scanned bottom-up, left to right, unrotated, keeping the minimum
 * spacing, inside the buildable area, and within the coverage limit; rows are kept a road
 * corridor apart. Then roads are routed on a fine raster of the parcel: a breadth-first
 * search from the entrances through the cells where an access road fits (inside the
 * boundary, off exclusion zones, clear of every footprint), and a branch of the road tree to
 * each asset; assets no road can reach are left out. It honours the cancel callback and the
 * request's time limit (returning what it has placed so far), reports progress, validates
 * its parameters against its own schema, and is deterministic.
 *
 * It contains a small JSON reader (objects, arrays, strings with escapes, numbers, literals)
 * because the ABI exchanges UTF-8 JSON; a real plugin may prefer a library such as cJSON.
 *
 * Build: cc -std=c99 -O2 -Wall -Wextra -shared -fPIC -I plugins/sdk/include \
 *           -o libexample_c_grid.so plugins/examples/c/grid.c -lm
 */
#define _POSIX_C_SOURCE 199309L

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "entmoot_strategy.h"

/* ------------------------------------------------------------------------------------- */
/* Growable string buffer                                                                 */
/* ------------------------------------------------------------------------------------- */

typedef struct {
    char *p;
    size_t len, cap;
    int failed; /* an allocation failed: the content is incomplete */
} sbuf;

static void sb_grow(sbuf *b, size_t extra) {
    if (b->failed || b->len + extra + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) cap *= 2;
    char *p = (char *)realloc(b->p, cap);
    if (p == NULL) {
        b->failed = 1;
        return;
    }
    b->p = p;
    b->cap = cap;
}

static void sb_add(sbuf *b, const char *s, size_t n) {
    sb_grow(b, n);
    if (b->failed) return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_str(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

static void sb_printf(sbuf *b, const char *fmt, ...) {
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0) sb_add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* A JSON string literal, escaped. */
static void sb_json_string(sbuf *b, const char *s) {
    sb_add(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            sb_add(b, esc, 2);
        } else if (c < 0x20) {
            sb_printf(b, "\\u%04x", c);
        } else {
            sb_add(b, (const char *)&c, 1);
        }
    }
    sb_add(b, "\"", 1);
}

/* A double that reads back bit for bit. */
static void sb_number(sbuf *b, double x) { sb_printf(b, "%.17g", x); }

static EntmootBuffer sb_into_buffer(sbuf *b) {
    EntmootBuffer out = {NULL, 0};
    if (b->failed || b->p == NULL) {
        free(b->p);
        return out;
    }
    out.ptr = (uint8_t *)b->p;
    out.len = b->len;
    return out;
}

static EntmootBuffer copy_text(const char *text) {
    sbuf b = {0};
    sb_str(&b, text);
    return sb_into_buffer(&b);
}

/* ------------------------------------------------------------------------------------- */
/* A small JSON reader                                                                    */
/* ------------------------------------------------------------------------------------- */

typedef enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } jtype;

typedef struct jval {
    jtype t;
    double num;   /* J_NUM, J_BOOL (0 or 1) */
    char *str;    /* J_STR */
    size_t n;     /* J_ARR, J_OBJ: number of items */
    struct jval *items;
    char **keys;  /* J_OBJ */
} jval;

typedef struct {
    const char *s, *end;
    int depth;
    const char *error;
} jparser;

static void jfree(jval *v) {
    if (v == NULL) return;
    free(v->str);
    for (size_t i = 0; i < v->n; i++) {
        jfree(&v->items[i]);
        if (v->keys) free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    memset(v, 0, sizeof *v);
}

static void skip_ws(jparser *p) {
    while (p->s < p->end && (*p->s == ' ' || *p->s == '\n' || *p->s == '\r' || *p->s == '\t'))
        p->s++;
}

static int fail(jparser *p, const char *why) {
    if (p->error == NULL) p->error = why;
    return 0;
}

static void put_utf8(sbuf *b, unsigned long cp) {
    char u[4];
    if (cp < 0x80) {
        u[0] = (char)cp;
        sb_add(b, u, 1);
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        sb_add(b, u, 2);
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        sb_add(b, u, 3);
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        sb_add(b, u, 4);
    }
}

static int hex4(jparser *p, unsigned long *out) {
    if (p->end - p->s < 4) return fail(p, "truncated \\u escape");
    unsigned long v = 0;
    for (int i = 0; i < 4; i++) {
        char c = *p->s++;
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned long)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned long)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned long)(c - 'A' + 10);
        else return fail(p, "bad \\u escape");
    }
    *out = v;
    return 1;
}

/* Parses a string literal (p->s at the opening quote) into a malloc'ed C string. */
static int parse_string(jparser *p, char **out) {
    sbuf b = {0};
    p->s++; /* opening quote */
    while (p->s < p->end && *p->s != '"') {
        char c = *p->s++;
        if ((unsigned char)c < 0x20) {
            free(b.p);
            return fail(p, "control character in a string");
        }
        if (c != '\\') {
            sb_add(&b, &c, 1);
            continue;
        }
        if (p->s >= p->end) break;
        char e = *p->s++;
        unsigned long cp, lo;
        switch (e) {
        case '"': sb_add(&b, "\"", 1); break;
        case '\\': sb_add(&b, "\\", 1); break;
        case '/': sb_add(&b, "/", 1); break;
        case 'b': sb_add(&b, "\b", 1); break;
        case 'f': sb_add(&b, "\f", 1); break;
        case 'n': sb_add(&b, "\n", 1); break;
        case 'r': sb_add(&b, "\r", 1); break;
        case 't': sb_add(&b, "\t", 1); break;
        case 'u':
            if (!hex4(p, &cp)) {
                free(b.p);
                return 0;
            }
            if (cp >= 0xD800 && cp < 0xDC00 && p->end - p->s >= 6 && p->s[0] == '\\' &&
                p->s[1] == 'u') {
                p->s += 2;
                if (!hex4(p, &lo)) {
                    free(b.p);
                    return 0;
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            put_utf8(&b, cp);
            break;
        default:
            free(b.p);
            return fail(p, "bad escape in a string");
        }
    }
    if (p->s >= p->end) {
        free(b.p);
        return fail(p, "unterminated string");
    }
    p->s++; /* closing quote */
    if (b.p == NULL) sb_add(&b, "", 0);
    if (b.failed) {
        free(b.p);
        return fail(p, "out of memory");
    }
    *out = b.p;
    return 1;
}

static int parse_value(jparser *p, jval *v);

static int push_item(jparser *p, jval *v, char *key) {
    jval *items = (jval *)realloc(v->items, (v->n + 1) * sizeof *items);
    if (items == NULL) return fail(p, "out of memory");
    v->items = items;
    memset(&v->items[v->n], 0, sizeof(jval));
    if (v->t == J_OBJ) {
        char **keys = (char **)realloc(v->keys, (v->n + 1) * sizeof *keys);
        if (keys == NULL) return fail(p, "out of memory");
        v->keys = keys;
        v->keys[v->n] = key;
    }
    v->n++;
    return parse_value(p, &v->items[v->n - 1]);
}

static int parse_value(jparser *p, jval *v) {
    skip_ws(p);
    if (p->s >= p->end) return fail(p, "unexpected end of input");
    if (++p->depth > 64) return fail(p, "nested too deeply");
    int ok = 1;
    char c = *p->s;
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        v->t = c == '{' ? J_OBJ : J_ARR;
        p->s++;
        skip_ws(p);
        if (p->s < p->end && *p->s == close) {
            p->s++;
        } else {
            for (;;) {
                char *key = NULL;
                if (v->t == J_OBJ) {
                    skip_ws(p);
                    if (p->s >= p->end || *p->s != '"') {
                        ok = fail(p, "expected a key");
                        break;
                    }
                    if (!parse_string(p, &key)) {
                        ok = 0;
                        break;
                    }
                    skip_ws(p);
                    if (p->s >= p->end || *p->s != ':') {
                        free(key);
                        ok = fail(p, "expected ':'");
                        break;
                    }
                    p->s++;
                }
                if (!push_item(p, v, key)) {
                    if (v->t == J_OBJ && (v->keys == NULL || v->keys[v->n - 1] != key)) free(key);
                    ok = 0;
                    break;
                }
                skip_ws(p);
                if (p->s < p->end && *p->s == ',') {
                    p->s++;
                    continue;
                }
                if (p->s < p->end && *p->s == close) {
                    p->s++;
                    break;
                }
                ok = fail(p, "expected ',' or a closing bracket");
                break;
            }
        }
    } else if (c == '"') {
        v->t = J_STR;
        ok = parse_string(p, &v->str);
    } else if (c == 't' && p->end - p->s >= 4 && memcmp(p->s, "true", 4) == 0) {
        v->t = J_BOOL;
        v->num = 1;
        p->s += 4;
    } else if (c == 'f' && p->end - p->s >= 5 && memcmp(p->s, "false", 5) == 0) {
        v->t = J_BOOL;
        p->s += 5;
    } else if (c == 'n' && p->end - p->s >= 4 && memcmp(p->s, "null", 4) == 0) {
        v->t = J_NULL;
        p->s += 4;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        char tmp[64];
        size_t n = 0;
        while (p->s + n < p->end && n < sizeof tmp - 1 && strchr("+-0123456789.eE", p->s[n]))
            n++;
        memcpy(tmp, p->s, n);
        tmp[n] = '\0';
        char *after = NULL;
        v->t = J_NUM;
        v->num = strtod(tmp, &after); /* the host is a Rust process: the "C" locale */
        if (after != tmp + n || n == 0) ok = fail(p, "bad number");
        p->s += n;
    } else {
        ok = fail(p, "unexpected character");
    }
    p->depth--;
    return ok;
}

/* Parses a whole document; on failure returns 0 and sets *error. */
static int json_parse(const uint8_t *bytes, size_t len, jval *out, const char **error) {
    jparser p = {(const char *)bytes, (const char *)bytes + len, 0, NULL};
    memset(out, 0, sizeof *out);
    int ok = parse_value(&p, out);
    skip_ws(&p);
    if (ok && p.s != p.end) ok = fail(&p, "trailing characters");
    if (!ok) {
        jfree(out);
        *error = p.error ? p.error : "invalid JSON";
    }
    return ok;
}

static const jval *jget(const jval *obj, const char *key) {
    if (obj == NULL || obj->t != J_OBJ) return NULL;
    for (size_t i = 0; i < obj->n; i++)
        if (strcmp(obj->keys[i], key) == 0) return &obj->items[i];
    return NULL;
}

static int jnum(const jval *v, double *out) {
    if (v == NULL || v->t != J_NUM) return 0;
    *out = v->num;
    return 1;
}

/* ------------------------------------------------------------------------------------- */
/* Geometry                                                                               */
/* ------------------------------------------------------------------------------------- */

typedef struct {
    double *xy; /* x0, y0, x1, y1, ... (closed: last == first) */
    size_t n;   /* number of points */
} ring;

typedef struct {
    ring *rings; /* rings[0] is the exterior, the others are holes */
    size_t n;
} polygon;

typedef struct {
    polygon *polys;
    size_t n;
    double minx, miny, maxx, maxy;
} area;

static void area_free(area *a) {
    for (size_t i = 0; i < a->n; i++) {
        for (size_t j = 0; j < a->polys[i].n; j++) free(a->polys[i].rings[j].xy);
        free(a->polys[i].rings);
    }
    free(a->polys);
    memset(a, 0, sizeof *a);
}

static int read_ring(const jval *v, ring *r, area *bounds) {
    if (v == NULL || v->t != J_ARR || v->n < 4) return 0;
    r->xy = (double *)malloc(2 * v->n * sizeof(double));
    if (r->xy == NULL) return 0;
    r->n = v->n;
    for (size_t i = 0; i < v->n; i++) {
        const jval *pt = &v->items[i];
        if (pt->t != J_ARR || pt->n < 2 || !jnum(&pt->items[0], &r->xy[2 * i]) ||
            !jnum(&pt->items[1], &r->xy[2 * i + 1]))
            return 0;
        double x = r->xy[2 * i], y = r->xy[2 * i + 1];
        if (x < bounds->minx) bounds->minx = x;
        if (y < bounds->miny) bounds->miny = y;
        if (x > bounds->maxx) bounds->maxx = x;
        if (y > bounds->maxy) bounds->maxy = y;
    }
    return 1;
}

static int read_polygon(const jval *coords, polygon *poly, area *bounds) {
    if (coords == NULL || coords->t != J_ARR || coords->n == 0) return 0;
    poly->rings = (ring *)calloc(coords->n, sizeof(ring));
    if (poly->rings == NULL) return 0;
    poly->n = coords->n;
    for (size_t i = 0; i < coords->n; i++)
        if (!read_ring(&coords->items[i], &poly->rings[i], bounds)) return 0;
    return 1;
}

/* Reads a GeoJSON Polygon or MultiPolygon geometry. */
static int read_area(const jval *geometry, area *a) {
    memset(a, 0, sizeof *a);
    a->minx = a->miny = INFINITY;
    a->maxx = a->maxy = -INFINITY;
    const jval *type = jget(geometry, "type");
    const jval *coords = jget(geometry, "coordinates");
    if (type == NULL || type->t != J_STR || coords == NULL || coords->t != J_ARR) return 0;
    int multi = strcmp(type->str, "MultiPolygon") == 0;
    if (!multi && strcmp(type->str, "Polygon") != 0) return 0;
    size_t n = multi ? coords->n : 1;
    a->polys = (polygon *)calloc(n ? n : 1, sizeof(polygon));
    if (a->polys == NULL) return 0;
    a->n = n;
    for (size_t i = 0; i < n; i++)
        if (!read_polygon(multi ? &coords->items[i] : coords, &a->polys[i], a)) return 0;
    return 1;
}

static int point_in_ring(const ring *r, double x, double y) {
    int inside = 0;
    for (size_t i = 0, j = r->n - 1; i < r->n; j = i++) {
        double xi = r->xy[2 * i], yi = r->xy[2 * i + 1];
        double xj = r->xy[2 * j], yj = r->xy[2 * j + 1];
        if ((yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) inside = !inside;
    }
    return inside;
}

/* Whether segment (x0,y0)-(x1,y1) touches the box (Liang–Barsky clipping). */
static int segment_hits_box(double x0, double y0, double x1, double y1, double xmin,
                            double ymin, double xmax, double ymax) {
    double t0 = 0.0, t1 = 1.0, dx = x1 - x0, dy = y1 - y0;
    double pp[4] = {-dx, dx, -dy, dy};
    double qq[4] = {x0 - xmin, xmax - x0, y0 - ymin, ymax - y0};
    for (int i = 0; i < 4; i++) {
        if (pp[i] == 0.0) {
            if (qq[i] < 0.0) return 0;
        } else {
            double r = qq[i] / pp[i];
            if (pp[i] < 0.0) {
                if (r > t1) return 0;
                if (r > t0) t0 = r;
            } else {
                if (r < t0) return 0;
                if (r < t1) t1 = r;
            }
        }
    }
    return 1;
}

/* Whether the box, grown by `margin`, lies inside the area: no ring edge touches the grown
 * box and its centre is inside one polygon's exterior and outside that polygon's holes. */
static int box_inside(const area *a, double xmin, double ymin, double xmax, double ymax,
                      double margin) {
    double cx = 0.5 * (xmin + xmax), cy = 0.5 * (ymin + ymax);
    xmin -= margin;
    ymin -= margin;
    xmax += margin;
    ymax += margin;
    int inside = 0;
    for (size_t i = 0; i < a->n; i++) {
        const polygon *poly = &a->polys[i];
        for (size_t j = 0; j < poly->n; j++) {
            const ring *r = &poly->rings[j];
            for (size_t k = 0; k + 1 < r->n; k++)
                if (segment_hits_box(r->xy[2 * k], r->xy[2 * k + 1], r->xy[2 * k + 2],
                                     r->xy[2 * k + 3], xmin, ymin, xmax, ymax))
                    return 0;
        }
        if (!inside && point_in_ring(&poly->rings[0], cx, cy)) {
            int in_hole = 0;
            for (size_t j = 1; j < poly->n; j++)
                if (point_in_ring(&poly->rings[j], cx, cy)) in_hole = 1;
            inside = !in_hole;
        }
    }
    return inside;
}

/* ------------------------------------------------------------------------------------- */
/* The strategy                                                                           */
/* ------------------------------------------------------------------------------------- */

/* Distance kept from the buildable edge and added to the spacing, so that floating-point
 * noise never makes a layout fail the host's validator (whose tolerance is 1 mm). */
#define SAFETY_M 0.01

/* Another version of the same strategy builds with -DEXAMPLE_C_GRID_VERSION='"0.2.0"' (the
 * hot-reload tests install two versions in turn). */
#ifndef EXAMPLE_C_GRID_VERSION
#define EXAMPLE_C_GRID_VERSION "0.1.0"
#endif

static const char MANIFEST[] =
    "{\"name\":\"example-c-grid\",\"version\":\"" EXAMPLE_C_GRID_VERSION "\",\"abi_version\":1,"
    "\"description\":\"Example plugin in C: largest assets first, each at the first free "
    "position of a grid scanned bottom-up, unrotated.\","
    "\"authors\":[\"Entmoot\"],\"license\":\"Apache-2.0\","
    "\"capabilities\":{\"rotations\":false,\"alternatives\":false,"
    "\"terrain_aware\":false,\"deterministic\":true},"
    "\"parameters\":{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
    "\"step_m\":{\"type\":\"number\",\"exclusiveMinimum\":0,\"maximum\":100,\"default\":1.0,"
    "\"description\":\"Grid step in metres: smaller packs tighter but takes longer.\"},"
    "\"largest_first\":{\"type\":\"boolean\",\"default\":true,"
    "\"description\":\"Place the largest footprints first (otherwise in program order).\"}"
    "}}}";

typedef struct {
    const char *id, *name, *type; /* point into the parsed request */
    double w, l;
    size_t order;
    int placed;
    double x, y; /* bottom-left corner when placed */
    int served;  /* a road reaches it */
} item;

typedef struct {
    EntmootProgressFn progress;
    EntmootCancelFn cancel;
    void *user_data;
    struct timespec deadline;
    int has_deadline;
} context;

static int out_of_time(const context *c) {
    if (!c->has_deadline) return 0;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > c->deadline.tv_sec ||
           (now.tv_sec == c->deadline.tv_sec && now.tv_nsec >= c->deadline.tv_nsec);
}

static int cancelled(const context *c) {
    return c->cancel != NULL && c->cancel(c->user_data) != 0;
}

static void report(const context *c, double fraction, double best, const char *message) {
    if (c->progress == NULL) return;
    sbuf b = {0};
    sb_str(&b, "{\"fraction\":");
    sb_number(&b, fraction);
    sb_str(&b, ",\"best_objective\":");
    sb_number(&b, best);
    sb_str(&b, ",\"message\":");
    sb_json_string(&b, message);
    sb_str(&b, "}");
    if (!b.failed) c->progress(c->user_data, (const uint8_t *)b.p, b.len);
    free(b.p);
}

static int error_out(EntmootBuffer *out, const char *kind, const char *message) {
    sbuf b = {0};
    sb_str(&b, "{\"kind\":");
    sb_json_string(&b, kind);
    if (message != NULL) {
        sb_str(&b, ",\"message\":");
        sb_json_string(&b, message);
    }
    sb_str(&b, "}");
    *out = sb_into_buffer(&b);
    return ENTMOOT_STATUS_ERROR;
}

static int compare_items(const void *pa, const void *pb) {
    const item *a = (const item *)pa, *b = (const item *)pb;
    double da = a->w * a->l, db = b->w * b->l;
    if (da != db) return da > db ? -1 : 1;
    if (a->w != b->w) return a->w > b->w ? -1 : 1;
    if (a->l != b->l) return a->l > b->l ? -1 : 1;
    return a->order < b->order ? -1 : (a->order > b->order);
}

/* Checks parameters against the schema in MANIFEST; on error writes a message. */
static int read_parameters(const jval *params, double *step, int *largest_first, char *why,
                           size_t why_len) {
    *step = 1.0;
    *largest_first = 1;
    if (params == NULL || params->t == J_NULL) return 1;
    if (params->t != J_OBJ) {
        snprintf(why, why_len, "parameters: must be an object");
        return 0;
    }
    for (size_t i = 0; i < params->n; i++) {
        const char *k = params->keys[i];
        const jval *v = &params->items[i];
        if (strcmp(k, "step_m") == 0) {
            if (v->t != J_NUM || !(v->num > 0.0) || v->num > 100.0) {
                snprintf(why, why_len, "parameters.step_m: must be a number in (0, 100]");
                return 0;
            }
            *step = v->num;
        } else if (strcmp(k, "largest_first") == 0) {
            if (v->t != J_BOOL) {
                snprintf(why, why_len, "parameters.largest_first: must be true or false");
                return 0;
            }
            *largest_first = v->num != 0.0;
        } else {
            snprintf(why, why_len, "parameters.%.64s: unknown parameter (expected step_m, largest_first)", k);
            return 0;
        }
    }
    return 1;
}

/* The placement; returns 0 when cancelled. */
static int place(const area *buildable, item *items, size_t n, double spacing, double lane,
                 double budget, double step, const context *c) {
    double used = 0.0;
    size_t placed = 0;
    int last_percent = -1;
    /* Same-sized items are consecutive after sorting; positions rejected for one of them
     * stay rejected for the next (the free space only shrinks), so the scan resumes there. */
    double resume_x = buildable->minx, resume_y = buildable->miny;
    for (size_t i = 0; i < n; i++) {
        item *it = &items[i];
        if (cancelled(c)) return 0;
        if (out_of_time(c)) break;
        if (i == 0 || it->w != items[i - 1].w || it->l != items[i - 1].l) {
            resume_x = buildable->minx;
            resume_y = buildable->miny;
        }
        if (used + it->w * it->l <= budget) {
            unsigned long checks = 0;
            int stop = 0;
            for (double y = resume_y; y + it->l <= buildable->maxy && !it->placed && !stop;
                 y += step) {
                double x = (y == resume_y) ? resume_x : buildable->minx;
                while (x + it->w <= buildable->maxx) {
                    if ((++checks & 0xFFF) == 0 && (out_of_time(c) || cancelled(c))) {
                        stop = 1;
                        break;
                    }
                    /* The first placed item too close to this box, if any: side by side they
                     * keep the spacing, one above the other a road corridor. */
                    const item *hit = NULL;
                    double gap = spacing + SAFETY_M, vgap = lane + SAFETY_M;
                    for (size_t j = 0; j < i && hit == NULL; j++) {
                        const item *o = &items[j];
                        if (o->placed && x < o->x + o->w + gap && o->x < x + it->w + gap &&
                            y < o->y + o->l + vgap && o->y < y + it->l + vgap)
                            hit = o;
                    }
                    if (hit != NULL) {
                        /* Jump past it along the row, staying on the grid. */
                        double past = hit->x + hit->w + gap;
                        x += step * ceil((past - x) / step);
                        continue;
                    }
                    if (box_inside(buildable, x, y, x + it->w, y + it->l, SAFETY_M)) {
                        it->placed = 1;
                        it->x = x;
                        it->y = y;
                        used += it->w * it->l;
                        placed++;
                        resume_x = x;
                        resume_y = y;
                        break;
                    }
                    x += step;
                }
            }
            if (stop && cancelled(c)) return 0;
        }
        int percent = (int)(100.0 * (double)(i + 1) / (double)n);
        if (percent != last_percent || i + 1 == n) {
            char message[96];
            snprintf(message, sizeof message, "placed %lu of %lu assets",
                     (unsigned long)placed, (unsigned long)n);
            report(c, 0.8 * (double)(i + 1) / (double)n, (double)placed, message);
            last_percent = percent;
        }
    }
    return 1;
}

/* ------------------------------------------------------------------------------------- */
/* Roads                                                                                  */
/* ------------------------------------------------------------------------------------- */

/* Obstacles for roads: segments and points no road may come near (boundary rings and
 * exclusion geometries) and the exclusion polygons no road may enter. */
typedef struct {
    double *seg; /* x0, y0, x1, y1, ... */
    size_t nseg, capseg;
    area *polys; /* exclusion polygons (cores) */
    size_t npolys;
} obstacles;

static int add_segment(obstacles *o, double x0, double y0, double x1, double y1) {
    if (o->nseg == o->capseg) {
        size_t cap = o->capseg ? 2 * o->capseg : 64;
        double *seg = (double *)realloc(o->seg, 4 * cap * sizeof(double));
        if (seg == NULL) return 0;
        o->seg = seg;
        o->capseg = cap;
    }
    double *q = &o->seg[4 * o->nseg++];
    q[0] = x0;
    q[1] = y0;
    q[2] = x1;
    q[3] = y1;
    return 1;
}

/* Adds the segments of an array of positions (a point is a zero-length segment). */
static int add_positions(obstacles *o, const jval *positions) {
    if (positions == NULL || positions->t != J_ARR) return 0;
    double px = 0, py = 0;
    for (size_t i = 0; i < positions->n; i++) {
        const jval *pt = &positions->items[i];
        double x, y;
        if (pt->t != J_ARR || pt->n < 2 || !jnum(&pt->items[0], &x) || !jnum(&pt->items[1], &y))
            return 0;
        if (!add_segment(o, i ? px : x, i ? py : y, x, y)) return 0;
        px = x;
        py = y;
    }
    return 1;
}

/* Adds any GeoJSON geometry: its lines and points as segments, its polygons as areas. */
static int add_geometry(obstacles *o, const jval *g, int depth) {
    const jval *type = jget(g, "type");
    const jval *coords = jget(g, "coordinates");
    if (type == NULL || type->t != J_STR || depth > 8) return 0;
    const char *t = type->str;
    if (strcmp(t, "GeometryCollection") == 0) {
        const jval *gs = jget(g, "geometries");
        if (gs == NULL || gs->t != J_ARR) return 0;
        for (size_t i = 0; i < gs->n; i++)
            if (!add_geometry(o, &gs->items[i], depth + 1)) return 0;
        return 1;
    }
    if (coords == NULL || coords->t != J_ARR) return 0;
    if (strcmp(t, "Point") == 0) {
        jval one = {J_ARR, 0, NULL, 1, (jval *)coords, NULL};
        return add_positions(o, &one);
    }
    if (strcmp(t, "LineString") == 0 || strcmp(t, "MultiPoint") == 0)
        return add_positions(o, coords);
    if (strcmp(t, "MultiLineString") == 0) {
        for (size_t i = 0; i < coords->n; i++)
            if (!add_positions(o, &coords->items[i])) return 0;
        return 1;
    }
    if (strcmp(t, "Polygon") == 0 || strcmp(t, "MultiPolygon") == 0) {
        area *polys = (area *)realloc(o->polys, (o->npolys + 1) * sizeof(area));
        if (polys == NULL) return 0;
        o->polys = polys;
        if (!read_area(g, &o->polys[o->npolys])) {
            area_free(&o->polys[o->npolys]);
            return 0;
        }
        area *a = &o->polys[o->npolys++];
        for (size_t i = 0; i < a->n; i++)
            for (size_t j = 0; j < a->polys[i].n; j++) {
                const ring *r = &a->polys[i].rings[j];
                for (size_t k = 0; k + 1 < r->n; k++)
                    if (!add_segment(o, r->xy[2 * k], r->xy[2 * k + 1], r->xy[2 * k + 2],
                                     r->xy[2 * k + 3]))
                        return 0;
            }
        return 1;
    }
    return 0;
}

static void obstacles_free(obstacles *o) {
    for (size_t i = 0; i < o->npolys; i++) area_free(&o->polys[i]);
    free(o->polys);
    free(o->seg);
    memset(o, 0, sizeof *o);
}

static double point_segment_distance(double px, double py, const double *q) {
    double dx = q[2] - q[0], dy = q[3] - q[1];
    double len2 = dx * dx + dy * dy;
    double t = len2 > 0.0 ? ((px - q[0]) * dx + (py - q[1]) * dy) / len2 : 0.0;
    if (t < 0.0) t = 0.0;
    if (t > 1.0) t = 1.0;
    double ex = q[0] + t * dx - px, ey = q[1] + t * dy - py;
    return sqrt(ex * ex + ey * ey);
}

static int point_in_area(const area *a, double x, double y) {
    for (size_t i = 0; i < a->n; i++) {
        const polygon *poly = &a->polys[i];
        if (!point_in_ring(&poly->rings[0], x, y)) continue;
        int in_hole = 0;
        for (size_t j = 1; j < poly->n; j++)
            if (point_in_ring(&poly->rings[j], x, y)) in_hole = 1;
        if (!in_hole) return 1;
    }
    return 0;
}

/* Road settings of the problem (the sdk's defaults when absent). */
typedef struct {
    double width, gap, clearance;
} road_settings;

static road_settings read_road_settings(const jval *roads) {
    road_settings r = {3.6576, 3.0, 0.1};
    double v;
    if (jnum(jget(roads, "access_width_m"), &v) && v > 0) r.width = v;
    if (jnum(jget(roads, "access_gap_m"), &v) && v >= 0) r.gap = v;
    if (jnum(jget(roads, "clearance_m"), &v) && v >= 0) r.clearance = v;
    return r;
}

/* The raster the roads are routed on: square cells of side `cell`, centres at
 * (x0 + (i + 0.5) cell, y0 + (j + 0.5) cell). A cell is free when an access road's centreline
 * may pass through its centre, and moving between the centres of two free neighbours keeps
 * the pavement clear of every footprint and the centreline inside the parcel and off the
 * exclusions: every check keeps half a cell of margin for that. */
typedef struct {
    double x0, y0, cell;
    long nx, ny;
    unsigned char *free_;
    long *parent; /* BFS tree: the neighbour towards an entrance; -1 at a source, -2 unreached */
    long *depth;  /* BFS steps from a source */
    unsigned char *used;
} raster;

/* Distance that keeps a road's pavement clear of a footprint, with the half-cell margin. */
static double footprint_reach(const road_settings *r, double cell) {
    return r->width / 2.0 + r->clearance + cell / 2.0 + SAFETY_M;
}

/* Cell side for a parcel: 0.5 m, coarser for very large parcels (at most ~4 million cells). */
static double cell_size(const area *boundary) {
    double w = boundary->maxx - boundary->minx, h = boundary->maxy - boundary->miny;
    double c = sqrt(w * h / 4.0e6);
    return c > 0.5 ? c : 0.5;
}

/* The width of free space needed between two rows so that one line of cells can carry a road
 * between them. */
static double lane_width(const road_settings *r, double cell) {
    return 2.0 * footprint_reach(r, cell) + cell;
}

static int raster_build(raster *g, const area *boundary, const obstacles *o, const item *items,
                        size_t n, const road_settings *r, double cell, const context *c) {
    memset(g, 0, sizeof *g);
    g->cell = cell;
    g->x0 = boundary->minx;
    g->y0 = boundary->miny;
    g->nx = (long)ceil((boundary->maxx - boundary->minx) / cell);
    g->ny = (long)ceil((boundary->maxy - boundary->miny) / cell);
    size_t cells = (size_t)g->nx * (size_t)g->ny;
    g->free_ = (unsigned char *)calloc(cells ? cells : 1, 1);
    g->parent = (long *)malloc((cells ? cells : 1) * sizeof(long));
    g->depth = (long *)calloc(cells ? cells : 1, sizeof(long));
    g->used = (unsigned char *)calloc(cells ? cells : 1, 1);
    if (g->free_ == NULL || g->parent == NULL || g->depth == NULL || g->used == NULL) return 0;
    /* Inside the parcel and a cell away from its rings and from every exclusion. */
    for (long j = 0; j < g->ny; j++) {
        if ((j & 63) == 0 && cancelled(c)) return 0;
        double y = g->y0 + (j + 0.5) * cell;
        for (long i = 0; i < g->nx; i++) {
            double x = g->x0 + (i + 0.5) * cell;
            size_t k = (size_t)j * (size_t)g->nx + (size_t)i;
            g->parent[k] = -2;
            if (!point_in_area(boundary, x, y)) continue;
            int ok = 1;
            for (size_t s = 0; s < o->nseg && ok; s++)
                if (point_segment_distance(x, y, &o->seg[4 * s]) < cell + 0.1) ok = 0;
            for (size_t p = 0; p < o->npolys && ok; p++)
                if (point_in_area(&o->polys[p], x, y)) ok = 0;
            g->free_[k] = (unsigned char)ok;
        }
    }
    /* Clear of every placed footprint. */
    double reach = footprint_reach(r, cell);
    for (size_t a = 0; a < n; a++) {
        const item *it = &items[a];
        if (!it->placed) continue;
        long i0 = (long)floor((it->x - reach - g->x0) / cell), i1 = (long)ceil((it->x + it->w + reach - g->x0) / cell);
        long j0 = (long)floor((it->y - reach - g->y0) / cell), j1 = (long)ceil((it->y + it->l + reach - g->y0) / cell);
        for (long j = j0 < 0 ? 0 : j0; j <= j1 && j < g->ny; j++)
            for (long i = i0 < 0 ? 0 : i0; i <= i1 && i < g->nx; i++) {
                double x = g->x0 + (i + 0.5) * cell, y = g->y0 + (j + 0.5) * cell;
                double dx = x < it->x ? it->x - x : (x > it->x + it->w ? x - it->x - it->w : 0);
                double dy = y < it->y ? it->y - y : (y > it->y + it->l ? y - it->y - it->l : 0);
                if (sqrt(dx * dx + dy * dy) < reach) g->free_[(size_t)j * (size_t)g->nx + (size_t)i] = 0;
            }
    }
    return 1;
}

static void raster_free(raster *g) {
    free(g->free_);
    free(g->parent);
    free(g->depth);
    free(g->used);
    memset(g, 0, sizeof *g);
}

/* Breadth-first search from the free cells within 3 m of each entrance (a road from one of
 * them gets a last straight piece to the entrance). Returns the number of sources. */
static size_t raster_search(raster *g, const double *entrances, size_t n_entrances) {
    size_t cells = (size_t)g->nx * (size_t)g->ny, head = 0, tail = 0, sources = 0;
    long *queue = (long *)malloc((cells ? cells : 1) * sizeof(long));
    if (queue == NULL) return 0;
    for (size_t e = 0; e < n_entrances; e++) {
        double ex = entrances[2 * e], ey = entrances[2 * e + 1];
        long ci = (long)floor((ex - g->x0) / g->cell), cj = (long)floor((ey - g->y0) / g->cell);
        long reach = (long)ceil(3.0 / g->cell);
        for (long j = cj - reach; j <= cj + reach; j++)
            for (long i = ci - reach; i <= ci + reach; i++) {
                if (i < 0 || j < 0 || i >= g->nx || j >= g->ny) continue;
                long k = j * g->nx + i;
                double x = g->x0 + (i + 0.5) * g->cell, y = g->y0 + (j + 0.5) * g->cell;
                if (g->free_[k] && g->parent[k] == -2 && hypot(x - ex, y - ey) <= 3.0) {
                    g->parent[k] = -1;
                    queue[tail++] = k;
                    sources++;
                }
            }
    }
    while (head < tail) {
        long k = queue[head++];
        long i = k % g->nx, j = k / g->nx;
        long next[4] = {i > 0 ? k - 1 : -1, i + 1 < g->nx ? k + 1 : -1,
                        j > 0 ? k - g->nx : -1, j + 1 < g->ny ? k + g->nx : -1};
        for (int d = 0; d < 4; d++) {
            long m = next[d];
            if (m >= 0 && g->free_[m] && g->parent[m] == -2) {
                g->parent[m] = k;
                g->depth[m] = g->depth[k] + 1;
                queue[tail++] = m;
            }
        }
    }
    free(queue);
    return sources;
}

/* Appends one road (a polyline through cell centres, straight runs merged, then `tail` if
 * given) as JSON. */
static void write_road(sbuf *b, const raster *g, const long *path, size_t len, double width,
                       const double *tail, int *first) {
    if (len + (tail != NULL) < 2) return;
    if (!*first) sb_str(b, ",");
    *first = 0;
    sb_str(b, "{\"points\":[");
    for (size_t p = 0; p < len; p++) {
        /* Keep the ends and every corner. */
        if (p > 0 && p + 1 < len && path[p] - path[p - 1] == path[p + 1] - path[p]) continue;
        if (p > 0) sb_str(b, ",");
        long i = path[p] % g->nx, j = path[p] / g->nx;
        sb_str(b, "[");
        sb_number(b, g->x0 + (i + 0.5) * g->cell);
        sb_str(b, ",");
        sb_number(b, g->y0 + (j + 0.5) * g->cell);
        sb_str(b, "]");
    }
    if (tail != NULL) {
        sb_str(b, ",[");
        sb_number(b, tail[0]);
        sb_str(b, ",");
        sb_number(b, tail[1]);
        sb_str(b, "]");
    }
    sb_str(b, "],\"width_m\":");
    sb_number(b, width);
    sb_str(b, "}");
}

/* Routes a branch to every placed asset from the search tree, writing the roads to `b` and
 * marking the assets it reaches as served. Returns 0 when out of memory. */
static int route(raster *g, item *items, size_t n, const road_settings *r,
                 const double *entrances, size_t n_entrances, sbuf *b) {
    size_t cells = (size_t)g->nx * (size_t)g->ny;
    long *path = (long *)malloc((cells ? cells : 1) * sizeof(long));
    if (path == NULL) return 0;
    int first = 1;
    /* A cell centre serves an asset when the road's edge comes within the gap of it. */
    double serve = r->width / 2.0 + r->gap - 0.05;
    for (size_t a = 0; a < n; a++) {
        item *it = &items[a];
        if (!it->placed) continue;
        /* The candidate cell on a road already, else the one closest to an entrance. */
        long best = -1;
        long i0 = (long)floor((it->x - serve - g->x0) / g->cell);
        long i1 = (long)ceil((it->x + it->w + serve - g->x0) / g->cell);
        long j0 = (long)floor((it->y - serve - g->y0) / g->cell);
        long j1 = (long)ceil((it->y + it->l + serve - g->y0) / g->cell);
        for (long j = j0 < 0 ? 0 : j0; j <= j1 && j < g->ny; j++)
            for (long i = i0 < 0 ? 0 : i0; i <= i1 && i < g->nx; i++) {
                long k = j * g->nx + i;
                if (g->parent[k] == -2) continue;
                double x = g->x0 + (i + 0.5) * g->cell, y = g->y0 + (j + 0.5) * g->cell;
                double dx = x < it->x ? it->x - x : (x > it->x + it->w ? x - it->x - it->w : 0);
                double dy = y < it->y ? it->y - y : (y > it->y + it->l ? y - it->y - it->l : 0);
                if (sqrt(dx * dx + dy * dy) > serve) continue;
                if (best < 0 || (g->used[k] && !g->used[best]) ||
                    (g->used[k] == g->used[best] && g->depth[k] < g->depth[best]))
                    best = k;
            }
        if (best < 0) continue; /* unreachable: left out */
        it->served = 1;
        if (g->used[best]) continue; /* a road passes by already */
        size_t len = 0;
        long m = best;
        for (; m >= 0 && !g->used[m]; m = g->parent[m]) {
            g->used[m] = 1;
            path[len++] = m;
        }
        double tail[2];
        const double *end = NULL;
        if (m >= 0) {
            path[len++] = m; /* join the existing road at a shared cell */
        } else {
            /* Reached a source: finish at the nearest entrance unless it is within 0.9 m. */
            long k = path[len - 1];
            double x = g->x0 + (k % g->nx + 0.5) * g->cell, y = g->y0 + (k / g->nx + 0.5) * g->cell;
            double best_d = INFINITY;
            for (size_t e = 0; e < n_entrances; e++) {
                double d = hypot(entrances[2 * e] - x, entrances[2 * e + 1] - y);
                if (d < best_d) {
                    best_d = d;
                    tail[0] = entrances[2 * e];
                    tail[1] = entrances[2 * e + 1];
                }
            }
            if (best_d > 0.9) {
                end = tail;
            } else if (len == 1) {
                /* A one-cell road: add a free neighbour so it has two points. */
                long i = k % g->nx;
                long other = i + 1 < g->nx && g->free_[k + 1] ? k + 1
                           : (i > 0 && g->free_[k - 1] ? k - 1 : -1);
                if (other < 0) {
                    g->used[k] = 0;
                    it->served = 0;
                    continue;
                }
                path[len++] = other;
            }
        }
        write_road(b, g, path, len, r->width, end, &first);
    }
    free(path);
    return !b->failed;
}

static EntmootBuffer manifest(void) { return copy_text(MANIFEST); }

static int32_t run(const uint8_t *request, size_t request_len, EntmootProgressFn progress,
                   EntmootCancelFn cancel, void *user_data, EntmootBuffer *out) {
    if (out == NULL) return ENTMOOT_STATUS_ERROR;
    jval doc;
    const char *error = NULL;
    if (request == NULL || !json_parse(request, request_len, &doc, &error))
        return error_out(out, "bad_request", error ? error : "empty request");

    context c = {progress, cancel, user_data, {0, 0}, 0};
    int32_t status = ENTMOOT_STATUS_OK;
    item *items = NULL;
    area buildable = {0}, boundary = {0};
    obstacles obstacles_ = {0};
    raster grid = {0};
    double *entrances = NULL;
    size_t n_entrances = 0;
    char why[160] = "";
    const jval *problem = jget(&doc, "problem");
    const jval *req = jget(&doc, "request");
    const jval *assets = jget(problem, "assets");
    double spacing = 0.0, coverage = 0.0, boundary_area = 0.0, limit_ms = 0.0;
    double step;
    int largest_first;

    if (!read_parameters(jget(req, "parameters"), &step, &largest_first, why, sizeof why)) {
        status = error_out(out, "invalid_parameters", why);
        goto done;
    }
    if (!jnum(jget(problem, "min_spacing_m"), &spacing) ||
        !jnum(jget(problem, "max_coverage"), &coverage) ||
        !jnum(jget(problem, "boundary_area_m2"), &boundary_area) || assets == NULL ||
        assets->t != J_ARR) {
        status = error_out(out, "bad_request", "problem: missing min_spacing_m, max_coverage, "
                                               "boundary_area_m2 or assets");
        goto done;
    }
    if (!read_area(jget(problem, "buildable_m"), &buildable)) {
        status = error_out(out, "invalid_problem",
                           "problem.buildable_m: not a Polygon or MultiPolygon");
        goto done;
    }
    if (!read_area(jget(problem, "boundary_m"), &boundary) ||
        !add_geometry(&obstacles_, jget(problem, "boundary_m"), 0)) {
        status = error_out(out, "invalid_problem",
                           "problem.boundary_m: not a Polygon or MultiPolygon");
        goto done;
    }
    /* The boundary was added as an area too: roads must stay inside it, not out of it. */
    area_free(&obstacles_.polys[--obstacles_.npolys]);
    const jval *exclusions = jget(problem, "exclusions_m");
    for (size_t i = 0; exclusions != NULL && exclusions->t == J_ARR && i < exclusions->n; i++) {
        if (!add_geometry(&obstacles_, jget(&exclusions->items[i], "geometry"), 0)) {
            snprintf(why, sizeof why, "problem.exclusions_m[%lu].geometry: not a GeoJSON geometry",
                     (unsigned long)i);
            status = error_out(out, "invalid_problem", why);
            goto done;
        }
    }
    const jval *ents = jget(problem, "entrances_m");
    if (ents == NULL || ents->t != J_ARR || ents->n == 0 ||
        (entrances = (double *)malloc(2 * ents->n * sizeof(double))) == NULL) {
        status = error_out(out, "invalid_problem", "problem.entrances_m: needs an entrance");
        goto done;
    }
    for (; n_entrances < ents->n; n_entrances++) {
        const jval *e = &ents->items[n_entrances];
        if (e->t != J_ARR || e->n < 2 || !jnum(&e->items[0], &entrances[2 * n_entrances]) ||
            !jnum(&e->items[1], &entrances[2 * n_entrances + 1])) {
            status = error_out(out, "invalid_problem", "problem.entrances_m: not [x, y] pairs");
            goto done;
        }
    }
    road_settings road = read_road_settings(jget(problem, "roads"));
    double cell = cell_size(&boundary);
    if (jnum(jget(req, "time_limit_ms"), &limit_ms)) {
        clock_gettime(CLOCK_MONOTONIC, &c.deadline);
        double end = (double)c.deadline.tv_sec + c.deadline.tv_nsec / 1e9 + limit_ms / 1000.0;
        c.deadline.tv_sec = (time_t)end;
        c.deadline.tv_nsec = (long)((end - floor(end)) * 1e9);
        c.has_deadline = 1;
    }

    items = (item *)calloc(assets->n ? assets->n : 1, sizeof(item));
    if (items == NULL) {
        status = error_out(out, "failed", "out of memory");
        goto done;
    }
    for (size_t i = 0; i < assets->n; i++) {
        const jval *a = &assets->items[i];
        const jval *id = jget(a, "asset_id"), *name = jget(a, "name"), *type = jget(a, "asset_type");
        if (id == NULL || id->t != J_STR || name == NULL || name->t != J_STR || type == NULL ||
            type->t != J_STR || !jnum(jget(a, "width_m"), &items[i].w) ||
            !jnum(jget(a, "length_m"), &items[i].l) || !(items[i].w > 0) || !(items[i].l > 0)) {
            snprintf(why, sizeof why, "problem.assets[%lu]: needs asset_id, name, asset_type "
                                      "and positive width_m, length_m", (unsigned long)i);
            status = error_out(out, "invalid_problem", why);
            goto done;
        }
        items[i].id = id->str;
        items[i].name = name->str;
        items[i].type = type->str;
        items[i].order = i;
    }
    if (largest_first) qsort(items, assets->n, sizeof(item), compare_items);

    report(&c, 0.0, 0.0, "scanning the grid");
    if (!place(&buildable, items, assets->n, spacing, lane_width(&road, cell),
               coverage * boundary_area, step, &c)) {
        status = error_out(out, "cancelled", NULL);
        goto done;
    }

    /* Roads to what was placed; what no road reaches is left out. */
    sbuf roads = {0};
    sb_str(&roads, "");
    if (!raster_build(&grid, &boundary, &obstacles_, items, assets->n, &road, cell, &c)) {
        free(roads.p);
        status = cancelled(&c) ? error_out(out, "cancelled", NULL)
                               : error_out(out, "failed", "out of memory for the road raster");
        goto done;
    }
    raster_search(&grid, entrances, n_entrances);
    if (!route(&grid, items, assets->n, &road, entrances, n_entrances, &roads)) {
        free(roads.p);
        status = error_out(out, "failed", "out of memory while routing roads");
        goto done;
    }
    size_t served = 0;
    for (size_t i = 0; i < assets->n; i++) served += items[i].placed && items[i].served;
    {
        char message[96];
        snprintf(message, sizeof message, "roads routed: %lu asset(s) served",
                 (unsigned long)served);
        report(&c, 1.0, (double)served, message);
    }

    /* Output in program order. */
    sbuf b = {0};
    sb_str(&b, "{\"layouts\":[{\"assets\":[");
    int first = 1;
    for (size_t k = 0; k < assets->n; k++) {
        for (size_t i = 0; i < assets->n; i++) {
            const item *it = &items[i];
            if (it->order != k || !it->placed || !it->served) continue;
            if (!first) sb_str(&b, ",");
            first = 0;
            sb_str(&b, "{\"asset_id\":");
            sb_json_string(&b, it->id);
            sb_str(&b, ",\"name\":");
            sb_json_string(&b, it->name);
            sb_str(&b, ",\"asset_type\":");
            sb_json_string(&b, it->type);
            sb_str(&b, ",\"center\":[");
            sb_number(&b, it->x + it->w / 2.0);
            sb_str(&b, ",");
            sb_number(&b, it->y + it->l / 2.0);
            sb_str(&b, "],\"width_m\":");
            sb_number(&b, it->w);
            sb_str(&b, ",\"length_m\":");
            sb_number(&b, it->l);
            sb_str(&b, ",\"rotation_deg\":0}");
        }
    }
    sb_str(&b, "],\"roads\":[");
    sb_str(&b, roads.p);
    free(roads.p);
    sb_str(&b, "]}]}");
    if (b.failed) {
        free(b.p);
        status = error_out(out, "failed", "out of memory while writing the result");
        goto done;
    }
    *out = sb_into_buffer(&b);

done:
    free(items);
    free(entrances);
    raster_free(&grid);
    obstacles_free(&obstacles_);
    area_free(&boundary);
    area_free(&buildable);
    jfree(&doc);
    return status;
}

static void release(EntmootBuffer buffer) { free(buffer.ptr); }

static const EntmootStrategyV1 TABLE = {
    ENTMOOT_ABI_VERSION, (uint32_t)sizeof(EntmootStrategyV1), manifest, run, release,
};

const EntmootStrategyV1 *entmoot_strategy_entry_v1(void) { return &TABLE; }

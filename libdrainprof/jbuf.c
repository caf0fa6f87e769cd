#include "jbuf.h"

#include <stdio.h>
#include <string.h>

void jb_init(struct jbuf *j, char *buf, size_t cap)
{
    *j = (struct jbuf){buf, cap, 0, 0, 0};
}

static void put(struct jbuf *j, const char *s, size_t n)
{
    if (j->len + n + 2 > j->cap) {
        j->overflow = 1;
        return;
    }
    memcpy(j->buf + j->len, s, n);
    j->len += n;
}

static void puts_(struct jbuf *j, const char *s)
{
    put(j, s, strlen(s));
}

static void escaped(struct jbuf *j, const char *s, size_t n)
{
    put(j, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            put(j, esc, 2);
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            put(j, esc, 6);
        } else {
            put(j, (const char *)&s[i], 1);
        }
    }
    put(j, "\"", 1);
}

static void key(struct jbuf *j, const char *k)
{
    if (j->need_comma)
        put(j, ",", 1);
    j->need_comma = 1;
    if (k) {
        escaped(j, k, strlen(k));
        put(j, ":", 1);
    }
}

void jb_obj(struct jbuf *j, const char *k)
{
    key(j, k);
    put(j, "{", 1);
    j->need_comma = 0;
}

void jb_end_obj(struct jbuf *j)
{
    put(j, "}", 1);
    j->need_comma = 1;
}

void jb_arr(struct jbuf *j, const char *k)
{
    key(j, k);
    put(j, "[", 1);
    j->need_comma = 0;
}

void jb_end_arr(struct jbuf *j)
{
    put(j, "]", 1);
    j->need_comma = 1;
}

void jb_u64(struct jbuf *j, const char *k, uint64_t v)
{
    char b[24];
    key(j, k);
    put(j, b, (size_t)snprintf(b, sizeof b, "%llu", (unsigned long long)v));
}

void jb_i64(struct jbuf *j, const char *k, int64_t v)
{
    char b[24];
    key(j, k);
    put(j, b, (size_t)snprintf(b, sizeof b, "%lld", (long long)v));
}

void jb_dbl(struct jbuf *j, const char *k, double v, int decimals)
{
    char b[48];
    key(j, k);
    if (v != v || v > 1e300 || v < -1e300) {
        puts_(j, "null");
        return;
    }
    int n = snprintf(b, sizeof b, "%.*f", decimals, v);
    put(j, b, n > 0 && (size_t)n < sizeof b ? (size_t)n : 0);
}

void jb_strn(struct jbuf *j, const char *k, const char *s, size_t n)
{
    key(j, k);
    escaped(j, s, n);
}

void jb_str(struct jbuf *j, const char *k, const char *s)
{
    if (!s) {
        jb_null(j, k);
        return;
    }
    jb_strn(j, k, s, strlen(s));
}

void jb_hex(struct jbuf *j, const char *k, uintptr_t v)
{
    char b[24];
    key(j, k);
    put(j, b, (size_t)snprintf(b, sizeof b, "\"0x%lx\"", (unsigned long)v));
}

void jb_bool(struct jbuf *j, const char *k, int v)
{
    key(j, k);
    puts_(j, v ? "true" : "false");
}

void jb_null(struct jbuf *j, const char *k)
{
    key(j, k);
    puts_(j, "null");
}

void jb_raw(struct jbuf *j, const char *k, const char *json)
{
    key(j, k);
    puts_(j, json);
}

size_t jb_line(struct jbuf *j)
{
    if (j->overflow)
        return 0;
    j->buf[j->len++] = '\n';
    return j->len;
}

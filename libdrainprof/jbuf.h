/* JSON text formatted into a caller's fixed buffer: no allocation, so it is
 * usable from the sampler and from exit paths. A line that does not fit is
 * marked truncated and dropped by the writer rather than written cut. */
#ifndef DP_JBUF_H
#define DP_JBUF_H
#include <stddef.h>
#include <stdint.h>

struct jbuf {
    char *buf;
    size_t cap, len;
    int overflow;
    int need_comma;
};

void jb_init(struct jbuf *j, char *buf, size_t cap);
void jb_obj(struct jbuf *j, const char *key);   /* "key":{  (key NULL in arrays/top) */
void jb_end_obj(struct jbuf *j);
void jb_arr(struct jbuf *j, const char *key);
void jb_end_arr(struct jbuf *j);
void jb_u64(struct jbuf *j, const char *key, uint64_t v);
void jb_i64(struct jbuf *j, const char *key, int64_t v);
void jb_dbl(struct jbuf *j, const char *key, double v, int decimals);
void jb_str(struct jbuf *j, const char *key, const char *s);
void jb_strn(struct jbuf *j, const char *key, const char *s, size_t n);
void jb_hex(struct jbuf *j, const char *key, uintptr_t v);
void jb_bool(struct jbuf *j, const char *key, int v);
void jb_null(struct jbuf *j, const char *key);
void jb_raw(struct jbuf *j, const char *key, const char *json); /* pre-formatted value */
/* Ends the line with '\n'; returns its length, or 0 if it overflowed. */
size_t jb_line(struct jbuf *j);
#endif

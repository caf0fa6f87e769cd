#include "unwind.h"
#include "dp.h"
#include "glibc.h"
#include "mem.h"

#include <dlfcn.h>
#include <string.h>

/* ---- the rule cache: open addressing on the return address ----
 * An entry is claimed by a CAS on ip, filled, then published by its flags;
 * a reader that finds it unfilled computes the rule itself. */
#define RULES (1u << 16)
#define PROBES 16
enum { R_FILLED = 1, R_RBP = 2, R_END = 4, R_BAD = 8 };
struct rule {
    uintptr_t ip;
    int32_t cfa_off; /* CFA = (RBP or RSP) + cfa_off */
    int16_t bp_off;  /* caller's RBP saved at CFA + bp_off (0: unchanged) */
    uint16_t flags;
};
static struct rule *rules;
static int (*find_object)(void *, struct dl_find_object *);

void dp_unwind_init(void)
{
    if (rules)
        return;
    find_object = (int (*)(void *, struct dl_find_object *))dlsym(RTLD_DEFAULT, "_dl_find_object");
    if (find_object)
        rules = dp_mem_map(RULES * sizeof *rules);
}

void dp_unwind_flush(void)
{
    if (!rules)
        return;
    for (unsigned i = 0; i < RULES; i++) {
        __atomic_store_n(&rules[i].flags, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&rules[i].ip, 0, __ATOMIC_RELEASE);
    }
}

/* ---- DWARF call frame information (.eh_frame), the subset GCC emits ---- */
static uint64_t uleb(const uint8_t **p, const uint8_t *end)
{
    uint64_t v = 0;
    for (int s = 0; *p < end; s += 7) {
        uint8_t b = *(*p)++;
        if (s < 64)
            v |= (uint64_t)(b & 0x7f) << s;
        if (!(b & 0x80))
            break;
    }
    return v;
}

static int64_t sleb(const uint8_t **p, const uint8_t *end)
{
    uint64_t v = 0;
    int s = 0;
    uint8_t b = 0;
    while (*p < end) {
        b = *(*p)++;
        if (s < 64)
            v |= (uint64_t)(b & 0x7f) << s;
        s += 7;
        if (!(b & 0x80))
            break;
    }
    if (s < 64 && (b & 0x40))
        v |= ~(uint64_t)0 << s;
    return (int64_t)v;
}

/* Reads a pointer-encoded value. raw: only skip it (a personality
 * routine's address, which may be indirect). */
static int enc_read(const uint8_t **p, const uint8_t *end, uint8_t enc, uintptr_t datarel, int raw, uintptr_t *out)
{
    const uint8_t *at = *p;
    uint64_t v;
    size_t n;
    switch (enc & 0x0f) {
    case 0x00: n = 8; break;
    case 0x02: case 0x0a: n = 2; break;
    case 0x03: case 0x0b: n = 4; break;
    case 0x04: case 0x0c: n = 8; break;
    case 0x01: v = uleb(p, end); goto apply;
    case 0x09: v = (uint64_t)sleb(p, end); goto apply;
    default: return -1;
    }
    if ((size_t)(end - at) < n)
        return -1;
    if (n == 2) {
        uint16_t x;
        memcpy(&x, at, 2);
        v = (enc & 0x08) ? (uint64_t)(int64_t)(int16_t)x : x;
    } else if (n == 4) {
        uint32_t x;
        memcpy(&x, at, 4);
        v = (enc & 0x08) ? (uint64_t)(int64_t)(int32_t)x : x;
    } else {
        memcpy(&v, at, 8);
    }
    *p = at + n;
apply:
    if (raw)
        return 0;
    switch (enc & 0x70) {
    case 0x00: break;
    case 0x10: v += (uintptr_t)at; break;
    case 0x30: v += datarel; break;
    default: return -1;
    }
    if (enc & 0x80)
        return -1;
    *out = (uintptr_t)v;
    return 0;
}

struct cie {
    uint64_t code_align;
    int64_t data_align;
    uint8_t fde_enc;
    int aug_z, signal;
    const uint8_t *ins, *end;
};

static int parse_cie(const uint8_t *c, struct cie *out)
{
    uint32_t len, id;
    memcpy(&len, c, 4);
    if (len == 0 || len == 0xffffffffu)
        return -1;
    const uint8_t *p = c + 4, *end = c + 4 + len;
    memcpy(&id, p, 4);
    p += 4;
    uint8_t version = *p++;
    if (id != 0 || (version != 1 && version != 3))
        return -1;
    const char *aug = (const char *)p;
    size_t alen = strnlen(aug, (size_t)(end - p));
    if (p + alen >= end)
        return -1;
    p += alen + 1;
    out->code_align = uleb(&p, end);
    out->data_align = sleb(&p, end);
    uint64_t ra = version == 1 ? *p++ : uleb(&p, end);
    if (ra != 16)
        return -1;
    out->fde_enc = 0;
    out->aug_z = aug[0] == 'z';
    out->signal = 0;
    if (out->aug_z) {
        uint64_t n = uleb(&p, end);
        const uint8_t *aend = p + n;
        if (aend > end)
            return -1;
        for (const char *a = aug + 1; *a; a++) {
            uintptr_t skip;
            if (*a == 'R')
                out->fde_enc = *p++;
            else if (*a == 'L')
                p++;
            else if (*a == 'P') {
                uint8_t e = *p++;
                if (enc_read(&p, aend, e, 0, 1, &skip))
                    return -1;
            } else if (*a == 'S')
                out->signal = 1;
            else
                return -1;
        }
        p = aend;
    } else if (aug[0]) {
        return -1;
    }
    out->ins = p;
    out->end = end;
    return 0;
}

/* A register's rule: unchanged, saved at CFA + off, undefined, or one this
 * cache cannot follow. */
enum { SAME, OFFSET, UNDEF, OTHER };
struct reg_rule {
    int how;
    int64_t off;
};
struct row {
    uint64_t cfa_reg;
    int64_t cfa_off;
    int cfa_other;
    struct reg_rule bp, ra; /* DWARF registers 6 and 16 */
};

static void set_reg(struct row *r, uint64_t reg, int how, int64_t off)
{
    struct reg_rule *x = reg == 6 ? &r->bp : reg == 16 ? &r->ra : NULL;
    if (x) {
        x->how = how;
        x->off = off;
    }
}

static void restore_reg(struct row *r, const struct row *init, uint64_t reg)
{
    if (reg == 6)
        r->bp = init->bp;
    else if (reg == 16)
        r->ra = init->ra;
}

/* Runs CFA instructions from loc until the row for ip is known. */
static int run(const uint8_t *p, const uint8_t *end, const struct cie *c, uintptr_t loc, uintptr_t ip,
               struct row *r, const struct row *init)
{
    struct row saved[4];
    int depth = 0;
    while (p < end) {
        uint8_t op = *p++;
        uint64_t reg, n;
        uintptr_t v;
        switch (op >> 6) {
        case 1:
            loc += (op & 0x3f) * c->code_align;
            if (loc > ip)
                return 0;
            continue;
        case 2:
            set_reg(r, op & 0x3f, OFFSET, (int64_t)uleb(&p, end) * c->data_align);
            continue;
        case 3:
            restore_reg(r, init, op & 0x3f);
            continue;
        }
        switch (op) {
        case 0x00:
            break;
        case 0x01:
            if (enc_read(&p, end, c->fde_enc, 0, 0, &v))
                return -1;
            loc = v;
            if (loc > ip)
                return 0;
            break;
        case 0x02: case 0x03: case 0x04: {
            size_t k = op == 0x02 ? 1 : op == 0x03 ? 2 : 4;
            uint32_t d = 0;
            if ((size_t)(end - p) < k)
                return -1;
            memcpy(&d, p, k);
            p += k;
            loc += d * c->code_align;
            if (loc > ip)
                return 0;
            break;
        }
        case 0x05:
            reg = uleb(&p, end);
            set_reg(r, reg, OFFSET, (int64_t)uleb(&p, end) * c->data_align);
            break;
        case 0x06:
            restore_reg(r, init, uleb(&p, end));
            break;
        case 0x07:
            set_reg(r, uleb(&p, end), UNDEF, 0);
            break;
        case 0x08:
            set_reg(r, uleb(&p, end), SAME, 0);
            break;
        case 0x0a:
            if (depth == 4)
                return -1;
            saved[depth++] = *r;
            break;
        case 0x0b:
            if (!depth)
                return -1;
            *r = saved[--depth];
            break;
        case 0x0c:
            r->cfa_reg = uleb(&p, end);
            r->cfa_off = (int64_t)uleb(&p, end);
            r->cfa_other = 0;
            break;
        case 0x0d:
            r->cfa_reg = uleb(&p, end);
            break;
        case 0x0e:
            r->cfa_off = (int64_t)uleb(&p, end);
            break;
        case 0x0f:
            n = uleb(&p, end);
            p += n;
            r->cfa_other = 1;
            break;
        case 0x10: case 0x16:
            reg = uleb(&p, end);
            n = uleb(&p, end);
            p += n;
            set_reg(r, reg, OTHER, 0);
            break;
        case 0x11:
            reg = uleb(&p, end);
            set_reg(r, reg, OFFSET, sleb(&p, end) * c->data_align);
            break;
        case 0x12:
            r->cfa_reg = uleb(&p, end);
            r->cfa_off = sleb(&p, end) * c->data_align;
            r->cfa_other = 0;
            break;
        case 0x13:
            r->cfa_off = sleb(&p, end) * c->data_align;
            break;
        case 0x09: case 0x14: /* register, val_offset: the register is kept some other way */
            reg = uleb(&p, end);
            uleb(&p, end);
            set_reg(r, reg, OTHER, 0);
            break;
        case 0x15:
            reg = uleb(&p, end);
            sleb(&p, end);
            set_reg(r, reg, OTHER, 0);
            break;
        case 0x2e:
            uleb(&p, end);
            break;
        case 0x2f:
            reg = uleb(&p, end);
            set_reg(r, reg, OFFSET, -(int64_t)uleb(&p, end) * c->data_align);
            break;
        default:
            return -1;
        }
    }
    return 0;
}

/* The FDE covering ip, by the binary search table of .eh_frame_hdr. */
static const uint8_t *find_fde(uintptr_t ip)
{
    struct dl_find_object o;
    if (find_object((void *)ip, &o) != 0 || !o.dlfo_eh_frame)
        return NULL;
    const uint8_t *hdr = o.dlfo_eh_frame, *p = hdr + 4, *end = hdr + 4 + 16;
    uintptr_t frame, count;
    if (hdr[0] != 1 || hdr[3] != 0x3b || enc_read(&p, end, hdr[1], (uintptr_t)hdr, 0, &frame) ||
        enc_read(&p, end, hdr[2], (uintptr_t)hdr, 0, &count) || !count)
        return NULL;
    const int32_t *tab = (const int32_t *)p;
    size_t lo = 0, hi = count;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if ((uintptr_t)hdr + tab[2 * mid] <= ip)
            lo = mid;
        else
            hi = mid;
    }
    if ((uintptr_t)hdr + tab[2 * lo] > ip)
        return NULL;
    return hdr + tab[2 * lo + 1];
}

static int compute(uintptr_t ip, struct rule *out)
{
    const uint8_t *fde = find_fde(ip);
    if (!fde)
        return -1;
    uint32_t len, cie_off;
    memcpy(&len, fde, 4);
    if (len == 0 || len == 0xffffffffu)
        return -1;
    const uint8_t *end = fde + 4 + len, *p = fde + 8;
    memcpy(&cie_off, fde + 4, 4);
    struct cie c;
    if (parse_cie(fde + 4 - cie_off, &c) || c.signal)
        return -1;
    uintptr_t start, range;
    if (enc_read(&p, end, c.fde_enc, 0, 0, &start) || enc_read(&p, end, c.fde_enc & 0x0f, 0, 0, &range))
        return -1;
    if (ip < start || ip - start >= range)
        return -1;
    if (c.aug_z) {
        uint64_t n = uleb(&p, end);
        p += n;
    }
    struct row init = {.cfa_reg = 7, .cfa_off = 8, .cfa_other = 0, .bp = {SAME, 0}, .ra = {SAME, 0}};
    if (run(c.ins, c.end, &c, start, ip, &init, &init))
        return -1;
    struct row r = init;
    if (run(p, end, &c, start, ip, &r, &init))
        return -1;
    if (r.ra.how == UNDEF) {
        out->flags = R_END;
        return 0;
    }
    if (r.cfa_other || (r.cfa_reg != 7 && r.cfa_reg != 6) || r.ra.how != OFFSET || r.ra.off != -8 ||
        r.bp.how == OTHER || r.cfa_off < 8 || r.cfa_off > INT32_MAX)
        return -1;
    if (r.bp.how == OFFSET && (r.bp.off == 0 || r.bp.off < INT16_MIN || r.bp.off > INT16_MAX))
        return -1;
    out->cfa_off = (int32_t)r.cfa_off;
    out->bp_off = r.bp.how == OFFSET ? (int16_t)r.bp.off : 0;
    out->flags = r.cfa_reg == 6 ? R_RBP : 0;
    return 0;
}

static __attribute__((noinline)) int get_rule_slow(uintptr_t ip, struct rule *out);

static inline uint32_t home(uintptr_t ip)
{
    return (uint32_t)(((uint64_t)ip * 0x9e3779b97f4a7c15ull) >> 40);
}

/* The common case inline: the rule in its home slot. */
static inline int get_rule(uintptr_t ip, struct rule *out)
{
    struct rule *e = &rules[home(ip) & (RULES - 1)];
    uint16_t f = __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);
    if (DP_LIKELY((f & (R_FILLED | R_BAD)) == R_FILLED)) {
        out->cfa_off = e->cfa_off;
        out->bp_off = e->bp_off;
        out->flags = f;
        if (DP_LIKELY(__atomic_load_n(&e->ip, __ATOMIC_ACQUIRE) == ip))
            return 0;
    }
    return get_rule_slow(ip, out);
}

static int get_rule_slow(uintptr_t ip, struct rule *out)
{
    uint32_t h = home(ip);
    struct rule *free_slot = NULL;
    for (int i = 0; i < PROBES; i++) {
        struct rule *e = &rules[(h + (uint32_t)i) & (RULES - 1)];
        uintptr_t k = __atomic_load_n(&e->ip, __ATOMIC_ACQUIRE);
        if (k == ip) {
            uint16_t f = __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);
            struct rule r = {ip, e->cfa_off, e->bp_off, f};
            /* Still ours after the fields were read (a flush may reuse it). */
            if ((f & R_FILLED) && __atomic_load_n(&e->ip, __ATOMIC_ACQUIRE) == ip) {
                *out = r;
                return f & R_BAD ? -1 : 0;
            }
            break;
        }
        if (k == 0) {
            free_slot = e;
            break;
        }
    }
    struct rule r = {ip, 0, 0, 0};
    int rc = compute(ip, &r);
    r.flags = (uint16_t)((rc ? R_BAD : r.flags) | R_FILLED);
    uintptr_t zero = 0;
    if (free_slot && __atomic_compare_exchange_n(&free_slot->ip, &zero, ip, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
        free_slot->cfa_off = r.cfa_off;
        free_slot->bp_off = r.bp_off;
        __atomic_store_n(&free_slot->flags, r.flags, __ATOMIC_RELEASE);
    }
    *out = r;
    return rc ? -1 : 0;
}

/* ---- the walk, reading only memory known readable ----
 * Each thread keeps the page range above its stack pointer that a probe
 * (dp_safe_read, a system call) found readable, grown a page at a time and
 * started again when the stack pointer is outside it (a signal stack, a
 * coroutine's) or anything was unmapped since (dp_unwind_unmapped). Asking
 * for the thread's stack bounds instead would take glibc's thread lock
 * and allocate, which a hook cannot do (pthread_getattr_np). */
#define MAX_PROBES 256
static __thread uintptr_t ok_lo, ok_hi;
static __thread unsigned ok_gen;
static unsigned unmap_gen = 1;

void dp_unwind_unmapped(void)
{
    __atomic_fetch_add(&unmap_gen, 1, __ATOMIC_RELEASE);
}

static __attribute__((noinline)) int readable_slow(uintptr_t a, int *probes)
{
    if (a < ok_lo)
        return 0;
    uintptr_t need = (a + 8 + 4095) & ~(uintptr_t)4095;
    while (ok_hi < need) {
        char c;
        if (++*probes > MAX_PROBES || dp_safe_read(ok_hi, &c, 1) != 0)
            return 0;
        ok_hi += 4096;
    }
    return 1;
}

static inline int readable(uintptr_t a, int *probes)
{
    return DP_LIKELY(a >= ok_lo && a + 8 <= ok_hi) || readable_slow(a, probes);
}

__attribute__((noinline)) int dp_unwind(uintptr_t *out, int max)
{
    if (!rules)
        return -1;
    uintptr_t ip, sp, bp;
    __asm__ volatile("lea 0(%%rip), %0\n\tmov %%rsp, %1\n\tmov %%rbp, %2" : "=r"(ip), "=r"(sp), "=r"(bp));
    unsigned gen = __atomic_load_n(&unmap_gen, __ATOMIC_ACQUIRE);
    if (sp < ok_lo || sp >= ok_hi || gen != ok_gen) {
        ok_lo = ok_hi = sp & ~(uintptr_t)4095;
        ok_gen = gen;
    }
    int n = 0, probes = 0;
    for (int first = 1; n < max; first = 0) {
        struct rule r;
        /* A return address may be the first byte after a call that ends
         * its function: the call's own rule is one byte before it. */
        if (get_rule(first ? ip : ip - 1, &r) != 0)
            return -1;
        if (r.flags & R_END)
            return n;
        uintptr_t cfa = ((r.flags & R_RBP) ? bp : sp) + (uintptr_t)(intptr_t)r.cfa_off;
        if (cfa < sp + 8 || (cfa & 7) || !readable(cfa - 8, &probes))
            return -1;
        uintptr_t ra = *(const uintptr_t *)(cfa - 8);
        if (r.bp_off) {
            uintptr_t at = cfa + (uintptr_t)(intptr_t)r.bp_off;
            if (at < sp || !readable(at, &probes))
                return -1;
            bp = *(const uintptr_t *)at;
        }
        sp = cfa;
        ip = ra;
        if (!ra)
            return n;
        out[n++] = ra;
    }
    return n;
}

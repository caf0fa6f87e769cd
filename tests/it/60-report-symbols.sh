#!/bin/sh
# Offline symbolization: a PIE program built with -g writes a tiny report
# about itself (its own module line from dl_iterate_phdr, with its build-id;
# a stack of a return address and a known function's address + 1) and prints
# the truth it knows (__LINE__, function names, load bias). drainprof-report
# --json must name the function and file:line; with the module file missing,
# a different build-id, or --no-symbols, it must fall back to module+offset.
set -e
TOOL="$ROOT/$BUILD/drainprof-report"
cat > selfrep.c <<'C'
#define _GNU_SOURCE
#include <elf.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static uintptr_t base, end;
static char build_id[128];

/* The first object dl_iterate_phdr reports is the executable itself. */
static int self(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size, (void)data;
    base = info->dlpi_addr;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && base + ph->p_vaddr + ph->p_memsz > end)
            end = base + ph->p_vaddr + ph->p_memsz;
        if (ph->p_type != PT_NOTE)
            continue;
        const char *p = (const char *)(base + ph->p_vaddr), *q = p + ph->p_memsz;
        while (p + sizeof(ElfW(Nhdr)) <= q) {
            const ElfW(Nhdr) *n = (const void *)p;
            const char *name = p + sizeof *n;
            const unsigned char *desc = (const unsigned char *)name + ((n->n_namesz + 3) & ~3u);
            if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 && !memcmp(name, "GNU", 4))
                for (unsigned k = 0; k < n->n_descsz && k < 60; k++)
                    sprintf(build_id + 2 * k, "%02x", desc[k]);
            p = (const char *)desc + ((n->n_descsz + 3) & ~3u);
        }
    }
    return 1;
}

static void *ret;
static int call_line;

__attribute__((noinline)) static void record(void) { ret = __builtin_return_address(0); }

__attribute__((noinline)) void known_function(void) { asm volatile(""); }

__attribute__((noinline)) void leaf_site(void)
{
    record(); call_line = __LINE__;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    leaf_site();
    dl_iterate_phdr(self, NULL);
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return 1;
    exe[n] = 0;
    uintptr_t known = (uintptr_t)&known_function + 1;
    FILE *f = fopen(argv[1], "w");
    if (!f)
        return 1;
    fprintf(f, "{\"type\":\"header\",\"format\":\"drainprof/1\",\"pid\":%d,\"exe\":\"%s\",\"comm\":\"selfrep\",\"allocator\":\"glibc\"}\n",
            (int)getpid(), exe);
    fprintf(f, "{\"type\":\"module\",\"path\":\"%s\",\"base\":\"0x%lx\",\"end\":\"0x%lx\",\"build_id\":\"%s\"}\n", exe,
            (unsigned long)base, (unsigned long)end, build_id);
    fprintf(f, "{\"type\":\"stack\",\"id\":1,\"frames\":[\"%p\",\"0x%lx\"]}\n", ret, (unsigned long)known);
    fprintf(f, "{\"type\":\"snapshot\",\"seq\":0,\"t\":0.1,\"label\":\"exit\",\"heap\":{\"live_bytes\":1000,\"resident_bytes\":4096},"
               "\"brk\":{\"base\":\"0x1000\",\"top\":\"0x3000\",\"top_live_end\":\"0x2400\",\"pinned_bytes\":4096,"
               "\"pinned_resident_bytes\":4096,\"pinner\":{\"addr\":\"0x2000\",\"size\":1000,\"stack\":1}},"
               "\"top_sites\":[{\"stack\":1,\"live_bytes\":1000,\"live_chunks\":1,\"pinned_pages\":1,\"arena\":0}]}\n");
    fclose(f);
    printf("{\"function\":\"leaf_site\",\"file\":\"%s\",\"line\":%d,\"known\":\"known_function\","
           "\"exe\":\"%s\",\"ret_offset\":%lu,\"known_offset\":%lu,\"build_id\":\"%s\"}\n",
           __FILE__, call_line, exe, (unsigned long)((uintptr_t)ret - base), (unsigned long)(known - base), build_id);
    return 0;
}
C
${CC:-cc} -g -O0 -fPIE -pie -Wl,--build-id -o selfrep selfrep.c
./selfrep rep.jsonl > truth.json
"$TOOL" --json rep.jsonl > sym.json
sed 's|"path":"[^"]*"|"path":"/nonexistent/selfrep"|' rep.jsonl > missing.jsonl
python3 - <<'PY'
import json
lines = open("rep.jsonl").read().splitlines()
m = json.loads(lines[1])
m["build_id"] = ("0" if m["build_id"][0] != "0" else "1") + m["build_id"][1:]
lines[1] = json.dumps(m)
open("wrongid.jsonl", "w").write("\n".join(lines) + "\n")
PY
"$TOOL" --json missing.jsonl > missing.json
"$TOOL" --json wrongid.jsonl > wrongid.json
"$TOOL" --json --no-symbols rep.jsonl > nosym.json
"$TOOL" rep.jsonl > sym.txt
python3 - <<'PY'
import json, os
truth = json.load(open("truth.json"))
ok = True
def check(what, got, want):
    global ok
    good = got == want
    ok &= good
    print("%-44s got %-30r want %r %s" % (what, got, want, "ok" if good else "FAIL"))

assert truth["build_id"], "the test program found no build-id note"
s = json.load(open("sym.json"))
site = s["pinned_top"]["site"]
check("pinner frame 0 function", site[0]["function"], truth["function"])
check("pinner frame 0 file", os.path.basename(site[0]["file"] or ""), os.path.basename(truth["file"]))
check("pinner frame 0 line", site[0]["line"], truth["line"])
check("pinner frame 0 module", site[0]["module"], truth["exe"])
check("pinner frame 1 function", site[1]["function"], truth["known"])
check("top site frame 0 function", s["top_sites"][0]["frames"][0]["function"], truth["function"])
for name in ("missing.json", "wrongid.json", "nosym.json"):
    f = json.load(open(name))["pinned_top"]["site"]
    check(name + " frame 0 function", f[0]["function"], None)
    check(name + " frame 0 offset", int(f[0]["offset"], 16), truth["ret_offset"])
    check(name + " frame 1 offset", int(f[1]["offset"], 16), truth["known_offset"])
text = open("sym.txt").read()
want = "%s (%s:%d)" % (truth["function"], os.path.basename(truth["file"]), truth["line"])
check("text names the pinner site", want in text, True)
raise SystemExit(0 if ok else 1)
PY

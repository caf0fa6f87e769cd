/* Options: strict number parsing, and dp_options_parse over a fake
 * environment, with its warnings captured from stderr (fd 2) and counted. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "options.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---- a fake environment ---- */

static const char *fake_env[32][2];
static int fake_n;

static void env_clear(void)
{
    fake_n = 0;
}

static void env_set(const char *name, const char *value)
{
    fake_env[fake_n][0] = name;
    fake_env[fake_n][1] = value;
    fake_n++;
}

static const char *fake_lookup(const char *name)
{
    for (int i = 0; i < fake_n; i++)
        if (!strcmp(fake_env[i][0], name))
            return fake_env[i][1];
    return NULL;
}

/* ---- stderr capture ---- */

static char captured[8192];

/* Parses the fake environment into *o with fd 2 sent to a memory file;
 * returns the number of lines written there (kept in `captured`). */
static int parse_counting(struct dp_options *o)
{
    int mem = memfd_create("stderr", 0), saved = dup(2);
    assert_true(mem >= 0 && saved >= 0);
    dup2(mem, 2);
    memset(o, 0x5a, sizeof *o); /* every field must be set, from env or default */
    dp_options_parse(o, fake_lookup);
    dup2(saved, 2);
    close(saved);
    ssize_t n = pread(mem, captured, sizeof captured - 1, 0);
    close(mem);
    captured[n > 0 ? n : 0] = 0;
    int lines = 0;
    for (char *c = captured; *c; c++)
        lines += *c == '\n';
    return lines;
}

static void assert_defaults(const struct dp_options *o)
{
    assert_true(o->interval == 5.0);
    assert_string_equal(o->dir, "");
    assert_int_equal(o->stacks, DP_STACKS_SAMPLE);
    assert_int_equal(o->sample, 524288);
    assert_int_equal(o->trim, DP_TRIM_OFF);
    assert_int_equal(o->follow, 0);
    assert_int_equal(o->depth, 24);
    assert_int_equal(o->trim_max_rss, 4294967296ull);
    assert_int_equal(o->enabled, 1);
}

/* ---- number parsers ---- */

static void test_decimal_accepts(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        double v;
    } ok[] = {{"0", 0}, {"5", 5}, {"007", 7}, {"0.25", 0.25}, {".5", 0.5}, {"5.", 5}, {"86400", 86400},
              {"0.001", 0.001}, {"123456.75", 123456.75}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        double v = -1;
        assert_int_equal(dp_parse_decimal(ok[i].s, &v), 0);
        assert_true(fabs(v - ok[i].v) < 1e-9);
    }
}

static void test_decimal_rejects(void **state)
{
    (void)state;
    static const char *const bad[] = {"", ".", "-1", "+1", " 1", "1 ", "1e3", "0x10", "1..2", "1.2.3",
                                      "5s", "abc", "nan", "inf", "10000000000000000"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double v = 42;
        assert_int_equal(dp_parse_decimal(bad[i], &v), -1);
        assert_true(v == 42); /* untouched on error */
    }
}

static void test_size_accepts(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        uint64_t v;
    } ok[] = {{"0", 0},
              {"1", 1},
              {"524288", 524288},
              {"1k", 1024},
              {"1K", 1024},
              {"64k", 65536},
              {"3m", 3ull << 20},
              {"2G", 2ull << 30},
              {"1844674407370955161", 1844674407370955161ull},
              {"17179869183g", 17179869183ull << 30}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint64_t v = 7;
        assert_int_equal(dp_parse_size(ok[i].s, &v), 0);
        assert_int_equal(v, ok[i].v);
    }
}

static void test_size_rejects(void **state)
{
    (void)state;
    static const char *const bad[] = {"",    "k",      "-1",  " 1",   "1 ",   "1kb", "1.5k", "1t",
                                      "0x10", "12q", "18446744073709551616", "17179869184g",
                                      "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t v = 7;
        assert_int_equal(dp_parse_size(bad[i], &v), -1);
        assert_int_equal(v, 7);
    }
}

/* ---- dp_options_parse ---- */

static void test_parse_defaults_silent(void **state)
{
    (void)state;
    struct dp_options o;
    env_clear();
    env_set("DRAINPROF_UNKNOWN", "whatever"); /* not ours to judge */
    assert_int_equal(parse_counting(&o), 0);
    assert_defaults(&o);
}

static void test_parse_good_values(void **state)
{
    (void)state;
    struct dp_options o;
    env_clear();
    env_set("DRAINPROF_INTERVAL", "0.25");
    env_set("DRAINPROF_DIR", "/var/tmp/reports");
    env_set("DRAINPROF_STACKS", "all");
    env_set("DRAINPROF_SAMPLE", "64k");
    env_set("DRAINPROF_TRIM", "dry-run");
    env_set("DRAINPROF_TRIM_MAX_RSS", "1g");
    env_set("DRAINPROF_FOLLOW", "1");
    env_set("DRAINPROF_DEPTH", "64");
    env_set("DRAINPROF_ENABLE", "0");
    assert_int_equal(parse_counting(&o), 0);
    assert_true(o.interval == 0.25);
    assert_string_equal(o.dir, "/var/tmp/reports");
    assert_int_equal(o.stacks, DP_STACKS_ALL);
    assert_int_equal(o.sample, 65536);
    assert_int_equal(o.trim, DP_TRIM_DRY_RUN);
    assert_int_equal(o.trim_max_rss, 1ull << 30);
    assert_int_equal(o.follow, 1);
    assert_int_equal(o.depth, 64);
    assert_int_equal(o.enabled, 0);

    env_clear();
    env_set("DRAINPROF_INTERVAL", "0");
    env_set("DRAINPROF_STACKS", "off");
    env_set("DRAINPROF_TRIM", "on");
    env_set("DRAINPROF_DEPTH", "1");
    env_set("DRAINPROF_SAMPLE", "1");
    assert_int_equal(parse_counting(&o), 0);
    assert_true(o.interval == 0);
    assert_int_equal(o.stacks, DP_STACKS_OFF);
    assert_int_equal(o.trim, DP_TRIM_ON);
    assert_int_equal(o.depth, 1);
    assert_int_equal(o.sample, 1);
}

/* Every bad value: exactly one warning line, naming the variable and
 * quoting the value, and the default in its place. */
static void test_parse_each_bad_value(void **state)
{
    (void)state;
    static char long_dir[700];
    memset(long_dir, 'd', sizeof long_dir - 1);
    long_dir[0] = '/';
    static const char *const bad[][2] = {
        {"DRAINPROF_INTERVAL", "abc"},     {"DRAINPROF_INTERVAL", "-1"},     {"DRAINPROF_INTERVAL", "86401"},
        {"DRAINPROF_INTERVAL", "1e3"},     {"DRAINPROF_INTERVAL", ""},       {"DRAINPROF_INTERVAL", "5s"},
        {"DRAINPROF_DIR", long_dir},       {"DRAINPROF_STACKS", "ALL"},      {"DRAINPROF_STACKS", "none"},
        {"DRAINPROF_STACKS", ""},          {"DRAINPROF_SAMPLE", "0"},        {"DRAINPROF_SAMPLE", "-5"},
        {"DRAINPROF_SAMPLE", "12q"},       {"DRAINPROF_SAMPLE", "2000g"},    {"DRAINPROF_TRIM", "yes"},
        {"DRAINPROF_TRIM", "dry_run"},     {"DRAINPROF_TRIM_MAX_RSS", "x"},  {"DRAINPROF_FOLLOW", "2"},
        {"DRAINPROF_FOLLOW", "true"},      {"DRAINPROF_DEPTH", "0"},         {"DRAINPROF_DEPTH", "65"},
        {"DRAINPROF_DEPTH", "-3"},         {"DRAINPROF_DEPTH", "deep"},      {"DRAINPROF_ENABLE", "no"},
        {"DRAINPROF_ENABLE", "-1"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct dp_options o;
        env_clear();
        env_set(bad[i][0], bad[i][1]);
        int lines = parse_counting(&o);
        if (lines != 1 || !strstr(captured, bad[i][0]))
            fail_msg("%s=\"%.20s\": %d warning lines: %s", bad[i][0], bad[i][1], lines, captured);
        char quoted[40];
        snprintf(quoted, sizeof quoted, "=\"%.20s", bad[i][1]);
        assert_non_null(strstr(captured, quoted));
        assert_defaults(&o);
    }
}

/* Bad values next to good ones: one line per bad one, the good ones kept. */
static void test_parse_mixed(void **state)
{
    (void)state;
    struct dp_options o;
    env_clear();
    env_set("DRAINPROF_INTERVAL", "never");
    env_set("DRAINPROF_STACKS", "all");
    env_set("DRAINPROF_DEPTH", "100");
    env_set("DRAINPROF_TRIM", "on");
    assert_int_equal(parse_counting(&o), 2);
    assert_non_null(strstr(captured, "DRAINPROF_INTERVAL"));
    assert_non_null(strstr(captured, "DRAINPROF_DEPTH"));
    assert_true(o.interval == 5.0);
    assert_int_equal(o.depth, 24);
    assert_int_equal(o.stacks, DP_STACKS_ALL);
    assert_int_equal(o.trim, DP_TRIM_ON);
}

/* The header's options object says what was parsed. */
static void test_options_json(void **state)
{
    (void)state;
    struct dp_options o;
    char buf[2048];
    env_clear();
    env_set("DRAINPROF_INTERVAL", "0.5");
    env_set("DRAINPROF_DIR", "/tmp/a \"b\"");
    env_set("DRAINPROF_FOLLOW", "1");
    assert_int_equal(parse_counting(&o), 0);
    size_t n = dp_options_json(&o, buf, sizeof buf);
    assert_int_equal(n, strlen(buf));
    assert_non_null(strstr(buf, "\"interval\":0.500"));
    assert_non_null(strstr(buf, "\"dir\":\"/tmp/a \\\"b\\\"\""));
    assert_non_null(strstr(buf, "\"follow\":true"));
    assert_non_null(strstr(buf, "\"stacks\":\"sample\""));
    /* Cut short, it still ends inside the buffer. */
    n = dp_options_json(&o, buf, 16);
    assert_true(n <= 15 && buf[n] == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decimal_accepts),       cmocka_unit_test(test_decimal_rejects),
        cmocka_unit_test(test_size_accepts),          cmocka_unit_test(test_size_rejects),
        cmocka_unit_test(test_parse_defaults_silent), cmocka_unit_test(test_parse_good_values),
        cmocka_unit_test(test_parse_each_bad_value),  cmocka_unit_test(test_parse_mixed),
        cmocka_unit_test(test_options_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Run-time options, all from DRAINPROF_* environment variables, described by
 * one table (options.c) that the README mirrors. */
#ifndef DP_OPTIONS_H
#define DP_OPTIONS_H
#include <stddef.h>
#include <stdint.h>

enum dp_stacks { DP_STACKS_OFF, DP_STACKS_SAMPLE, DP_STACKS_ALL };
enum dp_trim { DP_TRIM_OFF, DP_TRIM_DRY_RUN, DP_TRIM_ON };

struct dp_options {
    double interval;       /* seconds between snapshots, 0 = exit/request only */
    char dir[512];         /* report directory ("" = working directory) */
    int stacks;            /* enum dp_stacks */
    uint64_t sample;       /* mean bytes between sampled allocations */
    int trim;              /* enum dp_trim */
    int follow;            /* profile exec'd children too */
    int depth;             /* frames kept per stack */
    uint64_t trim_max_rss; /* dry-run is skipped above this RSS */
    int enabled;           /* DRAINPROF_ENABLE=0 turns everything off */
};

extern struct dp_options dp_opt;

/* Reads the environment (getenv(name) style lookup) into `o`, warning once per
 * bad value with the variable's name and the value used instead. */
void dp_options_parse(struct dp_options *o, const char *(*lookup)(const char *name));

/* Writes the options as a JSON object into buf; returns its length. */
size_t dp_options_json(const struct dp_options *o, char *buf, size_t cap);

/* Number parsing used by the options: strict, whole string. */
int dp_parse_decimal(const char *s, double *out);
int dp_parse_size(const char *s, uint64_t *out);
#endif

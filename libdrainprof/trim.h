/* malloc_trim experiments at snapshot time (DRAINPROF_TRIM). */
#ifndef DP_TRIM_H
#define DP_TRIM_H
#include <stdint.h>

#include "options.h"

struct dp_trim_result {
    int ran;              /* released is a measurement */
    uint64_t released;    /* RSS drop, bytes */
    double duration_ms;
    const char *skipped;  /* why not, or NULL */
};

/* Runs the experiment of `mode` (enum dp_trim) for a process of `rss`
 * bytes; dry-run is skipped above max_rss. */
void dp_trim_run(int mode, uint64_t rss, uint64_t max_rss, struct dp_trim_result *r);
#endif

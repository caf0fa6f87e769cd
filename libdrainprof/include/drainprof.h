/* libdrainprof public API.
 *
 * Programs may call these functions whether or not libdrainprof is preloaded:
 * they are declared weak, so an unprofiled program sees a null address and
 * the DRAINPROF_SNAPSHOT() macro does nothing. */
#ifndef DRAINPROF_H
#define DRAINPROF_H

#ifdef __cplusplus
extern "C" {
#endif

/* Takes a snapshot now and writes it to the report, labelled `label`
 * (at most 63 bytes are kept; NULL means "request"). Safe from any thread;
 * not async-signal-safe. */
void drainprof_snapshot(const char *label) __attribute__((weak));

#define DRAINPROF_SNAPSHOT(label)                                              \
    do {                                                                       \
        if (drainprof_snapshot)                                                \
            drainprof_snapshot(label);                                         \
    } while (0)

#ifdef __cplusplus
}
#endif
#endif

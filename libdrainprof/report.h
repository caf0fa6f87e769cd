/* The report file: created once, appended line by line with one write(2)
 * per line. Knows nothing of what the lines say. */
#ifndef DP_REPORT_H
#define DP_REPORT_H
#include <stddef.h>

/* Is dir a writable directory? Returns 0, or -1 after one warning naming
 * DRAINPROF_DIR. */
int dp_report_check_dir(const char *dir);
/* Creates dir/drainprof.<comm>.<pid>[.N].jsonl (O_EXCL, O_NOFOLLOW, 0600).
 * Returns 0, or -1 after one warning naming DRAINPROF_DIR. */
int dp_report_open(const char *dir, const char *comm, int pid);
/* Writes whole lines (one or more) in one write(2); returns 0 or -1. */
int dp_report_line(const char *line, size_t len);
int dp_report_is_open(void);
/* In a fork child: forget the parent's file without touching it. */
void dp_report_forget(void);
#endif

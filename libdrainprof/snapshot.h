/* Snapshots: building report lines from the tracker and /proc. */
#ifndef DP_SNAPSHOT_H
#define DP_SNAPSHOT_H

void dp_snapshot_set_allocator(const char *name);
/* Writes the header line (once per report file). */
void dp_snapshot_header(void);
/* Takes one snapshot labelled `label` and writes it. */
void dp_snapshot_take(const char *label);
/* The exit snapshot and the end line; the report is closed after it. */
void dp_snapshot_exit(void);
void dp_snapshot_fork_prepare(void);
void dp_snapshot_fork_release(int child);
#endif

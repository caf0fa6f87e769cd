# `make bench`: overhead and snapshot-cost benchmarks (bench/run.py prints the
# tables and PASS/MISS per target; docs/performance.md explains them). Not part
# of `make check`; a missed target does not fail the build.
BENCH_DEPS := python3 sqlite3
ifneq ($(filter bench,$(MAKECMDGOALS)),)
DEPS += $(BENCH_DEPS)
endif
BENCH_PROGS := $(BUILD)/bench/measure $(BUILD)/bench/churn $(BUILD)/bench/prodcons $(BUILD)/bench/bigheap

.PHONY: bench
bench: all $(BENCH_PROGS) $(BUILD)/bench/libempty.so
	@python3 bench/run.py --build $(BUILD)

$(BENCH_PROGS): $(BUILD)/bench/%: bench/%.c libdrainprof/include/drainprof.h | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -O2 -pthread -o $@ $< -ldl -lm

$(BUILD)/bench/libempty.so: bench/empty_interposer.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -O2 -fPIC -shared -o $@ $< -ldl

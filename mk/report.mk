# drainprof-report, the offline summarizer (tools/drainprof-report.c and
# tools/report/*), and the libFuzzer target for its report parser.
REPORT_SRCS := tools/drainprof-report.c $(filter-out tools/report/fuzz_parse.c,$(wildcard tools/report/*.c))
REPORT_HDRS := $(wildcard tools/report/*.h)
REPORT_LIBS := -ljson-c -ldw -lelf -lm

$(BUILD)/drainprof-report: $(REPORT_SRCS) $(REPORT_HDRS) | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $(REPORT_SRCS) $(REPORT_LIBS)

# `make fuzz` runs the parser fuzzer for FUZZ_SECONDS over the seeds in
# tests/data/fuzz (read-only); what it discovers goes to $(BUILD)/fuzz-corpus.
FUZZ_CC      ?= clang-14
FUZZ_SECONDS ?= 60
FUZZ_SRCS    := tools/report/fuzz_parse.c $(filter-out tools/drainprof-report.c,$(REPORT_SRCS))

$(BUILD)/fuzz_parse: $(FUZZ_SRCS) $(REPORT_HDRS) | deps
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -g -O1 -std=gnu11 -Wall -Wextra -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-o $@ $(FUZZ_SRCS) $(REPORT_LIBS)

.PHONY: fuzz
fuzz: $(BUILD)/fuzz_parse
	@mkdir -p $(BUILD)/fuzz-corpus
	$(BUILD)/fuzz_parse -max_total_time=$(FUZZ_SECONDS) -max_len=16384 -timeout=10 \
		$(BUILD)/fuzz-corpus tests/data/fuzz

# drainprof-report, the offline summarizer (tools/drainprof-report.c and
# tools/report/*), and the libFuzzer target for its report parser.
REPORT_SRCS := tools/drainprof-report.c $(filter-out tools/report/fuzz_parse.c,$(wildcard tools/report/*.c))
REPORT_HDRS := $(wildcard tools/report/*.h)
REPORT_LIBS := -ljson-c -ldw -lelf -lm

$(BUILD)/drainprof-report: $(REPORT_SRCS) $(REPORT_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $(REPORT_SRCS) $(REPORT_LIBS)

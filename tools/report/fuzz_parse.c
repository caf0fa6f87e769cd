/* libFuzzer target for the report parser: any bytes must parse or fail
 * cleanly, and whatever parses must summarize and render without fault.
 * Built by `make fuzz` (mk/report.mk) with clang-14 -fsanitize=fuzzer,address. */
#include "report.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    struct dpr_report r;
    char err[512];
    dpr_quiet = true;
    if (dpr_parse_buffer("fuzz", (const char *)data, size, &r, err, sizeof err) == 0) {
        struct dpr_summary s;
        dpr_symbolize(&r, false);
        dpr_summarize(&r, &s);
        FILE *null = fopen("/dev/null", "w");
        if (null) {
            dpr_output_text(null, &s);
            dpr_output_prom(null, &s, 1);
            dpr_output_html(null, &s, 1);
            fclose(null);
        }
        json_object *o = dpr_output_json(&s);
        (void)json_object_to_json_string(o);
        json_object_put(o);
    }
    dpr_report_free(&r);
    return 0;
}

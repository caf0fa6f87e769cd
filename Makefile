# libdrainprof: plain Makefile. `make` builds the library and the tools;
# `make check` runs every test; `make demo` profiles a shipped example.
PREFIX   ?= /usr/local
CC       ?= cc
BUILD    := build
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -D_GNU_SOURCE -Ilibdrainprof/include -Ilibdrainprof
ifeq ($(SANITIZE),1)
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer
BUILD    := build-san
endif

# Packages the build, the tests and the demo need (installed when missing).
BUILD_DEPS := build-essential pkg-config libunwind-dev libcmocka-dev libdw-dev libelf-dev libjson-c-dev
TEST_DEPS  := python3 sqlite3 perl git curl redis-server redis-tools libjemalloc2 chromium
FUZZ_DEPS  := clang-14 libclang-rt-14-dev

LIB_SRCS := $(wildcard libdrainprof/*.c)
LIB_OBJS := $(LIB_SRCS:libdrainprof/%.c=$(BUILD)/obj/%.o)
LIB      := $(BUILD)/libdrainprof.so
LIB_CFLAGS := $(CFLAGS) -fPIC -fvisibility=hidden -ftls-model=initial-exec -pthread -flto=auto -ffat-lto-objects
LIB_LIBS := -ldl -pthread -lunwind -lm

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
PROG_SRCS := $(wildcard tests/progs/*.c)
PROG_BINS := $(PROG_SRCS:tests/progs/%.c=$(BUILD)/tests/progs/%)
EXAMPLE_SRCS := $(wildcard examples/*.c)
EXAMPLE_BINS := $(EXAMPLE_SRCS:examples/%.c=$(BUILD)/examples/%)

TOOLS := $(BUILD)/drainprof-report $(BUILD)/drainprof

# One install step, for the packages the goals need. Every compile and link
# rule waits for it (order-only): under `make -j` nothing compiles against a
# header still being unpacked, and apt-get never runs twice at once.
DEPS := $(BUILD_DEPS)
ifneq ($(filter check it,$(MAKECMDGOALS)),)
DEPS += $(TEST_DEPS)
endif
ifneq ($(filter fuzz,$(MAKECMDGOALS)),)
DEPS += $(FUZZ_DEPS)
endif

.PHONY: all deps check unit it demo install clean
all: $(LIB) $(TOOLS)

deps:
	@sh scripts/install-deps.sh $(DEPS)

$(BUILD)/obj/%.o: libdrainprof/%.c $(wildcard libdrainprof/*.h libdrainprof/include/*.h) | deps
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	$(CC) $(LIB_CFLAGS) -shared -o $@ $^ $(LIB_LIBS) -Wl,-z,nodelete

# The unit tests' archive leaves out the interposition layer: a test that
# calls malloc must get glibc's, not pull in our malloc and constructor.
$(BUILD)/libdrainprof.a: $(filter-out $(BUILD)/obj/shim.o $(BUILD)/obj/init.o,$(LIB_OBJS))
	rm -f $@
	gcc-ar rcs $@ $^

$(BUILD)/drainprof: tools/drainprof.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -DDP_LIBDIR='"$(PREFIX)/lib"' -o $@ $<

# Unit tests link the library's objects directly (hidden symbols are visible
# inside a static link), so each pure function is tested without preloading.
$(BUILD)/tests/test_%: tests/unit/test_%.c $(BUILD)/libdrainprof.a | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -pthread -o $@ $< $(BUILD)/libdrainprof.a -lcmocka -ldl -lunwind -lm

$(BUILD)/tests/progs/%: tests/progs/%.c libdrainprof/include/drainprof.h | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -O1 -pthread -o $@ $< -ldl -lm

$(BUILD)/examples/%: examples/%.c libdrainprof/include/drainprof.h | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -O1 -pthread -o $@ $< -ldl -lm

unit: $(UNIT_BINS)
	@sh tests/run-unit.sh $(UNIT_BINS)

it: all $(PROG_BINS) $(EXAMPLE_BINS)
	@BUILD=$(BUILD) sh tests/run-it.sh

check: all
	@$(MAKE) --no-print-directory unit it

demo: all $(EXAMPLE_BINS)
	@sh scripts/demo.sh $(BUILD)

install: all
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/include
	install -m 0755 $(LIB) $(DESTDIR)$(PREFIX)/lib/
	install -m 0755 $(TOOLS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 libdrainprof/include/drainprof.h $(DESTDIR)$(PREFIX)/include/

clean:
	rm -rf build build-san

# Fragments for the report tool, benchmarks and fuzzing live beside this file.
-include mk/*.mk

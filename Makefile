# OpenWit. `make` builds ./openwit; `make run` installs what is missing and
# starts it with the defaults; `make test` installs what is missing, builds
# and runs every test under t/ with prove; `make asan` runs them again on
# an AddressSanitizer + UndefinedBehaviorSanitizer build. V=1 shows commands.

PKGS     := libevent libevent_pthreads libevent_openssl libnghttp2 libprotobuf-c rdkafka sqlite3 \
            libzstd libcjson yaml-0.1 zlib libxxhash openssl
CC       ?= cc
OPT      ?= -O2 -g
WARN     := -Wall -Wextra -Werror -Wshadow -Wno-format-truncation
CFLAGS_ALL = -std=gnu11 -D_GNU_SOURCE $(OPT) $(WARN) -pthread -MMD -MP -Ibuild/gen -I. \
             $(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(CFLAGS) $(EXTRA_CFLAGS)
LDLIBS_ALL = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lsnappy -lm -pthread $(LDLIBS)
PREFIX   ?= /usr/local
SYSCONFDIR ?= /etc
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system

ifeq ($(V),1)
Q :=
else
Q := @
endif

PROTOS   := $(shell cd third_party && find . -name '*.proto' | sed 's|^\./||' | sort)
PB_C     := $(patsubst %.proto,build/gen/%.pb-c.c,$(PROTOS))
PB_H     := $(PB_C:.c=.h)
MOD_SRC  := $(sort $(wildcard modules/*/*.c))
UI_WWW   := $(sort $(wildcard modules/ui/www/*))
SRC      := $(MOD_SRC) $(PB_C) build/gen/ui_assets.c

# Each build flavour has its own tree, so `make asan` never disturbs the
# binaries `make` and `make test` use. B is the object directory.
B        ?= build/obj
OPENWIT  ?= openwit
FAULTS   ?= t/openwit-faults
UNITDIR  ?= t/unit
OBJ      := $(patsubst %.c,$(B)/%.o,$(SRC))
FOBJ     := $(patsubst %.c,$(B)/faults/%.o,$(SRC) openwit.c)
UNIT_SRC := $(sort $(wildcard t/unit/*.c))
UNIT_T   := $(patsubst t/unit/%.c,$(UNITDIR)/%.t,$(UNIT_SRC))
SAN      := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
            -fno-sanitize-recover=undefined

all: $(OPENWIT)

$(OPENWIT): $(OBJ) $(B)/openwit.o
	@echo "  LD      $@"
	$(Q)$(CC) $(OPT) -o $@ $^ $(LDLIBS_ALL)

# the test-only binary with the I/O fault hooks of modules/core/io.h
$(FAULTS): $(FOBJ)
	@echo "  LD      $@"
	$(Q)$(CC) $(OPT) -o $@ $^ $(LDLIBS_ALL)

build/gen/%.pb-c.c build/gen/%.pb-c.h: third_party/%.proto
	@mkdir -p build/gen
	@echo "  PROTOC  $<"
	$(Q)protoc-c -I third_party --c_out=build/gen $<

# Flags are part of the build: a change rebuilds everything.
$(B)/FLAGS: FORCE
	@mkdir -p $(dir $@)
	@echo '$(CFLAGS_ALL) $(LDLIBS_ALL)' | cmp -s - $@ || echo '$(CFLAGS_ALL) $(LDLIBS_ALL)' > $@

$(B)/faults/%.o: %.c $(B)/FLAGS | $(PB_H)
	@mkdir -p $(dir $@)
	@echo "  CC      $< (faults)"
	$(Q)$(CC) $(CFLAGS_ALL) -DOW_FAULT_INJECTION -c -o $@ $<

$(B)/%.o: %.c $(B)/FLAGS | $(PB_H)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS_ALL) -c -o $@ $<

# The web UI's files, gzipped into a C array (modules/ui/ui.h) by a tool
# built first, with zlib alone.
build/tools/embed: modules/ui/gen/embed.c
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) -std=gnu11 -O2 $(WARN) -o $@ $< -lz

build/gen/ui_assets.c: build/tools/embed build/gen/ui_www.list $(UI_WWW)
	@mkdir -p $(dir $@)
	$(Q)build/tools/embed $@ $(UI_WWW)

# the list of files is part of it: a file removed rebuilds it too
build/gen/ui_www.list: FORCE
	@mkdir -p $(dir $@)
	@echo '$(UI_WWW)' | cmp -s - $@ || echo '$(UI_WWW)' > $@

# generated protobuf-c code is not ours to make warning-free
$(B)/build/gen/%.o $(B)/faults/build/gen/%.o: WARN := -Wall -Werror

$(UNITDIR)/%.t: t/unit/%.c $(OBJ) t/lib/tap.h
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $< $(OBJ) $(LDLIBS_ALL)

# Fuzzing (t/fuzz/): each t/fuzz/NAME.c but replay.c is a target. `make
# test` runs every file of its corpus t/fuzz/corpus/NAME/ through it on the
# ASan+UBSan build (build/asan/fuzz/NAME.t, with replay.c's main); `make
# fuzz` builds it with clang's libFuzzer (build/fuzz/fuzzer/NAME) and runs
# each for FUZZ_SECONDS (t/fuzz/run.sh), FUZZ_TARGETS to choose.
FUZZ_TARGETS ?= $(patsubst t/fuzz/%.c,%,$(filter-out t/fuzz/replay.c,$(wildcard t/fuzz/*.c)))
FUZZ_SECONDS ?= 60
FUZZ_VARS := B=build/fuzz CC=clang EXTRA_CFLAGS=-Wno-unknown-warning-option \
             OPT="-O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
                  -fno-sanitize-recover=undefined"

$(B)/fuzz/%.t: t/fuzz/%.c t/fuzz/replay.c t/fuzz/fuzz.h $(OBJ)
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(CFLAGS_ALL) -DOW_FUZZ_TARGET='"$*"' -o $@ $< t/fuzz/replay.c $(OBJ) $(LDLIBS_ALL)

$(B)/fuzzer/%: t/fuzz/%.c t/fuzz/fuzz.h $(OBJ)
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(CFLAGS_ALL) -fsanitize=fuzzer -o $@ $< $(OBJ) $(LDLIBS_ALL)

fuzz-replay: $(patsubst %,$(B)/fuzz/%.t,$(FUZZ_TARGETS))
fuzz-build: $(patsubst %,$(B)/fuzzer/%,$(FUZZ_TARGETS))

fuzz:
	@sh t/lib/deps.sh fuzz
	$(Q)$(MAKE) --no-print-directory $(FUZZ_VARS) fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) sh t/fuzz/run.sh $(FUZZ_TARGETS)

deps:
	@sh t/lib/deps.sh test

run:
	@sh t/lib/deps.sh run
	$(Q)$(MAKE) --no-print-directory openwit
	./openwit

KMOCK    ?= t/kafka/mock
LOADGEN  ?= t/bench/loadgen

# librdkafka's mock cluster, for the Kafka tests
$(KMOCK): t/kafka/mock.c
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $< $(LDLIBS_ALL)

# the benchmark's load generator (make bench, and t/92corpus.t's data)
$(LOADGEN): t/bench/loadgen.c $(B)/FLAGS
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $< $(LDLIBS_ALL)

check-build: $(OPENWIT) $(FAULTS) $(UNIT_T) $(KMOCK) $(LOADGEN)

test: deps
	$(Q)$(MAKE) --no-print-directory check-deps check-build
	$(Q)$(MAKE) --no-print-directory $(ASAN_VARS) fuzz-replay
	prove -j2 $(UNIT_T) build/asan/fuzz/*.t t/*.t

# Modules are layers (README, Architecture): X uses Y when a file of
# modules/X/ has #include "../Y/...", and a lower module tells a higher one
# something only through a callback it was given. openwit.c, the top, may
# use every module. A cycle fails, printed as its chain of includes. The
# config fuzz target (t/fuzz/config.c) registers the same modules as
# openwit.c's table, or their keys would go unfuzzed: a difference fails.
check-deps:
	@echo "  DEPS    modules/*/*.[ch]"
	$(Q)loops=$$(grep -o '^#include "\.\./[a-z0-9_]*/' modules/*/*.[ch] | \
	  sed 's|^modules/\([^/]*\)/[^:]*:#include "\.\./\([^/]*\)/|\1 \2|' | sort -u | \
	  tsort 2>&1 >/dev/null); \
	if [ -n "$$loops" ]; then \
	  echo "check-deps: modules that include each other's headers in a cycle:" >&2; \
	  echo "$$loops" | awk '/contains a loop/ { if (l != "") print "  " l " -> " f; l = ""; next } \
	    { sub(/^tsort: /, ""); if (l == "") l = f = $$0; else l = l " -> " $$0 } \
	    END { if (l != "") print "  " l " -> " f }' >&2; \
	  exit 1; \
	fi
	$(Q)mods() { grep -o '&ow_[a-z0-9]*_module' $$1 | sort -u; }; \
	if [ "$$(mods openwit.c)" != "$$(mods t/fuzz/config.c)" ]; then \
	  echo "check-deps: t/fuzz/config.c must register the modules of openwit.c's table:" >&2; \
	  echo "  openwit.c:        $$(mods openwit.c | tr '\n' ' ')" >&2; \
	  echo "  t/fuzz/config.c:  $$(mods t/fuzz/config.c | tr '\n' ' ')" >&2; \
	  exit 1; \
	fi

# The whole suite again on an ASan+UBSan build under build/asan.
ASAN_VARS := B=build/asan OPENWIT=build/asan/openwit FAULTS=build/asan/openwit-faults \
             UNITDIR=build/asan/unit LOADGEN=build/asan/loadgen OPT="$(SAN)"
asan: deps
	$(Q)$(MAKE) --no-print-directory $(ASAN_VARS) check-build fuzz-replay
	OPENWIT_BIN=build/asan/openwit OPENWIT_FAULTS_BIN=build/asan/openwit-faults \
	OPENWIT_LOADGEN_BIN=build/asan/loadgen \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	prove -j2 build/asan/unit/*.t build/asan/fuzz/*.t t/*.t

# Load runs: not pass/fail, numbers to compare (see t/bench/ and t/README).
# `make bench` runs openwit beside ClickHouse and DuckDB on the same
# records and writes the table to build/bench/results.txt; BENCH_SCALE is
# smoke (under 2 minutes), default (under 10) or Nx (e.g. 10x).
BENCH_SCALE ?= default
bench: deps-bench
	$(Q)$(MAKE) --no-print-directory openwit $(LOADGEN)
	BENCH_SCALE=$(BENCH_SCALE) node t/bench/compare.mjs
	$(Q)$(MAKE) --no-print-directory bench-prom

# the metrics part: the same remote_write batches to openwit, Prometheus
# and VictoriaMetrics, then the same dashboard PromQL of each (t/bench/prom.mjs);
# BENCH_PROM_SAMPLES: 500000, or 5000000 for the 5M run
BENCH_PROM_SAMPLES ?= 500000
bench-prom: deps-bench
	$(Q)$(MAKE) --no-print-directory openwit
	BENCH_PROM_SAMPLES=$(BENCH_PROM_SAMPLES) node t/bench/prom.mjs

# the token searches at a larger scale: make bench's run with 10M log
# records (BENCH_SEARCH_LOGS) and 50k spans and points, into
# build/bench-search/
BENCH_SEARCH_LOGS ?= 10000000
bench-search: deps-bench
	$(Q)$(MAKE) --no-print-directory openwit $(LOADGEN)
	BENCH_LOGS=$(BENCH_SEARCH_LOGS) BENCH_SPANS=50000 BENCH_POINTS=50000 BENCH_CORPUS_RUNS=0 \
	  BENCH_H2LOAD=0 BENCH_ACK_RUNS=1 BENCH_OUT=build/bench-search node t/bench/compare.mjs

# the earlier benches, each on its own: bytes on disk of two datasets
# before and after merging, and openwit sql / the query API beside DuckDB
# on 1M spans and 1M log records
bench-storage: deps
	$(Q)$(MAKE) --no-print-directory openwit
	node t/bench/storage.mjs

bench-sql: deps
	$(Q)$(MAKE) --no-print-directory openwit
	node t/bench/sql.mjs

deps-bench:
	@sh t/lib/deps.sh bench

# The binary, the manual, the systemd unit (its paths set to PREFIX and
# SYSCONFDIR) and, unless one is there, the configuration file.
install: $(OPENWIT)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	  $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSCONFDIR)/openwit
	install -m 755 $(OPENWIT) $(DESTDIR)$(PREFIX)/bin/openwit
	install -m 644 man/openwit.1 $(DESTDIR)$(PREFIX)/share/man/man1/openwit.1
	sed -e 's|/usr/local/bin/openwit|$(PREFIX)/bin/openwit|' \
	  -e 's|/etc/openwit/|$(SYSCONFDIR)/openwit/|' conf/openwit.service > $(DESTDIR)$(SYSTEMDUNITDIR)/openwit.service
	chmod 644 $(DESTDIR)$(SYSTEMDUNITDIR)/openwit.service
	test -e $(DESTDIR)$(SYSCONFDIR)/openwit/openwit.yaml || \
	  install -m 644 conf/openwit.yaml $(DESTDIR)$(SYSCONFDIR)/openwit/openwit.yaml

format:
	clang-format -i openwit.c modules/*/*.c modules/*/*.h modules/ui/gen/*.c t/unit/*.c t/lib/*.h t/kafka/*.c t/bench/*.c \
	  t/fuzz/*.c t/fuzz/*.h

clean:
	rm -rf build openwit t/openwit-faults t/unit/*.t t/kafka/mock t/bench/loadgen

FORCE:
.PHONY: all deps deps-bench run test check-deps check-build asan bench bench-prom bench-search \
        bench-storage bench-sql \
        fuzz fuzz-build fuzz-replay install format clean FORCE
.SECONDARY:

-include $(shell find build -name '*.d' 2>/dev/null)

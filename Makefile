# LTDRS - plain GNU make (STYLE rule 25).
#   make            build build/ltdrs
#   make run        install what is missing, build, init a data dir if needed, serve
#   make test       install what is missing, then every test (unit tests under ASan+UBSan)
#   make bench      benchmarks (optimised build, figures as ratios to a baseline)
#   make fuzz       libFuzzer targets (clang), FUZZ_SECONDS each
#   make lint       clang-format check, cppcheck, clang-tidy, banned functions
#   make clean
#   SANITIZE=1      build with ASan+UBSan (into build/san)

CC      ?= cc
PKGS    := libsodium libcrypto sqlite3 jansson libmicrohttpd libcurl
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wconversion -Wno-sign-conversion -Wformat=2 -Wvla -Wundef
BASEFLAGS := -std=c11 -D_GNU_SOURCE -g $(WARN) $(PKG_CFLAGS) -Isrc
LDLIBS  := $(PKG_LIBS) -lpthread -lm

ifeq ($(SANITIZE),1)
  O       := build/san
  CFLAGS  := $(BASEFLAGS) -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
             -fno-sanitize-recover=undefined
  LDFLAGS := -fsanitize=address,undefined
else
  O       := build
  CFLAGS  := $(BASEFLAGS) -O2
  LDFLAGS :=
endif

MAIN_SRC := src/main.c
LIB_SRC  := $(filter-out $(MAIN_SRC),$(wildcard src/*.c))
LIB_OBJ  := $(patsubst src/%.c,$(O)/obj/%.o,$(LIB_SRC))
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(patsubst tests/%.c,$(O)/tests/%,$(TEST_SRC))
FUZZ_SRC := $(wildcard fuzz/fuzz_*.c)
REPLAY_BIN := $(patsubst fuzz/fuzz_%.c,$(O)/fuzz/replay_%,$(FUZZ_SRC))
BENCH_SRC := $(wildcard bench/bench_*.c)
BENCH_BIN := $(patsubst bench/%.c,build/bench/%,$(BENCH_SRC)) build/bench/loadgen
HDRS     := $(wildcard src/*.h) tests/test.h

.PHONY: all run test unit bench fuzz lint clean deps deps-test replay jstest httptest
all: $(O)/ltdrs

$(O)/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(O)/libltdrs.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(O)/ltdrs: $(O)/obj/main.o $(O)/libltdrs.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(O)/tests/%: tests/%.c $(O)/libltdrs.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(O)/libltdrs.a $(LDLIBS)

$(O)/fuzz/replay_%: fuzz/fuzz_%.c fuzz/replay.c $(O)/libltdrs.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< fuzz/replay.c $(O)/libltdrs.a $(LDLIBS)

# ---- set-up: install what is missing (Debian packages, npm from the lockfile) ----
deps:
	@bash scripts/deps.sh build

deps-test:
	@bash scripts/deps.sh test

# ---- run ----
DATA   ?= data
LISTEN ?= 127.0.0.1:9984
run: deps
	@$(MAKE) --no-print-directory all
	@bash scripts/run.sh "$(DATA)" "$(LISTEN)"

# ---- tests ----
test: deps-test
	@$(MAKE) --no-print-directory SANITIZE=1 unit replay
	@$(MAKE) --no-print-directory all
	@bash scripts/test-e2e.sh

unit: $(TEST_BIN)
	@bash scripts/run-unit.sh $(TEST_BIN)

replay: $(REPLAY_BIN)
	@set -e; for b in $(REPLAY_BIN); do t=$${b##*/replay_}; \
	  echo "replay $$t: fuzz/corpus/$$t"; $$b fuzz/corpus/$$t; done

# ---- benchmarks: optimised for this machine ----
build/bench/%: bench/%.c build/libltdrs.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) -O2 -march=native -o $@ $< build/libltdrs.a $(LDLIBS)

bench: deps
	@$(MAKE) --no-print-directory all $(BENCH_BIN)
	@bash scripts/bench.sh

# ---- fuzzing with libFuzzer ----
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -Isrc $(PKG_CFLAGS) \
               -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
fuzz: deps
	@mkdir -p build/fuzz
	@set -e; for f in $(FUZZ_SRC); do t=$$(basename $$f .c); t=$${t#fuzz_}; \
	  clang $(FUZZ_CFLAGS) -o build/fuzz/fuzz_$$t $$f $(LIB_SRC) $(LDLIBS); \
	  mkdir -p build/fuzz/new_$$t; \
	  build/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -dict=fuzz/json.dict \
	    build/fuzz/new_$$t fuzz/corpus/$$t; done

# ---- lint ----
lint:
	@bash scripts/lint.sh

clean:
	rm -rf build

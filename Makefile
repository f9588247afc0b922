# Makefile: a thin wrapper over CMake (as neovim's is), so that a fresh clone
# needs only `make demo` or `make test`. Each target installs missing Debian
# packages first (scripts/install-deps.sh), then configures and builds.
BUILD_DIR ?= build
ASAN_DIR ?= build-asan
FUZZ_DIR ?= build-fuzz
BUILD_TYPE ?= RelWithDebInfo
CMAKE_FLAGS ?=
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps build test test-sanitize demo bench bench-rbf fuzz install clean

all: build

deps:
	@sh scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)
	cmake --build $(BUILD_DIR) -j $(JOBS)

# The whole suite: unit suites, CLI tests and the golden-file regression driver.
test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)

# The same suite built with AddressSanitizer and UndefinedBehaviorSanitizer.
test-sanitize: deps
	cmake -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=Debug -DCIRCA_SANITIZE=ON -DCIRCA_CUDA=OFF $(CMAKE_FLAGS)
	cmake --build $(ASAN_DIR) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  CIRCA_TEST_QUICK=1 ctest --test-dir $(ASAN_DIR) --output-on-failure -j $(JOBS)

# The main job: compress the bundled corpus, verify, compare with gzip/xz/zstd/brotli.
demo: build
	sh bench/compress --demo --circa $(BUILD_DIR)/cli/circa

# The full benchmark table (every level, median of 3 runs), then record-structured files
# (the circuit block of -9 against the context model, xz, zstd, brotli, gzip).
bench: build
	@sh scripts/install-deps.sh --bench
	sh bench/compress --circa $(BUILD_DIR)/cli/circa
	sh bench/records --circa $(BUILD_DIR)/cli/circa

# RBF image fields on the Kodak images (hours on 2 cores): 256x256 crop fits at the
# 72K budget, then the field codec against JPEG and WebP at 0.25/0.5/1 bpp with a plot.
bench-rbf: build
	@sh scripts/install-deps.sh --bench
	sh bench/rbf-kodak fit -c $(BUILD_DIR)/cli/circa
	sh bench/rbf-kodak rd -c $(BUILD_DIR)/cli/circa -p docs/rbf-rd.png

# libFuzzer targets (clang only); run e.g. build-fuzz/tests/fuzz_frame -max_total_time=60
fuzz: deps
	CC=clang cmake -S . -B $(FUZZ_DIR) -DCMAKE_BUILD_TYPE=Debug -DCIRCA_FUZZ=ON -DCIRCA_CUDA=OFF $(CMAKE_FLAGS)
	cmake --build $(FUZZ_DIR) -j $(JOBS)

install: build
	cmake --install $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) $(FUZZ_DIR)

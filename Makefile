# otp-fcgi. `make run` and `make test` work on a fresh Debian machine (they install what they need).

SWIFT ?= swift

.PHONY: all deps build release run test soak deb lint-deb clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product otp-fcgi

## Build, then start otp-fcgi behind nginx on https://127.0.0.1:8443 with the file SMS sink.
run: release
	@scripts/run-dev.sh

## otp-fcgi_<version>_amd64.deb: the binary with the Swift runtime linked in, units, nginx files, man page.
deb: deps
	$(SWIFT) build -c release --product otp-fcgi --static-swift-stdlib
	@scripts/build-deb.sh

## Every test: unit tests, then the built binary behind the real nginx (and the .deb installed),
## then the fuzz smoke (saved inputs replayed, each fuzz target for FUZZ_SMOKE_SECONDS). The store
## contract and the PostgreSQL stacks run on a throwaway cluster (scripts/with-postgres.sh: a temp
## folder, a unix socket, stopped and removed afterwards, also on failure).
test: deps deb
	$(SWIFT) build --build-tests
	scripts/with-postgres.sh env OTP_FCGI_BINARY=$(CURDIR)/.build/debug/otp-fcgi $(SWIFT) test --skip-build
	@$(MAKE) --no-print-directory fuzz-smoke

## The long variant of the overload test: 1,000 connections for 30 s.
soak: deps
	$(SWIFT) build --build-tests
	OTP_FCGI_BINARY=$(CURDIR)/.build/debug/otp-fcgi OTP_OVERLOAD_SECONDS=30 $(SWIFT) test --skip-build --filter Overload

## Benchmark (bounded, under 10 minutes): otp-fcgi behind nginx under wrk against two floors, callgrind
## instructions per request, a 1M-row database, peak RSS. Writes bench/results/; see bench/README.md.
.PHONY: bench
bench: deps
	$(SWIFT) build -c release --product otp-fcgi --scratch-path .build-bench --static-swift-stdlib
	python3 bench/run.py --binary $(CURDIR)/.build-bench/release/otp-fcgi

## Fuzzing (Fuzz/; README, "Fuzzing"): libFuzzer over request bodies, whole requests through the API
## handler on SQLite, and routing. Each target runs FUZZ_SECONDS; new inputs go to .fuzz-corpus/<target>/,
## a crash or broken invariant stops the run with the input in .fuzz-artifacts/<target>/ (fix it, then
## save the input under Fuzz/regressions/<target>/).
.PHONY: fuzz fuzz-build fuzz-smoke fuzz-replay
FUZZ_TARGETS := body request routing form
FUZZ_SECONDS ?= 120
FUZZ_SMOKE_SECONDS ?= 15
FUZZ_BINARY := .build/release/otp-fuzz

fuzz: fuzz-build
	@for target in $(FUZZ_TARGETS); do $(call run-fuzzer,$$target,.fuzz-corpus/$$target,$(FUZZ_SECONDS)) || exit 1; done

## The fuzzing variant of the otp-fuzz product: optimised, libFuzzer and AddressSanitizer. It shares the
## release scratch path with `make deb`: the flags reach only the Swift compiler, so swift-crypto's
## C and C++ (BoringSSL, most of a build) compile once (fresh clone, 2 cores: 210 s in a scratch path
## of its own, 100-130 s in the shared one).
## The price: the next release build recompiles the Swift modules.
fuzz-build: deps
	$(SWIFT) build -c release --product otp-fuzz -Xswiftc -DFUZZING -Xswiftc -sanitize=fuzzer,address

## Part of `make test`: every committed corpus and regression input through the normal debug build,
## then each target fuzzed for FUZZ_SMOKE_SECONDS from the committed corpus only.
fuzz-smoke: fuzz-replay fuzz-build
	@rm -rf .fuzz-corpus/smoke
	@for target in $(FUZZ_TARGETS); do $(call run-fuzzer,$$target,.fuzz-corpus/smoke/$$target,$(FUZZ_SMOKE_SECONDS)) || exit 1; done

fuzz-replay: deps
	$(SWIFT) build --product otp-fuzz
	@echo "replay: every file in Fuzz/corpus/ and Fuzz/regressions/"
	@.build/debug/otp-fuzz $(sort $(wildcard Fuzz/corpus/*/* Fuzz/regressions/*/*))

# $(1) target, $(2) the corpus folder new inputs go to, $(3) seconds. Prints libFuzzer's final
# figures; on a failure, the end of its log.
define run-fuzzer
mkdir -p $(2) .fuzz-artifacts/$(1) && echo "fuzz $(1): $(3) s" && \
if SWIFT_BACKTRACE=enable=no OTP_FUZZ_TARGET=$(1) $(FUZZ_BINARY) $(2) Fuzz/corpus/$(1) Fuzz/regressions/$(1) \
	-max_total_time=$(3) -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix=.fuzz-artifacts/$(1)/ \
	> .fuzz-artifacts/$(1)/last-run.log 2>&1; \
then grep -E '^#[0-9]+[[:space:]]+DONE|^stat::(number_of_executed_units|average_exec_per_sec|new_units_added)' .fuzz-artifacts/$(1)/last-run.log; \
else tail -n 40 .fuzz-artifacts/$(1)/last-run.log; echo "fuzz $(1): FAILED, see .fuzz-artifacts/$(1)/"; false; fi
endef

clean:
	rm -rf .build .build-bench .build-fuzz .state .venv .fuzz-corpus .fuzz-artifacts

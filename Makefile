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

## Every test: unit tests, then the built binary behind the real nginx (and the .deb installed).
test: deps deb
	$(SWIFT) build --build-tests
	OTP_FCGI_BINARY=$(CURDIR)/.build/debug/otp-fcgi $(SWIFT) test --skip-build

## The long variant of the overload test: 1,000 connections for 30 s.
soak: deps
	$(SWIFT) build --build-tests
	OTP_FCGI_BINARY=$(CURDIR)/.build/debug/otp-fcgi OTP_OVERLOAD_SECONDS=30 $(SWIFT) test --skip-build --filter Overload

## Benchmark (bounded, under 10 minutes): otp-fcgi behind nginx under wrk against two floors, callgrind
## instructions per request, a 1M-row database, peak RSS. Writes bench/results/; see bench/README.md.
.PHONY: bench
bench: deps
	$(SWIFT) build -c release --product otp-fcgi --scratch-path .build-bench
	python3 bench/run.py --binary $(CURDIR)/.build-bench/release/otp-fcgi

clean:
	rm -rf .build .state

# otp-fcgi. `make run` and `make test` work on a fresh Debian machine (they install what they need).

SWIFT ?= swift

.PHONY: all deps build release run test soak clean

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

## Every test: unit tests, then the built binary behind the real nginx.
test: deps
	$(SWIFT) build --build-tests
	OTP_FCGI_BINARY=$(CURDIR)/.build/debug/otp-fcgi $(SWIFT) test --skip-build

## The long variant of the overload test: 1,000 connections for 30 s.
soak: deps
	$(SWIFT) build --build-tests
	OTP_FCGI_BINARY=$(CURDIR)/.build/debug/otp-fcgi OTP_OVERLOAD_SECONDS=30 $(SWIFT) test --skip-build --filter Overload

clean:
	rm -rf .build .state

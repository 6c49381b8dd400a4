#ifndef OTP_CLIBFUZZER_SHIM_H
#define OTP_CLIBFUZZER_SHIM_H
#include <stddef.h>
#include <stdint.h>

/* libFuzzer's driver (compiler-rt, linked by -sanitize=fuzzer). SwiftPM gives every executable
   its own main, so the fuzzing build calls the driver from there instead of libFuzzer's main. */
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
#endif

/*
 * Fixed-window rate limiter in C (same semantics as the seed's Rust example).
 *
 * Build (freestanding):
 *   clang --target=wasm32 -nostdlib -O2 -I../../../sdk/c -Wl,--no-entry -o rate_limit.wasm rate_limit.c
 * Call:
 *   WASM.CALL rate_limit KEYS rate:user:1 ARGS 10 60   -> 1 (admitted) or 0 (limited)
 * Capabilities: read write.
 */
#include "ferrite.h"

FERRITE_ABI_SECTION("fn rate_limit sdk key:str limit:i64 window:i64 -> i64");

#define KEY_BYTES_MAX 512

FERRITE_EXPORT(rate_limit) void rate_limit(void) {
    char key[KEY_BYTES_MAX];
    int64_t limit, window, count = 0;

    if (ferrite_argc() != 3) {
        ferrite_error_str("ERR rate_limit expects 3 arguments: key limit window");
        return;
    }
    int64_t key_len = ferrite_arg_read(0, key, sizeof key);
    if (key_len > KEY_BYTES_MAX) {
        ferrite_error_str("ERR rate_limit key longer than 512 bytes");
        return;
    }
    if (!ferrite_arg_i64(1, &limit) || !ferrite_arg_i64(2, &window)) {
        ferrite_error_str("ERR limit and window must be integers");
        return;
    }

    char num[24];
    int64_t n = ferrite_get(key, (uint32_t)key_len);
    if (n >= 0 && n <= 20) {
        ferrite_result_read(num, sizeof num);
        if (!ferrite_parse_i64(num, (uint32_t)n, &count)) count = 0; /* INCR raises below */
    }
    if (count >= limit) {
        ferrite_return_int(0);
        return;
    }
    if (ferrite_incr(key, (uint32_t)key_len) == 1) ferrite_expire(key, (uint32_t)key_len, window);
    ferrite_return_int(1);
}

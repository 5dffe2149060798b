/*
 * Two exports in C, one per calling convention:
 *
 *   checksum      (SDK convention)  CRC-32 of the value at a key, nil if absent.
 *                 WASM.CALL checksum KEYS doc:1            -> (integer) 222957957
 *   checksum.add  (typed convention) i64 + i64, arguments parsed by the host.
 *                 WASM.CALL checksum.add ARGS 2 40         -> (integer) 42
 *
 * Build (freestanding):
 *   clang --target=wasm32 -nostdlib -O2 -I../../../sdk/c -Wl,--no-entry -o checksum.wasm checksum.c
 * Capabilities: read.
 */
#define FERRITE_DEFINE_ALLOC /* values of any size are copied into ferrite_alloc'd memory */
#include "ferrite.h"

FERRITE_ABI_SECTION("fn checksum sdk key:str -> i64", "fn add typed a:i64 b:i64 -> i64");

/* Reflected CRC-32 (IEEE 802.3, as zlib's crc32), table-driven: about five
 * wasm instructions per byte, so large values stay within the fuel limit. */
static uint32_t crc_table[256];

static uint32_t crc32(const unsigned char *p, uint32_t n) {
    if (crc_table[1] == 0) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int b = 0; b < 8; b++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
            crc_table[i] = c;
        }
    }
    uint32_t crc = 0xFFFFFFFFu;
    for (uint32_t i = 0; i < n; i++) crc = (crc >> 8) ^ crc_table[(crc ^ p[i]) & 0xFFu];
    return ~crc;
}

FERRITE_EXPORT(checksum) void checksum(void) {
    static char key[512];
    if (ferrite_argc() != 1) {
        ferrite_error_str("ERR checksum expects 1 argument: key");
        return;
    }
    int64_t key_len = ferrite_arg_read(0, key, sizeof key);
    if (key_len > (int64_t)sizeof key) {
        ferrite_error_str("ERR key longer than 512 bytes");
        return;
    }
    int64_t len = ferrite_get(key, (uint32_t)key_len);
    if (len < 0) {
        ferrite_return_nil();
        return;
    }
    unsigned char *buf = (unsigned char *)(uintptr_t)ferrite_alloc((int32_t)len);
    if (buf == 0) {
        ferrite_error_str("ERR out of memory");
        return;
    }
    ferrite_result_read(buf, (uint32_t)len);
    ferrite_return_int((int64_t)crc32(buf, (uint32_t)len));
}

FERRITE_EXPORT(add) int64_t add(int64_t a, int64_t b) { return a + b; }

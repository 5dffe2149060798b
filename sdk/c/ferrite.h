/*
 * ferrite.h — write Ferrite WebAssembly functions in C or C++ (guest ABI v1).
 *
 * Header only. Works freestanding (`clang --target=wasm32 -nostdlib
 * -Wl,--no-entry`) and with wasi-libc (`clang --target=wasm32-wasi`).
 * The full contract is docs/abi.md in the Ferrite repository; in short:
 *
 *   - host functions are imported from the wasm module "ferrite";
 *   - variable-size results (a GET, an argument) are left in a host-side
 *     result buffer: the host call returns their length (-1 = nil) and
 *     ferrite_result_read() copies them out;
 *   - host calls raise: a failing host call (permission denied, WRONGTYPE…)
 *     ends the whole call with that error and undoes its writes, so there are
 *     no error codes to check;
 *   - an export `void f(void)` is an SDK-convention function: it reads its
 *     arguments with ferrite_arg() and replies with ferrite_return*() /
 *     ferrite_error().
 *
 * Optional pieces, enabled by defining a macro before including this header
 * in exactly one translation unit:
 *   FERRITE_DEFINE_ALLOC  exports `ferrite_alloc(size) -> ptr`, needed by the
 *                         typed convention with string parameters and the raw
 *                         convention. Bump allocator over __heap_base when
 *                         freestanding, malloc() under wasi-libc. Memory is
 *                         never freed: every call runs on a fresh instance.
 *
 * Nothing here calls memcpy/memset/strlen from a libc, so freestanding
 * builds link without one.
 */
#ifndef FERRITE_H
#define FERRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FERRITE_ABI_VERSION 1

#define FERRITE_IMPORT(name) __attribute__((import_module("ferrite"), import_name(#name)))
/* Marks a function as a wasm export callable with WASM.CALL. */
#define FERRITE_EXPORT(name) __attribute__((export_name(#name)))

/*
 * FERRITE_ABI_SECTION("fn a sdk key:str -> i64", "fn b typed x:i64 -> i64");
 * emits the module's `ferrite.abi` custom section: the header line
 * `ferrite-abi 1` followed by one line per argument (up to 8; lines may not
 * contain `"` or `\`). Use it once per module, at file scope.
 *
 * clang 14 puts `__attribute__((section(".custom_section.x")))` data in a
 * data segment, not in a custom section, so this uses a top-level `asm`
 * `.section .custom_section.ferrite.abi` directive, which the wasm object
 * writer turns into the custom section `ferrite.abi`.
 */
#define FERRITE__LINES_N(_1, _2, _3, _4, _5, _6, _7, _8, N, ...) N
#define FERRITE__CAT_LINES(...) FERRITE__LINES_N(__VA_ARGS__, FERRITE__L8, FERRITE__L7, FERRITE__L6, FERRITE__L5, FERRITE__L4, FERRITE__L3, FERRITE__L2, FERRITE__L1)(__VA_ARGS__)
#define FERRITE__L1(a) a "\\n"
#define FERRITE__L2(a, ...) a "\\n" FERRITE__L1(__VA_ARGS__)
#define FERRITE__L3(a, ...) a "\\n" FERRITE__L2(__VA_ARGS__)
#define FERRITE__L4(a, ...) a "\\n" FERRITE__L3(__VA_ARGS__)
#define FERRITE__L5(a, ...) a "\\n" FERRITE__L4(__VA_ARGS__)
#define FERRITE__L6(a, ...) a "\\n" FERRITE__L5(__VA_ARGS__)
#define FERRITE__L7(a, ...) a "\\n" FERRITE__L6(__VA_ARGS__)
#define FERRITE__L8(a, ...) a "\\n" FERRITE__L7(__VA_ARGS__)
#define FERRITE_ABI_SECTION(...)                                   \
    __asm__(".section .custom_section.ferrite.abi,\"\",@\n"        \
            ".ascii \"ferrite-abi 1\\n" FERRITE__CAT_LINES(__VA_ARGS__) "\"\n" \
            ".text\n")

/* ---- Host functions (docs/abi.md §4). Declaring them costs nothing: only
 *      the ones a module calls become imports. ---- */

/* Arguments and results */
FERRITE_IMPORT(ferrite_argc) int32_t ferrite_argc(void);
FERRITE_IMPORT(ferrite_numkeys) int32_t ferrite_numkeys(void);
FERRITE_IMPORT(ferrite_arg) int64_t ferrite_arg(int32_t index);
FERRITE_IMPORT(ferrite_result_read) int32_t ferrite_result_read(void *dst, uint32_t dst_len);
FERRITE_IMPORT(ferrite_return) void ferrite_return(const void *ptr, uint32_t len);
FERRITE_IMPORT(ferrite_return_int) void ferrite_return_int(int64_t value);
FERRITE_IMPORT(ferrite_return_nil) void ferrite_return_nil(void);
FERRITE_IMPORT(ferrite_return_resp) void ferrite_return_resp(const void *ptr, uint32_t len);
FERRITE_IMPORT(ferrite_error) void ferrite_error(const void *ptr, uint32_t len);

/* Keys. ferrite_set takes a TTL in seconds (<= 0: no expiry). */
FERRITE_IMPORT(ferrite_get) int64_t ferrite_get(const void *key, uint32_t key_len);
FERRITE_IMPORT(ferrite_set) int32_t ferrite_set(const void *key, uint32_t key_len, const void *val, uint32_t val_len, int64_t ttl_secs);
FERRITE_IMPORT(ferrite_del) int32_t ferrite_del(const void *key, uint32_t key_len);
FERRITE_IMPORT(ferrite_exists) int32_t ferrite_exists(const void *key, uint32_t key_len);
FERRITE_IMPORT(ferrite_incr) int64_t ferrite_incr(const void *key, uint32_t key_len);
FERRITE_IMPORT(ferrite_incrby) int64_t ferrite_incrby(const void *key, uint32_t key_len, int64_t delta);
FERRITE_IMPORT(ferrite_hget) int64_t ferrite_hget(const void *key, uint32_t key_len, const void *field, uint32_t field_len);
FERRITE_IMPORT(ferrite_hset) int32_t ferrite_hset(const void *key, uint32_t key_len, const void *field, uint32_t field_len, const void *val, uint32_t val_len);
FERRITE_IMPORT(ferrite_expire) int32_t ferrite_expire(const void *key, uint32_t key_len, int64_t secs);
FERRITE_IMPORT(ferrite_ttl) int64_t ferrite_ttl(const void *key, uint32_t key_len);
FERRITE_IMPORT(ferrite_zadd) int32_t ferrite_zadd(const void *key, uint32_t key_len, double score, const void *member, uint32_t member_len);
FERRITE_IMPORT(ferrite_zcard) int64_t ferrite_zcard(const void *key, uint32_t key_len);
FERRITE_IMPORT(ferrite_zremrangebyscore) int64_t ferrite_zremrangebyscore(const void *key, uint32_t key_len, const void *min, uint32_t min_len, const void *max, uint32_t max_len);
FERRITE_IMPORT(ferrite_keys) int64_t ferrite_keys(const void *pattern, uint32_t pattern_len);
FERRITE_IMPORT(ferrite_call) int64_t ferrite_call(const void *argv, uint32_t argv_len);

/* Utilities */
FERRITE_IMPORT(ferrite_log) void ferrite_log(int32_t level, const void *msg, uint32_t msg_len);
FERRITE_IMPORT(ferrite_time_millis) int64_t ferrite_time_millis(void);
FERRITE_IMPORT(ferrite_now) int64_t ferrite_now(void);
FERRITE_IMPORT(ferrite_random_f64) double ferrite_random_f64(void);
FERRITE_IMPORT(ferrite_random_bytes) int32_t ferrite_random_bytes(void *buf, uint32_t len);
FERRITE_IMPORT(ferrite_http) int64_t ferrite_http(const void *req, uint32_t req_len);

enum ferrite_log_level {
    FERRITE_LOG_ERROR = 0,
    FERRITE_LOG_WARN = 1,
    FERRITE_LOG_INFO = 2,
    FERRITE_LOG_DEBUG = 3,
    FERRITE_LOG_TRACE = 4,
};

/* ---- Helpers ---- */

/* Length of a NUL-terminated string. */
static inline uint32_t ferrite_strlen(const char *s) {
    uint32_t n = 0;
    while (s[n] != '\0') n++;
    return n;
}

/* Replies with a NUL-terminated string as a bulk string. */
static inline void ferrite_return_str(const char *s) { ferrite_return(s, ferrite_strlen(s)); }

/* Replies with an error; `ERR ` is prefixed unless `s` starts with an upper-case code word. */
static inline void ferrite_error_str(const char *s) { ferrite_error(s, ferrite_strlen(s)); }

/* Logs a NUL-terminated string (needs capability `log`). */
static inline void ferrite_log_str(int32_t level, const char *s) { ferrite_log(level, s, ferrite_strlen(s)); }

/*
 * Copies argument `index` into buf (at most cap bytes). Returns the
 * argument's full length (which may exceed cap: the copy is then truncated),
 * or -1 if there is no such argument.
 */
static inline int64_t ferrite_arg_read(int32_t index, void *buf, uint32_t cap) {
    int64_t len = ferrite_arg(index);
    if (len < 0) return -1;
    ferrite_result_read(buf, cap);
    return len;
}

/*
 * Parses a decimal int64 (optional leading '-' or '+'), rejecting empty
 * input, other characters and overflow. Returns true on success.
 */
static inline bool ferrite_parse_i64(const char *s, uint32_t n, int64_t *out) {
    uint32_t i = 0;
    bool neg = false;
    uint64_t v = 0;
    const uint64_t limit_pos = (uint64_t)INT64_MAX, limit_neg = (uint64_t)INT64_MAX + 1u;
    if (n > 0 && (s[0] == '-' || s[0] == '+')) { neg = s[0] == '-'; i = 1; }
    if (i == n) return false;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > ((neg ? limit_neg : limit_pos) - d) / 10) return false;
        v = v * 10 + d;
    }
    *out = neg ? (int64_t)(0u - v) : (int64_t)v;
    return true;
}

/* Argument `index` as an int64; false if missing, longer than 20 bytes or not an integer. */
static inline bool ferrite_arg_i64(int32_t index, int64_t *out) {
    char buf[24];
    int64_t n = ferrite_arg_read(index, buf, sizeof buf);
    if (n < 0 || n > 20) return false;
    return ferrite_parse_i64(buf, (uint32_t)n, out);
}

/* Writes v in decimal to buf (at least 21 bytes, not NUL-terminated); returns the length. */
static inline uint32_t ferrite_format_i64(int64_t v, char *buf) {
    char tmp[21];
    uint32_t n = 0, len = 0;
    uint64_t u = v < 0 ? 0u - (uint64_t)v : (uint64_t)v;
    do { tmp[n++] = (char)('0' + u % 10); u /= 10; } while (u != 0);
    if (v < 0) buf[len++] = '-';
    while (n > 0) buf[len++] = tmp[--n];
    return len;
}

/* Copies `n` bytes; a loop so that freestanding builds need no memcpy. */
static inline void ferrite_copy(void *dst, const void *src, uint32_t n) {
    unsigned char *d = (unsigned char *)dst;
    const unsigned char *s = (const unsigned char *)src;
    for (uint32_t i = 0; i < n; i++) d[i] = s[i];
}

/*
 * Encodes `count` byte strings in the ABI's list encoding (u32 LE count, then
 * per item u32 LE length + bytes) into buf of `cap` bytes. Returns the
 * encoded length, or 0 if it does not fit.
 */
static inline uint32_t ferrite_encode_list(const char *const *items, const uint32_t *lens, uint32_t count, void *buf, uint32_t cap) {
    unsigned char *out = (unsigned char *)buf;
    uint64_t need = 4;
    for (uint32_t i = 0; i < count; i++) need += 4 + (uint64_t)lens[i];
    if (need > cap) return 0;
    uint32_t pos = 0;
#define FERRITE__PUT_U32(v) do { uint32_t x_ = (v); out[pos++] = (unsigned char)x_; out[pos++] = (unsigned char)(x_ >> 8); out[pos++] = (unsigned char)(x_ >> 16); out[pos++] = (unsigned char)(x_ >> 24); } while (0)
    FERRITE__PUT_U32(count);
    for (uint32_t i = 0; i < count; i++) {
        FERRITE__PUT_U32(lens[i]);
        ferrite_copy(out + pos, items[i], lens[i]);
        pos += lens[i];
    }
#undef FERRITE__PUT_U32
    return pos;
}

/* Exported allocator, see FERRITE_DEFINE_ALLOC above. Declared always so that
 * C code can use it as its own (never-freeing) allocator. */
FERRITE_EXPORT(ferrite_alloc) int32_t ferrite_alloc(int32_t size);

#ifdef FERRITE_DEFINE_ALLOC
#if defined(__wasi__) && __STDC_HOSTED__
#include <stdlib.h>
FERRITE_EXPORT(ferrite_alloc) int32_t ferrite_alloc(int32_t size) {
    if (size < 0) return 0;
    return (int32_t)(uintptr_t)malloc(size == 0 ? 1 : (size_t)size);
}
#else
extern unsigned char __heap_base;
static uintptr_t ferrite__heap_next;
FERRITE_EXPORT(ferrite_alloc) int32_t ferrite_alloc(int32_t size) {
    if (size < 0) return 0;
    if (ferrite__heap_next == 0) ferrite__heap_next = (uintptr_t)&__heap_base;
    uintptr_t start = (ferrite__heap_next + 7u) & ~(uintptr_t)7u;
    uintptr_t end = start + (uintptr_t)(size == 0 ? 1 : size);
    if (end < start) return 0;
    uintptr_t memory_bytes = (uintptr_t)__builtin_wasm_memory_size(0) * 65536u;
    if (end > memory_bytes) {
        size_t pages = (end - memory_bytes + 65535u) / 65536u;
        if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1) return 0;
    }
    ferrite__heap_next = end;
    return (int32_t)start;
}
#endif
#endif /* FERRITE_DEFINE_ALLOC */

#ifdef __cplusplus
}
#endif

#endif /* FERRITE_H */

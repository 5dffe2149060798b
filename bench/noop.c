/* The trivial WASM function of the benchmark (workload 4): takes no keys and
 * no arguments and returns the integer 1. Built by scripts/bench.sh with
 *   clang --target=wasm32-unknown-unknown -O2 -nostdlib -Wl,--no-entry
 * into a module whose only exports are `memory` and `noop` (signature
 * () -> i32, the "typed" convention of docs/abi.md: the i32 result becomes
 * the integer reply). */
__attribute__((export_name("noop"))) int noop(void) { return 1; }

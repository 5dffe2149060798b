// Fixed-window rate limiter in AssemblyScript, in the seed's style: a typed
// export whose KEY binds to an AssemblyScript string (the host allocates it
// with __new, hence --exportRuntime) and whose ARGS are parsed as i64.
//
// Build: npm ci && npm run build        (→ build/rate_limit.wasm)
// Call:  WASM.CALL rate_limit KEYS rate:user:1 ARGS 10 60   -> 1 admitted, 0 limited
// Capabilities: read write.
import { get, incr, expire } from "@ferrite/wasm-sdk";

export function rate_limit(key: string, limit: i64, window: i64): i64 {
  const count = get<i64>(key); // 0 if missing

  if (count >= limit) {
    return 0;
  }

  // The first hit of a window starts the window's clock.
  const newCount = incr(key);
  if (newCount == 1) {
    expire(key, window);
  }

  return 1;
}

// Fixed-window rate limiter in Go, in the seed's style: a *typed* export
// (docs/abi.md §3) whose KEY arrives as a (ptr, len) pair in guest memory and
// whose ARGS arrive as numbers.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o rate_limit.wasm .
// Call:  WASM.CALL rate_limit KEYS rate:user:1 ARGS 10 60   -> 1 admitted, 0 limited
// Capabilities: read write time (the Go runtime reads the clock at start-up).
package main

import "github.com/ferrite-db/ferrite/sdk/go/ferrite"

//go:wasmexport rate_limit
func rateLimit(keyPtr, keyLen, limit, window int32) int32 {
	key := ferrite.ReadString(keyPtr, keyLen)

	count, _ := ferrite.GetInt(key) // a missing key counts as 0
	if count >= int64(limit) {
		return 0
	}

	// The first hit of a window starts the window's clock.
	if ferrite.Incr(key) == 1 {
		ferrite.Expire(key, int64(window))
	}
	return 1
}

func main() {}

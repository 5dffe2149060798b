// Test guest for the WASI sandbox (crates/ferrite-wasm/src/wasi.rs).
// Built by the tests: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared.
package main

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"os"
	"time"
)

//go:wasmexport hello
func hello() {
	fmt.Println("hello from go")
	fmt.Fprintln(os.Stderr, "warning from go")
}

//go:wasmexport now_ns
func nowNs() int64 {
	return time.Now().UnixNano()
}

//go:wasmexport random_u64
func randomU64() int64 {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return -1
	}
	return int64(binary.LittleEndian.Uint64(b[:]))
}

//go:wasmexport sleep_ms
func sleepMs(ms int32) int64 {
	start := time.Now()
	time.Sleep(time.Duration(ms) * time.Millisecond)
	return int64(time.Since(start))
}

//go:wasmexport open_file
func openFile() int32 {
	if _, err := os.Open("/etc/passwd"); err != nil {
		return 1
	}
	return 0
}

//go:wasmexport exit_with
func exitWith(code int32) {
	os.Exit(int(code))
}

func main() {}

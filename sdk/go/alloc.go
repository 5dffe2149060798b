//go:build wasm

package ferrite

import "unsafe"

// pinned keeps every block handed out by ferrite_alloc reachable, so the
// garbage collector never reuses memory the host wrote arguments into.
// Nothing is freed: every call runs on a fresh instance.
var pinned [][]byte

// ferriteAlloc is the guest allocator of docs/abi.md §3: the host calls it to
// place typed string arguments and raw-convention input in guest memory.
// Returns 0 on failure.
//
//go:wasmexport ferrite_alloc
func ferriteAlloc(size int32) int32 {
	if size < 0 {
		return 0
	}
	if size == 0 {
		size = 1
	}
	block := make([]byte, size)
	pinned = append(pinned, block)
	return int32(uintptr(unsafe.Pointer(&block[0])))
}

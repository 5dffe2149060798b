//go:build wasm

// Package ferrite writes Ferrite WebAssembly functions in Go (guest ABI v1).
//
// Build with the standard toolchain as a WASI reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o fn.wasm .
//
// and export functions with //go:wasmexport. Three calling conventions exist
// (docs/abi.md §3); in Go:
//
//   - SDK convention, `func f()`: read arguments with [Arg], [ArgString],
//     [ArgInt]; reply with [Return], [ReturnString], [ReturnInt], [Error].
//   - raw convention, `func f(inputPtr, inputLen int32) int32`: the first
//     argument's bytes are at inputPtr ([ReadBytes]); return 0 after
//     [Return]…, or non-zero after [Error].
//   - typed convention, e.g. `func f(keyPtr, keyLen, limit, window int32) int32`:
//     KEYS arrive as (ptr, len) pairs ([ReadString]), ARGS as numbers; the
//     numeric result is the reply.
//
// Host calls raise: a failing host call (permission denied, WRONGTYPE, …)
// ends the whole call with that error and undoes its writes, so the
// functions here return plain values. A Go panic ends the call with an error
// reply (the Go runtime exits; the host reports the exit or trap) and the
// server keeps serving.
package ferrite

import (
	"errors"
	"strconv"
	"unsafe"
)

func ptr(b []byte) unsafe.Pointer {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Pointer(&b[0])
}

func sptr(s string) unsafe.Pointer {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Pointer(unsafe.StringData(s))
}

// readResult copies the current result buffer (n bytes, as a host call
// returned; n < 0 means nil).
func readResult(n int64) ([]byte, bool) {
	if n < 0 {
		return nil, false
	}
	if n > ResultBytesMax {
		panic("ferrite: host returned a result over the ABI limit")
	}
	buf := make([]byte, n)
	copied := hostResultRead(ptr(buf), uint32(n))
	return buf[:copied], true
}

// ReadBytes copies n bytes of guest memory at p: the (ptr, len) a typed or raw
// export received from the host.
func ReadBytes(p, n int32) []byte {
	if n <= 0 {
		return []byte{}
	}
	// The host placed the bytes in this module's linear memory, at address p.
	base := (*byte)(unsafe.Add(unsafe.Pointer(nil), uintptr(uint32(p))))
	src := unsafe.Slice(base, int(uint32(n)))
	out := make([]byte, len(src))
	copy(out, src)
	return out
}

// ReadString is [ReadBytes] as a string.
func ReadString(p, n int32) string { return string(ReadBytes(p, n)) }

// ---- Arguments (KEYS first, then ARGS) ----

// ArgCount is the number of arguments of the call.
func ArgCount() int { return int(hostArgc()) }

// NumKeys is how many of the arguments are KEYS.
func NumKeys() int { return int(hostNumkeys()) }

// Arg returns argument i, false past the last one.
func Arg(i int) ([]byte, bool) {
	if i < 0 || i > 1<<30 {
		return nil, false
	}
	return readResult(hostArg(int32(i)))
}

// ArgString returns argument i as a string.
func ArgString(i int) (string, bool) {
	b, ok := Arg(i)
	return string(b), ok
}

// ErrNoArgument is returned by [ArgInt] for a missing argument.
var ErrNoArgument = errors.New("ERR missing argument")

// ErrNotInteger is returned by [ArgInt] for an argument that is not a decimal int64.
var ErrNotInteger = errors.New("ERR value is not an integer or out of range")

// ArgInt returns argument i parsed as a decimal int64.
func ArgInt(i int) (int64, error) {
	s, ok := ArgString(i)
	if !ok {
		return 0, ErrNoArgument
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, ErrNotInteger
	}
	return v, nil
}

// Args returns all arguments, KEYS then ARGS.
func Args() [][]byte {
	n := ArgCount()
	out := make([][]byte, 0, n)
	for i := 0; i < n; i++ {
		b, _ := Arg(i)
		out = append(out, b)
	}
	return out
}

// ---- Replies ----

// Return sets a bulk-string reply.
func Return(b []byte) { hostReturn(ptr(b), uint32(len(b))) }

// ReturnString sets a bulk-string reply.
func ReturnString(s string) { hostReturn(sptr(s), uint32(len(s))) }

// ReturnInt sets an integer reply.
func ReturnInt(v int64) { hostReturnInt(v) }

// ReturnNil sets a nil reply.
func ReturnNil() { hostReturnNil() }

// ReturnRESP sets a reply given as one RESP2/RESP3 frame.
func ReturnRESP(frame []byte) { hostReturnResp(ptr(frame), uint32(len(frame))) }

// Error sets an error reply. The text is used as is when it starts with an
// upper-case code word (`INVALID bad input`), else the host prefixes `ERR `.
func Error(msg string) { hostError(sptr(msg), uint32(len(msg))) }

// ---- Keys ----

// Get returns the string value of key; false if the key does not exist.
func Get(key string) (string, bool) {
	b, ok := GetBytes(key)
	return string(b), ok
}

// GetBytes returns the value of key; false if the key does not exist.
func GetBytes(key string) ([]byte, bool) {
	return readResult(hostGet(sptr(key), uint32(len(key))))
}

// GetInt returns the value of key parsed as a decimal int64; false if the key
// does not exist or does not hold an integer.
func GetInt(key string) (int64, bool) {
	s, ok := Get(key)
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil
}

// Set sets key to value without expiry (clearing any TTL, like SET).
func Set(key, value string) { SetEx(key, value, 0) }

// SetEx sets key to value expiring in ttlSecs seconds (≤ 0: no expiry).
func SetEx(key, value string, ttlSecs int64) {
	hostSet(sptr(key), uint32(len(key)), sptr(value), uint32(len(value)), ttlSecs)
}

// Del deletes key; true if it existed.
func Del(key string) bool { return hostDel(sptr(key), uint32(len(key))) == 1 }

// Exists reports whether key exists.
func Exists(key string) bool { return hostExists(sptr(key), uint32(len(key))) == 1 }

// Incr increments key and returns the new value.
func Incr(key string) int64 { return hostIncr(sptr(key), uint32(len(key))) }

// IncrBy adds delta to key and returns the new value.
func IncrBy(key string, delta int64) int64 {
	return hostIncrBy(sptr(key), uint32(len(key)), delta)
}

// HGet returns a hash field; false if absent.
func HGet(key, field string) (string, bool) {
	b, ok := readResult(hostHGet(sptr(key), uint32(len(key)), sptr(field), uint32(len(field))))
	return string(b), ok
}

// HSet sets a hash field; true if the field is new.
func HSet(key, field, value string) bool {
	return hostHSet(sptr(key), uint32(len(key)), sptr(field), uint32(len(field)), sptr(value), uint32(len(value))) == 1
}

// Expire sets a TTL of secs seconds; false if key does not exist.
func Expire(key string, secs int64) bool {
	return hostExpire(sptr(key), uint32(len(key)), secs) == 1
}

// TTL returns the TTL of key in seconds, -1 without TTL, -2 if absent.
func TTL(key string) int64 { return hostTTL(sptr(key), uint32(len(key))) }

// ZAdd adds member with score; true if new.
func ZAdd(key string, score float64, member string) bool {
	return hostZAdd(sptr(key), uint32(len(key)), score, sptr(member), uint32(len(member))) == 1
}

// ZCard returns the cardinality of a sorted set.
func ZCard(key string) int64 { return hostZCard(sptr(key), uint32(len(key))) }

// ZRemRangeByScore removes members with min ≤ score ≤ max (ZRANGEBYSCORE
// syntax: "-inf", "(5") and returns how many.
func ZRemRangeByScore(key, min, max string) int64 {
	return hostZRemRangeByScore(sptr(key), uint32(len(key)), sptr(min), uint32(len(min)), sptr(max), uint32(len(max)))
}

// Keys lists the keys matching a glob pattern that the function may read.
func Keys(pattern string) []string {
	b, _ := readResult(hostKeys(sptr(pattern), uint32(len(pattern))))
	items, err := DecodeList(b)
	if err != nil {
		panic("ferrite: host returned a malformed KEYS list")
	}
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = string(it)
	}
	return out
}

// Call runs a command and returns its RESP2 reply; command errors come back
// as a Reply of kind [KindError] (like redis.pcall).
func Call(args ...string) Reply {
	items := make([][]byte, len(args))
	for i, a := range args {
		items[i] = []byte(a)
	}
	req := EncodeList(items)
	b, _ := readResult(hostCall(ptr(req), uint32(len(req))))
	r, err := ParseReply(b)
	if err != nil {
		panic("ferrite: host returned a malformed RESP reply")
	}
	return r
}

// ---- Utilities ----

// Log levels of [Log].
const (
	LogError = 0
	LogWarn  = 1
	LogInfo  = 2
	LogDebug = 3
	LogTrace = 4
)

// Log writes msg to the server log (capability `log`).
func Log(level int32, msg string) { hostLog(level, sptr(msg), uint32(len(msg))) }

// TimeMillis is the Unix time in milliseconds (capability `time`).
func TimeMillis() int64 { return hostTimeMillis() }

// Now is the Unix time in milliseconds (alias of [TimeMillis]).
func Now() int64 { return hostNow() }

// RandomFloat is uniform in [0, 1) (capability `random`).
func RandomFloat() float64 { return hostRandomF64() }

// RandomBytes returns n random bytes (capability `random`).
func RandomBytes(n int) []byte {
	b := make([]byte, n)
	hostRandomBytes(ptr(b), uint32(n))
	return b
}

// HTTP sends a request to an allow-listed http:// URL (capability `http`).
// headers alternate name, value.
func HTTP(method, url string, body []byte, headers ...string) (HTTPResponse, error) {
	if len(headers)%2 != 0 {
		return HTTPResponse{}, errors.New("ERR headers must be name, value pairs")
	}
	items := [][]byte{[]byte(method), []byte(url), body}
	for _, h := range headers {
		items = append(items, []byte(h))
	}
	req := EncodeList(items)
	b, ok := readResult(hostHTTP(ptr(req), uint32(len(req))))
	if !ok {
		return HTTPResponse{}, errors.New("ERR malformed http response")
	}
	return parseHTTPResponse(b)
}

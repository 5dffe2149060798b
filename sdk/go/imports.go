//go:build wasm

package ferrite

import "unsafe"

// Raw host functions of guest ABI v1 (import module "ferrite"), as declared
// in docs/abi.md §4. Where the ABI accepts two signatures under one name the
// SDK imports one: ferrite_get returning int64 (result buffer), ferrite_set
// with the TTL parameter (0 = no expiry), ferrite_log returning nothing.

//go:wasmimport ferrite ferrite_argc
func hostArgc() int32

//go:wasmimport ferrite ferrite_numkeys
func hostNumkeys() int32

//go:wasmimport ferrite ferrite_arg
func hostArg(index int32) int64

//go:wasmimport ferrite ferrite_result_read
func hostResultRead(dst unsafe.Pointer, dstLen uint32) int32

//go:wasmimport ferrite ferrite_return
func hostReturn(ptr unsafe.Pointer, n uint32)

//go:wasmimport ferrite ferrite_return_int
func hostReturnInt(v int64)

//go:wasmimport ferrite ferrite_return_nil
func hostReturnNil()

//go:wasmimport ferrite ferrite_return_resp
func hostReturnResp(ptr unsafe.Pointer, n uint32)

//go:wasmimport ferrite ferrite_error
func hostError(ptr unsafe.Pointer, n uint32)

//go:wasmimport ferrite ferrite_get
func hostGet(key unsafe.Pointer, keyLen uint32) int64

//go:wasmimport ferrite ferrite_set
func hostSet(key unsafe.Pointer, keyLen uint32, val unsafe.Pointer, valLen uint32, ttlSecs int64) int32

//go:wasmimport ferrite ferrite_del
func hostDel(key unsafe.Pointer, keyLen uint32) int32

//go:wasmimport ferrite ferrite_exists
func hostExists(key unsafe.Pointer, keyLen uint32) int32

//go:wasmimport ferrite ferrite_incr
func hostIncr(key unsafe.Pointer, keyLen uint32) int64

//go:wasmimport ferrite ferrite_incrby
func hostIncrBy(key unsafe.Pointer, keyLen uint32, delta int64) int64

//go:wasmimport ferrite ferrite_hget
func hostHGet(key unsafe.Pointer, keyLen uint32, field unsafe.Pointer, fieldLen uint32) int64

//go:wasmimport ferrite ferrite_hset
func hostHSet(key unsafe.Pointer, keyLen uint32, field unsafe.Pointer, fieldLen uint32, val unsafe.Pointer, valLen uint32) int32

//go:wasmimport ferrite ferrite_expire
func hostExpire(key unsafe.Pointer, keyLen uint32, secs int64) int32

//go:wasmimport ferrite ferrite_ttl
func hostTTL(key unsafe.Pointer, keyLen uint32) int64

//go:wasmimport ferrite ferrite_zadd
func hostZAdd(key unsafe.Pointer, keyLen uint32, score float64, member unsafe.Pointer, memberLen uint32) int32

//go:wasmimport ferrite ferrite_zcard
func hostZCard(key unsafe.Pointer, keyLen uint32) int64

//go:wasmimport ferrite ferrite_zremrangebyscore
func hostZRemRangeByScore(key unsafe.Pointer, keyLen uint32, min unsafe.Pointer, minLen uint32, max unsafe.Pointer, maxLen uint32) int64

//go:wasmimport ferrite ferrite_keys
func hostKeys(pattern unsafe.Pointer, patternLen uint32) int64

//go:wasmimport ferrite ferrite_call
func hostCall(argv unsafe.Pointer, argvLen uint32) int64

//go:wasmimport ferrite ferrite_log
func hostLog(level int32, msg unsafe.Pointer, msgLen uint32)

//go:wasmimport ferrite ferrite_time_millis
func hostTimeMillis() int64

//go:wasmimport ferrite ferrite_now
func hostNow() int64

//go:wasmimport ferrite ferrite_random_f64
func hostRandomF64() float64

//go:wasmimport ferrite ferrite_random_bytes
func hostRandomBytes(buf unsafe.Pointer, n uint32) int32

//go:wasmimport ferrite ferrite_http
func hostHTTP(req unsafe.Pointer, reqLen uint32) int64

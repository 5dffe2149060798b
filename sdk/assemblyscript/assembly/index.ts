// @ferrite/wasm-sdk — write Ferrite WebAssembly functions in AssemblyScript.
//
// Speaks guest ABI v1 (docs/abi.md in the Ferrite repository): host functions
// are imported from the wasm module "ferrite"; variable-size results are read
// from the host's result buffer; host calls *raise* (a failing host call ends
// the whole call with its error and undoes the call's writes), so the
// functions here return plain values.
//
// Two styles of export work (build with --exportRuntime so the host can
// allocate strings with __new, and with --use abort=… so that an abort
// becomes an error reply, see README.md):
//
//   typed:  export function rate_limit(key: string, limit: i64, window: i64): i64
//           KEYS bind to string parameters, ARGS are parsed as the numeric
//           parameter types, the numeric result is the reply (unless
//           returnString()/error()… was called).
//   sdk:    export function stats(): void
//           read arguments with argc()/arg()/argString(), reply with
//           returnString()/returnInt()/error().

// ---- Raw host functions (docs/abi.md §4) ----

@external("ferrite", "ferrite_argc") declare function ferrite_argc(): i32;
@external("ferrite", "ferrite_numkeys") declare function ferrite_numkeys(): i32;
@external("ferrite", "ferrite_arg") declare function ferrite_arg(index: i32): i64;
@external("ferrite", "ferrite_result_read") declare function ferrite_result_read(dst: usize, dst_len: i32): i32;
@external("ferrite", "ferrite_return") declare function ferrite_return(ptr: usize, len: i32): void;
@external("ferrite", "ferrite_return_int") declare function ferrite_return_int(value: i64): void;
@external("ferrite", "ferrite_return_nil") declare function ferrite_return_nil(): void;
@external("ferrite", "ferrite_return_resp") declare function ferrite_return_resp(ptr: usize, len: i32): void;
@external("ferrite", "ferrite_error") declare function ferrite_error(ptr: usize, len: i32): void;
@external("ferrite", "ferrite_get") declare function ferrite_get(key: usize, key_len: i32): i64;
@external("ferrite", "ferrite_set") declare function ferrite_set(key: usize, key_len: i32, val: usize, val_len: i32, ttl_secs: i64): i32;
@external("ferrite", "ferrite_del") declare function ferrite_del(key: usize, key_len: i32): i32;
@external("ferrite", "ferrite_exists") declare function ferrite_exists(key: usize, key_len: i32): i32;
@external("ferrite", "ferrite_incr") declare function ferrite_incr(key: usize, key_len: i32): i64;
@external("ferrite", "ferrite_incrby") declare function ferrite_incrby(key: usize, key_len: i32, delta: i64): i64;
@external("ferrite", "ferrite_hget") declare function ferrite_hget(key: usize, key_len: i32, field: usize, field_len: i32): i64;
@external("ferrite", "ferrite_hset") declare function ferrite_hset(key: usize, key_len: i32, field: usize, field_len: i32, val: usize, val_len: i32): i32;
@external("ferrite", "ferrite_expire") declare function ferrite_expire(key: usize, key_len: i32, secs: i64): i32;
@external("ferrite", "ferrite_ttl") declare function ferrite_ttl(key: usize, key_len: i32): i64;
@external("ferrite", "ferrite_zadd") declare function ferrite_zadd(key: usize, key_len: i32, score: f64, member: usize, member_len: i32): i32;
@external("ferrite", "ferrite_zcard") declare function ferrite_zcard(key: usize, key_len: i32): i64;
@external("ferrite", "ferrite_zremrangebyscore") declare function ferrite_zremrangebyscore(key: usize, key_len: i32, min: usize, min_len: i32, max: usize, max_len: i32): i64;
@external("ferrite", "ferrite_keys") declare function ferrite_keys(pattern: usize, pattern_len: i32): i64;
@external("ferrite", "ferrite_call") declare function ferrite_call(argv: usize, argv_len: i32): i64;
@external("ferrite", "ferrite_log") declare function ferrite_log(level: i32, msg: usize, msg_len: i32): void;
@external("ferrite", "ferrite_time_millis") declare function ferrite_time_millis(): i64;
@external("ferrite", "ferrite_now") declare function ferrite_now(): i64;
@external("ferrite", "ferrite_random_f64") declare function ferrite_random_f64(): f64;
@external("ferrite", "ferrite_random_bytes") declare function ferrite_random_bytes(buf: usize, len: i32): i32;
@external("ferrite", "ferrite_http") declare function ferrite_http(req: usize, req_len: i32): i64;

/** Largest result the host hands over (the ABI's bulk limit, 512 MB). */
export const RESULT_BYTES_MAX: i64 = 512 * 1024 * 1024;

// ---- Bytes and strings ----

/** UTF-8 bytes of `s`. */
export function utf8(s: string): ArrayBuffer {
  return String.UTF8.encode(s);
}

function ptrOf(buf: ArrayBuffer): usize {
  return changetype<usize>(buf);
}

/** Copies the current result buffer (`len` bytes as a host call returned; < 0 = nil). */
export function readResult(len: i64): ArrayBuffer | null {
  if (len < 0) return null;
  assert(len <= RESULT_BYTES_MAX, "host result over the ABI limit");
  const buf = new ArrayBuffer(<i32>len);
  const copied = ferrite_result_read(ptrOf(buf), <i32>len);
  return copied == <i32>len ? buf : buf.slice(0, copied);
}

function readResultString(len: i64): string | null {
  const buf = readResult(len);
  return buf === null ? null : String.UTF8.decode(buf);
}

// ---- Arguments (KEYS first, then ARGS) ----

/** Number of arguments of the call. */
export function argc(): i32 {
  return ferrite_argc();
}

/** How many of the arguments are KEYS. */
export function numkeys(): i32 {
  return ferrite_numkeys();
}

/** Argument `index` as bytes, null past the last one. */
export function arg(index: i32): ArrayBuffer | null {
  return readResult(ferrite_arg(index));
}

/** Argument `index` as a (UTF-8 decoded) string, null past the last one. */
export function argString(index: i32): string | null {
  return readResultString(ferrite_arg(index));
}

/** Argument `index` parsed as a decimal integer; `fallback` if missing or not an integer. */
export function argInt(index: i32, fallback: i64 = 0): i64 {
  const s = argString(index);
  if (s === null) return fallback;
  return parseInteger(s, fallback);
}

/** Parses a decimal i64 (optional sign); `fallback` on any other text or overflow. */
export function parseInteger(s: string, fallback: i64 = 0): i64 {
  const n = s.length;
  if (n == 0 || n > 20) return fallback;
  let i = 0;
  let neg = false;
  const c0 = s.charCodeAt(0);
  if (c0 == 45 || c0 == 43) {
    neg = c0 == 45;
    i = 1;
    if (n == 1) return fallback;
  }
  let v: u64 = 0;
  const limit: u64 = neg ? <u64>9223372036854775808 : <u64>9223372036854775807;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return fallback;
    const d = <u64>(c - 48);
    if (v > (limit - d) / 10) return fallback;
    v = v * 10 + d;
  }
  return neg ? <i64>(0 - v) : <i64>v;
}

// ---- Replies ----

/** Sets a bulk-string reply. */
export function returnString(s: string): void {
  const b = utf8(s);
  ferrite_return(ptrOf(b), b.byteLength);
}

/** Sets a bulk-string reply from bytes. */
export function returnBytes(b: ArrayBuffer): void {
  ferrite_return(ptrOf(b), b.byteLength);
}

/** Sets an integer reply. */
export function returnInt(v: i64): void {
  ferrite_return_int(v);
}

/** Sets a nil reply. */
export function returnNil(): void {
  ferrite_return_nil();
}

/** Sets a reply given as one RESP2/RESP3 frame (see `Reply.encode`). */
export function returnResp(frame: ArrayBuffer): void {
  ferrite_return_resp(ptrOf(frame), frame.byteLength);
}

/** Sets an error reply; `ERR ` is prefixed unless `msg` starts with an upper-case code word. */
export function error(msg: string): void {
  const b = utf8(msg);
  ferrite_error(ptrOf(b), b.byteLength);
}

// ---- Keys ----

/**
 * GET as a typed value: `get<string | null>(key)` (null if missing),
 * `get<string>(key)` ("" if missing), `get<i64>(key)` (0 if missing or not an
 * integer), `get<f64>(key)` (0 if missing or not a number),
 * `get<ArrayBuffer | null>(key)`.
 */
export function get<T>(key: string): T {
  const k = utf8(key);
  const n = ferrite_get(ptrOf(k), k.byteLength);
  if (isInteger<T>()) {
    if (n < 0) return <T>0;
    return <T>parseInteger(changetype<string>(readResultString(n)), 0);
  } else if (isFloat<T>()) {
    if (n < 0) return <T>0;
    const v = parseFloat(changetype<string>(readResultString(n)));
    return <T>(isNaN(v) ? 0 : v);
  } else if (isString<T>()) {
    const s = readResultString(n);
    if (s === null) {
      if (isNullable<T>()) return changetype<T>(0);
      return changetype<T>("");
    }
    return changetype<T>(s);
  } else if (idof<T>() == idof<ArrayBuffer>()) {
    return changetype<T>(readResult(n));
  } else {
    ERROR("get<T>: T must be an integer, a float, string, string | null or ArrayBuffer | null");
    return unreachable();
  }
}

/** GET as bytes; null if the key does not exist. */
export function getBytes(key: string): ArrayBuffer | null {
  const k = utf8(key);
  return readResult(ferrite_get(ptrOf(k), k.byteLength));
}

/** SET without expiry (clears any TTL, like SET). */
export function set(key: string, value: string): void {
  setEx(key, value, 0);
}

/** SET expiring in `ttlSecs` seconds (<= 0: no expiry). */
export function setEx(key: string, value: string, ttlSecs: i64): void {
  const k = utf8(key);
  const v = utf8(value);
  ferrite_set(ptrOf(k), k.byteLength, ptrOf(v), v.byteLength, ttlSecs);
}

/** DEL: whether the key existed. */
export function del(key: string): bool {
  const k = utf8(key);
  return ferrite_del(ptrOf(k), k.byteLength) == 1;
}

/** EXISTS. */
export function exists(key: string): bool {
  const k = utf8(key);
  return ferrite_exists(ptrOf(k), k.byteLength) == 1;
}

/** INCR: the new value. */
export function incr(key: string): i64 {
  const k = utf8(key);
  return ferrite_incr(ptrOf(k), k.byteLength);
}

/** INCRBY: the new value. */
export function incrBy(key: string, delta: i64): i64 {
  const k = utf8(key);
  return ferrite_incrby(ptrOf(k), k.byteLength, delta);
}

/** HGET; null if the field does not exist. */
export function hget(key: string, field: string): string | null {
  const k = utf8(key);
  const f = utf8(field);
  return readResultString(ferrite_hget(ptrOf(k), k.byteLength, ptrOf(f), f.byteLength));
}

/** HSET of one field: whether the field is new. */
export function hset(key: string, field: string, value: string): bool {
  const k = utf8(key);
  const f = utf8(field);
  const v = utf8(value);
  return ferrite_hset(ptrOf(k), k.byteLength, ptrOf(f), f.byteLength, ptrOf(v), v.byteLength) == 1;
}

/** EXPIRE: whether the key exists (and got the TTL). */
export function expire(key: string, secs: i64): bool {
  const k = utf8(key);
  return ferrite_expire(ptrOf(k), k.byteLength, secs) == 1;
}

/** TTL in seconds, -1 without TTL, -2 if the key does not exist. */
export function ttl(key: string): i64 {
  const k = utf8(key);
  return ferrite_ttl(ptrOf(k), k.byteLength);
}

/** ZADD of one member: whether it is new. */
export function zadd(key: string, score: f64, member: string): bool {
  const k = utf8(key);
  const m = utf8(member);
  return ferrite_zadd(ptrOf(k), k.byteLength, score, ptrOf(m), m.byteLength) == 1;
}

/** ZCARD. */
export function zcard(key: string): i64 {
  const k = utf8(key);
  return ferrite_zcard(ptrOf(k), k.byteLength);
}

/** ZREMRANGEBYSCORE with ZRANGEBYSCORE bounds ("-inf", "(5"): members removed. */
export function zremrangebyscore(key: string, min: string, max: string): i64 {
  const k = utf8(key);
  const lo = utf8(min);
  const hi = utf8(max);
  return ferrite_zremrangebyscore(ptrOf(k), k.byteLength, ptrOf(lo), lo.byteLength, ptrOf(hi), hi.byteLength);
}

/** KEYS pattern: the matching keys the function may read. */
export function keys(pattern: string): string[] {
  const p = utf8(pattern);
  const buf = readResult(ferrite_keys(ptrOf(p), p.byteLength));
  const out: string[] = [];
  if (buf === null) return out;
  const items = decodeList(buf);
  for (let i = 0; i < items.length; i++) out.push(String.UTF8.decode(items[i]));
  return out;
}

/** Runs a command; its reply (command errors come back as a Reply of kind ERROR, like redis.pcall). */
export function call(args: string[]): Reply {
  const items: ArrayBuffer[] = [];
  for (let i = 0; i < args.length; i++) items.push(utf8(args[i]));
  const req = encodeList(items);
  const buf = readResult(ferrite_call(ptrOf(req), req.byteLength));
  assert(buf !== null, "ferrite_call returned nil");
  return parseReply(changetype<ArrayBuffer>(buf));
}

// ---- Utilities ----

export const LOG_ERROR: i32 = 0;
export const LOG_WARN: i32 = 1;
export const LOG_INFO: i32 = 2;
export const LOG_DEBUG: i32 = 3;
export const LOG_TRACE: i32 = 4;

/** Writes to the server log (capability `log`). */
export function log(level: i32, msg: string): void {
  const b = utf8(msg);
  ferrite_log(level, ptrOf(b), b.byteLength);
}

/** Unix time in milliseconds (capability `time`). */
export function timeMillis(): i64 {
  return ferrite_time_millis();
}

/** Unix time in milliseconds (alias of timeMillis). */
export function now(): i64 {
  return ferrite_now();
}

/** Uniform random number in [0, 1) (capability `random`). */
export function randomF64(): f64 {
  return ferrite_random_f64();
}

/** `n` random bytes (capability `random`). */
export function randomBytes(n: i32): ArrayBuffer {
  const b = new ArrayBuffer(n);
  ferrite_random_bytes(ptrOf(b), n);
  return b;
}

/** Response of http(). */
export class HttpResponse {
  constructor(public status: i32, public body: ArrayBuffer, public headers: string[]) {}
}

/** HTTP request to an allow-listed http:// URL (capability `http`); headers alternate name, value. */
export function http(method: string, url: string, body: ArrayBuffer, headers: string[] = []): HttpResponse {
  const items: ArrayBuffer[] = [utf8(method), utf8(url), body];
  for (let i = 0; i < headers.length; i++) items.push(utf8(headers[i]));
  const req = encodeList(items);
  const buf = readResult(ferrite_http(ptrOf(req), req.byteLength));
  assert(buf !== null, "ferrite_http returned nil");
  const parts = decodeList(changetype<ArrayBuffer>(buf));
  assert(parts.length >= 2 && parts.length % 2 == 0, "malformed http response");
  const hs: string[] = [];
  for (let i = 2; i < parts.length; i++) hs.push(String.UTF8.decode(parts[i]));
  return new HttpResponse(<i32>parseInteger(String.UTF8.decode(parts[0]), 0), parts[1], hs);
}

// ---- List encoding: u32 LE count, then per item u32 LE length + bytes ----

export function encodeList(items: ArrayBuffer[]): ArrayBuffer {
  let total = 4;
  for (let i = 0; i < items.length; i++) total += 4 + items[i].byteLength;
  const out = new ArrayBuffer(total);
  const base = ptrOf(out);
  store<u32>(base, <u32>items.length);
  let pos: usize = 4;
  for (let i = 0; i < items.length; i++) {
    const it = items[i];
    store<u32>(base + pos, <u32>it.byteLength);
    pos += 4;
    memory.copy(base + pos, ptrOf(it), it.byteLength);
    pos += it.byteLength;
  }
  return out;
}

/** Decodes a list-encoded buffer; aborts on malformed input (the host never sends one). */
export function decodeList(buf: ArrayBuffer): ArrayBuffer[] {
  const n = buf.byteLength;
  assert(n >= 4, "malformed list");
  const base = ptrOf(buf);
  const count = load<u32>(base);
  assert(<u64>count * 4 <= <u64>(n - 4), "malformed list");
  const out: ArrayBuffer[] = [];
  let pos = 4;
  for (let i: u32 = 0; i < count; i++) {
    assert(pos + 4 <= n, "malformed list");
    const len = <i32>load<u32>(base + pos);
    pos += 4;
    assert(len >= 0 && len <= n - pos, "malformed list");
    out.push(buf.slice(pos, pos + len));
    pos += len;
  }
  assert(pos == n, "malformed list");
  return out;
}

// ---- RESP2 replies ----

export const STATUS: i32 = 0;
export const ERROR_REPLY: i32 = 1;
export const INTEGER: i32 = 2;
export const BULK: i32 = 3;
export const NIL: i32 = 4;
export const ARRAY: i32 = 5;

/** One RESP2 value: `kind` is STATUS, ERROR_REPLY, INTEGER, BULK, NIL or ARRAY. */
export class Reply {
  constructor(
    public kind: i32,
    public str: string = "",
    public int: i64 = 0,
    public items: Reply[] = [],
  ) {}

  static status(s: string): Reply { return new Reply(STATUS, s); }
  static error(s: string): Reply { return new Reply(ERROR_REPLY, s); }
  static integer(v: i64): Reply { return new Reply(INTEGER, "", v); }
  static bulk(s: string): Reply { return new Reply(BULK, s); }
  static nil(): Reply { return new Reply(NIL); }
  static array(items: Reply[]): Reply { return new Reply(ARRAY, "", 0, items); }

  /** RESP2 text of this value (bulk strings as UTF-8). */
  encode(): ArrayBuffer {
    return utf8(this.encodeText());
  }

  private encodeText(): string {
    if (this.kind == STATUS) return "+" + oneLine(this.str) + "\r\n";
    if (this.kind == ERROR_REPLY) return "-" + oneLine(this.str) + "\r\n";
    if (this.kind == INTEGER) return ":" + this.int.toString() + "\r\n";
    if (this.kind == BULK) return "$" + String.UTF8.byteLength(this.str).toString() + "\r\n" + this.str + "\r\n";
    if (this.kind == NIL) return "$-1\r\n";
    let s = "*" + this.items.length.toString() + "\r\n";
    for (let i = 0; i < this.items.length; i++) s += this.items[i].encodeText();
    return s;
  }
}

function oneLine(s: string): string {
  return s.replaceAll("\r", " ").replaceAll("\n", " ");
}

const RESP_DEPTH_MAX = 64;

/** Parses one RESP2 reply (bulk strings decoded as UTF-8); aborts on malformed input. */
export function parseReply(buf: ArrayBuffer): Reply {
  const p = new RespParser(buf);
  const r = p.parse(0);
  assert(p.pos == buf.byteLength, "trailing bytes after RESP reply");
  return r;
}

class RespParser {
  pos: i32 = 0;
  constructor(public buf: ArrayBuffer) {}

  line(): string {
    const base = changetype<usize>(this.buf);
    const n = this.buf.byteLength;
    for (let i = this.pos; i + 1 < n; i++) {
      if (load<u8>(base + i) == 13 && load<u8>(base + i + 1) == 10) {
        const s = String.UTF8.decode(this.buf.slice(this.pos, i));
        this.pos = i + 2;
        return s;
      }
    }
    throw new Error("malformed RESP reply");
    return "";
  }

  parse(depth: i32): Reply {
    assert(depth <= RESP_DEPTH_MAX && this.pos < this.buf.byteLength, "malformed RESP reply");
    const tag = load<u8>(changetype<usize>(this.buf) + this.pos);
    this.pos++;
    const head = this.line();
    if (tag == 43) return Reply.status(head); // +
    if (tag == 45) return Reply.error(head); // -
    if (tag == 58) return Reply.integer(parseInteger(head, 0)); // :
    if (tag == 36) { // $
      const len = <i32>parseInteger(head, -2);
      if (len == -1) return Reply.nil();
      assert(len >= 0 && this.pos + len + 2 <= this.buf.byteLength, "malformed RESP reply");
      const s = String.UTF8.decode(this.buf.slice(this.pos, this.pos + len));
      this.pos += len + 2;
      return Reply.bulk(s);
    }
    if (tag == 42) { // *
      const count = <i32>parseInteger(head, -2);
      if (count == -1) return Reply.nil();
      assert(count >= 0 && count <= (this.buf.byteLength - this.pos) / 3, "malformed RESP reply");
      const items: Reply[] = [];
      for (let i = 0; i < count; i++) items.push(this.parse(depth + 1));
      return Reply.array(items);
    }
    throw new Error("malformed RESP reply");
    return Reply.nil();
  }
}

// ---- Allocation and aborts ----

/**
 * `ferrite_alloc(size) -> ptr`, needed only by the raw convention (the host
 * writes the input there). Re-export it from your entry file:
 * `export { ferrite_alloc } from "@ferrite/wasm-sdk";`
 */
export function ferrite_alloc(size: i32): usize {
  if (size < 0) return 0;
  // Pinned so the collector never frees memory the host wrote into.
  const buf = new ArrayBuffer(size == 0 ? 1 : size);
  __pin(changetype<usize>(buf));
  return changetype<usize>(buf);
}

/**
 * Abort handler: turns `abort()`, a failed `assert` or an out-of-bounds
 * access into the error reply `ERR abort: <message> at <file>:<line>` and
 * ends the call (trap). Build with `--use abort=@ferrite/wasm-sdk/assembly/index/ferriteAbort`
 * (or `abort=` + the path the compiler reports for this file).
 */
export function ferriteAbort(message: string | null = null, fileName: string | null = null, line: u32 = 0, column: u32 = 0): void {
  let text = "ERR abort: " + (message === null ? "(no message)" : changetype<string>(message));
  if (fileName !== null) text += " at " + changetype<string>(fileName) + ":" + line.toString() + ":" + column.toString();
  error(text);
  unreachable();
}

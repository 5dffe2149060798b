// Compiles every SDK function into one module (npm test): a type check of the
// whole surface. The guest tests (crates/ferrite-guest-tests) run the examples.
import * as f from "../assembly/index";
export { ferrite_alloc } from "../assembly/index";

export function surface(): void {
  const key = f.argString(0);
  if (key === null) { f.error("ERR no key"); return; }
  const k = changetype<string>(key);
  f.set(k, "1");
  f.setEx(k, "2", 10);
  const a = f.get<i64>(k) + f.incr(k) + f.incrBy(k, 2) + f.ttl(k) + f.zcard(k) + f.zremrangebyscore(k, "-inf", "(5");
  const b = f.get<f64>(k);
  const c = f.get<string | null>(k);
  const d = f.get<string>(k);
  const e = f.get<ArrayBuffer | null>(k);
  f.expire(k, 5); f.del(k); f.exists(k); f.hset(k, "f", "v"); f.hget(k, "f"); f.zadd(k, 1.5, "m");
  f.keys("*"); f.log(f.LOG_INFO, "x"); f.timeMillis(); f.now(); f.randomF64(); f.randomBytes(4);
  f.argInt(1); f.argc(); f.numkeys(); f.arg(0); f.getBytes(k);
  const r = f.call(["PING"]);
  f.returnResp(f.Reply.array([r, f.Reply.integer(a), f.Reply.bulk(d), f.Reply.nil()]).encode());
  f.returnString(c === null ? "" : changetype<string>(c));
  f.returnBytes(e === null ? new ArrayBuffer(0) : changetype<ArrayBuffer>(e));
  f.returnInt(<i64>b); f.returnNil();
  f.http("GET", "http://x/", new ArrayBuffer(0), ["a", "b"]);
}

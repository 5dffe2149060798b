// Data transformation in AssemblyScript.
//
//   transform      (typed, one string KEY): reads a CSV user record
//                  "first,last,email" and replies with JSON
//                  {"full_name":"First Last","email":"lower@case"}; nil if the key is missing.
//   transform_all  (SDK convention, any number of KEYS): an array with the
//                  transform of each key (nil for missing ones).
//
// Build: npm ci && npm run build        (→ build/transform.wasm)
// Call:  SET user:csv:1 "Ada,Lovelace,ADA@Example.COM"
//        WASM.CALL transform KEYS user:csv:1
//        -> {"full_name":"Ada Lovelace","email":"ada@example.com"}
// Capabilities: read.
import { get, argc, argString, error, returnString, returnNil, returnResp, Reply } from "@ferrite/wasm-sdk";

function jsonString(s: string): string {
  let out = "\"";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c == 34) out += "\\\"";
    else if (c == 92) out += "\\\\";
    else if (c < 32) out += "\\u00" + (c < 16 ? "0" : "") + c.toString(16);
    else out += String.fromCharCode(c);
  }
  return out + "\"";
}

/** The JSON document for one CSV record, or null if it does not have 3 fields. */
function transformRecord(csv: string): string | null {
  const parts = csv.split(",");
  if (parts.length != 3) return null;
  const fullName = parts[0].trim() + " " + parts[1].trim();
  const email = parts[2].trim().toLowerCase();
  return "{\"full_name\":" + jsonString(fullName) + ",\"email\":" + jsonString(email) + "}";
}

export function transform(key: string): void {
  const csv = get<string | null>(key);
  if (csv === null) {
    returnNil();
    return;
  }
  const doc = transformRecord(changetype<string>(csv));
  if (doc === null) {
    error("INVALID record at '" + key + "' is not first,last,email");
    return;
  }
  returnString(changetype<string>(doc));
}

export function transform_all(): void {
  const items: Reply[] = [];
  for (let i = 0; i < argc(); i++) {
    const key = changetype<string>(argString(i));
    const csv = get<string | null>(key);
    let doc: string | null = null;
    if (csv !== null) doc = transformRecord(changetype<string>(csv));
    if (doc === null) items.push(Reply.nil());
    else items.push(Reply.bulk(changetype<string>(doc)));
  }
  returnResp(Reply.array(items).encode());
}

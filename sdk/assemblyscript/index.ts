// Package entry for `import … from "@ferrite/wasm-sdk"` (asc resolves
// node_modules/<package>/index.ts). The SDK lives in assembly/index.ts.
export * from "./assembly/index";

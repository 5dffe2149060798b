//! Entry conventions (`docs/abi.md` §3), decided once at load time from each
//! export's wasm signature and the optional `ferrite.abi` custom section.

use std::fmt;

use wasmtime::{FuncType, Module, ValType};

use crate::WasmError;

/// Name of the optional metadata section.
pub const ABI_SECTION: &str = "ferrite.abi";
/// Largest `ferrite.abi` section accepted, in bytes.
pub const ABI_SECTION_BYTES_MAX: usize = 64 * 1024;
/// Most parameters a typed export may have.
pub const PARAMS_MAX: usize = 64;
/// Most callable exports per module.
pub const EXPORTS_MAX: usize = 1024;

/// How the host passes arguments to an export and reads its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Convention {
    /// `() -> ()`; arguments via `ferrite_arg`, reply via `ferrite_return*`.
    Sdk,
    /// `(i32, i32) -> i32`: input pointer and length, status result.
    Raw,
    /// Numbers and `(ptr, len)` key pairs as wasm parameters.
    Typed,
}

impl Convention {
    /// Lower-case name as in the `ferrite.abi` section.
    pub fn name(self) -> &'static str {
        match self {
            Convention::Sdk => "sdk",
            Convention::Raw => "raw",
            Convention::Typed => "typed",
        }
    }
}

/// A wasm number type of a typed parameter or result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumType {
    /// `i32`.
    I32,
    /// `i64`.
    I64,
    /// `f32`.
    F32,
    /// `f64`.
    F64,
}

impl NumType {
    fn from_val(v: &ValType) -> Option<NumType> {
        match v {
            ValType::I32 => Some(NumType::I32),
            ValType::I64 => Some(NumType::I64),
            ValType::F32 => Some(NumType::F32),
            ValType::F64 => Some(NumType::F64),
            _ => None,
        }
    }

    /// Wasm text name.
    pub fn name(self) -> &'static str {
        match self {
            NumType::I32 => "i32",
            NumType::I64 => "i64",
            NumType::F32 => "f32",
            NumType::F64 => "f64",
        }
    }
}

/// A type in the `ferrite.abi` section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AbiType {
    /// UTF-8 text.
    Str,
    /// Bytes.
    Bytes,
    /// 32-bit integer.
    I32,
    /// 64-bit integer.
    I64,
    /// Double.
    F64,
    /// Boolean.
    Bool,
    /// No value (results only).
    Nil,
}

impl AbiType {
    fn parse(s: &str) -> Option<AbiType> {
        Some(match s {
            "str" => AbiType::Str,
            "bytes" => AbiType::Bytes,
            "i32" => AbiType::I32,
            "i64" => AbiType::I64,
            "f64" => AbiType::F64,
            "bool" => AbiType::Bool,
            "nil" => AbiType::Nil,
            _ => return None,
        })
    }

    /// Name as written in the section.
    pub fn name(self) -> &'static str {
        match self {
            AbiType::Str => "str",
            AbiType::Bytes => "bytes",
            AbiType::I32 => "i32",
            AbiType::I64 => "i64",
            AbiType::F64 => "f64",
            AbiType::Bool => "bool",
            AbiType::Nil => "nil",
        }
    }
}

/// One `fn` line of the `ferrite.abi` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredSignature {
    /// Declared convention.
    pub convention: Convention,
    /// Parameter names and types.
    pub params: Vec<(String, AbiType)>,
    /// Result type, if declared.
    pub result: Option<AbiType>,
}

impl fmt::Display for DeclaredSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(")?;
        for (i, (name, ty)) in self.params.iter().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{name}: {}", ty.name())?;
        }
        write!(f, ")")?;
        if let Some(result) = self.result {
            write!(f, " -> {}", result.name())?;
        }
        Ok(())
    }
}

/// A callable export and how to call it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportInfo {
    /// Export name.
    pub name: String,
    /// Chosen convention.
    pub convention: Convention,
    /// Wasm parameter types (typed convention; empty otherwise).
    pub params: Vec<NumType>,
    /// Wasm result type, if any.
    pub result: Option<NumType>,
    /// What the `ferrite.abi` section declares, if anything.
    pub declared: Option<DeclaredSignature>,
}

impl ExportInfo {
    /// The wasm signature as text, e.g. `(i32, i32) -> i32`.
    pub fn wasm_signature(&self) -> String {
        let params: Vec<&str> = match self.convention {
            Convention::Sdk => Vec::new(),
            Convention::Raw => vec!["i32", "i32"],
            Convention::Typed => self.params.iter().map(|p| p.name()).collect(),
        };
        match self.result {
            Some(r) => format!("({}) -> {}", params.join(", "), r.name()),
            None => format!("({})", params.join(", ")),
        }
    }
}

/// Whether an export name is reserved (never callable).
pub fn is_reserved(name: &str) -> bool {
    const RESERVED: &[&str] = &[
        "memory",
        "_start",
        "_initialize",
        "ferrite_init",
        "ferrite_alloc",
        "ferrite_free",
        "malloc",
        "free",
        "calloc",
        "realloc",
    ];
    RESERVED.contains(&name)
        || name.starts_with("__")
        || name.starts_with("cabi_")
        || name.starts_with("asyncify_")
}

/// Finds the `ferrite.abi` custom section(s) in a module's bytes.
pub(crate) fn find_abi_section(bytes: &[u8]) -> Result<Option<String>, WasmError> {
    let mut found: Option<String> = None;
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|e| WasmError::InvalidModule(e.to_string()))?;
        if let wasmparser::Payload::CustomSection(reader) = payload {
            if reader.name() != ABI_SECTION {
                continue;
            }
            if found.is_some() {
                return Err(WasmError::InvalidModule(format!(
                    "more than one '{ABI_SECTION}' section"
                )));
            }
            if reader.data().len() > ABI_SECTION_BYTES_MAX {
                return Err(WasmError::InvalidModule(format!(
                    "'{ABI_SECTION}' section larger than {ABI_SECTION_BYTES_MAX} bytes"
                )));
            }
            let text = std::str::from_utf8(reader.data()).map_err(|_| {
                WasmError::InvalidModule(format!("'{ABI_SECTION}' section is not UTF-8"))
            })?;
            found = Some(text.to_string());
        }
    }
    Ok(found)
}

/// Parses the text of a `ferrite.abi` section into `(export, signature)`.
pub(crate) fn parse_abi_section(text: &str) -> Result<Vec<(String, DeclaredSignature)>, WasmError> {
    let bad = |line: usize, why: &str| {
        WasmError::InvalidModule(format!("'{ABI_SECTION}' section line {}: {why}", line + 1))
    };
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    match lines.next() {
        Some((_, first))
            if first.split_whitespace().collect::<Vec<_>>() == ["ferrite-abi", "1"] => {}
        Some((i, _)) => return Err(bad(i, "expected 'ferrite-abi 1'")),
        None => return Err(bad(0, "empty section")),
    }
    let mut out: Vec<(String, DeclaredSignature)> = Vec::new();
    for (i, line) in lines {
        // Linkers concatenate the `ferrite.abi` sections of several objects
        // (one per `#[ferrite_function]`), so the header line may repeat.
        if line.split_whitespace().eq(["ferrite-abi", "1"]) {
            continue;
        }
        let mut words = line.split_whitespace();
        if words.next() != Some("fn") {
            return Err(bad(i, "expected 'fn <export> <sdk|raw|typed> …'"));
        }
        let name = words.next().ok_or_else(|| bad(i, "missing export name"))?;
        let convention = match words.next() {
            Some("sdk") => Convention::Sdk,
            Some("raw") => Convention::Raw,
            Some("typed") => Convention::Typed,
            _ => return Err(bad(i, "convention must be sdk, raw or typed")),
        };
        let mut params = Vec::new();
        let mut result = None;
        while let Some(word) = words.next() {
            if word == "->" {
                let ty = words
                    .next()
                    .and_then(AbiType::parse)
                    .ok_or_else(|| bad(i, "bad result type"))?;
                result = Some(ty);
                if words.next().is_some() {
                    return Err(bad(i, "text after the result type"));
                }
                break;
            }
            let (pname, pty) = word
                .split_once(':')
                .ok_or_else(|| bad(i, "parameter must be name:type"))?;
            let ty = AbiType::parse(pty)
                .filter(|t| *t != AbiType::Nil)
                .ok_or_else(|| bad(i, "bad parameter type"))?;
            if params.len() >= PARAMS_MAX {
                return Err(bad(i, "too many parameters"));
            }
            params.push((pname.to_string(), ty));
        }
        if out.iter().any(|(n, _)| n == name) {
            return Err(bad(i, "export declared twice"));
        }
        if out.len() >= EXPORTS_MAX {
            return Err(bad(i, "too many declarations"));
        }
        out.push((
            name.to_string(),
            DeclaredSignature {
                convention,
                params,
                result,
            },
        ));
    }
    Ok(out)
}

fn classify(
    name: &str,
    ty: &FuncType,
    declared: Option<DeclaredSignature>,
) -> Result<ExportInfo, WasmError> {
    let unsupported = |reason: String| WasmError::UnsupportedExport {
        name: name.to_string(),
        reason,
    };
    if name.contains('.') {
        return Err(unsupported("function names may not contain '.'".into()));
    }
    let params: Vec<ValType> = ty.params().collect();
    let results: Vec<ValType> = ty.results().collect();
    let nums: Option<Vec<NumType>> = params.iter().map(NumType::from_val).collect();
    let Some(nums) = nums else {
        return Err(unsupported(
            "parameters must be i32, i64, f32 or f64".into(),
        ));
    };
    if nums.len() > PARAMS_MAX {
        return Err(unsupported(format!("more than {PARAMS_MAX} parameters")));
    }
    let result = match results.as_slice() {
        [] => None,
        [one] => Some(
            NumType::from_val(one).ok_or_else(|| unsupported("result must be a number".into()))?,
        ),
        _ => return Err(unsupported("more than one result".into())),
    };
    let by_signature = if nums.is_empty() && result.is_none() {
        Convention::Sdk
    } else if nums == [NumType::I32, NumType::I32] && result == Some(NumType::I32) {
        Convention::Raw
    } else {
        Convention::Typed
    };
    let convention = match declared.as_ref().map(|d| d.convention) {
        None => by_signature,
        Some(Convention::Typed) => Convention::Typed,
        Some(decl) if decl == by_signature => decl,
        Some(decl) => {
            return Err(unsupported(format!(
                "'{ABI_SECTION}' declares it {} but its wasm signature is {}",
                decl.name(),
                by_signature.name()
            )))
        }
    };
    let params = if convention == Convention::Typed {
        nums
    } else {
        Vec::new()
    };
    Ok(ExportInfo {
        name: name.to_string(),
        convention,
        params,
        result,
        declared,
    })
}

/// Classifies every callable export of `module`; `bytes` are the module's
/// bytes (for the custom section). Fails naming the first bad export.
pub(crate) fn classify_exports(
    module: &Module,
    bytes: &[u8],
) -> Result<Vec<ExportInfo>, WasmError> {
    let mut declared = match find_abi_section(bytes)? {
        Some(text) => parse_abi_section(&text)?,
        None => Vec::new(),
    };
    let mut out = Vec::new();
    for export in module.exports() {
        let Some(func) = export.ty().func().cloned() else {
            continue;
        };
        if is_reserved(export.name()) {
            continue;
        }
        if out.len() >= EXPORTS_MAX {
            return Err(WasmError::InvalidModule(format!(
                "more than {EXPORTS_MAX} callable exports"
            )));
        }
        let decl = declared
            .iter()
            .position(|(n, _)| n == export.name())
            .map(|i| declared.swap_remove(i).1);
        out.push(classify(export.name(), &func, decl)?);
    }
    if let Some((name, _)) = declared.first() {
        return Err(WasmError::InvalidModule(format!(
            "'{ABI_SECTION}' declares '{name}' which is not a callable export"
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn section_parses() {
        let s =
            "ferrite-abi 1\nfn rate_limit sdk key:str limit:i64 window:i64 -> i64\n\nfn raw raw\n";
        let parsed = parse_abi_section(s).unwrap();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0].0, "rate_limit");
        assert_eq!(parsed[0].1.params.len(), 3);
        assert_eq!(parsed[0].1.result, Some(AbiType::I64));
        assert_eq!(
            parsed[0].1.to_string(),
            "(key: str, limit: i64, window: i64) -> i64"
        );
        assert_eq!(parsed[1].1.convention, Convention::Raw);
        assert!(parse_abi_section("ferrite-abi 2\n").is_err());
        assert!(parse_abi_section("ferrite-abi 1\nfn x magic\n").is_err());
        assert!(parse_abi_section("ferrite-abi 1\nfn x sdk a:float\n").is_err());
        assert!(parse_abi_section("ferrite-abi 1\nfn x sdk\nfn x sdk\n").is_err());
        // Concatenated per-function blocks (the Rust SDK) repeat the header.
        let blocks =
            parse_abi_section("ferrite-abi 1\nfn a sdk -> nil\nferrite-abi 1\nfn b sdk x:i64\n")
                .unwrap();
        assert_eq!(
            blocks.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert!(parse_abi_section("ferrite-abi 1\nferrite-abi 2\n").is_err());
    }

    #[test]
    fn reserved_names() {
        for n in [
            "_start",
            "_initialize",
            "ferrite_init",
            "__new",
            "cabi_realloc",
            "asyncify_start",
            "malloc",
            "ferrite_alloc",
        ] {
            assert!(is_reserved(n), "{n}");
        }
        assert!(!is_reserved("rate_limit"));
    }
}

//! `#[ferrite_function]`: turns a Rust function into a Ferrite guest export
//! (guest ABI v1, SDK convention `() -> ()`). See the `ferrite-wasm-sdk` crate.
//!
//! Written against the bare `proc_macro` API so that the SDK has no
//! dependency at all and builds offline with Rust 1.63.

use proc_macro::{Delimiter, Group, Ident, Literal, Punct, Spacing, Span, TokenStream, TokenTree};

/// Exports a function to Ferrite.
///
/// ```ignore
/// #[ferrite_function]
/// pub fn rate_limit(key: &str, limit: i64, window: i64) -> i64 { … }
///
/// #[ferrite_function(name = "rl")] // export under another name
/// pub fn rate_limit_v2(key: &str) -> Option<String> { … }
/// ```
///
/// Parameters: `&str`, `String`, `&[u8]`, `Vec<u8>`, `i32`, `i64`, `f64`,
/// `bool`. Returns: `()`, integers, `bool`, `f64`, `String`, `&str`,
/// `Vec<u8>`, `&[u8]`, `Reply`, `Option<T>`, `Result<T, E: Display>`.
/// Anything else is a compile error naming the supported types.
#[proc_macro_attribute]
pub fn ferrite_function(attr: TokenStream, item: TokenStream) -> TokenStream {
    match expand(attr, item.clone()) {
        Ok(generated) => {
            let mut out = item;
            out.extend(generated);
            out
        }
        Err((span, message)) => {
            let mut out = compile_error(span, &message);
            out.extend(item);
            out
        }
    }
}

type Failure = (Span, String);

const SUPPORTED_PARAMS: &str = "&str, String, &[u8], Vec<u8>, i32, i64, f64 or bool";
const SUPPORTED_RETURNS: &str = "(), an integer type, bool, f64, String, &str, Vec<u8>, &[u8], \
     Reply, Option<T> or Result<T, E: Display> of those";
const RESERVED: &[&str] = &[
    "memory", "_start", "_initialize", "ferrite_alloc", "ferrite_free", "malloc", "free", "calloc",
    "realloc",
];
/// Most parameters a function may take (an SDK limit, far above real use).
const PARAMS_MAX: usize = 64;

struct Param {
    name: String,
    ty_tokens: String,
    abi_type: &'static str,
}

fn expand(attr: TokenStream, item: TokenStream) -> Result<TokenStream, Failure> {
    let export_override = parse_attr(attr)?;
    let tokens: Vec<TokenTree> = item.into_iter().collect();
    let mut i = 0;

    // Outer attributes (doc comments included).
    while i + 1 < tokens.len() && is_punct(&tokens[i], '#') && is_group(&tokens[i + 1], Delimiter::Bracket) {
        i += 2;
    }
    // Visibility.
    if i < tokens.len() && is_ident(&tokens[i], "pub") {
        i += 1;
        if i < tokens.len() && is_group(&tokens[i], Delimiter::Parenthesis) {
            i += 1;
        }
    }
    for qualifier in ["const", "async", "unsafe", "extern", "default"] {
        if i < tokens.len() && is_ident(&tokens[i], qualifier) {
            return Err((
                tokens[i].span(),
                format!("#[ferrite_function] cannot be applied to a `{}` fn", qualifier),
            ));
        }
    }
    if i >= tokens.len() || !is_ident(&tokens[i], "fn") {
        let span = tokens.get(i).map_or_else(Span::call_site, TokenTree::span);
        return Err((span, "#[ferrite_function] must be applied to a `fn` item".to_string()));
    }
    i += 1;
    let fn_ident = match tokens.get(i) {
        Some(TokenTree::Ident(id)) => id.clone(),
        _ => return Err((Span::call_site(), "expected a function name".to_string())),
    };
    i += 1;
    if i < tokens.len() && is_punct(&tokens[i], '<') {
        return Err((tokens[i].span(), "#[ferrite_function] functions cannot be generic".to_string()));
    }
    let params_group = match tokens.get(i) {
        Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis => g.clone(),
        _ => return Err((fn_ident.span(), "expected the parameter list".to_string())),
    };
    i += 1;

    let mut ret_tokens: Vec<TokenTree> = Vec::new();
    if i + 1 < tokens.len() && is_punct(&tokens[i], '-') && is_punct(&tokens[i + 1], '>') {
        i += 2;
        while i < tokens.len() && !is_group(&tokens[i], Delimiter::Brace) {
            if is_ident(&tokens[i], "where") {
                return Err((tokens[i].span(), "#[ferrite_function] functions cannot have a where clause".to_string()));
            }
            ret_tokens.push(tokens[i].clone());
            i += 1;
        }
    }
    if i >= tokens.len() || !is_group(&tokens[i], Delimiter::Brace) {
        let span = tokens.get(i).map_or_else(|| fn_ident.span(), TokenTree::span);
        return Err((span, "expected the function body".to_string()));
    }

    let fn_name = fn_ident.to_string();
    let fn_name = fn_name.strip_prefix("r#").unwrap_or(&fn_name).to_string();
    let export = export_override.unwrap_or_else(|| fn_name.clone());
    check_export_name(&export, fn_ident.span())?;

    let params = parse_params(&params_group)?;
    let ret_abi = if ret_tokens.is_empty() {
        Some("nil")
    } else {
        let canonical = canonical_type(&ret_tokens);
        match return_abi_type(&canonical) {
            Ok(t) => t,
            Err(()) => {
                return Err((
                    ret_tokens[0].span(),
                    format!(
                        "unsupported return type `{}` for #[ferrite_function] `{}`: return {}",
                        canonical, fn_name, SUPPORTED_RETURNS
                    ),
                ))
            }
        }
    };

    // The line of the `ferrite.abi` custom section, as a self-contained block.
    let mut abi = format!("ferrite-abi 1\nfn {} sdk", export);
    for p in &params {
        abi.push_str(&format!(" {}:{}", p.name, p.abi_type));
    }
    if let Some(t) = ret_abi {
        abi.push_str(&format!(" -> {}", t));
    }
    abi.push('\n');

    let mut code = String::new();
    code.push_str(&format!(
        "#[doc(hidden)]\n#[allow(non_snake_case)]\n#[export_name = \"{export}\"]\n\
         pub extern \"C\" fn __ferrite_export_{fn_name}() {{\n\
         ::ferrite_wasm_sdk::__private::enter();\n\
         let mut __ferrite_args = ::ferrite_wasm_sdk::__private::ArgStore::<{n}>::new();\n\
         if let ::core::result::Result::Err(e) = __ferrite_args.read(\"{export}\") {{\n\
             ::ferrite_wasm_sdk::__private::fail(e); return;\n\
         }}\n",
        export = export,
        fn_name = fn_name,
        n = params.len()
    ));
    let mut call_args = Vec::new();
    for (idx, p) in params.iter().enumerate() {
        code.push_str(&format!(
            "let __ferrite_p{idx}: {ty} = match ::ferrite_wasm_sdk::__private::decode::<{ty}>(\"{export}\", \"{name}\", __ferrite_args.get({idx})) {{\n\
                 ::core::result::Result::Ok(v) => v,\n\
                 ::core::result::Result::Err(e) => {{ ::ferrite_wasm_sdk::__private::fail(e); return; }}\n\
             }};\n",
            idx = idx,
            ty = p.ty_tokens,
            export = export,
            name = p.name
        ));
        call_args.push(format!("__ferrite_p{}", idx));
    }
    code.push_str(&format!(
        "::ferrite_wasm_sdk::IntoReply::into_reply({}({}));\n}}\n",
        fn_ident,
        call_args.join(", ")
    ));
    code.push_str(&format!(
        "#[doc(hidden)]\n#[allow(non_upper_case_globals)]\n#[used]\n\
         #[cfg_attr(target_arch = \"wasm32\", link_section = \"ferrite.abi\")]\n\
         static __FERRITE_ABI_{fn_name}: [u8; {len}] = *b\"{text}\";\n",
        fn_name = fn_name,
        len = abi.len(),
        text = abi.replace('\n', "\\n")
    ));
    code.parse::<TokenStream>()
        .map_err(|e| (fn_ident.span(), format!("#[ferrite_function] internal error: {:?}", e)))
}

fn parse_attr(attr: TokenStream) -> Result<Option<String>, Failure> {
    let tokens: Vec<TokenTree> = attr.into_iter().collect();
    if tokens.is_empty() {
        return Ok(None);
    }
    let usage = "expected #[ferrite_function] or #[ferrite_function(name = \"export_name\")]";
    if tokens.len() != 3 || !is_ident(&tokens[0], "name") || !is_punct(&tokens[1], '=') {
        return Err((tokens[0].span(), usage.to_string()));
    }
    match &tokens[2] {
        TokenTree::Literal(lit) => {
            let text = lit.to_string();
            if text.len() >= 2 && text.starts_with('"') && text.ends_with('"') && !text.contains('\\') {
                Ok(Some(text[1..text.len() - 1].to_string()))
            } else {
                Err((lit.span(), "the export name must be a plain string literal".to_string()))
            }
        }
        other => Err((other.span(), usage.to_string())),
    }
}

fn check_export_name(name: &str, span: Span) -> Result<(), Failure> {
    let bad_char = name
        .chars()
        .find(|c| !(c.is_ascii_graphic()) || *c == '.' || *c == '"' || *c == '\\');
    if name.is_empty() || bad_char.is_some() {
        return Err((
            span,
            format!(
                "invalid export name `{}`: use printable ASCII without spaces, quotes or `.` \
                 (`.` separates module and export in WASM.CALL)",
                name
            ),
        ));
    }
    if RESERVED.contains(&name)
        || name.starts_with("__")
        || name.starts_with("cabi_")
        || name.starts_with("asyncify_")
    {
        return Err((span, format!("export name `{}` is reserved by the Ferrite ABI", name)));
    }
    Ok(())
}

fn parse_params(group: &Group) -> Result<Vec<Param>, Failure> {
    let mut params = Vec::new();
    let mut current: Vec<TokenTree> = Vec::new();
    let mut angle_depth = 0i32;
    let mut pieces = Vec::new();
    for tt in group.stream() {
        match &tt {
            TokenTree::Punct(p) if p.as_char() == '<' => angle_depth += 1,
            TokenTree::Punct(p) if p.as_char() == '>' => angle_depth -= 1,
            TokenTree::Punct(p) if p.as_char() == ',' && angle_depth == 0 => {
                pieces.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(tt);
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    if pieces.len() > PARAMS_MAX {
        return Err((group.span(), format!("#[ferrite_function] functions take at most {} parameters", PARAMS_MAX)));
    }
    for (index, piece) in pieces.into_iter().enumerate() {
        let mut j = 0;
        if piece.first().map_or(false, |t| is_ident(t, "mut")) {
            j = 1;
        }
        let name = match piece.get(j) {
            Some(TokenTree::Ident(id)) if id.to_string() != "self" => id.to_string(),
            Some(other) => {
                return Err((other.span(), "#[ferrite_function] parameters must be `name: Type` (no patterns, no self)".to_string()))
            }
            None => return Err((group.span(), "empty parameter".to_string())),
        };
        if !piece.get(j + 1).map_or(false, |t| is_punct(t, ':')) {
            let span = piece.get(j + 1).map_or_else(|| group.span(), TokenTree::span);
            return Err((span, "#[ferrite_function] parameters must be `name: Type`".to_string()));
        }
        let ty: Vec<TokenTree> = piece[j + 2..].to_vec();
        if ty.is_empty() {
            return Err((piece[j].span(), "missing parameter type".to_string()));
        }
        let canonical = canonical_type(&ty);
        let abi_type = match param_abi_type(&canonical) {
            Some(t) => t,
            None => {
                return Err((
                    ty[0].span(),
                    format!(
                        "unsupported parameter type `{}` for `{}`: #[ferrite_function] parameters may be {}",
                        canonical, name, SUPPORTED_PARAMS
                    ),
                ))
            }
        };
        let name = if name == "_" { format!("arg{}", index) } else { name.trim_start_matches("r#").to_string() };
        params.push(Param { name, ty_tokens: ty.into_iter().collect::<TokenStream>().to_string(), abi_type });
    }
    Ok(params)
}

fn param_abi_type(canonical: &str) -> Option<&'static str> {
    Some(match canonical {
        "&str" | "String" => "str",
        "&[u8]" | "Vec<u8>" => "bytes",
        "i32" => "i32",
        "i64" => "i64",
        "f64" => "f64",
        "bool" => "bool",
        _ => return None,
    })
}

/// `Ok(Some(t))`: the section type; `Ok(None)`: supported but no single type (`Reply`).
fn return_abi_type(canonical: &str) -> Result<Option<&'static str>, ()> {
    let t = match canonical {
        "()" => "nil",
        "i32" => "i32",
        "i8" | "i16" | "i64" | "u8" | "u16" | "u32" | "u64" | "isize" | "usize" => "i64",
        "f32" | "f64" => "f64",
        "bool" => "bool",
        "String" | "&str" => "str",
        "Vec<u8>" | "&[u8]" => "bytes",
        "Reply" => return Ok(None),
        other => {
            if let Some(inner) = other.strip_prefix("Option<").and_then(|s| s.strip_suffix('>')) {
                return return_abi_type(inner);
            }
            if let Some(inner) = other.strip_prefix("Result<").and_then(|s| s.strip_suffix('>')) {
                let ok = split_top_level_comma(inner).ok_or(())?;
                return return_abi_type(ok);
            }
            return Err(());
        }
    };
    Ok(Some(t))
}

fn split_top_level_comma(s: &str) -> Option<&str> {
    let mut depth = 0i32;
    for (i, c) in s.char_indices() {
        match c {
            '<' | '(' | '[' => depth += 1,
            '>' | ')' | ']' => depth -= 1,
            ',' if depth == 0 => return Some(&s[..i]),
            _ => {}
        }
    }
    None
}

/// A type written without spaces, lifetimes or the usual std path prefixes:
/// `&'a std::primitive::str` → `&str`, `std::vec::Vec<u8>` → `Vec<u8>`.
fn canonical_type(tokens: &[TokenTree]) -> String {
    let mut out = String::new();
    flatten(tokens.iter().cloned(), &mut out);
    let mut s = out;
    for prefix in [
        "::", "std::string::", "alloc::string::", "std::vec::", "alloc::vec::", "std::option::",
        "core::option::", "std::result::", "core::result::", "std::primitive::", "core::primitive::",
        "ferrite_wasm_sdk::",
    ] {
        loop {
            // Only strip at the start of a path segment.
            let pos = find_path_start(&s, prefix);
            match pos {
                Some(p) => s.replace_range(p..p + prefix.len(), ""),
                None => break,
            }
        }
    }
    s
}

fn find_path_start(s: &str, prefix: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(rel) = s[from..].find(prefix) {
        let p = from + rel;
        let before = s[..p].chars().last();
        let at_start = match before {
            None => true,
            Some(c) => !(c.is_alphanumeric() || c == '_' || c == ':'),
        };
        if at_start {
            return Some(p);
        }
        from = p + prefix.len();
    }
    None
}

fn flatten(tokens: impl Iterator<Item = TokenTree>, out: &mut String) {
    let mut skip_lifetime_name = false;
    for tt in tokens {
        match tt {
            TokenTree::Ident(id) => {
                if skip_lifetime_name {
                    skip_lifetime_name = false;
                    continue;
                }
                if out.chars().last().map_or(false, |c| c.is_alphanumeric() || c == '_') {
                    out.push(' ');
                }
                out.push_str(&id.to_string());
            }
            TokenTree::Punct(p) => {
                if p.as_char() == '\'' {
                    skip_lifetime_name = true;
                } else {
                    out.push(p.as_char());
                }
            }
            TokenTree::Group(g) => {
                let (open, close) = match g.delimiter() {
                    Delimiter::Parenthesis => ("(", ")"),
                    Delimiter::Bracket => ("[", "]"),
                    Delimiter::Brace => ("{", "}"),
                    Delimiter::None => ("", ""),
                };
                out.push_str(open);
                flatten(g.stream().into_iter(), out);
                out.push_str(close);
            }
            TokenTree::Literal(l) => out.push_str(&l.to_string()),
        }
    }
}

fn is_punct(tt: &TokenTree, c: char) -> bool {
    matches!(tt, TokenTree::Punct(p) if p.as_char() == c)
}

fn is_ident(tt: &TokenTree, name: &str) -> bool {
    matches!(tt, TokenTree::Ident(id) if id.to_string() == name)
}

fn is_group(tt: &TokenTree, delimiter: Delimiter) -> bool {
    matches!(tt, TokenTree::Group(g) if g.delimiter() == delimiter)
}

/// `::core::compile_error!("message");` with every token at `span`.
fn compile_error(span: Span, message: &str) -> TokenStream {
    let mut tokens: Vec<TokenTree> = Vec::new();
    let colon2 = |tokens: &mut Vec<TokenTree>| {
        tokens.push(TokenTree::Punct(Punct::new(':', Spacing::Joint)));
        tokens.push(TokenTree::Punct(Punct::new(':', Spacing::Alone)));
    };
    colon2(&mut tokens);
    tokens.push(TokenTree::Ident(Ident::new("core", span)));
    colon2(&mut tokens);
    tokens.push(TokenTree::Ident(Ident::new("compile_error", span)));
    tokens.push(TokenTree::Punct(Punct::new('!', Spacing::Alone)));
    let mut lit = Literal::string(message);
    lit.set_span(span);
    let mut group = Group::new(Delimiter::Parenthesis, TokenStream::from(TokenTree::Literal(lit)));
    group.set_span(span);
    tokens.push(TokenTree::Group(group));
    tokens.push(TokenTree::Punct(Punct::new(';', Spacing::Alone)));
    tokens
        .into_iter()
        .map(|mut t| {
            t.set_span(span);
            t
        })
        .collect()
}

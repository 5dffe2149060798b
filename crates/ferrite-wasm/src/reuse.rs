//! Instance reuse: one instance serves many calls, and every call still
//! starts from the state of a fresh instance.
//!
//! A fresh instance per call costs an instantiation and, when the instance
//! is freed, a reset of its pool slot (an `ioctl(PAGEMAP_SCAN)` and page
//! copies): together about a third of the server's time on a small
//! function. Instead, a module is rewritten at load time so that it records
//! what a call changes, and after the call the host puts back exactly that:
//!
//! * Before every store to linear memory the rewritten code sets the bit of
//!   the chunk it writes in a 64-bit mask, a global that only the added code
//!   names (the guest's own code cannot reach it). `memory.fill`,
//!   `memory.copy` and `memory.init` set the bits of their whole destination.
//!   A chunk is the initial memory size / 64, rounded up to a power of two
//!   and at least [`CHUNK_BYTES_MIN`], so the 64 bits cover the initial
//!   memory.
//! * Every mutable global is exported (as `__ferrite_global_<index>`), so
//!   that the host can restore it, exported or not (`__stack_pointer`); the
//!   memory is exported as `__ferrite_memory`, whatever the module calls it.
//! * When every mutable global is a number, each gets a shadow global and
//!   two functions are added: `__ferrite_save` (shadows = globals, called
//!   once when the snapshot is taken) and `__ferrite_reset` (globals =
//!   shadows, mask = 0, returns the old mask, called after every call): one
//!   call into the instance instead of a host `Global::get`/`set` each.
//!
//! After a call the executor copies the marked chunks back from an image of
//! the memory taken right after instantiation ([`Snapshot`]), with
//! [`STRADDLE_BYTES`] more past each chunk for a store that crosses a chunk
//! end, and restores the globals and clears the mask (through
//! `__ferrite_reset` when the module has it). Host writes into guest
//! memory (arguments, results) set the same bits through
//! [`DirtyChunks::mark`]. An instance whose memory grew, or whose call
//! trapped or hit a limit, is dropped instead (the next call gets a fresh
//! one).
//!
//! Modules outside what the rewrite covers completely are not rewritten and
//! get a fresh instance per call, as before: modules that use threads
//! (atomics), GC, exceptions, stack switching, memory control, several or
//! 64-bit memories, or instructions that change tables or drop segments
//! (`table.set/grow/fill/copy/init`, `elem.drop`, `data.drop`).
//!
//! The module's initializers (`_initialize`, `ferrite_init`) run once per
//! instance before the snapshot (see the executor), so calls start from
//! the state right after them.
//!
//! The added instructions consume fuel like the guest's own (about 12 units
//! per store).

use std::sync::Arc;

use wasm_encoder::reencode::{self, Reencode};
use wasm_encoder::{BlockType, ConstExpr, ExportKind, Instruction, SectionId, ValType};
use wasmparser::{Operator, Parser, Payload, TypeRef, Validator, WasmFeatures};
use wasmtime::{AsContextMut, Global, Memory, TypedFunc, Val};

/// Export name of the dirty-chunk mask global.
pub(crate) const DIRTY_EXPORT: &str = "__ferrite_dirty";
/// Export name of the module's memory.
pub(crate) const MEMORY_EXPORT: &str = "__ferrite_memory";
/// Export name prefix of the module's mutable globals.
pub(crate) const GLOBAL_EXPORT_PREFIX: &str = "__ferrite_global_";
/// Export name of the added function that copies the mutable globals into
/// their shadows (once, when the snapshot is taken).
pub(crate) const SAVE_EXPORT: &str = "__ferrite_save";
/// Export name of the added function that puts the mutable globals back
/// from their shadows, clears the mask and returns what it held (after
/// every call).
pub(crate) const RESET_EXPORT: &str = "__ferrite_reset";
/// Smallest chunk, in bytes (a power of two).
pub(crate) const CHUNK_BYTES_MIN: u64 = 1024;
/// Widest store (`v128.store`) minus one: how far a store that starts in a
/// chunk can reach into the next one.
pub(crate) const STRADDLE_BYTES: usize = 15;
/// Chunks one mask covers.
const CHUNKS: u64 = 64;

/// What a rewritten module needs from the host after each call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    /// log2 of the chunk size in bytes.
    pub chunk_shift: u32,
    /// Export names of the module's mutable globals, in index order.
    pub globals: Vec<String>,
    /// The module defines a memory (exported as [`MEMORY_EXPORT`]).
    pub memory: bool,
    /// The module has [`SAVE_EXPORT`] and [`RESET_EXPORT`]: the host puts
    /// the globals back with one call into the instance instead of a
    /// `Global::get`/`set` per global (~150 Ir each, mostly type checks).
    pub reset_export: bool,
}

/// A module rewritten for reuse.
#[derive(Debug)]
pub(crate) struct Rewritten {
    /// The rewritten module.
    pub wasm: Vec<u8>,
    /// Its reset plan.
    pub plan: Plan,
}

/// Chunks of guest memory written during a call by the host (the guest's
/// own writes are in the mask global).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct DirtyChunks {
    /// log2 of the chunk size; `None`: the instance is not reused, nothing
    /// to record.
    pub shift: Option<u32>,
    /// Bit `i`: chunk `i` (modulo 64) was written.
    pub mask: u64,
}

impl DirtyChunks {
    /// Records a host write of `len` bytes at `start`.
    #[inline]
    pub(crate) fn mark(&mut self, start: usize, len: usize) {
        let Some(shift) = self.shift else { return };
        if len == 0 {
            return;
        }
        let first = start >> shift;
        let last = (start + (len - 1)) >> shift;
        if last - first >= CHUNKS as usize - 1 {
            self.mask = u64::MAX;
            return;
        }
        for chunk in first..=last {
            self.mask |= 1u64 << (chunk % CHUNKS as usize);
        }
    }
}

/// Rewrites `wasm` for reuse, or says why it is not rewritten (it validates
/// `wasm` itself, with only the features the rewrite covers).
pub(crate) fn rewrite(wasm: &[u8]) -> Result<Rewritten, &'static str> {
    let survey = Survey::of(wasm)?;
    let chunk_shift = survey.chunk_shift();
    let memory = survey.memories == 1;
    let mut rewriter = Rewriter {
        survey,
        chunk_shift,
        next_body: 0,
        globals_added: false,
        exports_added: false,
    };
    let mut module = wasm_encoder::Module::new();
    rewriter
        .parse_core_module(&mut module, Parser::new(0), wasm)
        .map_err(|e| match e {
            reencode::Error::UserError(why) => why,
            _ => "the module could not be re-encoded",
        })?;
    let globals = rewriter
        .survey
        .mutable_globals
        .iter()
        .map(|g| format!("{GLOBAL_EXPORT_PREFIX}{g}"))
        .collect();
    Ok(Rewritten {
        wasm: module.finish(),
        plan: Plan {
            chunk_shift,
            globals,
            memory,
            reset_export: rewriter.survey.reset_export(),
        },
    })
}

/// What the rewrite needs to know about a module before re-encoding it.
#[derive(Debug, Default)]
struct Survey {
    /// Parameter count of each type (0 for non-function types).
    type_params: Vec<u32>,
    /// Type index of each defined function.
    defined_func_types: Vec<u32>,
    /// Imported plus defined globals (the index of the mask global).
    globals: u32,
    /// Indices of mutable globals defined by the module.
    mutable_globals: Vec<u32>,
    /// Their value types, in the same order (`None`: not a number).
    mutable_global_types: Vec<Option<ValType>>,
    /// Imported functions (the first defined one's index).
    imported_funcs: u32,
    /// The module has a type, a function and a code section (where the
    /// reset functions go).
    has_type_section: bool,
    has_function_section: bool,
    has_code_section: bool,
    /// Initial size of the module's memory in bytes (0: none).
    memory_bytes: u64,
    /// Memories the module defines (imported ones are refused).
    memories: u32,
    has_global_section: bool,
    has_export_section: bool,
    /// Whether any function stores a `v128`.
    v128_stores: bool,
}

impl Survey {
    fn of(wasm: &[u8]) -> Result<Survey, &'static str> {
        // What the rewrite covers: every instruction that writes state is
        // known to it. Anything else validates only with more features.
        let features = WasmFeatures::default()
            - WasmFeatures::THREADS
            - WasmFeatures::SHARED_EVERYTHING_THREADS
            - WasmFeatures::GC
            - WasmFeatures::EXCEPTIONS
            - WasmFeatures::LEGACY_EXCEPTIONS
            - WasmFeatures::STACK_SWITCHING
            - WasmFeatures::MEMORY_CONTROL
            - WasmFeatures::MEMORY64
            - WasmFeatures::MULTI_MEMORY;
        Validator::new_with_features(features)
            .validate_all(wasm)
            .map_err(|_| "it uses a feature the rewrite does not cover")?;
        let mut s = Survey::default();
        for payload in Parser::new(0).parse_all(wasm) {
            match payload.map_err(|_| "malformed")? {
                Payload::TypeSection(reader) => {
                    s.has_type_section = true;
                    for group in reader {
                        for sub in group.map_err(|_| "malformed")?.into_types() {
                            let params = match &sub.composite_type.inner {
                                wasmparser::CompositeInnerType::Func(f) => f.params().len(),
                                _ => 0,
                            };
                            s.type_params.push(params as u32);
                        }
                    }
                }
                Payload::ImportSection(reader) => {
                    for import in reader.into_imports() {
                        match import.map_err(|_| "malformed")?.ty {
                            TypeRef::Global(_) => s.globals += 1,
                            TypeRef::Func(_) => s.imported_funcs += 1,
                            TypeRef::Memory(_) => return Err("it imports a memory"),
                            _ => {}
                        }
                    }
                }
                Payload::FunctionSection(reader) => {
                    s.has_function_section = true;
                    for ty in reader {
                        s.defined_func_types.push(ty.map_err(|_| "malformed")?);
                    }
                }
                Payload::MemorySection(reader) => {
                    for memory in reader {
                        let memory = memory.map_err(|_| "malformed")?;
                        s.memories += 1;
                        let page = 1u64 << memory.page_size_log2.unwrap_or(16);
                        s.memory_bytes = memory.initial.saturating_mul(page);
                    }
                }
                Payload::GlobalSection(reader) => {
                    s.has_global_section = true;
                    for global in reader {
                        let ty = global.map_err(|_| "malformed")?.ty;
                        if ty.mutable {
                            s.mutable_globals.push(s.globals);
                            s.mutable_global_types.push(match ty.content_type {
                                wasmparser::ValType::I32 => Some(ValType::I32),
                                wasmparser::ValType::I64 => Some(ValType::I64),
                                wasmparser::ValType::F32 => Some(ValType::F32),
                                wasmparser::ValType::F64 => Some(ValType::F64),
                                _ => None,
                            });
                        }
                        s.globals += 1;
                    }
                }
                Payload::ExportSection(_) => s.has_export_section = true,
                Payload::CodeSectionStart { .. } => s.has_code_section = true,
                Payload::CodeSectionEntry(body) => {
                    let mut ops = body.get_operators_reader().map_err(|_| "malformed")?;
                    while !ops.eof() {
                        match ops.read().map_err(|_| "malformed")? {
                            Operator::DataDrop { .. } => return Err("it uses data.drop"),
                            Operator::ElemDrop { .. } => return Err("it uses elem.drop"),
                            Operator::TableSet { .. }
                            | Operator::TableGrow { .. }
                            | Operator::TableFill { .. }
                            | Operator::TableCopy { .. }
                            | Operator::TableInit { .. } => {
                                return Err("it changes a table");
                            }
                            Operator::V128Store { .. }
                            | Operator::V128Store8Lane { .. }
                            | Operator::V128Store16Lane { .. }
                            | Operator::V128Store32Lane { .. }
                            | Operator::V128Store64Lane { .. } => s.v128_stores = true,
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        if s.memories > 1 {
            return Err("it has several memories");
        }
        Ok(s)
    }

    /// Whether the rewrite adds [`SAVE_EXPORT`] and [`RESET_EXPORT`]: the
    /// module has the sections they go in, and every mutable global is a
    /// number (a shadow needs a constant initializer of its type).
    fn reset_export(&self) -> bool {
        self.has_type_section
            && self.has_function_section
            && self.has_code_section
            && self.mutable_global_types.iter().all(Option::is_some)
    }

    /// Type index of the added `() -> ()`; `() -> i64` follows it.
    fn save_type(&self) -> u32 {
        self.type_params.len() as u32
    }

    /// Function index of [`SAVE_EXPORT`]; [`RESET_EXPORT`] follows it.
    fn save_func(&self) -> u32 {
        self.imported_funcs + self.defined_func_types.len() as u32
    }

    fn chunk_shift(&self) -> u32 {
        let chunk = self.memory_bytes.div_ceil(CHUNKS).max(CHUNK_BYTES_MIN);
        let shift = chunk.next_power_of_two().trailing_zeros();
        debug_assert!((1u64 << shift) * CHUNKS >= self.memory_bytes);
        shift
    }
}

/// The value type a store instruction stores, or `None` if `op` is no store.
fn stored_type(op: &Operator<'_>) -> Option<(ValType, u64)> {
    Some(match op {
        Operator::I32Store { memarg }
        | Operator::I32Store8 { memarg }
        | Operator::I32Store16 { memarg } => (ValType::I32, memarg.offset),
        Operator::I64Store { memarg }
        | Operator::I64Store8 { memarg }
        | Operator::I64Store16 { memarg }
        | Operator::I64Store32 { memarg } => (ValType::I64, memarg.offset),
        Operator::F32Store { memarg } => (ValType::F32, memarg.offset),
        Operator::F64Store { memarg } => (ValType::F64, memarg.offset),
        Operator::V128Store { memarg }
        | Operator::V128Store8Lane { memarg, .. }
        | Operator::V128Store16Lane { memarg, .. }
        | Operator::V128Store32Lane { memarg, .. }
        | Operator::V128Store64Lane { memarg, .. } => (ValType::V128, memarg.offset),
        _ => return None,
    })
}

/// Temporary locals added to every function.
#[derive(Debug, Clone, Copy)]
struct Temps {
    /// Three i32s: address (or destination), and the two other operands of a
    /// bulk operation.
    a: u32,
    b: u32,
    c: u32,
    i64: u32,
    f32: u32,
    f64: u32,
    /// Present only if the module stores `v128`s.
    v128: u32,
}

impl Temps {
    fn value(&self, ty: ValType) -> u32 {
        match ty {
            ValType::I32 => self.b,
            ValType::I64 => self.i64,
            ValType::F32 => self.f32,
            ValType::F64 => self.f64,
            _ => self.v128,
        }
    }
}

struct Rewriter {
    survey: Survey,
    chunk_shift: u32,
    /// Index of the next function body among the defined functions.
    next_body: usize,
    globals_added: bool,
    exports_added: bool,
}

impl Rewriter {
    fn mask_global(&self) -> u32 {
        self.survey.globals
    }

    /// Index of the shadow of the `k`-th mutable global (after the mask).
    fn shadow_global(&self, k: usize) -> u32 {
        self.mask_global() + 1 + k as u32
    }

    fn add_globals(&mut self, globals: &mut wasm_encoder::GlobalSection) {
        globals.global(
            wasm_encoder::GlobalType {
                val_type: ValType::I64,
                mutable: true,
                shared: false,
            },
            &ConstExpr::i64_const(0),
        );
        if self.survey.reset_export() {
            for ty in self.survey.mutable_global_types.iter().flatten() {
                let init = match ty {
                    ValType::I32 => ConstExpr::i32_const(0),
                    ValType::I64 => ConstExpr::i64_const(0),
                    ValType::F32 => ConstExpr::f32_const(0.0.into()),
                    _ => ConstExpr::f64_const(0.0.into()),
                };
                let ty = wasm_encoder::GlobalType {
                    val_type: *ty,
                    mutable: true,
                    shared: false,
                };
                globals.global(ty, &init);
            }
        }
        self.globals_added = true;
    }

    /// The bodies of [`SAVE_EXPORT`] (`shadow_k = global_k`) and
    /// [`RESET_EXPORT`] (`global_k = shadow_k; r = mask; mask = 0; r`).
    fn add_reset_bodies(&self, code: &mut wasm_encoder::CodeSection) {
        let globals = &self.survey.mutable_globals;
        let mut save = wasm_encoder::Function::new([]);
        for (k, &g) in globals.iter().enumerate() {
            save.instruction(&Instruction::GlobalGet(g));
            save.instruction(&Instruction::GlobalSet(self.shadow_global(k)));
        }
        save.instruction(&Instruction::End);
        code.function(&save);
        let mut reset = wasm_encoder::Function::new([]);
        for (k, &g) in globals.iter().enumerate() {
            reset.instruction(&Instruction::GlobalGet(self.shadow_global(k)));
            reset.instruction(&Instruction::GlobalSet(g));
        }
        reset.instruction(&Instruction::GlobalGet(self.mask_global()));
        reset.instruction(&Instruction::I64Const(0));
        reset.instruction(&Instruction::GlobalSet(self.mask_global()));
        reset.instruction(&Instruction::End);
        code.function(&reset);
    }

    fn add_exports(&mut self, exports: &mut wasm_encoder::ExportSection) {
        exports.export(DIRTY_EXPORT, ExportKind::Global, self.mask_global());
        if self.survey.memories == 1 {
            exports.export(MEMORY_EXPORT, ExportKind::Memory, 0);
        }
        for &g in &self.survey.mutable_globals {
            exports.export(&format!("{GLOBAL_EXPORT_PREFIX}{g}"), ExportKind::Global, g);
        }
        if self.survey.reset_export() {
            let save = self.survey.save_func();
            exports.export(SAVE_EXPORT, ExportKind::Func, save);
            exports.export(RESET_EXPORT, ExportKind::Func, save + 1);
        }
        self.exports_added = true;
    }

    /// `mask |= 1 << ((a + offset) >> shift)`: the chunk a store at `a`
    /// (in local `a`) with `offset` starts in. Offsets past 4 GiB, or an
    /// address that wraps, trap in the store itself.
    fn mark_store(&self, f: &mut wasm_encoder::Function, a: u32, offset: u64) {
        let mask = self.mask_global();
        f.instruction(&Instruction::GlobalGet(mask));
        f.instruction(&Instruction::I64Const(1));
        f.instruction(&Instruction::LocalGet(a));
        if offset != 0 {
            // A memarg offset of a 32-bit memory is below 2^32.
            f.instruction(&Instruction::I32Const(offset as u32 as i32));
            f.instruction(&Instruction::I32Add);
        }
        f.instruction(&Instruction::I32Const(self.chunk_shift as i32));
        f.instruction(&Instruction::I32ShrU);
        f.instruction(&Instruction::I64ExtendI32U);
        f.instruction(&Instruction::I64Shl);
        f.instruction(&Instruction::I64Or);
        f.instruction(&Instruction::GlobalSet(mask));
    }

    /// Marks chunks `dst >> shift ..= (dst + len - 1) >> shift` (nothing if
    /// `len` is 0; from the first chunk on if the range reaches past 64
    /// chunks, which happens only when the memory grew or the operation
    /// traps). `dst` and `len` are i32 locals; `t` is an i64 scratch local.
    fn mark_range(&self, f: &mut wasm_encoder::Function, dst: u32, len: u32, t: u32) {
        let mask = self.mask_global();
        let shift = i64::from(self.chunk_shift);
        f.instruction(&Instruction::LocalGet(len));
        f.instruction(&Instruction::If(BlockType::Empty));
        // t = (dst + len - 1) >> shift, in 64 bits (no wrap)
        f.instruction(&Instruction::LocalGet(dst));
        f.instruction(&Instruction::I64ExtendI32U);
        f.instruction(&Instruction::LocalGet(len));
        f.instruction(&Instruction::I64ExtendI32U);
        f.instruction(&Instruction::I64Add);
        f.instruction(&Instruction::I64Const(1));
        f.instruction(&Instruction::I64Sub);
        f.instruction(&Instruction::I64Const(shift));
        f.instruction(&Instruction::I64ShrU);
        f.instruction(&Instruction::LocalSet(t));
        // mask |= (-1 << first) & (-1 >>u (63 - min(last, 63)))
        f.instruction(&Instruction::GlobalGet(mask));
        f.instruction(&Instruction::I64Const(-1));
        f.instruction(&Instruction::LocalGet(dst));
        f.instruction(&Instruction::I64ExtendI32U);
        f.instruction(&Instruction::I64Const(shift));
        f.instruction(&Instruction::I64ShrU);
        f.instruction(&Instruction::I64Shl);
        f.instruction(&Instruction::I64Const(-1));
        f.instruction(&Instruction::I64Const(63));
        f.instruction(&Instruction::LocalGet(t));
        f.instruction(&Instruction::I64Const(63));
        f.instruction(&Instruction::LocalGet(t));
        f.instruction(&Instruction::I64Const(63));
        f.instruction(&Instruction::I64LtU);
        f.instruction(&Instruction::Select);
        f.instruction(&Instruction::I64Sub);
        f.instruction(&Instruction::I64ShrU);
        f.instruction(&Instruction::I64And);
        f.instruction(&Instruction::I64Or);
        f.instruction(&Instruction::GlobalSet(mask));
        f.instruction(&Instruction::End);
    }
}

impl Reencode for Rewriter {
    /// Why the module is not rewritten after all.
    type Error = &'static str;

    fn parse_global_section(
        &mut self,
        globals: &mut wasm_encoder::GlobalSection,
        section: wasmparser::GlobalSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_global_section(self, globals, section)?;
        self.add_globals(globals);
        Ok(())
    }

    fn parse_type_section(
        &mut self,
        types: &mut wasm_encoder::TypeSection,
        section: wasmparser::TypeSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_type_section(self, types, section)?;
        if self.survey.reset_export() {
            types.ty().function([], []);
            types.ty().function([], [ValType::I64]);
        }
        Ok(())
    }

    fn parse_function_section(
        &mut self,
        functions: &mut wasm_encoder::FunctionSection,
        section: wasmparser::FunctionSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_function_section(self, functions, section)?;
        if self.survey.reset_export() {
            let save = self.survey.save_type();
            functions.function(save);
            functions.function(save + 1);
        }
        Ok(())
    }

    fn parse_code_section(
        &mut self,
        code: &mut wasm_encoder::CodeSection,
        section: wasmparser::CodeSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_code_section(self, code, section)?;
        if self.survey.reset_export() {
            self.add_reset_bodies(code);
        }
        Ok(())
    }

    fn parse_export_section(
        &mut self,
        exports: &mut wasm_encoder::ExportSection,
        section: wasmparser::ExportSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_export_section(self, exports, section)?;
        self.add_exports(exports);
        Ok(())
    }

    fn intersperse_section_hook(
        &mut self,
        module: &mut wasm_encoder::Module,
        _after: Option<SectionId>,
        before: Option<SectionId>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        // A module without a global or export section gets one in its place.
        let past = |id: SectionId| before.is_none_or(|b| order(b) > order(id));
        if !self.survey.has_global_section && !self.globals_added && past(SectionId::Global) {
            let mut globals = wasm_encoder::GlobalSection::new();
            self.add_globals(&mut globals);
            module.section(&globals);
        }
        if !self.survey.has_export_section && !self.exports_added && past(SectionId::Export) {
            let mut exports = wasm_encoder::ExportSection::new();
            self.add_exports(&mut exports);
            module.section(&exports);
        }
        Ok(())
    }

    fn parse_function_body(
        &mut self,
        code: &mut wasm_encoder::CodeSection,
        func: wasmparser::FunctionBody<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        // Validation made these consistent; a mismatch is refused, not
        // indexed.
        let inconsistent = || reencode::Error::UserError("inconsistent function types");
        let ty = *self
            .survey
            .defined_func_types
            .get(self.next_body)
            .ok_or_else(inconsistent)?;
        self.next_body += 1;
        let mut next_local = *self
            .survey
            .type_params
            .get(ty as usize)
            .ok_or_else(inconsistent)?;
        let mut locals = Vec::new();
        for pair in func.get_locals_reader()? {
            let (count, ty) = pair?;
            next_local = next_local.checked_add(count).ok_or_else(inconsistent)?;
            locals.push((count, self.val_type(ty)?));
        }
        // Seven more locals must still be addressable (past the limit the
        // engine refuses the rewritten module and it runs unrewritten).
        next_local.checked_add(7).ok_or_else(inconsistent)?;
        let temps = Temps {
            a: next_local,
            b: next_local + 1,
            c: next_local + 2,
            i64: next_local + 3,
            f32: next_local + 4,
            f64: next_local + 5,
            v128: next_local + 6,
        };
        locals.extend([
            (3, ValType::I32),
            (1, ValType::I64),
            (1, ValType::F32),
            (1, ValType::F64),
        ]);
        if self.survey.v128_stores {
            locals.push((1, ValType::V128));
        }
        let mut f = wasm_encoder::Function::new(locals);
        let mut reader = func.get_operators_reader()?;
        while !reader.eof() {
            let op = reader.read()?;
            if let Some((ty, offset)) = stored_type(&op) {
                let v = temps.value(ty);
                f.instruction(&Instruction::LocalSet(v));
                f.instruction(&Instruction::LocalSet(temps.a));
                self.mark_store(&mut f, temps.a, offset);
                f.instruction(&Instruction::LocalGet(temps.a));
                f.instruction(&Instruction::LocalGet(v));
            } else if matches!(
                op,
                Operator::MemoryFill { .. }
                    | Operator::MemoryCopy { .. }
                    | Operator::MemoryInit { .. }
            ) {
                // (dst, x, len) for all three.
                f.instruction(&Instruction::LocalSet(temps.c));
                f.instruction(&Instruction::LocalSet(temps.b));
                f.instruction(&Instruction::LocalSet(temps.a));
                self.mark_range(&mut f, temps.a, temps.c, temps.i64);
                f.instruction(&Instruction::LocalGet(temps.a));
                f.instruction(&Instruction::LocalGet(temps.b));
                f.instruction(&Instruction::LocalGet(temps.c));
            }
            f.instruction(&self.instruction(op)?);
        }
        code.function(&f);
        Ok(())
    }
}

/// Position of a section in a module (custom sections aside).
fn order(id: SectionId) -> u8 {
    match id {
        SectionId::Type => 1,
        SectionId::Import => 2,
        SectionId::Function => 3,
        SectionId::Table => 4,
        SectionId::Memory => 5,
        SectionId::Tag => 6,
        SectionId::Global => 7,
        SectionId::Export => 8,
        SectionId::Start => 9,
        SectionId::Element => 10,
        SectionId::DataCount => 11,
        SectionId::Code => 12,
        SectionId::Data => 13,
        _ => 0,
    }
}

/// The state of one instance right after instantiation, and the handles to
/// put it back.
pub(crate) struct Snapshot {
    memory: Option<(Memory, Arc<[u8]>)>,
    dirty: Global,
    globals: Vec<(Global, Val)>,
    /// [`RESET_EXPORT`], when the module has it (the globals' values are
    /// then in their shadows, saved by [`SAVE_EXPORT`]).
    reset: Option<TypedFunc<(), i64>>,
    chunk_shift: u32,
}

/// Why an instance cannot be put back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotRestored {
    /// Its memory grew.
    MemoryGrew,
    /// A handle is missing or of the wrong type (a bug).
    Broken,
}

impl Snapshot {
    /// Takes the snapshot of a just-created `instance` of a module rewritten
    /// with `plan`. `shared` is an image of an earlier instance of the same
    /// module: used instead of a copy when equal.
    pub(crate) fn take(
        mut store: impl AsContextMut,
        instance: &wasmtime::Instance,
        plan: &Plan,
        shared: Option<&Arc<[u8]>>,
    ) -> Option<Snapshot> {
        let mut store = store.as_context_mut();
        let dirty = instance.get_global(&mut store, DIRTY_EXPORT)?;
        // The memory by its added export: a module need not export it as
        // `memory`, and an unrestored memory would carry one call's data
        // into the next.
        let memory = match plan.memory {
            true => Some(instance.get_memory(&mut store, MEMORY_EXPORT)?),
            false => None,
        };
        let mut globals = Vec::with_capacity(plan.globals.len());
        for name in &plan.globals {
            let g = instance.get_global(&mut store, name)?;
            let v = g.get(&mut store);
            globals.push((g, v));
        }
        let reset = match plan.reset_export {
            true => {
                let save = instance
                    .get_typed_func::<(), ()>(&mut store, SAVE_EXPORT)
                    .ok()?;
                let reset = instance
                    .get_typed_func::<(), i64>(&mut store, RESET_EXPORT)
                    .ok()?;
                unbudgeted(&mut store);
                save.call(&mut store, ()).ok()?;
                Some(reset)
            }
            false => None,
        };
        let memory = memory.map(|m| {
            let data = m.data(&store);
            let image = match shared {
                Some(image) if **image == *data => image.clone(),
                _ => Arc::from(data),
            };
            (m, image)
        });
        Some(Snapshot {
            memory,
            dirty,
            globals,
            reset,
            chunk_shift: plan.chunk_shift,
        })
    }

    /// The memory image (to share with the next instance).
    pub(crate) fn image(&self) -> Option<&Arc<[u8]>> {
        self.memory.as_ref().map(|(_, image)| image)
    }

    /// log2 of the chunk size.
    pub(crate) fn chunk_shift(&self) -> u32 {
        self.chunk_shift
    }

    /// Puts the instance back in its snapshot state: the chunks marked by
    /// the guest (mask global) or the host (`host_mask`), the globals, and
    /// the mask. Returns how many bytes it copied.
    pub(crate) fn restore(
        &self,
        mut store: impl AsContextMut,
        host_mask: u64,
    ) -> Result<usize, NotRestored> {
        let mut store = store.as_context_mut();
        // With the reset export, one call puts the globals back and clears
        // the mask (what it held is returned); otherwise the host does it,
        // global by global, after the memory.
        let guest_mask = match &self.reset {
            Some(reset) => {
                unbudgeted(&mut store);
                reset
                    .call(&mut store, ())
                    .map_err(|_| NotRestored::Broken)?
            }
            None => match self.dirty.get(&mut store) {
                Val::I64(mask) => mask,
                _ => return Err(NotRestored::Broken),
            },
        };
        let mask = guest_mask as u64 | host_mask;
        let mut copied = 0;
        if let Some((memory, image)) = &self.memory {
            let data = memory.data_mut(&mut store);
            if data.len() != image.len() {
                return Err(NotRestored::MemoryGrew);
            }
            let chunk = 1usize << self.chunk_shift;
            let mut bits = mask;
            while bits != 0 {
                let i = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let start = (i * chunk).min(data.len());
                let end = (start + chunk + STRADDLE_BYTES).min(data.len());
                data[start..end].copy_from_slice(&image[start..end]);
                copied += end - start;
            }
        }
        if self.reset.is_none() {
            if mask != 0 {
                self.dirty
                    .set(&mut store, Val::I64(0))
                    .map_err(|_| NotRestored::Broken)?;
            }
            for (g, v) in &self.globals {
                g.set(&mut store, *v).map_err(|_| NotRestored::Broken)?;
            }
        }
        Ok(copied)
    }
}

/// Lifts the fuel and epoch limits of a call that ended, so that the host's
/// own short calls into the instance (save, reset) cannot trip them. The
/// next call sets its own budget before it runs.
fn unbudgeted(store: &mut wasmtime::StoreContextMut<'_, impl Sized>) {
    // Fails only when fuel is not enabled: nothing to lift then.
    let _ = store.set_fuel(u64::MAX);
    store.set_epoch_deadline(u64::MAX / 2);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewrite_wat(wat: &str) -> Result<Rewritten, &'static str> {
        rewrite(&wat::parse_str(wat).unwrap())
    }

    #[test]
    fn chunk_covers_initial_memory() {
        for (pages, shift) in [(0u64, 10u32), (1, 10), (3, 12), (17, 15), (1024, 20)] {
            let s = Survey {
                memory_bytes: pages * 65536,
                ..Survey::default()
            };
            assert_eq!(s.chunk_shift(), shift, "{pages} pages");
        }
    }

    #[test]
    fn rewritten_module_validates_and_exports_state() {
        let r = rewrite_wat(
            r#"(module
                (memory (export "memory") 1)
                (global $sp (mut i32) (i32.const 1024))
                (global $k i32 (i32.const 7))
                (func (export "f") (param i32)
                    (i64.store offset=8 (local.get 0) (i64.const 5))
                    (memory.fill (i32.const 0) (i32.const 1) (i32.const 10))))"#,
        )
        .unwrap();
        wasmparser::validate(&r.wasm).unwrap();
        assert_eq!(r.plan.globals, vec!["__ferrite_global_0".to_string()]);
        let text = export_names(&r.wasm);
        assert!(text.contains(&DIRTY_EXPORT.to_string()));
        assert!(r.plan.reset_export);
        assert!(text.contains(&SAVE_EXPORT.to_string()));
        assert!(text.contains(&RESET_EXPORT.to_string()));
    }

    #[test]
    fn reset_export_saves_and_restores_globals_and_clears_the_mask() {
        let r = rewrite_wat(
            r#"(module
                (import "env" "f" (func $imported))
                (memory 1)
                (global $a (mut i32) (i32.const 1))
                (global $b (mut f64) (f64.const 2.5))
                (func (export "touch")
                    (global.set $a (i32.const 40))
                    (global.set $b (f64.const -1))
                    (i32.store (i32.const 5000) (i32.const 1))))"#,
        )
        .unwrap();
        assert!(r.plan.reset_export);
        let engine = wasmtime::Engine::default();
        let module = wasmtime::Module::new(&engine, &r.wasm).unwrap();
        let mut store = wasmtime::Store::new(&engine, ());
        let imported = wasmtime::Func::wrap(&mut store, || {});
        let instance = wasmtime::Instance::new(&mut store, &module, &[imported.into()]).unwrap();
        let call = |store: &mut wasmtime::Store<()>, name: &str| {
            instance
                .get_typed_func::<(), ()>(&mut *store, name)
                .unwrap()
                .call(&mut *store, ())
                .unwrap()
        };
        call(&mut store, SAVE_EXPORT);
        call(&mut store, "touch");
        let reset = instance
            .get_typed_func::<(), i64>(&mut store, RESET_EXPORT)
            .unwrap();
        // 64 KiB / 64 = 1 KiB chunks: the store at 5000 is in chunk 4.
        assert_eq!(reset.call(&mut store, ()).unwrap(), 1 << 4);
        assert_eq!(reset.call(&mut store, ()).unwrap(), 0, "mask cleared");
        let global = |store: &mut wasmtime::Store<()>, g: &str| {
            instance
                .get_global(&mut *store, g)
                .unwrap()
                .get(&mut *store)
        };
        assert_eq!(global(&mut store, "__ferrite_global_0").i32(), Some(1));
        assert_eq!(global(&mut store, "__ferrite_global_1").f64(), Some(2.5));
    }

    #[test]
    fn a_reference_global_gets_no_reset_export() {
        let r = rewrite_wat(
            r#"(module
                (global $r (mut funcref) (ref.null func))
                (func (export "f")))"#,
        )
        .unwrap();
        wasmparser::validate(&r.wasm).unwrap();
        assert!(!r.plan.reset_export);
        assert!(!export_names(&r.wasm).contains(&RESET_EXPORT.to_string()));
    }

    #[test]
    fn module_without_globals_or_exports_gets_them() {
        let r =
            rewrite_wat(r#"(module (memory 1) (func (i32.store (i32.const 0) (i32.const 1))))"#)
                .unwrap();
        wasmparser::validate(&r.wasm).unwrap();
        assert!(r.plan.globals.is_empty());
        assert!(export_names(&r.wasm).contains(&DIRTY_EXPORT.to_string()));
    }

    #[test]
    fn uncovered_modules_are_refused() {
        for (wat, why) in [
            (
                r#"(module (memory 1) (data "x") (func (data.drop 0)))"#,
                "it uses data.drop",
            ),
            (
                r#"(module (table 1 funcref) (func (drop (table.grow (ref.null func) (i32.const 1)))))"#,
                "it changes a table",
            ),
            (
                r#"(module (memory 1 1 shared) (func (i32.atomic.store (i32.const 0) (i32.const 1))))"#,
                "it uses a feature the rewrite does not cover",
            ),
            (
                r#"(module (memory 1) (memory 1))"#,
                "it uses a feature the rewrite does not cover",
            ),
        ] {
            assert_eq!(rewrite_wat(wat).err(), Some(why), "{wat}");
        }
    }

    #[test]
    fn host_marks() {
        let mut d = DirtyChunks {
            shift: Some(10),
            mask: 0,
        };
        d.mark(0, 0);
        assert_eq!(d.mask, 0);
        d.mark(1023, 2);
        assert_eq!(d.mask, 0b11);
        d.mark(64 * 1024, 1);
        assert_eq!(d.mask, 0b11, "chunk 64 wraps to bit 0");
        d.mark(0, 64 * 1024);
        assert_eq!(d.mask, u64::MAX);
        let mut off = DirtyChunks::default();
        off.mark(0, 100);
        assert_eq!(off.mask, 0);
    }

    /// Export names of a module.
    fn export_names(wasm: &[u8]) -> Vec<String> {
        let mut names = Vec::new();
        for payload in Parser::new(0).parse_all(wasm) {
            if let Payload::ExportSection(reader) = payload.unwrap() {
                for e in reader {
                    names.push(e.unwrap().name.to_string());
                }
            }
        }
        names
    }
}

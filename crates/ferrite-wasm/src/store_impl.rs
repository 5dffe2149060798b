//! [`Keyspace`] for `ferrite_store::Store`: the runtime runs embedded.

use std::cell::Cell;
use std::time::Instant;

use bytes::Bytes;
use ferrite_protocol::Frame;
use ferrite_store::{CommandSpec, LockError, Scope, Store, StoreError, Txn, TxnMode};

use crate::keyspace::{AccessMode, CommandInfo, KeyScope, Keyspace, Transaction};
use crate::WasmError;

fn store_scope(scope: KeyScope) -> Scope {
    match scope {
        KeyScope::Keys(keys) => Scope::Keys(keys),
        KeyScope::Lazy => Scope::Lazy,
    }
}

fn store_mode(mode: AccessMode) -> TxnMode {
    match mode {
        AccessMode::ReadWrite => TxnMode::ReadWrite,
        AccessMode::ReadOnly => TxnMode::ReadOnly,
    }
}

impl Keyspace for Store {
    fn begin(
        &self,
        db: usize,
        scope: KeyScope,
        mode: AccessMode,
        deadline: Instant,
    ) -> Result<Box<dyn Transaction + '_>, WasmError> {
        let txn = Store::begin(self, db, store_scope(scope), store_mode(mode), deadline)
            .map_err(|e| WasmError::Busy(e.to_string()))?;
        Ok(Box::new(StoreTxn {
            txn,
            try_only: false,
            would_block: false,
        }))
    }

    fn try_begin(
        &self,
        db: usize,
        scope: KeyScope,
        mode: AccessMode,
    ) -> Result<Option<Box<dyn Transaction + '_>>, WasmError> {
        // The lock table is tried once, never waited on, and so is the lazy
        // keyspace lock later (it answers LockTimeout).
        match Txn::begin_now(self, db, store_scope(scope), store_mode(mode)) {
            Ok(txn) => Ok(Some(Box::new(StoreTxn {
                txn,
                try_only: true,
                would_block: false,
            }))),
            Err(LockError::Timeout { .. }) => Ok(None),
            Err(e) => Err(WasmError::Busy(e.to_string())),
        }
    }

    fn command_info<'a>(&self, argv: &'a [Bytes]) -> Option<CommandInfo<'a>> {
        let spec = ferrite_store::lookup(argv.first()?)?;
        Some(info_of(spec, argv))
    }

    fn command_info_static<'a>(
        &self,
        name: &'static str,
        argv: &'a [Bytes],
    ) -> Option<CommandInfo<'a>> {
        Some(info_of(lookup_static(name)?, argv))
    }
}

fn info_of<'a>(spec: &'static CommandSpec, argv: &'a [Bytes]) -> CommandInfo<'a> {
    let mut info = CommandInfo::new(
        spec.name,
        spec.is_write(),
        spec.is_keyspace_wide(),
        spec.keys(argv),
    );
    info.spec = Some(spec);
    info
}

/// Slots of [`lookup_static`]'s per-thread cache (a power of two).
const STATIC_SLOTS: usize = 16;

thread_local! {
    /// Command specs by the address of their static name, direct-mapped.
    static STATIC_SPECS: [Cell<(usize, Option<&'static CommandSpec>)>; STATIC_SLOTS] =
        const { [const { Cell::new((0, None)) }; STATIC_SLOTS] };
}

/// `ferrite_store::lookup(name)`, remembered per thread by the address of
/// the static `name`: the command table is fixed, so a name resolves the
/// same way for every store. A hit costs a thread-local read and a compare
/// (the lookup ~70 Ir: a folded hash and a folded compare).
fn lookup_static(name: &'static str) -> Option<&'static CommandSpec> {
    let address = name.as_ptr() as usize;
    STATIC_SPECS.with(|slots| {
        let slot = &slots[(address >> 3) % STATIC_SLOTS];
        match slot.get() {
            (cached, spec) if cached == address && address != 0 => spec,
            _ => {
                let spec = ferrite_store::lookup(name.as_bytes());
                slot.set((address, spec));
                spec
            }
        }
    })
}

struct StoreTxn<'s> {
    txn: Txn<'s>,
    /// Begun by `try_begin`: its deadline is its start, so a lock timeout
    /// means "would have waited".
    try_only: bool,
    would_block: bool,
}

impl StoreTxn<'_> {
    /// In a `try_begin` transaction, a lock timeout means "would have waited".
    fn note_would_block(&mut self, frame: &Frame) {
        if self.try_only {
            if let Frame::Error(text) = frame {
                if **text == *StoreError::LockTimeout.to_string().as_bytes() {
                    self.would_block = true;
                }
            }
        }
    }
}

impl Transaction for StoreTxn<'_> {
    fn execute(&mut self, argv: &[Bytes]) -> Frame {
        let frame = self.txn.execute(argv);
        self.note_would_block(&frame);
        frame
    }

    fn execute_checked(&mut self, info: &CommandInfo<'_>, argv: &[Bytes]) -> Frame {
        let frame = match info.spec {
            Some(spec) => self.txn.execute_resolved(spec, &info.keys, argv),
            None => self.txn.execute(argv),
        };
        self.note_would_block(&frame);
        frame
    }

    fn would_block(&self) -> bool {
        self.would_block
    }

    fn commit(self: Box<Self>) {
        self.txn.commit();
    }

    fn rollback(self: Box<Self>) {
        self.txn.rollback();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_lookup_matches_lookup_whatever_shares_its_slot() {
        let names: Vec<&'static str> = ["GET", "INCR", "EXPIRE", "HGET", "SET", "DEL", "TTL"]
            .into_iter()
            // Leaked copies: other addresses (and slots) for the same names.
            .chain(["get", "Incr"].map(|n| &*Box::leak(n.to_owned().into_boxed_str())))
            .collect();
        // Twice round: the second pass reads what the first cached, after
        // every other name had its turn at the 16 slots.
        for _ in 0..2 {
            for &name in &names {
                let want = ferrite_store::lookup(name.as_bytes()).map(|s| s.name);
                assert!(want.is_some(), "{name}");
                assert_eq!(lookup_static(name).map(|s| s.name), want, "{name}");
            }
        }
        assert!(lookup_static("NOSUCHCOMMAND").is_none());
        assert!(lookup_static("NOSUCHCOMMAND").is_none());
    }

    #[test]
    fn a_static_name_gets_the_same_command_info() {
        let store = Store::new(Default::default());
        let argv = [
            Bytes::from_static(b"EXPIRE"),
            Bytes::from("k"),
            Bytes::from("60"),
        ];
        let a = store.command_info(&argv).unwrap();
        let b = store.command_info_static("EXPIRE", &argv).unwrap();
        assert_eq!(
            (a.name, a.write, a.delete, a.keyspace_wide, a.keys.clone()),
            (b.name, b.write, b.delete, b.keyspace_wide, b.keys.clone())
        );
        assert_eq!(b.keys.as_slice(), [&argv[1]]);
    }
}

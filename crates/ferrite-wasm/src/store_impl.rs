//! [`Keyspace`] for `ferrite_store::Store`: the runtime runs embedded.

use std::time::Instant;

use bytes::Bytes;
use ferrite_protocol::Frame;
use ferrite_store::{LockError, Scope, Store, StoreError, Txn, TxnMode};

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
        let mut info = CommandInfo::new(
            spec.name,
            spec.is_write(),
            spec.is_keyspace_wide(),
            spec.keys(argv),
        );
        info.spec = Some(spec);
        Some(info)
    }
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

//! [`Keyspace`] for `ferrite_store::Store`: the runtime runs embedded.

use std::time::Instant;

use bytes::Bytes;
use ferrite_protocol::Frame;
use ferrite_store::{Scope, Store, Txn, TxnMode};

use crate::keyspace::{AccessMode, CommandInfo, KeyScope, Keyspace, Transaction};
use crate::WasmError;

impl Keyspace for Store {
    fn begin(
        &self,
        db: usize,
        scope: KeyScope,
        mode: AccessMode,
        deadline: Instant,
    ) -> Result<Box<dyn Transaction + '_>, WasmError> {
        let scope = match scope {
            KeyScope::Keys(keys) => Scope::Keys(keys),
            KeyScope::Lazy => Scope::Lazy,
        };
        let mode = match mode {
            AccessMode::ReadWrite => TxnMode::ReadWrite,
            AccessMode::ReadOnly => TxnMode::ReadOnly,
        };
        let txn = Store::begin(self, db, scope, mode, deadline)
            .map_err(|e| WasmError::Busy(e.to_string()))?;
        Ok(Box::new(StoreTxn(txn)))
    }

    fn command_info(&self, argv: &[Bytes]) -> Option<CommandInfo> {
        let spec = ferrite_store::lookup(argv.first()?)?;
        let keys = spec.keys(argv).into_iter().cloned().collect();
        Some(CommandInfo::new(
            spec.name,
            spec.is_write(),
            spec.is_keyspace_wide(),
            keys,
        ))
    }
}

struct StoreTxn<'s>(Txn<'s>);

impl Transaction for StoreTxn<'_> {
    fn execute(&mut self, argv: &[Bytes]) -> Frame {
        self.0.execute(argv)
    }

    fn commit(self: Box<Self>) {
        self.0.commit();
    }

    fn rollback(self: Box<Self>) {
        self.0.rollback();
    }
}

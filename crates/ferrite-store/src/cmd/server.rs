//! Commands of the `server` family.

use crate::cmd::CommandSpec;

/// This family's commands.
pub const COMMANDS: &[CommandSpec] = &[];

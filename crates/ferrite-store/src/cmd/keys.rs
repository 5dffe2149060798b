//! Commands of the `keys` family.

use crate::cmd::CommandSpec;

/// This family's commands.
pub const COMMANDS: &[CommandSpec] = &[];

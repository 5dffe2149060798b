//! Commands of the `hash` family.

use crate::cmd::CommandSpec;

/// This family's commands.
pub const COMMANDS: &[CommandSpec] = &[];

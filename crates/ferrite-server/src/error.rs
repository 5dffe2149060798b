//! Errors of the server's own commands. `Display` is the exact Redis 7.0
//! error text (without the leading `-`); [`CommandError::to_frame`] is the
//! one path that turns them into replies.

use ferrite_protocol::Frame;

/// An error reply of a connection/server/transaction command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// Unknown subcommand of a container command.
    #[error("ERR unknown subcommand '{sub}'. Try {command} HELP.")]
    UnknownSubcommand {
        /// The subcommand as sent (at most 128 bytes).
        sub: String,
        /// The container command, upper case.
        command: String,
    },
    /// Wrong number of arguments.
    #[error("ERR wrong number of arguments for '{0}' command")]
    WrongArity(&'static str),
    /// The client must AUTH first.
    #[error("NOAUTH Authentication required.")]
    NoAuth,
    /// Wrong user or password.
    #[error("WRONGPASS invalid username-password pair or user is disabled.")]
    WrongPass,
    /// `AUTH <password>` without `requirepass`.
    #[error(
        "ERR AUTH <password> called without any password configured for the default user. \
         Are you sure your configuration is correct?"
    )]
    AuthWithoutPassword,
    /// `HELLO` before AUTH.
    #[error(
        "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH \
         <user> <pass> option can be used to authenticate the client and select the RESP protocol \
         version at the same time"
    )]
    HelloNoAuth,
    /// `HELLO 4`.
    #[error("NOPROTO unsupported protocol version")]
    NoProto,
    /// `HELLO x`.
    #[error("ERR Protocol version is not an integer or out of range")]
    ProtocolVersionNotInteger,
    /// `HELLO 3 FOO`.
    #[error("ERR Syntax error in HELLO option '{0}'")]
    HelloSyntax(String),
    /// `syntax error`.
    #[error("ERR syntax error")]
    Syntax,
    /// Not an integer.
    #[error("ERR value is not an integer or out of range")]
    NotInteger,
    /// SELECT beyond `databases`.
    #[error("ERR DB index is out of range")]
    DbIndexOutOfRange,
    /// CLIENT SETNAME with a space or control character.
    #[error("ERR Client names cannot contain spaces, newlines or special characters.")]
    BadClientName,
    /// MULTI inside MULTI.
    #[error("ERR MULTI calls can not be nested")]
    MultiNested,
    /// WATCH inside MULTI.
    #[error("ERR WATCH inside MULTI is not allowed")]
    WatchInMulti,
    /// EXEC outside MULTI.
    #[error("ERR EXEC without MULTI")]
    ExecWithoutMulti,
    /// DISCARD outside MULTI.
    #[error("ERR DISCARD without MULTI")]
    DiscardWithoutMulti,
    /// EXEC after a queueing error.
    #[error("EXECABORT Transaction discarded because of previous errors.")]
    ExecAbort,
    /// EXEC itself rejected (arity, AUTH): the transaction is discarded.
    #[error("EXECABORT Transaction discarded because of: {0}")]
    ExecAbortBecause(String),
    /// A `no_multi` command inside MULTI.
    #[error("ERR Command not allowed inside a transaction")]
    NotAllowedInMulti,
    /// MULTI queue above its limits (commands, or bytes above
    /// `client-query-buffer-limit`).
    #[error("ERR MULTI queue is full")]
    MultiQueueFull,
    /// CONFIG SET of an unknown parameter.
    #[error("ERR Unknown option or number of arguments for CONFIG SET - '{0}'")]
    ConfigUnknown(String),
    /// CONFIG SET of a bad value, an immutable or a repeated parameter.
    #[error("ERR CONFIG SET failed (possibly related to argument '{name}') - {reason}")]
    ConfigSetFailed {
        /// The parameter.
        name: String,
        /// Redis's reason text.
        reason: String,
    },
    /// COMMAND GETKEYS of an unknown command.
    #[error("ERR Invalid command specified")]
    GetKeysInvalidCommand,
    /// COMMAND GETKEYS of a command without keys.
    #[error("ERR The command has no key arguments")]
    GetKeysNoKeys,
    /// COMMAND GETKEYS with the wrong argument count.
    #[error("ERR Invalid number of arguments specified for command")]
    GetKeysArity,
    /// COMMAND GETKEYS where the keys cannot be found.
    #[error("ERR Invalid arguments specified for command")]
    GetKeysInvalidArguments,
    /// SHUTDOWN ABORT with no shutdown in progress.
    #[error("ERR No shutdown in progress.")]
    NoShutdownInProgress,
    /// A `WASM.*` command while `[wasm] enabled = false`.
    #[error(
        "ERR '{0}' is not available: WebAssembly functions are disabled ([wasm] enabled = false)"
    )]
    WasmUnavailable(&'static str),
    /// CLIENT LIST TYPE with an unknown type.
    #[error("ERR Unknown client type '{0}'")]
    UnknownClientType(String),
    /// CLIENT LIST ID with a bad id.
    #[error("ERR Invalid client ID")]
    InvalidClientId,
    /// A persistence command failed; the text is the whole reply
    /// (`ERR Background save already in progress`, `MISCONF …`).
    #[error("{0}")]
    Persistence(String),
}

impl CommandError {
    /// The error reply.
    pub fn to_frame(&self) -> Frame {
        Frame::Error(self.to_string().into())
    }
}

impl From<CommandError> for Frame {
    fn from(err: CommandError) -> Frame {
        err.to_frame()
    }
}

/// Result of a server command handler.
pub type CommandResult = Result<Frame, CommandError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_match_redis() {
        assert_eq!(
            CommandError::WrongArity("config|get").to_string(),
            "ERR wrong number of arguments for 'config|get' command"
        );
        assert_eq!(
            CommandError::UnknownSubcommand {
                sub: "foo".into(),
                command: "CLIENT".into()
            }
            .to_string(),
            "ERR unknown subcommand 'foo'. Try CLIENT HELP."
        );
        assert_eq!(
            CommandError::AuthWithoutPassword.to_string(),
            "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
        );
        assert_eq!(
            CommandError::HelloNoAuth.to_string(),
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"
        );
        assert_eq!(
            CommandError::ConfigSetFailed {
                name: "hz".into(),
                reason: "duplicate parameter".into()
            }
            .to_string(),
            "ERR CONFIG SET failed (possibly related to argument 'hz') - duplicate parameter"
        );
    }
}

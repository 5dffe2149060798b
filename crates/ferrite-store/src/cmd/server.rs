//! Commands of the `server` family: the connection, server and transaction
//! commands that `ferrite-server` executes (`Layer::Server`, no handler).
//! Arity, flags, key positions and summaries are Redis 7.0's (COMMAND INFO/DOCS).

use crate::cmd::{CommandFlags as F, CommandSpec, Layer};

const fn server(
    name: &'static str,
    arity: i32,
    flags: F,
    group: &'static str,
    summary: &'static str,
) -> CommandSpec {
    CommandSpec::external(Layer::Server, name, arity, flags, (0, 0, 0), group, summary)
}

const LS: F = F::LOADING.with(F::STALE);
const NLS: F = F::NOSCRIPT.with(LS);
const ADMIN: F = F::ADMIN.with(NLS);

const CLIENT: &[CommandSpec] = &[
    server(
        "client|help",
        2,
        LS,
        "connection",
        "Show helpful text about the different subcommands",
    )
    .since("5.0.0"),
    server(
        "client|id",
        2,
        NLS,
        "connection",
        "Returns the client ID for the current connection",
    )
    .since("5.0.0"),
    server(
        "client|setname",
        3,
        NLS,
        "connection",
        "Set the current connection name",
    )
    .since("2.6.9"),
    server(
        "client|getname",
        2,
        NLS,
        "connection",
        "Get the current connection name",
    )
    .since("2.6.9"),
    server(
        "client|list",
        -2,
        ADMIN,
        "connection",
        "Get the list of client connections",
    )
    .since("2.4.0"),
    server(
        "client|info",
        2,
        NLS,
        "connection",
        "Returns information about the current client connection.",
    )
    .since("6.2.0"),
];

const CONFIG: &[CommandSpec] = &[
    server(
        "config|help",
        2,
        LS,
        "server",
        "Show helpful text about the different subcommands",
    )
    .since("5.0.0"),
    server(
        "config|get",
        -3,
        ADMIN,
        "server",
        "Get the values of configuration parameters",
    )
    .since("2.0.0"),
    server(
        "config|set",
        -4,
        ADMIN,
        "server",
        "Set configuration parameters to the given values",
    )
    .since("2.0.0"),
    server(
        "config|resetstat",
        2,
        ADMIN,
        "server",
        "Reset the stats returned by INFO",
    )
    .since("2.0.0"),
];

const COMMAND: &[CommandSpec] = &[
    server(
        "command|help",
        2,
        LS,
        "server",
        "Show helpful text about the different subcommands",
    )
    .since("5.0.0"),
    server(
        "command|count",
        2,
        LS,
        "server",
        "Get total number of Redis commands",
    )
    .since("2.8.13"),
    server(
        "command|info",
        -2,
        LS,
        "server",
        "Get array of specific Redis command details, or all when no argument is given.",
    )
    .since("2.8.13"),
    server(
        "command|docs",
        -2,
        LS,
        "server",
        "Get array of specific Redis command documentation",
    )
    .since("7.0.0"),
    server(
        "command|getkeys",
        -4,
        LS,
        "server",
        "Extract keys given a full Redis command",
    )
    .since("2.8.13"),
    server(
        "command|list",
        -2,
        LS,
        "server",
        "Get an array of Redis command names",
    )
    .since("7.0.0"),
];

/// This family's commands.
pub const COMMANDS: &[CommandSpec] = &[
    server("ping", -1, F::FAST, "connection", "Ping the server"),
    server(
        "echo",
        2,
        LS.with(F::FAST),
        "connection",
        "Echo the given string",
    ),
    server(
        "quit",
        -1,
        NLS.with(F::FAST).with(F::NO_AUTH).with(F::ALLOW_BUSY),
        "connection",
        "Close the connection",
    ),
    server(
        "hello",
        -1,
        NLS.with(F::FAST).with(F::NO_AUTH).with(F::ALLOW_BUSY),
        "connection",
        "Handshake with Redis",
    )
    .since("6.0.0"),
    server(
        "auth",
        -2,
        NLS.with(F::FAST).with(F::NO_AUTH).with(F::ALLOW_BUSY),
        "connection",
        "Authenticate to the server",
    ),
    server(
        "select",
        2,
        LS.with(F::FAST),
        "connection",
        "Change the selected database for the current connection",
    ),
    server(
        "client",
        -2,
        F::NONE,
        "connection",
        "A container for client connection commands",
    )
    .since("2.4.0")
    .subcommands(CLIENT),
    server(
        "info",
        -1,
        LS,
        "server",
        "Get information and statistics about the server",
    )
    .acl(&["@dangerous"]),
    server(
        "config",
        -2,
        F::NONE,
        "server",
        "A container for server configuration commands",
    )
    .since("2.0.0")
    .subcommands(CONFIG),
    server(
        "command",
        -1,
        LS,
        "server",
        "Get array of Redis command details",
    )
    .since("2.8.13")
    .acl(&["@connection"])
    .subcommands(COMMAND),
    server(
        "time",
        1,
        LS.with(F::FAST),
        "server",
        "Return the current server time",
    )
    .since("2.6.0"),
    server(
        "shutdown",
        -1,
        ADMIN.with(F::NO_MULTI).with(F::ALLOW_BUSY),
        "server",
        "Synchronously save the dataset to disk and then shut down the server",
    ),
    server(
        "save",
        1,
        ADMIN.with(F::NO_ASYNC_LOADING).with(F::NO_MULTI),
        "server",
        "Synchronously save the dataset to disk",
    )
    .since("1.0.0"),
    server(
        "bgsave",
        -1,
        ADMIN.with(F::NO_ASYNC_LOADING),
        "server",
        "Asynchronously save the dataset to disk",
    )
    .since("1.0.0"),
    server(
        "bgrewriteaof",
        1,
        ADMIN.with(F::NO_ASYNC_LOADING),
        "server",
        "Asynchronously rewrite the append-only file",
    )
    .since("1.0.0"),
    server(
        "lastsave",
        1,
        LS.with(F::FAST),
        "server",
        "Get the UNIX time stamp of the last successful save to disk",
    )
    .since("1.0.0"),
    server(
        "multi",
        1,
        NLS.with(F::FAST).with(F::ALLOW_BUSY),
        "transactions",
        "Mark the start of a transaction block",
    )
    .since("1.2.0"),
    server(
        "exec",
        1,
        NLS.with(F::SKIP_SLOWLOG),
        "transactions",
        "Execute all commands issued after MULTI",
    )
    .since("1.2.0"),
    server(
        "discard",
        1,
        NLS.with(F::FAST).with(F::ALLOW_BUSY),
        "transactions",
        "Discard all commands issued after MULTI",
    )
    .since("2.0.0"),
    CommandSpec::external(
        Layer::Server,
        "watch",
        -2,
        NLS.with(F::FAST).with(F::ALLOW_BUSY),
        (1, -1, 1),
        "transactions",
        "Watch the given keys to determine execution of the MULTI/EXEC block",
    )
    .since("2.2.0"),
    server(
        "unwatch",
        1,
        NLS.with(F::FAST).with(F::ALLOW_BUSY),
        "transactions",
        "Forget about all watched keys",
    )
    .since("2.2.0"),
];

//! Commands of the `server` family: the connection, server and transaction
//! commands that `ferrite-server` executes (`Layer::Server`, no handler).
//! Arity, flags and key positions are Redis 7.0's (COMMAND INFO).

use crate::cmd::{CommandFlags as F, CommandSpec, Layer};

const fn server(name: &'static str, arity: i32, flags: F, group: &'static str, summary: &'static str) -> CommandSpec {
    CommandSpec::external(Layer::Server, name, arity, flags, (0, 0, 0), group, summary)
}

const LS: F = F::LOADING.with(F::STALE);
const NLS: F = F::NOSCRIPT.with(LS);
const ADMIN: F = F::ADMIN.with(NLS);

const CLIENT: &[CommandSpec] = &[
    server("client|id", 2, NLS, "connection", "Returns the unique client ID of the connection.").since("5.0.0"),
    server("client|setname", 3, NLS, "connection", "Sets the connection name.").since("2.6.9"),
    server("client|getname", 2, NLS, "connection", "Returns the name of the connection.").since("2.6.9"),
    server("client|list", -2, ADMIN, "connection", "Lists open connections.").since("2.4.0"),
    server("client|info", 2, NLS, "connection", "Returns information about the connection.").since("6.2.0"),
];

const CONFIG: &[CommandSpec] = &[
    server("config|get", -3, ADMIN, "server", "Returns the effective values of configuration parameters.").since("2.0.0"),
    server("config|set", -4, ADMIN, "server", "Sets configuration parameters in-flight.").since("2.0.0"),
    server("config|resetstat", 2, ADMIN, "server", "Resets the server's statistics.").since("2.0.0"),
];

const COMMAND: &[CommandSpec] = &[
    server("command|count", 2, LS, "server", "Returns a count of commands.").since("2.8.13"),
    server("command|info", -2, LS, "server", "Returns information about one, multiple or all commands.").since("2.8.13"),
    server("command|docs", -2, LS, "server", "Returns documentary information about one, multiple or all commands.").since("7.0.0"),
    server("command|getkeys", -4, LS, "server", "Extracts the key names from an arbitrary command.").since("2.8.13"),
    server("command|list", -2, LS, "server", "Returns a list of command names.").since("7.0.0"),
];

/// This family's commands.
pub const COMMANDS: &[CommandSpec] = &[
    server("ping", -1, F::FAST, "connection", "Returns the server's liveliness response."),
    server("echo", 2, LS.with(F::FAST), "connection", "Returns the given string."),
    server("quit", -1, NLS.with(F::FAST).with(F::NO_AUTH).with(F::ALLOW_BUSY), "connection", "Closes the connection."),
    server("hello", -1, NLS.with(F::FAST).with(F::NO_AUTH).with(F::ALLOW_BUSY), "connection", "Handshakes with the Redis server.")
        .since("6.0.0"),
    server("auth", -2, NLS.with(F::FAST).with(F::NO_AUTH).with(F::ALLOW_BUSY), "connection", "Authenticates the connection."),
    server("select", 2, LS.with(F::FAST), "connection", "Changes the selected database."),
    server("client", -2, F::NONE, "connection", "A container for client connection commands.").since("2.4.0").subcommands(CLIENT),
    server("info", -1, LS, "server", "Returns information and statistics about the server.").acl(&["@dangerous"]),
    server("config", -2, F::NONE, "server", "A container for server configuration commands.").since("2.0.0").subcommands(CONFIG),
    server("command", -1, LS, "server", "Returns detailed information about all commands.")
        .since("2.8.13")
        .acl(&["@connection"])
        .subcommands(COMMAND),
    server("time", 1, LS.with(F::FAST), "server", "Returns the server time.").since("2.6.0"),
    server("shutdown", -1, ADMIN.with(F::NO_MULTI).with(F::ALLOW_BUSY), "server", "Synchronously saves the database(s) to disk and shuts down the Redis server."),
    server("multi", 1, NLS.with(F::FAST).with(F::ALLOW_BUSY), "transactions", "Starts a transaction.").since("1.2.0"),
    server("exec", 1, NLS.with(F::SKIP_SLOWLOG), "transactions", "Executes all commands in a transaction.").since("1.2.0"),
    server("discard", 1, NLS.with(F::FAST).with(F::ALLOW_BUSY), "transactions", "Discards a transaction.").since("2.0.0"),
    CommandSpec::external(
        Layer::Server,
        "watch",
        -2,
        NLS.with(F::FAST).with(F::ALLOW_BUSY),
        (1, -1, 1),
        "transactions",
        "Monitors changes to keys to determine the execution of a transaction.",
    )
    .since("2.2.0"),
    server("unwatch", 1, NLS.with(F::FAST).with(F::ALLOW_BUSY), "transactions", "Forgets about watched keys of a transaction.").since("2.2.0"),
];

//! PING, HELLO, AUTH, SELECT (ECHO and QUIT are one-liners in `mod.rs`).

use bytes::Bytes;
use ferrite_protocol::{parse_i64, Frame, Protocol};

use crate::client::CLIENT_NAME_MAX_BYTES;
use crate::connection::Session;
use crate::error::{CommandError, CommandResult};
use crate::server::Server;

/// Version Ferrite reports where clients expect a Redis version (HELLO,
/// INFO `redis_version`): the Redis release whose replies it reproduces.
pub const REDIS_COMPAT_VERSION: &str = "7.0.15";

/// `PING [message]`.
pub fn ping(_session: &Session, argv: &[Bytes]) -> CommandResult {
    match argv.len() {
        1 => Ok(Frame::pong()),
        2 => Ok(Frame::Bulk(argv[1].clone())),
        _ => Err(CommandError::WrongArity("ping")),
    }
}

/// Compares without an early exit, so timing does not reveal how much of
/// a password matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Checks a user/password pair against the only user, `default`.
fn authenticate(server: &Server, user: &[u8], password: &[u8]) -> Result<(), CommandError> {
    let config = server.config.read();
    let user_ok = user == b"default";
    let password_ok =
        config.requirepass.is_empty() || constant_time_eq(config.requirepass.as_bytes(), password);
    if user_ok && password_ok {
        Ok(())
    } else {
        Err(CommandError::WrongPass)
    }
}

/// `AUTH [username] password`.
pub fn auth(server: &Server, session: &mut Session, argv: &[Bytes]) -> CommandResult {
    let (user, password): (&[u8], &[u8]) = match argv.len() {
        2 => {
            if server.config.read().requirepass.is_empty() {
                return Err(CommandError::AuthWithoutPassword);
            }
            (b"default", &argv[1])
        }
        3 => (&argv[1], &argv[2]),
        _ => return Err(CommandError::Syntax),
    };
    authenticate(server, user, password)?;
    session.authenticated = true;
    Ok(Frame::ok())
}

/// Validates a client name (CLIENT SETNAME, HELLO SETNAME).
pub fn validate_client_name(name: &[u8]) -> Result<(), CommandError> {
    if name.len() > CLIENT_NAME_MAX_BYTES || name.iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
        return Err(CommandError::BadClientName);
    }
    Ok(())
}

/// `HELLO [protover [AUTH username password] [SETNAME clientname]]`.
pub fn hello(server: &Server, session: &mut Session, argv: &[Bytes]) -> CommandResult {
    let mut protocol = session.protocol;
    if argv.len() >= 2 {
        let version = parse_i64(&argv[1]).ok_or(CommandError::ProtocolVersionNotInteger)?;
        protocol = match version {
            2 => Protocol::Resp2,
            3 => Protocol::Resp3,
            _ => return Err(CommandError::NoProto),
        };
    }
    let mut credentials = None;
    let mut name = None;
    let mut i = 2;
    while i < argv.len() {
        let more = argv.len() - 1 - i;
        let option = &argv[i];
        if option.eq_ignore_ascii_case(b"auth") && more >= 2 {
            credentials = Some((&argv[i + 1], &argv[i + 2]));
            i += 3;
        } else if option.eq_ignore_ascii_case(b"setname") && more >= 1 {
            validate_client_name(&argv[i + 1])?;
            name = Some(&argv[i + 1]);
            i += 2;
        } else {
            return Err(CommandError::HelloSyntax(
                String::from_utf8_lossy(option).into_owned(),
            ));
        }
    }
    if let Some((user, password)) = credentials {
        authenticate(server, user, password)?;
        session.authenticated = true;
    }
    if !session.authenticated {
        return Err(CommandError::HelloNoAuth);
    }
    if let Some(name) = name {
        *session.info.name.lock() = String::from_utf8_lossy(name).into_owned();
    }
    session.set_protocol(protocol);
    let pair = |k: &'static str, v: Frame| (Frame::bulk(k), v);
    Ok(Frame::Map(vec![
        pair("server", Frame::bulk("redis")),
        pair("version", Frame::bulk(REDIS_COMPAT_VERSION)),
        pair("proto", Frame::Integer(protocol.version())),
        pair(
            "id",
            Frame::Integer(i64::try_from(session.info.id).unwrap_or(i64::MAX)),
        ),
        pair("mode", Frame::bulk("standalone")),
        pair("role", Frame::bulk("master")),
        pair("modules", Frame::Array(Vec::new())),
    ]))
}

/// `SELECT index`.
pub fn select(server: &Server, session: &mut Session, argv: &[Bytes]) -> CommandResult {
    let index = parse_i64(&argv[1]).ok_or(CommandError::NotInteger)?;
    let databases = i64::from(server.config.read().databases);
    if !(0..databases).contains(&index) {
        return Err(CommandError::DbIndexOutOfRange);
    }
    session.select(usize::try_from(index).map_err(|_| CommandError::DbIndexOutOfRange)?);
    Ok(Frame::ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_works() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }

    #[test]
    fn client_names() {
        assert!(validate_client_name(b"worker-1").is_ok());
        assert!(validate_client_name(b"").is_ok());
        assert_eq!(
            validate_client_name(b"a b"),
            Err(CommandError::BadClientName)
        );
        assert_eq!(
            validate_client_name(b"a\nb"),
            Err(CommandError::BadClientName)
        );
    }
}

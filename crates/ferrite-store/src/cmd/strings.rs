//! String commands.

use bytes::Bytes;

use crate::args::{eq_ignore_case, parse_i64};
use crate::cmd::{CommandFlags as F, CommandSpec};
use crate::ctx::Ctx;
use crate::error::{StoreError, StoreResult};
use crate::value::{StrValue, Value};
use crate::{reply, Frame};

const W: F = F::WRITE;
const R: F = F::READONLY;
const DENYOOM: F = F::DENYOOM;
const FAST: F = F::FAST;

/// The string family.
pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::data("get", 2, R.with(FAST), (1, 1, 1), "string", "Returns the string value of a key.", get),
    CommandSpec::data("set", -3, W.with(DENYOOM), (1, 1, 1), "string", "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.", set),
];

/// GET key
fn get(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    Ok(match ctx.string(&argv[1])? {
        Some(s) => reply::bulk(s.to_bytes()),
        None => reply::null(),
    })
}

/// Expiry options shared by SET and GETEX.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExpireOpt {
    /// EX seconds (relative).
    Ex,
    /// PX milliseconds (relative).
    Px,
    /// EXAT unix-seconds.
    ExAt,
    /// PXAT unix-milliseconds.
    PxAt,
}

/// Turns an EX/PX/EXAT/PXAT argument into an absolute Unix-ms time, with
/// Redis's validation (`ERR invalid expire time in '<cmd>' command`).
pub(crate) fn absolute_expiry(
    ctx: &Ctx<'_>,
    opt: ExpireOpt,
    arg: &[u8],
    command: &'static str,
) -> StoreResult<u64> {
    let n = parse_i64(arg)?;
    let seconds = matches!(opt, ExpireOpt::Ex | ExpireOpt::ExAt);
    if n <= 0 || (seconds && n > i64::MAX / 1000) {
        return Err(StoreError::InvalidExpireTime(command));
    }
    let mut when = if seconds { n * 1000 } else { n };
    if matches!(opt, ExpireOpt::Ex | ExpireOpt::Px) {
        let now = i64::try_from(ctx.now_ms()).unwrap_or(i64::MAX);
        when = when
            .checked_add(now)
            .ok_or(StoreError::InvalidExpireTime(command))?;
    }
    Ok(when as u64)
}

/// SET key value [NX | XX] [GET] [EX s | PX ms | EXAT t | PXAT t | KEEPTTL]
fn set(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    let (mut nx, mut xx, mut get, mut keepttl) = (false, false, false, false);
    let mut expire: Option<(ExpireOpt, &Bytes)> = None;
    let mut j = 3;
    while j < argv.len() {
        let opt = &argv[j];
        let next = argv.get(j + 1);
        let has_expire = expire.is_some();
        let expire_kind = expire.map(|(k, _)| k);
        if eq_ignore_case(opt, "nx") && !xx {
            nx = true;
        } else if eq_ignore_case(opt, "xx") && !nx {
            xx = true;
        } else if eq_ignore_case(opt, "get") {
            get = true;
        } else if eq_ignore_case(opt, "keepttl") && !has_expire {
            keepttl = true;
        } else if let (Some(kind), Some(value)) = (expire_option(opt), next) {
            // Redis allows repeating the same option (last wins), not mixing.
            if keepttl || (has_expire && expire_kind != Some(kind)) {
                return Err(StoreError::Syntax);
            }
            expire = Some((kind, value));
            j += 1;
        } else {
            return Err(StoreError::Syntax);
        }
        j += 1;
    }
    let expire_at = match expire {
        Some((kind, value)) => Some(absolute_expiry(ctx, kind, value, "set")?),
        None => None,
    };
    let key = &argv[1];
    let old = if get {
        Some(match ctx.string(key)? {
            Some(s) => reply::bulk(s.to_bytes()),
            None => reply::null(),
        })
    } else {
        None
    };
    let found = ctx.exists(key)?;
    if (nx && found) || (xx && !found) {
        return Ok(old.unwrap_or_else(reply::null));
    }
    let value = Value::String(StrValue::from_slice(&argv[2]));
    if keepttl {
        ctx.insert_keep_ttl(key, value)?;
    } else {
        ctx.insert(key, value, expire_at)?;
    }
    Ok(old.unwrap_or_else(reply::ok))
}

fn expire_option(opt: &[u8]) -> Option<ExpireOpt> {
    if eq_ignore_case(opt, "ex") {
        Some(ExpireOpt::Ex)
    } else if eq_ignore_case(opt, "px") {
        Some(ExpireOpt::Px)
    } else if eq_ignore_case(opt, "exat") {
        Some(ExpireOpt::ExAt)
    } else if eq_ignore_case(opt, "pxat") {
        Some(ExpireOpt::PxAt)
    } else {
        None
    }
}

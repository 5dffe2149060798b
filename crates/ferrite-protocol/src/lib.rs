//! RESP2/RESP3 protocol for Ferrite, free of I/O. See docs/architecture.md.
//!
//! * [`Frame`]: the RESP3-shaped value handlers reply with.
//! * [`encode`]: frames to bytes for a RESP2 or RESP3 connection, downgraded
//!   exactly as Redis 7.0 does.
//! * [`RequestDecoder`] / [`parse_request`]: incremental multibulk and inline
//!   request parsing with Redis's limits and error texts; [`split_args`] is
//!   Redis's `sdssplitargs`.
//! * [`parse_frame`]: the full RESP2/RESP3 reply parser, with depth and size
//!   limits.
//! * [`parse_i64`]: Redis's strict integer syntax (`string2ll`).

mod encode;
mod error;
mod frame;
mod int;
mod reply;
mod request;

pub use encode::{encode, encode_to_vec, format_double, Protocol, DOUBLE_TEXT_LEN_MAX};
pub use error::ProtocolError;
pub use frame::Frame;
pub use int::parse_i64;
pub use reply::{parse_frame, parse_frame_with_limits, FrameLimits};
pub use request::{parse_request, peek_argument, split_args, Limits, Request, RequestDecoder};

//! Connected clients: what CLIENT LIST / CLIENT INFO show about each, and
//! the registry that enforces `maxclients`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;

/// Longest client name CLIENT SETNAME accepts.
pub const CLIENT_NAME_MAX_BYTES: usize = 512;

/// One connected client, as other connections may see it.
pub struct ClientInfo {
    /// Unique, increasing id (CLIENT ID).
    pub id: u64,
    /// Peer address.
    pub addr: SocketAddr,
    /// Local address.
    pub laddr: SocketAddr,
    /// Socket file descriptor.
    pub fd: i32,
    /// When the connection was accepted.
    pub created: Instant,
    /// Milliseconds since `created` of the last command.
    pub last_command_ms: AtomicU64,
    /// Selected database.
    pub db: AtomicUsize,
    /// RESP version (2 or 3).
    pub resp: AtomicU8,
    /// Inside MULTI: number of queued commands, else -1 (stored +1).
    pub multi_queued_plus_one: AtomicUsize,
    /// Bytes in the query buffer.
    pub qbuf_bytes: AtomicUsize,
    /// Bytes of pending output.
    pub omem_bytes: AtomicUsize,
    /// CLIENT SETNAME.
    pub name: Mutex<String>,
    /// Last command (`client|list`).
    pub last_cmd: Mutex<String>,
}

impl ClientInfo {
    /// A new client with default state (db 0, RESP2, no name).
    pub fn new(id: u64, addr: SocketAddr, laddr: SocketAddr, fd: i32) -> ClientInfo {
        ClientInfo {
            id,
            addr,
            laddr,
            fd,
            created: Instant::now(),
            last_command_ms: AtomicU64::new(0),
            db: AtomicUsize::new(0),
            resp: AtomicU8::new(2),
            multi_queued_plus_one: AtomicUsize::new(0),
            qbuf_bytes: AtomicUsize::new(0),
            omem_bytes: AtomicUsize::new(0),
            name: Mutex::new(String::new()),
            last_cmd: Mutex::new("NULL".to_owned()),
        }
    }

    /// Notes that a command named `cmd` is running now.
    pub fn touch(&self, cmd: &str) {
        self.touch_at(cmd, Instant::now());
    }

    /// [`ClientInfo::touch`] with the time the caller already read (the
    /// dispatcher reads the clock once per command for both this and the
    /// command's duration).
    pub fn touch_at(&self, cmd: &str, now: Instant) {
        let ms = u64::try_from(now.saturating_duration_since(self.created).as_millis())
            .unwrap_or(u64::MAX);
        self.last_command_ms.store(ms, Ordering::Relaxed);
        let mut last = self.last_cmd.lock();
        if last.as_str() != cmd {
            last.clear();
            last.push_str(cmd);
        }
    }

    /// The CLIENT LIST line (without the trailing newline), in Redis 7.0's
    /// field order.
    pub fn line(&self) -> String {
        let age_ms = self.created.elapsed().as_millis();
        let idle_ms =
            age_ms.saturating_sub(u128::from(self.last_command_ms.load(Ordering::Relaxed)));
        let multi = match self.multi_queued_plus_one.load(Ordering::Relaxed) {
            0 => -1,
            n => i64::try_from(n - 1).unwrap_or(i64::MAX),
        };
        let flags = if multi >= 0 { "x" } else { "N" };
        let qbuf = self.qbuf_bytes.load(Ordering::Relaxed);
        let omem = self.omem_bytes.load(Ordering::Relaxed);
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub=0 psub=0 ssub=0 multi={} \
             qbuf={} qbuf-free=0 argv-mem=0 multi-mem=0 rbs={} rbp=0 obl=0 oll=0 omem={} tot-mem={} events=r \
             cmd={} user=default redir=-1 resp={}",
            self.id,
            self.addr,
            self.laddr,
            self.fd,
            self.name.lock(),
            age_ms / 1000,
            idle_ms / 1000,
            flags,
            self.db.load(Ordering::Relaxed),
            multi,
            qbuf,
            qbuf,
            omem,
            qbuf + omem,
            self.last_cmd.lock(),
            self.resp.load(Ordering::Relaxed),
        )
    }
}

/// Why a client was not registered.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum RegisterError {
    /// `maxclients` clients are connected already.
    #[error("max number of clients reached")]
    MaxClients,
}

/// The first id a client gets: Redis 7.0 gives ids 1 and 2 to its internal
/// scripting clients, so its first connection is client 3.
pub const FIRST_CLIENT_ID: u64 = 3;

/// All connected clients.
pub struct Clients {
    next_id: AtomicU64,
    clients: Mutex<BTreeMap<u64, Arc<ClientInfo>>>,
}

impl Default for Clients {
    fn default() -> Self {
        Clients {
            next_id: AtomicU64::new(FIRST_CLIENT_ID),
            clients: Mutex::new(BTreeMap::new()),
        }
    }
}

impl Clients {
    /// Registers a new client unless `maxclients` are connected.
    pub fn register(
        &self,
        addr: SocketAddr,
        laddr: SocketAddr,
        fd: i32,
        maxclients: usize,
    ) -> Result<Arc<ClientInfo>, RegisterError> {
        let mut clients = self.clients.lock();
        if clients.len() >= maxclients {
            return Err(RegisterError::MaxClients);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let info = Arc::new(ClientInfo::new(id, addr, laddr, fd));
        clients.insert(id, Arc::clone(&info));
        Ok(info)
    }

    /// Removes a client (its connection ended).
    pub fn unregister(&self, id: u64) {
        self.clients.lock().remove(&id);
    }

    /// Number of connected clients.
    pub fn len(&self) -> usize {
        self.clients.lock().len()
    }

    /// True when nobody is connected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// All clients, by id.
    pub fn snapshot(&self) -> Vec<Arc<ClientInfo>> {
        self.clients.lock().values().cloned().collect()
    }

    /// Largest query buffer of any client.
    pub fn max_qbuf_bytes(&self) -> usize {
        self.clients
            .lock()
            .values()
            .map(|c| c.qbuf_bytes.load(Ordering::Relaxed))
            .max()
            .unwrap_or(0)
    }

    /// Largest pending output of any client.
    pub fn max_omem_bytes(&self) -> usize {
        self.clients
            .lock()
            .values()
            .map(|c| c.omem_bytes.load(Ordering::Relaxed))
            .max()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maxclients_is_enforced() {
        let clients = Clients::default();
        let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let a = clients.register(addr, addr, 7, 2).unwrap();
        let b = clients.register(addr, addr, 7, 2).unwrap();
        assert_eq!((a.id, b.id), (3, 4));
        assert_eq!(
            clients.register(addr, addr, 7, 2).err(),
            Some(RegisterError::MaxClients)
        );
        clients.unregister(a.id);
        assert_eq!(clients.register(addr, addr, 7, 2).unwrap().id, 5);
        assert!(b.line().starts_with(
            "id=4 addr=127.0.0.1:1 laddr=127.0.0.1:1 fd=7 name= age=0 idle=0 flags=N db=0"
        ));
    }
}

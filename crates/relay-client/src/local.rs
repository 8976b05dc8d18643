//! A relay on this machine belongs to whoever runs it. On a laptop two physicians share, each
//! one's app starts a relay of its own (on a port of its own, `local_relay_port`), and a client
//! speaks plain HTTP to a loopback port only when the socket listening there is this OS user's:
//! another user's relay, or any other user's program on that port, is never sent a byte. Linux
//! tells a listening socket's owner in `/proc/net/tcp` and `/proc/net/tcp6`; elsewhere there is
//! no check (and the port is the same for every user).

/// The OS user this process runs as.
pub fn this_user() -> Option<u32> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata("/proc/self").ok().map(|m| m.uid())
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// The port of this OS user's local relay: one per user, so two users' relays never meet.
pub fn local_relay_port() -> u16 {
    port_for(this_user())
}

fn port_for(uid: Option<u32>) -> u16 {
    match uid {
        // 20000–59999: above the usual services, below the ephemeral range.
        Some(uid) => 20000 + (uid % 40000) as u16,
        None => 8443,
    }
}

/// The owners of the sockets listening on `port` on a loopback or unspecified address.
fn listeners(port: u16) -> Vec<u32> {
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .flat_map(|table| owners_in(&table, port))
        .collect()
}

/// Reads one `/proc/net/tcp{,6}` table: `sl local rem st … uid …`, the local address as hex
/// (IPv4 little-endian words), the port big-endian hex, state `0A` listening.
fn owners_in(table: &str, port: u16) -> Vec<u32> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let (address, listening_port) = cols.get(1)?.split_once(':')?;
            if cols.get(3) != Some(&"0A") || u16::from_str_radix(listening_port, 16).ok()? != port {
                return None;
            }
            let here = matches!(
                address,
                // 0.0.0.0, 127.0.0.1, ::, ::1, ::ffff:127.0.0.1
                "00000000"
                    | "0100007F"
                    | "00000000000000000000000000000000"
                    | "00000000000000000000000001000000"
                    | "0000000000000000FFFF00000100007F"
            ) || (address.len() == 8 && address.ends_with("7F"));
            here.then(|| cols.get(7)?.parse().ok()).flatten()
        })
        .collect()
}

/// Whose the listener on `port` is, when it is not this user's. The kernel writes out every
/// socket of the machine for each read of its tables, so one answer per port serves every
/// request of the process for `FRESH_FOR` (a client sending hundreds of requests a second
/// spent most of its time here): a relay that changes hands is seen within that time.
pub fn listener_of_another_user(port: u16) -> Option<u32> {
    use std::collections::HashMap;
    use std::sync::Mutex;
    use std::time::{Duration, Instant};
    const FRESH_FOR: Duration = Duration::from_millis(500);
    /// Each port's owner (when not this user), and when it was read.
    type Owners = HashMap<u16, (Instant, Option<u32>)>;
    static SEEN: Mutex<Option<Owners>> = Mutex::new(None);
    let now = Instant::now();
    if let Ok(seen) = SEEN.lock()
        && let Some((at, owner)) = seen.as_ref().and_then(|s| s.get(&port))
        && now.duration_since(*at) < FRESH_FOR
    {
        return *owner;
    }
    let me = this_user()?;
    let owner = listeners(port).into_iter().find(|uid| *uid != me);
    if let Ok(mut seen) = SEEN.lock() {
        seen.get_or_insert_with(HashMap::new)
            .insert(port, (now, owner));
    }
    owner
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:20FB 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 1 1 ffff 0
   1: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 ffff 0
   2: 0100007F:20FB 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000  1001        0 3 1 ffff 0
   3: 0A00000A:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1002        0 4 1 ffff 0
";

    #[test]
    fn the_owner_of_a_loopback_listener_is_read_and_nothing_else() {
        // Port 8443 (20FB): listened on by uid 1000; the connected socket of 1001 is not a listener.
        assert_eq!(owners_in(TABLE, 8443), vec![1000]);
        // Port 8080 on any address: root's.
        assert_eq!(owners_in(TABLE, 8080), vec![0]);
        // Port 80 on 10.0.0.10 only: not reachable as a loopback relay.
        assert!(owners_in(TABLE, 80).is_empty());
        assert!(owners_in("garbage\n1: x", 8443).is_empty());
    }

    #[test]
    fn each_user_has_a_port_of_their_own() {
        let ports: Vec<u16> = [0, 1000, 1001, 65534, u32::MAX]
            .into_iter()
            .map(|uid| port_for(Some(uid)))
            .collect();
        assert_eq!(ports, vec![20000, 21000, 21001, 45534, 27295]);
        assert!(ports.iter().all(|p| (20000..60000).contains(p)));
        assert_eq!(local_relay_port(), port_for(this_user()));
    }
}

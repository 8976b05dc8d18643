//! What the engine's tests against a real relay share: a clock the test moves, the relay on
//! 127.0.0.1 in this process, a profile, and bringing a colleague into a circle.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use consilium_client::model::{Clock, Timestamp};
use consilium_client::{Engine, EngineConfig, KdfParams, Passphrase, Patience};

/// The system clock plus an offset the test can move forward.
#[derive(Debug, Default)]
pub struct MovableClock(AtomicI64);

impl MovableClock {
    pub fn advance_days(&self, days: i64) {
        self.0.fetch_add(days * 24 * 3600 * 1000, Ordering::SeqCst);
    }
}

impl Clock for MovableClock {
    fn now(&self) -> Timestamp {
        let real = consilium_client::model::SystemClock.now();
        Timestamp(real.0 + self.0.load(Ordering::SeqCst))
    }
}

/// The relay on `addr` ("127.0.0.1:0" for any port), on its own thread, sharing the test's clock.
pub fn start_relay(
    dir: &Path,
    clock: Arc<MovableClock>,
    addr: &str,
) -> consilium_relay::Background {
    let listener = std::net::TcpListener::bind(addr).unwrap();
    let mut config = consilium_relay::RelayConfig::new(dir.to_path_buf(), clock);
    config.admission = consilium_relay::Admission::Open;
    consilium_relay::Background::start(listener, config).unwrap()
}

/// Every test profile's passphrase.
pub const PASSPHRASE: &str = "client test passphrase 123";

pub fn engine(root: &Path, name: &str, clock: &Arc<MovableClock>) -> Engine {
    engine_named(root, name, name, clock)
}

/// A profile in `root/dir` whose physician is called `name`.
pub fn engine_named(root: &Path, dir: &str, name: &str, clock: &Arc<MovableClock>) -> Engine {
    engine_waiting(root, dir, name, clock, Patience::default())
}

/// A profile that waits for relays as `patience` says.
pub fn engine_waiting(
    root: &Path,
    dir: &str,
    name: &str,
    clock: &Arc<MovableClock>,
    patience: Patience,
) -> Engine {
    let config = EngineConfig {
        kdf: KdfParams::TEST_ONLY_WEAK,
        clock: clock.clone(),
        patience,
        ..Default::default()
    };
    Engine::init(
        &root.join(dir),
        &Passphrase::new(PASSPHRASE),
        name,
        "Dermatology",
        config,
    )
    .unwrap()
}

pub fn bring_in(admin: &mut Engine, other: &mut Engine, circle: &str) {
    other.join(&admin.invite(circle).unwrap()).unwrap();
    admin.sync().unwrap();
    let request = admin.join_requests(circle).unwrap().remove(0);
    let number = consilium_client::ApprovalCheck::SafetyNumber(request.safety_number);
    admin.approve(circle, request.id, &number).unwrap();
    admin.sync().unwrap();
    other.sync().unwrap();
}

/// Profiles "a" and "b" under `root`; a creates `circle` on the relay at `relay` and brings b in.
pub fn circle_of_two(
    root: &Path,
    clock: &Arc<MovableClock>,
    relay: &str,
    circle: &str,
) -> (Engine, Engine) {
    let (mut a, mut b) = (engine(root, "a", clock), engine(root, "b", clock));
    a.create_circle(circle, relay).unwrap();
    bring_in(&mut a, &mut b, circle);
    (a, b)
}

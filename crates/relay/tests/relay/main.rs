//! The relay on a real socket (127.0.0.1:0), driven by signed HTTP requests carrying real MLS
//! messages made by openmls; one module per concern, the harness in `support`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod abuse;
mod admission;
mod auth;
mod bucket;
mod configs;
mod database_tls;
mod deadlines;
mod device_keys;
mod device_move;
mod directory;
mod durability;
mod handshake;
mod instances;
mod mailbox;
mod memory;
mod ordering;
mod outages;
mod processes;
mod proxy;
mod push;
mod races;
mod readmission;
mod relocation;
mod roles;
mod slow_uploads;
mod support;
mod uploads;

//! `with-postgres COMMAND [ARGS…]`: starts a PostgreSQL server of its own in a temporary folder
//! (`services::PostgresServer`), runs the command with `CONSILIUM_TEST_POSTGRES` naming it, and
//! stops the server, whatever the command's outcome, passing its exit code on. The relay's
//! test suite runs this way against PostgreSQL (`scripts/test.sh`).

use consilium_testkit::services::{PostgresServer, TEST_POSTGRES_ENV};

fn main() {
    let mut args = std::env::args_os().skip(1);
    let Some(program) = args.next() else {
        eprintln!("usage: with-postgres COMMAND [ARGS…]");
        std::process::exit(2);
    };
    let server = PostgresServer::start();
    let status = std::process::Command::new(program)
        .args(args)
        .env(TEST_POSTGRES_ENV, server.url("postgres"))
        .status();
    drop(server);
    match status {
        Ok(status) => std::process::exit(status.code().unwrap_or(1)),
        Err(e) => {
            eprintln!("with-postgres: the command did not start: {e}");
            std::process::exit(1);
        }
    }
}

//! `consilium-relay --listen ADDR --data DIR [--origin URL] [--admission open|invite]`: the relay
//! as a process (each option also read from `CONSILIUM_RELAY_*`, as the packaged service's
//! `/etc/consilium-relay/relay.env` sets them); `consilium-relay admit --data DIR`: a one-time enrolment code for one account.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Parser;
use consilium_model::SystemClock;
use consilium_relay::{RelayConfig, run};

#[derive(Debug, Parser)]
#[command(
    name = "consilium-relay",
    version,
    about = "Consilium relay: stores and forwards encrypted circle traffic",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: Option<Serve>,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Print a one-time enrolment code that admits one account (a physician types it when
    /// creating a circle on this relay). Works with the relay running or stopped.
    Admit {
        /// The relay's data folder.
        #[arg(long, env = "CONSILIUM_RELAY_DATA")]
        data: PathBuf,
        /// The relay's PostgreSQL database, if it keeps its records there.
        #[arg(long, env = "CONSILIUM_RELAY_DATABASE")]
        database: Option<String>,
    },
    /// Move a stopped relay from its data folder (SQLite) into PostgreSQL (and its blobs into
    /// a bucket): log, group states, mailboxes, key packages, invitations, cursors, accounts
    /// and blobs. The folder is left as it was. Then start the relay with --database (and
    /// --blobs).
    Migrate {
        /// The relay's data folder.
        #[arg(long)]
        from: PathBuf,
        /// The PostgreSQL database to move into, `postgres://user:password@host/database`
        /// (empty: made by `createdb`).
        #[arg(long)]
        to: String,
        /// An S3-compatible bucket to move the blobs into, `s3://bucket/prefix` (the server and
        /// credentials from the environment, as for serving); without it they stay in the
        /// folder.
        #[arg(long)]
        blobs: Option<consilium_relay::store::BucketAddress>,
    },
}

#[derive(Debug, clap::Args)]
struct Serve {
    /// Address to listen on, e.g. 127.0.0.1:8443.
    #[arg(long, env = "CONSILIUM_RELAY_LISTEN", default_value = "127.0.0.1:8443")]
    listen: SocketAddr,
    /// Folder for the relay's database and blob files.
    #[arg(long, env = "CONSILIUM_RELAY_DATA")]
    data: PathBuf,
    /// PEM certificate chain: serve TLS (needs --tls-key).
    #[arg(long, env = "CONSILIUM_RELAY_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of the certificate.
    #[arg(long, env = "CONSILIUM_RELAY_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// A base URL clients reach this relay at besides its listening address, e.g.
    /// https://relay.example.org behind a load balancer (repeat for several). Every signed
    /// request names the relay, so a request signed for another relay is refused.
    #[arg(
        long = "origin",
        env = "CONSILIUM_RELAY_ORIGINS",
        value_delimiter = ','
    )]
    origins: Vec<String>,
    /// Who may use the relay: `invite` (accounts enrolled with `consilium-relay admit`, or
    /// invited into a circle) or `open` (any key; only on a loopback address).
    #[arg(long, env = "CONSILIUM_RELAY_ADMISSION", default_value = "invite")]
    admission: consilium_relay::Admission,
    /// A load balancer in front of the relay that opens each connection with a PROXY protocol
    /// v1 line (HAProxy `send-proxy`, nginx `proxy_protocol on`): the client's address it names
    /// counts for the per-address connection cap (repeat for several).
    #[arg(
        long = "trusted-proxy",
        env = "CONSILIUM_RELAY_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    trusted_proxies: Vec<std::net::IpAddr>,
    /// Connections one client address may hold open at once (a hospital's NAT is one address).
    #[arg(
        long,
        env = "CONSILIUM_RELAY_MAX_CONNECTIONS_PER_ADDRESS",
        default_value_t = 256
    )]
    max_connections_per_address: usize,
    /// Keep blobs in an S3-compatible bucket, `s3://bucket/prefix`, instead of the data folder
    /// (for several instances behind a load balancer). The server and credentials come from
    /// the environment: AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
    /// (and AWS_ALLOW_HTTP=true for a plain-HTTP server on this machine).
    #[arg(long, env = "CONSILIUM_RELAY_BLOBS")]
    blobs: Option<consilium_relay::store::BucketAddress>,
    /// Keep records in PostgreSQL, `postgres://user:password@host/database`, instead of SQLite
    /// in the data folder: several instances behind a load balancer share it. TLS as the
    /// address says (`?sslmode=verify-full&sslrootcert=/path/ca.pem`), always verified.
    #[arg(long, env = "CONSILIUM_RELAY_DATABASE")]
    database: Option<String>,
    /// How many instances serve this relay behind the load balancer: each holds an account to
    /// its share of the request rate, so the account gets about the relay's rate in all.
    #[arg(long, env = "CONSILIUM_RELAY_INSTANCES", default_value_t = 1)]
    instances: u32,
}

/// The database an address names: PostgreSQL, or SQLite in the data folder when none.
fn database_at(url: Option<String>) -> consilium_relay::store::DatabaseLocation {
    url.map_or(
        consilium_relay::store::DatabaseLocation::DataFolder,
        consilium_relay::store::DatabaseLocation::Postgres,
    )
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    if let Some(Command::Migrate { from, to, blobs }) = args.command {
        // The store's operations block: off the runtime's threads.
        return tokio::task::spawn_blocking(move || migrate(&from, to, blobs)).await?;
    }
    if let Some(Command::Admit { data, database }) = args.command {
        let now = consilium_model::Clock::now(&SystemClock).0;
        let code = consilium_relay::new_enrolment_code(&data, &database_at(database), now)
            .map_err(|e| anyhow::anyhow!("recording the code in {}: {e}", data.display()))?;
        #[allow(clippy::print_stdout)]
        {
            println!("{code}");
        }
        return Ok(());
    }
    let Some(args) = args.serve else {
        anyhow::bail!("--data is required: where the relay keeps its database and files");
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    tracing::info!(
        addr = %listener.local_addr()?,
        data = %args.data.display(),
        tls = args.tls_cert.is_some(),
        admission = ?args.admission,
        "relay listening"
    );
    let mut config = RelayConfig::new(args.data, Arc::new(SystemClock));
    config.tls = args.tls_cert.zip(args.tls_key);
    config.origins = args.origins;
    config.admission = args.admission;
    config.trusted_proxies = args.trusted_proxies;
    config.max_connections_per_address = args.max_connections_per_address;
    config.database = database_at(args.database);
    config.instances = args.instances.max(1);
    if let Some(bucket) = args.blobs {
        config.blobs = consilium_relay::store::BlobLocation::Bucket(bucket);
    }
    run(listener, config, shutdown_signal())
        .await
        .context("serving")?;
    tracing::info!("relay stopped");
    Ok(())
}

/// `consilium-relay migrate`: says what it does and what it moved.
#[allow(clippy::print_stdout)]
fn migrate(
    from: &std::path::Path,
    to: String,
    blobs: Option<consilium_relay::store::BucketAddress>,
) -> Result<()> {
    use consilium_relay::store::{BlobLocation, DatabaseLocation, Store};
    let bucket = blobs.is_some();
    let blobs = blobs.map_or(BlobLocation::Folder, BlobLocation::Bucket);
    let moved = Store::relocate(from, &DatabaseLocation::Postgres(to), &blobs, &mut |step| {
        println!("{step}");
    })
    .map_err(|e| anyhow::anyhow!("moving the relay in {}: {}", from.display(), e.detail()))?;
    if bucket {
        println!("blobs: {} copied into the bucket", moved.blobs);
    } else {
        println!("blobs: left in {}", from.join("blobs").display());
    }
    if moved.blobs_missing > 0 {
        println!(
            "warning: {} blob(s) recorded were missing from the folder before the move",
            moved.blobs_missing
        );
    }
    println!("done: start the relay with --database (and --blobs) and the same --data");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

//! A relay of two instances behind HAProxy (Debian's package), as a society hosting circles
//! runs it: both share PostgreSQL and an S3 bucket, HAProxy balances requests over them round
//! robin and tells them the client's address in a PROXY line. The three physicians' journey
//! (circle, approvals, a case with photos, comment, vote, removal) goes through the balancer,
//! its requests served by both instances.

use consilium_testkit::load_balancer::LoadBalancer;
use consilium_testkit::services::{PostgresServer, S3Server, free_port};

use crate::support::Relay;
use crate::three_physicians::{Journey, journey};

#[test]
fn three_physicians_work_through_two_instances_behind_a_load_balancer() {
    let root = tempfile::tempdir().unwrap();
    let database = PostgresServer::start();
    let s3 = S3Server::start();
    let port = free_port();
    let origin = format!("http://127.0.0.1:{port}");
    let options = [
        "--database".to_string(),
        database.create_database(),
        "--blobs".to_string(),
        format!("s3://{}/relay", s3.bucket),
        "--trusted-proxy".to_string(),
        "127.0.0.1".to_string(),
    ];
    let env = s3.env();
    let instances: Vec<Relay> = (0..2)
        .map(|i| {
            Relay::start_instance(
                &root.path().join(format!("instance{i}")),
                &origin,
                &options,
                &env,
            )
        })
        .collect();
    let balancer = LoadBalancer::start(
        port,
        &instances.iter().map(|r| r.addr.clone()).collect::<Vec<_>>(),
    );

    let Journey { a, b, case, .. } = journey(root.path(), &balancer.url());
    // One more round after it: B's comment reaches A, whichever instance each lands on.
    b.ok(&["comment", &case, "QZX one more through the balancer"]);
    a.ok(&["sync"]);
    let shown = a.json(&["case", "show", &case]);
    assert_eq!(shown["comments"].as_array().unwrap().len(), 3);

    let sessions = balancer.sessions();
    assert_eq!(sessions.len(), 2);
    for (instance, served) in &sessions {
        assert!(
            *served > 10,
            "{instance} served {served} sessions: {sessions:?}"
        );
    }
    // Neither instance's folder holds a blob: they are in the bucket.
    for r in &instances {
        let blobs = std::fs::read_dir(r.data.join("blobs")).map_or(0, |d| d.count());
        assert_eq!(blobs, 0, "blobs on {}'s disk", r.addr);
    }
}

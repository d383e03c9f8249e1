//! The S3 lake lock against moto's S3 (which enforces `If-None-Match`):
//! two runs at once (one wins, the other is told who holds the lake), a
//! holder that keeps renewing, a release, a run that dies without
//! releasing (its lease expires, the next run takes over), and a holder
//! that learns it lost the lock.

use std::time::Duration;

use poolsight_remote::{LockError, LockOptions, S3LakeLock};
use poolsight_testkit::{aws_test_env, MotoServer};

async fn client(moto: &MotoServer, bucket: &str) -> aws_sdk_s3::Client {
    aws_test_env();
    moto.s3_with_bucket(bucket).await
}

fn short(lease_ms: u64, renew_ms: u64) -> LockOptions {
    LockOptions {
        lease: Duration::from_millis(lease_ms),
        renew_every: Duration::from_millis(renew_ms),
        attempts: 3,
    }
}

async fn objects(client: &aws_sdk_s3::Client, bucket: &str) -> Vec<String> {
    client
        .list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .expect("list")
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_writer_at_a_time_and_a_dead_run_s_lease_expires() {
    let moto = MotoServer::start();
    let bucket = "lake-lock-test";
    let s3 = client(&moto, bucket).await;
    let prefix = "teams/secops/lake";

    // Two runs at once: exactly one holds the lake.
    let (a, b) = tokio::join!(
        S3LakeLock::acquire(&s3, bucket, prefix, "run-a", short(1500, 400)),
        S3LakeLock::acquire(&s3, bucket, prefix, "run-b", short(1500, 400)),
    );
    let (winner, loser) = match (a, b) {
        (Ok(lock), Err(error)) | (Err(error), Ok(lock)) => (lock, error),
        (a, b) => panic!("exactly one run must hold the lake: {a:?} / {b:?}"),
    };
    match &loser {
        LockError::Busy { holder, .. } => assert_eq!(holder.owner, winner.info().owner),
        other => panic!("expected busy, got {other}"),
    }
    assert!(loser.to_string().contains("is in use by run-"), "{loser}");
    assert_eq!(winner.info().generation, 1);
    assert_eq!(
        objects(&s3, bucket).await,
        vec![format!("{prefix}/_state/lock/00000000000000000001.json")]
    );

    // The primitive underneath: creating an existing generation is refused.
    let again = s3
        .put_object()
        .bucket(bucket)
        .key(format!("{prefix}/_state/lock/00000000000000000001.json"))
        .if_none_match("*")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"{}"))
        .send()
        .await;
    let status = again
        .as_ref()
        .err()
        .and_then(|e| e.raw_response())
        .map(|r| r.status().as_u16());
    assert_eq!(status, Some(412), "moto must refuse: {again:?}");

    // A live holder renews: well past its 1.5 s lease, the lake is still busy.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let third = S3LakeLock::acquire(&s3, bucket, prefix, "run-c", short(1500, 400)).await;
    assert!(matches!(third, Err(LockError::Busy { .. })), "{third:?}");
    assert!(!winner.is_lost());

    // Released: the next run takes it at once.
    winner.release().await.expect("release");
    let next = S3LakeLock::acquire(&s3, bucket, prefix, "run-d", short(1200, 300))
        .await
        .expect("free after release");
    assert_eq!(next.info().owner, "run-d");

    // A run that dies (dropped: no release, no renewal, like SIGKILL).
    drop(next);
    let early = S3LakeLock::acquire(&s3, bucket, prefix, "run-e", short(1200, 300)).await;
    assert!(
        matches!(early, Err(LockError::Busy { .. })),
        "the dead run's lease still runs"
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let taken = S3LakeLock::acquire(&s3, bucket, prefix, "run-e", short(1200, 300))
        .await
        .expect("the dead run's lease expired");
    let generation = taken.info().generation;
    // Older generations are cleaned up; the newest is the lock.
    assert_eq!(
        objects(&s3, bucket).await,
        vec![format!("{prefix}/_state/lock/{generation:020}.json")]
    );
    taken.release().await.expect("release");
    // Another lake (prefix) in the same bucket has its own lock.
    let other = S3LakeLock::acquire(&s3, bucket, "other-lake", "run-f", short(1200, 300))
        .await
        .expect("another prefix");
    other.release().await.expect("release");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_that_could_not_renew_learns_it_lost_the_lock() {
    let moto = MotoServer::start();
    let bucket = "lake-lock-lost";
    let s3 = client(&moto, bucket).await;
    // Renewal slower than the lease (a paused process, a network cut).
    let stalled = S3LakeLock::acquire(&s3, bucket, "", "stalled", short(800, 2500))
        .await
        .expect("first");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let taker = S3LakeLock::acquire(&s3, bucket, "", "taker", short(5000, 1000))
        .await
        .expect("the stalled lease expired");
    assert_eq!(taker.info().generation, 2);
    // At its next renewal the stalled holder sees generation 2 and stops.
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert!(
        stalled.is_lost(),
        "the stalled holder must know it lost the lake"
    );
    assert!(!taker.is_lost());
    // Its release does not touch the taker's lock.
    stalled.release().await.expect("release");
    let busy = S3LakeLock::acquire(&s3, bucket, "", "late", short(5000, 1000)).await;
    assert!(
        matches!(busy, Err(LockError::Busy { ref holder, .. }) if holder.owner == "taker"),
        "{busy:?}"
    );
    taker.release().await.expect("release");
}

//! The S3 plumbing against a real S3-compatible server (s3s-fs with SigV4): prefix listings past
//! S3's 1,000-key page, reads, and the distinct errors for a missing bucket, wrong keys, an empty
//! prefix and an unreachable endpoint.

use std::sync::Arc;

use blueshift_compute::s3::{self, S3Config, S3Credentials, S3Error, S3Url};
use blueshift_tests::s3::{ACCESS_KEY_ID, SECRET_ACCESS_KEY, TestS3};
use object_store::ObjectStore;

fn keys() -> S3Credentials {
    S3Credentials {
        access_key_id: Some(ACCESS_KEY_ID.into()),
        secret_access_key: Some(SECRET_ACCESS_KEY.into()),
        ..Default::default()
    }
}

fn config(server: &TestS3) -> S3Config {
    S3Config::new(Some(server.endpoint.clone()), std::env::temp_dir())
}

fn store(config: &S3Config, bucket: &str, credentials: &S3Credentials) -> Arc<dyn ObjectStore> {
    s3::bucket_store(config, bucket, credentials).expect("store")
}

#[tokio::test]
async fn lists_past_one_page_and_reads_objects() {
    let server = TestS3::start().await;
    server.create_bucket("data");
    for i in 0..1105 {
        server.put("data", &format!("many/part-{i:05}"), format!("row {i}\n"));
    }
    server.put("data", "many-not/x", "no");
    let config = config(&server);
    let store = store(&config, "data", &keys());
    let url = S3Url::parse("s3://data/many/part-").unwrap();
    let objects = s3::list_prefix(&store, &config, &url).await.unwrap();
    assert_eq!(objects.len(), 1105);
    assert_eq!(objects[0].location.as_ref(), "many/part-00000");
    assert_eq!(objects[1104].location.as_ref(), "many/part-01104");
    let object = url.object("many/part-00042");
    assert_eq!(&s3::get(&store, &config, &object).await.unwrap()[..], b"row 42\n");
    assert_eq!(&s3::get_range(&store, &config, &object, 4..6).await.unwrap()[..], b"42");
    let everything = S3Url::parse("s3://data/many").unwrap();
    assert_eq!(s3::list_prefix(&store, &config, &everything).await.unwrap().len(), 1106);
}

#[tokio::test]
async fn failures_have_distinct_causes() {
    let server = TestS3::start().await;
    server.create_bucket("data");
    server.put("data", "a.csv", "1\n");
    let config = config(&server);

    let missing = S3Url::parse("s3://nobucket/a").unwrap();
    let err = s3::list_prefix(&store(&config, "nobucket", &keys()), &config, &missing).await.unwrap_err();
    assert_eq!(err, S3Error::NoSuchBucket("nobucket".into()));

    let wrong = S3Credentials {
        secret_access_key: Some("wrong".into()),
        ..keys()
    };
    let url = S3Url::parse("s3://data/a").unwrap();
    let err = s3::list_prefix(&store(&config, "data", &wrong), &config, &url).await.unwrap_err();
    assert!(matches!(err, S3Error::AccessDenied { ref bucket, .. } if bucket == "data"), "{err:?}");
    assert!(err.to_string().contains("SignatureDoesNotMatch"), "{err}");

    let empty = S3Url::parse("s3://data/none/").unwrap();
    let err = s3::list_prefix(&store(&config, "data", &keys()), &config, &empty).await.unwrap_err();
    assert_eq!(err, S3Error::NoObjects("s3://data/none/".into()));

    let err = s3::get(&store(&config, "data", &keys()), &config, &url.object("b.csv")).await.unwrap_err();
    assert_eq!(err, S3Error::NoSuchKey("s3://data/b.csv".into()));

    let closed = format!("http://127.0.0.1:{}", blueshift_tests::cluster::free_port());
    let nowhere = S3Config::new(Some(closed.clone()), std::env::temp_dir());
    let err = s3::list_prefix(&store(&nowhere, "data", &keys()), &nowhere, &url).await.unwrap_err();
    assert!(matches!(err, S3Error::Unreachable { ref endpoint, .. } if *endpoint == closed), "{err:?}");
}

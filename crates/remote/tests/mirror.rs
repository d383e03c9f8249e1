//! The mirror against moto's S3 with hostile object keys: whoever can
//! write to the lake's bucket must not be able to make a poolsight run
//! write outside its working folder. Keys with `..`, an absolute-looking
//! part or a doubled slash (and a console folder marker) under the lake's mirrored folders stay inside
//! the folder (or are left in the bucket); the lake's real state is copied
//! down as usual.

use std::path::Path;

use poolsight_collect::aws::AwsSettings;
use poolsight_remote::{Access, RemoteLake, S3Location};
use poolsight_testkit::{aws_test_env, MotoServer};

/// Names that must not appear anywhere but inside the working folder.
const ESCAPES: &[&str] = &["poolsight-escaped-a.json", "poolsight-escaped-b.json"];

fn files_under(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).expect("read_dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else {
                found.push(
                    path.strip_prefix(root)
                        .expect("under root")
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    found.sort();
    found
}

#[test]
fn hostile_keys_never_become_files_outside_the_working_folder() {
    aws_test_env();
    let moto = MotoServer::start();
    let bucket = "mirror-hostile-keys";
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let s3 = moto.s3_with_bucket(bucket).await;
        for (key, body) in [
            ("lake/findings/findings.jsonl", "{}\n"),
            ("lake/findings/", ""),
            ("lake/findings/../../../poolsight-escaped-a.json", "{}"),
            ("lake/_state/../../../../poolsight-escaped-b.json", "{}"),
            ("lake/findings//tmp/poolsight-doubled.json", "{}"),
        ] {
            s3.put_object()
                .bucket(bucket)
                .key(key)
                .body(body.as_bytes().to_vec().into())
                .send()
                .await
                .unwrap_or_else(|e| panic!("put {key}: {e:?}"));
        }
    });
    let location = S3Location::parse(&format!("s3://{bucket}/lake"))
        .expect("valid")
        .expect("an s3:// location");
    let settings = AwsSettings {
        region: Some("us-east-1".into()),
        endpoint_url: Some(moto.endpoint()),
        max_attempts: 2,
        ..Default::default()
    };

    let lake = RemoteLake::open(&location, &settings, Access::Read, 1 << 20).expect("open");
    let folder = lake.folder().to_path_buf();
    let copied = files_under(&folder);
    assert!(
        copied.contains(&"findings/findings.jsonl".to_string()),
        "the lake's own state is copied: {copied:?}"
    );
    for ancestor in folder.ancestors().skip(1) {
        for name in ESCAPES {
            assert!(
                !ancestor.join(name).exists(),
                "{} was written outside the working folder",
                ancestor.join(name).display()
            );
        }
    }
    assert!(
        !Path::new("/tmp/poolsight-doubled.json").exists(),
        "a doubled slash became an absolute path"
    );
    lake.close().expect("close");
}

//! Embeds the repository's `queries/` (views and detections, with their
//! test events) so the binary runs them from anywhere; a config's
//! `detect.queries_dir` replaces them at run time.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out);
        } else if path
            .extension()
            .is_some_and(|e| e == "sql" || e == "jsonl" || e == "toml" || e == "json")
        {
            out.push(path);
        }
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let queries = manifest.join("../../queries");
    println!("cargo:rerun-if-changed={}", queries.display());
    let mut files = Vec::new();
    walk(&queries, &mut files);
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    files.sort();
    let mut code = String::from("/// `(path under queries/, text)` of every embedded query file.\npub const EMBEDDED: &[(&str, &str)] = &[\n");
    for file in &files {
        let relative = file
            .strip_prefix(&queries)
            .expect("under queries/")
            .to_string_lossy()
            .replace('\\', "/");
        let absolute = file.canonicalize().expect("exists");
        writeln!(
            code,
            "    ({relative:?}, include_str!({:?})),",
            absolute.display().to_string()
        )
        .expect("write to a String");
    }
    code.push_str("];\n");
    let out =
        PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it")).join("embedded_queries.rs");
    std::fs::write(out, code).expect("write embedded_queries.rs");
}

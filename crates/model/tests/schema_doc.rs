//! `docs/schema.md` documents every column of the `events` table, generated
//! from the one column list in `columns.rs`. Run with
//! `POOLSIGHT_UPDATE_DOCS=1 cargo test -p poolsight-model --test schema_doc`
//! to rewrite the table after changing a column.

const BEGIN: &str = "<!-- BEGIN GENERATED COLUMNS -->\n";
const END: &str = "<!-- END GENERATED COLUMNS -->";

#[test]
fn schema_doc_lists_every_column() {
    let path = format!("{}/../../docs/schema.md", env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(&path).expect("docs/schema.md exists");
    let start = doc.find(BEGIN).expect("BEGIN marker") + BEGIN.len();
    let end = doc.find(END).expect("END marker");
    let table = poolsight_model::columns::schema_markdown_table();
    if std::env::var_os("POOLSIGHT_UPDATE_DOCS").is_some() {
        let updated = format!("{}{}{}", &doc[..start], table, &doc[end..]);
        std::fs::write(&path, updated).expect("write docs/schema.md");
        return;
    }
    assert_eq!(
        &doc[start..end],
        table,
        "docs/schema.md is out of date: rerun with POOLSIGHT_UPDATE_DOCS=1"
    );
}

//! `poolsight sql --lake DIR [QUERY] [--format …]`: one query, or an
//! interactive prompt (history, multi-line statements ending with `;`,
//! `.tables`, `.schema`, `.format`) when QUERY is absent. Without a
//! terminal, statements are read from stdin.

use std::io::{IsTerminal, Read, Write};

use anyhow::Result;
use poolsight_config::Config;
use poolsight_detect::{LakeSession, SessionOptions};

use crate::cli::{OutputFormat, SqlArgs};
use crate::output::write_batches;

const HELP: &str = "\
Statements end with `;` and may span lines. Tables: events, quarantine, findings, views
credentials, identity_activity, pools, access_denials (see `.tables`).
  .tables            list tables and views
  .schema [TABLE]    columns of a table (all tables without a name)
  .format FORMAT     table | csv | json | jsonl
  .help              this text
  .quit              leave (or Ctrl-D)";

pub fn run(args: &SqlArgs, config: &Config) -> Result<u8> {
    let lake = config.lake_or(args.lake.as_deref());
    let runtime = super::runtime()?;
    runtime.block_on(async {
        let options = SessionOptions {
            own_pools: config.detect.own_pools.clone(),
            geoip: Some(std::sync::Arc::new(anyhow::Context::context(
                poolsight_detect::geoip::GeoIp::from_config(config),
                "[geoip]",
            )?)),
            engine: super::engine(config, args.engine.as_deref()).await?,
            ..Default::default()
        };
        let catalog = poolsight_detect::catalog::Catalog::from_config(config)?;
        let session = LakeSession::open_with(&lake, &options, &catalog).await?;
        match &args.query {
            Some(query) => {
                let batches = session.query(query).await?;
                write_batches(&mut std::io::stdout().lock(), &batches, args.format)?;
                Ok(0)
            }
            None if std::io::stdin().is_terminal() => interactive(&session, args.format).await,
            None => {
                let mut text = String::new();
                std::io::stdin().read_to_string(&mut text)?;
                let mut prompt = Prompt::new(args.format);
                for line in text.lines() {
                    if !prompt.feed(&session, line).await {
                        break;
                    }
                }
                prompt.feed(&session, ";").await;
                Ok(if prompt.failed { crate::exit::ERROR } else { 0 })
            }
        }
    })
}

/// Splits a script into statements at `;` outside quotes.
pub fn split_statements(text: &str) -> Vec<String> {
    let mut statements = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, ';') => {
                if !current.trim().is_empty() {
                    statements.push(current.trim().to_string());
                }
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if !current.trim().is_empty() {
        statements.push(current.trim().to_string());
    }
    statements
}

async fn run_statement(session: &LakeSession, sql: &str, format: OutputFormat) -> Result<()> {
    let started = std::time::Instant::now();
    let batches = session.query(sql).await?;
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    write_batches(&mut std::io::stdout().lock(), &batches, format)?;
    if format == OutputFormat::Table {
        eprintln!("{rows} row(s) in {:.3} s", started.elapsed().as_secs_f64());
    }
    Ok(())
}

async fn dot_command(session: &LakeSession, line: &str, format: &mut OutputFormat) -> Result<bool> {
    let mut words = line.split_whitespace();
    match words.next().unwrap_or_default() {
        ".quit" | ".exit" => return Ok(false),
        ".help" => println!("{HELP}"),
        ".tables" => {
            run_statement(
                session,
                "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
                OutputFormat::Table,
            )
            .await?
        }
        ".schema" => {
            let filter = match words.next() {
                Some(table) => format!("AND table_name = '{}'", table.replace('\'', "''")),
                None => String::new(),
            };
            run_statement(
                session,
                &format!("SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns WHERE table_schema = 'public' {filter} ORDER BY table_name, ordinal_position"),
                OutputFormat::Table,
            )
            .await?
        }
        ".format" => {
            *format = match words.next() {
                Some("table") => OutputFormat::Table,
                Some("csv") => OutputFormat::Csv,
                Some("json") => OutputFormat::Json,
                Some("jsonl") => OutputFormat::Jsonl,
                other => anyhow::bail!("unknown format {other:?}: table, csv, json or jsonl"),
            }
        }
        other => anyhow::bail!("unknown command {other}; .help lists them"),
    }
    Ok(true)
}

fn history_file() -> Option<std::path::PathBuf> {
    Some(super::state_dir()?.join("sql_history"))
}

/// The statement buffer shared by the terminal prompt and stdin scripts.
struct Prompt {
    buffer: String,
    format: OutputFormat,
    failed: bool,
}

impl Prompt {
    fn new(format: OutputFormat) -> Self {
        Self {
            buffer: String::new(),
            format,
            failed: false,
        }
    }

    /// Takes one line; runs what is complete. `false` means leave.
    async fn feed(&mut self, session: &LakeSession, line: &str) -> bool {
        let trimmed = line.trim();
        if self.buffer.trim().is_empty() && trimmed.starts_with('.') {
            self.buffer.clear();
            return match dot_command(session, trimmed, &mut self.format).await {
                Ok(go_on) => go_on,
                Err(error) => {
                    eprintln!("error: {error:#}");
                    self.failed = true;
                    true
                }
            };
        }
        self.buffer.push_str(line);
        self.buffer.push('\n');
        if trimmed.ends_with(';') {
            for statement in split_statements(&self.buffer) {
                if let Err(error) = run_statement(session, &statement, self.format).await {
                    eprintln!("error: {error:#}");
                    self.failed = true;
                }
            }
            self.buffer.clear();
        }
        true
    }
}

async fn interactive(session: &LakeSession, format: OutputFormat) -> Result<u8> {
    use rustyline::error::ReadlineError;
    let mut editor = rustyline::DefaultEditor::new()?;
    let history = history_file();
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    eprintln!("poolsight sql: statements end with `;`; .help for commands, Ctrl-D to leave");
    let mut prompt = Prompt::new(format);
    loop {
        let text = if prompt.buffer.is_empty() {
            "poolsight> "
        } else {
            "      ...> "
        };
        match editor.readline(text) {
            Ok(line) => {
                let complete = line.trim().ends_with(';')
                    || (prompt.buffer.is_empty() && line.trim().starts_with('.'));
                if !prompt.feed(session, &line).await {
                    break;
                }
                if complete {
                    let _ = editor.add_history_entry(line.trim());
                }
            }
            Err(ReadlineError::Interrupted) => prompt.buffer.clear(),
            Err(ReadlineError::Eof) => break,
            Err(error) => return Err(error.into()),
        }
        std::io::stdout().flush()?;
    }
    if let Some(path) = &history {
        if let Some(parent) = path.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        let _ = editor.save_history(path);
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_split_at_semicolons_outside_quotes() {
        assert_eq!(
            split_statements("SELECT 1;\nSELECT 'a;b' AS x ;  ;SELECT \"c;\" FROM t"),
            vec!["SELECT 1", "SELECT 'a;b' AS x", "SELECT \"c;\" FROM t"]
        );
    }
}

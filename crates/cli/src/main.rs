//! `poolsight`: the command-line front of the pipeline. Thin glue: argument
//! parsing, logging set-up and exit codes here; the work lives in the
//! library crates (ingest, lake, detect, sample).

mod cli;
mod collecting;
mod commands;
mod exit;
mod output;
mod remote_lake;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command, LogFormat};

fn main() -> ExitCode {
    let mut cli = Cli::parse();
    init_logging(&cli);
    let result = poolsight_config::Config::discover(cli.config.as_deref())
        .map_err(anyhow::Error::from)
        .and_then(|config| {
            // A lake in S3: the command works on a copy of its state.
            let remote = match remote_lake::open(&mut cli.command, &config)? {
                remote_lake::Opened::Local => None,
                remote_lake::Opened::Remote(remote) => Some(remote),
                remote_lake::Opened::Exit(code) => return Ok(code),
            };
            let result = dispatch(&cli, &config);
            match remote {
                None => result,
                // Copied back even after an error: the working folder is a
                // lake a run may stop at any point.
                Some(remote) => {
                    let closed = remote_lake::close(remote, 0);
                    let code = result?;
                    closed.map(|_| code)
                }
            }
        });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            // The message may quote file names, keys or record text.
            let message = format!("{error:#}");
            let lines: Vec<_> = message.lines().map(output::terminal_safe).collect();
            eprintln!("error: {}", lines.join("\n"));
            ExitCode::from(exit::ERROR)
        }
    }
}

fn dispatch(cli: &Cli, config: &poolsight_config::Config) -> anyhow::Result<u8> {
    match &cli.command {
        Command::Ingest(args) => commands::ingest::run(args, config),
        Command::Sample(args) => commands::sample::run(args),
        Command::Demo(args) => commands::demo::run(args),
        Command::Sql(args) => commands::sql::run(args, config),
        Command::Collect(args) => commands::collect::run(args, config, cli.quiet),
        Command::Run(args) => commands::run::run(args, config, cli.quiet),
        Command::Detect(args) => commands::detect::run(args, config),
        Command::Lint(args) => commands::detect::run_lint(args, config),
        Command::Findings(args) => commands::findings::run(args, config),
        Command::State(args) => commands::state::run(args, config),
        Command::Dash(args) => commands::dash::run(args, config),
        Command::Compact(args) => commands::compact::run(args, config),
        Command::Inventory(args) => commands::inventory::run(args, config),
        Command::Coverage(args) => commands::coverage::run(args, config),
        Command::Notify(args) => commands::notify::run(args, config),
        Command::Export(args) => commands::export::run(args, config),
        Command::Schema(args) => commands::schema::run(args, config),
        Command::Cluster(args) => commands::cluster::run(args, config),
    }
}

fn init_logging(cli: &Cli) {
    let level = match (cli.quiet, cli.verbose) {
        (true, _) => "error",
        (false, 0) => "warn,poolsight=info",
        (false, 1) => "info,poolsight=debug,poolsight_collect=debug,poolsight_ingest=debug,poolsight_lake=debug",
        (false, _) => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("POOLSIGHT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    // The dashboard owns the terminal: its logs go to a file instead.
    let to_file = matches!(&cli.command, Command::Dash(args) if !args.print && !args.list);
    let writer = if to_file {
        commands::dash::log_writer()
    } else {
        tracing_subscriber::fmt::writer::BoxMakeWriter::new(std::io::stderr)
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(!to_file && std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(writer);
    match cli.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.with_target(false).init(),
    }
}

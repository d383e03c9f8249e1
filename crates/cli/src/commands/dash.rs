//! `poolsight dash`: the terminal dashboard (crates/dash), or with
//! `--print` a text snapshot of one dashboard.

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use poolsight_config::Config;
use poolsight_dash::{App, Engine, EngineConfig, Layouts, Theme, TimeWindow};
use poolsight_detect::SessionOptions;
use tracing_subscriber::fmt::writer::BoxMakeWriter;

use crate::cli::DashArgs;

/// How long `--print` waits for every panel.
const PRINT_TIMEOUT: Duration = Duration::from_secs(600);

/// Where the dashboard's logs go while it owns the terminal:
/// `<state dir>/dash.log` (nowhere if that cannot be opened).
pub fn log_writer() -> BoxMakeWriter {
    let file = super::state_dir().and_then(|dir| {
        std::fs::create_dir_all(&dir).ok()?;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("dash.log"))
            .ok()
    });
    match file {
        Some(file) => BoxMakeWriter::new(std::sync::Mutex::new(file)),
        None => BoxMakeWriter::new(std::io::sink),
    }
}

fn parse_size(text: &str) -> Result<(u16, u16)> {
    let (width, height) = text
        .split_once(['x', 'X'])
        .context("--size is WIDTHxHEIGHT, e.g. 160x48")?;
    let width: u16 = width.trim().parse().context("--size width")?;
    let height: u16 = height.trim().parse().context("--size height")?;
    if width < 40 || height < 10 {
        bail!("--size {text}: at least 40x10");
    }
    Ok((width, height))
}

pub fn run(args: &DashArgs, config: &Config) -> Result<u8> {
    let layouts = Layouts::from_config(config, args.dashboards.as_deref())?;
    if args.list {
        for name in layouts.names() {
            let dashboard = layouts.get(name).expect("listed");
            let about = dashboard
                .param
                .as_ref()
                .map(|p| format!(" (--param <{}>)", p.name))
                .unwrap_or_default();
            println!("{name}{about}\t{}\t{}", dashboard.title, dashboard.source);
        }
        return Ok(0);
    }
    let window_text = args
        .window
        .clone()
        .or_else(|| config.dash.window.clone())
        .unwrap_or_else(|| "7d".to_string());
    let window = TimeWindow::parse(&window_text).map_err(anyhow::Error::msg)?;
    let lake = config.lake_or(args.lake.as_deref());
    poolsight_dash::check_lake(&lake)?;
    let app = App::new(layouts, &args.dashboard, args.param.clone(), window)
        .map_err(anyhow::Error::msg)?;
    let size = if args.print {
        Some(parse_size(&args.size)?)
    } else {
        None
    };
    if size.is_none() && !(std::io::stdout().is_terminal() && std::io::stdin().is_terminal()) {
        bail!("poolsight dash needs a terminal; use --print for a text snapshot");
    }
    let engine = Engine::start(EngineConfig {
        lake: lake.clone(),
        catalog: poolsight_detect::catalog::Catalog::from_config(config)?,
        session: SessionOptions {
            own_pools: config.detect.own_pools.clone(),
            geoip: Some(std::sync::Arc::new(
                poolsight_detect::geoip::GeoIp::from_config(config).context("[geoip]")?,
            )),
            ..SessionOptions::default()
        },
    })?;
    match size {
        Some((width, height)) => {
            let text = poolsight_dash::terminal::print_once(
                app,
                &engine,
                &Theme::plain(),
                width,
                height,
                PRINT_TIMEOUT,
            )?;
            print!("{text}");
        }
        None => poolsight_dash::terminal::run_interactive(
            app,
            &engine,
            poolsight_dash::terminal::Interactive {
                theme: Theme::from_env(),
                mouse: !args.no_mouse,
                refresh: (args.refresh > 0).then(|| Duration::from_secs(args.refresh)),
            },
        )?,
    }
    Ok(0)
}

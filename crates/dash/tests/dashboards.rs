//! The shipped dashboards over `sample-data/` (ingested, detected, findings
//! stored), drawn with ratatui's buffer at 80×24 and 160×48 and compared
//! with the snapshots in `tests/snapshots/`; then what keys do to them,
//! broken layouts and failing queries shown in their panels, and colours.
//!
//! Update snapshots after an intended change: `cargo insta review`, or
//! `INSTA_UPDATE=always cargo test -p poolsight-dash --test dashboards`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use poolsight_dash::app::{Action, PanelStatus};
use poolsight_dash::render::render_text;
use poolsight_dash::terminal::load_all;
use poolsight_dash::{App, Engine, EngineConfig, Layouts, QuerySource, Theme, TimeWindow};
use poolsight_detect::catalog::Catalog;
use poolsight_detect::geoip::GeoIp;
use poolsight_detect::SessionOptions;
use poolsight_ingest::{ingest_paths, IngestOptions};

const LOAD: Duration = Duration::from_secs(120);

fn session_options() -> SessionOptions {
    SessionOptions {
        geoip: Some(Arc::new(GeoIp::test_databases().unwrap())),
        ..Default::default()
    }
}

/// The sample trail in a lake, with its findings stored (built once).
fn sample_lake() -> &'static Path {
    static LAKE: OnceLock<PathBuf> = OnceLock::new();
    LAKE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        let lake = dir.join("lake");
        let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sample-data");
        ingest_paths(&[sample], &lake, IngestOptions::default(), &|_, _| {}).unwrap();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let detector = poolsight_detect::detector::Detector::new(
                &lake,
                Catalog::embedded().unwrap(),
                std::sync::Arc::new(GeoIp::test_databases().unwrap()),
            );
            let request = poolsight_detect::detector::DetectRequest {
                store: true,
                ..Default::default()
            };
            let outcome = detector.run(&request, None).await.unwrap();
            assert_eq!(outcome.failed().count(), 0, "{:?}", outcome.runs);
        });
        lake
    })
}

fn engine() -> Engine {
    Engine::start(EngineConfig {
        lake: sample_lake().to_path_buf(),
        catalog: Catalog::embedded().unwrap(),
        session: session_options(),
    })
    .unwrap()
}

fn shipped() -> Layouts {
    Layouts::load(None, &QuerySource::Embedded).unwrap()
}

fn open(engine: &Engine, dashboard: &str, param: Option<String>) -> App {
    let mut app = App::new(shipped(), dashboard, param, TimeWindow::All).unwrap();
    assert!(load_all(&mut app, engine, LOAD), "{dashboard} loads");
    app
}

/// Every panel loaded without an error.
fn assert_no_errors(app: &App) {
    for (index, panel) in app.screen().panels.iter().enumerate() {
        assert!(
            matches!(panel.status, PanelStatus::Ready(_)),
            "{} panel {index}: {:?}",
            app.screen().dashboard.name,
            panel.status
        );
    }
}

/// The identity of the sample's critical cross-identity finding.
fn attacker_identity(engine: &Engine) -> String {
    let app = open(engine, "overview", None);
    let findings = app.screen().panels[4].data().unwrap();
    let detection = findings.column("detection").unwrap();
    let identity = findings.column("identity_id").unwrap();
    let events = findings.column("events").unwrap();
    // The user reaching for others' data (the one with the most calls; the identity sweep's
    // DeleteIdentities is a cross-identity finding too).
    findings
        .rows
        .iter()
        .filter(|r| r[detection].text == "cross_identity_access")
        .max_by_key(|r| r[events].text.parse::<u64>().unwrap_or(0))
        .map(|r| r[identity].text.clone())
        .expect("the sample has a cross-identity finding")
}

fn snapshot(name: &str, app: &App) {
    for (width, height) in [(80, 24), (160, 48)] {
        let text = render_text(app, width, height, &Theme::plain());
        insta::assert_snapshot!(format!("{name}_{width}x{height}"), text);
    }
}

#[test]
fn overview_snapshot() {
    let engine = engine();
    let app = open(&engine, "overview", None);
    assert_no_errors(&app);
    snapshot("overview", &app);
}

#[test]
fn identity_snapshot() {
    let engine = engine();
    let identity = attacker_identity(&engine);
    let app = open(&engine, "identity", Some(identity));
    assert_no_errors(&app);
    snapshot("identity", &app);
}

#[test]
fn pool_snapshot() {
    let engine = engine();
    let chooser = open(&engine, "pool", None);
    assert!(chooser.screen().chooser);
    let pools = chooser.screen().panels[0].data().unwrap();
    let pool = pools.rows[0][0].text.clone();
    let app = open(&engine, "pool", Some(pool));
    assert_no_errors(&app);
    snapshot("pool", &app);
    snapshot("pool_chooser", &chooser);
}

#[test]
fn enter_on_a_finding_opens_its_identity_and_esc_comes_back() {
    let engine = engine();
    let mut app = open(&engine, "overview", None);
    // Tab to the findings list (the fifth panel), down to the critical one.
    for _ in 0..4 {
        app.apply(Action::NextPanel);
    }
    assert_eq!(app.screen().focus, 4);
    let findings = app.screen().panels[4].data().unwrap().clone();
    let severity = findings.column("severity").unwrap();
    assert_eq!(findings.rows[0][severity].text, "critical", "worst first");
    let identity_column = findings.column("identity_id").unwrap();
    let row = findings
        .rows
        .iter()
        .position(|r| !r[identity_column].text.is_empty())
        .unwrap();
    for _ in 0..row {
        app.apply(Action::Down);
    }
    let expected = findings.rows[row][identity_column].text.clone();
    app.apply(Action::Enter);
    assert_eq!(app.stack.len(), 2);
    assert_eq!(app.screen().dashboard.name, "identity");
    assert_eq!(app.screen().param.as_deref(), Some(expected.as_str()));
    assert!(load_all(&mut app, &engine, LOAD));
    assert_no_errors(&app);
    // The timeline holds this identity's calls, and only those.
    let timeline = app.screen().panels[3].data().unwrap();
    assert!(!timeline.rows.is_empty());
    let text = render_text(&app, 160, 48, &Theme::plain());
    assert!(text.contains(&format!("Identity {expected}")), "{text}");
    app.apply(Action::Back);
    assert_eq!(app.stack.len(), 1);
    assert_eq!(app.screen().dashboard.name, "overview");
    assert_eq!(app.screen().focus, 4, "focus is kept on the way back");
}

#[test]
fn a_finding_without_identity_opens_its_pool() {
    let engine = engine();
    let mut app = open(&engine, "overview", None);
    for _ in 0..4 {
        app.apply(Action::NextPanel);
    }
    // The config changes name a pool and no identity.
    for c in "pool_access_widened".chars() {
        if c == 'p' && app.mode == poolsight_dash::app::Mode::Normal {
            app.apply(Action::StartFilter);
        }
        app.apply(Action::Char(c));
    }
    app.apply(Action::Enter);
    let state = &app.screen().panels[4];
    assert_eq!(state.visible.len(), 4, "four config-change findings");
    app.apply(Action::Enter);
    assert_eq!(app.screen().dashboard.name, "pool");
    assert!(load_all(&mut app, &engine, LOAD));
    assert_no_errors(&app);
    let changes = app.screen().panels[4].data().unwrap();
    assert!(!changes.rows.is_empty(), "the pool's changes are listed");
}

#[test]
fn the_window_narrows_every_panel_and_filters_apply_to_rows() {
    let engine = engine();
    let mut app = open(&engine, "overview", None);
    let calls = |app: &App| {
        app.screen().panels[1].data().unwrap().rows[0][0]
            .number
            .unwrap()
    };
    let all = calls(&app);
    app.set_window(TimeWindow::parse("1h").unwrap());
    assert!(load_all(&mut app, &engine, LOAD));
    let last_hour = calls(&app);
    assert!(last_hour < all, "1h {last_hour} < all {all}");
    let resolved = app.resolved.unwrap();
    assert_eq!(
        resolved.newest.unwrap() - resolved.since.unwrap(),
        chrono::Duration::hours(1)
    );
    // A custom window typed in the prompt.
    app.apply(Action::CustomWindow);
    for c in "bogus".chars() {
        app.apply(Action::Char(c));
    }
    app.apply(Action::Enter);
    assert!(matches!(
        &app.mode,
        poolsight_dash::app::Mode::WindowInput { error: Some(_), .. }
    ));
    app.apply(Action::Back);
    app.apply(Action::CycleWindow);
    assert_eq!(app.window.label(), "last 24h");
    assert!(load_all(&mut app, &engine, LOAD));
    // Filter the top addresses by a value of one row.
    for _ in 0..7 {
        app.apply(Action::NextPanel);
    }
    let addresses = app.screen().panels[7].data().unwrap().clone();
    let needle = addresses.rows[1][0].text.clone();
    app.apply(Action::StartFilter);
    for c in needle.chars() {
        app.apply(Action::Char(c));
    }
    let state = &app.screen().panels[7];
    assert!(!state.visible.is_empty() && state.visible.len() < addresses.rows.len());
    assert!(state
        .visible
        .iter()
        .all(|r| addresses.rows[*r].iter().any(|c| c.text.contains(&needle))));
    app.apply(Action::Back);
    assert!(app.screen().panels[7].filter.is_empty());
    assert_eq!(app.screen().panels[7].visible.len(), addresses.rows.len());
}

#[test]
fn broken_layouts_and_failing_queries_show_in_their_panels() {
    let engine = engine();
    let layouts = Layouts::from_texts(
        [
            (
                "mixed",
                r#"title = "Mixed"
[[row]]
[[row.panel]]
title = "Works"
kind = "stat"
width = 4
sql = "SELECT count(*) AS events FROM events"
[[row.panel]]
title = "Pie"
kind = "pie"
width = 4
sql = "SELECT 1"
[[row.panel]]
title = "Typo"
kind = "table"
width = 4
sql = "SELECT nope FROM events"
"#,
            ),
            ("broken", "title = \"Broken\"\n[[row]\n"),
        ],
        &QuerySource::Embedded,
    );
    let mut app = App::new(layouts.clone(), "mixed", None, TimeWindow::All).unwrap();
    assert!(load_all(&mut app, &engine, LOAD));
    let text = render_text(&app, 160, 24, &Theme::plain());
    assert!(
        text.contains("5,000"),
        "the good panel shows its count:\n{text}"
    );
    assert!(text.contains("variant `pie`, expected one of"), "{text}");
    assert!(
        text.contains("no column named nope"),
        "the query error names the column:\n{text}"
    );
    assert!(
        !text.contains("Valid fields are"),
        "the column list is left out:\n{text}"
    );
    let mut broken = App::new(layouts, "broken", None, TimeWindow::All).unwrap();
    assert!(load_all(&mut broken, &engine, LOAD));
    let text = render_text(&broken, 100, 12, &Theme::plain());
    assert!(text.contains("dashboards/broken.toml: line 2"), "{text}");
}

#[test]
fn colours_are_the_sixteen_ansi_ones_and_none_without_colour() {
    use ratatui::buffer::Buffer;
    use ratatui::layout::Rect;
    use ratatui::style::Color;
    let engine = engine();
    let identity = attacker_identity(&engine);
    let app = open(&engine, "identity", Some(identity));
    let area = Rect::new(0, 0, 160, 48);
    let sixteen = |c: Color| {
        matches!(
            c,
            Color::Reset
                | Color::Black
                | Color::Red
                | Color::Green
                | Color::Yellow
                | Color::Blue
                | Color::Magenta
                | Color::Cyan
                | Color::Gray
                | Color::DarkGray
                | Color::LightRed
                | Color::LightGreen
                | Color::LightYellow
                | Color::LightBlue
                | Color::LightMagenta
                | Color::LightCyan
                | Color::White
        )
    };
    let mut colored = Buffer::empty(area);
    poolsight_dash::render::draw_to(&mut colored, area, &app, &Theme { color: true });
    let cells: Vec<_> = colored.content().iter().collect();
    assert!(cells.iter().all(|c| sixteen(c.fg) && sixteen(c.bg)));
    assert!(
        cells.iter().any(|c| c.fg == Color::Red),
        "failed calls are highlighted"
    );
    let mut plain = Buffer::empty(area);
    poolsight_dash::render::draw_to(&mut plain, area, &app, &Theme::plain());
    assert!(plain
        .content()
        .iter()
        .all(|c| c.fg == Color::Reset && c.bg == Color::Reset));
    assert_eq!(
        poolsight_dash::render::buffer_text(&colored),
        poolsight_dash::render::buffer_text(&plain),
        "the same text with and without colour"
    );
}

#[test]
fn a_missing_or_empty_lake_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = poolsight_dash::check_lake(&dir.path().join("nope"))
        .unwrap_err()
        .to_string();
    assert!(missing.contains("does not exist"), "{missing}");
    poolsight_lake::Lake::create(dir.path().join("empty")).unwrap();
    let empty = poolsight_dash::check_lake(&dir.path().join("empty"))
        .unwrap_err()
        .to_string();
    assert!(empty.contains("holds no events yet"), "{empty}");
    poolsight_dash::check_lake(sample_lake()).unwrap();
}

#[test]
fn the_mouse_selects_and_scrolls_the_panel_under_it() {
    use ratatui::crossterm::event::{KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
    use ratatui::layout::Rect;
    let engine = engine();
    let mut app = open(&engine, "overview", None);
    let area = Rect::new(0, 0, 160, 48);
    let areas = poolsight_dash::geometry::panel_areas(
        &app.screen().dashboard,
        poolsight_dash::geometry::body_area(area),
        None,
    );
    let findings = areas[4];
    let at = |kind, column, row| MouseEvent {
        kind,
        column,
        row,
        modifiers: KeyModifiers::NONE,
    };
    // Border, column header, then rows: the third row of the findings list.
    let click = at(
        MouseEventKind::Down(MouseButton::Left),
        findings.x + 3,
        findings.y + 4,
    );
    let action = poolsight_dash::input::mouse_action(&app, area, click).unwrap();
    assert_eq!(
        action,
        Action::Click {
            panel: 4,
            row: Some(2)
        }
    );
    app.apply(action);
    assert_eq!(app.screen().focus, 4);
    assert_eq!(app.screen().panels[4].selected, 2);
    let addresses = areas[7];
    let wheel = at(MouseEventKind::ScrollDown, addresses.x + 2, addresses.y + 3);
    let action = poolsight_dash::input::mouse_action(&app, area, wheel).unwrap();
    app.apply(action);
    assert_eq!(
        app.screen().panels[7].selected,
        3,
        "the wheel scrolls 3 rows"
    );
    assert_eq!(app.screen().focus, 4, "scrolling does not move the focus");
}

/// Copies a folder tree, leaving out the files under `skip`.
fn copy_tree(from: &Path, to: &Path, skip: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target, skip);
        } else if !entry.path().starts_with(skip) {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Every panel's rows, as text.
fn panel_texts(app: &App) -> Vec<Vec<Vec<String>>> {
    app.screen()
        .panels
        .iter()
        .map(|p| {
            p.data()
                .unwrap()
                .rows
                .iter()
                .map(|r| r.iter().map(|c| c.text.clone()).collect())
                .collect()
        })
        .collect()
}

#[test]
fn the_overview_and_pool_screens_read_state_not_raw_events() {
    // The same lake without a single event file: its state tables and
    // findings alone must draw the overview and the pool screen unchanged.
    let dir = tempfile::tempdir().unwrap();
    let bare = dir.path().join("lake");
    copy_tree(sample_lake(), &bare, &sample_lake().join("events"));
    let bare_engine = Engine::start(EngineConfig {
        lake: bare.clone(),
        catalog: Catalog::embedded().unwrap(),
        session: session_options(),
    })
    .unwrap();
    let engine = engine();
    let sample_window = TimeWindow::parse("2026-01-01..2100-01-01").unwrap();
    let load = |engine: &Engine, dashboard: &str, param: Option<String>| {
        let mut app = App::new(shipped(), dashboard, param, sample_window).unwrap();
        assert!(load_all(&mut app, engine, LOAD), "{dashboard} loads");
        assert_no_errors(&app);
        app
    };
    let overview = load(&engine, "overview", None);
    let bare_overview = load(&bare_engine, "overview", None);
    let texts = panel_texts(&overview);
    assert!(
        texts.iter().all(|rows| !rows.is_empty()),
        "every overview panel has rows"
    );
    assert_eq!(texts, panel_texts(&bare_overview));
    let pool = overview.screen().panels[8].data().unwrap().rows[0][0]
        .text
        .clone();
    let pool_screen = load(&engine, "pool", Some(pool.clone()));
    assert_eq!(
        panel_texts(&pool_screen),
        panel_texts(&load(&bare_engine, "pool", Some(pool)))
    );
    // Raw events are what the identity screen's timeline reads: empty here.
    let identity = attacker_identity(&engine);
    let timeline = |engine: &Engine| {
        load(engine, "identity", Some(identity.clone()))
            .screen()
            .panels[3]
            .data()
            .unwrap()
            .rows
            .len()
    };
    assert!(timeline(&engine) > 0);
    assert_eq!(timeline(&bare_engine), 0);
}

/// The sample lake with an inventory (the posture detections' positive
/// test snapshots: an unpinned trust, guest roles that write) and the
/// posture findings detect stores for it.
fn lake_with_inventory() -> PathBuf {
    let dir = tempfile::tempdir().unwrap().keep();
    let lake = dir.join("lake");
    copy_tree(sample_lake(), &lake, &dir.join("nothing-skipped"));
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../queries/detections/posture");
    let mut snapshot: poolsight_inventory::Snapshot = serde_json::from_str(
        &std::fs::read_to_string(fixtures.join("cognito_trust_policy.positive.inventory.json"))
            .unwrap(),
    )
    .unwrap();
    let guests: poolsight_inventory::Snapshot = serde_json::from_str(
        &std::fs::read_to_string(fixtures.join("guest_access.positive.inventory.json")).unwrap(),
    )
    .unwrap();
    let account = &mut snapshot.accounts[0];
    // The two fixtures number their pools alike: the guest ones get ids of their own.
    account.regions[0]
        .pools
        .extend(guests.accounts[0].regions[0].pools.iter().map(|pool| {
            let mut pool = pool.clone();
            pool.identity_pool_id = pool.identity_pool_id.replace("-1111-", "-9999-");
            pool
        }));
    account
        .roles
        .extend(guests.accounts[0].roles.iter().cloned());
    let handle = poolsight_lake::Lake::open(&lake).unwrap();
    poolsight_inventory::write_snapshot(&handle, &snapshot).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let detector = poolsight_detect::detector::Detector::new(
            &lake,
            Catalog::embedded().unwrap(),
            std::sync::Arc::new(GeoIp::test_databases().unwrap()),
        );
        let request = poolsight_detect::detector::DetectRequest {
            store: true,
            only: vec!["posture".into()],
            ..Default::default()
        };
        let outcome = detector.run(&request, None).await.unwrap();
        assert_eq!(outcome.failed().count(), 0);
    });
    lake
}

#[test]
fn the_posture_screen_opens_from_the_overview() {
    let engine = Engine::start(EngineConfig {
        lake: lake_with_inventory(),
        catalog: Catalog::embedded().unwrap(),
        session: session_options(),
    })
    .unwrap();
    let mut app = open(&engine, "overview", None);
    assert_no_errors(&app);
    // The posture panel is the last one: one row, the inventory's account.
    let last = app.screen().panels.len() - 1;
    let posture = app.screen().panels[last].data().unwrap().clone();
    assert_eq!(posture.rows.len(), 1);
    assert_eq!(posture.rows[0][0].text, "111122223333");
    let findings = posture.column("findings").unwrap();
    // Trust: two unpinned roles (critical), one without amr (high); guest
    // access on five pools: one wide (high), one writing its own (medium), three info.
    assert_eq!(posture.rows[0][findings].number, Some(8.0));
    for _ in 0..last {
        app.apply(Action::NextPanel);
    }
    app.apply(Action::Enter);
    assert_eq!(app.screen().dashboard.name, "posture");
    assert!(load_all(&mut app, &engine, LOAD));
    assert_no_errors(&app);
    let rows = |panel: usize| app.screen().panels[panel].data().unwrap().rows.len();
    assert_eq!(rows(1), 5, "five pools");
    assert_eq!(rows(2), 8, "eight trust statements for Cognito");
    assert_eq!(rows(4), 8, "the open posture findings, whatever the window");
    let trust = app.screen().panels[2].data().unwrap();
    let aud = trust.column("aud_pinned_to").unwrap();
    assert_eq!(trust.rows[0][aud].text, "ANY POOL", "unpinned first");
    snapshot("posture", &app);
}

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use serde_json::Value;

use test_host::runner::{self, HostAccess, Policy};
use test_host::session::{Replay, parse_session};

#[derive(Parser)]
#[command(
    name = "test-host",
    about = "Runs a Kubewarden policy the way `kwctl run` does"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Evaluates one admission request, like `kwctl run`.
    Run(RunArgs),
    /// Measures one admission at cluster scale beside three baselines (docs/performance.md).
    Bench(BenchArgs),
}

#[derive(clap::Args)]
struct BenchArgs {
    /// The policy module.
    #[arg(long, default_value = "policy.wasm")]
    policy: PathBuf,
    /// The baseline guests (bench-guests).
    #[arg(long)]
    baselines: PathBuf,
    /// Cluster sizes as VMS:PODS, e.g. 1000:10000.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "1000:10000,3000:30000,10000:100000"
    )]
    sizes: Vec<String>,
    /// Share of pods that carry a Multus MAC (and the tracking label).
    #[arg(long, default_value_t = 0.05)]
    mac_share: f64,
    /// Measured evaluations per case (after one warm-up).
    #[arg(long, default_value_t = 11)]
    runs: usize,
}

fn bench(args: BenchArgs) -> Result<ExitCode> {
    let sizes = args
        .sizes
        .iter()
        .map(|size| {
            let (vms, pods) = size.split_once(':').context("a size is VMS:PODS")?;
            Ok((vms.parse()?, pods.parse()?))
        })
        .collect::<Result<Vec<(usize, usize)>>>()?;
    if !(args.mac_share > 0.0 && args.mac_share <= 1.0) {
        anyhow::bail!("--mac-share must be in (0, 1]");
    }
    if args.runs == 0 {
        anyhow::bail!("--runs must be at least 1");
    }
    test_host::bench::run(&test_host::bench::Options {
        policy: std::fs::read(&args.policy)
            .with_context(|| format!("cannot read {}", args.policy.display()))?,
        baselines: std::fs::read(&args.baselines)
            .with_context(|| format!("cannot read {}", args.baselines.display()))?,
        sizes,
        mac_share: args.mac_share,
        runs: args.runs,
    })?;
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args)]
struct RunArgs {
    /// An AdmissionRequest or a whole AdmissionReview, as JSON.
    #[arg(short = 'r', long)]
    request_path: PathBuf,
    /// Settings as JSON.
    #[arg(short = 's', long, conflicts_with = "settings_path")]
    settings_json: Option<String>,
    /// Settings as a YAML (or JSON) file.
    #[arg(long)]
    settings_path: Option<PathBuf>,
    /// Grants access to the Kubernetes host capabilities.
    #[arg(long)]
    allow_context_aware: bool,
    /// A recorded host-capability session to answer host calls from.
    #[arg(long)]
    replay_host_capabilities_interactions: Option<PathBuf>,
    /// The policy: a path or a file:// URI.
    uri: String,
}

fn read(path: &PathBuf) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn settings(args: &RunArgs) -> Result<Value> {
    match (&args.settings_json, &args.settings_path) {
        (Some(json), _) => serde_json::from_str(json).context("--settings-json is not JSON"),
        (None, Some(path)) => {
            let yaml: serde_yaml::Value = serde_yaml::from_str(&read(path)?)
                .with_context(|| format!("{} is not YAML", path.display()))?;
            Ok(match serde_json::to_value(yaml)? {
                Value::Null => Value::Object(Default::default()),
                settings => settings,
            })
        }
        (None, None) => Ok(Value::Object(Default::default())),
    }
}

fn run(args: RunArgs) -> Result<ExitCode> {
    let path = args.uri.strip_prefix("file://").unwrap_or(&args.uri);
    let wasm = std::fs::read(path).with_context(|| format!("cannot read policy {path}"))?;
    let replay = match &args.replay_host_capabilities_interactions {
        Some(path) => Arc::new(Replay::new(
            parse_session(&read(path)?).with_context(|| format!("session {}", path.display()))?,
        )),
        None => Arc::new(Replay::default()),
    };
    let access = Arc::new(if args.allow_context_aware {
        HostAccess::Replay(replay.clone())
    } else {
        HostAccess::Denied
    });
    let policy = Policy::load(&wasm, access)?;
    let settings = settings(&args)?;
    runner::validate_settings(&policy, &settings)?;
    let document: Value = serde_json::from_str(&read(&args.request_path)?)
        .with_context(|| format!("{} is not JSON", args.request_path.display()))?;
    let request = runner::admission_request(document)?;
    let response = runner::validate(&policy, &request, &settings)?;
    println!("{}", serde_json::to_string(&response)?);
    // Stricter than kwctl, on purpose: a session the policy did not follow is a failed test.
    let mut failures = replay.failures();
    if args.allow_context_aware && replay.unused() > 0 {
        failures.push(format!(
            "replay: the session has {} exchange(s) the policy never asked for",
            replay.unused()
        ));
    }
    for failure in &failures {
        eprintln!("{failure}");
    }
    Ok(if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Run(args) => run(args),
        Command::Bench(args) => bench(args),
    };
    outcome.unwrap_or_else(|e| {
        eprintln!("Error: {e:#}");
        ExitCode::FAILURE
    })
}

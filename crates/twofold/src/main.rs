//! The `twofold` binary: `twofold serve` and the admin CLI over the same use cases.

mod cli;
mod clock;
mod commands;
mod config;
mod geoip;
mod keys;
mod output;
mod progress;
mod serve;

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use tracing_subscriber::EnvFilter;
use twofold_app::{App, AppBuilder, AppSettings};
use twofold_core::clock::Clock;
use twofold_store::SqlStore;

use crate::cli::{Cli, Command, LogFormat};
use crate::config::Settings;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {}", output::error_message(&error));
            ExitCode::FAILURE
        }
    }
}

fn init_logging(format: LogFormat, default_level: &str) {
    let filter = EnvFilter::try_from_env("TWOFOLD_LOG").unwrap_or_else(|_| EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}

/// Opens the database (creating the data directory for the default SQLite file), applies
/// migrations, and builds the application on `clock` (the one the process reads: see
/// [`clock::for_process`]).
///
/// An admin verb works on a database that exists: where there is none yet (a mistyped data
/// directory or URL) it says where it looked instead of making a new, empty one.
async fn open_app(settings: &Settings, clock: &Arc<dyn Clock>) -> anyhow::Result<App> {
    Ok(open_builder(settings, clock, false).await?.build())
}

/// As [`open_app`], leaving the application to be finished (the server adds its parts);
/// `create` (the server) makes the database when there is none.
async fn open_builder(settings: &Settings, clock: &Arc<dyn Clock>, create: bool) -> anyhow::Result<AppBuilder> {
    let store = if create {
        if settings.database_url.starts_with("sqlite:") {
            keys::check_data_dir(&settings.data_dir)?;
        }
        SqlStore::open(&settings.database_url).await.context("cannot open the database")?
    } else {
        SqlStore::open_existing(&settings.database_url).await.context("cannot open the database")?.ok_or_else(|| {
            anyhow::anyhow!(
                "there is no Twofold database at {} (data directory {}): start the server once (`twofold serve`) \
                 or run `twofold migrate` to make one, or point --data-dir / --database-url at the right one",
                twofold_store::redact_url(&settings.database_url),
                settings.data_dir.display()
            )
        })?
    };
    keys::warn_on_open_permissions(&settings.data_dir, &settings.database_url, &settings.master_key_file);
    let app_settings = AppSettings { hash_params: settings.hash_params, session_policy: settings.session_policy };
    let keys = keys::MasterKey::load_if_present(&settings.master_key_file)?.map(|master| master.secret_keys());
    let mut app = App::builder(Arc::new(store), Arc::clone(clock), app_settings, keys)
        .with_fallback_policy(settings.fallback.clone())
        .with_exception_max_days(settings.exception_max_days)
        .with_verify_caller_limits(settings.verify_caller_limits.clone())
        .with_first_enrolment(settings.first_enrolment.clone())
        .with_helpdesk(settings.helpdesk.clone())
        .with_access_pass_policy(settings.access_passes)
        .with_emergency(settings.emergency.clone());
    if let Some(url) = &settings.smtp_url {
        let mailer = twofold_mail::SmtpMailer::new(url, &settings.mail_from).context("--smtp-url")?;
        app = app.with_mailer(Arc::new(mailer));
    }
    // Admin verbs send texts too (a help-desk case's code to the phone on file).
    if let Some(url) = &settings.sms_webhook_url {
        let gateway = twofold_mail::sms::WebhookSms::new(url, settings.sms_webhook_authorization.clone())
            .context("sms_otp.webhook_url")?;
        app = app.with_sms_gateway(Arc::new(gateway));
    }
    Ok(app)
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let serve_args = match &cli.command {
        Command::Serve(args) => Some(args),
        _ => None,
    };
    // `config` verbs must work on a broken configuration, so they resolve nothing.
    if let Command::Config(command) = &cli.command {
        return commands::config(command, &cli.global);
    }
    let settings = config::resolve(&cli.global, serve_args)?;
    init_logging(settings.log_format, if serve_args.is_some() { "info" } else { "warn" });
    for name in config::unknown_env_vars() {
        tracing::warn!(variable = %name, "unknown TWOFOLD_* environment variable ignored (typo?)");
    }
    let clock = clock::for_process(serve_args.is_some());
    match cli.command {
        Command::Serve(args) => {
            // The server makes the master key on first start; admin verbs only read it.
            if settings.database_url.starts_with("sqlite:") {
                keys::check_data_dir(&settings.data_dir)?;
            }
            keys::MasterKey::load_or_create(&settings.master_key_file)?;
            let mut app = open_builder(&settings, &clock, true).await?;
            if args.demo {
                // So a newcomer can try enrolment at once; the announcement says so.
                app = app.with_first_enrolment(twofold_core::factors::first_enrolment::FirstEnrolmentPolicy {
                    rule: twofold_core::factors::first_enrolment::FirstMethodRule::Password,
                    networks: Vec::new(),
                });
            }
            app = app.with_attestation_policy(&settings.attestation).map_err(anyhow::Error::msg)?;
            app = app.with_forward_auth(settings.forward_auth.clone());
            if let Some(path) = &settings.geoip_database {
                app = app.with_geolocator(Arc::new(geoip::MaxMind::open(path)?));
            }
            serve::run(&settings, app, args.demo).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            if settings.database_url.starts_with("sqlite:") {
                keys::check_data_dir(&settings.data_dir)?;
            }
            let store = SqlStore::connect(&settings.database_url).await.context("cannot open the database")?;
            keys::warn_on_open_permissions(&settings.data_dir, &settings.database_url, &settings.master_key_file);
            let report = store.migrator().run().await.context("migration failed")?;
            if report.applied.is_empty() {
                println!("schema is up to date (version {})", report.current);
            } else {
                println!("applied migrations {:?}; schema is at version {}", report.applied, report.current);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Config(_) => Ok(ExitCode::SUCCESS),
        Command::User(command) => {
            commands::users::run(command, &open_app(&settings, &clock).await?, cli.global.format).await
        }
        Command::Group(command) => {
            commands::groups::run(command, &open_app(&settings, &clock).await?, cli.global.format).await
        }
        Command::Token(command) => {
            commands::tokens::run(command, &open_app(&settings, &clock).await?, cli.global.format).await
        }
        Command::Apikey(command) => {
            commands::api_keys::run(command, &open_app(&settings, &clock).await?, cli.global.format).await
        }
        Command::Audit(command) => {
            commands::audit::run(command, &open_app(&settings, &clock).await?, cli.global.format).await
        }
        Command::Client(command) => {
            commands::clients::run(command, &open_app(&settings, &clock).await?, cli.global.format).await
        }
        Command::ServiceAccount(command) => {
            commands::clients::service_accounts(command, &open_app(&settings, &clock).await?, cli.global.format).await
        }
        Command::Report(command) => {
            commands::reports::run(command, &open_app(&settings, &clock).await?, cli.global.format).await
        }
        Command::Campaign(command) => {
            commands::campaigns::run(command, &open_app(&settings, &clock).await?, cli.global.format).await
        }
        Command::Approvals(command) => {
            commands::approvals::run(command, &open_app(&settings, &clock).await?, cli.global.format).await
        }
        Command::Emergency(command) => {
            commands::emergency::run(command, &open_app(&settings, &clock).await?, cli.global.format).await
        }
        Command::Review(command) => {
            commands::emergency::reviews(command, &open_app(&settings, &clock).await?, cli.global.format).await
        }
        Command::Case(command) => {
            commands::cases::run(command, &open_app(&settings, &clock).await?, cli.global.format).await
        }
        Command::Exception(command) => {
            commands::campaigns::exceptions(command, &open_app(&settings, &clock).await?, cli.global.format).await
        }
        Command::Policy(command) => {
            commands::policy::run(command, &open_app(&settings, &clock).await?, cli.global.format).await
        }
        Command::Keys(command) => {
            commands::clients::keys(command, &open_app(&settings, &clock).await?, cli.global.format).await
        }
    }
}

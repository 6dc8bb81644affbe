//! `twofold serve`: open the database, migrate, load keys, seed the demo if asked,
//! listen, and shut down gracefully on SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use twofold_app::{App, AppBuilder};
use twofold_http::tls::PeerInfo;
use twofold_http::{AppState, HttpConfig};

use crate::config::Settings;
use crate::keys::MasterKey;

pub async fn run(settings: &Settings, app: AppBuilder, demo: bool) -> anyhow::Result<()> {
    let master_key = MasterKey::load_or_create(&settings.master_key_file)?;
    twofold_http::install_metrics_recorder();
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let bound = listener.local_addr()?;
    let scheme = if settings.tls.is_some() { "https" } else { "http" };
    // With --listen on port 0 and no --public-url, the default URL names the port chosen
    // (https when Twofold terminates TLS itself).
    let public_url = if settings.public_url == "http://localhost:0" {
        format!("{scheme}://localhost:{}", bound.port())
    } else if settings.tls.is_some() && settings.public_url == format!("http://localhost:{}", bound.port()) {
        format!("https://localhost:{}", bound.port())
    } else {
        settings.public_url.clone()
    };
    let deliverer = twofold_mail::webhook::HttpDeliverer::new().context("making the outbox's HTTP client")?;
    let app = Arc::new(
        app.with_webauthn(&public_url)
            .map_err(anyhow::Error::msg)?
            .with_issuer(&public_url)
            .with_deliverer(Arc::new(deliverer))
            .build_for_server()
            .map_err(anyhow::Error::msg)?,
    );
    let seeded = if demo { app.seed_demo().await.context("seeding the demo organisation")? } else { Vec::new() };
    let demo_app = if demo { Some(app.seed_demo_app().await.context("registering the demo app")?) } else { None };
    app.oidc().ensure_signing_key().await.context("making the first token-signing key")?;
    let cookie_domain = settings
        .cookie_domain
        .as_deref()
        .map(|domain| twofold_http::cookie_domain(domain, &public_url))
        .transpose()
        .map_err(|why| anyhow::anyhow!("[session] {why}"))?;
    let state = AppState {
        app: Arc::clone(&app),
        config: Arc::new(HttpConfig {
            public_url: public_url.clone(),
            csrf_key: master_key.derive("csrf"),
            device_key: master_key.derive("device"),
            trusted_proxies: settings.trusted_proxies.clone(),
            metrics_token: settings.metrics_token.clone(),
            branding: settings.branding.clone(),
            cookie_domain,
        }),
    };
    announce(&public_url, bound, scheme, demo_app.as_deref(), &seeded, &app).await;
    let chainer = tokio::spawn(chain_audit_events(Arc::clone(&app)));
    let scheduler = tokio::spawn(run_campaign_jobs(Arc::clone(&app)));
    let outbox = tokio::spawn(deliver_outbox(Arc::clone(&app)));
    let service = twofold_http::router(state).into_make_service_with_connect_info::<PeerInfo>();
    match &settings.tls {
        Some((cert, key, client_ca)) => {
            let read =
                |path: &std::path::Path| std::fs::read(path).with_context(|| format!("cannot read {}", path.display()));
            let client_ca = client_ca.as_deref().map(read).transpose()?;
            let config = twofold_http::tls::server_config(&read(cert)?, &read(key)?, client_ca.as_deref())
                .map_err(anyhow::Error::msg)?;
            let listener = twofold_http::tls::TlsListener::new(listener, config)?;
            axum::serve(listener, service).with_graceful_shutdown(shutdown_signal()).await.context("server error")?;
        }
        None => {
            axum::serve(listener, service).with_graceful_shutdown(shutdown_signal()).await.context("server error")?;
        }
    }
    chainer.abort();
    scheduler.abort();
    outbox.abort();
    app.chain_audit().await.context("chaining the last audit events")?;
    tracing::info!("stopped: in-flight requests finished");
    Ok(())
}

/// Keeps the audit chain current: links pending events a few times a second.
async fn chain_audit_events(app: Arc<App>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(250));
    loop {
        tick.tick().await;
        if let Err(e) = app.chain_audit().await {
            tracing::warn!(error = %e, "audit chaining failed; will retry");
        }
    }
}

/// Delivers the outbox every second and expires approval requests whose time ran out.
/// Every node runs it; each message is claimed by one node at a time, and an expiry is
/// recorded once whichever node wins.
async fn deliver_outbox(app: Arc<App>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tick.tick().await;
        match app.approvals().run_jobs().await {
            Ok(0) => {}
            Ok(expired) => tracing::info!(expired, "approval requests expired"),
            Err(e) => tracing::warn!(error = %e, "approval expiry failed; will retry"),
        }
        match app.approvals().deliver_due().await {
            Ok(report) if report.delivered + report.failed + report.given_up > 0 => tracing::info!(
                delivered = report.delivered,
                failed = report.failed,
                given_up = report.given_up,
                "outbox delivered"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "outbox delivery failed; will retry"),
        }
    }
}

/// Runs the campaign jobs (transitions, snapshots, reminders) and the help desk's escalation
/// of overdue steps every minute. Every node runs them; each transition, reminder and
/// overdue mark is recorded once in the database whichever node wins.
async fn run_campaign_jobs(app: Arc<App>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        tick.tick().await;
        match app.rollout().run_campaign_jobs().await {
            Ok(report) if report.transitions + report.reminders > 0 => {
                tracing::info!(transitions = report.transitions, reminders = report.reminders, "campaign jobs ran");
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "campaign jobs failed; will retry"),
        }
        match app.emergency().run_jobs().await {
            Ok(report) if report.ended + report.reviews_opened + report.tests_asked > 0 => {
                tracing::info!(
                    ended = report.ended,
                    reviews = report.reviews_opened,
                    tests_asked = report.tests_asked,
                    "emergency jobs ran"
                );
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "emergency jobs failed; will retry"),
        }
        match app.cases().escalate_overdue().await {
            Ok(0) => {}
            Ok(marked) => tracing::info!(marked, "overdue help-desk steps reported"),
            Err(e) => tracing::warn!(error = %e, "help-desk escalation failed; will retry"),
        }
    }
}

/// RFC 7636's example PKCE pair (appendix B): public, so the demo's example can be pasted.
const EXAMPLE_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const EXAMPLE_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// Tells the person at the console where to go next.
async fn announce(public: &str, bound: SocketAddr, scheme: &str, demo_app: Option<&str>, seeded: &[String], app: &App) {
    tracing::info!(listen = %bound, public_url = %public, "twofold listening");
    // The public URL first: passkeys work only there (a bare address is "an invalid domain").
    println!("Open Twofold at {public}/login");
    println!("Twofold is listening on {scheme}://{bound}");
    println!("  Admin API: {public}/api/v1  (OpenAPI: {public}/api/openapi.json)");
    if let Some(client_id) = demo_app {
        let redirect = twofold_app::demo::DEMO_REDIRECT_URI;
        println!("  Demo app (public client, PKCE): client_id {client_id}. Sign in to it by opening");
        println!(
            "    {public}/oauth2/authorize?client_id={client_id}&response_type=code&scope=openid%20profile%20email\
             &redirect_uri={redirect}&state=demo&code_challenge={EXAMPLE_CHALLENGE}&code_challenge_method=S256"
        );
        println!("  then paste the code from the address bar it ends on into:");
        println!(
            "    curl -s {public}/oauth2/token -d grant_type=authorization_code -d client_id={client_id} \
             -d redirect_uri={redirect} -d code_verifier={EXAMPLE_VERIFIER} -d code=PASTE_CODE_HERE"
        );
        println!(
            "  Demo users: alice (admin), bob, carol (approver), dave (external), erin (helpdesk), breakglass — password '{}'{}",
            twofold_app::demo::DEMO_PASSWORD,
            if seeded.is_empty() { " (already seeded)" } else { "" }
        );
        println!(
            "  Demo only: a first sign-in method is set up with the password alone. A real deployment asks more \
             (an emailed code, a named network or a temporary access pass: [enrolment] first_method)."
        );
    } else if app
        .identity()
        .list_users(&twofold_core::store::UserFilter { limit: Some(1), ..Default::default() })
        .await
        .is_ok_and(|u| u.is_empty())
    {
        println!("  No users yet. Create an administrator and an API key:");
        println!(
            "    echo 'a long passphrase' | twofold user add alice --role admin --tier privileged --password-stdin"
        );
        println!("    twofold apikey create --name ops --role admin");
        println!("  Or restart with --demo to look around with sample users.");
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}

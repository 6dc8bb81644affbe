//! `twofold client ...`, `twofold service-account ...` and `twofold keys ...`: the apps and
//! machines that use Twofold's OpenID Connect provider, and its token-signing keys.

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum ServiceAccountCommand {
    /// Create a service account; prints its client_id and client_secret (once, unless it uses keys)
    Add {
        /// What the account is for
        name: String,
        /// Scope granted (e.g. reports:read, mfa:verify); repeatable, at least one
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// Access-token lifetime in seconds (60-3600) [default: 3600]
        #[arg(long)]
        token_lifetime: Option<i64>,
        /// A file with the public JWK or JWK Set (RSA 2048+ or P-256) the account signs its
        /// client assertions with (private_key_jwt, RFC 7523); no secret is made
        #[arg(long)]
        jwks_file: Option<std::path::PathBuf>,
        /// A PEM client certificate (issued under --client-ca) the account authenticates
        /// with over mutual TLS (tls_client_auth, RFC 8705); its tokens are bound to it
        #[arg(long)]
        tls_client_cert: Option<std::path::PathBuf>,
        /// How the account authenticates with its secret: client_secret_basic (default) or
        /// client_secret_post; only that method is accepted
        #[arg(long)]
        token_endpoint_auth_method: Option<String>,
        /// Let the account introspect (RFC 7662) tokens issued to other clients, as a
        /// resource server does; without it, it learns only about its own tokens
        #[arg(long)]
        may_introspect: bool,
        /// A resource server (an absolute https URI, RFC 8707) its tokens may be for, asked
        /// with `resource=` at the token endpoint; repeatable. Such a token names it as its
        /// audience and is no good at Twofold's own API
        #[arg(long = "resource")]
        resources: Vec<String>,
    },
    /// Give an account a new secret; the old one keeps working for the overlap
    RotateSecret {
        /// The account's client_id
        client_id: String,
        /// Seconds the old secret keeps working (0-2592000)
        #[arg(long, default_value_t = 86_400)]
        overlap: i64,
    },
    /// List service accounts
    List,
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register an app; prints its client_id and, for a confidential client, the client_secret once
    Add {
        /// What people call the app
        name: String,
        /// Redirect URI (exact match); repeatable
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
        /// A public client (browser or native app): no secret, PKCE required
        #[arg(long)]
        public: bool,
        /// Scope the app may ask for; repeatable [default: openid profile email groups]
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// The weakest strength every sign-in to this app must reach: mfa, phr or phrh
        #[arg(long)]
        min_acr: Option<String>,
        /// Someone else's app: people see a consent screen before it gets their data
        /// (first-party apps, the default, skip it)
        #[arg(long)]
        third_party: bool,
        /// How its ID tokens are signed: RS256 (default), ES256 or EdDSA
        #[arg(long)]
        id_token_alg: Option<String>,
        /// How it authenticates: client_secret_basic (default) or client_secret_post, none
        /// for a public client; only that method is accepted
        #[arg(long)]
        token_endpoint_auth_method: Option<String>,
        /// Let it introspect (RFC 7662) tokens issued to other clients, as a resource
        /// server does; without it, it learns only about its own tokens
        #[arg(long)]
        may_introspect: bool,
    },
    /// List registered clients
    List,
    /// Change an app's name, redirect URIs, scopes, minimum strength or consent screen
    Update {
        /// The app's client_id
        client_id: String,
        /// A new name
        #[arg(long)]
        name: Option<String>,
        /// A redirect URI to add; repeatable
        #[arg(long = "add-redirect-uri")]
        add_redirect_uris: Vec<String>,
        /// A redirect URI to remove; repeatable
        #[arg(long = "remove-redirect-uri")]
        remove_redirect_uris: Vec<String>,
        /// The scopes it may ask for, replacing the list; repeatable
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// The weakest strength every sign-in must reach: pwd (none), mfa, phr or phrh
        #[arg(long)]
        min_acr: Option<String>,
        /// Show people a consent screen from now on
        #[arg(long, conflicts_with = "first_party")]
        third_party: bool,
        /// Stop showing the consent screen
        #[arg(long)]
        first_party: bool,
    },
    /// Give a confidential app a new secret; the old one keeps working for the overlap
    RotateSecret {
        /// The app's client_id
        client_id: String,
        /// Seconds the old secret keeps working (0-2592000)
        #[arg(long, default_value_t = 86_400)]
        overlap: i64,
    },
    /// Remove an app: people's consents, its codes and refresh tokens go, its access tokens stop working
    Remove {
        /// The app's client_id
        client_id: String,
        /// Confirms the removal (it cannot be undone)
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make a new token-signing key; the old one stays in the JWKS until its tokens expire
    Rotate,
}

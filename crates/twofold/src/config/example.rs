//! `twofold config generate`: a commented file with every key and its default.

/// A commented example file with the defaults.
pub const EXAMPLE: &str = r#"# Twofold configuration. Every key is optional; flags and TWOFOLD_* variables override.
listen = "127.0.0.1:8080"              # TWOFOLD_LISTEN
# public_url = "https://mfa.example.com" # TWOFOLD_PUBLIC_URL (default http://localhost:PORT)
data_dir = "twofold-data"               # TWOFOLD_DATA_DIR
# database_url = "postgres://twofold@db/twofold" # TWOFOLD_DATABASE_URL (default SQLite in data_dir)
# master_key_file = "/etc/twofold/master.key"    # TWOFOLD_MASTER_KEY_FILE
log_format = "pretty"                   # or "json"; TWOFOLD_LOG_FORMAT
# smtp_url = "smtp://mail.example.com:587?tls=required"  # TWOFOLD_SMTP_URL; notifications are only logged without it
# mail_from = "Twofold <mfa@example.com>"               # TWOFOLD_MAIL_FROM
# trusted_proxies = ["10.0.0.0/8"]                      # TWOFOLD_TRUSTED_PROXIES; X-Forwarded-For is ignored from others
# geoip_database = "/var/lib/GeoIP/GeoLite2-City.mmdb"  # TWOFOLD_GEOIP_DATABASE; country rules and impossible travel
# exception_max_days = 30                               # the longest a campaign exception may run (1–366)
# metrics_token = "..."                                 # /metrics then asks for Authorization: Bearer <it> (16+ characters);
#                                                       # or TWOFOLD_METRICS_TOKEN, or serve --metrics-token-file FILE

[password]        # argon2id cost (OWASP: 19 MiB, 2 iterations, 1 lane)
memory_kib = 19456
iterations = 2
parallelism = 1

[session]
idle_timeout_secs = 1800       # 30 minutes without a request
absolute_timeout_secs = 43200  # 12 hours after sign-in
# cookie_domain = "example.com" # share one sign-in with apps behind forward-auth on *.example.com
#                               # (every host under it receives the session cookie: see README)

# Email and SMS codes are transitional fallbacks: off unless enabled, forbidden for the
# privileged and break_glass tiers unless forbidden_tiers says otherwise, and ended on a date.
[email_otp]
enabled = false
# until = 2027-06-30                   # from this date (00:00 UTC) email codes stop working
# forbidden_tiers = ["privileged", "break_glass"]

[sms_otp]
enabled = false
# until = 2027-03-31
# forbidden_tiers = ["privileged", "break_glass"]
# allowed_calling_codes = ["44", "1"]  # text only these countries; absent: any but premium ranges (+881, +882, ...)
# webhook_url = "https://sms-relay.example.com/send"   # POST {"to": "+44...", "text": "..."}
# webhook_authorization = "Bearer ..."                 # or TWOFOLD_SMS_WEBHOOK_AUTHORIZATION; never logged

# Tiers whose new passkeys must be hardware security keys with attestation from a trusted
# maker (their sign-ins then reach strength phrh). Without makers, nobody is held to it.
[webauthn]
attested_tiers = ["privileged"]
# [[webauthn.trusted_key_makers]]
# description = "YubiKey 5 Series"
# ca_file = "/etc/twofold/yubico-u2f-root.pem"
# aaguids = ["cb69481e-8ff7-4039-93ec-0a2729a154a8", "ee882879-721c-4913-9775-3dfcce97072a"]

# The verify API throttles per person and per calling client. A gateway that verifies codes
# for many people may be allowed more failures than the default 50 before it is delayed.
# [[verify.trusted_callers]]
# caller = "api_key:vpn-gateway"      # or "service:NAME" for a service account
# free_failures = 500

# Forward-auth (GET /api/v1/forward-auth) for apps behind nginx auth_request, Traefik
# ForwardAuth or Caddy forward_auth. The most specific rule decides (exact host before
# *.domain before *, longer path first); requests no rule matches get the default.
[forward_auth]
default = "deny"                       # none | pwd | mfa | phr | phrh | deny
# [[forward_auth.rules]]
# host = "wiki.example.com"
# path = "/"
# require = "mfa"
# [[forward_auth.rules]]
# host = "wiki.example.com"
# path = "/admin"
# require = "phr"
# max_age_secs = 900                   # the sign-in must be at most 15 minutes old
# groups = ["wiki-admins"]             # anyone else gets 403

# Someone with no sign-in method yet enrols a first one with more than the password, so a
# phished password alone never enrols an attacker's phone: a code emailed to the address on
# file (default), a named network, or a temporary access pass from the help desk.
[enrolment]
first_method = "email_code"            # email_code | network | access_pass | password (demo only)
# networks = ["10.0.0.0/8"]            # from these networks the password is enough

# The organisation's name and logo in every page's header (the logo is served by Twofold).
# [branding]
# name = "Example Corp"
# logo_file = "/etc/twofold/logo.svg"   # .png, .jpg, .svg or .webp, at most 256 KiB
# messages_dir = "/etc/twofold/messages" # en.toml rewords English; fr.toml adds French
# default_language = "en"                # en or de shipped; or any language of messages_dir

# The help desk: whom operators serve (never service or break_glass accounts; never their own
# account or a tier above theirs), how recent their own passkey or security key must be, and
# how long temporary access passes may live.
[helpdesk]
tiers = ["standard", "external"]
# departments = ["Sales"]              # when set, only people of these departments
# groups = ["emea-staff"]              # when set, only members of these groups
operator_fresh_minutes = 15
access_pass_default_minutes = 60
access_pass_max_minutes = 480          # 10 to 480
# team_lead = "helpdesk-lead@example.com"   # told by mail when a verification step is overdue
# hr_email = "hr@example.com"               # asked to attest callers; people with the hr role answer
# hr_system_public_key = """               # the HR system's Ed25519 key: it may attest by a signed call
# -----BEGIN PUBLIC KEY-----
# MCowBQYDK2VwAyEA...
# -----END PUBLIC KEY-----
# """
#
# [[helpdesk.verification]]                # what verifying one tier takes (replaces its default)
# tier = "standard"
# steps = [["factor_proof", "email_code"], ["manager_approval"]]   # one distinct channel per step
# second_operator = false
# reset_steps = [["email_code", "sms_code"], ["manager_approval"], ["hr_attestation"]]
#
# [[helpdesk.operators]]                   # an operator with a scope of their own (replaces the above)
# username = "lead"
# tiers = ["standard", "external", "privileged"]

# Emergency access: a bypass of the second step for an enrolled person, for hours, approved by
# an admin other than the requester, every sign-in under it mailed to the security team, and a
# review left open when it ends. Break-glass accounts: every sign-in opens a review and mails
# every admin; each must be tested (a sign-in reviewed as a control test) this often.
[emergency]
max_hours = 8                          # 1 to 24
# security_team = "security@example.com"
break_glass_test_every_days = 90
"#;

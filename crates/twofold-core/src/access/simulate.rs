//! What-if over history: recorded sign-in events replayed against a draft policy, counted by
//! what the draft would have done (allowed, challenged, limited, blocked) and by whom, with
//! the people it would lock out (asked for a strength none of their methods reaches) named,
//! before anyone is locked out for real.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;
use uuid::Uuid;

use super::{Action, Device, Facts, Outcome, Policy, Risk, evaluate, satisfies};
use crate::Timestamp;
use crate::identity::{Role, Tier};
use crate::signin::{FailureReason, SignInEvent, SignInOutcome};

/// One person as the simulation needs them: who they are and what their methods can prove.
#[derive(Debug, Clone)]
pub struct Person {
    /// Username.
    pub username: String,
    /// Group names.
    pub groups: Vec<String>,
    /// Tier.
    pub tier: Tier,
    /// Roles.
    pub roles: Vec<Role>,
    /// The strongest built-in strength their confirmed methods reach (`pwd` with none).
    pub best_acr: String,
    /// The RFC 8176 methods their confirmed methods prove (`otp`, `sms`, `hwk`), with `pwd`.
    pub methods: Vec<String>,
}

/// How the draft treats one replayed sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// No prompt beyond what the default asks.
    Allowed,
    /// Asked for a strength (or a fresh sign-in).
    Challenged,
    /// Only low-sensitivity apps.
    Limited,
    /// Refused.
    Blocked,
}

impl Verdict {
    fn of(outcome: &Outcome) -> Self {
        match outcome {
            Outcome::Allow => Self::Allowed,
            Outcome::Require { .. } => Self::Challenged,
            Outcome::Limit => Self::Limited,
            Outcome::Block => Self::Blocked,
        }
    }

    const fn words(self) -> &'static str {
        match self {
            Self::Allowed => "allowed without more than the default asks",
            Self::Challenged => "challenged for a stronger or fresher sign-in",
            Self::Limited => "limited to low-sensitivity apps",
            Self::Blocked => "blocked",
        }
    }
}

/// How a policy treats one sign-in, in full: what a replay compares between the draft and
/// the policy in force.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Treatment {
    verdict: Verdict,
    /// The strengths asked for, sorted.
    strengths: Vec<String>,
    /// How fresh the sign-in must be, when the outcome says.
    within_minutes: Option<u32>,
    /// Asked for a strength none of the person's methods reaches.
    locked_out: bool,
}

impl Treatment {
    fn of(policy: &Policy, decision: &super::Decision, person: &Person) -> Self {
        let verdict = Verdict::of(&decision.outcome);
        let mut strengths = decision.strengths.clone();
        strengths.sort();
        let within_minutes = match &decision.outcome {
            Outcome::Require { within_minutes, .. } => *within_minutes,
            _ => None,
        };
        let locked_out = verdict == Verdict::Challenged
            && decision.strengths.iter().any(|s| !satisfies(policy, s, &person.best_acr, &person.methods));
        Self { verdict, strengths, within_minutes, locked_out }
    }
}

/// Sign-ins and distinct people.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Sign-ins.
    pub sign_ins: u64,
    /// Distinct people, by username, sorted.
    pub users: Vec<String>,
}

/// The result of a replay.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The first and last replayed sign-in.
    pub from: Option<Timestamp>,
    /// ...
    pub to: Option<Timestamp>,
    /// Sign-ins replayed (successes, and refusals by the policy in force).
    pub sign_ins: u64,
    /// Distinct people among them.
    pub users: u64,
    /// Events left out: failed passwords and codes, unknown or deleted people.
    pub skipped: u64,
    /// By verdict.
    pub outcomes: BTreeMap<Verdict, Tally>,
    /// People the draft would ask for a strength none of their methods reaches: locked out
    /// until they enrol one.
    pub locked_out: Vec<String>,
    /// Sign-ins the draft treats differently from the policy compared against (the one in
    /// force): another verdict, other strengths or freshness, or locked out where they were
    /// not (or the other way round).
    pub changed: u64,
    /// Each matching rule (enforced or report-only): sign-ins and people it matched.
    pub rules: BTreeMap<String, Tally>,
}

/// The replay's running counts; people are kept as indexes until the end.
#[derive(Default)]
struct Counts {
    sign_ins: u64,
    skipped: u64,
    changed: u64,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
    people: HashSet<usize>,
    outcomes: BTreeMap<Verdict, (u64, HashSet<usize>)>,
    locked_out: HashSet<usize>,
    rules: BTreeMap<String, (u64, HashSet<usize>)>,
}

/// A replay in progress: feed it events page by page, then take the [`Report`].
pub struct Simulation<'a> {
    draft: &'a Policy,
    compare: Option<&'a Policy>,
    people: Vec<Person>,
    index: HashMap<Uuid, usize>,
    counts: Counts,
}

impl<'a> Simulation<'a> {
    /// A replay of `draft` (compared with `compare`, usually the policy in force) for the
    /// people of the directory.
    #[must_use]
    pub fn new(
        draft: &'a Policy,
        compare: Option<&'a Policy>,
        people: impl IntoIterator<Item = (Uuid, Person)>,
    ) -> Self {
        let mut index = HashMap::new();
        let mut list = Vec::new();
        for (id, person) in people {
            index.insert(id, list.len());
            list.push(person);
        }
        Self { draft, compare, people: list, index, counts: Counts::default() }
    }

    /// Replays `events` (in any order).
    pub fn feed(&mut self, events: &[SignInEvent]) {
        for event in events {
            self.replay(event);
        }
    }

    fn replay(&mut self, event: &SignInEvent) {
        let replayable = event.outcome == SignInOutcome::Success || event.reason == Some(FailureReason::PolicyBlocked);
        let Some(&who) = event.user_id.as_ref().and_then(|id| self.index.get(id)).filter(|_| replayable) else {
            self.counts.skipped += 1;
            return;
        };
        let person = &self.people[who];
        let context = &event.context;
        let facts = Facts {
            username: &person.username,
            groups: &person.groups,
            tier: person.tier,
            roles: &person.roles,
            service_account: false,
            app: context.app.as_deref(),
            host_path: None,
            action: Action::Read,
            ip: event.ip.as_deref().and_then(|ip| ip.parse().ok()),
            device: context.device.unwrap_or(Device::New),
            country: context.country.as_deref(),
            risk: context.risk.unwrap_or(Risk::Low),
            overdue: None,
            now: event.at,
        };
        let decision = evaluate(self.draft, &facts);
        let verdict = Verdict::of(&decision.outcome);
        let treatment = Treatment::of(self.draft, &decision, person);
        let c = &mut self.counts;
        c.sign_ins += 1;
        c.people.insert(who);
        c.from = Some(c.from.map_or(event.at, |t| t.min(event.at)));
        c.to = Some(c.to.map_or(event.at, |t| t.max(event.at)));
        let tally = c.outcomes.entry(verdict).or_default();
        tally.0 += 1;
        tally.1.insert(who);
        if treatment.locked_out {
            c.locked_out.insert(who);
        }
        for hit in &decision.hits {
            let rule = c.rules.entry(hit.rule.clone()).or_default();
            rule.0 += 1;
            rule.1.insert(who);
        }
        // Treated differently: another category, another strength or freshness asked for, or
        // locked out where the policy in force let them in (or the other way round).
        if let Some(compare) = self.compare
            && Treatment::of(compare, &evaluate(compare, &facts), person) != treatment
        {
            c.changed += 1;
        }
    }

    /// The counts, with people named.
    #[must_use]
    pub fn report(self) -> Report {
        let names = |set: &HashSet<usize>| {
            let mut names: Vec<String> = set.iter().map(|&i| self.people[i].username.clone()).collect();
            names.sort();
            names
        };
        let tally = |(sign_ins, set): &(u64, HashSet<usize>)| Tally { sign_ins: *sign_ins, users: names(set) };
        let c = &self.counts;
        Report {
            from: c.from,
            to: c.to,
            sign_ins: c.sign_ins,
            users: c.people.len() as u64,
            skipped: c.skipped,
            outcomes: c.outcomes.iter().map(|(v, t)| (*v, tally(t))).collect(),
            locked_out: names(&c.locked_out),
            changed: c.changed,
            rules: c.rules.iter().map(|(r, t)| (r.clone(), tally(t))).collect(),
        }
    }
}

/// At most `n` names, then how many more.
fn some_names(names: &[String], n: usize) -> String {
    let shown = names.iter().take(n).cloned().collect::<Vec<_>>().join(", ");
    if names.len() > n { format!("{shown} and {} more", names.len() - n) } else { shown }
}

impl Report {
    /// The replay in an administrator's words.
    #[must_use]
    pub fn explain(&self, compared: bool) -> String {
        let span = match (self.from, self.to) {
            (Some(from), Some(to)) => format!(" from {} to {}", from.to_rfc3339(), to.to_rfc3339()),
            _ => String::new(),
        };
        let mut lines = vec![format!(
            "Replayed {} sign-ins by {} people{span} against the draft ({} other events left out: failed attempts or people no longer in the directory).",
            self.sign_ins, self.users, self.skipped
        )];
        for (verdict, tally) in &self.outcomes {
            lines.push(format!(
                "- {}: {} sign-ins by {} people ({})",
                verdict.words(),
                tally.sign_ins,
                tally.users.len(),
                some_names(&tally.users, 10)
            ));
        }
        if self.locked_out.is_empty() {
            lines.push("Nobody would be asked for more than their methods can prove.".into());
        } else {
            lines.push(format!(
                "{} people would be locked out until they set up a stronger method, because none of theirs meets what they would be asked for: {}.",
                self.locked_out.len(),
                some_names(&self.locked_out, 20)
            ));
        }
        if compared {
            lines.push(format!(
                "{} sign-ins would be treated differently from the policy in force (another outcome, a stronger or fresher sign-in asked, or locked out).",
                self.changed
            ));
        }
        if !self.rules.is_empty() {
            lines.push("Rules that matched:".into());
            for (rule, tally) in &self.rules {
                lines.push(format!("- '{rule}': {} sign-ins by {} people", tally.sign_ins, tally.users.len()));
            }
        }
        lines.join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::{OutcomeKind, Rule};
    use crate::signin::SignInContext;

    fn person(name: &str, best_acr: &str, methods: &[&str]) -> Person {
        Person {
            username: name.into(),
            groups: vec![],
            tier: Tier::Standard,
            roles: vec![Role::User],
            best_acr: best_acr.into(),
            methods: methods.iter().map(|m| (*m).to_owned()).collect(),
        }
    }

    fn event(user: Uuid, ip: &str, outcome: SignInOutcome, reason: Option<FailureReason>) -> SignInEvent {
        SignInEvent {
            id: Uuid::now_v7(),
            at: Timestamp(1_800_000_000_000),
            username: String::new(),
            user_id: Some(user),
            outcome,
            reason,
            methods: vec!["pwd".into()],
            ip: Some(ip.into()),
            user_agent: None,
            source: None,
            context: SignInContext {
                app: Some("wiki".into()),
                device: Some(Device::Known),
                ..SignInContext::default()
            },
        }
    }

    fn draft() -> Policy {
        let mut policy = Policy::default();
        policy.zones.insert("corporate".into(), vec!["10.0.0.0/8".into()]);
        policy.rules.push(Rule {
            name: "mfa outside".into(),
            mode: super::super::Mode::Enforce,
            who: super::super::Who::default(),
            what: super::super::What::default(),
            when: super::super::When { outside_zones: vec!["corporate".into()], ..Default::default() },
            outcome: OutcomeKind::Require,
            strength: Some("mfa".into()),
            within_minutes: None,
        });
        policy
    }

    #[test]
    fn a_replay_counts_verdicts_and_names_who_would_be_locked_out() {
        let (bob, carol, gone) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let people = [(bob, person("bob", "mfa", &["pwd", "otp"])), (carol, person("carol", "pwd", &["pwd"]))];
        let policy = draft();
        let empty = Policy::default();
        let mut sim = Simulation::new(&policy, Some(&empty), people);
        sim.feed(&[
            event(bob, "10.1.1.1", SignInOutcome::Success, None),
            event(bob, "203.0.113.9", SignInOutcome::Success, None),
            event(carol, "203.0.113.9", SignInOutcome::Success, None),
            event(carol, "203.0.113.9", SignInOutcome::Failure, Some(FailureReason::WrongPassword)),
            event(gone, "10.1.1.1", SignInOutcome::Success, None),
        ]);
        let report = sim.report();
        assert_eq!((report.sign_ins, report.users, report.skipped), (3, 2, 2));
        assert_eq!(report.outcomes[&Verdict::Allowed], Tally { sign_ins: 1, users: vec!["bob".into()] });
        assert_eq!(
            report.outcomes[&Verdict::Challenged],
            Tally { sign_ins: 2, users: vec!["bob".into(), "carol".into()] }
        );
        assert_eq!(report.locked_out, ["carol"], "carol has no second factor");
        assert_eq!(report.changed, 2, "the empty policy in force challenges nobody");
        let words = report.explain(true);
        assert!(words.contains("1 people would be locked out") && words.contains(": carol."), "{words}");
        assert!(words.contains("- 'mfa outside': 2 sign-ins by 2 people"), "{words}");
    }

    /// A stronger strength, or a fresher sign-in, is a different treatment even in the same
    /// category — as is locking someone out: raising `mfa` to `phr` for everyone is not
    /// "0 sign-ins treated differently".
    #[test]
    fn a_raised_strength_or_freshness_counts_as_treated_differently() {
        let (bob, carol) = (Uuid::now_v7(), Uuid::now_v7());
        let people = [(bob, person("bob", "phr", &["pwd", "hwk"])), (carol, person("carol", "mfa", &["pwd", "otp"]))];
        let in_force = draft();
        let mut raised = draft();
        raised.rules[0].strength = Some("phr".into());
        let sign_ins = [
            event(bob, "203.0.113.9", SignInOutcome::Success, None),
            event(carol, "203.0.113.9", SignInOutcome::Success, None),
        ];
        let mut sim = Simulation::new(&raised, Some(&in_force), people.clone());
        sim.feed(&sign_ins);
        let report = sim.report();
        assert_eq!(report.outcomes[&Verdict::Challenged].sign_ins, 2, "both still challenged");
        assert_eq!(report.locked_out, ["carol"], "carol's app cannot reach phr");
        assert_eq!(report.changed, 2, "both are asked for more than before");

        let mut fresher = draft();
        fresher.rules[0].within_minutes = Some(15);
        let mut sim = Simulation::new(&fresher, Some(&in_force), people.clone());
        sim.feed(&sign_ins);
        assert_eq!(sim.report().changed, 2, "a freshness requirement is a change");

        let mut sim = Simulation::new(&in_force, Some(&in_force), people);
        sim.feed(&sign_ins);
        assert_eq!(sim.report().changed, 0, "the same policy treats nobody differently");
    }
}

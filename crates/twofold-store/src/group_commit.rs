//! Group commit for the hot writes: code verifications and stand-alone audit events (a
//! token grant, an export) are queued and written by a few workers, each committing a whole
//! batch in one transaction. Every caller is answered only after its batch committed, so an
//! acknowledged write survives a crash; the commit cost (an fsync on SQLite, a round trip and
//! WAL flush on PostgreSQL) is shared by the batch.

use std::sync::Arc;

use sqlx::AnyPool;
use tokio::sync::{Mutex, mpsc, oneshot};
use twofold_core::audit::{AuditAction, AuditContext, Change};
use twofold_core::signin::SignInEvent;
use twofold_core::store::{StoreError, StoreResult};
use uuid::Uuid;

use crate::factors::authenticators::win_step;
use crate::signin::sessions::{insert_sign_in_events, sign_in_change};
use crate::tx::AuditedTx;

/// The most jobs one transaction carries.
const MAX_BATCH: usize = 256;

/// What one job writes.
enum Work {
    /// A code check: the step to win (authenticator, step, drift) and the sign-in event for
    /// either outcome, each with its audit event.
    Verify { candidate: Option<(Uuid, i64, i64)>, success: Box<SignInEvent>, failure: Box<SignInEvent> },
    /// An audit event that accompanies no other change.
    Append(Change),
}

struct Job {
    work: Work,
    ctx: AuditContext,
    /// Whether the step was won (always true for an append).
    reply: oneshot::Sender<StoreResult<bool>>,
}

/// The queue in front of the workers.
#[derive(Debug, Clone)]
pub(crate) struct GroupCommit {
    queue: mpsc::Sender<Job>,
}

impl GroupCommit {
    /// Starts `workers` writers over `pool` (one for SQLite, whose writes are serial anyway).
    pub(crate) fn start(pool: AnyPool, workers: usize) -> Self {
        let (queue, receiver) = mpsc::channel::<Job>(4 * MAX_BATCH);
        let receiver = Arc::new(Mutex::new(receiver));
        for _ in 0..workers {
            tokio::spawn(work(pool.clone(), Arc::clone(&receiver)));
        }
        Self { queue }
    }

    async fn submit(&self, work: Work, ctx: AuditContext) -> StoreResult<bool> {
        let stopped = || StoreError::Unavailable("the group-commit writer stopped".into());
        let (reply, answer) = oneshot::channel();
        self.queue.send(Job { work, ctx, reply }).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Queues a verification and waits until its batch has committed: whether the step was won.
    pub(crate) async fn record(
        &self,
        candidate: Option<(Uuid, i64, i64)>,
        success: SignInEvent,
        failure: SignInEvent,
        ctx: AuditContext,
    ) -> StoreResult<bool> {
        self.submit(Work::Verify { candidate, success: Box::new(success), failure: Box::new(failure) }, ctx).await
    }

    /// Queues an audit event and waits until its batch has committed.
    pub(crate) async fn append(&self, change: Change, ctx: AuditContext) -> StoreResult<()> {
        self.submit(Work::Append(change), ctx).await.map(|_| ())
    }
}

async fn work(pool: AnyPool, receiver: Arc<Mutex<mpsc::Receiver<Job>>>) {
    loop {
        let mut batch = Vec::new();
        {
            let mut receiver = receiver.lock().await;
            if receiver.recv_many(&mut batch, MAX_BATCH).await == 0 {
                return;
            }
        }
        match commit_batch(&pool, &batch).await {
            Ok(won) => {
                for (job, won) in batch.into_iter().zip(won) {
                    let _ = job.reply.send(Ok(won));
                }
            }
            // A failed batch is retried one by one, so one bad row fails only its own caller.
            Err(_) => {
                for job in batch {
                    let result = commit_batch(&pool, std::slice::from_ref(&job)).await.map(|won| won[0]);
                    let _ = job.reply.send(result);
                }
            }
        }
    }
}

/// One transaction for the batch: each verification wins its step (if still unused) in
/// order, then every sign-in event and every audit event is inserted together, in job order.
async fn commit_batch(pool: &AnyPool, batch: &[Job]) -> StoreResult<Vec<bool>> {
    let mut tx = AuditedTx::begin(pool).await?;
    let mut won = Vec::with_capacity(batch.len());
    for job in batch {
        won.push(match &job.work {
            Work::Verify { candidate: Some((id, step, drift)), .. } => {
                win_step(&mut *tx.tx, *id, *step, *drift, job.ctx.at).await?
            }
            Work::Verify { candidate: None, .. } => false,
            Work::Append(_) => true,
        });
    }
    let mut events = Vec::new();
    let mut changes = Vec::with_capacity(batch.len());
    for (job, &won) in batch.iter().zip(&won) {
        match &job.work {
            Work::Verify { success, failure, .. } => {
                let event: &SignInEvent = if won { success } else { failure };
                events.push(event);
                changes.push(sign_in_change(
                    if won { AuditAction::SignInSuccess } else { AuditAction::SignInFailure },
                    event,
                ));
            }
            Work::Append(change) => changes.push(change.clone()),
        }
    }
    insert_sign_in_events(&mut tx, &events).await?;
    let changes: Vec<_> = changes.iter().zip(batch).map(|(change, job)| (change, &job.ctx)).collect();
    tx.append_all(&changes).await?;
    tx.commit().await?;
    Ok(won)
}

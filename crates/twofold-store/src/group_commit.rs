//! Group commit for code verifications: concurrent `record_verification` calls are queued
//! and written by a few workers, each committing a whole batch in one transaction. Every
//! caller is answered only after its batch committed, so an acknowledged verification (its
//! used step, sign-in event and audit event) survives a crash; the commit cost (an fsync on
//! SQLite, a round trip and WAL flush on PostgreSQL) is shared by the batch.

use std::sync::Arc;

use sqlx::AnyPool;
use tokio::sync::{Mutex, mpsc, oneshot};
use twofold_core::audit::AuditContext;
use twofold_core::signin::SignInEvent;
use twofold_core::store::{StoreError, StoreResult};
use uuid::Uuid;

use crate::authenticators::win_step;
use crate::sessions::{insert_sign_in_events, sign_in_change};
use crate::tx::AuditedTx;

/// The most verifications one transaction carries.
const MAX_BATCH: usize = 256;

/// One verification to record: the step to win (authenticator, step, drift), the events for
/// either outcome, and where to send whether the step was won.
struct Verification {
    candidate: Option<(Uuid, i64, i64)>,
    success: SignInEvent,
    failure: SignInEvent,
    ctx: AuditContext,
    reply: oneshot::Sender<StoreResult<bool>>,
}

/// The queue in front of the workers.
#[derive(Debug, Clone)]
pub(crate) struct GroupCommit {
    queue: mpsc::Sender<Verification>,
}

impl GroupCommit {
    /// Starts `workers` writers over `pool` (one for SQLite, whose writes are serial anyway).
    pub(crate) fn start(pool: AnyPool, workers: usize) -> Self {
        let (queue, receiver) = mpsc::channel::<Verification>(4 * MAX_BATCH);
        let receiver = Arc::new(Mutex::new(receiver));
        for _ in 0..workers {
            tokio::spawn(work(pool.clone(), Arc::clone(&receiver)));
        }
        Self { queue }
    }

    /// Queues a verification and waits until its batch has committed: whether the step was won.
    pub(crate) async fn record(
        &self,
        candidate: Option<(Uuid, i64, i64)>,
        success: SignInEvent,
        failure: SignInEvent,
        ctx: AuditContext,
    ) -> StoreResult<bool> {
        let (reply, answer) = oneshot::channel();
        let job = Verification { candidate, success, failure, ctx, reply };
        self.queue.send(job).await.map_err(|_| StoreError::Unavailable("the verification writer stopped".into()))?;
        answer.await.map_err(|_| StoreError::Unavailable("the verification writer stopped".into()))?
    }
}

async fn work(pool: AnyPool, receiver: Arc<Mutex<mpsc::Receiver<Verification>>>) {
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

/// One transaction for the batch: each job wins its step (if still unused) in order, then
/// every job's sign-in event and audit event are inserted together.
async fn commit_batch(pool: &AnyPool, batch: &[Verification]) -> StoreResult<Vec<bool>> {
    let mut tx = AuditedTx::begin(pool).await?;
    let mut won = Vec::with_capacity(batch.len());
    for job in batch {
        won.push(match job.candidate {
            Some((id, step, drift)) => win_step(&mut *tx.tx, id, step, drift, job.ctx.at).await?,
            None => false,
        });
    }
    let events: Vec<&SignInEvent> =
        batch.iter().zip(&won).map(|(job, &won)| if won { &job.success } else { &job.failure }).collect();
    insert_sign_in_events(&mut tx, &events).await?;
    let changes: Vec<_> = batch
        .iter()
        .zip(&events)
        .zip(&won)
        .map(|((job, event), &won)| {
            (sign_in_change(if won { "signin.success" } else { "signin.failure" }, event), &job.ctx)
        })
        .collect();
    let changes: Vec<_> = changes.iter().map(|(change, ctx)| (change, *ctx)).collect();
    tx.append_all(&changes).await?;
    tx.commit().await?;
    Ok(won)
}

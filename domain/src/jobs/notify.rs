//! The e-mail a job's requester gets when it ends (`notifyEmail` on the job), sent
//! through the `MailSender` port when SMTP is configured. A failed send is logged and
//! never changes the job.

use entmoot_entities::{jobs, layouts, sites};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use uuid::Uuid;

use crate::context::AppContext;

/// What a job-ending e-mail says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobEndedNotice {
    pub job_id: Uuid,
    /// succeeded, failed or cancelled.
    pub status: String,
    pub site_name: String,
    pub strategy: String,
    pub layouts: u64,
    pub attempts: i32,
    pub error: Option<String>,
}

impl JobEndedNotice {
    pub fn subject(&self) -> String {
        let id = self.job_id.simple().to_string();
        // UUID v7 ids share their leading (time) digits; the tail tells them apart.
        let short = &id[id.len() - 8..];
        format!("Entmoot job {short} on {}: {}", self.site_name, self.status)
    }

    pub fn body(&self) -> String {
        let mut body = format!(
            "The optimization job {} on site \"{}\" ({} strategy) ended: {} after {} attempt(s).\n",
            self.job_id, self.site_name, self.strategy, self.status, self.attempts
        );
        if self.layouts > 0 {
            body.push_str(&format!("It stored {} layout(s).\n", self.layouts));
        }
        if let Some(error) = &self.error {
            body.push_str(&format!("Error: {error}\n"));
        }
        body.push_str(
            "\nYou receive this because the job was started with your address to notify.\n",
        );
        body
    }
}

/// Sends the notice for a job that has ended, if it asked for one and SMTP is on.
pub async fn notify_job_ended(app: &AppContext, job_id: Uuid) {
    let Some(mailer) = &app.mailer else { return };
    let job = match jobs::Entity::find_by_id(job_id).one(&app.database).await {
        Ok(Some(job)) => job,
        Ok(None) => return,
        Err(error) => {
            tracing::warn!(%job_id, %error, "reading a job for its e-mail failed");
            return;
        }
    };
    let (Some(to), true) = (job.notify_email.clone(), job.status.is_terminal()) else {
        return;
    };
    let site_name = sites::Entity::find_by_id(job.site_id)
        .one(&app.database)
        .await
        .ok()
        .flatten()
        .map_or_else(|| "a site".to_owned(), |site| site.name);
    let layouts = layouts::Entity::find()
        .filter(layouts::Column::JobId.eq(job.id))
        .count(&app.database)
        .await
        .unwrap_or(0);
    let notice = JobEndedNotice {
        job_id,
        status: job.status.to_string(),
        site_name,
        strategy: job.strategy.clone(),
        layouts,
        attempts: job.attempts,
        error: job.error.clone(),
    };
    match mailer.send(&to, &notice.subject(), notice.body()).await {
        Ok(()) => tracing::info!(%job_id, "job e-mail sent"),
        Err(error) => tracing::warn!(%job_id, %error, "job e-mail failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_notice_names_the_job_site_and_outcome() {
        let notice = JobEndedNotice {
            job_id: Uuid::nil(),
            status: "failed".into(),
            site_name: "Rural demo".into(),
            strategy: "greedy".into(),
            layouts: 0,
            attempts: 3,
            error: Some("dead-lettered after 3 attempts".into()),
        };
        assert_eq!(
            notice.subject(),
            "Entmoot job 00000000 on Rural demo: failed"
        );
        assert!(notice.body().contains("after 3 attempt(s)"));
        assert!(notice.body().contains("Error: dead-lettered"));
    }
}

//! Calibration over time: per criterion, alpha session after session; per participant, the
//! distance from the reference (or, without one, from the others). For the program's
//! facilitators.

use serde::Serialize;

use super::session;
use crate::auth::Principal;
use crate::domain::ProgramId;
use crate::on_db;
use crate::store::Db;
use crate::web::error::{AppError, AppResult};

/// The sessions a trend covers: the newest this many.
pub const SESSIONS: i64 = 12;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TrendSession {
    pub id: i64,
    pub title: String,
    /// `YYYY-MM-DD`.
    pub held_on: String,
}

/// One line of a trend: a value per session, `null` where it has none.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Series {
    /// The criterion's key, or the person's id.
    pub key: String,
    pub name: String,
    pub values: Vec<Option<f64>>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Trends {
    /// Oldest first.
    pub sessions: Vec<TrendSession>,
    /// Krippendorff's alpha of each criterion (matched by key across form versions).
    pub criteria: Vec<Series>,
    /// Each participant's mean distance in points from the reference, or from the others where
    /// the session has no reference.
    pub participants: Vec<Series>,
}

fn put(series: &mut Vec<Series>, key: String, name: &str, at: usize, len: usize, v: Option<f64>) {
    let i = match series.iter().position(|s| s.key == key) {
        Some(i) => i,
        None => {
            series.push(Series {
                key,
                name: name.to_owned(),
                values: vec![None; len],
            });
            series.len() - 1
        }
    };
    series[i].values[at] = v;
}

/// The trends of a program's last sessions whose scores are out.
pub async fn trends(db: &Db, user: &Principal, program: ProgramId) -> AppResult<Trends> {
    user.check(crate::auth::Capability::ViewProgram(program))?;
    if !session::may_facilitate(user, program) {
        return Err(AppError::Forbidden);
    }
    const SQL: &str = "SELECT id, title, held_on FROM calibration_sessions WHERE program_id = $1 \
        AND (revealed_at IS NOT NULL OR reveal_required = FALSE) \
        ORDER BY held_on DESC, id DESC LIMIT $2";
    let mut rows: Vec<(i64, String, i64)> = on_db!(db, p => sqlx::query_as(SQL).bind(program)
        .bind(SESSIONS).fetch_all(p).await)?;
    rows.reverse();
    let mut out = Trends {
        sessions: Vec::new(),
        criteria: Vec::new(),
        participants: Vec::new(),
    };
    let n = rows.len();
    for (at, (id, title, held_on)) in rows.into_iter().enumerate() {
        out.sessions.push(TrendSession {
            id,
            title,
            held_on: crate::contacts::calendar::date_of(held_on).to_string(),
        });
        let Some(r) = session::visible_results(db, user, id).await? else {
            continue;
        };
        for c in &r.criteria {
            let alpha = c.agreement.as_ref().and_then(|a| a.alpha);
            put(
                &mut out.criteria,
                c.criterion.clone(),
                &c.name,
                at,
                n,
                alpha,
            );
        }
        for p in &r.participants {
            let d = p.vs_reference.mean_abs_diff.or(p.vs_group.mean_abs_diff);
            put(
                &mut out.participants,
                p.person_id.to_string(),
                &p.name,
                at,
                n,
                d,
            );
        }
    }
    Ok(out)
}

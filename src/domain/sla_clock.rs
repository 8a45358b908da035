//! ITFlow's SLA bookkeeping (functions/sla.php: `syncTicketSlaClock`,
//! `setTicketFirstResponse`, `setTicketResolutionSlaMet`,
//! `resetTicketResolutionSla`) as a pure simulation: each function reads
//! the clock's state as the PHP reads the database at that point of the
//! write, and records what the PHP would write in the plan.

use crate::domain::plan::{IntervalRef, SlaOp, WritePlan};
use crate::domain::sla::{add_business_minutes, business_minutes_between};
use crate::domain::snapshot::{Interval, SlaSnapshot};
use jiff::civil::DateTime;
use jiff::tz::TimeZone;

/// A civil datetime as MariaDB text (`2026-11-22 09:00:00`).
pub fn sql_datetime(dt: DateTime) -> String {
    dt.strftime("%Y-%m-%d %H:%M:%S").to_string()
}

/// The clock of one ticket during one write.
#[derive(Debug, Clone)]
pub struct SlaClock {
    state: SlaSnapshot,
    /// Where each of `state.intervals` is, for the writer.
    refs: Vec<IntervalRef>,
    opened: usize,
    first_response_set: bool,
    now: DateTime,
    /// When the reply was written (a backdated reply's `created`): the
    /// time the first response is stamped and judged at.
    reply_at: DateTime,
    tz: TimeZone,
}

impl SlaClock {
    pub fn new(
        snapshot: &SlaSnapshot,
        first_response_set: bool,
        now: DateTime,
        tz: &TimeZone,
    ) -> Self {
        SlaClock {
            refs: snapshot
                .intervals
                .iter()
                .map(|i| IntervalRef::Existing(i.id))
                .collect(),
            state: snapshot.clone(),
            opened: 0,
            first_response_set,
            now,
            reply_at: now,
            tz: tz.clone(),
        }
    }

    /// The clock of a reply written at `at` (a backdated reply).
    pub fn reply_at(self, at: DateTime) -> Self {
        SlaClock {
            reply_at: at,
            ..self
        }
    }

    /// The ticket moved to a status that does (not) pause the clock.
    pub fn status_changed(&mut self, pauses: bool) {
        self.state.status_pauses = pauses;
    }

    /// The ticket's `ticket_resolved_at` was set or cleared.
    pub fn resolved_at_changed(&mut self, at: Option<DateTime>) {
        self.state.resolved_at = at;
    }

    pub fn resolved_at(&self) -> Option<DateTime> {
        self.state.resolved_at
    }

    fn between(&self, a: DateTime, b: DateTime) -> i64 {
        business_minutes_between(a, b, &self.state.calendar, &self.tz)
    }

    /// getTicketSlaConsumedMinutes(): business minutes spent on the
    /// resolution clock, the running interval included; without any
    /// interval, the time since the ticket was raised.
    fn consumed_minutes(&self) -> i64 {
        let s = &self.state;
        if s.intervals.is_empty() {
            let ended = s.resolved_at.or(s.closed_at).unwrap_or(self.now);
            return s.created_at.map_or(0, |c| self.between(c, ended));
        }
        s.intervals
            .iter()
            .map(|i| match i.ended {
                Some(_) => i.minutes.unwrap_or(0),
                None => i.started.map_or(0, |st| self.between(st, self.now)),
            })
            .sum()
    }

    /// syncTicketSlaClock(): open an interval when the resolution clock
    /// should run (a tracked ticket, not resolved, closed or archived, in a
    /// status that does not pause the clock), close it when it should not;
    /// on a resume, re-base `ticket_resolution_due_at` on the budget left.
    pub fn sync(&mut self, plan: &mut WritePlan) {
        let s = &self.state;
        let tracked = s.sla_id > 0 && s.resolution_minutes > 0;
        let open_ticket = s.resolved_at.is_none() && s.closed_at.is_none() && !s.archived;
        let should_run = tracked && open_ticket && !s.status_pauses;
        // The newest interval still running.
        let running = s.intervals.iter().rposition(|i| i.ended.is_none());
        let now = sql_datetime(self.now);
        match (should_run, running) {
            (true, None) => {
                let had_history = s.intervals.iter().any(|i| i.ended.is_some());
                let consumed = if had_history {
                    self.consumed_minutes()
                } else {
                    0
                };
                // The first interval starts when the ticket was raised.
                let start = if had_history {
                    self.now
                } else {
                    s.created_at.unwrap_or(self.now)
                };
                plan.sla_history.push(SlaOp::Open {
                    started: sql_datetime(start),
                });
                self.state.intervals.push(Interval {
                    id: 0,
                    started: Some(start),
                    ended: None,
                    minutes: None,
                });
                self.refs.push(IntervalRef::Opened(self.opened));
                self.opened += 1;
                if had_history {
                    let remaining = (self.state.resolution_minutes - consumed).max(0);
                    let due =
                        add_business_minutes(self.now, remaining, &self.state.calendar, &self.tz);
                    // A ticket that already breached stays breached.
                    let stage = if self.state.alert_stage == 2 { 2 } else { 0 };
                    self.state.resolution_due_at = Some(due);
                    self.state.alert_stage = stage;
                    plan.ticket.resolution_due_at = Some(sql_datetime(due));
                    plan.ticket.resolution_sla_alert_stage = Some(stage);
                }
            }
            (false, Some(at)) => {
                let minutes = s.intervals[at]
                    .started
                    .map_or(0, |st| self.between(st, self.now));
                plan.sla_history.push(SlaOp::Close {
                    interval: self.refs[at],
                    ended: now,
                    minutes,
                });
                let interval = &mut self.state.intervals[at];
                interval.ended = Some(self.now);
                interval.minutes = Some(minutes);
            }
            _ => {}
        }
    }

    /// setTicketFirstResponse(): stamp the first response (once, at the
    /// reply's time) and judge
    /// the response SLA: met when on or before `ticket_response_due_at`,
    /// NULL when the ticket has no due date.
    pub fn set_first_response(&mut self, plan: &mut WritePlan) {
        if self.first_response_set {
            return;
        }
        self.first_response_set = true;
        let met = self
            .state
            .response_due_at
            .map(|due| i64::from(self.reply_at <= due));
        plan.ticket.first_response_at = Some(sql_datetime(self.reply_at));
        plan.ticket.response_sla_met = Some(met);
    }

    /// setTicketResolutionSlaMet(): judge the resolution SLA when a ticket
    /// is resolved (a recorded miss is final), then sync the clock. Nothing
    /// for tickets without a resolution due date.
    pub fn set_resolution_sla_met(&mut self, plan: &mut WritePlan) {
        let Some(due) = self.state.resolution_due_at else {
            return;
        };
        if self.state.resolution_sla_met != Some(0) {
            let ended = self.state.resolved_at.unwrap_or(self.now);
            let met = i64::from(ended <= due);
            self.state.resolution_sla_met = Some(met);
            plan.ticket.resolution_sla_met = Some(Some(met));
        }
        self.sync(plan);
    }

    /// resetTicketResolutionSla(): a reopened ticket goes back on the clock;
    /// a recorded miss survives when the budget is already spent.
    pub fn reset_resolution_sla(&mut self, plan: &mut WritePlan) {
        let s = &self.state;
        if s.resolution_sla_met == Some(0)
            && s.resolution_minutes > 0
            && self.consumed_minutes() >= s.resolution_minutes
        {
            return self.sync(plan);
        }
        self.state.resolution_sla_met = None;
        self.state.alert_stage = 0;
        plan.ticket.resolution_sla_met = Some(None);
        plan.ticket.resolution_sla_alert_stage = Some(0);
        self.sync(plan);
    }
}

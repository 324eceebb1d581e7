//! Five-field cron schedules (`minute hour day-of-month month day-of-week`,
//! UTC) with `*`, lists, ranges and steps, for `BACKUPS_CRON`.

/// A parsed schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    minutes: Vec<bool>,
    hours: Vec<bool>,
    days: Vec<bool>,
    months: Vec<bool>,
    weekdays: Vec<bool>,
    days_restricted: bool,
    weekdays_restricted: bool,
}

fn field(text: &str, min: u32, max: u32) -> Result<(Vec<bool>, bool), String> {
    let mut allowed = vec![false; (max + 1) as usize];
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => (range, step.parse::<u32>().map_err(|_| format!("bad step in {part:?}"))?),
            None => (part, 1),
        };
        if step == 0 {
            return Err(format!("zero step in {part:?}"));
        }
        let (start, end) = if range == "*" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (
                a.parse().map_err(|_| format!("bad range {range:?}"))?,
                b.parse().map_err(|_| format!("bad range {range:?}"))?,
            )
        } else {
            let value: u32 = range.parse().map_err(|_| format!("bad value {range:?}"))?;
            (value, if part.contains('/') { max } else { value })
        };
        if start < min || end > max || start > end {
            return Err(format!("{part:?} is outside {min}-{max}"));
        }
        let mut value = start;
        while value <= end {
            allowed[value as usize] = true;
            value += step;
        }
    }
    Ok((allowed, text != "*"))
}

impl Schedule {
    /// Parses `minute hour day-of-month month day-of-week`.
    pub fn parse(text: &str) -> Result<Schedule, String> {
        let parts: Vec<&str> = text.split_whitespace().collect();
        let [minute, hour, day, month, weekday] = parts.as_slice() else {
            return Err("expected five fields".into());
        };
        let (mut weekdays, weekdays_restricted) = field(weekday, 0, 7)?;
        if weekdays[7] {
            weekdays[0] = true;
        }
        let (days, days_restricted) = field(day, 1, 31)?;
        Ok(Schedule {
            minutes: field(minute, 0, 59)?.0,
            hours: field(hour, 0, 23)?.0,
            days,
            months: field(month, 1, 12)?.0,
            weekdays,
            days_restricted,
            weekdays_restricted,
        })
    }

    /// The first matching minute strictly after `after_ms` (ms since the epoch),
    /// looking up to a year ahead.
    pub fn next_after(&self, after_ms: i64) -> Option<i64> {
        let first = after_ms.div_euclid(60_000) + 1;
        for minute in first..first + 366 * 24 * 60 {
            let time = time::OffsetDateTime::from_unix_timestamp(minute * 60).ok()?;
            let day_ok = self.days[time.day() as usize];
            let weekday_ok = self.weekdays[time.weekday().number_days_from_sunday() as usize];
            let date_ok = match (self.days_restricted, self.weekdays_restricted) {
                (true, true) => day_ok || weekday_ok,
                _ => day_ok && weekday_ok,
            };
            if self.months[u8::from(time.month()) as usize]
                && date_ok
                && self.hours[time.hour() as usize]
                && self.minutes[time.minute() as usize]
            {
                return Some(minute * 60_000);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> i64 {
        let t = time::PrimitiveDateTime::parse(text, &time::format_description::well_known::Iso8601::DEFAULT)
            .expect("date")
            .assume_utc();
        (t.unix_timestamp_nanos() / 1_000_000) as i64
    }

    #[test]
    fn daily_at_three() {
        let s = Schedule::parse("0 3 * * *").expect("valid");
        assert_eq!(s.next_after(at("2026-11-25T23:10:00")), Some(at("2026-11-26T03:00:00")));
        assert_eq!(s.next_after(at("2026-11-26T03:00:00")), Some(at("2026-11-27T03:00:00")));
    }

    #[test]
    fn steps_lists_ranges_and_weekdays() {
        let s = Schedule::parse("*/15 9-17 * * 1-5").expect("valid");
        // Saturday 2026-11-28 -> Monday 09:00.
        assert_eq!(s.next_after(at("2026-11-28T12:00:00")), Some(at("2026-11-30T09:00:00")));
        assert_eq!(s.next_after(at("2026-11-30T09:00:00")), Some(at("2026-11-30T09:15:00")));
        let s = Schedule::parse("30 2 1,15 * 0").expect("valid");
        // Day of month OR Sunday when both are restricted.
        assert_eq!(s.next_after(at("2026-11-25T00:00:00")), Some(at("2026-11-29T02:30:00")));
        for bad in ["", "* * * *", "60 * * * *", "* 24 * * *", "*/0 * * * *", "a * * * *", "5-1 * * * *"] {
            assert!(Schedule::parse(bad).is_err(), "{bad}");
        }
    }
}

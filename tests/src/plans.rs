//! Reading plans: EXPLAIN output as text, and the figures EXPLAIN ANALYZE reports in it.

use tokio_postgres::{Client, SimpleQueryMessage};

/// The `QUERY PLAN` lines of `EXPLAIN <sql>` (or `EXPLAIN ANALYZE <sql>`), joined by newlines.
pub async fn explain(client: &Client, explain_sql: &str) -> String {
    client
        .simple_query(explain_sql)
        .await
        .unwrap_or_else(|e| panic!("{explain_sql}: {e:?}"))
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The sum of every `<name>=<n>` in a plan.
pub fn plan_figure(plan: &str, name: &str) -> u64 {
    plan.match_indices(&format!("{name}="))
        .map(|(at, m)| {
            plan[at + m.len()..]
                .chars()
                .take_while(|c| c.is_ascii_digit())
                .collect::<String>()
                .parse::<u64>()
                .unwrap_or_else(|_| panic!("{name}= is not followed by a number in\n{plan}"))
        })
        .sum()
}

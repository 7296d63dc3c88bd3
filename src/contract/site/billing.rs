//! A statement page's billing section: what was pushed of the customer's month to each
//! billing system, in which period, and what the target was found to hold. A statement page
//! is written with an empty section between two markers; the push fills it in place
//! ([`with_billing`]), so the page gains its billing status without the statement being
//! built again.

use maud::html;

/// Where the section starts and ends on a statement page.
pub(crate) const START: &str = "<!-- billing -->";
pub(crate) const END: &str = "<!-- /billing -->";

/// One customer × target (× product) as the section shows it.
pub(crate) struct PushRow<'a> {
    pub target: &'a str,
    pub item: &'a str,
    /// The billing period, `YYYY-MM`.
    pub period: Option<&'a str>,
    /// The statement's quantity and what the target holds, as text with their unit.
    pub statement: String,
    pub target_holds: String,
    /// `matches`, `differs`, `missing`, `unverifiable`, or why it was not pushed.
    pub status: &'a str,
    pub message: Option<&'a str>,
}

/// `page` with its billing section replaced by `rows` of the push of `month` (statement
/// `revision`, checked at `checked_at`); `None` when the page has no section to fill.
pub(crate) fn with_billing(
    page: &str,
    month: &str,
    revision: u64,
    checked_at: &str,
    rows: &[PushRow<'_>],
) -> Option<String> {
    let start = page.find(START)? + START.len();
    let end = start + page[start..].find(END)?;
    let section = html! {
        section.billing {
            h2 { "Billing" }
            p.meta { (month) " pushed from statement revision " (revision) " · read back " (checked_at) }
            table.lines {
                thead { tr {
                    th scope="col" { "Target" } th scope="col" { "Item" } th scope="col" { "Billed in" }
                    th.num scope="col" { "Statement" } th.num scope="col" { "Target holds" }
                    th scope="col" { "Status" }
                } }
                tbody {
                    @for r in rows {
                        tr class=(format!("push {}", r.status)) {
                            td { (r.target) } td { (r.item) } td { (r.period.unwrap_or("-")) }
                            td.num { (r.statement) } td.num { (r.target_holds) }
                            td { (r.status) @if let Some(m) = r.message { ": " (m) } }
                        }
                    }
                }
            }
        }
    };
    Some(format!(
        "{}{}{}",
        &page[..start],
        section.into_string(),
        &page[end..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_section_is_filled_in_place_and_escaped() {
        let page = format!("<html><body><table></table>{START}{END}</body></html>");
        let row = PushRow {
            target: "connectwise",
            item: "acme_product-456",
            period: Some("2025-12"),
            statement: "4548.60 pt".into(),
            target_holds: "4558.60 pt".into(),
            status: "differs",
            message: Some("<b>edited</b>"),
        };
        let once = with_billing(&page, "2025-11", 2, "2025-12-04T14:00:00Z", &[row]).unwrap();
        assert!(once.contains("<td>2025-12</td>") && once.contains("differs: &lt;b&gt;edited"));
        assert!(once.starts_with("<html><body><table></table><!-- billing --><section"));
        assert!(once.ends_with("</section><!-- /billing --></body></html>"));
        // Filled again, it replaces the section rather than adding one.
        let twice = with_billing(&once, "2025-11", 3, "later", &[]).unwrap();
        assert_eq!(twice.matches("<section").count(), 1);
        assert!(twice.contains("statement revision 3"));
        assert_eq!(with_billing("<html></html>", "2025-11", 1, "", &[]), None);
    }
}

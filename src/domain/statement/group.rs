//! A month's lines split into one list per customer without a second copy of them all: at
//! 100,000 lines (16 MB) a copy per customer doubled the statement's peak.

use super::Line;

/// `lines` grouped by `owner` (the customer index of each line), each group in the lines'
/// order. The biggest group keeps the original allocation; only the others are copied out.
pub(super) fn by_owner(mut lines: Vec<Line>, owner: Vec<u32>) -> Vec<(u32, Vec<Line>)> {
    debug_assert_eq!(lines.len(), owner.len());
    if lines.is_empty() {
        return Vec::new();
    }
    let mut sizes = std::collections::BTreeMap::<u32, usize>::new();
    for &o in &owner {
        *sizes.entry(o).or_default() += 1;
    }
    // Groups in place, the biggest first; stable, so each group keeps the lines' order.
    let biggest = sizes
        .iter()
        .max_by_key(|(o, n)| (**n, std::cmp::Reverse(**o)));
    let biggest = *biggest.expect("lines are not empty").0;
    let rank = |o: u32| (o != biggest, o);
    let mut order: Vec<u32> = (0..lines.len() as u32).collect();
    order.sort_by_key(|&i| rank(owner[i as usize]));
    permute(&mut lines, &mut order);

    let mut groups = Vec::with_capacity(sizes.len());
    let mut ranked: Vec<(u32, usize)> = sizes.into_iter().collect();
    ranked.sort_by_key(|&(o, _)| rank(o));
    for &(o, n) in ranked.iter().skip(1).rev() {
        let tail = lines.split_off(lines.len() - n);
        groups.push((o, tail));
    }
    groups.push((biggest, lines));
    groups.reverse();
    groups
}

/// Reorders `items` so that the item at `order[k]` ends at `k`, in place (following cycles).
fn permute<T>(items: &mut [T], order: &mut [u32]) {
    for start in 0..items.len() {
        let mut at = start;
        while order[at] as usize != start {
            let from = order[at] as usize;
            items.swap(at, from);
            order[at] = at as u32;
            at = from;
        }
        order[at] = at as u32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(serial: &str) -> Line {
        Line {
            account_id: crate::domain::ids::AccountId(1),
            serial_number: serial.into(),
            config_id: None,
            config_name: None,
            product_type: None,
            description: None,
            days_billed: 1,
            points: rust_decimal::Decimal::ONE,
            amount: None,
            rule: None,
            cost: None,
            days: (1, 1),
        }
    }

    fn serials(group: &[Line]) -> Vec<&str> {
        group.iter().map(|l| &*l.serial_number).collect()
    }

    #[test]
    fn each_owner_gets_its_lines_in_order_and_the_biggest_keeps_the_allocation() {
        let lines: Vec<Line> = ["a", "b", "c", "d", "e", "f"].map(line).into();
        let buffer = lines.as_ptr();
        let groups = by_owner(lines, vec![2, 0, 2, 1, 2, 0]);
        let got: Vec<(u32, Vec<&str>)> = groups.iter().map(|(o, g)| (*o, serials(g))).collect();
        assert_eq!(
            got,
            [
                (2, vec!["a", "c", "e"]),
                (0, vec!["b", "f"]),
                (1, vec!["d"])
            ]
        );
        assert_eq!(
            groups[0].1.as_ptr(),
            buffer,
            "the biggest group was not copied"
        );
        assert!(by_owner(Vec::new(), Vec::new()).is_empty());
    }

    #[test]
    fn permute_moves_each_item_where_the_order_says() {
        let mut items = vec!['a', 'b', 'c', 'd', 'e'];
        let mut order = vec![3, 0, 4, 1, 2];
        permute(&mut items, &mut order);
        assert_eq!(items, ['d', 'a', 'e', 'b', 'c']);
    }
}

//! The scale tenant for `make bench`: the walkthrough's program with `n` more entitlements in
//! the partner's account, 100 to a configuration, each with its own steady daily rate.

use rust_decimal::Decimal;

use super::dataset::{Dataset, SimConfig, SimEntitlement};

/// Entitlements per synthetic configuration.
const PER_CONFIG: u64 = 100;

impl Dataset {
    /// The walkthrough plus `n` ACTIVE entitlements (FortiGate-VMs, FortiAPs and EMS seats
    /// in turn) at 1.00 to 100.99 points a day, deterministic, so every run sees the same data.
    pub fn scale(n: u32) -> Self {
        let mut d = Dataset::walkthrough();
        let p = &mut d.programs[0];
        let (start, account) = (p.start, p.account_id);
        let products = [
            (1, "FortiGate-VM bundle"),
            (102, "FortiAP Hardware"),
            (5, "FortiClient EMS On-Prem"),
        ];
        let n = u64::from(n);
        for k in 0..n.div_ceil(PER_CONFIG) {
            let (product_id, product_name) = products[(k % 3) as usize];
            p.configs.push(SimConfig {
                id: 10_000 + k,
                name: format!("Scale pool {k:04}"),
                status: "ACTIVE",
                product_id,
                product_name,
                account_id: account,
                // Each entitlement has its own rate: the calculator has no one price for a pool.
                parameters: vec![],
                rate: None,
                announced: None,
            });
        }
        p.entitlements.reserve(n as usize);
        for i in 0..n {
            p.entitlements.push(SimEntitlement {
                serial_number: format!("FGVMSCAL{i:08}"),
                config_id: 10_000 + i / PER_CONFIG,
                description: format!("Branch {i:06}"),
                status: "ACTIVE",
                start,
                daily: Decimal::new(100 + (i * 7_919 % 10_000) as i64, 2),
                token: format!("{:016X}", 0x5CA1_E000_0000_0000_u64 + i),
                spikes: vec![],
                token_unused: false,
                schedule: Default::default(),
            });
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::dataset::date;

    #[test]
    fn the_scale_tenant_adds_n_entitlements_to_the_partner_account() {
        let base = &Dataset::walkthrough().programs[0];
        let d = Dataset::scale(250);
        let p = &d.programs[0];
        assert_eq!(p.entitlements.len(), base.entitlements.len() + 250);
        assert_eq!(p.configs.len(), base.configs.len() + 3);
        assert_eq!(p.accounts(), vec![p.account_id]);
        let day = date("2025-11-01");
        let today = date("2025-11-21");
        let rows = p.points(day, day, today);
        assert_eq!(rows.len(), base.points(day, day, today).len() + 250);
        let synthetic: Decimal = rows
            .iter()
            .filter(|(e, _)| e.serial_number.starts_with("FGVMSCAL"))
            .map(|(_, pts)| *pts)
            .sum();
        let expected: Decimal = (0..250u64)
            .map(|i| Decimal::new(100 + (i * 7_919 % 10_000) as i64, 2))
            .sum();
        assert_eq!(synthetic, expected);
    }
}

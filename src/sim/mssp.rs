//! The MSSP tenant: the walkthrough's program spread over the partner's and customer
//! accounts, synthetic accounts for call-budget trials, and a second, postpaid program.

use rust_decimal::Decimal;

use super::dataset::{Dataset, PARTNER, SimConfig, SimEntitlement, SimProgram, date, dec};
use super::organizations::SimOrganization;

/// The MSSP mode's customer accounts (the partner's own is the walkthrough's, [`PARTNER`]).
pub const CUSTOMER_A: u64 = 3300001;
pub const CUSTOMER_B: u64 = 3300002;
pub const POSTPAID_PROGRAM: &str = "ELAVMS0000654321";

impl Dataset {
    /// The MSSP tenant's organization: the partner at the top, Acme and Globex in a unit
    /// each, and Initech, a customer account with no FortiFlex configuration yet.
    pub fn mssp_organization() -> SimOrganization {
        SimOrganization {
            org_id: 1000,
            units: vec![(1001, "Customers West"), (1002, "Customers East")],
            accounts: vec![
                (PARTNER, "Example MSSP Ltd", 1000),
                (CUSTOMER_A, "Acme Corp", 1001),
                (CUSTOMER_B, "Globex Corporation", 1002),
                (3300005, "Initech", 1001),
            ],
            joins: Vec::new(),
        }
    }

    /// The walkthrough's program as an MSSP runs it: the SOC's manager and analyzer (and a
    /// disabled trial) in the partner's account, the FortiGates of configs 4102 and 4103 in
    /// customer 3300001's, the EMS of 4104 and 4108 in customer 3300002's; `extra` more customer
    /// accounts with one 10.00-point FortiGate-VM each; and a second, postpaid program of
    /// the partner's account with one FortiGate-VM at 8.50 points a day.
    pub fn mssp(extra: u32) -> Self {
        let mut d = Dataset::walkthrough();
        let start = d.programs[0].start;
        let p = &mut d.programs[0];
        for c in &mut p.configs {
            c.account_id = match c.id {
                4102 | 4103 => CUSTOMER_A,
                4104 | 4108 => CUSTOMER_B,
                _ => PARTNER,
            };
        }
        for i in 0..u64::from(extra) {
            let (account, config) = (3_400_000 + i, 5_000 + i);
            p.configs.push(SimConfig {
                id: config,
                name: format!("Tenant {account} FGT-VM"),
                status: "ACTIVE",
                product_id: 1,
                product_name: "FortiGate-VM bundle",
                account_id: account,
                parameters: vec![(1, "1"), (2, "FC"), (10, "0")],
                rate: Some(dec("10.00")),
                announced: None,
            });
            p.entitlements.push(SimEntitlement {
                serial_number: format!("FGVMSYNT{i:08}"),
                config_id: config,
                description: format!("Synthetic tenant {account}"),
                status: "ACTIVE",
                start,
                daily: dec("10.00"),
                token: format!("{:016X}", 0xC0DE_0000_0000_0000_u64 + i),
                spikes: vec![],
                token_unused: false,
                schedule: Default::default(),
            });
        }
        d.organization = Some(Dataset::mssp_organization());
        d.programs.push(SimProgram {
            serial: POSTPAID_PROGRAM,
            account_id: PARTNER,
            postpaid: true,
            start,
            end: date("2028-01-09"),
            prepaid_points: Decimal::ZERO,
            top_ups: vec![],
            configs: vec![SimConfig {
                id: 4201,
                name: "Postpaid FGT-VM".into(),
                status: "ACTIVE",
                product_id: 1,
                product_name: "FortiGate-VM bundle",
                account_id: PARTNER,
                parameters: vec![(1, "1"), (2, "ENT"), (10, "0")],
                rate: Some(dec("8.50")),
                announced: None,
            }],
            entitlements: vec![SimEntitlement {
                serial_number: "FGVMPOST00000001".into(),
                config_id: 4201,
                description: "Postpaid edge".into(),
                status: "ACTIVE",
                start,
                daily: dec("8.50"),
                token: "D63748596A7B8C9D".into(),
                spikes: vec![],
                token_unused: false,
                schedule: Default::default(),
            }],
        });
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mssp_tenant_spreads_the_walkthrough_over_three_accounts() {
        let d = Dataset::mssp(2);
        let p = &d.programs[0];
        assert_eq!(
            p.accounts(),
            vec![PARTNER, CUSTOMER_A, CUSTOMER_B, 3400000, 3400001]
        );
        let day = p.points(date("2025-11-08"), date("2025-11-08"), date("2025-11-09"));
        let of = |a| -> Decimal {
            day.iter()
                .filter(|(e, _)| p.account_of(e) == a)
                .map(|(_, x)| *x)
                .sum()
        };
        assert_eq!(
            (of(PARTNER), of(CUSTOMER_A), of(CUSTOMER_B)),
            (dec("211.25"), dec("170.91"), dec("17.26"))
        );
        assert_eq!(d.programs[1].serial, POSTPAID_PROGRAM);
    }
}

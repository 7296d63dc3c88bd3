//! The simulator's data: the partner walkthrough's program. Thirteen entitlements consume
//! a fixed amount per Pacific day, so any seven complete days total exactly the
//! walkthrough's 2,795.94 points; PENDING and STOPPED entitlements consume nothing.
//! [`Dataset::mssp`] (in `mssp.rs`) spreads the same program over the partner's and two
//! customer accounts (plus synthetic ones) and adds a postpaid program, as an MSSP's looks.

use std::collections::HashMap;
use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;

pub use super::schedule::Schedule;

/// The walkthrough's partner account: its program's own account.
pub const PARTNER: u64 = 2321234;

#[derive(Debug, Clone)]
pub struct SimConfig {
    pub id: u64,
    pub name: String,
    pub status: &'static str,
    pub product_id: u64,
    pub product_name: &'static str,
    /// The account the configuration (and its entitlements) belongs to.
    pub account_id: u64,
    /// `parameters [{id, value}]` as FortiFlex lists them (ids of Fortinet's Ansible
    /// collection: CPU, service package, managed devices, endpoints, storage).
    pub parameters: Vec<(u64, &'static str)>,
    /// What `tools/calc` prices these parameters at a day; `None`: it refuses to price them.
    pub rate: Option<Decimal>,
    /// A rate change FortiFlex announces: from this day the configuration costs this much,
    /// and its entitlements charged at `rate` are charged it.
    pub announced: Option<(NaiveDate, Decimal)>,
}

#[derive(Debug, Clone)]
pub struct SimEntitlement {
    pub serial_number: String,
    pub config_id: u64,
    pub description: String,
    pub status: &'static str,
    /// First day that consumes.
    pub start: NaiveDate,
    /// Points per Pacific day while active.
    pub daily: Decimal,
    /// The licence token: present in `entitlements/list`, never to be reported.
    pub token: String,
    /// Days that consume these points instead of `daily` (a spike, for the alerts).
    pub spikes: Vec<(NaiveDate, Decimal)>,
    /// ACTIVE and charged, but `tokenStatus` says `NOTUSED` (PENDING ones always do).
    pub token_unused: bool,
    /// Which days from `start` on it runs (a stopped device is charged nothing that day).
    pub schedule: Schedule,
}

/// One FortiFlex program of the simulated tenant.
#[derive(Debug, Clone)]
pub struct SimProgram {
    pub serial: &'static str,
    /// The program's own (partner's) account.
    pub account_id: u64,
    pub postpaid: bool,
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// Prepaid points bought; the balance is this minus everything consumed so far.
    pub prepaid_points: Decimal,
    /// Points bought later: each adds to the balance from its day on.
    pub top_ups: Vec<(NaiveDate, Decimal)>,
    pub configs: Vec<SimConfig>,
    pub entitlements: Vec<SimEntitlement>,
}

#[derive(Debug, Clone)]
pub struct Dataset {
    pub username: &'static str,
    pub password: &'static str,
    pub programs: Vec<SimProgram>,
    /// FortiCloud's organization the API user may list; `None`: no permission.
    pub organization: Option<super::organizations::SimOrganization>,
}

pub(super) fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("dataset dates are valid")
}

pub(super) fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).expect("dataset numbers are valid")
}

impl Dataset {
    /// The walkthrough's program (serials completed from its masked ones).
    pub fn walkthrough() -> Self {
        let start = date("2025-01-10");
        let ent = |serial_number: &str,
                   config_id,
                   description: &str,
                   status,
                   daily: &str,
                   token: &str| SimEntitlement {
            serial_number: serial_number.into(),
            config_id,
            description: description.into(),
            status,
            start,
            daily: dec(daily),
            token: token.into(),
            spikes: vec![],
            token_unused: false,
            schedule: Schedule::Always,
        };
        let program = SimProgram {
            serial: "ELAVMS0000123456",
            account_id: PARTNER,
            postpaid: false,
            start,
            end: date("2028-01-09"),
            prepaid_points: dec("500000.00"),
            top_ups: vec![],
            configs: vec![
                SimConfig {
                    id: 4101,
                    name: "MSSP FMG".into(),
                    account_id: PARTNER,
                    status: "ACTIVE",
                    product_id: 2,
                    product_name: "FortiManager-VM",
                    parameters: vec![(30, "100"), (9, "10")],
                    rate: Some(dec("107.20")),
                    announced: None,
                },
                SimConfig {
                    id: 4102,
                    name: "FGT-VM 2 vCPU UTP".into(),
                    account_id: PARTNER,
                    status: "ACTIVE",
                    product_id: 1,
                    product_name: "FortiGate-VM bundle",
                    parameters: vec![(1, "2"), (2, "UTP"), (10, "0")],
                    rate: Some(dec("21.66")),
                    announced: None,
                },
                SimConfig {
                    id: 4103,
                    name: "FGT-71F UTP".into(),
                    account_id: PARTNER,
                    status: "ACTIVE",
                    product_id: 101,
                    product_name: "FortiGate Hardware",
                    parameters: vec![(27, "FGT71F"), (28, "FGHWUTP")],
                    rate: Some(dec("19.29")),
                    announced: None,
                },
                SimConfig {
                    id: 4104,
                    name: "EMS 100 endpoints".into(),
                    account_id: PARTNER,
                    status: "ACTIVE",
                    product_id: 5,
                    product_name: "FortiClient EMS On-Prem",
                    parameters: vec![(13, "0"), (14, "100"), (15, "0"), (16, "FCTFC247")],
                    rate: Some(dec("14.01")),
                    announced: None,
                },
                SimConfig {
                    id: 4105,
                    name: "FAZ-VM 5 GB/day".into(),
                    account_id: PARTNER,
                    status: "ACTIVE",
                    product_id: 7,
                    product_name: "FortiAnalyzer-VM",
                    parameters: vec![(21, "5"), (22, "0"), (23, "FAZFC247")],
                    rate: Some(dec("12.85")),
                    announced: None,
                },
                SimConfig {
                    id: 4106,
                    name: "FWB-VM trial".into(),
                    account_id: PARTNER,
                    status: "DISABLED",
                    product_id: 3,
                    product_name: "FortiWeb-VM",
                    parameters: vec![(4, "2"), (5, "FWBSTD")],
                    rate: Some(dec("9.60")),
                    announced: None,
                },
                SimConfig {
                    id: 4107,
                    name: "FMG 50 devices".into(),
                    account_id: PARTNER,
                    status: "ACTIVE",
                    product_id: 2,
                    product_name: "FortiManager-VM",
                    parameters: vec![(30, "50"), (9, "5")],
                    rate: Some(dec("91.20")),
                    announced: None,
                },
                SimConfig {
                    id: 4108,
                    name: "EMS 25 endpoints".into(),
                    account_id: PARTNER,
                    status: "ACTIVE",
                    product_id: 5,
                    product_name: "FortiClient EMS On-Prem",
                    parameters: vec![(13, "0"), (14, "25"), (15, "0"), (16, "FCTFC247")],
                    rate: Some(dec("3.25")),
                    announced: None,
                },
            ],
            entitlements: vec![
                ent(
                    "FMVMMLTM00000582",
                    4101,
                    "SOC manager",
                    "ACTIVE",
                    "107.20",
                    "6B1F0C6E2D9A4F3B",
                ),
                ent(
                    "FMVMMLTM00000663",
                    4107,
                    "Tenant manager - West",
                    "ACTIVE",
                    "91.20",
                    "0F8C1D2E3A4B5C6D",
                ),
                ent(
                    "FGVMMLTM00000993",
                    4102,
                    "Acme Corp - HQ",
                    "ACTIVE",
                    "21.66",
                    "7E6D5C4B3A291807",
                ),
                ent(
                    "FGVMMLTM00000994",
                    4102,
                    "Acme Corp - Branch",
                    "ACTIVE",
                    "21.66",
                    "1A2B3C4D5E6F7081",
                ),
                ent(
                    "FGVMMLTM00000995",
                    4102,
                    "Globex, Inc.",
                    "ACTIVE",
                    "21.66",
                    "9F8E7D6C5B4A3921",
                ),
                ent(
                    "FGVMMLTM00000996",
                    4102,
                    "Initech \"core\" firewall",
                    "ACTIVE",
                    "21.66",
                    "2C3D4E5F60718293",
                ),
                ent(
                    "FGVMMLTM00000997",
                    4102,
                    "Umbrella DMZ",
                    "ACTIVE",
                    "21.66",
                    "3D4E5F6071829304",
                ),
                ent(
                    "FGVMMLTM00000998",
                    4102,
                    "Hooli lab",
                    "ACTIVE",
                    "21.66",
                    "4E5F607182930415",
                ),
                ent(
                    "FGVMMLTM00000999",
                    4102,
                    "Stark Industries",
                    "ACTIVE",
                    "21.66",
                    "5F60718293041526",
                ),
                ent(
                    "FGT71FTK22000471",
                    4103,
                    "Wayne Enterprises branch",
                    "ACTIVE",
                    "19.29",
                    "6071829304152637",
                ),
                ent(
                    "FEMSPO8800000387",
                    4104,
                    "EMS - managed endpoints",
                    "ACTIVE",
                    "14.01",
                    "7182930415263748",
                ),
                ent(
                    "FZVMMLTM00000689",
                    4105,
                    "SOC log analytics",
                    "ACTIVE",
                    "12.85",
                    "8293041526374859",
                ),
                ent(
                    "FEMSPO8800000320",
                    4108,
                    "EMS - pilot",
                    "ACTIVE",
                    "3.25",
                    "930415263748596A",
                ),
                ent(
                    "FGVMMLTM00001001",
                    4102,
                    "Not deployed yet",
                    "PENDING",
                    "0",
                    "A41526374859607B",
                ),
                ent(
                    "FGVMMLTM00001002",
                    4102,
                    "Decommissioned",
                    "STOPPED",
                    "0",
                    "B52637485960718C",
                ),
            ],
        };
        Dataset {
            username: "demo-api-user",
            password: "demo-api-password",
            programs: vec![program],
            organization: None,
        }
    }

    pub fn program(&self, serial: &str) -> Option<&SimProgram> {
        self.programs
            .iter()
            .find(|p| p.serial.eq_ignore_ascii_case(serial))
    }

    /// The program and config of a config id.
    pub fn config(&self, id: u64) -> Option<(&SimProgram, &SimConfig)> {
        self.programs
            .iter()
            .find_map(|p| p.configs.iter().find(|c| c.id == id).map(|c| (p, c)))
    }
}

impl SimProgram {
    /// The program's own account and every account holding one of its configs, ascending.
    pub fn accounts(&self) -> Vec<u64> {
        let mut a: Vec<u64> = self.configs.iter().map(|c| c.account_id).collect();
        a.push(self.account_id);
        a.sort_unstable();
        a.dedup();
        a
    }

    pub fn config(&self, id: u64) -> Option<&SimConfig> {
        self.configs.iter().find(|c| c.id == id)
    }

    /// The account an entitlement belongs to: its config's.
    pub fn account_of(&self, e: &SimEntitlement) -> u64 {
        self.config(e.config_id)
            .map_or(self.account_id, |c| c.account_id)
    }

    /// Config id to account, for answering about many entitlements at once.
    pub fn accounts_by_config(&self) -> HashMap<u64, u64> {
        self.configs.iter().map(|c| (c.id, c.account_id)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_seven_complete_days_total_the_walkthrough() {
        let d = &Dataset::walkthrough().programs[0];
        let rows = d.points(date("2025-11-02"), date("2025-11-08"), date("2025-11-09"));
        assert_eq!(rows.len(), 13);
        assert_eq!(
            rows.iter().map(|(_, p)| *p).sum::<Decimal>(),
            dec("2795.94")
        );
        let top = rows
            .iter()
            .find(|(e, _)| e.serial_number == "FMVMMLTM00000582")
            .unwrap();
        assert_eq!(top.1.to_string(), "750.40");
    }

    #[test]
    fn today_and_days_before_the_program_are_not_tallied() {
        let d = &Dataset::walkthrough().programs[0];
        assert!(
            d.points(date("2025-11-09"), date("2025-11-09"), date("2025-11-09"))
                .is_empty()
        );
        assert!(
            d.points(date("2024-12-01"), date("2025-01-09"), date("2025-11-09"))
                .is_empty()
        );
        let partial = d.points(date("2025-11-07"), date("2025-11-12"), date("2025-11-09"));
        assert_eq!(
            partial.iter().map(|(_, p)| *p).sum::<Decimal>(),
            dec("798.84")
        );
        // Past retention FortiFlex answers nothing.
        assert!(
            d.points_kept(
                date("2025-08-01"),
                date("2025-08-10"),
                date("2025-11-09"),
                Some(90)
            )
            .is_empty()
        );
        assert_eq!(
            d.points_kept(
                date("2025-08-10"),
                date("2025-08-11"),
                date("2025-11-09"),
                Some(90)
            )
            .len(),
            13
        );
    }
}

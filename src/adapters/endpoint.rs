//! A service's base URL, checked once: https only off this machine, since credentials,
//! tokens and signatures travel in the requests (FortiFlex, the billing targets).

use reqwest::Url;

use crate::error::{Error, Result};

/// `value` as an http(s) URL, plain http only on loopback; `name` (a setting or a flag)
/// names it in errors.
pub(crate) fn checked_url(name: &str, value: &str) -> Result<Url> {
    let url = Url::parse(value.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .ok_or_else(|| Error::Configuration(format!("{name} '{value}' is not an http(s) URL")))?;
    let host = url.host_str().unwrap_or("");
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if url.scheme() == "http" && !loopback {
        return Err(Error::Configuration(format!(
            "{name} '{value}' must use https (plain http is allowed only on loopback)"
        )));
    }
    Ok(url)
}

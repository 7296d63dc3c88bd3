//! Where FortiFlex lives, checked once: https only off this machine, since credentials and
//! tokens travel in these requests.

use reqwest::Url;

use crate::error::Result;

pub const DEFAULT_API_URL: &str = "https://support.fortinet.com/ES/api/fortiflex/v2/";
pub const DEFAULT_AUTH_URL: &str = "https://customerapiauth.fortinet.com/api/v1/oauth/token/";

/// Where FortiFlex lives: the v2 API base and the OAuth token endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    api_base: Url,
    token_url: Url,
}

impl Endpoints {
    /// `api` is the v2 base (`.../fortiflex/v2/`); `auth` the token endpoint, or its
    /// `.../oauth/` folder, to which `token/` is added (the trailing slash matters).
    pub fn new(api: &str, auth: &str) -> Result<Self> {
        Self::named(("the FortiFlex API URL", api), ("the token URL", auth))
    }

    /// [`Endpoints::new`], each URL with the name of where it came from (a setting or a
    /// flag), so an error names what the user set.
    pub fn named((api_name, api): (&str, &str), (auth_name, auth): (&str, &str)) -> Result<Self> {
        // Credentials and tokens travel in these requests: plain HTTP only to this machine.
        let parse = crate::adapters::endpoint::checked_url;
        let mut api_base = parse(api_name, api)?;
        if !api_base.path().ends_with('/') {
            api_base.set_path(&format!("{}/", api_base.path()));
        }
        let mut token_url = parse(auth_name, auth)?;
        let path = token_url.path().trim_end_matches('/').to_string();
        let path = if path.ends_with("/token") {
            format!("{path}/")
        } else {
            format!("{path}/token/")
        };
        token_url.set_path(&path);
        Ok(Endpoints {
            api_base,
            token_url,
        })
    }

    pub fn api_base(&self) -> &Url {
        &self.api_base
    }

    pub fn token_url(&self) -> &Url {
        &self.token_url
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_normalise_slashes() {
        let e = Endpoints::new(
            "http://127.0.0.1:9/ES/api/fortiflex/v2",
            "http://127.0.0.1:9/api/v1/oauth",
        )
        .unwrap();
        assert_eq!(
            e.api_base().join("entitlements/points").unwrap().path(),
            "/ES/api/fortiflex/v2/entitlements/points"
        );
        assert_eq!(e.token_url().path(), "/api/v1/oauth/token/");
        let e = Endpoints::new(DEFAULT_API_URL, "https://h.example/api/v1/oauth/token").unwrap();
        assert_eq!(e.token_url().path(), "/api/v1/oauth/token/");
        let e = Endpoints::new(DEFAULT_API_URL, DEFAULT_AUTH_URL).unwrap();
        assert_eq!(e.token_url().as_str(), DEFAULT_AUTH_URL);
        let err = Endpoints::new("support.fortinet.com", DEFAULT_AUTH_URL).unwrap_err();
        assert_eq!(err.kind(), "Configuration");
        assert!(err.to_string().contains("the FortiFlex API URL"));
    }
}

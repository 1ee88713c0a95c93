//! Cloud presets: data about each OpenStack-family cloud (identity flavour, endpoints,
//! regions, placement zone). Facts and their sources: docs/openstack.md and
//! /work/shared/reference/csap-clouds.md. Whatever could not be confirmed is listed in
//! [`Preset::unconfirmed`].

use gureum_core::Zone;

/// Which identity API a cloud uses.
///
/// ```
/// use gureum_openstack::presets::{IdentityApi, NHN};
/// assert_eq!(NHN.identity, IdentityApi::V2);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityApi {
    /// Keystone v3 (`POST /v3/auth/tokens`, token in `X-Subject-Token`).
    V3,
    /// Keystone v2.0 (`POST /v2.0/tokens`, token in `access.token.id`).
    V2,
    /// Swift tempauth / v1 auth.
    V1,
}

/// Public and government ("gov") variants of one endpoint.
///
/// ```
/// use gureum_openstack::presets::NHN;
/// assert!(NHN.auth_url.public.is_some() && NHN.auth_url.gov.is_some());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoints {
    /// Public cloud. `{region}` / `{REGION}` = region in lower / upper case, `{project_id}`
    /// = the token's project (tenant) id, `{auth_origin}` = scheme, host and port of the
    /// identity URL (see [`crate::auth::fill_endpoint`]).
    pub public: Option<&'static str>,
    /// Government cloud.
    pub gov: Option<&'static str>,
}

const NONE: Endpoints = Endpoints {
    public: None,
    gov: None,
};

/// One cloud preset.
///
/// ```
/// use gureum_core::Zone;
/// use gureum_openstack::presets::{find, OPENSTACK};
/// assert_eq!(find("nhn").unwrap().zone, Zone::DomesticCsap);
/// assert_eq!(OPENSTACK.zone, Zone::OnPrem); // the city's own OpenStack
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preset {
    /// Name used in URLs (`preset=nhn`) and clouds.yaml (`profile: nhn`).
    pub name: &'static str,
    /// Human name.
    pub display: &'static str,
    /// Placement zone.
    pub zone: Zone,
    /// Identity API.
    pub identity: IdentityApi,
    /// Identity endpoint.
    pub auth_url: Endpoints,
    /// Public regions.
    pub regions: &'static [&'static str],
    /// Government regions.
    pub gov_regions: &'static [&'static str],
    /// Swift account URL template (fallback when the catalog has no object-store).
    pub swift: Endpoints,
    /// Nova URL template (fallback when the catalog has no compute).
    pub compute: Endpoints,
    /// Glance URL template.
    pub image: Endpoints,
    /// S3-compatible endpoint template.
    pub s3: Endpoints,
    /// S3 SigV4 region names are upper case (`KR1`).
    pub s3_uppercase_region: bool,
    /// S3: compute request checksums only "when required" (no CRC trailers).
    pub s3_checksum_when_required: bool,
    /// Nova is the compute API of this cloud.
    pub nova_compute: bool,
    /// Facts we could not confirm against a vendor document.
    pub unconfirmed: &'static [&'static str],
}

/// NHN Cloud (public + gov).
///
/// ```
/// use gureum_openstack::presets::NHN;
/// assert_eq!(NHN.name, "nhn");
/// assert!(NHN.knows_region("kr1", false));
/// ```
pub const NHN: Preset = Preset {
    name: "nhn",
    display: "NHN Cloud",
    zone: Zone::DomesticCsap,
    identity: IdentityApi::V2,
    auth_url: Endpoints {
        public: Some("https://api-identity-infrastructure.nhncloudservice.com/v2.0"),
        gov: Some("https://api-identity-infrastructure.gov-nhncloudservice.com/v2.0"),
    },
    regions: &["KR1", "KR2", "KR3", "JP1"],
    gov_regions: &["KR1", "KR2"],
    swift: Endpoints {
        public: Some("https://{region}-api-object-storage.nhncloudservice.com/v1/AUTH_{project_id}"),
        gov: Some("https://{region}-api-object-storage.gov-nhncloudservice.com/v1/AUTH_{project_id}"),
    },
    compute: Endpoints {
        public: Some("https://{region}-api-instance-infrastructure.nhncloudservice.com/v2/{project_id}"),
        gov: Some("https://{region}-api-instance-infrastructure.gov-nhncloudservice.com/v2/{project_id}"),
    },
    image: Endpoints {
        public: Some("https://{region}-api-image-infrastructure.nhncloudservice.com"),
        gov: Some("https://{region}-api-image-infrastructure.gov-nhncloudservice.com"),
    },
    s3: Endpoints {
        public: Some("https://{region}-api-object-storage.nhncloudservice.com"),
        gov: Some("https://{region}-api-object-storage.gov-nhncloudservice.com"),
    },
    s3_uppercase_region: true,
    s3_checksum_when_required: false,
    nova_compute: true,
    unconfirmed: &[
        "Glance endpoint host follows the documented {region}-api-<type>-infrastructure pattern; the catalog wins",
        "Nova microversion support of NHN Cloud",
    ],
};

/// KT Cloud D1 platform (Keystone v3 + Nova-style compute).
///
/// ```
/// use gureum_openstack::presets::{find, KTCLOUD};
/// assert_eq!(find("kt").unwrap().name, KTCLOUD.name);
/// ```
pub const KTCLOUD: Preset = Preset {
    name: "ktcloud",
    display: "KT Cloud (D1)",
    zone: Zone::DomesticCsap,
    identity: IdentityApi::V3,
    auth_url: Endpoints {
        public: Some("https://api.ucloudbiz.olleh.com/d1/identity/"),
        gov: None,
    },
    regions: &["DX-M1"],
    gov_regions: &[],
    swift: NONE,
    // D1 serves every API on the identity host (api.ucloudbiz.olleh.com): compute at
    // /d1/server (Nova paths without a project id), images at /d1/image (Glance v2).
    compute: Endpoints {
        public: Some("{auth_origin}/d1/server"),
        gov: None,
    },
    image: Endpoints {
        public: Some("{auth_origin}/d1/image"),
        gov: None,
    },
    s3: NONE,
    s3_uppercase_region: false,
    s3_checksum_when_required: false,
    nova_compute: true,
    unconfirmed: &[
        "all KT Cloud facts come from 3rd-party code (cloud-barista), not vendor docs",
        "D1 identity path /d1/identity/auth/tokens and compute path /d1/server (no project id in the path)",
        "whether D1 tokens carry a service catalog (without one, the /d1/server and /d1/image templates on the identity host are used)",
        "D1 image endpoint /d1/image",
        "zone/region name DX-M1 as a catalog region",
        "government (public sector) endpoints",
        "object storage (legacy ucloud storage used Swift v1 auth at ssproxy.ucloudbiz.olleh.com)",
        "S3-compatible endpoint",
    ],
};

/// Kakao Cloud (public kr-central-2, gov kr-gov-central-1).
///
/// ```
/// use gureum_openstack::presets::KAKAO;
/// assert_eq!(KAKAO.name, "kakao");
/// assert!(KAKAO.auth_url(false).is_some());
/// ```
pub const KAKAO: Preset = Preset {
    name: "kakao",
    display: "Kakao Cloud",
    zone: Zone::DomesticCsap,
    identity: IdentityApi::V3,
    auth_url: Endpoints {
        public: Some("https://iam.kakaocloud.com/identity/v3"),
        gov: None,
    },
    regions: &["kr-central-2"],
    gov_regions: &["kr-gov-central-1"],
    swift: Endpoints {
        public: Some("https://objectstorage.{region}.kakaocloud.com/v1/{project_id}"),
        gov: Some("https://objectstorage.{region}.kakaocloud-kr-gov.com/v1/{project_id}"),
    },
    compute: NONE,
    image: NONE,
    s3: Endpoints {
        public: Some("https://objectstorage.{region}.kakaocloud.com"),
        gov: Some("https://objectstorage.{region}.kakaocloud-kr-gov.com"),
    },
    s3_uppercase_region: false,
    s3_checksum_when_required: true,
    nova_compute: false,
    unconfirmed: &[
        "government IAM (Keystone) endpoint: pass auth_url explicitly for kr-gov-central-1",
        "compute is the proprietary BCS API, not Nova: nova:// is refused for this preset",
        "S3 path-style vs virtual-host style (path style is used)",
    ],
};

/// A city's own OpenStack data center, configured through clouds.yaml.
///
/// ```
/// use gureum_openstack::presets::OPENSTACK;
/// assert!(OPENSTACK.auth_url(false).is_none()); // a generic cloud: give auth_url
/// assert!(OPENSTACK.knows_region("RegionOne", false)); // no region list: anything goes
/// ```
pub const OPENSTACK: Preset = Preset {
    name: "openstack",
    display: "OpenStack (city data center)",
    zone: Zone::OnPrem,
    identity: IdentityApi::V3,
    auth_url: NONE,
    regions: &[],
    gov_regions: &[],
    swift: NONE,
    compute: NONE,
    image: NONE,
    s3: NONE,
    s3_uppercase_region: false,
    s3_checksum_when_required: false,
    nova_compute: true,
    unconfirmed: &[],
};

/// Every preset.
///
/// ```
/// let names: Vec<_> = gureum_openstack::presets::ALL.iter().map(|p| p.name).collect();
/// assert_eq!(names, ["nhn", "ktcloud", "kakao", "openstack"]);
/// ```
pub const ALL: &[&Preset] = &[&NHN, &KTCLOUD, &KAKAO, &OPENSTACK];

/// Find a preset by name (`nhn`, `ktcloud`/`kt`, `kakao`, `openstack`).
///
/// ```
/// use gureum_openstack::presets::find;
/// assert_eq!(find("KT").unwrap().name, "ktcloud");
/// assert_eq!(find("toast").unwrap().name, "nhn");
/// assert!(find("nimbus").is_none());
/// ```
pub fn find(name: &str) -> Option<&'static Preset> {
    let n = name.to_ascii_lowercase();
    let n = match n.as_str() {
        "kt" | "kt-cloud" => "ktcloud",
        "nhncloud" | "toast" => "nhn",
        "kakaocloud" => "kakao",
        "sdc" | "generic" => "openstack",
        other => other,
    }
    .to_string();
    ALL.iter().copied().find(|p| p.name == n)
}

impl Preset {
    /// The identity URL for public or gov.
    ///
    /// ```
    /// use gureum_openstack::presets::NHN;
    /// assert!(NHN.auth_url(false).unwrap().starts_with("https://"));
    /// ```
    pub fn auth_url(&self, gov: bool) -> Option<&'static str> {
        if gov {
            self.auth_url.gov
        } else {
            self.auth_url.public
        }
    }
    /// The default region.
    ///
    /// ```
    /// use gureum_openstack::presets::{NHN, OPENSTACK};
    /// assert_eq!(NHN.default_region(false), Some(NHN.regions[0]));
    /// assert_eq!(OPENSTACK.default_region(false), None);
    /// ```
    pub fn default_region(&self, gov: bool) -> Option<&'static str> {
        if gov {
            self.gov_regions.first().copied()
        } else {
            self.regions.first().copied()
        }
    }
    /// Whether `region` is known for this preset (unknown presets accept anything).
    ///
    /// ```
    /// use gureum_openstack::presets::NHN;
    /// assert!(NHN.knows_region("KR1", false)); // case-insensitive
    /// assert!(!NHN.knows_region("us-east-1", false));
    /// ```
    pub fn knows_region(&self, region: &str, gov: bool) -> bool {
        let list = if gov { self.gov_regions } else { self.regions };
        list.is_empty() || list.iter().any(|r| r.eq_ignore_ascii_case(region))
    }
}

/// Fill an endpoint template.
///
/// ```
/// use gureum_openstack::presets::fill;
/// let url = fill("https://{region}-api-object-storage.example/v1/AUTH_{project_id}", "KR1", "p123");
/// assert_eq!(url, "https://kr1-api-object-storage.example/v1/AUTH_p123");
/// ```
pub fn fill(template: &str, region: &str, project_id: &str) -> String {
    template
        .replace("{region}", &region.to_ascii_lowercase())
        .replace("{REGION}", &region.to_ascii_uppercase())
        .replace("{project_id}", project_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_consistent() {
        for p in ALL {
            if p.name != "openstack" {
                assert_eq!(p.zone, Zone::DomesticCsap, "{}", p.name);
            }
        }
        assert_eq!(OPENSTACK.zone, Zone::OnPrem);
        assert_eq!(find("KT").unwrap().name, "ktcloud");
        assert!(NHN.knows_region("kr1", false));
        assert!(!NHN.knows_region("KR3", true));
        assert_eq!(
            fill(NHN.swift.gov.unwrap(), "KR2", "abc"),
            "https://kr2-api-object-storage.gov-nhncloudservice.com/v1/AUTH_abc"
        );
        assert_eq!(
            fill(KAKAO.swift.public.unwrap(), "kr-central-2", "p1"),
            "https://objectstorage.kr-central-2.kakaocloud.com/v1/p1"
        );
    }
}

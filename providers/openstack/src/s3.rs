//! S3-compatible storage of the OpenStack-family clouds, through the S3 code of `gureum-aws`:
//! `nhn-s3://BUCKET?region=KR1[&gov=true]` and `kakao-s3://BUCKET?region=kr-central-2[&gov=true]`.
//!
//! Both clouds run S3 on top of Swift (NHN: Swift s3api; Kakao: its own S3 front). Quirks
//! applied: path-style addressing, request checksums only "when required" (no aws-chunked
//! bodies; Kakao documents that newer AWS SDK defaults may fail), no conditional PUT, no
//! copy-if-not-exists, no tagging, no LocationConstraint; NHN region names stay upper case
//! (`KR1`). Credentials are EC2-style keys (NHN: issued by Keystone `OS-EC2`; Kakao: "S3
//! access key"), taken from the AWS chain (`AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`) or
//! from the variables named by `access_key_env=`/`secret_key_env=`. `endpoint=` overrides
//! the preset endpoint (used by the tests to point at the Swift all-in-one's s3api).

use crate::presets::{self, Preset};
use gureum_aws::{open_s3, S3Config, S3Quirks};
use gureum_core::url::{ResourceUrl, StorageOpener};
use gureum_core::{async_trait, Bucket, Error, Result};

/// Build the S3 configuration of a preset from a URL.
///
/// ```
/// use gureum_core::ResourceUrl;
/// use gureum_openstack::{presets, s3::s3_config};
/// let c = s3_config(&presets::NHN, &ResourceUrl::parse("nhn-s3://open-data?region=kr1").unwrap()).unwrap();
/// assert_eq!(c.region.as_deref(), Some("KR1")); // NHN signs with upper-case regions
/// assert_eq!(c.endpoint.as_deref(), Some("https://kr1-api-object-storage.nhncloudservice.com"));
/// assert_eq!(c.path_style, Some(true));
/// let e = s3_config(&presets::NHN, &ResourceUrl::parse("nhn-s3://b?region=mars1").unwrap()).unwrap_err();
/// assert_eq!(e.kind(), gureum_core::ErrorKind::InvalidArgument);
/// ```
pub fn s3_config(preset: &'static Preset, url: &ResourceUrl) -> Result<S3Config> {
    let mut c = S3Config::from_url(url)?;
    let gov = url.bool_param("gov")?.unwrap_or(false);
    let region = c
        .region
        .clone()
        .or_else(|| preset.default_region(gov).map(str::to_string))
        .ok_or_else(|| Error::invalid(format!("{}: give region=", preset.display)))?;
    if c.endpoint.is_none() && !preset.knows_region(&region, gov) {
        return Err(Error::invalid(format!(
            "region {region:?} is not a known {}{} region (known: {})",
            preset.display,
            if gov { " gov" } else { "" },
            if gov {
                preset.gov_regions.join(", ")
            } else {
                preset.regions.join(", ")
            }
        )));
    }
    if c.endpoint.is_none() {
        let tpl = if gov { preset.s3.gov } else { preset.s3.public }.ok_or_else(|| {
            Error::unsupported(format!("{}: no S3 endpoint known", preset.display))
        })?;
        c.endpoint = Some(presets::fill(tpl, &region, ""));
    }
    // NHN signs with upper-case region names (KR1); other names (e.g. an emulator's
    // us-east-1) stay as given.
    let known = preset
        .regions
        .iter()
        .chain(preset.gov_regions)
        .any(|r| r.eq_ignore_ascii_case(&region));
    c.region = Some(if preset.s3_uppercase_region && known {
        region.to_ascii_uppercase()
    } else {
        region
    });
    let explicit_checksum = url.param("checksum").is_some();
    let mut q = S3Quirks::swift_s3api().uppercase_region(preset.s3_uppercase_region);
    if explicit_checksum {
        q.checksum_when_required = c.quirks.checksum_when_required;
    } else {
        q.checksum_when_required = true;
    }
    if url.param("list_version").is_some() {
        q.list_objects_v1 = c.quirks.list_objects_v1;
    }
    c.quirks = q;
    c.path_style = Some(c.path_style.unwrap_or(true));
    c.provider = preset.name.to_string();
    c.scheme = url.scheme().to_string();
    c.zone = preset.zone;
    Ok(c)
}

/// Opener for `nhn-s3://` or `kakao-s3://`.
///
/// # Examples
///
/// Opening makes no request (the keys here are placeholders):
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::url::StorageOpener;
/// use gureum_core::ResourceUrl;
/// use gureum_openstack::s3::PresetS3StorageOpener;
/// std::env::set_var("CIVIC_AK", "placeholder-access-key");
/// std::env::set_var("CIVIC_SK", "placeholder-secret-key");
/// let url = ResourceUrl::parse("kakao-s3://open-data?region=kr-central-2&access_key_env=CIVIC_AK&secret_key_env=CIVIC_SK")?;
/// let bucket = PresetS3StorageOpener::kakao().open_bucket(&url).await?;
/// assert_eq!((bucket.name(), bucket.info().provider.as_str()), ("open-data", "kakao"));
/// assert!(!bucket.capabilities().conditional_create); // no conditional PUT behind this S3 front
/// let url = ResourceUrl::parse("nhn-s3://open-data?region=KR1&access_key_env=CIVIC_AK&secret_key_env=CIVIC_SK")?;
/// assert_eq!(PresetS3StorageOpener::nhn().open_bucket(&url).await?.info().scheme, "nhn-s3");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct PresetS3StorageOpener {
    preset: &'static Preset,
}

impl PresetS3StorageOpener {
    /// NHN Cloud Object Storage through its S3 API.
    ///
    /// Example: see [`PresetS3StorageOpener`].
    pub fn nhn() -> Self {
        PresetS3StorageOpener {
            preset: &presets::NHN,
        }
    }
    /// Kakao Cloud Object Storage through its S3 API.
    ///
    /// Example: see [`PresetS3StorageOpener`].
    pub fn kakao() -> Self {
        PresetS3StorageOpener {
            preset: &presets::KAKAO,
        }
    }
}

#[async_trait]
impl StorageOpener for PresetS3StorageOpener {
    async fn open_bucket(&self, url: &ResourceUrl) -> Result<Bucket> {
        open_s3(s3_config(self.preset, url)?).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nhn_and_kakao_configs() {
        let u = ResourceUrl::parse("nhn-s3://b?region=kr2").unwrap();
        let c = s3_config(&presets::NHN, &u).unwrap();
        assert_eq!(
            c.endpoint.as_deref(),
            Some("https://kr2-api-object-storage.nhncloudservice.com")
        );
        assert_eq!(c.region.as_deref(), Some("KR2"));
        assert!(c.quirks.uppercase_region && c.quirks.checksum_when_required);
        assert_eq!(c.zone, gureum_core::Zone::DomesticCsap);
        let u = ResourceUrl::parse("nhn-s3://b?region=KR1&gov=true").unwrap();
        assert_eq!(
            s3_config(&presets::NHN, &u).unwrap().endpoint.as_deref(),
            Some("https://kr1-api-object-storage.gov-nhncloudservice.com")
        );
        assert!(s3_config(
            &presets::NHN,
            &ResourceUrl::parse("nhn-s3://b?region=JP1&gov=true").unwrap()
        )
        .is_err());
        let u = ResourceUrl::parse("kakao-s3://b").unwrap();
        let c = s3_config(&presets::KAKAO, &u).unwrap();
        assert_eq!(
            c.endpoint.as_deref(),
            Some("https://objectstorage.kr-central-2.kakaocloud.com")
        );
        assert_eq!(c.region.as_deref(), Some("kr-central-2"));
        assert!(c.quirks.checksum_when_required);
        let u = ResourceUrl::parse("kakao-s3://b?gov=true").unwrap();
        assert_eq!(
            s3_config(&presets::KAKAO, &u).unwrap().endpoint.as_deref(),
            Some("https://objectstorage.kr-gov-central-1.kakaocloud-kr-gov.com")
        );
    }
}

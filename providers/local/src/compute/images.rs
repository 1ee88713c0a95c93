//! Images and sizes of `local://` compute.
//!
//! An image is a command template: an argv list whose elements may contain the placeholders
//! `{id}`, `{name}`, `{user_data_file}`, `{instance_dir}` and `{state_dir}`. Images come from
//! the built-in table ([`builtin_images`]) and from an images file (`images.toml` in the state
//! directory, or the URL parameter `images=PATH`); an image in the file replaces a built-in
//! image of the same name.
//!
//! ```toml
//! [[image]]
//! name = "ocr-worker"
//! aliases = ["worker"]
//! command = ["/usr/local/bin/ocr-worker", "--id", "{id}", "--config", "{user_data_file}"]
//! ```

use gureum_core::compute::{ImageInfo, SizeInfo};
use gureum_core::{Error, Result};
use std::collections::BTreeMap;
use std::path::Path;

/// One image definition.
///
/// ```
/// use gureum_local::compute::images::{builtin_images, ImageDef};
/// let images: Vec<ImageDef> = builtin_images();
/// let idle = images.iter().find(|i| i.name == "local-idle").unwrap();
/// assert!(idle.aliases.contains(&"ubuntu-22.04".to_string()));
/// assert_eq!(idle.command[0], "sleep");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImageDef {
    /// Image id and name.
    pub name: String,
    /// Portable aliases (`ubuntu-22.04`) that resolve to this image.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// The command (argv) with placeholders.
    pub command: Vec<String>,
    /// Extra environment variables (values may use placeholders too).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

#[derive(Debug, serde::Deserialize)]
struct ImagesFile {
    #[serde(default)]
    image: Vec<ImageDef>,
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// The built-in images:
///
/// * `local-idle` (aliases `ubuntu-22.04`, `ubuntu-24.04`, `debian-12`, `rocky-9`, `idle`):
///   a process that sleeps until stopped, standing in for a server OS image;
/// * `local-echo` (alias `echo`): prints its user data to the console log and exits 0
///   (the instance then shows `Stopped`);
/// * `local-script` (alias `script`): runs its user data as a `/bin/sh` script, like
///   cloud-init's user scripts; the instance is `Stopped` when the script exits 0, `Error`
///   otherwise.
///
/// ```
/// use gureum_local::compute::images::builtin_images;
/// let names: Vec<String> = builtin_images().into_iter().map(|i| i.name).collect();
/// assert_eq!(names, ["local-idle", "local-echo", "local-script"]);
/// ```
pub fn builtin_images() -> Vec<ImageDef> {
    vec![
        ImageDef {
            name: "local-idle".into(),
            aliases: s(&[
                "ubuntu-22.04",
                "ubuntu-24.04",
                "debian-12",
                "rocky-9",
                "idle",
            ]),
            command: s(&["sleep", "2147483647"]),
            env: BTreeMap::new(),
        },
        ImageDef {
            name: "local-echo".into(),
            aliases: s(&["echo"]),
            command: s(&[
                "/bin/sh",
                "-c",
                "cat \"$1\"; echo",
                "local-echo",
                "{user_data_file}",
            ]),
            env: BTreeMap::new(),
        },
        ImageDef {
            name: "local-script".into(),
            aliases: s(&["script"]),
            command: s(&["/bin/sh", "{user_data_file}"]),
            env: BTreeMap::new(),
        },
    ]
}

/// Load the built-in images overlaid with the images file at `path` (if it exists).
///
/// ```
/// # fn main() -> gureum_core::Result<()> {
/// use gureum_local::compute::images::{find_image, load_images};
/// let tmp = tempfile::tempdir()?;
/// let file = tmp.path().join("images.toml");
/// std::fs::write(&file, "[[image]]\nname = \"ocr\"\naliases = [\"worker\"]\ncommand = [\"sleep\", \"60\"]\n")?;
/// let images = load_images(Some(&file), true)?;
/// assert_eq!(find_image(&images, "worker")?.name, "ocr");
/// assert!(find_image(&images, "ubuntu-22.04").is_ok()); // built-ins stay
/// assert!(load_images(Some(&tmp.path().join("none.toml")), true).is_err());
/// # Ok(()) }
/// ```
pub fn load_images(path: Option<&Path>, required: bool) -> Result<Vec<ImageDef>> {
    let mut images = builtin_images();
    let Some(path) = path else {
        return Ok(images);
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => return Ok(images),
        Err(e) => {
            return Err(Error::from(e).context_message(format!("images file {}", path.display())))
        }
    };
    let f: ImagesFile = toml::from_str(&text)
        .map_err(|e| Error::invalid(format!("images file {}: {e}", path.display())))?;
    for img in f.image {
        if img.name.is_empty() || img.command.is_empty() {
            return Err(Error::invalid(format!(
                "images file {}: every image needs a name and a non-empty command",
                path.display()
            )));
        }
        images.retain(|i| i.name != img.name);
        // An alias claimed by the file moves from any earlier image to this one.
        for i in images.iter_mut() {
            i.aliases.retain(|a| !img.aliases.contains(a));
        }
        images.push(img);
    }
    Ok(images)
}

/// Find an image by name or alias.
///
/// ```
/// use gureum_local::compute::images::{builtin_images, find_image};
/// let images = builtin_images();
/// assert_eq!(find_image(&images, "echo").unwrap().name, "local-echo");
/// assert!(find_image(&images, "windows-2022").is_err());
/// ```
pub fn find_image<'a>(images: &'a [ImageDef], wanted: &str) -> Result<&'a ImageDef> {
    images
        .iter()
        .find(|i| i.name == wanted)
        .or_else(|| {
            images
                .iter()
                .find(|i| i.aliases.iter().any(|a| a == wanted))
        })
        .ok_or_else(|| {
            let known: Vec<&str> = images.iter().map(|i| i.name.as_str()).collect();
            Error::invalid(format!(
                "unknown image {wanted:?}; local:// images: {}",
                known.join(", ")
            ))
        })
}

/// Images as the portable [`ImageInfo`] list: one entry per alias (so the core's alias
/// resolution finds each), and one without alias for images that have none.
///
/// ```
/// use gureum_local::compute::images::{builtin_images, image_infos};
/// let infos = image_infos(&builtin_images());
/// // One entry per alias, so `ubuntu-22.04` resolves to the idle image.
/// let u = infos.iter().find(|i| i.alias.as_deref() == Some("ubuntu-22.04")).unwrap();
/// assert_eq!(u.id, "local-idle");
/// ```
pub fn image_infos(images: &[ImageDef]) -> Vec<ImageInfo> {
    let mut v = Vec::new();
    for i in images {
        if i.aliases.is_empty() {
            v.push(ImageInfo {
                id: i.name.clone(),
                name: i.name.clone(),
                alias: None,
            });
        }
        for a in &i.aliases {
            v.push(ImageInfo {
                id: i.name.clone(),
                name: i.name.clone(),
                alias: Some(a.clone()),
            });
        }
    }
    v
}

/// The fixed size table. Sizes are advisory locally: no CPU or memory limit is enforced.
///
/// ```
/// use gureum_local::compute::images::sizes;
/// let s = sizes();
/// assert!(s.iter().any(|x| x.id == "local.small" && x.vcpus == 1));
/// ```
pub fn sizes() -> Vec<SizeInfo> {
    [
        ("local.small", 1, 1),
        ("local.medium", 2, 4),
        ("local.large", 4, 16),
        ("local.xlarge", 8, 32),
    ]
    .into_iter()
    .map(|(id, vcpus, gib)| SizeInfo {
        id: id.to_string(),
        vcpus,
        memory_mib: gib * 1024,
    })
    .collect()
}

/// Replace the placeholders of one template string.
///
/// ```
/// use gureum_local::compute::images::expand;
/// use std::collections::BTreeMap;
/// let vars = BTreeMap::from([("id", "i-1".to_string()), ("dir", "/srv/i-1".to_string())]);
/// assert_eq!(expand("{dir}/run.sh --id {id}", &vars), "/srv/i-1/run.sh --id i-1");
/// ```
pub fn expand(template: &str, vars: &BTreeMap<&str, String>) -> String {
    let mut out = template.to_string();
    for (k, v) in vars {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_resolve_conformance_alias() {
        let imgs = builtin_images();
        assert_eq!(
            find_image(&imgs, "ubuntu-22.04").unwrap().name,
            "local-idle"
        );
        assert_eq!(find_image(&imgs, "local-echo").unwrap().name, "local-echo");
        assert!(find_image(&imgs, "windows-2022").is_err());
    }

    #[test]
    fn expand_placeholders() {
        let mut v = BTreeMap::new();
        v.insert("id", "li-1".to_string());
        assert_eq!(expand("--id={id} {x}", &v), "--id=li-1 {x}");
    }
}

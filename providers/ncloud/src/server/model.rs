//! JSON shapes of the Server (VPC) API (`responseFormatType=json`), from the API reference's
//! data types (ServerInstance, ServerSpec, ServerImage, InitScript, CommonCode). Unknown
//! fields are ignored and every field is optional, so new fields never break decoding.

use serde::{Deserialize, Serialize};

/// NCP's `CommonCode`: `{"code": "RUN", "codeName": "Server run state"}`.
///
/// Example: see [`super::NcloudServer`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommonCode {
    /// Machine code.
    #[serde(default)]
    pub code: String,
    /// Human name.
    #[serde(default)]
    pub code_name: String,
}

impl CommonCode {
    /// A code with its name.
    ///
    /// Example: see [`super::NcloudServer`].
    pub fn new(code: &str, name: &str) -> Self {
        CommonCode {
            code: code.into(),
            code_name: name.into(),
        }
    }
}

/// `ServerInstance` (VPC).
///
/// Example: see [`super::NcloudServer`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ServerInstance {
    /// Server instance number (the id).
    pub server_instance_no: String,
    /// Server name.
    pub server_name: String,
    /// Description (gureum stores its metadata here).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_description: Option<String>,
    /// vCPUs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_count: Option<u32>,
    /// Memory in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_size: Option<u64>,
    /// Platform type (LNX64, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform_type: Option<CommonCode>,
    /// Login key name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login_key_name: Option<String>,
    /// Public IP, when one is attached.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_ip: Option<String>,
    /// Status: INIT, CREAT, RUN, NSTOP, TERMT, FSTOP, SD_FL, RS_FL, ST_FL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_instance_status: Option<CommonCode>,
    /// Operation in progress: NULL, START, SHTDN, RESTA, TERMT, CREAT, SETUP, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_instance_operation: Option<CommonCode>,
    /// Status name (init, creating, booting, running, shutting down, terminating, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_instance_status_name: Option<String>,
    /// Creation time, e.g. `2018-09-13T17:33:26+0900`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub create_date: Option<String>,
    /// Legacy (XEN/RHV) image product code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_image_product_code: Option<String>,
    /// Legacy (XEN/RHV) server product code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_product_code: Option<String>,
    /// Zone code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone_code: Option<String>,
    /// Region code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region_code: Option<String>,
    /// VPC number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc_no: Option<String>,
    /// Subnet number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnet_no: Option<String>,
    /// Init script number (user data).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init_script_no: Option<String>,
    /// Hypervisor type (XEN, RHV, KVM).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hypervisor_type: Option<CommonCode>,
    /// Image number (KVM / new images).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_image_no: Option<String>,
    /// Spec code (KVM / new specs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_spec_code: Option<String>,
}

impl ServerInstance {
    /// Status code, empty if absent.
    ///
    /// Example: see [`super::NcloudServer`].
    pub fn status(&self) -> &str {
        self.server_instance_status
            .as_ref()
            .map(|c| c.code.as_str())
            .unwrap_or("")
    }
    /// Operation code, `NULL` if absent.
    ///
    /// Example: see [`super::NcloudServer`].
    pub fn operation(&self) -> &str {
        self.server_instance_operation
            .as_ref()
            .map(|c| c.code.as_str())
            .unwrap_or("NULL")
    }
}

/// `ServerSpec` (VPC, KVM generation).
///
/// Example: see [`super::NcloudServer`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ServerSpec {
    /// Spec code, e.g. `s2-g3`.
    pub server_spec_code: String,
    /// Hypervisor type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hypervisor_type: Option<CommonCode>,
    /// CPU architecture (X86_64).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_architecture_type: Option<CommonCode>,
    /// Generation code (G2, G3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generation_code: Option<String>,
    /// vCPUs.
    pub cpu_count: u32,
    /// Memory in bytes.
    pub memory_size: u64,
    /// GPUs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_count: Option<u32>,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_spec_description: Option<String>,
    /// Matching legacy product code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_product_code: Option<String>,
}

/// `ServerImage` (VPC).
///
/// Example: see [`super::NcloudServer`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ServerImage {
    /// Image number.
    pub server_image_no: String,
    /// Image name, e.g. `ubuntu-22.04-base`.
    pub server_image_name: String,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_image_description: Option<String>,
    /// NCP | SELF.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_image_type: Option<CommonCode>,
    /// Hypervisor type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hypervisor_type: Option<CommonCode>,
    /// OS category (LINUX, WINDOWS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_category_type: Option<CommonCode>,
    /// OS type (UBUNTU, ROCKY, CENTOS, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_type: Option<CommonCode>,
    /// Legacy product code of the same image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_image_product_code: Option<String>,
}

/// `InitScript` (VPC).
///
/// Example: see [`super::NcloudServer`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct InitScript {
    /// Script number.
    pub init_script_no: String,
    /// Script name.
    pub init_script_name: String,
    /// Creation time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub create_date: Option<String>,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init_script_description: Option<String>,
    /// Content (only in getInitScriptDetail).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init_script_content: Option<String>,
    /// LNX | WND.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_type: Option<CommonCode>,
}

/// The common part of every `<action>Response` plus the lists this crate reads.
///
/// Example: see [`super::NcloudServer`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ActionResponse {
    /// Request id.
    pub request_id: Option<String>,
    /// "0" on success.
    pub return_code: Option<serde_json::Value>,
    /// "success" on success.
    pub return_message: Option<String>,
    /// Total matching rows (for paging).
    pub total_rows: Option<u64>,
    /// Servers.
    pub server_instance_list: Vec<ServerInstance>,
    /// Specs.
    pub server_spec_list: Vec<ServerSpec>,
    /// Images.
    pub server_image_list: Vec<ServerImage>,
    /// Init scripts.
    pub init_script_list: Vec<InitScript>,
}

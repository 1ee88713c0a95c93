//! The Storage REST XML documents gureum reads, parsed with quick-xml's serde support
//! (entities, CDATA and attributes handled by a real parser, unknown elements ignored).

use gureum_core::{Error, Result};
use serde::de::DeserializeOwned;
use serde::Deserialize;

/// Parse `text` (a byte-order mark is tolerated) as `T`; `what` names the call. An answer
/// that does not parse (garbled, cut off, wrong types, missing fields) is `Unavailable`: the
/// service did not answer properly; retryable, never a success.
pub(crate) fn from_str<T: DeserializeOwned>(what: &str, text: &str) -> Result<T> {
    quick_xml::de::from_str(text.trim_start_matches('\u{feff}'))
        .map_err(|e| unreadable(format!("{what}: unreadable XML response: {e}")))
}

/// The error of an answer that could not be understood (`Unavailable`).
pub(crate) fn unreadable(msg: impl Into<String>) -> Error {
    Error::new(gureum_core::ErrorKind::Unavailable, msg)
}

/// A Storage error body: `<Error><Code>..</Code><Message>..</Message></Error>`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct StorageError {
    #[serde(rename = "Code", default)]
    pub code: Option<String>,
    #[serde(rename = "Message", default)]
    pub message: Option<String>,
}

/// An element with a `<Name>` child.
#[derive(Debug, Deserialize)]
pub(crate) struct Named {
    #[serde(rename = "Name")]
    pub name: String,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Containers {
    #[serde(rename = "Container", default)]
    pub items: Vec<Named>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Queues {
    #[serde(rename = "Queue", default)]
    pub items: Vec<Named>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Blobs {
    #[serde(rename = "Blob", default)]
    pub items: Vec<Named>,
}

/// `<EnumerationResults>` of List Containers, List Queues and List Blobs.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Enumeration {
    #[serde(rename = "Containers", default)]
    pub containers: Containers,
    #[serde(rename = "Queues", default)]
    pub queues: Queues,
    #[serde(rename = "Blobs", default)]
    pub blobs: Blobs,
    #[serde(rename = "NextMarker", default)]
    pub next_marker: Option<String>,
}

impl Enumeration {
    /// The continuation marker, `None` when empty or absent.
    pub fn next_marker(&self) -> Option<String> {
        self.next_marker.clone().filter(|m| !m.is_empty())
    }
}

/// One `<QueueMessage>` of Get/Peek/Put Messages.
#[derive(Debug, Deserialize)]
pub(crate) struct QueueMessage {
    #[serde(rename = "MessageId")]
    pub message_id: String,
    #[serde(rename = "PopReceipt", default)]
    pub pop_receipt: Option<String>,
    #[serde(rename = "DequeueCount", default)]
    pub dequeue_count: Option<String>,
    #[serde(rename = "InsertionTime", default)]
    pub insertion_time: Option<String>,
    #[serde(rename = "MessageText", default)]
    pub message_text: Option<String>,
}

/// `<QueueMessagesList>`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct QueueMessagesList {
    #[serde(rename = "QueueMessage", default)]
    pub messages: Vec<QueueMessage>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enumerations() {
        let t = "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?><EnumerationResults ServiceEndpoint=\"http://x/\"><Prefix/><Containers><Container><Name>a&amp;b</Name><Properties><Etag>1</Etag></Properties></Container><Container><Name><![CDATA[c<d]]></Name></Container></Containers><NextMarker>m2</NextMarker></EnumerationResults>";
        let e: Enumeration = from_str("list", t).unwrap();
        let names: Vec<_> = e.containers.items.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["a&b", "c<d"]);
        assert_eq!(e.next_marker().as_deref(), Some("m2"));
        let e: Enumeration = from_str(
            "list",
            "<EnumerationResults><Queues><Queue><Name>q</Name></Queue></Queues><NextMarker /></EnumerationResults>",
        )
        .unwrap();
        assert_eq!(e.queues.items.len(), 1);
        assert_eq!(e.next_marker(), None);
        let e: Enumeration = from_str(
            "list",
            "<EnumerationResults><Blobs></Blobs><NextMarker/></EnumerationResults>",
        )
        .unwrap();
        assert!(e.blobs.items.is_empty());
        // a <Name> elsewhere (e.g. in metadata) is not a listed item
        let e: Enumeration = from_str(
            "list",
            "<EnumerationResults><Prefix>Name</Prefix><Blobs/></EnumerationResults>",
        )
        .unwrap();
        assert!(e.blobs.items.is_empty());
        assert!(from_str::<Enumeration>("list", "<EnumerationResults><Blobs>").is_err());
    }

    #[test]
    fn messages() {
        let t = "<QueueMessagesList><QueueMessage><MessageId>id1</MessageId><InsertionTime>Fri, 27 Nov 2026 04:00:00 GMT</InsertionTime><PopReceipt>pr&amp;1</PopReceipt><DequeueCount>2</DequeueCount><MessageText>aGk=</MessageText></QueueMessage><QueueMessage><MessageId>id2</MessageId><MessageText></MessageText></QueueMessage></QueueMessagesList>";
        let l: QueueMessagesList = from_str("get", t).unwrap();
        assert_eq!(l.messages.len(), 2);
        assert_eq!(l.messages[0].pop_receipt.as_deref(), Some("pr&1"));
        assert_eq!(l.messages[0].dequeue_count.as_deref(), Some("2"));
        assert_eq!(l.messages[1].message_text.as_deref().unwrap_or(""), "");
        let l: QueueMessagesList = from_str("get", "<QueueMessagesList />").unwrap();
        assert!(l.messages.is_empty());
    }
}

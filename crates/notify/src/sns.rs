//! The SNS sink: one `Publish` per finding version, the JSON body
//! ([`crate::message::json_body`], at most 100 evidence ids: SNS messages
//! stop at 256 KB) with a subject and message attributes (`severity`,
//! `category`, `detection`, `change`) that subscription filter policies
//! can match. A FIFO topic (`….fifo`) gets the finding id as the message
//! group and the delivery id as the deduplication id, so SNS itself drops
//! a resend within its five-minute window.

use aws_sdk_sns::types::MessageAttributeValue;

use crate::notice::Notice;
use crate::DeliveryError;

/// Evidence ids in an SNS message.
const MAX_EVENT_IDS: usize = 100;

#[derive(Debug)]
pub struct SnsSink {
    client: aws_sdk_sns::Client,
    topic_arn: String,
    attempts: u32,
}

impl SnsSink {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: &str, attempts: u32) -> Self {
        Self {
            client,
            topic_arn: topic_arn.to_string(),
            attempts,
        }
    }

    fn fifo(&self) -> bool {
        self.topic_arn.ends_with(".fifo")
    }

    /// The subject and message of a notice.
    pub fn message(notice: &Notice<'_>) -> (String, String) {
        let body = crate::message::json_body(notice, MAX_EVENT_IDS);
        (
            crate::message::sns_subject(notice),
            serde_json::to_string(&body).unwrap_or_default(),
        )
    }

    pub async fn deliver(&self, notice: &Notice<'_>) -> Result<(), DeliveryError> {
        let (subject, message) = Self::message(notice);
        let attribute = |value: &str| {
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(if value.is_empty() { "-" } else { value })
                .build()
                .map_err(|e| DeliveryError::permanent(format!("message attribute: {e}")))
        };
        let finding = notice.finding;
        let attributes = [
            ("severity", attribute(&finding.severity)?),
            ("category", attribute(&finding.category)?),
            ("detection", attribute(&finding.detection)?),
            ("change", attribute(notice.change.as_str())?),
        ];
        poolsight_collect::aws::call_with_retries("Publish", self.attempts, || {
            let mut request = self
                .client
                .publish()
                .topic_arn(&self.topic_arn)
                .subject(&subject)
                .message(&message);
            for (name, value) in &attributes {
                request = request.message_attributes(*name, value.clone());
            }
            if self.fifo() {
                request = request
                    .message_group_id(&finding.finding_id)
                    .message_deduplication_id(notice.delivery_id);
            }
            request.send()
        })
        .await
        .map_err(DeliveryError::from_aws)?;
        Ok(())
    }
}

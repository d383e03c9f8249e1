//! The one Arrow schema every record is normalized to.
//!
//! Columns are declared once, in [`event_columns!`], and that single list
//! generates the [`Event`] row type, the Arrow [`Schema`], the
//! [`EventBatchBuilder`] that turns rows into a [`RecordBatch`], and the
//! column documentation (`docs/schema.md` is checked against it by a test).

use std::borrow::Cow;
use std::sync::{Arc, LazyLock};

use arrow::array::{
    ArrayRef, BooleanBuilder, Int64Builder, ListBuilder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;

/// The time zone every timestamp column carries.
pub const UTC: &str = "UTC";

/// How one kind of column is typed in Arrow, held in a row, and appended.
pub trait ColumnKind {
    /// The value a row holds for this column.
    type Value<'a>: Default + Clone + std::fmt::Debug;
    /// The Arrow builder for this column.
    type Builder;
    /// A short name for the documentation.
    const DOC_TYPE: &'static str;
    fn data_type() -> DataType;
    fn builder(capacity: usize) -> Self::Builder;
    /// A fresh builder sized like `previous`, the array the last one made,
    /// so that batch after batch the buffers are allocated once, not regrown.
    fn builder_like(previous: &ArrayRef, capacity: usize) -> Self::Builder {
        let _ = previous;
        Self::builder(capacity)
    }
    fn append(builder: &mut Self::Builder, value: &Self::Value<'_>);
    fn finish(builder: &mut Self::Builder) -> ArrayRef;
}

/// A UTF-8 string column.
pub struct Str;
/// A UTF-8 string column holding a JSON document (object, array or scalar).
pub struct Json;
/// A boolean column.
pub struct Bool;
/// A 64-bit integer column.
pub struct Int;
/// A UTC timestamp column with microsecond precision.
pub struct Time;
/// A list of strings.
pub struct StrList;

/// `Str` and `Json` are both UTF-8 columns; they differ in documentation
/// and in the bytes per row a fresh builder reserves.
macro_rules! utf8_column_kind {
    ($kind:ident, $doc_type:literal, $bytes_per_row:literal) => {
        impl ColumnKind for $kind {
            type Value<'a> = Option<Cow<'a, str>>;
            type Builder = StringBuilder;
            const DOC_TYPE: &'static str = $doc_type;
            fn data_type() -> DataType {
                DataType::Utf8
            }
            fn builder(capacity: usize) -> StringBuilder {
                StringBuilder::with_capacity(capacity, capacity * $bytes_per_row)
            }
            fn builder_like(previous: &ArrayRef, capacity: usize) -> StringBuilder {
                let bytes = previous
                    .as_any()
                    .downcast_ref::<arrow::array::StringArray>()
                    .map(|array| array.value_data().len())
                    .unwrap_or(0);
                StringBuilder::with_capacity(capacity, bytes + bytes / 8)
            }
            fn append(builder: &mut StringBuilder, value: &Self::Value<'_>) {
                builder.append_option(value.as_deref());
            }
            fn finish(builder: &mut StringBuilder) -> ArrayRef {
                Arc::new(builder.finish())
            }
        }
    };
}

utf8_column_kind!(Str, "string", 16);
utf8_column_kind!(Json, "string (JSON)", 64);

impl ColumnKind for Bool {
    type Value<'a> = Option<bool>;
    type Builder = BooleanBuilder;
    const DOC_TYPE: &'static str = "boolean";
    fn data_type() -> DataType {
        DataType::Boolean
    }
    fn builder(capacity: usize) -> BooleanBuilder {
        BooleanBuilder::with_capacity(capacity)
    }
    fn append(builder: &mut BooleanBuilder, value: &Option<bool>) {
        builder.append_option(*value);
    }
    fn finish(builder: &mut BooleanBuilder) -> ArrayRef {
        Arc::new(builder.finish())
    }
}

impl ColumnKind for Int {
    type Value<'a> = Option<i64>;
    type Builder = Int64Builder;
    const DOC_TYPE: &'static str = "int64";
    fn data_type() -> DataType {
        DataType::Int64
    }
    fn builder(capacity: usize) -> Int64Builder {
        Int64Builder::with_capacity(capacity)
    }
    fn append(builder: &mut Int64Builder, value: &Option<i64>) {
        builder.append_option(*value);
    }
    fn finish(builder: &mut Int64Builder) -> ArrayRef {
        Arc::new(builder.finish())
    }
}

impl ColumnKind for Time {
    /// Microseconds since the Unix epoch, UTC.
    type Value<'a> = Option<i64>;
    type Builder = TimestampMicrosecondBuilder;
    const DOC_TYPE: &'static str = "timestamp(µs, UTC)";
    fn data_type() -> DataType {
        DataType::Timestamp(TimeUnit::Microsecond, Some(UTC.into()))
    }
    fn builder(capacity: usize) -> TimestampMicrosecondBuilder {
        TimestampMicrosecondBuilder::with_capacity(capacity).with_timezone(UTC)
    }
    fn append(builder: &mut TimestampMicrosecondBuilder, value: &Option<i64>) {
        builder.append_option(*value);
    }
    fn finish(builder: &mut TimestampMicrosecondBuilder) -> ArrayRef {
        Arc::new(builder.finish())
    }
}

impl ColumnKind for StrList {
    type Value<'a> = Vec<Cow<'a, str>>;
    type Builder = ListBuilder<StringBuilder>;
    const DOC_TYPE: &'static str = "list<string>";
    fn data_type() -> DataType {
        DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
    }
    fn builder(capacity: usize) -> ListBuilder<StringBuilder> {
        ListBuilder::with_capacity(StringBuilder::new(), capacity)
    }
    fn append(builder: &mut ListBuilder<StringBuilder>, value: &Vec<Cow<'_, str>>) {
        for item in value {
            builder.values().append_value(item);
        }
        builder.append(true);
    }
    fn finish(builder: &mut ListBuilder<StringBuilder>) -> ArrayRef {
        Arc::new(builder.finish())
    }
}

/// Documentation of one column, as generated from the column list.
#[derive(Debug, Clone, Copy)]
pub struct ColumnDoc {
    pub name: &'static str,
    pub doc_type: &'static str,
    pub description: &'static str,
    /// The OCSF 1.x API Activity (class 6003) attribute, where one exists.
    pub ocsf: &'static str,
}

macro_rules! event_columns {
    ($( $name:ident : $kind:ident, $ocsf:literal, $doc:literal; )*) => {
        /// One normalized record: one row of the `events` table.
        ///
        /// String fields borrow from the input buffer where they can.
        #[derive(Debug, Default, Clone)]
        pub struct Event<'a> {
            $( #[doc = $doc] pub $name: <$kind as ColumnKind>::Value<'a>, )*
        }

        impl Event<'_> {
            /// Turns every borrowed string into an owned one.
            pub fn into_owned(self) -> Event<'static> {
                Event { $( $name: OwnedValue::to_owned_value(self.$name), )* }
            }
        }

        /// Accumulates [`Event`] rows into Arrow arrays.
        pub struct EventBatchBuilder {
            rows: usize,
            capacity: usize,
            $( $name: <$kind as ColumnKind>::Builder, )*
        }

        impl EventBatchBuilder {
            pub fn with_capacity(capacity: usize) -> Self {
                Self { rows: 0, capacity, $( $name: <$kind as ColumnKind>::builder(capacity), )* }
            }

            /// Appends one row.
            pub fn push(&mut self, event: &Event<'_>) {
                self.rows += 1;
                $( <$kind as ColumnKind>::append(&mut self.$name, &event.$name); )*
            }

            /// Rows appended since the last [`finish`](Self::finish).
            pub fn len(&self) -> usize {
                self.rows
            }

            pub fn is_empty(&self) -> bool {
                self.rows == 0
            }

            /// Builds a batch of the rows so far and empties the builder.
            pub fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
                self.rows = 0;
                let columns: Vec<ArrayRef> = vec![ $( {
                    let array = <$kind as ColumnKind>::finish(&mut self.$name);
                    self.$name = <$kind as ColumnKind>::builder_like(&array, self.capacity);
                    array
                }, )* ];
                RecordBatch::try_new(event_schema(), columns)
            }
        }

        fn build_schema() -> Schema {
            Schema::new(vec![ $( Field::new(stringify!($name), <$kind as ColumnKind>::data_type(), true), )* ])
        }

        /// Every column of the `events` table, in order, with its documentation.
        pub const COLUMN_DOCS: &[ColumnDoc] = &[
            $( ColumnDoc { name: stringify!($name), doc_type: <$kind as ColumnKind>::DOC_TYPE, description: $doc, ocsf: $ocsf }, )*
        ];
    };
}

/// Moves a row value out of its borrow.
trait OwnedValue {
    type Owned;
    fn to_owned_value(self) -> Self::Owned;
}

impl OwnedValue for Option<Cow<'_, str>> {
    type Owned = Option<Cow<'static, str>>;
    fn to_owned_value(self) -> Self::Owned {
        self.map(|value| Cow::Owned(value.into_owned()))
    }
}

impl OwnedValue for Vec<Cow<'_, str>> {
    type Owned = Vec<Cow<'static, str>>;
    fn to_owned_value(self) -> Self::Owned {
        self.into_iter()
            .map(|value| Cow::Owned(value.into_owned()))
            .collect()
    }
}

impl OwnedValue for Option<bool> {
    type Owned = Option<bool>;
    fn to_owned_value(self) -> Self::Owned {
        self
    }
}

impl OwnedValue for Option<i64> {
    type Owned = Option<i64>;
    fn to_owned_value(self) -> Self::Owned {
        self
    }
}

event_columns! {
    // --- identity of the record -------------------------------------------------
    event_id: Str, "metadata.uid",
        "CloudTrail `eventID`. Null only when the record had none (then `event_key` is a content hash).";
    event_key: Str, "",
        "Deduplication key: `eventID` when present, otherwise `h:` and a 128-bit hash of the record's canonical JSON. Unique in the lake.";
    event_time: Time, "time",
        "`eventTime`, UTC. The `event_date` partition (`YYYY-MM-DD`) is derived from it.";
    event_version: Str, "metadata.product.version",
        "`eventVersion` (1.0–1.11 occur).";
    event_source: Str, "api.service.name",
        "`eventSource`, e.g. `s3.amazonaws.com`; `apigateway` for API Gateway access logs.";
    event_name: Str, "api.operation",
        "`eventName`, the API operation.";
    event_type: Str, "",
        "`eventType`: `AwsApiCall`, `AwsServiceEvent`, `AwsConsoleSignIn`, …";
    event_category: Str, "category_name (approx.)",
        "`eventCategory`: `Management`, `Data`, `Insight`, `NetworkActivity`. Null on records older than eventVersion 1.07.";
    management_event: Bool, "",
        "`managementEvent`; numbers and strings (`\"true\"`) are accepted.";
    read_only: Bool, "",
        "`readOnly`.";
    aws_region: Str, "cloud.region",
        "`awsRegion`.";
    recipient_account_id: Str, "cloud.account.uid",
        "`recipientAccountId`: the account whose trail logged the record.";
    request_id: Str, "api.request.uid",
        "`requestID`.";
    shared_event_id: Str, "",
        "`sharedEventID`: links the copies of a cross-account event.";
    // --- network ------------------------------------------------------------------
    source_ip: Str, "src_endpoint.ip",
        "`sourceIPAddress` when it is an IPv4/IPv6 address; null for service names, `AWS Internal` and empty values (see `source_address`).";
    source_address: Str, "src_endpoint.domain (when not an IP)",
        "`sourceIPAddress` exactly as logged: an IP, a service hostname (`s3.amazonaws.com`), `AWS Internal` or empty.";
    user_agent: Str, "http_request.user_agent",
        "`userAgent`.";
    vpc_endpoint_id: Str, "src_endpoint.svc_name (approx.)",
        "`vpcEndpointId`.";
    // --- outcome ------------------------------------------------------------------
    error_code: Str, "api.response.error",
        "`errorCode`; null on success (CloudTrail's `\"\"` is normalized to null).";
    error_message: Str, "api.response.error_message",
        "`errorMessage`; null when empty.";
    // --- principal ----------------------------------------------------------------
    principal_type: Str, "actor.user.type",
        "`userIdentity.type`: `AssumedRole`, `WebIdentityUser`, `Unknown`, `IAMUser`, `AWSService`, … Null when the record has none. `Unknown` does **not** mean guest.";
    principal_id: Str, "actor.user.uid",
        "`userIdentity.principalId`.";
    principal_arn: Str, "actor.user.uid_alt (approx.)",
        "`userIdentity.arn`.";
    principal_account_id: Str, "actor.user.account.uid",
        "`userIdentity.accountId`.";
    principal_name: Str, "actor.user.name",
        "`userIdentity.userName`, or the session issuer's name.";
    access_key_id: Str, "actor.user.credential_uid",
        "`userIdentity.accessKeyId`: the key that signed the call (`ASIA…` for pool credentials). Values that are not access keys (redactions, placeholders) are null.";
    invoked_by: Str, "actor.invoked_by",
        "`userIdentity.invokedBy`, when an AWS service made the call.";
    identity_provider: Str, "actor.idp.name",
        "`userIdentity.identityProvider`, or `webIdFederationData.federatedProvider`.";
    role_arn: Str, "actor.session.issuer",
        "IAM role behind the call: the session issuer of an assumed-role principal, `roleArn` of an AssumeRole* call, `customRoleArn` of GetCredentialsForIdentity.";
    role_session_name: Str, "",
        "Session name of an assumed-role ARN (`CognitoIdentityCredentials` for every pool identity: never key on it).";
    session_created_at: Time, "actor.session.created_time",
        "`sessionContext.attributes.creationDate`.";
    mfa_authenticated: Bool, "actor.session.is_mfa",
        "`sessionContext.attributes.mfaAuthenticated`.";
    // --- Cognito identity attribution -----------------------------------------------
    identity_id: Str, "",
        "Cognito identity id (`<region>:<uuid>`) the record is attributed to. See `attribution_source`.";
    identity_pool_id: Str, "",
        "Identity pool id (`<region>:<uuid>`) of the identity, or of the pool a pool-administration call names.";
    auth_type: Str, "",
        "`authenticated` or `unauthenticated` (guest), when the record says so: `amr` of pool credentials, or whether a Cognito Identity call carried `logins`. Never inferred from `userIdentity.type`.";
    login_provider: Str, "",
        "First login provider (`graph.facebook.com`, `accounts.google.com`, `cognito-idp.<region>.amazonaws.com/<userPoolId>`, a SAML/OIDC provider ARN, a developer provider name).";
    login_providers: StrList, "",
        "Every login provider named by `amr` or by the `logins` map (values are never stored).";
    attribution_source: Str, "",
        "Where the attribution came from: `web_identity_federation` (`sessionContext.webIdFederationData`), `sts_web_identity` (AssumeRoleWithWebIdentity principal/response), `cognito_identity_call` (Cognito Identity request/response/resource ARN), `apigateway_access_log`. Null when not attributed here; the `identity_activity` view attributes calls that carry only an access key at query time.";
    issued_access_key_id: Str, "",
        "Access key issued by GetCredentialsForIdentity or AssumeRoleWithWebIdentity (null when redacted).";
    credentials_expiration: Time, "",
        "Expiry of the issued credentials, parsed from CloudTrail's non-ISO `\"Jan 19, 2023 5:55:08 PM\"` form (UTC).";
    web_identity_audience: Str, "",
        "`responseElements.audience` of AssumeRoleWithWebIdentity: the pool id for Cognito, the client id for other OIDC providers.";
    // --- resources ------------------------------------------------------------------
    resource_arns: StrList, "resources[].uid",
        "`resources[].ARN` (or `ARNPrefix` for list calls).";
    resource_types: StrList, "resources[].type",
        "`resources[].type`.";
    s3_bucket: Str, "",
        "`requestParameters.bucketName`.";
    s3_key: Str, "",
        "`requestParameters.key` (or `Key`) of an object call.";
    s3_prefix: Str, "",
        "`requestParameters.prefix` of a list call.";
    dynamodb_table: Str, "",
        "`tableName`/`TableName`, or the first table of a batch/transaction/PartiQL statement.";
    dynamodb_item_key: Json, "",
        "The item key (`key`/`Key`) as JSON, types unwrapped.";
    dynamodb_key_values: StrList, "",
        "Every key value the call names: item keys, key-condition values, batch/transaction keys, literals of PartiQL statements.";
    dynamodb_statement: Str, "",
        "PartiQL `statement` (first one of a batch).";
    lambda_function: Str, "",
        "`functionName` of a Lambda call.";
    target_identity_ids: StrList, "",
        "Identity ids (`<region>:<uuid>`, URL-decoded) found in the S3 key/prefix or DynamoDB key values: whose data the call touches.";
    http_method: Str, "http_request.http_method",
        "HTTP method (API Gateway access logs).";
    http_path: Str, "http_request.url.path",
        "Request path (API Gateway access logs).";
    http_status: Int, "api.response.code",
        "HTTP status (API Gateway access logs).";
    // --- everything else, as JSON ---------------------------------------------------------
    user_identity: Json, "unmapped",
        "`userIdentity` as JSON.";
    request_parameters: Json, "api.request.data",
        "`requestParameters` as JSON, with session tokens and secret keys redacted.";
    response_elements: Json, "api.response.data",
        "`responseElements` as JSON, with session tokens and secret keys redacted.";
    additional_event_data: Json, "unmapped",
        "`additionalEventData` as JSON.";
    resources: Json, "resources",
        "`resources` as JSON.";
    tls_details: Json, "tls",
        "`tlsDetails` as JSON.";
    extra: Json, "unmapped",
        "Every other top-level field of the record, as a JSON object, so that nothing is lost.";
    // --- provenance -------------------------------------------------------------------------
    source_kind: Str, "metadata.log_provider",
        "How the record reached the lake: `file`, `s3`, `cloudwatch_logs`, `cloudtrail_lookup`.";
    source_format: Str, "metadata.log_format",
        "Shape it came in: `records_file`, `json_lines`, `eventbridge`, `filter_log_events`, `lookup_events` (LookupEvents output, from a file or the collector), `cloudwatch_logs` (a log event read by the collector), `single_record`, `record_array`, `apigateway_access_log`.";
    source_uri: Str, "",
        "File path or URI the record was first read from.";
    source_position: Str, "",
        "Where in that source: `line N`, `Records[i]`, `events[i]`, `Events[i]`.";
    ingested_at: Time, "metadata.logged_time",
        "When the row arrived: the moment the ingest/collect run that wrote it opened the lake. One value per run, later than every earlier run's (`_state/arrival_clock`); incremental detection judges the rows that arrived since its last run.";
    record_bytes: Int, "",
        "Size of the record's JSON text in bytes.";
}

static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| Arc::new(build_schema()));

/// The Arrow schema of the `events` table's Parquet files (without the
/// `event_date` partition column, which lives in the path).
pub fn event_schema() -> SchemaRef {
    SCHEMA.clone()
}

/// The Hive partition column of the `events` table.
pub const PARTITION_COLUMN: &str = "event_date";

/// Renders the column list as the Markdown table of `docs/schema.md`.
pub fn schema_markdown_table() -> String {
    let mut out = String::from("| column | type | OCSF 6003 | description |\n|---|---|---|---|\n");
    out.push_str(&format!(
        "| `{PARTITION_COLUMN}` | string (Hive partition) | — | `YYYY-MM-DD` of `event_time`, from the folder name `event_date=…`. |\n"
    ));
    for column in COLUMN_DOCS {
        let ocsf = if column.ocsf.is_empty() {
            "—".to_string()
        } else {
            format!("`{}`", column.ocsf)
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            column.name, column.doc_type, ocsf, column.description
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_has_the_fixed_column_names() {
        let schema = event_schema();
        for name in [
            "event_id",
            "event_time",
            "event_source",
            "event_name",
            "error_code",
            "source_ip",
            "identity_id",
            "identity_pool_id",
            "auth_type",
            "access_key_id",
        ] {
            assert!(schema.field_with_name(name).is_ok(), "missing {name}");
        }
        assert_eq!(schema.fields().len(), COLUMN_DOCS.len());
    }

    #[test]
    fn builder_round_trips_a_row() {
        let mut builder = EventBatchBuilder::with_capacity(2);
        let event = Event {
            event_id: Some("abc".into()),
            login_providers: vec!["graph.facebook.com".into()],
            event_time: Some(1_700_000_000_000_000),
            ..Default::default()
        };
        builder.push(&event);
        builder.push(&Event::default());
        let batch = builder.finish().expect("batch");
        assert_eq!(batch.num_rows(), 2);
        assert_eq!(builder.len(), 0);
        let ids = batch
            .column_by_name("event_id")
            .and_then(|c| {
                c.as_any()
                    .downcast_ref::<arrow::array::StringArray>()
                    .cloned()
            })
            .expect("string column");
        assert_eq!(ids.value(0), "abc");
        assert!(arrow::array::Array::is_null(&ids, 1));
    }
}

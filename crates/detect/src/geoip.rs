//! GeoIP/ASN enrichment from GeoLite2-format databases (`maxminddb`), as
//! SQL functions: `ip_asn(ip) -> BIGINT`, `ip_as_org(ip) -> VARCHAR`,
//! `ip_country(ip) -> VARCHAR` (ISO code). Without a database the functions
//! return NULL, and the one-row table `geoip_status(asn_available,
//! country_available)` says so, so detections can fall back to a coarse rule
//! and tell the reader.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanArray, Int64Builder, StringArray, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use datafusion::datasource::MemTable;
use datafusion::logical_expr::{create_udf, ColumnarValue, Volatility};
use datafusion::prelude::SessionContext;
use maxminddb::{geoip2, Reader};

use crate::DetectError;

/// The databases of a run (either may be missing).
#[derive(Default)]
pub struct GeoIp {
    asn: Option<Reader<Vec<u8>>>,
    country: Option<Reader<Vec<u8>>>,
}

impl std::fmt::Debug for GeoIp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeoIp")
            .field("asn", &self.asn.is_some())
            .field("country", &self.country.is_some())
            .finish()
    }
}

fn open(path: &Path) -> Result<Reader<Vec<u8>>, DetectError> {
    Reader::open_readfile(path).map_err(|e| DetectError::Path {
        path: path.to_path_buf(),
        reason: format!("not a readable GeoLite2 (MaxMind DB) file: {e}"),
    })
}

fn from_bytes(bytes: &[u8], what: &str) -> Result<Reader<Vec<u8>>, DetectError> {
    Reader::from_source(bytes.to_vec()).map_err(|e| DetectError::Path {
        path: what.into(),
        reason: e.to_string(),
    })
}

/// MaxMind's test databases, built in for `poolsight demo` and tests.
pub const TEST_ASN_DB: &[u8] = include_bytes!("../geoip/GeoLite2-ASN-Test.mmdb");
pub const TEST_COUNTRY_DB: &[u8] = include_bytes!("../geoip/GeoLite2-City-Test.mmdb");

impl GeoIp {
    /// Opens the configured databases (`[geoip] asn_db`, `country_db`).
    pub fn open(asn_db: Option<&Path>, country_db: Option<&Path>) -> Result<Self, DetectError> {
        Ok(Self {
            asn: asn_db.map(open).transpose()?,
            country: country_db.map(open).transpose()?,
        })
    }

    /// The databases of a config's `[geoip]` (none configured: an empty
    /// set, and the detections use their coarse rules).
    pub fn from_config(config: &poolsight_config::Config) -> Result<Self, DetectError> {
        let geoip = Self::open(
            config.geoip.asn_db.as_deref(),
            config.geoip.country_db.as_deref(),
        )?;
        if geoip.is_empty() {
            tracing::debug!("no GeoIP databases configured; credential_reuse compares networks");
        }
        Ok(geoip)
    }

    /// MaxMind's test databases (the networks the sample trail uses).
    pub fn test_databases() -> Result<Self, DetectError> {
        Ok(Self {
            asn: Some(from_bytes(TEST_ASN_DB, "GeoLite2-ASN-Test.mmdb")?),
            country: Some(from_bytes(TEST_COUNTRY_DB, "GeoLite2-City-Test.mmdb")?),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.asn.is_none() && self.country.is_none()
    }

    /// `(number, organization)` of the address's autonomous system.
    pub fn asn(&self, ip: IpAddr) -> Option<(u32, Option<String>)> {
        let record: geoip2::Asn = self.asn.as_ref()?.lookup(ip).ok()?.decode().ok()??;
        Some((
            record.autonomous_system_number?,
            record.autonomous_system_organization.map(str::to_string),
        ))
    }

    /// ISO code of the address's country.
    pub fn country(&self, ip: IpAddr) -> Option<String> {
        let record: geoip2::Country = self.country.as_ref()?.lookup(ip).ok()?.decode().ok()??;
        record
            .country
            .iso_code
            .or(record.registered_country.iso_code)
            .map(str::to_string)
    }
}

fn strings(args: &[ColumnarValue]) -> datafusion::error::Result<StringArray> {
    let arrays = ColumnarValue::values_to_arrays(args)?;
    let array = arrow::compute::cast(&arrays[0], &DataType::Utf8)?;
    Ok(array
        .as_any()
        .downcast_ref::<StringArray>()
        .cloned()
        .unwrap_or_else(|| StringArray::from(Vec::<Option<String>>::new())))
}

fn parse(array: &StringArray, index: usize) -> Option<IpAddr> {
    if array.is_null(index) {
        return None;
    }
    array.value(index).trim().parse().ok()
}

/// Registers the functions and `geoip_status` on `ctx`.
pub fn register(ctx: &SessionContext, geoip: Arc<GeoIp>) -> Result<(), DetectError> {
    let asn = Arc::clone(&geoip);
    ctx.register_udf(create_udf(
        "ip_asn",
        vec![DataType::Utf8],
        DataType::Int64,
        Volatility::Immutable,
        Arc::new(move |args: &[ColumnarValue]| {
            let ips = strings(args)?;
            let mut out = Int64Builder::with_capacity(ips.len());
            for i in 0..ips.len() {
                out.append_option(
                    parse(&ips, i)
                        .and_then(|ip| asn.asn(ip))
                        .map(|(n, _)| i64::from(n)),
                );
            }
            Ok(ColumnarValue::Array(Arc::new(out.finish()) as ArrayRef))
        }),
    ));
    let org = Arc::clone(&geoip);
    ctx.register_udf(create_udf(
        "ip_as_org",
        vec![DataType::Utf8],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(move |args: &[ColumnarValue]| {
            let ips = strings(args)?;
            let mut out = StringBuilder::new();
            for i in 0..ips.len() {
                out.append_option(
                    parse(&ips, i)
                        .and_then(|ip| org.asn(ip))
                        .and_then(|(_, o)| o),
                );
            }
            Ok(ColumnarValue::Array(Arc::new(out.finish()) as ArrayRef))
        }),
    ));
    let country = Arc::clone(&geoip);
    ctx.register_udf(create_udf(
        "ip_country",
        vec![DataType::Utf8],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(move |args: &[ColumnarValue]| {
            let ips = strings(args)?;
            let mut out = StringBuilder::new();
            for i in 0..ips.len() {
                out.append_option(parse(&ips, i).and_then(|ip| country.country(ip)));
            }
            Ok(ColumnarValue::Array(Arc::new(out.finish()) as ArrayRef))
        }),
    ));
    let schema = Arc::new(Schema::new(vec![
        Field::new("asn_available", DataType::Boolean, false),
        Field::new("country_available", DataType::Boolean, false),
    ]));
    let status = RecordBatch::try_new(
        Arc::clone(&schema),
        vec![
            Arc::new(BooleanArray::from(vec![geoip.asn.is_some()])),
            Arc::new(BooleanArray::from(vec![geoip.country.is_some()])),
        ],
    )?;
    ctx.register_table(
        "geoip_status",
        Arc::new(MemTable::try_new(schema, vec![vec![status]])?),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_databases_know_the_sample_networks() {
        let geo = GeoIp::test_databases().unwrap();
        let telstra = geo.asn("1.128.0.10".parse().unwrap()).unwrap().0;
        assert_eq!(
            geo.asn("1.130.44.7".parse().unwrap()).unwrap().0,
            telstra,
            "one ASN"
        );
        assert_eq!(
            geo.country("81.2.69.160".parse().unwrap()).as_deref(),
            Some("GB")
        );
        assert_eq!(
            geo.country("175.16.199.61".parse().unwrap()).as_deref(),
            Some("CN")
        );
        assert!(geo.asn("10.0.0.1".parse().unwrap()).is_none());
        assert!(GeoIp::default()
            .country("81.2.69.160".parse().unwrap())
            .is_none());
        let error = GeoIp::open(Some(Path::new("/nonexistent.mmdb")), None).unwrap_err();
        assert!(error.to_string().contains("/nonexistent.mmdb"), "{error}");
    }
}

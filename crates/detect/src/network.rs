//! Network grouping as an SQL function: `ip_network(ip, v4_bits, v6_bits)`
//! is the canonical CIDR of the network an address is in (`203.0.113.0/24`,
//! `2001:db8:1:2::/64`), NULL for text that is not an address. One place
//! parses addresses for every detection and state table: IPv6 written
//! compressed (`2001:db8::1`) or in full lands in the same network, and an
//! IPv4-mapped IPv6 address (`::ffff:203.0.113.9`) is its IPv4 address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Int64Array, StringBuilder};
use arrow::datatypes::DataType;
use datafusion::common::cast::as_string_array;
use datafusion::logical_expr::{create_udf, ColumnarValue, Volatility};
use datafusion::prelude::SessionContext;

/// The network of `ip` with `v4_bits` (IPv4) or `v6_bits` (IPv6) of prefix.
pub fn network_of(ip: &str, v4_bits: u8, v6_bits: u8) -> Option<String> {
    let address: IpAddr = ip.trim().parse().ok()?;
    let address = match address {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    };
    Some(match address {
        IpAddr::V4(v4) => {
            let bits = v4_bits.min(32);
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(bits))
            };
            format!("{}/{bits}", Ipv4Addr::from(u32::from(v4) & mask))
        }
        IpAddr::V6(v6) => {
            let bits = v6_bits.min(128);
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(bits))
            };
            format!("{}/{bits}", Ipv6Addr::from(u128::from(v6) & mask))
        }
    })
}

/// Registers `ip_network` on `ctx`.
pub fn register(ctx: &SessionContext) {
    ctx.register_udf(create_udf(
        "ip_network",
        vec![DataType::Utf8, DataType::Int64, DataType::Int64],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let ips = as_string_array(&arrays[0])?;
            let v4 = arrays[1].as_any().downcast_ref::<Int64Array>();
            let v6 = arrays[2].as_any().downcast_ref::<Int64Array>();
            let (Some(v4), Some(v6)) = (v4, v6) else {
                return Err(datafusion::error::DataFusionError::Plan(
                    "ip_network(ip, v4_bits, v6_bits): the prefix lengths are integers".into(),
                ));
            };
            let mut out = StringBuilder::with_capacity(ips.len(), ips.len() * 16);
            for i in 0..ips.len() {
                if ips.is_null(i) || v4.is_null(i) || v6.is_null(i) {
                    out.append_null();
                    continue;
                }
                let bits = |value: i64| value.clamp(0, 128) as u8;
                out.append_option(network_of(
                    ips.value(i),
                    bits(v4.value(i)),
                    bits(v6.value(i)),
                ));
            }
            Ok(ColumnarValue::Array(Arc::new(out.finish()) as ArrayRef))
        }),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_are_canonical_whatever_the_spelling() {
        assert_eq!(
            network_of("203.0.113.77", 24, 64).as_deref(),
            Some("203.0.113.0/24")
        );
        assert_eq!(
            network_of("203.0.113.77", 16, 64).as_deref(),
            Some("203.0.0.0/16")
        );
        assert_eq!(
            network_of("2001:db8:0:1::17", 24, 64),
            network_of("2001:0db8:0000:0001:a3f1:0000:0000:0009", 24, 64)
        );
        assert_eq!(
            network_of("2001:db8:0:1::17", 24, 64).as_deref(),
            Some("2001:db8:0:1::/64")
        );
        assert_eq!(
            network_of("2001:db8:5:1::17", 24, 48).as_deref(),
            Some("2001:db8:5::/48")
        );
        assert_eq!(
            network_of("::ffff:198.51.100.9", 24, 64).as_deref(),
            Some("198.51.100.0/24")
        );
        assert_eq!(network_of("AWS Internal", 24, 64), None);
        assert_eq!(network_of("", 24, 64), None);
    }
}

//! 48-bit Ethernet MAC addresses: parsing of the spellings Kubemacpool accepts, the normal
//! form used for comparisons and for the addresses the policy writes.

pub mod pool;

use std::fmt;
use std::str::FromStr;

/// The largest value a 48-bit address can hold.
pub const MAC_MAX: u64 = (1 << 48) - 1;

/// A 48-bit MAC address, kept as an integer so that ranges, pools and used sets are plain
/// integer arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mac(u64);

/// Why a string is not a MAC address. `Display` is Go's `net.ParseMAC` text, which Kubemacpool
/// users match on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("address {input}: invalid MAC address")]
pub struct ParseMacError {
    input: String,
}

impl Mac {
    /// `value` must fit in 48 bits; larger values are truncated to the low 48 bits.
    pub const fn from_u64(value: u64) -> Self {
        Mac(value & MAC_MAX)
    }

    pub const fn to_u64(self) -> u64 {
        self.0
    }

    pub const fn first_octet(self) -> u8 {
        (self.0 >> 40) as u8
    }

    /// Bit 0 of the first octet: the address is a group (multicast) address and can never be
    /// an interface's own address.
    pub const fn is_multicast(self) -> bool {
        self.first_octet() & 1 == 1
    }

    /// Parses `aa:bb:cc:dd:ee:ff`, `aa-bb-cc-dd-ee-ff` or `aabb.ccdd.eeff`, in any case.
    /// Longer forms (EUI-64, IPoIB) are refused: an Ethernet interface has 48 bits.
    pub fn parse(input: &str) -> Result<Mac, ParseMacError> {
        parse_48(input.as_bytes()).ok_or_else(|| ParseMacError {
            input: input.to_string(),
        })
    }

    /// `parse` on raw bytes, for the inventory, which only needs to know whether a MAC is held.
    pub fn from_ascii(bytes: &[u8]) -> Option<Mac> {
        parse_48(bytes)
    }
}

/// The value of every byte as a hex digit, `INVALID` for the others.
const HEX: [u8; 256] = {
    let mut table = [INVALID; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = match b as u8 {
            d @ b'0'..=b'9' => d - b'0',
            d @ b'a'..=b'f' => d - b'a' + 10,
            d @ b'A'..=b'F' => d - b'A' + 10,
            _ => INVALID,
        };
        b += 1;
    }
    table
};
const INVALID: u8 = 0xff;

fn parse_48(bytes: &[u8]) -> Option<Mac> {
    // Two layouts, as Go's net.ParseMAC: six groups of two digits separated by ':' or '-'
    // (17 characters), or three groups of four digits separated by '.' (14 characters). The
    // inventory parses every MAC in the cluster on every admission: positions are fixed
    // (constant arrays, so the loops unroll), and separators and digits are checked in place.
    match bytes.len() {
        17 => {
            let separator = bytes[2];
            if separator != b':' && separator != b'-' {
                return None;
            }
            digits_at(
                bytes,
                separator,
                [2, 5, 8, 11, 14],
                [0, 1, 3, 4, 6, 7, 9, 10, 12, 13, 15, 16],
            )
        }
        14 => digits_at(
            bytes,
            b'.',
            [4, 9],
            [0, 1, 2, 3, 5, 6, 7, 8, 10, 11, 12, 13],
        ),
        _ => None,
    }
}

#[inline(always)]
fn digits_at<const S: usize>(
    bytes: &[u8],
    separator: u8,
    separators: [usize; S],
    digits: [usize; 12],
) -> Option<Mac> {
    if separators.iter().any(|&at| bytes[at] != separator) {
        return None;
    }
    // Any invalid digit sets the high bits of `invalid`; checked once at the end.
    let (value, invalid) = digits.iter().fold((0u64, 0u8), |(value, invalid), &at| {
        let digit = HEX[usize::from(bytes[at])];
        ((value << 4) | u64::from(digit & 0x0f), invalid | digit)
    });
    (invalid & 0xf0 == 0).then_some(Mac(value))
}

impl FromStr for Mac {
    type Err = ParseMacError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Mac::parse(s)
    }
}

/// The normal form: lower case, colon separated.
impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0.to_be_bytes();
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[2], b[3], b[4], b[5], b[6], b[7]
        )
    }
}

#[cfg(test)]
pub(crate) mod tests;

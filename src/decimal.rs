//! Decimal digits to the nearest `f64`, without going back to their text:
//! the one conversion behind the line-protocol reader and the JSON scanner
//! of query responses (both hold a number as its digits' integer value and
//! a power of ten by the time they know it is a float).

/// Powers of ten an `f64` holds exactly (10^22 is the last one).
pub(crate) const EXACT_POWERS: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// `5^k` for `k` in `0..=27` (5^27 < 2^63).
const POWERS_OF_FIVE: [u64; 28] = {
    let mut t = [1u64; 28];
    let mut k = 1;
    while k < 28 {
        t[k] = t[k - 1] * 5;
        k += 1;
    }
    t
};

/// `mantissa / 10^scale` rounded once to the nearest `f64` (ties to even),
/// as parsing the digits' text would give; `None` for `scale` above 27.
///
/// Up to 2^53 the mantissa and a power of ten up to 10^22 are exact
/// `f64`s, so one float division rounds once. Otherwise the quotient is
/// taken in integers: `m / 10^k = m / 5^k * 2^-k`, the power of two only
/// moves the exponent, and the mantissa shifted to the top of a `u128` and
/// divided by `5^k` leaves at least 65 quotient bits: the 53 kept, the
/// rounding bit and, with the remainder, the sticky bit. The result is at
/// least 10^-27, far from the subnormals.
#[inline(always)]
pub(crate) fn decimal(mantissa: u64, scale: u32) -> Option<f64> {
    let k = usize::try_from(scale).ok()?;
    if mantissa <= 1 << 53 {
        if let Some(&power) = EXACT_POWERS.get(k) {
            return Some(mantissa as f64 / power);
        }
    }
    let five = u128::from(*POWERS_OF_FIVE.get(k)?);
    if mantissa == 0 {
        return Some(0.0);
    }
    let lz = mantissa.leading_zeros();
    // The top bit of `n` is bit 127.
    let n = u128::from(mantissa) << (64 + lz);
    let q = n / five;
    // Not `n % five`: a second 128-bit division (a library call).
    let r = n - q * five;
    let bits = 128 - q.leading_zeros();
    let shift = bits - 54;
    // 54 bits: the 53 of the mantissa and the rounding bit.
    let top = (q >> shift) as u64;
    let sticky = r != 0 || q & ((1u128 << shift) - 1) != 0;
    let mut mant = top >> 1;
    let mut e = i64::from(shift) + 1;
    if top & 1 == 1 && (sticky || mant & 1 == 1) {
        mant += 1;
        if mant == 1 << 53 {
            mant >>= 1;
            e += 1;
        }
    }
    // value = mant * 2^(e - 64 - lz - k), mant in [2^52, 2^53).
    let biased = e - 64 - i64::from(lz) - i64::from(scale) + 52 + 1023;
    let biased = u64::try_from(biased)
        .ok()
        .filter(|b| (1..=2046).contains(b))?;
    Some(f64::from_bits((biased << 52) | (mant & ((1 << 52) - 1))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn splitmix64(x: u64) -> u64 {
        let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// What parsing `mantissa` with a decimal point `scale` digits from
    /// its end gives.
    fn parsed(mantissa: u64, scale: u32) -> f64 {
        let digits = format!("{mantissa:0>width$}", width = scale as usize + 1);
        let (whole, fraction) = digits.split_at(digits.len() - scale as usize);
        format!("{whole}.{fraction}0").parse().unwrap_or(f64::NAN)
    }

    fn check(mantissa: u64, scale: u32) {
        let got = decimal(mantissa, scale).map(f64::to_bits);
        assert_eq!(
            got,
            Some(parsed(mantissa, scale).to_bits()),
            "{mantissa}e-{scale}"
        );
    }

    /// Mantissas above 2^53, where the integer division decides, at every
    /// scale, and the ties between two floats, which must round to even.
    #[test]
    fn decimals_round_as_parsing_their_text_does() {
        let mut seed = 11u64;
        for case in 0..300_000u64 {
            seed = splitmix64(seed ^ case);
            let scale = (seed % 28) as u32;
            // From 2^53 up to u64::MAX.
            let mantissa = (1u64 << 53) + splitmix64(seed) % (u64::MAX - (1 << 53));
            check(mantissa, scale);
            // Any number of digits, small scales too.
            let digits = 1 + (seed >> 59) % 19;
            check(splitmix64(!seed) % 10u64.pow(digits as u32), scale);
            // A float above 2^53 has integer neighbours 2 or more apart: the
            // integer halfway between them, and its neighbours, written
            // with trailing zeros after the point.
            let float = (mantissa >> (seed >> 60)) as f64;
            let ulp = f64::from_bits(float.to_bits() + 1) - float;
            if ulp >= 2.0 {
                let tie = float as u64 + (ulp / 2.0) as u64;
                for m in [tie - 1, tie, tie + 1] {
                    let zeros = (seed >> 5) % 3;
                    if let Some(m) = m.checked_mul(10u64.pow(zeros as u32)) {
                        check(m, zeros as u32);
                    }
                }
            }
        }
        for scale in 0..=27 {
            for m in [
                0,
                1,
                5,
                9_007_199_254_740_993,
                9_007_199_254_740_995,
                18_014_398_509_481_983,
                9_999_999_999_999_999_999,
                u64::MAX / 10,
                u64::MAX,
            ] {
                check(m, scale);
            }
        }
        check(90_071_992_547_409_930, 1);
        check(90_071_992_547_409_931, 1);
        assert_eq!(decimal(1, 28), None);
    }
}
